-- hisgate core schema: HIS apps, staff, sessions, the outbox and the audit journal.
CREATE SCHEMA IF NOT EXISTS hg;

-- HIS callers that sign requests (HG1-HMAC-SM3 / HG1-HMAC-SHA256); secrets sealed with the master key
CREATE TABLE hg.apps (
    app_id        text PRIMARY KEY CHECK (app_id ~ '^[A-Za-z0-9_.-]{4,64}$'),
    name          text NOT NULL,
    institution   text NOT NULL,
    secret_sealed text NOT NULL,
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- staff for the console: built-in login (PBKDF2) or REMOTE_USER from an SSO module
CREATE TABLE hg.staff (
    username       text PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9_.@-]{2,64}$'),
    display_name   text NOT NULL DEFAULT '',
    institution    text NOT NULL,
    department     text NOT NULL DEFAULT '',
    roles          text[] NOT NULL DEFAULT '{}',
    password_hash  text,                       -- NULL: SSO only
    failed_logins  integer NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    enabled        boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz
);

CREATE TABLE hg.sessions (
    token_hash  text PRIMARY KEY,               -- keyed SM3 of the cookie value; the token itself is never stored
    username    text NOT NULL REFERENCES hg.staff(username) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON hg.sessions (expires_at);

-- durable outbox: enqueued in the caller's transaction, drained by the watchdog singleton
CREATE TABLE hg.outbox (
    id            bigserial PRIMARY KEY,
    topic         text NOT NULL,
    institution   text NOT NULL DEFAULT '',
    business_key  text NOT NULL,               -- idempotency: one event per (topic, business_key)
    payload       jsonb NOT NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','inflight','done','dead')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 10,
    next_at       timestamptz NOT NULL DEFAULT now(),
    lease_until   timestamptz,
    last_error    text,
    result        jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, business_key)
);
CREATE INDEX outbox_due ON hg.outbox (next_at) WHERE state IN ('pending','inflight');
CREATE INDEX outbox_dead ON hg.outbox (topic) WHERE state = 'dead';

-- audit journal: one row per data transmission; bodies SM4-encrypted; rows SM3 hash-chained by the sealer
CREATE TABLE hg.audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    institution text NOT NULL DEFAULT '',
    caller      text NOT NULL,                 -- app id, staff user, 'patient', or 'hisgate' for outbound calls
    direction   text NOT NULL CHECK (direction IN ('in','out')),
    endpoint    text NOT NULL,
    status      integer NOT NULL,
    elapsed_ms  integer NOT NULL,
    request_id  text NOT NULL DEFAULT '',
    req_enc     text NOT NULL,                 -- sm4cbc:<iv hex>:<ct hex> of the request body
    resp_enc    text NOT NULL,
    seq         bigint UNIQUE,                 -- chain position, set by the sealer
    hash        text                           -- hex SM3(prev hash | row fields)
);
CREATE INDEX audit_unsealed ON hg.audit (id) WHERE seq IS NULL;
CREATE INDEX audit_at ON hg.audit (at);

CREATE TABLE hg.audit_head (
    id    integer PRIMARY KEY CHECK (id = 1),
    seq   bigint NOT NULL,
    hash  text NOT NULL
);
INSERT INTO hg.audit_head VALUES (1, 0, repeat('0', 64));
