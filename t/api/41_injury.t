# mod_injury end to end against mod_sandbox's work-injury platform (mod_sandbox/INJURY.md):
# an outpatient visit (person info -> register -> settle -> refund -> cancel), an inpatient stay
# (admit -> 700 fee rows in one HIS call sent as 300 + 300 + 100 -> pre-settle -> discharge -> settle
# -> cancel settlement -> cancel discharge -> cancel admission), each out-of-order call refused before
# the platform, session expiry mid-stay (one re-login), a lost settlement answer resolved by query
# (no second settlement), hostile item names, cached code tables, the journal, bad JSON everywhere.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use POSIX qw(strftime);
use HG qw(json_of signed_request psql hisgate log_window);

binmode STDOUT, ":encoding(UTF-8)";
binmode STDERR, ":encoding(UTF-8)";

my @FUNCTIONS = qw(bizh110001 bizh110102 bizh110103 bizh110104 bizh110105 bizh110106
                   bizh120001 bizh120102 bizh120103 bizh120104 bizh120002 bizh120003 bizh120004
                   bizh120105 bizh120106 bizh120107 bizh120108 bizh120109 bizh120206 bizh120113
                   bizh200101 bizh200102 bizh200103 bizh200104 bizh200105 bizh200106
                   bizh410004 bizh410005 bizh120205);
plan tests => 134 + 3 * @FUNCTIONS;

my $json = JSON::PP->new->utf8->canonical;
my $api = '/injury/api/v1';
my $run = substr($$ . time, -9);
my $today = strftime('%Y%m%d', localtime);
my $HOSTILE = q{<b>&"'};

sub call {
    my ($fn, $body) = @_;
    my $r = signed_request('POST', "$api/$fn", $body);
    return ($r, json_of($r));
}
sub control {
    my (%a) = @_;
    my $r = POST('/sandbox/control', 'Content-Type' => 'application/json',
                 content => $json->encode({ platform => 'injury', %a }));
    die 'sandbox control refused: ' . $r->content unless $r->is_success;
}
# calls the sandbox received for a function (newest first)
sub calls {
    my ($fn) = @_;
    my $d = json_of(GET("/sandbox/injury/calls?function_id=$fn"));
    return ref $d eq 'ARRAY' ? $d : ($d->{calls} // []);
}
sub ncalls { return scalar @{ calls($_[0]) }; }
sub code_of { my ($r, $j) = @_; return $r->code . ' ' . ($j->{code} // $j->{status} // ''); }
sub fee {
    my ($code, $name, $price, $qty, %o) = @_;
    my $amt = sprintf('%.2f', $price * $qty);
    return { ake005 => $code, ake006 => $name, bka051 => $today, bka056 => sprintf('%.4f', $price),
             bka057 => sprintf('%.2f', $qty), bka058 => $amt, %o };
}
sub admit {
    my ($aac001, $no) = @_;
    return call('bizh120103', { aac001 => $aac001, aka130 => '42', bka006 => '420', bka017 => $today,
                                bka025 => $no, bka021 => 'BQ01', bka022 => '骨科病区', bka019 => 'K01',
                                bka020 => '骨科', bka026 => 'S82.001' });
}

# ======================================================================== outpatient visit
my ($r, $j) = call('bizh110001', { bka895 => 'aac001', bka896 => '1000000001', bka006 => '410' });
ok t_cmp(code_of($r, $j), '200 ok', 'person info (110001)');
ok t_cmp($j->{return_code}, '1', 'the platform return_code beside hisgate status');
ok t_cmp($j->{result}{personinfo}[0]{aac003} // '', '张伟', 'personinfo row converted back');
ok t_cmp(scalar @{ $j->{result}{injuryorbirthinfo} || [] } >= 1 ? 1 : 0, 1, 'with the valid authorisation');
ok t_cmp($j->{session}{logins}, 1, 'first use logged in (sys0001)');
ok t_cmp(psql("SELECT count(*) FROM injury.sessions WHERE akb020 = 'H44010100001' AND valid_until > now()"), 1,
         'the session is kept in the database');
($r, $j) = call('bizh110001', { bka895 => 'aac001', bka896 => '1000000001', bka006 => '410' });
ok t_cmp($j->{session}{logins}, 0, 'second call reuses the session');

my $mz = "MZ$run";
my %reg = (aac001 => '1000000001', aka130 => '41', bka006 => '410', bka017 => $today, bka025 => $mz,
           bka019 => 'K01', bka020 => '骨科门诊', bka026 => 'S62.001');
($r, $j) = call('bizh110104', \%reg);
ok t_cmp(code_of($r, $j), '200 ok', 'outpatient registration (110104, operator filled by hisgate)');
my $op = $j->{aaz218} // '';
ok t_cmp($op, qr/^\d{16}$/, 'aaz218 from the platform');
ok t_cmp($j->{state}, 'registered', 'state registered');
($r, $j) = call('bizh110104', \%reg);
ok t_cmp(($j->{aaz218} // '') . ' ' . ($j->{replayed} ? 1 : 0), "$op 1", 'registered again: the same visit, replayed');
ok t_cmp(psql("SELECT count(*) FROM injury.stays WHERE bka025 = '$mz'"), 1, 'one local record');

my ($n105, $n106c) = (ncalls('bizh110105'), ncalls('bizh110106'));
($r, $j) = call('bizh110106', { aaz218 => '9999999999999999' });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'cancel a visit that is not there: 409');

($r, $j) = call('bizh110105', { aaz218 => $op, bka893 => '1',
    feeinfo => [ fee('X001', '阿莫西林胶囊', 12.5, 2), fee('ZF01', $HOSTILE . '自费敷料', 10, 1) ] });
ok t_cmp(code_of($r, $j), '200 ok', 'outpatient settlement (110105)');
ok t_cmp($j->{state}, 'settled', 'state settled');
ok t_cmp($j->{result}{payinfo}[0]{akc264} // '', '35.00', 'akc264 = the fee total');
ok t_cmp($j->{split_check}{result} // '', 'ok', 'split rules checked: ok');
my $op_slip = $j->{settlement_id} // 0;
my @serials = map { $_->{aaz213} } @{ $j->{result}{feeinfo} || [] };
ok t_cmp(scalar @serials, 2, 'the platform numbered both lines');
ok t_cmp(($j->{result}{feeinfo}[1]{ake006} // ''), $HOSTILE . '自费敷料', 'hostile item name came back byte for byte');
ok t_cmp(ncalls('bizh110105'), $n105 + 1, 'one settlement call reached the platform');

($r, $j) = call('bizh110105', { aaz218 => $op, bka893 => '1', feeinfo => [ fee('X002', '布洛芬', 3, 1) ] });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'settle again before a refund: 409');
($r, $j) = call('bizh110106', { aaz218 => $op });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'cancel a settled visit: 409');
ok t_cmp(ncalls('bizh110105') . ' ' . ncalls('bizh110106'), ($n105 + 1) . " $n106c", 'neither reached the platform');

($r, $j) = call('bizh110105', { aaz218 => $op, bka893 => '1',
    feeinfo => [ fee('X001', '阿莫西林胶囊', 12.5, -2, aaz213 => $serials[0]),
                 fee('ZF01', $HOSTILE . '自费敷料', 10, -1, aaz213 => $serials[1]) ] });
ok t_cmp(code_of($r, $j), '200 ok', 'refund: negative lines referencing aaz213');
ok t_cmp(($j->{state} // '') . ' ' . ($j->{result}{payinfo}[0]{akc264} // ''), 'refunded -35.00', 'state refunded');

($r) = signed_request('GET', "$api/settlements/$op_slip/slip");
ok t_cmp($r->code . ' ' . ($r->header('Content-Type') // ''), qr{^200 application/pdf}, 'settlement slip PDF');
ok t_cmp(substr($r->content, 0, 5), '%PDF-', 'a PDF document');
# the slip renders without a database connection; the glue takes one again for the audit row
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE request_id = '" . ($r->header('X-Request-Id') // '') . "' AND status = 200"),
         1, 'the slip call left one audit row');
($r, $j) = (signed_request('GET', "$api/settlements/999999999/slip"));
ok t_cmp(code_of($r, json_of($r)), '404 HG_INJURY_NOT_FOUND', 'slip of an unknown settlement: 404');

($r, $j) = call('bizh110106', { aaz218 => $op });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok cancelled', 'registration cancelled (110106)');
($r, $j) = call('bizh110105', { aaz218 => $op, bka893 => '0', feeinfo => [ fee('X002', '布洛芬', 3, 1) ] });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'a cancelled visit takes no more calls');

# a lost outpatient settlement answer: resolved with 110103's batches, never charged twice
($r, $j) = call('bizh110104', { %reg, aac001 => '1000000005', bka025 => "MZL$run" });
my $opl = $j->{aaz218} // '';
my $n105l = ncalls('bizh110105');
control(mode => 'lost', function_id => 'bizh110105');
($r, $j) = call('bizh110105', { aaz218 => $opl, bka893 => '1', feeinfo => [ fee('X001', '阿莫西林胶囊', 12.5, 2) ] });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // '') . ' ' . ($j->{resolved_by_query} ? 1 : 0), '200 ok settled 1',
         'lost outpatient settlement answer: resolved by query');
ok t_cmp($j->{result}{payinfo}[0]{akc264} // '', '25.00', "... with the platform's batch");
ok t_cmp(ncalls('bizh110105') - $n105l, 1, '... one settlement call only');
($r, $j) = call('bizh110105', { aaz218 => $opl, bka893 => '1', feeinfo => [ fee('X001', '阿莫西林胶囊', 12.5, 2) ] });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'the HIS retries: refused');

# a settlement whose split does not add up (sandbox mode badsplit): settled, logged, flagged
($r, $j) = call('bizh110104', { %reg, bka025 => "MZB$run" });
my $opb = $j->{aaz218} // '';
log_window('BEGIN', 'injury-split');
control(mode => 'badsplit', function_id => 'bizh110105');
($r, $j) = call('bizh110105', { aaz218 => $opb, bka893 => '1', feeinfo => [ fee('X001', '阿莫西林胶囊', 12.5, 2) ] });
log_window('END', 'injury-split');
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 split_mismatch settled', 'a split that does not add up is flagged');
ok t_cmp(join(' | ', @{ $j->{split_check}{violations} || [] }), qr/akc264 = bka831 \+ bka832 \(25\.00 != 25\.01\)/,
         '... naming the broken rule and the amounts');
ok t_cmp(psql("SELECT split_ok::text FROM injury.settlements WHERE id = " . ($j->{settlement_id} // 0)), 'false',
         '... and recorded as such');
my $elog = Apache::Test::config()->{vars}{t_logs} . '/error_log';
ok t_cmp((`grep -c 'HG12010: work-injury bizh110105 for aaz218 $opb' '$elog'` // 0) + 0 >= 1 ? 1 : 0, 1, '... and logged (HG12010)');

# ======================================================================== inpatient stay
($r, $j) = call('bizh120001', { bka895 => 'aac001', bka896 => '1000000002', aka130 => '42', bka017 => $today,
                                bka006 => '420' });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{result}{personinfo}[0]{aac003} // ''), '200 ok 李娜', 'inpatient person info (120001)');
my $zy = "ZY$run";
($r, $j) = admit('1000000002', $zy);
ok t_cmp(code_of($r, $j), '200 ok', 'admission (120103)');
my $ip = $j->{aaz218} // '';
ok t_cmp($ip, qr/^\d{16}$/, 'the stay aaz218');

my %before = map { $_ => ncalls($_) } qw(bizh120106 bizh120107 bizh120108 bizh120003);
($r, $j) = call('bizh120106', { aaz218 => $ip });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'settle before discharge: 409');
ok t_cmp($j->{field} // '', 'aaz218', '... naming aaz218');
($r, $j) = call('bizh120107', { aaz218 => $ip });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'cancel a settlement that is not there: 409');
($r, $j) = call('bizh120108', { aaz218 => $ip });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'cancel a discharge that is not there: 409');
($r, $j) = call('bizh120003', { aaz218 => $ip, bka438 => '2' });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'pre-settle without fees: 409');
ok t_cmp(join(',', map { ncalls($_) - $before{$_} } sort keys %before), '0,0,0,0', 'none of them reached the platform');

# 700 fee lines in one HIS call; some with hostile names; amounts in fen add up exactly
my (@rows, $total) = ();
$total = 0;
for my $i (1 .. 700) {
    my $name = $i % 100 == 7 ? "$HOSTILE 第${i}项 <script>alert(1)</script> & 'x'" : "住院项目$i";
    my $price = 1 + ($i % 17) * 0.25;
    push @rows, fee(sprintf('ZY%04d', $i), $name, $price, 2, aka036 => ($i % 10 == 0 ? '1' : '0'));
    $total += int($price * 2 * 100 + 0.5);
}
my $n002 = ncalls('bizh120002');
($r, $j) = call('bizh120002', { aaz218 => $ip, feeinfo => \@rows });
ok t_cmp(code_of($r, $j), '200 ok', '700 fee rows in one HIS call');
ok t_cmp(join('+', map { $_->{rows} } @{ $j->{batches} || [] }), '300+300+100', 'sent as 300 + 300 + 100');
ok t_cmp(($j->{state} // '') . ' ' . ($j->{fee_rows} // ''), 'fees_uploaded 700', 'state fees_uploaded, 700 rows');
my @c = @{ calls('bizh120002') };
ok t_cmp(scalar(@c) - $n002, 3, 'three calls reached the platform');
ok t_cmp(join('+', reverse map { $_->{rows} } @c[0 .. 2]), '300+300+100', "the platform's own count per call");
($r, $j) = call('bizh120113', { aaz218 => $ip });
my @stored = @{ $j->{result}{feeinfo} || [] };
ok t_cmp(scalar @stored, 700, 'the platform stored 700 rows (120113)');
my ($h) = grep { ($_->{ake005} // '') eq 'ZY0107' } @stored;
ok t_cmp($h ? $h->{ake006} : '', "$HOSTILE 第107项 <script>alert(1)</script> & 'x'", 'hostile item name stored byte for byte');

($r, $j) = call('bizh120003', { aaz218 => $ip, bka438 => '2' });
ok t_cmp(code_of($r, $j), '200 ok', 'pre-settlement (120003)');
my $pay = $j->{result}{payinfo}[0] // {};
(my $akc = $pay->{akc264} // '') =~ s/\.//;
ok t_cmp($akc + 0, $total, 'pre-settlement total = the sum of the 700 lines in fen');
ok t_cmp($j->{split_check}{result} // '', 'ok', 'split checked on the pre-settlement');
ok t_cmp($j->{state}, 'fees_uploaded', 'pre-settlement changes no state');

($r, $j) = call('bizh120105', { aaz218 => $ip, bka032 => $today, bka031 => 'S82.001', bkf002 => '1' });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok discharge_registered', 'discharge (120105)');
$n002 = ncalls('bizh120002');
($r, $j) = call('bizh120002', { aaz218 => $ip, feeinfo => [ fee('ZY9999', '补记', 1, 1) ] });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'fees after discharge: 409');
ok t_cmp($j->{message} // '', qr/出院登记/, '... saying why');
($r, $j) = call('bizh120109', { aaz218 => $ip });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'cancel admission while discharged: 409');
($r, $j) = call('bizh120105', { aaz218 => $ip, bka032 => $today });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'discharge twice: 409');
ok t_cmp(ncalls('bizh120002'), $n002, 'the refused fee upload never reached the platform');

($r, $j) = call('bizh120106', { aaz218 => $ip });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok settled', 'settlement (120106)');
ok t_cmp($j->{split_check}{result} // '', 'ok', 'split rules hold on the settlement');
($akc = $j->{result}{payinfo}[0]{akc264} // '') =~ s/\.//;
ok t_cmp($akc + 0, $total, 'settled total');
my $ip_slip = $j->{settlement_id} // 0;
($r, $j) = call('bizh120106', { aaz218 => $ip });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'settle twice: 409');
($r) = signed_request('GET', "$api/settlements/$ip_slip/slip");
ok t_cmp($r->code . ' ' . substr($r->content, 0, 5), '200 %PDF-', 'inpatient slip');

($r, $j) = call('bizh200101', { aaz218 => $ip, aab299 => '440100', akb021 => '广州市演示人民医院',
                                aac002 => '440101199002020022', aac043 => '1', aac044 => '440101199002020022',
                                yzy001 => "BA$run", yzy002 => '1', ykc701 => $today, ykc702 => $today });
ok t_cmp(code_of($r, $j), '200 ok', 'medical record front page (200101)');

($r, $j) = call('bizh120107', { aaz218 => $ip });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok discharge_registered', 'settlement cancelled (120107)');
ok t_cmp(psql("SELECT count(*) FROM injury.settlements WHERE id = $ip_slip AND cancelled_at IS NOT NULL"), 1,
         'the local settlement is marked cancelled');
($r, $j) = call('bizh120108', { aaz218 => $ip });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok fees_uploaded', 'discharge cancelled (120108)');
($r, $j) = call('bizh120109', { aaz218 => $ip });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok cancelled', 'admission cancelled (120109)');
($r, $j) = call('bizh120002', { aaz218 => $ip, feeinfo => [ fee('ZY9999', '补记', 1, 1) ] });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'a cancelled stay takes no fees');
($r, $j) = call('bizh120102', { bka895 => 'aaz218', bka896 => $ip, bka006 => '420' });
ok t_cmp($j->{result}{bizinfo}[0]{aae100} // '', '0', 'the platform agrees: the stay is cancelled');

# ======================================================================== session expiry mid-stay
my $se = "SE$run";
($r, $j) = admit('1000000003', $se);
my $ip3 = $j->{aaz218} // '';
ok t_cmp(code_of($r, $j), '200 ok', 'second stay admitted');
my $logins = psql("SELECT logins FROM injury.sessions WHERE akb020 = 'H44010100001'");
control(mode => 'expire');
($r, $j) = call('bizh120002', { aaz218 => $ip3, feeinfo => [ map { fee("SE$_", "项目$_", 2, 1) } 1 .. 5 ] });
ok t_cmp(code_of($r, $j), '200 ok', 'fee upload after the platform expired the session');
ok t_cmp(($j->{session}{relogins} // -1) . ' ' . ($j->{session}{logins} // -1), '1 1', 'handled by exactly one re-login');
ok t_cmp(psql("SELECT logins FROM injury.sessions WHERE akb020 = 'H44010100001'"), $logins + 1, 'the shared session was replaced');
my @c2 = @{ calls('bizh120002') };
ok t_cmp(join(',', map { $_->{return_code} } @c2[0, 1]), '1,-9', 'the platform saw -9 then success');

# a later batch refused by the platform (row 450's amount is not price x quantity): wipe and report
my @bad = map { fee("BT$_", "批次项目$_", 3, 1) } 1 .. 650;
$bad[449]{bka058} = '4.00';
my $n004 = ncalls('bizh120004');
($r, $j) = call('bizh120002', { aaz218 => $ip3, feeinfo => \@bad });
ok t_cmp(code_of($r, $j), '502 HG_INJURY_FEE_BATCH', 'batch 2 of 3 refused: 502 HG_INJURY_FEE_BATCH');
ok t_cmp(join(' ', $j->{failed_batch} // '', $j->{return_code} // '', $j->{wiped} ? 1 : 0, $j->{state} // ''),
         '2 -2 1 registered', 'names the batch, keeps the return_code, wiped, back to registered');
ok t_cmp($j->{return_code_message} // '', qr/金额/, "the platform's reason intact");
ok t_cmp(ncalls('bizh120004') - $n004, 1, 'the wipe went out (120004)');
($r, $j) = call('bizh120113', { aaz218 => $ip3 });
ok t_cmp(ref $j->{result}{feeinfo} eq 'ARRAY' ? scalar @{ $j->{result}{feeinfo} } : 0, 0, 'no fee line left on the platform');
# the second batch's answer lost (performed or not, nobody knows): wiped the same way
control(mode => 'lost', function_id => 'bizh120002', skip => 1);
($r, $j) = call('bizh120002', { aaz218 => $ip3, feeinfo => [ map { fee("LB$_", "项目$_", 2, 1) } 1 .. 400 ] });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{failed_batch} // '') . ' ' . ($j->{wiped} ? 1 : 0), '502 HG_INJURY_FEE_BATCH 2 1',
         'lost answer of batch 2: wiped and reported');
($r, $j) = call('bizh120113', { aaz218 => $ip3 });
ok t_cmp(ref $j->{result}{feeinfo} eq 'ARRAY' ? scalar @{ $j->{result}{feeinfo} } : 0, 0, '... nothing left on the platform');
call('bizh120002', { aaz218 => $ip3, feeinfo => [ map { fee("SF$_", "项目$_", 2, 1) } 1 .. 5 ] });
($r, $j) = call('bizh120004', { aaz218 => $ip3 });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok registered', 'fees wiped (120004)');
($r, $j) = call('bizh120004', { aaz218 => $ip3 });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'wiping nothing: 409');
($r, $j) = call('bizh120104', { aaz218 => $ip3, bka023 => '12床' });
ok t_cmp(code_of($r, $j), '200 ok', 'admission details changed (120104)');
($r, $j) = call('bizh120109', { aaz218 => $ip3 });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok cancelled', 'second stay cancelled');

# ======================================================================== one login for many processes at once
psql("DELETE FROM injury.sessions");
my $nlogin = ncalls('sys0001');
my @kids;
# three at once: with the sandbox in the same httpd each caller also needs a slot for the platform's side
for my $k (1 .. 3) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        # the nonces of a child must repeat neither the parent's nor a sibling's: seed from the kernel
        open my $u, '<:raw', '/dev/urandom' or die $!;
        read $u, my $seed, 4;
        close $u;
        srand(unpack 'L', $seed);
        my ($kr) = call('bizh110001', { bka895 => 'aac001', bka896 => '1000000005', bka006 => '410' });
        POSIX::_exit($kr->code == 200 ? 0 : 1);
    }
    push @kids, $pid;
}
my $kids_ok = 0;
for (@kids) { waitpid($_, 0); $kids_ok++ if $? == 0; }
ok t_cmp($kids_ok, 3, 'three concurrent calls without a session all succeed');
ok t_cmp(ncalls('sys0001') - $nlogin, 1, 'exactly one sys0001 login among them (advisory lock)');

# ======================================================================== a lost admission answer
my $n103 = ncalls('bizh120103');
control(mode => 'lost', function_id => 'bizh120103');
($r, $j) = admit('1000000003', "LA$run");
ok t_cmp(code_of($r, $j) . ' ' . ($j->{resolved_by_query} ? 1 : 0), '200 ok 1', 'lost admission answer: found by query (120102)');
my $ip5 = $j->{aaz218} // '';
ok t_cmp(psql("SELECT count(*) FROM injury.stays WHERE aaz218 = '$ip5' AND bka025 = 'LA$run' AND state = 'registered'"), 1,
         '... and recorded with its aaz218');
ok t_cmp(ncalls('bizh120103') - $n103, 1, '... one admission call');
($r, $j) = call('bizh120109', { aaz218 => $ip5 });
ok t_cmp(code_of($r, $j), '200 ok', 'and cancelled again');

# ======================================================================== a lost settlement answer
my $lo = "LO$run";
($r, $j) = admit('1000000004', $lo);
my $ip4 = $j->{aaz218} // '';
call('bizh120002', { aaz218 => $ip4, feeinfo => [ map { fee("LO$_", "项目$_", 10, 1) } 1 .. 3 ] });
($r, $j) = call('bizh120105', { aaz218 => $ip4, bka032 => $today });
ok t_cmp(code_of($r, $j), '200 ok', 'third stay discharged');
my $n106 = ncalls('bizh120106');
control(mode => 'lost', function_id => 'bizh120106');
($r, $j) = call('bizh120106', { aaz218 => $ip4 });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok settled', 'lost settlement answer: resolved, settled');
ok t_cmp($j->{resolved_by_query} ? 1 : 0, 1, '... by querying the platform');
ok t_cmp($j->{result}{payinfo}[0]{akc264} // '', '30.00', "... with the platform's settlement (120206)");
ok t_cmp(ncalls('bizh120106') - $n106, 1, 'exactly one settlement call reached the platform');
ok t_cmp(ncalls('bizh120102') > 0 ? 1 : 0, 1, 'the query went out (120102)');
my $sid4 = psql("SELECT id FROM injury.stays WHERE aaz218 = '$ip4'");
ok t_cmp(psql("SELECT count(*) || ',' || bool_and(resolved_by_query) FROM injury.settlements WHERE stay_id = $sid4"),
         '1,true', 'one local settlement, marked resolved by query');
ok t_cmp(psql("SELECT coalesce(pending_fn, '-') FROM injury.stays WHERE id = $sid4"), '-', 'nothing left pending');
($r, $j) = call('bizh120106', { aaz218 => $ip4 });
ok t_cmp(code_of($r, $j), '409 HG_INJURY_STATE', 'the HIS retries: refused, never settled twice');
ok t_cmp(ncalls('bizh120106') - $n106, 1, 'still one settlement call');
($r, $j) = call('bizh120206', { aaz218 => $ip4 });
ok t_cmp(scalar(grep { ($_->{aae100} // '') ne '0' } @{ $j->{result}{payinfo} || [] }), 1,
         'the platform holds one live settlement');

# a lost cancellation answer, and a pending record resolved on the next call
control(mode => 'lost', function_id => 'bizh120107');
($r, $j) = call('bizh120107', { aaz218 => $ip4 });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok discharge_registered', 'lost cancellation answer resolved');
ok t_cmp(psql("SELECT count(*) FROM injury.settlements WHERE stay_id = $sid4 AND cancelled_at IS NULL"), 0,
         'the local settlement is cancelled');
# pending with the platform away: kept, then resolved first on the next call
psql("UPDATE injury.stays SET pending_fn = 'bizh120106', pending_body = '{\"aaz218\":\"$ip4\"}' WHERE id = $sid4");
control(mode => 'down');
($r, $j) = call('bizh120108', { aaz218 => $ip4 });
ok t_cmp(code_of($r, $j), '504 HG_PLATFORM_TIMEOUT', 'platform down while a call is pending: 504, nothing sent');
ok t_cmp($j->{pending} // '', 'bizh120106', '... naming the pending call');
control(mode => 'normal');
my $n108 = ncalls('bizh120108');
($r, $j) = call('bizh120108', { aaz218 => $ip4 });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{state} // ''), '200 ok fees_uploaded', 'platform back: the pending call resolved first');
ok t_cmp(($j->{resolved}{function_id} // '') . ' ' . ($j->{resolved}{happened} ? 1 : 0), 'bizh120106 0',
         '... it had not happened, then the cancellation went out');
ok t_cmp(ncalls('bizh120108') - $n108, 1, 'one discharge cancellation');
($r, $j) = call('bizh120109', { aaz218 => $ip4 });
ok t_cmp(code_of($r, $j), '200 ok', 'third stay cancelled');

# ======================================================================== refusals passed on intact
($r, $j) = admit('1000000006', "EX$run");
ok t_cmp(code_of($r, $j), '502 HG_PLATFORM_REJECTED', 'a person in hospital elsewhere: the platform refuses');
ok t_cmp(($j->{return_code} // '') . ' ' . ($j->{return_code_message} // ''), qr/^-1 业务互斥/,
         "the platform's return_code and message intact");
ok t_cmp(psql("SELECT count(*) FROM injury.stays WHERE bka025 = 'EX$run'"), 0, 'no local record of a refused admission');
($r, $j) = call('bizh110001', { bka895 => 'aac001', bka896 => '1000000001', bka006 => '410', akb020 => 'H99' });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{field} // ''), '400 HG_FIELD_ENUM akb020', 'another institution code: 400');

# ======================================================================== code tables, cached
my $n205 = ncalls('bizh120205');
($r, $j) = call('bizh120205', { aaa100 => 'bka006' });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{cached} ? 1 : 0), '200 ok 0', 'code table fetched (120205)');
ok t_cmp(scalar(grep { ($_->{aaa102} // '') eq '420' } @{ $j->{result}{codeinfo} || [] }), 1, 'with 420 工伤住院');
($r, $j) = call('bizh120205', { aaa100 => 'bka006' });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{cached} ? 1 : 0), '200 ok 1', 'again: from the local cache');
ok t_cmp(ncalls('bizh120205') - $n205, 1, 'one platform call for both');
control(mode => 'down');
($r, $j) = call('bizh410005', { aac001 => '1000000005' });
ok t_cmp(code_of($r, $j), '502 HG_PLATFORM_UNAVAILABLE', 'platform down, nothing cached: 502');
psql("UPDATE injury.code_cache SET fetched_at = now() - interval '2 days' WHERE function_id = 'bizh120205'");
($r, $j) = call('bizh120205', { aaa100 => 'bka006' });
ok t_cmp(code_of($r, $j) . ' ' . ($j->{stale} ? 1 : 0), '200 ok 1', 'platform down, day-old table: served, marked stale');
control(mode => 'normal');
($r, $j) = call('bizh120205', { aaa100 => 'bka006' });
ok t_cmp(($j->{cached} ? 1 : 0) . ' ' . ($j->{stale} ? 1 : 0), '0 0', 'older than a day: refreshed');

# ======================================================================== the journal
my ($rc, $out) = hisgate("audit show --endpoint injury.sys0001 --limit 5");
ok t_cmp($rc == 0 && $out =~ /userid>ss44010001</ ? 1 : 0, 1, 'the login exchange is journalled');
ok t_cmp($out =~ /Sgs-Demo#2026/ ? 1 : 0, 0, '... without the password');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE direction = 'out' AND endpoint = 'injury.bizh120106'") >= 2 ? 1 : 0, 1,
         'settlement exchanges journalled');

# ======================================================================== bad input on every endpoint
($r, $j) = call('bizh999999', {});
ok t_cmp(code_of($r, $j), '404 HG_INJURY_UNKNOWN_FUNCTION', 'unknown function: 404 with its own code');
$r = signed_request('GET', "$api/bizh110001");
ok t_cmp($r->code, 405, 'GET on a function: 405');
for my $fn (@FUNCTIONS) {
    $r = signed_request('POST', "$api/$fn", '{"aaz218":');
    ok t_cmp(code_of($r, json_of($r)), '400 HG_JSON_MALFORMED', "$fn: malformed JSON");
    $r = signed_request('POST', "$api/$fn", '["aaz218"]');
    ok t_cmp(code_of($r, json_of($r)), '400 HG_JSON_NOT_OBJECT', "$fn: not an object");
    $r = signed_request('POST', "$api/$fn", '{"feeinfo":{"x":1}}');
    $j = json_of($r);
    ok t_cmp(code_of($r, $j), qr/^400 HG_FIELD_(TYPE|REQUIRED)$/, "$fn: bad fields refused ($j->{field})");
}
