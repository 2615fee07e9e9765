/*
 * bootref_config.h - every limit and option of the reference verifier.
 *
 * The verifier never allocates: each limit sizes a fixed buffer or bounds
 * a loop or a nesting level. A device team may lower or raise them (define the
 * macro before including, or pass -D...), but each has a reason noted next to it
 * (the limits on input in bootref_limits.h, included below).
 * Inputs that exceed a limit are rejected with a BOOTREF_E_LIMIT_* error
 * (reason class "limit-exceeded"), never truncated or partially processed.
 */
#ifndef BOOTREF_CONFIG_H
#define BOOTREF_CONFIG_H

/* The limits on input (envelope size, CBOR depth and map entries, authentication
 * blocks, protected header, components, command nesting and count, delegation) are
 * generated from fwsign/model_tables.toml with the Python verifier's, each as an
 * #ifndef default that -D overrides (docs/processing-model.md section 10). */
#include "bootref_limits.h"

/* Bytes read from the port per call while streaming an image through SHA-256
 * (image-match) or comparing it (check-content). The whole image is never held
 * in memory; this buffer lives in the context, not on the stack. */
#ifndef BOOTREF_IMAGE_CHUNK
#define BOOTREF_IMAGE_CHUNK 64u
#endif

/* 1: diagnostics on: human-readable detail strings, progress events to the
 * reporter, the error-name table (host builds, bring-up). 0: all of that is
 * compiled out to save flash (about 5 KB): bootref_err_name() returns "?",
 * ctx->detail stays NULL and no events are emitted. Error codes, reason
 * classes, ctx->err_command and ctx->err_component remain. */
#ifndef BOOTREF_DETAIL_STRINGS
#define BOOTREF_DETAIL_STRINGS 1
#endif

/* 1: SUIT reports (draft-ietf-suit-report; src/report.c, include/bootref_report.h):
 * the interpreter tells a record hook where it is and what each command gave, and
 * the boot flow builds a signed SUIT_Report for every install and boot attempt.
 * 0 (default): none of it is compiled; the lean core is unchanged. */
#ifndef BOOTREF_REPORT
#define BOOTREF_REPORT 0
#endif

/* A device without a trusted clock (the port's time_now is NULL or answers
 * UNAVAILABLE): 0 (default) refuses every delegation ("delegation-expired"),
 * because nothing bounds how long a leaked delegated key stays usable; 1 accepts
 * delegations without checking exp/nbf, for devices that replace expiry with
 * anti-rollback and re-issuing. A choice for the integrator, never a fallback. */
#ifndef BOOTREF_DELEG_ALLOW_NO_TIME
#define BOOTREF_DELEG_ALLOW_NO_TIME 0
#endif

/* 1: delta updates (docs/delta.md): the delta-info parameter (label -257) is
 * accepted, and a directive-fetch that carries it hands the port a patch against
 * its source-component (bootref_action_t.delta_info). The boot flow then applies
 * it with src/delta.c (bootref_delta.h). 0 (default, the lean configuration):
 * the parameter is refused as unsupported, as any unknown parameter. */
#ifndef BOOTREF_DELTA
#define BOOTREF_DELTA 0
#endif

/* 1: HSS-LMS signatures (RFC 8554, COSE alg -46: the authentication algorithm of
 * SUIT's mandatory profile suit-sha256-hsslms-a256kw-a256ctr) are verified by
 * src/hsslms.c with the port's SHA-256; trust anchors of type
 * BOOTREF_KEY_HSS_LMS. 0 (default): the lean core, which ignores such blocks as
 * an unsupported algorithm. HSS-LMS signatures are 1.3-5 KB: raise
 * BOOTREF_MAX_ENVELOPE_SIZE to fit the parameter sets you sign with (LMS H10
 * with W8 and two levels: 2,964 bytes of signature). */
#ifndef BOOTREF_WITH_HSSLMS
#define BOOTREF_WITH_HSSLMS 0
#endif

/* The smallest LM-OTS Winternitz parameter accepted (1, 2, 4 or 8). The
 * verifier keeps p x 32 bytes of chain ends in the context: 8,480 bytes for
 * W1 (every RFC 8554 parameter set, the default), 4,256 for W2, 2,144 for W4,
 * 1,088 for W8. A device that knows its signer's W may raise it; signatures
 * with a smaller W then fail to verify. */
#ifndef BOOTREF_HSSLMS_MIN_W
#define BOOTREF_HSSLMS_MIN_W 1
#endif
#define BOOTREF_HSSLMS_MAX_P (BOOTREF_HSSLMS_MIN_W <= 1 ? 265u : BOOTREF_HSSLMS_MIN_W <= 2 ? 133u \
                              : BOOTREF_HSSLMS_MIN_W <= 4 ? 67u : 34u)

/* 1: ML-DSA-44/-65/-87 blocks (FIPS 204; COSE algs -48/-49/-50,
 * draft-ietf-cose-dilithium) are handed to the port's sig_verify with trust
 * anchors of type BOOTREF_KEY_MLDSA44/65/87. 0 (default): ignored as an
 * unsupported algorithm. Signatures are 2,420 / 3,309 / 4,627 bytes. */
#ifndef BOOTREF_WITH_MLDSA
#define BOOTREF_WITH_MLDSA 0
#endif

/* 1: the port's require_algs ("all of these algorithms", the hybrid rule of
 * docs/processing-model.md section 5) is enforced. On by default when a
 * post-quantum algorithm is built in, since a hybrid device is one that
 * verifies a classical and a post-quantum signature; the lean core leaves it
 * out (about 100 bytes), and its port has no require_algs member to set. */
#ifndef BOOTREF_REQUIRE_ALGS
#define BOOTREF_REQUIRE_ALGS (BOOTREF_WITH_HSSLMS || BOOTREF_WITH_MLDSA)
#endif

/* Update management (draft-ietf-suit-update-management, docs/processing-model.md
 * section 14): 1 compiles in the conditions use-before, image-not-match,
 * minimum-battery, update-authorized and version, the directives wait,
 * override-multiple and copy-params, their parameters and the manifest member
 * set-version; the port answers through bootref_port_t.um (bootref_port.h).
 * 0 (default, the lean device build): they are refused as unsupported, as before.
 * The host library and CLI are built with 1. */
#ifndef BOOTREF_WITH_UM
#define BOOTREF_WITH_UM 0
#endif

/* Derived: largest to-be-signed structure built in the context.
 * 0x84 + "Signature1" (11) + protected bstr (3 + max) + h'' (1)
 * + bstr-wrapped SUIT_Digest (2 + 1 + 2 + 1 + 2 + 64 for a SHA-512-sized digest). */
#define BOOTREF_TBS_MAX (1u + 11u + 3u + BOOTREF_MAX_PROTECTED_SIZE + 1u + 72u)

#if BOOTREF_MAX_COMPONENTS > 32u || BOOTREF_MAX_COMPONENTS < 1u
#error "BOOTREF_MAX_COMPONENTS must be 1..32 (components are selected with a 32-bit mask)"
#endif

#endif /* BOOTREF_CONFIG_H */
