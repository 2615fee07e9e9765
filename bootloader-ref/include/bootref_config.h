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

/* Derived: largest to-be-signed structure built in the context.
 * 0x84 + "Signature1" (11) + protected bstr (3 + max) + h'' (1)
 * + bstr-wrapped SUIT_Digest (2 + 1 + 2 + 1 + 2 + 64 for a SHA-512-sized digest). */
#define BOOTREF_TBS_MAX (1u + 11u + 3u + BOOTREF_MAX_PROTECTED_SIZE + 1u + 72u)

#if BOOTREF_MAX_COMPONENTS > 32u || BOOTREF_MAX_COMPONENTS < 1u
#error "BOOTREF_MAX_COMPONENTS must be 1..32 (components are selected with a 32-bit mask)"
#endif

#endif /* BOOTREF_CONFIG_H */
