# mod_invoice: 库存预警 — a billing point whose unused numbers fall below InvoiceStockLow (the
# defaults here: 1000 e-bill, 200 paper) is named in /hg/status, flagged in /hg/metrics and in the
# console's list of billing points, before its window's HIS calls fail with HG_INVOICE_NO_STOCK
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use HG qw(json_of signed_request staff_login);
use HGInvoice qw(outpatient now17);

plan tests => 20;

my $base = '/invoice/staff/v1';
my $json = JSON::PP->new->utf8->canonical;
my ($res, $cookie, $csrf) = staff_login('admin', 'Adm1n-Test-Pass#2026');
my @admin = (Cookie => $cookie, 'X-CSRF-Token' => $csrf);
sub jpost { my ($path, $body) = @_; POST "$base$path", 'Content-Type' => 'application/json', content => $json->encode($body), @admin }
sub his { my ($svc, $body) = @_; my $r = signed_request('POST', "/invoice/api/v1/$svc", $body); return ($r, json_of($r)) }
sub low_of { my ($place) = @_; my $s = json_of(GET '/hg/status');
             join ',', map { "$_->{kind}:$_->{remaining}" } grep { $_->{placeCode} eq $place } @{ $s->{invoice}{stock_low} // [] } }
sub metric { my ($name, $place, $kind) = @_; my $t = GET('/hg/metrics')->content;
             $t =~ /^\Q$name\E\{place="\Q$place\E",kind="\Q$kind\E"\} (\d+)$/m ? $1 : 'none' }
sub place_of { my ($place) = @_; my ($p) = grep { $_->{placeCode} eq $place } @{ json_of(GET("$base/places", @admin))->{places} // [] };
               $p ? join(' ', map { $p->{$_} ? 1 : 0 } qw(ebillLow paperLow)) : 'none' }

# a new window with 1,002 e-bill numbers and 201 paper numbers: just above the warnings
my $place = 'LOW' . ($$ % 100000);
my $code = sprintf('4407%04d', $$ % 10000);
my $pcode = sprintf('4406%04d', $$ % 10000);
ok t_cmp(jpost('/places', { placeCode => $place, name => '预警测试窗口' })->code, 201, 'a billing point');
ok t_cmp(jpost('/stock/apply', { kind => 'ebill', billBatchCode => $code, startNo => 1, endNo => 1002, placeCode => $place })->code
         . ' ' . jpost('/stock/apply', { kind => 'paper', billBatchCode => $pcode, startNo => 1, endNo => 201, placeCode => $place })->code,
         '201 201', 'with 1,002 e-bill and 201 paper numbers');
ok t_cmp(low_of($place), '', 'not low: /hg/status names it nowhere');
ok t_cmp(metric('hisgate_invoice_stock_remaining', $place, 'ebill') . ' ' . metric('hisgate_invoice_stock_low', $place, 'ebill'),
         '1002 0', 'metrics: 1,002 left, not low');
ok t_cmp(place_of($place), '0 0', 'the console: neither kind low');
my $s = json_of(GET '/hg/status');
ok t_cmp("$s->{invoice}{stock_low_below}{ebill} $s->{invoice}{stock_low_below}{paper}", '1000 200', 'the thresholds, as configured');

# three bills: 999 e-bill numbers left
my @bills;
for (1 .. 3) {
    my ($r, $j) = his('invoiceEBillOutpatient', outpatient(placeCode => $place));
    push @bills, $j if $r->code == 200;
}
ok t_cmp(scalar @bills, 3, 'three bills issued at the window');
ok t_cmp(low_of($place), 'ebill:999', 'below 1,000: /hg/status names its e-bill stock, with what is left');
ok t_cmp(metric('hisgate_invoice_stock_remaining', $place, 'ebill') . ' ' . metric('hisgate_invoice_stock_low', $place, 'ebill')
         . ' ' . metric('hisgate_invoice_stock_low', $place, 'paper'), '999 1 0', 'metrics: 999 left, low; paper not');
ok t_cmp(place_of($place), '1 0', 'the console flags its e-bill stock');

# two printed on paper: 199 paper numbers left
for my $b (@bills[0, 1]) {
    my ($r, $j) = his('getPaperBillNo', { placeCode => $place });
    his('turnPaper', { billBatchCode => $b->{billBatchCode}, billNo => $b->{billNo}, busDateTime => now17(),
                       placeCode => $place, operator => '李四', pBillBatchCode => $j->{pBillBatchCode}, pBillNo => $j->{pBillNo} });
}
ok t_cmp(low_of($place), 'ebill:999,paper:199', 'and its paper stock below 200');
ok t_cmp(metric('hisgate_invoice_stock_low', $place, 'paper'), '1', 'metrics: paper low');
ok t_cmp(place_of($place), '1 1', 'the console flags both');

# a window that never held paper is not short of it; one whose e-bills are used up stays listed, at 0
my $place2 = $place . 'E';
jpost('/places', { placeCode => $place2, name => '无纸质窗口' });
jpost('/stock/apply', { kind => 'ebill', billBatchCode => $code, startNo => 2001, endNo => 2002, placeCode => $place2 });
ok t_cmp(low_of($place2) . ' / ' . place_of($place2), 'ebill:2 / 1 0', 'two e-bill numbers: low; no paper ever: not low');
his('invoiceEBillOutpatient', outpatient(placeCode => $place2)) for 1 .. 2;
my ($r, $j) = his('invoiceEBillOutpatient', outpatient(placeCode => $place2));
ok t_cmp($r->code . ' ' . ($j->{code} // '-'), '409 HG_INVOICE_NO_STOCK', 'used up: the window can issue no more');
ok t_cmp(low_of($place2) . ' / ' . metric('hisgate_invoice_stock_remaining', $place2, 'ebill'), 'ebill:0 / 0',
         'and it is still listed, with 0 left');
ok t_cmp(metric('hisgate_invoice_stock_remaining', $place2, 'paper'), 'none', 'no paper gauge for a window without paper');

# given more, it leaves the list
ok t_cmp(jpost('/stock/apply', { kind => 'ebill', billBatchCode => $code, startNo => 3001, endNo => 5000, placeCode => $place2 })->code,
         201, '2,000 more numbers');
ok t_cmp(low_of($place2) . ' / ' . metric('hisgate_invoice_stock_low', $place2, 'ebill') . ' / ' . place_of($place2),
         ' / 0 / 0 0', 'no longer low anywhere');
ok t_cmp(json_of(GET '/hg/status')->{invoice}{stock_low}[0]{threshold} // '-', qr/^(1000|200)$/, 'each entry says its threshold');
