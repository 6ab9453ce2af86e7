-- A dead row now holds back the later rows of its order_key (002 let them pass).  A bill whose
-- upload is dead had its paper exchange and red-flush sent anyway: the platform answered "no such
-- bill" (E2001), which retries, so they went on failing for weeks in the log until someone retried
-- the upload by hand.  Now they wait behind it, counted as held in /hg/status, and flow once the
-- dead row is retried from the console and delivered.  Dead rows are few: this index finds the dead
-- row of a key, as outbox_order finds the queued ones.
CREATE INDEX outbox_dead_order ON hg.outbox (order_key, id) WHERE dead;
