/*
 * report.c - SUIT reports (draft-ietf-suit-report) built, signed and emitted by
 * the boot flow. The format and its choices are in include/bootref_report.h and
 * docs/reports.md; fwsign/report.py decodes what this writes.
 */
#include <string.h>

#include "bootref_report.h"
#include "internal.h"

#if BOOTREF_REPORT

#include "report_table.h"

/* What this device processes (fwsign.report.DEVICE_CAPABILITIES says the same;
 * tests/bootref/test_report.py compares them). */
static const uint8_t caps_commands[] = {1, 2, 3, 5, 6, 12, 14, 15, 19, 20, 21, 23, 24, 32};
static const uint8_t caps_params[] = {1, 2, 3, 5, 12, 13, 14, 18, 19, 21, 22, 24};
/* COSE algorithms as encoded CBOR ints: -19, -16 (SHA-256), -9, -8, -7, 5 */
static const uint8_t caps_algs[] = {0x32, 0x2f, 0x28, 0x27, 0x26, 0x05};

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int over;
} wbuf_t;

static void put(wbuf_t *w, const uint8_t *d, size_t n)
{
    if (w->over || n > w->cap - w->n) {
        w->over = 1;
        return;
    }
    memcpy(w->p + w->n, d, n);
    w->n += n;
}

static void byte(wbuf_t *w, uint8_t b)
{
    put(w, &b, 1u);
}

/* A CBOR head in shortest form (arguments up to 32 bits are all a report needs). */
static void head(wbuf_t *w, uint8_t major, uint32_t v)
{
    uint8_t h[5];
    size_t n;
    h[0] = (uint8_t)(major << 5);
    if (v < 24u) {
        h[0] |= (uint8_t)v;
        n = 1;
    } else if (v <= 0xffu) {
        h[0] |= 24u;
        h[1] = (uint8_t)v;
        n = 2;
    } else if (v <= 0xffffu) {
        h[0] |= 25u;
        h[1] = (uint8_t)(v >> 8);
        h[2] = (uint8_t)v;
        n = 3;
    } else {
        h[0] |= 26u;
        h[1] = (uint8_t)(v >> 24);
        h[2] = (uint8_t)(v >> 16);
        h[3] = (uint8_t)(v >> 8);
        h[4] = (uint8_t)v;
        n = 5;
    }
    put(w, h, n);
}

static void cint(wbuf_t *w, int32_t v)
{
    if (v >= 0)
        head(w, CBOR_UINT, (uint32_t)v);
    else
        head(w, CBOR_NINT, (uint32_t)(-(v + 1)));
}

static void bytes(wbuf_t *w, uint8_t major, const uint8_t *d, size_t n)
{
    head(w, major, (uint32_t)n);
    put(w, d, n);
}

/* [[], section, offset, component, {}] */
static void record(wbuf_t *w, int32_t section, uint32_t offset, unsigned comp)
{
    byte(w, 0x85);
    byte(w, 0x80);
    cint(w, section);
    head(w, CBOR_UINT, offset);
    head(w, CBOR_UINT, comp);
    byte(w, 0xa0);
}

static void list(wbuf_t *w, const uint8_t *v, size_t n, int raw)
{
    size_t i;
    head(w, CBOR_ARRAY, (uint32_t)n);
    for (i = 0; i < n; i++) {
        if (raw)
            byte(w, v[i]);
        else
            head(w, CBOR_UINT, v[i]);
    }
}

/* The interpreter's record hook: a record where the command's reporting policy
 * asks for one (bit 0 on success, bit 1 on failure). */
static void hook(void *user, int32_t label, unsigned comp, uint32_t policy, bootref_err_t e)
{
    bootref_report_t *r = user;
    bootref_report_rec_t *rec;
    (void)label;
    if (!((e == BOOTREF_OK && (policy & 1u)) || (e != BOOTREF_OK && (policy & 2u))) || r->ctx == NULL)
        return;
    if (r->n_rec >= BOOTREF_REPORT_MAX_RECORDS)
        return; /* the first ones are kept; the result still names a failure */
    rec = &r->rec[r->n_rec++];
    rec->section = r->ctx->rep_section;
    rec->offset = r->ctx->rep_offset;
    rec->component = (uint8_t)comp;
}

void bootref_report_begin(bootref_report_t *r)
{
    r->n_rec = 0;
    r->ctx = NULL;
}

void bootref_report_attach(bootref_report_t *r, bootref_ctx_t *c)
{
    r->ctx = c;
    c->record = hook;
    c->record_user = r;
}

bootref_err_t bootref_report_set_nonce(bootref_report_t *r, const uint8_t *nonce, size_t len)
{
    if (len > sizeof r->nonce)
        return BOOTREF_E_LIMIT_SIZE;
    if (len > 0u)
        memcpy(r->nonce, nonce, len);
    r->nonce_len = (uint8_t)len;
    return BOOTREF_OK;
}

static bootref_err_t sha256(const bootref_port_t *p, const uint8_t *d, size_t n, uint8_t out[32])
{
    if (p->sha256_init(p->ctx) != BOOTREF_PORT_OK || p->sha256_update(p->ctx, d, n) != BOOTREF_PORT_OK ||
        p->sha256_final(p->ctx, out) != BOOTREF_PORT_OK)
        return BOOTREF_E_PORT;
    return BOOTREF_OK;
}

/* The manifest's suit-reference-uri (key 4), or an empty span. */
static bootref_span_t manifest_uri(const bootref_ctx_t *c)
{
    bootref_span_t none = {NULL, 0};
    cbor_dec_t d;
    cbor_item_t it;
    size_t n, i;
    int64_t key;
    cbor_init(&d, c->manifest.p, c->manifest.n);
    if (cbor_map(&d, &n) != BOOTREF_OK)
        return none;
    for (i = 0; i < n; i++) {
        if (cbor_int(&d, &key) != BOOTREF_OK)
            return none;
        if (key == SUIT_M_REF_URI) {
            bootref_span_t s;
            if (cbor_expect(&d, CBOR_TSTR, &it) != BOOTREF_OK)
                return none;
            s.p = it.str;
            s.n = (size_t)it.val;
            return s;
        }
        if (cbor_skip(&d) != BOOTREF_OK)
            return none;
    }
    return none;
}

/* The SUIT_Report map into w. */
static void payload(wbuf_t *w, const bootref_report_t *r, const bootref_ctx_t *c, int verified, int ran,
                    const bootref_span_t *uri, const uint8_t digest[32], bootref_err_t result, int pending)
{
    unsigned i, packed = (unsigned)result < sizeof report_of / sizeof report_of[0] ? report_of[result] : 0u;
    int caps = (r->port->capabilities != 0u) || result == BOOTREF_E_UNSUPPORTED_COMMAND ||
               result == BOOTREF_E_UNSUPPORTED_PARAMETER || result == BOOTREF_E_UNSUPPORTED_ALG;
    head(w, CBOR_MAP, 3u + (r->nonce_len > 0u) + (caps != 0));
    if (r->nonce_len > 0u) {
        byte(w, 0x02);
        bytes(w, CBOR_BSTR, r->nonce, r->nonce_len);
    }
    byte(w, 0x03);
    head(w, CBOR_ARRAY, r->n_rec);
    for (i = 0; i < r->n_rec; i++)
        record(w, r->rec[i].section, r->rec[i].offset, r->rec[i].component);
    byte(w, 0x04);
    if (result == BOOTREF_OK && !pending) {
        byte(w, 0xf5);
    } else {
        if (result == BOOTREF_OK)
            packed = 12u; /* code 0, suit-report-reason-invoke-pending */
        byte(w, 0xa3);
        byte(w, 0x05);
        head(w, CBOR_UINT, packed >> 4);
        byte(w, 0x06);
        if (verified && ran)
            record(w, c->rep_section, c->rep_offset, c->err_component < 0 ? 0u : (unsigned)c->err_component);
        else
            record(w, 0, 0u, 0u);
        byte(w, 0x07);
        head(w, CBOR_UINT, packed & 0xfu);
    }
    if (caps) {
        static const uint8_t any_component[] = {0x81, 0x81, 0xf5}; /* [[true]] */
        byte(w, 0x08);
        byte(w, 0xa4);
        byte(w, 0x01);
        put(w, any_component, sizeof any_component);
        byte(w, 0x02);
        list(w, caps_commands, sizeof caps_commands, 0);
        byte(w, 0x03);
        list(w, caps_params, sizeof caps_params, 0);
        byte(w, 0x04);
        list(w, caps_algs, sizeof caps_algs, 1);
    }
    byte(w, 0x18);
    byte(w, 99u); /* suit-reference */
    byte(w, 0x82);
    bytes(w, CBOR_TSTR, uri->p, uri->n);
    byte(w, 0x82);
    byte(w, 0x2f); /* -16: SHA-256 */
    bytes(w, CBOR_BSTR, digest, 32u);
}

bootref_err_t bootref_report_finish(bootref_report_t *r, const bootref_port_t *sha, const bootref_ctx_t *c,
                                    unsigned kind, int verified, int ran, const uint8_t *env,
                                    size_t env_len, bootref_err_t result, int pending, size_t *len)
{
    const bootref_report_port_t *p = r->port;
    uint8_t digest[32], prot[2u + 2u + 5u + 2u + 64u], tbs[1u + 11u + 3u + sizeof prot + 1u];
    bootref_span_t uri = {NULL, 0};
    wbuf_t w, ph, th;
    size_t hpos, plen, sl = 0;
    uint8_t tmp[3];
    wbuf_t hw;
    int mac;
    bootref_err_t e;

    r->ctx = NULL;
    if (len != NULL)
        *len = 0;
    if (p == NULL || p->sign == NULL || p->emit == NULL || p->kid_len > 64u)
        return BOOTREF_E_USAGE;
    mac = p->alg == COSE_ALG_HMAC256;
    if (verified && c->manifest.p != NULL) {
        /* the digest of the authentication wrapper: over the bstr-wrapped manifest, whose
         * head sits right before the content in the envelope */
        size_t hl = c->manifest.n < 24u ? 1u : c->manifest.n < 256u ? 2u : c->manifest.n < 65536u ? 3u : 5u;
        uri = manifest_uri(c);
        e = sha256(sha, c->manifest.p - hl, c->manifest.n + hl, digest);
    } else {
        e = sha256(sha, env, env != NULL ? env_len : 0u, digest);
    }
    if (e != BOOTREF_OK)
        return e;

    /* protected header {1: alg, 4: kid} */
    ph.p = prot;
    ph.n = 0;
    ph.cap = sizeof prot;
    ph.over = 0;
    head(&ph, CBOR_MAP, p->kid != NULL ? 2u : 1u);
    byte(&ph, 0x01);
    cint(&ph, p->alg);
    if (p->kid != NULL) {
        byte(&ph, 0x04);
        bytes(&ph, CBOR_BSTR, p->kid, p->kid_len);
    }

    /* COSE_Sign1 / COSE_Mac0: tag, [protected, {}, payload, signature] */
    w.p = r->out;
    w.n = 0;
    w.cap = sizeof r->out;
    w.over = 0;
    byte(&w, mac ? 0xd1 : 0xd2);
    byte(&w, 0x84);
    bytes(&w, CBOR_BSTR, prot, ph.n);
    byte(&w, 0xa0);
    hpos = w.n;
    put(&w, (const uint8_t *)"\0\0\0", 3u); /* room for the payload's bstr head */
    if (w.over)
        return BOOTREF_E_LIMIT_SIZE;
    payload(&w, r, c, verified, ran, &uri, digest, result, pending);
    if (w.over)
        return BOOTREF_E_LIMIT_SIZE;
    plen = w.n - hpos - 3u;
    hw.p = tmp;
    hw.n = 0;
    hw.cap = sizeof tmp;
    hw.over = 0;
    head(&hw, CBOR_BSTR, (uint32_t)plen);
    memmove(r->out + hpos + hw.n, r->out + hpos + 3u, plen);
    memcpy(r->out + hpos, tmp, hw.n);
    w.n = hpos + hw.n + plen;

    /* Sig_structure / MAC_structure = [context, protected, h'', payload]: the
     * head here, the bstr-wrapped payload straight from the message */
    th.p = tbs;
    th.n = 0;
    th.cap = sizeof tbs;
    th.over = 0;
    byte(&th, 0x84);
    if (mac)
        bytes(&th, CBOR_TSTR, (const uint8_t *)"MAC0", 4u);
    else
        bytes(&th, CBOR_TSTR, (const uint8_t *)"Signature1", 10u);
    bytes(&th, CBOR_BSTR, prot, ph.n);
    byte(&th, 0x40);
    if (th.over || w.n + 2u > w.cap)
        return BOOTREF_E_LIMIT_SIZE;
    if (p->sign(p->ctx, p->alg, tbs, th.n, r->out + hpos, hw.n + plen, r->out + w.n + 2u, w.cap - w.n - 2u,
                &sl) != BOOTREF_PORT_OK ||
        sl == 0u || sl > 255u || sl > w.cap - w.n - 2u)
        return BOOTREF_E_PORT;
    if (sl < 24u) {
        memmove(r->out + w.n + 1u, r->out + w.n + 2u, sl);
        r->out[w.n] = (uint8_t)(0x40u | sl);
        w.n += 1u + sl;
    } else {
        r->out[w.n] = 0x58;
        r->out[w.n + 1u] = (uint8_t)sl;
        w.n += 2u + sl;
    }
    if (p->emit(p->ctx, kind, r->out, w.n) != BOOTREF_PORT_OK)
        return BOOTREF_E_PORT;
    if (len != NULL)
        *len = w.n;
    return BOOTREF_OK;
}

#endif /* BOOTREF_REPORT */
