-- the sandbox's mail server (SandboxSMTP): every message it accepted, as received
CREATE TABLE sandbox.mails (
    id          bigserial PRIMARY KEY,
    mail_from   text NOT NULL,
    rcpt_to     text NOT NULL,
    data        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
