/*
 * mldsa.c - ML-DSA signature verification (FIPS 204, ML-DSA.Verify with the
 * empty context: Algorithms 3 and 8) for ML-DSA-44, -65 and -87, with SHAKE128
 * and SHAKE256 (FIPS 202) written here too. Portable C99, no heap.
 *
 * Written from FIPS 204 and FIPS 202 for the host and soft ports: the host
 * port binds it because the system's OpenSSL 3.0 has no ML-DSA, the soft port
 * for emulated cycle counts. Verification handles public data only, so it need
 * not be constant-time. The matrix A is expanded one entry at a time while it
 * is used (never stored); NTT(z) of the l signature polynomials is the largest
 * buffer (l x 1 KiB). Arithmetic: Montgomery reduction with R = 2^32 (FIPS 204
 * Appendix A), the zetas of the NTT (zeta = 1753, bit-reversed powers)
 * precomputed in Montgomery form.
 */
#include <string.h>

#include "mldsa.h"

#define Q 8380417
#define QINV 58728449u  /* q^-1 mod 2^32 */
#define D 13
#define N 256

/* ---- FIPS 202: Keccak-f[1600], SHAKE128, SHAKE256 ----------------------- */

static const uint64_t keccak_rc[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull,
    0x8000000080008000ull, 0x000000000000808bull, 0x0000000080000001ull,
    0x8000000080008081ull, 0x8000000000008009ull, 0x000000000000008aull,
    0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull,
    0x8000000000008003ull, 0x8000000000008002ull, 0x8000000000000080ull,
    0x000000000000800aull, 0x800000008000000aull, 0x8000000080008081ull,
    0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

/* rho offsets for lane x + 5y (FIPS 202 section 3.2.2) */
static const uint8_t keccak_rho[25] = {
    0u, 1u, 62u, 28u, 27u, 36u, 44u, 6u, 55u, 20u, 3u, 10u, 43u,
    25u, 39u, 41u, 45u, 15u, 21u, 8u, 18u, 2u, 61u, 56u, 14u,
};

static uint64_t rotl(uint64_t v, unsigned n)
{
    return n == 0u ? v : (v << n) | (v >> (64u - n));
}

/* destination lane of the pi step for lane x + 5y: y + 5((2x + 3y) mod 5) */
static const uint8_t keccak_pi[25] = {0u, 10u, 20u, 5u, 15u, 16u, 1u, 11u, 21u, 6u, 7u, 17u, 2u, 12u, 22u, 23u, 8u, 18u, 3u, 13u, 14u, 24u, 9u, 19u, 4u};
static const uint8_t mod5[10] = {0u, 1u, 2u, 3u, 4u, 0u, 1u, 2u, 3u, 4u};

static void keccak_f(uint64_t a[25])
{
    uint64_t c[5], b[25];
    unsigned r, x, i;
    for (r = 0; r < 24u; r++) {
        for (x = 0; x < 5u; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (x = 0; x < 5u; x++) {
            uint64_t dx = c[mod5[x + 4u]] ^ rotl(c[mod5[x + 1u]], 1u);
            a[x] ^= dx;
            a[x + 5] ^= dx;
            a[x + 10] ^= dx;
            a[x + 15] ^= dx;
            a[x + 20] ^= dx;
        }
        /* rho and pi */
        for (i = 0; i < 25u; i++)
            b[keccak_pi[i]] = rotl(a[i], keccak_rho[i]);
        /* chi, row by row */
        for (i = 0; i < 25u; i += 5u)
            for (x = 0; x < 5u; x++)
                a[i + x] = b[i + x] ^ (~b[i + mod5[x + 1u]] & b[i + mod5[x + 2u]]);
        a[0] ^= keccak_rc[r];
    }
}

typedef struct {
    uint64_t a[25];
    unsigned rate;  /* bytes: 168 SHAKE128, 136 SHAKE256 */
    unsigned pos;   /* absorbing: bytes of the current block; squeezing: bytes used */
} shake_t;

static void shake_init(shake_t *s, unsigned rate)
{
    memset(s, 0, sizeof *s);
    s->rate = rate;
}

static void shake_absorb(shake_t *s, const uint8_t *in, size_t len)
{
    while (len--) {
        s->a[s->pos / 8u] ^= (uint64_t)*in++ << (8u * (s->pos % 8u));
        if (++s->pos == s->rate) {
            keccak_f(s->a);
            s->pos = 0;
        }
    }
}

static void shake_finish(shake_t *s)
{
    s->a[s->pos / 8u] ^= (uint64_t)0x1f << (8u * (s->pos % 8u));
    s->a[(s->rate - 1u) / 8u] ^= (uint64_t)0x80 << (8u * ((s->rate - 1u) % 8u));
    keccak_f(s->a);
    s->pos = 0;
}

static void shake_squeeze(shake_t *s, uint8_t *out, size_t len)
{
    while (len--) {
        if (s->pos == s->rate) {
            keccak_f(s->a);
            s->pos = 0;
        }
        *out++ = (uint8_t)(s->a[s->pos / 8u] >> (8u * (s->pos % 8u)));
        s->pos++;
    }
}

void bootref_shake(unsigned bits, const uint8_t *in, size_t len, uint8_t *out, size_t outlen)
{
    shake_t s;
    shake_init(&s, bits == 128u ? 168u : 136u);
    shake_absorb(&s, in, len);
    shake_finish(&s);
    shake_squeeze(&s, out, outlen);
}

/* ---- FIPS 204 arithmetic ------------------------------------------------ */

/* zeta^brv8(k) * 2^32 mod q, centred (FIPS 204 Appendix B, Montgomery form) */
static const int32_t zetas[N] = {
    -4186625, 25847, -2608894, -518909, 237124, -777960, -876248, 466468,
    1826347, 2353451, -359251, -2091905, 3119733, -2884855, 3111497, 2680103,
    2725464, 1024112, -1079900, 3585928, -549488, -1119584, 2619752, -2108549,
    -2118186, -3859737, -1399561, -3277672, 1757237, -19422, 4010497, 280005,
    2706023, 95776, 3077325, 3530437, -1661693, -3592148, -2537516, 3915439,
    -3861115, -3043716, 3574422, -2867647, 3539968, -300467, 2348700, -539299,
    -1699267, -1643818, 3505694, -3821735, 3507263, -2140649, -1600420, 3699596,
    811944, 531354, 954230, 3881043, 3900724, -2556880, 2071892, -2797779,
    -3930395, -1528703, -3677745, -3041255, -1452451, 3475950, 2176455, -1585221,
    -1257611, 1939314, -4083598, -1000202, -3190144, -3157330, -3632928, 126922,
    3412210, -983419, 2147896, 2715295, -2967645, -3693493, -411027, -2477047,
    -671102, -1228525, -22981, -1308169, -381987, 1349076, 1852771, -1430430,
    -3343383, 264944, 508951, 3097992, 44288, -1100098, 904516, 3958618,
    -3724342, -8578, 1653064, -3249728, 2389356, -210977, 759969, -1316856,
    189548, -3553272, 3159746, -1851402, -2409325, -177440, 1315589, 1341330,
    1285669, -1584928, -812732, -1439742, -3019102, -3881060, -3628969, 3839961,
    2091667, 3407706, 2316500, 3817976, -3342478, 2244091, -2446433, -3562462,
    266997, 2434439, -1235728, 3513181, -3520352, -3759364, -1197226, -3193378,
    900702, 1859098, 909542, 819034, 495491, -1613174, -43260, -522500,
    -655327, -3122442, 2031748, 3207046, -3556995, -525098, -768622, -3595838,
    342297, 286988, -2437823, 4108315, 3437287, -3342277, 1735879, 203044,
    2842341, 2691481, -2590150, 1265009, 4055324, 1247620, 2486353, 1595974,
    -3767016, 1250494, 2635921, -3548272, -2994039, 1869119, 1903435, -1050970,
    -1333058, 1237275, -3318210, -1430225, -451100, 1312455, 3306115, -1962642,
    -1279661, 1917081, -2546312, -1374803, 1500165, 777191, 2235880, 3406031,
    -542412, -2831860, -1671176, -1846953, -2584293, -3724270, 594136, -3776993,
    -2013608, 2432395, 2454455, -164721, 1957272, 3369112, 185531, -1207385,
    -3183426, 162844, 1616392, 3014001, 810149, 1652634, -3694233, -1799107,
    -3038916, 3523897, 3866901, 269760, 2213111, -975884, 1717735, 472078,
    -426683, 1723600, -1803090, 1910376, -1667432, -1104333, -260646, -3833893,
    -2939036, -2235985, -420899, -2286327, 183443, -976891, 1612842, -3545687,
    -554416, 3919660, -48306, -1362209, 3937738, 1400424, -846154, 1976782,
};

/* a * 2^-32 mod q, in (-q, q) */
static int32_t mont(int64_t a)
{
    int32_t t = (int32_t)((uint32_t)a * QINV);
    return (int32_t)((a - (int64_t)t * Q) >> 32);
}

/* a mod q into about (-6.3e6, 6.3e6) for |a| < 2^31 - 2^22 */
static int32_t reduce32(int32_t a)
{
    int32_t t = (a + (1 << 22)) >> 23;
    return a - t * Q;
}

/* into [0, q) */
static int32_t freeze(int32_t a)
{
    a = reduce32(a);
    a += (a >> 31) & Q;
    return a;
}

/* Algorithm 41 */
static void ntt(int32_t w[N])
{
    unsigned len, start, j, m = 0;
    for (len = 128; len > 0; len >>= 1)
        for (start = 0; start < N; start += 2u * len) {
            int32_t z = zetas[++m];
            for (j = start; j < start + len; j++) {
                int32_t t = mont((int64_t)z * w[j + len]);
                w[j + len] = w[j] - t;
                w[j] = w[j] + t;
            }
        }
}

/* Algorithm 42 without the final scaling (done by the caller with mont(F * x)) */
static void intt(int32_t w[N])
{
    unsigned len, start, j, m = N;
    for (len = 1; len < N; len <<= 1)
        for (start = 0; start < N; start += 2u * len) {
            int32_t z = -zetas[--m];
            for (j = start; j < start + len; j++) {
                int32_t t = w[j];
                w[j] = reduce32(t + w[j + len]);
                w[j + len] = mont((int64_t)z * (t - w[j + len]));
            }
        }
}

/* R^2 / 256 mod q: undoes the R^-1 of the pointwise products and scales by 1/256 */
#define F_SCALE 41978

typedef struct {
    uint8_t k, l, tau, omega, ctilde, zbits, w1bits;
    int32_t gamma1, gamma2, beta;
} params_t;

static int params(int level, params_t *p)
{
    if (level == 44) {
        params_t v = {4, 4, 39, 80, 32, 18, 6, 1 << 17, (Q - 1) / 88, 78};
        *p = v;
    } else if (level == 65) {
        params_t v = {6, 5, 49, 55, 48, 20, 4, 1 << 19, (Q - 1) / 32, 196};
        *p = v;
    } else if (level == 87) {
        params_t v = {8, 7, 60, 75, 64, 20, 4, 1 << 19, (Q - 1) / 32, 120};
        *p = v;
    } else {
        return -1;
    }
    return 0;
}

/* little-endian bit field of `bits` bits at index i (BitUnpack, Algorithms 18-19) */
static uint32_t bits_at(const uint8_t *buf, unsigned i, unsigned bits)
{
    unsigned at = i * bits, k;
    uint32_t v = 0;
    for (k = 0; k < bits; k++, at++)
        v |= (((uint32_t)buf[at / 8u] >> (at % 8u)) & 1u) << k;
    return v;
}

/* Algorithm 30 for A[r][s]: coefficients streamed into acc += A[r][s] * zhat (Montgomery) */
static void expand_mul_acc(const uint8_t rho[32], unsigned r, unsigned s, const int32_t *zhat, int32_t *acc)
{
    shake_t g;
    uint8_t seed[34], b[3];
    unsigned j = 0;
    memcpy(seed, rho, 32u);
    seed[32] = (uint8_t)s;
    seed[33] = (uint8_t)r;
    shake_init(&g, 168u);
    shake_absorb(&g, seed, sizeof seed);
    shake_finish(&g);
    while (j < N) {
        int32_t a;
        shake_squeeze(&g, b, 3u);
        a = (int32_t)((uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)(b[2] & 0x7fu) << 16));
        if (a < Q) {
            acc[j] += mont((int64_t)a * zhat[j]);
            j++;
        }
    }
}

/* Algorithm 29 */
static void sample_in_ball(const uint8_t *ctilde, unsigned len, unsigned tau, int32_t c[N])
{
    shake_t h;
    uint8_t sbytes[8], jb;
    uint64_t signs = 0;
    unsigned i, k;
    shake_init(&h, 136u);
    shake_absorb(&h, ctilde, len);
    shake_finish(&h);
    shake_squeeze(&h, sbytes, 8u);
    for (k = 0; k < 8u; k++)
        signs |= (uint64_t)sbytes[k] << (8u * k);
    memset(c, 0, N * sizeof c[0]);
    for (i = N - tau; i < N; i++) {
        do
            shake_squeeze(&h, &jb, 1u);
        while (jb > i);
        c[i] = c[jb];
        c[jb] = (signs & 1u) ? -1 : 1;
        signs >>= 1;
    }
}

/* Algorithms 36 and 40: the high bits of r, moved by the hint */
static int32_t use_hint(const params_t *p, int32_t r, int hint)
{
    int32_t m = (Q - 1) / (2 * p->gamma2), r0, r1;
    r = freeze(r);
    r0 = r % (2 * p->gamma2);
    if (r0 > p->gamma2)
        r0 -= 2 * p->gamma2;
    if (r - r0 == Q - 1) {
        r1 = 0;
        r0 -= 1;
    } else {
        r1 = (r - r0) / (2 * p->gamma2);
    }
    if (!hint)
        return r1;
    return r0 > 0 ? (r1 + 1) % m : (r1 - 1 + m) % m;
}

typedef struct {
    int32_t zhat[7][N];   /* NTT(z), l <= 7 */
    int32_t chat[N];
    int32_t acc[N];
    int32_t t[N];
    uint8_t w1[N];        /* one row of w1Encode */
} work_t;

#ifdef BOOTREF_MLDSA_STATIC
static work_t work_buf; /* devices: one verification at a time, kept off the stack */
#endif

int bootref_mldsa_verify(int level, const uint8_t *pk, size_t pk_len, const uint8_t *msg, size_t msg_len,
                         const uint8_t *sig, size_t sig_len)
{
    params_t p;
    shake_t h;
    uint8_t tr[64], mu[64], ct[64], pre[2] = {0, 0};
    const uint8_t *zbuf, *hint;
    unsigned i, j, n, idx, zbytes;
#ifdef BOOTREF_MLDSA_STATIC
    work_t *w = &work_buf;
#else
    work_t wk;
    work_t *w = &wk;
#endif

    if (params(level, &p) != 0 || pk_len != 32u + 320u * p.k)
        return -1;
    zbytes = 32u * p.zbits;
    if (sig_len != p.ctilde + (size_t)p.l * zbytes + p.omega + p.k)
        return -1;
    zbuf = sig + p.ctilde;
    hint = zbuf + (size_t)p.l * zbytes;

    /* the hint (Algorithm 21): indices strictly increasing per row, counts
     * non-decreasing and at most omega, unused bytes zero */
    idx = 0;
    for (i = 0; i < p.k; i++) {
        unsigned end = hint[p.omega + i];
        if (end < idx || end > p.omega)
            return -1;
        for (j = idx; j < end; j++)
            if (j > idx && hint[j - 1] >= hint[j])
                return -1;
        idx = end;
    }
    for (j = idx; j < p.omega; j++)
        if (hint[j] != 0u)
            return -1;

    /* z (Algorithm 27): coefficients gamma1 - value, |z|_inf < gamma1 - beta */
    for (i = 0; i < p.l; i++) {
        for (n = 0; n < N; n++) {
            int32_t z = p.gamma1 - (int32_t)bits_at(zbuf + (size_t)i * zbytes, n, p.zbits);
            if (z >= p.gamma1 - p.beta || z <= -(p.gamma1 - p.beta))
                return -1;
            w->zhat[i][n] = z;
        }
        ntt(w->zhat[i]);
    }

    /* tr = H(pk, 64), mu = H(tr || M', 64) with M' = 0 || |ctx| = 0 || M */
    bootref_shake(256u, pk, pk_len, tr, 64u);
    shake_init(&h, 136u);
    shake_absorb(&h, tr, 64u);
    shake_absorb(&h, pre, 2u);
    shake_absorb(&h, msg, msg_len);
    shake_finish(&h);
    shake_squeeze(&h, mu, 64u);

    sample_in_ball(sig, p.ctilde, p.tau, w->chat);
    ntt(w->chat);

    /* c~' = H(mu || w1Encode(w1'), lambda/4), absorbed row by row */
    shake_init(&h, 136u);
    shake_absorb(&h, mu, 64u);
    idx = 0;
    for (i = 0; i < p.k; i++) {
        unsigned end = hint[p.omega + i], nbytes = 32u * p.w1bits;
        memset(w->acc, 0, sizeof w->acc);
        for (j = 0; j < p.l; j++)
            expand_mul_acc(pk, i, j, w->zhat[j], w->acc);
        for (n = 0; n < N; n++)
            w->t[n] = (int32_t)(bits_at(pk + 32u + 320u * i, n, 10u) << D);
        ntt(w->t);
        for (n = 0; n < N; n++)
            w->acc[n] = reduce32(w->acc[n] - mont((int64_t)w->chat[n] * w->t[n]));
        intt(w->acc);
        memset(w->w1, 0, sizeof w->w1);
        for (n = 0; n < N; n++) {
            int hbit = idx < end && hint[idx] == n;
            int32_t v = use_hint(&p, mont((int64_t)F_SCALE * w->acc[n]), hbit);
            unsigned at = n * p.w1bits, b;
            idx += (unsigned)hbit;
            for (b = 0; b < p.w1bits; b++, at++)
                w->w1[at / 8u] |= (uint8_t)(((uint32_t)v >> b & 1u) << (at % 8u));
        }
        shake_absorb(&h, w->w1, nbytes);
    }
    shake_finish(&h);
    shake_squeeze(&h, ct, p.ctilde);
    return memcmp(ct, sig, p.ctilde) == 0 ? 0 : -1;
}
