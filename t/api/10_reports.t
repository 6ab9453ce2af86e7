# reports (HisgateReports 1 2, HisgateReportTimeout 8 in t/conf/extra.conf.in): a report's statements
# may run past every other statement's 5 s, up to the report timeout; one report at a time per
# process, and a report that waits longer than 2 s for its turn answers 503 HG_REPORT_BUSY.  A
# session holding invoice.blank_voids (which the daily report reads) stands for a slow report.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(time sleep);
use HG qw(json_of staff_login psql);

plan tests => 14;

my $daily = '/invoice/staff/v1/reports/daily';
my (undef, $cookie) = staff_login('admin', 'Adm1n-Test-Pass#2026');
my @s = (Cookie => $cookie);
my $state = Apache::Test::vars('t_dir') . '/state';

my $r = GET($daily, @s);
ok t_cmp($r->code, 200, 'the daily report, with nothing in its way');
my $st = json_of(GET '/hg/status');
ok t_cmp(join(',', map { $_ // '-' } @{ $st->{lines}{reports} // {} }{qw(in_use size waiting)}), '0,1,0',
         'status: the report line (in use, size, waiting)');

# a session that holds the table for $secs seconds; returns once the lock is held
sub hold_blank_voids {
    my ($secs) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        psql("BEGIN; LOCK TABLE invoice.blank_voids IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($secs); COMMIT");
        exit 0;
    }
    for (1 .. 100) {
        last if psql("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                   . "WHERE c.relname = 'blank_voids' AND l.mode = 'AccessExclusiveLock' AND l.granted") eq '1';
        sleep 0.05;
    }
    return $pid;
}
# code, error code, seconds and message of a report asked for now
sub report {
    my $t0 = time;
    my $r = GET($daily, @s);
    my $j = $r->code == 200 ? {} : (eval { json_of($r) } // {});
    return ($r->code, $j->{code} // "-", time - $t0, $j->{message} // "");
}

# ---- six reports at once while the table is held for 6.5 s: with one report per process, at
# least one waits (the test server runs at most 4 processes), gives up after 2 s with
# HG_REPORT_BUSY; those that ran wait for the lock past 5 s and answer
my $holder = hold_blank_voids(6.5);
my @kids;
for my $i (1 .. 6) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my @a = report();
        open my $fh, '>', "$state/reports.$i" or die $!;
        print $fh join("\t", @a[0 .. 2]), "\n";
        close $fh;
        exit 0;
    }
    push @kids, $pid;
}
waitpid($_, 0) for @kids, $holder;
my @res = map {
    open my $fh, '<', $_ or die $!;
    my $l = <$fh>;
    close $fh;
    unlink $_;
    chomp $l;
    [split /\t/, $l];
} glob "$state/reports.*";
my @ran = grep { $_->[0] == 200 } @res;
my @busy = grep { $_->[0] == 503 && $_->[1] eq 'HG_REPORT_BUSY' } @res;
ok t_cmp(scalar @res, 6, 'six answers');
ok t_cmp(@ran + @busy, 6, 'each one either ran or was told the reports are busy: '
         . join(' ', map { "$_->[0]/$_->[1]" } @res));
ok t_cmp(@ran >= 1 ? 1 : 0, 1, 'at least one ran');
ok t_cmp(@busy >= 1 ? 1 : 0, 1, 'at least one waited for its turn in vain');
ok t_cmp((grep { $_->[2] >= 5.5 } @ran) == @ran ? 1 : 0, 1,
         'those that ran waited for the lock past the 5 s every other statement has: '
         . join(' ', map { sprintf '%.1f', $_->[2] } @ran));
ok t_cmp((grep { $_->[2] >= 1.8 && $_->[2] < 5 } @busy) == @busy ? 1 : 0, 1,
         'the busy answers came after the 2 s wait, before the lock went: '
         . join(' ', map { sprintf '%.1f', $_->[2] } @busy));

# ---- a report past HisgateReportTimeout (8 s)
$holder = hold_blank_voids(10);
my ($code, $err, $took, $msg) = report();
waitpid($holder, 0);
ok t_cmp("$code $err", '503 HG_DB_TIMEOUT', 'a report past its timeout answers 503 HG_DB_TIMEOUT');
ok t_cmp($msg, qr/HisgateReportTimeout.*缩短查询期间/, 'and says to choose a shorter period');
ok t_cmp($took >= 7.5 && $took < 9.8 ? 1 : 0, 1, sprintf('after the report timeout (%.1f s)', $took));

# ---- the line is free again in every process; the statements after a report have their 5 s again
my %codes;
$codes{ (report())[0] }++ for 1 .. 4;
ok t_cmp(join(',', map { "$_=$codes{$_}" } sort keys %codes), '200=4', 'reports run again');
$st = json_of(GET '/hg/status');
ok t_cmp($st->{lines}{reports}{in_use} // '-', 0, 'no report holds the line');
ok t_cmp(psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'hisgate' AND state LIKE 'idle in transaction%'"), 0,
         'no connection was left in a transaction');
