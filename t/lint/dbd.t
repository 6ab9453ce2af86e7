#!/usr/bin/perl
# The database pool of the configurations we ship and run: requests take at most HisgateDBSlots of
# a process's mod_dbd connections, and the outbox drain (in the process that runs it) takes one
# more from the same pool outside the slots.  With DBDMax = HisgateDBSlots a request holding a slot
# would wait inside mod_dbd, unbounded by HisgateDBWait, for as long as the drain holds its
# connection (an audit sealing batch): DBDMax must be above HisgateDBSlots.
use strict;
use warnings;
use FindBin;

my $top = "$FindBin::Bin/../..";
my @configs = (["$top/conf/demo.conf"], ["$top/t/conf/extra.conf.in"], ["$top/conf/hisgate.conf"]);
print "1..", scalar @configs, "\n";
my $n = 0;
for my $c (@configs) {
    my ($max, $slots) = (undef, 4);     # mod_hisgate's default
    for my $f (@$c) {
        open my $fh, '<', $f or die "$f: $!";
        while (<$fh>) {
            s/^\s*#\s*(?=(DBDMax|HisgateDBSlots)\s)//;   # the examples count
            next if /^\s*#/;
            $max = $1 if /^\s*DBDMax\s+(\d+)/;
            $slots = $1 if /^\s*HisgateDBSlots\s+(\d+)/;
        }
        close $fh;
    }
    (my $name = $c->[0]) =~ s{^\Q$top\E/}{};
    $n++;
    print defined $max && $max > $slots ? "ok $n - $name: DBDMax $max above HisgateDBSlots $slots\n"
        : "not ok $n - $name: DBDMax " . ($max // 'unset') . " must be above HisgateDBSlots $slots (the drain's connection)\n";
}
