-- The summary by charge item (收费项目汇总, 单位收费情况) groups bills' charges by chargeCode: they
-- sit in the sealed document, out of SQL's reach, and are not the patient's personal data: kept
-- beside it as {"<chargeCode>": {"name": …, "fen": …}}.  Bills issued before have none.
ALTER TABLE invoice.bills ADD COLUMN charges jsonb;
