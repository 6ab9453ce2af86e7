-- Sealed documents are packed with LZ4 since this version (faster than deflate, ~25% larger): a
-- 10-item bill row is now ~3.4 KB, and one of about 20 items passes the 4 KB that
-- 004_bills_inline.sql keeps inline, past which PostgreSQL would try to compress the ciphertext
-- (it never compresses) and move it out of line (three writes instead of one).  Keep rows up to a
-- page inline, and never try to compress the sealed document.
ALTER TABLE invoice.bills SET (toast_tuple_target = 8160);
ALTER TABLE invoice.bills ALTER COLUMN doc_sealed SET STORAGE EXTERNAL;
