/* hisgate crypto: OpenSSL 3.0 (EVP) behind a small APR-flavoured API.
 *
 * Conventions
 *  - Fallible functions return apr_status_t: APR_SUCCESS, HG_ECRYPTO (a primitive failed: bad key,
 *    bad padding, tampered AEAD/ciphertext, wrong key type), HG_EBADSIG (a signature did not
 *    verify), HG_EINVALID (malformed input: bad hex/base64, bad length, NULL where not allowed).
 *  - Results come back through leading out-parameters; variable-size results are allocated from
 *    the pool argument and are NUL-terminated one byte past *outlen (handy for text, not counted).
 *  - OpenSSL's per-thread error queue is always left empty (a stale entry can confuse mod_ssl in
 *    the same worker thread); the text of the last failure is kept per thread in
 *    hg_crypto_last_error() for logging.
 *  - Thread-safety: every function is reentrant; an hg_pkey_t may be shared read-only between
 *    threads (load keys in post_config from pconf, use them from any request).
 *
 * 国密 notes (see shared/design/ecosystem.md §4): SM2 signatures are always made and checked with an
 * explicit user id (default "1234567812345678", GM/T 0009), because OpenSSL 3.0 otherwise uses an
 * EMPTY id and nothing a Chinese peer produces would verify. There is no SM4-GCM in OpenSSL 3.0;
 * use SM4-CBC + HMAC-SM3 (encrypt-then-MAC, see hg_secret_seal in hg_auth.h). */
#ifndef HG_CRYPTO_H
#define HG_CRYPTO_H

#include <apr_pools.h>
#include "hg_status.h"

#define HG_SM2_DEFAULT_ID "1234567812345678"

/* Text of the last failure in this thread ("" if none): context + OpenSSL's first error. */
const char *hg_crypto_last_error(void);

/* ---- digests and MACs into caller buffers ---- */
apr_status_t hg_sm3(unsigned char out[32], const void *d, apr_size_t n);
apr_status_t hg_sha256(unsigned char out[32], const void *d, apr_size_t n);
/* MD5 as 32 uppercase hex digits + NUL (the Bosi e-bill signature); not for anything secret. */
apr_status_t hg_md5_hex_upper(char out[33], const void *d, apr_size_t n);
/* lower-case hex SHA-1: only where an outside protocol fixes it (WeChat's push signature) */
apr_status_t hg_sha1_hex(char **out, apr_pool_t *p, const void *d, apr_size_t n);
apr_status_t hg_hmac_sm3(unsigned char out[32], const void *key, apr_size_t klen,
                         const void *d, apr_size_t n);
apr_status_t hg_hmac_sha256(unsigned char out[32], const void *key, apr_size_t klen,
                            const void *d, apr_size_t n);
/* The same MACs over the concatenation of several buffers, without copying them together. */
typedef struct {
    const void *d;
    apr_size_t n;
} hg_iov_t;
apr_status_t hg_hmac_sm3_v(unsigned char out[32], const void *key, apr_size_t klen,
                           const hg_iov_t *iov, int niov);
apr_status_t hg_hmac_sha256_v(unsigned char out[32], const void *key, apr_size_t klen,
                              const hg_iov_t *iov, int niov);
/* PBKDF2-HMAC-SHA256 (RFC 8018); iterations >= 1, outlen >= 1. */
apr_status_t hg_pbkdf2_sha256(unsigned char *out, apr_size_t outlen, const void *pw, apr_size_t pwlen,
                              const void *salt, apr_size_t saltlen, unsigned int iterations);

/* ---- SM4 (GB/T 32907), PKCS#7 padding ----
 * Decrypt of a length that is 0 or not a multiple of 16, or with bad padding -> HG_ECRYPTO. */
apr_status_t hg_sm4_ecb_encrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                const unsigned char key[16], const void *in, apr_size_t n);
apr_status_t hg_sm4_ecb_decrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                const unsigned char key[16], const void *in, apr_size_t n);
apr_status_t hg_sm4_cbc_encrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                const unsigned char key[16], const unsigned char iv[16],
                                const void *in, apr_size_t n);
apr_status_t hg_sm4_cbc_decrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                const unsigned char key[16], const unsigned char iv[16],
                                const void *in, apr_size_t n);
/* SM4-ECB without padding, in place into out (n bytes, n a multiple of 16, else HG_EINVALID).
 * For known-answer tests and protocols that pad themselves. */
/* AES-256-CBC without padding (n a non-zero multiple of 16; the caller pads as its protocol says:
 * WeChat's push pads PKCS#7 to 32) into out (n bytes) */
apr_status_t hg_aes256_cbc_raw(unsigned char *out, const unsigned char key[32], const unsigned char iv[16],
                               const void *in, apr_size_t n, int encrypt);
apr_status_t hg_sm4_ecb_raw(unsigned char *out, const unsigned char key[16], const void *in,
                            apr_size_t n, int encrypt);

/* ---- AES-256-GCM: out = ciphertext || 16-byte tag. Tag mismatch / short input -> HG_ECRYPTO.
 * aad may be NULL when aadlen is 0. (WeChat Pay APIv3 resource decryption uses this shape.) */
apr_status_t hg_aes256gcm_encrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                  const unsigned char key[32], const unsigned char iv[12],
                                  const void *aad, apr_size_t aadlen, const void *in, apr_size_t n);
apr_status_t hg_aes256gcm_decrypt(apr_pool_t *p, unsigned char **out, apr_size_t *outlen,
                                  const unsigned char key[32], const unsigned char iv[12],
                                  const void *aad, apr_size_t aadlen, const void *in, apr_size_t n);

/* ---- keys: opaque, freed by a cleanup of the pool they were made in ---- */
typedef struct hg_pkey_t hg_pkey_t;

/* PEM: PKCS#8 "PRIVATE KEY", "EC/RSA PRIVATE KEY", "PUBLIC KEY", "RSA PUBLIC KEY", or an X.509
 * "CERTIFICATE" (its public key is taken); leading "... PARAMETERS" blocks are skipped (openssl
 * ecparam -genkey writes one). Encrypted keys are refused (no passphrase prompt) -> HG_ECRYPTO.
 * Keys on the SM2 curve come back as SM2 keys (hg_pkey_is_sm2), whatever the PEM label.
 * len may be 0 for a NUL-terminated string. */
apr_status_t hg_pkey_load_pem(hg_pkey_t **pk, apr_pool_t *p, const char *pem, apr_size_t len);
apr_status_t hg_pkey_load_file(hg_pkey_t **pk, apr_pool_t *p, const char *path);
apr_status_t hg_sm2_generate(hg_pkey_t **pk, apr_pool_t *p);
/* PKCS#8 PEM of the private key (private_part != 0; HG_ECRYPTO for a public-only key), else SPKI PEM. */
apr_status_t hg_pkey_to_pem(char **pem, apr_pool_t *p, const hg_pkey_t *pk, int private_part);
int hg_pkey_is_sm2(const hg_pkey_t *pk);
int hg_pkey_is_rsa(const hg_pkey_t *pk);
int hg_pkey_has_private(const hg_pkey_t *pk);

/* SM2 keys in the raw forms Chinese platforms configure (mobile-pay.md §3.2):
 * priv = 32-byte big-endian scalar (the public point is computed from it), or NULL for a public key;
 * pub = 65 bytes 04||X||Y or 64 bytes X||Y (ignored when priv is given; may be NULL then). */
apr_status_t hg_sm2_load_raw(hg_pkey_t **pk, apr_pool_t *p, const unsigned char *priv32,
                             const unsigned char *pub, apr_size_t publen);
/* Export: priv (may be NULL; HG_ECRYPTO if asked for and absent) and pub = 04||X||Y (may be NULL). */
apr_status_t hg_sm2_key_to_raw(unsigned char *priv32, unsigned char *pub65, const hg_pkey_t *pk);

/* ---- SM2 signatures: SM3withSM2, Z computed with user id `id` (NULL -> HG_SM2_DEFAULT_ID) ----
 * sig_der is the DER ECDSA-Sig-Value OpenSSL produces (about 70-72 bytes). Verify returns
 * APR_SUCCESS or HG_EBADSIG (also for a malformed signature); HG_ECRYPTO if pk is not SM2. */
apr_status_t hg_sm2_sign(unsigned char **sig_der, apr_size_t *siglen, apr_pool_t *p,
                         const hg_pkey_t *pk, const char *id, const void *data, apr_size_t n);
apr_status_t hg_sm2_verify(const hg_pkey_t *pk, const char *id, const void *data, apr_size_t n,
                           const unsigned char *sig_der, apr_size_t siglen);
/* 1 when hg_sm2_sign signs with pk through hisgate's own constant-time signer (hg_sm2.h; every
 * SM2 private key that loaded), 0 when through OpenSSL's EVP. The signatures are the same kind. */
int hg_sm2_sign_is_fast(const hg_pkey_t *pk);
/* DER <-> raw r||s (32 + 32 bytes, big-endian, zero-padded). Trailing garbage -> HG_EINVALID. */
apr_status_t hg_sm2_sig_der_to_raw(unsigned char raw[64], const unsigned char *der, apr_size_t len);
apr_status_t hg_sm2_sig_raw_to_der(unsigned char **der, apr_size_t *len, apr_pool_t *p,
                                   const unsigned char raw[64]);

/* ---- SM2 public-key encryption (GM/T 0003.4) with SM3; ciphertext is OpenSSL's DER
 * SEQUENCE { x INTEGER, y INTEGER, C3 OCTET STRING(32), C2 OCTET STRING } ---- */
apr_status_t hg_sm2_encrypt(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                            const hg_pkey_t *pk, const void *in, apr_size_t n);
apr_status_t hg_sm2_decrypt(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                            const hg_pkey_t *pk, const void *in, apr_size_t n);
/* DER <-> C1||C3||C2 with C1 = 04||x||y (65 bytes), C3 = SM3 (32 bytes), C2 = n bytes.
 * Input without the leading 04 (or in the old C1C2C3 order) is not recognised: convert first. */
apr_status_t hg_sm2_cipher_der_to_c1c3c2(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                                         const unsigned char *der, apr_size_t len);
apr_status_t hg_sm2_cipher_c1c3c2_to_der(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                                         const unsigned char *c1c3c2, apr_size_t len);

/* ---- RSA PKCS#1 v1.5 with SHA-256 (WeChat Pay APIv3, Alipay RSA2) ---- */
apr_status_t hg_rsa_sha256_sign(unsigned char **sig, apr_size_t *siglen, apr_pool_t *p,
                                const hg_pkey_t *pk, const void *data, apr_size_t n);
apr_status_t hg_rsa_sha256_verify(const hg_pkey_t *pk, const void *data, apr_size_t n,
                                  const unsigned char *sig, apr_size_t siglen);

/* ---- randomness and comparison ---- */
apr_status_t hg_random_bytes(void *buf, apr_size_t n);
/* n characters drawn uniformly from the bytes of alphabet (1..256 of them; NULL -> [A-Za-z0-9]),
 * by rejection sampling so there is no modulo bias. A repeated byte is drawn more often. */
apr_status_t hg_random_string(char **s, apr_pool_t *p, apr_size_t n, const char *alphabet);
/* 1 if equal, 0 if not; time depends on n only. */
int hg_ct_equal(const void *a, const void *b, apr_size_t n);

/* ---- encodings (encoders cannot fail; decoders are strict and return HG_EINVALID) ---- */
char *hg_hex_encode(apr_pool_t *p, const void *d, apr_size_t n, int upper);
/* Even number of [0-9A-Fa-f]; "" decodes to 0 bytes. */
apr_status_t hg_hex_decode(unsigned char **out, apr_size_t *outlen, apr_pool_t *p, const char *hex);
/* RFC 4648 §4, with '=' padding, no line breaks. */
char *hg_base64_encode(apr_pool_t *p, const void *d, apr_size_t n);
/* Rejects whitespace, characters outside the alphabet, a length not a multiple of 4, misplaced
 * '=' and non-zero unused bits (so every input has one canonical form). */
apr_status_t hg_base64_decode(unsigned char **out, apr_size_t *outlen, apr_pool_t *p, const char *s);
/* RFC 4648 §5 ('-' '_'), never padded; the decoder refuses '=' and the other alphabet. */
char *hg_base64url_encode(apr_pool_t *p, const void *d, apr_size_t n);
apr_status_t hg_base64url_decode(unsigned char **out, apr_size_t *outlen, apr_pool_t *p, const char *s);
/* Same decoders into a caller buffer (no pool): APR_ENOSPC if cap is too small. */
apr_status_t hg_base64_decode_buf(unsigned char *out, apr_size_t cap, apr_size_t *outlen,
                                  const char *s, int url);

/* ---- protocol helpers ---- */
/* NHSA mobile-pay data key (mobile-pay.md §3.3): the ASCII of the first 16 uppercase hex digits of
 * SM4-ECB/PKCS#7(key = appId[0..16), appSecret). app_id shorter than 16 -> HG_EINVALID. */
apr_status_t hg_nhsa_data_key(unsigned char key[16], const char *app_id, const char *app_secret);

#endif
