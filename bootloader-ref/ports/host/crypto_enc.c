/*
 * crypto_enc.c - the host port's decryption operations (bootref_decrypt.h) on
 * OpenSSL 3 libcrypto: AES key unwrap (RFC 3394), ECDH on P-256 and X25519,
 * AES-GCM, ChaCha20/Poly1305 and AES-CTR through EVP.
 *
 * Device decryption keys are loaded from files: a PEM private key (X25519 or
 * P-256; an encrypted one with the pass phrase in FWSIGN_KEY_PASSPHRASE) for
 * ECDH-ES+A128KW, or a key-encryption key for A128KW/A256KW, either in fwsign's
 * PEM form ("SUIT KEY ENCRYPTION KEY") or as a raw 16/32-byte file. Key bytes
 * are cleansed after reading and when the host port is freed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "bootref_decrypt.h"
#include "bootref_host.h"

#define MAX_DKEYS 8
#define MAX_KID 64
#define KID_BYTES BOOTREF_HOST_KID_LEN          /* fwsign's key ids: 8 bytes of the RFC 9679 thumbprint */
#define MAX_KEY_FILE 16384u
#define KEK_PEM_LABEL "SUIT KEY ENCRYPTION KEY" /* fwsign's KEK files */

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

/* PEM pass phrase callback: FWSIGN_KEY_PASSPHRASE, as fwsign reads it; never a prompt. */
static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    const char *pw = getenv("FWSIGN_KEY_PASSPHRASE");
    size_t n;
    (void)rwflag;
    (void)u;
    if (pw == NULL || size <= 0)
        return -1;
    n = strlen(pw);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, pw, n);
    return (int)n;
}

/* A KEK in fwsign's PEM form: base64 of 16 or 32 bytes under the label
 * "SUIT KEY ENCRYPTION KEY". Returns the key length, 0 if the file is not one,
 * -1 if it has the label but not a 16/32-byte body. */
static int read_kek_pem(const uint8_t *file, size_t file_len, uint8_t out[32])
{
    BIO *bio = BIO_new_mem_buf(file, (int)file_len);
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    int r = 0;
    if (bio == NULL)
        return -1;
    while (PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
        if (strcmp(name, KEK_PEM_LABEL) == 0) {
            r = len == 16 || len == 32 ? (int)len : -1;
            if (r > 0)
                memcpy(out, data, (size_t)len);
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_clear_free(data, len > 0 ? (size_t)len : 0u);
        name = header = NULL;
        data = NULL;
        if (r != 0)
            break;
    }
    ERR_clear_error();
    BIO_free(bio);
    return r;
}

/* Load slot i: a PEM private key (X25519 or P-256), a KEK PEM, or a raw 16/32-byte KEK. */
static int load_dkey(host_enc_t *he, size_t i, const char *path, char *err, size_t errlen)
{
    uint8_t file[MAX_KEY_FILE + 1u], kek[32];
    size_t n;
    int kn;
    FILE *f;
    BIO *bio;
    EVP_PKEY *pk = NULL;

    f = fopen(path, "rb");
    if (f == NULL) {
        set_err(err, errlen, "cannot open", path);
        return -1;
    }
    n = fread(file, 1, sizeof file, f);
    fclose(f);
    if (n > MAX_KEY_FILE) {
        OPENSSL_cleanse(file, sizeof file);
        set_err(err, errlen, "key file too large", path);
        return -1;
    }
    bio = BIO_new_mem_buf(file, (int)n);
    if (bio != NULL)
        pk = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (pk != NULL) {
        OPENSSL_cleanse(file, sizeof file);
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
        return 0;
    }
    kn = read_kek_pem(file, n, kek);
    if (kn == 0 && (n == 16u || n == 32u)) { /* raw key bytes */
        memcpy(kek, file, n);
        kn = (int)n;
    }
    OPENSSL_cleanse(file, sizeof file);
    if (kn <= 0) {
        set_err(err, errlen, kn < 0 ? "malformed key-encryption key PEM"
                                    : "not a PEM private key (X25519/P-256; encrypted: set FWSIGN_KEY_PASSPHRASE), "
                                      "a key-encryption key PEM or a raw 16/32-byte key",
                path);
        return -1;
    }
    memcpy(he->kek[i], kek, (size_t)kn);
    OPENSSL_cleanse(kek, sizeof kek);
    he->keys[i].type = kn == 16 ? BOOTREF_DKEY_A128KW : BOOTREF_DKEY_A256KW;
    he->keys[i].handle = he->kek[i];
    return 0;
}

static host_enc_t *slot_for(bootref_host_t *h, const char *path, char *err, size_t errlen)
{
    host_enc_t *he = enc_of(h);
    if (he == NULL) {
        set_err(err, errlen, "out of memory", path);
        return NULL;
    }
    if (he->port.n_keys >= MAX_DKEYS) {
        set_err(err, errlen, "too many decryption keys", path);
        return NULL;
    }
    return he;
}

int bootref_host_add_decrypt_key(bootref_host_t *h, const char *path, const uint8_t *kid, size_t kid_len,
                                 char *err, size_t errlen)
{
    host_enc_t *he = slot_for(h, path, err, errlen);
    size_t i;

    if (he == NULL)
        return -1;
    i = he->port.n_keys;
    if (kid_len > MAX_KID) {
        set_err(err, errlen, "kid too long", path);
        return -1;
    }
    if (load_dkey(he, i, path, err, errlen) != 0)
        return -1;
    if (kid_len > 0u) {
        memcpy(he->kid[i], kid, kid_len);
        he->keys[i].kid = he->kid[i];
        he->keys[i].kid_len = kid_len;
    }
    he->port.n_keys = i + 1u;
    return 0;
}

/* fwsign's key id of decryption key i: the one definition of the host port
 * (bootref_host_pkey_kid, bootref_host_secret_kid). */
static int thumbprint_kid(const host_enc_t *he, size_t i, uint8_t kid[KID_BYTES])
{
    const bootref_dec_key_t *k = &he->keys[i];
    if (k->type == BOOTREF_DKEY_A128KW || k->type == BOOTREF_DKEY_A256KW)
        return bootref_host_secret_kid(he->kek[i], k->type == BOOTREF_DKEY_A128KW ? 16u : 32u, kid);
    return bootref_host_pkey_kid(he->pkey[i], kid);
}

int bootref_host_add_decrypt_key_file(bootref_host_t *h, const char *path, char *err, size_t errlen)
{
    host_enc_t *he = slot_for(h, path, err, errlen);
    size_t i;

    if (he == NULL)
        return -1;
    i = he->port.n_keys;
    if (load_dkey(he, i, path, err, errlen) != 0)
        return -1;
    if (thumbprint_kid(he, i, he->kid[i]) != 0) {
        EVP_PKEY_free(he->pkey[i]);
        he->pkey[i] = NULL;
        OPENSSL_cleanse(he->kek[i], sizeof he->kek[i]);
        memset(&he->keys[i], 0, sizeof he->keys[i]);
        set_err(err, errlen, "cannot compute the key id", path);
        return -1;
    }
    he->keys[i].kid = he->kid[i];
    he->keys[i].kid_len = KID_BYTES;
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
