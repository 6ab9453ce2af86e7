# the summaries finance reconciles with: by cashier (收费员汇总表), by payment channel
# (缴款渠道汇总表) and by charge item (收费项目汇总表), for a period, in JSON and CSV, with the red
# bills of refunds
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use Encode qw(decode);
use POSIX qw(strftime);
use HG qw(json_of signed_request staff_login psql);
use HGInvoice qw(outpatient now17);

plan tests => 36;

my $base = '/invoice/staff/v1/reports/summary';
my $tag = $$ % 100000;
my ($alice, $bob, $refunder) = ("收费员甲$tag", "收费员乙$tag", "退费员丙$tag");
my ($cash, $card) = ("T29CASH$tag", "T29CARD$tag");

sub call { my $r = signed_request('POST', "/invoice/api/v1/$_[0]", $_[1]); (json_of($r), $r) }
# a bill of 123.45 paid 100.00 in cash and 23.45 by card, issued by payee
sub bill {
    my ($payee, @split) = @_;
    my $d = outpatient();
    $d->{payee} = $payee;
    $d->{payChannelDetail} = [ map { { payChannelCode => $_->[0], payChannelValue => $_->[1] } } @split ];
    my ($j) = call('invoiceEBillOutpatient', $d);
    return $j;
}
my $b1 = bill($alice, [$cash, '100.00'], [$card, '23.45']);
my $b2 = bill($alice, [$cash, '123.45']);
my $b3 = bill($bob, [$card, '60.00'], [$card, '63.45']);     # one channel twice: added up
ok t_cmp(join(',', map { $_->{billNo} =~ /^\d{10}$/ ? 1 : 0 } $b1, $b2, $b3), '1,1,1', 'three bills issued');
my ($red) = call('writeOffEBill', { billBatchCode => $b2->{billBatchCode}, billNo => $b2->{billNo}, reason => '退费',
                                   operator => $refunder, busDateTime => now17(), placeCode => 'MZ01' });
ok t_cmp($red->{eScarletBillNo} // '', qr/^\d{10}$/, 'the second one is flushed (a refund)');

my ($res, $cookie) = staff_login('admin', 'Adm1n-Test-Pass#2026');
my @s = (Cookie => $cookie);
my $today = psql("SELECT to_char(current_date, 'YYYY-MM-DD')");
sub summary { my $r = GET("$base?$_[0]", @s); (json_of($r), $r) }
sub row_of { my ($j, $key, $v) = @_; (grep { ($_->{$key} // '') eq $v } @{ $j->{rows} })[0] // {} }
sub line { my $x = shift; join ' ', map { $x->{$_} // '-' } qw(bills amount redBills redAmount net) }

# ---- by cashier
my ($j, $r) = summary("by=payee&from=$today&to=$today");
ok t_cmp($r->code, 200, 'summary by cashier');
ok t_cmp("$j->{by} $j->{from} $j->{to}", "payee $today $today", 'says what it is');
ok t_cmp(line(row_of($j, 'payee', $alice)), '2 246.90 0 0.00 246.90', "甲: two bills");
ok t_cmp(line(row_of($j, 'payee', $bob)), '1 123.45 0 0.00 123.45', "乙: one bill");
ok t_cmp(line(row_of($j, 'payee', $refunder)), '0 0.00 1 -123.45 -123.45', 'the refund is at the cashier who made it');
my %sum;
for my $x (@{ $j->{rows} }) { $sum{$_} += $x->{$_} for qw(bills amount redBills redAmount net) }
ok t_cmp(sprintf('%d %.2f %d %.2f %.2f', @sum{qw(bills amount redBills redAmount net)}),
         sprintf('%d %.2f %d %.2f %.2f', map { $j->{totals}{$_} } qw(bills amount redBills redAmount net)),
         'the totals add up the rows');
my $all = psql("SELECT count(*) FILTER (WHERE NOT is_scarlet) || ' ' || count(*) FILTER (WHERE is_scarlet) FROM invoice.bills "
             . "WHERE institution = '44010001' AND issued_at >= current_date");
ok t_cmp("$j->{totals}{bills} $j->{totals}{redBills}", $all, "and count every bill of the day");

# ---- by payment channel
($j, $r) = summary("by=channel&from=$today&to=$today&placeCode=MZ01");
ok t_cmp($r->code, 200, 'summary by payment channel');
ok t_cmp(line(row_of($j, 'channel', $cash)), '2 223.45 1 -123.45 100.00', 'cash: two bills, one refunded');
ok t_cmp(line(row_of($j, 'channel', $card)), '2 146.90 0 0.00 146.90', 'card: two bills, one paid twice by card');
my $bills_mz = psql("SELECT count(*) FROM invoice.bills WHERE institution = '44010001' AND NOT is_scarlet "
                  . "AND place_code = 'MZ01' AND issued_at >= current_date");
ok t_cmp($j->{totals}{bills}, $bills_mz, 'a bill paid through two channels counts once in the totals');
my $amt = 0;
$amt += $_->{amount} for @{ $j->{rows} };
ok t_cmp(sprintf('%.2f', $amt), $j->{totals}{amount}, 'the channel amounts add up to the bills');
($j) = summary("by=channel&from=$today&to=$today&placeCode=ZY01");
ok t_cmp(row_of($j, 'channel', $cash)->{bills} // 0, 0, 'another billing point has none of them');

# ---- by charge item: the outpatient bill's five items (西药费 45.60, 检查费 38.00, …); a deposit
# voucher (住院预交金) at the same window charges nothing and is not in it (it went under （未记录）)
my ($dv) = call('invoicePayMentVoucher', {
    busNo => 'DEP' . time . ($$ % 100000), busType => '07', payer => '王五', busDateTime => HGInvoice::now17(),
    placeCode => 'MZ01', payee => "预交$tag", author => '赵收费', cardType => '1101', cardNo => 'JZK0009', amt => '2000.00',
    hospitalNo => 'ZY0009', visitNo => 'V0009', payChannelDetail => [ { payChannelCode => '02', payChannelValue => '2000.00' } ] });
ok t_cmp($dv->{billNo} // '-', qr/^\d{10}$/, 'a deposit voucher issued at MZ01');
($j, $r) = summary("by=charge&from=$today&to=$today&placeCode=MZ01");
ok t_cmp($r->code, 200, 'summary by charge item');
my $xy = row_of($j, 'charge', 'XY');
ok t_cmp(($xy->{name} // '') . ' ' . ($xy->{bills} >= 3 ? 'ok' : $xy->{bills} // 0), '西药费 ok', 'an item with its name');
my $net = 0;
$net += $_->{net} for @{ $j->{rows} };
ok t_cmp(sprintf('%.2f', $net), $j->{totals}{net}, 'the items add up to the totals');
my $charged_mz = psql("SELECT count(*) FROM invoice.bills WHERE institution = '44010001' AND NOT is_scarlet "
                     . "AND place_code = 'MZ01' AND kind <> 'prepayment' AND issued_at >= current_date");
ok t_cmp($j->{totals}{bills}, $charged_mz, 'a bill with five items counts once in the totals, a deposit voucher not at all');
ok t_cmp(row_of($j, 'charge', '')->{bills} // 0, 0, 'and nothing under （未记录）');
# the deposit vouchers apart in the other two: money taken at the window, but the stay's inpatient
# bill settles it again, so finance sees how much of a row they are
($j) = summary("by=payee&from=$today&to=$today");
my $dep = sub { my $x = shift; join ' ', map { $x->{$_} // '-' } qw(bills amount depositBills depositNet) };
ok t_cmp($dep->(row_of($j, 'payee', "预交$tag")) . ' | ' . $dep->(row_of($j, 'payee', $alice)),
         '1 2000.00 1 2000.00 | 2 246.90 0 0.00', 'by cashier: the deposit voucher is counted apart, the bills not');
my $deposits = psql("SELECT count(*) FILTER (WHERE NOT is_scarlet) || ' ' || to_char(coalesce(sum(total_fen), 0) / 100.0, 'FM999999990.00') "
                  . "FROM invoice.bills WHERE institution = '44010001' AND kind = 'prepayment' AND issued_at >= current_date");
ok t_cmp("$j->{totals}{depositBills} $j->{totals}{depositNet}", $deposits, 'the totals have every deposit voucher of the day');
($j) = summary("by=channel&from=$today&to=$today&placeCode=MZ01");
my $dep_mz = psql("SELECT count(*) FILTER (WHERE NOT is_scarlet) FROM invoice.bills WHERE institution = '44010001' "
                . "AND kind = 'prepayment' AND place_code = 'MZ01' AND issued_at >= current_date");
ok t_cmp(join(' ', $j->{totals}{depositBills}, row_of($j, 'channel', $cash)->{depositBills} // '-'), "$dep_mz 0",
         'by channel: counted once in the totals, none in the cash of the outpatient bills');

# ---- earlier days hold none of today's bills
my $yesterday = psql("SELECT to_char(current_date - 1, 'YYYY-MM-DD')");
($j) = summary("by=payee&from=$yesterday&to=$yesterday");
ok t_cmp(row_of($j, 'payee', $alice)->{bills} // 0, 0, "yesterday: nothing of 甲's");

# ---- CSV for Excel
$r = GET("$base?by=payee&from=$today&to=$today&format=csv", @s);
ok t_cmp($r->header('Content-Type'), qr{^text/csv}, 'CSV');
ok t_cmp($r->header('Content-Disposition') // '', qr/invoice-payee-\Q$today\E-\Q$today\E\.csv/, 'named for the period');
my $csv = decode('UTF-8', $r->content);
ok t_cmp(substr($csv, 0, 1), "\x{FEFF}", 'with a BOM for Excel');
ok t_cmp($csv, qr/^\x{FEFF}起始日期,截止日期,收费员,开票张数,开票金额,红票张数,红票金额,净额,其中预交金收据张数,其中预交金净额\r\n/, 'Chinese headers');
ok t_cmp($csv, qr/\r\n\Q$today,$today,$alice\E,2,246\.90,0,0\.00,246\.90,0,0\.00\r\n/, "甲's row");
ok t_cmp($csv, qr/\r\n\Q$today,$today\E,合计,/, 'and the totals');

# ---- bad input
sub err { my ($q, $name, $code, $field) = @_; my ($e, $x) = summary($q);
          ok t_cmp($x->code . ' ' . ($e->{code} // '-') . ' ' . ($e->{field} // '-'), "400 $code $field", $name) }
err('by=clerk', 'an unknown grouping', 'HG_FIELD_ENUM', 'by');
err('from=2026-02-30', 'a day that does not exist', 'HG_FIELD_DATE', 'from');
err("from=$today&to=$yesterday", 'to before from', 'HG_FIELD_RANGE', 'to');
err('from=2024-01-01&to=2026-01-01', 'more than 366 days', 'HG_FIELD_RANGE', 'to');
$r = GET("$base?by=payee");
ok t_cmp($r->code . ' ' . (json_of($r)->{code} // '-'), '401 HG_LOGIN_REQUIRED', 'staff only');
