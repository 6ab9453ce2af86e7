-- Audit bodies are ciphertext, and the outbox payloads that grow past PostgreSQL's 2 KB toast
-- threshold are sealed documents (a bill's upload row): neither ever compresses, yet every such
-- row cost a pglz attempt before it went out of line (pglz_compress: 2.2% of PostgreSQL's CPU
-- while issuing bills).  EXTERNAL: out of line when large, no compression attempt.  Rows already
-- stored keep their form.
ALTER TABLE hg.audit ALTER COLUMN req_enc SET STORAGE EXTERNAL,
                     ALTER COLUMN resp_enc SET STORAGE EXTERNAL;
ALTER TABLE hg.outbox ALTER COLUMN payload SET STORAGE EXTERNAL;
