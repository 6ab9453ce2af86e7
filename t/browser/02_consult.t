# mod_consult's patient pages in a real browser: Debian's Chromium driven by playwright-core
# (t/browser/consult.mjs) on a phone viewport (390×844 CSS px, DPR 2, WeChat user agent).
# The HIS announces three visits of the respiratory demo department (HG_CONSULT_DEPT of
# mod_consult/demo.env) through the signed API; the browser opens the links the HIS got:
#   1. a walk through a logic jump, a range hint, Back, a reload in the middle, review, submit, completed
#   2. a red flag ending on the stopped screen with the advice
#   3. an expired link (and a broken one): the friendly pages
#   4. the staff console page (desktop width): the day's list, one questionnaire, the charts — checked
#      against what the staff JSON API answers for the same question — and the preview of a template
#      version (the patient's page walked through the staff preview API: logic jump, red flag, Back,
#      review, end; nothing stored)
#   5. the console's 问卷模板 as two new staff users of the department: an author writes a template in
#      the editor (a bad definition refused, the path at fault shown), saves and submits it; a reviewer
#      rejects it with a comment; the author edits and resubmits; the reviewer approves it (已发布),
#      previews it from its row, adds a choice rule and disables it — checked against the database
# Then the server is asked what it stored (signed summary, the database) — the page's word is not enough.
#
# Screenshots in t/logs/screenshots/consult_{question,review,done,stopped,expired}.png; to keep them
# set HG_SCREENSHOT_DIR (see t/browser/01_bill_page.t).
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest ();
use Apache::TestUtil qw(t_cmp);
use File::Copy qw(copy);
use File::Path qw(make_path);
use Encode qw(decode_utf8);
use Time::HiRes qw(time);
use HGBrowser qw(run_script png_width diag_file);
use HG qw(json_of signed_request psql staff_login cli_env);

binmode STDOUT, ':encoding(UTF-8)';
binmode STDERR, ':encoding(UTF-8)';
plan tests => 100;

my $t0    = time;
my $top   = $ENV{HG_TOP} // '.';
my $vars  = Apache::Test::config()->{vars};
my $shots = "$vars->{t_logs}/screenshots";
my $base  = 'http://' . Apache::TestRequest::hostport();
my $run   = 'B' . $$ . time;
my $day   = '2026-05-20';          # the visits' day (the patient is 46 that day)
my @SHOTS = qw(consult_question consult_review consult_done consult_stopped consult_expired);
my @DESK  = qw(consult_console consult_console_preview consult_templates consult_template_editor);

open my $envf, '<', "$top/mod_consult/demo.env" or die "mod_consult/demo.env: $!";
my ($dept) = map { /^HG_CONSULT_DEPT=(\S+)/ ? $1 : () } <$envf>;
close $envf;

sub announce {
    my ($n) = @_;
    my $r = signed_request('POST', '/consult/api/v1/visits', {
        visitNo => "$run$n", patientId => "P$run", name => '张三丰', sex => 'M', birthDate => '1980-05-20',
        department => $dept, doctor => '王医生', visitTime => "$day 10:15:00" });
    my $j = json_of($r);
    return ($r->code, $j->{token} // '', $j->{url} // '', $j->{template} // '');
}
my ($c1, $tok1, $url1, $tpl) = announce(1);
my ($c2, $tok2) = announce(2);
my ($c3, $tok3) = announce(3);
ok t_cmp("$c1 $c2 $c3 $tpl", "201 201 201 resp-0301|1", "three visits of department $dept, the respiratory template");
ok t_cmp($url1, qr{/consult/q\.html#t=\Q$tok1\E$}, 'the link names the session in the fragment only');
psql("UPDATE consult.visits SET expires_at = now() - interval '1 second' WHERE visit_no = '${run}3'");

my $visits_before = psql("SELECT count(*) FROM consult.visits");

# ---- an author and a reviewer of the department (the CLI, as t/api/32_consult_authoring.t)
my ($tau, $trv, $tpw, $tid) = ("ui_au$$", "ui_rv$$", 'Quest-UI-Pass#2026x', lc "ui$run");
for ([$tau, 'consult_author'], [$trv, 'consult_reviewer']) {
    `echo '$tpw' | @{[cli_env()]} '$top/tools/hisgate' user add --username $_->[0] --institution 44010001 --roles $_->[1] --department '$dept' 2>&1`;
}
ok t_cmp(join(' ', map { (staff_login($_, $tpw))[1] ? 'in' : 'out' } $tau, $trv), 'in in',
         "an author and a reviewer of department $dept can log in");

# ---- the browser (bounded: consult.mjs gives up after 95 s, this after 105 s)
my $errf = "$vars->{t_logs}/browser-consult.stderr";
my %env;
@env{qw(HG_CONSOLE_USER HG_CONSOLE_PASSWORD HG_CONSOLE_DATE HG_CONSOLE_DEPT HG_CONSOLE_VISIT)} =
    ('admin', 'Adm1n-Test-Pass#2026', $day, $dept, "${run}1");
@env{qw(HG_TPL_AUTHOR HG_TPL_REVIEWER HG_TPL_PASSWORD HG_TPL_ID)} = ($tau, $trv, $tpw, $tid);
my ($o, $exit) = run_script(105, $errf, \%env, 'node', "$top/t/browser/consult.mjs", $base, $tok1, $tok2, $tok3, $shots);
ok t_cmp("exit=$exit ok=" . ($o->{ok} ? 1 : 0), 'exit=0 ok=1',
         'the browser script ran to the end (Chromium ' . ($o->{browser_version} // '?') . ', ' . ($o->{elapsed_ms} // '?') . ' ms)')
    or diag_file($errf, $o->{error});

my %step = map { $_->{label} => $_ } @{ $o->{walk_steps} // [] };
sub q1 { my ($s) = @_; my $q = ($step{$s} // {})->{questions} // []; return $q->[0] // {}; }
sub qid { return q1($_[0])->{linkId} // '(none)'; }

# ---- the walk
ok t_cmp($o->{walk_status} // 0, 200, 'q.html answers 200');
ok t_cmp((q1('first')->{title} // '') . '|' . (q1('first')->{visible} ? 'visible' : 'hidden'), '最近是否咳嗽？|visible',
         'the first question, one at a time');
ok t_cmp(join(',', map { $_->{text} // '' } @{ q1('first')->{options} // [] }), '是,否', 'with its options');
ok t_cmp(($step{first}{back}{text} // 'none'), 'none', 'no Back on the first question');
ok t_cmp(($o->{first}{location_hash} // '?') . ' ' . ($o->{first}{stored} ? 'stored' : 'not stored'), ' stored',
         'the token left the address bar and lives in sessionStorage');
ok t_cmp(qid('after cough=是'), 'cough_days', 'logic jump: cough = 是 asks how many days');
ok t_cmp(q1('duration 0')->{error} // '', '不能小于 1', 'a duration of 0: the page says the minimum before asking the server');
ok t_cmp(qid('after duration 5'), 'fever', 'then fever');
ok t_cmp(qid('after fever=否'), 'red_flag', 'fever = 否: the fever questions are skipped');
ok t_cmp(($step{'after fever=否'}{back}{text} // '') . '|' . ($step{'after fever=否'}{back}{visible} ? 'visible' : 'hidden'),
         '上一步|visible', 'Back is offered');
ok t_cmp(qid('back') . ' ' . join(',', map { $_->{checked} ? $_->{text} : () } @{ q1('back')->{options} // [] }), 'fever 否',
         'Back: the fever question again, with the answer given');
ok t_cmp(qid('after fever=是'), 'fever_temp', 'changed to 是: now the temperature is asked');
ok t_cmp(qid('reloaded'), 'fever_temp', 'a reload resumes on the same question (token from sessionStorage)');
ok t_cmp(join(' ', map { qid($_) } 'after temperature', 'after fever days', 'after red flag 否', 'after past', 'after smoke',
              'after allergy', 'after allergy detail'),
         'fever_days red_flag past smoke allergy allergy_detail family', 'the rest in template order, allergy detail after 药物过敏');
ok t_cmp(q1('after red flag 否')->{hint} // '', qr/可多选/, 'the multiple choice says so');

# ---- review and submit
my $rv = $o->{review} // {};
ok t_cmp($rv->{state} // '', 'review', 'every question answered: the review screen');
ok t_cmp(($rv->{submit}{text} // '') . '|' . ($rv->{submit}{visible} ? 'visible' : 'hidden'), '确认提交|visible', 'with 确认提交');
if (%{ $rv->{sections} // {} }) {
    # the server sends the generated text per section: the page shows it for editing
    ok t_cmp(join(',', sort keys %{ $rv->{sections} }),
             'allergy_history,chief_complaint,family_history,past_history,personal_history,present_illness', 'six editable sections');
    ok t_cmp($rv->{sections}{chief_complaint}{text} // '', qr/咳嗽5天/, '主诉 generated from the answers');
} else {
    # a server without the review object: the page lists the patient's own answers
    ok t_cmp(scalar(@{ $rv->{review_answers} // [] }), 11, 'the eleven answers listed for review');
    ok t_cmp(join('|', @{ $rv->{review_answers} // [] }), qr/^最近是否咳嗽？是\|咳嗽多少天了？5\|是否发热？是\|最高体温（℃）38\.5\|/,
             'as the patient gave them, fever changed to 是');
}
ok t_cmp($o->{submit_status} // 0, 200, 'submitted');
my $done = $o->{completed} // {};
ok t_cmp(($done->{state} // '') . ' ' . ($done->{msg_title}{text} // ''), 'completed 预问诊已提交', 'the completed screen');
ok t_cmp($done->{sections}{chief_complaint}{text} // '', $o->{edited_chief} // qr/^咳嗽5天/, '主诉 shown');
ok t_cmp($done->{sections}{present_illness}{text} // '', qr/伴发热，最高体温38\.5℃，发热2天/, '现病史 with the fever answers given after Back');
ok t_cmp($done->{sections}{allergy_history}{text} // '', qr/青霉素/, '过敏史 with the allergen');
ok t_cmp($done->{stored} ? 'kept' : 'forgotten', 'forgotten', 'the tab forgets the token once submitted');

# ---- what the server stored
my $r = signed_request('GET', "/consult/api/v1/visits/${run}1/summary", '');
my $sum = json_of($r);
# the summary keeps the generated text in sections and what the patient changed beside it
ok t_cmp(($sum->{state} // '') . ' ' . ($o->{edited_chief} ? ($sum->{patientEdits}{chief_complaint} // '')
                                                        : ($sum->{sections}{chief_complaint} // '')),
         'completed ' . ($o->{edited_chief} // '咳嗽5天'), 'the doctor reads the completed summary (with the patient\'s edit)');
ok t_cmp($sum->{sections}{present_illness} // '', qr/最高体温38\.5℃/, 'with the answers the browser sent');
ok t_cmp(psql("SELECT (answers->>'fever') || ' ' || (answers->>'cough_days') FROM consult.visits WHERE visit_no = '${run}1'"),
         'yes 5', 'stored answers: fever = yes after Back, cough 5 days');

# ---- the red flag
my $st = $o->{stopped} // {};
ok t_cmp(($st->{state} // '') . ' ' . ($st->{msg_title}{text} // ''), 'stopped 请尽快就医', 'chest pain: the stopped screen');
ok t_cmp(($st->{advice}{text} // '') . '|' . ($st->{advice}{visible} ? 'visible' : 'hidden'), qr/急诊.*\|visible$/,
         'the advice to go to the emergency department, visible');
ok t_cmp($o->{stopped_reload} // '', 'cq-stopped', 'a reload shows the stopped screen again');
ok t_cmp(psql("SELECT state FROM consult.visits WHERE visit_no = '${run}2'"), 'stopped', 'and the server has it stopped');

# ---- expired and broken links
my $ex = $o->{expired} // {};
ok t_cmp(($ex->{msg_id} // '') . ' ' . ($ex->{msg_title}{text} // ''), 'cq-expired 链接已失效', 'an expired link: the friendly page');
ok t_cmp($ex->{msg_desc}{text} // '', qr/重新进入/, 'saying what to do');
ok t_cmp(join(' | ', @{ $ex->{bad_responses} // ['(not run)'] }), '404 GET /consult/pub/v1/sessions/<token>',
         'its only error answer is the session look-up');
my $bl = $o->{badlink} // {};
ok t_cmp(($bl->{msg_id} // '') . ' ' . ($bl->{msg_title}{text} // ''), 'cq-badlink 链接不完整', 'a broken link: 链接不完整');
ok t_cmp(scalar(grep { m{/consult/pub/} } @{ $bl->{requests} // ['/consult/pub/x'] }), 0, 'without asking the server');

# ---- privacy, layout and health
my $seen = $o->{walk_seen} // {};
my @api = grep { $_->{url} =~ m{/consult/pub/} } @{ $seen->{requests} // [] };
ok t_cmp(scalar(@api) >= 15 ? 'many' : scalar(@api), 'many', 'the page talked to the session API (' . scalar(@api) . ' requests)');
ok t_cmp(join(' ', map { $_->{referer} // '-' } @api), qr/^(- )*-$/, 'no Referer on any API request (no-referrer)');
ok t_cmp(scalar(grep { $_->{url} =~ /[?&]/ } @{ $seen->{requests} // [] }), 0, 'no query string anywhere: nothing personal in a URL');
ok t_cmp(scalar(grep { index($_->{url}, '张') >= 0 || index($_->{url}, '%E5%BC%A0') >= 0 } @{ $seen->{requests} // [] }), 0,
         "the patient's name in no URL");
ok t_cmp(absent('张三丰', join('', @{ $seen->{json} // [] }) . ($done->{body_text} // '') . ($st->{body_text} // '')), 'absent',
         "nor in any answer or screen");
my @widths = map { $_->{scroll_width} // 9999 } @{ $o->{walk_steps} // [] }, $st, $ex;
my ($widest) = sort { $b <=> $a } @widths;
ok t_cmp(($widest // 9999) <= 390 ? 1 : 0, 1, 'no horizontal scrollbar at 390 px on any screen (widest ' . ($widest // '?') . ')');
# a server without …/back answers 404 there (the page then goes back in its own history)
my @bad = grep { !m{^404 POST /consult/pub/v1/sessions/<token>/back$} } @{ $seen->{bad_responses} // ['(not run)'] };
ok t_cmp(join(' | ', @bad, @{ $seen->{failed_requests} // [] }), '', 'no failed requests in the walk');
my @cerr = grep { !/status of 404/ } @{ $seen->{console_errors} // ["(not run)"] };
ok t_cmp(join(' | ', @cerr, @{ $seen->{page_errors} // [] }, @{ $o->{stopped_seen}{page_errors} // [] }), '',
         'no console errors (but an expected 404), no uncaught exceptions');
ok t_cmp(join(' ', map { png_width("$shots/$_.png") } @SHOTS), join(' ', (780) x @SHOTS), 'five screenshots, 780 px wide (DPR 2)');

# ---- the staff console
my $cn = $o->{console} // {};
my ($admin) = (staff_login('admin', 'Adm1n-Test-Pass#2026'))[1];
my $api = sub { json_of(Apache::TestRequest::GET("/consult/staff/v1/$_[0]", Cookie => $admin)) };
my $rows = join("\n", @{ $cn->{rows} // [] });
ok t_cmp(join(' ', map { ($rows =~ /^\S+ \S+\|\Q$run$_->[0]\E\|张\*丰\|男\|46\|王医生\|呼吸内科预问诊\|\d+\|\Q$_->[1]\E\|/m) ? 'row' : 'missing' } [1, '已提交'], [2, '已终止'], [3, '填写中']),
         'row row row', "console: the day's list shows the three visits, names masked, with their states");
ok t_cmp($rows, qr/^科室 \Q$dept\E（\d+ 份）/m, 'grouped under their department');
ok t_cmp($cn->{detail_chief} // '', $sum->{sections}{chief_complaint} // '?', "one questionnaire: the 主诉 the doctor's API has");
ok t_cmp(join('|', @{ $cn->{detail_answers} // [] }), qr/是否发热？是\|最高体温（℃）38\.5/, 'with the answers as given');
my $sd = $api->("stats?from=$day&to=$day&group=dept");
my ($srow) = grep { $_->{key} eq $dept } @{ $sd->{rows} // [] };
my $want = $srow ? join('|', $dept, @$srow{qw(visits started completed stopped open)}) : 'no API row';
ok t_cmp((grep { index($_, "$want|") == 0 } @{ $cn->{stats_rows} // [] }) ? $want : join(' / ', @{ $cn->{stats_rows} // [] }), $want,
         'the statistics table says what the API says');
ok t_cmp(($cn->{stats_bars} // 0) . ' ' . (($cn->{stats_slices} // 0) >= 1 ? 'pie' : 'no pie'), scalar(@{ $sd->{rows} // [] }) . ' pie',
         'a bar per department and a pie, drawn as inline SVG');
my $qd = $api->("stats/questions?template=resp-0301&from=$day&to=$day");
ok t_cmp($cn->{q_head} // '', qr/已提交问卷 \Q$qd->{questionnaires}\E 份/, "per question: the API's number of questionnaires");
my ($fq) = grep { $_->{linkId} eq 'fever' } @{ $qd->{items} // [] };
ok t_cmp($cn->{q_fever} // '', join(' ', map { "$_->{display} $_->{count}（" . (0 + sprintf('%.1f', 100 * $_->{share})) . '%）' } @{ $fq->{options} // [] }),
         'the fever bars carry the counts and shares the API gives');
ok t_cmp(($cn->{q_slices_fever} // 0) >= 1 ? 1 : 0, 1, 'and as a pie on request');
ok t_cmp(($cn->{csv_href} // '') . ' ' . ($cn->{q_csv_href} // ''), qr{^/consult/staff/v1/sessions\?.*format=csv /consult/staff/v1/stats/questions\?.*format=csv$},
         'CSV download links');
ok t_cmp(absent('张三丰', $cn->{body_text}) . ' ' . join(' | ', @{ $cn->{errors} // ['(not run)'] }), 'absent ',
         'no full name on the console page, no script errors');
ok t_cmp(png_width("$shots/consult_console.png"), 1280, 'screenshot consult_console.png');

# ---- the console's preview of a template version: the patient's screens, nothing stored
my $pv = $cn->{preview} // {};
my %ps = %{ $pv->{steps} // {} };
ok t_cmp(($ps{first}{title} // '') . ' | ' . ($ps{first}{banner} // ''), '最近是否咳嗽？ | 预览 · 不会保存任何内容',
         "preview: the template's first question on the patient's page, marked as a preview");
ok t_cmp(join(' ', map { $ps{$_}{q} // '(none)' } 'after cough', 'after days', 'after fever'), 'cough_days fever red_flag',
         'cough = 是 asks its duration (logic jump), fever = 否 skips the fever questions');
ok t_cmp(($ps{stopped}{msg_id} // '') . ' ' . ($ps{stopped}{advice} // ''), qr/^cq-stopped .*急诊/, 'chest pain = 是: the stopped screen with the advice');
ok t_cmp(($ps{back}{q} // '') . ' ' . ($ps{back}{checked} // ''), 'red_flag 是', 'Back from the stop: the question again, with its answer');
ok t_cmp(($ps{review}{state} // '') . ' ' . ($ps{review}{chief} // ''), 'review 咳嗽3天', 'to the review with the generated 主诉');
ok t_cmp($ps{done}{msg_id} // '', 'cq-done', 'and the end screen');
my @preq = @{ $pv->{requests} // [] };
ok t_cmp(join(' ', sort { $a cmp $b } keys %{ { map { s{/consult/staff/v1/templates/resp-0301/versions/1/preview}{<preview>}r => 1 } @preq } }),
         join(' ', sort 'GET <preview>', 'GET /consult/q.js', 'GET /consult/q.css', 'POST <preview>'),
         'only the preview API (and the page) was asked: no session, no visit');
ok t_cmp(psql("SELECT count(*) FROM consult.visits"), $visits_before, 'no visit was created by the preview');

# ---- the console's 问卷模板: author and reviewer, checked against the database
my $tp = $o->{templates} // {};
sub cells { my ($row, @i) = @_; return join '|', map { ($row // {})->{cells}[$_] // '?' } @i; }
sub acts { return join ',', @{ ($_[0] // {})->{acts} // ['(no row)'] }; }
ok t_cmp(($tp->{author_tools} // '?') . ' / ' . ($tp->{reviewer_tools} // '?'), '新建问卷,导入 FHIR / ,',
         'templates: 新建问卷 and 导入 FHIR for the author only');
ok t_cmp(($tp->{skeleton}{items} // '') . ' ' . ($tp->{skeleton}{dept} // ''), "complaint,allergy $dept",
         "新建问卷: a skeleton definition, the author's department");
ok t_cmp(join(' ', $tp->{bad_status} // 0, $tp->{bad}{field} // '', $tp->{bad}{shown} ? 'shown' : 'hidden'),
         '400 definition.items[2].enableWhen[0].question shown', 'a bad reference is refused, the path at fault shown beside the editor');
ok t_cmp($tp->{bad}{error} // '', qr/alergy/, "with the server's message naming the unknown linkId");
ok t_cmp(($tp->{good_status} // 0) . ' ' . ($tp->{saved_msg} // '') . ' ' . ($tp->{fail_hidden} ? 'no error' : 'error still shown'),
         "201 已保存：$tid 第 1 版（草稿） no error", 'fixed: saved as draft version 1');
ok t_cmp(cells($tp->{draft}, 0 .. 4), "$tid|界面测试问卷|1|科室 $dept|草稿", 'the list: id, title, version, scope, 草稿');
ok t_cmp(cells($tp->{draft}, 5), "创建 $tau", 'created by the author');
ok t_cmp(acts($tp->{draft}), '编辑,提交审核,新版本,预览,导出 FHIR', "the draft's actions for its author");
ok t_cmp(cells($tp->{review_author}, 4) . ' ' . acts($tp->{review_author}), '待审核 预览,导出 FHIR',
         '提交审核: 待审核, nothing more for the author (no review of one\'s own work)');
ok t_cmp(acts($tp->{review_reviewer}), '通过,退回,预览,导出 FHIR', 'the reviewer is offered 通过 and 退回, not 编辑');
ok t_cmp($tp->{empty_reject} // '', '退回需要填写原因', '退回 without a reason: refused on the page');
ok t_cmp(cells($tp->{rejected}, 4, 6), '已退回|请写明过敏物的问法', '退回 with a comment: 已退回, the comment in the list');
ok t_cmp(cells($tp->{rejected}, 5), "创建 $tau / 提交 $tau / 审核 $trv", 'who created, submitted and reviewed');
ok t_cmp(cells($tp->{rejected_author}, 4, 6) . ' ' . acts($tp->{rejected_author}), '已退回|请写明过敏物的问法 编辑,提交审核,新版本,预览,导出 FHIR',
         'the author sees the comment and may edit again');
ok t_cmp(($tp->{edit_head} // '') . ' ' . ($tp->{edit_status} // 0), "编辑 $tid 第 1 版（已退回） 200", '编辑: the rejected version, saved in place');
ok t_cmp(cells($tp->{approved}, 4, 6) . ' ' . ($tp->{approved_msg} // ''), "已发布|同意发布 $tid 第 1 版 已通过审核并发布",
         'resubmitted and approved with a comment: 已发布');
ok t_cmp(acts($tp->{approved}) . ' / ' . acts($tp->{approved_author}), '预览,导出 FHIR / 编辑,新版本,预览,导出 FHIR',
         'published: the reviewer previews or exports; the author may start the next version');
ok t_cmp($tp->{filtered} // '', 'approved', 'the status filter: only 已发布');
ok t_cmp($tp->{approved}{fhir} // '', qr{/consult/staff/v1/templates/\Q$tid\E/versions/1/fhir$}, '导出 FHIR links to the FHIR export');
ok t_cmp(join(' ', map { $tp->{preview}{$_} // '?' } qw(template version title)), "$tid 1 您这次主要哪里不舒服？",
         "预览 from the row: the preview form filled, the patient's page on the template's first question");
ok t_cmp(join(' ', map { s/: .*//r } @{ $tp->{dialogs} // [] }), 'prompt prompt prompt', 'reasons and comments asked in prompts');
ok t_cmp(decode_utf8(psql("SELECT concat_ws('|', status, department, created_by, updated_by, submitted_by, reviewed_by, review_comment, approved_by, title) "
              . "FROM consult.templates WHERE template_id = '$tid' AND version = '1'")),
         "approved|$dept|$tau|$tau|$tau|$trv|同意发布|$trv|界面测试问卷", 'the database: one version, approved by the reviewer, the author\'s work');
ok t_cmp(decode_utf8(psql("SELECT concat_ws('|', definition->'items'->2->'enableWhen'->0->>'question', definition->'items'->2->>'text', definition->>'id') "
              . "FROM consult.templates WHERE template_id = '$tid' AND version = '1'")),
         "allergy|对什么药物或食物过敏？|$tid", 'with the fixed reference and the edit made after the rejection');
ok t_cmp(($tp->{newver}{msg} // '') . ' | ' . ($tp->{newver}{head} // ''), "$tid 新建了第 2 版（草稿） | 编辑 $tid 第 2 版（草稿）",
         '新版本: a draft copy of the published version, opened in the editor');
ok t_cmp(($tp->{imported}{msg} // '') . ' ' . ($tp->{imported}{items} // ''), "已导入：$tid-fhir 第 1 版（草稿） complaint,allergy,allergy_detail",
         '导入 FHIR: the FHIR export pasted back becomes a new draft with the same questions');
ok t_cmp(psql("SELECT string_agg(concat_ws(':', template_id, version, status, created_by), ' ' ORDER BY template_id, version) "
              . "FROM consult.templates WHERE template_id IN ('$tid', '$tid-fhir')"),
         "$tid:1:approved:$tau $tid:2:draft:$tau $tid-fhir:1:draft:$tau", 'the database: version 2 and the imported template, drafts of the author');
ok t_cmp(($tp->{rule} // '') . ' → ' . ($tp->{rule_off} // ''),
         "$tid|$dept|ZZ9|全部|5|界面测试|$trv|启用|停用 → $tid|$dept|ZZ9|全部|5|界面测试|$trv|已停用|启用",
         'a choice rule added for the department, then disabled');
ok t_cmp(decode_utf8(psql("SELECT concat_ws('|', enabled, department, disease, priority, note, created_by) FROM consult.rules WHERE template_id = '$tid'")),
         "f|$dept|ZZ9|5|界面测试|$trv", 'the rule in the database, disabled');
ok t_cmp(join(' | ', @{ $tp->{errors} // ['(not run)'] }, grep { !m{^400 POST /consult/staff/v1/templates$} } @{ $tp->{bad_responses} // [] }), '',
         'no script errors, no error answer but the refused definition');

my $secs = time - $t0;
ok t_cmp($secs < 110 ? 1 : 0, 1, sprintf('the whole test took %.1f s (< 110 s)', $secs));

if (my $keep = $ENV{HG_SCREENSHOT_DIR}) {
    make_path($keep) unless -d $keep;
    for my $png (map { "$_.png" } @SHOTS, @DESK) {
        next unless -f "$shots/$png";
        copy("$shots/$png", "$keep/$png") or print STDERR "# cannot copy $png to $keep: $!\n";
    }
}

sub absent {
    my ($needle, $hay) = @_;
    return 'unseen' unless defined $hay && length $hay;
    return index($hay, $needle) < 0 ? 'absent' : 'present';
}

