-- A bill's upload row is its record of supervision (state and answer): never deleted by the
-- outbox purge, only its payload (the sealed upload, which the bill holds itself) is emptied.
INSERT INTO hg.outbox_records (topic) VALUES ('invoice.upload') ON CONFLICT DO NOTHING;
