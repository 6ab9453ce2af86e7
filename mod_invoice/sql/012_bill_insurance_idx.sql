-- 通码 by 医保卡号: the seeds ask that a patient find their bills by ID number, phone, medical
-- insurance card or visit card.  The keyed index of the bill's medicalInsuranceID, like id_idx,
-- tel_idx and card_idx (HMAC under the master key: the number itself is only in the sealed
-- document).  Partial: most bills of self-paying patients have none, and old bills stay unindexed.
ALTER TABLE invoice.bills ADD COLUMN mi_idx text;
CREATE INDEX bills_mi_idx ON invoice.bills (institution, mi_idx) WHERE mi_idx IS NOT NULL;
