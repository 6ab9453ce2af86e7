# mod_consult, the patient's link follows the visit: a visit booked days ahead gets a link that lives
# past its day (the visit day's end + ConsultSessionTTL); announcing an expired visit again gives a
# new token (the old one stays dead, the answers stay, one new message), a live one the same token;
# a submitted visit is never reopened; a conflicting announcement renews nothing.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use POSIX qw(strftime);
use HG qw(json_of signed_request psql wait_until);
use HGConsult qw(announce session answer submit);

binmode STDOUT, ":encoding(UTF-8)";
binmode STDERR, ":encoding(UTF-8)";
plan tests => 39;

my $json = JSON::PP->new->utf8->canonical;
my $pub = '/consult/pub/v1/sessions';
my $run = $$ . time;
my $phone = '137' . sprintf('%08d', ($$ * 7) % 100000000);
my $ttl = 172800;      # ConsultSessionTTL's default (t/conf sets none)
my $far = strftime('%Y-%m-%d 10:30:00', localtime(time + 10 * 86400));
sub visit {
    my (%o) = @_;
    my $v = { visitNo => "L$run" . ($o{n} // 1), patientId => $o{patient} // "LP$run", name => '王小明', sex => 'M',
              birthDate => '1975-02-03', department => '0301', doctor => '孙医生', visitTime => $o{time} // $far };
    $v->{phone} = $o{phone} if $o{phone};
    return $v;
}
sub row { my ($n, $col) = @_; return psql("SELECT $col FROM consult.visits WHERE visit_no = 'L$run$n'"); }
sub expire { psql("UPDATE consult.visits SET expires_at = now() - interval '1 second' WHERE visit_no = 'L$run$_[0]'"); }
sub renewals { return psql("SELECT count(*) FROM hg.outbox WHERE topic = 'consult.notify' AND business_key LIKE '%:L$run$_[0]:renewed:%'"); }
sub messages { my ($tok) = @_; return scalar grep { ($_->{content} // '') =~ /\Q$tok\E/ } @{ json_of(GET("/sandbox/messages?to=$phone"))->{messages} // [] }; }

# ---- a visit ten days ahead: the link lives past the visit day
my ($r, $j) = announce(visit(phone => $phone));
ok t_cmp($r->code, 201, 'a visit ten days ahead announced');
my $tok = $j->{token} // '';
ok t_cmp(row(1, 'expires_at > visit_time::timestamptz'), 't', 'the link outlives the visit time');
ok t_cmp(row(1, "expires_at = (date_trunc('day', visit_time) + interval '1 day')::timestamptz + interval '$ttl seconds'"), 't',
         'it ends at the visit day\'s end plus the TTL');
ok t_cmp($j->{expiresAt} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/, 'the answer says when (ISO 8601)');
ok t_cmp(row(1, "extract(epoch FROM expires_at)::bigint = extract(epoch FROM '" . ($j->{expiresAt} // 'epoch') . "'::timestamptz)::bigint"),
         't', 'expiresAt is the stored end');
($r, $j) = session($tok);
ok t_cmp($r->code . ' ' . ($j->{state} // ''), '200 in-progress', 'the link opens');
my $sms = wait_until(15, sub { messages($tok) });
ok t_cmp($sms, 1, 'the link went out by SMS once');

# a visit already past (or today) still gets the TTL from now
($r, $j) = announce(visit(n => 4, time => '2020-01-02 08:00:00'));
ok t_cmp($r->code . ' ' . row(4, "expires_at BETWEEN now() + interval '$ttl seconds' - interval '1 minute' AND now() + interval '$ttl seconds'"),
         '201 t', 'a visit in the past: the TTL from the announcement');

# ---- announced again while live: the same token, nothing renewed
($r, $j) = answer($tok, cough => 'yes');
ok t_cmp($r->code, 200, 'the patient answers a question');
my $rev = row(1, 'rev');
($r, $j) = announce(visit(phone => $phone));
ok t_cmp($r->code . ' ' . ($j->{token} // '') . ' ' . ($j->{renewed} ? 1 : 0) . ' ' . ($j->{replayed} ? 1 : 0),
         "200 $tok 0 1", 'announced again while live: the same token, not renewed');
ok t_cmp(row(1, 'rev'), $rev, 'and nothing written');

# a live link given out shorter (before links followed the visit) is moved out to the visit, same token
psql("UPDATE consult.visits SET expires_at = now() + interval '1 hour' WHERE visit_no = 'L${run}1'");
($r, $j) = announce(visit(phone => $phone));
ok t_cmp(($j->{token} // '') . ' ' . ($j->{renewed} ? 1 : 0), "$tok 0", 'a short live link: the same token');
ok t_cmp(row(1, "expires_at = (date_trunc('day', visit_time) + interval '1 day')::timestamptz + interval '$ttl seconds'"), 't',
         'which now lives to the visit day\'s end plus the TTL');

# rescheduled (改约): announced again with a later time, the visit moves and its link follows, same token
my $later = strftime('%Y-%m-%d 15:00:00', localtime(time + 14 * 86400));
($r, $j) = announce(visit(phone => $phone, time => $later));
ok t_cmp($r->code . ' ' . ($j->{token} // '') . ' ' . ($j->{rescheduled} ? 1 : 0) . ' ' . row(1, "to_char(visit_time, 'YYYY-MM-DD HH24:MI:SS')"),
         "200 $tok 1 $later", 'rescheduled: the visit moves, the same link');
ok t_cmp(row(1, "expires_at = (date_trunc('day', visit_time) + interval '1 day')::timestamptz + interval '$ttl seconds'"), 't',
         'and the link lives to the new day\'s end plus the TTL');
($r, $j) = announce(visit(phone => $phone, time => $later));
ok t_cmp(($j->{rescheduled} ? 1 : 0) . ' ' . ($j->{token} // ''), "0 $tok", 'the same time again: nothing moves');
($r, $j) = announce(visit(phone => $phone));          # back to the first time, for what follows

# ---- expired: announced again, a new token
expire(1);
($r, $j) = session($tok);
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '404 HG_CONSULT_SESSION', 'the expired link is refused');
($r, $j) = announce(visit(phone => $phone));
my $tok2 = $j->{token} // '';
ok t_cmp($r->code . ' ' . ($j->{renewed} ? 1 : 0) . ' ' . ($j->{replayed} ? 1 : 0), '200 1 1', 'announced again: renewed');
ok t_cmp($tok2 =~ /^[A-Za-z0-9_-]{43}$/ && $tok2 ne $tok ? 1 : 0, 1, 'with a new token');
ok t_cmp($j->{url} // '', qr/#t=\Q$tok2\E$/, 'and its url');
ok t_cmp(row(1, "expires_at = (date_trunc('day', visit_time) + interval '1 day')::timestamptz + interval '$ttl seconds'"), 't',
         'the new link lives to the visit day\'s end plus the TTL');
($r, $j) = session($tok2);
ok t_cmp($r->code . ' ' . ($j->{state} // ''), '200 in-progress', 'the new link opens');
ok t_cmp($j->{progress}{answered} // 0, 1, 'on the answers given before');
($r, $j) = session($tok);
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '404 HG_CONSULT_SESSION', 'the old token stays refused');
($r, $j) = answer($tok, fever => 'no');
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '404 HG_CONSULT_SESSION', 'and answers nothing');
ok t_cmp(renewals(1), 1, 'one link message for the renewal');
ok t_cmp(wait_until(15, sub { messages($tok2) }), 1, 'which reaches the patient with the new link');

# idempotent again on the renewed link
($r, $j) = announce(visit());
ok t_cmp($r->code . ' ' . ($j->{token} // '') . ' ' . ($j->{renewed} ? 1 : 0), "200 $tok2 0", 'again: the renewed token, not renewed twice');
ok t_cmp(renewals(1), 1, 'and no second message');

# another patient under the visitNo renews nothing
expire(1);
my $hash = row(1, 'token_hash');
($r, $j) = announce(visit(patient => 'someone-else'));
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '409 HG_CONFLICT', 'a conflicting announcement: 409');
ok t_cmp(row(1, 'token_hash') eq $hash ? 1 : 0, 1, 'and the token is not renewed');
ok t_cmp(renewals(1), 1, 'nor a message sent');

# ---- a submitted visit is not reopened
($r, $j) = announce(visit(n => 2));
my $tok3 = $j->{token} // '';
($r, $j) = answer($tok3, cough => 'no', fever => 'no', red_flag => 'no', past => [], smoke => JSON::PP::false,
                  allergy => 'none', family => JSON::PP::false);
ok t_cmp($j->{state} // '', 'review', 'second visit answered');
($r, $j) = submit($tok3);
ok t_cmp($r->code . ' ' . ($j->{state} // ''), '200 completed', 'and submitted');
expire(2);
$hash = row(2, 'token_hash');
($r, $j) = announce(visit(n => 2));
ok t_cmp($r->code . ' ' . ($j->{state} // '') . ' ' . ($j->{renewed} ? 1 : 0), '200 completed 0',
         'the expired link of a completed visit: announced again, not renewed');
ok t_cmp(row(2, 'token_hash') eq $hash ? 1 : 0, 1, 'the token is unchanged');
ok t_cmp(row(2, "state || ' ' || (expires_at <= now())"), 'completed true', 'the visit stays completed, its link expired');
($r, $j) = session($tok3);
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '404 HG_CONSULT_SESSION', 'and the link opens nothing');

# ---- a red-flag stop: renewed (not submitted), the new link shows the advice and takes no answers
($r, $j) = announce(visit(n => 3));
my $tok4 = $j->{token} // '';
answer($tok4, red_flag => 'yes');
expire(3);
($r, $j) = announce(visit(n => 3));
my $tok5 = $j->{token} // '';
($r, $j) = session($tok5);
ok t_cmp($r->code . ' ' . ($j->{state} // '') . ' ' . ($tok5 ne $tok4 ? 'new' : 'same'), '200 stopped new',
         'a stopped visit: a new link that shows where it stopped');
