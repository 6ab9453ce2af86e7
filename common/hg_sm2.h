/* hisgate SM2 arithmetic: the signing half of GM/T 0003 (SM2) in constant time, without OpenSSL.
 *
 * Why: OpenSSL 3.0 signs on the SM2 curve with its generic constant-time ladder, 236 µs a
 * signature on this machine (P-256, with its precomputed tables, takes 14 µs). Every bill carries
 * one SM2 unit seal, so that was a third of httpd's CPU per bill. Here k·G is a fixed-base comb:
 * 64 precomputed tables of 16 multiples of G, one complete projective addition per 4-bit digit
 * (Renes-Costello-Batina 2016, a = -3), every table entry read for every digit, no branch on a
 * secret. (1+d)^-1 is computed once per key.
 *
 * Only hg_crypto.c calls this: it draws k, hashes Z_A||M with SM3 and writes the DER; the checks
 * of signatures stay OpenSSL's (hg_sm2_verify). Integers are 32-byte big-endian throughout. */
#ifndef HG_SM2_H
#define HG_SM2_H

#include <stdint.h>

/* A private key ready to sign: (1+d)^-1 mod n, in Montgomery form. Wipe it with hg_sm2_key_wipe. */
typedef struct hg_sm2_key_t {
    uint64_t dinv[4];
} hg_sm2_key_t;

/* 1 when 1 <= k <= n-1 (a valid nonce or private key; constant time). */
int hg_sm2_scalar_valid(const unsigned char k[32]);

/* Prepares key from the private scalar d. 0 when d is not a usable SM2 private key (d = 0 or
 * d >= n-1: then 1+d has no inverse mod n). */
int hg_sm2_key_init(hg_sm2_key_t *key, const unsigned char d[32]);
void hg_sm2_key_wipe(hg_sm2_key_t *key);

/* (x, y) = k·G for 1 <= k <= n-1, in constant time. The first call builds the tables (96 KB,
 * about 1 ms, once per process, thread-safe). */
void hg_sm2_base_mul(unsigned char x[32], unsigned char y[32], const unsigned char k[32]);

/* One signing attempt on the digest e = SM3(Z_A || M) with the nonce k (valid, fresh, secret):
 * r = (e + x1) mod n, s = (1+d)^-1 (k + r) - r mod n. 0 when the attempt must be repeated with a
 * new k (r = 0, r + k = n or s = 0; chance about 2^-254). */
int hg_sm2_sign_digest(unsigned char r[32], unsigned char s[32], const hg_sm2_key_t *key,
                       const unsigned char e[32], const unsigned char k[32]);

/* The curve's parameters, for tests that compare them with OpenSSL's. */
void hg_sm2_curve(unsigned char p[32], unsigned char a[32], unsigned char b[32], unsigned char n[32],
                  unsigned char gx[32], unsigned char gy[32]);

#endif
