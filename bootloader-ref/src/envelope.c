/*
 * envelope.c - SUIT envelope parsing and authentication
 * (draft-ietf-suit-manifest-34 sections 8.1-8.4, RFC 9052/9053 for COSE).
 *
 * Order of work, chosen so that untrusted bytes reach as little code as possible
 * before they are authenticated:
 *   1. strict CBOR well-formedness of the whole envelope;
 *   2. envelope map: authentication wrapper first, manifest, severed members;
 *   3. SHA-256 over the bstr-wrapped manifest compared with the wrapper's
 *      SUIT_Digest, before any signature work (draft-34 section 8.3: the digest
 *      "MUST" be verified prior to the cryptographic computation);
 *   4. COSE_Sign1 / COSE_Mac0 blocks over the detached, bstr-wrapped digest;
 *   5. only then the manifest's own structure, anti-rollback and severed members.
 *
 * Steps 1 and 2 (and the wrapper, the digest, the COSE blocks, the manifest and
 * suit-common) are decoded in one pass by strict typed readers; the separate
 * well-formedness walk runs only when a reader fails or meets something it does
 * not check itself (checked()), so every input gets the answer it would get
 * with the walk first.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "bootref_delegation.h"

#if BOOTREF_DETAIL_STRINGS
bootref_err_t br_fail(bootref_ctx_t *c, bootref_err_t e, const char *detail)
{
    c->detail = detail;
    return e;
}

void br_report(bootref_ctx_t *c, const char *what, const char *note, int component,
               int32_t value, bootref_ev_status_t st)
{
    bootref_event_t ev;
    if (c->report == NULL)
        return;
    ev.what = what;
    ev.note = note;
    ev.component = component;
    ev.value = value;
    ev.status = st;
    c->report(c->report_user, &ev);
}
#endif

bootref_err_t br_sha256(bootref_ctx_t *c, const uint8_t *p, size_t n, uint8_t out[32])
{
    const bootref_port_t *port = c->port;
    if (port->sha256_init(port->ctx) != BOOTREF_PORT_OK ||
        port->sha256_update(port->ctx, p, n) != BOOTREF_PORT_OK ||
        port->sha256_final(port->ctx, out) != BOOTREF_PORT_OK)
        return br_fail(c, BOOTREF_E_PORT, BR_STR("sha256 failed in the port"));
    return BOOTREF_OK;
}

int br_digest_equal(const uint8_t *a, const uint8_t *b)
{
    /* Not secret data, but a constant-time compare costs nothing and keeps
     * timing from telling an attacker how many bytes of a forgery matched
     * (br_equal: word-wise, no early exit). */
    return br_equal(a, b, 32u);
}

bootref_err_t br_parse_digest(cbor_dec_t *d, const uint8_t **digest)
{
    /* SUIT_Digest = [alg, bytes] (draft-34 section 10, CDDL). Extensions to
     * the array are not accepted: an item we do not understand is refused. */
    size_t n;
    int64_t alg;
    bootref_span_t v;
    bootref_err_t e;

    if ((e = cbor_array(d, &n)) != BOOTREF_OK)
        return e;
    if (n != 2u)
        return BOOTREF_E_STRUCTURE;
    if ((e = cbor_int(d, &alg)) != BOOTREF_OK)
        return e;
    if ((e = cbor_bstr(d, &v, NULL)) != BOOTREF_OK)
        return e;
    /* SHA-256 is the one mandatory digest (REFERENCE.md section 1). */
    if (alg != SUIT_DIGEST_SHA256)
        return BOOTREF_E_UNSUPPORTED_ALG;
    if (v.n != 32u)
        return BOOTREF_E_STRUCTURE;
    *digest = v.p;
    return BOOTREF_OK;
}

/* ------------------------------------------------------------------------ */
/* COSE                                                                     */

static bootref_err_t checked(bootref_ctx_t *c, const cbor_dec_t *d, bootref_err_t e, int walk,
                             const char *detail);

typedef struct {
    int64_t alg;
    uint8_t has_alg;
    const uint8_t *kid;
    size_t kid_len;
    int walk; /* a label was skipped: its checks are the walk's (checked()) */
} cose_hdr_t;

/* One COSE header map (RFC 9052 section 3). In the protected map (prot = 1)
 * alg and kid are taken; crit is refused because this verifier understands no
 * critical extension (s3.1). In the unprotected map alg and crit are refused
 * (they would not be signed) and a kid may appear only if the protected map
 * had none ("labels MUST NOT occur in both"). Other labels carry no meaning
 * for SUIT and are skipped. */
static bootref_err_t parse_header(cbor_dec_t *d, cose_hdr_t *h, int prot)
{
    size_t n, i;
    cbor_item_t k;
    bootref_span_t kid;
    bootref_err_t e;

    if ((e = cbor_map(d, &n)) != BOOTREF_OK)
        return e;
    for (i = 0; i < n; i++) {
        if ((e = cbor_head(d, &k)) != BOOTREF_OK)
            return e;
        if (k.major == CBOR_UINT && k.val == COSE_HDR_CRIT)
            return BOOTREF_E_STRUCTURE;
        if (k.major == CBOR_UINT && k.val == COSE_HDR_ALG) {
            /* alg (1) after kid (4): out of canonical order, which the
             * walk names (checked()) */
            if (!prot || h->has_alg || h->kid != NULL)
                return BOOTREF_E_STRUCTURE;
            e = cbor_int(d, &h->alg);
            h->has_alg = 1;
        } else if (k.major == CBOR_UINT && k.val == COSE_HDR_KID) {
            if (h->kid != NULL)
                return BOOTREF_E_STRUCTURE;
            e = cbor_bstr(d, &kid, NULL);
            h->kid = kid.p;
            h->kid_len = kid.n;
        } else {
            /* any other key: its checks (type, duplicates, depth) are the walk's */
            h->walk = 1;
            e = cbor_skip(d);
        }
        if (e != BOOTREF_OK)
            return e;
    }
    return BOOTREF_OK;
}

/* A COSE_Sign1 / COSE_Mac0 block's fields, decoded in one pass (checked()
 * below): h.walk is set when a header holds a label whose checks are the walk's. */
typedef struct {
    cose_hdr_t h;
    bootref_span_t prot_w, sig;
    int is_mac;
} cose_blk_t;

static bootref_err_t block_fields(bootref_ctx_t *c, cbor_dec_t *d, cose_blk_t *b)
{
    cbor_item_t it;
    size_t n;
    bootref_span_t prot;
    bootref_err_t e;

    if ((e = cbor_expect(d, CBOR_TAG, &it)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("authentication block must be a tagged COSE structure"));
    if (it.val == COSE_TAG_SIGN || it.val == COSE_TAG_MAC)
        return br_fail(c, BOOTREF_E_UNSUPPORTED_ALG,
                       BR_STR("COSE_Sign/COSE_Mac (multi-recipient) not supported"));
    if (it.val != COSE_TAG_SIGN1 && it.val != COSE_TAG_MAC0)
        return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("authentication block: unknown COSE tag"));
    b->is_mac = it.val == COSE_TAG_MAC0;

    /* COSE_Sign1 = [protected, unprotected, payload, signature]; COSE_Mac0 has
     * the same shape with a tag instead of a signature (RFC 9052 s4.2, s6.2). */
    if ((e = cbor_array(d, &n)) != BOOTREF_OK || n != 4u)
        return br_fail(c, e != BOOTREF_OK ? e : BOOTREF_E_STRUCTURE,
                       BR_STR("COSE structure must have 4 elements"));
    if ((e = cbor_bstr(d, &prot, &b->prot_w)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("COSE protected header"));
    if (prot.n > BOOTREF_MAX_PROTECTED_SIZE)
        return br_fail(c, BOOTREF_E_LIMIT_SIZE, BR_STR("COSE protected header too large"));
    /* protected = bstr .cbor header_map, or empty (RFC 9052 section 3) */
    if (prot.n != 0u) {
        cbor_dec_t pd;
        cbor_init(&pd, prot.p, prot.n);
        e = parse_header(&pd, &b->h, 1);
        if ((e = checked(c, &pd, e, b->h.walk, BR_STR("COSE protected header"))) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("COSE protected header"));
    }
    if ((e = parse_header(d, &b->h, 0)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("COSE unprotected header"));
    if ((e = cbor_head(d, &it)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("COSE payload"));
    if (it.major != CBOR_SIMPLE || it.val != CBOR_NULL)
        return br_fail(c, BOOTREF_E_STRUCTURE,
                       BR_STR("COSE payload must be nil (detached SUIT_Digest)"));
    if ((e = cbor_bstr(d, &b->sig, NULL)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("COSE signature/tag"));
    return BOOTREF_OK;
}

/* Rank of the reason a block was ignored: the most telling one is the
 * verdict when no block verified (processing model section 5):
 * signature-invalid 3 > unsupported 1 > no-trusted-key 0. */
#define BLOCK_RANK(e) (((e) == BOOTREF_E_SIGNATURE_INVALID) * 2 + ((e) != BOOTREF_E_NO_TRUSTED_KEY))

/* Verify one SUIT_Authentication_Block over the detached payload `digest_w`
 * (the bstr-wrapped SUIT_Digest, draft-34 section 8.3; the rule is section 5
 * of docs/processing-model.md). BOOTREF_OK: a candidate key verified it (its
 * bit joins c->signers). BOOTREF_E_NO_TRUSTED_KEY: the block is ignored (an
 * unimplemented algorithm, no candidate key, or no candidate verifies and the
 * block names no key), *best keeps the most telling reason. Anything else
 * refuses the envelope: a malformed block, a port fault, or a block whose kid
 * names a trusted key that does not verify it. */
static bootref_err_t verify_block(bootref_ctx_t *c, const bootref_span_t *blk,
                                  const bootref_span_t *digest_w, bootref_err_t *best)
{
    const bootref_port_t *port = c->port;
    size_t i, tried = 0, unsupported = 0, sig_len;
    cose_blk_t b;
    cbor_dec_t d;
    uint8_t key_type;
    uint8_t *t;
    bootref_err_t e;

    memset(&b, 0, sizeof b);
    cbor_init(&d, blk->p, blk->n);
    e = block_fields(c, &d, &b);
    if ((e = checked(c, &d, e, b.h.walk, BR_STR("authentication block"))) != BOOTREF_OK)
        return e;
    /* from here on the block is known to be well-formed */
    if (!b.h.has_alg)
        return br_fail(c, BOOTREF_E_MISSING_MEMBER, BR_STR("COSE alg missing from protected header"));

    /* Algorithm -> key type and signature length (RFC 9053 s2.1, s2.2, s3.1;
     * ESP256 -9 and Ed25519 -19 are the fully-specified ids of RFC 9864). */
    if (!b.is_mac && (b.h.alg == COSE_ALG_ES256 || b.h.alg == COSE_ALG_ESP256)) {
        key_type = BOOTREF_KEY_P256;
        sig_len = 64u;
    } else if (!b.is_mac && (b.h.alg == COSE_ALG_EDDSA || b.h.alg == COSE_ALG_ED25519)) {
        key_type = BOOTREF_KEY_ED25519;
        sig_len = 64u;
    } else if (b.is_mac && b.h.alg == COSE_ALG_HMAC256) {
        key_type = BOOTREF_KEY_HMAC_SHA256;
        sig_len = 32u;
#if BOOTREF_WITH_HSSLMS
    } else if (!b.is_mac && b.h.alg == COSE_ALG_HSS_LMS) {
        /* RFC 8778; the length follows the signature's parameter sets */
        key_type = BOOTREF_KEY_HSS_LMS;
        sig_len = 0u;
#endif
#if BOOTREF_WITH_MLDSA
    } else if (!b.is_mac && b.h.alg <= COSE_ALG_ML_DSA_44 && b.h.alg >= COSE_ALG_ML_DSA_87) {
        /* draft-ietf-cose-dilithium: -48/-49/-50 = ML-DSA-44/-65/-87 (FIPS 204 Table 2) */
        static const uint16_t mldsa_sig[3] = {2420u, 3309u, 4627u};
        key_type = (uint8_t)(BOOTREF_KEY_MLDSA44 + (COSE_ALG_ML_DSA_44 - b.h.alg));
        sig_len = mldsa_sig[COSE_ALG_ML_DSA_44 - b.h.alg];
#endif
    } else {
        e = br_fail(c, BOOTREF_E_UNSUPPORTED_ALG, BR_STR("COSE algorithm not supported"));
        goto ignored;
    }

    /* To-be-signed bytes, built from the bytes as received (never re-encoded):
     * Sig_structure = ["Signature1", protected, external_aad = h'', payload]
     * MAC_structure = ["MAC0", protected, h'', payload]  (RFC 9052 s4.4, s6.3). */
    if (13u + b.prot_w.n + digest_w->n > BOOTREF_TBS_MAX)
        return br_fail(c, BOOTREF_E_LIMIT_SIZE, BR_STR("to-be-signed structure too large"));
    t = c->tbs;
    *t++ = 0x84u;
    if (b.is_mac) {
        memcpy(t, "\x64" "MAC0", 5u);
        t += 5;
    } else {
        memcpy(t, "\x6a" "Signature1", 11u);
        t += 11;
    }
    memcpy(t, b.prot_w.p, b.prot_w.n);
    t += b.prot_w.n;
    *t++ = 0x40u;
    memcpy(t, digest_w->p, digest_w->n);
    t += digest_w->n;

    /* c->keys: the port's trust anchors or, after a delegation was verified, the
     * anchors followed by the keys it vouches for (bootref_delegation.h) */
    for (i = 0; i < c->n_keys; i++) {
        const bootref_key_t *k = &c->keys[i];
        int r;
        if ((k->type & 0x7fu) != key_type)
            continue;
        if (b.h.kid != NULL && k->kid != NULL &&
            (b.h.kid_len != k->kid_len || memcmp(b.h.kid, k->kid, b.h.kid_len) != 0))
            continue;
        tried++;
#if BOOTREF_WITH_HSSLMS
        if (sig_len != 0u && b.sig.n != sig_len) /* cannot verify with any key of this type */
#else
        if (b.sig.n != sig_len) /* cannot verify with any key of this type */
#endif
            r = BOOTREF_PORT_FAIL;
#if BOOTREF_WITH_HSSLMS
        else if (key_type == BOOTREF_KEY_HSS_LMS)
            r = k->handle == NULL ? BOOTREF_PORT_UNSUPPORTED
                : br_hsslms_verify(c, (const uint8_t *)k->handle, 60u, c->tbs, (size_t)(t - c->tbs),
                                   b.sig.p, b.sig.n);
#endif
        else if (b.is_mac)
            r = port->mac_verify == NULL ? BOOTREF_PORT_UNSUPPORTED
                : port->mac_verify(port->ctx, (int32_t)b.h.alg, k, c->tbs, (size_t)(t - c->tbs),
                                   b.sig.p, b.sig.n);
        else
            r = port->sig_verify(port->ctx, (int32_t)b.h.alg, k, c->tbs, (size_t)(t - c->tbs),
                                 b.sig.p, b.sig.n);
        if (r == BOOTREF_PORT_OK) {
            if (i < 32u)
                c->signers |= (uint32_t)1u << i;
#if BOOTREF_REQUIRE_ALGS
            c->verified_alg = (int32_t)b.h.alg;
#endif
            br_report(c, BR_STR("authentication"), BR_STR(k->type & BOOTREF_KEY_RAW ? "verified with a delegated key"
                                                                                     : "verified with a trust anchor"),
                      (int)i, (int32_t)b.h.alg, BOOTREF_EV_OK);
            return BOOTREF_OK;
        }
        if (r == BOOTREF_PORT_UNSUPPORTED)
            unsupported++;
        else if (r != BOOTREF_PORT_FAIL)
            return br_fail(c, BOOTREF_E_PORT, BR_STR("signature verification failed in the port"));
    }
    if (tried == 0u) {
        e = br_fail(c, BOOTREF_E_NO_TRUSTED_KEY, BR_STR("no trust anchor for this algorithm/kid"));
    } else if (unsupported == tried) {
        e = br_fail(c, BOOTREF_E_UNSUPPORTED_ALG, BR_STR("port cannot verify this algorithm"));
    } else {
        e = br_fail(c, BOOTREF_E_SIGNATURE_INVALID,
                    BR_STR(b.is_mac ? "MAC does not verify with any trusted key"
                                    : "signature does not verify with any trusted key"));
        /* a block that names a trusted key and does not verify: tampering */
        if (b.h.kid != NULL)
            return e;
    }
ignored:
    if (BLOCK_RANK(e) > BLOCK_RANK(*best))
        *best = e;
    br_report(c, BR_STR("authentication"), c->detail, -1, (int32_t)b.h.alg, BOOTREF_EV_FAILED);
    return BOOTREF_E_NO_TRUSTED_KEY;
}



/* ------------------------------------------------------------------------ */
/* Manifest                                                                 */

/* Severable members: payload-fetch, install, text, and with update management
 * suit-coswid (key 14, draft-ietf-suit-update-management section 3.2), which is
 * checked against its digest like text and never interpreted. */
#if BOOTREF_WITH_UM
#define BR_N_SEVERED 4u
#define SUIT_M_COSWID 14
#define SEV_KEY(i) ((i) == 0 ? 16 : (i) == 1 ? 20 : (i) == 2 ? 23 : 14)
#else
#define BR_N_SEVERED 3u
#define SEV_KEY(i) ((i) == 0 ? 16 : (i) == 1 ? 20 : 23)
#endif

static int severed_index(int64_t key)
{
#if BOOTREF_WITH_UM
    if (key == SUIT_M_COSWID)
        return 3;
#endif
    return key == SUIT_M_PAYLOAD_FETCH ? 0 : key == SUIT_M_INSTALL ? 1 : key == SUIT_M_TEXT ? 2 : -1;
}

/* suit-common, decoded in one pass (see checked() below). */
static bootref_err_t common_fields(bootref_ctx_t *c, cbor_dec_t *d)
{
    size_t n, i, nc = 0, j, m;
    int64_t key;
    unsigned seen = 0;
    bootref_span_t v;
    bootref_err_t e;

    if ((e = cbor_map(d, &n)) != BOOTREF_OK)
        return e;
    for (i = 0; i < n; i++) {
        if ((e = cbor_int(d, &key)) != BOOTREF_OK)
            return e == BOOTREF_E_TYPE ? BOOTREF_E_UNKNOWN_KEY : e;
        if (key == SUIT_C_COMPONENTS) {
            /* suit-components = [+ SUIT_Component_Identifier], each [* bstr] */
            if ((e = cbor_array(d, &nc)) != BOOTREF_OK)
                return e;
            if (nc == 0u)
                return BOOTREF_E_STRUCTURE;
            if (nc > BOOTREF_MAX_COMPONENTS)
                return BOOTREF_E_LIMIT_COUNT;
            for (j = 0; j < nc; j++) {
                size_t k;
                if ((e = cbor_array(d, &m)) != BOOTREF_OK)
                    return e;
                for (k = 0; k < m; k++)
                    if ((e = cbor_bstr(d, &v, NULL)) != BOOTREF_OK)
                        return e;
            }
        } else if (key == SUIT_C_SHARED) {
            if ((e = cbor_bstr(d, &c->shared, NULL)) != BOOTREF_OK)
                return e;
        } else {
            /* includes common key 1 (dependencies), moved to trust-domains */
            return BOOTREF_E_UNKNOWN_KEY;
        }
        /* canonical order (2 before 4); a repeat is the walk's to name */
        if (seen >= (1u << (unsigned)key))
            return BOOTREF_E_CBOR_ORDER;
        seen |= 1u << (unsigned)key;
    }
    if (nc == 0u)
        return BOOTREF_E_MISSING_MEMBER;
    c->n_components = (uint8_t)nc;
    return BOOTREF_OK;
}

/* One pass instead of cbor_wellformed() followed by the typed decoder, with
 * the same result. The typed decoders read every byte of their item with the
 * strict head reader and refuse every repeated key (their keys are integers
 * from a small known set; for any other key they set `walk`), so when one
 * succeeds, has no `walk` and stopped at the end of its bytes, the bytes are
 * well-formed. Otherwise the walk decides which error stands: a CBOR error
 * wins over the decoder's own, exactly as when the walk ran first. */
static BR_NOINLINE bootref_err_t checked(bootref_ctx_t *c, const cbor_dec_t *d, bootref_err_t e, int walk,
                                         const char *detail)
{
    bootref_err_t w;
    if (e == BOOTREF_OK && !walk && d->pos == d->len)
        return e;
    if ((w = cbor_wellformed(d->buf, d->len)) != BOOTREF_OK)
        return br_fail(c, w, detail);
    return e;
}

/* The manifest's members, decoded in one pass (checked() above). */
static bootref_err_t manifest_fields(bootref_ctx_t *c, cbor_dec_t *d, const uint8_t *sev_digest[BR_N_SEVERED],
                                     bootref_span_t *common)
{
    cbor_item_t it;
    size_t n, i;
    int64_t key;
    uint64_t u;
    unsigned seen = 0;
    bootref_err_t e;

    if ((e = cbor_map(d, &n)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("manifest must be a map"));
    for (i = 0; i < n; i++) {
        if ((e = cbor_int(d, &key)) != BOOTREF_OK)
            return br_fail(c, e == BOOTREF_E_TYPE ? BOOTREF_E_UNKNOWN_KEY : e,
                           BR_STR("manifest key"));
        switch (key) {
        case SUIT_M_VERSION:
            if ((e = cbor_uint(d, &u)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("manifest-version"));
            if (u != 1u) /* draft-34 section 8.4.1: only version 1 exists */
                return br_fail(c, BOOTREF_E_VERSION, BR_STR("manifest-version must be 1"));
            break;
        case SUIT_M_SEQUENCE:
            if ((e = cbor_uint(d, &c->sequence_number)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("manifest-sequence-number"));
            break;
        case SUIT_M_COMMON:
            if ((e = cbor_bstr(d, common, NULL)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("common"));
            break;
        case SUIT_M_REF_URI:
            if ((e = cbor_expect(d, CBOR_TSTR, &it)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("reference-uri"));
            break;
        case SUIT_M_VALIDATE:
        case SUIT_M_LOAD:
        case SUIT_M_INVOKE:
            /* keys 7, 8, 9: bootref_run() order 2, 3, 4 */
            if ((e = cbor_bstr(d, &c->seq[key - 5], NULL)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("command sequence must be a bstr"));
            break;
        case SUIT_M_PAYLOAD_FETCH:
        case SUIT_M_INSTALL:
#if BOOTREF_WITH_UM
        case SUIT_M_COSWID:
#endif
        case SUIT_M_TEXT: {
            /* Severable members (draft-34 section 8.4.5): either the member
             * itself (bstr) or the SUIT_Digest of its bstr-wrapped form. */
            int si = severed_index(key);
            size_t save = d->pos;
            if ((e = cbor_head(d, &it)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("severable member"));
            if (it.major == CBOR_BSTR) {
                /* payload-fetch, install: bootref_run() order 0, 1; inline
                 * text is not interpreted on the device */
                if (si < 2) {
                    c->seq[si].p = it.str;
                    c->seq[si].n = (size_t)it.val;
                }
            } else if (it.major == CBOR_ARRAY) {
                d->pos = save;
                if ((e = br_parse_digest(d, &sev_digest[si])) != BOOTREF_OK)
                    return br_fail(c, e, BR_STR("severable member digest"));
                c->severed_digest |= (uint8_t)(1u << si);
            } else {
                return br_fail(c, BOOTREF_E_TYPE, BR_STR("severable member"));
            }
            break;
        }
#if BOOTREF_WITH_UM
        case 6: /* suit-set-version: bstr .cbor [+ int], checked after common (section 14.5) */
            if ((e = cbor_bstr(d, &c->set_version, NULL)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("set-version"));
            break;
#endif
        default:
            /* Unknown keys are refused (fail closed): they include extension
             * members (trust domains, update management) this verifier does
             * not implement and whose meaning it cannot honour. */
            return br_fail(c, BOOTREF_E_UNKNOWN_KEY, BR_STR("unknown manifest key"));
        }
        /* keys in canonical order (all known ones are below 24: numeric order
         * is encoding order); a repeat is the walk's to name (checked()) */
        if (seen >= (1u << (unsigned)key))
            return BOOTREF_E_CBOR_ORDER;
        seen |= 1u << (unsigned)key;
    }
    if ((seen & 0xeu) != 0xeu) /* keys 1, 2 and 3 */
        return br_fail(c, BOOTREF_E_MISSING_MEMBER,
                       BR_STR("manifest needs version, sequence number and common"));
    return BOOTREF_OK;
}

static BR_NOINLINE bootref_err_t parse_manifest(bootref_ctx_t *c, const uint8_t *sev_digest[BR_N_SEVERED])
{
    bootref_span_t common = {NULL, 0};
    cbor_dec_t d;
    bootref_err_t e;

#if BOOTREF_WITH_UM
    c->set_version.p = NULL;
#endif
    cbor_init(&d, c->manifest.p, c->manifest.n);
    e = manifest_fields(c, &d, sev_digest, &common);
    if ((e = checked(c, &d, e, 0, BR_STR("manifest"))) != BOOTREF_OK)
        return e;
    cbor_init(&d, common.p, common.n);
    e = common_fields(c, &d);
    if ((e = checked(c, &d, e, 0, BR_STR("common"))) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("common"));
#if BOOTREF_WITH_UM
    if (c->set_version.p != NULL) {
        /* [+ int], at most BOOTREF_MAX_VERSION_PARTS (processing model section 14.5) */
        size_t k, j;
        int64_t x;
        if ((e = cbor_wellformed(c->set_version.p, c->set_version.n)) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("set-version"));
        cbor_init(&d, c->set_version.p, c->set_version.n);
        if ((e = cbor_array(&d, &k)) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("set-version must be [+ int]"));
        if (k == 0u)
            return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("set-version must be [+ int]"));
        if (k > BOOTREF_MAX_VERSION_PARTS)
            return br_fail(c, BOOTREF_E_LIMIT_COUNT, BR_STR("set-version has too many integers"));
        for (j = 0; j < k; j++)
            if ((e = cbor_int(&d, &x)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("set-version integer"));
    }
#endif
    return BOOTREF_OK;
}

/* The envelope map's members, decoded in one pass (checked()): every key and
 * value is read by the strict head reader, a repeated integer key is refused
 * here, and a text key (whose repetition only the walk compares) sets *walk. */
static bootref_err_t envelope_fields(bootref_ctx_t *c, cbor_dec_t *d, bootref_span_t *auth,
                                     bootref_span_t *man_w, bootref_span_t sev_w[BR_N_SEVERED], int *walk)
{
    cbor_item_t it;
    size_t n, i;
    int64_t key;
    unsigned seen = 0;
    bootref_span_t blk;
    bootref_err_t e;

    /* envelope map; tag 107 is optional (both forms occur, REFERENCE.md s1) */
    if ((e = cbor_head(d, &it)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("envelope"));
    if (it.major == CBOR_TAG) {
        if (it.val != SUIT_TAG_ENVELOPE)
            return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("envelope tag must be 107"));
    } else {
        d->pos = 0;
    }
    if ((e = cbor_map(d, &n)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("envelope must be a map"));
    for (i = 0; i < n; i++) {
        if ((e = cbor_head(d, &it)) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("envelope key"));
        if (it.major == CBOR_TSTR) {
            /* integrated payload ("#name" => bstr): must be a bstr; text keys
             * sort after every integer key and among themselves, which the
             * walk checks (*walk) */
            if ((e = cbor_bstr(d, &blk, NULL)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("integrated payload"));
            *walk = 1;
            continue;
        }
        if (it.major != CBOR_UINT) /* negative keys are unknown too */
            return br_fail(c, it.major == CBOR_NINT ? BOOTREF_E_UNKNOWN_KEY : BOOTREF_E_TYPE,
                           BR_STR("envelope key"));
        key = it.val > 0xffffu ? -1 : (int64_t)it.val;
        /* draft-34 section 8.1 puts the authentication wrapper first (only the
         * delegation chain of trust domains, key 1, may precede it): canonical
         * key order (below) and the required keys 2 and 3 give exactly that. */
        if (key == SUIT_ENV_AUTH) {
            e = cbor_bstr(d, auth, NULL);
        } else if (key == SUIT_ENV_MANIFEST) {
            e = cbor_bstr(d, &c->manifest, man_w);
        } else if (severed_index(key) >= 0) {
            int si = severed_index(key);
            /* payload-fetch and install go where bootref_run() finds them, but
             * only a manifest digest that matches makes them usable */
            e = cbor_bstr(d, si < 2 ? &c->seq[si] : &blk, &sev_w[si]);
        } else if (key == SUIT_ENV_DELEGATION) {
            /* bstr .cbor [+ [+ bstr .cbor CWT]], checked by the port's delegation
             * module once the manifest digest matched */
            e = cbor_bstr(d, &c->deleg, NULL);
        } else {
            return br_fail(c, BOOTREF_E_UNKNOWN_KEY, BR_STR("unknown envelope key"));
        }
        if (e != BOOTREF_OK)
            return br_fail(c, e, BR_STR("envelope member must be a bstr"));
        /* keys in canonical order (all known ones are below 24: one byte, so
         * numeric order is encoding order); a repeat is the walk's to name */
        if (seen >= (1u << (unsigned)key))
            return BOOTREF_E_CBOR_ORDER;
        seen |= 1u << (unsigned)key;
    }
    if ((seen & 0xcu) != 0xcu) /* keys 2 and 3 */
        return br_fail(c, BOOTREF_E_MISSING_MEMBER,
                       BR_STR("envelope needs authentication-wrapper and manifest"));
    return BOOTREF_OK;
}

/* ------------------------------------------------------------------------ */

void bootref_set_reporter(bootref_ctx_t *ctx, bootref_report_fn fn, void *user)
{
    if (ctx != NULL) {
        ctx->report = fn;
        ctx->report_user = user;
    }
}

bootref_err_t bootref_verify_envelope(bootref_ctx_t *c, const bootref_port_t *port,
                                      const uint8_t *env, size_t len, uint32_t flags)
{
    cbor_dec_t d;
    size_t i, n_auth, blocks_at;
    int walk = 0;
    bootref_span_t auth = {NULL, 0}, man_w = {NULL, 0}, dig, dig_w, blk;
    bootref_span_t sev_w[BR_N_SEVERED];
#if BOOTREF_WITH_UM
    const uint8_t *sev_digest[BR_N_SEVERED] = {NULL, NULL, NULL, NULL};
#else
    const uint8_t *sev_digest[BR_N_SEVERED] = {NULL, NULL, NULL};
#endif
    const uint8_t *want;
    uint8_t got[32];
    uint64_t counter;
    bootref_err_t e, best = BOOTREF_E_NO_TRUSTED_KEY;
    int ok = 0;
#if BOOTREF_REQUIRE_ALGS
    uint8_t required = 0;
#endif
    bootref_report_fn rf;
    void *ru;

    if (c == NULL)
        return BOOTREF_E_USAGE;
    rf = c->report;
    ru = c->report_user;
    /* Cleared up to the parameter tables (bootref_run() clears those before
     * each sequence) and from the diagnostics to the buffers (always written
     * before they are read): most of the context needs no clearing. */
    memset(c, 0, offsetof(bootref_ctx_t, comp));
    memset(&c->detail, 0, offsetof(bootref_ctx_t, tbs) - offsetof(bootref_ctx_t, detail));
    memset(sev_w, 0, sizeof sev_w);
    c->report = rf;
    c->report_user = ru;
    c->port = port;
    c->flags = flags;
    c->err_component = -1;
    c->err_command = -1;
    if (port == NULL || env == NULL || port->sha256_init == NULL || port->sha256_update == NULL ||
        port->sha256_final == NULL || port->sig_verify == NULL || port->read_image == NULL ||
        port->counter_read == NULL || port->identity == NULL ||
        (port->keys == NULL && port->n_keys != 0u)
#if BOOTREF_REQUIRE_ALGS
        || port->n_require_algs > 8u || (port->require_algs == NULL && port->n_require_algs != 0u)
#endif
        )
        return br_fail(c, BOOTREF_E_USAGE, BR_STR("incomplete port or NULL envelope"));
    c->keys = port->keys;
    c->n_keys = port->n_keys;

    /* 1. strict CBOR over the whole envelope and 2. the envelope map, in one
     * pass (checked(): a CBOR error wins, as when the walk came first) */
    if (len > BOOTREF_MAX_ENVELOPE_SIZE)
        return br_fail(c, BOOTREF_E_LIMIT_SIZE, BR_STR("envelope larger than BOOTREF_MAX_ENVELOPE_SIZE"));
    cbor_init(&d, env, len);
    e = envelope_fields(c, &d, &auth, &man_w, sev_w, &walk);
    if ((e = checked(c, &d, e, walk, BR_STR("envelope"))) != BOOTREF_OK)
        return e;

    /* authentication wrapper = bstr .cbor [bstr .cbor SUIT_Digest, * bstr .cbor block],
     * in one pass too: the blocks are only skipped here (each must be a bstr
     * for the bytes to be known well-formed without the walk; what a block
     * holds, and a block that is not a bstr, is found out in step 4) */
    cbor_init(&d, auth.p, auth.n);
    walk = 0;
    if ((e = cbor_array(&d, &n_auth)) != BOOTREF_OK)
        e = br_fail(c, e, BR_STR("authentication-wrapper must be an array"));
    else if (n_auth == 0u)
        e = br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("authentication-wrapper is empty"));
    else if (n_auth - 1u > BOOTREF_MAX_AUTH_BLOCKS)
        e = br_fail(c, BOOTREF_E_LIMIT_COUNT, BR_STR("too many authentication blocks"));
    else if ((e = cbor_bstr(&d, &dig, &dig_w)) != BOOTREF_OK)
        e = br_fail(c, e, BR_STR("authentication-wrapper digest must be a bstr"));
    blocks_at = d.pos;
    for (i = 1; e == BOOTREF_OK && i < n_auth; i++)
        if (cbor_bstr(&d, &blk, NULL) != BOOTREF_OK) {
            walk = 1; /* not a bstr, or not well-formed: the walk tells */
            break;
        }
    if ((e = checked(c, &d, e, walk, BR_STR("authentication-wrapper"))) != BOOTREF_OK)
        return e;
    d.pos = blocks_at;
    {
        /* [int, bstr] read item by item with the strict reader, then nothing
         * after it: only well-formed bytes pass (checked()) */
        cbor_dec_t dd;
        cbor_init(&dd, dig.p, dig.n);
        e = br_parse_digest(&dd, &want);
        if ((e = checked(c, &dd, e, 0, BR_STR("manifest SUIT_Digest"))) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("manifest SUIT_Digest"));
    }

    /* 3. manifest digest over the bstr-wrapped manifest, header included,
     * before any signature work (draft-34 section 8.3). */
    if ((e = br_sha256(c, man_w.p, man_w.n, got)) != BOOTREF_OK)
        return e;
    if (!br_digest_equal(got, want))
        return br_fail(c, BOOTREF_E_DIGEST_MISMATCH,
                       BR_STR("SHA-256 of the manifest differs from the authentication wrapper's digest"));
    br_report(c, BR_STR("manifest-digest"), BR_STR("SHA-256 matches"), -1, 0, BOOTREF_EV_OK);

    /* Trust-domains delegation (bootref_delegation.h), reached through the
     * port so that a device without it does not link it (and refuses member 1
     * as unknown): keys the anchors vouch for join the candidates. */
    if (c->deleg.p != NULL) {
        if (port->deleg == NULL)
            return br_fail(c, BOOTREF_E_UNKNOWN_KEY, BR_STR("unknown envelope key (delegation not supported)"));
        if ((e = port->deleg->check(c, c->deleg.p, c->deleg.n)) != BOOTREF_OK)
            return e;
    }

    /* 4. authentication blocks (processing model section 5): every block is
     * examined; at least one must verify with a trust anchor (or, with a
     * delegation, a key it vouches for, whose scope bootref_run() checks).
     * Blocks without a usable key are ignored (other signers, migration). */
    if (n_auth == 1u)
        return br_fail(c, BOOTREF_E_NO_TRUSTED_KEY,
                       BR_STR("no authentication block: the envelope is not signed"));
    for (i = 1; i < n_auth; i++) {
        if ((e = cbor_bstr(&d, &blk, NULL)) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("authentication block must be a bstr"));
        e = verify_block(c, &blk, &dig_w, &best);
        if (e == BOOTREF_OK) {
#if BOOTREF_REQUIRE_ALGS
            size_t j;
            for (j = 0; j < port->n_require_algs; j++)
                if (port->require_algs[j] == c->verified_alg)
                    required |= (uint8_t)(1u << j);
#endif
            ok = 1;
        } else if (e != BOOTREF_E_NO_TRUSTED_KEY) {
            return e;
        }
    }
#if BOOTREF_REQUIRE_ALGS
    /* the "all of these algorithms" rule (processing model section 5): a hybrid
     * device needs its classical and its post-quantum signature, not either */
    if (ok && required != (uint8_t)((1u << port->n_require_algs) - 1u))
        return br_fail(c, BOOTREF_E_NO_TRUSTED_KEY,
                       BR_STR("an algorithm the device requires has no verified authentication block"));
#endif
    if (!ok) {
        const char *why = best == BOOTREF_E_SIGNATURE_INVALID
            ? BR_STR("no authentication block verifies with a trusted key")
            : best == BOOTREF_E_UNSUPPORTED_ALG
            ? BR_STR("no authentication block uses a supported algorithm")
            : BR_STR("no authentication block matches a trusted key");
        return br_fail(c, best, why);
    }
    c->detail = NULL;

    /* 5. the manifest itself, now authenticated */
    if ((e = parse_manifest(c, sev_digest)) != BOOTREF_OK)
        return e;

    /* Anti-rollback (RFC 9124 section 4.2.1 THREAT.UPD.ROLLBACK,
     * REQ.SEC.SEQUENCE): the sequence number must not be lower than the
     * device's monotonic counter. Equal is accepted so that the installed
     * manifest can be re-verified at every boot. */
    if (port->counter_read(port->ctx, &counter) != BOOTREF_PORT_OK)
        return br_fail(c, BOOTREF_E_PORT, BR_STR("monotonic counter unreadable"));
    if (c->sequence_number < counter)
        return br_fail(c, BOOTREF_E_ROLLBACK,
                       BR_STR("manifest sequence number is lower than the device's counter"));
    br_report(c, BR_STR("sequence-number"), BR_STR("not lower than the device counter"), -1,
              (int32_t)(c->sequence_number > 0x7fffffffu ? 0x7fffffff : (int32_t)c->sequence_number),
              BOOTREF_EV_OK);

    /* Severed members (draft-34 section 8.4.5): present ones must match the
     * digest the manifest holds; absent ones are fine until executed. */
    for (i = 0; i < BR_N_SEVERED; i++) {
        if (sev_w[i].p == NULL) {
            if (c->severed_digest & (1u << i))
                br_report(c, BR_STR("severed-member"), BR_STR("absent (digest only)"), -1,
                          SEV_KEY(i), BOOTREF_EV_SKIPPED);
            continue;
        }
        if (!(c->severed_digest & (1u << i)))
            return br_fail(c, BOOTREF_E_SEVERED_DIGEST,
                           BR_STR("severed member present but the manifest holds no digest for it"));
        if ((e = br_sha256(c, sev_w[i].p, sev_w[i].n, got)) != BOOTREF_OK)
            return e;
        if (!br_digest_equal(got, sev_digest[i]))
            return br_fail(c, BOOTREF_E_SEVERED_DIGEST,
                           BR_STR("severed member does not match its digest in the manifest"));
        br_report(c, BR_STR("severed-member"), BR_STR("digest matches"), -1,
                  SEV_KEY(i), BOOTREF_EV_OK);
    }
    /* R0 (processing model section 6): suit-validate is REQUIRED (draft-34
     * section 8.4.6); a delegated key's scope is checked as bootref_run()
     * makes the identity conditions */
    if (c->seq[2].p == NULL)
        return br_fail(c, BOOTREF_E_MISSING_CHECK, BR_STR("manifest has no validate sequence"));
    c->verified = 1;
    return BOOTREF_OK;
}
