-- Retention of the audit journal (`hisgate audit archive`, then `hisgate audit purge`): every
-- purged range of chain positions, proved by its archive file.  The newest range's end is the
-- anchor the journal's chain continues from (`hisgate audit verify` starts after it).
CREATE TABLE hg.audit_purges (
    id        bigserial PRIMARY KEY,
    from_seq  bigint NOT NULL,
    to_seq    bigint NOT NULL UNIQUE,
    last_hash text NOT NULL CHECK (last_hash ~ '^[0-9a-f]{64}$'),   -- the hash at to_seq
    rows      bigint NOT NULL,
    archive   text NOT NULL,                                       -- the file's name as given
    first_at  timestamptz NOT NULL,
    last_at   timestamptz NOT NULL,
    purged_at timestamptz NOT NULL DEFAULT now(),
    CHECK (to_seq >= from_seq AND rows = to_seq - from_seq + 1)
);
