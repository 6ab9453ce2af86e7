# A long stay's itemised list (费用清单): an inpatient bill with 5,000 lines in listDetail is issued,
# reaches the fiscal platform, and its layout file lists every line; 5,001 lines are refused on the
# field.  (Every list was capped at the 500 items of a batch, so a long stay could not be billed.)
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use File::Temp qw(tempfile);
use HG qw(json_of signed_request psql wait_until);
use HGInvoice qw(long_inpatient);

plan tests => 7;

my $api = '/invoice/api/v1';
my $d = long_inpatient(5000);
my $r = signed_request('POST', "$api/invEBillHospitalized", $d);
my $j = json_of($r);
ok t_cmp($r->code, 200, 'an inpatient bill with 5,000 list lines is issued');
my ($c, $n) = @$j{qw(billBatchCode billNo)};

ok t_cmp(wait_until(30, sub { psql("SELECT count(*) FROM sandbox.fiscal_bills WHERE bill_no = '$n'") == 1 }), 1,
         'it reaches the fiscal platform');
ok t_cmp(psql("SELECT jsonb_array_length(content->'data'->'listDetail') FROM sandbox.fiscal_bills WHERE bill_no = '$n'"),
         5000, 'with its 5,000 lines');

$r = signed_request('GET', "$api/bills/$c/$n/pdf", '');
ok t_cmp($r->code . ' ' . ($r->header('Content-Type') // ''), '200 application/pdf', 'its layout file');
my ($fh, $pdf) = tempfile(SUFFIX => '.pdf', UNLINK => 1);
binmode $fh;
print $fh $r->content;
close $fh;
my $text = `pdftotext -layout '$pdf' - 2>/dev/null`;
utf8::decode($text);
ok t_cmp(join(' ', map { index($text, "明细项目$_") >= 0 ? 1 : 0 } 1, 2500, 4999, 5000), '1 1 1 1',
         'lists the first, a middle and the last lines');
my ($pages) = `pdfinfo '$pdf' 2>/dev/null` =~ /^Pages:\s+(\d+)/m;
ok t_cmp(($pages // 0) > 50 ? 'many pages' : 'pages: ' . ($pages // 'none'), 'many pages', "on $pages pages");

my $over = long_inpatient(5001);
$r = signed_request('POST', "$api/invEBillHospitalized", $over);
$j = json_of($r);
ok t_cmp(join(' ', $r->code, $j->{code} // '-', $j->{field} // '-'), '400 HG_TOO_MANY_ITEMS listDetail',
         '5,001 lines: refused on listDetail');
