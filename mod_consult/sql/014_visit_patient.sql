-- A patient's questionnaires: the doctor's workstation asks for the day's by patient id (GET
-- /consult/api/v1/patients/<patientId>/visits) and the console searches by it.  patient_id and
-- visit_time never change after the announcement, so the answer steps' updates stay HOT.
CREATE INDEX visits_patient ON consult.visits (institution, patient_id, visit_time);
