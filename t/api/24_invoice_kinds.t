# the other bill kinds through the HIS interface, and the WeChat template notification
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request psql wait_until);
use HGInvoice qw(outpatient inpatient bus_no now17);

plan tests => 20;

my $api = '/invoice/api/v1';
sub call { my ($svc, $body) = @_; my $r = signed_request('POST', "$api/$svc", $body); return ($r, json_of($r)); }

# 住院预交金: the deposit payload has amt instead of totalAmt, and no charge items
my $deposit = {
    busNo => bus_no(), busType => '07', payer => '王五', busDateTime => now17(), placeCode => 'ZY01',
    payee => '赵收费', drawee => '王小五', author => '赵收费', cardType => '1101', cardNo => 'JZK0009',
    amt => '2000.00', ownAcBalance => '2000.00', category => '内科', inHospitalDate => '2026-11-20',
    hospitalNo => 'ZY0009', visitNo => 'V0009',
    payChannelDetail => [ { payChannelCode => '05', payChannelValue => '1500.00' },
                          { payChannelCode => '02', payChannelValue => '500.00' } ],
};
my ($r, $j) = call('invoicePayMentVoucher', $deposit);
ok t_cmp($r->code, 200, 'prepayment voucher (住院预交金) issued');
ok t_cmp($j->{totalAmt}, '2000.00', 'its amount');
my $dep = $j;
($r, $j) = call('getEBillStatesByBillInfo', { billBatchCode => $j->{billBatchCode}, billNo => $j->{billNo} });
ok t_cmp($j->{billState}, 'normal', 'and can be queried');
# what the fiscal platform took for a bill: the outbox row's state, and the platform's own record of the call
sub upload_state {
    my ($no) = @_;
    psql("SELECT o.state FROM hg.outbox o JOIN invoice.bills b ON o.business_key = 'upload:' || b.id "
         . "WHERE o.topic = 'invoice.upload' AND b.bill_no = '$no'");
}
sub platform_took {
    my ($svc, $no) = @_;
    psql("SELECT count(*) FROM sandbox.fiscal_calls WHERE service = '$svc' AND result = 'S0000' "
         . "AND data LIKE '%\"billNo\":\"$no\"%'");
}
ok t_cmp(wait_until(20, sub { upload_state($dep->{billNo}) eq 'done' }) ? platform_took('invoicePayMentVoucher', $dep->{billNo}) : 'not done',
         1, 'the deposit voucher reaches the fiscal platform as invoicePayMentVoucher');
# 预交金凭证冲红: writeOffPayMentVoucher takes deposit vouchers only; their red bills go up under that name
my %wo = (reason => '出院结算', operator => '赵收费', busDateTime => now17(), placeCode => 'ZY01');
my $op = json_of(signed_request('POST', "$api/invoiceEBillOutpatient", outpatient()));
($r, $j) = call('writeOffPayMentVoucher', { %wo, billBatchCode => $op->{billBatchCode}, billNo => $op->{billNo} });
ok t_cmp(($j->{code} // '') . ' ' . $r->code, 'HG_INVOICE_WRONG_SERVICE 409', 'writeOffPayMentVoucher refuses an outpatient bill');
($r, $j) = call('writeOffPayMentVoucher', { %wo, billBatchCode => $dep->{billBatchCode}, billNo => $dep->{billNo} });
ok t_cmp($r->code . ' ' . ($j->{eScarletBillNo} // ''), qr/^200 \d{10}$/, 'the deposit voucher is flushed (a red voucher)');
my $red = $j->{eScarletBillNo} // '';
ok t_cmp(wait_until(20, sub { upload_state($red) eq 'done' }) ? platform_took('writeOffPayMentVoucher', $red) : 'not done',
         1, 'the red voucher reaches the platform as writeOffPayMentVoucher');
($r, $j) = call('getEBillStatesByBillInfo', { billBatchCode => $dep->{billBatchCode}, billNo => $dep->{billNo} });
ok t_cmp($j->{isScarlet} . ' ' . $j->{billState}, '1 flushed', 'the original voucher is flushed');

my $pe = outpatient(); $pe->{checkUpNo} = 'TJ2026112801';
($r, $j) = call('invEBillPhysicalExamination', $pe);
ok t_cmp($r->code, 200, 'physical examination bill issued');
$pe = outpatient();
($r, $j) = call('invEBillPhysicalExamination', $pe);
ok t_cmp(($j->{code} // '') . ' ' . ($j->{field} // ''), 'HG_FIELD_REQUIRED checkUpNo', 'a physical examination needs checkUpNo');
($r, $j) = call('invEBillImmunization', outpatient());
ok t_cmp($r->code, 200, 'immunisation bill issued');
$r = signed_request('GET', "$api/bills/$j->{billBatchCode}/$j->{billNo}/pdf", '');
my $f = "$ENV{HG_TOP}/t/state/k$$.pdf";
open my $fh, '>:raw', $f or die $!; print $fh $r->content; close $fh;
my $t = `pdftotext -layout '$f' - 2>/dev/null`; unlink $f; utf8::decode($t);
ok t_cmp($t, qr/广东省医疗门诊收费票据（电子）/, 'immunisation is printed on the outpatient template');

# WeChat: a bill paid in WeChat (openID given) is announced by template message with the H5 link
my $wx = outpatient(); $wx->{openID} = 'oWX-test-openid-0001'; $wx->{weChatOrderNo} = 'WX' . time;
($r, $j) = call('invoiceEBillOutpatient', $wx);
ok t_cmp($r->code, 200, 'bill paid in WeChat issued');
my $msg = wait_until(10, sub { my $m = json_of(GET '/sandbox/messages?to=oWX-test-openid-0001');
                                (grep { ($_->{channel} // '') eq 'wechat' } @{ $m->{messages} // [] })[0] });
ok t_cmp($msg->{template_id} // '', 'TPL-EBILL-0001', 'WeChat template message sent');
ok t_cmp($msg->{url} // '', qr{/invoice/bill\.html#code=\d{8}&no=$j->{billNo}&r=}, 'it links to the bill page');

# a patient who does not follow the Official Account (WeChat 43004): the phone given with the bill gets the SMS
my $uf = outpatient(); $uf->{openID} = 'oSBXunfollow' . time; $uf->{tel} = '13700001234';
($r, $j) = call('invoiceEBillOutpatient', $uf);
my $sms = wait_until(20, sub { my $m = json_of(GET '/sandbox/messages?to=13700001234');
                               (grep { ($_->{channel} // '') eq 'sms' && ($_->{content} // '') =~ /$j->{billNo}/ } @{ $m->{messages} // [] })[0] });
ok t_cmp($sms->{content} // '', qr{/invoice/bill\.html#code=\d{8}&no=$j->{billNo}&r=}, 'WeChat cannot reach the patient (43004): the bill link goes by SMS');
# the SMS is in the sandbox a moment before the drain records its delivery: wait for the record
ok t_cmp(wait_until(10, sub { psql("SELECT o.state || ' ' || (o.result->>'fallbackFrom') || ' ' || (o.result->>'wechatErrcode') "
                                   . "FROM hg.outbox o JOIN invoice.bills b ON o.business_key = 'notify:' || b.id "
                                   . "WHERE o.topic = 'invoice.notify' AND b.bill_batch_code = '$j->{billBatchCode}' "
                                   . "AND b.bill_no = '$j->{billNo}' AND o.state = 'done'") }) // '',
         'done wechat 43004', 'the delivery records the SMS in place of WeChat, and why');
($r, $j) = call('invoiceEBillOutpatient', outpatient(placeCode => 'POOL'));
ok t_cmp(($j->{code} // '') . ' ' . $r->code, 'HG_INVOICE_NO_STOCK 409', 'the store room (POOL) issues nothing');
# a busNo is one bill of one kind: the same body sent to another kind's service is a conflict, not
# a resend answered with the first bill
{
    my $d = outpatient();
    my ($r1, $j1) = call('invoiceEBillOutpatient', $d);
    my ($r2, $j2) = call('invEBillRegistration', $d);
    ok t_cmp($r1->code . ' ' . $r2->code . ' ' . ($j2->{code} // '-') . ' ' . ($j2->{field} // '-'),
             '200 409 HG_INVOICE_BUSNO_CONFLICT busNo', 'the same body as a registration bill: 409 on busNo');
    ($r2, $j2) = call('invoiceEBillOutpatient', $d);
    ok t_cmp($r2->code . ' ' . ($j2->{replayed} ? 'replayed ' : '') . ($j2->{billNo} // '-'), "200 replayed $j1->{billNo}",
             'and to its own service again: the same bill');
}
