/*
 * bootref_port.h - the port interface: the only place the verifier touches
 * hardware, keys or storage.
 *
 * INTEGRATION CONTRACT (read this before binding a device)
 * =========================================================
 * The core (src/) is pure C99 over byte buffers: it parses, decides and calls
 * the functions in bootref_port_t for everything else. A device team fills one
 * bootref_port_t (usually a const object in flash) and passes it to
 * bootref_verify_envelope(). The core never allocates, never blocks except in
 * port calls, and calls the port from one thread only.
 *
 * Every port function returns one of the BOOTREF_PORT_* codes below:
 *   BOOTREF_PORT_OK           the operation succeeded / the check passed.
 *   BOOTREF_PORT_FAIL         a verification function computed a definite
 *                             "does not verify" (bad signature, bad MAC).
 *   BOOTREF_PORT_UNSUPPORTED  the port cannot do this (algorithm not bound,
 *                             key type unknown). The core treats the block
 *                             as unusable, never as valid.
 *   BOOTREF_PORT_UNAVAILABLE  the data does not exist (no image in that
 *                             component, identity not provisioned).
 *   BOOTREF_PORT_ERROR        a hardware or I/O fault. The core stops with
 *                             BOOTREF_E_PORT (reason "port-error") and the
 *                             update must not proceed.
 * Anything else is treated as BOOTREF_PORT_ERROR. A function must never
 * return BOOTREF_PORT_OK on an internal error: the core fails closed only if
 * the port does.
 *
 * Cryptography (mandatory):
 *   sha256_init / sha256_update / sha256_final
 *       One SHA-256 computation at a time (FIPS 180-4). The core always runs
 *       init, any number of updates (len may be 0), then final, and never
 *       interleaves two hashes, so a port may keep the state in its ctx or
 *       drive a hash accelerator directly. update() may be called with data
 *       in flash or RAM. final() writes exactly 32 bytes.
 *   sig_verify(alg, key, msg, sig)
 *       Verify a COSE signature over msg (the encoded Sig_structure, RFC 9052
 *       section 4.4; at most BOOTREF_TBS_MAX bytes, built by the core).
 *         alg -7 (ES256) and -9 (ESP256): ECDSA P-256 with SHA-256 over msg;
 *             sig is raw r||s, 64 bytes (RFC 9053 section 2.1), NOT DER.
 *             The port must hash msg itself (or feed a hash accelerator).
 *         alg -8 (EdDSA) and -19 (Ed25519): pure Ed25519 (RFC 8032) over msg;
 *             sig is 64 bytes.
 *         alg -48, -49, -50 (ML-DSA-44/-65/-87, only with BOOTREF_WITH_MLDSA):
 *             ML-DSA.Verify of FIPS 204 (Algorithm 3) over msg with the empty
 *             context string (draft-ietf-cose-dilithium), i.e. M' = 0x00 0x00
 *             || msg; sig is 2,420 / 3,309 / 4,627 bytes, the key 1,312 /
 *             1,952 / 2,592 bytes. Never the pre-hash variant (HashML-DSA).
 *       HSS-LMS (alg -46) never reaches sig_verify: the core verifies it
 *       itself with sha256_* (BOOTREF_WITH_HSSLMS).
 *       key is one of the port's own trust anchors, already matched to the
 *       algorithm's key type by the core. Return OK only for a valid
 *       signature, FAIL for an invalid one, UNSUPPORTED if this build has no
 *       implementation for alg.
 *   mac_verify(alg, key, msg, tag)
 *       alg 5 (HMAC 256/256, RFC 9053 section 3.1): compute HMAC-SHA256 of msg
 *       (the encoded MAC_structure) under the symmetric key and compare it with
 *       tag (32 bytes) in constant time. May be NULL if no MAC keys are
 *       provisioned (the core then reports unsupported-algorithm).
 *
 * Trust anchors (mandatory):
 *   keys / n_keys: the provisioned public keys (P-256, Ed25519) and symmetric
 *   MAC keys. The core only reads the type and kid fields; `handle` is the
 *   port's own representation (a pointer to 64 raw public-key bytes, a key
 *   slot number in a secure element...). Keys must be write-protected: whoever
 *   can change them can sign firmware.
 *
 * Storage (mandatory for image checks):
 *   read_image(component, offset, buf, len, got)
 *       Copy up to len bytes of component `component`'s current content,
 *       starting at offset, into buf; set *got to the count (0 = end of
 *       content). Return UNAVAILABLE if the component holds no image at all.
 *       The core streams the image in BOOTREF_IMAGE_CHUNK pieces and hashes
 *       at most image-size bytes (parameter 14) when it is given, so a flash
 *       port may simply expose the whole slot.
 *   image_exact: set to 1 if read_image() ends exactly at the end of the
 *       image (a file, a length-prefixed slot). The core then also rejects an
 *       image that is longer than image-size. Leave 0 for raw flash slots.
 *
 * Policy inputs (mandatory):
 *   counter_read(value): the anti-rollback counter, e.g. the sequence number of
 *       the last installed manifest, from monotonic storage (OTP fuses, RPMB,
 *       a counter in a secure element). The core rejects a manifest whose
 *       sequence number is lower (reason "rollback"); it never writes the
 *       counter: raise it after a successful install, in the boot flow.
 *   identity(id): the device's vendor, class and device identifiers
 *       (16-byte UUIDs, REFERENCE.md section 1). A NULL pointer means "not
 *       provisioned": the matching condition then fails closed unless the
 *       caller set BOOTREF_F_ALLOW_SKIP (host tools only).
 *
 * Optional:
 *   require_algs / n_require_algs: the "all of these algorithms" rule
 *       (docs/processing-model.md section 5): for each COSE algorithm listed,
 *       at least one authentication block with that algorithm must verify
 *       with a trusted key, else the envelope is refused ("no-trusted-key").
 *       A hybrid device lists a classical and a post-quantum algorithm
 *       (e.g. -19 and -46) so that neither signature alone is enough. At most
 *       8 entries; NULL / 0 = no such rule. Present only when
 *       BOOTREF_REQUIRE_ALGS is 1 (with a post-quantum option, bootref_config.h).
 *   time_now(now): trusted current time (seconds since the epoch), for the
 *       exp/nbf claims of delegations. UNAVAILABLE or NULL = no time source.
 *   deleg: delegation support (bootref_delegation.h). sig_verify must then also
 *       accept keys whose type carries BOOTREF_KEY_RAW (a raw public key in
 *       handle, see below).
 *   component_slot(component, slot): the slot the component currently lives
 *       in, for condition component-slot (A/B images). NULL = unknown.
 *   action(a): perform a directive (fetch, copy, write, swap, invoke) once all
 *       its conditions passed. NULL = verification-only use: directives are
 *       checked for their parameters and reported as not executed.
 *
 *   um: update management inputs (BOOTREF_WITH_UM builds only; struct below).
 *       NULL = none: in host tools (BOOTREF_F_ALLOW_SKIP) the conditions that need
 *       them are skipped, on a device they fail and a wait defers.
 *
 * Threading: none required. Re-entrancy: the core never calls the port from
 * inside another port call.
 */
#ifndef BOOTREF_PORT_H
#define BOOTREF_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "bootref_config.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    BOOTREF_PORT_OK = 0,
    BOOTREF_PORT_FAIL = 1,
    BOOTREF_PORT_UNSUPPORTED = 2,
    BOOTREF_PORT_UNAVAILABLE = 3,
    BOOTREF_PORT_ERROR = 4
};

/* Key types of trust anchors. */
enum {
    BOOTREF_KEY_P256 = 1,        /* ECDSA P-256: COSE alg -7, -9 */
    BOOTREF_KEY_ED25519 = 2,     /* Ed25519: COSE alg -8, -19 */
    BOOTREF_KEY_HMAC_SHA256 = 3, /* symmetric: COSE alg 5 (COSE_Mac0) */
    /* HSS-LMS: COSE alg -46 (BOOTREF_WITH_HSSLMS). handle points to the 60-byte
     * HSS public key of RFC 8554 section 6.1 (u32 levels, u32 LMS type, u32
     * LM-OTS type, I, T[1]); the core verifies it with the port's SHA-256. */
    BOOTREF_KEY_HSS_LMS = 4,
    /* ML-DSA (FIPS 204): COSE algs -48, -49, -50 (BOOTREF_WITH_MLDSA), verified
     * by the port's sig_verify; handle is port-defined. */
    BOOTREF_KEY_MLDSA44 = 5,
    BOOTREF_KEY_MLDSA65 = 6,
    BOOTREF_KEY_MLDSA87 = 7,
    /* Flag on the type of a key the core learnt from a delegation (never on a
     * trust anchor): handle points to the raw public key, P-256 x||y (64 bytes,
     * big-endian, not validated: the port must refuse a point off the curve) or
     * Ed25519 (32 bytes). Only ports that set `deleg` receive such keys. */
    BOOTREF_KEY_RAW = 0x80
};

typedef struct bootref_key {
    uint8_t type;          /* BOOTREF_KEY_* */
    const uint8_t *kid;    /* optional key id; NULL = matches any kid */
    size_t kid_len;
    const void *handle;    /* port-defined key material or key slot reference */
} bootref_key_t;

typedef struct bootref_identity {
    const uint8_t *vendor_id; /* 16 bytes, or NULL if not provisioned */
    const uint8_t *class_id;  /* 16 bytes, or NULL */
    const uint8_t *device_id; /* 16 bytes, or NULL */
} bootref_identity_t;

/* A directive handed to the port's action() hook. Byte spans point into the
 * caller's envelope buffer and are valid during the call only. */
typedef struct bootref_action {
    uint8_t command;           /* 21 fetch, 22 copy, 18 write, 31 swap, 23 invoke */
    uint8_t component;         /* target component index */
    uint8_t source_component;  /* copy/swap: parameter 22 */
    const uint8_t *uri;        /* fetch: parameter 21 (text, not NUL-terminated) */
    size_t uri_len;
    const uint8_t *content;    /* write: parameter 18 */
    size_t content_len;
    const uint8_t *enc_info;   /* fetch/copy/write: parameter 19 (encryption-info, bstr content), or NULL */
    size_t enc_info_len;
    /* fetch with delta-info (BOOTREF_DELTA, docs/delta.md): the payload is a FWD1 patch
     * against source_component; patch_size and patch_digest (SHA-256, 32 bytes, in the
     * envelope buffer) name the patch. NULL delta_info: an ordinary fetch. */
    const uint8_t *delta_info;
    size_t delta_info_len;
    uint32_t patch_size;
    const uint8_t *patch_digest;
} bootref_action_t;

/* Update management inputs (draft-ietf-suit-update-management,
 * docs/processing-model.md section 14.1). Each function may be NULL (input not
 * available) and returns OK, UNAVAILABLE (not available now) or ERROR. */
typedef struct bootref_um_port {
    void *ctx; /* passed unchanged to every function */
    /* trusted time, seconds since 1970-01-01 UTC (condition use-before) */
    int (*now)(void *ctx, uint64_t *seconds);
    /* energy left in the battery, mWh (minimum-battery, wait event power) */
    int (*battery)(void *ctx, uint64_t *mwh);
    /* does the application authorize an update of this priority now?
     * OK = yes, FAIL = no (update-authorized, wait event authorization) */
    int (*authorized)(void *ctx, int64_t priority);
    /* the version of a component: up to `max` integers into parts, count in *n
     * (condition version) */
    int (*version)(void *ctx, uint8_t component, int64_t *parts, size_t max, size_t *n);
} bootref_um_port_t;

struct bootref_dec_port;   /* bootref_decrypt.h */
struct bootref_deleg_port; /* bootref_delegation.h */

typedef struct bootref_port {
    void *ctx; /* passed unchanged to every function */

    const bootref_key_t *keys;
    size_t n_keys;

    int (*sha256_init)(void *ctx);
    int (*sha256_update)(void *ctx, const uint8_t *data, size_t len);
    int (*sha256_final)(void *ctx, uint8_t out[32]);

    int (*sig_verify)(void *ctx, int32_t cose_alg, const bootref_key_t *key,
                      const uint8_t *msg, size_t msg_len,
                      const uint8_t *sig, size_t sig_len);
    int (*mac_verify)(void *ctx, int32_t cose_alg, const bootref_key_t *key,
                      const uint8_t *msg, size_t msg_len,
                      const uint8_t *tag, size_t tag_len);

    int (*read_image)(void *ctx, uint8_t component, uint64_t offset,
                      uint8_t *buf, size_t len, size_t *got);
    uint8_t image_exact;

    int (*counter_read)(void *ctx, uint64_t *value);
    int (*identity)(void *ctx, bootref_identity_t *id);

    int (*component_slot)(void *ctx, uint8_t component, uint64_t *slot); /* optional */
    int (*action)(void *ctx, const bootref_action_t *a);                 /* optional */
    const struct bootref_dec_port *dec; /* optional: payload decryption (bootref_decrypt.h) */
    /* optional: current time in seconds since 1970-01-01 UTC, for the expiry of
     * delegations. OK with *now set, or UNAVAILABLE: no trusted time source (see
     * BOOTREF_DELEG_ALLOW_NO_TIME). NULL = no time source. */
    int (*time_now)(void *ctx, int64_t *now);
    /* optional: trust-domains delegation (bootref_delegation.h); NULL = an
     * envelope with a delegation member (key 1) is refused as before. */
    const struct bootref_deleg_port *deleg;
#if BOOTREF_REQUIRE_ALGS
    /* optional: algorithms that must each have a verified block (see above); only
     * in builds with the rule, so a port that needs it does not compile without it */
    const int32_t *require_algs;
    size_t n_require_algs;
#endif
#if BOOTREF_WITH_UM
    /* optional: update management inputs (see above); NULL = none */
    const bootref_um_port_t *um;
#endif
} bootref_port_t;

#ifdef __cplusplus
}
#endif

#endif /* BOOTREF_PORT_H */
