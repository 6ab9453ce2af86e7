# mod_invoice staff console: stock apply (申领入库) and distribution (分发), staff issuance (手工开具),
# the daily report (JSON and CSV), the bill list, roles and CSRF
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Encode qw(decode);
use JSON::PP;
use HG qw(json_of staff_login psql cli_env wait_until);
use HGInvoice qw(outpatient);

plan tests => 106;

my $base = '/invoice/staff/v1';
my $json = JSON::PP->new->utf8->canonical;
# a bill code of our own per run, far from the demo's 44010126 / 44010226
my $batch = sprintf('4409%04d', $$ % 10000);
my $pbatch = sprintf('4408%04d', $$ % 10000);
my $place = 'ST' . ($$ % 100000);
my $place2 = $place . 'B';

sub jpost {
    my ($path, $body, @h) = @_;
    return POST "$base$path", 'Content-Type' => 'application/json', content => $json->encode($body), @h;
}
sub err_is {
    my ($r, $status, $code, $name) = @_;
    ok t_cmp($r->code . ' ' . (json_of($r)->{code} // '-'), "$status $code", $name);
}

my ($res, $cookie, $csrf) = staff_login('admin', 'Adm1n-Test-Pass#2026');
ok t_cmp($res->code, 200, 'admin logs in');
my @admin = (Cookie => $cookie, 'X-CSRF-Token' => $csrf);

err_is(GET("$base/stock"), 401, 'HG_LOGIN_REQUIRED', 'stock needs a login');

# ---- 申领入库: into the store room POOL (created on first use)
$res = jpost('/stock/apply', { kind => 'ebill', billBatchCode => $batch, startNo => 1, endNo => 1000 }, @admin);
my $pool = json_of($res);
ok t_cmp($res->code, 201, 'range applied');
ok t_cmp("$pool->{placeCode} $pool->{placeName} $pool->{startNo}-$pool->{endNo} $pool->{remaining}",
         'POOL 票据库房 1-1000 1000', 'into the store room, all unused');
# make run seeds the demo windows again at every start: a place made here is not one of them
my $demo = do { local $/; open my $fh, '<:raw', "$ENV{HG_TOP}/mod_invoice/demo.sql" or die $!; <$fh> };
psql($demo);
my $rc = $?;
ok t_cmp($rc . ' ' . psql("SELECT string_agg(kind, ',') FROM invoice.stock WHERE place_code = 'POOL'"), '0 ebill',
         'the demo data loads again with the store room there, and gives it no stock');

$res = jpost('/stock/apply', { kind => 'ebill', billBatchCode => $batch, startNo => 900, endNo => 1100 }, @admin);
err_is($res, 409, 'HG_INVOICE_STOCK_OVERLAP', 'an overlapping range of the same bill code is refused');
ok t_cmp(json_of($res)->{message}, qr/1-1000/, 'and the message names the stored range');
$res = jpost('/stock/apply', { kind => 'ebill', billBatchCode => $batch, startNo => 2000, endNo => 1999 }, @admin);
err_is($res, 400, 'HG_FIELD_RANGE', 'endNo below startNo');
$res = jpost('/stock/apply', { kind => 'ebill', billBatchCode => '4401', startNo => 1, endNo => 9 }, @admin);
err_is($res, 400, 'HG_FIELD_PATTERN', 'bill code must be 8 digits');

$res = jpost('/stock/apply', { kind => 'ebill', billBatchCode => $batch, startNo => 1001, endNo => 1100 }, Cookie => $cookie);
err_is($res, 403, 'HG_CSRF', 'no CSRF token: refused');

# ---- 撤销入库: a range typed wrong (5000-50999 for 5000-5099) goes while untouched, and the right
# one can then be applied; a range issued from or distributed stays
$res = jpost('/stock/apply', { kind => 'ebill', billBatchCode => $batch, startNo => 5000, endNo => 50999 }, @admin);
my $typo = json_of($res);
err_is(jpost('/stock/withdraw', { stockId => $typo->{stockId} }, @admin), 400, 'HG_FIELD_REQUIRED', 'withdraw: a reason is required');
$res = jpost('/stock/withdraw', { stockId => $typo->{stockId}, reason => '号段录入错误' }, @admin);
ok t_cmp($res->code . ' ' . (json_of($res)->{startNo} // '-') . '-' . (json_of($res)->{endNo} // '-')
         . ' ' . psql("SELECT count(*) FROM invoice.stock WHERE id = $typo->{stockId}")
         . ' ' . psql("SELECT count(*) FROM invoice.stock_log WHERE stock_id = $typo->{stockId}"),
         '200 5000-50999 0 0', 'an untouched range is withdrawn, with its apply record');
$res = jpost('/stock/apply', { kind => 'ebill', billBatchCode => $batch, startNo => 5000, endNo => 5099 }, @admin);
ok t_cmp($res->code . ' ' . jpost('/stock/withdraw', { stockId => json_of($res)->{stockId}, reason => '测试后撤销' }, @admin)->code,
         '201 200', 'and the right range goes in over it (withdrawn again: the counts below are of 1-1000)');
err_is(jpost('/stock/withdraw', { stockId => $typo->{stockId}, reason => 'x' }, @admin), 404, 'HG_NOT_FOUND',
       'a range withdrawn already is not found');

# ---- 分发
$res = jpost('/stock/distribute', { stockId => $pool->{stockId}, count => 1001, placeCode => $place,
                                    placeName => '测试窗口' }, @admin);
err_is($res, 409, 'HG_INVOICE_NO_STOCK', 'more than remain is refused');
$res = jpost('/stock/distribute', { stockId => $pool->{stockId}, count => 100, placeCode => $place }, @admin);
err_is($res, 404, 'HG_NOT_FOUND', 'an unknown billing point without a name');
$res = jpost('/stock/distribute', { stockId => $pool->{stockId}, count => 100, placeCode => $place,
                                    placeName => '测试窗口' }, @admin);
my $d = json_of($res);
ok t_cmp($res->code, 200, 'distributed 100 to a new billing point');
ok t_cmp("$d->{placeCode} $d->{placeName} $d->{startNo}-$d->{endNo} $d->{remaining}", "$place 测试窗口 1-100 100",
         'the place gets the next 100 numbers');
ok t_cmp("$d->{source}{stockId} $d->{source}{startNo}-$d->{source}{endNo} $d->{source}{remaining}",
         "$pool->{stockId} 101-1000 900", 'the store room keeps the rest under the same id');
my ($p) = grep { $_->{placeCode} eq $place } @{ json_of(GET("$base/places", Cookie => $cookie))->{places} // [] };
ok t_cmp($p && "$p->{name} $p->{ebillRemaining}", '测试窗口 100', 'places: the new billing point and its numbers');

# ---- roles
my ($r2, $clerk) = staff_login('clerk', 'Cashier-Pass#2026x');
my $clerk_csrf = json_of($r2)->{csrf_token};
my @clerk = (Cookie => $clerk, 'X-CSRF-Token' => $clerk_csrf);
$res = jpost('/stock/apply', { kind => 'ebill', billBatchCode => $batch, startNo => 5000, endNo => 5009 }, @clerk);
err_is($res, 403, 'HG_FORBIDDEN', 'a cashier cannot apply stock');
ok t_cmp(GET("$base/stock", Cookie => $clerk)->code, 200, 'but may read it');

# ---- 手工开具 by the cashier, from the distributed range
my $bill = outpatient(placeCode => $place);
$res = jpost('/bills/invoiceEBillOutpatient', $bill, @clerk);
my $b = json_of($res);
ok t_cmp($res->code, 200, 'cashier issues at the console');
ok t_cmp("$b->{billBatchCode} $b->{billNo}", "$batch 0000000001", 'bill number = the first of the distributed range');
ok t_cmp($b->{pictureNetUrl}, qr{/invoice/bill\.html#code=$batch&no=0000000001&r=$b->{random}$}, 'answered like the HIS service');
ok t_cmp($b->{createTime}, qr/^\d{17}$/, 'createTime');
ok t_cmp(psql("SELECT issued_by FROM invoice.bills WHERE bill_batch_code = '$batch' AND bill_no = '0000000001'"),
         'clerk', 'issued_by recorded');
$res = jpost('/bills/invoiceEBillOutpatient', $bill, @clerk);
ok t_cmp(json_of($res)->{billNo} . ' ' . (json_of($res)->{replayed} ? 1 : 0), '0000000001 1', 'the same busNo again: the same bill');
err_is(jpost('/bills/noSuchService', $bill, @clerk), 404, 'HG_INVOICE_UNKNOWN_SERVICE', 'unknown service');
my %bad = %$bill; $bad{totalAmt} = '1.00';
err_is(jpost('/bills/invoiceEBillOutpatient', \%bad, @clerk), 400, 'HG_INVOICE_SUM_CHARGE', 'the HIS validation applies');

my ($st) = @{ json_of(GET("$base/stock?placeCode=$place", Cookie => $cookie))->{stock} // [] };
ok t_cmp($st && "$st->{used} $st->{remaining} $st->{nextNo}", '1 99 2', 'stock: used and remaining of the place');
# a range applied straight to a window, one bill issued from it: its next number moved
my $wd = json_of(jpost('/stock/apply', { kind => 'ebill', billBatchCode => sprintf('4407%04d', $$ % 10000), startNo => 7000, endNo => 7009,
                                         placeCode => "${place}W", placeName => '撤销测试窗口' }, @admin));
my $wdb = json_of(jpost('/bills/invoiceEBillOutpatient', outpatient(placeCode => "${place}W"), @clerk));
ok t_cmp($wdb->{billNo} // '-', '0000007000', 'a bill issued from a range applied to a window');
err_is(jpost('/stock/withdraw', { stockId => $wd->{stockId}, reason => '录错' }, @admin), 409, 'HG_INVOICE_STOCK_IN_USE',
       'a range issued from is not withdrawn');
err_is(jpost('/stock/withdraw', { stockId => $pool->{stockId}, reason => '录错' }, @admin), 409, 'HG_INVOICE_STOCK_IN_USE',
       'nor one distributed from');
err_is(jpost('/stock/withdraw', { stockId => $pool->{stockId}, reason => '录错' }, @clerk), 403, 'HG_FORBIDDEN',
       'withdrawing is invoice_admin\'s');

# a used range splits: the used part stays, the next unused numbers move, the rest keeps its id
$res = jpost('/stock/distribute', { stockId => $st->{stockId}, count => 50, placeCode => $place2,
                                    placeName => '测试窗口二' }, @admin);
$d = json_of($res);
ok t_cmp("$d->{startNo}-$d->{endNo} $d->{source}{stockId} $d->{source}{startNo}-$d->{source}{endNo}",
         "2-51 $st->{stockId} 52-100", 'distribution from a used range');
ok t_cmp(psql("SELECT string_agg(start_no || '-' || end_no || '/' || next_no, ',' ORDER BY start_no) FROM invoice.stock "
              . "WHERE bill_batch_code = '$batch'"), '1-1/2,2-51/2,52-100/52,101-1000/101', 'ranges stay disjoint and cover the applied range');
$res = jpost('/bills/invoiceEBillOutpatient', outpatient(placeCode => $place), @clerk);
ok t_cmp(json_of($res)->{billNo}, '0000000052', 'the place goes on with what it kept');

# an untouched range moves whole (paper, another bill code)
$res = jpost('/stock/apply', { kind => 'paper', billBatchCode => $pbatch, startNo => 1, endNo => 10,
                               placeCode => $place }, @admin);
my $pp = json_of($res);
ok t_cmp($res->code . ' ' . ($pp->{placeCode} // ''), "201 $place", 'paper range applied straight to a billing point');
$res = jpost('/stock/distribute', { stockId => $pp->{stockId}, count => 10, placeCode => $place2 }, @admin);
$d = json_of($res);
ok t_cmp("$d->{stockId} $d->{placeCode} $d->{startNo}-$d->{endNo} " . (defined $d->{source} ? 'src' : 'none'),
         "$pp->{stockId} $place2 1-10 none", 'the whole range moves');

# ---- 票据领发情况: what the place received and gave, who did it
$res = GET("$base/stock/log?placeCode=$place", Cookie => $clerk);
my $log = json_of($res);
ok t_cmp($res->code, 200, 'stock log of the place (today by default)');
ok t_cmp(join(' | ', map { "$_->{actionLabel} $_->{kindLabel} $_->{billBatchCode} $_->{startNo}-$_->{endNo} $_->{count} "
                           . ($_->{fromPlace} // '财政') . ">$_->{toPlace} $_->{operator}" } @{ $log->{rows} // [] }),
         "分发 电子 $batch 1-100 100 POOL>$place admin | 分发 电子 $batch 2-51 50 $place>$place2 admin | "
         . "申领入库 纸质 $pbatch 1-10 10 财政>$place admin | 分发 纸质 $pbatch 1-10 10 $place>$place2 admin",
         'in order: received from the store room, gave on, received from finance, gave on');
ok t_cmp("$log->{totals}{applied} $log->{totals}{distributed}", '10 160', 'numbers applied and distributed');
ok t_cmp(scalar @{ json_of(GET("$base/stock/log?placeCode=$place&kind=paper", Cookie => $clerk))->{rows} // [] }, 2,
         'filtered by kind');
$res = GET("$base/stock/log?placeCode=$place&format=csv", Cookie => $clerk);
my $logcsv = decode('UTF-8', $res->content);
ok t_cmp($logcsv, qr/^\x{FEFF}时间,操作,票据种类,票据代码,起始号,终止号,张数,发出,领入,操作员\r\n/, 'stock log as CSV');
ok t_cmp($logcsv, qr/,申领入库,纸质,$pbatch,1,10,10,财政,$place 测试窗口,admin\r\n/, 'with the names of the places');
err_is(GET("$base/stock/log?from=2026-01-02&to=2026-01-01", Cookie => $clerk), 400, 'HG_FIELD_RANGE', 'to before from');

# ---- 票据领用存: held at the start, received, given on, used, held at the end
sub balance {
    my ($q, $pl, $kind, $bc) = @_;
    my ($x) = grep { $_->{placeCode} eq $pl && $_->{kind} eq $kind && $_->{billBatchCode} eq $bc }
              @{ json_of(GET("$base/reports/stock?$q", Cookie => $clerk))->{rows} // [] };
    return $x ? join(' ', @$x{qw(opening received sent used voided closing)}) : 'no row';
}
ok t_cmp(balance('', $place, 'ebill', $batch), '0 100 50 2 0 48',
         'e-bills today: none at the start, 100 received, 50 given on, 2 issued, 48 left');
ok t_cmp(balance('', $place, 'paper', $pbatch), '0 10 10 0 0 0', 'paper: 10 received from finance, all given on');
ok t_cmp(balance('', $place2, 'ebill', $batch), '0 50 0 0 0 50', 'the second point holds what it received');
ok t_cmp(balance('', 'POOL', 'ebill', $batch), '0 1000 100 0 0 900', 'the store room: applied, one part given out');
ok t_cmp(psql("SELECT sum(end_no - next_no + 1) FROM invoice.stock WHERE place_code = '$place' AND bill_batch_code = '$batch'"),
         48, 'the end of today is what the stock table holds');
my $yesterday = psql("SELECT to_char(current_date - 1, 'YYYY-MM-DD')");
ok t_cmp(balance("from=$yesterday&to=$yesterday", $place, 'ebill', $batch), '0 0 0 0 0 0',
         'yesterday the point held none of it');
$res = GET("$base/reports/stock?placeCode=$place&format=csv", Cookie => $clerk);
ok t_cmp(decode('UTF-8', $res->content), qr/^\x{FEFF}开票点,票据种类,票据代码,期初结存,本期领入,本期发出,本期使用,本期作废空白票,期末结存\r\n.*\Q$place\E 测试窗口,电子,$batch,0,100,50,2,0,48\r\n/s,
         'as CSV');

# ---- 日报
my $today = psql("SELECT to_char(current_date, 'YYYY-MM-DD')");
$res = GET("$base/reports/daily", Cookie => $clerk);
my $rep = json_of($res);
ok t_cmp($res->code . ' ' . ($rep->{date} // ''), "200 $today", 'daily report: today by default');
my ($row) = grep { $_->{placeCode} eq $place } @{ $rep->{rows} // [] };
ok t_cmp($row && "$row->{kind} $row->{kindLabel} $row->{bills} $row->{amount} $row->{redBills}",
         'outpatient 门诊 2 246.90 0', 'the place: two bills and their amount');
ok t_cmp($row && $row->{uploadsDone} + $row->{uploadsPending} + $row->{uploadsDead}, 2, 'every bill counted in one upload state');

$res = GET("$base/reports/daily?date=$today&format=csv", Cookie => $clerk);
ok t_cmp($res->header('Content-Type'), 'text/csv; charset=utf-8', 'CSV content type');
ok t_cmp($res->header('Content-Disposition') // '', qr/^attachment; filename="invoice-daily-$today\.csv"$/, 'CSV is a download');
my $csv = $res->content;
ok t_cmp(substr($csv, 0, 3), "\xEF\xBB\xBF", 'CSV starts with the UTF-8 BOM');
$csv = decode('UTF-8', substr($csv, 3));
my @lines = split /\r\n/, $csv;
ok t_cmp($lines[0], qr/^日期,开票点编码,开票点名称,票据类别,开票张数,开票金额,/, 'CSV header');
# the upload columns move while the outbox drains: only their shape is fixed
ok t_cmp(scalar(grep { /^\Q$today,$place,测试窗口,门诊,2,246.90,0,0.00,0,0,0,0,\E\d+,\d+,\d+$/ } @lines), 1,
         'CSV row of the place');

err_is(GET("$base/reports/daily?date=2026-02-30", Cookie => $cookie), 400, 'HG_FIELD_DATE', 'bad date refused');
ok t_cmp(json_of(GET("$base/reports/daily?date=2026-02-30", Cookie => $cookie))->{field}, 'date', 'bad date: field named');
err_is(GET("$base/reports/daily?when=today", Cookie => $cookie), 400, 'HG_FIELD_UNKNOWN', 'unknown parameter refused');
# 开票汇总表: the same report over a period (a week back to today holds today's bills and no others here)
my $weekago = psql("SELECT to_char(current_date - 6, 'YYYY-MM-DD')");
$res = GET("$base/reports/daily?from=$weekago&to=$today", Cookie => $clerk);
my ($prow) = grep { $_->{placeCode} eq $place } @{ json_of($res)->{rows} // [] };
ok t_cmp(json_of($res)->{from} . '~' . json_of($res)->{to} . ' ' . ($prow ? "$prow->{bills} $prow->{amount}" : 'no row'),
         "$weekago~$today 2 246.90", 'the period report (开票汇总表): its days, and the place\'s bills in it');
$res = GET("$base/reports/daily?from=$weekago&to=$today&format=csv", Cookie => $clerk);
ok t_cmp(($res->header('Content-Disposition') // '') . ' ' . (grep({ /^\Q$weekago~$today,$place,\E/ } split /\r\n/, decode('UTF-8', substr($res->content, 3))) ? 'row' : 'no row'),
         qq(attachment; filename="invoice-summary-$weekago-$today.csv" row), 'as CSV, the period in its first column');
err_is(GET("$base/reports/daily?date=$today&from=$today", Cookie => $clerk), 400, 'HG_FIELD_UNKNOWN', 'a day or a period, not both');
err_is(GET("$base/reports/daily?from=2025-01-01&to=2026-06-01", Cookie => $clerk), 400, 'HG_FIELD_RANGE', 'at most 366 days');

# ---- the bill list: no personal data
$res = GET("$base/bills?date=$today&placeCode=$place&state=normal", Cookie => $clerk);
my $list = json_of($res)->{bills} // [];
ok t_cmp(join(',', map { "$_->{billNo}/$_->{issuedBy}/$_->{totalAmt}" } @$list),
         '0000000052/clerk/123.45,0000000001/clerk/123.45', 'bill list of the place, newest first');
ok t_cmp($res->content =~ /张三丰|payer|idCard|13812345678/ ? 'leak' : 'clean', 'clean', 'no payer, ID or phone in the list');
ok t_cmp(scalar @{ json_of(GET("$base/bills?placeCode=$place&state=red", Cookie => $clerk))->{bills} // [] }, 0,
         'state filter: no red bills');

# ---- 开票明细表: the day's list of the place as CSV, oldest first
my $all = json_of(GET("$base/bills?date=$today&placeCode=$place", Cookie => $clerk))->{bills} // [];
$res = GET("$base/bills?date=$today&placeCode=$place&format=csv", Cookie => $clerk);
ok t_cmp($res->header('Content-Disposition') // '', qr/^attachment; filename="invoice-bills-$today\.csv"$/, 'bill list CSV is a download');
$csv = decode('UTF-8', substr($res->content, 3));
@lines = split /\r\n/, $csv;
ok t_cmp($lines[0], '开票时间,开票点编码,票据类别,票据代码,票据号码,业务流水号,金额,状态,纸质票据代码,纸质票据号码,上传状态,收费员,开具人',
         'bill list CSV header');
ok t_cmp(scalar(@lines) - 1, scalar(@$all), 'one line per bill of the JSON list');
my $payee = decode("UTF-8", psql("SELECT payee FROM invoice.bills WHERE place_code = '$place' AND bill_no = '0000000001' "
               . "AND issued_at >= current_date"));
ok t_cmp(join(' | ', map { join ',', (split /,/)[1, 2, 4, 6, 7, 11, 12] } @lines[1, 2]),
         "$place,门诊,0000000001,123.45,正常,$payee,clerk | $place,门诊,0000000052,123.45,正常,$payee,clerk",
         'oldest first: place, kind, number, amount, state, cashier, who issued it');
ok t_cmp($csv =~ /张三丰|13812345678/ ? 'leak' : 'clean', 'clean', 'no payer or phone in the CSV');
err_is(GET("$base/bills?format=csv&beforeId=5", Cookie => $clerk), 400, 'HG_FIELD_UNKNOWN', 'the CSV is not paged');

# ---- the window: 换开纸质, 冲红 refused while the paper lives, 作废纸质, 冲红, the files to print
$res = jpost('/bills/invoiceEBillOutpatient', outpatient(placeCode => 'MZ01'), @clerk);
my $wb = json_of($res);
my $wpath = "/bill/$wb->{billBatchCode}/$wb->{billNo}";
$res = jpost("$wpath/paper", {}, @clerk);
my $wp = json_of($res);
ok t_cmp($res->code . ' ' . ($wp->{pBillNo} // ''), qr/^200 \d{10}$/, 'window: 换开纸质 from the billing point\'s paper stock');
err_is(jpost("$wpath/flush", { reason => '退费' }, @clerk), 409, 'HG_INVOICE_PAPER_LIVE', 'window: no 冲红 while the paper lives');
err_is(jpost("$wpath/paper-void", {}, @clerk), 400, 'HG_FIELD_REQUIRED', 'window: 作废纸质 needs a reason');
err_is(jpost("$wpath/paper", { placeCode => "MZ01'--" }, @clerk), 400, 'HG_FIELD_PATTERN', 'window: a bad billing point code');
$res = jpost("$wpath/paper-void", { reason => '打印错误' }, @clerk);
ok t_cmp($res->code . ' ' . (json_of($res)->{paperState} // ''), '200 void', 'window: 作废纸质');
ok t_cmp(decode('UTF-8', psql("SELECT p.void_operator || '|' || p.void_reason FROM invoice.papers p JOIN invoice.bills b "
              . "ON b.id = p.bill_id WHERE b.bill_no = '$wb->{billNo}' AND b.bill_batch_code = '$wb->{billBatchCode}' "
              . "AND p.voided_at IS NOT NULL")),
         'clerk|打印错误', 'the void records the logged-in cashier and the reason');
my $n0 = `echo 'Finance-Only#2026x' | @{[cli_env()]} '$ENV{HG_TOP}/tools/hisgate' user add --username fin$$ --institution 44010001 --roles invoice_admin 2>&1`;
my ($r3, $fin) = staff_login("fin$$", 'Finance-Only#2026x');
err_is(jpost("$wpath/flush", { reason => '退费' }, Cookie => $fin, 'X-CSRF-Token' => json_of($r3)->{csrf_token} // ''),
       403, 'HG_FORBIDDEN', 'window: 冲红 is a cashier\'s (invoice_admin may not)');
$res = jpost("$wpath/flush", { reason => '患者退费' }, @clerk);
my $wr = json_of($res);
ok t_cmp($res->code . ' ' . ($wr->{eScarletBillNo} // ''), qr/^200 \d{10}$/, 'window: 冲红 gives a red bill');
ok t_cmp(psql("SELECT b.state || '|' || r.payee || '|' || r.place_code FROM invoice.bills b JOIN invoice.bills r "
              . "ON r.id = b.related_id WHERE b.bill_no = '$wb->{billNo}' AND b.bill_batch_code = '$wb->{billBatchCode}'"),
         'flushed|clerk|MZ01', 'the original flushed; the red bill under the cashier, from the bill\'s own billing point');
ok t_cmp(json_of(jpost("$wpath/flush", { reason => '患者退费' }, @clerk))->{eScarletBillNo} // '', $wr->{eScarletBillNo},
         'window: 冲红 again answers the same red bill');
$res = GET("$base$wpath/notice", Cookie => $clerk);
ok t_cmp($res->code . ' ' . ($res->header('Content-Type') // ''), '200 application/pdf', 'window: the 告知单 to print');
ok t_cmp(GET("$base$wpath/pdf", Cookie => $clerk)->header('Content-Type') // '', 'application/pdf', 'window: the layout file');
ok t_cmp(psql("SELECT count(*) > 0 AND max(length(resp_enc)) < 200 FROM hg.audit WHERE caller = 'clerk' AND status = 200 "
              . "AND endpoint = 'GET /invoice/staff/v1$wpath/pdf'"), 't',
         'who printed whose layout file (payer unmasked) is in the journal, without the file');
err_is(GET("$base$wpath/pdf"), 401, 'HG_LOGIN_REQUIRED', 'window: files need a login');
# bills carry patients' names and items: only the invoice roles read them (cashier, invoice_admin, and
# invoice_viewer for finance); a doctor of the same institution reads none of it
for my $u (["doc$$", 'consult_doctor'], ["view$$", 'invoice_viewer']) {
    `echo 'Reader-Pass#2026x' | @{[cli_env()]} '$ENV{HG_TOP}/tools/hisgate' user add --username $u->[0] --institution 44010001 --roles $u->[1] 2>&1`;
}
my (undef, $doc) = staff_login("doc$$", 'Reader-Pass#2026x');
my ($r4, $viewer) = staff_login("view$$", 'Reader-Pass#2026x');
my @reads = ('/bills', '/reports/daily', '/stock', "$wpath/pdf");
ok t_cmp(join(' ', map { my $r = GET("$base$_", Cookie => $doc); $r->code . '/' . (json_of($r)->{code} // '-') } @reads),
         join(' ', ('403/HG_FORBIDDEN') x @reads), 'a consult_doctor reads no bill, report, stock or layout file');
ok t_cmp(json_of(GET("$base/bills", Cookie => $doc))->{message} // '', qr/cashier\|invoice_admin\|invoice_viewer/,
         'and is told which roles would');
ok t_cmp(join(' ', map { GET("$base$_", Cookie => $viewer)->code } @reads), join(' ', (200) x @reads),
         'an invoice_viewer reads them all');
err_is(jpost("$wpath/flush", { reason => '退费' }, Cookie => $viewer, 'X-CSRF-Token' => json_of($r4)->{csrf_token} // ''),
       403, 'HG_FORBIDDEN', 'but does not act on a bill');
err_is(jpost("$wpath/stamp", {}, @clerk), 404, 'HG_NOT_FOUND', 'window: an unknown action');
# 重发短信: the bill's SMS again, to a phone the cashier types (or the one on the bill)
my $rtel = '13600' . sprintf('%06d', $$ % 1000000);
$res = jpost("$wpath/notify", { tel => $rtel }, @clerk);
ok t_cmp($res->code . ' ' . (json_of($res)->{tel} // ''), '202 ' . substr($rtel, 0, 3) . '****' . substr($rtel, -4),
         'window: 重发短信 queued to the typed phone (masked in the answer)');
ok t_cmp(wait_until(20, sub { grep { ($_->{content} // '') =~ /\Q$wb->{billNo}\E/ }
                              @{ json_of(GET("/sandbox/messages?to=$rtel"))->{messages} // [] } }) ? 1 : 0, 1,
         'and the SMS with the bill\'s link arrives');
err_is(jpost("$wpath/notify", { tel => '12345' }, @clerk), 400, 'HG_FIELD_PATTERN', 'window: not a mobile number');
# the cashier's name goes on what they issue and flush at the console: their display name (not a
# payee typed in the form), so that the summary by payee adds up per cashier
psql("UPDATE hg.staff SET display_name = '收费员王五' WHERE username = 'clerk'");
my $typed = outpatient();
$typed->{payee} = '别人';
$res = jpost('/bills/invoiceEBillOutpatient', $typed, @clerk);
my $tb = json_of($res);
$res = jpost("/bill/$tb->{billBatchCode}/$tb->{billNo}/flush", { reason => '退费' }, @clerk);
ok t_cmp(decode('UTF-8', psql("SELECT b.payee || '|' || r.payee FROM invoice.bills b "
              . "JOIN invoice.bills r ON r.id = b.related_id WHERE b.bill_no = '$tb->{billNo}' "
              . "AND b.bill_batch_code = '$tb->{billBatchCode}'")), '收费员王五|收费员王五',
         'console issue and 冲红: the payee is the cashier\'s display name, not the form\'s');
psql("UPDATE hg.staff SET display_name = '' WHERE username = 'clerk'");
# 作废空白票 at the window: the next paper number of the window, then that number voided blank by the
# cashier; only the next one can be; a finance user may not
{
    my $nx = jpost('/paper/next', { placeCode => 'MZ01' }, @clerk);
    my $nj = json_of($nx);
    ok t_cmp($nx->code . ' ' . ($nj->{pBillBatchCode} // '-'), qr/^200 \d{8}$/, 'window: the next paper number');
    my $skip = sprintf('%010d', ($nj->{pBillNo} // 0) + 1);
    err_is(jpost('/paper/blank-void', { placeCode => 'MZ01', pBillBatchCode => $nj->{pBillBatchCode}, pBillNo => $skip,
                 reason => '卡纸' }, @clerk), 409, 'HG_INVOICE_PAPER_NO_MISMATCH', 'window: only the next number can be voided blank');
    my $bv = jpost('/paper/blank-void', { placeCode => 'MZ01', pBillBatchCode => $nj->{pBillBatchCode},
                   pBillNo => $nj->{pBillNo}, reason => '打印卡纸' }, @clerk);
    ok t_cmp($bv->code . ' ' . (json_of($bv)->{state} // '-') . ' '
             . decode('UTF-8', psql("SELECT operator || '|' || reason FROM invoice.blank_voids WHERE p_bill_batch_code = "
                                    . "'$nj->{pBillBatchCode}' AND p_bill_no = '$nj->{pBillNo}'")),
             '200 void clerk|打印卡纸', 'window: 作废空白票, under the cashier, with the reason');
    ok t_cmp(json_of(jpost('/paper/next', { placeCode => 'MZ01' }, @clerk))->{pBillNo} // '-', $skip,
             'and the window\'s next paper number is the one after');
    err_is(jpost('/paper/blank-void', { placeCode => 'MZ01', pBillBatchCode => $nj->{pBillBatchCode}, pBillNo => $skip },
                 Cookie => $fin, 'X-CSRF-Token' => json_of($r3)->{csrf_token} // ''), 403, 'HG_FORBIDDEN',
           'window: 作废空白票 is a cashier\'s');
}
