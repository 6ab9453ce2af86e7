# Group issuance under load and through graceful restarts: four bursts of 300 simultaneous issues on
# one billing point (so that they queue and are issued in groups), httpd restarting gracefully
# (SIGUSR1) under the last three.  A member of a group used to read its batch code and time from the
# leader's memory after the leader had answered: the leader's request pool was then reused by its
# next request (the member answered 200 with a body that was no JSON: 54 of the first, restart-free
# burst) or unmapped by a worker thread leaving with a restart (the child crashed).  Every child
# must live, and every answer name the bill stored for its busNo.  (Without the fix: fails test 3,
# and test 1 in one run of two.)  Each answered call has one journal row, committed in the same
# transaction as its bill (the group's statement carries its members' rows), holding the very
# answer the HIS received.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest ();
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use Time::HiRes qw(time sleep);
use HG qw(psql);
use HGInvoice qw(outpatient);

plan tests => 7;

my $vars = Apache::Test::config()->{vars};
my $log = "$vars->{t_logs}/error_log";
my $ppid = do { open my $f, '<', $vars->{t_pid_file} or die "$vars->{t_pid_file}: $!"; local $/; <$f> =~ /(\d+)/; $1 };
my $state = "$vars->{t_logs}/group_restart.$$";
mkdir $state or die "$state: $!";
my $json = JSON::PP->new->utf8->canonical;
my $tag = sprintf '%05d', $$ % 100000;
my $place = "GRR$tag";

psql("INSERT INTO invoice.places VALUES ('44010001', '$place', '重启测试窗口') ON CONFLICT DO NOTHING");
psql("INSERT INTO invoice.stock (institution, place_code, kind, bill_batch_code, start_no, end_no, next_no) "
     . "VALUES ('44010001', '$place', 'ebill', '44019701', 1, 100000, 1)");

# n issues signed now, sent at once by one curl: [busNo, status, answer] each
sub burst {
    my ($round, $n) = @_;
    open my $cfg, '>', "$state/curl.$round" or die $!;
    my @bus;
    for my $i (1 .. $n) {
        my $bus = sprintf 'GRR%s%02d%04d', $tag, $round, $i;
        push @bus, $bus;
        my $target = '/invoice/api/v1/invoiceEBillOutpatient';
        my $body = $json->encode(outpatient(placeCode => $place, busNo => $bus));
        open my $bf, '>:raw', "$state/body.$round.$i" or die $!;
        print $bf $body;
        close $bf;
        (my $auth = HG::sign_header(method => 'POST', target => $target, body => $body)) =~ s/(["\\])/\\$1/g;
        print $cfg "next\n" if $i > 1;
        print $cfg qq{url = "http://} . Apache::TestRequest::hostport() . qq{$target"\nrequest = "POST"\n}
                 . qq{header = "Authorization: $auth"\nheader = "Content-Type: application/json"\n}
                 . qq{data-binary = "\@$state/body.$round.$i"\noutput = "$state/answer.$round.$i"\n}
                 . qq{write-out = "%{http_code} $i %header{x-request-id}\\n"\n};
    }
    close $cfg;
    return \@bus;
}
sub send_burst {
    my ($round) = @_;
    open my $fh, '-|', "curl -s --parallel --parallel-immediate --parallel-max 64 -K '$state/curl.$round'" or die $!;
    return $fh;
}

# the sealer chains journal rows with an UPDATE, which gives them a new xmin: held off (its lock on
# the chain's head taken first) until the rows have been compared with their bills
my $pgbin = (sort glob('/usr/lib/postgresql/*/bin'))[-1];
my $holder = fork // die "fork: $!";
if (!$holder) {
    exec "$pgbin/psql", '-h', '127.0.0.1', '-p', $ENV{HG_PGPORT}, '-U', 'hisgate', '-d', 'hisgate', '-qtAX', '-c',
        "SELECT 1 FROM hg.audit_head WHERE id = 1 FOR UPDATE; SELECT pg_sleep(300)";
}
HG::wait_until(10, sub { psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%audit_head%pg_sleep(300)%' "
                              . "AND state = 'active' AND pid <> pg_backend_pid()") > 0 });
sub release_sealer {
    kill 'TERM', $holder;
    waitpid $holder, 0;
    psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%audit_head%pg_sleep(300)%' "
         . "AND pid <> pg_backend_pid()");
}

my $off = -s $log;
my (@all, %status, %rid);
for my $round (1 .. 4) {
    my $bus = burst($round, 300);
    my $fh = send_burst($round);
    # restart gracefully while the burst is being issued (not in the first round: a baseline)
    if ($round > 1) {
        sleep 0.4;
        kill 'USR1', $ppid;
    }
    while (my $l = <$fh>) { ($status{"$round.$2"}, $rid{"$round.$2"}) = ($1, $3) if $l =~ /^(\d+) (\d+) ?(\S*)$/ }
    close $fh;
    for my $i (1 .. @$bus) {
        my $text = do { local $/; open my $af, '<:raw', "$state/answer.$round.$i" or undef; $af ? scalar <$af> : '' };
        push @all, [ $bus->[$i - 1], $status{"$round.$i"} // 0, eval { $json->decode($text) } // {},
                     $rid{"$round.$i"} // '', $text ];
        unlink "$state/answer.$round.$i", "$state/body.$round.$i";
    }
    sleep 1;          # the restart settles before the next burst
}

my $crashes = do { open my $fh, '<:raw', $log or die $!; seek $fh, $off, 0; local $/; my $s = <$fh> // '';
                   scalar(() = $s =~ /exit signal/g) };
ok t_cmp($crashes, 0, 'no httpd child died through four bursts and three graceful restarts');
my @ok = grep { $_->[1] == 200 } @all;
ok t_cmp(scalar(@ok) >= 400 ? 'most answered' : scalar(@ok) . ' of ' . scalar(@all), 'most answered',
         'the bursts were issued (a request caught by a restart may go unanswered)');
my %stored = map { my @f = split /\|/; ($f[0] => "$f[1] $f[2] $f[3] $f[4]") } split /\n/,
    psql("SELECT bus_no || '|' || bill_batch_code || '|' || bill_no || '|' || random || '|' || create_time "
         . "FROM invoice.bills WHERE place_code = '$place'");
sub answered { my ($j) = @_; join ' ', map { $j->{$_} // '?' } qw(billBatchCode billNo random createTime) }
my @wrong = grep { ($stored{ $_->[0] } // '-') ne answered($_->[2]) } @ok;
ok t_cmp(scalar(@wrong), 0, 'every answer names the bill stored for its busNo: code, number, check code and time')
    or print STDERR join '', map { "#   $_->[0]: answered " . answered($_->[2]) . ', stored ' . ($stored{ $_->[0] } // 'none') . "\n" }
                     @wrong[0 .. ($#wrong < 4 ? $#wrong : 4)];
my $grouped = psql("SELECT count(*) FROM (SELECT xmin::text FROM invoice.bills WHERE place_code = '$place' "
                   . "GROUP BY 1 HAVING count(*) > 1) t");
ok t_cmp($grouped > 0 ? 'grouped' : 'never grouped', 'grouped', "bills were issued in groups ($grouped transactions of several)");

# the journal: one row per answered call, in its bill's transaction (the same xmin), status 200
my @rids = map { $_->[3] } @ok;
my $rows = psql("SELECT string_agg(a.request_id || ' ' || a.status || ' ' || a.xmin::text, ',') FROM hg.audit a "
                . "WHERE a.request_id = ANY('{" . join(',', @rids) . "}')");
my %rows;
push @{ $rows{ (split / /)[0] } }, [ (split / /)[1, 2] ] for split /,/, $rows // '';
my %bill_xmin = map { split /\|/ } split /\n/,
    psql("SELECT bus_no || '|' || xmin::text FROM invoice.bills WHERE place_code = '$place'");
release_sealer();
my @not_one = grep { @{ $rows{ $_->[3] } // [] } != 1 } @ok;
ok t_cmp(scalar(@not_one), 0, 'every answered call has exactly one journal row')
    or print STDERR "#   $not_one[0][0]: " . scalar(@{ $rows{ $not_one[0][3] } // [] }) . " rows\n";
my @apart = grep { my $a = ($rows{ $_->[3] } // [])->[0] // [0, '-'];
                   $a->[0] != 200 || $a->[1] ne ($bill_xmin{ $_->[0] } // '') } @ok;
ok t_cmp(scalar(@apart), 0, "every call's journal row (200) committed in its bill's transaction")
    or print STDERR "#   $apart[0][0]: row " . join(' ', @{ ($rows{ $apart[0][3] } // [])->[0] // [] })
                    . ", bill xmin " . ($bill_xmin{ $apart[0][0] } // 'none') . "\n";
# three answers of grouped bills (a transaction of several), read back from the journal
my %group_size;
$group_size{$_}++ for values %bill_xmin;
my @sample = (grep { ($group_size{ $bill_xmin{ $_->[0] } // '' } // 0) > 1 } @ok)[0, 1, 2];
my $same = 0;
for my $c (grep { defined } @sample) {
    my ($rc, $out) = HG::hisgate("audit show --request-id $c->[3]");
    $same++ if $rc == 0 && index($out, $c->[4]) >= 0;
}
ok t_cmp($same, 3, 'the journal holds the very answer sent, for bills issued in a group');
