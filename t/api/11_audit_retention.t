# the audit journal's retention: `hisgate audit archive` writes the rows older than --keep-days (180
# at least) to a file, `hisgate audit purge --archive` removes them once the file proves them, and
# the chain goes on from the anchor
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use File::Temp qw(tempdir);
use JSON::PP;
use Apache::TestRequest qw(GET);
use HG qw(signed_request json_of psql hisgate wait_until hold_advisory_lock release_advisory_lock);

plan tests => 41;

my $dir = tempdir(CLEANUP => 1);
my $json = JSON::PP->new;
sub lines_of { open my $fh, '<', $_[0] or die "$_[0]: $!"; my @l = <$fh>; chomp @l; return @l }
sub write_lines { my ($path, @l) = @_; open my $fh, '>', $path or die; print $fh map { "$_\n" } @l; close $fh }

# a journal of which the first part is 400 days old: calls, then their rows backdated and the whole
# chain sealed again (the hash covers the time), then younger calls
my $marker = 'retention-marker-' . time;
my $res = signed_request('POST', '/hg/ping', qq({"note":"$marker"}));
ok t_cmp($res->code, 200, 'a call to journal');
my $rid = $res->header('X-Request-Id');
signed_request('POST', '/hg/ping', qq({"n":$_})) for 1 .. 5;
my $old_upto = psql('SELECT max(id) FROM hg.audit');
psql("SELECT 1 FROM hg.audit_head WHERE id = 1 FOR UPDATE; "
     . "UPDATE hg.audit SET at = at - interval '400 days' WHERE id <= $old_upto; "
     . "UPDATE hg.audit SET seq = NULL, hash = NULL WHERE seq IS NOT NULL; "
     . "UPDATE hg.audit_head SET seq = 0, hash = repeat('0', 64) WHERE id = 1");
signed_request('POST', '/hg/ping', qq({"young":$_})) for 1 .. 3;
my ($rc, $out) = hisgate('audit seal');
ok t_cmp($rc, 0, 'the journal is sealed again') or diag $out;
($rc, $out) = hisgate('audit verify');
ok t_cmp($rc, 0, 'and verifies') or diag $out;
my $n_old = psql("SELECT count(*) FROM hg.audit WHERE id <= $old_upto");
my $last_old = psql("SELECT max(seq) FROM hg.audit WHERE id <= $old_upto");
ok t_cmp($last_old, $n_old, 'the old rows are the first positions of the chain');
my $total = psql('SELECT count(*) FROM hg.audit');

# archive
my $file = "$dir/audit-1.jsonl";
($rc, $out) = hisgate("audit archive --out $file --keep-days 179");
ok t_cmp($rc, 2, 'fewer than 180 days is refused');
ok t_cmp($out, qr/180 days at least \(网络安全法 第二十一条/, 'naming the law');
ok t_cmp(-e $file ? 'file' : 'no file', 'no file', 'and writes nothing');
($rc, $out) = hisgate("audit archive --out $file --keep-days 365");
ok t_cmp($rc, 0, 'archive runs') or diag $out;
ok t_cmp($out, qr/archived to \Q$file\E: chain positions 1-$last_old \($n_old rows/, 'the old prefix of the chain, and only it');
ok t_cmp(sprintf('%o', (stat $file)[2] & 0777), '600', 'the file is readable by its owner only');
my @lines = lines_of($file);
my $head = $json->decode($lines[0]);
my $trailer = $json->decode($lines[-1]);
ok t_cmp("$head->{format} $head->{from_seq} $head->{prev_hash}", 'hisgate-audit-archive/1 1 ' . ('0' x 64),
         'a header: format, first position, the hash before it');
ok t_cmp(($trailer->{end} ? 'end ' : '') . "$trailer->{to_seq} $trailer->{rows}", "end $last_old $n_old",
         'a trailer: last position, rows');
ok t_cmp($trailer->{last_hash}, psql("SELECT hash FROM hg.audit WHERE seq = $last_old"), 'and the hash it ends with');
ok t_cmp(scalar(@lines), $n_old + 2, 'one line a row');
my $content = join "\n", @lines;
ok t_cmp(index($content, $rid) >= 0 && index($content, $marker) < 0 ? 'encrypted' : 'plain', 'encrypted',
         'rows with their request ids, bodies still encrypted');
($rc, $out) = hisgate("audit archive --out $file");
ok t_cmp("$rc " . ($out =~ /exists: an archive is never overwritten/ ? 'says so' : $out), '2 says so',
         'an existing file is never overwritten');
($rc, $out) = hisgate("audit verify --archive $file");
ok t_cmp($rc, 0, 'the archive verifies on its own') or diag $out;
ok t_cmp($out, qr/intact archive: chain positions 1-$last_old/, 'and says what it holds');

# broken archives are refused by verify and by purge
my @bad = @lines;
my $row = $json->decode($bad[2]);
$row->{resp_enc} =~ s/(.)$/$1 eq 'A' ? 'B' : 'A'/e;
$bad[2] = $json->canonical->encode($row);
write_lines("$dir/changed.jsonl", @bad);
($rc, $out) = hisgate("audit verify --archive $dir/changed.jsonl");
ok t_cmp($rc, 1, 'a changed row fails the archive');
ok t_cmp($out, qr/line 3: hash mismatch at chain position 2/, 'naming the line and position');
write_lines("$dir/cut.jsonl", @lines[0 .. $#lines - 1]);
($rc, $out) = hisgate("audit verify --archive $dir/cut.jsonl");
ok t_cmp("$rc " . ($out =~ /no trailer: the file was cut short/ ? 'cut' : $out), '1 cut', 'so does a file cut short');
write_lines("$dir/hole.jsonl", @lines[0, 1, 3 .. $#lines]);
($rc, $out) = hisgate("audit verify --archive $dir/hole.jsonl");
ok t_cmp($out, qr/line 3: chain position 3 where 2 was due/, 'and one with a row left out');
($rc, $out) = hisgate("audit purge --archive $dir/changed.jsonl");
ok t_cmp("$rc " . psql('SELECT count(*) FROM hg.audit'), "2 $total", 'purge refuses a changed archive and deletes nothing');

# the database decides too: the archive's last row must still be there, unchanged, and old enough
my $at = psql("SELECT at FROM hg.audit WHERE seq = $last_old");
psql("UPDATE hg.audit SET at = now() - interval '100 days' WHERE seq = $last_old");
($rc, $out) = hisgate("audit purge --archive $file");
ok t_cmp($rc, 2, 'a last row younger than 180 days stops the purge');
ok t_cmp($out, qr/younger than 180 days/, 'and it says why');
psql("UPDATE hg.audit SET at = '$at' WHERE seq = $last_old");

# one purge at a time
my $holder = hold_advisory_lock('hisgate.audit.purge');
($rc, $out) = hisgate("audit purge --archive $file");
ok t_cmp("$rc " . ($out =~ /another audit purge is running/ ? 'busy' : $out), '2 busy', 'a second purge at once is refused');
release_advisory_lock($holder);
ok t_cmp(psql('SELECT count(*) FROM hg.audit'), $total, 'nothing was deleted so far');

# purge
($rc, $out) = hisgate("audit purge --archive $file --batch 2");
ok t_cmp($rc, 0, 'purge runs') or diag $out;
ok t_cmp($out, qr/^$n_old rows deleted; the journal's chain continues from position $last_old/m, 'in batches, every row');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE seq <= $last_old"), 0, 'the archived rows are gone');
ok t_cmp(psql("SELECT count(*) FROM hg.audit WHERE id > $old_upto AND seq IS NOT NULL") >= 3 ? 'kept' : 'lost', 'kept',
         'the younger rows stay');
ok t_cmp(psql('SELECT from_seq || \' \' || to_seq || \' \' || rows || \' \' || (last_hash = \'' . $trailer->{last_hash}
              . '\') FROM hg.audit_purges'), "1 $last_old $n_old true", 'the range is recorded: the anchor');
ok t_cmp(json_of(GET('/hg/status'))->{audit}{archived_to}, $last_old, '/hg/status shows where the journal was purged up to');
($rc, $out) = hisgate('audit show --endpoint "hisgate audit purge"');
ok t_cmp($out, qr/hisgate-cli:\S+ in \[hisgate audit purge\] 200/, 'the purge is journalled');
ok t_cmp($out, qr/"from_seq":1,.*"to_seq":$last_old/, 'with the range it removed');
($rc, $out) = hisgate('audit seal');
($rc, $out) = hisgate('audit verify');
ok t_cmp($rc, 0, 'the chain verifies from the anchor on') or diag $out;
ok t_cmp($out, qr/positions 1-$last_old were archived and purged/, 'and says where it starts');

# again: nothing more to do; a new archive has nothing old enough either
($rc, $out) = hisgate("audit purge --archive $file");
ok t_cmp("$rc " . ($out =~ /purged before \(now finished\)/ ? 'before' : $out), '0 before', 'purging the same archive again changes nothing');
($rc, $out) = hisgate("audit archive --out $dir/audit-2.jsonl");
ok t_cmp("$rc " . ($out =~ /nothing to archive/ ? 'nothing' : $out) . ' ' . (-e "$dir/audit-2.jsonl" ? 'file' : 'no file'),
         '0 nothing no file', 'the next archive finds nothing old and leaves no file');

# tampering after the anchor is still caught
my ($seq, $orig) = split /\|/, psql("SELECT seq, resp_enc FROM hg.audit WHERE seq > $last_old ORDER BY seq LIMIT 1");
psql("UPDATE hg.audit SET resp_enc = resp_enc || 'x' WHERE seq = $seq");
($rc, $out) = hisgate('audit verify');
ok t_cmp("$rc " . ($out =~ /hash mismatch at chain position $seq\b/ ? 'caught' : $out), '1 caught',
         'a row changed after the anchor breaks the chain');
psql("UPDATE hg.audit SET resp_enc = '$orig' WHERE seq = $seq");
($rc, $out) = hisgate('audit verify');
ok t_cmp($rc, 0, 'restored, it verifies') or diag $out;
