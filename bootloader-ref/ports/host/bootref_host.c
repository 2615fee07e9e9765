/*
 * bootref_host.c - host port on OpenSSL 3 libcrypto (EVP interfaces only).
 */
#define _POSIX_C_SOURCE 200809L /* fseeko */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "bootref_boot.h"
#include "bootref_host.h"
#include "cbor.h"
#include "internal.h"
#include "mldsa.h"

static void set_err(char *err, size_t errlen, const char *msg, const char *path)
{
    if (err != NULL && errlen > 0u)
        snprintf(err, errlen, "%s: %s", path != NULL ? path : "", msg);
}

static int h_sha256_init(void *ctx)
{
    bootref_host_t *h = ctx;
    return EVP_DigestInit_ex((EVP_MD_CTX *)h->md, EVP_sha256(), NULL) == 1 ? BOOTREF_PORT_OK
                                                                           : BOOTREF_PORT_ERROR;
}

static int h_sha256_update(void *ctx, const uint8_t *data, size_t len)
{
    bootref_host_t *h = ctx;
    if (len == 0u)
        return BOOTREF_PORT_OK;
    return EVP_DigestUpdate((EVP_MD_CTX *)h->md, data, len) == 1 ? BOOTREF_PORT_OK
                                                                 : BOOTREF_PORT_ERROR;
}

static int h_sha256_final(void *ctx, uint8_t out[32])
{
    bootref_host_t *h = ctx;
    unsigned int n = 0;
    if (EVP_DigestFinal_ex((EVP_MD_CTX *)h->md, out, &n) != 1 || n != 32u)
        return BOOTREF_PORT_ERROR;
    return BOOTREF_PORT_OK;
}

/* COSE carries ECDSA signatures as raw r||s (RFC 9053 section 2.1); OpenSSL
 * wants DER. Convert, then verify over SHA-256(msg). */
static int verify_p256(EVP_PKEY *pk, const uint8_t *msg, size_t msg_len, const uint8_t *sig)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int der_len, ok = 0;
    EVP_MD_CTX *m = NULL;

    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return BOOTREF_PORT_ERROR;
    }
    der_len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es); /* frees r and s */
    if (der_len <= 0)
        return BOOTREF_PORT_ERROR;
    m = EVP_MD_CTX_new();
    if (m != NULL && EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pk) == 1)
        ok = EVP_DigestVerify(m, der, (size_t)der_len, msg, msg_len) == 1;
    EVP_MD_CTX_free(m);
    OPENSSL_free(der);
    return ok ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
}

static int verify_ed25519(EVP_PKEY *pk, const uint8_t *msg, size_t msg_len, const uint8_t *sig)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = 0;
    if (m != NULL && EVP_DigestVerifyInit(m, NULL, NULL, NULL, pk) == 1)
        ok = EVP_DigestVerify(m, sig, 64, msg, msg_len) == 1;
    EVP_MD_CTX_free(m);
    return ok ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
}

/* A delegated key (BOOTREF_KEY_RAW): P-256 x||y or Ed25519 raw bytes. A P-256
 * point is wrapped in a SubjectPublicKeyInfo, whose decoder checks that it lies
 * on the curve; a bad point verifies nothing. */
static int verify_raw_key(int32_t alg, const bootref_key_t *key, const uint8_t *msg, size_t msg_len,
                          const uint8_t *sig)
{
    static const uint8_t spki_p256[27] = {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
        0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
    uint8_t der[27 + 64];
    const unsigned char *p = der;
    EVP_PKEY *pk = NULL;
    int r;
    uint8_t type = (uint8_t)(key->type & 0x7fu);

    if ((alg == -7 || alg == -9) && type == BOOTREF_KEY_P256) {
        memcpy(der, spki_p256, sizeof spki_p256);
        memcpy(der + sizeof spki_p256, key->handle, 64);
        pk = d2i_PUBKEY(NULL, &p, (long)sizeof der);
        if (pk == NULL)
            return BOOTREF_PORT_FAIL;
        r = verify_p256(pk, msg, msg_len, sig);
    } else if ((alg == -8 || alg == -19) && type == BOOTREF_KEY_ED25519) {
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->handle, 32);
        if (pk == NULL)
            return BOOTREF_PORT_FAIL;
        r = verify_ed25519(pk, msg, msg_len, sig);
    } else {
        return BOOTREF_PORT_UNSUPPORTED;
    }
    EVP_PKEY_free(pk);
    return r;
}

static int h_sig_verify(void *ctx, int32_t alg, const bootref_key_t *key, const uint8_t *msg,
                        size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    (void)ctx;
    if (key->type >= BOOTREF_KEY_MLDSA44 && key->type <= BOOTREF_KEY_MLDSA87) {
        /* ML-DSA (FIPS 204) with the soft port's verifier (ports/soft/mldsa.c): the
         * system's OpenSSL 3.0 has no ML-DSA; the key's length selects the set */
        const bootref_host_t *h = ctx;
        size_t i = (size_t)(key - h->keys);
        int level = key->type == BOOTREF_KEY_MLDSA44 ? 44 : key->type == BOOTREF_KEY_MLDSA65 ? 65 : 87;
        if (i >= BOOTREF_HOST_MAX_KEYS || alg != -48 - (key->type - BOOTREF_KEY_MLDSA44))
            return BOOTREF_PORT_UNSUPPORTED;
        return bootref_mldsa_verify(level, h->raw[i], h->raw_len[i], msg, msg_len, sig, sig_len) == 0
            ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
    }
    if (sig_len != 64u || key->handle == NULL)
        return BOOTREF_PORT_FAIL;
    if (key->type & BOOTREF_KEY_RAW)
        return verify_raw_key(alg, key, msg, msg_len, sig);
    if ((alg == -7 || alg == -9) && key->type == BOOTREF_KEY_P256)
        return verify_p256((EVP_PKEY *)key->handle, msg, msg_len, sig);
    if ((alg == -8 || alg == -19) && key->type == BOOTREF_KEY_ED25519)
        return verify_ed25519((EVP_PKEY *)key->handle, msg, msg_len, sig);
    return BOOTREF_PORT_UNSUPPORTED;
}

static int h_mac_verify(void *ctx, int32_t alg, const bootref_key_t *key, const uint8_t *msg,
                        size_t msg_len, const uint8_t *tag, size_t tag_len)
{
    const bootref_host_hmac_key_t *k = key->handle;
    uint8_t out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    (void)ctx;
    if (alg != 5 || key->type != BOOTREF_KEY_HMAC_SHA256 || k == NULL)
        return BOOTREF_PORT_UNSUPPORTED;
    if (HMAC(EVP_sha256(), k->key, (int)k->len, msg, msg_len, out, &n) == NULL || n != 32u)
        return BOOTREF_PORT_ERROR;
    if (tag_len != 32u)
        return BOOTREF_PORT_FAIL;
    return CRYPTO_memcmp(out, tag, 32) == 0 ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
}

static int h_read_image(void *ctx, uint8_t component, uint64_t offset, uint8_t *buf, size_t len,
                        size_t *got)
{
    bootref_host_t *h = ctx;
    FILE *f = h->run_image != NULL ? h->run_image : h->image;
    *got = 0;
    /* host mode (host_model.c): no image in the dry run, none for an encrypted
     * image without a decryption key; the integrated payload stands in for a
     * missing one; the plaintext for a decrypted one */
    if (component != 0u || h->dry || h->image_hidden)
        return BOOTREF_PORT_UNAVAILABLE;
    if (h->payload != NULL && h->run_image == NULL) {
        if (offset < h->payload_len) {
            *got = h->payload_len - (size_t)offset < len ? h->payload_len - (size_t)offset : len;
            memcpy(buf, h->payload + offset, *got);
        }
        return BOOTREF_PORT_OK;
    }
    if (f == NULL)
        return BOOTREF_PORT_UNAVAILABLE;
    if (offset > (uint64_t)0x7fffffffffffffffull ||
        fseeko(f, (off_t)offset, SEEK_SET) != 0)
        return BOOTREF_PORT_ERROR;
    *got = fread(buf, 1, len, f);
    if (*got < len && ferror(f))
        return BOOTREF_PORT_ERROR;
    return BOOTREF_PORT_OK;
}

static int h_counter_read(void *ctx, uint64_t *value)
{
    *value = ((bootref_host_t *)ctx)->counter;
    return BOOTREF_PORT_OK;
}

static int h_time_now(void *ctx, int64_t *now)
{
    bootref_host_t *h = ctx;
    if (h->time_mode == BOOTREF_HOST_TIME_FIXED) {
        *now = h->now;
        return BOOTREF_PORT_OK;
    }
    if (h->time_mode == BOOTREF_HOST_TIME_NONE)
        return BOOTREF_PORT_UNAVAILABLE;
    *now = (int64_t)time(NULL);
    return BOOTREF_PORT_OK;
}

static int h_identity(void *ctx, bootref_identity_t *id)
{
    bootref_host_t *h = ctx;
    id->vendor_id = h->has_vendor && !h->dry ? h->vendor_id : NULL;
    id->class_id = h->has_class && !h->dry ? h->class_id : NULL;
    id->device_id = h->has_device && !h->dry ? h->device_id : NULL;
    return BOOTREF_PORT_OK;
}

/* The key id fwsign computes (fwsign.keys.key_id, fwsign.encryption.keys.kid_of):
 * SHA-256 over the deterministic CBOR of the key's COSE_Key with its required
 * members only (RFC 9679 section 4), keys in canonical order: OKP
 * {1: 1, -1: crv, -2: x}, EC2 {1: 2, -1: 1, -2: x, -3: y}, symmetric
 * {1: 4, -1: k}; its first BOOTREF_HOST_KID_LEN bytes. */
static int thumbprint(const uint8_t *cose_key, size_t len, uint8_t kid[BOOTREF_HOST_KID_LEN])
{
    uint8_t md[32];
    unsigned int n = 0;
    if (EVP_Digest(cose_key, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32u)
        return -1;
    memcpy(kid, md, BOOTREF_HOST_KID_LEN);
    return 0;
}

int bootref_host_pkey_kid(const void *pkey, uint8_t kid[BOOTREF_HOST_KID_LEN])
{
    const EVP_PKEY *pk = pkey;
    uint8_t ck[4u + 4u + 32u + 3u + 32u];
    size_t n = 0, len = 32;
    int ok;

    if (pk == NULL)
        return -1;
    if (EVP_PKEY_is_a(pk, "ED25519") || EVP_PKEY_is_a(pk, "X25519")) {
        ck[n++] = 0xa3; ck[n++] = 0x01; ck[n++] = 0x01; /* kty: OKP */
        ck[n++] = 0x20; ck[n++] = EVP_PKEY_is_a(pk, "ED25519") ? 0x06 : 0x04; /* crv */
        ck[n++] = 0x21; ck[n++] = 0x58; ck[n++] = 0x20; /* x: bstr(32) */
        ok = EVP_PKEY_get_raw_public_key(pk, ck + n, &len) == 1 && len == 32u;
        n += 32u;
    } else if (EVP_PKEY_is_a(pk, "EC") && EVP_PKEY_get_bits(pk) == 256) {
        BIGNUM *x = NULL, *y = NULL;
        ck[n++] = 0xa4; ck[n++] = 0x01; ck[n++] = 0x02; /* kty: EC2 */
        ck[n++] = 0x20; ck[n++] = 0x01;                 /* crv: P-256 */
        ck[n++] = 0x21; ck[n++] = 0x58; ck[n++] = 0x20;
        ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
             EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 && BN_bn2binpad(x, ck + n, 32) == 32;
        n += 32u;
        ck[n++] = 0x22; ck[n++] = 0x58; ck[n++] = 0x20;
        ok = ok && BN_bn2binpad(y, ck + n, 32) == 32;
        n += 32u;
        BN_free(x);
        BN_free(y);
    } else {
        return -1;
    }
    return ok ? thumbprint(ck, n, kid) : -1;
}

int bootref_host_secret_kid(const uint8_t *k, size_t len, uint8_t kid[BOOTREF_HOST_KID_LEN])
{
    uint8_t ck[4u + 2u + BOOTREF_HOST_MAX_HMAC_KEY];
    size_t n = 0;
    int r;

    if (k == NULL || len == 0u || len > BOOTREF_HOST_MAX_HMAC_KEY)
        return -1;
    ck[n++] = 0xa2; ck[n++] = 0x01; ck[n++] = 0x04; /* kty: Symmetric */
    ck[n++] = 0x20;                                 /* k: bstr */
    if (len < 24u) {
        ck[n++] = (uint8_t)(0x40u | len);
    } else {
        ck[n++] = 0x58;
        ck[n++] = (uint8_t)len;
    }
    memcpy(ck + n, k, len);
    r = thumbprint(ck, n + len, kid);
    OPENSSL_cleanse(ck, sizeof ck);
    return r;
}

int bootref_host_set_kid(bootref_host_t *h, size_t index, const uint8_t *kid, size_t kid_len)
{
    if (h == NULL || index >= h->port.n_keys || kid_len > BOOTREF_HOST_MAX_KID)
        return -1;
    if (kid == NULL || kid_len == 0u) {
        h->keys[index].kid = NULL;
        h->keys[index].kid_len = 0;
        return 0;
    }
    memmove(h->kid[index], kid, kid_len);
    h->keys[index].kid = h->kid[index];
    h->keys[index].kid_len = kid_len;
    return 0;
}

static void kid_of_cose(const uint8_t *enc, size_t n, uint8_t kid[BOOTREF_HOST_KID_LEN])
{
    uint8_t d[32];
    SHA256(enc, n, d);
    memcpy(kid, d, BOOTREF_HOST_KID_LEN);
}

int bootref_host_add_raw_key(bootref_host_t *h, uint8_t type, const uint8_t *raw, size_t len,
                             char *err, size_t errlen)
{
    static const size_t mldsa_len[3] = {1312u, 1952u, 2592u};
    uint8_t enc[16 + BOOTREF_HOST_MAX_RAW_KEY];
    size_t i = h->port.n_keys, n;

    if (i >= BOOTREF_HOST_MAX_KEYS) {
        set_err(err, errlen, "too many trust anchors", "");
        return -1;
    }
    if (type == BOOTREF_KEY_HSS_LMS && len == 60u) {
        /* {1: 5, -1: h'<60 bytes>'} (RFC 9679 required members of kty HSS-LMS) */
        memcpy(enc, "\xa2\x01\x05\x20\x58\x3c", 6u);
        n = 6u;
    } else if (type >= BOOTREF_KEY_MLDSA44 && type <= BOOTREF_KEY_MLDSA87 &&
               len == mldsa_len[type - BOOTREF_KEY_MLDSA44]) {
        /* {1: 7, 3: alg, -1: h'<pub>'} (kty AKP, draft-ietf-cose-dilithium) */
        enc[0] = 0xa3; enc[1] = 0x01; enc[2] = 0x07; enc[3] = 0x03; enc[4] = 0x38;
        enc[5] = (uint8_t)(0x2f + (type - BOOTREF_KEY_MLDSA44));
        enc[6] = 0x20; enc[7] = 0x59; enc[8] = (uint8_t)(len >> 8); enc[9] = (uint8_t)len;
        n = 10u;
    } else {
        set_err(err, errlen, "not an HSS-LMS or ML-DSA public key of the expected length", "");
        return -1;
    }
    memcpy(enc + n, raw, len);
    kid_of_cose(enc, n + len, h->kid[i]);
    memcpy(h->raw[i], raw, len);
    h->raw_len[i] = len;
    h->keys[i].type = type;
    h->keys[i].kid = h->kid[i];
    h->keys[i].kid_len = BOOTREF_HOST_KID_LEN;
    h->keys[i].handle = h->raw[i];
    h->port.n_keys = i + 1u;
    return 0;
}

/* A COSE_Key file (strict CBOR): kty 5 with pub, or kty 7 with alg -48/-49/-50 and pub. */
static int add_cose_key(bootref_host_t *h, const uint8_t *data, size_t len, const char *path, char *err,
                        size_t errlen)
{
    cbor_dec_t d;
    size_t n, k;
    int64_t label, kty = 0, alg = 0;
    bootref_span_t pub = {NULL, 0};
    uint8_t type;

    cbor_init(&d, data, len);
    if (cbor_wellformed(data, len) != BOOTREF_OK || cbor_map(&d, &n) != BOOTREF_OK)
        goto bad;
    for (k = 0; k < n; k++) {
        if (cbor_int(&d, &label) != BOOTREF_OK)
            goto bad;
        if (label == 1 || label == 3) {
            if (cbor_int(&d, label == 1 ? &kty : &alg) != BOOTREF_OK)
                goto bad;
        } else if (label == -1) {
            if (cbor_bstr(&d, &pub, NULL) != BOOTREF_OK)
                goto bad;
        } else if (cbor_skip(&d) != BOOTREF_OK) {
            goto bad;
        }
    }
    if (kty == 5)
        type = BOOTREF_KEY_HSS_LMS;
    else if (kty == 7 && alg <= -48 && alg >= -50)
        type = (uint8_t)(BOOTREF_KEY_MLDSA44 + (-48 - alg));
    else
        goto bad;
    if (pub.p == NULL)
        goto bad;
    return bootref_host_add_raw_key(h, type, pub.p, pub.n, err, errlen);
bad:
    set_err(err, errlen, "not a PEM public key nor an HSS-LMS / ML-DSA COSE_Key", path);
    return -1;
}

int bootref_host_add_key_file(bootref_host_t *h, const char *path, char *err, size_t errlen)
{
    uint8_t buf[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        set_err(err, errlen, "cannot open key file", path);
        return -1;
    }
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n >= 10u && memcmp(buf, "-----BEGIN", 10u) == 0)
        return bootref_host_add_pem(h, path, err, errlen);
    return add_cose_key(h, buf, n, path, err, errlen);
}

int bootref_host_hsslms_verify(const uint8_t *pub, size_t pub_len, const uint8_t *msg, size_t msg_len,
                               const uint8_t *sig, size_t sig_len)
{
    bootref_host_t *h = bootref_host_new();
    bootref_ctx_t *c = calloc(1, sizeof *c);
    int r = -1;
    if (h != NULL && c != NULL) {
        c->port = &h->port;
        r = br_hsslms_verify(c, pub, pub_len, msg, msg_len, sig, sig_len);
    }
    free(c);
    bootref_host_free(h);
    return r;
}

int bootref_host_require_alg(bootref_host_t *h, int32_t alg)
{
    if (h->port.n_require_algs >= 8u)
        return -1;
    h->require[h->port.n_require_algs++] = alg;
    h->port.require_algs = h->require;
    return 0;
}

#if BOOTREF_WITH_UM
static int h_um_now(void *ctx, uint64_t *now)
{
    const bootref_host_t *h = ctx;
    if (!h->um_has_now)
        return BOOTREF_PORT_UNAVAILABLE;
    *now = h->um_now;
    return BOOTREF_PORT_OK;
}

static int h_um_battery(void *ctx, uint64_t *mwh)
{
    const bootref_host_t *h = ctx;
    if (!h->um_has_battery)
        return BOOTREF_PORT_UNAVAILABLE;
    *mwh = h->um_battery;
    return BOOTREF_PORT_OK;
}

static int h_um_authorized(void *ctx, int64_t priority)
{
    const bootref_host_t *h = ctx;
    (void)priority; /* the simulated device's application ignores it (model section 14.6, D11) */
    return h->um_authorized == 0u ? BOOTREF_PORT_UNAVAILABLE
           : h->um_authorized == 2u ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
}

static int h_um_version(void *ctx, uint8_t component, int64_t *parts, size_t max, size_t *n)
{
    const bootref_host_t *h = ctx;
    if (component != 0u || h->um_nver == 0u || h->um_nver > max)
        return BOOTREF_PORT_UNAVAILABLE;
    memcpy(parts, h->um_version, h->um_nver * sizeof parts[0]);
    *n = h->um_nver;
    return BOOTREF_PORT_OK;
}

static void um_attach(bootref_host_t *h)
{
    h->um.ctx = h;
    h->um.now = h_um_now;
    h->um.battery = h_um_battery;
    h->um.authorized = h_um_authorized;
    h->um.version = h_um_version;
    h->port.um = &h->um;
}

void bootref_host_set_um_time(bootref_host_t *h, int has, uint64_t now)
{
    h->um_has_now = (uint8_t)(has != 0);
    h->um_now = now;
    um_attach(h);
}

void bootref_host_set_battery(bootref_host_t *h, int has, uint64_t mwh)
{
    h->um_has_battery = (uint8_t)(has != 0);
    h->um_battery = mwh;
    um_attach(h);
}

void bootref_host_set_authorized(bootref_host_t *h, int authorized)
{
    h->um_authorized = (uint8_t)(authorized < 0 ? 0 : authorized == 0 ? 1 : 2);
    um_attach(h);
}

int bootref_host_set_version(bootref_host_t *h, const int64_t *parts, size_t n)
{
    if (n > BOOTREF_MAX_VERSION_PARTS || (n > 0u && parts == NULL))
        return -1;
    if (n > 0u)
        memcpy(h->um_version, parts, n * sizeof parts[0]);
    h->um_nver = n;
    um_attach(h);
    return 0;
}
#endif

bootref_host_t *bootref_host_new(void)
{
    bootref_host_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->md = EVP_MD_CTX_new();
    if (h->md == NULL) {
        free(h);
        return NULL;
    }
    h->port.ctx = h;
    h->port.keys = h->keys;
    h->port.n_keys = 0;
    h->port.sha256_init = h_sha256_init;
    h->port.sha256_update = h_sha256_update;
    h->port.sha256_final = h_sha256_final;
    h->port.sig_verify = h_sig_verify;
    h->port.mac_verify = h_mac_verify;
    h->port.read_image = h_read_image;
    h->port.image_exact = 1; /* a file ends where the image ends */
    h->port.counter_read = h_counter_read;
    h->port.identity = h_identity;
    h->port.component_slot = NULL;
    h->port.action = NULL;
    h->port.time_now = h_time_now;
    h->deleg.state = &h->deleg_state;
    h->deleg.check = bootref_delegation_check;
    h->deleg.scope = bootref_delegation_scope;
    h->port.deleg = &h->deleg;
    return h;
}

void bootref_host_free(bootref_host_t *h)
{
    size_t i;
    if (h == NULL)
        return;
    for (i = 0; i < BOOTREF_HOST_MAX_KEYS; i++)
        EVP_PKEY_free((EVP_PKEY *)h->pkey[i]);
    OPENSSL_cleanse(h->hmac, sizeof h->hmac);
    bootref_host_enc_free(h);
    EVP_MD_CTX_free((EVP_MD_CTX *)h->md);
    if (h->image != NULL)
        fclose(h->image);
    if (h->run_image != NULL)
        fclose(h->run_image);
    free(h);
}

int bootref_host_add_pem(bootref_host_t *h, const char *path, char *err, size_t errlen)
{
    FILE *f;
    EVP_PKEY *pk;
    size_t i = h->port.n_keys;
    uint8_t type = 0;

    if (i >= BOOTREF_HOST_MAX_KEYS) {
        set_err(err, errlen, "too many trust anchors", path);
        return -1;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        set_err(err, errlen, "cannot open key file", path);
        return -1;
    }
    pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (pk == NULL) {
        set_err(err, errlen, "not a PEM public key (SubjectPublicKeyInfo)", path);
        return -1;
    }
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519) {
        type = BOOTREF_KEY_ED25519;
    } else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
        char group[32];
        size_t gl = 0;
        if (EVP_PKEY_get_group_name(pk, group, sizeof group, &gl) == 1 &&
            strcmp(group, "prime256v1") == 0)
            type = BOOTREF_KEY_P256;
    }
    if (type == 0u) {
        EVP_PKEY_free(pk);
        set_err(err, errlen, "key is neither P-256 nor Ed25519", path);
        return -1;
    }
    if (bootref_host_pkey_kid(pk, h->kid[i]) != 0) {
        EVP_PKEY_free(pk);
        set_err(err, errlen, "cannot compute the key id", path);
        return -1;
    }
    h->pkey[i] = pk;
    h->keys[i].type = type;
    h->keys[i].kid = h->kid[i];
    h->keys[i].kid_len = BOOTREF_HOST_KID_LEN;
    h->keys[i].handle = pk;
    h->port.n_keys = i + 1u;
    return 0;
}

int bootref_host_add_hmac_file(bootref_host_t *h, const char *path, char *err, size_t errlen)
{
    FILE *f;
    size_t i = h->port.n_keys, n;
    uint8_t extra;

    if (i >= BOOTREF_HOST_MAX_KEYS) {
        set_err(err, errlen, "too many trust anchors", path);
        return -1;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        set_err(err, errlen, "cannot open HMAC key file", path);
        return -1;
    }
    n = fread(h->hmac[i].key, 1, BOOTREF_HOST_MAX_HMAC_KEY, f);
    if (fread(&extra, 1, 1, f) != 0u || n < 16u) {
        fclose(f);
        OPENSSL_cleanse(h->hmac[i].key, sizeof h->hmac[i].key);
        set_err(err, errlen, "HMAC key must be 16..64 raw bytes", path);
        return -1;
    }
    fclose(f);
    if (bootref_host_secret_kid(h->hmac[i].key, n, h->kid[i]) != 0) {
        OPENSSL_cleanse(h->hmac[i].key, sizeof h->hmac[i].key);
        set_err(err, errlen, "cannot compute the key id", path);
        return -1;
    }
    h->hmac[i].len = n;
    h->keys[i].type = BOOTREF_KEY_HMAC_SHA256;
    h->keys[i].kid = h->kid[i];
    h->keys[i].kid_len = BOOTREF_HOST_KID_LEN;
    h->keys[i].handle = &h->hmac[i];
    h->port.n_keys = i + 1u;
    return 0;
}

int bootref_host_set_image(bootref_host_t *h, const char *path, char *err, size_t errlen)
{
    if (h->image != NULL)
        fclose(h->image);
    h->image = fopen(path, "rb");
    if (h->image == NULL) {
        set_err(err, errlen, "cannot open image file", path);
        return -1;
    }
    return 0;
}

void bootref_host_set_counter(bootref_host_t *h, uint64_t value)
{
    h->counter = value;
}

void bootref_host_set_identity(bootref_host_t *h, int which, const uint8_t id[16])
{
    if (which == 1) {
        memcpy(h->vendor_id, id, 16);
        h->has_vendor = 1;
    } else if (which == 2) {
        memcpy(h->class_id, id, 16);
        h->has_class = 1;
    } else if (which == 3) {
        memcpy(h->device_id, id, 16);
        h->has_device = 1;
    }
}

void bootref_host_set_time(bootref_host_t *h, int mode, int64_t now)
{
    h->time_mode = mode;
    h->now = now;
}

const bootref_port_t *bootref_host_port(const bootref_host_t *h)
{
    return &h->port;
}

size_t bootref_ctx_size(void)
{
    return sizeof(bootref_ctx_t);
}

size_t bootref_boot_size(void)
{
    return sizeof(bootref_boot_t);
}

int bootref_boot_slot_info(const void *boot, unsigned slot, uint8_t *state, uint64_t *sequence,
                           uint32_t *env_len, uint32_t *img_len)
{
    const bootref_boot_t *b = boot;
    if (b == NULL || slot > 1u)
        return -1;
    *state = b->slot[slot].state;
    *sequence = b->slot[slot].sequence;
    *env_len = b->slot[slot].env_len;
    *img_len = b->slot[slot].img_len;
    return 0;
}

const char *bootref_boot_detail(const void *boot)
{
    const bootref_boot_t *b = boot;
    return b != NULL && b->ctx.detail != NULL ? b->ctx.detail : "";
}
