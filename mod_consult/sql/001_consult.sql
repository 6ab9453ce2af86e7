-- mod_consult: smart pre-consultation (智能预问诊)
CREATE SCHEMA IF NOT EXISTS consult;

-- questionnaire templates: one row per (template_id, version); a version, once approved
-- (published), never changes (trigger below).  department NULL = the generic template used for
-- departments that have none of their own.
CREATE TABLE consult.templates (
    template_id  text NOT NULL CHECK (template_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    version      text NOT NULL CHECK (version ~ '^[A-Za-z0-9_.-]{1,32}$'),
    department   text,
    status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'approved')),
    definition   jsonb NOT NULL,
    created_by   text NOT NULL,
    approved_by  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    approved_at  timestamptz,
    PRIMARY KEY (template_id, version),
    CHECK (status = 'draft' OR approved_by IS NOT NULL)
);
CREATE INDEX templates_dept ON consult.templates (department, status);

CREATE FUNCTION consult.templates_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'approved' THEN
        RAISE EXCEPTION 'consult template %/% is published and cannot change', OLD.template_id, OLD.version
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER templates_frozen BEFORE UPDATE OR DELETE ON consult.templates
    FOR EACH ROW EXECUTE FUNCTION consult.templates_frozen();

-- one pre-consultation per HIS visit.  The patient's name is sealed with the master key; the
-- session token is kept as a keyed index (look-up) and sealed (so a repeated announcement of the
-- same visit answers the same link).
CREATE TABLE consult.visits (
    id            bigserial PRIMARY KEY,
    institution   text NOT NULL,
    visit_no      text NOT NULL,
    patient_id    text NOT NULL,
    name_sealed   text NOT NULL,
    sex           text NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date    date NOT NULL,
    department    text NOT NULL,
    doctor        text,
    visit_time    timestamp NOT NULL,
    template_id   text NOT NULL,
    version       text NOT NULL,
    token_hash    text NOT NULL UNIQUE,
    token_sealed  text NOT NULL,
    state         text NOT NULL DEFAULT 'in-progress'
                  CHECK (state IN ('in-progress', 'review', 'completed', 'stopped')),
    answers       jsonb NOT NULL DEFAULT '{}',
    expires_at    timestamptz NOT NULL,
    submitted_at  timestamptz,
    summary       jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (institution, visit_no),
    FOREIGN KEY (template_id, version) REFERENCES consult.templates
);
