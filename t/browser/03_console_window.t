# The staff console at the window, in a real browser: a cashier logs in on the console's form, finds a
# bill the HIS issued in the bill list, and uses the 操作 column — 换开纸质, 作废纸质 with a reason,
# 冲红 with a reason, and sees the 库存预警 line (t/browser/console_window.mjs drives Debian's
# Chromium and reports what it saw; this file asserts on it and on the database).
# Screenshot: t/logs/screenshots/console_window.png (HG_SCREENSHOT_DIR keeps a copy, as in 01).
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

plan tests => 19;

my ($top, $shots, $base, $logs) = browser_env();

# ---- a bill of the HIS, on the demo billing point with paper stock
my $j = json_of(signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', outpatient(placeCode => 'MZ01')));
ok t_cmp($j->{billNo} // '', qr/^\d{10}$/, 'the HIS issued a bill');
my ($code, $no) = ($j->{billBatchCode} // '', $j->{billNo} // '');

# ---- a window nearly out of e-bill numbers, for the 库存预警 line (InvoiceStockLow: 1000)
psql("INSERT INTO invoice.places VALUES ('44010001', 'WARN03', '预警窗口') ON CONFLICT DO NOTHING");
psql("INSERT INTO invoice.stock (institution, place_code, kind, bill_batch_code, start_no, end_no, next_no) "
     . "SELECT '44010001', 'WARN03', 'ebill', '44039903', 1, 5, 1 WHERE NOT EXISTS "
     . "(SELECT 1 FROM invoice.stock WHERE place_code = 'WARN03')");

# ---- the browser (bounded: the script gives up after 40 s, this after 55 s)
my $errf = "$logs/browser-console_window.stderr";
my ($o, $exit) = run_script(55, $errf, undef, 'node', "$top/t/browser/console_window.mjs", $base, $code, $no, $shots,
                            'clerk', 'Cashier-Pass#2026x');
ok t_cmp("exit=$exit ok=" . ($o->{ok} ? 1 : 0), 'exit=0 ok=1',
         'the browser script ran to the end (' . ($o->{elapsed_ms} // '?') . ' ms)') or diag_file($errf, $o->{error});
my $s = $o->{steps} // {};

my $warn = $o->{stock_warn} // {};
ok t_cmp(($warn->{hidden} ? 'hidden' : 'shown') . ' ' . ($warn->{text} // ''), qr/^shown 库存预警：.*预警窗口（WARN03）电子票据仅余 5 张/,
         '库存预警 names the window with 5 e-bill numbers left');
ok t_cmp(($warn->{text} // '') =~ /（MZ01）/ ? 'MZ01 named' : 'MZ01 not named', 'MZ01 not named',
         'and not the demo window with a million');
ok t_cmp(join(',', @{ ($s->{found} // {})->{buttons} // [] }), '冲红,换开纸质,重发短信', 'a normal bill offers 冲红, 换开纸质 and 重发短信');
ok t_cmp(join(',', @{ ($s->{found} // {})->{links} // [] }), '票据,告知单', 'and its layout file and 告知单 to print');
my $paper = psql("SELECT p.p_bill_batch_code || ' ' || p.p_bill_no FROM invoice.papers p JOIN invoice.bills b ON b.id = p.bill_id "
                 . "WHERE b.bill_batch_code = '$code' AND b.bill_no = '$no' ORDER BY p.id LIMIT 1");
ok t_cmp(($s->{paper} // {})->{message} // '', "已换开纸质票据 $paper", '换开纸质: the page names the paper the database holds');
ok t_cmp(join(',', @{ ($s->{paper}{row} // {})->{buttons} // [] }) . ' | ' . (($s->{paper}{row} // {})->{paper} // ''),
         "作废纸质,重新换开,重发短信 | $paper", 'the row shows the paper and offers 作废纸质 and 重新换开');
ok t_cmp(($s->{paper_void} // {})->{message} // '', "已作废纸质票据（$no）", '作废纸质 done');
ok t_cmp(decode('UTF-8', psql("SELECT p.void_operator || '|' || p.void_reason FROM invoice.papers p JOIN invoice.bills b "
                              . "ON b.id = p.bill_id WHERE b.bill_batch_code = '$code' AND b.bill_no = '$no'")),
         'clerk|打印错误', 'with the cashier and the reason typed into the prompt');
my $red = psql("SELECT r.bill_batch_code || ' ' || r.bill_no FROM invoice.bills b JOIN invoice.bills r ON r.id = b.related_id "
               . "WHERE b.bill_batch_code = '$code' AND b.bill_no = '$no' AND b.state = 'flushed'");
ok t_cmp(($s->{flush} // {})->{message} // '', "已冲红：红票 $red", '冲红: the page names the red bill the database holds');
ok t_cmp((($s->{flush} // {})->{row} // {})->{state} // '', '已冲红', 'the row says 已冲红');
ok t_cmp(psql("SELECT issued_by FROM invoice.bills WHERE bill_batch_code || ' ' || bill_no = '$red'"), 'clerk',
         'the red bill is the cashier\'s (开票人)');
ok t_cmp(join(',', @{ (($s->{flush} // {})->{row} // {})->{buttons} // ['?'] }), '', 'and offers no action any more');
my ($bv) = (($s->{blank_void} // {})->{message} // '') =~ /^已作废空白纸质票据 (\d{8} \d{10})$/;
ok t_cmp($bv && psql("SELECT count(*) FROM invoice.blank_voids WHERE p_bill_batch_code || ' ' || p_bill_no = '$bv' "
                     . "AND operator = 'clerk'") == 1 ? 'voided' : ($s->{blank_void}{message} // 'not run'), 'voided',
         '作废空白纸质票号 at the window: the next paper number voided, under the cashier');
ok t_cmp($s->{window_kept} // '', 'MZ01', 'the window (开票点) is kept for the next visit');
ok t_cmp(join(' | ', map { "$_->{type}" } @{ $o->{dialogs} // [] }), 'confirm | prompt | prompt | prompt',
         'one confirmation, then a reason asked twice');
ok t_cmp(join(' | ', @{ $o->{console_errors} // ['(not run)'] }, @{ $o->{page_errors} // [] },
              @{ $o->{bad_responses} // ['(not run)'] }), '',
         'on the bill list: no console errors, no uncaught exceptions, no error answers');
ok t_cmp(png_width("$shots/console_window.png") =~ /^\d+$/ ? 'png' : png_width("$shots/console_window.png"), 'png',
         'screenshot console_window.png (the bill list)');

keep_screenshots($shots, 'console_window.png');
