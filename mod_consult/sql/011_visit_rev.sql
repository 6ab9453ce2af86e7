-- mod_consult: a write counter per visit.  A process that still holds the row it read writes with
-- "WHERE rev = <the rev it read>" (one statement per answer step); every write of a visit bumps it.
ALTER TABLE consult.visits ADD COLUMN rev integer NOT NULL DEFAULT 0;
