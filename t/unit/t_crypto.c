/* Unit tests for common/hg_crypto.c: published vectors, the mobile-pay vectors, and cross-checks
 * against the openssl command line (run through popen on files in a mkdtemp directory). */
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <ctype.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "tap.h"
#include "hg_crypto.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/t_crypto.XXXXXX";

/* ---- helpers ---- */

static const char *path(const char *name)
{
    return apr_pstrcat(pool, dir, "/", name, NULL);
}

static void write_file(const char *name, const void *d, apr_size_t n)
{
    FILE *f = fopen(path(name), "wb");
    if (!f || fwrite(d, 1, n, f) != n) {
        printf("Bail out! cannot write %s\n", path(name));
        exit(2);
    }
    fclose(f);
}

static unsigned char *read_file(const char *name, apr_size_t *n)
{
    FILE *f = fopen(path(name), "rb");
    unsigned char *buf = apr_palloc(pool, 65536);
    *n = 0;
    if (!f)
        return NULL;
    *n = fread(buf, 1, 65535, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

/* Run a shell command in the temp dir; returns its exit status and (trimmed) stdout+stderr. */
static int run(char **out, const char *fmt, ...)
{
    char cmd[4096], buf[8192];
    size_t n = 0, r;
    va_list ap;
    FILE *f;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    f = popen(apr_psprintf(pool, "cd %s && (%s) 2>&1 </dev/null", dir, cmd), "r");
    if (!f)
        return -1;
    while (n < sizeof(buf) - 1 && (r = fread(buf + n, 1, sizeof(buf) - 1 - n, f)) > 0)
        n += r;
    buf[n] = '\0';
    while (n && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    st = pclose(f);
    if (out)
        *out = apr_pstrdup(pool, buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *hex(const void *d, apr_size_t n)
{
    return hg_hex_encode(pool, d, n, 0);
}

static char *lower(const char *s)
{
    char *r = apr_pstrdup(pool, s), *c;
    for (c = r; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return r;
}

static unsigned char *unhex(const char *h)
{
    unsigned char *out;
    apr_size_t n;
    if (hg_hex_decode(&out, &n, pool, h) != APR_SUCCESS) {
        printf("Bail out! bad hex in test: %s\n", h);
        exit(2);
    }
    return out;
}

/* ---- digests, MACs, KDF ---- */

static void t_digests(void)
{
    unsigned char md[32];
    char md5[33];
    const char *abcd16 = "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd";

    tap_is_int(hg_sm3(md, "abc", 3), APR_SUCCESS, "sm3 ok");
    tap_is_str(hex(md, 32), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
               "SM3(\"abc\") = GB/T 32905 example 1");
    hg_sm3(md, abcd16, 64);
    tap_is_str(hex(md, 32), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
               "SM3(\"abcd\"x16) = GB/T 32905 example 2");
    hg_sha256(md, "abc", 3);
    tap_is_str(hex(md, 32), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "SHA-256(\"abc\") = FIPS 180-2 vector");
    hg_md5_hex_upper(md5, "abc", 3);
    tap_is_str(md5, "900150983CD24FB0D6963F7D28E17F72", "MD5(\"abc\") uppercase hex (RFC 1321)");
    hg_hmac_sha256(md, "Jefe", 4, "what do ya want for nothing?", 28);
    tap_is_str(hex(md, 32), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
               "HMAC-SHA256 RFC 4231 test case 2");
}

static void t_mac_vs_cli(void)
{
    static const char *keys[] = { "6b6579", "00112233445566778899aabbccddeeff",
                                  /* longer than the block: HMAC hashes the key first */
                                  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                                  "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                                  "40414243" };
    const char *msg = "POST\n/api/v1/ping?x=1\n1700000000\nabcdefghijklmnop\n{\"a\":\"中文\"}\n";
    unsigned char md[32], *key;
    char *cli;
    int i;

    write_file("mac.in", msg, strlen(msg));
    for (i = 0; i < 3; i++) {
        key = unhex(keys[i]);
        tap_is_int(hg_hmac_sm3(md, key, strlen(keys[i]) / 2, msg, strlen(msg)), APR_SUCCESS,
                   "hmac-sm3 ok (key %d)", i);
        run(&cli, "openssl mac -digest SM3 -macopt hexkey:%s -in mac.in HMAC", keys[i]);
        tap_is_str(hex(md, 32), lower(cli), "HMAC-SM3 = openssl mac (key %d)", i);
        hg_hmac_sha256(md, key, strlen(keys[i]) / 2, msg, strlen(msg));
        run(&cli, "openssl mac -digest SHA256 -macopt hexkey:%s -in mac.in HMAC", keys[i]);
        tap_is_str(hex(md, 32), lower(cli), "HMAC-SHA256 = openssl mac (key %d)", i);
    }
    /* gathered input gives the same MAC as the concatenation */
    {
        unsigned char md2[32];
        hg_iov_t v[3] = { { msg, 5 }, { NULL, 0 }, { msg + 5, strlen(msg) - 5 } };
        hg_hmac_sm3(md, "k", 1, msg, strlen(msg));
        tap_ok(hg_hmac_sm3_v(md2, "k", 1, v, 3) == APR_SUCCESS && memcmp(md, md2, 32) == 0,
               "hg_hmac_sm3_v over 3 pieces = hg_hmac_sm3 over the whole");
        hg_hmac_sha256(md, "k", 1, msg, strlen(msg));
        tap_ok(hg_hmac_sha256_v(md2, "k", 1, v, 3) == APR_SUCCESS && memcmp(md, md2, 32) == 0,
               "hg_hmac_sha256_v over 3 pieces = hg_hmac_sha256 over the whole");
    }
    tap_is_int(hg_hmac_sha256(md, "", 0, "abc", 3), APR_SUCCESS, "HMAC with an empty key works");
    run(&cli, "printf abc | openssl mac -digest SHA256 -macopt hexkey: HMAC");
    tap_is_str(hex(md, 32), lower(cli), "empty-key HMAC-SHA256 = openssl mac");
}

static void t_pbkdf2(void)
{
    unsigned char out[32];

    tap_is_int(hg_pbkdf2_sha256(out, 32, "password", 8, "salt", 4, 1), APR_SUCCESS, "pbkdf2 ok");
    tap_is_str(hex(out, 32), "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
               "PBKDF2-SHA256(password, salt, 1, 32)");
    hg_pbkdf2_sha256(out, 32, "password", 8, "salt", 4, 2);
    tap_is_str(hex(out, 32), "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
               "PBKDF2-SHA256(password, salt, 2, 32)");
    tap_is_int(hg_pbkdf2_sha256(out, 32, "password", 8, "salt", 4, 0), HG_EINVALID,
               "pbkdf2 refuses 0 iterations");
}

/* ---- SM4 ---- */

static void t_sm4(void)
{
    const unsigned char *key = unhex("0123456789abcdeffedcba9876543210");
    unsigned char raw[16], block[16], iv[16], *ct, *pt, bad[32];
    apr_size_t ctlen, ptlen;
    char *cli;
    const char *msg = "SM4-CBC with PKCS#7: 三十三个字节 of text";
    int i;

    /* raw first, then padded: a fresh context per call, so no padding setting leaks (gotcha 4) */
    tap_is_int(hg_sm4_ecb_raw(raw, key, key, 16, 1), APR_SUCCESS, "sm4 raw encrypt ok");
    tap_is_str(hex(raw, 16), "681edf34d206965e86b3e94f536e4246", "SM4 GB/T 32907 vector (raw block)");
    hg_sm4_ecb_raw(block, key, raw, 16, 0);
    tap_ok(memcmp(block, key, 16) == 0, "SM4 raw decrypt gives the plaintext back");
    tap_is_int(hg_sm4_ecb_raw(block, key, key, 15, 1), HG_EINVALID, "sm4 raw refuses 15 bytes");

    tap_is_int(hg_sm4_ecb_encrypt(pool, &ct, &ctlen, key, key, 16), APR_SUCCESS, "sm4-ecb encrypt ok");
    tap_is_int(ctlen, 32, "a full block gets a full padding block");
    tap_is_str(hex(ct, 16), "681edf34d206965e86b3e94f536e4246", "SM4-ECB first block = GB/T 32907 vector");
    tap_is_int(hg_sm4_ecb_decrypt(pool, &pt, &ptlen, key, ct, ctlen), APR_SUCCESS, "sm4-ecb decrypt ok");
    tap_ok(ptlen == 16 && memcmp(pt, key, 16) == 0, "SM4-ECB round trip");
    tap_is_int(hg_sm4_ecb_decrypt(pool, &pt, &ptlen, key, ct, 16), HG_ECRYPTO,
               "ECB decrypt of a block whose padding is wrong -> HG_ECRYPTO");

    /* CBC round trip, then against the command line */
    for (i = 0; i < 16; i++)
        iv[i] = (unsigned char)(0xa0 + i);
    tap_is_int(hg_sm4_cbc_encrypt(pool, &ct, &ctlen, key, iv, msg, strlen(msg)), APR_SUCCESS,
               "sm4-cbc encrypt ok");
    tap_is_int(ctlen, (strlen(msg) / 16 + 1) * 16, "CBC ciphertext length is padded");
    write_file("cbc.in", msg, strlen(msg));
    run(&cli, "openssl enc -sm4-cbc -K %s -iv %s -in cbc.in | od -An -v -tx1 | tr -d ' \\n'",
        hex(key, 16), hex(iv, 16));
    tap_is_str(hex(ct, ctlen), cli, "SM4-CBC = openssl enc -sm4-cbc");
    tap_is_int(hg_sm4_cbc_decrypt(pool, &pt, &ptlen, key, iv, ct, ctlen), APR_SUCCESS, "cbc decrypt ok");
    tap_ok(ptlen == strlen(msg) && memcmp(pt, msg, ptlen) == 0 && pt[ptlen] == '\0',
           "SM4-CBC round trip (NUL-terminated)");
    tap_is_int(hg_sm4_cbc_encrypt(pool, &ct, &ctlen, key, iv, "", 0), APR_SUCCESS, "cbc of nothing");
    tap_ok(ctlen == 16 && hg_sm4_cbc_decrypt(pool, &pt, &ptlen, key, iv, ct, ctlen) == APR_SUCCESS
           && ptlen == 0, "empty plaintext round trip (one padding block)");

    /* a last block that decrypts to ...00 / ...11 / 05 05 05 05 04: padding invalid */
    memset(block, 'x', 16);
    block[15] = 0x00;
    for (i = 0; i < 16; i++)
        block[i] ^= iv[i];
    hg_sm4_ecb_raw(bad, key, block, 16, 1);
    tap_is_int(hg_sm4_cbc_decrypt(pool, &pt, &ptlen, key, iv, bad, 16), HG_ECRYPTO,
               "CBC pad byte 0 -> HG_ECRYPTO");
    memset(block, 'x', 16);
    block[15] = 0x11;
    for (i = 0; i < 16; i++)
        block[i] ^= iv[i];
    hg_sm4_ecb_raw(bad, key, block, 16, 1);
    tap_is_int(hg_sm4_cbc_decrypt(pool, &pt, &ptlen, key, iv, bad, 16), HG_ECRYPTO,
               "CBC pad byte 17 -> HG_ECRYPTO");
    memset(block, 'x', 16);
    memset(block + 11, 5, 5);
    block[11] = 4;
    for (i = 0; i < 16; i++)
        block[i] ^= iv[i];
    hg_sm4_ecb_raw(bad, key, block, 16, 1);
    tap_is_int(hg_sm4_cbc_decrypt(pool, &pt, &ptlen, key, iv, bad, 16), HG_ECRYPTO,
               "CBC inconsistent pad bytes -> HG_ECRYPTO");
    tap_is_int(hg_sm4_cbc_decrypt(pool, &pt, &ptlen, key, iv, bad, 15), HG_ECRYPTO,
               "CBC ciphertext of 15 bytes -> HG_ECRYPTO");
    tap_is_int(hg_sm4_cbc_decrypt(pool, &pt, &ptlen, key, iv, bad, 0), HG_ECRYPTO,
               "CBC empty ciphertext -> HG_ECRYPTO");
}

/* ---- mobile-pay.md §3.3/3.4 ---- */

static void t_nhsa(void)
{
    const char *app_id = "TESTAPPID0000001XYZ", *secret = "TESTSECRET0123456789ABCDEFGHIJKL";
    const char *json = "{\"payOrdId\":\"PO-1\"}";
    unsigned char dkey[16], *ct, *pt;
    apr_size_t ctlen, ptlen;
    char *cli;

    hg_sm4_ecb_encrypt(pool, &ct, &ctlen, (const unsigned char *)app_id, secret, strlen(secret));
    tap_is_str(hg_hex_encode(pool, ct, ctlen, 1),
               "CCEA4B1737E18260FEEBEE84868B3D6E06A10A79F4CE0E79C4A0B0E015BF654547C55F4D8C6330659698EEBC50664FDC",
               "mobile-pay §3.4: SM4-ECB-PKCS7(appId[0..16), appSecret)");
    tap_is_int(hg_nhsa_data_key(dkey, app_id, secret), APR_SUCCESS, "nhsa data key ok");
    tap_is_str(apr_pstrmemdup(pool, (const char *)dkey, 16), "CCEA4B1737E18260",
               "mobile-pay §3.4: derived key string");
    tap_is_str(hex(dkey, 16), "43434541344231373337453138323630", "mobile-pay §3.4: key bytes");
    hg_sm4_ecb_encrypt(pool, &ct, &ctlen, dkey, json, strlen(json));
    tap_is_str(hg_hex_encode(pool, ct, ctlen, 1),
               "6E0D6655B0E75408ABB23EA17E7F76D1E029F9ECFAFC51C7591609F2CB9451D1",
               "mobile-pay §3.4: encData of {\"payOrdId\":\"PO-1\"}");
    tap_ok(hg_sm4_ecb_decrypt(pool, &pt, &ptlen, dkey, ct, ctlen) == APR_SUCCESS
           && strcmp((char *)pt, json) == 0, "encData decrypts back to the JSON");

    /* short secret (< one block): our first-block shortcut against the command line */
    write_file("secret.in", "short", 5);
    run(&cli, "openssl enc -sm4-ecb -K %s -in secret.in | od -An -v -tx1 | tr -d ' \\n' | tr a-f A-F | cut -c1-16",
        hex("ABCDEFGHIJKLMNOP", 16));
    hg_nhsa_data_key(dkey, "ABCDEFGHIJKLMNOP", "short");
    tap_is_str(apr_pstrmemdup(pool, (const char *)dkey, 16), cli,
               "data key for a 5-byte secret = openssl enc -sm4-ecb, first 16 hex");
    tap_is_int(hg_nhsa_data_key(dkey, "TOO-SHORT-APPID", secret), HG_EINVALID,
               "appId shorter than 16 -> HG_EINVALID");
}

/* ---- AES-256-GCM ---- */

static void t_gcm(void)
{
    unsigned char key[32], iv[12], zero[32] = { 0 }, *ct, *pt;
    apr_size_t ctlen, ptlen;
    const char *aad = "transaction", *msg = "{\"mchid\":\"1900000001\",\"amount\":100}";
    int i;

    /* McGrew & Viega GCM spec, test cases 13 and 14 (AES-256, zero key and IV) */
    tap_is_int(hg_aes256gcm_encrypt(pool, &ct, &ctlen, zero, zero, NULL, 0, "", 0), APR_SUCCESS,
               "gcm encrypt of nothing ok");
    tap_is_str(hex(ct, ctlen), "530f8afbc74536b9a963b4f1c4cb738b", "GCM test case 13 (tag only)");
    hg_aes256gcm_encrypt(pool, &ct, &ctlen, zero, zero, NULL, 0, zero, 16);
    tap_is_str(hex(ct, ctlen), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919",
               "GCM test case 14 (ciphertext || tag)");

    for (i = 0; i < 32; i++)
        key[i] = (unsigned char)i;
    memcpy(iv, "0123456789ab", 12);
    tap_is_int(hg_aes256gcm_encrypt(pool, &ct, &ctlen, key, iv, aad, strlen(aad), msg, strlen(msg)),
               APR_SUCCESS, "gcm encrypt ok");
    tap_is_int(ctlen, strlen(msg) + 16, "gcm output = ciphertext + 16-byte tag");
    tap_ok(hg_aes256gcm_decrypt(pool, &pt, &ptlen, key, iv, aad, strlen(aad), ct, ctlen) == APR_SUCCESS
           && ptlen == strlen(msg) && strcmp((char *)pt, msg) == 0, "gcm round trip");
    ct[3] ^= 1;
    tap_is_int(hg_aes256gcm_decrypt(pool, &pt, &ptlen, key, iv, aad, strlen(aad), ct, ctlen),
               HG_ECRYPTO, "gcm: flipped ciphertext bit -> HG_ECRYPTO");
    ct[3] ^= 1;
    ct[ctlen - 1] ^= 0x80;
    tap_is_int(hg_aes256gcm_decrypt(pool, &pt, &ptlen, key, iv, aad, strlen(aad), ct, ctlen),
               HG_ECRYPTO, "gcm: flipped tag bit -> HG_ECRYPTO");
    ct[ctlen - 1] ^= 0x80;
    tap_is_int(hg_aes256gcm_decrypt(pool, &pt, &ptlen, key, iv, "transactioN", 11, ct, ctlen),
               HG_ECRYPTO, "gcm: other AAD -> HG_ECRYPTO");
    tap_is_int(hg_aes256gcm_decrypt(pool, &pt, &ptlen, key, iv, aad, strlen(aad), ct, 15),
               HG_ECRYPTO, "gcm: shorter than a tag -> HG_ECRYPTO");
    tap_is_int(hg_aes256gcm_decrypt(pool, &pt, &ptlen, key, iv, aad, strlen(aad), ct, ctlen),
               APR_SUCCESS, "gcm: untampered still decrypts");
}

/* ---- SM2 ---- */

static void t_sm2(void)
{
    const char *data = "appId=TESTAPPID0000001XYZ&data={\"payOrdId\":\"PO-1\"}&key=s3cr3t";
    const char *secret = "身份证号 110101199003074258";
    hg_pkey_t *pk, *pub, *cli_key, *raw_priv, *raw_pub, *cert, *enc_key;
    unsigned char *sig, *der2, raw[64], *buf, prv[32], pt65[65], *ct, *ct2, *c1c3c2, *pt;
    apr_size_t siglen, der2len, n, ctlen, ct2len, c1len, ptlen;
    char *pem, *pubpem, *out;
    int st;

    tap_is_int(hg_sm2_generate(&pk, pool), APR_SUCCESS, "sm2 keygen");
    tap_ok(hg_pkey_is_sm2(pk) && hg_pkey_has_private(pk) && !hg_pkey_is_rsa(pk), "generated key is SM2 with private part");
    tap_is_int(hg_pkey_to_pem(&pem, pool, pk, 1), APR_SUCCESS, "private PEM export");
    tap_ok(strstr(pem, "-----BEGIN PRIVATE KEY-----") != NULL, "PKCS#8 PEM");
    tap_is_int(hg_pkey_to_pem(&pubpem, pool, pk, 0), APR_SUCCESS, "public PEM export");
    tap_ok(hg_pkey_load_pem(&pub, pool, pubpem, 0) == APR_SUCCESS && hg_pkey_is_sm2(pub)
           && !hg_pkey_has_private(pub), "public PEM loads back as a public SM2 key");
    tap_is_int(hg_pkey_to_pem(&out, pool, pub, 1), HG_ECRYPTO, "no private PEM from a public key");
    write_file("c.key", pem, strlen(pem));
    write_file("c.pub", pubpem, strlen(pubpem));
    write_file("data", data, strlen(data));

    /* C signs, the command line verifies */
    tap_is_int(hg_sm2_sign(&sig, &siglen, pool, pk, NULL, data, strlen(data)), APR_SUCCESS, "sm2 sign");
    write_file("c.sig", sig, siglen);
    st = run(&out, "openssl pkeyutl -verify -pubin -inkey c.pub -rawin -digest sm3 "
                   "-pkeyopt distid:1234567812345678 -in data -sigfile c.sig");
    tap_ok(st == 0 && strstr(out, "Signature Verified Successfully"), "C signature verifies with openssl pkeyutl distid:1234567812345678");
    if (st)
        tap_diag("%s", out);
    st = run(&out, "openssl pkeyutl -verify -pubin -inkey c.pub -rawin -digest sm3 -in data -sigfile c.sig");
    tap_ok(st != 0, "... and does not verify with OpenSSL's default (empty) id");
    tap_is_int(hg_sm2_verify(pub, NULL, data, strlen(data), sig, siglen), APR_SUCCESS, "C verify of C signature");
    tap_is_int(hg_sm2_verify(pub, "1234567812345679", data, strlen(data), sig, siglen), HG_EBADSIG,
               "wrong user id -> HG_EBADSIG");
    tap_is_int(hg_sm2_verify(pub, "", data, strlen(data), sig, siglen), HG_EBADSIG, "empty user id -> HG_EBADSIG");
    tap_is_int(hg_sm2_verify(pub, NULL, data, strlen(data) - 1, sig, siglen), HG_EBADSIG,
               "tampered data -> HG_EBADSIG");
    tap_is_int(hg_sm2_verify(pub, NULL, data, strlen(data), sig, siglen - 1), HG_EBADSIG,
               "truncated DER signature -> HG_EBADSIG");
    tap_is_int(hg_sm2_sign(&sig, &siglen, pool, pub, NULL, data, 3), HG_ECRYPTO, "cannot sign with a public key");

    /* a key generated by the command line, which also signs (with a non-default id too) */
    run(NULL, "openssl genpkey -algorithm SM2 -out o.key && openssl pkey -in o.key -pubout -out o.pub");
    run(NULL, "openssl pkeyutl -sign -inkey o.key -rawin -digest sm3 -pkeyopt distid:1234567812345678 -in data -out o.sig");
    run(NULL, "openssl pkeyutl -sign -inkey o.key -rawin -digest sm3 -pkeyopt distid:hospital@42 -in data -out o2.sig");
    tap_is_int(hg_pkey_load_file(&cli_key, pool, path("o.pub")), APR_SUCCESS, "load CLI public key file");
    tap_ok(hg_pkey_is_sm2(cli_key), "CLI key is SM2");
    buf = read_file("o.sig", &n);
    tap_is_int(hg_sm2_verify(cli_key, NULL, data, strlen(data), buf, n), APR_SUCCESS,
               "openssl pkeyutl signature verifies in C");
    tap_is_int(hg_sm2_verify(cli_key, "hospital@42", data, strlen(data), buf, n), HG_EBADSIG,
               "... but not under another id");
    buf = read_file("o2.sig", &n);
    tap_is_int(hg_sm2_verify(cli_key, "hospital@42", data, strlen(data), buf, n), APR_SUCCESS,
               "CLI signature with distid:hospital@42 verifies with that id");
    buf = read_file("o.sig", &n);

    /* DER <-> raw r||s */
    tap_is_int(hg_sm2_sig_der_to_raw(raw, buf, n), APR_SUCCESS, "DER -> raw");
    tap_is_int(hg_sm2_sig_raw_to_der(&der2, &der2len, pool, raw), APR_SUCCESS, "raw -> DER");
    tap_ok(der2len == n && memcmp(der2, buf, n) == 0, "DER -> raw -> DER is the identity");
    tap_is_int(hg_sm2_verify(cli_key, NULL, data, strlen(data), der2, der2len), APR_SUCCESS,
               "re-encoded signature verifies");
    raw[63] ^= 1;
    hg_sm2_sig_raw_to_der(&der2, &der2len, pool, raw);
    tap_is_int(hg_sm2_verify(cli_key, NULL, data, strlen(data), der2, der2len), HG_EBADSIG,
               "raw signature with a flipped bit -> HG_EBADSIG");
    memcpy(der2, buf, n);
    der2[n] = 0;
    tap_is_int(hg_sm2_sig_der_to_raw(raw, der2, n + 1), HG_EINVALID, "DER with trailing byte refused");
    tap_is_int(hg_sm2_sig_der_to_raw(raw, (const unsigned char *)"\x30\x02\x01", 3), HG_EINVALID,
               "garbage DER refused");

    /* raw keys (mobile-pay §3.2 configuration form) */
    tap_is_int(hg_sm2_key_to_raw(prv, pt65, pk), APR_SUCCESS, "export raw key");
    tap_is_int(pt65[0], 4, "raw public key starts with 04");
    tap_is_int(hg_sm2_load_raw(&raw_priv, pool, prv, NULL, 0), APR_SUCCESS, "load raw private key");
    hg_sm2_sign(&sig, &siglen, pool, raw_priv, NULL, data, strlen(data));
    tap_is_int(hg_sm2_verify(pub, NULL, data, strlen(data), sig, siglen), APR_SUCCESS,
               "signature by the raw-loaded private key verifies with the PEM public key");
    tap_ok(hg_sm2_load_raw(&raw_pub, pool, NULL, pt65 + 1, 64) == APR_SUCCESS
           && hg_sm2_verify(raw_pub, NULL, data, strlen(data), sig, siglen) == APR_SUCCESS,
           "64-byte X||Y public key verifies");
    tap_ok(hg_sm2_load_raw(&raw_pub, pool, NULL, pt65, 65) == APR_SUCCESS && !hg_pkey_has_private(raw_pub),
           "65-byte 04||X||Y public key loads as public only");
    pt65[64] ^= 1;
    tap_ok(hg_sm2_load_raw(&raw_pub, pool, NULL, pt65, 65) != APR_SUCCESS, "point off the curve refused");
    memset(prv, 0, 32);
    tap_is_int(hg_sm2_load_raw(&raw_priv, pool, prv, NULL, 0), HG_EINVALID, "private scalar 0 refused");

    /* certificates and encrypted keys */
    run(NULL, "openssl req -new -x509 -key o.key -sm3 -sigopt distid:1234567812345678 -subj /CN=hisgate-test "
              "-days 1 -out o.crt");
    tap_ok(hg_pkey_load_file(&cert, pool, path("o.crt")) == APR_SUCCESS && hg_pkey_is_sm2(cert)
           && hg_sm2_verify(cert, NULL, data, strlen(data), buf, n) == APR_SUCCESS,
           "public key taken from an SM2 certificate verifies");
    run(NULL, "openssl ecparam -name SM2 -genkey -out ecparam.key");
    buf = read_file("ecparam.key", &n);
    tap_ok(buf && strstr((char *)buf, "PARAMETERS-----") && hg_pkey_load_file(&enc_key, pool, path("ecparam.key")) == APR_SUCCESS
           && hg_pkey_has_private(enc_key) && hg_sm2_sign(&sig, &siglen, pool, enc_key, NULL, "x", 1) == APR_SUCCESS,
           "key after a PARAMETERS block (openssl ecparam -genkey) loads with its private part");
    tap_is_int(hg_pkey_load_pem(&enc_key, pool, "-----BEGIN SM2 PARAMETERS-----\nBggqgRzPVQGCLQ==\n-----END SM2 PARAMETERS-----\n", 0),
               HG_ECRYPTO, "parameters alone are no key");
    run(NULL, "openssl pkey -in o.key -aes-128-cbc -passout pass:secret -out enc.key");
    buf = read_file("enc.key", &n);
    tap_ok(buf && strstr((char *)buf, "ENCRYPTED PRIVATE KEY"), "(the CLI wrote an encrypted key)");
    buf = read_file("o.sig", &n);
    tap_ok(hg_pkey_load_file(&enc_key, pool, path("enc.key")) == HG_ECRYPTO,
           "encrypted PEM refused without prompting");
    tap_ok(hg_pkey_load_file(&enc_key, pool, path("missing.key")) != APR_SUCCESS, "missing key file -> error");
    tap_is_int(hg_pkey_load_pem(&enc_key, pool, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 0),
               HG_ECRYPTO, "broken PEM -> HG_ECRYPTO");
    tap_ok(hg_crypto_last_error()[0] != '\0', "a failure leaves a text: %s", hg_crypto_last_error());

    /* SM2 encryption */
    tap_is_int(hg_sm2_encrypt(&ct, &ctlen, pool, pub, secret, strlen(secret)), APR_SUCCESS, "sm2 encrypt");
    tap_ok(hg_sm2_decrypt(&pt, &ptlen, pool, pk, ct, ctlen) == APR_SUCCESS && ptlen == strlen(secret)
           && memcmp(pt, secret, ptlen) == 0, "sm2 decrypt round trip");
    tap_is_int(hg_sm2_decrypt(&pt, &ptlen, pool, pub, ct, ctlen), HG_ECRYPTO, "cannot decrypt with a public key");
    write_file("sm2.ct", ct, ctlen);
    st = run(&out, "openssl pkeyutl -decrypt -inkey c.key -in sm2.ct");
    tap_ok(st == 0 && strcmp(out, secret) == 0, "openssl pkeyutl decrypts our DER ciphertext");
    tap_is_int(hg_sm2_cipher_der_to_c1c3c2(&c1c3c2, &c1len, pool, ct, ctlen), APR_SUCCESS, "DER -> C1C3C2");
    tap_ok(c1len == 65 + 32 + strlen(secret) && c1c3c2[0] == 0x04, "C1C3C2 = 65 + 32 + len(plaintext), starts with 04");
    tap_is_int(hg_sm2_cipher_c1c3c2_to_der(&ct2, &ct2len, pool, c1c3c2, c1len), APR_SUCCESS, "C1C3C2 -> DER");
    tap_ok(ct2len == ctlen && memcmp(ct2, ct, ctlen) == 0, "DER -> C1C3C2 -> DER is the identity");
    c1c3c2[70] ^= 1;                                                    /* inside C3 */
    hg_sm2_cipher_c1c3c2_to_der(&ct2, &ct2len, pool, c1c3c2, c1len);
    tap_is_int(hg_sm2_decrypt(&pt, &ptlen, pool, pk, ct2, ct2len), HG_ECRYPTO, "tampered C3 -> HG_ECRYPTO");
    c1c3c2[0] = 0x02;
    tap_is_int(hg_sm2_cipher_c1c3c2_to_der(&ct2, &ct2len, pool, c1c3c2, c1len), HG_EINVALID,
               "C1 without 04 refused");
    /* the command line encrypts, we convert and decrypt */
    write_file("plain", "hello SM2", 9);
    run(NULL, "openssl pkeyutl -encrypt -pubin -inkey o.pub -in plain -out o.ct");
    run(NULL, "openssl pkey -in o.key -out o2.key");
    buf = read_file("o.ct", &n);
    tap_ok(hg_pkey_load_file(&cli_key, pool, path("o2.key")) == APR_SUCCESS
           && hg_sm2_cipher_der_to_c1c3c2(&c1c3c2, &c1len, pool, buf, n) == APR_SUCCESS
           && hg_sm2_cipher_c1c3c2_to_der(&ct2, &ct2len, pool, c1c3c2, c1len) == APR_SUCCESS
           && hg_sm2_decrypt(&pt, &ptlen, pool, cli_key, ct2, ct2len) == APR_SUCCESS
           && ptlen == 9 && memcmp(pt, "hello SM2", 9) == 0,
           "CLI ciphertext -> C1C3C2 -> DER decrypts in C");
}

/* ---- RSA ---- */

static void t_rsa(void)
{
    const char *data = "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n";
    hg_pkey_t *k, *pub, *sm2;
    unsigned char *sig;
    apr_size_t siglen;
    char *out;
    int st;

    run(NULL, "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out r.key && "
              "openssl pkey -in r.key -pubout -out r.pub && openssl rsa -in r.key -RSAPublicKey_out -out r1.pub");
    tap_is_int(hg_pkey_load_file(&k, pool, path("r.key")), APR_SUCCESS, "load RSA private key");
    tap_is_int(hg_pkey_load_file(&pub, pool, path("r.pub")), APR_SUCCESS, "load RSA SPKI public key");
    tap_ok(hg_pkey_is_rsa(k) && !hg_pkey_is_sm2(k) && hg_pkey_has_private(k) && !hg_pkey_has_private(pub),
           "RSA key kinds");
    tap_is_int(hg_rsa_sha256_sign(&sig, &siglen, pool, k, data, strlen(data)), APR_SUCCESS, "rsa sign");
    tap_is_int(siglen, 256, "2048-bit signature");
    tap_is_int(hg_rsa_sha256_verify(pub, data, strlen(data), sig, siglen), APR_SUCCESS, "rsa verify");
    write_file("r.sig", sig, siglen);
    write_file("r.data", data, strlen(data));
    st = run(&out, "openssl dgst -sha256 -verify r.pub -signature r.sig r.data");
    tap_ok(st == 0 && strstr(out, "Verified OK"), "openssl dgst verifies the C RSA signature");
    tap_is_int(hg_rsa_sha256_verify(pub, data, strlen(data) - 1, sig, siglen), HG_EBADSIG,
               "rsa: tampered data -> HG_EBADSIG");
    sig[10] ^= 4;
    tap_is_int(hg_rsa_sha256_verify(pub, data, strlen(data), sig, siglen), HG_EBADSIG,
               "rsa: tampered signature -> HG_EBADSIG");
    tap_ok(hg_pkey_load_file(&pub, pool, path("r1.pub")) == APR_SUCCESS && hg_pkey_is_rsa(pub),
           "PKCS#1 RSA PUBLIC KEY PEM loads");
    hg_sm2_generate(&sm2, pool);
    tap_is_int(hg_rsa_sha256_sign(&sig, &siglen, pool, sm2, data, 3), HG_ECRYPTO, "rsa sign with SM2 key refused");
    tap_is_int(hg_sm2_sign(&sig, &siglen, pool, k, NULL, data, 3), HG_ECRYPTO, "sm2 sign with RSA key refused");
}

/* ---- encodings, random ---- */

static void t_encodings(void)
{
    static const char *vec[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
                                    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
    static const char *bad[] = { "Zm9v\n", " Zm9v", "Zm9", "Zm=v", "Z===", "Zm9v====", "Zh==", "Zm9=",
                                 "Zm9v!A==", "Zm-_", "=Zm9" };
    static const char *badurl[] = { "Zg==", "Zm+v", "Zm/v", "Z", "Zh", "Zm9v Y" };
    unsigned char bin[300], *out;
    apr_size_t n, len, i;
    int ok_std = 1, ok_url = 1;
    char *s;

    for (i = 0; i < 7; i++) {
        tap_is_str(hg_base64_encode(pool, vec[i][0], strlen(vec[i][0])), vec[i][1], "base64 RFC 4648 \"%s\"", vec[i][0]);
        tap_ok(hg_base64_decode(&out, &len, pool, vec[i][1]) == APR_SUCCESS && len == strlen(vec[i][0])
               && memcmp(out, vec[i][0], len) == 0, "base64 decode \"%s\"", vec[i][1]);
    }
    tap_is_str(hg_base64url_encode(pool, "\xfb\xff\xbf", 3), "-_-_", "base64url alphabet");
    tap_is_str(hg_base64url_encode(pool, "fo", 2), "Zm8", "base64url has no padding");
    hg_random_bytes(bin, sizeof(bin));
    for (n = 0; n < sizeof(bin); n++) {
        s = hg_base64_encode(pool, bin, n);
        if (hg_base64_decode(&out, &len, pool, s) != APR_SUCCESS || len != n || memcmp(out, bin, n))
            ok_std = 0;
        s = hg_base64url_encode(pool, bin, n);
        if (strchr(s, '=') || hg_base64url_decode(&out, &len, pool, s) != APR_SUCCESS || len != n
            || memcmp(out, bin, n))
            ok_url = 0;
    }
    tap_ok(ok_std, "base64 round trip, lengths 0..299");
    tap_ok(ok_url, "base64url round trip, lengths 0..299");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        tap_is_int(hg_base64_decode(&out, &len, pool, bad[i]), HG_EINVALID, "base64 rejects \"%s\"", bad[i]);
    for (i = 0; i < sizeof(badurl) / sizeof(badurl[0]); i++)
        tap_is_int(hg_base64url_decode(&out, &len, pool, badurl[i]), HG_EINVALID, "base64url rejects \"%s\"", badurl[i]);
    tap_is_int(hg_base64_decode_buf(bin, 5, &len, "Zm9vYmFy", 0), APR_ENOSPC, "decode_buf: too small -> APR_ENOSPC");
    tap_ok(hg_base64_decode_buf(bin, 6, &len, "Zm9vYmFy", 0) == APR_SUCCESS && len == 6
           && memcmp(bin, "foobar", 6) == 0, "decode_buf into an exact buffer");

    tap_is_str(hg_hex_encode(pool, "\x01\xab\xff", 3, 0), "01abff", "hex lower");
    tap_is_str(hg_hex_encode(pool, "\x01\xab\xff", 3, 1), "01ABFF", "hex upper");
    tap_ok(hg_hex_decode(&out, &len, pool, "01aBfF") == APR_SUCCESS && len == 3
           && memcmp(out, "\x01\xab\xff", 3) == 0, "hex decode, mixed case");
    tap_is_int(hg_hex_decode(&out, &len, pool, "abc"), HG_EINVALID, "hex: odd length refused");
    tap_is_int(hg_hex_decode(&out, &len, pool, "0g"), HG_EINVALID, "hex: bad digit refused");
    tap_ok(hg_hex_decode(&out, &len, pool, "") == APR_SUCCESS && len == 0, "hex: empty is empty");
}

static void t_random(void)
{
    unsigned char a[32], b[32];
    char *s;
    int counts[3] = { 0, 0, 0 }, ok = 1, i;

    tap_ok(hg_random_bytes(a, 32) == APR_SUCCESS && hg_random_bytes(b, 32) == APR_SUCCESS
           && memcmp(a, b, 32) != 0, "two random draws differ");
    tap_is_int(hg_random_string(&s, pool, 3000, "xyz"), APR_SUCCESS, "random string");
    for (i = 0; i < 3000; i++) {
        if (s[i] < 'x' || s[i] > 'z')
            ok = 0;
        else
            counts[s[i] - 'x']++;
    }
    tap_ok(ok && s[3000] == '\0', "only alphabet characters");
    /* 3000 draws of 3 letters: each ~1000, sd ~26; 800 is > 7 sd away */
    tap_ok(counts[0] > 800 && counts[1] > 800 && counts[2] > 800, "all letters used, roughly evenly (%d/%d/%d)",
           counts[0], counts[1], counts[2]);
    hg_random_string(&s, pool, 64, NULL);
    tap_ok(strlen(s) == 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == 64,
           "default alphabet is [A-Za-z0-9]");
    tap_is_int(hg_random_string(&s, pool, 4, ""), HG_EINVALID, "empty alphabet refused");
    tap_ok(hg_ct_equal("abcd", "abcd", 4) && !hg_ct_equal("abcd", "abce", 4), "hg_ct_equal");
}

int main(void)
{
    char *out;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        return 2;
    }
    if (run(&out, "openssl version") != 0) {
        printf("Bail out! no openssl command line: %s\n", out);
        return 2;
    }
    t_digests();
    t_mac_vs_cli();
    t_pbkdf2();
    t_sm4();
    t_nhsa();
    t_gcm();
    t_sm2();
    t_rsa();
    t_encodings();
    t_random();
    tap_plan(tap_n);
    run(NULL, "rm -rf %s", dir);
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
