-- The simulated WeChat Official Account: its credentials and the access tokens it handed out.
-- As WeChat does, a new token leaves older ones of the account valid for 5 more minutes only.
CREATE TABLE sandbox.wechat_apps (
    appid  text PRIMARY KEY,
    secret text NOT NULL
);
-- the demo account (conf/demo.conf and the tests use it; a sandbox credential, not a real one)
INSERT INTO sandbox.wechat_apps VALUES ('wx5a1dbe0d3e5b0001', 'sandbox-wechat-appsecret-0001')
ON CONFLICT (appid) DO NOTHING;

CREATE TABLE sandbox.wechat_tokens (
    token      text PRIMARY KEY,
    appid      text NOT NULL REFERENCES sandbox.wechat_apps,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX wechat_tokens_appid ON sandbox.wechat_tokens (appid, expires_at);
