# The suite fails on an unexpected [error] (or worse) line in the test server's error log.
# Tests that provoke errors on purpose mark a window in the log (HG::log_window) and list what they
# expect in t/conf/expected-errors as "window: regex"; only there are such lines accepted.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil qw(t_cmp);

plan tests => 2;

my $vars = Apache::Test::config()->{vars};
my $log = "$vars->{t_logs}/error_log";
open my $ex, '<', "$vars->{top_dir}/t/conf/expected-errors" or die $!;
my %allowed;
for (<$ex>) {
    next if /^\s*(#|$)/;
    chomp;
    my ($win, $re) = /^(\S+):\s*(.+)$/ or die "bad line in expected-errors: $_";
    push @{ $allowed{$win} }, qr/$re/;
}
close $ex;

open my $fh, '<', $log or die "cannot read $log: $!";
my ($window, $errors, @unexpected) = ('', 0);
while (my $l = <$fh>) {
    if ($l =~ /^HGTEST-(BEGIN|END) (\S+)/) { $window = $1 eq 'BEGIN' ? $2 : ''; next; }
    next unless $l =~ /\[(?:[a-z_]+:)?(?:error|crit|alert|emerg)\]/;
    $errors++;
    push @unexpected, $l unless grep { $l =~ $_ } @{ $allowed{$window} // [] };
}
close $fh;
print STDERR "# unexpected: $_" for @unexpected[0 .. ($#unexpected < 9 ? $#unexpected : 9)];
ok t_cmp(-s $log ? 1 : 0, 1, "error log read ($errors error lines, in windows or not)");
ok t_cmp(scalar(@unexpected), 0, 'no unexpected [error] lines');
