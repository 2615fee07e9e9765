/*
 * sha256.h - SHA-256 (FIPS 180-4, section 6.2), portable C99, no tables
 * beyond the 64 round constants, no heap. Written for the soft port.
 */
#ifndef BOOTREF_SHA256_H
#define BOOTREF_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t bits;      /* message length so far, in bits (FIPS 180-4 s5.1.1) */
    uint8_t block[64];
    size_t fill;        /* bytes in block */
} bootref_sha256_t;

void bootref_sha256_init(bootref_sha256_t *s);
void bootref_sha256_update(bootref_sha256_t *s, const uint8_t *data, size_t len);
void bootref_sha256_final(bootref_sha256_t *s, uint8_t out[32]);

#endif
