/* Unit tests for common/hg_sm2 (hisgate's own SM2 signer) against OpenSSL, the reference:
 * the curve is OpenSSL's SM2 curve; k·G equals EC_POINT_mul's for edge and random scalars, also
 * when the tables are first built by several threads at once; r and s follow GM/T 0003.2's own
 * formula computed with BIGNUMs; and every signature hg_sm2_sign makes through it verifies with
 * OpenSSL's EVP, under the default id, another id and an empty one. */
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "tap.h"
#include "hg_crypto.h"
#include "hg_sm2.h"

static EC_GROUP *grp;
static BIGNUM *order;

static void bn32(unsigned char out[32], const BIGNUM *b)
{
    BN_bn2binpad(b, out, 32);
}

/* k·G by OpenSSL, as 32-byte x and y */
static void ossl_mul(unsigned char x[32], unsigned char y[32], const unsigned char k[32])
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *kb = BN_bin2bn(k, 32, NULL), *bx = BN_new(), *by = BN_new();
    EC_POINT *pt = EC_POINT_new(grp);

    EC_POINT_mul(grp, pt, kb, NULL, NULL, ctx);
    EC_POINT_get_affine_coordinates(grp, pt, bx, by, ctx);
    bn32(x, bx);
    bn32(y, by);
    EC_POINT_free(pt);
    BN_free(kb);
    BN_free(bx);
    BN_free(by);
    BN_CTX_free(ctx);
}

static int same_as_openssl(const unsigned char k[32])
{
    unsigned char x1[32], y1[32], x2[32], y2[32];
    hg_sm2_base_mul(x1, y1, k);
    ossl_mul(x2, y2, k);
    return !memcmp(x1, x2, 32) && !memcmp(y1, y2, 32);
}

static void random_scalar(unsigned char k[32])
{
    do
        RAND_bytes(k, 32);
    while (!hg_sm2_scalar_valid(k));
}

/* k = v mod n from a BIGNUM expression's result */
static void scalar_of(unsigned char k[32], const BIGNUM *v)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *r = BN_new();
    BN_nnmod(r, v, order, ctx);
    bn32(k, r);
    BN_free(r);
    BN_CTX_free(ctx);
}

static void *thread_first_use(void *arg)
{
    int *ok = arg;
    unsigned char k[32];
    *ok = 1;
    for (int i = 0; i < 20; i++) {
        random_scalar(k);
        *ok &= same_as_openssl(k);
    }
    return NULL;
}

int main(void)
{
    apr_pool_t *pool;
    unsigned char k[32], x[32], y[32], c[6][32], want[32];
    BN_CTX *bctx;
    BIGNUM *bp = BN_new(), *ba = BN_new(), *bb = BN_new(), *v = BN_new();
    int fails, i;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    tap_plan(25);
    grp = EC_GROUP_new_by_curve_name(NID_sm2);
    order = BN_dup(EC_GROUP_get0_order(grp));
    bctx = BN_CTX_new();

    /* the first use, by four threads at once: the tables are built once and right */
    {
        pthread_t th[4];
        int ok[4];
        for (i = 0; i < 4; i++)
            pthread_create(&th[i], NULL, thread_first_use, &ok[i]);
        for (i = 0; i < 4; i++)
            pthread_join(th[i], NULL);
        tap_ok(ok[0] && ok[1] && ok[2] && ok[3], "four threads building the tables at once all get OpenSSL's k·G");
    }

    /* the curve */
    hg_sm2_curve(c[0], c[1], c[2], c[3], c[4], c[5]);
    EC_GROUP_get_curve(grp, bp, ba, bb, bctx);
    bn32(want, bp);
    tap_ok(!memcmp(c[0], want, 32), "p is OpenSSL's SM2 p");
    bn32(want, ba);
    tap_ok(!memcmp(c[1], want, 32), "a is OpenSSL's SM2 a");
    bn32(want, bb);
    tap_ok(!memcmp(c[2], want, 32), "b is OpenSSL's SM2 b");
    bn32(want, order);
    tap_ok(!memcmp(c[3], want, 32), "n is OpenSSL's SM2 order");
    memset(k, 0, 32);
    k[31] = 1;
    ossl_mul(x, y, k);
    tap_ok(!memcmp(c[4], x, 32) && !memcmp(c[5], y, 32), "G is OpenSSL's SM2 generator");

    /* scalars accepted */
    memset(k, 0, 32);
    tap_ok(!hg_sm2_scalar_valid(k), "0 is not a scalar");
    k[31] = 1;
    tap_ok(hg_sm2_scalar_valid(k), "1 is");
    BN_sub(v, order, BN_value_one());
    bn32(k, v);
    tap_ok(hg_sm2_scalar_valid(k), "n-1 is");
    bn32(k, order);
    tap_ok(!hg_sm2_scalar_valid(k), "n is not");
    memset(k, 0xFF, 32);
    tap_ok(!hg_sm2_scalar_valid(k), "2^256-1 is not");

    /* k·G at the edges: small, sparse (zero digits: the identity is added), dense, near n */
    {
        static const char *edges[] = { "1", "2", "3", "F", "10", "11", "FF", "100", "8000000000000000",
            "10000000000000000", "1000000000000000000000000000000000000000000000000000000000000000",
            "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54122",
            "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54121",
            "7FFFFFFF7FFFFFFFFFFFFFFFFFFFFFFFB901EFB590E30295A9DDFA049CEAA091",
            "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE",
            "1111111111111111111111111111111111111111111111111111111111111111",
            "F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0",
            "0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F",
            "8000000000000000000000000000000000000000000000000000000000000001" };
        int n = (int)(sizeof edges / sizeof *edges);
        fails = 0;
        for (i = 0; i < n; i++) {
            BIGNUM *e = NULL;
            BN_hex2bn(&e, edges[i]);
            bn32(k, e);
            BN_free(e);
            if (!hg_sm2_scalar_valid(k) || !same_as_openssl(k)) {
                fails++;
                tap_diag("k = %s differs", edges[i]);
            }
        }
        tap_is_int(fails, 0, "k·G equals EC_POINT_mul's for %d edge scalars (1, 16^i, n-1, n-2, (n-1)/2, ...)", n);
    }
    /* every single digit value in every position */
    fails = 0;
    for (i = 0; i < 64; i++) {
        for (int d = 1; d < 16; d += 7) {
            memset(k, 0, 32);
            k[31 - i / 2] = (unsigned char)(i % 2 ? d << 4 : d);
            if (hg_sm2_scalar_valid(k) && !same_as_openssl(k))
                fails++;
        }
    }
    tap_is_int(fails, 0, "k·G for a lone digit 1, 8 or 15 at each of the 64 positions");
    fails = 0;
    for (i = 0; i < 2000; i++) {
        random_scalar(k);
        if (i % 3 == 0)          /* sparse: most digits zero */
            for (int j = 0; j < 32; j++)
                if (k[j] & 1)
                    k[j] = 0;
        if (hg_sm2_scalar_valid(k) && !same_as_openssl(k))
            fails++;
    }
    tap_is_int(fails, 0, "k·G equals EC_POINT_mul's for 2000 random scalars (a third of them sparse)");

    /* keys that cannot sign */
    {
        hg_sm2_key_t key;
        memset(k, 0, 32);
        tap_ok(!hg_sm2_key_init(&key, k), "d = 0 refused");
        BN_sub(v, order, BN_value_one());
        bn32(k, v);
        tap_ok(!hg_sm2_key_init(&key, k), "d = n-1 refused (1+d has no inverse)");
        bn32(k, order);
        tap_ok(!hg_sm2_key_init(&key, k), "d = n refused");
    }

    /* r and s against GM/T 0003.2 §6.1 with BIGNUMs: r = e + x1, s = (1+d)^-1 (k - r d) mod n */
    fails = 0;
    for (i = 0; i < 300; i++) {
        unsigned char d[32], e[32], r[32], s[32], rw[32], sw[32];
        hg_sm2_key_t key;
        BIGNUM *bd, *be, *bk, *bx, *br = BN_new(), *bs = BN_new(), *t = BN_new();
        random_scalar(d);
        random_scalar(k);
        RAND_bytes(e, 32);
        if (i == 0)
            memset(e, 0xFF, 32);     /* e above n */
        if (!hg_sm2_key_init(&key, d)) {
            fails++;
            continue;
        }
        int ok = hg_sm2_sign_digest(r, s, &key, e, k);
        ossl_mul(x, y, k);
        bd = BN_bin2bn(d, 32, NULL);
        be = BN_bin2bn(e, 32, NULL);
        bk = BN_bin2bn(k, 32, NULL);
        bx = BN_bin2bn(x, 32, NULL);
        BN_mod_add(br, be, bx, order, bctx);
        BN_mod_mul(t, br, bd, order, bctx);
        BN_mod_sub(bs, bk, t, order, bctx);
        BN_add(t, bd, BN_value_one());
        BN_mod_inverse(t, t, order, bctx);
        BN_mod_mul(bs, bs, t, order, bctx);
        scalar_of(rw, br);
        scalar_of(sw, bs);
        if (!ok || memcmp(r, rw, 32) || memcmp(s, sw, 32))
            fails++;
        hg_sm2_key_wipe(&key);
        BN_free(bd); BN_free(be); BN_free(bk); BN_free(bx); BN_free(br); BN_free(bs); BN_free(t);
    }
    tap_is_int(fails, 0, "r and s equal the standard's formula for 300 random keys, nonces and digests");

    /* through hg_crypto: hg_sm2_sign uses it, and OpenSSL verifies what it signs */
    {
        hg_pkey_t *pk, *pub, *other;
        char *pubpem;
        unsigned char *sig, *sig2, prv[32], pt[65];
        apr_size_t siglen, sig2len;
        static const char *ids[] = { NULL, "1234567812345678", "hospital@42", "" };
        int bad = 0, forged = 0;

        hg_sm2_generate(&pk, pool);
        hg_pkey_to_pem(&pubpem, pool, pk, 0);
        hg_pkey_load_pem(&pub, pool, pubpem, 0);
        tap_ok(hg_sm2_sign_is_fast(pk), "a generated SM2 key signs with hisgate's signer");
        tap_ok(!hg_sm2_sign_is_fast(pub), "a public key does not");
        hg_sm2_key_to_raw(prv, pt, pk);
        hg_sm2_load_raw(&other, pool, prv, NULL, 0);
        tap_ok(hg_sm2_sign_is_fast(other), "and so does a raw-loaded private key");
        for (i = 0; i < 400; i++) {
            const char *id = ids[i % 4];
            apr_size_t len = (apr_size_t)(i * 7 % 1500);
            unsigned char *msg = apr_palloc(pool, len + 1);
            RAND_bytes(msg, (int)len + 1);
            if (hg_sm2_sign(&sig, &siglen, pool, i % 2 ? pk : other, id, msg, len) != APR_SUCCESS
                || hg_sm2_verify(pub, id, msg, len, sig, siglen) != APR_SUCCESS)
                bad++;
            if (len && (msg[0] ^= 1, hg_sm2_verify(pub, id, msg, len, sig, siglen) == APR_SUCCESS))
                forged++;
        }
        tap_is_int(bad, 0, "400 signatures (ids: default, explicit default, other, empty; 0-1500 bytes) verify with OpenSSL");
        tap_is_int(forged, 0, "none of them verifies for a changed message");
        hg_sm2_sign(&sig, &siglen, pool, pk, NULL, "x", 1);
        hg_sm2_sign(&sig2, &sig2len, pool, pk, NULL, "x", 1);
        tap_ok(siglen != sig2len || memcmp(sig, sig2, siglen), "each signature draws a fresh k");
        tap_is_int(hg_sm2_verify(pub, "hospital@43", "x", 1, sig, siglen), HG_EBADSIG,
                   "a signature under the default id does not verify under another");
    }

    BN_free(bp); BN_free(ba); BN_free(bb); BN_free(v); BN_free(order);
    BN_CTX_free(bctx);
    EC_GROUP_free(grp);
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
