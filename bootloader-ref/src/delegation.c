/*
 * delegation.c - delegated signing keys (draft-ietf-suit-trust-domains, SUIT
 * envelope member 1), the device-side twin of fwsign/delegation.py. The rules
 * and the CWT layout are in include/bootref_delegation.h.
 *
 * A separate object: the core calls it only through bootref_port_t.deleg, so a
 * device that does not accept delegations does not link it. No heap; every
 * loop is bounded by the size of its input or by a limit of bootref_config.h.
 */
#include <string.h>

#include "internal.h"
#include "bootref_delegation.h"

enum {
    CWT_ISS = 1, CWT_SUB = 2, CWT_EXP = 4, CWT_NBF = 5, CWT_IAT = 6, CWT_CNF = 8,
    /* the private-use scope claim -65537 is CBOR major type 1 with argument 65536 */
    CWT_SCOPE_NINT = 65536,
    SCOPE_VENDOR = 1, SCOPE_CLASSES = 2,
    COSE_KEY_KTY = 1, KTY_OKP = 1, KTY_EC2 = 2, CRV_P256 = 1, CRV_ED25519 = 6
};

static bootref_err_t invalid(bootref_ctx_t *c, const char *why)
{
    return br_fail(c, BOOTREF_E_DELEG_INVALID, why);
}

/* A CBOR integer item compared with t: <0, 0, >0 as item <, ==, > t. Any
 * uint/nint fits (uint up to 2^64-1), so no NumericDate is refused for size. */
static int cmp_time(const cbor_item_t *it, int64_t t)
{
    if (it->major == CBOR_UINT) {
        if (t < 0)
            return 1;
        return it->val < (uint64_t)t ? -1 : it->val > (uint64_t)t ? 1 : 0;
    }
    /* nint: value -1 - val */
    if (t >= 0)
        return -1;
    {
        uint64_t mt = (uint64_t)(-(t + 1)); /* -1 - t, no overflow */
        return it->val > mt ? -1 : it->val < mt ? 1 : 0;
    }
}

/* One parsed CWT: spans into the envelope. */
typedef struct {
    bootref_span_t prot_w, payload_w, sig, kid, iss;
    int64_t alg;
    cbor_item_t exp, nbf;
    uint8_t has_nbf;
    uint8_t key_type;            /* BOOTREF_KEY_P256 / _ED25519 of the confirmed key */
    const uint8_t *x, *y;        /* confirmed key coordinates (32 bytes each; y only P-256) */
    const uint8_t *vendor;       /* scope: NULL = unrestricted */
    const uint8_t *classes;      /* first class bstr head; NULL = unrestricted */
    uint8_t n_classes;
} cwt_t;

/* The COSE_Key of the cnf claim. Members other than kty/crv/x/y (kid, alg...)
 * are ignored, as the Python verifier does. */
static int parse_cose_key(cbor_dec_t *d, cwt_t *w)
{
    size_t n, i;
    cbor_item_t v;
    int64_t kty = 0, crv = 0;

    if (cbor_map(d, &n) != BOOTREF_OK)
        return -1;
    w->x = w->y = NULL;
    for (i = 0; i < n; i++) {
        int64_t label;
        if (cbor_int(d, &label) != BOOTREF_OK)
            return -1; /* a label we could not compare cannot be one we need */
        if (label == COSE_KEY_KTY || label == -1) {
            if (cbor_int(d, label == COSE_KEY_KTY ? &kty : &crv) != BOOTREF_OK)
                return -1;
        } else if (label == -2 || label == -3) {
            if (cbor_expect(d, CBOR_BSTR, &v) != BOOTREF_OK || v.val != 32u)
                return -1;
            if (label == -2)
                w->x = v.str;
            else
                w->y = v.str;
        } else if (cbor_skip(d) != BOOTREF_OK) {
            return -1;
        }
    }
    if (kty == KTY_OKP && crv == CRV_ED25519 && w->x != NULL) {
        w->key_type = BOOTREF_KEY_ED25519;
        return 0;
    }
    /* P-384 (crv 2) delegates are accepted by fwsign but not by this verifier,
     * which implements no P-384 signature: refused here, fail closed. */
    if (kty == KTY_EC2 && crv == CRV_P256 && w->x != NULL && w->y != NULL) {
        w->key_type = BOOTREF_KEY_P256;
        return 0;
    }
    return -1;
}

/* scope claim: {? 1: bstr(16), ? 2: [1*64 bstr(16)]} */
static int parse_scope(cbor_dec_t *d, cwt_t *w)
{
    size_t n, i, m, j;
    uint64_t label;
    cbor_item_t v;

    if (cbor_map(d, &n) != BOOTREF_OK)
        return -1;
    for (i = 0; i < n; i++) {
        if (cbor_uint(d, &label) != BOOTREF_OK)
            return -1;
        if (label == SCOPE_VENDOR) {
            if (cbor_expect(d, CBOR_BSTR, &v) != BOOTREF_OK || v.val != 16u)
                return -1;
            w->vendor = v.str;
        } else if (label == SCOPE_CLASSES) {
            if (cbor_array(d, &m) != BOOTREF_OK || m == 0u || m > BOOTREF_DELEG_MAX_CLASSES)
                return -1;
            w->classes = d->buf + d->pos;
            w->n_classes = (uint8_t)m;
            for (j = 0; j < m; j++)
                if (cbor_expect(d, CBOR_BSTR, &v) != BOOTREF_OK || v.val != 16u)
                    return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Strict parse of one CWT (fwsign/delegation.py parse_cwt). */
static bootref_err_t parse_cwt(bootref_ctx_t *c, const bootref_span_t *raw, cwt_t *w)
{
    cbor_dec_t d, h;
    cbor_item_t it;
    size_t n, i;
    bootref_span_t prot, payload;
    unsigned seen = 0;

    memset(w, 0, sizeof *w);
    if (raw->n > BOOTREF_DELEG_MAX_CWT)
        return invalid(c, BR_STR("CWT larger than BOOTREF_DELEG_MAX_CWT"));
    if (cbor_wellformed(raw->p, raw->n) != BOOTREF_OK)
        return invalid(c, BR_STR("CWT is not strict CBOR"));
    cbor_init(&d, raw->p, raw->n);
    if (cbor_expect(&d, CBOR_TAG, &it) != BOOTREF_OK || it.val != COSE_TAG_SIGN1 ||
        cbor_array(&d, &n) != BOOTREF_OK || n != 4u)
        return invalid(c, BR_STR("a CWT here is a tagged COSE_Sign1"));
    if (cbor_bstr(&d, &prot, &w->prot_w) != BOOTREF_OK || cbor_map(&d, &n) != BOOTREF_OK || n != 0u ||
        cbor_bstr(&d, &payload, &w->payload_w) != BOOTREF_OK || cbor_bstr(&d, &w->sig, NULL) != BOOTREF_OK)
        return invalid(c, BR_STR("COSE_Sign1 members have the wrong types or a non-empty unprotected header"));

    /* protected header: exactly alg and kid */
    if (cbor_wellformed(prot.p, prot.n) != BOOTREF_OK)
        return invalid(c, BR_STR("CWT protected header"));
    cbor_init(&h, prot.p, prot.n);
    if (cbor_map(&h, &n) != BOOTREF_OK)
        return invalid(c, BR_STR("CWT protected header must be a map"));
    for (i = 0; i < n; i++) {
        uint64_t label;
        if (cbor_uint(&h, &label) != BOOTREF_OK)
            return invalid(c, BR_STR("the protected header may hold only alg and kid"));
        if (label == COSE_HDR_ALG) {
            if (cbor_int(&h, &w->alg) != BOOTREF_OK)
                return invalid(c, BR_STR("CWT alg"));
            seen |= 1u;
        } else if (label == COSE_HDR_KID) {
            if (cbor_bstr(&h, &w->kid, NULL) != BOOTREF_OK)
                return invalid(c, BR_STR("CWT kid"));
            seen |= 2u;
        } else {
            return invalid(c, BR_STR("the protected header may hold only alg and kid"));
        }
    }
    if (seen != 3u || (w->alg != COSE_ALG_ES256 && w->alg != COSE_ALG_ESP256 &&
                       w->alg != COSE_ALG_EDDSA && w->alg != COSE_ALG_ED25519))
        return invalid(c, BR_STR("the protected header needs a supported alg and the issuer's kid"));

    /* claims */
    seen = 0;
    if (cbor_wellformed(payload.p, payload.n) != BOOTREF_OK)
        return invalid(c, BR_STR("CWT claims are not strict CBOR"));
    cbor_init(&h, payload.p, payload.n);
    if (cbor_map(&h, &n) != BOOTREF_OK)
        return invalid(c, BR_STR("the claims are not a map"));
    for (i = 0; i < n; i++) {
        if (cbor_head(&h, &it) != BOOTREF_OK)
            return invalid(c, BR_STR("claim key"));
        if (it.major == CBOR_NINT && it.val == CWT_SCOPE_NINT) {
            if (parse_scope(&h, w) != 0)
                return invalid(c, BR_STR("malformed scope claim"));
            continue;
        }
        if (it.major != CBOR_UINT)
            return invalid(c, BR_STR("unknown claim"));
        switch (it.val) {
        case CWT_ISS:
            if (cbor_expect(&h, CBOR_TSTR, &it) != BOOTREF_OK)
                return invalid(c, BR_STR("iss claim must be text"));
            w->iss.p = it.str;
            w->iss.n = (size_t)it.val;
            seen |= 1u;
            break;
        case CWT_EXP:
        case CWT_NBF: {
            cbor_item_t *t = it.val == CWT_EXP ? &w->exp : &w->nbf;
            if (cbor_head(&h, t) != BOOTREF_OK || (t->major != CBOR_UINT && t->major != CBOR_NINT))
                return invalid(c, BR_STR("exp and nbf must be NumericDates (integers)"));
            if (t == &w->exp)
                seen |= 2u;
            else
                w->has_nbf = 1;
            break;
        }
        case CWT_CNF: {
            size_t m;
            uint64_t label;
            if (cbor_map(&h, &m) != BOOTREF_OK || m != 1u || cbor_uint(&h, &label) != BOOTREF_OK ||
                label != 1u || parse_cose_key(&h, w) != 0)
                return invalid(c, BR_STR("cnf claim must hold exactly a P-256 or Ed25519 COSE_Key"));
            seen |= 4u;
            break;
        }
        case CWT_SUB:
        case CWT_IAT:
            /* informative: not used for the decision (as fwsign) */
            if (cbor_skip(&h) != BOOTREF_OK)
                return invalid(c, BR_STR("claim"));
            break;
        default:
            return invalid(c, BR_STR("unknown claim"));
        }
    }
    if (seen != 7u)
        return invalid(c, BR_STR("iss, exp (delegations must expire) and cnf claims are required"));
    return BOOTREF_OK;
}

/* kid of a confirmed key: the first 8 bytes of its RFC 9679 COSE Key Thumbprint,
 * SHA-256 over the deterministic encoding of the required members. */
static bootref_err_t thumbprint_kid(bootref_ctx_t *c, const cwt_t *w, uint8_t kid[BOOTREF_DELEG_KID_BYTES],
                                    uint8_t *buf)
{
    uint8_t *h = buf + 80; /* buf: the state's tbs buffer, free once the CWT verified */
    size_t n;
    bootref_err_t e;

    if (w->key_type == BOOTREF_KEY_ED25519) {
        static const uint8_t head[7] = {0xa3, 0x01, 0x01, 0x20, 0x06, 0x21, 0x58};
        memcpy(buf, head, 7);
        n = 7;
    } else {
        static const uint8_t head[7] = {0xa4, 0x01, 0x02, 0x20, 0x01, 0x21, 0x58};
        memcpy(buf, head, 7);
        n = 7;
    }
    buf[n++] = 32;
    memcpy(buf + n, w->x, 32);
    n += 32;
    if (w->key_type == BOOTREF_KEY_P256) {
        buf[n++] = 0x22;
        buf[n++] = 0x58;
        buf[n++] = 32;
        memcpy(buf + n, w->y, 32);
        n += 32;
    }
    if ((e = br_sha256(c, buf, n, h)) != BOOTREF_OK)
        return e;
    memcpy(kid, h, BOOTREF_DELEG_KID_BYTES);
    return BOOTREF_OK;
}

/* iss must be the issuer's kid in lower-case hex. */
static int iss_matches(const bootref_span_t *iss, const uint8_t *kid, size_t kid_len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    if (iss->n != 2u * kid_len)
        return 0;
    for (i = 0; i < kid_len; i++)
        if (iss->p[2u * i] != (uint8_t)hex[kid[i] >> 4] || iss->p[2u * i + 1u] != (uint8_t)hex[kid[i] & 15u])
            return 0;
    return 1;
}

static uint8_t alg_key_type(int64_t alg)
{
    return (uint8_t)(alg == COSE_ALG_ES256 || alg == COSE_ALG_ESP256 ? BOOTREF_KEY_P256 : BOOTREF_KEY_ED25519);
}

/* Sig_structure ["Signature1", protected, h'', payload] from the received bytes. */
static size_t cwt_tbs(uint8_t *t, const cwt_t *w)
{
    size_t n = 0;
    t[n++] = 0x84u;
    memcpy(t + n, "\x6a" "Signature1", 11u);
    n += 11u;
    memcpy(t + n, w->prot_w.p, w->prot_w.n);
    n += w->prot_w.n;
    t[n++] = 0x40u;
    memcpy(t + n, w->payload_w.p, w->payload_w.n);
    return n + w->payload_w.n;
}

/* 1 if the 16 bytes at id are one of the n class bstrs starting at list. */
static int class_in(const uint8_t *id, const uint8_t *list, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (memcmp(list + 17u * i + 1u, id, 16u) == 0)
            return 1;
    return 0;
}

static bootref_err_t resolve(bootref_ctx_t *c, bootref_deleg_state_t *s, const uint8_t *member, size_t len)
{
    const bootref_port_t *port = c->port;
    cbor_dec_t d;
    cbor_item_t it;
    size_t n_chains, ci, n_links, li;
    int64_t now = 0;
    int have_time = -1; /* unknown until the first expiry check */
    bootref_err_t e;

    if (port->n_keys > BOOTREF_DELEG_MAX_ANCHORS)
        return br_fail(c, BOOTREF_E_LIMIT_COUNT, BR_STR("more trust anchors than BOOTREF_DELEG_MAX_ANCHORS"));
    if (port->n_keys != 0u)
        memcpy(s->key, port->keys, port->n_keys * sizeof s->key[0]);
    s->n = s->n_anchors = (uint8_t)port->n_keys;
    c->keys = s->key; /* from now on the blocks are checked with anchors + delegates */
    c->n_keys = s->n;
    /* the content of the bstr: exactly one strictly encoded item */
    if ((e = cbor_wellformed(member, len)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("the delegation member"));
    cbor_init(&d, member, len);
    if ((e = cbor_array(&d, &n_chains)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("the delegation member must be an array of chains"));
    if (n_chains == 0u || n_chains > BOOTREF_DELEG_MAX_CHAINS)
        return invalid(c, BR_STR("the delegation member must be an array of 1 to 4 chains"));
    for (ci = 0; ci < n_chains; ci++) {
        const bootref_key_t *issuer = NULL;
        const uint8_t *issuer_kid = NULL, *pvendor = NULL, *pclasses = NULL;
        size_t issuer_kid_len = 0;
        uint8_t pn_classes = 0;

        if (cbor_array(&d, &n_links) != BOOTREF_OK || n_links == 0u)
            return invalid(c, BR_STR("a delegation chain must be a non-empty array of CWTs"));
        if (n_links > BOOTREF_DELEG_MAX_CHAIN)
            return invalid(c, BR_STR("delegation chain longer than BOOTREF_DELEG_MAX_CHAIN"));
        for (li = 0; li < n_links; li++) {
            cwt_t w;
            bootref_span_t raw;
            size_t tn, k;
            int r = BOOTREF_PORT_FAIL;
            uint8_t slot = (uint8_t)(s->n - s->n_anchors);

            if (cbor_expect(&d, CBOR_BSTR, &it) != BOOTREF_OK)
                return invalid(c, BR_STR("a delegation must be a bstr-wrapped CWT"));
            raw.p = it.str;
            raw.n = (size_t)it.val;
            if ((e = parse_cwt(c, &raw, &w)) != BOOTREF_OK)
                return e;
            tn = cwt_tbs(s->tbs, &w);
            if (li == 0u) {
                /* the first link: a trust anchor of the algorithm's key type,
                 * selected by kid when the anchor has one */
                for (k = 0; k < port->n_keys; k++) {
                    const bootref_key_t *a = &port->keys[k];
                    if (a->type != alg_key_type(w.alg))
                        continue;
                    if (a->kid != NULL && (a->kid_len != w.kid.n || memcmp(a->kid, w.kid.p, w.kid.n) != 0))
                        continue;
                    if (!iss_matches(&w.iss, w.kid.p, w.kid.n))
                        return invalid(c, BR_STR("iss claim does not name the signing issuer"));
                    r = port->sig_verify(port->ctx, (int32_t)w.alg, a, s->tbs, tn, w.sig.p, w.sig.n);
                    if (r == BOOTREF_PORT_OK) {
                        issuer = a;
                        break;
                    }
                    if (r == BOOTREF_PORT_ERROR)
                        return br_fail(c, BOOTREF_E_PORT, BR_STR("signature verification failed in the port"));
                }
                if (issuer == NULL)
                    return invalid(c, BR_STR("the first delegation does not verify with a trust anchor"));
            } else {
                if (w.kid.n != issuer_kid_len || memcmp(w.kid.p, issuer_kid, issuer_kid_len) != 0)
                    return invalid(c, BR_STR("not issued by the key the previous link delegated"));
                if (!iss_matches(&w.iss, issuer_kid, issuer_kid_len))
                    return invalid(c, BR_STR("iss claim does not name the signing issuer"));
                if ((issuer->type & 0x7fu) == alg_key_type(w.alg))
                    r = port->sig_verify(port->ctx, (int32_t)w.alg, issuer, s->tbs, tn, w.sig.p, w.sig.n);
                if (r == BOOTREF_PORT_ERROR)
                    return br_fail(c, BOOTREF_E_PORT, BR_STR("signature verification failed in the port"));
                if (r != BOOTREF_PORT_OK)
                    return invalid(c, BR_STR("the delegation's signature does not verify with its issuer's key"));
            }

            /* validity period */
            if (have_time < 0 && (c->flags & BOOTREF_F_INSTALLED))
                have_time = 0; /* checked at install (bootref.h) */
            if (have_time < 0) {
                have_time = port->time_now != NULL && port->time_now(port->ctx, &now) == BOOTREF_PORT_OK;
                if (!have_time && !BOOTREF_DELEG_ALLOW_NO_TIME)
                    return br_fail(c, BOOTREF_E_DELEG_EXPIRED,
                                   BR_STR("no time source to check the delegation's validity"));
            }
            if (have_time) {
                if (cmp_time(&w.exp, now) <= 0)
                    return br_fail(c, BOOTREF_E_DELEG_EXPIRED, BR_STR("delegation expired"));
                if (w.has_nbf && cmp_time(&w.nbf, now) > 0)
                    return br_fail(c, BOOTREF_E_DELEG_EXPIRED, BR_STR("delegation not yet valid"));
            }

            /* a link may only narrow its issuer's scope */
            if (pvendor != NULL && (w.vendor == NULL || memcmp(w.vendor, pvendor, 16u) != 0))
                return br_fail(c, BOOTREF_E_DELEG_SCOPE, BR_STR("scope widens its issuer's vendor"));
            if (pclasses != NULL) {
                if (w.classes == NULL)
                    return br_fail(c, BOOTREF_E_DELEG_SCOPE, BR_STR("scope widens its issuer's classes"));
                for (k = 0; k < w.n_classes; k++)
                    if (!class_in(w.classes + 17u * k + 1u, pclasses, pn_classes))
                        return br_fail(c, BOOTREF_E_DELEG_SCOPE, BR_STR("scope widens its issuer's classes"));
            }

            /* the confirmed key joins the candidates */
            memcpy(s->raw[slot], w.x, 32u);
            if (w.key_type == BOOTREF_KEY_P256)
                memcpy(s->raw[slot] + 32, w.y, 32u);
            if ((e = thumbprint_kid(c, &w, s->kid[slot], s->tbs)) != BOOTREF_OK)
                return e;
            s->key[s->n].type = (uint8_t)(w.key_type | BOOTREF_KEY_RAW);
            s->key[s->n].kid = s->kid[slot];
            s->key[s->n].kid_len = BOOTREF_DELEG_KID_BYTES;
            s->key[s->n].handle = s->raw[slot];
            s->vendor[slot] = w.vendor;
            s->classes[slot] = w.classes;
            s->n_classes[slot] = w.n_classes;
            issuer = &s->key[s->n];
            c->n_keys = ++s->n;
            br_report(c, BR_STR("delegation"), BR_STR("verified back to a trust anchor"), -1,
                      (int32_t)li, BOOTREF_EV_OK);

            issuer_kid = s->kid[slot];
            issuer_kid_len = BOOTREF_DELEG_KID_BYTES;
            pvendor = w.vendor;
            pclasses = w.classes;
            pn_classes = w.n_classes;
        }
    }
    return BOOTREF_OK;
}

/* ------------------------------------------------------------------------ */
/* Scope of the keys that signed, against each vendor / class identifier     */
/* condition the interpreter makes (docs/processing-model.md section 9): the */
/* interpreter is the one sequence walker, so what is checked is exactly the */
/* path taken, whatever try-each options, soft failures or nil fall-backs it  */
/* went through.                                                              */

bootref_err_t bootref_delegation_scope(bootref_ctx_t *c, unsigned kind, const uint8_t *id, size_t len)
{
    const bootref_deleg_state_t *s = c->port->deleg->state;
    unsigned i, k;

    for (i = s->n_anchors; i < s->n && i < 32u; i++) {
        if (!(c->signers & ((uint32_t)1u << i)))
            continue;
        k = i - s->n_anchors;
        if (kind == 0u ? s->vendor[k] != NULL && (len != 16u || memcmp(id, s->vendor[k], 16u) != 0)
                       : s->classes[k] != NULL && (len != 16u || !class_in(id, s->classes[k], s->n_classes[k])))
            return br_fail(c, BOOTREF_E_DELEG_SCOPE,
                           BR_STR(kind == 0u ? "vendor identifier outside a signing delegate's scope"
                                             : "class identifier outside a signing delegate's scope"));
    }
    return BOOTREF_OK;
}

bootref_err_t bootref_delegation_check(bootref_ctx_t *c, const uint8_t *member, size_t len)
{
    return resolve(c, c->port->deleg->state, member, len);
}
