package HGInvoice;
# Realistic e-invoice payloads (the Bosi issue `data` object of specs/fiscal-einvoice.md §4.1)
use strict;
use warnings;
use utf8;
# test names and diagnostics carry Chinese: print them as UTF-8
binmode(STDOUT, ':encoding(UTF-8)');
binmode(STDERR, ':encoding(UTF-8)');
use Exporter 'import';
use POSIX qw(strftime);
our @EXPORT_OK = qw(outpatient inpatient long_inpatient bus_no now17);

my $seq = 0;
sub bus_no { sprintf('OP%d%05d%03d', time, $$ % 100000, ++$seq) }
sub now17  { strftime('%Y%m%d%H%M%S', localtime) . '123' }

# total 123.45 = 5 charge lines; paid 60.00 fund + 20.00 account + 43.45 cash
sub outpatient {
    my (%o) = @_;
    my $d = {
        busNo => $o{busNo} // bus_no(), busType => '02', payer => $o{payer} // '张三丰',
        busDateTime => now17(), placeCode => $o{placeCode} // 'MZ01', payee => '收费员李四', author => '李四',
        totalAmt => '123.45', payerType => '1', idCardNo => $o{idCardNo} // '440101199001011234',
        cardType => '01', cardNo => $o{cardNo} // 'JZK00012345', tel => $o{tel} // '13812345678',
        sex => '男', age => '36', patientId => 'P000123', visitNo => 'MZ20261128001',
        medicalInstitution => '三级甲等', medCareTypeCode => '310', medicalCareType => '职工基本医疗保险',
        patientCategory => '呼吸内科', patientCategoryCode => '0301',
        fundPay => '60.00', otherfundPay => '0.00', accountPay => '20.00', selfCashPay => '43.45',
        ownPay => '10.00', selfConceitedAmt => '13.45', selfPayAmt => '40.00',
        payChannelDetail => [
            { payChannelCode => '01', payChannelValue => '43.45' },
            { payChannelCode => '11', payChannelValue => '60.00' },
            { payChannelCode => '12', payChannelValue => '20.00' },
        ],
        chargeDetail => [
            { sortNo => 1, chargeCode => 'XY', chargeName => '西药费', unit => '项', std => '45.60', number => '1', amt => '45.60', selfAmt => '5.00' },
            { sortNo => 2, chargeCode => 'JC', chargeName => '检查费', unit => '项', std => '38.00', number => '1', amt => '38.00', selfAmt => '0.00' },
            { sortNo => 3, chargeCode => 'ZL', chargeName => '治疗费', unit => '项', std => '20.00', number => '1', amt => '20.00', selfAmt => '5.00' },
            { sortNo => 4, chargeCode => 'HY', chargeName => '化验费', unit => '项', std => '14.85', number => '1', amt => '14.85', selfAmt => '0.00' },
            { sortNo => 5, chargeCode => 'GH', chargeName => '挂号费', unit => '次', std => '5.00', number => '1', amt => '5.00', selfAmt => '0.00' },
        ],
    };
    delete $d->{$_} for grep { exists $o{"no_$_"} } keys %$d;
    return $d;
}

sub inpatient {
    my (%o) = @_;
    my $d = outpatient(%o, placeCode => $o{placeCode} // 'ZY01');
    $d->{busType} = '01';
    @$d{qw(hospitalNo inHospitalDate outHospitalDate hospitalDays)} = ('ZY2026001', '2026-11-20', '2026-11-27', '7');
    $d->{listDetail} = [ map { { code => "L$_->{sortNo}", name => $_->{chargeName} . '明细', std => $_->{std},
                                 number => '1', amt => $_->{amt}, selfAmt => $_->{selfAmt} } } @{ $d->{chargeDetail} } ];
    return $d;
}

# an in-patient bill whose itemised list has $lines lines (up to 500, the most a bill takes), still
# 123.45 in all: several pages to render, so a first download takes a while
sub long_inpatient {
    my ($lines, %o) = @_;
    my $d = inpatient(%o);
    my $each = $lines > 4000 ? 2 : $lines > 250 ? 24 : 51;    # fen a line; the last line takes the rest
    my @l = map { { code => "L$_", name => "明细项目$_", std => sprintf('%.2f', $each / 100), number => '1',
                    amt => sprintf('%.2f', $each / 100), selfAmt => '0.00' } } 1 .. $lines - 1;
    my $rest = sprintf('%.2f', (12345 - $each * ($lines - 1)) / 100);
    push @l, { code => "L$lines", name => "明细项目$lines", std => $rest, number => '1', amt => $rest, selfAmt => '0.00' };
    $d->{listDetail} = \@l;
    return $d;
}

1;
