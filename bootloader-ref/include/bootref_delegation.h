/*
 * bootref_delegation.h - delegated signing keys (draft-ietf-suit-trust-domains,
 * SUIT envelope member 1 "delegation"), as fwsign issues them (docs/keys.md s5).
 *
 * The device trusts only its provisioned anchors (bootref_port_t.keys). An
 * anchor, kept offline, issues a CWT (RFC 8392) that binds an online signing
 * key for a limited time and scope; the envelope carries the chain
 *     delegation = bstr .cbor [ + [ + bstr .cbor CWT ] ]     (1..4 chains, each 1..3 links)
 * and the core then accepts an authentication block signed by a delegated key.
 *
 * Each CWT is a tagged COSE_Sign1 (18) with an attached payload (the claims),
 * an empty unprotected header and a protected header holding only alg and kid
 * (the issuer's key id). Claims: iss (1, the issuer's kid in lower-case hex,
 * required), sub (2), exp (4, required), nbf (5), iat (6), cnf (8, exactly
 * {1: COSE_Key}: OKP/Ed25519 or EC2/P-256 with 32-byte coordinates) and the
 * private-use scope claim -65537 {? 1: vendor-id (16 bytes), ? 2: [1*64 class-id]}.
 * No other claim is accepted.
 *
 * Rules (each failure rejects the whole envelope, with the reason of the Python
 * verifier, fwsign/delegation.py):
 *   - the first link verifies with a trust anchor of the algorithm's key type
 *     (selected by kid when the anchor has one) and its iss names that kid;
 *     every later link is signed by the key the previous link confirmed (its
 *     kid is the RFC 9679 thumbprint, first 8 bytes, as fwsign computes it)
 *     -> BOOTREF_E_DELEG_INVALID, as are malformed CWTs and too many links;
 *   - the time from port->time_now lies in [nbf, exp) -> BOOTREF_E_DELEG_EXPIRED
 *     (no time source: refused unless BOOTREF_DELEG_ALLOW_NO_TIME);
 *   - a link may only narrow its issuer's scope -> BOOTREF_E_DELEG_SCOPE;
 *   - every key of every link joins the candidates for the authentication
 *     blocks (after the anchors; a block's kid selects among them);
 *   - every delegated key whose block verified (every block is examined) must
 *     be scoped to the manifest: each vendor/class id that a vendor-/class-
 *     identifier condition made during bootref_run() compared (passed, or
 *     skipped in host mode) lies in its scope -> BOOTREF_E_DELEG_SCOPE. The
 *     interpreter calls `scope` as it makes the condition (docs/processing-model.md
 *     section 9); rule R1 there makes sure each sequence run makes both.
 *     A delegation is therefore only fully checked by bootref_run().
 *
 * Integration: link src/delegation.c, keep one bootref_deleg_state_t in RAM,
 * and point the verifier port at a bootref_deleg_port_t:
 *
 *     static bootref_deleg_state_t deleg_state;
 *     static const bootref_deleg_port_t deleg = BOOTREF_DELEG_PORT(&deleg_state);
 *     port.deleg = &deleg;          port.time_now = rtc_seconds;
 *
 * and make sig_verify accept BOOTREF_KEY_RAW keys (bootref_port.h). Without
 * port.deleg the core never references this file (it is not linked).
 */
#ifndef BOOTREF_DELEGATION_H
#define BOOTREF_DELEGATION_H

#include <stddef.h>
#include <stdint.h>

#include "bootref.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BOOTREF_DELEG_MAX_KEYS (BOOTREF_DELEG_MAX_CHAIN * BOOTREF_DELEG_MAX_CHAINS)
#define BOOTREF_DELEG_KID_BYTES 8u
/* Sig_structure of one CWT: 0x84, "Signature1", protected, h'', payload. */
#define BOOTREF_DELEG_TBS_MAX (BOOTREF_DELEG_MAX_CWT + 16u)
/* Trust anchors a port with delegation may provision (copied into the state's
 * key table ahead of the delegated keys). */
#ifndef BOOTREF_DELEG_MAX_ANCHORS
#define BOOTREF_DELEG_MAX_ANCHORS 8u
#endif

#if BOOTREF_DELEG_MAX_CWT < 128u
#error "BOOTREF_DELEG_MAX_CWT below 128 bytes cannot hold a CWT (and the thumbprint scratch)"
#endif
#if BOOTREF_DELEG_MAX_KEYS + BOOTREF_DELEG_MAX_ANCHORS > 255u
#error "at most 255 keys in all (counted in a byte)"
#endif

/* What the verifier learns from the delegation member of the envelope being
 * verified, filled by bootref_delegation_check(); spans point into the caller's
 * envelope buffer. While it holds a verified delegation, the core checks the
 * authentication blocks with key[0..n) (ctx->keys): the port's anchors, then
 * the delegated keys. */
typedef struct bootref_deleg_state {
    uint8_t n;                                          /* keys in key[] */
    uint8_t n_anchors;                                  /* key[0..n_anchors): the port's anchors */
    bootref_key_t key[BOOTREF_DELEG_MAX_ANCHORS + BOOTREF_DELEG_MAX_KEYS];
    /* per delegated key j = i - n_anchors: */
    uint8_t raw[BOOTREF_DELEG_MAX_KEYS][64];            /* x||y or the Ed25519 key */
    uint8_t kid[BOOTREF_DELEG_MAX_KEYS][BOOTREF_DELEG_KID_BYTES];
    const uint8_t *vendor[BOOTREF_DELEG_MAX_KEYS];      /* 16 bytes, or NULL: any vendor */
    const uint8_t *classes[BOOTREF_DELEG_MAX_KEYS];     /* first of n_classes 17-byte bstrs, or NULL */
    uint8_t n_classes[BOOTREF_DELEG_MAX_KEYS];
    uint8_t tbs[BOOTREF_DELEG_TBS_MAX];                 /* Sig_structure being verified */
} bootref_deleg_state_t;

typedef struct bootref_deleg_port {
    bootref_deleg_state_t *state;
    /* The core's one entry point: member != NULL right after the manifest digest
     * matched (verify the chains, extend ctx->keys); member == NULL after the
     * authentication blocks and severed members (scope of the keys that signed). */
    bootref_err_t (*check)(bootref_ctx_t *c, const uint8_t *member, size_t len);
    /* The interpreter made a vendor (kind 0) or class (kind 1) identifier
     * condition comparing id[0..len): OK if it lies in the scope of every
     * delegated key that verified a block, else BOOTREF_E_DELEG_SCOPE. */
    bootref_err_t (*scope)(bootref_ctx_t *c, unsigned kind, const uint8_t *id, size_t len);
} bootref_deleg_port_t;

bootref_err_t bootref_delegation_check(bootref_ctx_t *c, const uint8_t *member, size_t len);
bootref_err_t bootref_delegation_scope(bootref_ctx_t *c, unsigned kind, const uint8_t *id, size_t len);

#define BOOTREF_DELEG_PORT(state) { (state), bootref_delegation_check, bootref_delegation_scope }

#ifdef __cplusplus
}
#endif

#endif /* BOOTREF_DELEGATION_H */
