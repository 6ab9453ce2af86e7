/* hg_sm2 in constant time, checked the way ctgrind and BoringSSL do: the secrets (the nonce k, the
 * private key's (1+d)^-1) are marked undefined for valgrind's memcheck, which then reports every
 * branch taken and every memory address computed from them.  The signing path (k·G, r and s) must
 * produce no report.  A positive control proves the check sees such things: the key's validity
 * test in hg_sm2_key_init branches on d on purpose (a key that fails is refused, its validity is no
 * secret), and memcheck must report exactly there.
 *
 * Run as a test, the program starts itself under valgrind and reads valgrind's report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

#include "tap.h"
#include "hg_sm2.h"

/* under valgrind: the checked calls; valgrind's report goes to stderr */
static int inner(void)
{
    unsigned char k[32], x[32], y[32], d[32], e[32], r[32], s[32];
    hg_sm2_key_t key;
    int i;

    memset(k, 0x5a, 32);
    memset(d, 0x33, 32);
    memset(e, 0x77, 32);
    k[0] = 0x12;
    d[0] = 0x21;
    hg_sm2_base_mul(x, y, k);                 /* the tables are built before the check */
    fprintf(stderr, "MARK control\n");
    VALGRIND_MAKE_MEM_UNDEFINED(d, sizeof d);
    if (!hg_sm2_key_init(&key, d))
        return 1;
    fprintf(stderr, "MARK signing\n");
    for (i = 0; i < 3; i++) {
        k[31] = (unsigned char)(i * 85);         /* digits 0 and 15 in the lowest place too */
        VALGRIND_MAKE_MEM_UNDEFINED(k, sizeof k);
        VALGRIND_MAKE_MEM_UNDEFINED(&key, sizeof key);
        hg_sm2_base_mul(x, y, k);
        hg_sm2_sign_digest(r, s, &key, e, k);
        VALGRIND_MAKE_MEM_DEFINED(k, sizeof k);
    }
    fprintf(stderr, "MARK end\n");
    return 0;
}

int main(int argc, char **argv)
{
    char cmd[4096], line[1024];
    FILE *f;
    int section = 0, control = 0, signing = 0, ended = 0, rc;

    if (RUNNING_ON_VALGRIND)
        return inner();
    tap_plan(3);
    snprintf(cmd, sizeof cmd, "valgrind --tool=memcheck --error-limit=no '%s' 2>&1", argv[0]);
    if (!(f = popen(cmd, "r"))) {
        tap_ok(0, "valgrind runs");
        return tap_done();
    }
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "MARK control", 12)) section = 1;
        else if (!strncmp(line, "MARK signing", 12)) section = 2;
        else if (!strncmp(line, "MARK end", 8)) { section = 3; ended = 1; }
        else if (strstr(line, "depends on uninitialised value") || strstr(line, "Use of uninitialised value")) {
            if (section == 1) control++;
            else if (section == 2) {
                signing++;
                tap_diag("%s", line);
            }
        }
        else if (section == 2 && signing && strstr(line, " at 0x") && signing < 10)
            tap_diag("%s", line);
    }
    rc = pclose(f);
    tap_ok(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0 && ended, "the checked program ran to its end under valgrind");
    tap_ok(control > 0, "the control: memcheck reports the branch on the key's validity (%d reports)", control);
    tap_is_int(signing, 0, "k·G, r and s: no branch and no address computed from k or the key");
    return tap_done();
}
