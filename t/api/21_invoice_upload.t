# uploads to the fiscal platform: retried while it is down, dead-lettered when it refuses, visible
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request psql wait_until staff_login);
use HGInvoice qw(outpatient now17);

plan tests => 21;

sub mode { POST '/sandbox/control', 'Content-Type' => 'application/json', content => qq({"platform":"fiscal","mode":"$_[0]"}) }
sub issue { json_of(signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', outpatient())) }
sub upload_row { my ($no) = @_; my $r = psql("SELECT o.state || '|' || o.attempts || '|' || coalesce(o.last_error, '') || '|' || o.id FROM hg.outbox o JOIN invoice.bills b ON o.business_key = 'upload:' || b.id WHERE o.topic = 'invoice.upload' AND b.bill_no = '$no'"); [split /\|/, $r, 4] }

mode('down');
my $j = issue();
ok t_cmp($j->{billNo}, qr/^\d{10}$/, 'issuance does not wait for the platform');
ok t_cmp(wait_until(15, sub { upload_row($j->{billNo})->[1] >= 2 }) ? 1 : 0, 1, 'upload retried while the platform is down');
ok t_cmp(upload_row($j->{billNo})->[0], qr/^(pending|inflight)$/, 'and kept, not lost');
mode('normal');
ok t_cmp(wait_until(20, sub { upload_row($j->{billNo})->[0] eq 'done' }) ? 1 : 0, 1, 'uploaded once the platform is back');
# the upload row refers to its bill (no copy of the sealed document); the drainer completed it with
# the bill's document and seal, and the delivery rebuilt from them what the platform keeps
my $join = "FROM hg.outbox o JOIN invoice.bills b ON o.business_key = 'upload:' || b.id "
         . "WHERE o.topic = 'invoice.upload' AND b.bill_no = '$j->{billNo}'";
ok t_cmp(psql("SELECT ((o.payload->>'bill')::bigint = b.id) || ' ' || (o.payload->>'service') || ' ' "
            . "|| (o.payload ?| array['docSealed', 'sealSignature', 'sealed']) || ' ' || (o.payload::text LIKE '%张三%') $join"),
         'true invoiceEBillOutpatient false false', 'the upload row: the bill and the service, no copy of the document, nothing in clear');
ok t_cmp(psql("SELECT (f.content->>'sealSignature' = b.seal) || ' ' || (f.content->'data'->>'busNo' = b.bus_no) || ' ' "
            . "|| (f.content->>'random' = b.random) || ' ' || (f.content->>'isScarlet') FROM sandbox.fiscal_bills f "
            . "JOIN invoice.bills b ON f.bill_batch_code = b.bill_batch_code AND f.bill_no = b.bill_no "
            . "WHERE b.bill_no = '$j->{billNo}'"),
         'true true true false', 'the platform got the unit seal, the check code and the bill data');
# a row queued by the version before (the sealed document and seal in the row) is still delivered,
# and carries exactly the same upload: the platform answers a different one with E2002
psql("INSERT INTO hg.outbox (topic, institution, business_key, payload, max_attempts) "
   . "SELECT 'invoice.upload', b.institution, 'upload-v14:' || b.id, jsonb_build_object('service', "
   . "'invoiceEBillOutpatient', 'sealSignature', b.seal, 'docSealed', b.doc_sealed), 3 FROM invoice.bills b "
   . "WHERE b.bill_no = '$j->{billNo}'");
my $old = sub { psql("SELECT o.state || ' ' || coalesce(o.last_error, '-') FROM hg.outbox o JOIN invoice.bills b "
                   . "ON o.business_key = 'upload-v14:' || b.id WHERE b.bill_no = '$j->{billNo}'") };
wait_until(20, sub { $old->() =~ /^(done|dead)/ });
ok t_cmp($old->(), 'done -', 'an upload row of the previous form is delivered, the same upload');

mode('reject');
$j = issue();
ok t_cmp(wait_until(15, sub { upload_row($j->{billNo})->[0] eq 'dead' }) ? 1 : 0, 1, 'a refused upload is dead-lettered');
ok t_cmp(upload_row($j->{billNo})->[2], qr/E1002/, "with the platform's code");
my $s = json_of(GET '/hg/status');
my ($topic) = grep { $_->{topic} eq 'invoice.upload' } @{ $s->{outbox}{topics} };
ok t_cmp(($topic->{dead} // 0) >= 1 ? 1 : 0, 1, '/hg/status shows the dead upload');
# the bill is flushed meanwhile: its red bill's upload waits behind the dead one (the platform would
# answer "no such bill"), untried, while the platform still refuses everything
my $dead_id = upload_row($j->{billNo})->[3];
my $fr = signed_request('POST', '/invoice/api/v1/writeOffEBill', { billBatchCode => $j->{billBatchCode},
    billNo => $j->{billNo}, reason => '退费', operator => '李四', busDateTime => now17(), placeCode => 'MZ01' });
my $red_row = sub { psql("SELECT state || '/' || attempts FROM hg.outbox WHERE topic = 'invoice.upload' AND id > $dead_id "
                         . "AND order_key = (SELECT order_key FROM hg.outbox WHERE id = $dead_id)") };
sleep 3;
ok t_cmp($fr->code . ' ' . $red_row->(), '200 pending/0', 'a red-flush behind a dead upload waits, untried');
($topic) = grep { $_->{topic} eq 'invoice.upload' } @{ json_of(GET '/hg/status')->{outbox}{topics} };
ok t_cmp(($topic->{held} // 0) >= 1 ? 1 : 0, 1, '/hg/status counts it as held');
mode('normal');
my ($r, $cookie, $csrf) = staff_login('admin', 'Adm1n-Test-Pass#2026');
$r = POST '/hg/outbox/' . upload_row($j->{billNo})->[3] . '/retry', Cookie => $cookie, 'X-CSRF-Token' => $csrf;
ok t_cmp($r->code, 200, 'retried from the console after the cause is fixed');
ok t_cmp(wait_until(15, sub { upload_row($j->{billNo})->[0] eq 'done' }) ? 1 : 0, 1, 'and uploaded');
ok t_cmp(wait_until(15, sub { $red_row->() =~ /^done/ }) ? $red_row->() : $red_row->(), 'done/1',
         'then the red bill, at its first attempt');

# the delivery threads keep their connections to the platform: of 24 uploads spread over at most
# HisgateOutboxConcurrency threads, some arrive as the second or later request on a connection
# (each module calls through its own copy of hg_http; the kept handle is the drain's)
my $since = psql("SELECT max(id) FROM sandbox.fiscal_calls");
my @nos = map { issue()->{billNo} } 1 .. 24;
wait_until(30, sub { (grep { upload_row($_)->[0] eq 'done' } @nos) == @nos });
ok t_cmp(psql("SELECT count(*) FILTER (WHERE keepalives > 0) > 0 FROM sandbox.fiscal_calls WHERE id > $since"), 't',
         'uploads go over kept-alive connections');
# an outage is retried, not dead-lettered: every upload row (bills alone and grouped, red-flushes,
# paper events) has the 1,000 attempts of INVOICE_UPLOAD_ATTEMPTS (50 gave up after ~43 hours)
ok t_cmp(psql("SELECT string_agg(DISTINCT max_attempts::text, ',') FROM hg.outbox WHERE topic = 'invoice.upload' "
         . "AND business_key NOT LIKE 'upload-v14:%'"),
         '1000', 'upload rows retry for weeks: 1,000 attempts, an hour apart at most');
# the platform keeps the issue's rule too: a red bill for an original that still has a live paper
# is refused (E2005, which the client retries: the paper's void goes first in the bill's order).
# Sent by hand, as the module never would: a real red upload, pointed at a bill exchanged for paper.
{
    use Digest::MD5 qw(md5_hex);
    use MIME::Base64 qw(encode_base64 decode_base64);
    use JSON::PP ();
    my $js = JSON::PP->new->utf8->canonical;
    my $api = '/invoice/api/v1';
    my $blue = issue();
    json_of(signed_request('POST', "$api/writeOffEBill", { billBatchCode => $blue->{billBatchCode}, billNo => $blue->{billNo},
            reason => '退费', operator => '李四', busDateTime => HGInvoice::now17(), placeCode => 'MZ01' }));
    my $paperb = issue();
    my $pn = json_of(signed_request('POST', "$api/getPaperBillNo", { placeCode => 'MZ01' }));
    signed_request('POST', "$api/turnPaper", { billBatchCode => $paperb->{billBatchCode}, billNo => $paperb->{billNo},
                   busDateTime => HGInvoice::now17(), placeCode => 'MZ01', operator => '李四',
                   pBillBatchCode => $pn->{pBillBatchCode}, pBillNo => $pn->{pBillNo} });
    wait_until(20, sub { psql("SELECT count(*) FROM sandbox.fiscal_papers WHERE bill_no = '$paperb->{billNo}' "
                              . "AND state = 'live'") == 1 });
    my $red_json;
    wait_until(20, sub { $red_json = psql("SELECT data FROM sandbox.fiscal_calls WHERE service = 'writeOffEBill' "
                                          . "AND result = 'S0000' AND data LIKE '%$blue->{billNo}%' ORDER BY id DESC LIMIT 1") });
    my $red = eval { $js->decode($red_json // '') } // {};
    $red->{relatedBill} = { billBatchCode => $paperb->{billBatchCode}, billNo => $paperb->{billNo} };
    $red->{billNo} = '99' . substr($paperb->{billNo}, 2);
    my $data = encode_base64($js->encode($red), '');
    my ($appid, $key, $noise) = ('test-fiscal-app', 'test-fiscal-key-0123456789', sprintf('%08x-0000-4000-8000-%012x', time, $$));
    my $sign = uc md5_hex("appid=$appid&data=$data&noise=$noise&key=$key&version=1.0");
    my $r = POST '/sandbox/fiscal/writeOffEBill', 'Content-Type' => 'application/json',
                 content => $js->encode({ appid => $appid, data => $data, noise => $noise, version => '1.0', sign => $sign });
    my $ans = eval { $js->decode(decode_base64($js->decode($r->content)->{data})) } // {};
    ok t_cmp(($ans->{result} // '-') . ' ' . (psql("SELECT count(*) FROM sandbox.fiscal_bills WHERE bill_no = '$red->{billNo}'")),
             'E2005 0', 'the platform refuses a red bill while the original has a live paper (E2005), and stores nothing');
}
# a success that names another bill marks nothing: the bill is sent again until its own answer comes
mode('misanswer');
my $mb = issue();
ok t_cmp(wait_until(20, sub { (upload_row($mb->{billNo})->[2] // '') =~ /the answer names billNo 0000000000/ }) ? 'refused' : join('|', @{ upload_row($mb->{billNo}) }),
         'refused', 'an S0000 naming another bill is not taken as this bill\'s supervision');
ok t_cmp(upload_row($mb->{billNo})->[0], 'pending', 'and the upload waits to go again');
mode('normal');
psql("UPDATE hg.outbox SET next_at = now() WHERE topic = 'invoice.upload' AND state = 'pending'");
ok t_cmp(wait_until(20, sub { upload_row($mb->{billNo})->[0] eq 'done' }) ? 'done' : join('|', @{ upload_row($mb->{billNo}) }),
         'done', 'then its own answer marks it uploaded');
