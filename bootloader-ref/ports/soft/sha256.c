/*
 * sha256.c - SHA-256 from FIPS 180-4 (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3, 6.2).
 */
#include <string.h>

#include "sha256.h"

/* FIPS 180-4 section 4.2.2: first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32u - (n))))

static void compress(uint32_t h[8], const uint8_t blk[64])
{
    /* 16-word rolling message schedule instead of 64 words: same result
     * (W[t] only depends on W[t-2], W[t-7], W[t-15], W[t-16]), 192 bytes
     * less stack, which matters on a bootloader. */
    uint32_t w[16], a, b, c, d, e, f, g, hh, t1, t2;
    unsigned t;

    for (t = 0; t < 16u; t++)
        w[t] = (uint32_t)blk[4u * t] << 24 | (uint32_t)blk[4u * t + 1u] << 16 |
               (uint32_t)blk[4u * t + 2u] << 8 | (uint32_t)blk[4u * t + 3u];
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
    for (t = 0; t < 64u; t++) {
        uint32_t wt;
        if (t < 16u) {
            wt = w[t];
        } else {
            /* sigma0/sigma1 of section 4.1.2 (4.6, 4.7) */
            uint32_t w15 = w[(t - 15u) & 15u], w2 = w[(t - 2u) & 15u];
            uint32_t s0 = ROTR(w15, 7u) ^ ROTR(w15, 18u) ^ (w15 >> 3);
            uint32_t s1 = ROTR(w2, 17u) ^ ROTR(w2, 19u) ^ (w2 >> 10);
            wt = w[t & 15u] = s1 + w[(t - 7u) & 15u] + s0 + w[t & 15u];
        }
        /* Sigma1, Ch, Sigma0, Maj of section 4.1.2 (4.2-4.5) */
        t1 = hh + (ROTR(e, 6u) ^ ROTR(e, 11u) ^ ROTR(e, 25u)) + ((e & f) ^ (~e & g)) + K[t] + wt;
        t2 = (ROTR(a, 2u) ^ ROTR(a, 13u) ^ ROTR(a, 22u)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void bootref_sha256_init(bootref_sha256_t *s)
{
    /* FIPS 180-4 section 5.3.3 initial hash value */
    static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    memcpy(s->h, iv, sizeof iv);
    s->bits = 0;
    s->fill = 0;
}

void bootref_sha256_update(bootref_sha256_t *s, const uint8_t *data, size_t len)
{
    while (len > 0u) {
        size_t take = 64u - s->fill;
        if (take > len)
            take = len;
        memcpy(s->block + s->fill, data, take);
        s->fill += take;
        s->bits += (uint64_t)take * 8u;
        data += take;
        len -= take;
        if (s->fill == 64u) {
            compress(s->h, s->block);
            s->fill = 0;
        }
    }
}

void bootref_sha256_final(bootref_sha256_t *s, uint8_t out[32])
{
    /* Padding, section 5.1.1: a 1 bit, zeros, then the 64-bit length. */
    uint64_t bits = s->bits;
    unsigned i;
    s->block[s->fill++] = 0x80u;
    if (s->fill > 56u) {
        memset(s->block + s->fill, 0, 64u - s->fill);
        compress(s->h, s->block);
        s->fill = 0;
    }
    memset(s->block + s->fill, 0, 56u - s->fill);
    for (i = 0; i < 8u; i++)
        s->block[56u + i] = (uint8_t)(bits >> (56u - 8u * i));
    compress(s->h, s->block);
    for (i = 0; i < 8u; i++) {
        out[4u * i] = (uint8_t)(s->h[i] >> 24);
        out[4u * i + 1u] = (uint8_t)(s->h[i] >> 16);
        out[4u * i + 2u] = (uint8_t)(s->h[i] >> 8);
        out[4u * i + 3u] = (uint8_t)s->h[i];
    }
    memset(s->block, 0, sizeof s->block);
    s->fill = 0;
}
