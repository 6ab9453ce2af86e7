# The console's 暂停发送 in a real browser: an operator holds invoice.upload back for the fiscal
# platform's maintenance from the status panel, sees it paused with the reason, and lifts it with 恢复;
# a cashier is not offered the form (t/browser/console_pause.mjs drives Debian's Chromium and reports
# what it saw; this file asserts on it and on the database).
# Screenshot: t/logs/screenshots/console_pause.png (HG_SCREENSHOT_DIR keeps a copy, as in 01).
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest ();
use Apache::TestUtil qw(t_cmp);
use Encode qw(decode);
use HG qw(json_of signed_request psql);
use HGBrowser qw(run_script png_width diag_file browser_env keep_screenshots);
use HGInvoice qw(outpatient);

plan tests => 11;

my ($top, $shots, $base, $logs) = browser_env();
END { eval { psql("DELETE FROM hg.outbox_pauses") } }

# a bill, so that invoice.upload is among the status panel's topics
my $j = json_of(signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', outpatient()));
ok t_cmp($j->{billNo} // '', qr/^\d{10}$/, 'the HIS issued a bill');

my $reason = '财政平台系统维护';
my $errf = "$logs/browser-console_pause.stderr";
my ($o, $exit) = run_script(55, $errf, undef, 'node', "$top/t/browser/console_pause.mjs", $base, 'invoice.upload', $reason,
                            $shots, 'admin', 'Adm1n-Test-Pass#2026', 'clerk', 'Cashier-Pass#2026x');
ok t_cmp("exit=$exit ok=" . ($o->{ok} ? 1 : 0), 'exit=0 ok=1',
         'the browser script ran to the end (' . ($o->{elapsed_ms} // '?') . ' ms)') or diag_file($errf, $o->{error});
my $s = $o->{steps} // {};
ok t_cmp(($s->{form_shown} ? 1 : 0) . ' ' . ((grep { $_ eq 'invoice.upload' } @{ $s->{choices} // [] }) ? 1 : 0), '1 1',
         'the operator gets the form, with invoice.upload to choose');
ok t_cmp(($s->{before} // {})->{pause} // '?', '', 'the topic flows before');
ok t_cmp(($s->{paused} // {})->{pause} // '', qr/^已暂停 \Q$reason\E（至 手动恢复） 恢复$/, 'after 暂停发送: paused, why, until resumed, and 恢复');
my $db = decode('UTF-8', psql("SELECT paused_by || '|' || reason || '|' || coalesce(until::text, 'none') FROM hg.outbox_pauses "
                              . "WHERE topic = 'invoice.upload'"));
# (read after the script: it resumed the topic, so the row is gone; the journal keeps the pause)
ok t_cmp($db, '', 'resumed: the pause is gone from the database');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE caller = 'admin' AND endpoint IN ('POST /hg/outbox/pause', 'POST /hg/outbox/resume') "
              . "AND status = 200 AND at > now() - interval '2 minutes'") >= 2 ? 1 : 0, 1, 'the pause and the resume are journalled');
ok t_cmp((grep { $_ eq 'invoice.upload' } @{ $s->{choices_paused} // ['invoice.upload'] }) ? 1 : 0, 0,
         'a paused topic is not offered again');
ok t_cmp(($s->{resumed} // {})->{pause} // '?', '', 'after 恢复: flowing again');
ok t_cmp($s->{clerk_form_shown} ? 1 : 0, 0, 'a cashier is not offered the form');
ok t_cmp(join(' | ', @{ $o->{page_errors} // [] }, @{ $o->{bad_responses} // ['(not run)'] }), '',
         "the operator's page: no uncaught exceptions, no error answers");

keep_screenshots($shots, 'console_pause.png');
