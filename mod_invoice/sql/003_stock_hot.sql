-- Every issuance updates its billing point's stock row: let that be a HOT update (no index
-- touches next_no, and free space on the page) so the hot row stays cheap; and index the
-- red-bill link, which deletes and flush look-ups follow.
DROP INDEX IF EXISTS invoice.stock_open;
CREATE INDEX stock_place ON invoice.stock (institution, place_code, kind, id);
ALTER TABLE invoice.stock SET (fillfactor = 50);
CREATE INDEX bills_related ON invoice.bills (related_id) WHERE related_id IS NOT NULL;
