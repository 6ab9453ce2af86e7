# The Official Account's message push (HisgateWeChatPush): WeChat's URL check and its signed,
# encrypted messages, built here independently of hisgate (Digest::SHA for the signatures, the
# openssl command for AES-256-CBC), refused field by field when anything does not hold.
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Digest::SHA qw(sha1_hex);
use MIME::Base64 qw(encode_base64 decode_base64);
use File::Temp qw(tempfile);
use HG qw(json_of psql);

plan tests => 17;

my $TOKEN = 'hisgateSandboxPush2026';
my $AESKEY = 'c2FuZGJveFB1c2hLZXlGb3JIaXNnYXRlMjAyNkFFUzI';
my $APPID = 'wx5a1dbe0d3e5b0001';

sub sig { sha1_hex(join '', sort @_) }
sub verdict {
    my ($r) = @_;
    my $j = eval { json_of($r) } // {};
    join ' ', $r->code, $j->{code} // '-', $j->{field} // '-';
}
# WeChat's safe-mode text: AES-256-CBC(random 16 | length, 4 bytes big-endian | message | appid),
# PKCS#7 to 32 bytes, key = the decoded EncodingAESKey, IV its first 16 bytes
sub encrypt {
    my ($msg, $appid, $key43) = @_;
    my $key = decode_base64(($key43 // $AESKEY) . '=');
    utf8::encode(my $bytes = $msg);
    my $plain = join '', map { chr int rand 256 } 1 .. 16;
    $plain .= pack('N', length $bytes) . $bytes . $appid;
    my $pad = 32 - length($plain) % 32;
    $plain .= chr($pad) x $pad;
    my ($fh, $file) = tempfile(UNLINK => 1);
    binmode $fh;
    print $fh $plain;
    close $fh;
    my $ct = `openssl enc -aes-256-cbc -nopad -K @{[unpack 'H*', $key]} -iv @{[unpack 'H*', substr $key, 0, 16]} -in $file`;
    return encode_base64($ct, '');
}
sub event_xml {
    my (%f) = @_;
    '<xml><ToUserName><![CDATA[gh_sandbox0001]]></ToUserName><FromUserName><![CDATA[oSBXpatient0000000000000099]]></FromUserName>'
      . '<CreateTime>' . time . '</CreateTime><MsgType><![CDATA[event]]></MsgType>'
      . join('', map { "<$_><![CDATA[$f{$_}]]></$_>" } sort keys %f) . '</xml>';
}
# POST a safe-mode push; %o: ts, sig (override), msig (override), body (override), encrypt (override)
sub push_safe {
    my ($inner, %o) = @_;
    my $ts = $o{ts} // time;
    my $nonce = int rand 1e9;
    my $enc = $o{encrypt} // encrypt($inner, $o{appid} // $APPID);
    my $msig = $o{msig} // sig($TOKEN, $ts, $nonce, $enc);
    my $q = "signature=" . sig($TOKEN, $ts, $nonce) . "&timestamp=$ts&nonce=$nonce&openid=oSBXpatient0000000000000099"
          . "&encrypt_type=aes&msg_signature=$msig";
    return POST("/hg/wechat/push?$q", 'Content-Type' => 'text/xml',
                content => $o{body} // "<xml><ToUserName><![CDATA[gh_sandbox0001]]></ToUserName><Encrypt><![CDATA[$enc]]></Encrypt></xml>");
}

# ---- the URL check
my $ts = time;
my $r = GET("/hg/wechat/push?signature=" . sig($TOKEN, $ts, '12345') . "&timestamp=$ts&nonce=12345&echostr=6093717382718");
ok t_cmp($r->code . ' ' . $r->content, '200 6093717382718', 'the URL check answers echostr');
$r = GET("/hg/wechat/push?signature=" . uc(sig($TOKEN, $ts, '12345')) . "&timestamp=$ts&nonce=12345&echostr=1");
ok t_cmp($r->code, 200, 'the signature in capitals too');
$r = GET("/hg/wechat/push?signature=" . sig('otherToken', $ts, '12345') . "&timestamp=$ts&nonce=12345&echostr=1");
ok t_cmp(verdict($r), '401 HG_AUTH_BAD_SIGNATURE signature', 'another Token: refused');
$r = GET("/hg/wechat/push?timestamp=$ts&nonce=12345&echostr=1");
ok t_cmp(verdict($r), '401 HG_AUTH_MISSING signature', 'no signature: refused');
my $old = $ts - 3600;
$r = GET("/hg/wechat/push?signature=" . sig($TOKEN, $old, '12345') . "&timestamp=$old&nonce=12345&echostr=1");
ok t_cmp(verdict($r), '401 HG_AUTH_STALE_TIMESTAMP timestamp', 'an hour old: refused');

# ---- messages in safe mode
$r = push_safe(event_xml(Event => 'subscribe'));
ok t_cmp($r->code . ' ' . $r->content, '200 success', 'an event nobody handles: success');
$r = push_safe(event_xml(Event => 'user_authorize_invoice', SuccOrderId => 'notours0000000000000000000000000',
                         FailOrderId => '', AuthorizeAppId => $APPID, Source => 'web'));
ok t_cmp($r->code . ' ' . $r->content, '200 success', "an authorisation of an order that is not this hospital's: success");
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE business_key = 'wxcard:notours0000000000000000000000000'"), 0,
         'and nothing queued');
my $log = do { local (@ARGV, $/) = (Apache::Test::vars('t_logs') . '/error_log'); <> // '' };
ok t_cmp($log =~ /HG10014: WeChat card package: order notours0+ authorised: not an order of this hospital/ ? 1 : 0, 1,
         'the log says why');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE endpoint LIKE 'POST /hg/wechat/push%' AND status = 200"), qr/^[1-9]/,
         'pushes are journalled');

my $ts2 = time;
my $plain_q = "signature=" . sig($TOKEN, $ts2, '777') . "&timestamp=$ts2&nonce=777";
$r = POST("/hg/wechat/push?$plain_q", 'Content-Type' => 'text/xml', content => event_xml(Event => 'subscribe'));
ok t_cmp(verdict($r), '401 HG_AUTH_MALFORMED encrypt_type', 'a plain push to an account in safe mode: refused');
my $enc = encrypt(event_xml(Event => 'subscribe'), $APPID);
$r = push_safe('', encrypt => $enc, msig => sig($TOKEN, 1, 2, $enc));
ok t_cmp(verdict($r), '401 HG_AUTH_BAD_SIGNATURE msg_signature', 'msg_signature not over this Encrypt: refused');
$r = push_safe('', encrypt => encrypt(event_xml(Event => 'subscribe'), $APPID, 'b3RoZXJLZXlPZlNvbWVvbmVFbHNlMDEyMzQ1Njc4OTA'));
ok t_cmp(verdict($r), '401 HG_AUTH_BAD_SIGNATURE Encrypt', 'signed, but not decrypting with the key: refused');
$r = push_safe(event_xml(Event => 'subscribe'), appid => 'wx0000000000000000');
ok t_cmp(verdict($r), '401 HG_AUTH_UNKNOWN_APP Encrypt', "a message for another account: refused");
$r = push_safe('', body => 'not xml at all');
ok t_cmp(verdict($r), '400 HG_XML_MALFORMED Encrypt', 'a body that is not XML');
$r = push_safe('{"json":"instead"}');
ok t_cmp(verdict($r), '400 HG_XML_MALFORMED -', 'a message inside that is not XML');
$r = push_safe(event_xml(Event => 'subscribe'), ts => time - 3600);
ok t_cmp(verdict($r), '401 HG_AUTH_STALE_TIMESTAMP timestamp', 'an old push: refused');
