# HG_INVOICE_PDF_BUSY: a first download that finds no render free within InvoicePdfWait answers 503
# with the code, never a half file; a host with InvoicePdfWait 0 answers at once, the default host
# waits; the patient's next tap gets the file; no render is left taken
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(time sleep);
use HG qw(json_of signed_request psql);
use HGInvoice qw(long_inpatient);

plan tests => 9;

my $N = 20;
my $state = "$ENV{HG_TOP}/t/state";


my @links;
for (1 .. $N) {
    my $j = json_of(signed_request('POST', '/invoice/api/v1/invEBillHospitalized', long_inpatient(500, placeCode => 'BP62')));
    my $b = json_of(GET "/invoice/pub/v1/bill?code=$j->{billBatchCode}&no=$j->{billNo}&random=$j->{random}");
    push @links, $b->{pdfUrl} // '';
}
ok t_cmp(scalar(grep { m{^/invoice/pub/v1/pdf/} } @links), $N, 'fresh bills with their signed PDF links');

# the burst on the host that does not wait: every child at the same instant
my $logfile = Apache::Test::vars('t_logs') . '/error_log';
my $log_at = -s $logfile;
Apache::TestRequest::module('pdf_nowait');
my $go = time + 1;
my @kids;
for my $i (0 .. $#links) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        sleep($go - time) if $go > time;
        my $r = GET($links[$i]);
        my $j = $r->code == 200 ? {} : (eval { json_of($r) } // {});
        open my $fh, '>:encoding(UTF-8)', "$state/busy.$i" or die $!;
        print $fh join('|', $r->code, $r->header('Content-Type') // '-', $j->{code} // '-',
                       $r->code == 200 && substr($r->content, 0, 5) eq '%PDF-' && $r->content =~ /%%EOF\s*$/ ? 'whole' : 'not-pdf',
                       $j->{message} // '-'), "\n";
        close $fh;
        exit 0;
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;
my @answers = map { open my $fh, '<:encoding(UTF-8)', "$state/busy.$_" or die $!; my $l = <$fh>; chomp $l; unlink "$state/busy.$_"; $l } 0 .. $#links;
my @busy = grep { $answers[$_] =~ /^503\|application\/json[^|]*\|HG_INVOICE_PDF_BUSY\|not-pdf\|/ } 0 .. $#links;
my @whole = grep { $answers[$_] =~ /^200\|application\/pdf\|-\|whole\|-$/ } 0 .. $#links;
ok t_cmp(scalar(@busy) + scalar(@whole), $N, 'every answer is a whole PDF or 503 HG_INVOICE_PDF_BUSY')
    or print STDERR map { "# $_\n" } @answers;
ok t_cmp(@busy ? 'some busy' : 'none busy', 'some busy', "renders all taken: the host that does not wait says so at once (" . scalar(@busy) . " of $N)");
ok t_cmp(@whole ? 'some rendered' : 'none rendered', 'some rendered', 'while the renders that were free went on (' . scalar(@whole) . ')');
ok t_cmp(@busy ? $answers[$busy[0]] : '-', qr/\|not-pdf\|.*\(版式文件生成繁忙，请稍后再试\)$/, 'a busy answer tells the patient to tap again');
my $text = do { open my $fh, '<', $logfile or die $!; seek $fh, $log_at, 0; local $/; <$fh> // '' };
ok t_cmp($text, qr/HG10004: no PDF render free within 0 s \(InvoicePdfRenders, InvoicePdfWait\)/,
         'the error log says why, with the wait');
Apache::TestRequest::module('default');

# the patient taps again, one at a time: every file comes
my @again = map { my $r = GET($links[$_]); $r->code == 200 && substr($r->content, 0, 5) eq '%PDF-' ? 'pdf' : $r->code } @busy;
ok t_cmp(join(',', grep { $_ ne 'pdf' } @again), '', 'each busy bill downloads on the next tap');

# nothing left taken: the render line and the database slots are free again
my $st = json_of(GET '/hg/status');
my $line = $st->{lines}{'invoice.pdf'} // {};
ok t_cmp(($line->{in_use} // '?') . '/' . ($line->{waiting} // '?'), '0/0', 'no render taken or waiting afterwards');
ok t_cmp(psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"),
         0, 'no connection left in a transaction');
