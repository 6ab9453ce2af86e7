-- 冲红 of a bill in a card package: the card's cancellation (topic invoice.wxcard_status, key
-- cancel:<order_id>) is the bill's record that WeChat was told, like the insertion: the purge
-- empties its payload, never deletes it.  The insertion's kept result (code, cardId) is what a
-- flush months later cancels with.
INSERT INTO hg.outbox_records (topic) VALUES ('invoice.wxcard_status') ON CONFLICT DO NOTHING;
