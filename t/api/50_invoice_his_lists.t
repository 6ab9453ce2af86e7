# mod_invoice: the HIS's look-ups for kiosks and windows (Bosi names, fiscal-einvoice.md §3.3 [BK]):
# getBillDetail (a bill's whole detail by code, number and check code), getEBillUnPrintList (a
# patient's e-bills still printable on paper, by card and period, in pages), getValidBillBatchCode
# and getValidBillNo (a billing point's paper codes and ranges of unused numbers)
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use POSIX qw(strftime);
use HG qw(json_of signed_request psql);
use HGInvoice qw(outpatient inpatient now17);

plan tests => 68;

my $api = '/invoice/api/v1';
sub call { my ($svc, $body) = @_; my $r = signed_request('POST', "$api/$svc", $body); return ($r, json_of($r)); }
sub err_is {
    my ($r, $j, $status, $code, $field, $name) = @_;
    ok t_cmp($r->code . ' ' . ($j->{code} // '-') . ' ' . ($j->{field} // '-'), "$status $code $field", $name);
}
sub day17 { my ($days) = @_; strftime('%Y%m%d%H%M%S', localtime(time - $days * 86400)) . '000' }

# ---- a patient with a card of their own: six bills, four of them printable
my $card = sprintf('JZK%d%05d', time, $$ % 100000);
my %pat = (cardNo => $card);
my @b;
for my $i (0 .. 5) {
    my $d = outpatient(%pat);
    $d->{busDateTime} = day17(3) if $i == 1;                  # three days ago
    $d->{cardType} = '02' if $i == 4;                          # the same number as another card type
    $d->{patientId} = 'P-OTHER' if $i == 5;                    # another patient id on the card
    my ($r, $j) = call('invoiceEBillOutpatient', $d);
    die "issue $i: " . $r->code unless $r->code == 200;
    push @b, { %$j, data => $d };
}
my ($r, $j);
# b2 flushed (and its red bill is no candidate either), b3 exchanged for paper
($r, $j) = call('writeOffEBill', { billBatchCode => $b[2]{billBatchCode}, billNo => $b[2]{billNo}, reason => '退费',
                                   operator => '李四', busDateTime => now17(), placeCode => 'MZ01' });
ok t_cmp($r->code, 200, 'one of the six flushed');
($r, $j) = call('getPaperBillNo', { placeCode => 'MZ01' });
my %turn = (billBatchCode => $b[3]{billBatchCode}, billNo => $b[3]{billNo}, busDateTime => now17(),
            placeCode => 'MZ01', operator => '李四');
($r, $j) = call('turnPaper', { %turn, pBillBatchCode => $j->{pBillBatchCode}, pBillNo => $j->{pBillNo} });
ok t_cmp($r->code, 200, 'one exchanged for paper');

my %period = (busBgnDate => day17(7), busEndDate => day17(-1), cardNo => $card);
sub listed { my ($j) = @_; join ',', map { $_->{billNo} } @{ $j->{billList} // [] } }
sub nos { join ',', map { $b[$_]{billNo} } @_ }

# ---- getEBillUnPrintList
($r, $j) = call('getEBillUnPrintList', \%period);
ok t_cmp($r->code, 200, 'getEBillUnPrintList answers');
ok t_cmp($j->{total}, 4, 'four printable: not the flushed one, its red bill, nor the one on paper');
ok t_cmp(listed($j), nos(5, 4, 1, 0), 'newest first');
ok t_cmp("$j->{pageNo} $j->{pageSize}", '1 20', 'the first page of 20 when the HIS names none');
my ($it) = grep { $_->{billNo} eq $b[0]{billNo} } @{ $j->{billList} };
ok t_cmp(join('|', map { $it->{$_} // '-' } qw(billBatchCode random busNo busType busDateTime createTime totalAmt payer patientId placeCode)),
         join('|', $b[0]{billBatchCode}, $b[0]{random}, $b[0]{data}{busNo}, '02', $b[0]{data}{busDateTime},
              $b[0]{createTime}, '123.45', '张三丰', 'P000123', 'MZ01'),
         "an item: the bill's identifiers, business number, time, amount and payer");
ok t_cmp($it->{billName}, qr/医疗门诊收费票据（电子）$/, 'and its title');
ok t_cmp($it->{pictureNetUrl}, $b[0]{pictureNetUrl}, 'and its H5 link, as the issue answered it');

($r, $j) = call('getEBillUnPrintList', { %period, pageNo => 2, pageSize => 3 });
ok t_cmp(listed($j) . " / $j->{total}", nos(0) . ' / 4', 'page 2 of 3 a page: the fourth, with the total');
($r, $j) = call('getEBillUnPrintList', { %period, pageNo => '1', pageSize => '2' });
ok t_cmp(listed($j), nos(5, 4), 'page numbers as strings of digits, as Bosi clients send them');
($r, $j) = call('getEBillUnPrintList', { %period, pageNo => 3, pageSize => 2 });
ok t_cmp(listed($j) . " / $j->{total}", ' / 4', 'a page past the end: empty, the total still there');
($r, $j) = call('getEBillUnPrintList', { %period, busBgnDate => day17(1) });
ok t_cmp(listed($j), nos(5, 4, 0), 'the period is the business time: the bill of three days ago is out');
($r, $j) = call('getEBillUnPrintList', { %period, busEndDate => day17(2) });
ok t_cmp(listed($j), nos(1), 'and alone in a period that ends two days ago');
($r, $j) = call('getEBillUnPrintList', { %period, cardType => '01' });
ok t_cmp(listed($j), nos(5, 1, 0), 'cardType narrows the list');
($r, $j) = call('getEBillUnPrintList', { %period, patientId => 'P-OTHER' });
ok t_cmp(listed($j), nos(5), 'so does patientId');
($r, $j) = call('getEBillUnPrintList', { %period, cardNo => "$card-X" });
ok t_cmp(listed($j) . " / $j->{total}", ' / 0', 'another card: nothing');

# the paper voided: printable again; the last one printed: gone from the list
($r, $j) = call('invalidPaper', { billBatchCode => $b[3]{billBatchCode}, billNo => $b[3]{billNo}, operator => '李四',
                                  reason => '打印错误' });
($r, $j) = call('getEBillUnPrintList', \%period);
ok t_cmp(listed($j), nos(5, 4, 3, 1, 0), 'its paper voided, a bill is printable again');
($r, $j) = call('getPaperBillNo', { placeCode => 'MZ01' });
call('turnPaper', { billBatchCode => $b[5]{billBatchCode}, billNo => $b[5]{billNo}, busDateTime => now17(),
                    placeCode => 'MZ01', operator => '李四', pBillBatchCode => $j->{pBillBatchCode},
                    pBillNo => $j->{pBillNo} });
($r, $j) = call('getEBillUnPrintList', \%period);
ok t_cmp(listed($j), nos(4, 3, 1, 0), 'printed on paper, it leaves the list');

# bad requests: a clear error each, and the journal has them
($r, $j) = call('getEBillUnPrintList', { %period, cardNo => undef });
err_is($r, $j, 400, 'HG_FIELD_REQUIRED', 'cardNo', 'no card number');
($r, $j) = call('getEBillUnPrintList', { %period, busBgnDate => '2026-11-01' });
err_is($r, $j, 400, 'HG_FIELD_DATE', 'busBgnDate', 'a date not in yyyyMMddHHmmssSSS');
($r, $j) = call('getEBillUnPrintList', { %period, busEndDate => '20261131000000000' });
err_is($r, $j, 400, 'HG_FIELD_DATE', 'busEndDate', 'a day that does not exist');
($r, $j) = call('getEBillUnPrintList', { %period, busEndDate => day17(8) });
err_is($r, $j, 400, 'HG_FIELD_RANGE', 'busEndDate', 'a period that ends before it begins');
($r, $j) = call('getEBillUnPrintList', { %period, busBgnDate => day17(400) });
err_is($r, $j, 400, 'HG_FIELD_RANGE', 'busEndDate', 'a period over 366 days');
($r, $j) = call('getEBillUnPrintList', { %period, pageSize => 101 });
err_is($r, $j, 400, 'HG_FIELD_RANGE', 'pageSize', 'more than 100 a page');
($r, $j) = call('getEBillUnPrintList', { %period, pageNo => 0 });
err_is($r, $j, 400, 'HG_FIELD_RANGE', 'pageNo', 'page 0');
($r, $j) = call('getEBillUnPrintList', { %period, pageNo => 'two' });
err_is($r, $j, 400, 'HG_FIELD_TYPE', 'pageNo', 'a page number that is no number');
($r, $j) = call('getEBillUnPrintList', { %period, pageNo => 1.5 });
err_is($r, $j, 400, 'HG_FIELD_TYPE', 'pageNo', 'a fractional page number');

# ---- getBillDetail
($r, $j) = call('getBillDetail', { billBatchCode => $b[0]{billBatchCode}, billNo => $b[0]{billNo}, random => $b[0]{random} });
ok t_cmp($r->code, 200, 'getBillDetail answers');
ok t_cmp(join('|', map { $j->{$_} // '-' } qw(billBatchCode billNo random createTime busNo payer totalAmt state isScarlet billState)),
         join('|', @{ $b[0] }{qw(billBatchCode billNo random createTime)}, $b[0]{data}{busNo}, '张三丰', '123.45', '1', '0', 'normal'),
         "the bill's identifiers, payer, amount and state");
ok t_cmp(join(',', map { "$_->{chargeCode}:$_->{amt}" } @{ $j->{chargeDetail} // [] }),
         join(',', map { "$_->{chargeCode}:$_->{amt}" } @{ $b[0]{data}{chargeDetail} }), 'the charge items as issued');
ok t_cmp(join(',', map { "$_->{payChannelCode}:$_->{payChannelValue}" } @{ $j->{payChannelDetail} // [] }),
         '01:43.45,11:60.00,12:20.00', 'the payment channels');
ok t_cmp(join('|', map { $j->{$_} // '-' } qw(fundPay accountPay selfCashPay cardNo idCardNo tel)),
         join('|', '60.00', '20.00', '43.45', $card, '440101199001011234', '13812345678'),
         "the insurance split and the patient's identifiers (the HIS's own data, signed call)");
ok t_cmp($j->{billName}, qr/医疗门诊收费票据（电子）$/, 'the title');
ok t_cmp($j->{busType}, '02', 'busType as the HIS sent it');
# busType (业务标识) left out: the service's code goes on the bill (and to the platform)
for my $k ([ 'invoiceEBillOutpatient', outpatient(), '02' ], [ 'invEBillHospitalized', inpatient(), '01' ],
           [ 'invEBillRegistration', outpatient(), '06' ]) {
    my ($svc, $d, $want) = @$k;
    delete $d->{busType};
    my ($ri, $ji) = call($svc, $d);
    my ($rd, $jd) = call('getBillDetail', { map { $_ => $ji->{$_} } qw(billBatchCode billNo random) });
    ok t_cmp($ri->code . ' ' . ($jd->{busType} // '-'), "200 $want", "$svc without busType: $want");
}
ok t_cmp($j->{paper}, undef, 'no paper');
($r, $j) = call('getBillDetail', { billBatchCode => $b[2]{billBatchCode}, billNo => $b[2]{billNo}, random => $b[2]{random} });
ok t_cmp("$j->{billState} $j->{isScarlet}", 'flushed 1', 'a flushed bill says so');
ok t_cmp($j->{relatedBill}{billNo} // '-', qr/^\d{10}$/, 'with its red bill');
($r, $j) = call('getBillDetail', { billBatchCode => $b[4]{billBatchCode}, billNo => $b[4]{billNo}, random => $b[4]{random} });
ok t_cmp($j->{paper}{pBillNo} // '-', '-', 'nor paper on a bill never printed');
($r, $j) = call('getBillDetail', { billBatchCode => $b[5]{billBatchCode}, billNo => $b[5]{billNo}, random => $b[5]{random} });
ok t_cmp($j->{paper}{pBillNo} // '-', qr/^\d{10}$/, 'the live paper of a printed one');
my $wrong = $b[0]{random} =~ /^0/ ? '1' . substr($b[0]{random}, 1) : '0' . substr($b[0]{random}, 1);
($r, $j) = call('getBillDetail', { billBatchCode => $b[0]{billBatchCode}, billNo => $b[0]{billNo}, random => $wrong });
err_is($r, $j, 404, 'HG_INVOICE_NOT_FOUND', 'random', 'a wrong check code: no detail');
($r, $j) = call('getBillDetail', { billBatchCode => $b[0]{billBatchCode}, billNo => $b[0]{billNo}, random => 'abc' });
err_is($r, $j, 404, 'HG_INVOICE_NOT_FOUND', 'random', 'nor a short one');
($r, $j) = call('getBillDetail', { billBatchCode => $b[0]{billBatchCode}, billNo => $b[0]{billNo} });
err_is($r, $j, 400, 'HG_FIELD_REQUIRED', 'random', 'the check code is required');
($r, $j) = call('getBillDetail', { billBatchCode => $b[0]{billBatchCode}, billNo => '9999999999', random => $b[0]{random} });
ok t_cmp($r->code . ' ' . ($j->{code} // '-'), '404 HG_INVOICE_NOT_FOUND', 'no such bill');

# a card with more printable bills than any patient has (copies of one, made here): up to 2,000
# from the period's first day on are listed, more are refused rather than each opened
sub copies { my ($from, $n) = @_;
    psql("INSERT INTO invoice.bills (institution, bus_no, kind, service, place_code, bill_batch_code, bill_no, random,
          create_time, total_fen, content_hash, doc_sealed, seal, card_idx) SELECT institution, 'T50CAP-' || g, kind,
          service, place_code, 'T5000000', lpad(g::text, 10, '0'), random, create_time, total_fen, content_hash,
          doc_sealed, seal, card_idx FROM invoice.bills, generate_series($from, $from + $n - 1) g
          WHERE bill_batch_code = '$b[0]{billBatchCode}' AND bill_no = '$b[0]{billNo}'") }
copies(1, 1996);
($r, $j) = call('getEBillUnPrintList', { %period, pageSize => 1 });
ok t_cmp($r->code . ' ' . ($j->{total} // '-'), '200 2000', '2,000 printable bills of one card: listed');
copies(1997, 1);
($r, $j) = call('getEBillUnPrintList', { %period, pageSize => 1 });
err_is($r, $j, 400, 'HG_TOO_MANY_ITEMS', 'busBgnDate', 'one more: the HIS is asked for a shorter period');
psql("DELETE FROM invoice.bills WHERE bill_batch_code = 'T5000000'");

# ---- getValidBillBatchCode / getValidBillNo, against the stock table
my $stock = psql("SELECT string_agg(bill_batch_code || ':' || lpad(next_no::text, 10, '0') || '-' || lpad(end_no::text, 10, '0')
                  || ':' || (end_no - next_no + 1), ',' ORDER BY id) FROM invoice.stock WHERE place_code = 'MZ01'
                  AND kind = 'paper' AND next_no <= end_no");
($r, $j) = call('getValidBillNo', { placeCode => 'MZ01' });
ok t_cmp($r->code, 200, 'getValidBillNo answers');
ok t_cmp(join(',', map { "$_->{pBillBatchCode}:$_->{startNo}-$_->{endNo}:$_->{remaining}" } @{ $j->{ranges} // [] }),
         $stock, "MZ01's paper ranges of unused numbers, as the stock holds them");
my $first = $j->{ranges}[0];
my ($r2, $next) = call('getPaperBillNo', { placeCode => 'MZ01' });
ok t_cmp("$next->{pBillBatchCode} $next->{pBillNo}", "$first->{pBillBatchCode} $first->{startNo}",
         'the first range starts at the number getPaperBillNo hands out next');
call('invalidBlankBillNo', { placeCode => 'MZ01', pBillBatchCode => $next->{pBillBatchCode}, pBillNo => $next->{pBillNo},
                             operator => '李四', reason => '卡纸' });
($r, $j) = call('getValidBillNo', { placeCode => 'MZ01', pBillBatchCode => $first->{pBillBatchCode} });
ok t_cmp("$j->{ranges}[0]{startNo} $j->{ranges}[0]{remaining}",
         sprintf('%010d %d', $first->{startNo} + 1, $first->{remaining} - 1), 'a blank voided: one number fewer');
($r, $j) = call('getValidBillNo', { placeCode => 'MZ01', pBillBatchCode => '99999999' });
ok t_cmp($r->code . ' ' . scalar(@{ $j->{ranges} // [0] }), '200 0', 'a code the billing point does not hold: no ranges');
my $codes = psql("SELECT string_agg(c || ':' || n, ',' ORDER BY m) FROM (SELECT bill_batch_code c, sum(end_no - next_no + 1) n,
                  min(id) m FROM invoice.stock WHERE place_code = 'MZ01' AND kind = 'paper' AND next_no <= end_no
                  GROUP BY bill_batch_code) s");
($r, $j) = call('getValidBillBatchCode', { placeCode => 'MZ01' });
ok t_cmp($r->code, 200, 'getValidBillBatchCode answers');
ok t_cmp(join(',', map { "$_->{pBillBatchCode}:$_->{remaining}" } @{ $j->{billBatchCodes} // [] }), $codes,
         'the paper codes MZ01 can print on, with the numbers each has left');
# one code's ranges need not come together: A, then B, then A again is one entry for A
psql("INSERT INTO invoice.places VALUES ('44010001', 'T50MIXED', '多号段窗口') ON CONFLICT DO NOTHING");
psql("INSERT INTO invoice.stock (institution, place_code, kind, bill_batch_code, start_no, end_no, next_no) VALUES "
     . "('44010001', 'T50MIXED', 'paper', '44015001', 1, 10, 1), ('44010001', 'T50MIXED', 'paper', '44015002', 1, 5, 1), "
     . "('44010001', 'T50MIXED', 'paper', '44015001', 20, 30, 20)");
($r, $j) = call('getValidBillBatchCode', { placeCode => 'T50MIXED' });
ok t_cmp(join(',', map { "$_->{pBillBatchCode}:$_->{remaining}" } @{ $j->{billBatchCodes} // [] }), '44015001:21,44015002:5',
         'a code with ranges apart: one entry, its numbers added up, in the order of its first range');
($r, $j) = call('getValidBillNo', { placeCode => 'T50MIXED' });
ok t_cmp(join(',', map { "$_->{pBillBatchCode}:$_->{startNo}-$_->{endNo}" } @{ $j->{ranges} // [] }),
         '44015001:0000000001-0000000010,44015002:0000000001-0000000005,44015001:0000000020-0000000030',
         'and getValidBillNo gives each range');
# a desk with two paper codes prints on either: the number comes from the code the HIS asked for
# (turnPaper once took the first code's number whatever pBillBatchCode said, and refused the other)
my ($rx, $x) = call('invoiceEBillOutpatient', outpatient());
my %turnx = (billBatchCode => $x->{billBatchCode}, billNo => $x->{billNo}, busDateTime => now17(),
             placeCode => 'T50MIXED', operator => '李四');
($r, $j) = call('getPaperBillNo', { placeCode => 'T50MIXED', pBillBatchCode => '44015002' });
ok t_cmp("$j->{pBillBatchCode} $j->{pBillNo}", '44015002 0000000001', "getPaperBillNo: the second code's next number");
($r, $j) = call('turnPaper', { %turnx, pBillBatchCode => '44015002', pBillNo => '0000000001' });
ok t_cmp($r->code . " $j->{pBillBatchCode} $j->{pBillNo}", '200 44015002 0000000001',
         'turnPaper on the second code: that code\'s number');
($r, $j) = call('turnPaper', { %turnx, pBillBatchCode => '44015002', pBillNo => '0000000001' });
ok t_cmp($r->code . " $j->{pBillBatchCode} $j->{pBillNo}", '200 44015002 0000000001', 'sent again: the same paper');
($r, $j) = call('turnPaper', { %turnx });
ok t_cmp($r->code . " $j->{pBillBatchCode} $j->{pBillNo}", '200 44015002 0000000001',
         'sent again naming no paper (a resend after a timeout): the bill\'s live paper, not a second');
($r, $j) = call('turnPaper', { %turnx, pBillBatchCode => '44015001', pBillNo => '0000000001' });
err_is($r, $j, 409, 'HG_INVOICE_PAPER_EXISTS', 'billNo', 'the same number of another code is not the same paper');
($r, $j) = call('reTurnPaper', { %turnx, pBillBatchCode => '44019999', pBillNo => '0000000001' });
err_is($r, $j, 409, 'HG_INVOICE_NO_PAPER_STOCK', 'pBillBatchCode', 'a code the desk does not hold: refused on the code');
psql("INSERT INTO invoice.places VALUES ('44010001', 'T50NOPAPER', '无纸质票据的窗口') ON CONFLICT DO NOTHING");
($r, $j) = call('getValidBillBatchCode', { placeCode => 'T50NOPAPER' });
ok t_cmp($r->code . ' ' . scalar(@{ $j->{billBatchCodes} // [0] }), '200 0', 'a billing point with no paper stock: none');
($r, $j) = call('getValidBillBatchCode', { placeCode => 'NOSUCH' });
err_is($r, $j, 404, 'HG_NOT_FOUND', 'placeCode', 'an unknown billing point is an error, not an empty list');
($r, $j) = call('getValidBillNo', {});
err_is($r, $j, 400, 'HG_FIELD_REQUIRED', 'placeCode', 'the billing point is required');

# every look-up is in the journal like any HIS call
ok t_cmp(psql("SELECT count(DISTINCT endpoint) FROM hg.audit WHERE endpoint IN ('POST $api/getBillDetail',
               'POST $api/getEBillUnPrintList', 'POST $api/getValidBillBatchCode', 'POST $api/getValidBillNo')
               AND at > now() - interval '10 minutes'"), 4, 'the four services are journalled');
