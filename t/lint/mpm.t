#!/usr/bin/perl
# The event MPM settings of the configurations we ship and run: httpd caps ThreadsPerChild at
# ThreadLimit (64 unless set, before it) and says so only on stderr at start, after which it starts
# more processes than planned under load.  And the workers planned must fit the processes allowed.
use strict;
use warnings;
use FindBin;

my $top = "$FindBin::Bin/../..";
my @files = ("$top/conf/demo.conf", "$top/t/conf/httpd.conf.in", "$top/conf/hisgate.conf");
print "1..", 2 * @files, "\n";
my $n = 0;
for my $f (@files) {
    open my $fh, '<', $f or die "$f: $!";
    my ($limit, $tpc, $mrw, $sl, @why) = (64);
    while (<$fh>) {
        s/^\s*#\s*(?=(ThreadLimit|ThreadsPerChild|MaxRequestWorkers|ServerLimit)\s)//;   # examples count
        next if /^\s*#/;
        $limit = $1 if /^\s*ThreadLimit\s+(\d+)/;
        if (/^\s*ThreadsPerChild\s+(\d+)/) {
            $tpc = $1;
            push @why, "line $.: ThreadsPerChild $tpc above ThreadLimit $limit (set before it)" if $tpc > $limit;
        }
        $mrw = $1 if /^\s*MaxRequestWorkers\s+(\d+)/;
        $sl = $1 if /^\s*ServerLimit\s+(\d+)/;
    }
    close $fh;
    (my $name = $f) =~ s{^\Q$top\E/}{};
    $n++;
    print @why ? "not ok $n - $name: @why\n" : "ok $n - $name: ThreadsPerChild within ThreadLimit\n";
    $n++;
    my $fits = !$tpc || !$mrw || !$sl || $mrw <= $sl * ($tpc < $limit ? $tpc : $limit);
    print $fits ? "ok $n - $name: MaxRequestWorkers fits in ServerLimit processes\n"
                : "not ok $n - $name: MaxRequestWorkers $mrw > ServerLimit $sl x ThreadsPerChild $tpc\n";
}
