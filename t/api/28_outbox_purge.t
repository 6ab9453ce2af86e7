# retention of delivered events: `hisgate outbox purge` deletes what was delivered before the
# retention, keeps a bill's upload row (the bill reads its state and supervision answer from it)
# with an empty payload, and leaves queued, dead and lately delivered rows alone
use strict;
use warnings FATAL => 'all';
use utf8;
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use HG qw(json_of signed_request psql hisgate wait_until cli_env hold_advisory_lock release_advisory_lock);
use HGInvoice qw(outpatient);

plan tests => 26;

sub call { my $r = signed_request('POST', "/invoice/api/v1/$_[0]", $_[1]); ($r, json_of($r)) }
sub row { psql("SELECT state || '|' || (payload = '{}'::jsonb)::text FROM hg.outbox WHERE id = $_[0]") }

# a bill, uploaded and its patient notified
my ($r, $bill) = call('invoiceEBillOutpatient', outpatient());
my ($c, $n) = @$bill{qw(billBatchCode billNo)};
my $bid = psql("SELECT id FROM invoice.bills WHERE bill_batch_code = '$c' AND bill_no = '$n'");
sub up { psql("SELECT id || '|' || state FROM hg.outbox WHERE topic = 'invoice.upload' AND business_key = 'upload:$bid'") }
ok t_cmp(wait_until(20, sub { up() =~ /\|done$/ }) ? 1 : 0, 1, 'the bill is uploaded');
my ($up) = split /\|/, up();

# rows of a topic nobody drains, in each state
sub add {
    my ($key, $state) = @_;
    psql("INSERT INTO hg.outbox (topic, business_key, payload, state) VALUES ('test.purge', '$key-$$', "
       . "'{\"x\":1}', '$state') RETURNING id");
}
my %id = (old_done => add('old-done', 'done'), lately => add('lately', 'done'), dead => add('dead', 'dead'),
          discarded => add('discarded', 'discarded'), queued => add('queued', 'pending'));

# time passes: everything so far was created and delivered 40 days ago, but one row was delivered
# two days ago (a dead letter retried by hand, say)
psql("UPDATE hg.outbox SET created_at = created_at - interval '40 days', updated_at = updated_at - interval '40 days'");
psql("UPDATE hg.outbox SET updated_at = now() - interval '2 days' WHERE id = $id{lately}");
# what the purge must delete: counted with its own rule (a row delivered meanwhile is recent)
my $old_done = psql("SELECT count(*) FROM hg.outbox WHERE state = 'done' AND topic <> 'invoice.upload' "
                  . "AND updated_at < now() - interval '30 days'");
my $delivered = psql("SELECT string_agg(topic || '=' || n, ',' ORDER BY topic) FROM hg.outbox_delivered");

# a purge already running (another node's cron): this one refuses and changes nothing
my $holder = hold_advisory_lock('hisgate.outbox.purge');
my ($rc, $out) = hisgate('outbox purge --keep-days 30');
ok t_cmp($rc, 2, 'a second purge at the same time is refused');
ok t_cmp($out, qr/another outbox purge is running/, 'and says why');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE id = $id{old_done}"), 1, 'and deleted nothing');
release_advisory_lock($holder);

($rc, $out) = hisgate('outbox purge --keep-days 30 --batch 7');
ok t_cmp($rc, 0, 'purge runs') or diag $out;
my ($deleted, $emptied, $kept) = $out =~ /(\d+) rows deleted, (\d+) record rows emptied, (\d+) older rows left/;
my $st = json_of(GET('/hg/status'))->{outbox}{purge} // {};
ok t_cmp(($st->{last_run} // '-') . ' ' . (($st->{age_s} // 99) < 60 ? 'lately' : '-'), qr/^\d{4}-\d\d-\d\dT.* lately$/,
         '/hg/status shows when the last purge ran');
ok t_cmp($deleted, $old_done, 'every row delivered before the retention is deleted (in batches of 7)');
ok t_cmp($emptied >= 1 ? 1 : 0, 1, 'record rows are emptied, not deleted');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE id = $id{old_done}"), 0, 'an old delivered row is gone');
ok t_cmp(row($id{lately}), 'done|false', 'a row delivered within the retention stays whole');
ok t_cmp(row($id{dead}), 'dead|false', 'a dead letter stays for the operator');
ok t_cmp(row($id{queued}), 'pending|false', 'a queued row stays');
ok t_cmp($kept >= 3 ? 1 : 0, 1, 'and the three are counted as left');
ok t_cmp(row($up), 'done|true', "the bill's upload row stays, its payload emptied");
($r, my $j) = call('getEBillStatesByBillInfo', { billBatchCode => $c, billNo => $n });
ok t_cmp($j->{uploaded}, 1, 'the bill still shows as uploaded');
ok t_cmp($j->{supervision}{billNo} // '', $n, "with the platform's supervision answer");
ok t_cmp(psql("SELECT string_agg(topic || '=' || n, ',' ORDER BY topic) FROM hg.outbox_delivered"), $delivered,
         'the delivered counts in /hg/status do not change');

# the next purge starts where this one stopped, and looks again at what was left
($rc, $out) = hisgate('outbox purge --keep-days 30');
ok t_cmp($out, qr/ 0 rows deleted, 0 record rows emptied/, 'a second purge finds nothing more');
psql("UPDATE hg.outbox SET state = 'done', updated_at = now() - interval '31 days' WHERE id IN ($id{queued}, $id{lately})");
($rc, $out) = hisgate('outbox purge --keep-days 30');
ok t_cmp($out, qr/ 2 rows deleted/, 'rows left before are purged once delivered long enough ago');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE id IN ($id{queued}, $id{lately})"), 0, 'both gone');

# a dead letter that the purge's start has passed, retried by hand and delivered: purged in its turn
ok t_cmp(psql("SELECT resume_from > $id{dead} FROM hg.outbox_purge"), 't', "the purge's start is past the dead letter");
ok t_cmp(row($id{discarded}) . ' ' . psql("SELECT resume_from > $id{discarded} FROM hg.outbox_purge"), 'discarded|false t',
         'a row ops discarded stays, and does not hold the start back either');
($rc, $out) = hisgate("outbox retry --id $id{dead}");
ok t_cmp(row($id{dead}), 'pending|false', 'retried by hand');
psql("UPDATE hg.outbox SET state = 'done', updated_at = now() - interval '31 days' WHERE id = $id{dead}");
($rc, $out) = hisgate('outbox purge --keep-days 30');
ok t_cmp(psql("SELECT count(*) FROM hg.outbox WHERE id = $id{dead}"), 0, 'delivered long enough ago, it is purged');

# bad input
($rc, $out) = hisgate('outbox purge --keep-days 0');
ok t_cmp("$rc " . ($out =~ /--keep-days/ ? 'named' : $out), '2 named', '--keep-days 0 is refused');
($rc, $out) = hisgate('outbox purge --keep-days 3x');
ok t_cmp("$rc " . ($out =~ /--keep-days/ ? 'named' : $out), '2 named', '--keep-days 3x is refused');
psql("DELETE FROM hg.outbox WHERE topic = 'test.purge'");
