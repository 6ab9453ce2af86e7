# mod_consult authoring and review: drafts, review (approve / reject with a comment, never one's own
# work), approved versions immutable, permissions by role and department, preview, FHIR R4
# import/export round trip, invalid templates refused with the path at fault, template choice rules;
# the POST preview walk (logic jump, red flags, review as the patient sees it, nothing stored).
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use Encode qw(decode_utf8);
use HG qw(json_of signed_request psql staff_login cli_env);

binmode STDOUT, ":encoding(UTF-8)";
binmode STDERR, ":encoding(UTF-8)";
plan tests => 119;

my $json = JSON::PP->new->utf8->canonical;
my $run = $$ . time;
my ($dA, $dB) = ("A$run", "B$run");
my $base = '/consult/staff/v1';
my $top = $ENV{HG_TOP} // '.';

# ---- staff users of two departments
my %S;
my $pw = 'Quest-Author#2026x';
for my $u ([ 'au_a', 'consult_author', $dA ], [ 'au_a2', 'consult_author,consult_reviewer', $dA ],
           [ 'rv_a', 'consult_reviewer', $dA ], [ 'au_b', 'consult_author', $dB ],
           [ 'cadm', 'consult_admin', '' ], [ 'plain', 'cashier', $dA ], [ 'doc_a', 'consult_doctor', $dA ]) {
    my ($name, $roles, $dept) = @$u;
    my $user = "$name$run";
    `echo '$pw' | @{[cli_env()]} '$top/tools/hisgate' user add --username $user --institution 44010001 --roles $roles --department '$dept' 2>&1`;
    my ($res, $cookie, $csrf) = staff_login($user, $pw);
    $S{$name} = { user => $user, cookie => $cookie // '', csrf => $csrf // '' };
}
ok t_cmp(scalar(grep { $S{$_}{cookie} } keys %S), 7, 'seven staff users logged in');

sub sget { my ($u, $path) = @_; my $r = GET($path, Cookie => $S{$u}{cookie}); return ($r, json_of($r)); }
sub spost {
    my ($u, $path, $body, %o) = @_;
    my $r = POST($path, Cookie => $S{$u}{cookie}, ($o{nocsrf} ? () : ('X-CSRF-Token' => $S{$u}{csrf})),
                 'Content-Type' => 'application/json', content => ref $body ? $json->encode($body) : $body);
    return ($r, json_of($r));
}
sub err { my ($r, $j) = @_; return join ' ', $r->code, $j->{code} // '', $j->{field} // ''; }
sub ids { return join ',', map { $_->{linkId} } @{ $_[0]{items} // [] }; }
sub listed { my ($u, $tid) = @_; my (undef, $j) = sget($u, "$base/templates"); return scalar grep { $_->{templateId} eq $tid } @{ $j->{templates} // [] }; }

my $def = {
    title => '测试问卷',
    items => [
        { linkId => 'fever', type => 'boolean', text => '发热吗？', required => JSON::PP::true, section => 'chief_complaint',
          narrative => '发热', negative => '无发热' },
        { linkId => 'temp', type => 'number', text => '最高体温', min => 35, max => 43, section => 'present_illness',
          narrative => '最高体温{value}℃', enableWhen => [ { question => 'fever', operator => '=', answer => JSON::PP::true } ] },
        { linkId => 'lmp', type => 'date', text => '末次月经', tags => ['menstrual'], enableIf => "\$sex = 'F'" },
    ],
};
my $tA = "ta$run";
my $V = "$base/templates/$tA/versions";

# ---- permissions: no consult role, no session, no CSRF
my ($r, $j) = sget('plain', "$base/templates");
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN ', 'a cashier cannot see the templates');
$r = GET("$base/templates");
ok t_cmp($r->code, 401, 'no session: 401');
($r, $j) = spost('au_a', "$base/templates", { templateId => $tA, definition => $def }, nocsrf => 1);
ok t_cmp(err($r, $j), '403 HG_CSRF X-CSRF-Token', 'a write without the CSRF token: 403');
($r, $j) = spost('rv_a', "$base/templates", { templateId => $tA, definition => $def });
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN ', 'a reviewer does not author');

# ---- invalid templates refused with the path at fault
my $bad = $json->decode($json->encode($def));
$bad->{items}[1]{enableWhen}[0]{question} = 'nope';
($r, $j) = spost('au_a', "$base/templates", { templateId => $tA, definition => $bad });
ok t_cmp(err($r, $j), '400 HG_CONSULT_TEMPLATE definition.items[1].enableWhen[0].question', 'unknown reference: refused with its path');
ok t_cmp($j->{message}, qr/unknown linkId 'nope'/, 'and says which name');
$bad = $json->decode($json->encode($def));
$bad->{items}[0]{enableIf} = 'temp > 37';
($r, $j) = spost('au_a', "$base/templates", { templateId => $tA, definition => $bad });
ok t_cmp(err($r, $j), qr/^400 HG_CONSULT_TEMPLATE definition\.items\[\d\]$/, 'a cycle: refused with the item at fault');
ok t_cmp($j->{message}, qr/dependency cycle: .*fever.*temp|dependency cycle: .*temp.*fever/, 'naming the cycle');
($r, $j) = spost('au_a', "$base/templates", { templateId => 'bad id', definition => $def });
ok t_cmp(err($r, $j), '400 HG_FIELD_PATTERN templateId', 'bad template id');
($r, $j) = spost('au_a', "$base/templates", { templateId => $tA, definition => [] });
ok t_cmp(err($r, $j), '400 HG_FIELD_TYPE definition', 'a definition that is not an object');
($r, $j) = spost('au_a', "$base/templates", { templateId => $tA });
ok t_cmp(err($r, $j), '400 HG_FIELD_REQUIRED definition', 'no definition');
ok t_cmp(psql("SELECT count(*) FROM consult.templates WHERE template_id = '$tA'"), 0, 'nothing stored by refused calls');

# ---- a draft of one's own department
($r, $j) = spost('au_a', "$base/templates", { templateId => $tA, department => $dB, definition => $def });
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN department', 'not for another department');
($r, $j) = spost('au_a', "$base/templates", { templateId => $tA, department => undef, definition => $def });
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN department', 'not institution-wide without consult_admin');
($r, $j) = spost('au_a', "$base/templates", { templateId => $tA, definition => $def });
ok t_cmp($r->code . ' ' . ($j->{status} // '') . ' ' . ($j->{version} // '') . ' ' . ($j->{department} // '') . ' ' . ($j->{scope} // ''),
         "201 draft 1 $dA department", 'draft 1 in the author\'s department');
ok t_cmp(($j->{title} // '') . ' ' . ($j->{definition}{id} // '') . '|' . ($j->{definition}{version} // ''), "测试问卷 $tA|1",
         'the definition carries the row\'s id and version');
($r, $j) = spost('au_a', "$base/templates", { templateId => $tA, definition => $def });
ok t_cmp(err($r, $j), '409 HG_CONFLICT templateId', 'the same id twice: 409');

# ---- visibility by department
ok t_cmp(listed('au_a', $tA) . listed('rv_a', $tA) . listed('au_b', $tA) . listed('cadm', $tA), '1101',
         'listed for its department and consult_admin, not for another department');
ok t_cmp(listed('au_b', 'generic'), 1, 'institution-wide templates are listed for everyone');
($r, $j) = sget('au_b', "$V/1");
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'another department cannot read it');
($r, $j) = sget('au_a', "$base/templates/generic/versions/1");
ok t_cmp($r->code . ' ' . ($j->{editable} ? 'rw' : 'ro'), '200 ro', 'institution-wide: readable, not editable');
($r, $j) = spost('au_a', "$base/templates/generic/versions/1", { definition => $def });
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN ', 'an author cannot edit an institution-wide template');
($r, $j) = spost('au_b', "$V/1", { definition => $def });
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'nor can another department\'s author edit this one');

# ---- edit, preview
my $def2 = $json->decode($json->encode($def));
$def2->{items}[0]{text} = '最近发热吗？';
($r, $j) = spost('au_a', "$V/1", { definition => $def2 });
ok t_cmp($r->code . ' ' . ($j->{definition}{items}[0]{text} // ''), '200 最近发热吗？', 'draft edited');
$bad = $json->decode($json->encode($def2));
$bad->{items}[1]{narrative} = '体温{tmep}';
($r, $j) = spost('au_a', "$V/1", { definition => $bad });
ok t_cmp(err($r, $j), '400 HG_CONSULT_TEMPLATE definition.items[1].narrative', 'a typo in a placeholder: refused');
($r, $j) = sget('au_a', "$V/1/preview?sex=F&birthDate=1990-01-01");
ok t_cmp($r->code . ' ' . ids($j), '200 fever,lmp', 'preview as a woman: the first page');
ok t_cmp(($j->{items}[0]{text} // '') . ' ' . ($j->{state} // ''), '最近发热吗？ in-progress', 'as the patient sees it');
($r, $j) = sget('au_a', "$V/1/preview?sex=M");
ok t_cmp(ids($j), 'fever', 'preview as a man: no menstrual question');
($r, $j) = sget('au_a', "$V/1/preview?sex=X");
ok t_cmp(err($r, $j), '400 HG_FIELD_ENUM sex', 'preview with a bad sex: 400');
($r, $j) = sget('au_a', "$V/1/preview?birthDate=1990-13-01");
ok t_cmp(err($r, $j), '400 HG_FIELD_DATE birthDate', 'preview with a bad date: 400');
($r, $j) = sget('au_a', "$V/1/preview?foo=1");
ok t_cmp(err($r, $j), '400 HG_FIELD_UNKNOWN foo', 'preview with an unknown parameter: 400');
($r, $j) = sget('au_a', "$V/9");
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'unknown version: 404');
($r, $j) = sget('au_a', "$V/1/nothing");
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'unknown sub-resource: 404');

# ---- the review
($r, $j) = spost('rv_a', "$V/1/approve", {});
ok t_cmp(err($r, $j), '409 HG_CONSULT_STATE ', 'a draft cannot be approved');
($r, $j) = spost('au_a', "$V/1/submit", {});
ok t_cmp($r->code . ' ' . ($j->{status} // '') . ' ' . ($j->{submittedBy} // ''), "200 review $S{au_a}{user}", 'submitted for review');
($r, $j) = spost('au_a', "$V/1", { definition => $def });
ok t_cmp(err($r, $j), '409 HG_CONSULT_STATE ', 'no edit while in review');
($r, $j) = spost('au_a', "$V/1/approve", {});
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN ', 'an author without the reviewer role cannot approve');
($r, $j) = spost('au_b', "$V/1/approve", {});
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'another department cannot even see it');
($r, $j) = spost('rv_a', "$V/1/reject", {});
ok t_cmp(err($r, $j), '400 HG_FIELD_REQUIRED comment', 'a rejection needs a comment');
($r, $j) = spost('rv_a', "$V/1/reject", { comment => '体温题请加上测量方式' });
ok t_cmp($r->code . ' ' . ($j->{status} // '') . ' ' . ($j->{reviewComment} // '') . ' ' . ($j->{reviewedBy} // ''),
         "200 rejected 体温题请加上测量方式 $S{rv_a}{user}", 'rejected with the comment');
($r, $j) = spost('rv_a', "$V/1/approve", {});
ok t_cmp(err($r, $j), '409 HG_CONSULT_STATE ', 'a rejected version is not approved');
($r, $j) = spost('au_a', "$V/1", { definition => $def2 });
ok t_cmp($r->code . ' ' . ($j->{status} // ''), '200 draft', 'edited after the rejection: a draft again');
spost('au_a', "$V/1/submit", {});
($r, $j) = spost('rv_a', "$V/1/approve", { comment => '同意' });
ok t_cmp($r->code . ' ' . ($j->{status} // '') . ' ' . ($j->{approvedBy} // ''), "200 approved $S{rv_a}{user}", 'approved by the reviewer');

# an author who is also a reviewer cannot approve their own work
my $tOwn = "town$run";
spost('au_a2', "$base/templates", { templateId => $tOwn, definition => $def });
spost('au_a2', "$base/templates/$tOwn/versions/1/submit", {});
($r, $j) = spost('au_a2', "$base/templates/$tOwn/versions/1/approve", {});
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN ', 'an author cannot approve their own version');
ok t_cmp($j->{message} // '', qr/own/, 'and is told why');
($r, $j) = spost('rv_a', "$base/templates/$tOwn/versions/1/approve", {});
ok t_cmp($r->code . ' ' . ($j->{status} // ''), '200 approved', 'another reviewer can');

# ---- an approved version never changes; an edit is the next draft
my $before = psql("SELECT md5(definition::text) FROM consult.templates WHERE template_id = '$tA' AND version = '1'");
($r, $j) = spost('au_a', "$V/1", { definition => $def });
ok t_cmp($r->code . ' ' . ($j->{version} // '') . ' ' . ($j->{status} // ''), '201 2 draft', 'an edit of an approved version: draft 2');
ok t_cmp(psql("SELECT md5(definition::text) || status FROM consult.templates WHERE template_id = '$tA' AND version = '1'"),
         "${before}approved", 'version 1 unchanged and still approved');
($r, $j) = spost('au_a', "$V/1/submit", {});
ok t_cmp(err($r, $j), '409 HG_CONSULT_STATE ', 'an approved version cannot be submitted again');
# the trigger's refusal caught in the database, so the test log stays clean
psql("DO \$\$ BEGIN UPDATE consult.templates SET title = 'x' WHERE template_id = '$tA' AND version = '1'; "
     . "EXCEPTION WHEN check_violation THEN NULL; END \$\$");
ok t_cmp(decode_utf8(psql("SELECT title FROM consult.templates WHERE template_id = '$tA' AND version = '1'")), '测试问卷',
         'even SQL cannot change a published version');
($r, $j) = spost('au_a', "$V", {});
ok t_cmp($r->code . ' ' . ($j->{version} // ''), '201 3', 'a new version from the newest');
($r, $j) = sget('au_a', "$V");
ok t_cmp($r->code . ' ' . join(',', map { "$_->{version}:$_->{status}" } @{ $j->{versions} // [] }), '200 3:draft,2:draft,1:approved',
         'the versions of the template, newest first');
($r, $j) = sget('au_b', "$V");
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'not for another department');

# ---- a doctor reads the department's published templates (医生查看本科室发布的问卷模板), writes nothing
($r, $j) = sget('doc_a', "$V");
ok t_cmp($r->code . ' ' . join(',', map { "$_->{version}:$_->{status}" } @{ $j->{versions} // [] }), '200 1:approved',
         'a doctor sees the published version only');
ok t_cmp(err(sget('doc_a', "$V/3")), '404 HG_NOT_FOUND ', 'not the draft');
($r, $j) = sget('doc_a', "$base/templates?status=draft");
ok t_cmp(join(',', sort { $a cmp $b } grep { !/^generic|^resp-|^gi-|^ortho-/ } map { "$_->{templateId}|$_->{status}" } @{ $j->{templates} // [] }),
         "$tA|approved,$tOwn|approved", 'the list: the department\'s published versions, whatever status is asked');
($r, $j) = spost('doc_a', "$V/1/preview", { sex => 'M', birthDate => '1980-01-01' });
ok t_cmp($r->code . ' ' . (@{ $j->{items} // [] } ? 'items' : 'none'), '200 items', 'and previews it');
ok t_cmp(err(spost('doc_a', "$V", {})), '403 HG_FORBIDDEN ', 'but makes no version');
ok t_cmp(err(sget('doc_a', "$base/rules")), '403 HG_FORBIDDEN ', 'nor reads the choice rules');

# ---- FHIR R4 export and import
($r, $j) = sget('au_a', "$V/1/fhir");
ok t_cmp($r->code . ' ' . ($j->{resourceType} // '') . ' ' . ($j->{status} // '') . ' ' . ($j->{version} // ''),
         '200 Questionnaire active 1', 'exported as a FHIR Questionnaire');
my $q = $j;
my ($temp) = grep { $_->{linkId} eq 'temp' } @{ $q->{item} // [] };
ok t_cmp($json->encode($temp->{enableWhen} // []), '[{"answerBoolean":true,"operator":"=","question":"fever"}]', 'enableWhen typed');
ok t_cmp(scalar(grep { ($_->{url} // '') eq 'http://hl7.org/fhir/StructureDefinition/maxValue' && ($_->{valueDecimal} // 0) == 43 }
                @{ $temp->{extension} // [] }), 1, 'max as the standard maxValue extension');
my $tI = "timp$run";
($r, $j) = spost('au_a', "$base/templates/import", { questionnaire => $q, templateId => $tI });
ok t_cmp($r->code . ' ' . ($j->{status} // '') . ' ' . ($j->{department} // ''), "201 draft $dA", 'imported as a draft');
my %strip = map { $_ => 1 } qw(id version);
my $orig = psql("SELECT definition - 'id' - 'version' FROM consult.templates WHERE template_id = '$tA' AND version = '1'");
my $imp = psql("SELECT definition - 'id' - 'version' FROM consult.templates WHERE template_id = '$tI' AND version = '1'");
ok t_cmp(length($orig) > 100 && $imp eq $orig ? 1 : 0, 1, 'round trip: the same definition');
($r, $j) = sget('au_a', "$base/templates/$tI/versions/1/fhir");
ok t_cmp($json->encode($j->{item} // []), $json->encode($q->{item}), 'round trip: the same Questionnaire items');
# the richest demo template (red flags, tags, rules, option narratives) survives the trip too
($r, $j) = sget('cadm', "$base/templates/gi-0302/versions/1/fhir");
my $gq = $j;
($r, $j) = spost('cadm', "$base/templates/import", { questionnaire => $gq, templateId => "tgi$run", department => $dA });
ok t_cmp($r->code, 201, 'the GI demo template imported');
ok t_cmp(psql("SELECT (a.definition - 'id' - 'version') = (b.definition - 'id' - 'version') FROM consult.templates a, "
              . "consult.templates b WHERE a.template_id = 'gi-0302' AND b.template_id = 'tgi$run'"), 't',
         'round trip of the GI template: identical definition');
my $oc = { resourceType => 'Questionnaire', id => "toc$run", item => [ { linkId => 'a', type => 'open-choice' } ] };
($r, $j) = spost('au_a', "$base/templates/import", $oc);
ok t_cmp(err($r, $j), '400 HG_CONSULT_TEMPLATE item[0].type', 'an unsupported item type: refused with its FHIR path');
$oc->{item} = [ { linkId => 'a', type => 'string', enableWhen => [ { question => 'zz', operator => 'exists', answerBoolean => JSON::PP::true } ] } ];
($r, $j) = spost('au_a', "$base/templates/import", $oc);
ok t_cmp(err($r, $j), '400 HG_CONSULT_TEMPLATE questionnaire.items[0].enableWhen[0].question', 'a dangling reference in FHIR: refused');
($r, $j) = spost('au_a', "$base/templates/import", { resourceType => 'Patient' });
ok t_cmp(err($r, $j), '400 HG_CONSULT_TEMPLATE resourceType', 'not a Questionnaire: refused');

# ---- template choice rules
my $tDraft = "tdraft$run";
spost('cadm', "$base/templates", { templateId => $tDraft, department => undef, definition => $def });
my %rule;
for my $rl ([ 'r1', { templateId => $tA, department => $dA } ],
            [ 'r2', { templateId => 'gi-0302', department => $dA, priority => 5 } ],
            [ 'r3', { templateId => 'resp-0301', department => $dA, disease => 'K29' } ],
            [ 'r4', { templateId => 'ortho-0501', department => $dA, disease => 'K29', doctor => "DrX$run" } ],
            [ 'r5', { templateId => $tDraft, disease => "Z$run" } ]) {
    ($r, $j) = spost('cadm', "$base/rules", $rl->[1]);
    $rule{ $rl->[0] } = $j->{id} // 0;
}
ok t_cmp(scalar(grep { $_ } values %rule), 5, 'five rules added by consult_admin');
($r, $j) = spost('au_b', "$base/rules", { templateId => 'generic', department => $dA });
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN department', 'an author cannot add rules for another department');
($r, $j) = spost('au_a', "$base/rules", { templateId => $tA, department => $dA, priority => 5000 });
ok t_cmp(err($r, $j), '400 HG_FIELD_RANGE priority', 'priority out of range');
($r, $j) = spost('au_a', "$base/rules", { templateId => "nope$run", department => $dA });
ok t_cmp(err($r, $j), '400 HG_FIELD_UNKNOWN templateId', 'a rule for an unknown template');
($r, $j) = spost('au_a', "$base/rules", { templateId => $tA, department => $dA, colour => 'red' });
ok t_cmp(err($r, $j), '400 HG_FIELD_UNKNOWN colour', 'an unknown key');

my $vn = 0;
sub choose {
    my (%o) = @_;
    $vn++;
    my $v = { visitNo => "R$run$vn", patientId => "P$run$vn", name => '韩梅梅', sex => 'F', birthDate => '1992-03-03',
              department => $o{dept}, doctor => $o{doctor} // '王医生', visitTime => '2026-06-14 11:00:00' };
    $v->{diagnosis} = $o{dx} if $o{dx};
    my $res = signed_request('POST', '/consult/api/v1/visits', $v);
    my $a = json_of($res);
    return join ' ', $a->{template} // $res->code, $a->{choice} // '', $a->{rule} // '-';
}
ok t_cmp(choose(dept => $dA), "gi-0302|1 rule $rule{r2}", 'same specificity: the higher priority wins');
ok t_cmp(choose(dept => $dA, dx => 'K29.1'), "resp-0301|1 rule $rule{r3}", 'disease (prefix) + department: more specific wins');
ok t_cmp(choose(dept => $dA, dx => 'K29.1', doctor => "DrX$run"), "ortho-0501|1 rule $rule{r4}", 'disease + department + doctor: most specific');
ok t_cmp(choose(dept => $dB, dx => "Z$run.1"), 'generic|1 generic -', 'a rule whose template has no approved version is skipped: generic');
ok t_cmp(psql("SELECT count(*) FROM consult.visits WHERE visit_no LIKE 'R$run%' AND rule_id IS NOT NULL"), 3, 'the rule is stored with the visit');
($r, $j) = spost('au_b', "$base/rules/$rule{r2}/disable", {});
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN ', 'another department cannot disable the rule');
($r, $j) = spost('au_a', "$base/rules/$rule{r2}/disable", {});
ok t_cmp($r->code . ' ' . ($j->{enabled} ? 'on' : 'off'), '200 off', 'the department\'s author disables it');
ok t_cmp(choose(dept => $dA), "$tA|1 rule $rule{r1}", 'then the department rule chooses the approved version 1 (not the drafts)');
($r, $j) = sget('au_b', "$base/rules");
ok t_cmp(scalar(grep { ($_->{department} // '') eq $dA } @{ $j->{rules} // [] }), 0, 'rules of another department are not listed');
($r, $j) = sget('au_a', "$base/rules");
ok t_cmp(scalar(grep { ($_->{department} // '') eq $dA } @{ $j->{rules} // [] }), 4, 'the department\'s rules are');
($r, $j) = spost('au_a', "$base/rules/abc/disable", {});
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'a bad rule id: 404');

# ---- POST preview: the reviewer walks a demo template as a patient would, nothing stored
# (gi-0302: pain -> its follow-ups, pain score 9+ and melena/hematemesis are red flags)
my $rvgi = "rvgi$run";
`echo '$pw' | @{[cli_env()]} '$top/tools/hisgate' user add --username $rvgi --institution 44010001 --roles consult_reviewer --department 0302 2>&1`;
{ my ($res, $cookie, $csrf) = staff_login($rvgi, $pw); $S{rv_gi} = { user => $rvgi, cookie => $cookie // '', csrf => $csrf // '' }; }
my $P = "$base/templates/gi-0302/versions/1/preview";
my $woman = { sex => 'F', birthDate => '1994-04-04' };
sub walk { my ($u, %a) = @_; return spost($u, $P, { %$woman, answers => [ map { { linkId => $_, value => $a{$_} } } sort keys %a ] }); }
my %whole = (pain => 'yes', pain_days => 3, pain_site => 'epigastric', pain_score => 5, symptoms => ['nausea'],
             pregnant => 'no', meds => '', past => [], alcohol => 'none', allergy => 'none', family => JSON::PP::false);
# the patient's own view of the same answers, for comparison (a real visit, announced before the count)
my $pv = json_of(signed_request('POST', '/consult/api/v1/visits', { visitNo => "PV$run", patientId => "PVP$run", name => '林小雨',
    %$woman, department => '0302', doctor => '周医生', visitTime => '2026-06-14 09:00:00' }));
my $ptok = $pv->{token} // '';
my $pr = POST("/consult/pub/v1/sessions/$ptok/answers", 'Content-Type' => 'application/json',
              content => $json->encode({ answers => [ map { { linkId => $_, value => $whole{$_} } } sort keys %whole ] }));
my $patient = json_of($pr);
ok t_cmp($pr->code . ' ' . ($patient->{state} // ''), '200 review', 'the patient answering everything reaches the review');
my $visits0 = psql("SELECT count(*) || ':' || coalesce(sum(rev), 0) || ':' || coalesce(max(id), 0) FROM consult.visits");

my ($g) = sget('rv_gi', "$P?sex=F&birthDate=1994-04-04");
($r, $j) = spost('rv_gi', $P, { %$woman });
ok t_cmp($r->code . ' ' . ids($j), '200 pain,symptoms,pregnant,meds,past,alcohol,allergy,family',
         'POST without answers: the first page, for the reviewer of the department');
ok t_cmp($json->encode($j), $json->encode(json_of($g)), 'the same as GET preview');
($r, $j) = walk('rv_gi', pain => 'yes');
ok t_cmp($r->code . ' ' . ids($j), '200 pain_days,pain_site,pain_score,symptoms,pregnant,meds,past,alcohol,allergy,family',
         'pain = yes: its follow-ups are asked (the logic jump)');
ok t_cmp(($j->{state} // '') . ' ' . ($j->{progress}{answered} // -1) . '/' . ($j->{progress}{total} // -1) . ' ' . ($j->{template} // ''),
         'in-progress 1/11 gi-0302|1', 'in progress, counted as the patient\'s page counts');
($r, $j) = walk('rv_gi', pain => 'no');
ok t_cmp(ids($j), 'symptoms,pregnant,meds,past,alcohol,allergy,family', 'pain = no: no follow-ups');
($r, $j) = spost('rv_gi', $P, { sex => 'M', birthDate => '1950-01-01', answers => [ { linkId => 'pain', value => 'no' } ] });
ok t_cmp(ids($j), 'symptoms,meds,past,alcohol,allergy,family', 'a man of 76: no pregnancy question');
($r, $j) = walk('rv_gi', pain => 'yes', pain_days => 3, pain_score => 9);
ok t_cmp(($j->{state} // '') . ' ' . scalar(@{ $j->{items} // [1] }), 'stopped 0', 'pain score 9: the red flag stops the walk');
ok t_cmp($j->{advice} // '', qr/急腹症.*急诊/, 'with the terminal advice');
($r, $j) = walk('rv_gi', pain => 'no', symptoms => ['nausea', 'melena']);
ok t_cmp(($j->{state} // '') . ' ' . ($j->{advice} // ''), qr/^stopped .*消化道出血/, 'melena: the other red flag, its own advice');
($r, $j) = walk('rv_gi', %whole);
ok t_cmp($r->code . ' ' . ($j->{state} // '') . ' ' . scalar(@{ $j->{items} // [1] }), '200 review 0', 'everything answered: the review');
ok t_cmp($j->{review}{sections}{chief_complaint} // '', '腹痛3天', 'with the generated summary');
ok t_cmp($j->{review}{narrative} // '', qr/^主诉：腹痛3天\n现病史：以上腹部为主，疼痛评分5分，伴恶心/, 'and the narrative the patient confirms');
ok t_cmp($json->encode({ review => $j->{review}, progress => $j->{progress}, state => $j->{state} }),
         $json->encode({ review => $patient->{review}, progress => $patient->{progress}, state => $patient->{state} }),
         'the same review as the patient\'s session shows for these answers');
my %hidden = (%whole, pain => 'no');
($r, $j) = walk('rv_gi', %hidden);
ok t_cmp(err($r, $j), '400 HG_FIELD_UNKNOWN pain_days', 'an answer to a question that does not apply: 400 with its linkId');

# bad input: the field at fault
($r, $j) = walk('rv_gi', pain => 'maybe');
ok t_cmp(err($r, $j), '400 HG_FIELD_ENUM pain', 'an unknown option code');
($r, $j) = walk('rv_gi', pain => 'yes', pain_score => 11);
ok t_cmp(err($r, $j), '400 HG_FIELD_RANGE pain_score', 'out of range');
($r, $j) = walk('rv_gi', nope => 1);
ok t_cmp(err($r, $j), '400 HG_FIELD_UNKNOWN nope', 'an unknown question');
($r, $j) = spost('rv_gi', $P, { %$woman, answers => { pain => 'yes' } });
ok t_cmp(err($r, $j), '400 HG_FIELD_TYPE answers', 'answers not a list');
($r, $j) = spost('rv_gi', $P, { %$woman, answers => [ 'pain' ] });
ok t_cmp(err($r, $j), '400 HG_FIELD_TYPE answers[0]', 'an answer not an object');
($r, $j) = spost('rv_gi', $P, { %$woman, answers => [ { value => 'yes' } ] });
ok t_cmp(err($r, $j), '400 HG_FIELD_REQUIRED answers[0].linkId', 'an answer without its linkId');
($r, $j) = spost('rv_gi', $P, { %$woman, answers => [ { linkId => 'pain', value => 'yes' }, { linkId => 'pain', value => 'no' } ] });
ok t_cmp(err($r, $j), '409 HG_CONFLICT pain', 'the same question twice');
($r, $j) = spost('rv_gi', $P, { sex => 'X', answers => [] });
ok t_cmp(err($r, $j), '400 HG_FIELD_ENUM sex', 'a bad sex');
($r, $j) = spost('rv_gi', $P, { birthDate => '1994-02-30' });
ok t_cmp(err($r, $j), '400 HG_FIELD_DATE birthDate', 'a bad birth date');
($r, $j) = spost('rv_gi', $P, { %$woman, visitNo => 'x' });
ok t_cmp(err($r, $j), '400 HG_FIELD_UNKNOWN visitNo', 'an unknown key');
($r, $j) = spost('rv_gi', $P, '[1');
ok t_cmp($r->code, 400, 'not JSON');

# the permission of GET preview
($r, $j) = spost('au_b', $P, { %$woman });
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'another department\'s author: not even its existence');
($r, $j) = spost('plain', $P, { %$woman });
ok t_cmp(err($r, $j), '403 HG_FORBIDDEN ', 'no consult role: 403');
($r, $j) = spost('rv_gi', $P, { %$woman }, nocsrf => 1);
ok t_cmp(err($r, $j), '403 HG_CSRF X-CSRF-Token', 'without the CSRF token: 403');
($r, $j) = spost('cadm', $P, { %$woman, answers => [ { linkId => 'pain', value => 'no' } ] });
ok t_cmp($r->code, 200, 'consult_admin previews any department');
($r, $j) = spost('rv_gi', "$base/templates/gi-0302/versions/9/preview", { %$woman });
ok t_cmp(err($r, $j), '404 HG_NOT_FOUND ', 'an unknown version: 404');
ok t_cmp(psql("SELECT count(*) || ':' || coalesce(sum(rev), 0) || ':' || coalesce(max(id), 0) FROM consult.visits"), $visits0,
         'nothing written to consult.visits by the walk');
