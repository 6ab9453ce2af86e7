package HGConsult;
# The pre-consultation calls the tests make as the HIS and as the patient's page; each returns
# (response, decoded JSON answer)
use strict;
use warnings;
use Exporter 'import';
use JSON::PP ();
use Apache::TestRequest qw(GET POST);
use HG qw(json_of signed_request);
our @EXPORT_OK = qw(announce session answer submit);

my $json = JSON::PP->new->utf8->canonical;
my $pub  = '/consult/pub/v1/sessions';

# the HIS announces a visit (signed)
sub announce { my $r = signed_request('POST', '/consult/api/v1/visits', $_[0]); return ($r, json_of($r)); }
# the patient's page: the session, a step of answers (linkId => value), the submission
sub session { my $r = GET("$pub/$_[0]"); return ($r, json_of($r)); }
sub answer {
    my ($tok, %a) = @_;
    my $r = POST("$pub/$tok/answers", 'Content-Type' => 'application/json',
                 content => $json->encode({ answers => [ map { { linkId => $_, value => $a{$_} } } sort keys %a ] }));
    return ($r, json_of($r));
}
sub submit { my $r = POST("$pub/$_[0]/submit", 'Content-Type' => 'application/json', content => '{}'); return ($r, json_of($r)); }

1;
