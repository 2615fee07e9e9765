/*
 * errors.c - names and reason classes of the stable error codes.
 *
 * The reason classes are shared with the Python verifier (fwsign.errors) so
 * that a device log and a host report can be compared directly.
 */
#include "internal.h"

/* Reason classes, in the order of the R_* indexes below, as one block of
 * NUL-terminated strings: no pointer table (4 bytes a reason on Cortex-M), and
 * a switch would be about twice the size again. Looked up on the error path only. */
static const char reasons[] =
    "ok\0" "malformed\0" "limit-exceeded\0" "digest-mismatch\0" "signature-invalid\0"
    "no-trusted-key\0" "unsupported\0" "vendor-mismatch\0" "class-mismatch\0"
    "device-mismatch\0" "rollback\0" "image-mismatch\0" "severed-digest-mismatch\0"
    "severed-member-missing\0" "abort\0" "port-error\0" "usage\0" "truncated\0"
    "no-bootable-image\0" "encryption-info-invalid\0" "no-recipient\0" "key-unwrap-failed\0"
    "decryption-failed\0" "delegation-invalid\0" "delegation-expired\0" "delegation-scope\0"
    "missing-check\0" "unknown\0";
enum { R_OK, R_MAL, R_LIM, R_DIG, R_SIG, R_KEY, R_UNS, R_VEN, R_CLS, R_DEV, R_RB, R_IMG,
       R_SEV, R_SEVM, R_ABORT, R_PORT, R_USAGE, R_TRUNC, R_NOIMG, R_ENCI, R_NOREC, R_UNWRAP,
       R_DECRYPT, R_DINV, R_DEXP, R_DSCOPE, R_MISS, R_UNKNOWN };

/* reason class of each error code (codes 0..58, see bootref.h); the names
 * are the Python verifier's reason codes (fwsign/errors.py REASONS) */
static const uint8_t reason_of[BOOTREF_E_CBOR_ORDER + 1] = {
    R_OK, R_TRUNC, R_MAL, R_MAL, R_MAL, R_MAL, R_MAL, R_MAL, R_MAL, R_MAL,    /* 0-9 */
    R_MAL, R_MAL, R_MAL, R_MAL, R_UNKNOWN, R_UNKNOWN, R_UNKNOWN, R_UNKNOWN,   /* 10-17 */
    R_UNKNOWN, R_UNKNOWN, R_LIM, R_LIM, R_LIM, R_LIM, R_UNKNOWN, R_UNKNOWN,   /* 18-25 */
    R_UNKNOWN, R_UNKNOWN, R_UNKNOWN, R_UNKNOWN, R_DIG, R_SIG, R_KEY, R_UNS,   /* 26-33 */
    R_VEN, R_CLS, R_DEV, R_RB, R_IMG, R_IMG, R_IMG, R_IMG, R_SEV, R_SEVM,     /* 34-43 */
    R_UNS, R_UNS, R_ABORT, R_PORT, R_USAGE, R_NOIMG,                          /* 44-49 */
    R_ENCI, R_NOREC, R_UNWRAP, R_DECRYPT, R_DINV, R_DEXP, R_DSCOPE,          /* 50-56 */
    R_MISS, R_MAL};                                                           /* 57-58 */

const char *bootref_reason(bootref_err_t e)
{
    /* a value outside the table is "unknown", never "ok" */
    const char *p = reasons;
    unsigned k = (unsigned)e > (unsigned)BOOTREF_E_CBOR_ORDER ? (unsigned)R_UNKNOWN : reason_of[e];
    while (k-- > 0u)
        while (*p++ != '\0') {
        }
    return p;
}

const char *bootref_err_name(bootref_err_t e)
{
#if BOOTREF_DETAIL_STRINGS
#define N(x) case x: return #x;
    switch (e) {
    N(BOOTREF_OK) N(BOOTREF_E_CBOR_TRUNCATED) N(BOOTREF_E_CBOR_NON_SHORTEST)
    N(BOOTREF_E_CBOR_INDEFINITE) N(BOOTREF_E_CBOR_DUP_KEY) N(BOOTREF_E_CBOR_UNSUPPORTED)
    N(BOOTREF_E_CBOR_TRAILING) N(BOOTREF_E_TYPE) N(BOOTREF_E_UNKNOWN_KEY)
    N(BOOTREF_E_MISSING_MEMBER) N(BOOTREF_E_STRUCTURE) N(BOOTREF_E_VERSION)
    N(BOOTREF_E_PARAM_MISSING) N(BOOTREF_E_COMPONENT_INDEX) N(BOOTREF_E_LIMIT_SIZE)
    N(BOOTREF_E_LIMIT_DEPTH) N(BOOTREF_E_LIMIT_COUNT) N(BOOTREF_E_LIMIT_NESTING)
    N(BOOTREF_E_DIGEST_MISMATCH) N(BOOTREF_E_SIGNATURE_INVALID) N(BOOTREF_E_NO_TRUSTED_KEY)
    N(BOOTREF_E_UNSUPPORTED_ALG) N(BOOTREF_E_VENDOR_MISMATCH) N(BOOTREF_E_CLASS_MISMATCH)
    N(BOOTREF_E_DEVICE_MISMATCH) N(BOOTREF_E_ROLLBACK) N(BOOTREF_E_IMAGE_DIGEST)
    N(BOOTREF_E_IMAGE_SIZE) N(BOOTREF_E_IMAGE_CONTENT) N(BOOTREF_E_SLOT_MISMATCH)
    N(BOOTREF_E_SEVERED_DIGEST) N(BOOTREF_E_SEVERED_MISSING) N(BOOTREF_E_UNSUPPORTED_COMMAND)
    N(BOOTREF_E_UNSUPPORTED_PARAMETER) N(BOOTREF_E_ABORT) N(BOOTREF_E_PORT) N(BOOTREF_E_USAGE)
    N(BOOTREF_E_NO_IMAGE) N(BOOTREF_E_ENC_INFO) N(BOOTREF_E_NO_RECIPIENT) N(BOOTREF_E_KEY_UNWRAP)
    N(BOOTREF_E_DECRYPT) N(BOOTREF_E_DELEG_INVALID) N(BOOTREF_E_DELEG_EXPIRED)
    N(BOOTREF_E_DELEG_SCOPE) N(BOOTREF_E_MISSING_CHECK) N(BOOTREF_E_CBOR_ORDER)
    }
#undef N
    return "BOOTREF_E_UNKNOWN";
#else
    (void)e;
    return "?";
#endif
}
