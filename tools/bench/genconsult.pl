#!/usr/bin/perl
# make bench, consult walk: a curl config (-K) announcing N visits of the respiratory demo
# department through the signed HIS API, each answer written to DIR/<n> (the session token is in
# it).  tools/bench.sh sends it with curl --parallel before the run, then lets wrk walk the sessions
# (tools/bench/wrk.lua, mode "consult").  Signed now: run just before (HisgateAuthWindow).
#
#   genconsult.pl --n 4000 --dept 0301 --dir DIR --base http://127.0.0.1:8080 > visits.cfg
#
# App id and secret come from HG_APP_ID / HG_APP_SECRET (var/demo-credentials).  visitNo BENCH-…
# (tools/bench.sh deletes those visits afterwards so that the console's statistics stay true).
use strict;
use warnings;
use utf8;
use Getopt::Long;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64);
use POSIX qw(strftime);

my ($n, $dept, $dir, $base) = (1000, '0301', undef, 'http://127.0.0.1:8080');
GetOptions('n=i' => \$n, 'dept=s' => \$dept, 'dir=s' => \$dir, 'base=s' => \$base) && $dir && $n > 0
    or die "usage: $0 --n N --dept CODE --dir DIR --base URL\n";
my $app = $ENV{HG_APP_ID} or die "genconsult: HG_APP_ID not set (source var/demo-credentials)\n";
my $secret = $ENV{HG_APP_SECRET} or die "genconsult: HG_APP_SECRET not set\n";
binmode STDOUT, ':raw';

my $ts = time;
my $now = strftime('%Y-%m-%d %H:%M:%S', localtime($ts));
my $run = sprintf('%d%05d', $ts, $$ % 100000);
my @alnum = ('A' .. 'Z', 'a' .. 'z', 0 .. 9);
my @names = ('张三丰', '李小龙', '王五', '赵六', '欧阳娜娜');
my $target = '/consult/api/v1/visits';
for my $k (1 .. $n) {
    my $sex = $k % 2 ? 'M' : 'F';
    my $birth = sprintf('%04d-%02d-%02d', 1940 + $k % 70, 1 + $k % 12, 1 + $k % 28);
    my $body = sprintf('{"visitNo":"BENCH-%s-%d","patientId":"BP%d","name":"%s","sex":"%s","birthDate":"%s",'
                       . '"department":"%s","doctor":"bench","visitTime":"%s"}',
                       $run, $k, $k, $names[$k % @names], $sex, $birth, $dept, $now);
    utf8::encode($body);
    my $nonce = join '', map { $alnum[rand @alnum] } 1 .. 24;
    my $sig = encode_base64(hmac_sha256(join("\n", 'POST', $target, $ts, $nonce, $body) . "\n", $secret), '');
    (my $q = $body) =~ s/(["\\])/\\$1/g;
    print $k > 1 ? "next\n" : '', "url = \"$base$target\"\n",
          "header = \"Authorization: HG1-HMAC-SHA256 app_id=\\\"$app\\\",timestamp=\\\"$ts\\\",nonce=\\\"$nonce\\\",signature=\\\"$sig\\\"\"\n",
          "header = \"Content-Type: application/json\"\n",
          "data-binary = \"$q\"\n",
          "output = \"$dir/$k\"\n";
}
