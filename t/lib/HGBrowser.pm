package HGBrowser;
# Helpers of the browser tests (t/browser/*.t): run a playwright-core script under a time bound and
# take the one JSON object it prints, and read what it left behind (screenshots, its stderr).
use strict;
use warnings;
use Exporter 'import';
use JSON::PP ();
use File::Copy ();
use File::Path ();
use Apache::Test ();
use Apache::TestRequest ();

our @EXPORT_OK = qw(run_script png_width diag_file browser_env keep_screenshots);

# browser_env() -> (tree top, screenshot directory (made), base URL of the test server, t/logs)
sub browser_env {
    my $vars = Apache::Test::config()->{vars};
    my $shots = "$vars->{t_logs}/screenshots";
    File::Path::make_path($shots) unless -d $shots;
    return ($ENV{HG_TOP} // '.', $shots, 'http://' . Apache::TestRequest::hostport(), $vars->{t_logs});
}

# keep_screenshots(SHOTS_DIR, names…): copies into HG_SCREENSHOT_DIR when it is set (the test tree
# is removed after make test)
sub keep_screenshots {
    my ($shots, @names) = @_;
    my $keep = $ENV{HG_SCREENSHOT_DIR} or return;
    File::Path::make_path($keep) unless -d $keep;
    File::Copy::copy("$shots/$_", "$keep/$_") or print STDERR "# cannot copy $_ to $keep: $!\n" for @names;
}

# run_script(SECONDS, STDERR_FILE, \%ENV_EXTRA, 'node', script, args…) -> (observations hashref, exit code).
# The script prints one JSON object on stdout; a script that outlives SECONDS is killed ({} then).
sub run_script {
    my ($secs, $errf, $env, @cmd) = @_;
    my ($json, $exit) = ('', -1);
    my $pid = open(my $ph, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>', $errf or die "$errf: $!";
        @ENV{ keys %$env } = values %$env if $env;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $secs;
        local $/;
        $json = <$ph> // '';
        alarm 0;
    };
    if ($@) { kill 'TERM', $pid; $json = ''; }
    close $ph;
    $exit = $? >> 8;
    return (eval { JSON::PP->new->utf8->decode($json) } // {}, $exit);
}

# the width of a PNG from its header, or why there is none
sub png_width {
    my ($f) = @_;
    open my $fh, '<:raw', $f or return "missing $f";
    read $fh, my $head, 24;
    close $fh;
    return 'not a PNG' unless length($head) == 24 && substr($head, 0, 8) eq "\x89PNG\r\n\x1a\n";
    return unpack('N', substr($head, 16, 4));
}

# on a failed run: the script's error and the last 20 lines of its stderr, as TAP comments
sub diag_file {
    my ($file, $err) = @_;
    print STDERR "# $_\n" for split /\n/, ($err // '(no error from the script)');
    if (open my $fh, '<', $file) {
        my @l = <$fh>;
        print STDERR "# stderr: $_" for @l[($#l > 19 ? $#l - 19 : 0) .. $#l];
    }
}

1;
