# uploads to the fiscal platform: retried while it is down, dead-lettered when it refuses, visible
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request psql wait_until staff_login);
use HGInvoice qw(outpatient);

plan tests => 11;

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
# the upload row carries the bill's own sealed document and seal (no second sealed copy of the
# data); the delivery rebuilt from them what the platform keeps: the unit seal and the bill data
my $join = "FROM hg.outbox o JOIN invoice.bills b ON o.business_key = 'upload:' || b.id "
         . "WHERE o.topic = 'invoice.upload' AND b.bill_no = '$j->{billNo}'";
ok t_cmp(psql("SELECT (o.payload->>'docSealed' = b.doc_sealed) || ' ' || (o.payload->>'sealSignature' = b.seal) || ' ' "
            . "|| (o.payload->>'service') || ' ' || (o.payload ? 'sealed') || ' ' || (o.payload::text LIKE '%张三%') $join"),
         'true true invoiceEBillOutpatient false false', 'the upload row: the sealed document, its seal and the service, nothing in clear');
ok t_cmp(psql("SELECT (f.content->>'sealSignature' = b.seal) || ' ' || (f.content->'data'->>'busNo' = b.bus_no) || ' ' "
            . "|| (f.content->>'random' = b.random) || ' ' || (f.content->>'isScarlet') FROM sandbox.fiscal_bills f "
            . "JOIN invoice.bills b ON f.bill_batch_code = b.bill_batch_code AND f.bill_no = b.bill_no "
            . "WHERE b.bill_no = '$j->{billNo}'"),
         'true true true false', 'the platform got the unit seal, the check code and the bill data');

mode('reject');
$j = issue();
ok t_cmp(wait_until(15, sub { upload_row($j->{billNo})->[0] eq 'dead' }) ? 1 : 0, 1, 'a refused upload is dead-lettered');
ok t_cmp(upload_row($j->{billNo})->[2], qr/E1002/, "with the platform's code");
my $s = json_of(GET '/hg/status');
my ($topic) = grep { $_->{topic} eq 'invoice.upload' } @{ $s->{outbox}{topics} };
ok t_cmp(($topic->{dead} // 0) >= 1 ? 1 : 0, 1, '/hg/status shows the dead upload');
mode('normal');
my ($r, $cookie, $csrf) = staff_login('admin', 'Adm1n-Test-Pass#2026');
$r = POST '/hg/outbox/' . upload_row($j->{billNo})->[3] . '/retry', Cookie => $cookie, 'X-CSRF-Token' => $csrf;
ok t_cmp($r->code, 200, 'retried from the console after the cause is fixed');
ok t_cmp(wait_until(15, sub { upload_row($j->{billNo})->[0] eq 'done' }) ? 1 : 0, 1, 'and uploaded');
