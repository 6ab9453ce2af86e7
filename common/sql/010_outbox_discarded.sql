-- A dead row that will never go (the platform refuses it whatever is retried, and it has been dealt
-- with by hand) can be discarded by ops: state 'discarded'.  Since 009 a dead row holds back the
-- later rows of its order_key; discarding it lets them go.  Discarded rows are neither queued nor
-- dead, and stay on record like dead ones (the purge removes delivered rows only).
ALTER TABLE hg.outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE hg.outbox ADD CONSTRAINT outbox_state_check
    CHECK (state IN ('pending', 'inflight', 'done', 'dead', 'discarded'));
