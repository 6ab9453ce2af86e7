# staff: built-in login, roles, CSRF, lockout, weak passwords, cookies
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of staff_login psql hisgate);

plan tests => 29;

my ($res, $cookie, $csrf) = staff_login('admin', 'Adm1n-Test-Pass#2026');
ok t_cmp($res->code, 200, 'admin logs in');
ok t_cmp($res->header('Set-Cookie'), qr/hg_session=[A-Za-z0-9_-]{40,}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict/,
         'session cookie is HttpOnly and SameSite=Strict');
ok t_cmp(length($csrf // '') >= 40 ? 1 : 0, 1, 'login answers a CSRF token');
ok t_cmp(psql("SELECT count(*) FROM hg.sessions WHERE token_hash LIKE '%" . substr($cookie, 11, 10) . "%'"), 0,
         'the session token itself is not stored');

$res = GET '/hg/me', Cookie => $cookie;
my $me = json_of($res);
ok t_cmp($me->{username}, 'admin', 'me: the logged-in user');
ok t_cmp(join(',', @{ $me->{roles} // [] }), 'admin,ops', 'me: roles');

ok t_cmp(json_of(GET('/hg/me'))->{code}, 'HG_LOGIN_REQUIRED', 'no cookie: login required');
ok t_cmp(GET('/hg/me', Cookie => 'hg_session=forged-token-value')->code, 401, 'forged cookie refused');

ok t_cmp(GET('/hg/outbox', Cookie => $cookie)->code, 200, 'admin may read the outbox console');
my ($r2, $clerk_cookie) = staff_login('clerk', 'Cashier-Pass#2026x');
$res = GET '/hg/outbox', Cookie => $clerk_cookie;
ok t_cmp($res->code . ' ' . json_of($res)->{code}, '403 HG_FORBIDDEN', 'cashier may not');

# state-changing staff requests need the CSRF token
$res = POST '/hg/password', Cookie => $cookie, 'Content-Type' => 'application/json',
    content => '{"old_password":"Adm1n-Test-Pass#2026","new_password":"x"}';
ok t_cmp($res->code . ' ' . json_of($res)->{code}, '403 HG_CSRF', 'no CSRF token: refused');
$res = POST '/hg/password', Cookie => $cookie, 'X-CSRF-Token' => $csrf, 'Content-Type' => 'application/json',
    content => '{"old_password":"Adm1n-Test-Pass#2026","new_password":"admin123"}';
ok t_cmp($res->code . ' ' . json_of($res)->{code}, '400 HG_WEAK_PASSWORD', 'weak new password refused');
ok t_cmp(json_of($res)->{field}, 'new_password', 'weak password: field named');

$res = POST '/hg/login', 'Content-Type' => 'application/json', content => '{"username":"admin","password":"nope-nope"}';
ok t_cmp($res->code . ' ' . json_of($res)->{code}, '401 HG_LOGIN_FAILED', 'wrong password');
$res = POST '/hg/login', 'Content-Type' => 'application/json', content => '{"username":"ghost","password":"nope-nope"}';
ok t_cmp(json_of($res)->{message}, json_of(POST('/hg/login', 'Content-Type' => 'application/json',
         content => '{"username":"admin","password":"nope-nope2"}'))->{message},
         'unknown user and wrong password look the same');

# HisgateLockout 3 60: the third failure locks the account, even the right password then fails
for my $i (1 .. 2) {
    POST '/hg/login', 'Content-Type' => 'application/json', content => '{"username":"locky","password":"bad-bad-bad"}';
}
$res = POST '/hg/login', 'Content-Type' => 'application/json', content => '{"username":"locky","password":"bad-bad-bad"}';
ok t_cmp($res->code . ' ' . json_of($res)->{code}, '423 HG_ACCOUNT_LOCKED', 'third failure locks');
($res) = staff_login('locky', 'Bolted-Pass#2026x');
ok t_cmp($res->code, 423, 'locked account refuses the right password');
ok t_cmp(psql("SELECT locked_until > now() FROM hg.staff WHERE username = 'locky'"), 't', 'lock recorded');

# logout ends the session
$res = POST '/hg/logout', Cookie => $cookie, 'X-CSRF-Token' => $csrf;
ok t_cmp($res->code, 200, 'logout');
ok t_cmp($res->header('Set-Cookie'), qr/hg_session=; Path=\/; Max-Age=0/, 'logout expires the cookie');
ok t_cmp(GET('/hg/me', Cookie => $cookie)->code, 401, 'old session no longer works');
ok t_cmp(GET('/hg/me', Cookie => $clerk_cookie)->code, 200, 'other sessions unaffected');

# the audit journal has every login, password change and logout, without their secrets
sub audit { psql("SELECT string_agg(caller || ' ' || status, ',' ORDER BY id) FROM hg.audit WHERE endpoint = '$_[0]'") }
ok t_cmp(audit('POST /hg/login'), qr/(^|,)admin 200(,|$)/, 'a login is journalled under its account');
ok t_cmp(audit('POST /hg/login'), qr/(^|,)admin 401(,|$)/, 'so is a failed one');
ok t_cmp(audit('POST /hg/login'), qr/(^|,)locky 423(,|$)/, 'and a refused one on a locked account');
ok t_cmp(audit('POST /hg/login'), qr/\(unknown user\) 401/, 'a name that is no account is not written down');
ok t_cmp(audit('POST /hg/password'), qr/admin 40[03]/, 'password changes are journalled');
ok t_cmp(audit('POST /hg/logout'), qr/admin 200/, 'so is the logout');
my ($rc, $out) = hisgate("audit show --endpoint /hg/ --limit 200");
ok t_cmp(join(' ', map { index($out, $_) >= 0 ? "leaked:$_" : () } 'Adm1n-Test-Pass#2026', 'nope-nope', 'admin123',
              'bad-bad-bad', 'csrf_token', 'ghost') || "rc=$rc clean", 'rc=0 clean', 'no password, token or unknown name in the journal');
