# The outbox drain at stop (common/glue/mod_hisgate_drain.c): deliveries in flight when an httpd child
# stops get HG_DRAIN_STOP_GRACE_S (1 s); then their transfers are cut short and recorded, within
# HG_DRAIN_STOP_RECORD_S (3 s) more, as failed attempts to retry, so that httpd never has to kill the
# child.  Checked on both ways a child stops: an ungraceful restart (SIGHUP: httpd's parent waits
# for its children, warns about those still there after ~3 s and kills them after ~9 s) and a
# graceful one (SIGUSR1).
#
# The platform that does not answer has to be outside httpd: on SIGHUP, httpd closes the connections
# its own children serve (mod_sandbox's among them: the delivery then fails at once, nothing hangs),
# and a sandbox sleeping in "slow" mode keeps its own child alive, so httpd would warn about it
# whatever the drain does.  Nor can it be the fiscal platform: HisgateFiscalTimeout is 1500 ms here,
# so an upload ends before the grace does.  So this test listens on a port of its own, accepts and
# never answers, and points InvoiceSMSGateway at it (SMS notices wait 5 s for an answer) by
# rewriting the generated t/conf/extra.conf for the time of the test (put back, and the server
# restarted gracefully, before the test ends, also when it dies).
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest ();
use Apache::TestUtil qw(t_cmp);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Time::Local qw(timelocal);
use HG qw(json_of signed_request psql wait_until);
use HGInvoice qw(outpatient);

plan tests => 27;

my $GRACE = 1;                 # HG_DRAIN_STOP_GRACE_S
my $RECORD = 3;                # HG_DRAIN_STOP_RECORD_S
my $SMS_TIMEOUT_MS = 5000;     # an SMS delivery's own time-out (mod_invoice: notify.timeout_ms)
# a stopping child is gone within the grace, plus about a second for a transfer to notice it is cut
# (curl's progress callback) and one for recording and exiting.  httpd's parent looks again about
# 3.3 s after it told its children to stop (then 4.3, ...) and warns about any still there
my $GONE = $GRACE + 2;
my $CUT = 'notify.sms: gateway not reached: cut short: this httpd child is stopping';
my $N = 4;

my $vars = Apache::Test::config()->{vars};
my $log = "$vars->{t_logs}/error_log";
my $extra = "$vars->{t_conf}/extra.conf";
my $hostport = Apache::TestRequest::hostport(Apache::Test::config());
my $ppid = do { open my $f, '<', $vars->{t_pid_file} or die "$vars->{t_pid_file}: $!"; local $/; <$f> =~ /(\d+)/; $1 };

sub slurp { my ($f) = @_; open my $fh, '<:raw', $f or die "$f: $!"; local $/; return scalar <$fh> }
sub spew { my ($f, $s) = @_; open my $fh, '>:raw', "$f.new" or die "$f.new: $!"; print $fh $s; close $fh or die $!; rename "$f.new", $f or die $! }
sub quoted { join ',', map { "'$_'" } @_ }
sub log_since { my ($off) = @_; open my $fh, '<:raw', $log or die $!; seek $fh, $off, 0; local $/; my $s = <$fh> // ''; close $fh; return $s }
sub log_epoch {               # "[Mon Nov 30 01:13:43.311834 2026]" → epoch seconds
    my ($line) = @_;
    my %m; @m{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = 0 .. 11;
    my ($mon, $d, $h, $mi, $s, $us, $y) = $line =~ /^\[\w+ (\w+) +(\d+) (\d+):(\d+):(\d+)\.(\d+) (\d+)\]/ or return;
    return timelocal($s, $mi, $h, $d, $m{$mon}, $y) + "0.$us";
}
# the httpd children of the parent (zombies are gone), read from /proc
sub children {
    my @c;
    for my $st (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $st or next;
        my $l = <$fh> // next;
        my ($pid, $state, $pp) = $l =~ /^(\d+) \(.*\) (\S) (\d+)/ or next;
        push @c, $pid if $pp == $ppid && $state ne 'Z';
    }
    return @c;
}
sub alive { my %now = map { $_ => 1 } children(); return grep { $now{$_} } @_ }
# first answer of GET /hg/health after $t0, 200 or not: seconds since $t0 (undef if none in $secs)
sub answers_again {
    my ($t0, $secs) = @_;
    my $ua = HTTP::Tiny->new(timeout => 3);
    while (time - $t0 < $secs) {
        return time - $t0 if $ua->get("http://$hostport/hg/health")->{status} == 200;
        sleep 0.05;
    }
    return undef;
}
# signal the parent; returns the time, the log offset and the children it had
sub signal {
    my ($sig) = @_;
    my ($off, @old) = (-s $log, children());
    my $t = time;
    my $sent = kill $sig, $ppid;
    return ($sent, $t, $off, \@old);
}

my (@bus, @bills);              # this test's bills (busNo, billNo)
sub rows {
    my %r;
    for (split /\n/, psql("SELECT o.id || '|' || o.state || '|' || o.attempts || '|' || extract(epoch FROM o.updated_at) "
            . "|| '|' || coalesce(o.last_error, '') FROM hg.outbox o JOIN invoice.bills b ON o.business_key = 'notify:' || b.id "
            . "WHERE o.topic = 'invoice.notify' AND b.bus_no IN (" . quoted(@bus) . ")")) {
        my ($id, $state, $attempts, $at, $error) = split /\|/, $_, 5;
        $r{$id} = { state => $state, attempts => $attempts, at => $at, error => $error };
    }
    return \%r;
}
sub uploads_done {
    return psql("SELECT count(*) FROM hg.outbox o JOIN invoice.bills b ON o.business_key = 'upload:' || b.id "
                . "WHERE o.topic = 'invoice.upload' AND o.state = 'done' AND b.bus_no IN (" . quoted(@bus) . ")");
}
# the notices in flight whose attempt started less than $age s ago (and is the one after $prev's, if
# given): their own 5 s time-out is still far when the grace ends, so the stop must cut them
sub fresh {
    my ($rows, $age, $prev) = @_;
    my $now = time;
    my @ids = sort grep { my $o = $rows->{$_}; $o->{state} eq 'inflight' && $now - $o->{at} < $age
                          && (!$prev || $o->{attempts} == ($prev->{$_} // -1) + 1) } keys %$rows;
    return @ids;
}
sub in_flight { my ($rows) = @_; return grep { $rows->{$_}{state} eq 'inflight' } keys %$rows }
sub show { my ($rows) = @_; my $now = time;
    return map { sprintf "#   row %s %s attempt %d, started %.2f s ago\n", $_, @{ $rows->{$_} }{qw(state attempts)}, $now - $rows->{$_}{at} }
           sort keys %$rows }
# what the stopping child recorded for attempt $k{id} of each row, as seen after stop $t0 (log since $off)
sub recorded {
    my ($t0, $off, $k, $old) = @_;
    my $text = log_since($off);
    my %line;
    for (split /\n/, $text) {
        next unless /\[pid (\d+):tid \d+\] .*HG00034: outbox (\d+) \(invoice\.notify\) attempt (\d+) failed, will retry: (.*)$/;
        $line{$2} = { pid => $1, attempt => $3, error => $4, at => log_epoch($_) } if exists $k->{$2} && $3 == $k->{$2};
    }
    my %j = map { my @f = split /\|/; ($f[0] => { n => $f[1], elapsed => $f[2], at => $f[3], status => $f[4] }) } split /\n/, psql(
        "SELECT o.id || '|' || count(a.id) || '|' || coalesce(max(a.elapsed_ms), -1) || '|' || coalesce(extract(epoch FROM max(a.at)), 0) "
        . "|| '|' || coalesce(max(a.status), 0) FROM hg.outbox o LEFT JOIN hg.audit a ON a.direction = 'out' AND a.endpoint = 'notify.sms' "
        . "AND a.request_id = 'outbox-' || o.id || '-' || CASE o.id " . join(' ', map { "WHEN $_ THEN $k->{$_}" } keys %$k) . " END "
        . "WHERE o.id IN (" . join(',', keys %$k) . ") GROUP BY o.id");
    my %old = map { $_ => 1 } @$old;
    my @ids = sort keys %$k;
    my $rows = rows();
    my @by_old = grep { $line{$_} && $old{ $line{$_}{pid} } } @ids;
    my @cut = grep { $line{$_} && $line{$_}{error} eq $CUT } @ids;
    # retryable: back to pending with the attempt counted, or already claimed again by the new
    # children (last_error stays until an attempt ends), or delivered by that next attempt
    my @retry = grep { my $o = $rows->{$_}; $o->{error} eq $CUT && $o->{state} eq 'pending' && $o->{attempts} == $k->{$_}
                       || $o->{error} eq $CUT && $o->{state} eq 'inflight' && $o->{attempts} == $k->{$_} + 1
                       || $o->{state} eq 'done' && $o->{attempts} == $k->{$_} + 1 } @ids;
    my @journal = grep { $j{$_}{n} == 1 } @ids;
    my @short = grep { $j{$_}{n} == 1 && $j{$_}{elapsed} < $SMS_TIMEOUT_MS } @ids;
    my @when = map { $j{$_}{at} - $t0 } grep { $j{$_}{n} } @ids;
    print STDERR map { sprintf "#   row %s attempt %d: %s by pid %s at +%.2f s (journal: %d row, status %s, %s ms)\n",
                       $_, $k->{$_}, $line{$_} ? ($line{$_}{error}, $line{$_}{pid}, $line{$_}{at} - $t0) : ('not in the log', '-', 0),
                       $j{$_}{n}, $j{$_}{status}, $j{$_}{elapsed} } @ids;
    return { by_old => scalar(@by_old), cut => scalar(@cut), retry => scalar(@retry), journal => scalar(@journal),
             short => scalar(@short), first => (sort { $a <=> $b } @when)[0] // -1, last => (sort { $b <=> $a } @when)[0] // 99,
             log => $text };
}
sub no_kill_warnings {
    my ($text) = @_;
    my @w = grep { /AH0004[567]|still did not exit|SIGKILL|could not make child process/ } split /\n/, $text;
    print STDERR map { "#   $_\n" } @w;
    return scalar @w;
}
sub unfinished {
    my ($text) = @_;
    my @w = grep { /HG00045/ } split /\n/, $text;
    print STDERR map { "#   $_\n" } @w;
    return scalar @w;
}

# wait (0.05 s steps) until none of @$old is left: seconds since $t0, or undef
sub gone_after {
    my ($t0, $old, $secs) = @_;
    while (time - $t0 < $secs) {
        return time - $t0 unless alive(@$old);
        sleep 0.05;
    }
    return undef;
}

# ---- a platform that accepts and never answers
my $hole = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, ReuseAddr => 1)
    or die "listen: $!";
my $hole_port = $hole->sockport;
my $hole_pid = fork // die "fork: $!";
if (!$hole_pid) {
    alarm 300;                # never outlives the test for long
    my $sel = IO::Select->new($hole);
    while (1) {
        for my $h ($sel->can_read(1)) {
            if ($h == $hole) { my $c = $hole->accept; $sel->add($c) if $c; next }
            my $n = sysread $h, my $buf, 65536;
            if (!$n) { $sel->remove($h); close $h }
        }
    }
}
close $hole;

# ---- InvoiceSMSGateway → that platform, for a new generation of children
my $conf0 = slurp($extra);
my $conf1 = $conf0;
my $swapped = $conf1 =~ s{^(InvoiceSMSGateway\s+)http://\S+}{${1}http://127.0.0.1:$hole_port/sandbox/sms/send}m;
die "no InvoiceSMSGateway line in $extra" unless $swapped;
my $restored = 0;
sub restore {
    return if $restored++;
    spew($extra, $conf0);
    my ($sent, $t, $off, $old) = signal('USR1');
    wait_until(15, sub { log_since($off) =~ /AH00489/ && !alive(@$old) });
}
END { kill 'TERM', $hole_pid if $hole_pid; restore() if $swapped && !$restored }
$SIG{INT} = $SIG{TERM} = sub { exit 1 };

spew($extra, $conf1);
my ($sent, $t, $off, $old) = signal('USR1');
ok t_cmp(wait_until(15, sub { log_since($off) =~ /AH00489/ && !alive(@$old) }) ? 1 : 0, 1,
         "graceful restart: SMS notices now go to a platform that never answers (port $hole_port)");

# ---- bills whose SMS notices hang there; their uploads go to the fiscal sandbox as usual
my @items = map { outpatient() } 1 .. $N;
@bus = map { $_->{busNo} } @items;
my $r = signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient/batch', { items => \@items });
@bills = map { $_->{billNo} } grep { $_->{ok} } @{ json_of($r)->{results} // [] };
ok t_cmp(scalar(@bills), $N, "$N bills issued in one batch");
my $before;
wait_until(20, sub { uploads_done() == $N && fresh($before = rows(), 0.8) == $N });
my @cut1 = fresh($before, 0.8);
ok t_cmp(scalar(@cut1), $N, "$N SMS notices in flight, waiting for an answer that does not come")
    or print STDERR show($before);

# ---- ungraceful restart (SIGHUP): every child stops, httpd's parent waits for them (warns after ~3 s)
my %k = map { $_ => $before->{$_}{attempts} } @cut1;
my $n = keys %k;
($sent, my $t0, $off, $old) = signal('HUP');
ok t_cmp($sent, 1, 'SIGHUP (restart: every child stops) while the notices hang');
my $t_gone = gone_after($t0, $old, 20);
my $t_answer = answers_again($t0, 20);
my $text = log_since($off);
my ($hup) = $text =~ /^(.*AH00494.*)$/m;
my ($up) = $text =~ /^(.*AH00489.*)$/m;
printf STDERR "# SIGHUP: the children were gone after %.2f s, httpd restarted after %.2f s (its log), answered after %.2f s\n",
    $t_gone // -1, $hup && $up ? log_epoch($up) - log_epoch($hup) : -1, $t_answer // -1;
ok t_cmp(defined $t_gone && $t_gone <= $GONE ? 1 : 0, 1,
         sprintf('the children were gone %.2f s after the signal (at most %d s: the grace, a second for a transfer '
                 . 'to notice it is cut, one to record and exit)', $t_gone // -1, $GONE));
ok t_cmp(defined $t_answer && $t_answer <= $GONE + 1 ? 1 : 0, 1,
         sprintf('the server answered again %.2f s after the signal (not after the deliveries\' own time-outs)', $t_answer // -1));
my $rec = recorded($t0, $off, \%k, $old);
ok t_cmp(no_kill_warnings($rec->{log}), 0, 'httpd did not warn about, signal or kill a child that would not exit');
ok t_cmp(unfinished($rec->{log}), 0, 'the drain left nothing to the leases (no HG00045)');
ok t_cmp($rec->{cut}, $n, "each delivery in flight was cut short: \"$CUT\"");
ok t_cmp($rec->{by_old}, $n, 'and recorded by the stopping child itself (its HG00034 line, from an old pid)');
ok t_cmp($rec->{retry}, $n, 'each row is back to retry: last_error says so, the attempt counted, not dead');
ok t_cmp($rec->{journal}, $n, 'each cut attempt journalled exactly once (hg.audit outbox-<id>-<attempt>, notify.sms)');
ok t_cmp($rec->{short}, $n, "the journal shows each ended before its own $SMS_TIMEOUT_MS ms time-out");
ok t_cmp($rec->{first} >= $GRACE - 0.1 ? 1 : 0, 1, sprintf('none was cut before the grace ended (first recorded at +%.2f s)', $rec->{first}));
ok t_cmp($rec->{last} <= $GRACE + $RECORD + 0.5 ? 1 : 0, 1, sprintf('all recorded within grace + record (last at +%.2f s)', $rec->{last}));

# ---- graceful restart (SIGUSR1) while notices hang again, putting the sandbox's gateway back
my ($again, @cut2);
wait_until(20, sub { $again = rows(); @cut2 = fresh($again, 0.8, \%k); @cut2 && !grep { time - $again->{$_}{at} >= 1.0 } in_flight($again) });
ok t_cmp(scalar(@cut2) >= 1 ? 1 : 0, 1, 'the restarted children sent the notices again, and they hang again')
    or print STDERR show($again);
%k = map { $_ => $again->{$_}{attempts} } @cut2;
$n = keys %k;
spew($extra, $conf0);
$restored = 1;
($sent, $t0, $off, $old) = signal('USR1');
ok t_cmp($sent, 1, "SIGUSR1 (graceful restart) with $n of them in flight, InvoiceSMSGateway back to the sandbox");
$t_answer = answers_again($t0, 10);
$t_gone = gone_after($t0, $old, 20);
printf STDERR "# SIGUSR1: the server answered after %.2f s, the old children were gone after %.2f s\n", $t_answer // -1, $t_gone // -1;
ok t_cmp(defined $t_answer && $t_answer <= 2 ? 1 : 0, 1, sprintf('the server kept answering (after %.2f s)', $t_answer // -1));
ok t_cmp(defined $t_gone && $t_gone <= $GONE ? 1 : 0, 1,
         sprintf('the old children were gone %.2f s after the signal (at most %d s)', $t_gone // -1, $GONE));
$rec = recorded($t0, $off, \%k, $old);
ok t_cmp($rec->{cut} == $n && $rec->{by_old} == $n && $rec->{retry} == $n ? 1 : 0, 1,
         'each delivery in flight was cut short, recorded by the stopping child, back to retry');
ok t_cmp($rec->{journal} == $n && $rec->{short} == $n ? 1 : 0, 1, 'each cut attempt journalled once, ended before its time-out');
ok t_cmp($rec->{first} >= $GRACE - 0.1 && $rec->{last} <= $GRACE + $RECORD + 0.5 ? 1 : 0, 1,
         sprintf('after the grace, within grace + record (+%.2f s to +%.2f s)', $rec->{first}, $rec->{last}));
ok t_cmp(no_kill_warnings($rec->{log}) + unfinished($rec->{log}), 0, 'no child warned about or killed, nothing left to the leases');

# ---- the sandbox delivers all: each notice once, each upload once
ok t_cmp(wait_until(30, sub { !grep { $_->{state} ne 'done' } values %{ rows() } }) ? 1 : 0, 1, 'every SMS notice delivered after the restarts')
    or print STDERR map { "#   $_->{state} $_->{attempts} $_->{error}\n" } values %{ rows() };
my %sms = map { split /\|/ } split /\n/, psql("SELECT b.bill_no || '|' || (SELECT count(*) FROM sandbox.messages m WHERE m.channel = 'sms' "
    . "AND m.content LIKE '%' || b.bill_no || '%') FROM invoice.bills b WHERE b.bill_no IN (" . quoted(@bills) . ")");
ok t_cmp(scalar(grep { ($sms{$_} // 0) == 1 } @bills), $N, 'one SMS per bill (the platform that never answered sent none)');
my %calls = map { split /\|/ } split /\n/, psql("SELECT no || '|' || r FROM (SELECT data::jsonb->>'billNo' AS no, "
    . "string_agg(result, ',' ORDER BY id) AS r FROM sandbox.fiscal_calls WHERE sign_ok AND data LIKE '{%' "
    . "AND data::jsonb->>'billNo' IN (" . quoted(@bills) . ") GROUP BY 1) x");
ok t_cmp(scalar(grep { ($calls{$_} // '') eq 'S0000' } @bills), $N, 'every upload accepted, each sent once');
ok t_cmp(psql("SELECT count(*) FROM sandbox.fiscal_bills WHERE bill_no IN (" . quoted(@bills) . ")"), $N,
         'all supervised in the platform archive');
