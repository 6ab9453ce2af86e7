# mod_consult answer steps under the visit cache shared by httpd's processes: a step from the cached
# row is one guarded statement; a row written elsewhere meanwhile (another node, or psql here) is
# noticed and the step is done again from the current row.  Checked: what is stored after each step,
# the write counter, exactly one audit row per step, two connections taking turns on one session, and
# steps on fresh connections (either process) taking the guarded path while the locked path is blocked.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use LWP::UserAgent;
use HG qw(json_of signed_request psql);
use Time::HiRes qw(time);

plan tests => 26;

my $json = JSON::PP->new->utf8->canonical;
my $base = 'http://' . Apache::TestRequest::hostport();
my $pub = "$base/consult/pub/v1/sessions";
my $run = $$ . time;

# a patient's page: one keep-alive connection, so its steps reach one process
sub browser { return LWP::UserAgent->new(keep_alive => 1, timeout => 30); }
sub announce {
    my ($n) = @_;
    my $r = signed_request('POST', '/consult/api/v1/visits', {
        visitNo => "S$run$n", patientId => "SP$run", name => '韩梅梅', sex => 'F', birthDate => '1990-03-01',
        department => '0301', doctor => '钱医生', visitTime => '2026-06-14 09:30:00' });
    return (json_of($r)->{token} // '', $r->code);
}
sub step {
    my ($ua, $tok, %a) = @_;
    my $r = $ua->post("$pub/$tok/answers", 'Content-Type' => 'application/json',
                      Content => $json->encode({ answers => [ map { { linkId => $_, value => $a{$_} } } sort keys %a ] }));
    return ($r, json_of($r));
}
sub row { my ($n, $col) = @_; return psql("SELECT $col FROM consult.visits WHERE visit_no = 'S$run$n'"); }
sub audit_rows { my ($rid) = @_; return psql("SELECT count(*) FROM hg.audit WHERE request_id = '$rid'"); }
sub ids { return join ',', map { $_->{linkId} } @{ $_[0]{items} // [] }; }

# ---- one page, one connection: the page's read, then steps from the held row
my ($tok, $code) = announce(1);
ok t_cmp($code, 201, 'visit announced');
my $ua = browser();
my $g = $ua->get("$pub/$tok");
ok t_cmp($g->code, 200, 'the page reads its session');
my $rev0 = row(1, 'rev');
my ($r, $j) = step($ua, $tok, cough => 'yes');
ok t_cmp($r->code, 200, 'step 1');
ok t_cmp(row(1, 'rev'), $rev0 + 1, 'each step counts one write');
ok t_cmp(audit_rows($r->header('X-Request-Id')), 1, 'one audit row for the step');
($r, $j) = step($ua, $tok, cough => 'yes', cough_days => 4);
ok t_cmp($r->code, 200, 'step 2');
ok t_cmp(row(1, "answers->>'cough_days'"), 4, 'stored');
ok t_cmp(row(1, 'rev'), $rev0 + 2, 'one more write');
ok t_cmp(audit_rows($r->header('X-Request-Id')), 1, 'one audit row for the step');

# ---- another node answers the fever question meanwhile: the next step must build on that answer
psql("UPDATE consult.visits SET answers = answers || '{\"fever\":\"yes\"}', rev = rev + 1 WHERE visit_no = 'S${run}1'");
($r, $j) = step($ua, $tok, fever => 'yes', fever_temp => 39.1);
ok t_cmp($r->code, 200, 'a step after a write elsewhere is answered (not refused as not applicable)');
ok t_cmp(row(1, "answers->>'fever_temp'") . ' ' . row(1, "answers->>'cough_days'") . ' ' . row(1, "answers->>'fever'"),
         '39.1 4 yes', 'the step is stored on top of the other write, nothing lost');
ok t_cmp(row(1, 'rev'), $rev0 + 4, 'the other write and this step: two writes');
ok t_cmp(audit_rows($r->header('X-Request-Id')), 1, 'still one audit row for a step done again');

# a write elsewhere that makes the posted answer inapplicable: refused from the current row
psql("UPDATE consult.visits SET answers = answers || '{\"fever\":\"no\"}', rev = rev + 1 WHERE visit_no = 'S${run}1'");
($r, $j) = step($ua, $tok, fever_days => 3);
ok t_cmp($r->code . ' ' . ($j->{code} // '') . ' ' . ($j->{field} // ''), '400 HG_FIELD_UNKNOWN fever_days',
         'an answer to a question the current row hides is refused');
ok t_cmp(row(1, "answers->>'fever_days'") // '', '', 'and not stored');
ok t_cmp(audit_rows($r->header('X-Request-Id')), 1, 'the refusal is journalled once');

# the session ends elsewhere: a held row does not keep it open
psql("UPDATE consult.visits SET state = 'completed', rev = rev + 1 WHERE visit_no = 'S${run}1'");
($r, $j) = step($ua, $tok, red_flag => 'no');
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '409 HG_CONSULT_CLOSED', 'a completed session takes no more answers');
psql("UPDATE consult.visits SET expires_at = now() - interval '1 second' WHERE visit_no = 'S${run}1'");
($r, $j) = step($ua, $tok, red_flag => 'no');
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '404 HG_CONSULT_SESSION', 'an expired session is gone, held row or not');

# ---- two pages (connections, maybe two processes) taking turns on one session: every step lands
($tok, $code) = announce(2);
my @ua = (browser(), browser());
$_->get("$pub/$tok") for @ua;
my $rev2 = row(2, 'rev');
my @walk = ([cough => 'yes'], [cough => 'yes', cough_days => 2], [fever => 'yes'], [fever => 'yes', fever_temp => 38.2],
            [fever => 'yes', fever_days => 1], [red_flag => 'no']);
my $ok = 0;
for my $k (0 .. $#walk) {
    ($r, $j) = step($ua[$k % 2], $tok, @{ $walk[$k] });
    $ok++ if $r->code == 200;
}
ok t_cmp($ok, scalar @walk, 'every step answered 200');
ok t_cmp(row(2, 'rev'), $rev2 + @walk, 'one write per step, none lost or doubled');
ok t_cmp(row(2, "answers->>'cough_days'") . ' ' . row(2, "answers->>'fever_temp'") . ' ' . row(2, "answers->>'fever_days'")
         . ' ' . row(2, "answers->>'red_flag'"), '2 38.2 1 no', 'all answers stored');
ok t_cmp(row(2, "jsonb_array_length(nav->'pages')"), 4, 'the pages walked: cough, fever, red flag and the next one shown');
($r, $j) = step($ua[0], $tok, past => ['asthma']);
ok t_cmp($r->code, 200, 'the walk goes on');

# ---- the cache is shared: steps each on a new connection (so on either of the test server's two
# processes) are guarded statements from the cached row.  A psql session holds a FOR KEY SHARE lock
# on the visit: the guarded UPDATE (no key column) passes it, the locked read (FOR UPDATE) would wait
# for it to go.  With a per-process cache, a step reaching the other process waited.
($tok, $code) = announce(3);
($r, $j) = step(browser(), $tok, cough => 'yes');
ok t_cmp($r->code, 200, 'a new session: first step');
my $vid = row(3, 'id');
my $bin = (sort glob('/usr/lib/postgresql/*/bin'))[-1];
my $state = "$ENV{HG_TOP}/t/state";
unlink "$state/keyshare";
open my $holder, '|-', "$bin/psql", '-h', '127.0.0.1', '-p', $ENV{HG_PGPORT}, '-U', 'hisgate', '-d', 'hisgate',
    '-qtAX', '-o', '/dev/null' or die "psql: $!";
print $holder "BEGIN;\nSELECT 1 FROM consult.visits WHERE id = $vid FOR KEY SHARE;\n\\! touch '$state/keyshare'\n"
            . "SELECT pg_sleep(4);\nCOMMIT;\n";
$holder->flush;
select(undef, undef, undef, 0.02) until -e "$state/keyshare";
my @walk3 = ([cough => 'yes', cough_days => 3], [fever => 'yes'], [fever => 'yes', fever_temp => 38.6],
             [fever => 'yes', fever_days => 2], [red_flag => 'no'], [past => ['asthma']]);
my ($fast, @took) = (0);
for my $a (@walk3) {
    my $t0 = time;
    my $ua1 = LWP::UserAgent->new(keep_alive => 0, timeout => 30);
    ($r, $j) = step($ua1, $tok, @$a);
    my $dt = time - $t0;
    push @took, sprintf('%d:%.2fs', $r->code, $dt);
    $fast++ if $r->code == 200 && $dt < 2;
}
close $holder;
print STDERR "# steps on new connections while the row was key-share locked: @took\n";
ok t_cmp($fast, scalar @walk3, 'every step on a new connection answered at once from the shared cache');
ok t_cmp(row(3, "answers->>'fever_days'") . ' ' . row(3, "answers->'past'->>0"), '2 asthma', 'and stored');
