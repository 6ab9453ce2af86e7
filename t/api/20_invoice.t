# mod_invoice end to end: issue, idempotency, validation, batch, queries, red-flush, paper rules,
# upload to the fiscal platform (sandbox), PDF text, patient JSON, 通码, offline links
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use MIME::Base64 qw(decode_base64);
use JSON::PP;
use POSIX ();
use HG qw(json_of signed_request psql wait_until staff_login);
use HGInvoice qw(outpatient inpatient bus_no now17);

plan tests => 122;

my $api = '/invoice/api/v1';
sub call { my ($svc, $body) = @_; my $r = signed_request('POST', "$api/$svc", $body); return ($r, json_of($r)); }
sub err_is {
    my ($r, $j, $status, $code, $field, $name) = @_;
    ok t_cmp($r->code . ' ' . ($j->{code} // '-'), "$status $code", $name);
    ok t_cmp($j->{field} // '', $field, "$name: field") if defined $field;
}
sub pdftext {
    my ($bytes) = @_;
    my $f = "$ENV{HG_TOP}/t/state/x$$.pdf";
    open my $fh, '>:raw', $f or die $!; print $fh $bytes; close $fh;
    my $t = `pdftotext -layout '$f' - 2>/dev/null`; unlink $f;
    utf8::decode($t);
    return $t;
}
sub mode { POST '/sandbox/control', 'Content-Type' => 'application/json', content => qq({"platform":"fiscal","mode":"$_[0]"}) }

mode('normal');
my $bills_before = psql('SELECT count(*) FROM invoice.bills');
my $next_before = psql("SELECT next_no FROM invoice.stock WHERE place_code = 'MZ01' AND kind = 'ebill'");

# ---- issue
my $bill = outpatient();
my ($r, $j) = call('invoiceEBillOutpatient', $bill);
ok t_cmp($r->code, 200, 'outpatient bill issued');
ok t_cmp($j->{billBatchCode}, '44010126', 'bill code from the billing point stock');
ok t_cmp($j->{billNo}, qr/^\d{10}$/, 'bill number: 10 digits');
ok t_cmp($j->{random}, qr/^[0-9a-z]{6}$/, 'check code: 6 characters');
ok t_cmp($j->{createTime}, qr/^\d{17}$/, 'createTime yyyyMMddHHmmssSSS');
# 开票日期 is Beijing time, whatever the test cluster's TimeZone (UTC here): within a minute of it
{
    my @cn = gmtime(time + 8 * 3600);
    my $cn = sprintf '%04d%02d%02d%02d%02d', $cn[5] + 1900, $cn[4] + 1, $cn[3], $cn[2], $cn[1];
    my ($y, $mo, $d, $h, $mi) = ($j->{createTime} // '') =~ /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)/;
    my $off = defined $mi ? abs(($h * 60 + $mi) - ($cn[2] * 60 + $cn[1])) : 9999;
    $off = 1440 - $off if $off > 720;
    ok t_cmp($off <= 1 ? 'Beijing time' : "$off minutes off (Beijing now $cn)", 'Beijing time',
             'createTime is Beijing time (UTC+8)');
}
ok t_cmp(substr(decode_base64($j->{billQRCode} // ''), 0, 4), "\x89PNG", 'billQRCode is a base64 PNG');
ok t_cmp($j->{pictureNetUrl}, qr{/invoice/bill\.html#code=44010126&no=$j->{billNo}&r=$j->{random}$}, 'H5 link');
# what a window scanner reads from that picture: the H5 link itself
{
    require File::Temp;
    my ($fh, $png) = File::Temp::tempfile(SUFFIX => '.png', UNLINK => 1);
    binmode $fh; print $fh decode_base64($j->{billQRCode} // ''); close $fh;
    my $read = `zbarimg --raw -q '$png' 2>/dev/null`; chomp $read;
    ok t_cmp($read, $j->{pictureNetUrl}, 'billQRCode scans as the H5 link');
}
my %first = %$j;
# the bill commits with its audit row (one commit): exactly one row, holding the answer's status
sub audit_of { my ($res) = @_; my $rid = $res->header('X-Request-Id') // 'none';
               return psql("SELECT count(*) || ':' || min(status) FROM hg.audit WHERE request_id = '$rid'"); }
ok t_cmp(audit_of($r), '1:200', 'one audit row for the issuance');

($r, $j) = call('invoiceEBillOutpatient', $bill);
ok t_cmp("$j->{billNo} $j->{random}", "$first{billNo} $first{random}", 'the same request again: the same bill');
ok t_cmp($j->{replayed} ? 1 : 0, 1, 'and says it was a replay');
ok t_cmp(audit_of($r), '1:200', 'one audit row for the replay');
my %changed = %$bill; $changed{payer} = '李四';
($r, $j) = call('invoiceEBillOutpatient', \%changed);
err_is($r, $j, 409, 'HG_INVOICE_BUSNO_CONFLICT', 'busNo', 'different content under a used busNo');
ok t_cmp(audit_of($r), '1:409', 'one audit row for the refusal');

# ---- validation: precise errors, nothing written
my $b = outpatient(); $b->{chargeDetail}[0]{amt} = '45.61';
($r, $j) = call('invoiceEBillOutpatient', $b); err_is($r, $j, 400, 'HG_INVOICE_SUM_CHARGE', 'chargeDetail', 'Σ chargeDetail ≠ totalAmt');
$b = outpatient(); $b->{payChannelDetail}[0]{payChannelValue} = '43.44';
($r, $j) = call('invoiceEBillOutpatient', $b); err_is($r, $j, 400, 'HG_INVOICE_SUM_PAYCHANNEL', 'payChannelDetail', 'Σ payChannelDetail ≠ totalAmt');
$b = outpatient(); $b->{fundPay} = '59.00'; $b->{selfCashPay} = '43.45';
($r, $j) = call('invoiceEBillOutpatient', $b); err_is($r, $j, 400, 'HG_INVOICE_SPLIT', undef, 'insurance split does not add up');
$b = outpatient(); $b->{totalAmt} = '123.450';
($r, $j) = call('invoiceEBillOutpatient', $b); err_is($r, $j, 400, 'HG_FIELD_MONEY', 'totalAmt', 'money with three decimals');
$b = outpatient(); $b->{busDateTime} = '20261332120000000';
($r, $j) = call('invoiceEBillOutpatient', $b); err_is($r, $j, 400, 'HG_FIELD_DATE', 'busDateTime', 'impossible date');
$b = outpatient(); delete $b->{payer};
($r, $j) = call('invoiceEBillOutpatient', $b); err_is($r, $j, 400, 'HG_FIELD_REQUIRED', 'payer', 'missing payer');
$b = inpatient(); delete $b->{hospitalNo};
($r, $j) = call('invEBillHospitalized', $b); err_is($r, $j, 400, 'HG_FIELD_REQUIRED', 'hospitalNo', 'inpatient needs hospitalNo');
$b = outpatient(); $b->{chargeDetail}[2]{amt} = 'abc';
($r, $j) = call('invoiceEBillOutpatient', $b); err_is($r, $j, 400, 'HG_FIELD_MONEY', 'chargeDetail[2].amt', 'bad item amount, with its path');
($r, $j) = call('invoiceEBillNothing', outpatient()); err_is($r, $j, 404, 'HG_NOT_FOUND', undef, 'unknown service');
$b = outpatient(placeCode => 'NOPE');
($r, $j) = call('invoiceEBillOutpatient', $b); err_is($r, $j, 409, 'HG_INVOICE_NO_STOCK', 'placeCode', 'billing point without stock');
ok t_cmp(psql('SELECT count(*) FROM invoice.bills'), $bills_before + 1, 'rejected input wrote no bill');
ok t_cmp(psql("SELECT next_no FROM invoice.stock WHERE place_code = 'MZ01' AND kind = 'ebill'"), $next_before + 1,
         'and took no number');

# ---- other kinds, batch
($r, $j) = call('invEBillHospitalized', inpatient());
ok t_cmp($r->code, 200, 'inpatient bill issued');
($r, $j) = call('invEBillRegistration', outpatient());
ok t_cmp($r->code, 200, 'registration bill issued');
my $bad = outpatient(); $bad->{totalAmt} = '1.00';
($r, $j) = call('invoiceEBillOutpatient/batch', { items => [ outpatient(), $bad, outpatient() ] });
ok t_cmp("$j->{issued}/$j->{failed}", '2/1', 'batch: two issued, one refused');
ok t_cmp($j->{results}[1]{error}{code}, qr/^HG_INVOICE_SUM/, 'the refused item says why');
ok t_cmp($j->{results}[2]{billNo} - $j->{results}[0]{billNo}, 1, 'consecutive numbers, the refused item took none');

# ---- queries and upload (the sandbox platform supervises)
my ($c, $n) = @first{qw(billBatchCode billNo)};
ok t_cmp(wait_until(15, sub { (call('getEBillStatesByBillInfo', { billBatchCode => $c, billNo => $n }))[1]{uploaded} }), 1,
         'uploaded to the fiscal platform through the outbox');
($r, $j) = call('getEBillStatesByBillInfo', { billBatchCode => $c, billNo => $n });
ok t_cmp("$j->{state}/$j->{isScarlet}", '1/0', 'state 1 (normal), isScarlet 0');
ok t_cmp($j->{supervision}{billNo} // '', $n, "the platform's supervision answer is kept");
ok t_cmp(psql("SELECT count(*) FROM sandbox.fiscal_bills WHERE bill_batch_code = '$c' AND bill_no = '$n'"), 1, 'the platform holds the bill');
($r, $j) = call('getEBillByBusNo', { busNo => $bill->{busNo} });
ok t_cmp($j->{billNo}, $n, 'query by busNo');
($r, $j) = call('getEBillStatesByBillInfo', { billBatchCode => $c, billNo => '9999999999' });
err_is($r, $j, 404, 'HG_INVOICE_NOT_FOUND', undef, 'unknown bill');

# ---- the layout file
$r = signed_request('GET', "$api/bills/$c/$n/pdf", '');
ok t_cmp($r->header('Content-Type'), 'application/pdf', 'layout file is a PDF');
my $text = pdftext($r->content);
ok t_cmp($text, qr/广东省医疗门诊收费票据（电子）/, 'PDF: title');
ok t_cmp($text, qr/$n/, 'PDF: bill number');
ok t_cmp($text, qr/壹佰贰拾叁元肆角伍分/, 'PDF: amount in capitals');
ok t_cmp($text, qr/西药费/, 'PDF: items');
ok t_cmp(join(' ', map { $text =~ /\Q$_\E/ ? $_ : "no $_" } 'POS刷卡', '医保统筹基金', '医保个人账户'),
         'POS刷卡 医保统筹基金 医保个人账户', 'PDF: the payment channels by the names the H5 page shows (not 渠道11)');
$r = signed_request('GET', "$api/bills/$c/$n/notice", '');
ok t_cmp(pdftext($r->content), qr/$first{random}/, 'notice (告知单) carries the check code');

# ---- patients: view by code + number + check code
$r = GET "/invoice/pub/v1/bill?code=$c&no=$n&random=$first{random}";
$j = json_of($r);
ok t_cmp($r->code, 200, 'H5 view');
# what the page sends: the same look-up POSTed (the check code out of the access log), the same answer
{
    my $rp = POST '/invoice/pub/v1/bill', 'Content-Type' => 'application/json',
                  content => qq({"code":"$c","no":"$n","random":"$first{random}"});
    my $jp = json_of($rp);
    ok t_cmp(join(' ', $rp->code, $jp->{billNo} // '-', $jp->{payer} // '-', $jp->{totalAmt} // '-'),
             join(' ', 200, $n, $j->{payer}, $j->{totalAmt}), 'the same look-up POSTed answers the same');
    my $rw = POST '/invoice/pub/v1/bill', 'Content-Type' => 'application/json',
                  content => qq({"code":"$c","no":"$n","random":"zzzzzz"});
    ok t_cmp($rw->code . ' ' . (json_of($rw)->{code} // '-'), '404 HG_INVOICE_NOT_FOUND', 'and a wrong check code POSTed: 404');
}
ok t_cmp($j->{payer}, '张*丰', 'name masked');
ok t_cmp(scalar @{ $j->{items} }, 5, 'items listed');
ok t_cmp($j->{totalCapital}, '壹佰贰拾叁元肆角伍分', 'capitals');
ok t_cmp(index($r->content, '440101199001011234') < 0 ? 1 : 0, 1, 'no ID number in the page data');
my $pdfurl = $j->{pdfUrl};
ok t_cmp(GET($pdfurl)->header('Content-Type'), 'application/pdf', 'signed PDF link works');
(my $forged = $pdfurl) =~ s/sig=(.)/'sig=' . ($1 eq 'A' ? 'B' : 'A')/e;   # always a different signature
ok t_cmp(GET($forged)->code, 403, 'a forged link does not');
($r) = GET "/invoice/pub/v1/bill?code=$c&no=$n&random=zzzzzz";
ok t_cmp($r->code . ' ' . json_of($r)->{code}, '404 HG_INVOICE_NOT_FOUND', 'wrong check code: not found');
($r) = GET "/invoice/pub/v1/bill?code=$c&no=$n&random=" . substr($first{random}, 0, 3);
ok t_cmp($r->code . ' ' . json_of($r)->{code}, '404 HG_INVOICE_NOT_FOUND', 'the first three characters of it: not found either');
ok t_cmp(json_of(GET "/invoice/pub/v1/verify?code=$c&no=$n&random=$first{random}")->{sealValid} ? 1 : 0, 1, 'unit seal verifies');
ok t_cmp(join(' ', map { my $v = GET "/invoice/pub/v1/verify?$_"; $v->code . ':' . (json_of($v)->{field} // '-') }
                   "code=$c&no=$n", "code=$c&no=$n&random=zzzzzz"), '400:random 404:random',
         'the seal check needs the check code too: without it 400, a wrong one 404 (no bill told by number alone)');

# ---- personal data at rest
ok t_cmp(psql("SELECT count(*) FROM invoice.bills b WHERE b::text LIKE '%440101199001011234%' OR b::text LIKE '%13812345678%' OR b::text LIKE '%张三丰%'"), 0,
         'no ID number, phone or name in clear in invoice.bills');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox o WHERE o.payload::text LIKE '%440101199001011234%' OR o.payload::text LIKE '%张三丰%'"), 0,
         'nor in the outbox');

# ---- notification (SMS with the link) and the hospital-wide QR (通码)
ok t_cmp(wait_until(10, sub { my $m = json_of(GET '/sandbox/messages?to=13812345678'); grep { ($_->{content} // '') =~ /$n/ } @{ $m->{messages} // [] } }) ? 1 : 0,
         1, 'SMS with the bill link sent through the outbox');
$r = POST '/invoice/pub/v1/sms', 'Content-Type' => 'application/json', content => '{"idType":"idcard","idValue":"440101199001011234"}';
my $known = $r->content;
ok t_cmp($known =~ /5678|maskedPhone/ ? $known : 'nothing of the phone', 'nothing of the phone',
         'the SMS-code answer says nothing of the phone on file');
# an ID number with no bills gets the very same answer: the call cannot tell who has bills here
ok t_cmp((POST '/invoice/pub/v1/sms', 'Content-Type' => 'application/json',
          content => '{"idType":"idcard","idValue":"110101198001010029"}')->content, $known,
         'and the same answer for an ID number without bills');
my $code = wait_until(10, sub { my $m = json_of(GET '/sandbox/messages?to=13812345678');
    for (@{ $m->{messages} // [] }) { return $1 if ($_->{content} // '') =~ /验证码为(\d{6})/ } return undef });
ok t_cmp($code // '', qr/^\d{6}$/, 'the code arrived');
$r = POST '/invoice/pub/v1/mybills', 'Content-Type' => 'application/json', content => '{"idType":"idcard","idValue":"440101199001011234","smsCode":"000000"}';
ok t_cmp(json_of($r)->{code}, 'HG_INVOICE_SMS_CODE', 'a wrong code is refused');
$r = POST '/invoice/pub/v1/mybills', 'Content-Type' => 'application/json', content => qq({"idType":"idcard","idValue":"440101199001011234","smsCode":"$code"});
$j = json_of($r);
my $seen = grep { $_->{billNo} eq $n } @{ $j->{bills} // [] };
warn "# mybills answered: " . $r->content . " (code $code)\n" unless $seen;
ok t_cmp($seen ? 1 : 0, 1, 'the patient sees the bill in the list');
$r = POST '/invoice/pub/v1/sms', 'Content-Type' => 'application/json', content => '{"idType":"idcard","idValue":"440101199001011234"}';
ok t_cmp(json_of($r)->{code}, 'HG_INVOICE_SMS_TOO_SOON', 'one code a minute');
# a public POST says it is JSON: without a Content-Type it is what any web page can make a browser send
{
    require HTTP::Request;
    my $bare = HTTP::Request->new(POST => Apache::TestRequest::resolve_url('/invoice/pub/v1/sms'), undef,
                                  '{"idType":"idcard","idValue":"110101198001010029"}');
    $r = Apache::TestRequest::user_agent()->request($bare);
}
ok t_cmp(join(' ', $r->code, json_of($r)->{code} // '-', $r->request->header('Content-Type') // 'none'),
         '415 HG_UNSUPPORTED_MEDIA_TYPE none',
         'a public POST without a Content-Type is refused (no cross-site simple request)');
# ten requests at once for one identifier: the minute rule holds in one statement, one passes
{
    my $card = 'SMSRACE' . time . ($$ % 100000);
    my $once = outpatient(tel => '13912340088', cardNo => $card);
    signed_request('POST', "$api/invoiceEBillOutpatient", $once);
    my @kids;
    for (1 .. 10) {
        my $pid = fork // die;
        if (!$pid) {
            my $rr = POST '/invoice/pub/v1/sms', 'Content-Type' => 'application/json',
                          content => qq({"idType":"card","idValue":"$card"});
            POSIX::_exit($rr->code == 200 ? 0 : 1);
        }
        push @kids, $pid;
    }
    my $passed = 0;
    for (@kids) { waitpid $_, 0; $passed++ if $? == 0 }
    ok t_cmp($passed, 1, 'ten requests at once for one identifier: one code sent');
    # the day's cap: the minute passed by hand, the 11th code of the day is refused
    for my $k (2 .. 11) {
        psql("UPDATE invoice.sms_codes SET created_at = now() - interval '2 minutes' "
             . "WHERE subject_idx IN (SELECT card_idx FROM invoice.bills WHERE bus_no = '$once->{busNo}')");
        $r = POST '/invoice/pub/v1/sms', 'Content-Type' => 'application/json', content => qq({"idType":"card","idValue":"$card"});
        last if $r->code != 200;
    }
    ok t_cmp(join(' ', $r->code, json_of($r)->{code} // '-', psql("SELECT sent_today FROM invoice.sms_codes WHERE subject_idx IN "
             . "(SELECT card_idx FROM invoice.bills WHERE bus_no = '$once->{busNo}')")), '429 HG_INVOICE_SMS_DAILY_LIMIT 10',
             'ten codes a day per identifier, the eleventh refused');
    # a card with no phone on file: the same answer, and no code to guess
    my $nophone = 'SMSNOTEL' . time . ($$ % 100000);
    my $np = outpatient(cardNo => $nophone);
    delete $np->{tel};
    signed_request('POST', "$api/invoiceEBillOutpatient", $np);
    $r = POST '/invoice/pub/v1/sms', 'Content-Type' => 'application/json', content => qq({"idType":"card","idValue":"$nophone"});
    ok t_cmp($r->code . ' ' . psql("SELECT code_hash FROM invoice.sms_codes WHERE subject_idx IN "
             . "(SELECT card_idx FROM invoice.bills WHERE bus_no = '$np->{busNo}')"), '200 none',
             'an identifier without a phone on file: the same answer, and a code that matches nothing');
    # one phone, whichever identifier asks: fifteen codes a day.  Its card ten times, an eleventh by
    # card refused by the card's own rule (the phone's count goes back with it), the phone itself five
    # times; the sixteenth, by insurance number, is answered as sent but sends and keeps nothing
    my $pt = sprintf('1391%07d', ($$ * 7 + time) % 10000000);
    my $pc = 'SMSPHONE' . time . ($$ % 100000);
    my $pm = 'YBP' . time . ($$ % 100000);
    my $po = outpatient(tel => $pt, cardNo => $pc);
    $po->{medicalInsuranceID} = $pm;
    signed_request('POST', "$api/invoiceEBillOutpatient", $po);
    my $phone_day = sub { psql("SELECT coalesce(max(sent_today), 0) FROM invoice.sms_phones s "
                               . "JOIN invoice.bills b ON b.tel_idx = s.phone_idx WHERE b.bus_no = '$po->{busNo}'") };
    my $codes_out = sub { psql("SELECT count(*) FROM hg.outbox WHERE topic = 'invoice.notify' AND business_key LIKE 'smscode:%'") };
    my @asked;
    for my $ask ((['card', $pc, 'card_idx']) x 11, (['phone', $pt, 'tel_idx']) x 5, ['insurance', $pm, 'mi_idx']) {
        psql("UPDATE invoice.sms_codes SET created_at = now() - interval '2 minutes' "
             . "WHERE subject_idx IN (SELECT $ask->[2] FROM invoice.bills WHERE bus_no = '$po->{busNo}')");
        my $before = $codes_out->();
        $r = POST '/invoice/pub/v1/sms', 'Content-Type' => 'application/json', content => qq({"idType":"$ask->[0]","idValue":"$ask->[1]"});
        push @asked, $r->code . ($codes_out->() > $before ? '+' : '') . '/' . $phone_day->();
    }
    ok t_cmp(join(' ', @asked[9, 10, 15, 16]), '200+/10 429/10 200+/15 200/15',
             'fifteen codes a day to one phone: a refusal by the card rolls the phone back; the sixteenth sends nothing');
    ok t_cmp(psql("SELECT count(*) FROM invoice.sms_codes WHERE subject_idx IN (SELECT mi_idx FROM invoice.bills "
                  . "WHERE bus_no = '$po->{busNo}')") . ' ' . (json_of($r)->{sent} ? 'sent' : '-'), '0 sent',
             'and keeps no code for it, answering as if sent');
}
# 通码 by 医保卡号 (medicalInsuranceID): its own keyed index
my $mi = 'YB' . ($$ % 100000) . time;
my $mio = outpatient(tel => '13912340077');
$mio->{medicalInsuranceID} = $mi;
my $mib = json_of(signed_request('POST', "$api/invoiceEBillOutpatient", $mio));
POST '/invoice/pub/v1/sms', 'Content-Type' => 'application/json', content => qq({"idType":"insurance","idValue":"$mi"});
my $micode = wait_until(10, sub { my $m = json_of(GET '/sandbox/messages?to=13912340077');
    for (@{ $m->{messages} // [] }) { return $1 if ($_->{content} // '') =~ /验证码为(\d{6})/ } return undef });
$micode //= '000000';
$r = POST '/invoice/pub/v1/mybills', 'Content-Type' => 'application/json',
     content => qq({"idType":"insurance","idValue":"$mi","smsCode":"$micode"});
ok t_cmp(join(',', map { $_->{billNo} } @{ json_of($r)->{bills} // [] }), $mib->{billNo} // '-',
         '通码 by 医保卡号: the code went to the phone on that bill, and the list has that bill');
ok t_cmp(psql("SELECT count(*) FROM invoice.bills WHERE mi_idx IS NOT NULL AND bill_no = '$mib->{billNo}' "
              . "AND doc_sealed NOT LIKE '%$mi%' AND mi_idx NOT LIKE '%$mi%'"), 1,
         'the number is kept only as a keyed index beside the sealed document');
# a patient with more bills than the list shows (101): the newest 100, and the answer says how many
{
    my $lc = 'MANY' . time . ($$ % 100000);
    my $ltel = '13700' . sprintf('%06d', ($$ + 7) % 1000000);
    my $lb = json_of(signed_request('POST', "$api/invoiceEBillOutpatient", outpatient(cardNo => $lc, tel => $ltel)));
    psql("INSERT INTO invoice.bills (institution, bus_no, kind, service, place_code, bill_batch_code, bill_no, random, "
         . "create_time, total_fen, content_hash, doc_sealed, seal, card_idx, tel_sealed) SELECT institution, "
         . "'MANY-$lc-' || g, kind, service, place_code, '44019898', lpad(g::text, 10, '0'), random, create_time, total_fen, "
         . "content_hash, doc_sealed, seal, card_idx, tel_sealed FROM invoice.bills, generate_series(1, 100) g "
         . "WHERE bill_batch_code = '$lb->{billBatchCode}' AND bill_no = '$lb->{billNo}'");
    POST '/invoice/pub/v1/sms', 'Content-Type' => 'application/json', content => qq({"idType":"card","idValue":"$lc"});
    my $lcode = wait_until(10, sub { my $m = json_of(GET "/sandbox/messages?to=$ltel");
        for (@{ $m->{messages} // [] }) { return $1 if ($_->{content} // '') =~ /验证码为(\d{6})/ } return undef }) // '000000';
    my $lj = json_of(POST '/invoice/pub/v1/mybills', 'Content-Type' => 'application/json',
                     content => qq({"idType":"card","idValue":"$lc","smsCode":"$lcode"}));
    ok t_cmp(join(' ', scalar(@{ $lj->{bills} // [] }), $lj->{total} // '-', $lj->{truncated} ? 'truncated' : 'whole',
                  ($lj->{bills} // [{}])->[0]{billNo} // '-'), '100 101 truncated 0000000100',
             '通码 list of 101 bills: the newest 100, and the answer says there are 101');
    psql("DELETE FROM invoice.bills WHERE bill_batch_code = '44019898'");
}

# the patients' pages and the console: framed by no other site, no referrer out, no sniffing
ok t_cmp(join(' | ', map { my $h = GET($_); my $csp = $h->header('Content-Security-Policy') // '';
                           join ' ', $h->code, $h->header('X-Frame-Options') // '-',
                           ($csp =~ /default-src 'self'/ && $csp =~ /frame-ancestors 'self'/ && $csp !~ /script-src[^;]*unsafe/
                            ? 'csp' : "csp? $csp"), $h->header('Referrer-Policy') // '-' }
                  '/invoice/bill.html', '/invoice/o.html', '/console/index.html'),
         join(' | ', ("200 SAMEORIGIN csp no-referrer") x 3),
         'the pages carry X-Frame-Options, a CSP (scripts and frames from this server only) and Referrer-Policy');

# ---- offline link before and after issuance
my $future = bus_no();
($r, $j) = call('getOfflineLink', { busNo => $future });
my ($i, $bb, $t) = ($j->{url} // '') =~ /#i=(\w+)&b=([^&]+)&t=(\S+)$/;
ok t_cmp(json_of(GET "/invoice/pub/v1/offline?i=$i&b=$bb&t=$t")->{state}, 'pending', 'offline link before the bill: not yet');
call('invoiceEBillOutpatient', outpatient(busNo => $future));
ok t_cmp(json_of(GET "/invoice/pub/v1/offline?i=$i&b=$bb&t=$t")->{state}, 'issued', 'and the bill once issued');
ok t_cmp(json_of(POST '/invoice/pub/v1/offline', 'Content-Type' => 'application/json',
                 content => qq({"i":"$i","b":"$bb","t":"$t"}))->{state} // '-', 'issued', 'the same POSTed (what o.html sends)');
ok t_cmp(GET("/invoice/pub/v1/offline?i=$i&b=$bb&t=AAAAAAAAAAAAAAAA")->code, 403, 'a made-up token is refused');

# ---- paper exchange rules
my $pb = outpatient(); ($r, $j) = call('invoiceEBillOutpatient', $pb); my ($pc, $pn) = @$j{qw(billBatchCode billNo)};
($r, $j) = call('getPaperBillNo', { placeCode => 'MZ01' });
my $paper = $j->{pBillNo};
ok t_cmp($j->{pBillBatchCode}, '44010226', 'next paper number of the billing point');
my %turn = (billBatchCode => $pc, billNo => $pn, busDateTime => now17(), placeCode => 'MZ01', operator => '李四');
($r, $j) = call('turnPaper', { %turn, pBillBatchCode => '44010226', pBillNo => $paper });
ok t_cmp($j->{pBillNo}, $paper, 'exchanged for paper');
# its layout file says so, not to be taken for a second bill to claim on
ok t_cmp(pdftext(signed_request('GET', "$api/bills/$pc/$pn/pdf", '')->content), qr/已换开纸质/,
         'the layout file of a bill exchanged for paper says 已换开纸质');
($r, $j) = call('turnPaper', { %turn });
ok t_cmp(join(' ', $r->code, $j->{pBillNo} // '-', $j->{replayed} ? 'replayed' : 'new', psql("SELECT count(*) FROM "
         . "invoice.papers p JOIN invoice.bills b ON b.id = p.bill_id WHERE b.bill_no = '$pn' AND p.state = 'live'")),
         "200 $paper replayed 1", 'at most one live paper: turnPaper again (a resend) answers the one it has');
($r, $j) = call('writeOffEBill', { billBatchCode => $pc, billNo => $pn, reason => '退费', operator => '李四', busDateTime => now17(), placeCode => 'MZ01' });
err_is($r, $j, 409, 'HG_INVOICE_PAPER_LIVE', undef, 'flush refused while the paper lives');
($r, $j) = call('invalidPaper', { billBatchCode => $pc, billNo => $pn, operator => '李四', reason => '打印错误' });
ok t_cmp($j->{paperState}, 'void', 'paper voided');
($r, $j) = call('reTurnPaper', { %turn });
err_is($r, $j, 409, 'HG_INVOICE_NO_PAPER', undef, 're-exchange needs a paper');
($r, $j) = call('turnPaper', { %turn });
ok t_cmp($j->{pBillNo}, sprintf('%010d', $paper + 1), 'exchanged again with the next number');
($r, $j) = call('reTurnPaper', { %turn });
ok t_cmp($j->{pBillNo}, sprintf('%010d', $paper + 2), 're-exchange voids and takes the next');
($r, $j) = call('invalidBlankBillNo', { placeCode => 'MZ01', pBillBatchCode => '44010226', pBillNo => sprintf('%010d', $paper + 3), operator => '李四', reason => '卡纸' });
ok t_cmp($j->{state}, 'void', 'blank paper number voided');
my $blank = sprintf('%010d', $paper + 3);
ok t_cmp(wait_until(20, sub { psql("SELECT state FROM hg.outbox WHERE topic = 'invoice.upload' "
                                   . "AND business_key = 'blank:44010226:$blank'") eq 'done' })
         ? psql("SELECT count(*) FROM sandbox.fiscal_calls WHERE service = 'invalidBlankBillNo' AND result = 'S0000' "
                . "AND data LIKE '%$blank%'") : 'not done', 1, 'and the fiscal platform told (invalidBlankBillNo)');
($r, $j) = call('getPaperBillNo', { placeCode => 'MZ01' });
ok t_cmp($j->{pBillNo}, sprintf('%010d', $paper + 4), 'the voided blank is skipped');

# ---- red-flush
my %flush = (billBatchCode => $c, billNo => $n, reason => '患者退费', operator => '李四', busDateTime => now17(), placeCode => 'MZ01');
# the reason goes into the red bill's remark and the operator becomes its payee: too long for them is
# a 400 on the field (it was a 500, the red bill's own check failing after the request's)
($r, $j) = call('writeOffEBill', { %flush, reason => '退' x 101 });
err_is($r, $j, 400, 'HG_FIELD_TOO_LONG', 'reason', 'a reason of 101 characters: refused on the field');
($r, $j) = call('writeOffEBill', { %flush, operator => '李' x 51 });
err_is($r, $j, 400, 'HG_FIELD_TOO_LONG', 'operator', 'an operator of 51 characters: refused on the field');
($r, $j) = call('writeOffEBill', \%flush);
ok t_cmp($r->code, 200, 'red-flush');
ok t_cmp($j->{eScarletBillNo}, qr/^\d{10}$/, 'the red bill has its own number');
ok t_cmp($j->{totalAmt}, '-123.45', 'with negated amounts');
my ($red, $red_random) = @$j{qw(eScarletBillNo eScarletRandom)};
my $rv = json_of(GET "/invoice/pub/v1/bill?code=$c&no=$red&random=$red_random");
ok t_cmp("$rv->{totalAmt} $rv->{totalCapital}", '-123.45 负壹佰贰拾叁元肆角伍分', 'the patient sees the red bill negative, capitals with 负');
($r, $j) = call('writeOffEBill', \%flush);
ok t_cmp($j->{eScarletBillNo}, $red, 'flushing again returns the same red bill');
($r, $j) = call('getEBillStatesByBillInfo', { billBatchCode => $c, billNo => $n });
ok t_cmp("$j->{billState} $j->{isScarlet} $j->{relatedBill}{billNo}", "flushed 1 $red", 'the original is flushed and linked');
($r, $j) = call('invoiceEBillOutpatient', $bill);
ok t_cmp(join(' ', $r->code, map { $j->{$_} // '-' } qw(billNo state isScarlet billState)), "200 $n 1 1 flushed",
         'the issue sent again: the same bill, and its answer says it was red-flushed (isScarlet 1, as §4.4 codes it)');
ok t_cmp(wait_until(15, sub { psql("SELECT count(*) FROM sandbox.fiscal_bills WHERE bill_no = '$red'") == 1 }), 1,
         'the red bill reached the platform');
($r, $j) = call('writeOffEBill', { %flush, billNo => $red });
err_is($r, $j, 409, 'HG_INVOICE_IS_RED', undef, 'a red bill cannot be flushed');

# ---- 票据作废情况: every void of the day, who and why
{
    my (undef, $staff) = staff_login('admin', 'Adm1n-Test-Pass#2026');
    my $v = json_of(GET('/invoice/staff/v1/reports/voids?placeCode=MZ01', Cookie => $staff));
    my %row = map { ("$_->{type} $_->{billBatchCode} $_->{billNo}" => $_) } @{ $v->{rows} // [] };
    my $line = sub { my $x = $row{$_[0]}; $x ? join('|', map { $x->{$_} // '-' } qw(typeLabel related operator reason)) : 'no row' };
    ok t_cmp($line->("paper 44010226 $paper"), "作废纸质票|$pc $pn|李四|打印错误", 'a voided paper with its bill, who and why');
    ok t_cmp($line->('paper 44010226 ' . sprintf('%010d', $paper + 1)), "作废纸质票|$pc $pn|李四|重新换开",
             'a paper voided by a re-exchange says so');
    ok t_cmp($line->('blank 44010226 ' . sprintf('%010d', $paper + 3)), '作废空白纸质票|-|李四|卡纸', 'a voided blank number');
    ok t_cmp($line->("flush $c $n"), "电子票据冲红|$c $red|李四|-", 'a flushed e-bill with its red bill and who flushed it');
    ok t_cmp(($v->{totals}{paper} // 0) >= 2 && ($v->{totals}{blank} // 0) >= 1 && ($v->{totals}{flush} // 0) >= 1 ? 1 : 0, 1,
             'counted per kind');
    my $csv = GET('/invoice/staff/v1/reports/voids?placeCode=MZ01&format=csv', Cookie => $staff)->content;
    utf8::decode($csv);
    ok t_cmp($csv, qr/^\x{FEFF}时间,类别,开票点,票据代码,票据号码,关联票据,操作员,原因\r\n.*,作废空白纸质票,MZ01 门诊收费一窗,44010226,/s,
             'as CSV');
    # more than the report lists: the JSON says truncated, the CSV's last line says so too
    psql("INSERT INTO invoice.places VALUES ('44010001', 'VOID5K', '作废很多的窗口') ON CONFLICT DO NOTHING");
    psql("INSERT INTO invoice.blank_voids (p_bill_batch_code, p_bill_no, institution, place_code, reason, operator) "
         . "SELECT '44015999', lpad(g::text, 10, '0'), '44010001', 'VOID5K', '测试', 'x' FROM generate_series(1, 5001) g "
         . "ON CONFLICT DO NOTHING");
    my $big = json_of(GET('/invoice/staff/v1/reports/voids?placeCode=VOID5K', Cookie => $staff));
    my $bigcsv = GET('/invoice/staff/v1/reports/voids?placeCode=VOID5K&format=csv', Cookie => $staff)->content;
    utf8::decode($bigcsv);
    my @lines = split /\r\n/, $bigcsv;
    ok t_cmp(join(' ', scalar(@{ $big->{rows} // [] }), $big->{truncated} ? 'truncated' : 'whole', scalar(@lines), $lines[-1]),
             '5000 truncated 5002 （仅列出前 5000 条，请缩短期间或选择开票点）,,,,,,,',
             'over 5,000 voids: the JSON says truncated, the CSV ends with a line saying so');
    psql("DELETE FROM invoice.blank_voids WHERE place_code = 'VOID5K'");
}
