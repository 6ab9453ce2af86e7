-- mod_consult: authoring and review of templates, template choice rules, Back navigation,
-- the patient's contact for the link message.

-- the review workflow: draft -> review -> approved (published, immutable) | rejected (editable again)
ALTER TABLE consult.templates DROP CONSTRAINT templates_status_check;
ALTER TABLE consult.templates DROP CONSTRAINT templates_check;
ALTER TABLE consult.templates
    ADD CONSTRAINT templates_status_check CHECK (status IN ('draft', 'review', 'approved', 'rejected')),
    ADD CONSTRAINT templates_approved_by CHECK (status <> 'approved' OR approved_by IS NOT NULL),
    ADD COLUMN title          text NOT NULL DEFAULT '',
    ADD COLUMN disease        text,              -- an ICD-10 code or prefix: a disease-scoped template
    ADD COLUMN submitted_by   text,
    ADD COLUMN submitted_at   timestamptz,
    ADD COLUMN reviewed_by    text,              -- who approved or rejected
    ADD COLUMN reviewed_at    timestamptz,
    ADD COLUMN review_comment text,
    ADD COLUMN updated_by     text,
    ADD COLUMN updated_at     timestamptz NOT NULL DEFAULT now(),
    -- institution (no department), department, or disease (within a department or institution-wide)
    ADD COLUMN scope text GENERATED ALWAYS AS (CASE WHEN disease IS NOT NULL THEN 'disease'
                                                    WHEN department IS NULL THEN 'institution'
                                                    ELSE 'department' END) STORED;
-- one template id keeps its scope across versions (checked by the store); listing by scope
CREATE INDEX templates_scope ON consult.templates (template_id, status);

-- which template a visit gets: the most specific matching rule (disease, doctor, department: the
-- number of criteria given), then the highest priority, then the newest; a template without an
-- approved version is skipped.  No rule matches: the department's own template, else the generic one.
CREATE TABLE consult.rules (
    id          bigserial PRIMARY KEY,
    template_id text NOT NULL CHECK (template_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    department  text,
    disease     text,                -- prefix of the visit's diagnosis code (J20 matches J20.9)
    doctor      text,
    priority    integer NOT NULL DEFAULT 0,
    enabled     boolean NOT NULL DEFAULT true,
    note        text NOT NULL DEFAULT '',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rules_dept ON consult.rules (department) WHERE enabled;

ALTER TABLE consult.visits
    ADD COLUMN nav            jsonb NOT NULL DEFAULT '{}',   -- pages answered and the position (Back)
    ADD COLUMN disease        text,
    ADD COLUMN rule_id        bigint REFERENCES consult.rules ON DELETE SET NULL,
    ADD COLUMN choice         text NOT NULL DEFAULT 'department',  -- rule | department | generic
    ADD COLUMN contact_sealed text,                          -- {"phone"} / {"openid"} sealed
    ADD COLUMN channel        text CHECK (channel IN ('sms', 'wechat'));
