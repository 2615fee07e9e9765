/*
 * bootref_soft.c - port with software SHA-256/HMAC and a signature stub.
 */
#include <string.h>

#include "bootref_soft.h"

static int s_sha256_init(void *ctx)
{
    bootref_sha256_init(&((bootref_soft_t *)ctx)->sha);
    return BOOTREF_PORT_OK;
}

static int s_sha256_update(void *ctx, const uint8_t *data, size_t len)
{
    bootref_sha256_update(&((bootref_soft_t *)ctx)->sha, data, len);
    return BOOTREF_PORT_OK;
}

static int s_sha256_final(void *ctx, uint8_t out[32])
{
    bootref_sha256_final(&((bootref_soft_t *)ctx)->sha, out);
    return BOOTREF_PORT_OK;
}

void bootref_soft_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg,
                              size_t msg_len, uint8_t out[32])
{
    /* RFC 2104: H((K ^ opad) || H((K ^ ipad) || m)), B = 64; keys longer
     * than B are hashed first. */
    bootref_sha256_t s;
    uint8_t k[64], pad[64];
    unsigned i;

    memset(k, 0, sizeof k);
    if (key_len > 64u) {
        bootref_sha256_init(&s);
        bootref_sha256_update(&s, key, key_len);
        bootref_sha256_final(&s, k);
    } else if (key_len > 0u) {
        memcpy(k, key, key_len);
    }
    for (i = 0; i < 64u; i++)
        pad[i] = (uint8_t)(k[i] ^ 0x36u);
    bootref_sha256_init(&s);
    bootref_sha256_update(&s, pad, 64u);
    bootref_sha256_update(&s, msg, msg_len);
    bootref_sha256_final(&s, out);
    for (i = 0; i < 64u; i++)
        pad[i] = (uint8_t)(k[i] ^ 0x5cu);
    bootref_sha256_init(&s);
    bootref_sha256_update(&s, pad, 64u);
    bootref_sha256_update(&s, out, 32u);
    bootref_sha256_final(&s, out);
    memset(k, 0, sizeof k); /* key material does not outlive the call */
    memset(pad, 0, sizeof pad);
}

static int s_mac_verify(void *ctx, int32_t alg, const bootref_key_t *key, const uint8_t *msg,
                        size_t msg_len, const uint8_t *tag, size_t tag_len)
{
    const bootref_soft_hmac_key_t *k = key->handle;
    uint8_t out[32], diff = 0;
    unsigned i;
    (void)ctx;
    if (alg != 5 || key->type != BOOTREF_KEY_HMAC_SHA256 || k == NULL)
        return BOOTREF_PORT_UNSUPPORTED;
    if (tag_len != 32u)
        return BOOTREF_PORT_FAIL;
    bootref_soft_hmac_sha256(k->key, k->len, msg, msg_len, out);
    for (i = 0; i < 32u; i++) /* constant time: a MAC compare must not leak */
        diff |= (uint8_t)(out[i] ^ tag[i]);
    return diff == 0u ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
}

#ifndef BOOTREF_SOFT_EXTERNAL_SIG
/*
 * STUB. Bind this to the device's signature library or accelerator:
 *   alg -7/-9 (ES256/ESP256): ECDSA P-256 over SHA-256(msg), sig = r||s (64 B);
 *       key->handle -> the 64-byte uncompressed public point (x||y) or a key
 *       slot. With a hash accelerator, hash msg there and pass the digest to a
 *       verify-digest API (e.g. p256-m's p256_ecdsa_verify(sig, pub, hash, 32)).
 *   alg -8/-19 (EdDSA/Ed25519): pure Ed25519 over msg, key->handle -> 32 bytes.
 * Return BOOTREF_PORT_OK only for a valid signature. Until bound, every
 * signature is "unsupported", so nothing signed is ever accepted by mistake.
 */
int bootref_soft_sig_verify(void *ctx, int32_t alg, const bootref_key_t *key, const uint8_t *msg,
                            size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    (void)ctx;
    (void)alg;
    (void)key;
    (void)msg;
    (void)msg_len;
    (void)sig;
    (void)sig_len;
    return BOOTREF_PORT_UNSUPPORTED;
}
#endif

static int s_read_image(void *ctx, uint8_t component, uint64_t offset, uint8_t *buf, size_t len,
                        size_t *got)
{
    const bootref_soft_t *s = ctx;
    const bootref_soft_image_t *im;
    *got = 0;
    if (component >= BOOTREF_MAX_COMPONENTS || s->image[component].data == NULL)
        return BOOTREF_PORT_UNAVAILABLE;
    im = &s->image[component];
    if (offset >= im->len)
        return BOOTREF_PORT_OK;
    if (len > im->len - (size_t)offset)
        len = im->len - (size_t)offset;
    memcpy(buf, im->data + offset, len);
    *got = len;
    return BOOTREF_PORT_OK;
}

static int s_counter_read(void *ctx, uint64_t *value)
{
    *value = ((const bootref_soft_t *)ctx)->counter;
    return BOOTREF_PORT_OK;
}

static int s_identity(void *ctx, bootref_identity_t *id)
{
    *id = ((const bootref_soft_t *)ctx)->id;
    return BOOTREF_PORT_OK;
}

void bootref_soft_init(bootref_soft_t *s, const bootref_key_t *keys, size_t n_keys)
{
    memset(s, 0, sizeof *s);
    s->port.ctx = s;
    s->port.keys = keys;
    s->port.n_keys = n_keys;
    s->port.sha256_init = s_sha256_init;
    s->port.sha256_update = s_sha256_update;
    s->port.sha256_final = s_sha256_final;
    s->port.sig_verify = bootref_soft_sig_verify;
    s->port.mac_verify = s_mac_verify;
    s->port.read_image = s_read_image;
    s->port.image_exact = 1; /* in-memory images have exact lengths */
    s->port.counter_read = s_counter_read;
    s->port.identity = s_identity;
}
