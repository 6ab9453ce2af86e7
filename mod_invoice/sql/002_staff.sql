-- mod_invoice: the staff console (stock 申领/分发, staff issuance 手工开具, daily reports)

-- who issued a bill from the console (NULL: the HIS, through the signed API)
ALTER TABLE invoice.bills ADD COLUMN issued_by text;

-- every range received from finance (apply) or moved to a billing point (distribute), with who
-- did it: the stock table only shows where numbers are now, this shows how they got there
-- (票据领发情况)
CREATE TABLE invoice.stock_log (
    id               bigserial PRIMARY KEY,
    institution      text NOT NULL,
    action           text NOT NULL CHECK (action IN ('apply', 'distribute')),
    kind             text NOT NULL CHECK (kind IN ('ebill', 'paper')),
    bill_batch_code  text NOT NULL,
    start_no         bigint NOT NULL,
    end_no           bigint NOT NULL,
    from_place       text,                        -- NULL for apply
    to_place         text NOT NULL,
    stock_id         bigint NOT NULL REFERENCES invoice.stock,
    operator         text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_log_day ON invoice.stock_log (institution, created_at);

-- the overlap check of apply looks ranges up by bill code
CREATE INDEX stock_batch ON invoice.stock (bill_batch_code, start_no);

-- the daily report reads paper exchanges, paper voids and blank voids by day
CREATE INDEX papers_created ON invoice.papers (created_at);
CREATE INDEX papers_voided ON invoice.papers (voided_at) WHERE voided_at IS NOT NULL;
CREATE INDEX blank_voids_day ON invoice.blank_voids (institution, created_at);
