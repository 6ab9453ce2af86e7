# PostgreSQL goes away: clear 503s, health says so, and everything comes back by itself
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request wait_until);

plan tests => 8;

my $bin = (sort glob('/usr/lib/postgresql/*/bin'))[-1];
my $dir = $ENV{HG_PGDIR};
system("$bin/pg_ctl -D '$dir' -m fast -w stop >/dev/null 2>&1");

my $res = GET '/hg/health';
ok t_cmp($res->code, 503, 'health is 503 with the database down');
ok t_cmp(json_of($res)->{db}, 'down', 'and says db down');
$res = signed_request('POST', '/hg/ping', '{}');
ok t_cmp($res->code . ' ' . (json_of($res)->{code} // ''), '503 HG_DB_UNAVAILABLE', 'signed call: 503 with a JSON error');
ok t_cmp($res->header('Retry-After'), 5, 'with Retry-After');
ok t_cmp(GET('/index.html')->code, 200, 'static files unaffected');

system("$bin/pg_ctl -D '$dir' -l '$dir/server.log' -w -o \"-p $ENV{HG_PGPORT} -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50\" start >/dev/null 2>&1");
ok t_cmp(wait_until(15, sub { GET('/hg/health')->code == 200 }), 1, 'health back to ok by itself');
ok t_cmp(json_of(GET '/hg/health')->{db}, 'ok', 'db ok');
ok t_cmp(wait_until(10, sub { signed_request('POST', '/hg/ping', '{}')->code == 200 }), 1, 'signed calls work again');
