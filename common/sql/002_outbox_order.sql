-- Events that must reach a platform in order (a bill's upload, then its paper exchange, its void,
-- its red-flush) share an order_key: a row is not claimed while an older row of its key is
-- still pending or in flight.  A dead older row does not block (the platform then answers
-- "not found", which retries, and the console shows the dead one).
ALTER TABLE hg.outbox ADD COLUMN order_key text;
CREATE INDEX outbox_order ON hg.outbox (order_key, id) WHERE state IN ('pending', 'inflight') AND order_key IS NOT NULL;
