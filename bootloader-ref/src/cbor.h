/*
 * cbor.h - strict pull decoder for the CBOR subset SUIT needs (RFC 8949).
 *
 * Accepted: unsigned and negative integers up to 64 bits, byte and text
 * strings, arrays, maps, tags, and the simple values false/true/null, all with
 * definite lengths. Rejected: truncation, lengths beyond the buffer, heads not
 * in shortest form (RFC 8949 section 4.2.1), indefinite lengths, floats and
 * other simple values, reserved additional-information values, trailing bytes,
 * duplicate map keys (same encoded bytes), map keys out of canonical order,
 * nesting beyond BOOTREF_CBOR_MAX_DEPTH.
 *
 * Text strings are not checked for valid UTF-8: SUIT never interprets them
 * on the device (URIs and text are passed through or ignored).
 */
#ifndef BOOTREF_CBOR_H
#define BOOTREF_CBOR_H

#include <stdint.h>
#include <stddef.h>
#include "bootref.h"

enum {
    CBOR_UINT = 0, CBOR_NINT = 1, CBOR_BSTR = 2, CBOR_TSTR = 3,
    CBOR_ARRAY = 4, CBOR_MAP = 5, CBOR_TAG = 6, CBOR_SIMPLE = 7
};
enum { CBOR_FALSE = 20, CBOR_TRUE = 21, CBOR_NULL = 22 };

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
} cbor_dec_t;

typedef struct {
    uint8_t major;
    uint64_t val;        /* argument: int value, length, count, tag or simple */
    size_t start;        /* offset of the head in the buffer */
    const uint8_t *str;  /* bstr/tstr content (val bytes) */
} cbor_item_t;

static inline void cbor_init(cbor_dec_t *d, const uint8_t *buf, size_t len)
{
    d->buf = buf;
    d->len = len;
    d->pos = 0;
}

/* Read one head. For strings, also checks that the content fits and moves past
 * it. Arrays/maps/tags: only the head is consumed. */
bootref_err_t cbor_head(cbor_dec_t *d, cbor_item_t *it);

/* Read one head and require a major type. */
bootref_err_t cbor_expect(cbor_dec_t *d, uint8_t major, cbor_item_t *it);

/* Read an array/map head and return its count (pairs for maps). */
bootref_err_t cbor_array(cbor_dec_t *d, size_t *n);
bootref_err_t cbor_map(cbor_dec_t *d, size_t *n);

/* A byte string: *content = its bytes; *wrapped = head + bytes (what SUIT hashes). */
bootref_err_t cbor_bstr(cbor_dec_t *d, bootref_span_t *content, bootref_span_t *wrapped);

/* An unsigned integer. */
bootref_err_t cbor_uint(cbor_dec_t *d, uint64_t *v);

/* An integer (uint or nint) that fits int64_t. */
bootref_err_t cbor_int(cbor_dec_t *d, int64_t *v);

/* Skip one complete item, checked as cbor_wellformed() checks it (no recursion). */
bootref_err_t cbor_skip(cbor_dec_t *d);

/* Check that buf holds exactly one well-formed, strictly encoded item, every
 * map in canonical key order (RFC 8949 s4.2.1). */
bootref_err_t cbor_wellformed(const uint8_t *buf, size_t len);

/* The same, but map keys in any order (duplicates still refused): for
 * structures that are not SUIT maps and that fwsign also decodes without the
 * order rule (the COSE encryption info, draft-ietf-suit-firmware-encryption). */
bootref_err_t cbor_wellformed_lax(const uint8_t *buf, size_t len);

#endif /* BOOTREF_CBOR_H */
