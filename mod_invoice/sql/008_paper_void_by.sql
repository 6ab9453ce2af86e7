-- 票据作废情况 lists every voided paper with who voided it and why (invalidPaper carries both; a
-- re-exchange voids the old paper on its own account).  Papers voided before have neither.
ALTER TABLE invoice.papers ADD COLUMN void_operator text, ADD COLUMN void_reason text;
