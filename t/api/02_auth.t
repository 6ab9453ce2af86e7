# signed HIS requests: acceptance with both algorithms and each precise refusal
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(sign_header signed_request json_of psql nonce);

plan tests => 26;

my $res = signed_request('POST', '/hg/ping', '{"hello":"世界"}');
my $j = json_of($res);
ok t_cmp($res->code, 200, 'HG1-HMAC-SHA256 ping accepted');
ok t_cmp($j->{app_id}, 'test-his', 'ping answers the caller app id');
ok t_cmp(abs(($j->{server_time} // 0) - time) <= 5 ? 1 : 0, 1, 'ping answers the server time');
ok t_cmp($j->{institution}, '44010001', 'ping answers the app institution');

$res = signed_request('POST', '/hg/ping', '{"hello":"SM3"}', alg => 'HG1-HMAC-SM3');
ok t_cmp($res->code, 200, 'HG1-HMAC-SM3 ping accepted');
ok t_cmp(json_of($res)->{app_id}, 'test-his', 'SM3 caller identified');

$res = signed_request('POST', '/hg/ping?x=1&y=two', '');
ok t_cmp($res->code, 200, 'request-target includes the query string');

sub refused {
    my ($res, $code, $name) = @_;
    my $e = json_of($res);
    ok t_cmp($res->code, 401, "$name: 401");
    ok t_cmp($e->{code}, $code, "$name: $code");
}

refused(POST('/hg/ping', content => '{}'), 'HG_AUTH_MISSING', 'no Authorization');
refused(POST('/hg/ping', Authorization => 'HG1-HMAC-SM3 app_id=test-his', content => '{}'),
        'HG_AUTH_MALFORMED', 'malformed header');
refused(signed_request('POST', '/hg/ping', '{}', app_id => 'nobody-app'), 'HG_AUTH_UNKNOWN_APP', 'unknown app');
refused(signed_request('POST', '/hg/ping', '{}', secret => 'wrong-secret-wrong-secret'),
        'HG_AUTH_BAD_SIGNATURE', 'wrong secret');
# signature made over another body: the body was changed on the way
my $auth = sign_header(method => 'POST', target => '/hg/ping', body => '{"amt":"1.00"}');
refused(POST('/hg/ping', Authorization => $auth, content => '{"amt":"9.00"}'),
        'HG_AUTH_BAD_SIGNATURE', 'tampered body');
refused(signed_request('POST', '/hg/ping', '{}', timestamp => time - 400), 'HG_AUTH_STALE_TIMESTAMP', 'old timestamp');
refused(signed_request('POST', '/hg/ping', '{}', timestamp => time + 400), 'HG_AUTH_STALE_TIMESTAMP', 'future timestamp');

my $n = nonce();
$auth = sign_header(method => 'POST', target => '/hg/ping', body => '{}', nonce => $n);
ok t_cmp(POST('/hg/ping', Authorization => $auth, content => '{}')->code, 200, 'first use of a nonce');
refused(POST('/hg/ping', Authorization => $auth, content => '{}'), 'HG_AUTH_REPLAY', 'replayed request');

$res = signed_request('POST', '/hg/ping', '{}', app_id => 'test-his-off', secret => 'test-secret-disabled-000000');
ok t_cmp(json_of($res)->{code} . ' ' . $res->code, 'HG_AUTH_APP_DISABLED 403', 'disabled app refused');

# every signed exchange, accepted or refused, is journalled
my $rows = psql("SELECT count(*) FROM hg.audit WHERE caller = 'test-his' AND endpoint = 'POST /hg/ping' AND status = 200");
ok t_cmp($rows >= 4 ? 1 : 0, 1, "accepted pings are in the audit journal ($rows)");
