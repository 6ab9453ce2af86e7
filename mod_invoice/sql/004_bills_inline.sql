-- A bill row (packed sealed document, seal, look-up indexes) is about 2 KB, just over the size at
-- which PostgreSQL moves a value out of line into the TOAST table (three writes instead of one,
-- and a compression attempt on ciphertext that never compresses).  Keep rows up to 4 KB inline.
ALTER TABLE invoice.bills SET (toast_tuple_target = 4080);
