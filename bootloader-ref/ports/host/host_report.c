/*
 * host_report.c - the host port's SUIT report signer (include/bootref_report.h):
 * the device's own key (a P-256 or Ed25519 private key in PEM, or a raw HMAC-SHA256
 * key file) signs each report, and a callback receives it. Used by the simulated
 * device (fwsign/device) through ctypes. Allocates; not for devices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "bootref_host.h"
#include "host_report.h"

#if BOOTREF_REPORT

struct bootref_host_reporter {
    bootref_report_port_t port;
    EVP_PKEY *pkey;
    uint8_t secret[BOOTREF_HOST_MAX_HMAC_KEY];
    size_t secret_len;
    uint8_t kid[BOOTREF_HOST_KID_LEN];
    bootref_host_emit_fn emit;
    void *user;
};

static void rerr(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0u)
        snprintf(err, errlen, "%s", msg);
}

static int sign_p256(EVP_PKEY *pk, const uint8_t *m1, size_t l1, const uint8_t *m2, size_t l2, uint8_t *sig)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    uint8_t der[80];
    const uint8_t *q = der;
    size_t dl = sizeof der;
    ECDSA_SIG *es = NULL;
    const BIGNUM *r, *s;
    int ok = m != NULL && EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestSignUpdate(m, m1, l1) == 1 && EVP_DigestSignUpdate(m, m2, l2) == 1 &&
             EVP_DigestSignFinal(m, der, &dl) == 1;
    EVP_MD_CTX_free(m);
    if (ok && (es = d2i_ECDSA_SIG(NULL, &q, (long)dl)) != NULL) {
        ECDSA_SIG_get0(es, &r, &s);
        ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
        ECDSA_SIG_free(es);
        return ok;
    }
    return 0;
}

static int h_sign(void *ctx, int32_t alg, const uint8_t *head, size_t head_len, const uint8_t *body,
                  size_t body_len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    bootref_host_reporter_t *r = ctx;
    *sig_len = 0;
    if (cap < 64u)
        return BOOTREF_PORT_ERROR;
    if (alg == 5) { /* HMAC 256/256 */
        unsigned int n = 0;
        int ok;
        {
            EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
            EVP_MAC_CTX *mc = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
            OSSL_PARAM params[2];
            size_t out = 0;
            params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
            params[1] = OSSL_PARAM_construct_end();
            ok = mc != NULL && EVP_MAC_init(mc, r->secret, r->secret_len, params) == 1 &&
                 EVP_MAC_update(mc, head, head_len) == 1 && EVP_MAC_update(mc, body, body_len) == 1 &&
                 EVP_MAC_final(mc, sig, &out, cap) == 1 && out == 32u;
            EVP_MAC_CTX_free(mc);
            EVP_MAC_free(mac);
            n = (unsigned int)out;
        }
        if (!ok)
            return BOOTREF_PORT_ERROR;
        *sig_len = n;
        return BOOTREF_PORT_OK;
    }
    if (alg == -7 && r->pkey != NULL && EVP_PKEY_is_a(r->pkey, "EC")) {
        if (!sign_p256(r->pkey, head, head_len, body, body_len, sig))
            return BOOTREF_PORT_ERROR;
        *sig_len = 64u;
        return BOOTREF_PORT_OK;
    }
    if (alg == -8 && r->pkey != NULL && EVP_PKEY_is_a(r->pkey, "ED25519")) {
        /* pure Ed25519 signs the whole message at once */
        uint8_t *msg = malloc(head_len + body_len);
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        size_t sl = 64;
        int ok = msg != NULL && m != NULL;
        if (ok) {
            memcpy(msg, head, head_len);
            memcpy(msg + head_len, body, body_len);
            ok = EVP_DigestSignInit(m, NULL, NULL, NULL, r->pkey) == 1 &&
                 EVP_DigestSign(m, sig, &sl, msg, head_len + body_len) == 1 && sl == 64u;
        }
        EVP_MD_CTX_free(m);
        free(msg);
        if (!ok)
            return BOOTREF_PORT_ERROR;
        *sig_len = 64u;
        return BOOTREF_PORT_OK;
    }
    return BOOTREF_PORT_UNSUPPORTED;
}

static int h_emit(void *ctx, unsigned kind, const uint8_t *report, size_t len)
{
    bootref_host_reporter_t *r = ctx;
    if (r->emit == NULL)
        return BOOTREF_PORT_ERROR;
    return r->emit(r->user, kind, report, len) == 0 ? BOOTREF_PORT_OK : BOOTREF_PORT_ERROR;
}

bootref_host_reporter_t *bootref_host_reporter_new(const char *path, char *err, size_t errlen)
{
    bootref_host_reporter_t *r = calloc(1, sizeof *r);
    FILE *f;
    if (r == NULL) {
        rerr(err, errlen, "out of memory");
        return NULL;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        rerr(err, errlen, "cannot open the report key file");
        free(r);
        return NULL;
    }
    r->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    if (r->pkey != NULL) {
        fclose(f);
        if (EVP_PKEY_is_a(r->pkey, "EC") && EVP_PKEY_get_bits(r->pkey) == 256)
            r->port.alg = -7;
        else if (EVP_PKEY_is_a(r->pkey, "ED25519"))
            r->port.alg = -8;
        else {
            rerr(err, errlen, "the report key must be P-256, Ed25519 or a raw HMAC key");
            bootref_host_reporter_free(r);
            return NULL;
        }
        if (bootref_host_pkey_kid(r->pkey, r->kid) != 0) {
            rerr(err, errlen, "cannot compute the report key's id");
            bootref_host_reporter_free(r);
            return NULL;
        }
    } else {
        uint8_t extra;
        rewind(f);
        r->secret_len = fread(r->secret, 1, sizeof r->secret, f);
        if (fread(&extra, 1, 1, f) != 0u || r->secret_len < 32u) {
            fclose(f);
            rerr(err, errlen, "the report key is neither a PEM private key nor 32..64 raw HMAC bytes");
            bootref_host_reporter_free(r);
            return NULL;
        }
        fclose(f);
        r->port.alg = 5;
        if (bootref_host_secret_kid(r->secret, r->secret_len, r->kid) != 0) {
            rerr(err, errlen, "cannot compute the report key's id");
            bootref_host_reporter_free(r);
            return NULL;
        }
    }
    r->port.ctx = r;
    r->port.kid = r->kid;
    r->port.kid_len = sizeof r->kid;
    r->port.sign = h_sign;
    r->port.emit = h_emit;
    return r;
}

void bootref_host_reporter_free(bootref_host_reporter_t *r)
{
    if (r == NULL)
        return;
    EVP_PKEY_free(r->pkey);
    OPENSSL_cleanse(r->secret, sizeof r->secret);
    free(r);
}

void bootref_host_reporter_set_emit(bootref_host_reporter_t *r, bootref_host_emit_fn fn, void *user,
                                    int capabilities)
{
    r->emit = fn;
    r->user = user;
    r->port.capabilities = (uint8_t)(capabilities != 0);
}

const bootref_report_port_t *bootref_host_reporter_port(const bootref_host_reporter_t *r)
{
    return &r->port;
}

#endif /* BOOTREF_REPORT */
