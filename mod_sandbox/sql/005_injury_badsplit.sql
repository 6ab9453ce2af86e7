-- mod_sandbox: one-shot mode badsplit of the work-injury platform: the call is performed as usual
-- but its answer's split breaks akc264 = bka831 + bka832 (bka832 one fen too high), so that a
-- client's split check can be tested
ALTER TABLE sandbox.modes DROP CONSTRAINT modes_mode_check;
ALTER TABLE sandbox.modes ADD CONSTRAINT modes_mode_check
    CHECK (mode IN ('normal','down','slow','reject','error','lost','late','badsplit'));
