# the WeChat access token: fetched once and shared by every child, refreshed when WeChat refuses it,
# a wrong appsecret holds notices back (never lost, never logged) until it is put right
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request psql wait_until);
use HGInvoice qw(outpatient);

plan tests => 13;

my $api = '/invoice/api/v1';
my $secret = 'sandbox-wechat-appsecret-0001';
sub issued_tokens { psql("SELECT count(*) FROM sandbox.wechat_tokens") }
sub wx_bill {
    my ($openid) = @_;
    my $b = outpatient(); $b->{openID} = $openid; $b->{weChatOrderNo} = 'WX' . time . int(rand 1e6);
    my $r = signed_request('POST', "$api/invoiceEBillOutpatient", $b);
    return ($r, json_of($r));
}
sub delivered {
    my ($openid, $secs) = @_;
    return wait_until($secs // 15, sub {
        my $m = json_of(GET "/sandbox/messages?to=$openid");
        (grep { ($_->{channel} // '') eq 'wechat' } @{ $m->{messages} // [] })[0] });
}

my $run = sprintf '%06d', $$ % 1000000;
my $t0 = issued_tokens();
my @ids = map { "oWXtoken$run" . "000$_" } 1 .. 4;
my $ok = 0;
for my $id (@ids) { my ($r) = wx_bill($id); $ok++ if $r->code == 200 }
ok t_cmp($ok, 4, 'four bills paid in WeChat issued');
ok t_cmp(scalar(grep { delivered($_) } @ids), 4, 'each patient got the template message (the sandbox checks the token)');
ok t_cmp(issued_tokens() - $t0 <= 1 ? 1 : 0, 1, 'at most one token fetched for them (cached and shared)');

# someone else fetched a newer token / it expired: WeChat answers 42001, hisgate fetches once more
my $e = json_of(POST '/sandbox/wechat/expire-tokens');
ok t_cmp(($e->{expired} // 0) >= 1 ? 1 : 0, 1, 'the sandbox expired the tokens it handed out');
my $t1 = issued_tokens();
my ($r) = wx_bill("oWXtoken$run" . '0005');
ok t_cmp($r->code, 200, 'another WeChat bill');
ok t_cmp(delivered("oWXtoken$run" . '0005') ? 1 : 0, 1, 'its message still arrives');
ok t_cmp(issued_tokens() - $t1, 1, 'after exactly one new token');

# the account's appsecret was reset in WeChat's console but not in httpd.conf yet
psql("UPDATE sandbox.wechat_apps SET secret = 'reset-by-the-wechat-admin' WHERE appid = 'wx5a1dbe0d3e5b0001'");
POST '/sandbox/wechat/expire-tokens';
my $j;
($r, $j) = wx_bill("oWXtoken$run" . '0006');
my $bill_id = psql("SELECT id FROM invoice.bills WHERE bill_batch_code = '$j->{billBatchCode}' AND bill_no = '$j->{billNo}'");
my $err = wait_until(15, sub {
    psql("SELECT last_error FROM hg.outbox WHERE topic = 'invoice.notify' AND business_key = 'notify:$bill_id' "
         . "AND attempts >= 1 AND state = 'pending'") });
ok t_cmp($err // '', qr/40125/, 'the notice waits in the outbox with WeChat\'s reason (40125 invalid appsecret)');
ok t_cmp(delivered("oWXtoken$run" . '0006', 1) ? 1 : 0, 0, 'and nothing was sent');
psql("UPDATE sandbox.wechat_apps SET secret = '$secret' WHERE appid = 'wx5a1dbe0d3e5b0001'");
ok t_cmp(delivered("oWXtoken$run" . '0006', 45) ? 1 : 0, 1, 'once the secret is right again the waiting notice goes out by itself');

# the secret and the tokens are nowhere in clear
my $log = Apache::Test::config()->{vars}{t_logs} . '/error_log';
open my $fh, '<', $log or die $!; my $text = do { local $/; <$fh> }; close $fh;
my $tok = psql("SELECT token FROM sandbox.wechat_tokens ORDER BY issued_at DESC LIMIT 1");
ok t_cmp((index($text, $secret) < 0 && index($text, $tok) < 0) ? 1 : 0, 1, 'neither the appsecret nor a token in the error log');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE position('$secret' in coalesce(last_error, '') || coalesce(result::text, '')) > 0 "
              . "OR position('$tok' in coalesce(last_error, '') || coalesce(result::text, '')) > 0"), '0',
         'nor in the outbox (the console shows it)');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE endpoint = 'wechat.token'") >= 1 ? 1 : 0, 1,
         'the token fetches are journalled (under wechat.token, bodies redacted and encrypted)');
