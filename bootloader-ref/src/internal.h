/*
 * internal.h - helpers shared by the core's translation units (not public).
 */
#ifndef BOOTREF_INTERNAL_H
#define BOOTREF_INTERNAL_H

#include "bootref.h"
#include "cbor.h"

/* Keeps a function out of line: gcc -Os inlines every static function with
 * one caller, which here costs flash (the interpreter's conditions and
 * directives inlined into one large loop) or slows a hot caller's prologue. */
#if defined(__GNUC__)
#define BR_NOINLINE __attribute__((noinline))
#else
#define BR_NOINLINE
#endif

#if BOOTREF_DETAIL_STRINGS
#define BR_STR(s) (s)
#else
#define BR_STR(s) ((const char *)0)
#endif

/* SUIT code points used by the core (draft-ietf-suit-manifest-34, section 11;
 * REFERENCE.md section 1). */
enum {
    SUIT_TAG_ENVELOPE = 107,
    SUIT_ENV_DELEGATION = 1, SUIT_ENV_AUTH = 2, SUIT_ENV_MANIFEST = 3,
    SUIT_ENV_PAYLOAD_FETCH = 16, SUIT_ENV_INSTALL = 20, SUIT_ENV_TEXT = 23,

    SUIT_M_VERSION = 1, SUIT_M_SEQUENCE = 2, SUIT_M_COMMON = 3, SUIT_M_REF_URI = 4,
    SUIT_M_VALIDATE = 7, SUIT_M_LOAD = 8, SUIT_M_INVOKE = 9,
    SUIT_M_PAYLOAD_FETCH = 16, SUIT_M_INSTALL = 20, SUIT_M_TEXT = 23,

    SUIT_C_COMPONENTS = 2, SUIT_C_SHARED = 4,

    SUIT_DIGEST_SHA256 = -16,

    COSE_TAG_SIGN1 = 18, COSE_TAG_MAC0 = 17, COSE_TAG_SIGN = 98, COSE_TAG_MAC = 97,
    COSE_HDR_ALG = 1, COSE_HDR_CRIT = 2, COSE_HDR_KID = 4,
    COSE_ALG_ES256 = -7, COSE_ALG_ESP256 = -9, COSE_ALG_EDDSA = -8,
    COSE_ALG_ED25519 = -19, COSE_ALG_HMAC256 = 5, COSE_ALG_HSS_LMS = -46,
    COSE_ALG_ML_DSA_44 = -48, COSE_ALG_ML_DSA_65 = -49, COSE_ALG_ML_DSA_87 = -50
};

#if BOOTREF_DETAIL_STRINGS
/* Record a human-readable detail for the error and return it. */
bootref_err_t br_fail(bootref_ctx_t *c, bootref_err_t e, const char *detail);
/* Emit one progress event to the caller's reporter, if any. */
void br_report(bootref_ctx_t *c, const char *what, const char *note, int component,
               int32_t value, bootref_ev_status_t st);
#else
/* Diagnostics compiled out: the error code (and ctx->err_command /
 * err_component) is all a device keeps, and no events are emitted. */
static inline bootref_err_t br_fail(bootref_ctx_t *c, bootref_err_t e, const char *detail)
{
    (void)c;
    (void)detail;
    return e;
}
static inline void br_report(bootref_ctx_t *c, const char *what, const char *note, int component,
                             int32_t value, bootref_ev_status_t st)
{
    (void)c;
    (void)what;
    (void)note;
    (void)component;
    (void)value;
    (void)st;
}
#endif
bootref_err_t br_sha256(bootref_ctx_t *c, const uint8_t *p, size_t n, uint8_t out[32]);
/* Parse a SUIT_Digest ([-16, bstr(32)]) at the decoder's position. */
bootref_err_t br_parse_digest(cbor_dec_t *d, const uint8_t **digest);
/* a[0..n) == b[0..n) for n a multiple of 4, in a time that does not depend
 * on where they differ (src/cbor.c). */
int br_equal(const uint8_t *a, const uint8_t *b, size_t n);
/* Constant-time equality of two 32-byte digests. */
int br_digest_equal(const uint8_t *a, const uint8_t *b);

#if BOOTREF_WITH_HSSLMS
/* HSS-LMS verification (src/hsslms.c): a BOOTREF_PORT_* code. */
int br_hsslms_verify(bootref_ctx_t *c, const uint8_t *pub, size_t pub_len, const uint8_t *msg, size_t msg_len,
                     const uint8_t *sig, size_t sig_len);
#endif

#endif /* BOOTREF_INTERNAL_H */
