# 发送到邮箱: a patient sends their bill's layout file to a mailbox from the bill page; the outbox
# delivers it over SMTP (libcurl) to the sandbox's mail server (SandboxSMTP on a port of its own),
# retries what the server defers, dead-letters what it refuses, and sends one address once a day
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(POST);
use Apache::TestUtil qw(t_cmp);
use Encode qw(decode);
use MIME::Base64 qw(decode_base64);
use JSON::PP ();
use HG qw(json_of signed_request psql wait_until);
use HGInvoice qw(outpatient);

plan tests => 29;

my $json = JSON::PP->new->utf8->canonical;
my $bill = json_of(signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', outpatient()));
my ($code, $no, $rnd) = @$bill{qw(billBatchCode billNo random)};
my $bid = psql("SELECT id FROM invoice.bills WHERE bill_batch_code = '$code' AND bill_no = '$no'");
sub ask {
    my (%o) = @_;
    my $r = POST('/invoice/pub/v1/email', 'Content-Type' => 'application/json',
                 content => $json->encode({ code => $code, no => $no, random => $rnd, %o }));
    return ($r, eval { json_of($r) } // {});
}
sub mails_to { psql("SELECT count(*) FROM sandbox.mails WHERE lower(rcpt_to) = lower('$_[0]')") }
sub rows { psql("SELECT count(*) FROM hg.outbox WHERE topic = 'invoice.notify' AND business_key LIKE 'email:$bid:%'") }

my $addr = "zhang.san.$$\@example.com";
my ($r, $j) = ask(email => $addr);
ok t_cmp($r->code, 202, 'the e-mail is queued');
ok t_cmp($j->{email}, 'z***@example.com', 'the answer shows the address masked');
ok t_cmp(wait_until(20, sub { mails_to($addr) }) ? 1 : 0, 1, "the sandbox's mail server got it");

# ---- what arrived: a MIME message with the text and the PDF
my $msg = psql("SELECT data FROM sandbox.mails WHERE rcpt_to = '$addr' ORDER BY id DESC LIMIT 1");
my ($head, $body) = split /\r\n\r\n/, $msg, 2;
my %h = map { /^([A-Za-z-]+): (.*)$/ ? (lc $1 => $2) : () } split /\r\n/, $head;
ok t_cmp(decode('MIME-Header', $h{subject} // ''), qr/广州市演示人民医院电子票据 \Q$code $no\E/, 'subject: the institution and the bill');
ok t_cmp(decode('MIME-Header', $h{from} // ''), '广州市演示人民医院 <noreply@test-hospital.example>', 'from the configured sender, by the institution name');
ok t_cmp($h{to} // '', "<$addr>", 'to the address asked for');
my ($boundary) = ($h{'content-type'} // '') =~ /boundary="([^"]+)"/;
my @parts = grep { /\S/ && !/^--\s*$/ } split /\r\n--\Q$boundary\E(?:--)?\r\n?/, "\r\n$body";
ok t_cmp(scalar @parts, 2, 'two parts: the text and the file');
my ($th, $tb) = split /\r\n\r\n/, $parts[0] // '', 2;
ok t_cmp(decode('UTF-8', decode_base64($tb // '')), qr/票据代码 \Q$code\E，票据号码 \Q$no\E/, 'the text names the bill');
my ($ph, $pb) = split /\r\n\r\n/, $parts[1] // '', 2;
ok t_cmp($ph, qr{Content-Disposition: attachment; filename="ebill-\Q$code-$no\E\.pdf"}, 'the file is an attachment');
my $pdf = decode_base64($pb // '');
ok t_cmp(substr($pdf, 0, 5), '%PDF-', 'a PDF');
my $state = Apache::Test::vars('t_dir') . '/state';
open my $fh, '>:raw', "$state/mail.pdf" or die $!;
print $fh $pdf;
close $fh;
ok t_cmp(decode('UTF-8', scalar `pdftotext -q '$state/mail.pdf' - 2>/dev/null`), qr/\Q$no\E/, 'the layout file of the bill (pdftotext)');
ok t_cmp(psql("SELECT result->>'reply' FROM hg.outbox WHERE business_key LIKE 'email:$bid:%'"), 250, 'delivered: the server said 250');

ok t_cmp(wait_until(10, sub { psql("SELECT count(*) FROM hg.audit WHERE endpoint = 'notify.email' AND status = 250 "
                                   . "AND at > now() - interval '1 minute'") }) ? 1 : 0, 1,
         'the exchange is journalled like the platforms\' calls');

# ---- personal data: the address is only in the sealed payload and as a keyed hash
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE business_key LIKE 'email:$bid:%' AND (payload::text LIKE '%example.com%' "
            . "OR business_key LIKE '%example%')"), 0, 'the outbox row keeps no address in clear');
ok t_cmp(psql("SELECT count(*) FROM invoice.mail_sends WHERE bill_id = $bid AND addr_idx ~ '^[0-9a-f]{64}\$'"), 1,
         'one keyed hash per address');

# ---- the same address again (in capitals) sends nothing more
($r, $j) = ask(email => uc $addr);
ok t_cmp($r->code, 202, 'the same address again is answered');
ok t_cmp(rows(), 1, 'but queues nothing more');

# ---- the server refuses for good, or for now
($r) = ask(email => 'reject@example.com');
ok t_cmp(wait_until(20, sub { psql("SELECT state FROM hg.outbox WHERE business_key LIKE 'email:$bid:%' AND last_error LIKE '%550%'") eq 'dead' }) ? 1 : 0,
         1, 'a 550 dead-letters the e-mail');
($r) = ask(email => 'greylist@example.com');
ok t_cmp(wait_until(20, sub { psql("SELECT state || ' ' || (attempts > 0)::text FROM hg.outbox WHERE business_key LIKE 'email:$bid:%' "
                                 . "AND last_error LIKE '%451%'") eq 'pending true' }) ? 1 : 0, 1, 'a 451 is retried later');

# ---- five addresses a bill a day
ask(email => "a$$\@example.com");
($r, $j) = ask(email => "b$$\@example.com");
ok t_cmp($r->code, 202, 'the fifth address is taken');
($r, $j) = ask(email => "c$$\@example.com");
ok t_cmp($r->code . ' ' . ($j->{code} // '-') . ' ' . ($j->{field} // '-'), '429 HG_INVOICE_MAIL_LIMIT email', 'a sixth is refused');

# ---- bad input
($r, $j) = ask(email => 'not-an-address');
ok t_cmp($r->code . ' ' . ($j->{code} // '-') . ' ' . ($j->{field} // '-'), '400 HG_FIELD_PATTERN email', 'not an address');
($r, $j) = ask(email => "x$$\@example.com", random => 'zzzzzz');
ok t_cmp($r->code . ' ' . ($j->{code} // '-'), '404 HG_INVOICE_NOT_FOUND', 'a wrong check code finds no bill');
($r, $j) = ask(email => "y$$\@example.com", extra => 1);
ok t_cmp($r->code . ' ' . ($j->{code} // '-'), '400 HG_FIELD_UNKNOWN', 'an unknown field is refused');
psql("UPDATE hg.outbox SET state = 'done' WHERE business_key LIKE 'email:$bid:%' AND state = 'pending'");

# ---- the HIS gives an e-mail address with the bill: the layout file goes there, drawn by the delivery
my $haddr = "his.given.$$\@example.com";
my $mb = outpatient();
$mb->{email} = $haddr;
my $hb = json_of(signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', $mb));
my $hid = psql("SELECT id FROM invoice.bills WHERE bill_batch_code = '$hb->{billBatchCode}' AND bill_no = '$hb->{billNo}'");
ok t_cmp(wait_until(20, sub { mails_to($haddr) }) ? 1 : 0, 1, 'a bill issued with an e-mail address: the mail arrives');
my $hm = psql("SELECT data FROM sandbox.mails WHERE rcpt_to = '$haddr' ORDER BY id DESC LIMIT 1");
my ($hhead, $hbody) = split /\r\n\r\n/, $hm, 2;
my ($hbound) = $hhead =~ /boundary="([^"]+)"/;
my @hparts = grep { /\S/ && !/^--\s*$/ } split /\r\n--\Q$hbound\E(?:--)?\r\n?/, "\r\n" . ($hbody // '');
my (undef, $hpb) = split /\r\n\r\n/, $hparts[1] // '', 2;
open my $hfh, '>:raw', "$state/his-mail.pdf" or die $!;
print $hfh decode_base64($hpb // '');
close $hfh;
ok t_cmp(decode('UTF-8', scalar `pdftotext -q '$state/his-mail.pdf' - 2>/dev/null`), qr/\Q$hb->{billNo}\E[\s\S]*待监制|待监制[\s\S]*\Q$hb->{billNo}\E/,
         'with the bill\'s layout file, drawn in the delivery (before supervision: 待监制)');
ok t_cmp(psql("SELECT state || ' ' || (result->>'reply') || ' ' || (payload::text NOT LIKE '%$haddr%')::text FROM hg.outbox "
              . "WHERE business_key = 'issuemail:$hid'"), 'done 250 true', 'one delivery, the address sealed in the outbox');
my ($rr) = json_of(signed_request('POST', '/invoice/api/v1/writeOffEBill', { billBatchCode => $hb->{billBatchCode},
    billNo => $hb->{billNo}, reason => '退费', operator => '李四', busDateTime => $hb->{createTime}, placeCode => 'MZ01' }));
ok t_cmp(($rr->{eScarletBillNo} ? 'red ' : 'no red ') . psql("SELECT count(*) FROM hg.outbox WHERE topic = 'invoice.notify' "
         . "AND business_key LIKE 'issuemail:%' AND business_key IN (SELECT 'issuemail:' || id FROM invoice.bills "
         . "WHERE related_id = $hid)"), 'red 0', 'its red bill sends no mail');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE business_key = 'issuemail:$bid'"), 0, 'a bill without an address: none');
