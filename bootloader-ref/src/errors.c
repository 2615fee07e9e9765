/*
 * errors.c - names and reason classes of the stable error codes.
 *
 * The reason classes are shared with the Python verifier (fwsign.errors) so
 * that a device log and a host report can be compared directly.
 */
#include "internal.h"

/* reasons[], the R_* indexes into it and reason_of[] (error code -> R_*), generated
 * from fwsign/model_tables.toml with fwsign.errors.REASONS (make tables) */
#include "reasons_table.h"

const char *bootref_reason(bootref_err_t e)
{
    /* a value outside the table is "unknown", never "ok" */
    const char *p = reasons;
    unsigned k = (unsigned)e < sizeof reason_of ? reason_of[e] : (unsigned)R_UNKNOWN;
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
    N(BOOTREF_E_PATCH)
    N(BOOTREF_E_USE_BEFORE) N(BOOTREF_E_BATTERY) N(BOOTREF_E_NOT_AUTHORIZED)
    N(BOOTREF_E_VERSION_MISMATCH) N(BOOTREF_E_IMAGE_MATCHES) N(BOOTREF_E_DEFERRED)
    }
#undef N
    return "BOOTREF_E_UNKNOWN";
#else
    (void)e;
    return "?";
#endif
}
