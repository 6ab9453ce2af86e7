# the outbox end to end: enqueue → drain → signed Bosi call → sandbox checks the MD5 sign →
# success recorded; then retries while the platform is down or slow, dead letters, manual retry
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of psql hisgate wait_until staff_login);

plan tests => 31;

sub mode {
    my ($m, $ms) = @_;
    my $res = POST '/sandbox/control', 'Content-Type' => 'application/json',
        content => qq({"platform":"fiscal","mode":"$m"@{[ $ms ? qq(,"slow_ms":$ms) : '' ]}});
    return $res->code;
}
sub probe {
    my ($max) = @_;
    my ($rc, $out) = hisgate('probe fiscal --institution 44010001' . ($max ? " --max-attempts $max" : ''));
    my ($key) = $out =~ /queued hg\.probe\.fiscal (\S+)/;
    return $key;
}
sub row { my ($key) = @_; my $r = psql("SELECT state || '|' || attempts || '|' || coalesce(last_error,'') || '|' || id FROM hg.outbox WHERE business_key = '$key'"); return [split /\|/, $r, 4]; }

sub probe_status {
    my ($t) = grep { $_->{topic} eq 'hg.probe.fiscal' } @{ json_of(GET '/hg/status')->{outbox}{topics} };
    return $t // { done => 0 };
}
sub probe_metric {
    my ($kind) = @_;
    my ($v) = GET('/hg/metrics')->content =~ /^hisgate_outbox_\Q$kind\E\{topic="hg\.probe\.fiscal"\} (\d+)$/m;
    return $v // 0;
}

ok t_cmp(mode('normal'), 200, 'sandbox normal');
my $calls_before = psql("SELECT count(*) FROM sandbox.fiscal_calls");
my ($done_before, $metric_before) = (probe_status()->{done}, probe_metric('done'));
my $key = probe();
ok t_cmp($key, qr/^cli-/, 'probe queued through the CLI');
my $st = wait_until(10, sub { row($key)->[0] eq 'done' ? 'done' : '' });
ok t_cmp($st, 'done', 'drained and delivered');
ok t_cmp(probe_status()->{done} - $done_before, 1, '/hg/status counts the delivery (from its counter, not a scan)');
ok t_cmp(probe_metric('done') - $metric_before, 1, '/hg/metrics too');
ok t_cmp(psql("SELECT count(*) FROM sandbox.fiscal_calls WHERE id > 0 AND sign_ok AND service = 'getEBillStatesByBillInfo'") > 0 ? 1 : 0,
         1, 'the sandbox platform checked the MD5 signature and accepted it');
ok t_cmp(psql("SELECT result->>'result' FROM hg.outbox WHERE business_key = '$key'"), 'E2001',
         "the platform's answer is stored with the row");
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE direction = 'out' AND endpoint = 'fiscal.getEBillStatesByBillInfo'") > 0 ? 1 : 0,
         1, 'the outbound exchange is journalled');

# platform down: the row stays pending with its error, and is delivered once it is back
ok t_cmp(mode('down'), 200, 'sandbox down');
$key = probe(10);
my $tries = wait_until(15, sub { my $r = row($key); $r->[1] >= 2 ? $r->[1] : 0 });
ok t_cmp($tries >= 2 ? 1 : 0, 1, "retried while down ($tries attempts)");
ok t_cmp(row($key)->[0], qr/^(pending|inflight)$/, 'still queued, not lost');
ok t_cmp(row($key)->[2], qr/HTTP 503/, 'last error kept');
my $status = json_of(GET '/hg/status');
my ($topic) = grep { $_->{topic} eq 'hg.probe.fiscal' } @{ $status->{outbox}{topics} };
ok t_cmp($topic->{last_error} // '', qr/503/, '/hg/status shows the last delivery error');
ok t_cmp(mode('normal'), 200, 'sandbox back');
ok t_cmp(wait_until(20, sub { row($key)->[0] eq 'done' ? 'done' : '' }), 'done', 'delivered after the outage');

# slow platform: our timeout (1.5 s) fires, the outcome is unknown, the row is retried
ok t_cmp(mode('slow', 3000), 200, 'sandbox slow');
$key = probe(10);
ok t_cmp(wait_until(15, sub { row($key)->[2] =~ /timeout|timed out/i ? 1 : 0 }), 1, 'timeout recorded');
mode('normal');
ok t_cmp(wait_until(20, sub { row($key)->[0] eq 'done' ? 'done' : '' }), 'done', 'delivered after the slowness');

# the platform refuses the envelope: dead letter at once, visible, and retried by hand
mode('reject');
$key = probe(10);
ok t_cmp(wait_until(10, sub { row($key)->[0] eq 'dead' ? 'dead' : '' }), 'dead', 'refusal dead-letters');
$status = json_of(GET '/hg/status');
ok t_cmp($status->{outbox}{dead} >= 1 ? 1 : 0, 1, '/hg/status counts the dead letter');
mode('normal');
my ($res, $cookie, $csrf) = staff_login('admin', 'Adm1n-Test-Pass#2026');
my $id = row($key)->[3];
# the console's lists: by state (dead through its own index), by topic, and both
sub listed {
    my ($q) = @_;
    my $r = GET "/hg/outbox?$q", Cookie => $cookie;
    return join ',', map { "$_->{id}:$_->{state}" } grep { $_->{business_key} eq $key } @{ json_of($r)->{items} // [] };
}
ok t_cmp(listed('state=dead'), "$id:dead", 'the dead letter is listed under state=dead');
ok t_cmp(listed('state=dead&topic=hg.probe.fiscal'), "$id:dead", 'and under its topic');
ok t_cmp(listed('state=dead&topic=invoice.upload'), '', 'not under another topic');
ok t_cmp(listed('state=pending'), '', 'nor among the pending');
$res = POST "/hg/outbox/$id/retry", Cookie => $cookie, 'X-CSRF-Token' => $csrf;
ok t_cmp($res->code, 200, 'ops retries the dead letter from the console');
ok t_cmp(wait_until(10, sub { row($key)->[0] eq 'done' ? 'done' : '' }), 'done', 'and it is delivered');
$res = POST "/hg/outbox/999999999/retry", Cookie => $cookie, 'X-CSRF-Token' => $csrf;
ok t_cmp($res->code, 404, 'retrying a row that does not exist is 404');
# a delivery that never finishes (it crashed its child, or outlived its lease, each time) is not
# claimed for ever: with its lease run out on the last attempt it is a dead letter, saying why;
# one with attempts left is claimed again as before
my $stuck = probe(3);
my $again = probe(3);
wait_until(10, sub { row($stuck)->[0] eq 'done' && row($again)->[0] eq 'done' });
psql("UPDATE hg.outbox SET state = 'inflight', attempts = 3, lease_until = now() - interval '1 minute', "
     . "last_error = NULL WHERE business_key = '$stuck'");
psql("UPDATE hg.outbox SET state = 'inflight', attempts = 2, lease_until = now() - interval '1 minute' "
     . "WHERE business_key = '$again'");
ok t_cmp(wait_until(15, sub { row($stuck)->[0] eq 'dead' && row($again)->[0] eq 'done' }) ? 'dead done'
         : row($stuck)->[0] . ' ' . row($again)->[0], 'dead done',
         'a lease run out on the last attempt: dead; with attempts left: delivered again');
ok t_cmp(row($stuck)->[2], qr/^the delivery never finished: its lease ran out on attempt 3 of 3/, 'and the dead letter says why');
# 放弃: a dead row dealt with by hand is discarded by ops (journalled), and is dead no more
my $sid = psql("SELECT id FROM hg.outbox WHERE business_key = '$stuck'");
$res = POST "/hg/outbox/$sid/discard", Cookie => $cookie, 'X-CSRF-Token' => $csrf;
ok t_cmp($res->code . ' ' . row($stuck)->[0] . ' ' . (row($stuck)->[2] =~ /^discarded by admin: the delivery never finished/ ? 'why' : '-'),
         '200 discarded why', 'ops discard a dead row; it says who, and why it died');
$res = POST "/hg/outbox/$sid/discard", Cookie => $cookie, 'X-CSRF-Token' => $csrf;
ok t_cmp($res->code, 404, 'a row that is not dead is not discarded');
