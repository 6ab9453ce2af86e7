# health, status, metrics, static files, the error envelope for unknown routes
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of);

plan tests => 24;

my $res = GET '/hg/health';
ok t_cmp($res->code, 200, 'health answers 200');
my $h = json_of($res);
ok t_cmp($h->{status}, 'ok', 'health status ok');
ok t_cmp($h->{db}, 'ok', 'health sees the database');
ok t_cmp($res->header('Content-Type'), qr{^application/json}, 'health is JSON');
ok t_cmp($res->header('X-Request-Id'), qr/^\S{8,}$/, 'every answer carries a request id');

$res = GET '/hg/status';
my $s = json_of($res);
ok t_cmp($res->code, 200, 'status answers 200');
ok t_cmp($s->{version}, qr/^\d+\.\d+\.\d+$/, 'status has the version');
ok t_cmp(join(',', sort @{ $s->{modules} // [] }), qr/hisgate.*sandbox/, 'status lists the loaded modules');
ok t_cmp(ref $s->{outbox}{topics}, 'ARRAY', 'status has outbox topics');
ok t_cmp(exists $s->{outbox}{dead} ? 1 : 0, 1, 'status has the dead-letter count');
# the answering process's bounded lines: its database slots (this call holds one) and the PDF renders
# (InvoicePdfRenders unset: one per CPU)
my $cpus = `getconf _NPROCESSORS_ONLN` + 0;
$cpus = 64 if $cpus > 64;
my $db = $s->{lines}{db} // {};
ok t_cmp(join(',', map { $_ // '-' } @$db{qw(in_use size waiting)}), '1,4,0', 'status: the database line (in use, size, waiting)');
ok t_cmp($s->{lines}{'invoice.pdf'}{size} // '-', $cpus, 'status: the PDF render line, one per CPU');

$res = GET '/hg/metrics';
ok t_cmp($res->code, 200, 'metrics answers 200');
ok t_cmp($res->header('Content-Type'), qr{^text/plain; version=0\.0\.4}, 'Prometheus text format');
ok t_cmp($res->content, qr/^hisgate_up 1$/m, 'hisgate_up gauge');
ok t_cmp($res->content, qr/^hisgate_db_up 1$/m, 'hisgate_db_up gauge');
ok t_cmp($res->content, qr/^# TYPE hisgate_outbox_dead gauge$/m, 'outbox gauges declared');
ok t_cmp($res->content, qr/^hisgate_line_size\{line="db"\} 4$/m, 'metrics: the database line');
ok t_cmp($res->content, qr/^hisgate_line_waiting\{line="invoice\.pdf"\} 0$/m, 'metrics: the PDF render line');

ok t_cmp(GET('/index.html')->code, 200, 'static files still served by the same httpd');

$res = GET '/hg/nothing-here';
my $e = json_of($res);
ok t_cmp($res->code, 404, 'unknown route is 404');
ok t_cmp($e->{code}, 'HG_NOT_FOUND', 'with the JSON error envelope');
ok t_cmp($e->{request_id}, $res->header('X-Request-Id'), 'envelope request_id matches the header');

$res = POST '/hg/health', content => '';
ok t_cmp(json_of($res)->{code} . ' ' . $res->code, 'HG_METHOD_NOT_ALLOWED 405', 'wrong method is 405');
