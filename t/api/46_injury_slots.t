# Work-injury calls do not hold a database slot while they wait on the platform (mod_injury gives its
# connection back around the post and takes one again for the answer).
#  A. the sandbox platform slow (1.2 s a call): more injury calls at once than the test server has
#     slots (4 per process, 2 processes, 1.5 s wait), signed pings meanwhile: no ping refused or
#     kept waiting, every injury call answered as the platform answered and recorded so, one audit
#     row per signed call, the journal written, afterwards no slot left over.
#  B. no connection to be had again after the platform's answer (the fiscal sandbox, slow on
#     purpose, holds every slot meanwhile): a clear 503 HG_DB_BUSY, nothing half-written; the
#     record left is resolved by the next call by query (never registered twice).
#  C. a record left so whose registration the platform does not hold: cleared, safe to call again.
#  D. a settlement whose answer came while no connection could be had: marked pending before it
#     was sent, the mark stays, the next call resolves it by query (never settled twice).
#  E. (run after A) the session runs out in a burst on the slow platform: one login, the other
#     calls wait for it without their connections, pings are not kept waiting.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use LWP::UserAgent;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use HG qw(json_of signed_request psql wait_until log_window);

binmode STDOUT, ":encoding(UTF-8)";
binmode STDERR, ":encoding(UTF-8)";

plan tests => 51;

my $json = JSON::PP->new->utf8->canonical;
my $api = '/injury/api/v1';
my $run = substr($$ . time, -8);
my $today = strftime('%Y%m%d', localtime);
my $state = "$ENV{HG_TOP}/t/state";
my $SLOW_MS = 1200;      # under InjuryTimeout (2000 ms in t/conf): every call gets its answer
my @PERSONS = map { "10000000$_" } qw(01 02 03 04 05 11 12 13 14 15 16);
# threads: each injury call is two requests here (ours and the sandbox platform's); with the pings
# at most 24 at once, far from the MPM's 128 workers
my $N_REG = 7;           # outpatient registrations (write a record) …
my $N_REL = 3;           # … and person-info relays (write nothing) at once: 10 calls > 8 slots
my $N_PING = 4;          # children making signed pings meanwhile
my $PINGS = 6;           # … each

sub control {
    my (%a) = @_;
    my $platform = delete $a{platform} // 'injury';
    my $r = POST('/sandbox/control', 'Content-Type' => 'application/json',
                 content => $json->encode({ platform => $platform, %a }));
    die 'sandbox control refused: ' . $r->content unless $r->is_success;
}
sub reg_body {
    my ($aac001, $no) = @_;
    return { aac001 => $aac001, aka130 => '41', bka006 => '410', bka017 => $today, bka025 => $no,
             bka019 => 'K01', bka020 => '骨科门诊', bka026 => 'S62.001' };
}
sub sqlq { my $s = shift; $s =~ s/'/''/g; return "'$s'"; }
# what the platform holds for an outpatient visit (its own table: the truth the test compares with)
sub platform_aaz218 {
    my ($aac001, $no) = @_;
    return psql("SELECT coalesce(string_agg(aaz218, ','), '') FROM sandbox.injury_visits WHERE kind = 'op' "
              . "AND aac001 = " . sqlq($aac001) . " AND bka025 = " . sqlq($no));
}
sub local_row {
    my ($no) = @_;
    return psql("SELECT coalesce(aaz218, '-') || ' ' || state || ' ' || (busy_until IS NULL)::text || ' ' "
              . "|| (pending_fn IS NULL)::text FROM injury.stays WHERE bka025 = " . sqlq($no));
}
sub n_110104 { return psql("SELECT count(*) FROM sandbox.injury_calls WHERE function_id = 'bizh110104'"); }
sub fork_child {
    my ($go, $file, $sub) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open my $u, '<:raw', '/dev/urandom' or die $!;     # siblings' nonces must differ
        read $u, my $seed, 4;
        close $u;
        srand(unpack 'L', $seed);
        sleep($go - time) if $go > time;
        my @lines = $sub->();
        open my $fh, '>:encoding(UTF-8)', $file or die $!;
        print $fh "$_\n" for @lines;
        close $fh;
        exit 0;
    }
    return $pid;
}
# $call in a child; once $started->() says it is on its way to the platform, 20 slow calls to the
# fiscal sandbox (which holds its slot while it dawdles, on purpose) take every slot of both
# processes (4 each) for 6 s.  Returns whether it started, and the call's status, seconds, Retry-After, JSON.
sub while_slots_held {
    my ($call, $started) = @_;
    control(platform => 'fiscal', mode => 'slow', slow_ms => 6000);
    my $file = "$state/injslots.held";
    my $pid = fork_child(time, $file, sub {
        my $t = time;
        my $r = $call->();
        return (join(' ', $r->code, sprintf('%.3f', time - $t), $r->header('Retry-After') // '-'), $r->content);
    });
    my $seen = wait_until(5, $started);
    my @flood;
    for (1 .. 20) {
        my $f = fork // die "fork: $!";
        if (!$f) { POST '/sandbox/fiscal/getEBillStatesByBillInfo', content => '{}'; exit 0; }
        push @flood, $f;
    }
    waitpid($pid, 0);
    waitpid($_, 0) for @flood;
    control(platform => 'fiscal', mode => 'normal');
    open my $fh, '<:raw', $file or die $!;
    my ($head, $body) = (scalar(<$fh>), join('', <$fh>));
    close $fh;
    unlink $file;
    chomp $head;
    print STDERR "# held: $head: " . substr($body, 0, 300) . "\n";
    return ($seen, split(/ /, $head), eval { $json->decode($body) } // {});
}
sub fee {
    my ($code, $name, $price, $qty) = @_;
    return { ake005 => $code, ake006 => $name, bka051 => $today, bka056 => sprintf('%.4f', $price),
             bka057 => sprintf('%.2f', $qty), bka058 => sprintf('%.2f', $price * $qty) };
}
my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 10);
my $base = 'http://' . Apache::TestRequest::hostport();
sub slots_idle {
    my $last = '';
    my $idle = wait_until(20, sub {
        my @in_use = map { my $s = json_of($ua->get("$base/hg/status")); $s->{db_slots}{in_use} // 'none' } 1 .. 8;
        $last = join ',', @in_use;
        return !grep { $_ ne '1' } @in_use;
    });
    print STDERR "# slots in use, per status call: $last\n" unless $idle;
    return $idle ? 'idle' : $last;
}

# ======================================================================== A. slow platform, many calls
control(mode => 'normal');
control(platform => 'fiscal', mode => 'normal');
# a valid session first: the rare login (sys0001) is made under an advisory lock, in a transaction,
# and keeps its connection; the business calls are what this test is about
my $r = signed_request('POST', "$api/bizh110001", { bka895 => 'aac001', bka896 => '1000000001', bka006 => '410' });
ok t_cmp($r->code . ' ' . (json_of($r)->{status} // json_of($r)->{code} // ''), '200 ok', 'warm-up: a session with the platform');

my $t0 = time;
$r = signed_request('POST', "$api/bizh110001", { bka895 => 'aac001', bka896 => '1000000002', bka006 => '410' });
my $fast = time - $t0;
control(mode => 'slow', slow_ms => $SLOW_MS);
$t0 = time;
$r = signed_request('POST', "$api/bizh110001", { bka895 => 'aac001', bka896 => '1000000002', bka006 => '410' });
my $slow = time - $t0;
ok t_cmp($r->code == 200 && $slow >= $SLOW_MS / 1000 ? 'slow' : sprintf('%d in %.2f s', $r->code, $slow), 'slow',
         sprintf('the sandbox platform is slow now: %.2f s a call (%.2f s before)', $slow, $fast));

my $n104 = n_110104();
my $go = time + 1.5;
my @kids;
my @regs = map { { i => $_, aac001 => $PERSONS[$_ % @PERSONS], no => "SL$run" . sprintf('%02d', $_) } } 0 .. $N_REG - 1;
for my $g (@regs) {
    push @kids, fork_child($go, "$state/injslots.reg$g->{i}", sub {
        my $t = time;
        my $r = signed_request('POST', "$api/bizh110104", reg_body($g->{aac001}, $g->{no}));
        my $j = json_of($r);
        return join ' ', 'reg', $g->{i}, $r->code, sprintf('%.3f', time - $t), $r->header('X-Request-Id') // '-',
                    $j->{status} // $j->{code} // '-', $j->{aaz218} // '-', ($j->{session}{logins} // '-');
    });
}
for my $k (0 .. $N_REL - 1) {
    push @kids, fork_child($go, "$state/injslots.rel$k", sub {
        my $t = time;
        my $aac001 = $PERSONS[$k];
        my $r = signed_request('POST', "$api/bizh110001", { bka895 => 'aac001', bka896 => $aac001, bka006 => '410' });
        my $j = json_of($r);
        return join ' ', 'rel', $k, $r->code, sprintf('%.3f', time - $t), $r->header('X-Request-Id') // '-',
                    $j->{status} // $j->{code} // '-', ($j->{result}{personinfo}[0]{aac001} // '-'), $aac001;
    });
}
for my $k (1 .. $N_PING) {
    push @kids, fork_child($go + 0.3, "$state/injslots.ping$k", sub {
        map {
            my $t = time;
            my $r = signed_request('POST', '/hg/ping', {});
            my $line = join ' ', 'ping', $k, $r->code, sprintf('%.3f', time - $t), $r->header('X-Request-Id') // '-',
                            $r->code == 200 ? 'ok' : (json_of($r)->{code} // '-'), '-', '-';
            sleep 0.1;
            $line;
        } 1 .. $PINGS;
    });
}
waitpid($_, 0) for @kids;
my $took = time - $go;
my @res;
for my $f (glob "$state/injslots.*") {
    open my $fh, '<:encoding(UTF-8)', $f or die $!;
    push @res, map { chomp; [split / /, $_, 8] } <$fh>;
    close $fh;
    unlink $f;
}
for my $k (qw(reg rel ping)) {
    my @t = sort { $a <=> $b } map { $_->[3] } grep { $_->[0] eq $k } @res;
    printf STDERR "# %s: %d calls, %.3f s to %.3f s\n", $k, scalar @t, $t[0] // 0, $t[-1] // 0;
}
printf STDERR "# %d injury calls and %d pings in %.2f s; not 200: %s\n", $N_REG + $N_REL, $N_PING * $PINGS, $took,
    join('; ', map { "$_->[0]$_->[1] $_->[2] $_->[5]" } grep { $_->[2] != 200 } @res) || 'none';

my @pings = grep { $_->[0] eq 'ping' } @res;
my @inj = grep { $_->[0] ne 'ping' } @res;
ok t_cmp(scalar(@pings) . ' ' . scalar(@inj), ($N_PING * $PINGS) . ' ' . ($N_REG + $N_REL), 'every call answered');
my @busy = grep { $_->[2] == 503 } @pings;
ok t_cmp(scalar(@busy) ? "$busy[0][2] $busy[0][5] (" . scalar(@busy) . ' refused)' : 'none', 'none',
         'no ping refused (503 HG_DB_BUSY) while the injury calls waited on the platform');
ok t_cmp(scalar(grep { $_->[2] == 200 } @pings), $N_PING * $PINGS, 'every ping 200');
# how long each ping took inside the server, from its arrival to its audit row (a wait for a slot
# counts; the Perl clients' own time on two busy cores does not)
my ($worst) = sort { $b <=> $a } map { $_->[3] } @pings;
my $ping_rids = join ',', map { sqlq($_->[4]) } @pings;
my $served = psql("SELECT max(elapsed_ms) FROM hg.audit WHERE direction = 'in' AND request_id IN ($ping_rids)");
ok t_cmp($served ne '' && $served < $SLOW_MS / 2 ? 'quick' : $served, 'quick',
         sprintf('the slowest ping took %s ms in the server (%.3f s at the client): well under the platform delay '
                 . '(%d ms)', $served, $worst // 0, $SLOW_MS));
my @not_ok = grep { $_->[2] != 200 || $_->[5] ne 'ok' } @inj;
ok t_cmp(scalar(@not_ok) ? "$not_ok[0][0]$not_ok[0][1]: $not_ok[0][2] $not_ok[0][5]" : 'all ok', 'all ok',
         'every injury call answered 200 ok');
ok t_cmp(scalar(grep { $_->[3] >= $SLOW_MS / 1000 } @inj), $N_REG + $N_REL,
         'each of them did wait for the slow platform');
ok t_cmp(scalar(grep { $_->[6] eq $_->[7] } grep { $_->[0] eq 'rel' } @inj), $N_REL,
         'each relay answered the person asked about');
ok t_cmp(scalar(grep { $_->[7] eq '0' } grep { $_->[0] eq 'reg' } @inj), $N_REG, 'no call logged in again (session reused)');

# the records say what the platform did
my %by = map { ($_->[1] => $_) } grep { $_->[0] eq 'reg' } @inj;
my @mismatch;
for my $g (@regs) {
    my $answered = $by{$g->{i}} ? $by{$g->{i}}[6] : '?';
    my $platform = platform_aaz218($g->{aac001}, $g->{no});
    my $local = local_row($g->{no});
    push @mismatch, "$g->{no}: answered $answered, platform $platform, here $local"
        unless $answered =~ /^\d{16}$/ && $platform eq $answered && $local eq "$answered registered true true";
}
ok t_cmp(join('; ', @mismatch), '', 'each registration is recorded with the aaz218 the platform holds, claim released');
ok t_cmp(n_110104(), $n104 + $N_REG, 'one 110104 per registration reached the platform');

# one audit row per signed call; the journal of each injury call written after the wait
my @signed = grep { $_->[4] ne '-' } @res;
my $rids = join ',', map { sqlq($_->[4]) } @signed;
my %n = map { split /\|/ } split ' ', psql("SELECT string_agg(request_id || '|' || n, ' ') FROM (SELECT request_id, "
                                          . "count(*) n FROM hg.audit WHERE direction = 'in' AND request_id IN ($rids) "
                                          . "GROUP BY request_id) s");
ok t_cmp(scalar(grep { ($n{$_->[4]} // 0) == 1 } @signed), scalar(@res), 'each signed call left exactly one audit row');
my $inj_rids = join ',', map { sqlq($_->[4]) } @inj;
# where the injury calls' time went: the whole call (in) against the platform's part (out)
print STDERR "# elapsed ms in/out per injury call: "
    . psql("SELECT string_agg(i || '/' || o, ' ') FROM (SELECT request_id, max(elapsed_ms) FILTER (WHERE direction = 'in') i, "
         . "max(elapsed_ms) FILTER (WHERE direction = 'out') o FROM hg.audit WHERE request_id IN ($inj_rids) "
         . "GROUP BY request_id) s") . "\n";
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE direction = 'out' AND request_id IN ($inj_rids) "
              . "AND endpoint IN ('injury.bizh110104', 'injury.bizh110001') AND status = 200"),
         $N_REG + $N_REL, 'each injury call journalled its exchange with the platform');
ok t_cmp(slots_idle(), 'idle', 'every slot was given back (status: only its own in use)');
my $backends = psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'hisgate' AND usename = 'hisgate' "
                  . "AND backend_type = 'client backend' AND pid <> pg_backend_pid()");
ok t_cmp($backends <= 9 ? 'bounded' : $backends, 'bounded',
         "at most HisgateDBSlots (4) connections per process (2) and the drain's one: $backends");

# ======================================================================== E. the session runs out in a burst
# The stored session is over (as at 24:00 China time): one call logs in (sys0001, slow too) and
# keeps its connection under the login lock; the others wait for its session without theirs.
psql("UPDATE injury.sessions SET valid_until = now() - interval '1 second'");
my $n_login = psql("SELECT count(*) FROM sandbox.injury_calls WHERE function_id = 'sys0001'");
my $N_E = 8;
$go = time + 1.5;
@kids = ();
for my $k (0 .. $N_E - 1) {
    push @kids, fork_child($go, "$state/injslots.e$k", sub {
        my $t = time;
        my $aac001 = $PERSONS[$k % @PERSONS];
        my $r = signed_request('POST', "$api/bizh110001", { bka895 => 'aac001', bka896 => $aac001, bka006 => '410' });
        my $j = json_of($r);
        return join ' ', 'rel', $k, $r->code, sprintf('%.3f', time - $t), $r->header('X-Request-Id') // '-',
                    $j->{status} // $j->{code} // '-', ($j->{result}{personinfo}[0]{aac001} // '-') eq $aac001 ? 1 : 0,
                    $j->{session}{logins} // '-';
    });
}
for my $k (1 .. $N_PING) {
    push @kids, fork_child($go + 0.3, "$state/injslots.eping$k", sub {
        map {
            my $r = signed_request('POST', '/hg/ping', {});
            sleep 0.15;
            join ' ', 'ping', $k, $r->code, '0', $r->header('X-Request-Id') // '-',
                      $r->code == 200 ? 'ok' : (json_of($r)->{code} // '-'), '-', '-';
        } 1 .. $PINGS;
    });
}
waitpid($_, 0) for @kids;
@res = ();
for my $f (glob "$state/injslots.*") {
    open my $fh, '<:encoding(UTF-8)', $f or die $!;
    push @res, map { chomp; [split / /, $_, 8] } <$fh>;
    close $fh;
    unlink $f;
}
@pings = grep { $_->[0] eq 'ping' } @res;
@inj = grep { $_->[0] eq 'rel' } @res;
printf STDERR "# E: injury calls %s s; not 200: %s\n", join(',', sort map { $_->[3] } @inj),
    join('; ', map { "$_->[0]$_->[1] $_->[2] $_->[5]" } grep { $_->[2] != 200 } @res) || 'none';
ok t_cmp(scalar(grep { $_->[2] == 200 && $_->[5] eq 'ok' && $_->[6] } @inj), $N_E,
         'E: every call answered 200 ok, about the person asked');
my $logins = 0;
$logins += $_->[7] =~ /^\d+$/ ? $_->[7] : 100 for @inj;
ok t_cmp($logins . ' ' . (psql("SELECT count(*) FROM sandbox.injury_calls WHERE function_id = 'sys0001'") - $n_login),
         '1 1', 'E: one login for them all (the others used its session)');
ok t_cmp(scalar(grep { $_->[2] == 200 } @pings), scalar(@pings) || -1, 'E: no ping refused meanwhile');
$ping_rids = join ',', map { sqlq($_->[4]) } @pings;
$served = psql("SELECT max(elapsed_ms) FROM hg.audit WHERE direction = 'in' AND request_id IN ($ping_rids)");
ok t_cmp($served ne '' && $served < $SLOW_MS / 2 ? 'quick' : $served, 'quick',
         "E: the slowest ping took $served ms in the server, the login's wait not among it");
ok t_cmp(slots_idle(), 'idle', 'E: every slot given back afterwards');

# ======================================================================== B. no connection after the answer
# The registration is sent, the platform registers it and answers late (after our timeout: the
# outcome is unknown); meanwhile 20 slow fiscal-sandbox calls hold every slot of both processes
# for 6 s, so no connection can be had again within HisgateDBWait.
control(mode => 'normal');
my $nb = "SLB$run";
my $pb = '1000000003';
control(mode => 'late', function_id => 'bizh110104', slow_ms => 3000);
log_window('BEGIN', 'injury-reacquire');
$n104 = n_110104();
my ($seen, $code, $secs, $retry, $bj) = while_slots_held(sub { signed_request('POST', "$api/bizh110104", reg_body($pb, $nb)) },
                                                         sub { local_row($nb) ne '' });
ok t_cmp($seen ? 1 : 0, 1, 'B: the registration went out (its record was written before the post)');
ok t_cmp("$code " . ($bj->{code} // ''), '503 HG_DB_BUSY', 'B: no connection came back: 503 HG_DB_BUSY');
ok t_cmp(($bj->{function_id} // '') . ' ' . ($bj->{recorded} ? 'recorded' : 'not recorded') . " $retry",
         'bizh110104 not recorded 5', 'B: the answer says which call and that nothing of it was recorded (Retry-After)');
ok t_cmp($bj->{message} // '', qr/outcome unknown.*no database connection.*no aaz218 yet/s,
         'B: … and what the record here says and how it gets resolved');
my $held = platform_aaz218($pb, $nb);
ok t_cmp($held, qr/^\d{16}$/, 'B: the platform did register it (its answer came late)');
ok t_cmp(local_row($nb), '- registered false true', 'B: the record here: no aaz218, still claimed (nothing half-written)');
ok t_cmp(slots_idle(), 'idle', 'B: every slot given back afterwards');
control(mode => 'normal');

$r = signed_request('POST', "$api/bizh110104", reg_body($pb, $nb));
ok t_cmp($r->code . ' ' . (json_of($r)->{code} // ''), '409 HG_INJURY_BUSY', 'B: called again at once: in progress (the claim)');
ok t_cmp(n_110104(), $n104 + 1, 'B: … and nothing sent');
# the claim runs out (InjuryTimeout × 40 + 30 s): the test moves it into the past instead of waiting
psql("UPDATE injury.stays SET busy_until = now() - interval '1 second' WHERE bka025 = " . sqlq($nb));
my $n102 = psql("SELECT count(*) FROM sandbox.injury_calls WHERE function_id = 'bizh110102'");
$r = signed_request('POST', "$api/bizh110104", reg_body($pb, $nb));
my $j = json_of($r);
ok t_cmp($r->code . ' ' . ($j->{status} // $j->{code} // ''), '200 ok', 'B: after the claim: answered');
ok t_cmp(($j->{aaz218} // '') . ' ' . ($j->{resolved_by_query} ? 'resolved' : '-'), "$held resolved",
         'B: the platform\'s registration adopted, resolved by query (110102)');
ok t_cmp(n_110104() . ' ' . psql("SELECT count(*) FROM sandbox.injury_calls WHERE function_id = 'bizh110102'"),
         ($n104 + 1) . ' ' . ($n102 + 1), 'B: no second registration sent; one query');
ok t_cmp(local_row($nb), "$held registered true true", 'B: the record now has the aaz218, claim released');
$r = signed_request('POST', "$api/bizh110106", { aaz218 => $held });
ok t_cmp($r->code . ' ' . (json_of($r)->{state} // json_of($r)->{code} // ''), '200 cancelled',
         'B: the visit is usable: cancelled through hisgate');

# ======================================================================== C. such a record, platform holds nothing
# the state B leaves when the platform never registered it (e.g. it timed out before doing the
# work): written here directly, since the sandbox cannot drop a request and still time out
my $nc = "SLC$run";
my $pc = '1000000004';
psql("INSERT INTO injury.stays (akb020, kind, bka025, aac001, state, busy_until) VALUES ('H44010100001', "
   . "'outpatient', " . sqlq($nc) . ", " . sqlq($pc) . ", 'registered', now() + interval '60 seconds')");
$n104 = n_110104();
$r = signed_request('POST', "$api/bizh110104", reg_body($pc, $nc));
ok t_cmp($r->code . ' ' . (json_of($r)->{code} // ''), '409 HG_INJURY_BUSY', 'C: claimed: in progress');
psql("UPDATE injury.stays SET busy_until = now() - interval '1 second' WHERE bka025 = " . sqlq($nc));
$r = signed_request('POST', "$api/bizh110104", reg_body($pc, $nc));
$j = json_of($r);
ok t_cmp($r->code . ' ' . ($j->{code} // '') . ' ' . ($j->{message} // ''), qr/^502 HG_PLATFORM_UNAVAILABLE .*safe to call again/,
         'C: after the claim: the platform holds no such registration, safe to call again');
ok t_cmp(local_row($nc) . '|' . n_110104(), "|$n104", 'C: the record is gone and nothing was registered');
$r = signed_request('POST', "$api/bizh110104", reg_body($pc, $nc));
$j = json_of($r);
ok t_cmp($r->code . ' ' . ($j->{status} // $j->{code} // '') . ' ' . ($j->{replayed} ? 'replayed' : 'new'), '200 ok new',
         'C: called again: registered');
ok t_cmp(local_row($nc), platform_aaz218($pc, $nc) . ' registered true true', 'C: recorded as the platform holds it');
signed_request('POST', "$api/bizh110106", { aaz218 => $j->{aaz218} // '' });

# ======================================================================== D. a settlement, no connection after it
# the settlement is marked pending (committed) before it is sent; the platform settles and answers
# late; no connection comes back: 503, the mark stays, and the next call resolves it by query
my $r_d = signed_request('POST', "$api/bizh110104", reg_body('1000000011', "SLD$run"));
my $vd = json_of($r_d)->{aaz218} // '';
ok t_cmp($r_d->code . ' ' . ($vd =~ /^\d{16}$/ ? 'aaz218' : $vd), '200 aaz218', 'D: a visit registered');
my $settle = { aaz218 => $vd, bka893 => '1', feeinfo => [ fee('X001', '阿莫西林胶囊', 12.5, 2) ] };
my $n105 = psql("SELECT count(*) FROM sandbox.injury_calls WHERE function_id = 'bizh110105'");
control(mode => 'late', function_id => 'bizh110105', slow_ms => 3000);
($seen, $code, $secs, $retry, $bj) = while_slots_held(sub { signed_request('POST', "$api/bizh110105", $settle) },
    sub { psql("SELECT coalesce(pending_fn, '') FROM injury.stays WHERE aaz218 = " . sqlq($vd)) eq 'bizh110105' });
ok t_cmp(($seen ? 'marked' : 'not marked') . " $code " . ($bj->{code} // '') . ' ' . ($bj->{recorded} ? 'recorded' : 'not recorded'),
         'marked 503 HG_DB_BUSY not recorded', 'D: marked pending before it was sent; no connection after it: 503 HG_DB_BUSY');
ok t_cmp($bj->{message} // '', qr/recorded as pending/, 'D: the answer says the call stays pending');
ok t_cmp(psql("SELECT count(*) FROM sandbox.injury_settlements WHERE aaz218 = " . sqlq($vd)), 1,
         'D: the platform did settle it (its answer came late)');
ok t_cmp(local_row("SLD$run"), "$vd registered false false", 'D: the record here: still registered, pending, claimed');
ok t_cmp(psql("SELECT count(*) FROM injury.settlements s JOIN injury.stays t ON t.id = s.stay_id WHERE t.aaz218 = "
              . sqlq($vd)), 0, 'D: no settlement recorded here (nothing half-written)');
ok t_cmp(slots_idle(), 'idle', 'D: every slot given back afterwards');
log_window('END', 'injury-reacquire');
control(mode => 'normal');
psql("UPDATE injury.stays SET busy_until = now() - interval '1 second' WHERE aaz218 = " . sqlq($vd));
$r = signed_request('POST', "$api/bizh110105", $settle);
$j = json_of($r);
ok t_cmp($r->code . ' ' . ($j->{status} // $j->{code} // '') . ' ' . ($j->{state} // '') . ' '
         . ($j->{resolved_by_query} ? 'resolved' : '-') . ' ' . ($j->{replayed} ? 'replayed' : '-'),
         '200 ok settled resolved replayed', 'D: the HIS calls again after the claim: the platform\'s settlement, resolved by query');
ok t_cmp(psql("SELECT count(*) FROM sandbox.injury_calls WHERE function_id = 'bizh110105'") . ' '
         . psql("SELECT count(*) || ' ' || bool_and(resolved_by_query) FROM injury.settlements s JOIN injury.stays t "
              . "ON t.id = s.stay_id WHERE t.aaz218 = " . sqlq($vd)), ($n105 + 1) . ' 1 true',
         'D: settled once on the platform, recorded once here (resolved by query)');
ok t_cmp(local_row("SLD$run"), "$vd settled true true", 'D: the record now says settled, nothing pending');

# the sandbox platform back to normal (modes persist)
control(mode => 'normal');
control(platform => 'fiscal', mode => 'normal');
ok t_cmp(psql("SELECT string_agg(platform || '=' || mode, ',' ORDER BY platform) FROM sandbox.modes "
              . "WHERE platform IN ('injury', 'fiscal')"), 'fiscal=normal,injury=normal', 'sandbox modes restored');
