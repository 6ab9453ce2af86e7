-- card/invoice/platform/updatestatus: the reimbursement status WeChat shows for a card in the
-- patient's package (INVOICE_REIMBURSE_INIT when inserted; the platform sets
-- INVOICE_REIMBURSE_CANCEL when the bill is flushed, 冲红), and when it last changed.
ALTER TABLE sandbox.wxcard_inserts
    ADD COLUMN reimburse_status text NOT NULL DEFAULT 'INVOICE_REIMBURSE_INIT',
    ADD COLUMN status_updates integer NOT NULL DEFAULT 0,
    ADD COLUMN status_at timestamptz;
CREATE INDEX wxcard_inserts_code ON sandbox.wxcard_inserts (card_id, code);
