-- mod_sandbox: the simulated fiscal platform's archive of supervised (监制) bills, their paper
-- exchanges, and the SMS / WeChat template-message gateways (never in a production database)

-- failure modes of the message gateways, switched through POST /sandbox/control
INSERT INTO sandbox.modes (platform) VALUES ('sms'), ('wechat') ON CONFLICT (platform) DO NOTHING;

-- supervision serials handed out by the platform (gaps are fine)
CREATE SEQUENCE sandbox.fiscal_supervision_seq;

-- every bill uploaded for supervision, blue and red; content is the uploaded data as it came,
-- compared as jsonb so that a repeated upload of the same bill answers the same again
CREATE TABLE sandbox.fiscal_bills (
    bill_batch_code    text NOT NULL,
    bill_no            text NOT NULL,
    service            text NOT NULL,
    random             text NOT NULL,
    create_time        text NOT NULL,               -- yyyyMMddHHmmssSSS as uploaded
    is_scarlet         boolean NOT NULL DEFAULT false,
    related_batch_code text,                        -- a red bill: the original it reverses
    related_no         text,
    total_fen          bigint NOT NULL,
    content            jsonb NOT NULL,
    supervision_code   text NOT NULL UNIQUE,
    supervised_at      timestamptz NOT NULL DEFAULT now(),
    scarlet_batch_code text,                        -- an original: the red bill that flushed it
    scarlet_no         text,
    scarlet_at         timestamptz,
    PRIMARY KEY (bill_batch_code, bill_no),
    CHECK (is_scarlet = (related_no IS NOT NULL)),
    CHECK (NOT (is_scarlet AND scarlet_no IS NOT NULL))
);

-- paper bills an e-bill was exchanged for (换开); at most one live paper per e-bill, and a paper
-- number is used once (a voided paper number is gone)
CREATE TABLE sandbox.fiscal_papers (
    id                bigserial PRIMARY KEY,
    bill_batch_code   text NOT NULL,
    bill_no           text NOT NULL,
    p_bill_batch_code text NOT NULL,
    p_bill_no         text NOT NULL,
    state             text NOT NULL DEFAULT 'live' CHECK (state IN ('live','void')),
    operator          text,
    turned_at         timestamptz NOT NULL DEFAULT now(),
    voided_at         timestamptz,
    FOREIGN KEY (bill_batch_code, bill_no) REFERENCES sandbox.fiscal_bills,
    UNIQUE (p_bill_batch_code, p_bill_no)
);
CREATE UNIQUE INDEX fiscal_papers_one_live ON sandbox.fiscal_papers (bill_batch_code, bill_no)
    WHERE state = 'live';

-- what the SMS and WeChat gateways were asked to send (tests read codes and links from here)
CREATE TABLE sandbox.messages (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    channel     text NOT NULL CHECK (channel IN ('sms','wechat')),
    recipient   text NOT NULL,                      -- phone number or openid
    content     text NOT NULL,                      -- SMS text, or the template data as JSON
    url         text,                               -- the template's url, or the first link of an SMS
    template_id text,
    sign        text
);
CREATE INDEX messages_recipient ON sandbox.messages (recipient, id DESC);
