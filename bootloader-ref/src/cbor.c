/*
 * cbor.c - strict pull decoder for SUIT's CBOR subset (RFC 8949).
 *
 * Security notes:
 *  - Every length is compared with the bytes actually left before it is used.
 *  - Container counts are compared with the bytes left too (every item takes
 *    at least one byte), so counters cannot overflow and loops are bounded.
 *  - No recursion: skipping and the well-formedness walk use counters and a
 *    fixed-size explicit stack.
 */
#include <string.h>

#include "cbor.h"

void cbor_init(cbor_dec_t *d, const uint8_t *buf, size_t len)
{
    d->buf = buf;
    d->len = len;
    d->pos = 0;
}

bootref_err_t cbor_head(cbor_dec_t *d, cbor_item_t *it)
{
    size_t rem = d->len - d->pos;
    uint8_t ib, major, ai;
    uint64_t v;
    size_t hl, i;

    if (rem == 0)
        return BOOTREF_E_CBOR_TRUNCATED;
    ib = d->buf[d->pos];
    major = (uint8_t)(ib >> 5);
    ai = (uint8_t)(ib & 0x1fu);
    it->start = d->pos;
    it->str = NULL;

    if (ai < 24u) {
        v = ai;
        hl = 1;
        /* RFC 8949 s3.3: simple values 20..22 are false/true/null; 0..19 are
         * unassigned and 23 (undefined) has no meaning in SUIT. */
        if (major == CBOR_SIMPLE && (ai < CBOR_FALSE || ai > CBOR_NULL))
            return BOOTREF_E_CBOR_UNSUPPORTED;
    } else if (ai <= 27u) {
        size_t n = (size_t)1u << (ai - 24u);
        /* Minimum value that needs this head width (RFC 8949 s4.2.1,
         * preferred serialization: anything smaller is not shortest form). */
        static const uint64_t min_for_width[4] = {24u, 0x100u, 0x10000u, 0x100000000u};
        if (major == CBOR_SIMPLE) /* 1-byte simple values and floats */
            return BOOTREF_E_CBOR_UNSUPPORTED;
        if (rem - 1u < n)
            return BOOTREF_E_CBOR_TRUNCATED;
        v = 0;
        for (i = 0; i < n; i++)
            v = (v << 8) | d->buf[d->pos + 1u + i];
        if (v < min_for_width[ai - 24u])
            return BOOTREF_E_CBOR_NON_SHORTEST;
        hl = 1u + n;
    } else if (ai == 31u) {
        /* Indefinite-length strings/containers and "break" (RFC 8949 s3.2):
         * refused so that every item has one encoding and a known end. For
         * major types 0, 1 and 6 value 31 is not well-formed at all. */
        if (major == CBOR_UINT || major == CBOR_NINT || major == CBOR_TAG)
            return BOOTREF_E_CBOR_UNSUPPORTED;
        return BOOTREF_E_CBOR_INDEFINITE;
    } else {
        return BOOTREF_E_CBOR_UNSUPPORTED; /* 28..30 reserved */
    }

    d->pos += hl;
    if (major == CBOR_BSTR || major == CBOR_TSTR) {
        if (v > (uint64_t)(d->len - d->pos))
            return BOOTREF_E_CBOR_TRUNCATED;
        it->str = d->buf + d->pos;
        d->pos += (size_t)v;
    }
    it->major = major;
    it->val = v;
    return BOOTREF_OK;
}

bootref_err_t cbor_expect(cbor_dec_t *d, uint8_t major, cbor_item_t *it)
{
    bootref_err_t e = cbor_head(d, it);
    if (e != BOOTREF_OK)
        return e;
    return it->major == major ? BOOTREF_OK : BOOTREF_E_TYPE;
}

static bootref_err_t container(cbor_dec_t *d, uint8_t major, size_t *n)
{
    cbor_item_t it;
    bootref_err_t e = cbor_expect(d, major, &it);
    if (e != BOOTREF_OK)
        return e;
    /* Each entry needs at least one byte: a larger count cannot be real. */
    if (it.val > (uint64_t)(d->len - d->pos))
        return BOOTREF_E_CBOR_TRUNCATED;
    *n = (size_t)it.val;
    return BOOTREF_OK;
}

bootref_err_t cbor_array(cbor_dec_t *d, size_t *n)
{
    return container(d, CBOR_ARRAY, n);
}

bootref_err_t cbor_map(cbor_dec_t *d, size_t *n)
{
    return container(d, CBOR_MAP, n);
}

bootref_err_t cbor_bstr(cbor_dec_t *d, bootref_span_t *content, bootref_span_t *wrapped)
{
    cbor_item_t it;
    bootref_err_t e = cbor_expect(d, CBOR_BSTR, &it);
    if (e != BOOTREF_OK)
        return e;
    content->p = it.str;
    content->n = (size_t)it.val;
    if (wrapped != NULL) {
        wrapped->p = d->buf + it.start;
        wrapped->n = d->pos - it.start;
    }
    return BOOTREF_OK;
}

bootref_err_t cbor_uint(cbor_dec_t *d, uint64_t *v)
{
    cbor_item_t it;
    bootref_err_t e = cbor_expect(d, CBOR_UINT, &it);
    if (e == BOOTREF_OK)
        *v = it.val;
    return e;
}

bootref_err_t cbor_int(cbor_dec_t *d, int64_t *v)
{
    cbor_item_t it;
    bootref_err_t e = cbor_head(d, &it);
    if (e != BOOTREF_OK)
        return e;
    if (it.major != CBOR_UINT && it.major != CBOR_NINT)
        return BOOTREF_E_TYPE;
    if (it.val > (uint64_t)INT64_MAX)
        return BOOTREF_E_STRUCTURE; /* outside every SUIT/COSE code point */
    *v = it.major == CBOR_UINT ? (int64_t)it.val : -1 - (int64_t)it.val;
    return BOOTREF_OK;
}

bootref_err_t cbor_skip(cbor_dec_t *d)
{
    uint64_t left = 1;
    cbor_item_t it;
    bootref_err_t e;

    while (left > 0u) {
        left--;
        e = cbor_head(d, &it);
        if (e != BOOTREF_OK)
            return e;
        if (it.major == CBOR_ARRAY || it.major == CBOR_MAP || it.major == CBOR_TAG) {
            uint64_t add = it.major == CBOR_TAG ? 1u : it.val;
            if (add > (uint64_t)(d->len - d->pos))
                return BOOTREF_E_CBOR_TRUNCATED;
            if (it.major == CBOR_MAP)
                add *= 2u; /* cannot overflow: add <= buffer length */
            left += add;
            if (left > (uint64_t)(d->len - d->pos) + 1u)
                return BOOTREF_E_CBOR_TRUNCATED;
        }
    }
    return BOOTREF_OK;
}

/* Compare the key that occupies [ks, ke) with every earlier key of the map
 * whose first entry starts at map_start. The earlier entries were already
 * checked, so this walk cannot leave [map_start, ks). */
static bootref_err_t dup_check(const uint8_t *buf, size_t map_start, size_t ks, size_t ke)
{
    cbor_dec_t d;
    size_t k0;
    bootref_err_t e;

    cbor_init(&d, buf, ks);
    d.pos = map_start;
    while (d.pos < ks) {
        k0 = d.pos;
        if ((e = cbor_skip(&d)) != BOOTREF_OK)
            return e;
        if (d.pos - k0 == ke - ks && memcmp(buf + k0, buf + ks, ke - ks) == 0)
            return BOOTREF_E_CBOR_DUP_KEY;
        if ((e = cbor_skip(&d)) != BOOTREF_OK)
            return e;
    }
    return BOOTREF_OK;
}

bootref_err_t cbor_wellformed(const uint8_t *buf, size_t len)
{
    /* Explicit stack: entry 0 is a pseudo-container holding the one top-level
     * item; each open array/map/tag adds one entry. */
    struct {
        size_t left;      /* items still to read (maps: keys + values) */
        size_t map_start; /* offset of the map's first key */
        size_t key_start; /* offset of the key being read */
        uint8_t is_map;
    } st[BOOTREF_CBOR_MAX_DEPTH + 1u];
    size_t top = 0;
    cbor_dec_t d;
    cbor_item_t it;
    bootref_err_t e;

    cbor_init(&d, buf, len);
    st[0].left = 1;
    st[0].is_map = 0;
    st[0].map_start = st[0].key_start = 0;

    for (;;) {
        if (st[top].left == 0u) {
            if (top == 0u)
                break;
            top--;
            continue;
        }
        if (st[top].is_map) {
            if (st[top].left & 1u) {
                /* a value comes next, so the key just ended at d.pos */
                e = dup_check(buf, st[top].map_start, st[top].key_start, d.pos);
                if (e != BOOTREF_OK)
                    return e;
            } else {
                st[top].key_start = d.pos;
            }
        }
        st[top].left--;
        if ((e = cbor_head(&d, &it)) != BOOTREF_OK)
            return e;
        if (it.major == CBOR_ARRAY || it.major == CBOR_MAP || it.major == CBOR_TAG) {
            uint64_t n = it.major == CBOR_TAG ? 1u : it.val;
            if (n > (uint64_t)(d.len - d.pos))
                return BOOTREF_E_CBOR_TRUNCATED;
            if (it.major == CBOR_MAP) {
                if (n > BOOTREF_CBOR_MAX_MAP_ENTRIES)
                    return BOOTREF_E_LIMIT_COUNT;
                n *= 2u;
            }
            if (n == 0u)
                continue;
            if (top + 1u > BOOTREF_CBOR_MAX_DEPTH)
                return BOOTREF_E_LIMIT_DEPTH;
            top++;
            st[top].left = (size_t)n;
            st[top].is_map = it.major == CBOR_MAP;
            st[top].map_start = d.pos;
            st[top].key_start = d.pos;
        }
    }
    return d.pos == len ? BOOTREF_OK : BOOTREF_E_CBOR_TRAILING;
}
