-- A topic held back on purpose, e.g. for a platform's announced maintenance window (财政平台系统维护):
-- its rows stay pending with their attempts untouched, instead of being tried, failed and dead-lettered
-- while the platform is known to be away.  The drain claims none of a paused topic's rows until the
-- pause is lifted (`hisgate outbox resume`, POST /hg/outbox/resume) or its `until` has passed.
CREATE TABLE hg.outbox_pauses (
    topic     text PRIMARY KEY CHECK (topic ~ '^[a-z0-9_]+(\.[a-z0-9_]+)*$' AND length(topic) <= 64),
    reason    text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    paused_by text NOT NULL,
    paused_at timestamptz NOT NULL DEFAULT now(),
    until     timestamptz
);
