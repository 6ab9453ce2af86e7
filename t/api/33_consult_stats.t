# mod_consult staff statistics and lists (/consult/staff/v1/): known visits announced through the
# signed HIS API and answered through the patient JSON API, then every figure checked exactly —
# usage per sex, age band, hour, day, week, month, department, template and channel; per question the
# counts per option and the completion rates; the day's list and one questionnaire; CSV content;
# permissions (no session 401, wrong role 403, a department's doctor only their department); bad
# parameters 4xx with a JSON error.  The visits live in a department and template of this run alone,
# in March/April 2026, so other tests' visits cannot change a figure.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Encode qw(decode encode);
use JSON::PP;
use HG qw(json_of signed_request staff_login psql cli_env);

binmode STDOUT, ':encoding(UTF-8)';
binmode STDERR, ':encoding(UTF-8)';
plan tests => 89;

my $json = JSON::PP->new->utf8->canonical;
my $run  = $$ . time;
my $dept = 'S' . substr($run, -8);       # this run's department …
my $dept2 = $dept . 'X';                 # … and another one (the generic template)
my $tid  = "stats-$run";
my $S    = '/consult/staff/v1';
my $pub  = '/consult/pub/v1/sessions';
my $range = 'from=2026-03-01&to=2026-04-30';

# ---- this run's template, approved (authoring has its own API; here only the figures matter)
my $def = $json->encode({ id => $tid, version => '1', title => '统计测试问卷', items => [
    { linkId => 'sym', type => 'choice', text => '主要症状', required => JSON::PP::true, section => 'chief_complaint',
      options => [ { code => 'a', display => '头痛' }, { code => 'b', display => '咳嗽' }, { code => 'c', display => '腹痛' } ] },
    { linkId => 'sym_multi', type => 'multi', text => '伴随症状', section => 'present_illness',
      options => [ { code => 'x', display => '发热' }, { code => 'y', display => '乏力' }, { code => 'z', display => '恶心' } ] },
    { linkId => 'follow', type => 'text', text => '头痛的部位', section => 'present_illness', maxLength => 100,
      enableWhen => [ { question => 'sym', operator => '=', answer => 'a' } ] },
    { linkId => 'note', type => 'text', text => '其他补充', section => 'present_illness', maxLength => 100 },
    { linkId => 'age_q', type => 'number', text => '症状持续天数', section => 'present_illness', min => 0, max => 100 },
    { linkId => 'smoke', type => 'boolean', text => '是否吸烟', section => 'personal_history' },
    { linkId => 'danger', type => 'boolean', text => '是否有胸痛', section => 'present_illness',
      terminal => { when => 'danger = true', advice => '请立即急诊就医' } },
] });
psql("INSERT INTO consult.templates (template_id, version, department, status, definition, created_by, approved_by, approved_at) "
     . "VALUES ('$tid', '1', '$dept', 'approved', \$j\$$def\$j\$, 'test', 'test-chief', now())");

my @V = (
    # n, name, sex, birth, visit time, department
    [ 1, '李小龙', 'M', '2000-01-01', '2026-03-02 08:10:00', $dept ],   # 26: 18-44
    [ 2, '王芳',   'F', '1950-06-01', '2026-03-02 09:20:00', $dept ],   # 75: 75+
    [ 3, '赵小妹', 'F', '2020-01-01', '2026-03-03 08:40:00', $dept ],   # 6: 0-6
    [ 4, '孙大圣', 'M', '1970-01-01', '2026-04-01 10:00:00', $dept ],   # 56: 45-59
    [ 5, '欧阳娜娜', 'F', '1985-12-31', '2026-03-02 08:59:00', $dept ], # 40: 18-44, never answers
    [ 6, '周其他', 'F', '1990-01-01', '2026-03-02 08:30:00', $dept2 ],  # another department
);
my %tok;
for my $v (@V) {
    my $r = signed_request('POST', '/consult/api/v1/visits', {
        visitNo => "ST$run$v->[0]", patientId => "P$v->[0]", name => $v->[1], sex => $v->[2], birthDate => $v->[3],
        department => $v->[5], doctor => '测试医生', visitTime => $v->[4],
        # where they came in: two by registration, one by appointment, one by QR code, one not said
        ({ 1 => 'registration', 2 => 'appointment', 3 => 'registration', 4 => 'qrcode', 6 => 'app' }->{ $v->[0] }
            ? (entry => { 1 => 'registration', 2 => 'appointment', 3 => 'registration', 4 => 'qrcode', 6 => 'app' }->{ $v->[0] })
            : ()) });
    $tok{ $v->[0] } = json_of($r)->{token} // '';
}
ok t_cmp(join(',', map { length $tok{$_} } 1 .. 6), '43,43,43,43,43,43', 'six visits announced through the signed HIS API');
ok t_cmp(psql("SELECT string_agg(template_id, ',' ORDER BY visit_no) FROM consult.visits WHERE visit_no LIKE 'ST$run%'"),
         join(',', ($tid) x 5, 'generic'), "five on this run's template, one on the generic one");

sub answer {
    my ($n, @kv) = @_;
    my @a;
    while (my ($k, $v) = splice @kv, 0, 2) { push @a, { linkId => $k, value => $v }; }
    my $r = POST("$pub/$tok{$n}/answers", 'Content-Type' => 'application/json', content => $json->encode({ answers => \@a }));
    return json_of($r)->{state} // ('HTTP ' . $r->code . ' ' . (json_of($r)->{code} // '') . ' ' . (json_of($r)->{field} // ''));
}
sub submit {
    my $r = POST("$pub/$tok{$_[0]}/submit", 'Content-Type' => 'application/json', content => '{"confirm":true}');
    return json_of($r)->{state} // ('HTTP ' . $r->code);
}
my $T = JSON::PP::true; my $F = JSON::PP::false; my $N = undef;
ok t_cmp(answer(1, sym => 'a') . ' ' . answer(1, sym_multi => ['x', 'y'], follow => '前额', note => '头痛三天', age_q => 30,
         smoke => $T, danger => $F) . ' ' . submit(1), 'in-progress review completed', 'visit 1 answered and submitted');
ok t_cmp(answer(2, sym => 'b', sym_multi => ['x'], note => '', age_q => $N, smoke => $F, danger => $F) . ' ' . submit(2),
         'review completed', 'visit 2');
ok t_cmp(answer(3, sym => 'a') . ' ' . answer(3, sym_multi => [], follow => '', note => '发热', age_q => 5, smoke => $N, danger => $F)
         . ' ' . submit(3), 'in-progress review completed', 'visit 3');
ok t_cmp(answer(4, sym => 'c') . ' ' . answer(4, danger => $T), 'in-progress stopped', 'visit 4 stopped by the red flag');
ok t_cmp(answer(6, complaint => '头晕', days => 2), 'in-progress', 'visit 6 (other department) started');

# ---- staff sessions
my ($res, $admin) = staff_login('admin', 'Adm1n-Test-Pass#2026');
ok t_cmp($res->code, 200, 'admin logs in');
my ($r2, $clerk) = staff_login('clerk', 'Cashier-Pass#2026x');
my $doc = "cdoc$run";
my $env = cli_env();
my $top = $ENV{HG_TOP} // '.';
my $out = `echo 'Consult-Doc#2026x' | $env '$top/tools/hisgate' user add --username $doc --institution 44010001 --department $dept --roles consult_doctor 2>&1`;
my ($r3, $doctor) = staff_login($doc, 'Consult-Doc#2026x');
ok t_cmp($r3->code, 200, "a consult_doctor of $dept logs in") or print STDERR "# $out\n";

sub get {
    my ($path, $cookie) = @_;
    my $r = GET("$S$path", $cookie ? (Cookie => $cookie) : ());
    return ($r, json_of($r));
}
sub err { my ($r) = @_; return $r->code . ' ' . (json_of($r)->{code} // '-') . ' ' . (json_of($r)->{field} // '-'); }
sub rowsof { my ($j) = @_; return { map { $_->{key} => $_ } @{ $j->{rows} // [] } }; }
sub fig { my ($x) = @_; return $x ? join('/', map { $x->{$_} // '?' } qw(visits started completed stopped open)) : '(none)'; }

# ---- usage per grouping
my ($r, $j) = get("/stats?$range&dept=$dept&group=sex", $admin);
ok t_cmp($r->code, 200, 'stats by sex');
ok t_cmp(fig($j->{totals}), '5/4/3/1/1', 'totals: 5 visits, 4 started, 3 completed, 1 stopped, 1 open');
ok t_cmp($j->{totals}{completionRate}, 0.6, 'completion rate 3/5');
my $g = rowsof($j);
ok t_cmp(join(' ', map { "$_=" . fig($g->{$_}) } sort keys %$g), 'F=3/2/2/0/1 M=2/2/1/1/0', 'per sex');
ok t_cmp("$j->{from} $j->{to} $j->{group} $j->{dept}", "2026-03-01 2026-04-30 sex $dept", 'the answer says what it counted');

($r, $j) = get("/stats?$range&dept=$dept&group=age_band", $admin);
ok t_cmp(join(' ', map { "$_->{key}=" . fig($_) } @{ $j->{rows} // [] }), '0-6=1/1/1/0/0 18-44=2/1/1/0/1 45-59=1/1/0/1/0 75+=1/1/1/0/0',
         'per age band (age at the visit), in band order');
($r, $j) = get("/stats?$range&dept=$dept&group=hour", $admin);
ok t_cmp(join(' ', map { "$_->{key}=$_->{visits}" } @{ $j->{rows} // [] }), '08=3 09=1 10=1', 'per hour of the visit');
# when they filled it in: the submitted ones set to known hours, the rest '-'
my @done = split /\n/, psql("SELECT visit_no FROM consult.visits WHERE visit_no LIKE 'ST$run%' AND department = '$dept' "
                            . "AND state = 'completed' ORDER BY visit_no");
psql("UPDATE consult.visits SET submitted_at = CASE WHEN visit_no = '$done[0]' THEN '2026-03-03 07:05+00'::timestamptz "
     . "ELSE '2026-03-02 21:15+00'::timestamptz END WHERE visit_no IN (" . join(',', map { "'$_'" } @done) . ")");
($r, $j) = get("/stats?$range&dept=$dept&group=fill_hour", $admin);
# the hours as the console reads them (Beijing time: 15 and 05), counted here by psql in the same zone
my %want = ('-' => 5 - @done, map { split /=/ } split /\n/,
    psql("SELECT to_char(submitted_at, 'HH24') || '=' || count(*) FROM consult.visits WHERE visit_no IN ("
         . join(',', map { "'$_'" } @done) . ") GROUP BY to_char(submitted_at, 'HH24')"));
ok t_cmp(join(' ', map { "$_->{key}=$_->{visits}" } @{ $j->{rows} // [] }),
         join(' ', map { "$_=$want{$_}" } grep { $want{$_} } sort keys %want),
         'per hour the patients filled the form in (submitted), the rest under -');
($r, $j) = get("/stats?$range&dept=$dept&group=day", $admin);
ok t_cmp(join(' ', map { "$_->{key}=$_->{visits}/$_->{completed}" } @{ $j->{rows} // [] }),
         '2026-03-02=3/2 2026-03-03=1/1 2026-04-01=1/0', 'per day');
($r, $j) = get("/stats?$range&dept=$dept&group=week", $admin);
ok t_cmp(join(' ', map { "$_->{key}=$_->{visits}" } @{ $j->{rows} // [] }), '2026-W10=4 2026-W14=1', 'per ISO week');
($r, $j) = get("/stats?$range&dept=$dept&group=month", $admin);
ok t_cmp(join(' ', map { "$_->{key}=$_->{visits}" } @{ $j->{rows} // [] }), '2026-03=4 2026-04=1', 'per month');
($r, $j) = get("/stats?$range&dept=$dept&group=template", $admin);
ok t_cmp(join(' ', map { "$_->{key}=$_->{visits}" } @{ $j->{rows} // [] }), "$tid|1=5", 'per template version');
($r, $j) = get("/stats?$range&template=$tid&group=dept", $admin);
ok t_cmp(join(' ', map { "$_->{key}=" . fig($_) } @{ $j->{rows} // [] }), "$dept=5/4/3/1/1", "per department, the template's visits only");
($r, $j) = get("/stats?from=2026-03-02&to=2026-03-02&group=dept", $admin);
$g = rowsof($j);
ok t_cmp(fig($g->{$dept}) . ' ' . fig($g->{$dept2}), '3/2/2/0/1 1/1/0/0/1', 'one day, every department: both of ours');
my $channel = psql("SELECT coalesce(nullif(to_jsonb(v) ->> 'channel', ''), 'unknown') FROM consult.visits v WHERE visit_no = 'ST${run}1'");
($r, $j) = get("/stats?$range&dept=$dept&group=channel", $admin);
ok t_cmp(join(' ', map { "$_->{key}=$_->{visits}" } @{ $j->{rows} // [] }), "$channel=5", "per link channel ($channel: none recorded)");
($r, $j) = get("/stats?$range&dept=$dept&group=entry", $admin);
ok t_cmp(join(' ', map { "$_->{key}=$_->{visits}/$_->{completed}" } @{ $j->{rows} // [] }),
         join(' ', map { "$_=" . { appointment => '1/' . psql("SELECT count(*) FROM consult.visits WHERE visit_no = 'ST${run}2' AND state = 'completed'"),
                                   qrcode => '1/' . psql("SELECT count(*) FROM consult.visits WHERE visit_no = 'ST${run}4' AND state = 'completed'"),
                                   registration => '2/' . psql("SELECT count(*) FROM consult.visits WHERE visit_no IN ('ST${run}1', 'ST${run}3') AND state = 'completed'"),
                                   unknown => '1/0' }->{$_} } qw(appointment qrcode registration unknown)),
         'per entry (挂号/预约/扫码, unknown when not said): visits and completed; the other department\'s visit is not here');
my $bad = signed_request('POST', '/consult/api/v1/visits', { visitNo => "ST${run}9", patientId => 'P9', name => '错入口', sex => 'M',
    birthDate => '1990-01-01', department => $dept, visitTime => '2026-03-02 08:10:00', entry => 'telepathy' });
ok t_cmp($bad->code . ' ' . (json_of($bad)->{code} // '') . ' ' . (json_of($bad)->{field} // ''), '400 HG_FIELD_ENUM entry', 'an unknown entry is refused');

# ---- per question
($r, $j) = get("/stats/questions?template=$tid&$range&dept=$dept", $admin);
ok t_cmp($r->code . " $j->{template}|$j->{version} $j->{questionnaires}", "200 $tid|1 3", 'per question: the 3 completed questionnaires');
my %q = map { $_->{linkId} => $_ } @{ $j->{items} // [] };
ok t_cmp(join(',', map { $_->{linkId} } @{ $j->{items} // [] }), 'sym,sym_multi,follow,note,age_q,smoke,danger', 'items in template order');
sub opts { my ($it) = @_; return join(' ', map { "$_->{code}=$_->{count}" } @{ $it->{options} // [] }); }
sub rate { my ($it) = @_; return join('/', map { $it->{$_} // '?' } qw(asked answered completionRate)); }
ok t_cmp(opts($q{sym}), 'a=2 b=1 c=0', 'single choice: respondents per option, unchosen ones too');
ok t_cmp(join(' ', map { $_->{share} } @{ $q{sym}{options} // [] }), '0.6667 0.3333 0', 'with their shares');
ok t_cmp(opts($q{sym_multi}), 'x=2 y=1 z=0', 'multiple choice: respondents per option');
ok t_cmp(rate($q{sym_multi}), '3/2/0.6667', 'an empty selection counts as asked, not answered');
ok t_cmp(join(' ', map { "$_->{display}:$_->{share}" } @{ $q{sym_multi}{options} // [] }), '发热:1 乏力:0.5 恶心:0',
         'shares of the answered (a multiple choice can pass 100 % in total)');
ok t_cmp(rate($q{follow}), '2/1/0.5', 'text behind a logic jump: asked only where it applied, completion rate 1/2');
ok t_cmp(rate($q{note}), '3/2/0.6667', 'text: completion rate 2/3 (an empty text is not an answer)');
ok t_cmp(rate($q{age_q}) . ' ' . join('/', map { $q{age_q}{number}{$_} // '?' } qw(min max mean)), '3/2/0.6667 5/30/17.5',
         'number: completion and min/max/mean');
ok t_cmp(opts($q{smoke}) . ' ' . rate($q{smoke}), 'true=1 false=1 3/2/0.6667', 'yes/no as two options, a skip is not an answer');
ok t_cmp(opts($q{danger}), 'true=0 false=3', 'the red-flag question among the completed ones');
($r, $j) = get("/stats/questions?template=$tid&version=1&from=2026-03-03&to=2026-03-03", $admin);
ok t_cmp("$j->{questionnaires} " . opts({ options => [ grep { 1 } @{ ($j->{items} // [])->[0]{options} // [] } ] }), '1 a=1 b=0 c=0',
         'the date range narrows the questionnaires');

# ---- CSV
$r = GET("$S/stats?$range&dept=$dept&group=sex&format=csv", Cookie => $admin);
my $csv = $r->content;
ok t_cmp($r->code . ' ' . ($r->header('Content-Type') // ''), qr{^200 text/csv; charset=utf-8}, 'stats as CSV');
ok t_cmp(substr($csv, 0, 3), "\xEF\xBB\xBF", 'with a UTF-8 BOM for Excel');
my @lines = split /\r\n/, decode('UTF-8', substr($csv, 3));
ok t_cmp(join("\n", @lines), "性别,问卷数,已开始,已提交,红旗终止,未完成,完成率\n女,3,2,2,0,1,66.7%\n男,2,2,1,1,0,50.0%\n合计,5,4,3,1,1,60.0%",
         'the CSV says the same figures, with Chinese headings and labels');
ok t_cmp($r->header('Content-Disposition') // '', qr/attachment; filename="consult-stats-sex-2026-03-01-2026-04-30\.csv"/, 'as a download');
$r = GET("$S/stats/questions?template=$tid&$range&dept=$dept&format=csv", Cookie => $admin);
@lines = split /\r\n/, decode('UTF-8', substr($r->content, 3));
ok t_cmp($lines[0], '题目编码,题目,题型,应答人数,作答人数,完成率,选项编码,选项,选择人数,占比', 'per-question CSV header');
ok t_cmp(join("\n", grep { /^(sym|note|follow),/ } @lines),
         "sym,主要症状,choice,3,3,100.0%,a,头痛,2,66.7%\nsym,主要症状,choice,3,3,100.0%,b,咳嗽,1,33.3%\n"
         . "sym,主要症状,choice,3,3,100.0%,c,腹痛,0,0.0%\nfollow,头痛的部位,text,2,1,50.0%,,,,\nnote,其他补充,text,3,2,66.7%,,,,",
         'one line per option, one per text item with its completion rate');
$r = GET("$S/sessions?date=2026-03-02&dept=$dept&format=csv", Cookie => $admin);
@lines = split /\r\n/, decode('UTF-8', substr($r->content, 3));
ok t_cmp(scalar(@lines) . ' ' . ($lines[1] // ''), qr/^4 ST${run}1,P1,李\*龙,男,26,$dept,测试医生,2026-03-02 08:10:00,已提交,统计测试问卷,7,/,
         'the day list as CSV: header and three visits, names masked');

# ---- the day's list and one questionnaire
($r, $j) = get("/sessions?date=2026-03-02&dept=$dept", $admin);
ok t_cmp(join(' ', map { "$_->{visitNo}:$_->{name}:$_->{state}:$_->{answered}" } @{ $j->{sessions} // [] }),
         "ST${run}1:李*龙:completed:7 ST${run}5:欧*娜:in-progress:0 ST${run}2:王*:completed:6",
         "the day's list of the department, by visit time, names masked");
ok t_cmp(join(' ', map { "$_->{sex}$_->{age} $_->{template}" } @{ $j->{sessions} // [] }), "M26 $tid|1 F40 $tid|1 F75 $tid|1",
         'with sex, age and template');
ok t_cmp(($r->content =~ /李小龙|王芳|欧阳娜娜/) ? 'full name' : 'masked', 'masked', 'no full name anywhere in the list');
($r, $j) = get("/sessions?date=2026-03-02", $admin);
ok t_cmp(scalar(grep { $_->{department} eq $dept2 } @{ $j->{sessions} // [] }), 1, 'without dept: every department');
($r, $j) = get("/sessions?date=2026-03-02&dept=$dept&state=completed&limit=1", $admin);
ok t_cmp(join(' ', map { $_->{visitNo} } @{ $j->{sessions} // [] }) . ' ' . ($j->{truncated} ? 'truncated' : 'all'),
         "ST${run}1 truncated", 'state filter and limit (truncated says there is more)');

($r, $j) = get("/sessions/ST${run}1", $admin);
ok t_cmp($r->code . " $j->{state} $j->{name} $j->{template}", "200 completed 李*龙 $tid|1", 'one questionnaire');
ok t_cmp(join('; ', map { "$_->{text}=$_->{display}" } @{ $j->{answers} // [] }),
         '主要症状=头痛; 伴随症状=发热、乏力; 头痛的部位=前额; 其他补充=头痛三天; 症状持续天数=30; 是否吸烟=是; 是否有胸痛=否',
         'its answers as the patient saw them, in template order');
ok t_cmp(join(',', sort keys %{ $j->{sections} // {} }),
         'allergy_history,chief_complaint,family_history,past_history,personal_history,present_illness', 'the six sections');
ok t_cmp($j->{narrative} // '', qr/\S/, 'and a narrative');
($r, $j) = get("/sessions/ST${run}4", $admin);
ok t_cmp("$j->{state} " . ($j->{advice} // ''), 'stopped 请立即急诊就医', 'a stopped one shows the advice');
($r, $j) = get("/sessions/ST${run}5", $admin);
ok t_cmp("$j->{state} " . scalar(@{ $j->{answers} // [1] }), 'in-progress 0', 'an unanswered one: no answers yet');
($r, $j) = get("/sessions/NOPE$run", $admin);
ok t_cmp(err($r), '404 HG_NOT_FOUND visitNo', 'an unknown visit: 404');

# ---- permissions
for my $p ('/sessions', "/sessions/ST${run}1", "/stats?$range", "/stats/questions?template=$tid") {
    ($r) = get($p);
    ok t_cmp(err($r), '401 HG_LOGIN_REQUIRED -', "no session: 401 on $p");
}
for my $p ('/sessions', "/stats?$range") {
    ($r) = get($p, $clerk);
    ok t_cmp(err($r), '403 HG_FORBIDDEN -', "a cashier: 403 on $p");
}
($r, $j) = get("/stats?$range&group=dept", $doctor);
ok t_cmp(join(' ', map { "$_->{key}=$_->{visits}" } @{ $j->{rows} // [] }) . " $j->{dept}", "$dept=5 $dept",
         "a department's doctor without dept: their own department only");
($r) = get("/stats?$range&dept=$dept2", $doctor);
ok t_cmp(err($r), '403 HG_FORBIDDEN dept', 'another department: 403');
($r, $j) = get("/sessions?date=2026-03-02", $doctor);
ok t_cmp(join(',', map { $_->{department} } @{ $j->{sessions} // [] }), "$dept,$dept,$dept", 'the day list: own department only');
($r) = get("/sessions/ST${run}6", $doctor);
ok t_cmp(err($r), '403 HG_FORBIDDEN visitNo', "another department's questionnaire: 403");
($r) = get("/sessions/ST${run}2", $doctor);
ok t_cmp($r->code, 200, 'their own: 200');
# a template reviewer of the department (mod_consult's authoring roles) has the same view
my $rev = "crev$run";
`echo 'Consult-Rev#2026x' | $env '$top/tools/hisgate' user add --username $rev --institution 44010001 --department $dept --roles consult_reviewer 2>&1`;
my (undef, $reviewer) = staff_login($rev, 'Consult-Rev#2026x');
($r, $j) = get("/stats?$range&group=dept", $reviewer);
ok t_cmp($r->code . ' ' . ($j->{dept} // '-'), "200 $dept", "a consult_reviewer of $dept: their department's figures");
($r) = get("/stats?$range&dept=$dept2", $reviewer);
ok t_cmp(err($r), '403 HG_FORBIDDEN dept', 'and not another department\'s');

# ---- bad parameters: 4xx with a JSON error naming the parameter
my @bad = (
    [ "/stats?$range&group=bogus", '400 HG_FIELD_ENUM group' ],
    [ '/stats?from=2026-13-01', '400 HG_FIELD_DATE from' ],
    [ '/stats?from=2026-04-02&to=2026-04-01', '400 HG_FIELD_RANGE from' ],
    [ '/stats?from=2024-01-01&to=2026-01-01', '400 HG_FIELD_RANGE to' ],
    [ "/stats?$range&color=red", '400 HG_FIELD_UNKNOWN color' ],
    [ "/stats?$range&format=xml", '400 HG_FIELD_ENUM format' ],
    [ "/stats?$range&group=sex&group=dept", '400 HG_FIELD_UNKNOWN group' ],
    [ "/stats?$range&template=a%20b", '400 HG_FIELD_PATTERN template' ],
    [ "/stats?$range&dept=" . ('D' x 51), '400 HG_FIELD_TOO_LONG dept' ],
    [ "/stats/questions?$range", '400 HG_FIELD_REQUIRED template' ],
    [ "/stats/questions?template=nope$run", '404 HG_NOT_FOUND template' ],
    [ "/stats/questions?template=$tid&version=9", '404 HG_NOT_FOUND version' ],
    [ '/sessions?date=yesterday', '400 HG_FIELD_DATE date' ],
    [ '/sessions?state=lost', '400 HG_FIELD_ENUM state' ],
    [ '/sessions?limit=0', '400 HG_FIELD_RANGE limit' ],
    [ '/sessions?limit=x', '400 HG_FIELD_PATTERN limit' ],
    [ "/sessions/ST${run}1?x=1", '400 HG_FIELD_UNKNOWN x' ],
);
for my $b (@bad) {
    ($r, $j) = get($b->[0], $admin);
    ok t_cmp(err($r) . ' ' . ($r->header('Content-Type') // ''), qr/^\Q$b->[1]\E application\/json/, "$b->[0]: $b->[1]");
}
$r = POST("$S/stats", Cookie => $admin, 'Content-Type' => 'application/json', content => '{}');
ok t_cmp($r->code . ' ' . (json_of($r)->{code} // ''), '405 HG_METHOD_NOT_ALLOWED', 'POST on a GET route: 405');
