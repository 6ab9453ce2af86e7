-- The Official Account's message push (服务器配置) as WeChat holds it: the path on the hospital's
-- server it pushes to (the sandbox pushes to its own host, which is the hospital's), the Token and
-- the EncodingAESKey (safe mode; NULL: plain).  The demo account pushes in safe mode with the
-- values conf/demo.conf and the tests give HisgateWeChatPush.  push_path NULL: no pushes.
ALTER TABLE sandbox.wechat_apps
    ADD COLUMN push_path text,
    ADD COLUMN push_token text,
    ADD COLUMN push_aeskey text,
    ADD COLUMN pushes integer NOT NULL DEFAULT 0;
UPDATE sandbox.wechat_apps SET push_path = '/hg/wechat/push', push_token = 'hisgateSandboxPush2026',
       push_aeskey = 'c2FuZGJveFB1c2hLZXlGb3JIaXNnYXRlMjAyNkFFUzI'
WHERE appid = 'wx5a1dbe0d3e5b0001';
