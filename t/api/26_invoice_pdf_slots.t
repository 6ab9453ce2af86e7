# First downloads of layout files do not hold a database slot while they render: many fresh
# bills' PDFs at once (signed HIS downloads and patients' signed links) beside cheap database
# calls, with the test server's 4 slots per process and 1.5 s wait: no 503, every PDF whole, one
# audit row per signed call, every PDF cached, and afterwards no slot or connection left over.
# The renders themselves wait in line for InvoicePdfRenders (one per CPU here) without a slot.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use LWP::UserAgent;
use Time::HiRes qw(time sleep);
use HG qw(json_of signed_request psql wait_until);
use HGInvoice qw(long_inpatient);

plan tests => 15;

my $api = '/invoice/api/v1';
my $N_API = 16;          # signed HIS downloads, one fresh bill each
my $N_PUB = 16;          # patients' signed links, one fresh bill each
my $N_PING = 8;          # children doing cheap signed calls meanwhile
my $PINGS = 5;           # … each
my $state = "$ENV{HG_TOP}/t/state";


sub pdftext {
    my ($file) = @_;
    my $t = `pdftotext -layout '$file' - 2>/dev/null`;
    utf8::decode($t);
    return $t;
}

# ---- fresh bills (never downloaded: nothing cached)
my (@bills, $issue_fail);
for my $i (1 .. $N_API + $N_PUB) {
    my $r = signed_request('POST', "$api/invEBillHospitalized", long_inpatient(240, placeCode => 'BP63'));
    my $j = json_of($r);
    $issue_fail //= $r->code . ' ' . $r->content if $r->code != 200;
    push @bills, $j;
}
ok t_cmp($issue_fail // 'none', 'none', 'the fresh bills are issued');
my $ids = join ',', map { "'$_->{billNo}'" } @bills;
ok t_cmp(psql("SELECT count(*) FROM invoice.pdf_cache c JOIN invoice.bills b ON b.id = c.bill_id WHERE b.bill_no IN ($ids)"),
         0, 'none of them has a cached PDF yet');
# their uploads and notices go out first: the burst is about renders beside cheap calls, not about
# the drain's calls to the sandbox (t/api/09 and 27 load those)
my $delivered = wait_until(30, sub {
    psql("SELECT count(*) FROM invoice.bills b JOIN hg.outbox o ON o.business_key IN ('upload:' || b.id, 'notify:' || b.id) "
       . "WHERE b.bill_no IN ($ids) AND o.state IN ('pending', 'inflight')") == 0 });
ok t_cmp($delivered ? 'delivered' : 'pending', 'delivered', "the fresh bills' uploads and notices are delivered before the burst");
# the patients' links, as the H5 page gets them
for my $b (@bills[$N_API .. $#bills]) {
    my $j = json_of(GET "/invoice/pub/v1/bill?code=$b->{billBatchCode}&no=$b->{billNo}&random=$b->{random}");
    $b->{pdfUrl} = $j->{pdfUrl};
}

# ---- the burst: every child waits for the same instant, then makes its call(s)
my $go = time + 1.5;
my @kids;
sub child {
    my ($tag, $sub) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        # the nonces of signed calls must differ from the siblings': seed from the kernel (pid ^ time
        # gave two siblings forked a millisecond apart the same seed, and so a replayed nonce)
        open my $u, '<:raw', '/dev/urandom' or die $!;
        read $u, my $seed, 4;
        close $u;
        srand(unpack 'L', $seed);
        sleep($go - time) if $go > time;
        my @lines = $sub->();
        open my $fh, '>', "$state/slots.$tag" or die $!;
        print $fh "$_\n" for @lines;
        close $fh;
        exit 0;
    }
    push @kids, $pid;
}
sub keep_pdf {
    my ($tag, $r) = @_;
    open my $fh, '>:raw', "$state/slots.$tag.pdf" or die $!;
    print $fh $r->content;
    close $fh;
}
for my $i (0 .. $#bills) {
    my $b = $bills[$i];
    if ($i < $N_API) {
        child("api$i", sub {
            my $t0 = time;
            my $r = signed_request('GET', "$api/bills/$b->{billBatchCode}/$b->{billNo}/pdf", '');
            keep_pdf("api$i", $r);
            return join ' ', 'api', $i, $r->code, sprintf('%.3f', time - $t0), $r->header('X-Request-Id') // '-', $r->header('Content-Type') // '-',
                            $r->code == 200 ? '' : substr($r->content =~ s/\s+/ /gr, 0, 200);
        });
    }
    else {
        child("pub$i", sub {
            my $t0 = time;
            my $r = GET($b->{pdfUrl});
            keep_pdf("pub$i", $r);
            return join ' ', 'pub', $i, $r->code, sprintf('%.3f', time - $t0), $r->header('X-Request-Id') // '-', $r->header('Content-Type') // '-',
                            $r->code == 200 ? '' : substr($r->content =~ s/\s+/ /gr, 0, 200);
        });
    }
}
for my $k (1 .. $N_PING) {
    child("ping$k", sub {
        map {
            my $t0 = time;
            my $r = signed_request('POST', '/hg/ping', {});
            join ' ', 'ping', $k, $r->code, sprintf('%.3f', time - $t0), $r->header('X-Request-Id') // '-', '-', $r->code == 200 ? '' : substr($r->content =~ s/\s+/ /gr, 0, 200);
        } 1 .. $PINGS;
    });
}
waitpid($_, 0) for @kids;
my $took = time - $go;
my @res;
for my $f (glob "$state/slots.*") {
    next if $f =~ /\.pdf$/;
    open my $fh, '<', $f or die $!;
    push @res, map { chomp; [split / /, $_, 7] } <$fh>;
    close $fh;
    unlink $f;
}
for my $k (qw(api pub ping)) {
    my @t = sort { $a <=> $b } map { $_->[3] } grep { $_->[0] eq $k } @res;
    printf STDERR "# %s: %d calls, %.3f s to %.3f s\n", $k, scalar @t, $t[0] // 0, $t[-1] // 0;
}
printf STDERR "# %d PDFs and %d pings in %.2f s\n", $N_API + $N_PUB, $N_PING * $PINGS, $took;
printf STDERR "# not 200: %s\n", join('; ', map { "$_->[0]$_->[1] $_->[2] $_->[3]s $_->[6]" } grep { $_->[2] != 200 } @res) || 'none';
if (grep { $_->[2] != 200 } @res) {
    # what the server said of the waits (no slot within HisgateDBWait, no render within 10 s): which
    # process and when, for a failure seen only on a busier machine
    my $log = Apache::Test::config()->{vars}{t_logs} . '/error_log';
    if (open my $fh, '<', $log) {
        my @w = grep { /HG00010|HG10004/ } <$fh>;
        close $fh;
        print STDERR "# error_log: $_" for @w[($#w > 19 ? $#w - 19 : 0) .. $#w];
    }
}

# ---- every answer 200 (none 503 HG_DB_BUSY)
ok t_cmp(scalar @res, $N_API + $N_PUB + $N_PING * $PINGS, 'every call answered');
my @bad = grep { $_->[2] != 200 } @res;
ok t_cmp(scalar(@bad) ? "$bad[0][0]: $bad[0][2] $bad[0][6] (" . scalar(@bad) . ' not 200)' : 'all 200', 'all 200',
         'no call was refused while the PDFs rendered');
my @pdf_bad;
for my $x (grep { $_->[0] ne 'ping' } @res) {
    my $file = "$state/slots.$x->[0]$x->[1].pdf";
    my $no = $bills[$x->[1]]{billNo};
    my $text = $x->[5] eq 'application/pdf' ? pdftext($file) : '';
    push @pdf_bad, "$x->[0]$x->[1]" unless $text =~ /\Q$no\E/ && $text =~ /明细项目240/;
    unlink $file;
}
ok t_cmp(join(',', @pdf_bad), '', 'every PDF is whole: pdftotext shows its bill number and its last item');

# ---- one audit row per signed call (the route gave its connection back and the glue took one again)
my @signed = grep { $_->[0] ne 'pub' && $_->[4] ne '-' } @res;
my $rids = join ',', map { "'$_->[4]'" } @signed;
my $rows = psql("SELECT string_agg(request_id || '|' || n, ' ') FROM (SELECT request_id, count(*) n FROM hg.audit "
              . "WHERE request_id IN ($rids) GROUP BY request_id) s");
my %n = map { split /\|/ } split ' ', $rows;
ok t_cmp(scalar(grep { ($n{$_->[4]} // 0) == 1 } @signed), scalar(@signed), 'each signed call left exactly one audit row');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE request_id IN ($rids) AND endpoint LIKE 'GET /invoice/api/v1/bills/%/pdf' AND status = 200"),
         $N_API, 'the signed downloads are audited as 200');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE request_id IN ("
              . join(',', map { "'$_->[4]'" } grep { $_->[0] eq 'pub' } @res) . ")"),
         0, 'patient links are not audited (as before)');

# ---- the cache was written after the render (the connection was taken again for it)
ok t_cmp(psql("SELECT count(*) FROM invoice.pdf_cache c JOIN invoice.bills b ON b.id = c.bill_id WHERE b.bill_no IN ($ids)"),
         $N_API + $N_PUB, 'every rendered PDF is in the cache');
my $r = signed_request('GET', "$api/bills/$bills[0]{billBatchCode}/$bills[0]{billNo}/pdf", '');
ok t_cmp($r->code . ' ' . substr($r->content, 0, 5), '200 %PDF-', 'a cached PDF answers');

# ---- the 告知单 renders without the connection too, and its signed call is audited once
$r = signed_request('GET', "$api/bills/$bills[1]{billBatchCode}/$bills[1]{billNo}/notice", '');
my $nf = "$state/slots.notice.pdf";
{ open my $fh, '>:raw', $nf or die $!; print $fh $r->content; close $fh; }
ok t_cmp(($r->header('Content-Type') // '') eq 'application/pdf' && pdftext($nf) =~ /\Q$bills[1]{random}\E/ ? 'notice' : $r->code,
         'notice', 'the notice is a PDF with the check code');
unlink $nf;
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE request_id = '" . ($r->header('X-Request-Id') // '') . "'"), 1,
         'the notice call left one audit row');

# ---- nothing left over: each process's slots back to the status call's own, connections bounded
my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 10);
my $base = 'http://' . Apache::TestRequest::hostport();
my $last = '';
my $idle = wait_until(20, sub {
    my @in_use = map { my $s = json_of($ua->get("$base/hg/status"));
                       join '/', map { $_ // 'none' } $s->{db_slots}{in_use}, @{ $s->{lines}{'invoice.pdf'} // {} }{qw(in_use waiting)} } 1 .. 8;
    $last = join ',', @in_use;
    return !grep { $_ ne '1/0/0' } @in_use;
});
print STDERR "# slots in use / renders in use / renders waiting after the burst, per status call: $last\n" unless $idle;
ok t_cmp($idle ? 'idle' : $last, 'idle', 'every slot and every render was given back (status: only its own slot in use)');
my $backends = psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'hisgate' AND usename = 'hisgate' "
                  . "AND backend_type = 'client backend' AND pid <> pg_backend_pid()");
ok t_cmp($backends <= 9 ? 'bounded' : $backends, 'bounded',
         "at most HisgateDBSlots (4) connections per process (2) and the drain's one: $backends");
