-- mod_sandbox: mode misanswer of the fiscal platform: a success whose answer names another bill (a
-- platform's or a proxy's mix-up), so that the client's check of the answer can be tested
ALTER TABLE sandbox.modes DROP CONSTRAINT modes_mode_check;
ALTER TABLE sandbox.modes ADD CONSTRAINT modes_mode_check
    CHECK (mode IN ('normal','down','slow','reject','error','lost','late','badsplit','misanswer'));
