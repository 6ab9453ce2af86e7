# mod_consult end to end: the HIS announces a visit, the patient answers (logic jumps, validation,
# red-flag stop), submits, and the doctor reads the 五史一诉 summary and the FHIR response
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use HG qw(json_of signed_request psql);
use HGConsult qw(announce session answer submit);

binmode STDOUT, ":encoding(UTF-8)";
binmode STDERR, ":encoding(UTF-8)";
plan tests => 44;

my $json = JSON::PP->new->utf8->canonical;
my $pub = '/consult/pub/v1/sessions';
my $run = $$ . time;
sub visit {
    my (%o) = @_;
    return { visitNo => "V$run" . ($o{n} // 1), patientId => "P$run", name => '张三丰', sex => 'M',
             birthDate => '1980-05-20', department => $o{dept} // '0301', doctor => '王医生',
             visitTime => '2026-06-14 09:30:00' };
}
sub ids { return join ',', map { $_->{linkId} } @{ $_[0]{items} // [] }; }
sub has { my ($j, $id) = @_; return (grep { $_->{linkId} eq $id } @{ $j->{items} // [] }) ? 1 : 0; }

# ---- the HIS announces a visit
my ($r, $j) = announce(visit());
ok t_cmp($r->code, 201, 'visit announced');
my $tok = $j->{token} // '';
ok t_cmp($tok, qr/^[A-Za-z0-9_-]{43}$/, 'a random session token');
ok t_cmp($j->{url}, qr{^http://.+/consult/q\.html#t=\Q$tok\E$}, 'the patient link');
ok t_cmp($j->{template}, 'resp-0301|1', 'the respiratory template for 0301');

($r, $j) = announce(visit());
ok t_cmp($r->code . ' ' . ($j->{token} // ''), "200 $tok", 'announced again: the same token');
ok t_cmp($j->{replayed} ? 1 : 0, 1, 'and says it was a replay');
my %other = %{ visit() }; $other{patientId} = 'someone-else';
($r, $j) = announce(\%other);
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '409 HG_CONFLICT', 'the visitNo of another patient: 409');
ok t_cmp(psql("SELECT count(*) FROM consult.visits WHERE visit_no = 'V${run}1'"), 1, 'one visit row');
my %bad = %{ visit(n => 9) }; $bad{sex} = 'X';
($r, $j) = announce(\%bad);
ok t_cmp($r->code . ' ' . ($j->{code} // '') . ' ' . ($j->{field} // ''), '400 HG_FIELD_ENUM sex', 'bad sex refused');

# ---- personal data at rest
my $row = psql("SELECT name_sealed || '|' || token_hash FROM consult.visits WHERE visit_no = 'V${run}1'");
ok t_cmp($row, qr/^sm4cbc:/, 'the name is sealed');
ok t_cmp(($row =~ /张三丰/ || $row =~ /\Q$tok\E/) ? 1 : 0, 0, 'neither the name nor the token in clear');
ok t_cmp(psql("SELECT count(*) FROM consult.visits WHERE name_sealed LIKE '%张三%' OR token_sealed = '$tok'"), 0,
         'no clear name or token anywhere in the row');

# ---- the patient's first items
($r, $j) = session($tok);
ok t_cmp($r->code, 200, 'session opens');
ok t_cmp($j->{state}, 'in-progress', 'in progress');
ok t_cmp(ids($j), qr/^cough,fever,red_flag,/, 'first items start with cough, fever, red flag');
ok t_cmp(has($j, 'cough_days') + has($j, 'fever_temp'), 0, 'follow-ups hidden before their question');
my ($cough) = grep { $_->{linkId} eq 'cough' } @{ $j->{items} };
ok t_cmp(join(',', map { "$_->{code}:$_->{display}" } @{ $cough->{options} }), 'yes:是,no:否', 'options with code and display');

# ---- answers and the logic jump
($r, $j) = answer($tok, cough => 'yes');
ok t_cmp($r->code, 200, 'cough answered');
ok t_cmp(has($j, 'cough_days'), 1, 'cough = yes: the duration is asked');
ok t_cmp(has($j, 'cough'), 0, 'cough no longer asked');
($r, $j) = answer($tok, cough_days => 5, fever => 'no');
ok t_cmp(has($j, 'fever_temp') + has($j, 'fever_days'), 0, 'fever = no: no fever questions');

($r, $j) = answer($tok, allergy => 'dunno');
ok t_cmp($r->code . ' ' . ($j->{code} // '') . ' ' . ($j->{field} // ''), '400 HG_FIELD_ENUM allergy',
         'an unknown option code: 400 with the linkId');
($r, $j) = answer($tok, cough_days => 'five');
ok t_cmp($r->code . ' ' . ($j->{field} // ''), '400 cough_days', 'a text for a number: 400 with the linkId');
($r, $j) = answer($tok, fever_temp => 39);
ok t_cmp($r->code . ' ' . ($j->{field} // ''), '400 fever_temp', 'a question that does not apply is refused');

($r, $j) = submit($tok);
ok t_cmp($r->code . ' ' . ($j->{code} // '') . ' ' . ($j->{field} // ''), '400 HG_FIELD_REQUIRED red_flag',
         'submit before the required questions: refused');

($r, $j) = answer($tok, red_flag => 'no', past => [], smoke => JSON::PP::false, allergy => 'none',
                  family => JSON::PP::false);
ok t_cmp($j->{state}, 'review', 'every question answered: review');

# ---- submit
($r, $j) = submit($tok);
ok t_cmp($r->code . ' ' . ($j->{state} // ''), '200 completed', 'submitted');
my $sum1 = $json->encode($j->{summary} // {});
($r, $j) = submit($tok);
ok t_cmp($r->code . ' ' . $json->encode($j->{summary} // {}), "200 $sum1", 'submitted again: the same summary');
ok t_cmp(psql("SELECT state FROM consult.visits WHERE visit_no = 'V${run}1'"), 'completed', 'stored as completed');
($r, $j) = answer($tok, smoke => JSON::PP::true);
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '409 HG_CONSULT_CLOSED', 'no answers after submission');

# ---- the doctor's summary
$r = signed_request('GET', "/consult/api/v1/visits/V${run}1/summary", '');
$j = json_of($r);
ok t_cmp($r->code, 200, 'summary read by the signed doctor route');
ok t_cmp($j->{state}, 'completed', 'state completed');
ok t_cmp(join(',', sort keys %{ $j->{sections} // {} }),
         'allergy_history,chief_complaint,family_history,past_history,personal_history,present_illness', 'six sections');
ok t_cmp($j->{sections}{chief_complaint}, qr/咳嗽5天/, '主诉 with the cough duration');
ok t_cmp($j->{sections}{allergy_history}, qr/否认药物、食物过敏史/, '过敏史 否认药物、食物过敏史');
ok t_cmp($j->{questionnaireResponse}{resourceType} . ' ' . $j->{questionnaireResponse}{status},
         'QuestionnaireResponse completed', 'a FHIR QuestionnaireResponse');
$r = GET("/consult/api/v1/visits/V${run}1/summary");
ok t_cmp($r->code, 401, 'the summary needs a signature');

# ---- a second visit: fever questions, then the red flag stops it
($r, $j) = announce(visit(n => 2));
my $tok2 = $j->{token} // '';
ok t_cmp($r->code . ' ' . ($tok2 ne $tok ? 'new' : 'same'), '201 new', 'a second visit, its own token');
($r, $j) = answer($tok2, cough => 'no', fever => 'yes');
ok t_cmp(has($j, 'fever_temp') . has($j, 'fever_days'), '11', 'fever = yes: the fever questions appear');
($r, $j) = answer($tok2, red_flag => 'yes');
ok t_cmp($j->{state} . ' ' . ($j->{advice} // ''), qr/^stopped .*急诊/, 'red flag: stopped with the advice');
($r, $j) = session($tok2);
ok t_cmp($j->{state} . ' ' . scalar(@{ $j->{items} // [] }), 'stopped 0', 'the session stays stopped, no items');

($r, $j) = announce(visit(n => 3, dept => '9999'));
ok t_cmp($j->{template}, 'generic|1', 'a department without its own template: the generic one');

psql("UPDATE consult.visits SET expires_at = now() - interval '1 second' WHERE visit_no = 'V${run}2'");
($r, $j) = session($tok2);
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '404 HG_CONSULT_SESSION', 'expired token: 404');

# ---- unknown token
($r, $j) = session('A' x 43);
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '404 HG_CONSULT_SESSION', 'unknown token: 404');
