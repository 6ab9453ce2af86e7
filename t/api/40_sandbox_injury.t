# mod_sandbox's simulated Guangdong work-injury platform (mod_sandbox/INJURY.md), spoken to in raw
# XML over HTTP: sys0001 sessions and -9, every out-of-order refusal of the outpatient and inpatient
# chains, the 300-row limit, split sums, mutual exclusion, the duplicate-refund message, failure
# modes (down, slow, expire, error, lost, late) and hostile item names round-tripping.
# Persons 1000000011..1000000016 are reserved for this file (INJURY.md §3).
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Encode qw(encode_utf8);
use HTTP::Tiny;
use JSON::PP ();
use XML::Parser;
use HG qw(json_of psql);

binmode STDOUT, ":encoding(UTF-8)";   # Chinese test names and diagnostics
binmode STDERR, ":encoding(UTF-8)";
plan tests => 218;

my $URL = 'http://' . Apache::TestRequest::hostport() . '/sandbox/injury/api/call.action';
my $AKB020 = 'H44010100001';
my $HOSTILE = q{<b>&"'</b> 钢板&螺钉 "L" 'R'};

# ---------------------------------------------------------------- XML both ways
sub esc { my $s = shift; $s =~ s/&/&amp;/g; $s =~ s/</&lt;/g; $s =~ s/>/&gt;/g; $s =~ s/"/&quot;/g; $s =~ s/'/&apos;/g; $s }
sub xml_of {
    my ($f) = @_;
    my $x = '<?xml version="1.0" encoding="utf-8"?><program>';
    for my $k (sort keys %$f) {
        my $v = $f->{$k};
        if (ref $v eq 'ARRAY') {
            $x .= "<$k>" . join('', map { my $r = $_; '<row>' . join('', map { "<$_>" . esc($r->{$_}) . "</$_>" } sort keys %$r) . '</row>' } @$v) . "</$k>";
        } else {
            $x .= "<$k>" . esc($v) . "</$k>";
        }
    }
    return encode_utf8($x . '</program>');
}
sub conv {
    my ($c) = @_;
    my (@kids, $text);
    for (my $i = 1; $i < @$c; $i += 2) {
        if ($c->[$i] eq '0') { $text .= $c->[$i + 1] } else { push @kids, [$c->[$i], $c->[$i + 1]] }
    }
    return $text // '' unless @kids;
    return [map { conv($_->[1]) } @kids] unless grep { $_->[0] ne 'row' } @kids;
    return { map { ($_->[0] => conv($_->[1])) } @kids };
}
sub parse {
    my ($body) = @_;
    my $t = eval { XML::Parser->new(Style => 'Tree')->parse($body) } or return { return_code => 'unparsable', body => $body };
    return conv($t->[1]);
}
my $http = HTTP::Tiny->new(timeout => 10);
sub raw { my ($body, $timeout) = @_; my $h = $timeout ? HTTP::Tiny->new(timeout => $timeout) : $http;
          return $h->post($URL, { content => $body, headers => { 'Content-Type' => 'application/x-www-form-urlencoded' } }) }
sub call { my ($f, $timeout) = @_; my $r = raw(xml_of($f), $timeout); return $r->{status} == 200 ? parse($r->{content}) : { return_code => "http $r->{status}" } }

my %S;    # session per institution
sub login { my ($user, $pw) = @_; my $a = call({ function_id => 'sys0001', userid => $user, password => $pw }); return $a }
sub biz { my ($fid, %f) = @_; my $akb = delete $f{_akb} // $AKB020; return call({ function_id => $fid, session_id => $S{$akb}, akb020 => $akb, %f }) }
sub rc_is { my ($a, $rc, $msg, $name) = @_;
    ok t_cmp("$a->{return_code}", "$rc", $name);
    ok t_cmp($a->{return_code_message} // '', ref $msg ? $msg : qr/\Q$msg\E/, "$name: message") if defined $msg }
sub control { POST '/sandbox/control', 'Content-Type' => 'application/json', content => JSON::PP->new->utf8->encode({ platform => 'injury', @_ }) }

# independent split arithmetic (fen), INJURY.md §4.7
sub fen { my $s = shift; my ($neg, $i, $d) = $s =~ /^(-?)(\d+)(?:\.(\d{1,2}))?$/ or die "amount $s"; my $v = $i * 100 + ($d // 0) * ($d && length $d == 1 ? 10 : 1); $neg ? -$v : $v }
sub yuan { my $f = shift; my $s = $f < 0 ? '-' : ''; $f = abs $f; sprintf '%s%d.%02d', $s, int($f / 100), $f % 100 }
sub part { my $a = shift; my $m = abs $a; my $r = int($m / 10) + ($m % 10 >= 5 ? 1 : 0); $a < 0 ? -$r : $r }
sub expect_split {
    my (@rows) = @_;
    my ($t, $full, $p) = (0, 0, 0);
    for (@rows) {
        my $a = fen($_->{bka058});
        $t += $a;
        if ($_->{ake005} =~ /^ZF/) { $full += $a } elsif (($_->{aka036} // '') eq '1') { $p += part($a) }
    }
    return (akc264 => yuan($t), bka825 => yuan($full), bka826 => yuan($p), bka831 => yuan($full + $p), bka832 => yuan($t - $full - $p));
}
sub split_ok {
    my ($p, $name) = @_;
    my $f = sub { fen($p->{$_[0]}) };
    ok t_cmp($f->('akc264'), $f->('bka831') + $f->('bka832'), "$name: akc264 = bka831 + bka832");
    ok t_cmp($f->('bka831'), $f->('akb067') + $f->('akb066') + $f->('bka839'), "$name: bka831 = akb067 + akb066 + bka839");
    ok t_cmp($f->('bka832'), $f->('ake039') + $f->('ake035') + $f->('ake026') + $f->('ake029') + $f->('bka841')
             + $f->('bka842') + $f->('bka840') + $f->('bka821'), "$name: bka832 = the fund parts");
}
sub fee_row { my ($n, %o) = @_; return { aaz213 => "$n", ake005 => "XM$n", ake006 => "项目$n", bka051 => '20261120',
    bka056 => '1.2345', bka057 => '3', bka058 => '3.70', bka055 => '支', %o } }

# ---------------------------------------------------------------- sessions
control(mode => 'normal');
my $a = login('ss44010001', 'Sgs-Demo#2026');
rc_is($a, 1, undef, 'sys0001 login');
ok t_cmp($a->{session_id} // '', qr/^[0-9a-f]{32}$/, 'session_id handed out');
ok t_cmp($a->{aae036} // '', qr/^\d{8}000000$/, 'valid until midnight (China time)');
$S{$AKB020} = $a->{session_id};
rc_is(login('ss44010001', 'wrong'), -1, '用户名或密码错误', 'wrong password');
rc_is(call({ function_id => 'bizh110001', akb020 => $AKB020, bka895 => 'aac001', bka896 => '1000000011', bka006 => '410' }),
      -9, '重新登录', 'no session_id: -9');
rc_is(call({ function_id => 'bizh110001', session_id => 'f' x 32, akb020 => $AKB020, bka895 => 'aac001', bka896 => '1000000011', bka006 => '410' }),
      -9, undef, 'unknown session_id: -9');
rc_is(biz('bizh110001', _akb => $AKB020, akb020 => 'H44010600009', bka895 => 'aac001', bka896 => '1000000011', bka006 => '410'),
      -1, '与登录机构', 'akb020 of another institution refused');
rc_is(biz('bizh999999'), -3, '功能号[bizh999999]不存在', 'unknown function_id');
{
    my $r = raw('<program><function_id>sys0001</function_id>');
    rc_is(parse($r->{content}), -2, '请求报文不是合法的XML', 'malformed XML');
}

# ---------------------------------------------------------------- person info
$a = biz('bizh110001', bka895 => 'aac001', bka896 => '1000000011', bka006 => '410');
rc_is($a, 1, undef, '110001 person info');
ok t_cmp($a->{personinfo}[0]{aac003}, '测试一', 'personinfo row');
ok t_cmp(scalar @{ $a->{injuryorbirthinfo} || [] }, 1, 'one valid injury authorisation');
$a = biz('bizh120001', bka895 => 'aac002', bka896 => '440101197707070077', bka006 => '420', aka130 => '42');
ok t_cmp(ref $a->{injuryorbirthinfo} ? 'rows' : 'empty', 'empty', 'expired authorisation: no injuryorbirthinfo rows');
rc_is(biz('bizh110001', bka895 => 'aac001', bka896 => '1999999999', bka006 => '410'), -1, '未查询到该人员', 'unknown person');

# ---------------------------------------------------------------- outpatient
my $year = (split /-/, psql("SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY')"))[0];
my $tot0 = biz('bizh410004', aac001 => '1000000011', aae001 => $year)->{totalinfo}[0];
my %reg = (aka130 => '41', bka006 => '410', bka017 => '20261128', bka014 => 'D01', bka015 => '王医生');
rc_is(biz('bizh110104', %reg, aac001 => '1000000007', bka025 => 'MZ-T-7'), -1, '无有效的工伤认定', 'outpatient registration without authorisation refused');
rc_is(biz('bizh110105', aaz218 => '2099000000000001', bka014 => 'D01', bka015 => 'x', bka893 => '1', feeinfo => [fee_row(1)]),
      -1, '不存在或已取消', 'no fees before registration');
$a = biz('bizh110104', %reg, aac001 => '1000000011', bka025 => 'MZ-T-11');
rc_is($a, 1, undef, '110104 registration');
my $op = $a->{aaz218};
ok t_cmp(biz('bizh110104', %reg, aac001 => '1000000011', bka025 => 'MZ-T-11')->{aaz218}, $op, 'same 门诊号 again: same aaz218');
my @opfees = ({ ake005 => 'XM01', ake006 => $HOSTILE, bka051 => '20261128', bka056 => '12.3456', bka057 => '2', bka058 => '24.69', bka071 => 'HIS-1', aka036 => '1' },
              { ake005 => 'ZF02', ake006 => '自费药', bka051 => '20261128', bka056 => '10', bka057 => '1', bka058 => '10.00', bka071 => 'HIS-2' },
              { ake005 => 'XM03', ake006 => '换药', bka051 => '20261128', bka056 => '5.5', bka057 => '2', bka058 => '11.00', bka071 => 'HIS-3' });
$a = biz('bizh110105', aaz218 => $op, bka014 => 'D01', bka015 => 'x', bka893 => '0', feeinfo => \@opfees);
rc_is($a, 1, undef, '110105 trial');
my %want = expect_split(@opfees);
ok t_cmp(join(',', map { $a->{payinfo}[0]{$_} } sort keys %want), join(',', map { $want{$_} } sort keys %want), 'trial split computed from the rows');
ok t_cmp(scalar @{ ref $a->{payinfo} ? $a->{payinfo} : [] }, 1, 'one payinfo row');
ok t_cmp(ref biz('bizh110103', bka895 => 'aaz218', bka896 => $op, bka001 => '0')->{payinfo} ? 'stored' : 'none', 'none', 'a trial stores nothing');
$a = biz('bizh110105', aaz218 => $op, bka014 => 'D01', bka015 => 'x', bka893 => '1', feeinfo => \@opfees);
rc_is($a, 1, undef, '110105 settle');
ok t_cmp($a->{payinfo}[0]{bka001}, '1', 'first batch');
ok t_cmp($a->{payinfo}[0]{akc264}, $want{akc264}, 'settled total');
split_ok($a->{payinfo}[0], 'outpatient settlement');
rc_is(biz('bizh110105', aaz218 => $op, bka014 => 'D01', bka015 => 'x', bka893 => '1', feeinfo => [$opfees[2]]),
      -1, '[bka071=HIS-3]已结算', 'the same HIS fee line cannot be settled twice');
$a = biz('bizh110103', bka895 => 'aaz218', bka896 => $op, bka001 => '0');
rc_is($a, 1, undef, '110103 refund info');
my ($line1) = grep { $_->{bka071} eq 'HIS-1' } @{ $a->{feeinfo} };
ok t_cmp($line1->{ake006}, $HOSTILE, 'hostile item name round-trips through the platform unchanged');
ok t_cmp($line1->{aaz213}, '1', 'serial aaz213 assigned by the platform');
rc_is(biz('bizh110106', aaz218 => $op, bka014 => 'D01', bka015 => 'x'), -1, '请先退费', 'cancel registration with settled fees refused');
my %refund1 = (%{ $opfees[0] }, aaz213 => '1', bka057 => '-2', bka058 => '-24.69');
delete $refund1{bka071};
$a = biz('bizh110105', aaz218 => $op, bka014 => 'D01', bka015 => 'x', bka893 => '1', feeinfo => [\%refund1]);
rc_is($a, 1, undef, 'refund of serial 1');
ok t_cmp($a->{payinfo}[0]{akc264} . '/' . $a->{payinfo}[0]{bka826}, '-24.69/-2.47', 'refund batch mirrors the charge');
rc_is(biz('bizh110105', aaz218 => $op, bka014 => 'D01', bka015 => 'x', bka893 => '1', feeinfo => [\%refund1]),
      -1, qr/^已经办理过退费，不能重复退费$/, 'duplicate refund');
rc_is(biz('bizh110105', aaz218 => $op, bka014 => 'D01', bka015 => 'x', bka893 => '1', feeinfo => [{ %refund1, aaz213 => '99' }]),
      -1, '原费用序号[99]不存在', 'refund of a serial that does not exist');
rc_is(biz('bizh110105', aaz218 => $op, bka014 => 'D01', bka015 => 'x', bka893 => '1',
          feeinfo => [{ %{ $opfees[1] }, aaz213 => '2', bka057 => '-1', bka058 => '-9.00', bka056 => '9' }]),
      -1, '退费金额与原费用不符', 'partial refund refused');
rc_is(biz('bizh110105', aaz218 => $op, bka014 => 'D01', bka015 => 'x', bka893 => '1',
          feeinfo => [map { { %{ $opfees[$_] }, aaz213 => $_ + 1, bka057 => '-' . $opfees[$_]{bka057}, bka058 => '-' . $opfees[$_]{bka058} } } 1, 2]),
      1, undef, 'refund of the other two lines');
rc_is(biz('bizh110106', aaz218 => $op, bka014 => 'D01', bka015 => 'x'), 1, undef, 'cancel registration once all is refunded');
rc_is(biz('bizh110106', aaz218 => $op, bka014 => 'D01', bka015 => 'x'), -1, '不存在或已取消', 'cancel again: nothing to cancel');
rc_is(biz('bizh110105', aaz218 => $op, bka014 => 'D01', bka015 => 'x', bka893 => '1', feeinfo => [$opfees[2]]),
      -1, '不存在或已取消', 'no fees on a cancelled registration');
$a = biz('bizh110102', bka895 => 'aac001', bka896 => '1000000011', bka006 => '410');
ok t_cmp(join('/', map { $a->{bizinfo}[0]{$_} } qw(aaz218 aae100 bkz001)), "$op/0/cancelled", '110102 shows the cancelled visit');

# ---------------------------------------------------------------- inpatient: admission and mutual exclusion
my %adm = (aka130 => '42', bka006 => '420', bka017 => '20261120', bka014 => 'N01', bka015 => '李护士', bka020 => '骨科');
rc_is(biz('bizh120002', aaz218 => '2099000000000002', feeinfo => [fee_row(1)]), -1, '不存在或已取消', 'no fees before admission');
rc_is(biz('bizh120103', %adm, aac001 => '1000000008', bka025 => 'ZY-T-8'), -1, '无有效的工伤认定', 'admission without any authorisation refused');
rc_is(biz('bizh120103', %adm, aac001 => '1000000006', bka025 => 'ZY-T-6'), -1, qr/^业务互斥：该人员已在其他医疗机构住院/, 'person in hospital elsewhere: mutual exclusion');
rc_is(biz('bizh120103', %adm, aac001 => '1000000012', bka006 => '410', bka025 => 'ZY-T-12'), -2, 'bka006', 'admission with outpatient bka006 refused');
$a = biz('bizh120103', %adm, aac001 => '1000000012', bka025 => 'ZY-T-12');
rc_is($a, 1, undef, '120103 admission');
my $ip = $a->{aaz218};
ok t_cmp(biz('bizh120103', %adm, aac001 => '1000000012', bka025 => 'ZY-T-12')->{aaz218}, $ip, 'same 住院号 again: same aaz218');
rc_is(biz('bizh120103', %adm, aac001 => '1000000012', bka025 => 'ZY-T-12b'), -1, '已在本院住院', 'second admission in the same hospital refused');

# ---------------------------------------------------------------- fees: 300-row limit, idempotency, hostile names
my @rows = map { fee_row($_) } 1 .. 301;
$rows[0]{ake006} = $HOSTILE;
$rows[1] = fee_row(2, ake005 => 'ZF0002', bka056 => '100', bka057 => '1', bka058 => '100.00');
$rows[2] = fee_row(3, aka036 => '1', bka056 => '33.3333', bka057 => '1.5', bka058 => '50.00');
$rows[3] = fee_row(4, bka056 => '1.2345', bka057 => '-3', bka058 => '-3.70');
rc_is(biz('bizh120002', aaz218 => $ip, feeinfo => \@rows), -2, '不能超过300条(本次301条)', '301 rows in one call refused');
$a = biz('bizh120113', aaz218 => $ip);
ok t_cmp(ref $a->{feeinfo} ? scalar @{ $a->{feeinfo} } : 0, 0, 'nothing stored from the refused call');
pop @rows;
$a = biz('bizh120002', aaz218 => $ip, feeinfo => \@rows);
rc_is($a, 1, '共300条', '300 rows accepted');
ok t_cmp($a->{bkz004}, '300', '300 rows stored');
$a = biz('bizh120002', aaz218 => $ip, feeinfo => [@rows[0 .. 9]]);
rc_is($a, 1, undef, 'the same rows again (a retried batch)');
ok t_cmp($a->{bkz004}, '0', 'a retried batch stores nothing twice');
rc_is(biz('bizh120002', aaz218 => $ip, feeinfo => [fee_row(5, bka058 => '3.71')]), -1, '费用序号[5]已存在且内容不一致',
      'same serial with other content refused');
rc_is(biz('bizh120002', aaz218 => $ip, feeinfo => [fee_row(400, bka058 => '9.99')]), -2, '单价×数量', 'amount not price x quantity refused');
rc_is(biz('bizh120002', aaz218 => $ip, feeinfo => ''), -2, '不能为空', 'empty feeinfo refused');
$a = biz('bizh120113', aaz218 => $ip);
ok t_cmp(scalar @{ $a->{feeinfo} }, 300, '120113 lists the 300 stored rows');
ok t_cmp($a->{feeinfo}[0]{ake006}, $HOSTILE, 'hostile name stored and returned byte for byte');
ok t_cmp($a->{feeinfo}[0]{aaz213}, '1', 'rows in upload order');
ok t_cmp(psql("SELECT row->>'ake006' FROM sandbox.injury_fees WHERE aaz218 = '$ip' AND aaz213 = '1'"), encode_utf8($HOSTILE),
         'the stored fee row holds the hostile name unchanged');
{
    my $body = xml_of({ function_id => 'bizh120002', session_id => $S{$AKB020}, akb020 => $AKB020, aaz218 => $ip,
                        feeinfo => [fee_row(500, ake006 => 'GBKNAME')] });
    $body =~ s/GBKNAME/\xd5\xc5\xc8\xfd/;
    rc_is(parse(raw($body)->{content}), -2, '不是合法的XML', 'a GBK item name (not UTF-8) is refused, not mangled');
}

# ---------------------------------------------------------------- the inpatient chain and its refusals
rc_is(biz('bizh120106', aaz218 => $ip, bka046 => 'N01', bka047 => 'x'), -1, '未办理出院登记，不能出院结算', 'no settlement before discharge');
rc_is(biz('bizh120108', aaz218 => $ip), -1, '未办理出院登记，不能取消出院登记', 'cancel discharge before discharge refused');
rc_is(biz('bizh120107', aaz218 => $ip), -1, '未出院结算，不能取消出院结算', 'cancel settlement before settlement refused');
$a = biz('bizh120003', aaz218 => $ip, bka438 => '2');
rc_is($a, 1, undef, '120003 pre-settlement');
%want = expect_split(@rows);
ok t_cmp(join(',', map { $a->{payinfo}[0]{$_} } sort keys %want), join(',', map { $want{$_} } sort keys %want), 'pre-settlement split from the 300 rows');
split_ok($a->{payinfo}[0], 'pre-settlement');
my $trial_total = $a->{payinfo}[0]{akc264};
rc_is(biz('bizh120104', aaz218 => $ip, bka023 => '12床', bka020 => '创伤骨科'), 1, undef, '120104 changes bed and department');
rc_is(biz('bizh120104', aaz218 => $ip, bka017 => '20261101'), -1, '只能修改', '120104 cannot change the admission date');
rc_is(biz('bizh120105', aaz218 => $ip, bka032 => '20261101', bka033 => 'N01', bka034 => 'x'), -2, '出院日期不能早于入院日期', 'discharge before admission date refused');
rc_is(biz('bizh120105', aaz218 => $ip, bka032 => '20261128', bka033 => 'N01', bka034 => 'x', bka006 => '420'), 1, undef, '120105 discharge registration');
rc_is(biz('bizh120105', aaz218 => $ip, bka032 => '20261128', bka033 => 'N01', bka034 => 'x'), -1, '不能重复办理', 'discharge twice refused');
rc_is(biz('bizh120002', aaz218 => $ip, feeinfo => [fee_row(301)]), -1, '已办理出院登记，不能再上传费用', 'no fees after discharge registration');
rc_is(biz('bizh120004', aaz218 => $ip), -1, '不能删除费用明细', 'no fee wipe after discharge registration');
rc_is(biz('bizh120109', aaz218 => $ip), -1, '请先取消出院登记', 'cancel admission of a discharged stay refused');
$a = biz('bizh120106', aaz218 => $ip, bka046 => 'N01', bka047 => 'x');
rc_is($a, 1, undef, '120106 settlement');
ok t_cmp($a->{payinfo}[0]{akc264}, $trial_total, 'settled as pre-settled');
split_ok($a->{payinfo}[0], 'settlement');
ok t_cmp($a->{payinfo}[0]{bka001}, '1', 'first settlement of the stay');
rc_is(biz('bizh120106', aaz218 => $ip, bka046 => 'N01', bka047 => 'x'), -1, '不能重复结算', 'settle twice refused');
$a = biz('bizh120102', bka895 => 'aaz218', bka896 => $ip, bka006 => '420');
ok t_cmp(join('/', map { $a->{bizinfo}[0]{$_} } qw(bka891 bkz001 bka023 bka032)), '1/settled/12床/20261128', '120102 shows the settled stay');
rc_is(biz('bizh120108', aaz218 => $ip), -1, '请先取消出院结算', 'cancel discharge of a settled stay refused');
rc_is(biz('bizh120109', aaz218 => $ip), -1, '请先取消出院结算', 'cancel admission of a settled stay refused');
rc_is(biz('bizh120107', aaz218 => $ip), 1, undef, '120107 cancel settlement');
$a = biz('bizh120206', aaz218 => $ip);
ok t_cmp(join('/', map { $_->{bka001} . ':' . $_->{aae100} } @{ $a->{payinfo} }), '1:0', '120206: the settlement is cancelled');
rc_is(biz('bizh120108', aaz218 => $ip), 1, undef, '120108 cancel discharge');
rc_is(biz('bizh120004', aaz218 => $ip), 1, '共300条', '120004 wipes the fees');
rc_is(biz('bizh120004', aaz218 => $ip), -1, '没有可删除的费用明细', 'wipe again: nothing to delete');
rc_is(biz('bizh120109', aaz218 => $ip), 1, undef, '120109 cancel admission');
rc_is(biz('bizh120109', aaz218 => $ip), -1, '不存在或已取消', 'cancel admission again: nothing to cancel');
$a = biz('bizh120102', bka895 => 'aac001', bka896 => '1000000012', bka006 => '420');
ok t_cmp(join('/', map { $a->{bizinfo}[0]{$_} } qw(aaz218 aae100 bkz001)), "$ip/0/cancelled", '120102 shows the cancelled stay');

# ---------------------------------------------------------------- mutual exclusion across institutions
$a = login('ss44010002', 'Sgs-Other#2026');
$S{H44010600009} = $a->{session_id};
$a = biz('bizh120103', _akb => 'H44010600009', %adm, aac001 => '1000000013', bka025 => 'OTHER-13');
rc_is($a, 1, undef, 'admitted at the other hospital');
rc_is(biz('bizh120103', %adm, aac001 => '1000000013', bka025 => 'ZY-T-13'), -1, '已在其他医疗机构住院', 'then refused here (业务互斥)');
rc_is(biz('bizh120107', aaz218 => $a->{aaz218}), -1, '不存在或已取消', "another hospital's stay is not ours to cancel");
rc_is(biz('bizh120109', _akb => 'H44010600009', aaz218 => $a->{aaz218}), 1, undef, 'the other hospital cancels its admission');
$a = biz('bizh120103', %adm, aac001 => '1000000013', bka025 => 'ZY-T-13');
rc_is($a, 1, undef, 'now admitted here');
my $ip13 = $a->{aaz218};

# ---------------------------------------------------------------- session expiry mid-stay
my $old = $S{$AKB020};
ok t_cmp(control(mode => 'expire')->code, 200, 'control: expire all sessions');
rc_is(biz('bizh120002', aaz218 => $ip13, feeinfo => [fee_row(1)]), -9, undef, 'mid-stay call after expiry: -9');
$a = login('ss44010001', 'Sgs-Demo#2026');
rc_is($a, 1, undef, 'log in again');
$S{$AKB020} = $a->{session_id};
ok t_cmp($a->{session_id} ne $old, 1, 'a new session');
rc_is(biz('bizh120002', aaz218 => $ip13, feeinfo => [fee_row(1), fee_row(2, ake005 => 'ZF2', bka056 => '8', bka057 => '1', bka058 => '8.00')]),
      1, undef, 'the stay goes on with the new session');
rc_is(call({ function_id => 'bizh120113', session_id => $old, akb020 => $AKB020, aaz218 => $ip13 }), -9, undef, 'the old session stays dead');

# ---------------------------------------------------------------- failure modes
ok t_cmp(control(mode => 'error', function_id => 'bizh120003', message => '模拟：基金系统维护中')->code, 200, 'control: error on the next 120003');
rc_is(biz('bizh120113', aaz218 => $ip13), 1, undef, 'another function is not hit by a targeted error');
$a = biz('bizh120003', aaz218 => $ip13, bka438 => '2');
rc_is($a, -1, qr/^模拟：基金系统维护中$/, 'the targeted call gets the business error');
rc_is(biz('bizh120003', aaz218 => $ip13, bka438 => '2'), 1, undef, 'error is one-shot');

ok t_cmp(control(mode => 'down')->code, 200, 'control: down');
{
    my $r = raw(xml_of({ function_id => 'bizh120003', session_id => $S{$AKB020}, akb020 => $AKB020, aaz218 => $ip13, bka438 => '1' }));
    ok t_cmp($r->{status}, 503, 'down: HTTP 503');
}
control(mode => 'slow', slow_ms => 2500);
{
    my $r = raw(xml_of({ function_id => 'bizh120003', session_id => $S{$AKB020}, akb020 => $AKB020, aaz218 => $ip13, bka438 => '1' }), 1);
    ok t_cmp($r->{status}, 599, 'slow: the client times out');
}
control(mode => 'normal');
rc_is(biz('bizh120003', aaz218 => $ip13, bka438 => '1'), 1, undef, 'normal again');

rc_is(biz('bizh120105', aaz218 => $ip13, bka032 => '20261128', bka033 => 'N01', bka034 => 'x'), 1, undef, 'discharge (for the lost settlement)');
ok t_cmp(control(mode => 'lost', function_id => 'bizh120106')->code, 200, 'control: lose the next 120106 answer');
rc_is(biz('bizh120102', bka895 => 'aaz218', bka896 => $ip13, bka006 => '420'), 1, undef, 'a query in between is answered');
{
    my $r = raw(xml_of({ function_id => 'bizh120106', session_id => $S{$AKB020}, akb020 => $AKB020, aaz218 => $ip13, bka046 => 'N01', bka047 => 'x' }));
    ok t_cmp($r->{status}, 599, 'lost: no answer at all');
    ok t_cmp($r->{content} // '', qr/./, 'the client sees a transport failure');
}
$a = biz('bizh120102', bka895 => 'aaz218', bka896 => $ip13, bka006 => '420');
ok t_cmp($a->{bizinfo}[0]{bka891} . '/' . $a->{bizinfo}[0]{bkz001}, '1/settled', 'query: the lost settlement happened');
$a = biz('bizh120206', aaz218 => $ip13);
ok t_cmp(scalar @{ $a->{payinfo} } . ':' . $a->{payinfo}[0]{aae100}, '1:1', '120206 returns the live settlement');
ok t_cmp($a->{payinfo}[0]{akc264}, '11.70', '... with its split (3.70 + 8.00)');
split_ok($a->{payinfo}[0], 'settlement found by query');
rc_is(biz('bizh120106', aaz218 => $ip13, bka046 => 'N01', bka047 => 'x'), -1, '不能重复结算', 'settling again is refused: never twice');

ok t_cmp(control(mode => 'late', function_id => 'bizh120107', slow_ms => 2500)->code, 200, 'control: answer the next 120107 late');
{
    my $r = raw(xml_of({ function_id => 'bizh120107', session_id => $S{$AKB020}, akb020 => $AKB020, aaz218 => $ip13 }), 1);
    ok t_cmp($r->{status}, 599, 'late: the client gave up');
}
$a = biz('bizh120206', aaz218 => $ip13);
ok t_cmp($a->{payinfo}[0]{aae100}, '0', 'query: the cancellation happened anyway');
$a = biz('bizh120102', bka895 => 'aaz218', bka896 => $ip13, bka006 => '420');
ok t_cmp($a->{bizinfo}[0]{bkz001}, 'discharged', 'stay back to discharged');
rc_is(biz('bizh120108', aaz218 => $ip13), 1, undef, 'cancel discharge');
rc_is(biz('bizh120109', aaz218 => $ip13), 1, undef, 'cancel admission (person 13 free again)');

# skip: the second fee batch of an upload fails (the client's wipe-and-report path)
$a = biz('bizh120103', %adm, aac001 => '1000000015', bka025 => 'ZY-T-15');
my $ip15 = $a->{aaz218};
ok t_cmp(control(mode => 'error', function_id => 'bizh120002', skip => 1, message => '模拟：第二批失败')->code, 200, 'control: error on the second 120002');
rc_is(biz('bizh120002', aaz218 => $ip15, feeinfo => [map { fee_row($_) } 1 .. 3]), 1, undef, 'first batch passes');
rc_is(biz('bizh120002', aaz218 => $ip15, feeinfo => [map { fee_row($_) } 4 .. 6]), -1, qr/^模拟：第二批失败$/, 'second batch fails');
rc_is(biz('bizh120002', aaz218 => $ip15, feeinfo => [map { fee_row($_) } 4 .. 6]), 1, undef, 'third call normal again');
ok t_cmp(scalar @{ biz('bizh120113', aaz218 => $ip15)->{feeinfo} }, 6, 'the failed batch stored nothing, the retry did');
ok t_cmp(control(mode => 'badsplit', function_id => 'bizh120003')->code, 200, 'control: a broken split in the next 120003 answer');
$a = biz('bizh120003', aaz218 => $ip15, bka438 => '2')->{payinfo}[0];
ok t_cmp(fen($a->{akc264}) - fen($a->{bka831}) - fen($a->{bka832}), -1, 'badsplit: akc264 ≠ bka831 + bka832 by one fen');
$a = biz('bizh120003', aaz218 => $ip15, bka438 => '2')->{payinfo}[0];
split_ok($a, 'badsplit is one-shot');
rc_is(biz('bizh120004', aaz218 => $ip15), 1, undef, 'cleanup: wipe');
rc_is(biz('bizh120109', aaz218 => $ip15), 1, undef, 'cleanup: cancel admission 15');

{
    my $r = POST '/sandbox/control', 'Content-Type' => 'application/json', content => '{"platform":"fiscal","mode":"lost"}';
    ok t_cmp($r->code . ' ' . (json_of($r)->{code} // ''), '400 HG_FIELD_ENUM', 'lost is not a fiscal mode');
    $r = control(mode => 'reject');
    ok t_cmp($r->code, 400, 'reject is not an injury mode');
    $r = POST '/sandbox/control', 'Content-Type' => 'application/json', content => '{"platform":"fiscal","mode":"down"}';
    ok t_cmp($r->code, 200, 'fiscal modes still switch');
    $r = POST '/sandbox/fiscal/invoiceEBillOutpatient', content => '{}';
    ok t_cmp($r->code, 503, 'fiscal down still answers 503');
    POST '/sandbox/control', 'Content-Type' => 'application/json', content => '{"platform":"fiscal","mode":"normal"}';
}

# ---------------------------------------------------------------- medical records, queries, the call log
$a = biz('bizh120103', %adm, aac001 => '1000000014', bka025 => 'ZY-T-14');
my $ip14 = $a->{aaz218};
my %hdr = (aaz218 => $ip14, aab299 => '440100', yab600 => '440106', akb026 => 'PDY00001', akb021 => '广州市演示人民医院',
           aab301 => '440100', yab060 => '440106', aac002 => '440101199001010014', aac043 => '1', aac044 => '440101199001010014');
rc_is(biz('bizh200101', %hdr, yzy002 => '1', ykc701 => '20261120', ykc702 => '20261128'), -2, '参数[yzy001]不能为空', '200101 without 病案号 refused');
rc_is(biz('bizh200101', %hdr, yzy001 => 'BA0014', yzy002 => '1', ykc701 => '20261120', ykc702 => '20261128', aac003 => $HOSTILE), 1, undef, '200101 accepted');
rc_is(biz('bizh200102', %hdr), -2, 'detail', '200102 without diagnoses refused');
rc_is(biz('bizh200102', %hdr, detail => [{ yzy201 => '1', yzy202 => '1', akc185 => '桡骨骨折', akc196 => 'S52.501' }]), 1, undef, '200102 accepted');
rc_is(biz('bizh200103', %hdr, detail => [{ yzy201 => '1', yzy207 => '79.3201' }]), -2, '明细第1行参数[yzy208]', '200103 row without operation name refused');
rc_is(biz('bizh200106', %hdr, aaz218 => '2099000000000003', yzy301 => 'a', yzy302 => 'b', akc273 => 'c'), -1, '不存在或已取消', '200106 for an unknown stay refused');
ok t_cmp(psql("SELECT content->>'aac003' FROM sandbox.injury_records WHERE aaz218 = '$ip14' AND function_id = 'bizh200101'"),
         encode_utf8($HOSTILE), 'record stored with the hostile text intact');
$a = biz('bizh120205', aaa100 => 'aka130', aaa102 => '');
ok t_cmp(join(',', map { "$_->{aaa102}=$_->{aaa103}" } @{ $a->{codeinfo} }), '41=工伤门诊,42=工伤住院', '120205 code table');
$a = biz('bizh120205', aaa100 => 'bka006', aaa102 => '420');
ok t_cmp(scalar @{ $a->{codeinfo} }, 1, '120205 one code');
rc_is(biz('bizh120205', aaa100 => 'nosuch'), -1, '代码类别[nosuch]不存在', '120205 unknown category');
$a = biz('bizh410004', aac001 => '1000000011', aae001 => $year);
ok t_cmp(join('/', $a->{totalinfo}[0]{akc264}, $a->{totalinfo}[0]{bkz005} - $tot0->{bkz005}), "$tot0->{akc264}/3",
         '410004: the outpatient charge and its refunds net to zero over 3 more batches');
$a = biz('bizh410005', aac001 => '1000000014');
ok t_cmp($a->{fundinfo}[0]{bka888} . '/' . $a->{fundinfo}[0]{aae031}, '1/20991231', '410005 fund state');
rc_is(biz('bizh120109', aaz218 => $ip14), 1, undef, 'cleanup: cancel admission 14');
{
    my $r = GET '/sandbox/injury/calls?function_id=bizh120002';
    my $calls = json_of($r)->{calls} // [];
    ok t_cmp((grep { $_->{rows} == 301 && $_->{return_code} eq '-2' } @$calls) ? 1 : 0, 1, 'call log: the refused 301-row call');
    ok t_cmp((grep { $_->{rows} == 300 && $_->{return_code} eq '1' } @$calls) ? 1 : 0, 1, 'call log: the 300-row call');
    $r = GET '/sandbox/injury/calls?function_id=bizh120106';
    ok t_cmp((grep { ($_->{mode} // '') eq 'lost' && $_->{return_code} eq '1' } @{ json_of($r)->{calls} // [] }) ? 1 : 0, 1,
             'call log: the lost settlement was performed');
}
