-- mod_sandbox: a one-shot failure mode of the work-injury platform may let `skip` matching calls
-- pass first (e.g. fail the second fee batch of an upload: function_id bizh120002, skip 1)
ALTER TABLE sandbox.modes ADD COLUMN skip integer NOT NULL DEFAULT 0 CHECK (skip >= 0);
