-- mod_sandbox: state of the simulated outside platforms (never in a production database)
CREATE SCHEMA IF NOT EXISTS sandbox;

CREATE TABLE sandbox.modes (
    platform  text PRIMARY KEY,
    mode      text NOT NULL DEFAULT 'normal' CHECK (mode IN ('normal','down','slow','reject','error')),
    slow_ms   integer NOT NULL DEFAULT 3000,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sandbox.modes (platform) VALUES ('fiscal');

-- every call the simulated fiscal platform received, with its verdict
CREATE TABLE sandbox.fiscal_calls (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    service   text NOT NULL,
    appid     text,
    sign_ok   boolean NOT NULL,
    result    text NOT NULL,
    data      text
);
