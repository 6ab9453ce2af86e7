# pausing an outbox topic for a platform's announced maintenance: its rows wait, pending, with no
# attempt spent (they would otherwise fail into dead letters), other topics keep flowing; resumed by
# hand or at the pause's end; visible in /hg/status, /hg/metrics and `hisgate outbox stats`;
# bad input refused with nothing written; the role ops only
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use Encode qw(decode_utf8);
use HG qw(json_of signed_request psql hisgate wait_until staff_login);
use HGInvoice qw(outpatient);

plan tests => 37;

my $json = JSON::PP->new->utf8->canonical;
# whatever happens, no pause outlives this test (later tests rely on the drain)
END { eval { psql("DELETE FROM hg.outbox_pauses") } }

my ($res, $cookie, $csrf) = staff_login('admin', 'Adm1n-Test-Pass#2026');
sub staff_post {
    my ($path, $body, $ck, $cs) = @_;
    return POST $path, Cookie => $ck // $cookie, 'X-CSRF-Token' => $cs // $csrf,
        'Content-Type' => 'application/json', content => ref $body ? $json->encode($body) : $body;
}
sub topic_status {
    my ($t) = grep { $_->{topic} eq $_[0] } @{ json_of(GET '/hg/status')->{outbox}{topics} };
    return $t // {};
}
sub upload_row {
    my ($no) = @_;
    my $r = psql("SELECT o.state || '|' || o.attempts FROM hg.outbox o JOIN invoice.bills b ON o.business_key = 'upload:' || b.id "
               . "WHERE o.topic = 'invoice.upload' AND b.bill_no = '$no'");
    return [split /\|/, $r];
}
sub notify_state {
    my ($no) = @_;
    return psql("SELECT o.state FROM hg.outbox o JOIN invoice.bills b ON o.business_key = 'notify:' || b.id "
              . "WHERE o.topic = 'invoice.notify' AND b.bill_no = '$no'");
}
sub issue { json_of(signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', outpatient())) }
my $pauses = sub { psql("SELECT count(*) FROM hg.outbox_pauses") };

# ---- pause invoice.upload from the console's API
$res = staff_post('/hg/outbox/pause', { topic => 'invoice.upload', reason => '财政平台系统维护' });
ok t_cmp($res->code, 200, 'admin pauses invoice.upload');
ok t_cmp(json_of($res)->{paused}, 1, 'the answer says paused');
my $st = topic_status('invoice.upload');
ok t_cmp($st->{paused} && $st->{paused}{reason}, '财政平台系统维护', '/hg/status shows the pause and why');
ok t_cmp(exists $st->{paused}{until} && !defined $st->{paused}{until} ? 1 : 0, 1, 'until resumed (no end)');
ok t_cmp($st->{paused}{since} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, 'since when');
ok t_cmp(exists $st->{paused}{by} ? 1 : 0, 0, 'the public page does not say who paused it');
ok t_cmp(GET('/hg/metrics')->content, qr/^hisgate_outbox_paused\{topic="invoice\.upload"\} 1$/m,
         '/hg/metrics: hisgate_outbox_paused 1 (alerts can leave the topic out)');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE endpoint = 'POST /hg/outbox/pause' AND caller = 'admin' AND status = 200") >= 1 ? 1 : 0,
         1, 'the pause is journalled with who did it');

# ---- a bill issued meanwhile: its SMS goes out, its upload waits without spending an attempt
# (the drain reads the pauses once a second)
select(undef, undef, undef, 1.5);
my $bill = issue();
ok t_cmp($bill->{billNo} // '', qr/^\d{10}$/, 'issuance goes on during the pause');
ok t_cmp(wait_until(15, sub { notify_state($bill->{billNo}) eq 'done' }) ? 1 : 0, 1,
         'another topic (the SMS notice) is delivered meanwhile');
sleep 2;     # a few more of the drain's rounds
my $row = upload_row($bill->{billNo});
ok t_cmp("$row->[0] $row->[1]", 'pending 0', 'the upload waits, pending, no attempt spent');
my ($rc, $out) = hisgate('outbox stats');
ok t_cmp(decode_utf8($out), qr/^invoice\.upload\s.*PAUSED by admin since \S+ until resumed: 财政平台系统维护$/m,
         '`hisgate outbox stats` shows the pause, who and why');
ok t_cmp(topic_status('invoice.upload')->{pending} >= 1 ? 1 : 0, 1, '/hg/status counts the waiting row');

# ---- resumed from the CLI: the upload goes out
($rc, $out) = hisgate('outbox resume --topic invoice.upload');
ok t_cmp($rc, 0, 'hisgate outbox resume');
ok t_cmp(wait_until(20, sub { upload_row($bill->{billNo})->[0] eq 'done' }) ? 1 : 0, 1, 'the upload is delivered once resumed');
ok t_cmp(upload_row($bill->{billNo})->[1], 1, 'at its first attempt');
ok t_cmp(defined topic_status('invoice.upload')->{paused} ? 1 : 0, 0, '/hg/status: no longer paused');
ok t_cmp(GET('/hg/metrics')->content, qr/^hisgate_outbox_paused\{topic="invoice\.upload"\} 0$/m, '/hg/metrics: 0');
$res = staff_post('/hg/outbox/resume', { topic => 'invoice.upload' });
ok t_cmp($res->code . ' ' . (json_of($res)->{code} // ''), '404 HG_NOT_FOUND', 'resuming a topic not paused: 404');

# ---- a pause with an end lifts itself: the CLI, until 4 s from now in the database's time zone
my $until = psql("SELECT to_char(now() + interval '4 seconds', 'YYYY-MM-DD HH24:MI:SS')");
($rc, $out) = hisgate(qq(outbox pause --topic hg.probe.fiscal --reason "platform upgrade" --until "$until"));
ok t_cmp($rc, 0, "hisgate outbox pause --until $until");
select(undef, undef, undef, 1.5);
($rc, $out) = hisgate('probe fiscal --institution 44010001');
my ($key) = $out =~ /queued hg\.probe\.fiscal (\S+)/;
my $probe = sub { psql("SELECT state || ' ' || attempts FROM hg.outbox WHERE business_key = '$key'") };
select(undef, undef, undef, 1.0);
ok t_cmp($probe->(), 'pending 0', 'the probe waits while the pause lasts');
ok t_cmp(topic_status('hg.probe.fiscal')->{paused}{until} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d/, 'until when, shown');
ok t_cmp(wait_until(15, sub { $probe->() =~ /^done/ }) ? 1 : 0, 1, 'delivered once the pause has run out, with no resume');
ok t_cmp(defined topic_status('hg.probe.fiscal')->{paused} ? 1 : 0, 0, 'a pause that ran out is not shown');
($rc, $out) = hisgate('outbox resume --topic hg.probe.fiscal');
ok t_cmp($rc != 0 && $out =~ /is not paused/ ? 1 : 0, 1, 'resuming a pause that ran out: not paused');

# ---- bad input: a clear error, nothing written
my $before = $pauses->();
my @bad = (
    [{ topic => 'Invoice Upload', reason => 'x' }, 'HG_FIELD_PATTERN', 'topic', 'a topic that is no topic name'],
    [{ topic => 'invoice.upload' }, 'HG_FIELD_REQUIRED', 'reason', 'no reason'],
    [{ topic => 'invoice.upload', reason => 'x', until => '2026-02-30 10:00' }, 'HG_FIELD_DATE', 'until', 'a date that does not exist'],
    [{ topic => 'invoice.upload', reason => 'x', until => 'tomorrow' }, 'HG_FIELD_DATE', 'until', 'not a time'],
    [{ topic => 'invoice.upload', reason => 'x', until => '2020-01-01 00:00' }, 'HG_FIELD_RANGE', 'until', 'an end in the past'],
    [{ topic => 'invoice.upload', reason => 'x' x 201 }, 'HG_FIELD_TOO_LONG', 'reason', 'a reason of 201 characters'],
    [{ topic => 'invoice.upload', reason => 'x', by => 'someone' }, 'HG_FIELD_UNKNOWN', 'by', 'who paused it is not the caller\'s to say'],
);
for my $b (@bad) {
    my ($body, $code, $field, $what) = @$b;
    my $r = staff_post('/hg/outbox/pause', $body);
    my $j = json_of($r);
    ok t_cmp($r->code . ' ' . ($j->{code} // '') . ' ' . ($j->{field} // ''), "400 $code $field", $what);
}
ok t_cmp($pauses->(), $before, 'none of them wrote a pause');
($rc, $out) = hisgate('outbox pause --topic invoice.upload --reason x --until 2026-13-01');
ok t_cmp($rc != 0 && $out =~ /--until/ ? 1 : 0, 1, 'the CLI refuses a bad --until too');

# ---- the role ops (or admin) only; a session's CSRF token required
my ($r2, $clerk_cookie, $clerk_csrf) = staff_login('clerk', 'Cashier-Pass#2026x');
$res = staff_post('/hg/outbox/pause', { topic => 'invoice.upload', reason => 'x' }, $clerk_cookie, $clerk_csrf);
ok t_cmp($res->code, 403, 'a cashier cannot pause deliveries');
$res = POST '/hg/outbox/pause', Cookie => $cookie, 'Content-Type' => 'application/json',
    content => $json->encode({ topic => 'invoice.upload', reason => 'x' });
ok t_cmp($res->code, 403, 'nor a request without the CSRF token');
ok t_cmp($pauses->(), $before, 'still nothing written');
