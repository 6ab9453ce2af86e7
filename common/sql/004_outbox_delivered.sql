-- /hg/status and /hg/metrics counted delivered rows by reading the whole outbox: 2.8 s and 1.5 s
-- at 600,000 rows (a month of a busy hospital), on every scrape.  The count of delivered rows per
-- topic is kept here by the statement that records deliveries; the stats read only queued and
-- dead rows (their partial indexes) and this table.
CREATE TABLE hg.outbox_delivered (
    topic text PRIMARY KEY,
    n     bigint NOT NULL DEFAULT 0
);
INSERT INTO hg.outbox_delivered (topic, n)
    SELECT topic, count(*) FROM hg.outbox WHERE state = 'done' GROUP BY topic;
