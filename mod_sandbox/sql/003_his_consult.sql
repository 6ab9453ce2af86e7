-- mod_sandbox: the simulated HIS receiving pre-consultation summaries (never in a production database)
CREATE TABLE sandbox.his_consult_summaries (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    idempotency_key text NOT NULL UNIQUE,     -- X-HG-Idempotency-Key: a repeat updates, never duplicates
    visit_no        text,
    ts              text,                     -- X-HG-Timestamp
    signature       text,                     -- X-HG-Signature, kept so a test can check it
    body            text NOT NULL,
    deliveries      integer NOT NULL DEFAULT 1
);
