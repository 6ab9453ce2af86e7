-- 存入微信卡包: the orders a bill page opened WeChat's authorisation page for (order_id: random,
-- nothing personal).  An order is authorised once WeChat's getauthdata says "auth success"; its
-- insertion is then the outbox row invoice.wxcard / wxcard:<order_id>, whose state is the
-- insertion's state (pending, inflight, done, dead).  No openid is kept: WeChat binds the order to
-- the patient who authorised it.
CREATE TABLE invoice.wxcard_orders (
    order_id      text PRIMARY KEY,
    bill_id       bigint NOT NULL REFERENCES invoice.bills (id),
    institution   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    authorized_at timestamptz
);
CREATE INDEX wxcard_orders_bill ON invoice.wxcard_orders (bill_id, created_at DESC);

-- an insertion's row is the bill's record of it: the purge empties its payload, never deletes it
INSERT INTO hg.outbox_records (topic) VALUES ('invoice.wxcard') ON CONFLICT DO NOTHING;
