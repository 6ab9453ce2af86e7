-- 通码 SMS codes per phone: at most INVOICE_SMS_PHONE_DAILY (15) a day to one phone (Beijing time),
-- whichever identifier asked.  The day's cap per identifier (014) let one phone be sent ten codes for
-- each of its identifiers (ID number, phone, card, insurance number): forty a day.  phone_idx is the
-- phone's keyed index ("tel:" as the bills' tel_idx), never the number.
CREATE TABLE invoice.sms_phones (
    institution text NOT NULL,
    phone_idx   text NOT NULL,
    sent_day    date NOT NULL,
    sent_today  integer NOT NULL CHECK (sent_today >= 0),
    PRIMARY KEY (institution, phone_idx)
);
