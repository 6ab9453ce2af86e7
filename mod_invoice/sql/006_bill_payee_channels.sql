-- The summaries finance reconciles with every day (收费员汇总表, 缴款渠道汇总表) group bills by
-- cashier (the bill's payee, 收款人) and by payment channel.  Both sit in the sealed document, out
-- of SQL's reach, and are not personal data of the patient: kept beside it.  Bills issued before
-- this migration have neither and are reported as such.
ALTER TABLE invoice.bills ADD COLUMN payee text, ADD COLUMN channels jsonb;
