-- mod_invoice: fiscal medical e-invoices (财政医疗电子票据)
CREATE SCHEMA IF NOT EXISTS invoice;

CREATE TABLE invoice.institutions (
    institution  text PRIMARY KEY,
    name         text NOT NULL
);

-- billing points (开票点): windows, kiosks, the inpatient desk
CREATE TABLE invoice.places (
    institution  text NOT NULL REFERENCES invoice.institutions,
    place_code   text NOT NULL CHECK (place_code ~ '^[A-Za-z0-9_-]{1,50}$'),
    name         text NOT NULL,
    PRIMARY KEY (institution, place_code)
);

-- stock (票据库存): number ranges applied from finance and distributed to billing points.
-- next_no is the next number to hand out; a range is used up when next_no > end_no.
CREATE TABLE invoice.stock (
    id               bigserial PRIMARY KEY,
    institution      text NOT NULL,
    place_code       text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('ebill', 'paper')),
    bill_batch_code  text NOT NULL CHECK (bill_batch_code ~ '^[0-9]{8}$'),
    start_no         bigint NOT NULL CHECK (start_no >= 1),
    end_no           bigint NOT NULL CHECK (end_no <= 9999999999),
    next_no          bigint NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (start_no <= end_no AND next_no >= start_no AND next_no <= end_no + 1),
    FOREIGN KEY (institution, place_code) REFERENCES invoice.places
);
CREATE INDEX stock_open ON invoice.stock (institution, place_code, kind, id) WHERE next_no <= end_no;

-- bills: blue and red; the document (with the payer's personal data) is sealed with the master key
CREATE TABLE invoice.bills (
    id               bigserial PRIMARY KEY,
    institution      text NOT NULL,
    bus_no           text NOT NULL,
    kind             text NOT NULL,
    service          text NOT NULL,
    place_code       text NOT NULL,
    bill_batch_code  text NOT NULL,
    bill_no          text NOT NULL,
    random           text NOT NULL,
    create_time      text NOT NULL,               -- yyyyMMddHHmmssSSS, as answered to the HIS
    issued_at        timestamptz NOT NULL DEFAULT now(),
    total_fen        bigint NOT NULL,
    is_scarlet       boolean NOT NULL DEFAULT false,
    related_id       bigint REFERENCES invoice.bills,   -- red → original, original → its red bill
    state            text NOT NULL DEFAULT 'normal' CHECK (state IN ('normal', 'flushed')),
    content_hash     text NOT NULL,               -- SM3 of the normalised request: idempotency
    doc_sealed       text NOT NULL,               -- the bill document, SM4-CBC + HMAC-SM3 (master key)
    seal             text NOT NULL,               -- SM2 signature (raw r||s, base64) of the document
    id_idx           text,                        -- keyed SM3 of the ID number, phone, card: 通码 look-ups
    tel_idx          text,
    card_idx         text,
    tel_sealed       text,                        -- the phone, to send the SMS code
    paper_batch_code text,                        -- the live paper bill, if exchanged
    paper_no         text,
    UNIQUE (institution, bus_no),
    UNIQUE (bill_batch_code, bill_no)
);
CREATE INDEX bills_id_idx ON invoice.bills (institution, id_idx);
CREATE INDEX bills_tel_idx ON invoice.bills (institution, tel_idx);
CREATE INDEX bills_card_idx ON invoice.bills (institution, card_idx);
CREATE INDEX bills_issued ON invoice.bills (institution, issued_at);

-- paper exchanges (换开纸质): at most one live paper per bill
CREATE TABLE invoice.papers (
    id                bigserial PRIMARY KEY,
    bill_id           bigint NOT NULL REFERENCES invoice.bills,
    p_bill_batch_code text NOT NULL,
    p_bill_no         text NOT NULL,
    state             text NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'void')),
    operator          text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    voided_at         timestamptz,
    UNIQUE (p_bill_batch_code, p_bill_no)
);
CREATE UNIQUE INDEX papers_one_live ON invoice.papers (bill_id) WHERE state = 'live';

-- blank paper numbers voided without a bill (作废空白票号)
CREATE TABLE invoice.blank_voids (
    p_bill_batch_code text NOT NULL,
    p_bill_no         text NOT NULL,
    institution       text NOT NULL,
    place_code        text NOT NULL,
    reason            text,
    operator          text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (p_bill_batch_code, p_bill_no)
);

-- rendered layout files, cached on first download
CREATE TABLE invoice.pdf_cache (
    bill_id      bigint PRIMARY KEY REFERENCES invoice.bills,
    seal_status  text NOT NULL,
    pdf          bytea NOT NULL,
    rendered_at  timestamptz NOT NULL DEFAULT now()
);

-- SMS codes for the hospital-wide QR (通码)
CREATE TABLE invoice.sms_codes (
    institution  text NOT NULL,
    subject_idx  text NOT NULL,                   -- keyed SM3 of idType:idValue
    code_hash    text NOT NULL,
    expires_at   timestamptz NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (institution, subject_idx)
);
