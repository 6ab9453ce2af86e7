-- The drain's claim and the audit sealer each read the front of a partial index (outbox_due,
-- audit_unsealed) whose entries leave it with every delivery or seal.  Those entries stay until a
-- VACUUM cleans the index, and the default trigger (20% of the table dead) lets a table of
-- production size pile up hundreds of thousands: measured on a 2-million-row outbox, 842 index
-- pages read per claim, 1.3 ms, against 0.12 ms after a VACUUM; the sealer's read of unsealed
-- rows 48 ms against 32 for the same rows.  Vacuum these two after a fixed number of dead rows,
-- and always clean their indexes: PostgreSQL otherwise skips the index pass when the dead rows sit
-- on few pages, which is exactly the case of a queue.
ALTER TABLE hg.outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000,
                           vacuum_index_cleanup = on);
ALTER TABLE hg.audit SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 50000,
                          vacuum_index_cleanup = on);
