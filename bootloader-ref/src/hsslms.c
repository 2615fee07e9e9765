/*
 * hsslms.c - HSS-LMS signature verification (RFC 8554 sections 4.6, 5.4.2,
 * 6.3; COSE alg -46, RFC 8778), the authentication algorithm of SUIT's
 * mandatory profile suit-sha256-hsslms-a256kw-a256ctr (draft-ietf-suit-mti).
 *
 * Compiled only with BOOTREF_WITH_HSSLMS=1, so the lean core keeps its size.
 * Written from RFC 8554 for the SHA-256 parameter sets with n = m = 32
 * (LMS_SHA256_M32_H5..H25, LMOTS_SHA256_N32_W1..W8; NIST SP 800-208 section 4).
 *
 * Every hash goes through the port's one SHA-256 (init/update/final, one at a
 * time): the LM-OTS public-key candidate Kc hashes all p chain ends, which are
 * themselves computed with hashes, so the chain ends are kept in ctx->hss_z
 * (p x 32 bytes, sized by BOOTREF_HSSLMS_MIN_W) and hashed afterwards. No
 * heap; the stack holds a few dozen bytes of hash input. Lengths are checked
 * against the type codes before anything is read.
 */
#include <string.h>

#include "internal.h"

#if BOOTREF_WITH_HSSLMS

#define N 32u                 /* n = m = 32: SHA-256 */
#define D_PBLC 0x8080u
#define D_MESG 0x8181u
#define D_LEAF 0x8282u
#define D_INTR 0x8383u

typedef struct {
    uint8_t w;    /* Winternitz parameter */
    uint16_t p;   /* number of n-byte chains */
    uint8_t ls;   /* checksum left shift */
} ots_t;

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* RFC 8554 Table 1 (LM-OTS, type codes 1-4); 0 = unknown or below BOOTREF_HSSLMS_MIN_W. */
static int ots_params(uint32_t type, ots_t *o)
{
    static const ots_t table[4] = {{1u, 265u, 7u}, {2u, 133u, 6u}, {4u, 67u, 4u}, {8u, 34u, 0u}};
    if (type < 1u || type > 4u || table[type - 1u].w < BOOTREF_HSSLMS_MIN_W)
        return 0;
    *o = table[type - 1u];
    return 1;
}

/* RFC 8554 Table 2 (LMS, type codes 5-9): the tree height, 0 = unknown. */
static unsigned lms_height(uint32_t type)
{
    return type >= 5u && type <= 9u ? 5u * (type - 4u) : 0u;
}

static size_t ots_sig_len(const ots_t *o)
{
    return 4u + N * ((size_t)o->p + 1u);
}

static size_t lms_sig_len(const ots_t *o, unsigned h)
{
    return 4u + ots_sig_len(o) + 4u + N * (size_t)h;
}

/* One SHA-256 over up to three pieces through the port. */
static int hash3(const bootref_port_t *port, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
                 const uint8_t *c, size_t cn, uint8_t out[32])
{
    if (port->sha256_init(port->ctx) != BOOTREF_PORT_OK ||
        port->sha256_update(port->ctx, a, an) != BOOTREF_PORT_OK ||
        (bn != 0u && port->sha256_update(port->ctx, b, bn) != BOOTREF_PORT_OK) ||
        (cn != 0u && port->sha256_update(port->ctx, c, cn) != BOOTREF_PORT_OK) ||
        port->sha256_final(port->ctx, out) != BOOTREF_PORT_OK)
        return BOOTREF_PORT_ERROR;
    return BOOTREF_PORT_OK;
}

/* coef(S, i, w) of RFC 8554 section 3.1.3 */
static unsigned coef(const uint8_t *s, unsigned i, unsigned w)
{
    unsigned per = 8u / w;
    return (unsigned)(s[i / per] >> (8u - (w * (i % per) + w))) & ((1u << w) - 1u);
}

/* Algorithm 4b: the public-key hash Kc implied by an LM-OTS signature
 * (sig: u32 type || C || y[0..p-1], length already checked). */
static int ots_candidate(bootref_ctx_t *c, const ots_t *o, const uint8_t *id, uint32_t q, const uint8_t *sig,
                         const uint8_t *msg, size_t msg_len, uint8_t kc[32])
{
    const bootref_port_t *port = c->port;
    uint8_t qc[N + 2u];           /* Q || Cksm(Q) */
    uint8_t buf[16u + 4u + 2u + 1u + N];
    unsigned i, j, digits = 8u * N / o->w, top = (1u << o->w) - 1u;
    uint32_t sum = 0;
    int r;

    memcpy(buf, id, 16u);
    put32(buf + 16, q);
    buf[20] = (uint8_t)(D_MESG >> 8);
    buf[21] = (uint8_t)D_MESG;
    if ((r = hash3(port, buf, 22u, sig + 4, N, msg, msg_len, qc)) != BOOTREF_PORT_OK)
        return r;
    for (i = 0; i < digits; i++)
        sum += top - coef(qc, i, o->w);
    sum <<= o->ls;
    qc[N] = (uint8_t)(sum >> 8);
    qc[N + 1u] = (uint8_t)sum;
    for (i = 0; i < o->p; i++) {
        unsigned a = coef(qc, i, o->w);
        uint8_t *z = c->hss_z + (size_t)i * N;
        buf[20] = (uint8_t)(i >> 8);
        buf[21] = (uint8_t)i;
        memcpy(buf + 23, sig + 4u + N * (i + 1u), N);
        for (j = a; j < top; j++) {
            buf[22] = (uint8_t)j;
            if ((r = hash3(port, buf, sizeof buf, NULL, 0u, NULL, 0u, buf + 23)) != BOOTREF_PORT_OK)
                return r;
        }
        memcpy(z, buf + 23, N);
    }
    buf[20] = (uint8_t)(D_PBLC >> 8);
    buf[21] = (uint8_t)D_PBLC;
    return hash3(port, buf, 22u, c->hss_z, (size_t)o->p * N, NULL, 0u, kc);
}

/* Algorithm 6: one LMS signature over msg with an LMS public key
 * (pub: u32 lms type || u32 ots type || I || T1, 56 bytes). */
static int lms_verify(bootref_ctx_t *c, const uint8_t *pub, const uint8_t *msg, size_t msg_len,
                      const uint8_t *sig, size_t sig_len)
{
    ots_t o;
    unsigned h = lms_height(get32(pub)), i;
    uint32_t q, node;
    uint8_t buf[16u + 4u + 2u + 2u * N];
    uint8_t *tmp = buf + 22;
    int r;

    if (h == 0u || !ots_params(get32(pub + 4), &o))
        return BOOTREF_PORT_UNSUPPORTED;
    if (sig_len != lms_sig_len(&o, h) || get32(sig + 4) != get32(pub + 4) ||
        get32(sig + 4u + ots_sig_len(&o)) != get32(pub))
        return BOOTREF_PORT_FAIL;
    q = get32(sig);
    if (q >= (1u << h))
        return BOOTREF_PORT_FAIL;
    if ((r = ots_candidate(c, &o, pub + 8, q, sig + 4, msg, msg_len, tmp)) != BOOTREF_PORT_OK)
        return r;
    /* leaf: H(I || u32str(node) || D_LEAF || Kc), then up the path (section 5.4.2) */
    node = (1u << h) + q;
    memcpy(buf, pub + 8, 16u);
    put32(buf + 16, node);
    buf[20] = (uint8_t)(D_LEAF >> 8);
    buf[21] = (uint8_t)D_LEAF;
    if ((r = hash3(c->port, buf, 22u + N, NULL, 0u, NULL, 0u, tmp)) != BOOTREF_PORT_OK)
        return r;
    buf[20] = (uint8_t)(D_INTR >> 8);
    buf[21] = (uint8_t)D_INTR;
    for (i = 0; node > 1u; i++, node >>= 1) {
        const uint8_t *path = sig + 4u + ots_sig_len(&o) + 4u + (size_t)i * N;
        put32(buf + 16, node >> 1);
        if (node & 1u)
            r = hash3(c->port, buf, 22u, path, N, tmp, N, tmp);
        else
            r = hash3(c->port, buf, 22u + N, path, N, NULL, 0u, tmp);
        if (r != BOOTREF_PORT_OK)
            return r;
    }
    return br_equal(tmp, pub + 24, N) ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
}

/* Length of the LMS signature at sig[0..len), from its type codes; 0 = malformed or unsupported. */
static size_t lms_sig_at(const uint8_t *sig, size_t len)
{
    ots_t o;
    size_t n;
    unsigned h;
    if (len < 8u || !ots_params(get32(sig + 4), &o))
        return 0u;
    n = 4u + ots_sig_len(&o);
    if (len < n + 4u || (h = lms_height(get32(sig + n))) == 0u)
        return 0u;
    n = lms_sig_len(&o, h);
    return n <= len ? n : 0u;
}

int br_hsslms_verify(bootref_ctx_t *c, const uint8_t *pub, size_t pub_len, const uint8_t *msg, size_t msg_len,
                     const uint8_t *sig, size_t sig_len)
{
    uint32_t levels, nspk, i;
    const uint8_t *key;
    size_t at, n;
    ots_t o;
    int r;

    /* HSS public key: u32str(L) || LMS public key (section 6.1) */
    if (pub_len != 4u + 24u + N || lms_height(get32(pub + 4)) == 0u)
        return BOOTREF_PORT_UNSUPPORTED;
    if (!ots_params(get32(pub + 8), &o))
        return BOOTREF_PORT_UNSUPPORTED;
    levels = get32(pub);
    if (levels < 1u || levels > 8u)
        return BOOTREF_PORT_UNSUPPORTED;
    if (sig_len < 4u)
        return BOOTREF_PORT_FAIL;
    nspk = get32(sig);
    if (nspk + 1u != levels)
        return BOOTREF_PORT_FAIL;
    key = pub + 4;
    at = 4u;
    for (i = 0; i < nspk; i++) {
        /* signed_pub_key[i] = (sig[i], pub[i+1]): the child key is 24 + 32 bytes */
        if ((n = lms_sig_at(sig + at, sig_len - at)) == 0u || sig_len - at - n < 24u + N ||
            lms_height(get32(sig + at + n)) == 0u || !ots_params(get32(sig + at + n + 4u), &o))
            return BOOTREF_PORT_FAIL;
        r = lms_verify(c, key, sig + at + n, 24u + N, sig + at, n);
        if (r != BOOTREF_PORT_OK)
            return r == BOOTREF_PORT_UNSUPPORTED ? BOOTREF_PORT_FAIL : r;
        key = sig + at + n;
        at += n + 24u + N;
    }
    r = lms_verify(c, key, msg, msg_len, sig + at, sig_len - at);
    return r == BOOTREF_PORT_UNSUPPORTED ? BOOTREF_PORT_FAIL : r;
}

#endif /* BOOTREF_WITH_HSSLMS */
