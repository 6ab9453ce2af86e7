# 200 parallel issues on one billing point: 200 distinct numbers, no gap
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request psql);
use HGInvoice qw(outpatient);

plan tests => 5;

my $place = 'BP64';
my $audit_before = psql("SELECT count(*) FROM hg.audit WHERE endpoint = 'POST /invoice/api/v1/invoiceEBillOutpatient'");
my $start = psql("SELECT next_no FROM invoice.stock WHERE place_code = '$place' AND kind = 'ebill'");
my @kids;
for my $k (1 .. 20) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $ok = 0;
        for (1 .. 10) {
            my $r = signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', outpatient(placeCode => $place));
            $ok++ if $r->code == 200;
        }
        exit($ok == 10 ? 0 : 1);
    }
    push @kids, $pid;
}
my $failed = 0;
for (@kids) { waitpid($_, 0); $failed++ if $? }
ok t_cmp($failed, 0, 'all 200 requests answered 200');
my $nos = psql("SELECT count(*) || ' ' || count(DISTINCT bill_no) || ' ' || min(bill_no::bigint) || ' ' || max(bill_no::bigint) "
             . "FROM invoice.bills WHERE place_code = '$place'");
my ($count, $distinct, $min, $max) = split ' ', $nos;
ok t_cmp($count, 200, '200 bills');
ok t_cmp($distinct, 200, '200 distinct numbers');
ok t_cmp("$min..$max", "$start.." . ($start + 199), 'no gap: the numbers are consecutive from the stock');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE endpoint = 'POST /invoice/api/v1/invoiceEBillOutpatient'") - $audit_before,
         200, 'each issuance journalled exactly once');
