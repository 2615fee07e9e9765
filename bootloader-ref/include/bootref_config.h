/*
 * bootref_config.h - every limit of the reference verifier, in one place.
 *
 * The verifier never allocates: each limit below sizes a fixed buffer or bounds
 * a loop or a nesting level. A device team may lower or raise them (define the
 * macro before including, or pass -D...), but each has a reason noted next to it.
 * Inputs that exceed a limit are rejected with a BOOTREF_E_LIMIT_* error
 * (reason class "limit-exceeded"), never truncated or partially processed.
 */
#ifndef BOOTREF_CONFIG_H
#define BOOTREF_CONFIG_H

/* Largest envelope accepted, including severed members kept in the envelope and
 * integrated payloads. The SUIT specification's examples are 161-923 bytes
 * (REFERENCE.md section 3); 4 KiB leaves room for several signatures and text. */
#ifndef BOOTREF_MAX_ENVELOPE_SIZE
#define BOOTREF_MAX_ENVELOPE_SIZE 4096u
#endif

/* Nesting of CBOR containers (arrays, maps, tags) inside one bstr-wrapped item.
 * SUIT's deepest structure that is parsed here (a COSE header map inside a
 * tagged COSE_Sign1 array) needs 3; the text map needs 4. Each level costs
 * one small entry of the well-formedness checker's explicit stack. */
#ifndef BOOTREF_CBOR_MAX_DEPTH
#define BOOTREF_CBOR_MAX_DEPTH 8u
#endif

/* Entries in one CBOR map. Duplicate-key detection compares every key with
 * the ones before it (quadratic), so this bounds the work per map. */
#ifndef BOOTREF_CBOR_MAX_MAP_ENTRIES
#define BOOTREF_CBOR_MAX_MAP_ENTRIES 32u
#endif

/* Authentication blocks (COSE_Sign1 / COSE_Mac0) after the digest in the
 * authentication wrapper. Several blocks occur during key migration. */
#ifndef BOOTREF_MAX_AUTH_BLOCKS
#define BOOTREF_MAX_AUTH_BLOCKS 4u
#endif

/* Bytes of a COSE protected header. The spec examples use 3 (a1 01 26);
 * alg + kid fits easily. It is copied into the to-be-signed buffer. */
#ifndef BOOTREF_MAX_PROTECTED_SIZE
#define BOOTREF_MAX_PROTECTED_SIZE 48u
#endif

/* Components in suit-common. Each component costs a parameter table in the
 * context (about 90 bytes on a 32-bit target). Must be <= 32 (bit mask). */
#ifndef BOOTREF_MAX_COMPONENTS
#define BOOTREF_MAX_COMPONENTS 4u
#endif

/* Nesting of try-each / run-sequence. The interpreter recurses once per level,
 * so this is what bounds the recursion (and the stack) of the interpreter. */
#ifndef BOOTREF_MAX_SEQ_NESTING
#define BOOTREF_MAX_SEQ_NESTING 3u
#endif

/* Commands (label, argument pairs) in one command sequence. */
#ifndef BOOTREF_MAX_COMMANDS
#define BOOTREF_MAX_COMMANDS 64u
#endif

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

/* Trust-domains delegation (src/delegation.c, include/bootref_delegation.h), linked
 * only by devices that accept delegated signing keys. A chain runs from a trust
 * anchor to the signing key; each link is a CWT. The defaults are the Python
 * verifier's (fwsign/delegation.py): at most 3 links per chain, 4 chains. */
#ifndef BOOTREF_DELEG_MAX_CHAIN
#define BOOTREF_DELEG_MAX_CHAIN 3u
#endif
#ifndef BOOTREF_DELEG_MAX_CHAINS
#define BOOTREF_DELEG_MAX_CHAINS 4u
#endif
/* Bytes of one CWT. Its Sig_structure is assembled in the delegation state's
 * buffer (about this size), so this sets that RAM. fwsign's CWTs with one class
 * are about 200 bytes; each further class id adds 17. (Python accepts 2048.) */
#ifndef BOOTREF_DELEG_MAX_CWT
#define BOOTREF_DELEG_MAX_CWT 1024u
#endif
/* Class ids in one scope claim (as fwsign). */
#ifndef BOOTREF_DELEG_MAX_CLASSES
#define BOOTREF_DELEG_MAX_CLASSES 64u
#endif
/* A device without a trusted clock (the port's time_now is NULL or answers
 * UNAVAILABLE): 0 (default) refuses every delegation ("delegation-expired"),
 * because nothing bounds how long a leaked delegated key stays usable; 1 accepts
 * delegations without checking exp/nbf, for devices that replace expiry with
 * anti-rollback and re-issuing. A choice for the integrator, never a fallback. */
#ifndef BOOTREF_DELEG_ALLOW_NO_TIME
#define BOOTREF_DELEG_ALLOW_NO_TIME 0
#endif

/* Derived: largest to-be-signed structure built in the context.
 * 0x84 + "Signature1" (11) + protected bstr (3 + max) + h'' (1)
 * + bstr-wrapped SUIT_Digest (2 + 1 + 2 + 1 + 2 + 64 for a SHA-512-sized digest). */
#define BOOTREF_TBS_MAX (1u + 11u + 3u + BOOTREF_MAX_PROTECTED_SIZE + 1u + 72u)

#if BOOTREF_MAX_COMPONENTS > 32u || BOOTREF_MAX_COMPONENTS < 1u
#error "BOOTREF_MAX_COMPONENTS must be 1..32 (components are selected with a 32-bit mask)"
#endif

#endif /* BOOTREF_CONFIG_H */
