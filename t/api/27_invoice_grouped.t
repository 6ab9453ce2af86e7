# Group issuance (InvoiceIssueGroup, InvoiceIssueLanes): requests that queue in one line of
# issuance (a lane of billing points) are issued several to a transaction.  Bursts of simultaneous signed issues (signed first,
# sent together) on billing points of their own, and what the database says afterwards
# (t/conf/extra.conf.in sets InvoiceIssueLanes 2; sections 1-4 use one billing point each):
#   1. 40 new bills over a stock row of 25 numbers and the next row: every number once, no gap in
#      either row, several bills committed in one transaction (same xmin), each bill's own seal,
#      random and layout file, its upload and notification rows, one audit row per call
#   2. a mixed burst: new busNos, replays of issued ones, different content under an issued busNo,
#      and one new busNo sent five times at once — replays answer their bill, conflicts 409, the
#      five get one bill, the numbers still run without a gap
#   3. more requests than numbers left: as many bills as numbers, the others HG_INVOICE_NO_STOCK,
#      nothing half-written
#   and single issues and batches in one line (a batch's bills may each wait in it)
#   4. the store room (POOL) in a burst: it holds stock for distribution and issues nothing, not
#      even when its requests queue in a line
#   5. lanes (InvoiceIssueLanes): three billing points of one lane and one of the other in a burst:
#      a transaction holds bills of several billing points of its lane, never of the other lane's;
#      each point numbers without a gap, also one whose stock row runs out inside a group
#   6. one billing point's row held for 3 s by another session: billing points of the other lane
#      are answered meanwhile, the held one after
#   7. a billing point's first range moved to another point (as distribute moves an untouched
#      range) while its requests wait for the range's row: they number from its next row
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest ();
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use Time::HiRes qw(time sleep);
use HG qw(json_of psql);
use HGInvoice qw(outpatient bus_no);

plan tests => 42;

my $vars  = Apache::Test::config()->{vars};
my $state = "$vars->{t_logs}/grouped.$$";
mkdir $state or die "$state: $!";
my $json  = JSON::PP->new->utf8->canonical;
my $inst  = '44010001';
my $tag   = sprintf '%05d', $$ % 100000;

# a billing point of its own with the given stock rows [batch code, first, last]
sub place {
    my ($code, @rows) = @_;
    my $name = $code eq 'POOL' ? '票据库房' : '分组开票测试';     # the store room's own name, as the console makes it
    psql("INSERT INTO invoice.places VALUES ('$inst', '$code', '$name') ON CONFLICT DO NOTHING");
    psql("INSERT INTO invoice.stock (institution, place_code, kind, bill_batch_code, start_no, end_no, next_no) "
       . "VALUES ('$inst', '$code', 'ebill', '$_->[0]', $_->[1], $_->[2], $_->[1])") for @rows;
}

sub audit_count { psql("SELECT count(*) FROM hg.audit WHERE endpoint = 'POST /invoice/api/v1/invoiceEBillOutpatient'") }

# the payloads signed beforehand, then sent at once by one curl --parallel (40 Perl processes
# starting their HTTP clients spread the requests over seconds on two cores), while the billing
# point's stock rows are held locked for a moment, as a busy point's are: the requests queue for
# certain, and the machine's speed does not decide whether a group forms.
# Returns [code, answer] per payload, in order.
# A payload given as { items => [...] } goes to …/batch.
# how long the burst holds the rows, which ones (default: every row of its billing points), what
# the holder does before it commits, and each request's time (seconds, curl's time_total)
our ($hold, $rows, $then, %took) = (0.5, undef, '');
sub burst {
    my ($place, @payloads) = @_;
    open my $cfg, '>', "$state/curl.cfg" or die $!;
    for my $i (0 .. $#payloads) {
        my $target = '/invoice/api/v1/invoiceEBillOutpatient' . ($payloads[$i]{items} ? '/batch' : '');
        my $url = 'http://' . Apache::TestRequest::hostport() . $target;
        my $body = $json->encode($payloads[$i]);
        open my $bf, '>:raw', "$state/body.$i" or die $!;
        print $bf $body;
        close $bf;
        (my $auth = HG::sign_header(method => 'POST', target => $target, body => $body)) =~ s/(["\\])/\\$1/g;
        print $cfg "next\n" if $i;
        print $cfg qq{url = "$url"\nrequest = "POST"\nheader = "Authorization: $auth"\n}
                 . qq{header = "Content-Type: application/json"\ndata-binary = "\@$state/body.$i"\n}
                 . qq{output = "$state/answer.$i"\nwrite-out = "%{http_code} $i %{time_total}\\n"\n};
    }
    close $cfg;
    # the lock is taken, then psql itself says so (\! runs after the statements before it), then
    # the requests go, and the lock is held a little longer
    unlink "$state/locked";
    my $bin = (sort glob('/usr/lib/postgresql/*/bin'))[-1];
    open my $holder, '|-', "$bin/psql", '-h', '127.0.0.1', '-p', $ENV{HG_PGPORT}, '-U', 'hisgate', '-d', 'hisgate',
        '-qtAX', '-o', '/dev/null' or die "psql: $!";
    my $in = join ', ', map { "'$_'" } ref $place ? @$place : $place;
    print $holder "BEGIN;\nSELECT id FROM invoice.stock WHERE " . ($rows // "place_code IN ($in)") . " FOR UPDATE;\n"
                . "\\! touch '$state/locked'\nSELECT pg_sleep($hold);\n$then\nCOMMIT;\n";
    $holder->flush;
    sleep 0.02 until -e "$state/locked";
    my $out = `curl -s --parallel --parallel-immediate --parallel-max 64 -K '$state/curl.cfg'`;
    my %code = map { /^(\d+) (\d+) / ? ($2 => $1) : () } split /\n/, $out;
    %took = map { /^\d+ (\d+) ([\d.]+)$/ ? ($1 => $2) : () } split /\n/, $out;
    close $holder;
    return map {
        my $body = '';
        if (open my $fh, '<:raw', "$state/answer.$_") { local $/; $body = <$fh>; close $fh; }
        unlink "$state/answer.$_", "$state/body.$_";
        [ $code{$_} // 0, eval { $json->decode($body) } // {} ];
    } 0 .. $#payloads;
}

# numbers of a billing point per stock row: "count distinct min max" for each batch code
sub numbers {
    my ($code) = @_;
    return psql("SELECT string_agg(n, ' | ' ORDER BY bill_batch_code) FROM (SELECT bill_batch_code, "
              . "bill_batch_code || ': ' || count(*) || ' ' || count(DISTINCT bill_no) || ' ' || min(bill_no::bigint) "
              . "|| '..' || max(bill_no::bigint) AS n FROM invoice.bills WHERE place_code = '$code' "
              . "GROUP BY bill_batch_code) s");
}

# ---- 1. 60 new bills over two stock rows
my $p1 = "GRPA$tag";
place($p1, [ '44019801', 9000000001, 9000000025 ], [ '44019802', 9100000001, 9100001000 ]);
my $audit0 = audit_count();
my @a1 = burst($p1, map { outpatient(placeCode => $p1, busNo => "G1$tag" . sprintf('%03d', $_)) } 1 .. 40);
print STDERR "# bills per transaction: ", (psql("SELECT string_agg(n::text, ',') FROM (SELECT xmin::text, count(*) AS n FROM invoice.bills WHERE place_code = '$p1' GROUP BY 1) t")), "\n";
my $shared = psql("SELECT coalesce(max(n), 0) || ' ' || count(*) FROM (SELECT xmin::text, count(*) AS n FROM invoice.bills "
                . "WHERE place_code = '$p1' GROUP BY 1 HAVING count(*) > 1) t");
my $sent1 = @a1;
ok t_cmp(scalar(grep { $_->[0] == 200 } @a1), $sent1, "all $sent1 simultaneous issues on one billing point answered 200");
ok t_cmp(numbers($p1), '44019801: 25 25 9000000001..9000000025 | 44019802: ' . ($sent1 - 25) . ' ' . ($sent1 - 25)
         . ' 9100000001..' . (9100000000 + $sent1 - 25), 'the first stock row used up, the next one from its start: no number twice, no gap');
my ($largest, $groups) = split ' ', $shared;
ok t_cmp($largest > 1 ? "grouped" : "one bill per transaction", "grouped",
         "several bills committed in one transaction ($groups transactions of several, the largest of $largest)");
my $answers_match = grep {
    my $j = $_->[1];
    psql("SELECT count(*) FROM invoice.bills WHERE bus_no = '$j->{busNo}' AND bill_batch_code = '$j->{billBatchCode}' "
       . "AND bill_no = '$j->{billNo}' AND random = '$j->{random}'") == 1
} grep { $_->[1]{busNo} } @a1;
ok t_cmp($answers_match, $sent1, 'each answer names the bill stored for its busNo (code, number, check code)');
ok t_cmp(psql("SELECT count(*) FROM invoice.bills b JOIN hg.outbox o ON o.business_key = 'upload:' || b.id "
            . "AND o.topic = 'invoice.upload' AND o.order_key = 'bill:' || b.id WHERE b.place_code = '$p1'"), $sent1,
         'an upload for every bill, in its own order');
ok t_cmp(psql("SELECT count(*) FROM invoice.bills b JOIN hg.outbox o ON o.business_key = 'notify:' || b.id "
            . "AND o.topic = 'invoice.notify' WHERE b.place_code = '$p1'"), $sent1, 'a notification for every bill');
ok t_cmp(audit_count() - $audit0, $sent1, 'one audit row per call');
ok t_cmp(psql("SELECT count(*) FROM invoice.bills WHERE place_code = '$p1' AND payee = '收费员李四' "
            . "AND channels = '{\"01\": 4345, \"11\": 6000, \"12\": 2000}'::jsonb"), $sent1,
         'every bill of a group keeps its payee and payment channels for the summaries');

# bills that shared a transaction: each carries its own seal over its own number
my @pair = split /\n/, psql("SELECT bill_batch_code || ' ' || bill_no || ' ' || random FROM invoice.bills WHERE place_code = '$p1' "
                          . "AND xmin::text = (SELECT xmin::text FROM invoice.bills WHERE place_code = '$p1' GROUP BY 1 "
                          . "ORDER BY count(*) DESC LIMIT 1) ORDER BY bill_no LIMIT 2");
my ($valid, $pdfs) = (0, 0);
for (@pair) {
    my ($c, $n, $rnd) = split ' ';
    $valid++ if json_of(Apache::TestRequest::GET("/invoice/pub/v1/verify?code=$c&no=$n&random=$rnd"))->{sealValid};
    my $pdf = Apache::TestRequest::GET("/invoice/api/v1/bills/$c/$n/pdf",
        Authorization => HG::sign_header(method => 'GET', target => "/invoice/api/v1/bills/$c/$n/pdf", body => ''));
    my $f = "$state/bill.pdf";
    open my $fh, '>:raw', $f or die $!;
    print $fh $pdf->content;
    close $fh;
    my $text = `pdftotext -layout '$f' - 2>/dev/null`;
    $pdfs++ if $pdf->code == 200 && $text =~ /\Q$n\E/ && $text =~ /\Q$rnd\E/;
}
ok t_cmp("$valid $pdfs", scalar(@pair) . ' ' . scalar(@pair),
         'two bills of one transaction: each seal verifies, each layout file shows its own number and check code');

# ---- 2. a mixed burst
my $p2 = "GRPB$tag";
place($p2, [ '44019803', 9200000001, 9200001000 ]);
my @old = map { outpatient(placeCode => $p2, busNo => "G2$tag" . "old$_") } 1 .. 10;
my @first = burst($p2, @old);
ok t_cmp(scalar(grep { $_->[0] == 200 } @first), 10, 'ten bills issued on the second billing point');
my %bill_of = map { $_->[1]{busNo} => "$_->[1]{billBatchCode}/$_->[1]{billNo}" } @first;
$audit0 = audit_count();
my $twice = outpatient(placeCode => $p2, busNo => "G2$tag" . 'five');
my @fresh = map { outpatient(placeCode => $p2, busNo => "G2$tag" . "new$_") } 1 .. 20;
my @replay = @old;                                                                # same content again
my @clash = map { my $d = outpatient(placeCode => $p2, busNo => $old[$_]{busNo}); $d->{payer} = '李四光'; $d } 0 .. 4;
my @mixed = (@fresh[0 .. 9], @replay[0 .. 4], ($twice) x 5, @clash, @replay[5 .. 9], @fresh[10 .. 19]);
my @a2 = burst($p2, @mixed);
my %want = (fresh => 0, replay => 0, clash => 0, five => 0);
for my $i (0 .. $#mixed) {
    my ($code, $j) = @{ $a2[$i] };
    my $bus = $mixed[$i]{busNo};
    if (grep { $_ == $mixed[$i] } @fresh) { $want{fresh}++ if $code == 200 && !$j->{replayed} }
    elsif (grep { $_ == $mixed[$i] } @clash) { $want{clash}++ if $code == 409 && ($j->{code} // '') eq 'HG_INVOICE_BUSNO_CONFLICT' }
    elsif ($mixed[$i] == $twice) { $want{five}++ if $code == 200 }
    else { $want{replay}++ if $code == 200 && "$j->{billBatchCode}/$j->{billNo}" eq $bill_of{$bus} }
}
ok t_cmp($want{fresh}, 20, 'twenty new busNos: twenty new bills');
ok t_cmp($want{replay}, 10, 'ten replays of issued busNos: each answers its bill as issued');
ok t_cmp($want{clash}, 5, 'five different contents under issued busNos: 409 HG_INVOICE_BUSNO_CONFLICT');
ok t_cmp($want{five}, 5, 'one new busNo sent five times at once: five answers 200');
my %five = map { ("$_->[1]{billBatchCode}/$_->[1]{billNo}" => 1) } grep { $_->[1]{busNo} && $_->[1]{busNo} eq $twice->{busNo} } @a2;
ok t_cmp(join(' ', keys %five) . ' ' . psql("SELECT count(*) FROM invoice.bills WHERE bus_no = '$twice->{busNo}'"),
         (keys %five)[0] . ' 1', 'and all five name the one bill stored for it');
ok t_cmp(numbers($p2), '44019803: 31 31 9200000001..9200000031', 'thirty-one bills, the numbers still without a gap');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE topic = 'invoice.upload' AND business_key IN "
            . "(SELECT 'upload:' || id FROM invoice.bills WHERE place_code = '$p2')"), 31, 'one upload per bill, none for replays or conflicts');
ok t_cmp(audit_count() - $audit0, scalar(@mixed), 'one audit row per call, refused ones too');

# ---- 2b. batches in the same line as single issues: each of a batch's bills may wait in line
my $p4 = "GRPD$tag";
place($p4, [ '44019805', 9400000001, 9400001000 ]);
my @singles = map { outpatient(placeCode => $p4, busNo => "G4$tag" . "s$_") } 1 .. 16;
my @batches = map { my $k = $_; { items => [ map { outpatient(placeCode => $p4, busNo => "G4$tag" . "b$k$_") } 1 .. 6 ] } } 1 .. 4;
my @a4 = burst($p4, @singles[0 .. 7], @batches, @singles[8 .. 15]);
my $batch_ok = grep { $_->[0] == 200 && ($_->[1]{issued} // 0) == 6 && ($_->[1]{failed} // -1) == 0 } @a4;
ok t_cmp(scalar(grep { $_->[0] == 200 && $_->[1]{billNo} } @a4) . " $batch_ok", '16 4',
         'sixteen single issues and four batches of six in one line: all answered, every batch item issued');
ok t_cmp(numbers($p4), '44019805: 40 40 9400000001..9400000040', 'forty bills, each number once, no gap');

# ---- 3. more requests than numbers
my $p3 = "GRPC$tag";
place($p3, [ '44019804', 9300000001, 9300000012 ]);
my @a3 = burst($p3, map { outpatient(placeCode => $p3, busNo => "G3$tag" . sprintf('%03d', $_)) } 1 .. 30);
ok t_cmp(scalar(grep { $_->[0] == 200 } @a3), 12, 'twelve numbers left, thirty requests: twelve bills');
ok t_cmp(scalar(grep { $_->[0] == 409 && ($_->[1]{code} // '') eq 'HG_INVOICE_NO_STOCK' && ($_->[1]{field} // '') eq 'placeCode' } @a3),
         18, 'the other eighteen: 409 HG_INVOICE_NO_STOCK on placeCode');
ok t_cmp(numbers($p3), '44019804: 12 12 9300000001..9300000012', 'the twelve numbers, each once');
ok t_cmp(psql("SELECT next_no FROM invoice.stock WHERE place_code = '$p3'"), 9300000013, 'the stock row used up exactly');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE topic = 'invoice.upload' AND business_key IN "
            . "(SELECT 'upload:' || id FROM invoice.bills WHERE place_code = '$p3')"), 12, 'an upload per bill, no stray rows');

my $readme = do { local $/; open my $fh, '<:encoding(UTF-8)', "$vars->{top_dir}/README.md" or die $!; <$fh> };
ok t_cmp(($readme =~ /InvoiceIssueGroup/ ? 1 : 0) + ($readme =~ /InvoiceIssueLanes/ ? 1 : 0), 2,
         "README documents InvoiceIssueGroup and InvoiceIssueLanes");

# ---- 4. the store room in a burst: nothing issued from its stock
place('POOL', [ '44019806', 9500000001, 9500001000 ]);
my @a5 = burst('POOL', map { outpatient(placeCode => 'POOL', busNo => "G5$tag" . sprintf('%03d', $_)) } 1 .. 20);
ok t_cmp(scalar(grep { $_->[0] == 409 && ($_->[1]{code} // '') eq 'HG_INVOICE_NO_STOCK' } @a5), 20,
         'twenty simultaneous issues on the store room: all 409 HG_INVOICE_NO_STOCK');
ok t_cmp(psql("SELECT count(*) FROM invoice.bills WHERE place_code = 'POOL'") . ' '
         . psql("SELECT next_no FROM invoice.stock WHERE bill_batch_code = '44019806'"), '0 9500000001',
         'no bill from the store room, its stock untouched');
# the store room's stock is t/api/23's to apply: take this test's out again, whatever the order
psql("DELETE FROM invoice.stock WHERE bill_batch_code = '44019806'");

# ---- 5. lanes: the lane of a billing point is FNV-1a of its code modulo the lanes (2 here)
sub lane {
    my $h = 2166136261;
    $h = (($h ^ $_) * 16777619) % 4294967296 for unpack 'C*', shift;
    return $h % 2;
}
my (@lane0, @lane1);
for my $k (1 .. 40) {
    my $code = sprintf "GL%02d$tag", $k;
    push @{ lane($code) ? \@lane1 : \@lane0 }, $code;
    last if @lane0 >= 3 && @lane1 >= 1;
}
my @lp = (@lane0[0 .. 2], $lane1[0]);
place($lp[0], [ '44019807', 9600000001, 9600000004 ], [ '44019808', 9610000001, 9610001000 ]);   # 4 numbers, then the next row
place($lp[1], [ '44019809', 9620000001, 9620001000 ]);
place($lp[2], [ '44019810', 9630000001, 9630001000 ]);
place($lp[3], [ '44019811', 9640000001, 9640001000 ]);
my @a6 = burst(\@lp, map { my $k = $_; outpatient(placeCode => $lp[$k % 4], busNo => "G6$tag" . sprintf('%03d', $k)) } 0 .. 39);
ok t_cmp(scalar(grep { $_->[0] == 200 } @a6), 40, 'forty simultaneous issues over four billing points in two lanes: all 200');
ok t_cmp(join(' ; ', map { numbers($_) } @lp),
         '44019807: 4 4 9600000001..9600000004 | 44019808: 6 6 9610000001..9610000006 ; '
       . '44019809: 10 10 9620000001..9620000010 ; 44019810: 10 10 9630000001..9630000010 ; '
       . '44019811: 10 10 9640000001..9640000010',
         'each billing point numbered without a gap, the first from its next row once its four were taken');
my $in0 = join ', ', map { "'$_'" } @lp[0 .. 2];
my $spans = psql("SELECT coalesce(max(n), 0) FROM (SELECT xmin::text, count(DISTINCT place_code) AS n FROM invoice.bills "
               . "WHERE place_code IN ($in0) GROUP BY 1) t");
ok t_cmp($spans > 1 ? 'several' : 'one', 'several',
         "a transaction holds bills of several billing points of one lane (up to $spans)");
ok t_cmp(psql("SELECT count(*) FROM invoice.bills a JOIN invoice.bills b ON a.xmin::text = b.xmin::text "
            . "WHERE a.place_code = '$lp[3]' AND b.place_code IN ($in0)"), 0,
         "no transaction holds bills of both lanes");
ok t_cmp(psql("SELECT count(*) FROM invoice.bills b JOIN hg.outbox o ON o.business_key = 'upload:' || b.id "
            . "AND o.topic = 'invoice.upload' WHERE b.place_code IN ($in0, '$lp[3]')"), 40, 'an upload for every bill');
ok t_cmp(psql("SELECT count(*) FROM invoice.bills a JOIN invoice.bills b ON a.xmin::text = b.xmin::text AND a.id <> b.id "
            . "WHERE a.bill_batch_code = '44019807' AND a.bill_no = '9600000004'"), qr/^[1-9]/,
         'the first row of the first billing point ran out inside a group: its last number committed with others');

# ---- 6. a stock row held by someone else holds its own lane only: while lane 0's point is held
# for 3 s, issues on two billing points of lane 1 are answered, and the held one once released
my @lq = ($lane0[0]);  # held: lane 0 (its row has numbers from section 5)
for my $k (100 .. 300) {
    my $code = sprintf "GL%03d$tag", $k;
    push @lq, $code if lane($code) && @lq < 3;
}
place($lq[1], [ '44019813', 9660000001, 9660001000 ]);
place($lq[2], [ '44019814', 9670000001, 9670001000 ]);
{
    local $hold = 3;
    my @pay = map { my $k = $_; outpatient(placeCode => $lq[$k % 3], busNo => "G7$tag" . sprintf('%03d', $k)) } 0 .. 23;
    my @a7 = burst([ $lq[0] ], @pay);
    my (@free, @held);
    for my $i (0 .. $#pay) { push @{ $pay[$i]{placeCode} eq $lq[0] ? \@held : \@free }, $took{$i} // 99 }
    my ($free_max) = sort { $b <=> $a } @free;
    my ($held_min) = sort { $a <=> $b } @held;
    print STDERR "# not 200: $_->[0] " . $json->encode($_->[1]) . "\n" for grep { $_->[0] != 200 } @a7;
    ok t_cmp(scalar(grep { $_->[0] == 200 } @a7), 24, "24 issues, 8 on a billing point whose row is held ${hold} s: all 200");
    ok t_cmp(sprintf('%s %s', $free_max < $hold - 1 ? 'other lane in time' : "other lane after $free_max s",
                     $held_min >= $hold - 0.3 ? 'held waited' : "held after $held_min s"), 'other lane in time held waited',
             sprintf('the other lane\'s billing points answered while the row was held (the slowest after %.2f s), '
                   . 'the held one once released (the first after %.2f s)', $free_max, $held_min));
    ok t_cmp(join(' ; ', map { numbers($_) } @lq[1, 2]),
             '44019813: 8 8 9660000001..9660000008 ; 44019814: 8 8 9670000001..9670000008',
             'each numbered without a gap');
}

# ---- 7. a range moved to another billing point while issues wait for it (distribute moves an
# untouched range whole): nothing is numbered from it for its old billing point, whose requests
# number from its next row, and the lane's other billing point goes on as usual
my @lm;
for my $k (301 .. 500) {
    my $code = sprintf "GL%03d$tag", $k;
    push @lm, $code if !lane($code) && @lm < 3;
}
place($lm[0], [ '44019815', 9680000001, 9680001000 ], [ '44019816', 9690000001, 9690001000 ]);
place($lm[1], [ '44019817', 9700000001, 9700001000 ]);
place($lm[2]);
my $moved = psql("SELECT id FROM invoice.stock WHERE bill_batch_code = '44019815' AND institution = '$inst'");
{
    local $rows = "id = $moved";
    local $then = "UPDATE invoice.stock SET place_code = '$lm[2]' WHERE id = $moved;";
    my @pay = map { my $k = $_; outpatient(placeCode => $lm[$k % 2], busNo => "G8$tag" . sprintf('%03d', $k)) } 0 .. 23;
    my @a8 = burst([ $lm[0] ], @pay);     # $rows: only the first range's row is held
    print STDERR "# not 200: $_->[0] " . $json->encode($_->[1]) . "\n" for grep { $_->[0] != 200 } @a8;
    ok t_cmp(scalar(grep { $_->[0] == 200 } @a8), 24, '24 issues on two billing points of a lane while one\'s first range moves away: all 200');
    ok t_cmp(numbers($lm[0]) . ' ; ' . numbers($lm[1]), '44019816: 12 12 9690000001..9690000012 ; 44019817: 12 12 9700000001..9700000012',
             'the range\'s old billing point numbered from its next row, without a gap; the other as usual');
    ok t_cmp(psql("SELECT place_code || ' ' || next_no FROM invoice.stock WHERE id = $moved") . ' '
           . psql("SELECT count(*) FROM invoice.bills WHERE bill_batch_code = '44019815'"), "$lm[2] 9680000001 0",
             'the moved range untouched at its new billing point');
}

# no batch left anything open: every billing point's row is free (a NOWAIT lock succeeds)
my $all = join ', ', map { "'$_'" } $p1, $p2, $p3, $p4, @lp, @lq[1, 2], @lm;
ok t_cmp(psql("SELECT count(*) FROM (SELECT 1 FROM invoice.stock WHERE place_code IN ($all) FOR UPDATE NOWAIT) s"),
         15, 'no stock row left locked');
ok t_cmp(psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'hisgate' AND state = 'idle in transaction'"), 0,
         'no connection left idle in a transaction');
unlink "$state/locked", "$state/curl.cfg", "$state/bill.pdf";
rmdir $state;

