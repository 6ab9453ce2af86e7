-- mod_consult statistics and the staff's day list (consult_stats.c) read the visits of one
-- institution by visit time (a department filter narrows within that range); the per-question
-- figures read the completed questionnaires of one template version.  Kept to two indexes: every
-- answer step updates its visit row, and each index is work on a non-HOT update.
CREATE INDEX visits_stats_time ON consult.visits (institution, visit_time);
CREATE INDEX visits_stats_template ON consult.visits (institution, template_id, version, visit_time)
    WHERE state = 'completed';
