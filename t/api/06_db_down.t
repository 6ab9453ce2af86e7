# PostgreSQL goes away: clear 503s, health says so, and everything comes back by itself
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request wait_until log_window);

plan tests => 8;

my $bin = (sort glob('/usr/lib/postgresql/*/bin'))[-1];
my $dir = $ENV{HG_PGDIR};
log_window(BEGIN => 'db-down');
system("$bin/pg_ctl -D '$dir' -m fast -w stop >/dev/null 2>&1");

my $res = GET '/hg/health';
ok t_cmp($res->code, 503, 'health is 503 with the database down');
ok t_cmp(json_of($res)->{db}, 'down', 'and says db down');
$res = POST '/hg/login', 'Content-Type' => 'application/json', content => '{"username":"ghost","password":"x"}';
ok t_cmp($res->code . ' ' . (json_of($res)->{code} // ''), '503 HG_DB_UNAVAILABLE', 'a call that needs the DB: 503 with a JSON error');
ok t_cmp($res->header('Retry-After'), 5, 'with Retry-After');
ok t_cmp(GET('/index.html')->code, 200, 'static files unaffected');

system("$bin/pg_ctl -D '$dir' -l '$dir/server.log' -w -o \"-p $ENV{HG_PGPORT} -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50\" start >/dev/null 2>&1");
# each child drops its stale pooled connections on first use: a few 503s, then ok for good
ok t_cmp(wait_until(20, sub { !grep { GET('/hg/health')->code != 200 } 1 .. 10 }), 1, 'health back to ok by itself');
ok t_cmp(json_of(GET '/hg/health')->{db}, 'ok', 'db ok');
ok t_cmp(wait_until(10, sub { signed_request('POST', '/hg/ping', '{}')->code == 200 }), 1, 'signed calls work again');
sleep 1;   # the drain's next tick reconnects too
log_window(END => 'db-down');
