/*
 * errors.c - names and reason classes of the stable error codes.
 *
 * The reason classes are shared with the Python verifier (fwsign.errors) so
 * that a device log and a host report can be compared directly.
 */
#include "internal.h"

const char *bootref_reason(bootref_err_t e)
{
    switch (e) {
    case BOOTREF_OK: return "ok";
    case BOOTREF_E_CBOR_TRUNCATED: case BOOTREF_E_CBOR_NON_SHORTEST:
    case BOOTREF_E_CBOR_INDEFINITE: case BOOTREF_E_CBOR_DUP_KEY:
    case BOOTREF_E_CBOR_UNSUPPORTED: case BOOTREF_E_CBOR_TRAILING:
    case BOOTREF_E_TYPE: case BOOTREF_E_UNKNOWN_KEY: case BOOTREF_E_MISSING_MEMBER:
    case BOOTREF_E_STRUCTURE: case BOOTREF_E_VERSION: case BOOTREF_E_PARAM_MISSING:
    case BOOTREF_E_COMPONENT_INDEX:
        return "malformed";
    case BOOTREF_E_LIMIT_SIZE: case BOOTREF_E_LIMIT_DEPTH: case BOOTREF_E_LIMIT_COUNT:
    case BOOTREF_E_LIMIT_NESTING:
        return "limit-exceeded";
    case BOOTREF_E_DIGEST_MISMATCH: return "digest-mismatch";
    case BOOTREF_E_SIGNATURE_INVALID: return "signature-invalid";
    case BOOTREF_E_NO_TRUSTED_KEY: return "no-trusted-key";
    case BOOTREF_E_UNSUPPORTED_ALG: return "unsupported-algorithm";
    case BOOTREF_E_VENDOR_MISMATCH: return "vendor-mismatch";
    case BOOTREF_E_CLASS_MISMATCH: return "class-mismatch";
    case BOOTREF_E_DEVICE_MISMATCH: return "device-mismatch";
    case BOOTREF_E_ROLLBACK: return "rollback";
    case BOOTREF_E_IMAGE_DIGEST: case BOOTREF_E_IMAGE_SIZE: case BOOTREF_E_IMAGE_CONTENT:
    case BOOTREF_E_SLOT_MISMATCH:
        return "image-mismatch";
    case BOOTREF_E_SEVERED_DIGEST: return "severed-digest-mismatch";
    case BOOTREF_E_SEVERED_MISSING: return "severed-member-missing";
    case BOOTREF_E_UNSUPPORTED_COMMAND: case BOOTREF_E_UNSUPPORTED_PARAMETER:
        return "unsupported-command";
    case BOOTREF_E_ABORT: return "abort";
    case BOOTREF_E_PORT: return "port-error";
    case BOOTREF_E_USAGE: return "usage";
    }
    return "unknown"; /* a value outside the enum: never "ok" */
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
    }
#undef N
    return "BOOTREF_E_UNKNOWN";
#else
    (void)e;
    return "?";
#endif
}
