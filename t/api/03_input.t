# bad input gets a clear JSON error: code, field, 4xx — never a 500
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request);

plan tests => 15;

sub err_is {
    my ($res, $status, $code, $field, $name) = @_;
    my $e = json_of($res);
    ok t_cmp($res->code . ' ' . ($e->{code} // '-'), "$status $code", $name);
    ok t_cmp($e->{field} // '', $field, "$name: field") if defined $field;
}

my @json = ('Content-Type' => 'application/json');
err_is(POST('/hg/login', @json, content => '{"username": "a",'), 400, 'HG_JSON_MALFORMED', undef, 'truncated JSON');
err_is(POST('/hg/login', @json, content => '["a","b"]'), 400, 'HG_JSON_NOT_OBJECT', undef, 'array instead of object');
err_is(POST('/hg/login', @json, content => '{"username":"a","username":"b","password":"x"}'),
       400, 'HG_JSON_MALFORMED', undef, 'duplicate keys refused');
err_is(POST('/hg/login', 'Content-Type' => 'text/plain', content => '{}'), 415, 'HG_UNSUPPORTED_MEDIA_TYPE',
       'Content-Type', 'wrong media type');
err_is(POST('/hg/login', @json, content => '{"username":"admin"}'), 400, 'HG_FIELD_REQUIRED', 'password',
       'missing field named');
err_is(POST('/hg/login', @json, content => '{"username":' . '"' . ('x' x 65) . '","password":"p"}'),
       400, 'HG_FIELD_TOO_LONG', 'username', 'too long');
err_is(POST('/hg/login', @json, content => '{"username":42,"password":"p"}'), 400, 'HG_FIELD_TYPE', 'username',
       'wrong type');
err_is(POST('/sandbox/control', @json, content => '{"platform":"fiscal","mode":"sideways"}'), 400,
       'HG_FIELD_ENUM', 'mode', 'value outside the enum');
my $big = '{"username":"' . ('a' x (4 * 1024 * 1024 + 10)) . '"}';
err_is(POST('/hg/login', @json, content => $big), 413, 'HG_BODY_TOO_LARGE', undef, 'body over HisgateMaxBody');
err_is(POST('/hg/login', @json, content => "{\"username\":\"\xff\xfe\",\"password\":\"p\"}"), 400,
       'HG_JSON_MALFORMED', undef, 'invalid UTF-8');
