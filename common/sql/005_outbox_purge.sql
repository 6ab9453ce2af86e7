-- Retention of delivered events (`hisgate outbox purge`, run from cron after the nightly backup).
-- Topics whose delivered rows are a record that business tables read (a bill's upload: the bill
-- shows its upload state and the platform's supervision answer from its row) are listed here by
-- their module's migration; the purge keeps those rows and empties only their payload.
CREATE TABLE hg.outbox_records (
    topic text PRIMARY KEY
);
-- Where the next purge starts reading (ids in order): every older row was removed, emptied, or
-- is a record already emptied.  A purge never reads the whole table again.
CREATE TABLE hg.outbox_purge (
    id          int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    resume_from bigint NOT NULL DEFAULT 0,
    last_run    timestamptz
);
INSERT INTO hg.outbox_purge (id) VALUES (1);
