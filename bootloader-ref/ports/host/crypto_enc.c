/*
 * crypto_enc.c - the host port's decryption operations (bootref_decrypt.h) on
 * OpenSSL 3 libcrypto: AES key unwrap (RFC 3394), ECDH on P-256 and X25519,
 * AES-GCM, ChaCha20/Poly1305 and AES-CTR through EVP.
 *
 * Device decryption keys are loaded from files: a PEM private key (X25519 or
 * P-256) for ECDH-ES+A128KW, or a raw 16/32-byte key-encryption key for
 * A128KW/A256KW. Key bytes are cleansed when the host port is freed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "bootref_decrypt.h"
#include "bootref_host.h"

#define MAX_DKEYS 8
#define MAX_KID 64

typedef struct host_enc {
    bootref_dec_port_t port;
    bootref_dec_key_t keys[MAX_DKEYS];
    EVP_PKEY *pkey[MAX_DKEYS];
    uint8_t kek[MAX_DKEYS][32];
    uint8_t kid[MAX_DKEYS][MAX_KID];
    EVP_CIPHER_CTX *cipher;
    int aead;
} host_enc_t;

static void set_err(char *err, size_t errlen, const char *msg, const char *path)
{
    if (err != NULL && errlen > 0u)
        snprintf(err, errlen, "%s: %s", path != NULL ? path : "", msg);
}

static int e_kw_unwrap(void *ctx, const bootref_dec_key_t *key, const uint8_t *kek, size_t kek_len,
                       const uint8_t *wrapped, size_t wrapped_len, uint8_t *cek, size_t cek_len)
{
    EVP_CIPHER_CTX *c;
    uint8_t out[48];
    int n = 0, fin = 0, ok;
    (void)ctx;
    if (key != NULL) {
        kek = key->handle;
        kek_len = key->type == BOOTREF_DKEY_A128KW ? 16u : 32u;
    }
    if (kek == NULL || (kek_len != 16u && kek_len != 32u) || wrapped_len > 40u || wrapped_len < 24u ||
        cek_len != wrapped_len - 8u)
        return BOOTREF_PORT_ERROR;
    c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return BOOTREF_PORT_ERROR;
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = EVP_DecryptInit_ex(c, kek_len == 16u ? EVP_aes_128_wrap() : EVP_aes_256_wrap(), NULL, kek, NULL) == 1 &&
         EVP_DecryptUpdate(c, out, &n, wrapped, (int)wrapped_len) == 1 &&
         EVP_DecryptFinal_ex(c, out + n, &fin) == 1 && (size_t)(n + fin) == cek_len;
    EVP_CIPHER_CTX_free(c);
    if (ok)
        memcpy(cek, out, cek_len);
    OPENSSL_cleanse(out, sizeof out);
    return ok ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL; /* integrity check failed */
}

static EVP_PKEY *peer_key(const bootref_dec_key_t *key, const uint8_t *x, const uint8_t *y)
{
    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *pc;
    uint8_t point[65];
    char group[] = "prime256v1";
    OSSL_PARAM params[3];

    if (key->type == BOOTREF_DKEY_X25519)
        return EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, x, 32);
    if (y == NULL)
        return NULL;
    point[0] = 0x04;
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
    params[2] = OSSL_PARAM_construct_end();
    pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    /* import decodes the point and refuses one that is not on the curve */
    if (pc == NULL || EVP_PKEY_fromdata_init(pc) != 1 || EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
        peer = NULL;
    EVP_PKEY_CTX_free(pc);
    return peer;
}

static int e_ecdh(void *ctx, const bootref_dec_key_t *key, const uint8_t *peer_x, const uint8_t *peer_y,
                  uint8_t shared[32])
{
    EVP_PKEY *peer;
    EVP_PKEY_CTX *dc;
    size_t n = 32;
    int ok;
    (void)ctx;
    if (key->type != BOOTREF_DKEY_X25519 && key->type != BOOTREF_DKEY_P256)
        return BOOTREF_PORT_UNSUPPORTED;
    peer = peer_key(key, peer_x, peer_y);
    if (peer == NULL)
        return BOOTREF_PORT_FAIL;
    dc = EVP_PKEY_CTX_new((EVP_PKEY *)key->handle, NULL);
    /* X25519: OpenSSL refuses an all-zero shared secret (low-order point) */
    ok = dc != NULL && EVP_PKEY_derive_init(dc) == 1 && EVP_PKEY_derive_set_peer(dc, peer) == 1 &&
         EVP_PKEY_derive(dc, shared, &n) == 1 && n == 32u;
    EVP_PKEY_CTX_free(dc);
    EVP_PKEY_free(peer);
    return ok ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
}

static int e_cipher_init(void *ctx, int32_t alg, const uint8_t *cek, size_t cek_len, const uint8_t *iv,
                         size_t iv_len, const uint8_t *aad, size_t aad_len)
{
    host_enc_t *he = ctx;
    const EVP_CIPHER *cipher;
    int n = 0;
    he->aead = 1;
    switch (alg) {
    case 1: cipher = EVP_aes_128_gcm(); break;
    case 3: cipher = EVP_aes_256_gcm(); break;
    case 24: cipher = EVP_chacha20_poly1305(); break;
    case -65534: cipher = EVP_aes_128_ctr(); he->aead = 0; break;
    case -65532: cipher = EVP_aes_256_ctr(); he->aead = 0; break;
    default: return BOOTREF_PORT_UNSUPPORTED;
    }
    if ((size_t)EVP_CIPHER_get_key_length(cipher) != cek_len)
        return BOOTREF_PORT_ERROR;
    EVP_CIPHER_CTX_reset(he->cipher);
    if (EVP_DecryptInit_ex(he->cipher, cipher, NULL, NULL, NULL) != 1)
        return BOOTREF_PORT_ERROR;
    if (he->aead && EVP_CIPHER_CTX_ctrl(he->cipher, EVP_CTRL_AEAD_SET_IVLEN, (int)iv_len, NULL) != 1)
        return BOOTREF_PORT_ERROR;
    if (!he->aead && iv_len != 16u)
        return BOOTREF_PORT_ERROR;
    if (EVP_DecryptInit_ex(he->cipher, NULL, NULL, cek, iv) != 1)
        return BOOTREF_PORT_ERROR;
    if (he->aead && aad_len > 0u && EVP_DecryptUpdate(he->cipher, NULL, &n, aad, (int)aad_len) != 1)
        return BOOTREF_PORT_ERROR;
    return BOOTREF_PORT_OK;
}

static int e_cipher_update(void *ctx, const uint8_t *in, uint8_t *out, size_t len)
{
    host_enc_t *he = ctx;
    int n = 0;
    if (len > 0x7fffffffu || EVP_DecryptUpdate(he->cipher, out, &n, in, (int)len) != 1 || (size_t)n != len)
        return BOOTREF_PORT_ERROR; /* GCM, ChaCha20/Poly1305 and CTR are stream modes: out == in */
    return BOOTREF_PORT_OK;
}

static int e_cipher_final(void *ctx, const uint8_t *tag, size_t tag_len)
{
    host_enc_t *he = ctx;
    uint8_t rest[16];
    int n = 0;
    if (he->aead) {
        if (tag_len != 16u ||
            EVP_CIPHER_CTX_ctrl(he->cipher, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, (void *)(uintptr_t)tag) != 1)
            return BOOTREF_PORT_ERROR;
    } else if (tag_len != 0u)
        return BOOTREF_PORT_ERROR;
    /* for AEAD modes, Final compares the tag (constant time) */
    return EVP_DecryptFinal_ex(he->cipher, rest, &n) == 1 && n == 0 ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
}

static host_enc_t *enc_of(bootref_host_t *h)
{
    host_enc_t *he = h->enc;
    if (he != NULL)
        return he;
    he = calloc(1, sizeof *he);
    if (he == NULL)
        return NULL;
    he->cipher = EVP_CIPHER_CTX_new();
    if (he->cipher == NULL) {
        free(he);
        return NULL;
    }
    he->port.ctx = he;
    he->port.keys = he->keys;
    he->port.kw_unwrap = e_kw_unwrap;
    he->port.ecdh = e_ecdh;
    he->port.cipher_init = e_cipher_init;
    he->port.cipher_update = e_cipher_update;
    he->port.cipher_final = e_cipher_final;
    h->enc = he;
    h->port.dec = &he->port;
    return he;
}

int bootref_host_add_decrypt_key(bootref_host_t *h, const char *path, const uint8_t *kid, size_t kid_len,
                                 char *err, size_t errlen)
{
    host_enc_t *he = enc_of(h);
    size_t i, n;
    FILE *f;
    EVP_PKEY *pk;
    uint8_t buf[64];

    if (he == NULL) {
        set_err(err, errlen, "out of memory", path);
        return -1;
    }
    i = he->port.n_keys;
    if (i >= MAX_DKEYS || kid_len > MAX_KID) {
        set_err(err, errlen, "too many decryption keys, or kid too long", path);
        return -1;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        set_err(err, errlen, "cannot open", path);
        return -1;
    }
    pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    if (pk != NULL) {
        fclose(f);
        if (EVP_PKEY_is_a(pk, "X25519"))
            he->keys[i].type = BOOTREF_DKEY_X25519;
        else if (EVP_PKEY_is_a(pk, "EC") && EVP_PKEY_get_bits(pk) == 256)
            he->keys[i].type = BOOTREF_DKEY_P256;
        else {
            EVP_PKEY_free(pk);
            set_err(err, errlen, "not an X25519 or P-256 private key", path);
            return -1;
        }
        he->pkey[i] = pk;
        he->keys[i].handle = pk;
    } else {
        rewind(f);
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        if (n != 16u && n != 32u) {
            OPENSSL_cleanse(buf, sizeof buf);
            set_err(err, errlen, "not a PEM private key or a raw 16/32-byte key-encryption key", path);
            return -1;
        }
        memcpy(he->kek[i], buf, n);
        OPENSSL_cleanse(buf, sizeof buf);
        he->keys[i].type = n == 16u ? BOOTREF_DKEY_A128KW : BOOTREF_DKEY_A256KW;
        he->keys[i].handle = he->kek[i];
    }
    if (kid_len > 0u) {
        memcpy(he->kid[i], kid, kid_len);
        he->keys[i].kid = he->kid[i];
        he->keys[i].kid_len = kid_len;
    }
    he->port.n_keys = i + 1u;
    return 0;
}

void bootref_host_enc_free(bootref_host_t *h)
{
    host_enc_t *he = h->enc;
    size_t i;
    if (he == NULL)
        return;
    for (i = 0; i < MAX_DKEYS; i++)
        EVP_PKEY_free(he->pkey[i]);
    EVP_CIPHER_CTX_free(he->cipher);
    OPENSSL_cleanse(he->kek, sizeof he->kek);
    free(he);
    h->enc = NULL;
    h->port.dec = NULL;
}
