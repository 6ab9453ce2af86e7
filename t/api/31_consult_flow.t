# mod_consult, the patient's whole walk on the gastroenterology demo template (0302, chosen by rule):
# HIS visit -> link message in the sandbox -> walk -> Back -> review with quality warnings -> edit ->
# confirm -> summary with the patient's edits -> pushed to the HIS, signed; idempotent submit;
# expired token; audit without personal data; bad input on every endpoint.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Digest::SHA qw(hmac_sha256_hex);
use Encode qw(encode_utf8);
use JSON::PP;
use HG qw(staff_login json_of signed_request psql wait_until);
use HGConsult qw(announce session);

binmode STDOUT, ":encoding(UTF-8)";
binmode STDERR, ":encoding(UTF-8)";
plan tests => 87;

my $json = JSON::PP->new->utf8->canonical;
my $pub = '/consult/pub/v1/sessions';
my $run = $$ . time;
my $phone = '139' . sprintf('%08d', $$ % 100000000);
sub visit {
    my (%o) = @_;
    my $v = { visitNo => "G$run" . ($o{n} // 1), patientId => "P$run", name => '李雷', sex => $o{sex} // 'M',
              birthDate => '1980-05-20', department => $o{dept} // '0302', doctor => '赵医生',
              visitTime => '2026-06-14 10:00:00' };
    $v->{phone} = $o{phone} if $o{phone};
    $v->{openid} = $o{openid} if $o{openid};
    $v->{diagnosis} = $o{diagnosis} if $o{diagnosis};
    return $v;
}
sub post_json {
    my ($url, $body) = @_;
    my $r = POST($url, 'Content-Type' => 'application/json', content => ref $body ? $json->encode($body) : $body);
    return ($r, json_of($r));
}
sub answer {
    my ($tok, %a) = @_;
    return post_json("$pub/$tok/answers", { answers => [ map { { linkId => $_, value => $a{$_} } } sort keys %a ] });
}
sub back { return post_json("$pub/$_[0]/back", {}); }
sub submit { return post_json("$pub/$_[0]/submit", $_[1] // {}); }
sub ids { return join ',', map { $_->{linkId} } @{ $_[0]{items} // [] }; }
sub item { my ($j, $id) = @_; my ($i) = grep { $_->{linkId} eq $id } @{ $j->{items} // [] }; return $i // {}; }
sub codes { return join ',', map { $_->{code} . ':' . ($_->{severity} // '') } @{ $_[0] // [] }; }
sub err { my ($r, $j) = @_; return join ' ', $r->code, $j->{code} // '', $j->{field} // ''; }

# ---- the HIS announces a visit with the patient's phone: the rule picks the GI template
my ($r, $j) = announce(visit(phone => $phone));
ok t_cmp($r->code, 201, 'visit announced');
my $tok = $j->{token} // '';
ok t_cmp($j->{template}, 'gi-0302|1', 'the gastroenterology template');
ok t_cmp(($j->{choice} // '') . ' ' . ($j->{rule} ? 'rule' : 'none'), 'rule rule', 'chosen by a rule, which is stored');
ok t_cmp(psql("SELECT choice || ':' || (rule_id IS NOT NULL) FROM consult.visits WHERE visit_no = 'G${run}1'"), 'rule:true',
         'the visit row records the rule');
ok t_cmp(psql("SELECT channel || ':' || (contact_sealed LIKE 'sm4cbc:%') || ':' || (contact_sealed LIKE '%$phone%') "
              . "FROM consult.visits WHERE visit_no = 'G${run}1'"), 'sms:true:false', 'the phone is sealed at rest');

# ---- the link arrives by SMS through the outbox and the sandbox gateway
my $sms = wait_until(15, sub {
    my $m = json_of(GET("/sandbox/messages?to=$phone"))->{messages} // [];
    return (grep { ($_->{content} // '') =~ /\Q$tok\E/ } @$m)[0];
});
ok t_cmp($sms ? 1 : 0, 1, 'the patient got an SMS with the link');
ok t_cmp($sms->{content} // '', qr/^【广州市演示人民医院】.*预问诊.*#t=\Q$tok\E/, 'signed SMS text with the link');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE topic = 'consult.notify' AND payload::text LIKE '%$phone%'"), 0,
         'the phone is not in clear in the outbox');
($r, $j) = announce(visit(phone => $phone));
ok t_cmp($r->code . ' ' . ($j->{token} // ''), "200 $tok", 'announced again: same token');
select(undef, undef, undef, 1.0);
my $n = scalar grep { ($_->{content} // '') =~ /\Q$tok\E/ } @{ json_of(GET("/sandbox/messages?to=$phone"))->{messages} // [] };
ok t_cmp($n, 1, 'and no second message');

# WeChat when the visit has an openid
my $openid = 'oTest' . $run . 'abcdefgh';
($r, $j) = announce(visit(n => 2, openid => $openid, phone => $phone));
my $tok2 = $j->{token} // '';
my $wx = wait_until(15, sub { (json_of(GET("/sandbox/messages?to=$openid"))->{messages} // [])->[0] });
ok t_cmp(($wx->{channel} // '') . ' ' . ($wx->{template_id} // ''), 'wechat TPL-CONSULT-0001', 'an openid: a WeChat template message');
ok t_cmp($wx->{url} // '', qr/#t=\Q$tok2\E$/, 'whose url is the link');

# ---- the walk: first page, logic jump
($r, $j) = session($tok);
ok t_cmp($r->code . ' ' . ($j->{state} // ''), '200 in-progress', 'session opens');
ok t_cmp(ids($j), 'pain,symptoms,pregnant,meds,past,alcohol,allergy,family', 'first page: the unconditional questions');
ok t_cmp(($j->{progress}{answered} // -1) . '/' . ($j->{progress}{total} // -1), '0/8', 'progress 0/8');
ok t_cmp(join(',', map { $_->{code} } @{ item($j, 'pain')->{options} // [] }), 'yes,no', 'options with codes');
($r, $j) = answer($tok, pain => 'yes');
ok t_cmp(ids($j), 'pain_days,pain_site,pain_score,symptoms,pregnant,meds,past,alcohol,allergy,family',
         'pain = yes: its follow-ups come first');
($r, $j) = answer($tok, pain_days => 20000, pain_site => undef, pain_score => 5);
ok t_cmp($r->code . ' ' . ids($j), '200 symptoms,pregnant,meds,past,alcohol,allergy,family', 'second page answered (site skipped)');
($r, $j) = answer($tok, symptoms => ['nausea'], pregnant => 'possible', meds => '', past => [], alcohol => 'none',
                  allergy => 'none', family => JSON::PP::false);
ok t_cmp($j->{state}, 'review', 'everything answered: review');
ok t_cmp(codes($j->{review}{warnings}), 'duration_exceeds_age:block,implausible_value:warn,sex_mismatch:block,pain_without_site:warn',
         'the review warns: duration longer than the age (and implausible), pregnancy for a man, no pain site');
ok t_cmp((grep { ($_->{linkId} // '') eq 'pregnant' } @{ $j->{review}{warnings} })[0]{message} // '', qr/女性/,
         'a message in Chinese for the patient');
ok t_cmp($j->{review}{sections}{chief_complaint}, '腹痛20000天', 'review shows the generated 主诉');
ok t_cmp($j->{review}{narrative}, qr/^主诉：腹痛20000天\n现病史：/, 'and the narrative');

# blocking warnings: no submission, even confirmed
($r, $j) = submit($tok, { confirm => JSON::PP::true });
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '409 HG_CONSULT_QUALITY', 'blocking warnings: 409 HG_CONSULT_QUALITY');
ok t_cmp(codes($j->{warnings}), qr/duration_exceeds_age:block/, 'with the warnings');

# ---- Back: the previous pages with the earlier answers
($r, $j) = back($tok);
ok t_cmp($r->code . ' ' . ($j->{state} // '') . ' ' . ids($j), '200 in-progress symptoms,pregnant,meds,past,alcohol,allergy,family',
         'back: the last page again');
ok t_cmp($json->encode(item($j, 'symptoms')->{answer} // 'none') . ' ' . (item($j, 'pregnant')->{answer} // ''), '["nausea"] possible',
         'each item with the earlier answer');
($r, $j) = back($tok);
ok t_cmp(ids($j), 'pain_days,pain_site,pain_score', 'back again: the second page');
ok t_cmp((item($j, 'pain_days')->{answer} // '') . ' ' . (defined item($j, 'pain_site')->{answer} ? 'x' : 'null'), '20000 null',
         'with its answers (a skipped one as null)');
($r, $j) = back($tok);
ok t_cmp(ids($j) . ' ' . (item($j, 'pain')->{answer} // ''), 'pain yes', 'back to the first page');
($r, $j) = back($tok);
ok t_cmp($r->code . ' ' . ids($j), '200 pain', 'back at the first page: stays there');
# pain = no hides the follow-ups but keeps their answers until submission
($r, $j) = answer($tok, pain => 'no');
ok t_cmp(ids($j), 'symptoms,pregnant,meds,past,alcohol,allergy,family', 'pain = no: the hidden page is skipped');
ok t_cmp(psql("SELECT answers->>'pain_days' FROM consult.visits WHERE visit_no = 'G${run}1'"), '20000', 'hidden answer kept');
($r, $j) = back($tok);
($r, $j) = answer($tok, pain => 'yes');
ok t_cmp(ids($j) . ' ' . (item($j, 'pain_days')->{answer} // ''), 'pain_days,pain_site,pain_score 20000',
         'pain = yes again: the kept answers are back on their page');
($r, $j) = answer($tok, pain_days => 3, pain_site => undef, pain_score => 5);
ok t_cmp(ids($j), 'symptoms,pregnant,meds,past,alcohol,allergy,family', 'forward through the answered page');
($r, $j) = answer($tok, pregnant => 'na');
ok t_cmp($j->{state} . ' ' . codes($j->{review}{warnings}), 'review pain_without_site:warn', 'edited: only a soft warning left');

# ---- a warning needs the patient's confirmation
($r, $j) = submit($tok, {});
ok t_cmp($r->code . ' ' . ($j->{code} // '') . ' ' . codes($j->{warnings}), '409 HG_CONSULT_QUALITY pain_without_site:warn',
         'unconfirmed warning: 409 with it');
($r, $j) = submit($tok, { confirm => JSON::PP::true, sections => { nope => 'x' } });
ok t_cmp(err($r, $j), '400 HG_FIELD_UNKNOWN sections.nope', 'an unknown section: 400');
($r, $j) = submit($tok, { confirm => JSON::PP::true, sections => { present_illness => 5 } });
ok t_cmp(err($r, $j), '400 HG_FIELD_TYPE sections.present_illness', 'a section that is not text: 400');
($r, $j) = submit($tok, { confirm => JSON::PP::true, sections => { present_illness => 'x' x 2001 } });
ok t_cmp(err($r, $j), '400 HG_FIELD_TOO_LONG sections.present_illness', 'a too long section: 400');
($r, $j) = submit($tok, { confirm => 'yes' });
ok t_cmp(err($r, $j), '400 HG_FIELD_TYPE confirm', 'confirm must be a boolean');
ok t_cmp(psql("SELECT state FROM consult.visits WHERE visit_no = 'G${run}1'"), 'review', 'nothing submitted by refused calls: still in review');

my $edit = '腹痛3天，进食后加重';
($r, $j) = submit($tok, { confirm => JSON::PP::true, sections => { chief_complaint => $edit, present_illness => undef // '' } });
# present_illness '' is an edit too (the patient cleared it); chief complaint replaced
ok t_cmp($r->code . ' ' . ($j->{state} // ''), '200 completed', 'confirmed and submitted');
ok t_cmp($j->{summary}{chief_complaint}, $edit, 'the summary shows the patient\'s text');
my $sum1 = $json->encode($j->{summary});
($r, $j) = submit($tok, { confirm => JSON::PP::true });
ok t_cmp($r->code . ' ' . $json->encode($j->{summary} // {}) . ' ' . ($j->{replayed} ? 1 : 0), "200 $sum1 1",
         'submit again: the same summary, marked as a replay');
($r, $j) = session($tok);
ok t_cmp(($j->{state} // '') . ' ' . ($j->{summary}{chief_complaint} // ''), "completed $edit", 'the session shows it completed');
($r, $j) = back($tok);
ok t_cmp(err($r, $j), '409 HG_CONSULT_CLOSED ', 'no back after submission');

# pruned: the hidden pain answers of the first round are gone, the shown ones stay
ok t_cmp(psql("SELECT (answers ? 'pain_days') || ':' || (answers->>'pain_days') || ':' || (answers ? 'pregnant') "
              . "FROM consult.visits WHERE visit_no = 'G${run}1'"), 'true:3:true', 'stored answers as confirmed');

# ---- the doctor: generated and patient-edited side by side
$r = signed_request('GET', "/consult/api/v1/visits/G${run}1/summary", '');
$j = json_of($r);
ok t_cmp($r->code . ' ' . ($j->{state} // ''), '200 completed', 'doctor reads the summary');
ok t_cmp($j->{sections}{chief_complaint}, '腹痛3天', 'generated 主诉');
ok t_cmp($j->{patientEdits}{chief_complaint}, $edit, 'and the patient\'s edit beside it');
ok t_cmp(exists $j->{patientEdits}{present_illness} ? 'edited' : 'not', 'edited', 'a cleared section is an edit too');
ok t_cmp(exists $j->{patientEdits}{allergy_history} ? 'edited' : 'not', 'not', 'untouched sections are not edits');
ok t_cmp($j->{sections}{personal_history}, qr/否认饮酒史/, '个人史 negative from the option');
ok t_cmp(codes($j->{warnings}), 'pain_without_site:warn', 'the confirmed warning is kept for the doctor');
ok t_cmp($j->{structured}{answers}{pain_score}, 5, 'structured answers');
ok t_cmp($j->{questionnaireResponse}{resourceType} . ' ' . $j->{questionnaireResponse}{questionnaire},
         'QuestionnaireResponse gi-0302|1', 'FHIR response of the template version');

# ---- the doctor's workstation by patient: the day's pre-consultations of P$run
$r = signed_request('GET', "/consult/api/v1/patients/P$run/visits?date=2026-06-14", '');
$j = json_of($r);
my ($pv) = grep { $_->{visitNo} eq "G${run}1" } @{ $j->{visits} // [] };
ok t_cmp($r->code . ' ' . ($pv ? "$pv->{state} $pv->{department} " . ($pv->{sections}{chief_complaint} // '-') : 'missing'),
         '200 completed 0302 腹痛3天', 'by patient and day: the submitted questionnaire with its 五史一诉');
ok t_cmp(scalar @{ json_of(signed_request('GET', "/consult/api/v1/patients/P$run/visits?date=2026-06-15", ''))->{visits} // ['x'] }, 0,
         'and nothing on another day');
# the history over a period (病史的多次浏览)
$j = json_of(signed_request('GET', "/consult/api/v1/patients/P$run/visits?from=2026-06-01&to=2026-06-30", ''));
ok t_cmp(($j->{from} // '') . '~' . ($j->{to} // '') . ' ' . (grep({ $_->{visitNo} eq "G${run}1" } @{ $j->{visits} // [] }) ? 'found' : 'missing'),
         '2026-06-01~2026-06-30 found', 'by patient over a period: the history');
$r = signed_request('GET', "/consult/api/v1/patients/P$run/visits?from=2025-01-01&to=2026-06-30", '');
ok t_cmp(err($r, json_of($r)), '400 HG_FIELD_RANGE to', 'at most 366 days');
$r = signed_request('GET', "/consult/api/v1/patients/P$run/visits?day=2026-06-14", '');
ok t_cmp(err($r, json_of($r)), '400 HG_FIELD_UNKNOWN day', 'an unknown parameter: 400');
ok t_cmp(GET("/consult/api/v1/patients/P$run/visits")->code, 401, 'the HIS signs this call too');
# the console: the patient's questionnaires, any day, newest first
my ($sr, $scookie) = staff_login('admin', 'Adm1n-Test-Pass#2026');
my $sl = json_of(GET("/consult/staff/v1/sessions?patientId=P$run", Cookie => $scookie));
ok t_cmp(join(',', sort map { $_->{visitNo} } @{ $sl->{sessions} // [] }) =~ /G${run}1/ ? ($sl->{patientId} // '') : 'missing',
         "P$run", 'the console finds the questionnaires by patient id');

# ---- pushed to the HIS through the outbox, signed
my $push = wait_until(20, sub { (json_of(GET("/sandbox/his/consult-summaries?visitNo=G${run}1"))->{summaries} // [])->[0] });
ok t_cmp($push ? 1 : 0, 1, 'the summary arrived at the HIS');
my $doc = eval { $json->decode(encode_utf8($push->{body} // '')) } // {};
ok t_cmp(($doc->{visitNo} // '') . ' ' . ($doc->{patientEdits}{chief_complaint} // ''), "G${run}1 $edit", 'with the visit and the edits');
ok t_cmp($push->{signature} // '', hmac_sha256_hex(encode_utf8(($push->{timestamp} // '') . "\n" . ($push->{body} // '')), 'test-push-secret-0123456789'),
         'X-HG-Signature is HMAC-SHA256(secret, timestamp\\nbody)');
ok t_cmp($push->{idempotencyKey} // '', "consult-summary:44010001:G${run}1", 'keyed by institution and visit');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE topic = 'consult.push' AND business_key = '44010001:G${run}1' "
              . "AND payload::text NOT LIKE '%腹痛%'"), 1, 'one push, sealed in the outbox');

# ---- audit rows for the patient's calls, without the token or personal data in clear
ok t_cmp(psql("SELECT count(*) > 10 FROM hg.audit WHERE endpoint LIKE '%/consult/pub/v1/sessions/~%'"), 't',
         'the patient\'s calls are audited');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE endpoint LIKE '%$tok%' OR req_enc LIKE '%腹痛%' OR resp_enc LIKE '%腹痛%'"), 0,
         'no token in any audit row, bodies encrypted');

# ---- red flag on the second visit
($r, $j) = answer($tok2, pain => 'yes', symptoms => ['melena']);
ok t_cmp(($j->{state} // '') . ' ' . ($j->{advice} // ''), qr/^stopped .*消化道出血/, 'melena: stopped with the advice');
($r, $j) = back($tok2);
ok t_cmp(err($r, $j), '409 HG_CONSULT_CLOSED ', 'no back after a red flag');
($r, $j) = submit($tok2, { confirm => JSON::PP::true });
ok t_cmp(err($r, $j), '409 HG_CONSULT_CLOSED ', 'no submit after a red flag');

# ---- bad input on every endpoint
($r, $j) = announce({ %{ visit(n => 3) }, phone => '12345' });
ok t_cmp(err($r, $j), '400 HG_FIELD_PATTERN phone', 'a bad phone: 400');
($r, $j) = announce({ %{ visit(n => 3) }, openid => 'short' });
ok t_cmp(err($r, $j), '400 HG_FIELD_TOO_SHORT openid', 'a bad openid: 400');
($r, $j) = announce({ %{ visit(n => 3) }, diagnosis => 'J 20' });
ok t_cmp(err($r, $j), '400 HG_FIELD_PATTERN diagnosis', 'a bad diagnosis code: 400');
($r, $j) = announce(visit(n => 4));
my $tok3 = $j->{token} // '';
($r, $j) = post_json("$pub/$tok3/back", '[1]');
ok t_cmp($r->code . ' ' . ($j->{code} // ''), '400 HG_JSON_NOT_OBJECT', 'back with a non-object body: 400');
($r, $j) = post_json("$pub/$tok3/answers", { answers => [ 'x' ] });
ok t_cmp(err($r, $j), '400 HG_FIELD_TYPE answers[0]', 'an answer that is not an object: 400');
($r, $j) = post_json("$pub/$tok3/answers", { answers => [ { linkId => 'pain', value => 'yes' }, { linkId => 'pain', value => 'no' } ] });
ok t_cmp(err($r, $j), '409 HG_CONFLICT pain', 'the same question twice in one call: refused');
$r = POST("$pub/$tok3/answers", 'Content-Type' => 'text/plain', content => '{}');
ok t_cmp(err($r, json_of($r)), '415 HG_UNSUPPORTED_MEDIA_TYPE Content-Type', 'not JSON: 415');
($r, $j) = post_json("$pub/$tok3/answers", { answers => [] });
ok t_cmp(err($r, $j), '400 HG_FIELD_REQUIRED answers', 'no answers: 400');
($r, $j) = post_json("$pub/$tok3/forward", {});
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'unknown action: 404');
($r, $j) = back('B' x 43);
ok t_cmp(err($r, $j), '404 HG_CONSULT_SESSION ', 'back with an unknown token: 404');

# ---- expired token
psql("UPDATE consult.visits SET expires_at = now() - interval '1 second' WHERE visit_no = 'G${run}2'");
($r, $j) = session($tok2);
ok t_cmp(err($r, $j), '404 HG_CONSULT_SESSION ', 'expired token: 404');
($r, $j) = submit($tok2, {});
ok t_cmp(err($r, $j), '404 HG_CONSULT_SESSION ', 'expired token: submit 404 too');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE endpoint LIKE '%$tok2%' OR endpoint LIKE '%$tok3%'"), 0,
         'refused calls are audited without the token too');
