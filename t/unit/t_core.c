/* unit tests for the small core pieces: Bosi envelope, outbox back-off, audit encryption and chain hash */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>
#include "tap.h"
#include "hg_bosi.h"
#include "hg_outbox.h"
#include "hg_audit.h"
#include "hg_zip.h"
#include "hg_audit_archive.h"
#include "hg_crypto.h"

static const char *key_of(void *baton, const char *appid)
{
    return strcmp(appid, "APP1") ? NULL : "KEY1";
}

/* md5 of a string by the md5sum command line, uppercased: an independent check of the sign */
static void md5_cli(char out[33], const char *s)
{
    char cmd[1024];
    FILE *f;
    int i;
    snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | md5sum", s);
    f = popen(cmd, "r");
    out[0] = '\0';
    if (f && fgets(out, 33, f))
        for (i = 0; out[i]; i++)
            if (out[i] >= 'a' && out[i] <= 'f')
                out[i] -= 32;
    if (f)
        pclose(f);
}

/* hg_lz4_pack/unpack: round trips, and every malformed block refused (never a read or write
 * outside the buffers: the length in front is checked against what the block decodes to) */
static void lz4_checks(apr_pool_t *p)
{
    unsigned char *z, *out, *rnd;
    apr_size_t zlen, olen, i;
    apr_status_t rv;
    const char *doc = "";
    int bad = 0;
    for (i = 0; i < 50; i++)
        doc = apr_psprintf(p, "%s{\"sortNo\":%d,\"chargeName\":\"西药费\",\"amt\":\"%d.00\"},", doc, (int)i, (int)i * 3);
    zlen = 0;
    rv = hg_lz4_pack(&z, &zlen, p, doc, strlen(doc));
    tap_ok(rv == APR_SUCCESS && zlen * 3 < strlen(doc)
           && z[0] == (strlen(doc) & 0xFF) && z[1] == (strlen(doc) >> 8 & 0xFF) && !z[2] && !z[3],
           "LZ4 packs a %d-byte document into %d bytes, its length little-endian in front",
           (int)strlen(doc), (int)zlen);
    tap_ok(hg_lz4_unpack(&out, &olen, p, z, zlen) == APR_SUCCESS && olen == strlen(doc) && !strcmp((char *)out, doc),
           "and unpacks to it, NUL-terminated");
    tap_ok(hg_lz4_unpack(&out, &olen, p, z, zlen - 1) == HG_EINVALID, "a truncated block is refused");
    z[0] ^= 1;
    tap_ok(hg_lz4_unpack(&out, &olen, p, z, zlen) == HG_EINVALID, "a block whose stated length is wrong is refused");
    z[0] ^= 1;
    z[3] = 0x7F;
    tap_ok(hg_lz4_unpack(&out, &olen, p, z, zlen) == HG_EINVALID, "a stated length beyond HG_ZIP_MAX is refused");
    tap_ok(hg_lz4_pack(&z, &zlen, p, "", 0) == APR_SUCCESS && zlen == 4
           && hg_lz4_unpack(&out, &olen, p, z, zlen) == APR_SUCCESS && olen == 0 && !out[0], "an empty body round trips");
    tap_ok(hg_lz4_unpack(&out, &olen, p, (const unsigned char *)"\0\0", 2) == HG_EINVALID, "under 4 bytes is refused");
    /* random garbage after a plausible length: refused or decoded to exactly that length, never more */
    rnd = apr_palloc(p, 300);
    for (i = 0; i < 2000; i++) {
        hg_random_bytes(rnd, 300);
        rnd[0] = (unsigned char)(i % 200 + 1);
        rnd[1] = rnd[2] = rnd[3] = 0;
        if (hg_lz4_unpack(&out, &olen, p, rnd, 4 + i % 296) == APR_SUCCESS && olen != rnd[0])
            bad++;
    }
    tap_ok(!bad, "2,000 random blocks: none decodes to another length than stated");
}

/* an archive of three rows continuing from prev, written as hg_audit_archive_write does; variants
 * change one row, leave a row out, or cut the trailer */
static const char *write_archive(apr_pool_t *p, const char *prev, const char *variant)
{
    char h[4][65], path[] = "/tmp/hg-archive-XXXXXX";
    const char *enc[3] = { "sm4z:aaa:bbb", "sm4z:ccc:ddd", "sm4z:eee:fff" };
    int fd = mkstemp(path), i;
    FILE *f = fdopen(fd, "w");
    memcpy(h[0], prev, 65);
    fprintf(f, "{\"format\":\"%s\",\"from_seq\":5,\"prev_hash\":\"%s\",\"keep_days\":180}\n",
            HG_AUDIT_ARCHIVE_FORMAT, strcmp(variant, "foreign") ? prev : "6666666666666666666666666666666666666666666666666666666666666666");
    for (i = 0; i < 3; i++) {
        char us[32];
        snprintf(us, sizeof(us), "17000000000000%02d", i);
        hg_audit_row_hash(h[i + 1], h[i], 5 + i, us, "44010001", "his", "in", "POST /x", "200", "5", "r", enc[i], "-");
        if (!strcmp(variant, "hole") && i == 1)
            continue;
        fprintf(f, "{\"seq\":%d,\"id\":\"%d\",\"at\":\"2025-01-0%dT00:00:00Z\",\"at_us\":\"%s\","
                "\"institution\":\"44010001\",\"caller\":\"his\",\"direction\":\"in\",\"endpoint\":\"POST /x\","
                "\"status\":\"%s\",\"elapsed_ms\":\"5\",\"request_id\":\"r\",\"req_enc\":\"%s\","
                "\"resp_enc\":\"-\",\"hash\":\"%s\"}\n", 5 + i, 90 + i, i + 1, us,
                !strcmp(variant, "changed") && i == 2 ? "500" : "200", enc[i], h[i + 1]);
    }
    if (strcmp(variant, "cut"))
        fprintf(f, "{\"end\":true,\"to_seq\":7,\"rows\":3,\"last_hash\":\"%s\"}\n", h[3]);
    fclose(f);
    return apr_pstrdup(p, path);
}

static void archive_checks(apr_pool_t *p)
{
    char prev[65];
    hg_audit_archive_t a;
    /* each broken archive is refused, naming what is wrong */
    static const struct { const char *variant, *why, *what; } broken[] = {
        { "changed", "line 4: hash mismatch at chain position 7", "a changed row is found, by line and position" },
        { "hole", "chain position 7 where 6 was due", "a row left out is found" },
        { "cut", "cut short", "a file without its trailer is found" },
        { "foreign", "line 2: hash mismatch at chain position 5",
          "rows chained from another hash than the header says are found" },
    };
    const char *why, *path;
    size_t i;
    int found;
    memset(prev, '7', 64);
    prev[64] = '\0';
    path = write_archive(p, prev, "intact");
    tap_ok(hg_audit_archive_check(p, path, &a, &why) == APR_SUCCESS && a.from_seq == 5 && a.to_seq == 7
           && a.rows == 3 && !strcmp(a.prev_hash, prev), "an intact archive checks: positions 5-7 from its prev_hash");
    tap_is_str(a.first_at, "2025-01-01T00:00:00Z", "with the time of its first row");
    unlink(path);
    for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        path = write_archive(p, prev, broken[i].variant);
        found = hg_audit_archive_check(p, path, &a, &why) == HG_EINVALID && strstr(why, broken[i].why);
        tap_ok(found, "%s: %s", broken[i].what, why ? why : "");
        unlink(path);
    }
    tap_ok(hg_audit_archive_check(p, "/nonexistent/archive", &a, &why) == APR_ENOENT, "a missing file is the system's error");
}

int main(void)
{
    apr_pool_t *p;
    char *sign, *body, *data = NULL, *msg, cli[33];
    const char *appid, *err, *result;
    unsigned char key[16] = "0123456789abcdef";
    char h1[65], h2[65], *enc, *dec;
    apr_size_t len;
    int i, lo = 1 << 30, hi = 0;

    apr_initialize();
    apr_pool_create(&p, NULL);
    tap_plan(42);

    /* Bosi sign: uppercase MD5 over appid, data, noise, key, version in the platform's order */
    hg_bosi_sign(&sign, p, "APP1", "eyJhIjoxfQ==", "n-1", "KEY1", "1.0");
    md5_cli(cli, "appid=APP1&data=eyJhIjoxfQ==&noise=n-1&key=KEY1&version=1.0");
    tap_is_str(sign, cli, "Bosi sign equals md5sum of the documented string");
    tap_ok(strlen(sign) == 32 && strspn(sign, "0123456789ABCDEF") == 32, "sign is 32 uppercase hex digits");

    hg_bosi_request(&body, p, "APP1", "KEY1", "{\"billNo\":\"0000000001\",\"payer\":\"张三\"}");
    tap_ok(hg_bosi_open_request(&data, &appid, &err, p, body, strlen(body), key_of, NULL) == APR_SUCCESS,
           "our request opens with the platform-side check");
    tap_is_str(data, "{\"billNo\":\"0000000001\",\"payer\":\"张三\"}", "business data survives base64 and UTF-8");
    tap_is_str(appid, "APP1", "appid reported");
    {
        json_t *o = json_loads(body, 0, NULL);
        const char *noise = json_string_value(json_object_get(o, "noise"));
        tap_ok(noise && strlen(noise) == 36 && noise[14] == '4', "noise is a version-4 UUID");
        json_object_set_new(o, "data", json_string("eyJiaWxsTm8iOiIwMDAwMDAwMDAyIn0="));
        body = json_dumps(o, JSON_COMPACT);
        tap_ok(hg_bosi_open_request(&data, &appid, &err, p, body, strlen(body), key_of, NULL) == HG_EBADSIG,
               "changed data fails the sign check");
        free(body);
        json_object_set_new(o, "appid", json_string("APP2"));
        body = json_dumps(o, JSON_COMPACT);
        tap_ok(hg_bosi_open_request(&data, &appid, &err, p, body, strlen(body), key_of, NULL) == HG_EAUTH,
               "unknown appid refused");
        free(body);
        json_decref(o);
    }
    tap_ok(hg_bosi_open_request(&data, &appid, &err, p, "[1]", 3, key_of, NULL) == HG_EINVALID,
           "non-object envelope refused");

    hg_bosi_answer(&body, p, "S0000", "{\"state\":\"1\"}");
    tap_ok(hg_bosi_open_answer(&result, &msg, p, body, strlen(body)) == APR_SUCCESS, "answer opens");
    tap_is_str(result, "S0000", "result code");
    tap_is_str(msg, "{\"state\":\"1\"}", "message decoded from base64");
    tap_ok(hg_bosi_open_answer(&result, &msg, p, "{\"data\":\"%%%\"}", 14) == HG_EPLATFORM,
           "garbage answer is a platform error");

    /* back-off: doubles from the base, ±50 % jitter, capped at an hour */
    tap_is_int(hg_outbox_delay_seconds(1, 30, 0.5), 30, "first retry after the base delay (no jitter)");
    tap_is_int(hg_outbox_delay_seconds(3, 30, 0.5), 120, "third retry after 4× the base");
    for (i = 0; i < 1000; i++) {
        int d = hg_outbox_delay_seconds(2, 10, i / 1000.0);
        if (d < lo) lo = d;
        if (d > hi) hi = d;
    }
    tap_ok(lo == 10 && hi >= 29, "jitter spreads 20 s over [10, 30) (%d..%d)", lo, hi);
    tap_ok(hg_outbox_delay_seconds(30, 30, 0.99) <= 5400, "capped at one hour plus jitter");

    /* audit bodies: SM4-CBC with a random IV, round trip, and the chain hash covers every field */
    hg_audit_encrypt(&enc, p, key, "{\"idCardNo\":\"440101199001011234\"}", 33);
    tap_ok(strncmp(enc, "sm4l:", 5) == 0 && !strstr(enc, "4401011990"), "body encrypted, no plaintext");
    tap_ok(hg_audit_decrypt(&dec, &len, p, key, enc) == APR_SUCCESS && len == 33
           && !memcmp(dec, "{\"idCardNo\":\"440101199001011234\"}", 33), "decrypts to the same bytes");
    {
        /* a bill-sized body is stored packed; rows of the older forms (hex, deflated) still open */
        const char *body = "", *old;
        unsigned char iv[16] = { 7 }, *ct;
        apr_size_t ctlen;
        for (i = 0; i < 30; i++)
            body = apr_psprintf(p, "%s{\"chargeCode\":\"%02d\",\"chargeName\":\"检查费\",\"amt\":\"12.00\"},", body, i);
        hg_audit_encrypt(&enc, p, key, body, strlen(body));
        tap_ok(strlen(enc) * 3 < strlen(body), "a repetitive 2 KB body is stored in under a third (%d of %d)",
               (int)strlen(enc), (int)strlen(body));
        tap_ok(hg_audit_decrypt(&dec, &len, p, key, enc) == APR_SUCCESS && len == strlen(body) && !strcmp(dec, body),
               "and decrypts to it");
        hg_sm4_cbc_encrypt(p, &ct, &ctlen, key, iv, "legacy body", 11);
        old = apr_pstrcat(p, "sm4cbc:", hg_hex_encode(p, iv, 16, 0), ":", hg_hex_encode(p, ct, ctlen, 0), NULL);
        tap_ok(hg_audit_decrypt(&dec, &len, p, key, old) == APR_SUCCESS && len == 11 && !strcmp(dec, "legacy body"),
               "an sm4cbc: row of the older form decrypts");
        {
            unsigned char *z;
            apr_size_t zlen;
            hg_deflate_raw(&z, &zlen, p, body, strlen(body));
            hg_sm4_cbc_encrypt(p, &ct, &ctlen, key, iv, z, zlen);
            old = apr_pstrcat(p, "sm4z:", hg_base64url_encode(p, iv, 16), ":", hg_base64url_encode(p, ct, ctlen), NULL);
            tap_ok(hg_audit_decrypt(&dec, &len, p, key, old) == APR_SUCCESS && len == strlen(body) && !strcmp(dec, body),
                   "an sm4z: row (deflated, before LZ4) decrypts");
            /* the same packed bytes under the other label do not pass for a body */
            tap_ok(hg_audit_decrypt(&dec, &len, p, key, apr_pstrcat(p, "sm4l", old + 4, NULL)) != APR_SUCCESS,
                   "deflated bytes under the sm4l: label are refused");
        }
        enc[strlen(enc) - 3] = enc[strlen(enc) - 3] == 'A' ? 'B' : 'A';
        tap_ok(hg_audit_decrypt(&dec, &len, p, key, enc) != APR_SUCCESS || strcmp(dec, body) != 0,
               "a changed ciphertext does not give the body back");
    }
    hg_audit_row_hash(h1, "00", 1, "1700000000000000", "44010001", "his", "in", "POST /x", "200", "5", "r1", "a", "b");
    hg_audit_row_hash(h2, "00", 1, "1700000000000000", "44010001", "his", "in", "POST /x", "201", "5", "r1", "a", "b");
    tap_ok(strlen(h1) == 64 && strcmp(h1, h2) != 0, "a changed status changes the row hash");
    hg_audit_row_hash(h2, "01", 1, "1700000000000000", "44010001", "his", "in", "POST /x", "200", "5", "r1", "a", "b");
    tap_ok(strcmp(h1, h2) != 0, "the previous hash is part of the row hash");
    archive_checks(p);
    lz4_checks(p);

    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}
