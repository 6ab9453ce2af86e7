# mod_invoice's patient bill page in a real browser: Debian's Chromium driven by playwright-core
# (t/browser/bill_page.mjs) on a phone viewport (390×844 CSS px, DPR 2, WeChat user agent).
# This file issues a bill through the signed HIS API, lets the browser open the H5 link the HIS got,
# and asserts on what the browser saw.  Then the same link with a wrong check code must show the
# friendly not-found state.
#
# Screenshots: t/logs/screenshots/bill.png, bill_mail.png, bill_wxcard.png and bill_notfound.png.  make test runs in a temporary
# copy of the tree that is deleted afterwards, so to keep them set HG_SCREENSHOT_DIR, e.g.
#   HG_SCREENSHOT_DIR=/tmp/hisgate-screens HG_TESTS=t/browser make test
# and they are copied there too (the directory is created if missing; it must be writable by the
# test user, hgtest, when make test runs as root).
#
# Needs /usr/bin/chromium, node >= 20 and node_modules/playwright-core (make deps installs them).
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest ();
use Apache::TestUtil qw(t_cmp);
use File::Copy qw(copy);
use File::Path qw(make_path);
use Time::HiRes qw(time);
use HG qw(json_of signed_request psql wait_until);
use HGBrowser qw(run_script png_width diag_file);
use HGInvoice qw(outpatient);

plan tests => 53;

my $t0    = time;
my $top   = $ENV{HG_TOP} // '.';
my $vars  = Apache::Test::config()->{vars};
my $shots = "$vars->{t_logs}/screenshots";
my $base  = 'http://' . Apache::TestRequest::hostport();
my $title = '广东省医疗门诊收费票据（电子）';
my @items = qw(西药费 检查费 治疗费 化验费 挂号费);
my @amts  = ('¥45.60', '¥38.00', '¥20.00', '¥14.85', '¥5.00');

# ---- a bill, issued as the HIS does (payer 张三丰, 123.45 in five charge lines)
my $r = signed_request('POST', '/invoice/api/v1/invoiceEBillOutpatient', outpatient());
my $j = json_of($r);
ok t_cmp($r->code, 200, 'a bill is issued through the signed HIS API');
my ($hash) = ($j->{pictureNetUrl} // '') =~ m{/invoice/bill\.html#(code=[0-9A-Za-z]+&no=[0-9]+&r=[0-9A-Za-z]+)$};
ok t_cmp($hash // '', "code=44010126&no=$j->{billNo}&r=$j->{random}", 'its H5 link names the bill in the fragment');
$hash //= "code=44010126&no=" . ($j->{billNo} // '') . "&r=" . ($j->{random} // '');

# ---- the browser (bounded: bill_page.mjs gives up after 40 s, this after 55 s)
my $errf = "$vars->{t_logs}/browser-bill_page.stderr";
my ($o, $exit) = run_script(55, $errf, undef, 'node', "$top/t/browser/bill_page.mjs", $base, $hash, $shots);
ok t_cmp("exit=$exit ok=" . ($o->{ok} ? 1 : 0), 'exit=0 ok=1',
         'the browser script ran to the end (Chromium ' . ($o->{browser_version} // '?') . ', ' . ($o->{elapsed_ms} // '?') . ' ms)')
    or diag_file($errf, $o->{error});
my $pg = $o->{bill}     // {};   # the bill page
my $nf = $o->{notfound} // {};
my $f  = $pg->{fields}  // {};

# ---- the bill as the patient sees it
ok t_cmp($pg->{status} // 0, 200, 'bill.html answers 200');
ok t_cmp($pg->{document_title} // '', $title, 'document title');
ok t_cmp(shown($pg->{heading}), "$title|visible", 'heading');
ok t_cmp(shown($pg->{hospital}), '广州市演示人民医院|visible', 'hospital name');
ok t_cmp(shown($f->{'票据代码'}), '44010126|visible', '票据代码');
ok t_cmp(shown($f->{'票据号码'}), ($j->{billNo} // '?') . '|visible', '票据号码: the issued number');
ok t_cmp(shown($f->{'校验码'}), ($j->{random} // '?') . '|visible', '校验码: the issued check code');
ok t_cmp(shown($f->{'交款人'}), '张*丰|visible', 'payer masked');
ok t_cmp(shown($f->{'开票日期'}), qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\|visible$/, '开票日期 as a date and time');
ok t_cmp(absent('张三丰', $pg->{body_text}), 'absent', "the payer's full name is not in the page text");
ok t_cmp(absent('张三丰', $pg->{html}), 'absent', 'nor in the DOM');
ok t_cmp(absent('张三丰', $pg->{bill_json}) . ' ' . (defined $pg->{bill_json} ? 'seen' : 'unseen'), 'absent seen',
         'nor in the JSON the page received');
ok t_cmp(absent('440101199001011234', ($pg->{body_text} // '') . ($pg->{html} // '') . ($pg->{bill_json} // '')),
         'absent', 'the ID card number appears nowhere');
ok t_cmp(shown($pg->{amount}), '¥123.45|visible', 'amount ¥123.45');
ok t_cmp(shown($pg->{capital}), '壹佰贰拾叁元肆角伍分|visible', 'amount in capitals');
my $rows = ($pg->{lists} // {})->{'收费项目'} // [];
ok t_cmp(join(' ', map { $_->{name} // '' } @$rows), join(' ', @items), 'the five charge items, in order');
ok t_cmp(join(' ', map { $_->{amt} // '' } @$rows), join(' ', @amts), 'with their amounts');
ok t_cmp(scalar(grep { $_->{visible} } @$rows), 5, 'all five visible within the width');
ok t_cmp(join(' ', map { $_->{name} // '' } @{ ($pg->{lists} // {})->{'支付方式'} // [] }), qr/\S/, 'payment channels listed');

# ---- the PDF download
my $pdf = $pg->{pdf_link} // {};
ok t_cmp(($pdf->{text} // '') . '|' . ($pdf->{visible} ? 'visible' : 'hidden'), '下载PDF|visible', '下载PDF link');
ok t_cmp($pdf->{href} // '', qr{^/invoice/pub/v1/pdf/44010126/\d{10}\?}, 'its href is a same-origin signed PDF link');
my $pf = $pg->{pdf_fetch} // {};
ok t_cmp(($pf->{status} // $pf->{error} // '-') . ' ' . ($pf->{content_type} // '-'), qr{^200 application/pdf},
         'fetched in the page: 200 application/pdf');
ok t_cmp($pf->{magic} // '', '%PDF-', 'and the body is a PDF');
ok t_cmp(shown($pg->{wechat_hint}), qr/^在微信中如无法下载.*\|visible$/, 'inside WeChat the page explains how to download');

# ---- layout and health
ok t_cmp(($pg->{scroll_width} // 9999) <= 390 ? 1 : 0, 1,
         'no horizontal scrollbar at 390 px (scrollWidth ' . ($pg->{scroll_width} // '?') . ')');
ok t_cmp(join(' | ', @{ $pg->{console_errors} // ['(not run)'] }, @{ $pg->{page_errors} // [] }), '', 'no console errors, no uncaught exceptions');
ok t_cmp(join(' | ', @{ $pg->{bad_responses} // ['(not run)'] }, @{ $pg->{failed_requests} // [] }), '', 'no failed requests');
ok t_cmp(png_width("$shots/bill.png"), 780, 'screenshot bill.png, 780 px wide (DPR 2)');

# ---- a wrong check code: the friendly not-found state, nothing of the bill
ok t_cmp($nf->{status} // 0, 200, 'wrong check code: bill.html answers 200');
ok t_cmp(shown($nf->{msg_title}), '未找到票据|visible', 'it says 未找到票据');
ok t_cmp(shown($nf->{msg_desc}), qr/^请核对链接或二维码是否完整.*\|visible$/, 'and what to do');
ok t_cmp(($nf->{has_card} ? 'card' : 'no card') . ' ' . absent($j->{billNo} // '?', $nf->{body_text}) . ' ' .
         absent('张', $nf->{body_text}), 'no card absent absent', 'and shows nothing of the bill');
ok t_cmp($nf->{msg_button}{text} // 'none', 'none', 'no retry button: trying again cannot help');
ok t_cmp(($nf->{scroll_width} // 9999) <= 390 ? 1 : 0, 1, 'no horizontal scrollbar (scrollWidth ' . ($nf->{scroll_width} // '?') . ')');
# the API's 404 is the only complaint: Chromium logs a failed resource as a console error
my @nf_err = grep { !/status of 404/ } @{ $nf->{console_errors} // ['(not run)'] };
ok t_cmp(join(' | ', @nf_err, @{ $nf->{page_errors} // [] }), '', 'no console errors but the expected 404');
ok t_cmp(join(' | ', @{ $nf->{bad_responses} // ['(not run)'] }), '404 /invoice/pub/v1/bill', 'the only error answer is the bill look-up');
ok t_cmp(png_width("$shots/bill_notfound.png"), 780, 'screenshot bill_notfound.png');

# ---- 发送到邮箱 from the page
my $mail = $pg->{mail} // {};
ok t_cmp($mail->{warned_on_typo} ? 1 : 0, 1, 'a mistyped address is marked on the page, not sent');
ok t_cmp($mail->{status} // '', qr/^已提交发送至 p\*\*\*\@example\.com/, 'the page says where it went, the address masked');
my $to = $mail->{to} // 'none@example.com';
ok t_cmp(wait_until(20, sub { psql("SELECT count(*) FROM sandbox.mails WHERE rcpt_to = '$to'") }) ? 1 : 0, 1,
         "the sandbox's mail server got the bill");
ok t_cmp(png_width("$shots/bill_mail.png"), 780, 'screenshot bill_mail.png');

# ---- 存入微信卡包 from the page, inside WeChat, and outside it
my $wx = $pg->{wxcard} // {};
ok t_cmp(($wx->{button}{text} // '') . '|' . ($wx->{button}{visible} ? 'visible' : 'hidden'), '存入微信卡包|visible',
         'a 存入微信卡包 button within the width');
ok t_cmp(($wx->{auth_page}{path} // '') . ' ' . (($wx->{auth_page}{text} // '') =~ /123\.45/ ? 'amount' : 'no amount'),
         '/sandbox/wechat/invoice/auth amount', "the tap opens WeChat's (the sandbox's) authorisation page, with the amount");
ok t_cmp($wx->{back_url} // '', qr{/invoice/bill\.html\?wxcard=[0-9a-z]{32}#\Q$hash\E$}, '授权 comes back to the bill page with the order');
ok t_cmp($wx->{status} // '', qr/^已存入微信卡包/, 'the page says the bill is in the card package');
ok t_cmp($wx->{url_after} // '', qr{/invoice/bill\.html#\Q$hash\E$}, 'and drops the order from its address (a reload asks nothing again)');
ok t_cmp(psql("SELECT openid FROM sandbox.wxcard_inserts WHERE billing_no = '44010126' AND billing_code = '" . ($j->{billNo} // '?') . "'"),
         'oSBXpatient0000000000000001', "the sandbox's WeChat got the bill for the patient who tapped 授权");
ok t_cmp(png_width("$shots/bill_wxcard.png") . ' ' . (($wx->{scroll_width} // 9999) <= 390 ? 'fits' : 'too wide'), '780 fits',
         'screenshot bill_wxcard.png, no horizontal scrollbar');
my $plain = $o->{plain_browser} // {};
ok t_cmp(($plain->{status} // '') . ' ' . ($plain->{asked_server} ? 'asked' : 'not asked'), qr/^请在微信中打开本页面.* not asked$/,
         'outside WeChat the button says to open the page in WeChat, and asks the server nothing');

my $secs = time - $t0;
ok t_cmp($secs < 45 ? 1 : 0, 1, sprintf('the whole test took %.1f s (< 45 s)', $secs));

# keep the screenshots beyond the temporary copy of the tree
if (my $keep = $ENV{HG_SCREENSHOT_DIR}) {
    make_path($keep) unless -d $keep;
    for my $png (qw(bill.png bill_mail.png bill_wxcard.png bill_notfound.png)) {
        next unless -f "$shots/$png";
        copy("$shots/$png", "$keep/$png") or print STDERR "# cannot copy $png to $keep: $!\n";
    }
    print STDERR "# screenshots copied to $keep\n" if -f "$keep/bill.png";
}

# "text|visible" or "text|hidden" of an observed element
sub shown {
    my ($e) = @_;
    return '(missing)' unless ref $e && defined $e->{text};
    return $e->{text} . '|' . ($e->{visible} ? 'visible' : 'hidden');
}

sub absent {
    my ($needle, $hay) = @_;
    return 'unseen' unless defined $hay;
    return index($hay, $needle) < 0 ? 'absent' : 'present';
}

