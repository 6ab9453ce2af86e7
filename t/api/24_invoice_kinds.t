# the other bill kinds through the HIS interface, and the WeChat template notification
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request psql wait_until);
use HGInvoice qw(outpatient inpatient bus_no now17);

plan tests => 11;

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
($r, $j) = call('getEBillStatesByBillInfo', { billBatchCode => $j->{billBatchCode}, billNo => $j->{billNo} });
ok t_cmp($j->{billState}, 'normal', 'and can be queried');

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

($r, $j) = call('invoiceEBillOutpatient', outpatient(placeCode => 'POOL'));
ok t_cmp(($j->{code} // '') . ' ' . $r->code, 'HG_INVOICE_NO_STOCK 409', 'the store room (POOL) issues nothing');
