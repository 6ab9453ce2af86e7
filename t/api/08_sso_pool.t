# staff identity from REMOTE_USER (an SSO module in front), and the bounded wait for a DB connection
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time sleep);
use HG qw(json_of wait_until);

plan tests => 8;

my $basic = sub { 'Basic ' . encode_base64("$_[0]:$_[1]", '') };
my $res = GET '/hg/me', Authorization => $basic->('admin', 'sso-pass-admin-1');
ok t_cmp($res->code, 200, 'REMOTE_USER known in hg.staff is a staff session');
ok t_cmp(json_of($res)->{username}, 'admin', 'identity and roles come from hg.staff');
ok t_cmp(length(json_of($res)->{csrf_token} // '') > 20 ? 1 : 0, 1, 'SSO sessions get a CSRF token too');
$res = GET '/hg/me', Authorization => $basic->('outsider', 'sso-pass-outsider-1');
ok t_cmp($res->code . ' ' . json_of($res)->{code}, '401 HG_LOGIN_REQUIRED', 'REMOTE_USER unknown to hisgate is refused');

# Every DB slot busy: the sandbox in slow mode holds its connection while it sleeps.
# HisgateDBSlots 4 × 2 processes; 24 slow calls occupy them all for 6 s, however they are spread.
POST '/sandbox/control', 'Content-Type' => 'application/json', content => '{"platform":"fiscal","mode":"slow","slow_ms":6000}';
my @kids;
for (1 .. 24) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) { POST '/sandbox/fiscal/getEBillStatesByBillInfo', content => '{}'; exit 0; }
    push @kids, $pid;
}
sleep 1.5;   # every slow call holds its slot for 6 s from when it arrives; on a loaded machine the
             # 24 arrive late, so probe until one is refused (each probe waits at most 1.5 s)
my ($busy, $worst) = (0, 0);
for (1 .. 4) {
    last if $busy;
    my $t0 = time;
    my $r = POST '/hg/login', 'Content-Type' => 'application/json', content => '{"username":"ghost","password":"x"}';
    my $dt = time - $t0;
    $worst = $dt if $dt > $worst;
    $busy++ if $r->code == 503 && (json_of($r)->{code} // '') eq 'HG_DB_BUSY';
}
waitpid($_, 0) for @kids;
POST '/sandbox/control', 'Content-Type' => 'application/json', content => '{"platform":"fiscal","mode":"normal"}';
ok t_cmp($busy >= 1 ? 1 : 0, 1, "pool exhausted: 503 HG_DB_BUSY");
ok t_cmp($worst < 3.0 ? 1 : 0, 1, sprintf('no endless wait: worst %.2f s (HisgateDBWait 1500 ms)', $worst));
ok t_cmp($worst > 1.2 ? 1 : 0, 1, 'but it did wait for a slot first');
ok t_cmp(wait_until(10, sub { GET('/hg/health')->code == 200 }), 1, 'slots come back afterwards');
