/*
 * bootref_soft.h - portable port without OpenSSL: SHA-256 and HMAC-SHA256
 * written from FIPS 180-4 / RFC 2104, images in memory (memory-mapped flash),
 * identity and counter from fields. Used for cross builds and emulated
 * measurement, and as the starting point of a device port.
 *
 * Signature verification is a STUB that returns BOOTREF_PORT_UNSUPPORTED:
 * envelopes signed with ES256/ESP256/EdDSA are rejected with
 * "unsupported-algorithm" until bootref_soft_sig_verify() is bound to the
 * device's crypto (see README.md, "Porting guide"). HMAC (COSE alg 5) works.
 */
#ifndef BOOTREF_SOFT_H
#define BOOTREF_SOFT_H

#include "bootref.h"
#include "sha256.h"

typedef struct {
    const uint8_t *data; /* NULL = component holds no image */
    size_t len;
} bootref_soft_image_t;

/* handle of a BOOTREF_KEY_HMAC_SHA256 trust anchor in this port */
typedef struct {
    const uint8_t *key;
    size_t len;
} bootref_soft_hmac_key_t;

typedef struct bootref_soft {
    bootref_port_t port;
    bootref_sha256_t sha;
    bootref_soft_image_t image[BOOTREF_MAX_COMPONENTS];
    uint64_t counter;
    bootref_identity_t id;
} bootref_soft_t;

void bootref_soft_init(bootref_soft_t *s, const bootref_key_t *keys, size_t n_keys);

/* The signature hook, exported so a device build can replace this file's
 * weak-free stub by defining BOOTREF_SOFT_EXTERNAL_SIG and linking its own. */
int bootref_soft_sig_verify(void *ctx, int32_t alg, const bootref_key_t *key, const uint8_t *msg,
                            size_t msg_len, const uint8_t *sig, size_t sig_len);

/* HMAC-SHA256 (RFC 2104), exposed for self-tests. */
void bootref_soft_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg,
                              size_t msg_len, uint8_t out[32]);

#endif
