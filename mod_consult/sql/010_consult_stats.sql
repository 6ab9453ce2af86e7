-- mod_consult statistics and the staff's day list (consult_stats.c): both read visits of one
-- institution by visit time, optionally one department; the per-question figures read the
-- completed questionnaires of one template version.
CREATE INDEX visits_stats_time ON consult.visits (institution, visit_time);
CREATE INDEX visits_stats_dept_time ON consult.visits (institution, department, visit_time);
CREATE INDEX visits_stats_template ON consult.visits (institution, template_id, version, visit_time)
    WHERE state = 'completed';
