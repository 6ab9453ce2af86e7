/* hisgate crypto: OpenSSL 3.0 EVP wrappers (see hg_crypto.h for the contract). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* memmem */
#endif
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hg_crypto.h"
#include "hg_sm2.h"

/* What hisgate's own SM2 signer (hg_sm2.h) keeps of a private SM2 key: OpenSSL 3.0 signs on that
 * curve 17 times slower than on P-256, and every bill is sealed. */
typedef struct {
    hg_sm2_key_t key;
    unsigned char pub[64];              /* X || Y, for Z_A */
    unsigned char za_default[32];       /* Z_A for HG_SM2_DEFAULT_ID, the id nearly every call uses */
} sm2_signer_t;

struct hg_pkey_t {
    EVP_PKEY *pkey;
    sm2_signer_t *sm2;                  /* SM2 private keys only */
};

/* OpenSSL's lengths are int: refuse anything that would not fit (with room for a block). */
#define HG_MAX_LEN ((apr_size_t)INT_MAX - 64)

static _Thread_local char last_error[256];

const char *hg_crypto_last_error(void)
{
    return last_error;
}

/* Record why we failed and empty OpenSSL's error queue: errors left in it would be picked up
 * by the next unrelated OpenSSL user in this thread (mod_ssl's SSL_get_error, for one). */
static apr_status_t fail(apr_status_t rv, const char *what)
{
    unsigned long e = ERR_peek_error();
    char buf[200];

    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(last_error, sizeof(last_error), "%s: %s", what, buf);
    }
    else {
        snprintf(last_error, sizeof(last_error), "%s", what);
    }
    ERR_clear_error();
    return rv;
}

/* ---------------------------------------------------------------- algorithms, fetched once */

/* OpenSSL 3 looks an implicit algorithm (EVP_sm3(), EVP_MAC_fetch, a digest named in HMAC's params)
 * up in its provider store at every use, under a lock: it showed in profiles of the issuing path,
 * which hashes, MACs and encrypts a dozen times per bill.  Fetched once per process, kept for its
 * life; the implicit forms stay as a fallback. */
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sm3, *md_sha256;
static EVP_CIPHER *ci_sm4_cbc, *ci_sm4_ecb;

static void algs_fetch(void)
{
    md_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    ci_sm4_cbc = EVP_CIPHER_fetch(NULL, "SM4-CBC", NULL);
    ci_sm4_ecb = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
    ERR_clear_error();
}

static const EVP_MD *alg_sm3(void)
{
    pthread_once(&algs_once, algs_fetch);
    return md_sm3 ? md_sm3 : EVP_sm3();
}

static const EVP_MD *alg_sha256(void)
{
    pthread_once(&algs_once, algs_fetch);
    return md_sha256 ? md_sha256 : EVP_sha256();
}

static const EVP_CIPHER *alg_sm4_cbc(void)
{
    pthread_once(&algs_once, algs_fetch);
    return ci_sm4_cbc ? ci_sm4_cbc : EVP_sm4_cbc();
}

static const EVP_CIPHER *alg_sm4_ecb(void)
{
    pthread_once(&algs_once, algs_fetch);
    return ci_sm4_ecb ? ci_sm4_ecb : EVP_sm4_ecb();
}

/* ---------------------------------------------------------------- digests and MACs */

static apr_status_t digest(unsigned char *out, const EVP_MD *md, const void *d, apr_size_t n,
                           const char *what)
{
    apr_status_t rv = APR_SUCCESS;
    unsigned int len = 0;

    if (!out || (!d && n)) {
        rv = fail(HG_EINVALID, what);
        goto leave;
    }
    if (!EVP_Digest(d ? d : "", n, out, &len, md, NULL)) {
        rv = fail(HG_ECRYPTO, what);
        goto leave;
    }
leave:
    return rv;
}

apr_status_t hg_sm3(unsigned char out[32], const void *d, apr_size_t n)
{
    return digest(out, alg_sm3(), d, n, "sm3");
}

apr_status_t hg_sha256(unsigned char out[32], const void *d, apr_size_t n)
{
    return digest(out, alg_sha256(), d, n, "sha256");
}

apr_status_t hg_md5_hex_upper(char out[33], const void *d, apr_size_t n)
{
    static const char hx[] = "0123456789ABCDEF";
    unsigned char md[16];
    apr_status_t rv;
    int i;

    if (APR_SUCCESS != (rv = digest(md, EVP_md5(), d, n, "md5")))
        goto leave;
    for (i = 0; i < 16; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[32] = '\0';
leave:
    return rv;
}

apr_status_t hg_sha1_hex(char **out, apr_pool_t *p, const void *d, apr_size_t n)
{
    unsigned char md[20];
    apr_status_t rv;
    if (APR_SUCCESS != (rv = digest(md, EVP_sha1(), d, n, "sha1")))
        return rv;
    *out = hg_hex_encode(p, md, sizeof(md), 0);
    return APR_SUCCESS;
}

/* HMAC (RFC 2104) over the concatenation of iov[0..niov), on a digest fetched once: one code path for
 * one-shot and gathered input.  SM3 and SHA-256 both have 64-byte blocks and 32-byte outputs. */
static apr_status_t hmac_v(unsigned char *out, const char *mdname, const void *key, apr_size_t klen,
                           const hg_iov_t *iov, int niov, const char *what)
{
    const EVP_MD *md = !strcmp(mdname, "SM3") ? alg_sm3() : alg_sha256();
    unsigned char k0[64], pad[64], inner[32];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = NULL;
    apr_status_t rv = HG_ECRYPTO;
    int i;

    if (!out || (!key && klen) || (!iov && niov) || niov < 0) {
        rv = HG_EINVALID;
        goto leave;
    }
    for (i = 0; i < niov; i++) {
        if (!iov[i].d && iov[i].n) {
            rv = HG_EINVALID;
            goto leave;
        }
    }
    memset(k0, 0, sizeof(k0));
    if (klen > sizeof(k0)) {           /* a key longer than the block is hashed first */
        if (!EVP_Digest(key, klen, k0, &len, md, NULL))
            goto leave;
    }
    else if (klen)
        memcpy(k0, key, klen);
    if (!(ctx = EVP_MD_CTX_new()))
        goto leave;
    for (i = 0; i < 64; i++)
        pad[i] = k0[i] ^ 0x36;
    if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, pad, 64))
        goto leave;
    for (i = 0; i < niov; i++)
        if (iov[i].n && !EVP_DigestUpdate(ctx, iov[i].d, iov[i].n))
            goto leave;
    if (!EVP_DigestFinal_ex(ctx, inner, &len) || len != 32)
        goto leave;
    for (i = 0; i < 64; i++)
        pad[i] = k0[i] ^ 0x5c;
    if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, pad, 64)
        || !EVP_DigestUpdate(ctx, inner, 32) || !EVP_DigestFinal_ex(ctx, out, &len) || len != 32)
        goto leave;
    rv = APR_SUCCESS;
leave:
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k0, sizeof(k0));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    if (rv != APR_SUCCESS)
        rv = fail(rv, what);
    return rv;
}

apr_status_t hg_hmac_sm3(unsigned char out[32], const void *key, apr_size_t klen,
                         const void *d, apr_size_t n)
{
    hg_iov_t v = { d, n };
    return hmac_v(out, "SM3", key, klen, &v, 1, "hmac-sm3");
}

apr_status_t hg_hmac_sha256(unsigned char out[32], const void *key, apr_size_t klen,
                            const void *d, apr_size_t n)
{
    hg_iov_t v = { d, n };
    return hmac_v(out, "SHA256", key, klen, &v, 1, "hmac-sha256");
}

apr_status_t hg_hmac_sm3_v(unsigned char out[32], const void *key, apr_size_t klen,
                           const hg_iov_t *iov, int niov)
{
    return hmac_v(out, "SM3", key, klen, iov, niov, "hmac-sm3");
}

apr_status_t hg_hmac_sha256_v(unsigned char out[32], const void *key, apr_size_t klen,
                              const hg_iov_t *iov, int niov)
{
    return hmac_v(out, "SHA256", key, klen, iov, niov, "hmac-sha256");
}

apr_status_t hg_pbkdf2_sha256(unsigned char *out, apr_size_t outlen, const void *pw, apr_size_t pwlen,
                              const void *salt, apr_size_t saltlen, unsigned int iterations)
{
    apr_status_t rv = APR_SUCCESS;

    if (!out || !outlen || outlen > HG_MAX_LEN || (!pw && pwlen) || pwlen > HG_MAX_LEN
        || (!salt && saltlen) || saltlen > HG_MAX_LEN || !iterations || iterations > INT_MAX) {
        rv = fail(HG_EINVALID, "pbkdf2: bad argument");
        goto leave;
    }
    if (!PKCS5_PBKDF2_HMAC(pw ? pw : "", (int)pwlen, salt ? salt : (const void *)"", (int)saltlen,
                           (int)iterations, EVP_sha256(), (int)outlen, out)) {
        rv = fail(HG_ECRYPTO, "pbkdf2");
        goto leave;
    }
leave:
    return rv;
}

/* ---------------------------------------------------------------- symmetric ciphers */

/* One complete cipher operation on a fresh context, freed at the end: a reused EVP_CIPHER_CTX
 * would keep e.g. set_padding(0) from its previous life (ecosystem.md §4, gotcha 4).
 * out must hold n + 16 bytes. */
static apr_status_t cipher_run(unsigned char *out, apr_size_t *outlen, const EVP_CIPHER *c,
                               const unsigned char *key, const unsigned char *iv, int enc, int pad,
                               const void *in, apr_size_t n, const char *what)
{
    apr_status_t rv = HG_ECRYPTO;
    EVP_CIPHER_CTX *ctx = NULL;
    int l1 = 0, l2 = 0;

    if (!(ctx = EVP_CIPHER_CTX_new())
        || !EVP_CipherInit_ex2(ctx, c, key, iv, enc, NULL)
        || !EVP_CIPHER_CTX_set_padding(ctx, pad)
        || !EVP_CipherUpdate(ctx, out, &l1, in ? in : (const void *)"", (int)n)
        || !EVP_CipherFinal_ex(ctx, out + l1, &l2))
        goto leave;
    *outlen = (apr_size_t)l1 + (apr_size_t)l2;
    rv = APR_SUCCESS;
leave:
    EVP_CIPHER_CTX_free(ctx);
    if (rv != APR_SUCCESS)
        rv = fail(rv, what);
    return rv;
}

static apr_status_t sm4_pooled(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                               const EVP_CIPHER *c, const unsigned char *key, const unsigned char *iv,
                               int enc, const void *in, apr_size_t n, const char *what)
{
    apr_status_t rv = APR_SUCCESS;
    unsigned char *buf;
    apr_size_t len = 0;

    *out = NULL;
    *outlen = 0;
    if (!p || !key || (!in && n) || n > HG_MAX_LEN) {
        rv = fail(HG_EINVALID, what);
        goto leave;
    }
    /* A ciphertext that cannot be whole padded blocks is refused before OpenSSL sees it. */
    if (!enc && (n == 0 || n % 16)) {
        rv = fail(HG_ECRYPTO, what);
        goto leave;
    }
    buf = apr_palloc(p, n + 17);
    if (APR_SUCCESS != (rv = cipher_run(buf, &len, c, key, iv, enc, 1, in, n, what)))
        goto leave;
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
leave:
    return rv;
}

apr_status_t hg_sm4_ecb_encrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                const unsigned char key[16], const void *in, apr_size_t n)
{
    return sm4_pooled(p, out, outlen, alg_sm4_ecb(), key, NULL, 1, in, n, "sm4-ecb encrypt");
}

apr_status_t hg_sm4_ecb_decrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                const unsigned char key[16], const void *in, apr_size_t n)
{
    return sm4_pooled(p, out, outlen, alg_sm4_ecb(), key, NULL, 0, in, n, "sm4-ecb decrypt");
}

apr_status_t hg_sm4_cbc_encrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                const unsigned char key[16], const unsigned char iv[16],
                                const void *in, apr_size_t n)
{
    if (!iv)
        return fail(HG_EINVALID, "sm4-cbc encrypt: no iv");
    return sm4_pooled(p, out, outlen, alg_sm4_cbc(), key, iv, 1, in, n, "sm4-cbc encrypt");
}

apr_status_t hg_sm4_cbc_decrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                const unsigned char key[16], const unsigned char iv[16],
                                const void *in, apr_size_t n)
{
    if (!iv)
        return fail(HG_EINVALID, "sm4-cbc decrypt: no iv");
    return sm4_pooled(p, out, outlen, alg_sm4_cbc(), key, iv, 0, in, n, "sm4-cbc decrypt");
}

apr_status_t hg_aes256_cbc_raw(unsigned char *out, const unsigned char key[32], const unsigned char iv[16],
                               const void *in, apr_size_t n, int encrypt)
{
    apr_size_t len = 0;
    if (!out || !key || !iv || !in || n == 0 || n % 16 || n > HG_MAX_LEN)
        return fail(HG_EINVALID, "aes-256-cbc raw: length must be a non-zero multiple of 16");
    return cipher_run(out, &len, EVP_aes_256_cbc(), key, iv, encrypt ? 1 : 0, 0, in, n, "aes-256-cbc raw");
}

apr_status_t hg_sm4_ecb_raw(unsigned char *out, const unsigned char key[16], const void *in,
                            apr_size_t n, int encrypt)
{
    apr_status_t rv = APR_SUCCESS;
    apr_size_t len = 0;

    if (!out || !key || !in || n == 0 || n % 16 || n > HG_MAX_LEN) {
        rv = fail(HG_EINVALID, "sm4-ecb raw: length must be a non-zero multiple of 16");
        goto leave;
    }
    /* without padding Final writes nothing, so out needs exactly n bytes */
    rv = cipher_run(out, &len, alg_sm4_ecb(), key, NULL, encrypt ? 1 : 0, 0, in, n, "sm4-ecb raw");
leave:
    return rv;
}

static apr_status_t gcm_run(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                            const unsigned char *key, const unsigned char *iv, const void *aad,
                            apr_size_t aadlen, const void *in, apr_size_t n, int enc)
{
    apr_status_t rv = HG_ECRYPTO;
    const char *what = enc ? "aes-256-gcm encrypt" : "aes-256-gcm decrypt";
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *buf = NULL;
    apr_size_t clen = enc ? n : n - 16;     /* only used after the length check below */
    int l = 0, l2 = 0;

    *out = NULL;
    *outlen = 0;
    if (!p || !key || !iv || (!aad && aadlen) || aadlen > HG_MAX_LEN || (!in && n)
        || n > HG_MAX_LEN) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (!enc && n < 16)                     /* not even a tag: cannot be authentic */
        goto leave;
    buf = apr_palloc(p, clen + 16 + 1);
    if (!(ctx = EVP_CIPHER_CTX_new())
        || !EVP_CipherInit_ex2(ctx, EVP_aes_256_gcm(), NULL, NULL, enc, NULL)
        || !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL)
        || !EVP_CipherInit_ex2(ctx, NULL, key, iv, enc, NULL))
        goto leave;
    if (aadlen && !EVP_CipherUpdate(ctx, NULL, &l, aad, (int)aadlen))
        goto leave;
    if (clen && !EVP_CipherUpdate(ctx, buf, &l, in, (int)clen))
        goto leave;
    if (!clen)
        l = 0;
    /* the expected tag must be in place before Final, which then compares it */
    if (!enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
                                     (unsigned char *)in + clen))
        goto leave;
    if (!EVP_CipherFinal_ex(ctx, buf + l, &l2))
        goto leave;
    l += l2;
    if (enc) {
        if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, buf + l))
            goto leave;
        l += 16;
    }
    buf[l] = '\0';
    *out = buf;
    *outlen = (apr_size_t)l;
    rv = APR_SUCCESS;
leave:
    EVP_CIPHER_CTX_free(ctx);
    if (rv != APR_SUCCESS) {
        if (buf && !enc)
            OPENSSL_cleanse(buf, clen);     /* no unauthenticated plaintext left in the pool */
        rv = fail(rv, what);
    }
    return rv;
}

apr_status_t hg_aes256gcm_encrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                  const unsigned char key[32], const unsigned char iv[12],
                                  const void *aad, apr_size_t aadlen, const void *in, apr_size_t n)
{
    return gcm_run(p, out, outlen, key, iv, aad, aadlen, in, n, 1);
}

apr_status_t hg_aes256gcm_decrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                  const unsigned char key[32], const unsigned char iv[12],
                                  const void *aad, apr_size_t aadlen, const void *in, apr_size_t n)
{
    return gcm_run(p, out, outlen, key, iv, aad, aadlen, in, n, 0);
}

/* ---------------------------------------------------------------- keys */

static apr_status_t pkey_cleanup(void *data)
{
    hg_pkey_t *pk = data;

    EVP_PKEY_free(pk->pkey);
    pk->pkey = NULL;
    if (pk->sm2)
        OPENSSL_cleanse(pk->sm2, sizeof(*pk->sm2));
    pk->sm2 = NULL;
    return APR_SUCCESS;
}

static apr_status_t sm2_za(unsigned char za[32], const char *id, apr_size_t idlen,
                           const unsigned char pub[64]);

/* An SM2 private key also gets hisgate's signer; if anything about it fails, signing simply stays
 * with OpenSSL's. */
static void sm2_signer_prepare(apr_pool_t *p, hg_pkey_t *pk)
{
    unsigned char d[32], pub65[65];
    sm2_signer_t *sg;

    if (!hg_pkey_is_sm2(pk) || !hg_pkey_has_private(pk))
        return;
    sg = apr_pcalloc(p, sizeof(*sg));
    if (hg_sm2_key_to_raw(d, pub65, pk) == APR_SUCCESS && hg_sm2_key_init(&sg->key, d)) {
        memcpy(sg->pub, pub65 + 1, 64);
        if (sm2_za(sg->za_default, HG_SM2_DEFAULT_ID, strlen(HG_SM2_DEFAULT_ID), sg->pub) == APR_SUCCESS)
            pk->sm2 = sg;
    }
    if (!pk->sm2)
        OPENSSL_cleanse(sg, sizeof(*sg));
    OPENSSL_cleanse(d, sizeof d);
    ERR_clear_error();
}

/* Takes ownership of k: from here on the pool frees it. */
static hg_pkey_t *pkey_wrap(apr_pool_t *p, EVP_PKEY *k)
{
    hg_pkey_t *pk = apr_pcalloc(p, sizeof(*pk));

    pk->pkey = k;
    apr_pool_cleanup_register(p, pk, pkey_cleanup, apr_pool_cleanup_null);
    sm2_signer_prepare(p, pk);
    return pk;
}

/* Refuse encrypted keys instead of letting OpenSSL prompt on the controlling terminal. */
static int no_passphrase_cb(char *pass, size_t size, size_t *len, const OSSL_PARAM params[], void *arg)
{
    (void)pass; (void)size; (void)params; (void)arg;
    *len = 0;
    return 0;
}

static int no_pem_passphrase_cb(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

/* The first PEM block that is not "... PARAMETERS" (openssl ecparam -genkey writes SM2 PARAMETERS
 * before the key, and the decoder would stop at that block with a key-less EVP_PKEY). */
static const char *first_key_block(const char *pem, apr_size_t len)
{
    const char *s = pem, *end = pem + len, *b, *dash;

    while ((b = memmem(s, (apr_size_t)(end - s), "-----BEGIN ", 11))) {
        if (!(dash = memmem(b + 11, (apr_size_t)(end - b - 11), "-----", 5)))
            return NULL;
        if (dash - (b + 11) < 10 || memcmp(dash - 10, "PARAMETERS", 10))
            return b;
        s = dash + 5;
    }
    return NULL;
}

apr_status_t hg_pkey_load_pem(hg_pkey_t **pk, apr_pool_t *p, const char *pem, apr_size_t len)
{
    static const char cert_tag[] = "-----BEGIN CERTIFICATE-----";
    apr_status_t rv = HG_ECRYPTO;
    OSSL_DECODER_CTX *dctx = NULL;
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    BIO *bio = NULL;
    const char *blk;

    *pk = NULL;
    if (!p || !pem) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (!len)
        len = strlen(pem);
    if (!len || len > HG_MAX_LEN) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (!(blk = first_key_block(pem, len)))
        goto leave;
    len -= (apr_size_t)(blk - pem);
    if (!(bio = BIO_new_mem_buf(blk, (int)len)))
        goto leave;
    if (len >= sizeof(cert_tag) - 1 && !memcmp(blk, cert_tag, sizeof(cert_tag) - 1)) {
        if (!(x = PEM_read_bio_X509(bio, NULL, no_pem_passphrase_cb, NULL))
            || !(k = X509_get_pubkey(x)))
            goto leave;
    }
    else {
        /* the 3.0 decoder knows PKCS#8, SEC1, PKCS#1 and SPKI, private or public */
        dctx = OSSL_DECODER_CTX_new_for_pkey(&k, "PEM", NULL, NULL, 0, NULL, NULL);
        if (!dctx || !OSSL_DECODER_CTX_set_passphrase_cb(dctx, no_passphrase_cb, NULL)
            || !OSSL_DECODER_from_bio(dctx, bio) || !k)
            goto leave;
    }
    *pk = pkey_wrap(p, k);
    k = NULL;
    rv = APR_SUCCESS;
leave:
    EVP_PKEY_free(k);
    X509_free(x);
    OSSL_DECODER_CTX_free(dctx);
    BIO_free(bio);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "load PEM key");
    else
        ERR_clear_error();      /* decoders that were tried and did not match leave entries */
    return rv;
}

apr_status_t hg_pkey_load_file(hg_pkey_t **pk, apr_pool_t *p, const char *path)
{
    apr_status_t rv;
    apr_file_t *f = NULL;
    apr_finfo_t fi;
    apr_size_t size = 0, got = 0;
    char *buf = NULL;

    *pk = NULL;
    if (APR_SUCCESS != (rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p))
        || APR_SUCCESS != (rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f))) {
        snprintf(last_error, sizeof(last_error), "cannot read key file %s (%d)", path, rv);
        goto leave;
    }
    if (fi.size <= 0 || fi.size > 1024 * 1024) {    /* a key file is a few KB at most */
        rv = fail(HG_EINVALID, "key file empty or too large");
        goto leave;
    }
    size = (apr_size_t)fi.size;
    buf = apr_palloc(p, size + 1);
    if (APR_SUCCESS != (rv = apr_file_read_full(f, buf, size, &got))) {
        snprintf(last_error, sizeof(last_error), "cannot read key file %s (%d)", path, rv);
        goto leave;
    }
    buf[got] = '\0';
    rv = hg_pkey_load_pem(pk, p, buf, got);
leave:
    if (buf)
        OPENSSL_cleanse(buf, size + 1);     /* private key text must not linger in the pool */
    if (f)
        apr_file_close(f);
    return rv;
}

apr_status_t hg_sm2_generate(hg_pkey_t **pk, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    EVP_PKEY *k;

    *pk = NULL;
    if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2"))) {
        rv = fail(HG_ECRYPTO, "sm2 keygen");
        goto leave;
    }
    *pk = pkey_wrap(p, k);
leave:
    return rv;
}

int hg_pkey_is_sm2(const hg_pkey_t *pk)
{
    return pk && pk->pkey && EVP_PKEY_is_a(pk->pkey, "SM2");
}

int hg_pkey_is_rsa(const hg_pkey_t *pk)
{
    return pk && pk->pkey && EVP_PKEY_is_a(pk->pkey, "RSA");
}

int hg_pkey_has_private(const hg_pkey_t *pk)
{
    BIGNUM *bn = NULL;
    int has;

    if (!pk || !pk->pkey)
        return 0;
    has = EVP_PKEY_get_bn_param(pk->pkey, hg_pkey_is_rsa(pk) ? OSSL_PKEY_PARAM_RSA_D
                                                               : OSSL_PKEY_PARAM_PRIV_KEY, &bn);
    BN_clear_free(bn);
    ERR_clear_error();
    return has ? 1 : 0;
}

apr_status_t hg_pkey_to_pem(char **pem, apr_pool_t *p, const hg_pkey_t *pk, int private_part)
{
    apr_status_t rv = HG_ECRYPTO;
    BIO *bio = NULL;
    char *data;
    long len;

    *pem = NULL;
    if (!pk || !pk->pkey) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (private_part && !hg_pkey_has_private(pk))
        goto leave;
    if (!(bio = BIO_new(BIO_s_mem())))
        goto leave;
    if (private_part ? !PEM_write_bio_PrivateKey(bio, pk->pkey, NULL, NULL, 0, NULL, NULL)
                     : !PEM_write_bio_PUBKEY(bio, pk->pkey))
        goto leave;
    if ((len = BIO_get_mem_data(bio, &data)) <= 0)
        goto leave;
    *pem = apr_pstrmemdup(p, data, (apr_size_t)len);
    rv = APR_SUCCESS;
leave:
    if (bio) {
        /* the memory BIO held the private key text: wipe before freeing */
        if ((len = BIO_get_mem_data(bio, &data)) > 0)
            OPENSSL_cleanse(data, (size_t)len);
        BIO_free(bio);
    }
    if (rv != APR_SUCCESS)
        rv = fail(rv, "key to PEM");
    return rv;
}

apr_status_t hg_sm2_load_raw(hg_pkey_t **pk, apr_pool_t *p, const unsigned char *priv32,
                             const unsigned char *pub, apr_size_t publen)
{
    apr_status_t rv = HG_ECRYPTO;
    EC_GROUP *group = NULL;
    EC_POINT *point = NULL;
    BIGNUM *d = NULL, *lim = NULL;
    BN_CTX *bnctx = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *k = NULL;
    unsigned char pt[65];

    *pk = NULL;
    if (!p || (!priv32 && (!pub || (publen != 64 && publen != 65)))) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (!(bld = OSSL_PARAM_BLD_new())
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_sm2, 0))
        goto leave;
    if (priv32) {
        /* SM2 wants 1 <= d <= n-2; the public point d*G is needed too (Z uses it when signing) */
        if (!(group = EC_GROUP_new_by_curve_name(NID_sm2)) || !(bnctx = BN_CTX_new())
            || !(d = BN_secure_new()) || !BN_bin2bn(priv32, 32, d)
            || !(lim = BN_dup(EC_GROUP_get0_order(group))) || !BN_sub_word(lim, 1))
            goto leave;
        if (BN_is_zero(d) || BN_cmp(d, lim) >= 0) {
            rv = HG_EINVALID;
            goto leave;
        }
        if (!(point = EC_POINT_new(group)) || !EC_POINT_mul(group, point, d, NULL, NULL, bnctx)
            || EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof(pt),
                                  bnctx) != 65
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
            goto leave;
    }
    else {
        pt[0] = 0x04;
        if (publen == 65 && pub[0] != 0x04) {   /* compressed or hybrid forms are not accepted */
            rv = HG_EINVALID;
            goto leave;
        }
        memcpy(pt + 1, publen == 65 ? pub + 1 : pub, 64);
    }
    if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt))
        || !(params = OSSL_PARAM_BLD_to_param(bld))
        || !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL))
        || EVP_PKEY_fromdata_init(ctx) <= 0
        /* the import checks that the point is on the curve */
        || EVP_PKEY_fromdata(ctx, &k, priv32 ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto leave;
    *pk = pkey_wrap(p, k);
    rv = APR_SUCCESS;
leave:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);        /* d went in via BN_secure_new: its copy is in the secure arena */
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(point);
    EC_GROUP_free(group);
    BN_clear_free(d);
    BN_free(lim);
    BN_CTX_free(bnctx);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "sm2 raw key");
    return rv;
}

apr_status_t hg_sm2_key_to_raw(unsigned char *priv32, unsigned char *pub65, const hg_pkey_t *pk)
{
    apr_status_t rv = HG_ECRYPTO;
    BIGNUM *d = NULL, *x = NULL, *y = NULL;

    if (!hg_pkey_is_sm2(pk)) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (priv32) {
        if (!EVP_PKEY_get_bn_param(pk->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d)
            || BN_bn2binpad(d, priv32, 32) != 32)
            goto leave;
    }
    if (pub65) {
        /* X and Y separately, so the result does not depend on the key's point format */
        if (!EVP_PKEY_get_bn_param(pk->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x)
            || !EVP_PKEY_get_bn_param(pk->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y)
            || BN_bn2binpad(x, pub65 + 1, 32) != 32 || BN_bn2binpad(y, pub65 + 33, 32) != 32)
            goto leave;
        pub65[0] = 0x04;
    }
    rv = APR_SUCCESS;
leave:
    BN_clear_free(d);
    BN_free(x);
    BN_free(y);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "sm2 key to raw");
    return rv;
}

/* ---------------------------------------------------------------- SM2 signatures */

/* An MD context for SM3withSM2 with the user id set. The id must be on the PKEY_CTX before
 * DigestSign/VerifyInit (gotcha 1 and 2): without it OpenSSL 3.0 hashes an EMPTY id into Z. The
 * MD_CTX does not own the PKEY_CTX, so the caller frees both. */
static apr_status_t sm2_md_ctx(EVP_MD_CTX **pmctx, EVP_PKEY_CTX **ppctx, const hg_pkey_t *pk,
                               const char *id, int sign)
{
    apr_status_t rv = HG_ECRYPTO;
    apr_size_t idlen;

    *pmctx = NULL;
    *ppctx = NULL;
    if (!hg_pkey_is_sm2(pk))
        goto leave;
    if (!id)
        id = HG_SM2_DEFAULT_ID;
    if ((idlen = strlen(id)) > 8191) {      /* ENTL is a 16-bit bit count */
        rv = HG_EINVALID;
        goto leave;
    }
    if (!(*pmctx = EVP_MD_CTX_new()) || !(*ppctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk->pkey, NULL))
        || EVP_PKEY_CTX_set1_id(*ppctx, id, (int)idlen) <= 0)
        goto leave;
    EVP_MD_CTX_set_pkey_ctx(*pmctx, *ppctx);
    if ((sign ? EVP_DigestSignInit(*pmctx, NULL, alg_sm3(), NULL, pk->pkey)
              : EVP_DigestVerifyInit(*pmctx, NULL, alg_sm3(), NULL, pk->pkey)) <= 0)
        goto leave;
    rv = APR_SUCCESS;
leave:
    return rv;
}

/* Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GM/T 0003.2 §5.5) */
static apr_status_t sm2_za(unsigned char za[32], const char *id, apr_size_t idlen,
                           const unsigned char pub[64])
{
    unsigned char curve[6][32], entl[2];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    hg_sm2_curve(curve[0], curve[1], curve[2], curve[3], curve[4], curve[5]);
    entl[0] = (unsigned char)((idlen * 8) >> 8);
    entl[1] = (unsigned char)(idlen * 8);
    ok = ctx && EVP_DigestInit_ex(ctx, alg_sm3(), NULL) && EVP_DigestUpdate(ctx, entl, 2)
         && EVP_DigestUpdate(ctx, id, idlen)
         && EVP_DigestUpdate(ctx, curve[1], 32) && EVP_DigestUpdate(ctx, curve[2], 32)   /* a, b */
         && EVP_DigestUpdate(ctx, curve[4], 32) && EVP_DigestUpdate(ctx, curve[5], 32)   /* G */
         && EVP_DigestUpdate(ctx, pub, 64) && EVP_DigestFinal_ex(ctx, za, NULL);
    EVP_MD_CTX_free(ctx);
    return ok ? APR_SUCCESS : HG_ECRYPTO;
}

int hg_sm2_sign_is_fast(const hg_pkey_t *pk)
{
    return pk && pk->sm2;
}

/* hg_sm2_sign with hisgate's signer: e = SM3(Z_A || M), a fresh k from OpenSSL's private DRBG. */
static apr_status_t sm2_sign_fast(unsigned char **sig_der, apr_size_t *siglen, apr_pool_t *p,
                                  const sm2_signer_t *sg, const char *id, apr_size_t idlen,
                                  const void *data, apr_size_t n)
{
    unsigned char zbuf[32], e[32], k[32], raw[64];
    const unsigned char *za = sg->za_default;
    EVP_MD_CTX *ctx;
    apr_status_t rv = HG_ECRYPTO;
    int tries, ok;

    if (strcmp(id, HG_SM2_DEFAULT_ID)) {
        if ((rv = sm2_za(zbuf, id, idlen, sg->pub)) != APR_SUCCESS)
            return rv;
        za = zbuf;
    }
    ctx = EVP_MD_CTX_new();
    ok = ctx && EVP_DigestInit_ex(ctx, alg_sm3(), NULL) && EVP_DigestUpdate(ctx, za, 32)
         && EVP_DigestUpdate(ctx, data, n) && EVP_DigestFinal_ex(ctx, e, NULL);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return HG_ECRYPTO;
    /* a k outside [1, n-1] comes about once in 2^32 draws, a retry of the signature once in 2^254 */
    for (tries = 0, ok = 0; !ok && tries < 64; tries++)
        ok = RAND_priv_bytes(k, sizeof k) == 1 && hg_sm2_scalar_valid(k)
             && hg_sm2_sign_digest(raw, raw + 32, &sg->key, e, k);
    OPENSSL_cleanse(k, sizeof k);
    if (ok)
        rv = hg_sm2_sig_raw_to_der(sig_der, siglen, p, raw);
    return rv;
}

apr_status_t hg_sm2_sign(unsigned char **sig_der, apr_size_t *siglen, apr_pool_t *p,
                         const hg_pkey_t *pk, const char *id, const void *data, apr_size_t n)
{
    apr_status_t rv;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *buf;
    size_t len;

    *sig_der = NULL;
    *siglen = 0;
    if (!p || (!data && n)) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (pk && pk->sm2) {
        const char *uid = id ? id : HG_SM2_DEFAULT_ID;
        apr_size_t idlen = strlen(uid);

        if (idlen > 8191)       /* ENTL is a 16-bit bit count */
            rv = HG_EINVALID;
        else
            rv = sm2_sign_fast(sig_der, siglen, p, pk->sm2, uid, idlen, data ? data : (const void *)"", n);
        goto leave;
    }
    if (APR_SUCCESS != (rv = sm2_md_ctx(&mctx, &pctx, pk, id, 1)))
        goto leave;
    rv = HG_ECRYPTO;
    if (!hg_pkey_has_private(pk))
        goto leave;
    len = (size_t)EVP_PKEY_get_size(pk->pkey);      /* the largest DER signature */
    buf = apr_palloc(p, len);
    if (EVP_DigestSign(mctx, buf, &len, data ? data : (const void *)"", n) <= 0)
        goto leave;
    *sig_der = buf;
    *siglen = len;
    rv = APR_SUCCESS;
leave:
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(pctx);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "sm2 sign");
    return rv;
}

apr_status_t hg_sm2_verify(const hg_pkey_t *pk, const char *id, const void *data, apr_size_t n,
                           const unsigned char *sig_der, apr_size_t siglen)
{
    apr_status_t rv;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;

    if ((!data && n) || (!sig_der && siglen)) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (APR_SUCCESS != (rv = sm2_md_ctx(&mctx, &pctx, pk, id, 0)))
        goto leave;
    /* 0 = wrong signature, < 0 = could not even parse it: both are "does not verify" */
    if (!sig_der || !siglen || siglen > 1024
        || EVP_DigestVerify(mctx, sig_der, siglen, data ? data : (const void *)"", n) != 1)
        rv = HG_EBADSIG;
leave:
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(pctx);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "sm2 verify");
    return rv;
}

apr_status_t hg_sm2_sig_der_to_raw(unsigned char raw[64], const unsigned char *der, apr_size_t len)
{
    apr_status_t rv = HG_EINVALID;
    const unsigned char *pp = der;
    ECDSA_SIG *sig = NULL;
    const BIGNUM *r, *s;

    if (!der || !len || len > 1024)
        goto leave;
    if (!(sig = d2i_ECDSA_SIG(NULL, &pp, (long)len)) || pp != der + len)
        goto leave;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_is_negative(r) || BN_is_negative(s) || BN_num_bytes(r) > 32 || BN_num_bytes(s) > 32
        || BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
        goto leave;
    rv = APR_SUCCESS;
leave:
    ECDSA_SIG_free(sig);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "sm2 signature DER to raw");
    return rv;
}

apr_status_t hg_sm2_sig_raw_to_der(unsigned char **der, apr_size_t *len, apr_pool_t *p,
                                   const unsigned char raw[64])
{
    apr_status_t rv = HG_ECRYPTO;
    ECDSA_SIG *sig = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *buf, *pp;
    int l;

    *der = NULL;
    *len = 0;
    if (!raw || !p) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (!(sig = ECDSA_SIG_new()) || !(r = BN_bin2bn(raw, 32, NULL))
        || !(s = BN_bin2bn(raw + 32, 32, NULL)) || !ECDSA_SIG_set0(sig, r, s))
        goto leave;
    r = s = NULL;                   /* owned by sig now */
    if ((l = i2d_ECDSA_SIG(sig, NULL)) <= 0)
        goto leave;
    pp = buf = apr_palloc(p, (apr_size_t)l);
    if (i2d_ECDSA_SIG(sig, &pp) != l)
        goto leave;
    *der = buf;
    *len = (apr_size_t)l;
    rv = APR_SUCCESS;
leave:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "sm2 signature raw to DER");
    return rv;
}

/* ---------------------------------------------------------------- SM2 encryption */

static apr_status_t sm2_pkey_crypt(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                                   const hg_pkey_t *pk, const void *in, apr_size_t n, int enc)
{
    apr_status_t rv = HG_ECRYPTO;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;

    *out = NULL;
    *outlen = 0;
    if (!p || !in || !n || n > HG_MAX_LEN) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (!hg_pkey_is_sm2(pk) || (!enc && !hg_pkey_has_private(pk)))
        goto leave;
    if (!(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk->pkey, NULL)))
        goto leave;
    if (enc ? (EVP_PKEY_encrypt_init(ctx) <= 0 || EVP_PKEY_encrypt(ctx, NULL, &len, in, n) <= 0)
            : (EVP_PKEY_decrypt_init(ctx) <= 0 || EVP_PKEY_decrypt(ctx, NULL, &len, in, n) <= 0))
        goto leave;
    buf = apr_palloc(p, len + 1);
    if (enc ? EVP_PKEY_encrypt(ctx, buf, &len, in, n) <= 0
            : EVP_PKEY_decrypt(ctx, buf, &len, in, n) <= 0)
        goto leave;
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    rv = APR_SUCCESS;
leave:
    EVP_PKEY_CTX_free(ctx);
    if (rv != APR_SUCCESS)
        rv = fail(rv, enc ? "sm2 encrypt" : "sm2 decrypt");
    return rv;
}

apr_status_t hg_sm2_encrypt(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                            const hg_pkey_t *pk, const void *in, apr_size_t n)
{
    return sm2_pkey_crypt(out, outlen, p, pk, in, n, 1);
}

apr_status_t hg_sm2_decrypt(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                            const hg_pkey_t *pk, const void *in, apr_size_t n)
{
    return sm2_pkey_crypt(out, outlen, p, pk, in, n, 0);
}

/* OpenSSL's SM2 ciphertext layout (crypto/sm2/sm2_crypt.c keeps its template private). */
typedef struct {
    BIGNUM *x;
    BIGNUM *y;
    ASN1_OCTET_STRING *c3;
    ASN1_OCTET_STRING *c2;
} HG_SM2_CT;

ASN1_SEQUENCE(HG_SM2_CT) = {
    ASN1_SIMPLE(HG_SM2_CT, x, BIGNUM),
    ASN1_SIMPLE(HG_SM2_CT, y, BIGNUM),
    ASN1_SIMPLE(HG_SM2_CT, c3, ASN1_OCTET_STRING),
    ASN1_SIMPLE(HG_SM2_CT, c2, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(HG_SM2_CT)
IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(HG_SM2_CT)
IMPLEMENT_STATIC_ASN1_ENCODE_FUNCTIONS(HG_SM2_CT)

apr_status_t hg_sm2_cipher_der_to_c1c3c2(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                                         const unsigned char *der, apr_size_t len)
{
    apr_status_t rv = HG_EINVALID;
    const unsigned char *pp = der;
    HG_SM2_CT *ct = NULL;
    unsigned char *buf;
    apr_size_t c2len;

    *out = NULL;
    *outlen = 0;
    if (!p || !der || !len || len > HG_MAX_LEN)
        goto leave;
    if (!(ct = d2i_HG_SM2_CT(NULL, &pp, (long)len)) || pp != der + len)
        goto leave;
    if (BN_is_negative(ct->x) || BN_is_negative(ct->y) || BN_num_bytes(ct->x) > 32
        || BN_num_bytes(ct->y) > 32 || ASN1_STRING_length(ct->c3) != 32
        || ASN1_STRING_length(ct->c2) <= 0)
        goto leave;
    c2len = (apr_size_t)ASN1_STRING_length(ct->c2);
    buf = apr_palloc(p, 65 + 32 + c2len + 1);
    buf[0] = 0x04;
    if (BN_bn2binpad(ct->x, buf + 1, 32) != 32 || BN_bn2binpad(ct->y, buf + 33, 32) != 32)
        goto leave;
    memcpy(buf + 65, ASN1_STRING_get0_data(ct->c3), 32);
    memcpy(buf + 97, ASN1_STRING_get0_data(ct->c2), c2len);
    buf[97 + c2len] = '\0';
    *out = buf;
    *outlen = 97 + c2len;
    rv = APR_SUCCESS;
leave:
    HG_SM2_CT_free(ct);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "sm2 ciphertext DER to C1C3C2");
    return rv;
}

apr_status_t hg_sm2_cipher_c1c3c2_to_der(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                                         const unsigned char *c1c3c2, apr_size_t len)
{
    apr_status_t rv = HG_EINVALID;
    HG_SM2_CT *ct = NULL;
    unsigned char *buf, *pp;
    int l;

    *out = NULL;
    *outlen = 0;
    if (!p || !c1c3c2 || len < 65 + 32 + 1 || len > HG_MAX_LEN || c1c3c2[0] != 0x04)
        goto leave;
    rv = HG_ECRYPTO;
    if (!(ct = HG_SM2_CT_new())
        || !BN_bin2bn(c1c3c2 + 1, 32, ct->x) || !BN_bin2bn(c1c3c2 + 33, 32, ct->y)
        || !ASN1_OCTET_STRING_set(ct->c3, c1c3c2 + 65, 32)
        || !ASN1_OCTET_STRING_set(ct->c2, c1c3c2 + 97, (int)(len - 97)))
        goto leave;
    if ((l = i2d_HG_SM2_CT(ct, NULL)) <= 0)
        goto leave;
    pp = buf = apr_palloc(p, (apr_size_t)l);
    if (i2d_HG_SM2_CT(ct, &pp) != l)
        goto leave;
    *out = buf;
    *outlen = (apr_size_t)l;
    rv = APR_SUCCESS;
leave:
    HG_SM2_CT_free(ct);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "sm2 ciphertext C1C3C2 to DER");
    return rv;
}

/* ---------------------------------------------------------------- RSA */

apr_status_t hg_rsa_sha256_sign(unsigned char **sig, apr_size_t *siglen, apr_pool_t *p,
                                const hg_pkey_t *pk, const void *data, apr_size_t n)
{
    apr_status_t rv = HG_ECRYPTO;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;          /* owned by mctx */
    unsigned char *buf;
    size_t len;

    *sig = NULL;
    *siglen = 0;
    if (!p || (!data && n)) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (!hg_pkey_is_rsa(pk) || !hg_pkey_has_private(pk))
        goto leave;
    if (!(mctx = EVP_MD_CTX_new())
        || EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), NULL, pk->pkey) <= 0
        || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
        goto leave;
    len = (size_t)EVP_PKEY_get_size(pk->pkey);
    buf = apr_palloc(p, len);
    if (EVP_DigestSign(mctx, buf, &len, data ? data : (const void *)"", n) <= 0)
        goto leave;
    *sig = buf;
    *siglen = len;
    rv = APR_SUCCESS;
leave:
    EVP_MD_CTX_free(mctx);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "rsa-sha256 sign");
    return rv;
}

apr_status_t hg_rsa_sha256_verify(const hg_pkey_t *pk, const void *data, apr_size_t n,
                                  const unsigned char *sig, apr_size_t siglen)
{
    apr_status_t rv = HG_ECRYPTO;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;

    if ((!data && n) || (!sig && siglen)) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (!hg_pkey_is_rsa(pk))
        goto leave;
    if (!(mctx = EVP_MD_CTX_new())
        || EVP_DigestVerifyInit(mctx, &pctx, EVP_sha256(), NULL, pk->pkey) <= 0
        || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
        goto leave;
    rv = APR_SUCCESS;
    if (!sig || !siglen
        || EVP_DigestVerify(mctx, sig, siglen, data ? data : (const void *)"", n) != 1)
        rv = HG_EBADSIG;
leave:
    EVP_MD_CTX_free(mctx);
    if (rv != APR_SUCCESS)
        rv = fail(rv, "rsa-sha256 verify");
    return rv;
}

/* ---------------------------------------------------------------- randomness */

apr_status_t hg_random_bytes(void *buf, apr_size_t n)
{
    apr_status_t rv = APR_SUCCESS;
    unsigned char *b = buf;

    if (!buf && n) {
        rv = fail(HG_EINVALID, "random bytes");
        goto leave;
    }
    while (n) {
        int chunk = n > (1u << 20) ? (1 << 20) : (int)n;
        if (RAND_bytes(b, chunk) != 1) {
            rv = fail(HG_ECRYPTO, "RAND_bytes");
            goto leave;
        }
        b += chunk;
        n -= (apr_size_t)chunk;
    }
leave:
    return rv;
}

apr_status_t hg_random_string(char **s, apr_pool_t *p, apr_size_t n, const char *alphabet)
{
    apr_status_t rv = APR_SUCCESS;
    unsigned char rnd[128];
    apr_size_t m, i = 0, j = sizeof(rnd);
    unsigned int limit;
    char *str;

    *s = NULL;
    if (!alphabet)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    m = strlen(alphabet);
    if (!p || m == 0 || m > 256) {
        rv = fail(HG_EINVALID, "random string: alphabet must have 1..256 characters");
        goto leave;
    }
    /* accept a byte only below the largest multiple of m, so b % m is uniform */
    limit = 256 - (256 % (unsigned int)m);
    str = apr_palloc(p, n + 1);
    while (i < n) {
        if (j == sizeof(rnd)) {
            if (APR_SUCCESS != (rv = hg_random_bytes(rnd, sizeof(rnd))))
                goto leave;
            j = 0;
        }
        if (rnd[j] < limit)
            str[i++] = alphabet[rnd[j] % m];
        j++;
    }
    str[n] = '\0';
    *s = str;
leave:
    OPENSSL_cleanse(rnd, sizeof(rnd));
    return rv;
}

int hg_ct_equal(const void *a, const void *b, apr_size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---------------------------------------------------------------- encodings */

char *hg_hex_encode(apr_pool_t *p, const void *d, apr_size_t n, int upper)
{
    const char *hx = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    const unsigned char *b = d;
    char *s = apr_palloc(p, 2 * n + 1);
    apr_size_t i;

    for (i = 0; i < n; i++) {
        s[2 * i] = hx[b[i] >> 4];
        s[2 * i + 1] = hx[b[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

apr_status_t hg_hex_decode(unsigned char **out, apr_size_t *outlen, apr_pool_t *p, const char *hex)
{
    apr_status_t rv = APR_SUCCESS;
    apr_size_t n, i;
    unsigned char *buf;

    *out = NULL;
    *outlen = 0;
    if (!hex || !p || (n = strlen(hex)) % 2) {
        rv = fail(HG_EINVALID, "hex: odd length");
        goto leave;
    }
    buf = apr_palloc(p, n / 2 + 1);
    for (i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            rv = fail(HG_EINVALID, "hex: invalid character");
            goto leave;
        }
        buf[i] = (unsigned char)(hi << 4 | lo);
    }
    buf[n / 2] = '\0';
    *out = buf;
    *outlen = n / 2;
leave:
    return rv;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(apr_pool_t *p, const void *d, apr_size_t n, int url)
{
    const char *al = url ? b64_url : b64_std;
    const unsigned char *b = d;
    char *s = apr_palloc(p, (n + 2) / 3 * 4 + 1), *o = s;
    apr_size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        *o++ = al[b[i] >> 2];
        *o++ = al[(b[i] & 3) << 4 | b[i + 1] >> 4];
        *o++ = al[(b[i + 1] & 15) << 2 | b[i + 2] >> 6];
        *o++ = al[b[i + 2] & 63];
    }
    if (n - i == 1) {
        *o++ = al[b[i] >> 2];
        *o++ = al[(b[i] & 3) << 4];
        if (!url) {
            *o++ = '=';
            *o++ = '=';
        }
    }
    else if (n - i == 2) {
        *o++ = al[b[i] >> 2];
        *o++ = al[(b[i] & 3) << 4 | b[i + 1] >> 4];
        *o++ = al[(b[i + 1] & 15) << 2];
        if (!url)
            *o++ = '=';
    }
    *o = '\0';
    return s;
}

char *hg_base64_encode(apr_pool_t *p, const void *d, apr_size_t n)
{
    return b64_encode(p, d, n, 0);
}

char *hg_base64url_encode(apr_pool_t *p, const void *d, apr_size_t n)
{
    return b64_encode(p, d, n, 1);
}

static int b64val(unsigned char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* Decoded size of a valid input, or HG_EINVALID: checks length, padding and alphabet. */
static apr_status_t b64_check(apr_size_t *declen, apr_size_t *nchars, const char *s, int url)
{
    apr_status_t rv = HG_EINVALID;
    apr_size_t n = strlen(s), pad = 0, i, rem;

    if (!url) {
        if (n % 4)
            goto leave;
        while (pad < 2 && n > pad && s[n - 1 - pad] == '=')
            pad++;
    }
    n -= pad;
    rem = n % 4;
    /* a lone trailing character cannot hold a byte; padding must complete the last quad */
    if (rem == 1 || (!url && pad != (rem ? 4 - rem : 0)))
        goto leave;
    for (i = 0; i < n; i++)
        if (b64val((unsigned char)s[i], url) < 0)
            goto leave;
    *nchars = n;
    *declen = n / 4 * 3 + (rem ? rem - 1 : 0);
    rv = APR_SUCCESS;
leave:
    return rv;
}

static void b64_decode_chars(unsigned char *out, const char *s, apr_size_t n, int url)
{
    apr_size_t i, o = 0;
    unsigned int acc = 0;
    int bits = 0;

    for (i = 0; i < n; i++) {
        acc = (acc << 6 | (unsigned int)b64val((unsigned char)s[i], url)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
}

/* The bits left over after the last whole byte must be zero: one canonical text per value. */
static int b64_tail_canonical(const char *s, apr_size_t n, int url)
{
    apr_size_t rem = n % 4;
    int v;

    if (!rem)
        return 1;
    v = b64val((unsigned char)s[n - 1], url);
    return rem == 2 ? (v & 15) == 0 : (v & 3) == 0;
}

apr_status_t hg_base64_decode_buf(unsigned char *out, apr_size_t cap, apr_size_t *outlen,
                                  const char *s, int url)
{
    apr_status_t rv;
    apr_size_t declen = 0, nchars = 0;

    *outlen = 0;
    if (!s) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (APR_SUCCESS != (rv = b64_check(&declen, &nchars, s, url)))
        goto leave;
    if (!b64_tail_canonical(s, nchars, url)) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (declen > cap) {
        rv = APR_ENOSPC;
        goto leave;
    }
    b64_decode_chars(out, s, nchars, url);
    *outlen = declen;
leave:
    if (rv != APR_SUCCESS)
        rv = fail(rv, url ? "base64url decode" : "base64 decode");
    return rv;
}

static apr_status_t b64_decode_pool(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                                    const char *s, int url)
{
    apr_status_t rv;
    apr_size_t declen = 0, nchars = 0;
    unsigned char *buf;

    *out = NULL;
    *outlen = 0;
    if (!s || !p || APR_SUCCESS != b64_check(&declen, &nchars, s, url)) {
        rv = fail(HG_EINVALID, url ? "base64url decode" : "base64 decode");
        goto leave;
    }
    buf = apr_palloc(p, declen + 1);
    if (APR_SUCCESS != (rv = hg_base64_decode_buf(buf, declen, outlen, s, url)))
        goto leave;
    buf[declen] = '\0';
    *out = buf;
leave:
    return rv;
}

apr_status_t hg_base64_decode(unsigned char **out, apr_size_t *outlen, apr_pool_t *p, const char *s)
{
    return b64_decode_pool(out, outlen, p, s, 0);
}

apr_status_t hg_base64url_decode(unsigned char **out, apr_size_t *outlen, apr_pool_t *p, const char *s)
{
    return b64_decode_pool(out, outlen, p, s, 1);
}

/* ---------------------------------------------------------------- protocol helpers */

apr_status_t hg_nhsa_data_key(unsigned char key[16], const char *app_id, const char *app_secret)
{
    static const char hx[] = "0123456789ABCDEF";
    apr_status_t rv = APR_SUCCESS;
    unsigned char block[16], ct[16];
    apr_size_t slen;
    int i;

    if (!key || !app_id || !app_secret || strlen(app_id) < 16) {
        rv = fail(HG_EINVALID, "nhsa data key: appId needs at least 16 characters");
        goto leave;
    }
    /* Only the first 16 hex digits = the first 8 bytes of the first ECB block are kept, and
     * that block depends only on the first 16 bytes of the PKCS#7-padded secret. */
    slen = strlen(app_secret);
    if (slen >= 16) {
        memcpy(block, app_secret, 16);
    }
    else {
        memcpy(block, app_secret, slen);
        memset(block + slen, (int)(16 - slen), 16 - slen);
    }
    if (APR_SUCCESS != (rv = hg_sm4_ecb_raw(ct, (const unsigned char *)app_id, block, 16, 1)))
        goto leave;
    for (i = 0; i < 8; i++) {
        key[2 * i] = (unsigned char)hx[ct[i] >> 4];
        key[2 * i + 1] = (unsigned char)hx[ct[i] & 15];
    }
leave:
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(ct, sizeof(ct));
    return rv;
}
