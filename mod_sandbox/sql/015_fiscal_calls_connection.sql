-- which request on its connection each call was (0 = a new connection), as httpd counts it: a
-- client that keeps its connections alive shows calls after the first on one connection
ALTER TABLE sandbox.fiscal_calls ADD COLUMN keepalives integer;
