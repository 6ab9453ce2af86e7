package HG;
# Helpers for the hisgate Apache::Test suite: signed HIS requests, JSON, the database and the CLI.
use strict;
use warnings;
use Exporter 'import';
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64);
use JSON::PP ();
use Apache::Test ();
use Apache::TestRequest ();

our @EXPORT_OK = qw(sign_header signed_request json_of psql hisgate cli_env staff_login
                    wait_until nonce log_window hold_advisory_lock release_advisory_lock);

our $APP_ID = 'test-his';
our $SECRET = 'test-secret-0123456789abcdef';
my $json = JSON::PP->new->utf8->canonical;

sub top { $ENV{HG_TOP} // '.' }

sub nonce { join '', map { ('a'..'z', 0..9)[rand 36] } 1 .. 24 }

# Authorization header value for a request; alg HG1-HMAC-SHA256 is computed here, HG1-HMAC-SM3
# (perl has no SM3) by our own `hisgate sign`, which the unit tests check against openssl.
sub sign_header {
    my (%a) = @_;
    my $alg    = $a{alg} // 'HG1-HMAC-SHA256';
    my $app    = $a{app_id} // $APP_ID;
    my $secret = $a{secret} // $SECRET;
    my $ts     = $a{timestamp} // time;
    my $nonce  = $a{nonce} // nonce();
    my $body   = $a{body} // '';
    if ($alg eq 'HG1-HMAC-SHA256') {
        my $sts = join("\n", $a{method}, $a{target}, $ts, $nonce, $body) . "\n";
        my $sig = encode_base64(hmac_sha256($sts, $secret), '');
        return qq{$alg app_id="$app",timestamp="$ts",nonce="$nonce",signature="$sig"};
    }
    my $f = top() . "/t/state/body.$$";
    open my $fh, '>:raw', $f or die $!;
    print $fh $body;
    close $fh;
    my $h = `'@{[top()]}/tools/hisgate' sign --alg $alg --app-id '$app' --secret '$secret' --method $a{method} --target '$a{target}' --timestamp $ts --nonce $nonce --body-file '$f'`;
    unlink $f;
    chomp $h;
    return $h;
}

# signed_request(METHOD, target, body, %opts) → HTTP::Response
sub signed_request {
    my ($method, $target, $body, %o) = @_;
    $body //= '';
    $body = $json->encode($body) if ref $body;
    my $auth = sign_header(method => $method, target => $target, body => $body, %o);
    my @h = (Authorization => $auth, 'Content-Type' => $o{content_type} // 'application/json');
    return $method eq 'GET'
        ? Apache::TestRequest::GET($target, @h)
        : Apache::TestRequest::POST($target, @h, content => $body);
}

sub json_of {
    my ($res) = @_;
    my $d = eval { $json->decode($res->content) };
    return $d // {};
}

sub cli_env {
    return "HG_DSN='host=127.0.0.1 port=$ENV{HG_PGPORT} dbname=hisgate user=hisgate' HG_KEYS='$ENV{HG_KEYS}'";
}

# psql(SQL) → trimmed output (tuples only, unaligned); in Beijing time, as httpd's sessions
# (DBDInitSQL "SET TimeZone = 'Asia/Shanghai'"), whatever the test cluster's TimeZone
sub psql {
    my ($sql) = @_;
    local $ENV{PGTZ} = 'Asia/Shanghai';
    my $bin = (sort glob('/usr/lib/postgresql/*/bin'))[-1];
    open my $ph, '-|', "$bin/psql", '-h', '127.0.0.1', '-p', $ENV{HG_PGPORT}, '-U', 'hisgate',
        '-d', 'hisgate', '-qtAX', '-v', 'ON_ERROR_STOP=1', '-c', $sql or die $!;
    local $/;
    my $out = <$ph> // '';
    close $ph;
    $out =~ s/\s+\z//;
    return $out;
}

# hold_advisory_lock(name) → pid: another session holds pg_advisory_lock(hashtext(name)) (a job
# running elsewhere, e.g. another node's cron) until release_advisory_lock(pid)
sub hold_advisory_lock {
    my ($name) = @_;
    my $bin = (sort glob('/usr/lib/postgresql/*/bin'))[-1];
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        exec "$bin/psql", '-h', '127.0.0.1', '-p', $ENV{HG_PGPORT}, '-U', 'hisgate', '-d', 'hisgate', '-qtAX', '-c',
            "SELECT pg_advisory_lock(hashtext('$name')), pg_sleep(30)";
    }
    wait_until(10, sub { psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") > 0 });
    return $pid;
}

sub release_advisory_lock {
    my ($pid) = @_;
    kill 'TERM', $pid;
    waitpid $pid, 0;
    psql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()");
    wait_until(10, sub { psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0 });
}

# hisgate(args) → (exit code, output)
sub hisgate {
    my ($args) = @_;
    my $out = `@{[cli_env()]} '@{[top()]}/tools/hisgate' $args 2>&1`;
    return ($? >> 8, $out);
}

# staff_login(user, password) → (response, cookie header, csrf token)
sub staff_login {
    my ($user, $pw) = @_;
    my $res = Apache::TestRequest::POST('/hg/login', 'Content-Type' => 'application/json',
        content => $json->encode({ username => $user, password => $pw }));
    my ($cookie) = ($res->header('Set-Cookie') // '') =~ /^(hg_session=[^;]*)/;
    return ($res, $cookie, json_of($res)->{csrf_token});
}

# poll until the sub returns true (bounded), returns its last value
sub wait_until {
    my ($secs, $sub) = @_;
    my $deadline = time + $secs;
    my $v;
    while (1) {
        $v = $sub->();
        return $v if $v || time > $deadline;
        select(undef, undef, undef, 0.2);
    }
}

# mark a window of the error log where a test provokes errors on purpose (t/conf/expected-errors)
sub log_window {
    my ($what, $name) = @_;
    my $log = Apache::Test::config()->{vars}{t_logs} . '/error_log';
    open my $fh, '>>', $log or die "cannot append to $log: $!";
    print $fh "HGTEST-$what $name\n";
    close $fh;
}

1;
