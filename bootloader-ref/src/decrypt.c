/*
 * decrypt.c - SUIT encrypted payloads (draft-ietf-suit-firmware-encryption-26):
 * parse SUIT_Encryption_Info (COSE_Encrypt, RFC 9052 section 5.1), unwrap the
 * content key (RFC 9053 section 6: AES-KW, ECDH-ES+A128KW with HKDF-SHA-256),
 * and decrypt a payload as it streams. A separate object from the verifier
 * core: only devices that take encrypted payloads link it.
 */
#include <string.h>

#include "bootref_decrypt.h"
#include "internal.h"

enum { H_ALG = 1, H_CRIT = 2, H_KID = 4, H_IV = 5, H_EPK = -1 };
enum {
    A_A128GCM = 1, A_A256GCM = 3, A_CHACHA = 24, A_A128CTR = -65534, A_A256CTR = -65532,
    A_A128KW = -3, A_A256KW = -5, A_ECDH_ES_A128KW = -29
};
#define MAX_RECIPIENTS 16u
#define MAX_KID 64u
#define MAX_PROTECTED 32u

/* Headers of one COSE layer (protected and unprotected merged). */
typedef struct {
    uint8_t seen;        /* bit per label: alg, kid, iv, epk */
    int64_t alg;
    bootref_span_t kid, iv, epk_x, epk_y;
    int64_t crv;
} hdr_t;

enum { S_ALG = 1, S_KID = 2, S_IV = 4, S_EPK = 8 };

static bootref_err_t bad(bootref_decrypt_t *d, bootref_err_t e, const char *why)
{
    d->detail = why;
    return e;
}

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

/* COSE_Key of an ephemeral key: {1: kty, -1: crv, -2: x, (-3: y)}. */
static bootref_err_t epk(bootref_decrypt_t *d, cbor_dec_t *dec, hdr_t *h)
{
    size_t n, i;
    int64_t label, kty = 0;
    cbor_item_t it;
    bootref_err_t e;

    if ((e = cbor_map(dec, &n)) != BOOTREF_OK)
        return e;
    for (i = 0; i < n; i++) {
        if ((e = cbor_int(dec, &label)) != BOOTREF_OK)
            return e;
        if (label == 1 || label == -1) {
            if ((e = cbor_int(dec, label == 1 ? &kty : &h->crv)) != BOOTREF_OK)
                return e;
        } else if (label == -2 || label == -3) {
            if ((e = cbor_expect(dec, CBOR_BSTR, &it)) != BOOTREF_OK)
                return e;
            if (it.val != 32u)
                return bad(d, BOOTREF_E_ENC_INFO, BR_STR("ephemeral key coordinate is not 32 bytes"));
            if (label == -2) {
                h->epk_x.p = it.str;
                h->epk_x.n = 32u;
            } else {
                h->epk_y.p = it.str;
                h->epk_y.n = 32u;
            }
        } else
            return bad(d, BOOTREF_E_ENC_INFO, BR_STR("ephemeral key has an unexpected member"));
    }
    if (h->epk_x.p == NULL || !((kty == 2 && h->crv == 1 && h->epk_y.p != NULL) ||
                                (kty == 1 && h->crv == 4 && h->epk_y.p == NULL)))
        return bad(d, BOOTREF_E_UNSUPPORTED_ALG, BR_STR("ephemeral key is not P-256 or X25519"));
    return BOOTREF_OK;
}

/* One header map; `allowed` is the S_* set this layer may carry. */
static bootref_err_t hdr_map(bootref_decrypt_t *d, cbor_dec_t *dec, hdr_t *h, uint8_t allowed)
{
    size_t n, i;
    int64_t label;
    uint8_t bit;
    cbor_item_t it;
    bootref_err_t e;

    if ((e = cbor_map(dec, &n)) != BOOTREF_OK)
        return e;
    for (i = 0; i < n; i++) {
        if ((e = cbor_int(dec, &label)) != BOOTREF_OK)
            return e;
        bit = label == H_ALG ? S_ALG : label == H_KID ? S_KID : label == H_IV ? S_IV
              : label == H_EPK ? S_EPK : 0u;
        if (bit == 0u || !(allowed & bit))
            return bad(d, label == H_CRIT ? BOOTREF_E_UNSUPPORTED_ALG : BOOTREF_E_ENC_INFO,
                       BR_STR("header parameter not allowed here"));
        if (h->seen & bit)
            return bad(d, BOOTREF_E_ENC_INFO, BR_STR("header parameter in both header maps"));
        h->seen |= bit;
        if (bit == S_ALG)
            e = cbor_int(dec, &h->alg);
        else if (bit == S_EPK)
            e = epk(d, dec, h);
        else if ((e = cbor_expect(dec, CBOR_BSTR, &it)) == BOOTREF_OK) {
            bootref_span_t *s = bit == S_KID ? &h->kid : &h->iv;
            s->p = it.str;
            s->n = (size_t)it.val;
        }
        if (e != BOOTREF_OK)
            return e;
    }
    return BOOTREF_OK;
}

/* A protected header: bstr .cbor map, or h'' (empty). Only alg may be protected. */
static bootref_err_t protected_hdr(bootref_decrypt_t *d, cbor_dec_t *dec, hdr_t *h, bootref_span_t *raw)
{
    cbor_dec_t in;
    bootref_err_t e;
    if ((e = cbor_bstr(dec, raw, NULL)) != BOOTREF_OK)
        return e;
    if (raw->n == 0u)
        return BOOTREF_OK;
    if (raw->n > MAX_PROTECTED)
        return bad(d, BOOTREF_E_ENC_INFO, BR_STR("protected header too large"));
    if ((e = cbor_wellformed_lax(raw->p, raw->n)) != BOOTREF_OK)
        return e;
    cbor_init(&in, raw->p, raw->n);
    return hdr_map(d, &in, h, S_ALG);
}

/* HMAC-SHA-256 (RFC 2104) over the verifier port's SHA-256; key <= 64 bytes. */
static bootref_err_t hmac(const bootref_port_t *p, const uint8_t *key, size_t klen,
                          const uint8_t *m1, size_t n1, const uint8_t *m2, size_t n2, uint8_t out[32])
{
    uint8_t pad[64];
    size_t i;
    int r;
    memset(pad, 0, sizeof pad);
    memcpy(pad, key, klen);
    for (i = 0; i < 64u; i++)
        pad[i] ^= 0x36u;
    r = p->sha256_init(p->ctx) | p->sha256_update(p->ctx, pad, 64u) | p->sha256_update(p->ctx, m1, n1) |
        p->sha256_update(p->ctx, m2, n2) | p->sha256_final(p->ctx, out);
    for (i = 0; i < 64u; i++)
        pad[i] ^= 0x36u ^ 0x5cu;
    r |= p->sha256_init(p->ctx) | p->sha256_update(p->ctx, pad, 64u) | p->sha256_update(p->ctx, out, 32u) |
         p->sha256_final(p->ctx, out);
    wipe(pad, sizeof pad);
    return r == BOOTREF_PORT_OK ? BOOTREF_OK : BOOTREF_E_PORT;
}

static size_t bstr_head(uint8_t *out, size_t n) /* n < 256 */
{
    if (n < 24u) {
        out[0] = (uint8_t)(0x40u + n);
        return 1u;
    }
    out[0] = 0x58u;
    out[1] = (uint8_t)n;
    return 2u;
}

/* ECDH-ES+A128KW: KEK = HKDF-SHA-256(shared, salt none, info = COSE_KDF_Context)
 * with the context of draft-ietf-suit-firmware-encryption-26 section 6.2:
 * [-3, [nil, nil, nil], [nil, nil, nil], [128, protected, "SUIT Payload Encryption"]]. */
static bootref_err_t ecdh_kek(const bootref_port_t *p, const bootref_dec_key_t *key, const hdr_t *h,
                              const bootref_span_t *prot, uint8_t kek[16])
{
    static const uint8_t pre[] = {0x84, 0x22, 0x83, 0xf6, 0xf6, 0xf6, 0x83, 0xf6, 0xf6, 0xf6, 0x83, 0x18, 0x80};
    static const char other[] = "SUIT Payload Encryption";
    uint8_t info[sizeof pre + 2u + MAX_PROTECTED + 1u + sizeof other], shared[32], prk[32], zero[32];
    size_t n = sizeof pre;
    const uint8_t one = 1u;
    bootref_err_t e;
    int r;

    memcpy(info, pre, sizeof pre);
    n += bstr_head(info + n, prot->n);
    memcpy(info + n, prot->p, prot->n);
    n += prot->n;
    info[n++] = (uint8_t)(0x40u + sizeof other - 1u);
    memcpy(info + n, other, sizeof other - 1u);
    n += sizeof other - 1u;
    r = p->dec->ecdh(p->dec->ctx, key, h->epk_x.p, h->epk_y.p, shared);
    if (r != BOOTREF_PORT_OK)
        return r == BOOTREF_PORT_FAIL ? BOOTREF_E_KEY_UNWRAP : BOOTREF_E_PORT;
    memset(zero, 0, sizeof zero);
    e = hmac(p, zero, sizeof zero, shared, sizeof shared, NULL, 0u, prk); /* extract */
    if (e == BOOTREF_OK)
        e = hmac(p, prk, sizeof prk, info, n, &one, 1u, shared);          /* expand, T(1) */
    memcpy(kek, shared, 16u);
    wipe(shared, sizeof shared);
    wipe(prk, sizeof prk);
    return e;
}

static int key_fits(const bootref_dec_key_t *k, const hdr_t *h)
{
    int ok = (h->alg == A_A128KW && k->type == BOOTREF_DKEY_A128KW) ||
             (h->alg == A_A256KW && k->type == BOOTREF_DKEY_A256KW) ||
             (h->alg == A_ECDH_ES_A128KW && h->crv == 1 && k->type == BOOTREF_DKEY_P256) ||
             (h->alg == A_ECDH_ES_A128KW && h->crv == 4 && k->type == BOOTREF_DKEY_X25519);
    if (!ok || h->kid.p == NULL || k->kid == NULL)
        return ok;
    return h->kid.n == k->kid_len && memcmp(h->kid.p, k->kid, k->kid_len) == 0;
}

bootref_err_t bootref_decrypt_begin(bootref_decrypt_t *d, const bootref_port_t *port,
                                    const uint8_t *info, size_t info_len)
{
    const bootref_dec_port_t *dp = port->dec;
    cbor_dec_t dec;
    cbor_item_t it;
    hdr_t ch, rh;
    bootref_span_t cprot, rprot, wrapped;
    uint8_t cek[32], kek[16], aad[BOOTREF_DEC_AAD_MAX];
    size_t nrec, i, k, key_len, iv_len, aad_len = 0;
    bootref_err_t e, result = BOOTREF_E_NO_RECIPIENT;
    int r;

    memset(d, 0, sizeof *d);
    d->port = port;
    if (dp == NULL || dp->kw_unwrap == NULL || dp->cipher_init == NULL || dp->cipher_update == NULL ||
        dp->cipher_final == NULL)
        return bad(d, BOOTREF_E_UNSUPPORTED_ALG, BR_STR("encrypted payload, but this device cannot decrypt"));
    if ((e = cbor_wellformed_lax(info, info_len)) != BOOTREF_OK)
        return bad(d, e, BR_STR("encryption info is not well-formed CBOR"));
    memset(&ch, 0, sizeof ch);
    cbor_init(&dec, info, info_len);
    if (cbor_expect(&dec, CBOR_TAG, &it) != BOOTREF_OK || it.val != 96u || cbor_array(&dec, &nrec) != BOOTREF_OK ||
        nrec != 4u)
        return bad(d, BOOTREF_E_ENC_INFO, BR_STR("encryption info is not a COSE_Encrypt (tag 96)"));
    if ((e = protected_hdr(d, &dec, &ch, &cprot)) != BOOTREF_OK ||
        (e = hdr_map(d, &dec, &ch, S_ALG | S_IV)) != BOOTREF_OK)
        return bad(d, e == BOOTREF_E_UNSUPPORTED_ALG ? e : BOOTREF_E_ENC_INFO,
                   d->detail != NULL ? d->detail : BR_STR("malformed COSE_Encrypt header"));
    if (cbor_head(&dec, &it) != BOOTREF_OK || it.major != CBOR_SIMPLE || it.val != CBOR_NULL)
        return bad(d, BOOTREF_E_ENC_INFO, BR_STR("the ciphertext must be detached (nil)"));
    if (!(ch.seen & S_ALG) || !(ch.seen & S_IV))
        return bad(d, BOOTREF_E_ENC_INFO, BR_STR("COSE_Encrypt needs alg and IV"));
    switch (ch.alg) {
    case A_A128GCM: key_len = 16u; iv_len = 12u; d->tag_len = 16u; break;
    case A_A256GCM: case A_CHACHA: key_len = 32u; iv_len = 12u; d->tag_len = 16u; break;
    case A_A128CTR: key_len = 16u; iv_len = 16u; break;
    case A_A256CTR: key_len = 32u; iv_len = 16u; break;
    default: return bad(d, BOOTREF_E_UNSUPPORTED_ALG, BR_STR("content encryption algorithm not supported"));
    }
    if (ch.iv.n != iv_len)
        return bad(d, BOOTREF_E_ENC_INFO, BR_STR("IV has the wrong length for the algorithm"));
    if (d->tag_len == 0u && cprot.n != 0u)
        return bad(d, BOOTREF_E_ENC_INFO, BR_STR("AES-CTR takes an empty protected header"));
    if (cbor_array(&dec, &nrec) != BOOTREF_OK || nrec == 0u || nrec > MAX_RECIPIENTS)
        return bad(d, BOOTREF_E_ENC_INFO, BR_STR("COSE_Encrypt needs 1-16 recipients"));

    for (i = 0; i < nrec; i++) {
        memset(&rh, 0, sizeof rh);
        if (cbor_array(&dec, &k) != BOOTREF_OK || k != 3u || (e = protected_hdr(d, &dec, &rh, &rprot)) != BOOTREF_OK ||
            (e = hdr_map(d, &dec, &rh, S_ALG | S_KID | S_EPK)) != BOOTREF_OK ||
            cbor_bstr(&dec, &wrapped, NULL) != BOOTREF_OK)
            return bad(d, BOOTREF_E_ENC_INFO, d->detail != NULL ? d->detail : BR_STR("malformed recipient"));
        if (!(rh.seen & S_ALG) || (wrapped.n != 24u && wrapped.n != 40u) || rh.kid.n > MAX_KID ||
            ((rh.alg == A_ECDH_ES_A128KW) != ((rh.seen & S_EPK) != 0u)))
            return bad(d, BOOTREF_E_ENC_INFO, BR_STR("malformed recipient"));
        if (result != BOOTREF_E_NO_RECIPIENT && result != BOOTREF_E_KEY_UNWRAP)
            continue; /* found: keep parsing the rest strictly */
        for (k = 0; k < dp->n_keys; k++) {
            const bootref_dec_key_t *key = &dp->keys[k];
            if (!key_fits(key, &rh))
                continue;
            if (wrapped.n - 8u != key_len) {
                result = BOOTREF_E_KEY_UNWRAP;
                continue;
            }
            if (rh.alg == A_ECDH_ES_A128KW) {
                if (dp->ecdh == NULL)
                    return bad(d, BOOTREF_E_UNSUPPORTED_ALG, BR_STR("this device has no ECDH"));
                if ((e = ecdh_kek(port, key, &rh, &rprot, kek)) == BOOTREF_OK)
                    r = dp->kw_unwrap(dp->ctx, NULL, kek, sizeof kek, wrapped.p, wrapped.n, cek, key_len);
                else
                    r = e == BOOTREF_E_KEY_UNWRAP ? BOOTREF_PORT_FAIL : BOOTREF_PORT_ERROR;
                wipe(kek, sizeof kek);
            } else
                r = dp->kw_unwrap(dp->ctx, key, NULL, 0u, wrapped.p, wrapped.n, cek, key_len);
            if (r == BOOTREF_PORT_OK) {
                result = BOOTREF_OK;
                break;
            }
            if (r != BOOTREF_PORT_FAIL) {
                wipe(cek, sizeof cek);
                return bad(d, BOOTREF_E_PORT, BR_STR("key unwrap failed in the port"));
            }
            result = BOOTREF_E_KEY_UNWRAP;
        }
    }
    if (dec.pos != dec.len)
        return bad(d, BOOTREF_E_ENC_INFO, BR_STR("trailing bytes after the encryption info"));
    if (result != BOOTREF_OK) {
        wipe(cek, sizeof cek);
        return bad(d, result, result == BOOTREF_E_NO_RECIPIENT
                                  ? BR_STR("no recipient is addressed to this device's keys")
                                  : BR_STR("the content key does not unwrap (wrong key or tampered)"));
    }
    if (d->tag_len != 0u) { /* Enc_structure = ["Encrypt", protected, h''] (RFC 9052 5.3) */
        static const uint8_t ctx_str[] = {0x83, 0x67, 'E', 'n', 'c', 'r', 'y', 'p', 't'};
        memcpy(aad, ctx_str, sizeof ctx_str);
        aad_len = sizeof ctx_str;
        aad_len += bstr_head(aad + aad_len, cprot.n);
        memcpy(aad + aad_len, cprot.p, cprot.n);
        aad_len += cprot.n;
        aad[aad_len++] = 0x40u;
    }
    r = dp->cipher_init(dp->ctx, (int32_t)ch.alg, cek, key_len, ch.iv.p, ch.iv.n, aad, aad_len);
    wipe(cek, sizeof cek);
    if (r != BOOTREF_PORT_OK)
        return bad(d, r == BOOTREF_PORT_UNSUPPORTED ? BOOTREF_E_UNSUPPORTED_ALG : BOOTREF_E_PORT,
                   BR_STR("content cipher could not be started"));
    return BOOTREF_OK;
}

bootref_err_t bootref_decrypt_update(bootref_decrypt_t *d, const uint8_t *in, size_t len, uint8_t *out,
                                     size_t *out_len)
{
    const bootref_dec_port_t *dp = d->port->dec;
    size_t total = (size_t)d->held_n + len, emit = total > d->tag_len ? total - d->tag_len : 0u;
    size_t from_held = emit < d->held_n ? emit : d->held_n, from_in = emit - from_held;

    *out_len = 0;
    if ((from_held > 0u && dp->cipher_update(dp->ctx, d->held, out, from_held) != BOOTREF_PORT_OK) ||
        (from_in > 0u && dp->cipher_update(dp->ctx, in, out + from_held, from_in) != BOOTREF_PORT_OK))
        return bad(d, BOOTREF_E_PORT, BR_STR("decryption failed in the port"));
    memmove(d->held, d->held + from_held, (size_t)d->held_n - from_held);
    memcpy(d->held + (d->held_n - from_held), in + from_in, len - from_in);
    d->held_n = (uint8_t)(total - emit);
    *out_len = emit;
    return BOOTREF_OK;
}

bootref_err_t bootref_decrypt_finish(bootref_decrypt_t *d)
{
    const bootref_dec_port_t *dp = d->port->dec;
    int r;
    if (d->held_n != d->tag_len)
        return bad(d, BOOTREF_E_DECRYPT, BR_STR("encrypted payload is shorter than its tag (truncated)"));
    r = dp->cipher_final(dp->ctx, d->held, d->held_n);
    if (r == BOOTREF_PORT_FAIL)
        return bad(d, BOOTREF_E_DECRYPT, BR_STR("authentication tag does not verify (tampered or truncated)"));
    return r == BOOTREF_PORT_OK ? BOOTREF_OK : bad(d, BOOTREF_E_PORT, BR_STR("decryption failed in the port"));
}
