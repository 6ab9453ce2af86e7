-- 发送到邮箱: the addresses a bill was sent to, per day (as a keyed hash: no address is kept here),
-- so that a bill goes to at most a few addresses a day, and a second tap to the same one sends nothing.
CREATE TABLE invoice.mail_sends (
    bill_id    bigint NOT NULL REFERENCES invoice.bills (id),
    day        date NOT NULL,
    addr_idx   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bill_id, day, addr_idx)
);
