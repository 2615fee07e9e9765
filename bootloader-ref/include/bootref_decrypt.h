/*
 * bootref_decrypt.h - encrypted payloads (draft-ietf-suit-firmware-encryption-26):
 * decryption while a payload is written to its slot.
 *
 * A manifest gives the payload of a fetch an encryption-info (parameter 19): a
 * COSE_Encrypt (tag 96) whose ciphertext is detached (the fetched payload) and
 * whose recipients carry the content-encryption key (CEK), wrapped with AES Key
 * Wrap under a pre-shared key-encryption key (A128KW -3, A256KW -5) or under a
 * key agreed by ECDH-ES with the device's key (ECDH-ES+A128KW -29; P-256 or
 * X25519; HKDF-SHA-256 over the COSE_KDF_Context of the draft's section 6.2).
 * Content encryption: A128GCM (1), A256GCM (3), ChaCha20/Poly1305 (24), A128CTR
 * (-65534), A256CTR (-65532). The image digest in the manifest is the digest of
 * the plaintext: the boot flow decrypts while it writes, then image-match checks
 * what was written, so a wrong key, a tampered ciphertext or a tampered
 * encryption-info can never produce an image that verifies.
 *
 * DECRYPTION PORT (optional; bootref_port_t.dec, NULL = no decryption: an
 * encrypted payload is refused with BOOTREF_E_UNSUPPORTED_ALG)
 *   keys / n_keys: the device's decryption keys (type, kid, port handle). A
 *       recipient is tried with a key of the matching type whose kid equals the
 *       recipient's kid (or any such key when the recipient names none).
 *   kw_unwrap(key, kek, kek_len, wrapped, wrapped_len, cek, cek_len)
 *       RFC 3394 AES key unwrap (default IV). key != NULL: unwrap with the
 *       provisioned KEK `key` (kek is NULL); key == NULL: with the kek bytes
 *       (16, derived by ECDH-ES). Writes exactly cek_len = wrapped_len - 8 bytes.
 *       FAIL if the integrity check fails (wrong key or tampered).
 *   ecdh(key, peer_x, peer_y, shared)
 *       ECDH with the device's private `key` and the sender's ephemeral public
 *       key: P-256 (peer_x, peer_y 32 bytes each, uncompressed) -> the 32-byte
 *       x coordinate; X25519 (peer_x 32 bytes, peer_y NULL) -> 32 bytes. The
 *       port must reject points not on the curve and an all-zero X25519 result.
 *   cipher_init(alg, cek, cek_len, iv, iv_len, aad, aad_len)
 *   cipher_update(in, out, len)          in and out do not overlap
 *   cipher_final(tag, tag_len)           AEAD: OK only if the tag verifies
 *                                        (constant time), else FAIL; CTR: tag_len 0.
 *       One content decryption at a time (like the SHA-256 contract).
 * The core uses the verifier port's sha256_* for HKDF (never while an image
 * hash is in progress).
 */
#ifndef BOOTREF_DECRYPT_H
#define BOOTREF_DECRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "bootref.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Decryption key types. */
enum {
    BOOTREF_DKEY_A128KW = 1, /* 16-byte pre-shared KEK: recipients with alg -3 */
    BOOTREF_DKEY_A256KW = 2, /* 32-byte pre-shared KEK: alg -5 */
    BOOTREF_DKEY_P256 = 3,   /* P-256 private key: alg -29, ephemeral key crv 1 */
    BOOTREF_DKEY_X25519 = 4  /* X25519 private key: alg -29, ephemeral key crv 4 */
};

typedef struct bootref_dec_key {
    uint8_t type;          /* BOOTREF_DKEY_* */
    const uint8_t *kid;    /* NULL: matches any kid */
    size_t kid_len;
    const void *handle;    /* port-defined */
} bootref_dec_key_t;

typedef struct bootref_dec_port {
    void *ctx;
    const bootref_dec_key_t *keys;
    size_t n_keys;
    int (*kw_unwrap)(void *ctx, const bootref_dec_key_t *key, const uint8_t *kek, size_t kek_len,
                     const uint8_t *wrapped, size_t wrapped_len, uint8_t *cek, size_t cek_len);
    int (*ecdh)(void *ctx, const bootref_dec_key_t *key, const uint8_t *peer_x,
                const uint8_t *peer_y, uint8_t shared[32]);
    int (*cipher_init)(void *ctx, int32_t alg, const uint8_t *cek, size_t cek_len,
                       const uint8_t *iv, size_t iv_len, const uint8_t *aad, size_t aad_len);
    int (*cipher_update)(void *ctx, const uint8_t *in, uint8_t *out, size_t len);
    int (*cipher_final)(void *ctx, const uint8_t *tag, size_t tag_len);
} bootref_dec_port_t;

#define BOOTREF_DEC_TAG_MAX 16u
#define BOOTREF_DEC_AAD_MAX 48u /* ["Encrypt", protected (<= 32 bytes), h''] */

/* Streaming decryption state (no heap; lives in bootref_boot_t). */
typedef struct bootref_decrypt {
    const bootref_port_t *port;
    uint8_t tag_len;   /* 16 for AEAD, 0 for CTR */
    uint8_t held_n;    /* ciphertext bytes held back: they may be the tag */
    uint8_t held[BOOTREF_DEC_TAG_MAX];
    const char *detail;
} bootref_decrypt_t;

/* Parse the encryption info (the content of parameter 19), find the recipient
 * for one of the port's decryption keys, unwrap the CEK and start the content
 * cipher. Errors: BOOTREF_E_ENC_INFO (malformed), BOOTREF_E_UNSUPPORTED_ALG,
 * BOOTREF_E_NO_RECIPIENT, BOOTREF_E_KEY_UNWRAP, BOOTREF_E_PORT. The CEK is
 * wiped from the stack before returning. */
bootref_err_t bootref_decrypt_begin(bootref_decrypt_t *d, const bootref_port_t *port,
                                    const uint8_t *info, size_t info_len);

/* Decrypt the next len ciphertext bytes into out (no overlap with in); *out_len
 * (<= len) plaintext bytes are ready: the last tag_len bytes of the stream so
 * far are held back until bootref_decrypt_finish(). */
bootref_err_t bootref_decrypt_update(bootref_decrypt_t *d, const uint8_t *in, size_t len,
                                     uint8_t *out, size_t *out_len);

/* End of the ciphertext: check the AEAD tag (BOOTREF_E_DECRYPT if it does not
 * verify or the payload is shorter than the tag). */
bootref_err_t bootref_decrypt_finish(bootref_decrypt_t *d);

#ifdef __cplusplus
}
#endif

#endif /* BOOTREF_DECRYPT_H */
