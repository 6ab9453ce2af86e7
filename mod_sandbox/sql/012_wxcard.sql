-- The simulated WeChat e-invoice API (微信电子发票, self-built platform mode) for 存入微信卡包:
-- the platforms (s_pappid of an Official Account, card/invoice/seturl), the card templates
-- (card/invoice/platform/createcard), the authorisation page's tickets (ticket/getticket
-- type=wx_card), the orders a merchant opened the authorisation page for (getauthurl) and what the
-- simulated patient did there, the uploaded PDFs (platform/setpdf) and what was put into card
-- packages (card/invoice/insert), as received.
CREATE TABLE sandbox.wxcard_platforms (
    appid    text PRIMARY KEY REFERENCES sandbox.wechat_apps,
    s_pappid text NOT NULL UNIQUE
);
CREATE TABLE sandbox.wxcard_cards (
    card_id    text PRIMARY KEY,
    appid      text NOT NULL REFERENCES sandbox.wechat_apps,
    payee      text NOT NULL,
    type       text NOT NULL,
    title      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- the demo account's platform and card template (conf/demo.conf and the tests name them)
INSERT INTO sandbox.wxcard_platforms VALUES ('wx5a1dbe0d3e5b0001', 'd3g1YTFkYmUwZDNlNWIwMDAxX1NCWF9wYXBwaWQ')
ON CONFLICT DO NOTHING;
INSERT INTO sandbox.wxcard_cards (card_id, appid, payee, type, title)
VALUES ('pSBXcardEBill0001demo0000000', 'wx5a1dbe0d3e5b0001', '广州市演示人民医院', '医疗收费电子票据', '演示人民医院')
ON CONFLICT DO NOTHING;

CREATE TABLE sandbox.wxcard_tickets (
    ticket     text PRIMARY KEY,
    appid      text NOT NULL REFERENCES sandbox.wechat_apps,
    expires_at timestamptz NOT NULL
);
CREATE TABLE sandbox.wxcard_orders (
    s_pappid        text NOT NULL,
    order_id        text NOT NULL,
    appid           text NOT NULL,
    money           bigint NOT NULL,
    source          text NOT NULL,
    type            integer NOT NULL,
    redirect_url    text,
    status          text NOT NULL DEFAULT 'never auth',
    openid          text,
    auth_time       timestamptz,
    insert_attempts integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (s_pappid, order_id)
);
CREATE TABLE sandbox.wxcard_pdfs (
    s_media_id text PRIMARY KEY,
    appid      text NOT NULL,
    filename   text,
    size       integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE sandbox.wxcard_inserts (
    id           bigserial PRIMARY KEY,
    order_id     text NOT NULL,
    card_id      text NOT NULL,
    appid        text NOT NULL,
    openid       text NOT NULL,
    code         text NOT NULL,
    billing_no   text NOT NULL,
    billing_code text NOT NULL,
    fee          bigint NOT NULL,
    body         jsonb NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (billing_no, billing_code)
);
