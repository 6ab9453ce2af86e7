# 存入微信卡包: the bill page asks for WeChat's authorisation link, the patient authorises on
# WeChat's page (the sandbox plays it), comes back, and the outbox uploads the layout file and puts
# the bill into the card package (card/invoice/platform/setpdf + card/invoice/insert), once per
# bill; WeChat's refusals dead-letter, its "system busy" is retried.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP ();
use HG qw(json_of signed_request psql wait_until);
use HGInvoice qw(outpatient now17);

plan tests => 76;

my $json = JSON::PP->new->utf8->canonical;
Apache::TestRequest::user_agent(reset => 1, requests_redirectable => 0);
# the page's own path first: WeChat (the sandbox) does not push the authorisation until the
# section that tests the push (sandbox migration 014 gives the demo account its push)
my $push_conf = psql("SELECT push_path || ' ' || push_token || ' ' || push_aeskey FROM sandbox.wechat_apps WHERE appid = 'wx5a1dbe0d3e5b0001'");
psql("UPDATE sandbox.wechat_apps SET push_path = NULL WHERE appid = 'wx5a1dbe0d3e5b0001'");

sub bill {
    my $b = json_of(signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', outpatient()));
    return { code => $b->{billBatchCode}, no => $b->{billNo}, random => $b->{random} };
}
sub call {
    my ($path, $body) = @_;
    my $r = POST($path, 'Content-Type' => 'application/json',
                 content => ref $body ? $json->encode($body) : $body);
    return ($r, eval { json_of($r) } // {});
}
sub start { call('/invoice/pub/v1/wxcard', { %{ $_[0] }, @_[1 .. $#_] }) }
sub insert { call('/invoice/pub/v1/wxcard/insert', { %{ $_[0] }, orderId => $_[1], @_[2 .. $#_] }) }
sub verdict { my ($r, $j) = @_; join ' ', $r->code, $j->{code} // '-', $j->{field} // '-' }
# the patient on WeChat's page (the sandbox's): accept or not, as openid
sub authorize {
    my ($auth_url, $openid, $decision) = @_;
    my ($path) = ($auth_url // '') =~ m{^https?://[^/]+(/.*)$};
    $path //= '/sandbox/wechat/invoice/auth';
    my ($pappid) = $path =~ /s_pappid=([^&]+)/;
    my ($order) = $path =~ /order_id=([^&]+)/;
    my $page = GET($path);
    my $r = POST('/sandbox/wechat/invoice/auth', [ s_pappid => $pappid // '', order_id => $order // '',
                                                  openid => $openid, decision => $decision // 'accept' ]);
    return ($page, $r);
}
sub outbox { psql("SELECT $_[1] FROM hg.outbox WHERE topic = 'invoice.wxcard' AND business_key = 'wxcard:$_[0]'") }

# ---- the flow
my $b = bill();
my ($r, $j) = start($b);
ok t_cmp(($r->code) . ' ' . ($j->{state} // '-'), '200 auth', 'the bill page gets an authorisation link');
my $order = $j->{orderId} // '';
ok t_cmp($order, qr/^[0-9a-z]{32}$/, 'for a random order id');
ok t_cmp($j->{authUrl} // '', qr{^http://[^/]+/sandbox/wechat/invoice/auth\?s_pappid=\w+&order_id=$order$},
         "WeChat's (the sandbox's) authorisation page for it");
my $auth_url = $j->{authUrl} // '';
($r, $j) = start($b);
ok t_cmp($j->{orderId} // '', $order, 'a second tap reuses the order');
ok t_cmp(psql("SELECT money || ' ' || source || ' ' || type FROM sandbox.wxcard_orders WHERE order_id = '$order'"),
         '12345 web 2', 'WeChat got the amount in fen, source web, type 2 (领取发票)');

($r, $j) = insert($b, $order);
ok t_cmp(verdict($r, $j), '409 HG_INVOICE_WXCARD_UNAUTHORIZED orderId', 'not authorised yet: nothing is queued');

my ($page, $back) = authorize($auth_url, 'oSBXpatient0000000000000042');
ok t_cmp($page->code . ' ' . ($page->content =~ /123\.45/ ? 'amount' : 'no amount'), '200 amount',
         'the authorisation page shows the amount');
ok t_cmp($back->code, 302, 'authorised, WeChat sends the patient back');
my $loc = $back->header('Location') // '';
ok t_cmp($loc, qr{/invoice/bill\.html\?wxcard=$order#code=$b->{code}&no=$b->{no}&r=$b->{random}$}, 'to the bill page, with the order');

($r, $j) = insert($b, $order);
ok t_cmp($r->code . ' ' . ($j->{state} // '-'), '202 queued', 'the insertion is queued');
ok t_cmp(wait_until(20, sub { outbox($order, 'state') eq 'done' }) ? 1 : 0, 1, 'and delivered');
my $ins = psql("SELECT body::text FROM sandbox.wxcard_inserts WHERE order_id = '$order'");
my $got = eval { JSON::PP->new->utf8->decode($ins) } // {};
my $d = $got->{card_ext}{user_card}{invoice_user_data} // {};
ok t_cmp(($d->{fee} // '-') . ' ' . ($d->{fee_without_tax} // '-') . ' ' . ($d->{tax} // '-'), '12345 12345 0',
         'fee in fen, all without tax');
ok t_cmp(($d->{billing_no} // '-') . ' ' . ($d->{billing_code} // '-') . ' ' . ($d->{check_code} // '-'),
         "$b->{code} $b->{no} $b->{random}", 'billing_no the bill code, billing_code its number, check_code its check code');
ok t_cmp($d->{title} // '', '张三丰', 'title: the payer');
ok t_cmp(abs(($d->{billing_time} // 0) - time) < 120 ? 1 : 0, 1, 'billing_time: the issue time, Unix seconds');
ok t_cmp(join(',', map { "$_->{name}:$_->{num}:$_->{price}" } @{ $d->{info} // [] }),
         '西药费:1:4560,检查费:1:3800,治疗费:1:2000,化验费:1:1485,挂号费:1:500', 'info: the charges, prices in fen');
ok t_cmp(($got->{card_id} // '') . ' ' . ($got->{appid} // ''), 'pSBXcardEBill0001demo0000000 wx5a1dbe0d3e5b0001',
         'the configured card template, the account that authorised');
ok t_cmp(psql("SELECT count(*) FROM sandbox.wxcard_pdfs WHERE s_media_id = '" . ($d->{s_pdf_media_id} // 'x') . "' AND size > 1000"), 1,
         'with the layout file uploaded first (setpdf)');
ok t_cmp(psql("SELECT openid FROM sandbox.wxcard_inserts WHERE order_id = '$order'"), 'oSBXpatient0000000000000042',
         'into the card package of the patient who authorised');
ok t_cmp(outbox($order, "result->>'code'"), qr/^\d{12}$/, "the card's code is kept with the delivery");

# ---- once
($r, $j) = insert($b, $order);
ok t_cmp($r->code . ' ' . ($j->{state} // '-'), '200 inserted', 'asked again, the order says it is in the card package');
($r, $j) = start($b);
ok t_cmp(($r->code) . ' ' . ($j->{state} // '-') . ' ' . (exists $j->{authUrl} ? 'link' : 'no link'), '200 inserted no link',
         'a new tap on the page: already in, no new authorisation');
ok t_cmp(psql("SELECT count(*) FROM sandbox.wxcard_inserts WHERE billing_no = '$b->{code}' AND billing_code = '$b->{no}'"), 1,
         'the bill went into one card package once');

# ---- personal data and the journal
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE topic = 'invoice.wxcard' AND (payload::text LIKE '%张三丰%' "
              . "OR result::text LIKE '%oSBX%')"), 0, 'no name in the outbox payload, no openid in its result');
ok t_cmp(psql("SELECT string_agg(DISTINCT endpoint, ' ' ORDER BY endpoint) FROM hg.audit WHERE endpoint LIKE 'wxcard.%' "
              . "AND status = 200"), 'wxcard.getauthdata wxcard.getauthurl wxcard.insert wxcard.setpdf wxcard.ticket',
         "WeChat's calls are journalled");
my $log = do { local (@ARGV, $/) = (Apache::Test::vars('t_logs') . '/error_log'); <> // '' };
ok t_cmp(scalar(() = $log =~ /张三丰|oSBXpatient/g), 0, 'neither the name nor the openid in the error log');

# ---- 冲红 of a bill in a card package: the card is written off there (updatestatus CANCEL)
sub flush {
    my ($bill) = @_;
    return json_of(signed_request('POST', '/invoice/api/v1/writeOffEBill', { billBatchCode => $bill->{code},
                   billNo => $bill->{no}, reason => '退费', operator => '李四', busDateTime => now17(), placeCode => 'MZ01' }));
}
sub cancel_row { psql("SELECT $_[1] FROM hg.outbox WHERE topic = 'invoice.wxcard_status' AND business_key = 'cancel:$_[0]'") }
sub card_status { psql("SELECT reimburse_status || ' ' || status_updates FROM sandbox.wxcard_inserts WHERE order_id = '$_[0]'") }
ok t_cmp(card_status($order), 'INVOICE_REIMBURSE_INIT 0', 'in the card package, not reimbursed');
my $fl = flush($b);
ok t_cmp($fl->{eScarletBillNo} // '', qr/^\d{10}$/, 'the bill in the card package is flushed');
ok t_cmp(wait_until(20, sub { cancel_row($order, 'state') eq 'done' }) ? 1 : 0, 1, "the card's cancellation is queued with the flush and delivered");
ok t_cmp(card_status($order), 'INVOICE_REIMBURSE_CANCEL 1', 'WeChat has the card as cancelled (冲红), told once');
ok t_cmp(cancel_row($order, "payload->>'code'") . ' ' . cancel_row($order, "payload->>'cardId'"),
         outbox($order, "result->>'code'") . ' pSBXcardEBill0001demo0000000', "the card's code and template from the insertion");
my $fl2 = flush($b);
ok t_cmp($fl2->{eScarletBillNo} // '', $fl->{eScarletBillNo} // 'x', 'the flush again: the same red bill');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE topic = 'invoice.wxcard_status' AND business_key = 'cancel:$order'")
         . ' ' . card_status($order), '1 INVOICE_REIMBURSE_CANCEL 1', 'and no second cancellation');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE endpoint = 'wxcard.updatestatus' AND status = 200"), qr/^[1-9]/,
         'the call is journalled');

# ---- flushed while WeChat is still inserting: the insertion's delivery queues the cancellation
my $b7 = bill();
(undef, $j) = start($b7);
my $o7 = $j->{orderId} // '';
authorize($j->{authUrl} // '', 'oSBXslow0000000000000000001');
insert($b7, $o7);
ok t_cmp(wait_until(10, sub { outbox($o7, 'state') eq 'inflight' }) ? 1 : 0, 1, 'the insertion is in flight (WeChat answers in 3 s)');
flush($b7);
ok t_cmp(cancel_row($o7, 'count(*)') . ' ' . outbox($o7, 'state'), '0 inflight',
         'flushed meanwhile: nothing delivered yet, so the flush queues nothing');
ok t_cmp(wait_until(20, sub { cancel_row($o7, 'state') eq 'done' }) ? 1 : 0, 1,
         'once the insertion is recorded, its follow-up queues the cancellation, delivered');
ok t_cmp(outbox($o7, 'state') . ' ' . card_status($o7), 'done INVOICE_REIMBURSE_CANCEL 1', 'the card went in and was cancelled');

# ---- 换开纸质 of a bill in a card package: it is reimbursed on paper, so its card is locked there
# (updatestatus LOCK: no second claim), unlocked when the paper is voided, cancelled by a flush after;
# one card's changes reach WeChat in the order they were made
sub paper {
    my ($bill, $svc) = @_;
    my $next = json_of(signed_request('POST', '/invoice/api/v1/getPaperBillNo', { placeCode => 'MZ01' }));
    return signed_request('POST', "/invoice/api/v1/$svc", { billBatchCode => $bill->{code}, billNo => $bill->{no},
        busDateTime => now17(), placeCode => 'MZ01', operator => '李四', reason => '打印错误',
        $svc =~ /urnPaper$/ ? (pBillBatchCode => $next->{pBillBatchCode}, pBillNo => $next->{pBillNo}) : () });
}
sub card_rows { psql("SELECT string_agg(split_part(business_key, ':', 1) || '=' || state, ' ' ORDER BY id) FROM hg.outbox "
                     . "WHERE topic = 'invoice.wxcard_status' AND business_key LIKE '%:$_[0]'") }
my $pb1 = bill();
(undef, $j) = start($pb1);
my $po1 = $j->{orderId} // '';
authorize($j->{authUrl} // '', 'oSBXpatient000000000000000008');
insert($pb1, $po1);
wait_until(20, sub { outbox($po1, 'state') eq 'done' });
ok t_cmp(paper($pb1, 'turnPaper')->code . ' ' . do { wait_until(20, sub { card_status($po1) =~ /LOCK/ }); card_status($po1) },
         '200 INVOICE_REIMBURSE_LOCK 1', 'exchanged for paper: the card is locked in the package');
paper($pb1, 'reTurnPaper');
sleep 2;
ok t_cmp(card_rows($po1) . ' ' . card_status($po1), 'lock=done INVOICE_REIMBURSE_LOCK 1', 'a re-exchange leaves it locked, nothing more sent');
ok t_cmp(paper($pb1, 'invalidPaper')->code . ' ' . do { wait_until(20, sub { card_status($po1) =~ /INIT/ }); card_status($po1) },
         '200 INVOICE_REIMBURSE_INIT 2', 'the paper voided: unlocked, usable from the package again');
flush($pb1);
ok t_cmp(wait_until(20, sub { card_status($po1) =~ /CANCEL/ }) ? card_rows($po1) . ' ' . card_status($po1) : card_rows($po1),
         'lock=done unlock=done cancel=done INVOICE_REIMBURSE_CANCEL 3', 'then flushed: cancelled, after the lock and unlock');
# exchanged while WeChat is still inserting: the insertion's delivery locks the card
my $pb2 = bill();
(undef, $j) = start($pb2);
my $po2 = $j->{orderId} // '';
authorize($j->{authUrl} // '', 'oSBXslow0000000000000000009');
insert($pb2, $po2);
wait_until(10, sub { outbox($po2, 'state') eq 'inflight' });
paper($pb2, 'turnPaper');
ok t_cmp(wait_until(20, sub { card_status($po2) =~ /LOCK/ }) ? outbox($po2, 'state') . ' ' . card_status($po2) : card_rows($po2),
         'done INVOICE_REIMBURSE_LOCK 1', 'exchanged during the insertion: locked once it is in');

# ---- WeChat pushes the authorisation (HisgateWeChatPush): queued without the page coming back
my ($ppath, $ptoken, $pkey) = split / /, $push_conf;
psql("UPDATE sandbox.wechat_apps SET push_path = '$ppath', push_token = '$ptoken', push_aeskey = '$pkey' "
     . "WHERE appid = 'wx5a1dbe0d3e5b0001'");
my $b8 = bill();
(undef, $j) = start($b8);
my $o8 = $j->{orderId} // '';
my $pushes = psql("SELECT pushes FROM sandbox.wechat_apps WHERE appid = 'wx5a1dbe0d3e5b0001'");
authorize($j->{authUrl} // '', 'oSBXpatient0000000000000048');
ok t_cmp(psql("SELECT pushes FROM sandbox.wechat_apps WHERE appid = 'wx5a1dbe0d3e5b0001'"), $pushes + 1,
         'WeChat pushed the authorisation (safe mode)');
ok t_cmp(wait_until(20, sub { outbox($o8, 'state') eq 'done' }) ? 1 : 0, 1,
         'the push alone queued the insertion, delivered: the patient never came back to the page');
($r, $j) = insert($b8, $o8);
ok t_cmp($r->code . ' ' . ($j->{state} // '-'), '200 inserted', 'the page coming back later finds it in');
ok t_cmp(psql("SELECT count(*) FROM sandbox.wxcard_inserts WHERE billing_no = '$b8->{code}' AND billing_code = '$b8->{no}'")
         . ' ' . psql("SELECT count(*) FROM hg.outbox WHERE topic = 'invoice.wxcard' AND business_key = 'wxcard:$o8'"),
         '1 1', 'once');
my $b9 = bill();
(undef, $j) = start($b9);
my $o9 = $j->{orderId} // '';
authorize($j->{authUrl} // '', 'oSBXpatient0000000000000049', 'reject');
ok t_cmp(psql("SELECT pushes FROM sandbox.wechat_apps WHERE appid = 'wx5a1dbe0d3e5b0001'"), $pushes + 2,
         'declined: WeChat pushes that too (FailOrderId)');
ok t_cmp(outbox($o9, 'count(*)'), 0, 'and nothing is queued');
psql("UPDATE sandbox.wechat_apps SET push_path = NULL WHERE appid = 'wx5a1dbe0d3e5b0001'");

# ---- WeChat refuses the insertion for good: a dead letter; the page may try again
my $b2 = bill();
(undef, $j) = start($b2);
my $o2 = $j->{orderId} // '';
authorize($j->{authUrl} // '', 'oSBXreject00000000000000001');
($r, $j) = insert($b2, $o2);
ok t_cmp($r->code, 202, 'authorised by a refused openid: queued');
ok t_cmp(wait_until(20, sub { outbox($o2, 'state') eq 'dead' }) ? 1 : 0, 1, '40003 dead-letters it at once');
ok t_cmp(outbox($o2, 'attempts') . ' ' . outbox($o2, 'last_error'), qr/^1 .*40003/, 'after one attempt, saying why');
($r, $j) = insert($b2, $o2);
ok t_cmp($j->{state} // '-', 'failed', 'the page hears it failed');
($r, $j) = start($b2);
ok t_cmp(($j->{state} // '-') . ' ' . (($j->{orderId} // $o2) ne $o2 ? 'new order' : 'same order'), 'auth new order',
         'a new tap opens a new order');

# ---- WeChat busy: retried
my $b3 = bill();
(undef, $j) = start($b3);
my $o3 = $j->{orderId} // '';
authorize($j->{authUrl} // '', 'oSBXbusy0000000000000000001');
insert($b3, $o3);
ok t_cmp(wait_until(30, sub { outbox($o3, 'state') eq 'done' }) ? 1 : 0, 1, 'after -1 system error, delivered');
ok t_cmp(outbox($o3, 'attempts'), 2, 'on the second attempt');
ok t_cmp(psql("SELECT insert_attempts FROM sandbox.wxcard_orders WHERE order_id = '$o3'"), 2, 'WeChat saw two inserts');
flush($b3);
ok t_cmp(wait_until(30, sub { cancel_row($o3, 'state') eq 'done' }) ? 1 : 0, 1, 'its cancellation after -1 system error too');
ok t_cmp(cancel_row($o3, 'attempts') . ' ' . card_status($o3), '2 INVOICE_REIMBURSE_CANCEL 2', 'on the second attempt');

# ---- the patient declines on WeChat's page
my $b4 = bill();
(undef, $j) = start($b4);
my $o4 = $j->{orderId} // '';
(undef, $back) = authorize($j->{authUrl} // '', 'oSBXpatient0000000000000043', 'reject');
ok t_cmp($back->code, 302, 'declined: back to the page too');
($r, $j) = insert($b4, $o4);
ok t_cmp(verdict($r, $j), '409 HG_INVOICE_WXCARD_UNAUTHORIZED orderId', 'and nothing is queued');

# ---- bad input, field by field
($r, $j) = start({ no => $b4->{no}, random => $b4->{random} });
ok t_cmp(verdict($r, $j), '400 HG_FIELD_REQUIRED code', 'code missing');
($r, $j) = start($b4, no => 12345);
ok t_cmp(verdict($r, $j), '400 HG_FIELD_TYPE no', 'no not a string');
($r, $j) = start($b4, random => 'ab-cd');
ok t_cmp(verdict($r, $j), '400 HG_FIELD_PATTERN random', 'random with a character it never has');
($r, $j) = start($b4, random => 'zzzzzz');
ok t_cmp(verdict($r, $j), '404 HG_INVOICE_NOT_FOUND random', 'a wrong check code finds no bill');
($r, $j) = start($b4, openid => 'x');
ok t_cmp(verdict($r, $j), '400 HG_FIELD_UNKNOWN openid', 'an unknown field');
($r, $j) = call('/invoice/pub/v1/wxcard', '{"code":');
ok t_cmp(verdict($r, $j), '400 HG_JSON_MALFORMED -', 'not JSON');
($r, $j) = insert($b4, 'NOT-AN-ORDER');
ok t_cmp(verdict($r, $j), '400 HG_FIELD_PATTERN orderId', 'orderId not an order id');
($r, $j) = insert($b4, $order);
ok t_cmp(verdict($r, $j), '404 HG_NOT_FOUND orderId', "another bill's order");

# ---- a flushed bill and its red bill stay out of card packages
my $b5 = bill();
my $red = json_of(signed_request('POST', '/invoice/api/v1/writeOffEBill', { billBatchCode => $b5->{code}, billNo => $b5->{no},
                  reason => '退费', operator => '李四', busDateTime => now17(), placeCode => 'MZ01' }));
($r, $j) = start($b5);
ok t_cmp(verdict($r, $j), '409 HG_INVOICE_WXCARD_STATE -', 'a flushed bill is refused');
($r, $j) = start({ code => $red->{eScarletBillBatchCode} // '', no => $red->{eScarletBillNo} // '',
                   random => $red->{eScarletRandom} // '' });
ok t_cmp(verdict($r, $j), '409 HG_INVOICE_WXCARD_STATE -', 'so is its red bill');
# a bill exchanged for paper is claimed on paper: not in a card package too
my $on_paper = bill();
my $pnext = json_of(signed_request('POST', '/invoice/api/v1/getPaperBillNo', { placeCode => 'MZ01' }));
signed_request('POST', '/invoice/api/v1/turnPaper', { billBatchCode => $on_paper->{code}, billNo => $on_paper->{no},
               busDateTime => now17(), placeCode => 'MZ01', operator => '李四', pBillBatchCode => $pnext->{pBillBatchCode},
               pBillNo => $pnext->{pBillNo} });
($r, $j) = start($on_paper);
ok t_cmp(verdict($r, $j), '409 HG_INVOICE_WXCARD_STATE -', 'a bill exchanged for paper is refused');

# ---- WeChat ends the authorisation tickets early: a refused link, then a new ticket
my $b6 = bill();
POST('/sandbox/wechat/expire-tickets', content => '');
my @got = map { my ($rr, $jj) = start($b6); $rr->code . ' ' . ($jj->{code} // $jj->{state} // '-') } 1 .. 8;
print STDERR "# links after the tickets expired: " . join(', ', @got) . "\n";
ok t_cmp(scalar(grep { !/^(200 auth|502 HG_PLATFORM_REJECTED)$/ } @got), 0, 'a stale ticket is refused as HG_PLATFORM_REJECTED (' . join(', ', @got) . ')');
ok t_cmp(scalar(grep { /^502/ } @got) <= 4 ? 1 : 0, 1, 'at most once per process');
ok t_cmp("$got[-2], $got[-1]", '200 auth, 200 auth', 'then the link comes again, with a fresh ticket');

# ---- a host where the hospital has it off
Apache::TestRequest::module('wxcard_off');
($r, $j) = start($b4);
Apache::TestRequest::module('default');
ok t_cmp(verdict($r, $j), '501 HG_INVOICE_WXCARD_OFF -', 'not configured: 501');
psql("UPDATE sandbox.wechat_apps SET push_path = '$ppath' WHERE appid = 'wx5a1dbe0d3e5b0001'");
