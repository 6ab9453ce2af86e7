-- 通码 SMS codes: at most INVOICE_SMS_DAILY (10) codes a day per patient identifier, counted here
-- (sent_day in Beijing time).  Before, each new code reset the five guesses, so a subject could be
-- guessed at five times a minute for ever.
ALTER TABLE invoice.sms_codes ADD COLUMN IF NOT EXISTS sent_day date;
ALTER TABLE invoice.sms_codes ADD COLUMN IF NOT EXISTS sent_today integer NOT NULL DEFAULT 0;
