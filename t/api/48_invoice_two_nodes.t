# two httpd nodes on one database: a second server started from the test server's own configuration
# (other ports, pid file, logs and runtime directory) issues on the same billing point at the same
# time as the first.  200 parallel issues, 100 through each node: 200 distinct numbers, consecutive
# from the stock, each journalled once, and nothing in the second node's error log.
use strict;
use feature 'state';
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use IO::Socket::INET;
use JSON::PP;
use LWP::UserAgent;
use HG qw(json_of signed_request sign_header psql);
use HGInvoice qw(outpatient);

plan tests => 8;

my $vars = Apache::Test::config()->{vars};
my $dir = "$vars->{t_logs}/node2";
mkdir $dir;

# a port nobody listens on
sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    return $p;
}

# node 2's configuration: every Listen port (and the virtual hosts on them) moved, its own pid
# file, logs and runtime directory; the platforms' URLs still name node 1's sandbox.  The files of
# t/conf it includes (extra.conf: the virtual hosts of their own ports) are moved the same way.
my %moved;
sub node2_conf {
    my ($file) = @_;
    open my $in, '<', $file or die "$file: $!";
    my $conf = do { local $/; <$in> };
    close $in;
    $conf =~ s{^(\s*Listen\s+(?:[\d.]+:)?)(\d+)}{ $1 . ($moved{$2} //= free_port()) }gme;
    $conf =~ s{(<VirtualHost\s+[^>]*?:)(\d+)>}{ $1 . ($moved{$2} // $2) . '>' }ge;
    $conf =~ s{^\s*PidFile\s+.*$}{PidFile $dir/httpd.pid}m;
    $conf =~ s{^\s*ErrorLog\s+.*$}{ErrorLog $dir/error_log}m;
    $conf =~ s{^\s*TransferLog\s+.*$}{TransferLog $dir/access_log}m;
    $conf =~ s{^\s*DefaultRuntimeDir\s+.*$}{DefaultRuntimeDir "$dir"}m;
    $conf =~ s{^(\s*Include(?:Optional)?\s+)"?(\Q$vars->{t_conf}\E/[^"\s]+)"?}{ $1 . '"' . node2_conf($2) . '"' }gme;
    (my $copy = $file) =~ s{.*/}{$dir/};
    open my $out, '>', $copy or die "$copy: $!";
    print $out $conf;
    close $out;
    return $copy;
}
node2_conf($vars->{t_conf_file});
my $port2 = $moved{ $vars->{port} } or die "the test server's port $vars->{port} is not among its Listen lines";

my @start = ($vars->{httpd}, '-d', $vars->{serverroot}, '-f', "$dir/httpd.conf", '-D', 'APACHE2');
my $ua = LWP::UserAgent->new(timeout => 30, keep_alive => 1);
system(join(' ', map { "'$_'" } @start, '-k', 'start') . " >'$dir/start.log' 2>&1");
my $up = 0;
for (1 .. 100) {
    my $r = $ua->get("http://127.0.0.1:$port2/hg/health");
    if ($r->code == 200) { $up = 1; last }
    select undef, undef, undef, 0.1;
}
ok t_cmp($up, 1, "a second node answers on port $port2, from the same configuration")
    or do { print STDERR "# node 2's start and error log:\n", map { "#   $_" } `cat $dir/start.log; tail -n 20 $dir/error_log 2>/dev/null` };

# node 2: the same signed request, to its port
sub node2_issue {
    my ($body) = @_;
    my $target = '/invoice/api/v1/invoiceEBillOutpatient';
    my $text = JSON::PP->new->utf8->canonical->encode($body);
    my $auth = sign_header(method => 'POST', target => $target, body => $text);
    # a user agent of this process's own: a kept connection inherited through fork would be shared
    state $own = {};
    $own->{$$} //= LWP::UserAgent->new(timeout => 30, keep_alive => 1);
    return $own->{$$}->post("http://127.0.0.1:$port2$target", Authorization => $auth,
                     'Content-Type' => 'application/json', Content => $text);
}

my $place = 'BP61';
my $endpoint = 'POST /invoice/api/v1/invoiceEBillOutpatient';
my $audit_before = psql("SELECT count(*) FROM hg.audit WHERE endpoint = '$endpoint'");
my $start_no = psql("SELECT next_no FROM invoice.stock WHERE place_code = '$place' AND kind = 'ebill' "
                  . "AND next_no <= end_no ORDER BY id LIMIT 1");
my @kids;
for my $k (1 .. 20) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my ($ok, $nos) = (0, '');
        for (1 .. 10) {
            my $body = outpatient(placeCode => $place);
            my $r = $k % 2 ? signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', $body) : node2_issue($body);
            if ($r->code == 200 && (json_of($r)->{billNo} // '') =~ /^\d{10}$/) {
                $ok++;
            } else {
                print STDERR "# node ", ($k % 2 ? 1 : 2), ": ", $r->code, ' ', substr($r->content, 0, 300), "\n";
            }
        }
        exit($ok == 10 ? 0 : 1);
    }
    push @kids, $pid;
}
my $failed = 0;
for (@kids) { waitpid($_, 0); $failed++ if $? }
ok t_cmp($failed, 0, 'all 200 requests answered with a bill, 100 by each node');
my ($count, $distinct, $min, $max) = split ' ', psql(
    "SELECT count(*) || ' ' || count(DISTINCT bill_no) || ' ' || min(bill_no::bigint) || ' ' || max(bill_no::bigint) "
  . "FROM invoice.bills WHERE place_code = '$place'");
ok t_cmp($count, 200, '200 bills');
ok t_cmp($distinct, 200, '200 distinct numbers');
ok t_cmp("$min..$max", "$start_no.." . ($start_no + 199), 'no gap: consecutive from the stock');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE endpoint = '$endpoint'") - $audit_before, 200,
         'each issuance journalled exactly once');
# the two nodes' share: node 2's own access log counts its answers
my $n2 = () = grep { m{POST /invoice/api/v1/invoiceEBillOutpatient HTTP/1\.1" 200 } } do {
    open my $al, '<', "$dir/access_log" or die $!; <$al> };
ok t_cmp($n2, 100, 'node 2 answered its 100');

system(@start, '-k', 'stop');
for (1 .. 100) {
    last unless -e "$dir/httpd.pid";
    select undef, undef, undef, 0.1;
}
# an [error] or worse in node 2's log would be a fault of the second node (t/zz guards node 1's)
open my $el, '<', "$dir/error_log" or die $!;
my @bad = grep { /\[(?:[a-z_]+:)?(?:error|crit|alert|emerg)\]/ } <$el>;
close $el;
ok t_cmp(scalar(@bad), 0, "node 2 stopped, with nothing worse than a warning in its error log")
    or print STDERR map { "#   $_" } @bad[0 .. ($#bad < 9 ? $#bad : 9)];
