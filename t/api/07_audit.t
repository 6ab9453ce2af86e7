# the audit journal: SM4-encrypted bodies, SM3 chain, `hisgate audit verify` before and after tampering
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HG qw(json_of signed_request psql hisgate wait_until staff_login);

plan tests => 27;

# the tampering below needs a few sealed rows, whatever ran before this file
signed_request('POST', '/hg/ping', qq({"n":$_})) for 1 .. 4;
my $marker = 'audit-marker-' . time . '-身份证';
my $res = signed_request('POST', '/hg/ping', qq({"note":"$marker"}));
ok t_cmp($res->code, 200, 'a signed call to journal');
my $rid = $res->header('X-Request-Id');

my $enc = psql("SELECT req_enc FROM hg.audit WHERE request_id = '$rid'");
ok t_cmp($enc, qr/^sm4l:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/, 'request body stored SM4-encrypted');
ok t_cmp(index($enc, 'audit-marker') < 0 ? 1 : 0, 1, 'no plaintext in the row');
ok t_cmp(wait_until(10, sub { psql("SELECT count(*) FROM hg.audit WHERE request_id = '$rid' AND seq IS NOT NULL") == 1 }),
         1, 'the watchdog seals the row into the chain');

my ($rc, $out) = hisgate("audit show --request-id $rid");
ok t_cmp($rc, 0, 'audit show runs');
utf8::decode($out);
my $m = $marker; utf8::decode($m);
ok t_cmp(index($out, $m) >= 0 ? 1 : 0, 1, 'audit show decrypts the body');
ok t_cmp($out, qr/test-his in \[POST \/hg\/ping\] 200/, 'audit show lists caller, direction, endpoint, status');

# the console's reading of the journal: decrypted for the role auditor, and journalled itself
my ($lr, $admin) = staff_login('admin', 'Adm1n-Test-Pass#2026');
my $a = json_of(GET("/hg/audit?requestId=$rid", Cookie => $admin));
my ($row) = @{ $a->{rows} // [] };
ok t_cmp(scalar @{ $a->{rows} // [] }, 1, 'GET /hg/audit finds the call by its request id');
ok t_cmp($row && "$row->{caller} $row->{direction} $row->{endpoint} $row->{status}", 'test-his in POST /hg/ping 200',
         'who, which way, what, the answer');
ok t_cmp(index($row->{request} // '', $m) >= 0 ? 1 : 0, 1, 'with the request body decrypted');
ok t_cmp($row->{seq} // '', qr/^\d+$/, 'and its place in the chain');
$a = json_of(GET('/hg/audit?endpoint=/hg/ping&limit=2', Cookie => $admin));
my $older = json_of(GET("/hg/audit?endpoint=/hg/ping&limit=2&beforeId=$a->{nextBeforeId}", Cookie => $admin));
ok t_cmp(scalar(@{ $a->{rows} }) . ' ' . ($older->{rows}[0]{id} < $a->{rows}[1]{id} ? 'older' : 'not older'), '2 older',
         'pages of newest first, the next page older');
my ($login) = @{ json_of(GET('/hg/audit?endpoint=/hg/login&caller=admin&limit=1', Cookie => $admin))->{rows} // [] };
ok t_cmp($login && ($login->{status} . ' ' . (defined $login->{request} ? 'kept' : 'none') . ' '
                    . (defined $login->{response} ? 'kept' : 'none')), '200 none none',
         "a login's row keeps neither the password nor the answer");
my ($cr, $clerk) = staff_login('clerk', 'Cashier-Pass#2026x');
my $f = GET('/hg/audit', Cookie => $clerk);
ok t_cmp($f->code . ' ' . json_of($f)->{code}, '403 HG_FORBIDDEN', 'a cashier may not read the journal');
$f = GET('/hg/audit');
ok t_cmp($f->code, 401, 'nor may anyone not signed in');
for (['limit=0', 'HG_FIELD_RANGE', 'limit'], ['limit=x', 'HG_FIELD_PATTERN', 'limit'], ['who=me', 'HG_FIELD_UNKNOWN', 'who']) {
    my $e = GET("/hg/audit?$_->[0]", Cookie => $admin);
    ok t_cmp($e->code . ' ' . (json_of($e)->{code} // '-') . ' ' . (json_of($e)->{field} // '-'), "400 $_->[1] $_->[2]",
             "bad query $_->[0]");
}
($rc, $out) = hisgate("audit show --endpoint 'GET /hg/audit' --limit 50");
utf8::decode($out);
ok t_cmp(($out =~ /admin in \[GET \/hg\/audit\] 200/ ? 'journalled' : 'not journalled') . ' '
         . (index($out, $m) < 0 ? 'without what it showed' : 'with what it showed'), 'journalled without what it showed',
         'the reading is journalled, without the bodies it showed');

($rc, $out) = hisgate('audit verify');
ok t_cmp($rc, 0, "verify passes on the intact chain: $out");

# verify while rows are being sealed: a journal long enough that verify reads it page by page, and
# a sealer moving the head all the while; the head and the rows must come from one snapshot, or
# rows sealed after verify read the head look like tampering ("head mismatch")
psql("INSERT INTO hg.audit (institution, caller, direction, endpoint, status, elapsed_ms, request_id, req_enc, resp_enc) "
   . "SELECT '44010001', 'bulk', 'in', 'POST /hg/ping', 200, 1, 'bulk-' || g, 'sm4l:' || md5(g::text), "
   . "'sm4l:' || md5((g + 1)::text) FROM generate_series(1, 30000) g");
hisgate('audit seal');
my $sealer = fork();
if (!$sealer) {
    my $until = time + 20;
    while (time < $until) {
        psql("INSERT INTO hg.audit (institution, caller, direction, endpoint, status, elapsed_ms, request_id, req_enc, resp_enc) "
           . "VALUES ('44010001', 'bulk', 'in', 'POST /hg/ping', 200, 1, 'bulk-live', 'sm4l:a', 'sm4l:b')");
        hisgate('audit seal');
    }
    exit 0;
}
my @verdicts = map { (hisgate('audit verify'))[1] =~ /^(intact|TAMPERED: [^\n]*)/m ? $1 : 'no verdict' } 1 .. 3;
kill 'TERM', $sealer;
waitpid $sealer, 0;
ok t_cmp(join(', ', @verdicts), 'intact, intact, intact', 'verify while the journal is being sealed: intact each time');

# change one byte of a sealed row's ciphertext
my ($seq, $orig) = split /\|/, psql("SELECT seq, resp_enc FROM hg.audit WHERE seq IS NOT NULL ORDER BY seq LIMIT 1 OFFSET 2");
my $tampered = $orig; substr($tampered, -1, 1) = substr($tampered, -1, 1) eq '0' ? '1' : '0';
psql("UPDATE hg.audit SET resp_enc = '$tampered' WHERE seq = $seq");
($rc, $out) = hisgate('audit verify');
ok t_cmp($rc, 1, 'verify exits non-zero after tampering');
ok t_cmp($out, qr/hash mismatch at chain position $seq\b/, 'and names the first tampered row');
psql("UPDATE hg.audit SET resp_enc = '$orig' WHERE seq = $seq");
($rc, $out) = hisgate('audit verify');
ok t_cmp($rc, 0, 'restored row verifies again');

# remove a row: the chain has a hole
my $victim = $seq + 1;
psql("DELETE FROM hg.audit WHERE seq = $victim");
($rc, $out) = hisgate('audit verify');
ok t_cmp($rc, 1, 'verify exits non-zero after a deletion');
ok t_cmp($out, qr/missing row: chain position $victim is absent/, 'and names the missing position');
ok t_cmp($out, qr/^TAMPERED/m, 'verdict line says TAMPERED');
