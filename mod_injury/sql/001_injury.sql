-- mod_injury: Guangdong work-injury networked settlement (省工伤联网结算, "bizh" transactions)
CREATE SCHEMA IF NOT EXISTS injury;

-- the platform session (sys0001): one per institution code, shared by every httpd child and node.
-- Logins are serialised with a transaction-level advisory lock; a session is valid until midnight.
CREATE TABLE injury.sessions (
    akb020       text PRIMARY KEY,
    session_id   text NOT NULL,
    valid_until  timestamptz NOT NULL,
    logged_in_at timestamptz NOT NULL DEFAULT now(),
    logins       bigint NOT NULL DEFAULT 1
);

-- one row per outpatient visit (门诊) or inpatient stay (住院), keyed by the platform's aaz218
CREATE TABLE injury.stays (
    id           bigserial PRIMARY KEY,
    akb020       text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('outpatient', 'inpatient')),
    bka025       text NOT NULL,                 -- the HIS's 门诊号/住院号 (its business number)
    aac001       text NOT NULL,
    aaz218       text,                          -- 就医登记号, NULL until the platform gave it
    state        text NOT NULL CHECK (state IN ('registered', 'fees_uploaded', 'discharge_registered',
                                                'settled', 'refunded', 'cancelled')),
    fee_rows     integer NOT NULL DEFAULT 0,    -- fee lines on the platform (inpatient)
    pending_fn   text,                          -- a settle/cancel whose answer never came
    pending_at   timestamptz,
    pending_body text,                          -- the HIS's request of the pending call (JSON)
    busy_until   timestamptz,                   -- a call for this record is in flight (one at a time)
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX stays_aaz218 ON injury.stays (akb020, aaz218) WHERE aaz218 IS NOT NULL;
-- the HIS's business number is unique among live visits/stays (a cancelled one may be reused)
CREATE UNIQUE INDEX stays_bka025_live ON injury.stays (akb020, kind, bka025) WHERE state <> 'cancelled';

-- every settlement the platform confirmed (trials are not kept): the slip is printed from here
CREATE TABLE injury.settlements (
    id           bigserial PRIMARY KEY,
    stay_id      bigint NOT NULL REFERENCES injury.stays,
    function_id  text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('settle', 'refund')),
    result       jsonb NOT NULL,                -- the platform's answer, as JSON
    split_ok     boolean,                       -- NULL: no split fields in the answer
    resolved_by_query boolean NOT NULL DEFAULT false,
    cancelled_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX settlements_stay ON injury.settlements (stay_id);

-- code tables and other cached queries (410004, 410005, 120205), refreshed when older than a day
CREATE TABLE injury.code_cache (
    akb020       text NOT NULL,
    function_id  text NOT NULL,
    request_key  text NOT NULL,                 -- canonical JSON of the HIS's request
    answer       jsonb NOT NULL,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (akb020, function_id, request_key)
);
