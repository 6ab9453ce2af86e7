-- Where the patient came in from (统计使用的形式：挂号入口、预约入口…), as the HIS tells when it
-- announces the visit: registration (挂号), appointment (预约), app, wechat (公众号), qrcode (扫码),
-- kiosk (自助机), other.  NULL for visits announced without it (and before it was kept).  Not
-- indexed: the statistics read a period's visits by visit_time and group them.
ALTER TABLE consult.visits ADD COLUMN entry text
    CHECK (entry IN ('registration', 'appointment', 'app', 'wechat', 'qrcode', 'kiosk', 'other'));
