/* hisgate SM2 arithmetic (see hg_sm2.h). Four 64-bit limbs, least significant first; Montgomery
 * multiplication (CIOS) serves both the field (mod p) and the scalars (mod n). Everything that
 * touches a secret runs the same instructions and reads the same memory whatever its value:
 * masks instead of branches, every table entry read. */
#include <pthread.h>
#include <string.h>

#include "hg_sm2.h"

typedef uint64_t limb;
typedef unsigned __int128 dlimb;

/* the small helpers are inlined: called 30 times per point addition, their calls cost a third */
#define HOT static inline __attribute__((always_inline))

typedef struct {
    limb m[4];              /* the modulus */
    limb n0;                /* -m^-1 mod 2^64 */
    limb rr[4];             /* R^2 mod m, R = 2^256: into Montgomery form */
    limb one[4];            /* R mod m: 1 in Montgomery form */
    limb m_minus_2[4];      /* the exponent of an inversion (Fermat) */
} modulus_t;

/* GM/T 0003.5: the recommended 256-bit curve y^2 = x^3 + ax + b over F_p, a = p - 3 */
static const limb P[4] = { 0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFF00000000ULL,
                           0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFEFFFFFFFFULL };
static const limb N[4] = { 0x53BBF40939D54123ULL, 0x7203DF6B21C6052BULL,
                           0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFEFFFFFFFFULL };
static const limb B[4] = { 0xDDBCBD414D940E93ULL, 0xF39789F515AB8F92ULL,
                           0x4D5A9E4BCF6509A7ULL, 0x28E9FA9E9D9F5E34ULL };
static const limb GX[4] = { 0x715A4589334C74C7ULL, 0x8FE30BBFF2660BE1ULL,
                            0x5F9904466A39C994ULL, 0x32C4AE2C1F198119ULL };
static const limb GY[4] = { 0x02DF32E52139F0A0ULL, 0xD0A9877CC62A4740ULL,
                            0x59BDCEE36B692153ULL, 0xBC3736A2F4F6779CULL };

static modulus_t FP, FN;    /* set up once, with the tables */

typedef struct {
    limb x[4], y[4], z[4];  /* projective (X:Y:Z), Montgomery form; (0:1:0) is the identity */
} point_t;

/* comb[i][j] = j * 16^i * G: 64 digits of 4 bits, 16 values each */
static point_t comb[64][16];
static limb b_mont[4];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------- bytes and limbs */

static void from_bytes(limb r[4], const unsigned char b[32])
{
    for (int i = 0; i < 4; i++) {
        limb v = 0;
        for (int j = 0; j < 8; j++)
            v = (v << 8) | b[(3 - i) * 8 + j];
        r[i] = v;
    }
}

static void to_bytes(unsigned char b[32], const limb r[4])
{
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            b[(3 - i) * 8 + j] = (unsigned char)(r[i] >> (56 - 8 * j));
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* all ones when x == 0, else 0 */
HOT limb mask_zero(limb x)
{
    return (limb)0 - (limb)(((x | (limb)(0 - x)) >> 63) ^ 1);
}

HOT limb is_zero4(const limb a[4])
{
    return mask_zero(a[0] | a[1] | a[2] | a[3]);
}

HOT void select4(limb r[4], limb mask, const limb a[4], const limb b[4])  /* mask ? a : b */
{
    for (int i = 0; i < 4; i++)
        r[i] = (a[i] & mask) | (b[i] & ~mask);
}

/* r = a - b over 4 limbs; the borrow out (0 or 1) */
HOT limb sub4(limb r[4], const limb a[4], const limb b[4])
{
    limb borrow = 0;
    for (int i = 0; i < 4; i++) {
        dlimb d = (dlimb)a[i] - b[i] - borrow;
        r[i] = (limb)d;
        borrow = (limb)(d >> 64) & 1;
    }
    return borrow;
}

/* r = a + b over 4 limbs; the carry out */
HOT limb add4(limb r[4], const limb a[4], const limb b[4])
{
    dlimb c = 0;
    for (int i = 0; i < 4; i++) {
        c = (dlimb)a[i] + b[i] + (c >> 64);
        r[i] = (limb)c;
    }
    return (limb)(c >> 64);
}

/* ---------------------------------------------------------------- arithmetic mod m */

/* a, b < m: r = a + b mod m */
HOT void mod_add(limb r[4], const limb a[4], const limb b[4], const modulus_t *M)
{
    limb s[4], u[4];
    limb carry = add4(s, a, b);
    limb borrow = sub4(u, s, M->m);
    /* s is the answer only when it is below m and did not overflow */
    select4(r, (limb)0 - (borrow & (carry ^ 1)), s, u);
}

/* a, b < m: r = a - b mod m */
HOT void mod_sub(limb r[4], const limb a[4], const limb b[4], const modulus_t *M)
{
    limb d[4], back[4];
    limb borrow = sub4(d, a, b);
    for (int i = 0; i < 4; i++)
        back[i] = M->m[i] & ((limb)0 - borrow);
    add4(r, d, back);
}

/* a < 2^256: a mod m for a modulus above 2^255 (one subtraction at most) */
static void mod_reduce_once(limb r[4], const limb a[4], const modulus_t *M)
{
    limb u[4];
    limb borrow = sub4(u, a, M->m);
    select4(r, (limb)0 - borrow, a, u);
}

/* a, b < m: r = a * b / R mod m (CIOS) */
static void mont_mul(limb r[4], const limb a[4], const limb b[4], const modulus_t *M)
{
    limb t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5;
    dlimb c;

    for (int i = 0; i < 4; i++) {
        limb bi = b[i], q;
        c = (dlimb)a[0] * bi + t0;                 t0 = (limb)c;
        c = (dlimb)a[1] * bi + t1 + (c >> 64);     t1 = (limb)c;
        c = (dlimb)a[2] * bi + t2 + (c >> 64);     t2 = (limb)c;
        c = (dlimb)a[3] * bi + t3 + (c >> 64);     t3 = (limb)c;
        c = (dlimb)t4 + (c >> 64);                 t4 = (limb)c; t5 = (limb)(c >> 64);
        q = t0 * M->n0;
        c = (dlimb)q * M->m[0] + t0;
        c = (dlimb)q * M->m[1] + t1 + (c >> 64);   t0 = (limb)c;
        c = (dlimb)q * M->m[2] + t2 + (c >> 64);   t1 = (limb)c;
        c = (dlimb)q * M->m[3] + t3 + (c >> 64);   t2 = (limb)c;
        c = (dlimb)t4 + (c >> 64);                 t3 = (limb)c;
        t4 = t5 + (limb)(c >> 64);
    }
    /* t < 2m: subtract m unless that borrows past the fifth limb */
    {
        limb t[4] = { t0, t1, t2, t3 }, u[4];
        limb borrow = sub4(u, t, M->m);
        limb keep_t = (limb)0 - (borrow & ((t4 ^ 1) & 1));
        select4(r, keep_t, t, u);
    }
}

static void to_mont(limb r[4], const limb a[4], const modulus_t *M)
{
    mont_mul(r, a, M->rr, M);
}

static void from_mont(limb r[4], const limb a[4], const modulus_t *M)
{
    static const limb one[4] = { 1, 0, 0, 0 };
    mont_mul(r, a, one, M);
}

/* r = a^-1 (a in Montgomery form, not 0): a^(m-2), four exponent bits at a time (a third fewer
 * products than bit by bit). The exponent is public, so indexing and branching on its bits reveal
 * nothing about a. */
static void mont_inv(limb r[4], const limb a[4], const modulus_t *M)
{
    limb pow[16][4], acc[4];

    memcpy(pow[0], M->one, sizeof pow[0]);
    memcpy(pow[1], a, sizeof pow[1]);
    for (int i = 2; i < 16; i++)
        mont_mul(pow[i], pow[i - 1], a, M);
    memcpy(acc, M->one, sizeof acc);
    for (int i = 63; i >= 0; i--) {
        limb digit = (M->m_minus_2[i / 16] >> (4 * (i % 16))) & 15;
        for (int s = 0; s < 4; s++)
            mont_mul(acc, acc, acc, M);
        if (digit)
            mont_mul(acc, acc, pow[digit], M);
    }
    memcpy(r, acc, sizeof acc);
    wipe(acc, sizeof acc);
    wipe(pow, sizeof pow);
}

static void modulus_init(modulus_t *M, const limb m[4])
{
    limb inv = 1, two[4] = { 2, 0, 0, 0 };

    memcpy(M->m, m, sizeof M->m);
    for (int i = 0; i < 6; i++)             /* Newton: each step doubles the correct low bits */
        inv *= 2 - m[0] * inv;
    M->n0 = (limb)0 - inv;
    /* R mod m = 2^256 - m, as m > 2^255 */
    {
        limb zero[4] = { 0, 0, 0, 0 };
        sub4(M->one, zero, m);
    }
    memcpy(M->rr, M->one, sizeof M->rr);
    for (int i = 0; i < 256; i++)           /* R * 2^256 = R^2 */
        mod_add(M->rr, M->rr, M->rr, M);
    sub4(M->m_minus_2, m, two);
}

/* ---------------------------------------------------------------- points */

/* r = p + q, complete for every pair of points (identity and doubling included): Algorithm 4 of
 * Renes, Costello and Batina, "Complete addition formulas for prime order elliptic curves" (2016),
 * for a = -3. 12 multiplications, 2 by b. r may be p or q. */
static void point_add(point_t *r, const point_t *p, const point_t *q)
{
    const modulus_t *M = &FP;
    limb t0[4], t1[4], t2[4], t3[4], t4[4], x3[4], y3[4], z3[4];

    mont_mul(t0, p->x, q->x, M);
    mont_mul(t1, p->y, q->y, M);
    mont_mul(t2, p->z, q->z, M);
    mod_add(t3, p->x, p->y, M);
    mod_add(t4, q->x, q->y, M);
    mont_mul(t3, t3, t4, M);
    mod_add(t4, t0, t1, M);
    mod_sub(t3, t3, t4, M);
    mod_add(t4, p->y, p->z, M);
    mod_add(x3, q->y, q->z, M);
    mont_mul(t4, t4, x3, M);
    mod_add(x3, t1, t2, M);
    mod_sub(t4, t4, x3, M);
    mod_add(x3, p->x, p->z, M);
    mod_add(y3, q->x, q->z, M);
    mont_mul(x3, x3, y3, M);
    mod_add(y3, t0, t2, M);
    mod_sub(y3, x3, y3, M);
    mont_mul(z3, b_mont, t2, M);
    mod_sub(x3, y3, z3, M);
    mod_add(z3, x3, x3, M);
    mod_add(x3, x3, z3, M);
    mod_sub(z3, t1, x3, M);
    mod_add(x3, t1, x3, M);
    mont_mul(y3, b_mont, y3, M);
    mod_add(t1, t2, t2, M);
    mod_add(t2, t1, t2, M);
    mod_sub(y3, y3, t2, M);
    mod_sub(y3, y3, t0, M);
    mod_add(t1, y3, y3, M);
    mod_add(y3, t1, y3, M);
    mod_add(t1, t0, t0, M);
    mod_add(t0, t1, t0, M);
    mod_sub(t0, t0, t2, M);
    mont_mul(t1, t4, y3, M);
    mont_mul(t2, t0, y3, M);
    mont_mul(y3, x3, z3, M);
    mod_add(y3, y3, t2, M);
    mont_mul(x3, t3, x3, M);
    mod_sub(x3, x3, t1, M);
    mont_mul(z3, t4, z3, M);
    mont_mul(t1, t3, t0, M);
    mod_add(z3, z3, t1, M);
    memcpy(r->x, x3, sizeof x3);
    memcpy(r->y, y3, sizeof y3);
    memcpy(r->z, z3, sizeof z3);
}

static void point_identity(point_t *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->y, FP.one, sizeof r->y);
}

static void build_tables(void)
{
    point_t base;

    modulus_init(&FP, P);
    modulus_init(&FN, N);
    to_mont(b_mont, B, &FP);
    to_mont(base.x, GX, &FP);
    to_mont(base.y, GY, &FP);
    memcpy(base.z, FP.one, sizeof base.z);
    for (int i = 0; i < 64; i++) {
        point_identity(&comb[i][0]);
        comb[i][1] = base;
        for (int j = 2; j < 16; j++)
            point_add(&comb[i][j], &comb[i][j - 1], &base);
        point_add(&base, &comb[i][15], &base);     /* 16^(i+1) G */
    }
}

static void tables(void)
{
    pthread_once(&tables_once, build_tables);
}

/* r = comb[i][digit], reading all sixteen entries */
static void comb_lookup(point_t *r, int i, limb digit)
{
    memset(r, 0, sizeof *r);
    for (limb j = 0; j < 16; j++) {
        limb take = mask_zero(j ^ digit);
        const limb *src = (const limb *)&comb[i][j];
        limb *dst = (limb *)r;
        for (int w = 0; w < 12; w++)
            dst[w] |= src[w] & take;
    }
}

/* x, y (plain, not Montgomery) of k·G */
static void base_mul_limbs(limb x[4], limb y[4], const limb k[4])
{
    point_t acc, t;
    limb zinv[4];

    tables();
    point_identity(&acc);
    for (int i = 0; i < 64; i++) {
        comb_lookup(&t, i, (k[i / 16] >> (4 * (i % 16))) & 15);
        point_add(&acc, &acc, &t);
    }
    mont_inv(zinv, acc.z, &FP);
    mont_mul(x, acc.x, zinv, &FP);
    mont_mul(y, acc.y, zinv, &FP);
    from_mont(x, x, &FP);
    from_mont(y, y, &FP);
    wipe(&acc, sizeof acc);
    wipe(&t, sizeof t);
    wipe(zinv, sizeof zinv);
}

/* ---------------------------------------------------------------- the interface */

int hg_sm2_scalar_valid(const unsigned char k[32])
{
    limb v[4], u[4], below_n;
    int ok;

    from_bytes(v, k);
    below_n = sub4(u, v, N);                    /* the borrow: k < n */
    ok = (int)(below_n & ~is_zero4(v) & 1);
    wipe(v, sizeof v);
    wipe(u, sizeof u);
    return ok;
}

int hg_sm2_key_init(hg_sm2_key_t *key, const unsigned char d[32])
{
    limb v[4], one[4] = { 1, 0, 0, 0 }, d1[4];
    int ok;

    tables();
    memset(key, 0, sizeof *key);
    from_bytes(v, d);
    mod_add(d1, v, one, &FN);                   /* 1 + d; only valid d reach the use below */
    ok = hg_sm2_scalar_valid(d) && !(is_zero4(d1) & 1);
    if (ok) {
        to_mont(d1, d1, &FN);
        mont_inv(key->dinv, d1, &FN);       /* (1+d)^-1 R: Montgomery form */
    }
    wipe(v, sizeof v);
    wipe(d1, sizeof d1);
    return ok;
}

void hg_sm2_key_wipe(hg_sm2_key_t *key)
{
    wipe(key, sizeof *key);
}

void hg_sm2_base_mul(unsigned char x[32], unsigned char y[32], const unsigned char k[32])
{
    limb kk[4], xx[4], yy[4];

    from_bytes(kk, k);
    base_mul_limbs(xx, yy, kk);
    to_bytes(x, xx);
    to_bytes(y, yy);
    wipe(kk, sizeof kk);
}

int hg_sm2_sign_digest(unsigned char r_out[32], unsigned char s_out[32], const hg_sm2_key_t *key,
                       const unsigned char e_in[32], const unsigned char k_in[32])
{
    limb k[4], e[4], x1[4], y1[4], r[4], kr[4], s[4];
    int ok;

    tables();
    from_bytes(k, k_in);
    from_bytes(e, e_in);
    base_mul_limbs(x1, y1, k);
    /* r = (e + x1) mod n; x1 < p < 2n and e < 2^256 < 2n */
    mod_reduce_once(e, e, &FN);
    mod_reduce_once(x1, x1, &FN);
    mod_add(r, e, x1, &FN);
    mod_add(kr, k, r, &FN);
    /* (1+d)^-1 (k - r d) = (1+d)^-1 (k + r) - r: dinv is in Montgomery form, so one product */
    mont_mul(s, key->dinv, kr, &FN);
    mod_sub(s, s, r, &FN);
    /* r, s are public once the signature is out; only k + r = n would be secret-dependent */
    ok = !(is_zero4(r) & 1) && !(is_zero4(kr) & 1) && !(is_zero4(s) & 1);
    to_bytes(r_out, r);
    to_bytes(s_out, s);
    wipe(k, sizeof k);
    wipe(kr, sizeof kr);
    wipe(s, sizeof s);
    wipe(x1, sizeof x1);
    wipe(y1, sizeof y1);
    return ok;
}

void hg_sm2_curve(unsigned char p[32], unsigned char a[32], unsigned char b[32], unsigned char n[32],
                  unsigned char gx[32], unsigned char gy[32])
{
    limb three[4] = { 3, 0, 0, 0 }, am[4];

    sub4(am, P, three);
    to_bytes(p, P);
    to_bytes(a, am);
    to_bytes(b, B);
    to_bytes(n, N);
    to_bytes(gx, GX);
    to_bytes(gy, GY);
}
