#!/usr/bin/perl
# Pre-generate signed HIS requests for wrk (tools/bench/wrk.lua): one request per line,
#   METHOD \t request-target \t Authorization \t body
# split over --threads files PREFIX.0 … PREFIX.(T-1) (wrk thread i reads PREFIX.i and sends each
# line once).  Every request has its own busNo and nonce and is signed now: run this just before
# wrk (timestamps are accepted for HisgateAuthWindow, 300 s by default).
#
#   genreq.pl --n 30000 --places spread|hot [--batch K] [--threads 2] --out PREFIX
#
# Bodies are t/lib/HGInvoice.pm's outpatient() grown to 10 charge lines that still add up:
#   totalAmt = Σ chargeDetail.amt = Σ payChannelValue
#   fundPay + otherfundPay + accountPay + selfCashPay = totalAmt
#   ownPay + selfConceitedAmt + selfPayAmt = accountPay + selfCashPay
# --places spread: round-robin over BP01…BP64; hot: every bill on MZ01.
# --batch K: POST …/invoiceEBillOutpatient/batch with K bills per request (seeding).
# App id and secret come from HG_APP_ID / HG_APP_SECRET (var/demo-credentials).
use strict;
use warnings;
use utf8;
use Getopt::Long;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64);
use JSON::PP ();
use POSIX qw(strftime);

my ($n, $places, $batch, $threads, $out) = (1000, 'spread', 0, 2, undef);
GetOptions('n=i' => \$n, 'places=s' => \$places, 'batch=i' => \$batch, 'threads=i' => \$threads,
           'out=s' => \$out) && $out && $places =~ /^(spread|hot)$/ && $threads >= 1
    or die "usage: $0 --n N --places spread|hot [--batch K] [--threads T] --out PREFIX\n";
my $app = $ENV{HG_APP_ID} or die "genreq: HG_APP_ID not set (source var/demo-credentials)\n";
my $secret = $ENV{HG_APP_SECRET} or die "genreq: HG_APP_SECRET not set\n";

my $json = JSON::PP->new->utf8->canonical;
my $ts = time;
my $now17 = strftime('%Y%m%d%H%M%S', localtime($ts)) . '000';
# unique over runs and concurrent generators: time, pid, sequence
my $run = sprintf('%d%05d', $ts, $$ % 100000);

# 10 charge lines, amounts in fen; a few variants so that bills differ
my @items = (
    [ XY => '西药费', '项' ], [ ZCY => '中成药费', '项' ], [ JC => '检查费', '项' ], [ HY => '化验费', '项' ],
    [ ZL => '治疗费', '项' ], [ SS => '手术费', '项' ], [ CL => '卫生材料费', '项' ], [ ZS => '注射费', '次' ],
    [ GH => '挂号费', '次' ], [ ZC => '诊察费', '次' ],
);
sub yuan { my $f = shift; sprintf('%d.%02d', int($f / 100), $f % 100) }

my @templates;
for my $v (0 .. 7) {
    my (@charge, $total);
    for my $i (0 .. 9) {
        my $std = 500 + (($v * 7919 + $i * 104729) % 9000);         # 5.00 … 94.99
        my $num = 1 + (($v + $i) % 3);
        my $amt = $std * $num;
        $total += $amt;
        push @charge, { sortNo => $i + 1, chargeCode => $items[$i][0], chargeName => $items[$i][1],
                        unit => $items[$i][2], std => yuan($std), number => "$num", amt => yuan($amt),
                        selfAmt => yuan(int($amt / 10)) };
    }
    my $fund = int($total * 0.5);
    my $acct = int($total * 0.15);
    my $cash = $total - $fund - $acct;
    my $own = int(($acct + $cash) / 4);
    my $conc = int(($acct + $cash) / 5);
    my $selfp = $acct + $cash - $own - $conc;
    my $d = {
        busNo => "\x01BUSNO\x01", busType => '02', payer => ('张三丰', '李小龙', '王五', '赵六')[$v % 4],
        busDateTime => $now17, placeCode => "\x01PLACE\x01", payee => '收费员李四', author => '李四',
        totalAmt => yuan($total), payerType => '1', idCardNo => sprintf('4401011990010%05d', 11234 + $v),
        cardType => '01', cardNo => sprintf('JZK%08d', 12345 + $v), tel => sprintf('138%08d', 12345678 + $v),
        sex => '男', age => '36', patientId => sprintf('P%06d', 123 + $v), visitNo => 'MZ20261128001',
        medicalInsuranceID => sprintf('YB44%010d', 56789 + $v),
        medicalInstitution => '三级甲等', medCareTypeCode => '310', medicalCareType => '职工基本医疗保险',
        patientCategory => '呼吸内科', patientCategoryCode => '0301',
        fundPay => yuan($fund), otherfundPay => '0.00', accountPay => yuan($acct), selfCashPay => yuan($cash),
        ownPay => yuan($own), selfConceitedAmt => yuan($conc), selfPayAmt => yuan($selfp),
        payChannelDetail => [
            { payChannelCode => '01', payChannelValue => yuan($cash) },
            { payChannelCode => '11', payChannelValue => yuan($fund) },
            { payChannelCode => '12', payChannelValue => yuan($acct) },
        ],
        chargeDetail => \@charge,
    };
    my $t = $json->encode($d);
    # JSON::PP escapes \x01 as \u0001
    my @parts = split /\\u0001(?:BUSNO|PLACE)\\u0001/, $t, -1;
    die "genreq: template split failed\n" unless @parts == 3;
    my $busfirst = index($t, 'BUSNO') < index($t, 'PLACE');
    push @templates, [ @parts, $busfirst ];
}

my @fh;
for my $i (0 .. $threads - 1) {
    open $fh[$i], '>:raw', "$out.$i" or die "genreq: $out.$i: $!\n";
}
my $target = '/invoice/api/v1/invoiceEBillOutpatient' . ($batch ? '/batch' : '');
my @alnum = ('A' .. 'Z', 'a' .. 'z', 0 .. 9);
my $seq = 0;
sub one_bill {
    my $t = $templates[$seq % @templates];
    my $bus = "BN$run" . sprintf('%07d', $seq);
    my $place = $places eq 'hot' ? 'MZ01' : sprintf('BP%02d', 1 + $seq % 64);
    $seq++;
    my ($a, $b) = $t->[3] ? ($bus, $place) : ($place, $bus);
    return $t->[0] . $a . $t->[1] . $b . $t->[2];
}
for my $k (0 .. $n - 1) {
    my $body = $batch ? '{"items":[' . join(',', map { one_bill() } 1 .. $batch) . ']}' : one_bill();
    my $nonce = join '', map { $alnum[rand @alnum] } 1 .. 24;
    my $sts = join("\n", 'POST', $target, $ts, $nonce, $body) . "\n";
    my $sig = encode_base64(hmac_sha256($sts, $secret), '');
    my $auth = qq{HG1-HMAC-SHA256 app_id="$app",timestamp="$ts",nonce="$nonce",signature="$sig"};
    print { $fh[$k % $threads] } "POST\t$target\t$auth\t$body\n";
}
close $_ or die "genreq: $!\n" for @fh;
