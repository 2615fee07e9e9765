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
#include "internal.h"



/* A head whose additional information is 24..31 (the caller has checked
 * that a byte is left): 1, 2, 4 or 8 argument bytes in shortest form
 * (RFC 8949 s4.2.1, preferred serialization), or an error. Kept apart from
 * the one-byte heads, which are by far the most common. */
static BR_NOINLINE bootref_err_t head_long(cbor_dec_t *d, cbor_item_t *it)
{
    /* Minimum value that needs this head width (the 8-byte width: a
     * non-zero upper half): anything smaller is not shortest form. */
    static const uint32_t min_for_width[3] = {24u, 0x100u, 0x10000u};
    const uint8_t *p = d->buf + d->pos;
    uint8_t major = (uint8_t)(p[0] >> 5), ai = (uint8_t)(p[0] & 0x1fu);
    uint32_t hi = 0, lo = 0;
    size_t n, i;

    if (ai > 27u) {
        /* 31: indefinite-length strings/containers and "break" (RFC 8949
         * s3.2), refused so that every item has one encoding and a known end;
         * for major types 0, 1 and 6 it is not well-formed at all.
         * 28..30 are reserved. */
        if (ai == 31u && major != CBOR_UINT && major != CBOR_NINT && major != CBOR_TAG)
            return BOOTREF_E_CBOR_INDEFINITE;
        return BOOTREF_E_CBOR_UNSUPPORTED;
    }
    if (major == CBOR_SIMPLE) /* 1-byte simple values and floats */
        return BOOTREF_E_CBOR_UNSUPPORTED;
    n = (size_t)1u << (ai - 24u);
    if (d->len - d->pos - 1u < n)
        return BOOTREF_E_CBOR_TRUNCATED;
    for (i = 1; i <= n; i++) {
        hi = (hi << 8) | (lo >> 24);
        lo = (lo << 8) | p[i];
    }
    if (hi == 0u && (ai == 27u || lo < min_for_width[ai - 24u]))
        return BOOTREF_E_CBOR_NON_SHORTEST;
    it->start = d->pos;
    it->str = NULL;
    it->major = major;
    it->val = ((uint64_t)hi << 32) | lo;
    d->pos += 1u + n;
    if (major == CBOR_BSTR || major == CBOR_TSTR) {
        if (hi != 0u || lo > d->len - d->pos)
            return BOOTREF_E_CBOR_TRUNCATED;
        it->str = d->buf + d->pos;
        d->pos += lo;
    }
    return BOOTREF_OK;
}

/* RFC 8949 s3.3: simple values 20..22 are false/true/null; 0..19 are
 * unassigned and 23 (undefined) has no meaning in SUIT. */
#define BAD_SHORT_SIMPLE(major, ai) ((major) == CBOR_SIMPLE && (uint8_t)((ai) - CBOR_FALSE) > 2u)

bootref_err_t cbor_head(cbor_dec_t *d, cbor_item_t *it)
{
    size_t pos = d->pos, v;
    uint8_t major, ai;

    if (pos == d->len)
        return BOOTREF_E_CBOR_TRUNCATED;
    major = (uint8_t)(d->buf[pos] >> 5);
    ai = (uint8_t)(d->buf[pos] & 0x1fu);
    if (ai < 24u) {
        if (BAD_SHORT_SIMPLE(major, ai))
            return BOOTREF_E_CBOR_UNSUPPORTED;
        v = ai;
        pos++;
    } else if (ai == 24u && major != CBOR_SIMPLE && d->len - pos >= 2u && d->buf[pos + 1u] >= 24u) {
        v = d->buf[pos + 1u]; /* one argument byte, shortest form */
        pos += 2u;
    } else {
        return head_long(d, it); /* longer heads and every error */
    }
    it->start = d->pos;
    it->str = NULL;
    it->major = major;
    it->val = v;
    if (major == CBOR_BSTR || major == CBOR_TSTR) {
        if (v > d->len - pos)
            return BOOTREF_E_CBOR_TRUNCATED;
        it->str = d->buf + pos;
        pos += v;
    }
    d->pos = pos;
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
    bootref_err_t e = cbor_head(d, &it);
    if (e != BOOTREF_OK)
        return e;
    if (it.major != major)
        return BOOTREF_E_TYPE;
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
    bootref_err_t e = cbor_head(d, &it);
    if (e != BOOTREF_OK)
        return e;
    if (it.major != CBOR_BSTR)
        return BOOTREF_E_TYPE;
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
    bootref_err_t e;

    e = cbor_head(d, &it);
    if (e != BOOTREF_OK)
        return e;
    if (it.major != CBOR_UINT)
        return BOOTREF_E_TYPE;
    *v = it.val;
    return BOOTREF_OK;
}

bootref_err_t cbor_int(cbor_dec_t *d, int64_t *v)
{
    cbor_item_t it;
    bootref_err_t e;

    if (d->pos < d->len && d->buf[d->pos] < 24u) { /* 0..23: one byte, the common case */
        *v = d->buf[d->pos++];
        return BOOTREF_OK;
    }
    e = cbor_head(d, &it);
    if (e != BOOTREF_OK)
        return e;
    if (it.major != CBOR_UINT && it.major != CBOR_NINT)
        return BOOTREF_E_TYPE;
    if (it.val > (uint64_t)INT64_MAX)
        return BOOTREF_E_STRUCTURE; /* outside every SUIT/COSE code point */
    *v = it.major == CBOR_UINT ? (int64_t)it.val : -1 - (int64_t)it.val;
    return BOOTREF_OK;
}

/* Canonical map order (RFC 8949 s4.2.1, draft-34 s8.1): the key that
 * occupies [ks, ke) must sort after the map's previous key [ps, pe) in the
 * bytewise order of their encodings. One comparison with the previous key
 * also refuses every duplicate (a repeat is never greater than what precedes
 * it); an equal neighbour is reported as the duplicate it is. Two distinct
 * encoded items never have one as a prefix of the other. */
static BR_NOINLINE bootref_err_t order_check(const uint8_t *buf, size_t ps, size_t pe, size_t ks, size_t ke)
{
    size_t pn = pe - ps, kn = ke - ks;
    int r = memcmp(buf + ps, buf + ks, pn < kn ? pn : kn);
    if (r < 0 || (r == 0 && pn < kn))
        return BOOTREF_OK;
    return r == 0 && pn == kn ? BOOTREF_E_CBOR_DUP_KEY : BOOTREF_E_CBOR_ORDER;
}

/* End of the item at pos, in bytes the walk below has already checked: every
 * head is well-formed and every length and count fits, so no check is needed
 * here (and none of the walk's stack: no recursion through it). A length or
 * count fits the buffer, so an 8-byte argument has a zero upper half and
 * shifting it through a 32-bit size_t loses nothing. */
static BR_NOINLINE size_t end_of_checked(const uint8_t *buf, size_t pos)
{
    size_t left = 1, v, n;
    uint8_t ib;

    do {
        ib = buf[pos++];
        v = ib & 0x1fu;
        if (v >= 24u)
            for (n = (size_t)1u << (v - 24u), v = 0; n > 0u; n--)
                v = (v << 8) | buf[pos++];
        switch (ib >> 5) {
        case CBOR_BSTR: case CBOR_TSTR: pos += v; break;
        case CBOR_MAP: v *= 2u; /* fall through */
        case CBOR_ARRAY: left += v; break;
        case CBOR_TAG: left++; break;
        default: break;
        }
    } while (--left > 0u);
    return pos;
}

/* Compare the key that occupies [ks, ke) with every earlier key of the map
 * whose first entry starts at map_start (all of it already checked): the
 * duplicate check of the lax walk (cbor_wellformed_lax), which allows any order. */
static BR_NOINLINE bootref_err_t dup_check(const uint8_t *buf, size_t map_start, size_t ks, size_t ke)
{
    size_t k0 = map_start, k1;

    while (k0 < ks) {
        k1 = end_of_checked(buf, k0);
        if (k1 - k0 == ke - ks && memcmp(buf + k0, buf + ks, ke - ks) == 0)
            return BOOTREF_E_CBOR_DUP_KEY;
        k0 = end_of_checked(buf, k1); /* skip the value */
    }
    return BOOTREF_OK;
}

/* Walk the one item at the decoder's position and leave the decoder at its
 * end. Every head is read by cbor_head() (so checked exactly as the typed
 * readers check it), nesting is bounded by BOOTREF_CBOR_MAX_DEPTH, map sizes
 * by BOOTREF_CBOR_MAX_MAP_ENTRIES, and map keys must be in canonical order
 * (which refuses duplicates too). No
 * recursion: a fixed explicit stack. The decoders check their own bytes as
 * they go and call this only to skip an item they do not interpret or to find
 * which error stands after a failure, so it favours size over speed. */
#if defined(__GNUC__)
#define BR_INLINE static inline __attribute__((always_inline))
#else
#define BR_INLINE static inline
#endif
/* lax: map keys in any order, duplicates still refused. Always inlined into
 * its two callers below with lax constant, so the strict walk that the core
 * links carries none of the lax code. */
BR_INLINE bootref_err_t walk_impl(cbor_dec_t *d, int lax)
{
    /* Explicit stack: entry 0 is a pseudo-container holding the one top-level
     * item; each open array/map/tag adds one entry. */
    struct level {
        size_t left;      /* items still to read (maps: keys + values) */
        /* the map's previous key (none: equal); in the lax walk prev_start is
         * where the map's first key starts */
        size_t prev_start, prev_end;
        size_t key_start; /* offset of the key being read */
        uint8_t is_map;
    } st[BOOTREF_CBOR_MAX_DEPTH + 1u], *lv = st;
    cbor_item_t it;
    size_t n;
    bootref_err_t e;

    lv->left = 1;
    lv->is_map = 0;
    for (;;) {
        if (lv->left == 0u) {
            if (lv == st)
                return BOOTREF_OK;
            lv--;
            continue;
        }
        if (lv->is_map) {
            /* a value comes next: the key that just ended must sort after
             * the map's previous key */
            if (!(lv->left & 1u)) {
                lv->key_start = d->pos;
            } else if (lax) {
                if ((e = dup_check(d->buf, lv->prev_start, lv->key_start, d->pos)) != BOOTREF_OK)
                    return e;
            } else {
                if (lv->prev_end != lv->prev_start &&
                    (e = order_check(d->buf, lv->prev_start, lv->prev_end, lv->key_start, d->pos)) != BOOTREF_OK)
                    return e;
                lv->prev_start = lv->key_start;
                lv->prev_end = d->pos;
            }
        }
        lv->left--;
        if ((e = cbor_head(d, &it)) != BOOTREF_OK)
            return e; /* strings: content checked and skipped */
        if (it.major < CBOR_ARRAY || it.major == CBOR_SIMPLE)
            continue;
        /* each entry needs at least one byte: a larger count cannot be real
         * (nor can one that does not fit size_t); a tag has one item */
        n = it.major == CBOR_TAG ? 1u : (size_t)it.val;
        if (n > d->len - d->pos || (it.major != CBOR_TAG && it.val > (uint64_t)(d->len - d->pos)))
            return BOOTREF_E_CBOR_TRUNCATED;
        if (it.major == CBOR_MAP) {
            if (n > BOOTREF_CBOR_MAX_MAP_ENTRIES)
                return BOOTREF_E_LIMIT_COUNT;
            n *= 2u;
        }
        if (n == 0u)
            continue;
        if (lv == &st[BOOTREF_CBOR_MAX_DEPTH])
            return BOOTREF_E_LIMIT_DEPTH;
        lv++;
        lv->left = n;
        lv->is_map = it.major == CBOR_MAP;
        lv->prev_start = lax ? d->pos : 0u;
        lv->prev_end = 0;
    }
}

static BR_NOINLINE bootref_err_t walk(cbor_dec_t *d)
{
    return walk_impl(d, 0);
}

bootref_err_t cbor_skip(cbor_dec_t *d)
{
    return walk(d);
}

bootref_err_t cbor_wellformed_lax(const uint8_t *buf, size_t len)
{
    cbor_dec_t d;
    bootref_err_t e;

    cbor_init(&d, buf, len);
    if ((e = walk_impl(&d, 1)) != BOOTREF_OK)
        return e;
    return d.pos == len ? BOOTREF_OK : BOOTREF_E_CBOR_TRAILING;
}

bootref_err_t cbor_wellformed(const uint8_t *buf, size_t len)
{
    cbor_dec_t d;
    bootref_err_t e;

    cbor_init(&d, buf, len);
    if ((e = walk(&d)) != BOOTREF_OK)
        return e;
    return d.pos == len ? BOOTREF_OK : BOOTREF_E_CBOR_TRAILING;
}

/* Word-wise where the core loads unaligned words (a bytewise compare costs
 * several times more), bytewise on Armv6-M, which cannot. */
int br_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i;
#if defined(__ARM_ARCH) && !defined(__ARM_FEATURE_UNALIGNED)
    uint8_t diff = 0;
    for (i = 0; i < n; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
#else
    uint32_t x, y, diff = 0;
    for (i = 0; i < n; i += 4u) {
        memcpy(&x, a + i, 4u);
        memcpy(&y, b + i, 4u);
        diff |= x ^ y;
    }
#endif
    return diff == 0u;
}
