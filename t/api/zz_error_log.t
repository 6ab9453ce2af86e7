# The suite fails on an unexpected [error] (or worse) line in the test server's error log.
# Lines the tests provoke on purpose are listed, with the reason, in t/conf/expected-errors.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil qw(t_cmp);

plan tests => 2;

my $vars = Apache::Test::vars();
my $log = "$vars->{t_logs}/error_log";
open my $fh, '<', $log or die "cannot read $log: $!";
my @lines = grep { /\[(?:[a-z_]+:)?(?:error|crit|alert|emerg)\]/ } <$fh>;
close $fh;

open my $ex, '<', "$vars->{top_dir}/t/conf/expected-errors" or die $!;
my @allowed = map { chomp; qr/$_/ } grep { /\S/ && !/^#/ } <$ex>;
close $ex;

my @unexpected = grep { my $l = $_; !grep { $l =~ $_ } @allowed } @lines;
diag("unexpected: $_") for @unexpected[0 .. ($#unexpected < 9 ? $#unexpected : 9)];
ok t_cmp(scalar(@lines) >= 0 ? 1 : 0, 1, 'error log read (' . scalar(@lines) . ' error lines in all)');
ok t_cmp(scalar(@unexpected), 0, 'no unexpected [error] lines');
