-- The claim reads the due rows of each topic the drain delivers, topic by topic (hg_outbox_claim).
-- Ordered by next_at alone, it read every queued row of the topics it does not deliver on its way
-- to the due ones of those it does: a paused topic's backlog (财政平台系统维护) was read whole on
-- every claim for SMS and WeChat, 150-250 ms each at 30,000 rows.  By topic first, each topic's
-- due rows are a range of this index.  The claim still changes no indexed value (HOT).
DROP INDEX hg.outbox_due;
CREATE INDEX outbox_due ON hg.outbox (topic, next_at) WHERE live;
