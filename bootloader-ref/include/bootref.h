/*
 * bootref.h - public API of the fwsign reference SUIT verifier.
 *
 * Typical device use:
 *
 *     static bootref_ctx_t ctx;             // ~0.7 KB, keep it off the stack
 *     bootref_err_t e = bootref_verify_envelope(&ctx, &port, env, env_len, 0);
 *     if (e == BOOTREF_OK)
 *         e = bootref_run(&ctx, BOOTREF_SEQ_VALIDATE | BOOTREF_SEQ_INVOKE);
 *     if (e != BOOTREF_OK) { refuse to boot; log bootref_reason(e); }
 *
 * The envelope buffer must stay unchanged and alive until bootref_run()
 * returns: the context keeps pointers into it instead of copies.
 */
#ifndef BOOTREF_H
#define BOOTREF_H

#include <stddef.h>
#include <stdint.h>

#include "bootref_config.h"
#include "bootref_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stable error codes. Numbers never change meaning; new codes are appended.
 * bootref_reason() maps each onto the reason class shared with the Python
 * verifier (fwsign); bootref_err_name() gives the code's own name. */
typedef enum bootref_err {
    BOOTREF_OK = 0,

    /* reason "malformed" (CBOR_TRUNCATED: "truncated"): the bytes are not the
     * strict structure required */
    BOOTREF_E_CBOR_TRUNCATED = 1,     /* input ends inside an item ("truncated") */
    BOOTREF_E_CBOR_NON_SHORTEST = 2,  /* head not in shortest form (RFC 8949 s4.2.1) */
    BOOTREF_E_CBOR_INDEFINITE = 3,    /* indefinite length or break */
    BOOTREF_E_CBOR_DUP_KEY = 4,       /* duplicate map key (same encoded bytes); see also CBOR_ORDER (58) */
    BOOTREF_E_CBOR_UNSUPPORTED = 5,   /* float, undefined, other simple, reserved */
    BOOTREF_E_CBOR_TRAILING = 6,      /* bytes after the single top-level item */
    BOOTREF_E_TYPE = 7,               /* well-formed but wrong CBOR type */
    BOOTREF_E_UNKNOWN_KEY = 8,        /* unknown integer key in envelope/manifest */
    BOOTREF_E_MISSING_MEMBER = 9,     /* required member absent */
    BOOTREF_E_STRUCTURE = 10,         /* wrong count, order or value */
    BOOTREF_E_VERSION = 11,           /* manifest version != 1 */
    BOOTREF_E_PARAM_MISSING = 12,     /* a command needs a parameter never set */
    BOOTREF_E_COMPONENT_INDEX = 13,   /* component index out of range */

    /* reason "limit-exceeded" */
    BOOTREF_E_LIMIT_SIZE = 20,
    BOOTREF_E_LIMIT_DEPTH = 21,
    BOOTREF_E_LIMIT_COUNT = 22,
    BOOTREF_E_LIMIT_NESTING = 23,

    BOOTREF_E_DIGEST_MISMATCH = 30,        /* "digest-mismatch" */
    BOOTREF_E_SIGNATURE_INVALID = 31,      /* "signature-invalid" */
    BOOTREF_E_NO_TRUSTED_KEY = 32,         /* "no-trusted-key" */
    BOOTREF_E_UNSUPPORTED_ALG = 33,        /* "unsupported" (algorithm) */
    BOOTREF_E_VENDOR_MISMATCH = 34,        /* "vendor-mismatch" */
    BOOTREF_E_CLASS_MISMATCH = 35,         /* "class-mismatch" */
    BOOTREF_E_DEVICE_MISMATCH = 36,        /* "device-mismatch" */
    BOOTREF_E_ROLLBACK = 37,               /* "rollback" */
    BOOTREF_E_IMAGE_DIGEST = 38,           /* "image-mismatch" */
    BOOTREF_E_IMAGE_SIZE = 39,             /* "image-mismatch" */
    BOOTREF_E_IMAGE_CONTENT = 40,          /* "image-mismatch" (check-content) */
    BOOTREF_E_SLOT_MISMATCH = 41,          /* "image-mismatch" (component-slot) */
    BOOTREF_E_SEVERED_DIGEST = 42,         /* "severed-digest-mismatch" */
    BOOTREF_E_SEVERED_MISSING = 43,        /* "severed-member-missing" */
    BOOTREF_E_UNSUPPORTED_COMMAND = 44,    /* "unsupported" (command) */
    BOOTREF_E_UNSUPPORTED_PARAMETER = 45,  /* "unsupported" (parameter) */
    BOOTREF_E_ABORT = 46,                  /* "abort" */
    BOOTREF_E_PORT = 47,                   /* "port-error": port reported a fault */
    BOOTREF_E_USAGE = 48,                  /* "usage": API misuse (NULL, wrong order) */
    BOOTREF_E_NO_IMAGE = 49,               /* "no-bootable-image": boot flow found nothing that verifies */
    /* encrypted payloads (bootref_decrypt.h) */
    BOOTREF_E_ENC_INFO = 50,               /* "encryption-info-invalid" */
    BOOTREF_E_NO_RECIPIENT = 51,           /* "no-recipient": no recipient for the device's keys */
    BOOTREF_E_KEY_UNWRAP = 52,             /* "key-unwrap-failed" */
    BOOTREF_E_DECRYPT = 53,                /* "decryption-failed": AEAD tag, truncated ciphertext */
    /* trust-domains delegation (bootref_delegation.h) */
    BOOTREF_E_DELEG_INVALID = 54,          /* "delegation-invalid": malformed CWT, wrong issuer, bad signature, chain too long */
    BOOTREF_E_DELEG_EXPIRED = 55,          /* "delegation-expired": outside nbf..exp, or no time source */
    BOOTREF_E_DELEG_SCOPE = 56,            /* "delegation-scope": scope widened, or manifest outside it */
    /* docs/processing-model.md section 6 */
    BOOTREF_E_MISSING_CHECK = 57,          /* "missing-check": a sequence acts or ends without the
                                              vendor/class/image checks it must make (R0-R3) */
    BOOTREF_E_CBOR_ORDER = 58,             /* "malformed": map keys not in canonical order (RFC 8949 s4.2.1) */
    /* delta updates (BOOTREF_DELTA, bootref_delta.h) */
    BOOTREF_E_PATCH = 59,                  /* "patch-invalid": not well-formed FWD1, wrong source size, overrun */
    /* update management (BOOTREF_WITH_UM, docs/processing-model.md section 14); 64..68
     * are condition failures (soft-failure applies), 69 is the wait directive's */
    BOOTREF_E_USE_BEFORE = 64,             /* "use-before-passed" */
    BOOTREF_E_BATTERY = 65,                /* "battery-low" */
    BOOTREF_E_NOT_AUTHORIZED = 66,         /* "not-authorized" */
    BOOTREF_E_VERSION_MISMATCH = 67,       /* "version-mismatch" */
    BOOTREF_E_IMAGE_MATCHES = 68,          /* "image-matches" (image-not-match) */
    BOOTREF_E_DEFERRED = 69                /* "deferred": a wait's event has not occurred */
} bootref_err_t;

/* Reason class, e.g. "malformed", "signature-invalid". Never NULL. */
const char *bootref_reason(bootref_err_t e);
/* The code's name, e.g. "BOOTREF_E_CBOR_DUP_KEY" ("?" without detail strings). */
const char *bootref_err_name(bootref_err_t e);

/* Sequence selectors for bootref_run(). */
enum {
    BOOTREF_SEQ_PAYLOAD_FETCH = 1u << 0, /* manifest key 16 */
    BOOTREF_SEQ_INSTALL = 1u << 1,       /* manifest key 20 */
    BOOTREF_SEQ_VALIDATE = 1u << 2,      /* manifest key 7 */
    BOOTREF_SEQ_LOAD = 1u << 3,          /* manifest key 8 */
    BOOTREF_SEQ_INVOKE = 1u << 4         /* manifest key 9 */
};

/* Flags for bootref_verify_envelope(). */
enum {
    /* Conditions whose inputs the port does not have (identity not provisioned,
     * no image, no slot information) are reported as skipped instead of failing.
     * For host-side inspection tools only: a bootloader must not set it. */
    BOOTREF_F_ALLOW_SKIP = 1u << 0,
    /* The envelope is one this device accepted at install (read back from its
     * own slot): a delegation chain is verified again (signatures, anchors,
     * scope) but its exp/nbf are not, so an installed image does not stop
     * booting when its delegation expires. The boot flow sets it at boot. */
    BOOTREF_F_INSTALLED = 1u << 1
};

/* Progress events, one per check, for diagnostics (optional). */
typedef enum { BOOTREF_EV_OK = 0, BOOTREF_EV_SKIPPED = 1, BOOTREF_EV_FAILED = 2,
               BOOTREF_EV_NOT_EXECUTED = 3 } bootref_ev_status_t;

typedef struct bootref_event {
    const char *what;      /* e.g. "manifest-digest", "condition vendor-identifier" */
    const char *note;      /* short explanation, may be NULL */
    int component;         /* component index or -1 */
    int32_t value;         /* algorithm, sequence key... or 0 */
    bootref_ev_status_t status;
} bootref_event_t;

typedef void (*bootref_report_fn)(void *user, const bootref_event_t *ev);

#if BOOTREF_REPORT
/* SUIT report hook (bootref_report.h): called after each condition or directive ran
 * on a component, with its label, the component, its reporting policy
 * (SUIT_Rep_Policy bits) and its result. Compiled in only with BOOTREF_REPORT=1. */
typedef void (*bootref_record_fn)(void *user, int32_t label, unsigned component, uint32_t policy,
                                  bootref_err_t result);
#endif

typedef struct bootref_span { const uint8_t *p; size_t n; } bootref_span_t;

/* One component's parameters: encoded CBOR values (head included) that were
 * type-checked when set. Index by the BOOTREF_P_* slot numbers (internal). */
/* the core's 11 parameter slots, + delta-info (BOOTREF_DELTA), + use-before,
 * minimum-battery, update-priority, version, wait-info (BOOTREF_WITH_UM) */
#define BOOTREF_N_PARAMS (11u + (BOOTREF_DELTA ? 1u : 0u) + (BOOTREF_WITH_UM ? 5u : 0u))
typedef struct bootref_component {
    bootref_span_t param[BOOTREF_N_PARAMS];
} bootref_component_t;

/* Verification context. Treat as opaque; it is public only so that callers
 * can allocate it statically. */
typedef struct bootref_ctx {
    const bootref_port_t *port;
    bootref_report_fn report;
    void *report_user;
    uint32_t flags;
    uint8_t verified;          /* bootref_verify_envelope() succeeded */

    /* envelope members (spans into the caller's buffer) */
    bootref_span_t manifest;       /* content of the manifest bstr */
    /* manifest members */
    uint64_t sequence_number;
    uint8_t n_components;
    bootref_span_t shared;
    /* command sequences in bootref_run() order (the BOOTREF_SEQ_* bits):
     * payload-fetch, install (inline or severed content), validate, load, invoke */
    bootref_span_t seq[5];
    uint8_t severed_digest;        /* bit i: manifest holds a digest at 16/20/23 */

    /* interpreter state (docs/processing-model.md section 4) */
    uint32_t selected;             /* bit mask of selected components */
    uint32_t matched;              /* image-match / check-content made since the last write (R2, R3) */
    uint32_t written;              /* written by a directive in this bootref_run() call (R3) */
    uint8_t identity;              /* vendor (bit 0) / class (bit 1) condition made in this sequence (R1) */
    struct {                       /* the sequences being run, outermost first */
        const bootref_span_t *seq;
        uint8_t checked;           /* known to be well-formed */
    } running[BOOTREF_MAX_SEQ_NESTING + 1u];
    bootref_component_t comp[BOOTREF_MAX_COMPONENTS];
#if BOOTREF_WITH_UM
    bootref_span_t set_version;    /* manifest member 6 (content), checked after common */
#endif

    /* diagnostics for the last error */
    const char *detail;
    int err_component;
    int32_t err_command;
#if BOOTREF_REPORT
    /* where the interpreter is, for SUIT records (bootref_report.h): the manifest key
     * of the top-level sequence (3: the shared sequence of suit-common) and the byte
     * offset of its current top-level command; the hook and its argument */
    int32_t rep_section;
    uint32_t rep_offset;
    bootref_record_fn record;
    void *record_user;
#endif

    /* keys the authentication blocks are checked with: the port's anchors, or
     * with a delegation (bootref_delegation.h) also the keys it vouches for */
    const bootref_key_t *keys;
    size_t n_keys;
    uint32_t signers;              /* bit i: keys[i] verified a block (i < 32) */
#if BOOTREF_REQUIRE_ALGS
    int32_t verified_alg;          /* algorithm of the block verified last (the hybrid rule) */
#endif
    bootref_span_t deleg;          /* envelope member 1 (encoded), or p == NULL */

    uint8_t tbs[BOOTREF_TBS_MAX];          /* Sig_structure / MAC_structure */
    uint8_t chunk[BOOTREF_IMAGE_CHUNK];    /* image streaming buffer */
#if BOOTREF_WITH_HSSLMS
    uint8_t hss_z[BOOTREF_HSSLMS_MAX_P * 32u]; /* LM-OTS chain ends (src/hsslms.c) */
#endif
} bootref_ctx_t;

/* Parse and authenticate an envelope (draft-ietf-suit-manifest-34, section 8):
 * strict CBOR, envelope/manifest structure, manifest digest (checked before any
 * signature work), COSE_Sign1/COSE_Mac0 against the port's trust anchors,
 * anti-rollback against the port's counter, severed members' digests.
 * Returns BOOTREF_OK only if all of that passed. */
bootref_err_t bootref_verify_envelope(bootref_ctx_t *ctx, const bootref_port_t *port,
                                      const uint8_t *env, size_t env_len, uint32_t flags);

/* Run the selected command sequences of a verified manifest, each preceded by
 * the shared sequence, in the order payload-fetch, install, validate, load,
 * invoke. Absent sequences are skipped; a selected sequence that was severed
 * and not supplied fails with BOOTREF_E_SEVERED_MISSING. */
bootref_err_t bootref_run(bootref_ctx_t *ctx, uint32_t sequences);

/* Attach a progress reporter (before bootref_verify_envelope). */
void bootref_set_reporter(bootref_ctx_t *ctx, bootref_report_fn fn, void *user);

#ifdef __cplusplus
}
#endif

#endif /* BOOTREF_H */
