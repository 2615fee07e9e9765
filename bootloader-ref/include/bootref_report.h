/*
 * bootref_report.h - SUIT reports (draft-ietf-suit-report): a signed record of
 * what the boot flow did with a manifest, for every install and boot attempt.
 *
 * Compiled only with BOOTREF_REPORT=1 (bootref_config.h); the lean core is then
 * unchanged. No heap: the report is built in one buffer of BOOTREF_REPORT_MAX_SIZE
 * bytes inside bootref_boot_t, the records in a table of BOOTREF_REPORT_MAX_RECORDS.
 *
 * WHAT A REPORT HOLDS (the SUIT_Report map, deterministic CBOR)
 *   99 suit-reference   [manifest URI, SUIT_Digest]: once the envelope passed
 *                       bootref_verify_envelope(), the manifest's reference URI
 *                       (key 4, "" if absent) and SHA-256 (the digest of the
 *                       authentication wrapper); before that, "" and the SHA-256
 *                       of the envelope as received (a refused envelope is never
 *                       taken at its word). A boot that found no slot to try
 *                       names the empty envelope.
 *   2  suit-report-nonce the nonce set with bootref_report_set_nonce(), if any.
 *   3  suit-report-records  one SUIT_Record [[], section, offset, component, {}]
 *                       for each condition or directive whose reporting policy
 *                       asks for one (bit 0 record-on-success, bit 1
 *                       record-on-failure), the first BOOTREF_REPORT_MAX_RECORDS.
 *                       section: the manifest key of the sequence (3: the shared
 *                       sequence of suit-common); offset: bytes from the start of
 *                       that sequence to its top-level command (a command inside
 *                       try-each/run-sequence is named by the enclosing one).
 *   4  suit-report-result  true, or {5: fwsign's result code, 6: the record of
 *                       where it failed (section 0, offset 0 before any command
 *                       ran), 7: the draft's reason} from src/report_table.h
 *                       (generated from fwsign/model_tables.toml). A boot that
                       verified and is about to start an image its invoke sequence
                       invoked reports {5: 0, 6: ..., 7: 12 invoke-pending}: the
                       report is signed before the image runs.
 *   8  suit-report-capability-report  when asked for, or when the result is an
 *                       unsupported command: what this device processes.
 * It travels as the payload of a COSE_Sign1 (alg -7 ES256 / -8 EdDSA / -19 Ed25519
 * with the device's own key) or a COSE_Mac0 (alg 5, HMAC 256/256), protected
 * header {1: alg, 4: kid}.
 *
 * PORT: the device signs; the boot flow never holds the key.
 *   sign(alg, head, body, sig, cap, *len)  sign (or MAC) head || body, the
 *       Sig_structure / MAC_structure; an ECDSA signature as raw r || s (64 bytes).
 *   emit(kind, report, len)  store or send one finished report (kind 1 install,
 *       2 boot). A failing emit is not an install or boot failure: the report is
 *       lost, the update is not.
 */
#ifndef BOOTREF_REPORT_H
#define BOOTREF_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bootref.h"

#ifdef __cplusplus
extern "C" {
#endif

#if BOOTREF_REPORT

enum { BOOTREF_REPORT_INSTALL = 1u, BOOTREF_REPORT_BOOT = 2u };

typedef struct bootref_report_port {
    void *ctx;
    int32_t alg;          /* COSE algorithm of the device key */
    const uint8_t *kid;   /* key id in the protected header (<= 64 bytes), or NULL */
    size_t kid_len;
    uint8_t capabilities; /* 1: every report carries the capability report */
    int (*sign)(void *ctx, int32_t alg, const uint8_t *head, size_t head_len, const uint8_t *body,
                size_t body_len, uint8_t *sig, size_t sig_cap, size_t *sig_len);
    int (*emit)(void *ctx, unsigned kind, const uint8_t *report, size_t len);
} bootref_report_port_t;

typedef struct bootref_report_rec {
    int32_t section;
    uint32_t offset;
    uint8_t component;
} bootref_report_rec_t;

/* Opaque; public only for static allocation (a member of bootref_boot_t). */
typedef struct bootref_report {
    const bootref_report_port_t *port;
    const bootref_ctx_t *ctx; /* the context the hook reads the position from */
    uint8_t nonce_len;
    uint8_t n_rec;
    uint8_t nonce[BOOTREF_REPORT_MAX_NONCE];
    bootref_report_rec_t rec[BOOTREF_REPORT_MAX_RECORDS];
    uint8_t out[BOOTREF_REPORT_MAX_SIZE];
} bootref_report_t;

/* Start a report: forget the records of the last one. */
void bootref_report_begin(bootref_report_t *r);

/* Attach the record hook to a context that bootref_verify_envelope() accepted
 * (it clears the hook on every call). */
void bootref_report_attach(bootref_report_t *r, bootref_ctx_t *c);

/* The nonce of the following reports (a collector's challenge); len 0: none.
 * BOOTREF_E_LIMIT_SIZE if longer than BOOTREF_REPORT_MAX_NONCE. */
bootref_err_t bootref_report_set_nonce(bootref_report_t *r, const uint8_t *nonce, size_t len);

/* Build, sign and emit the report of one processing that ended with `result`.
 * verified: c holds an envelope bootref_verify_envelope() accepted; ran: the
 * error (if any) came from bootref_run(), so c says where. pending: the result is
 * BOOTREF_OK and the image is about to be invoked (reported as invoke-pending,
 * code 0, with the record of the end of the invoke sequence). sha: a port with the
 * SHA-256 functions. env/env_len: the envelope as received (may be NULL, 0).
 * Returns BOOTREF_OK when the report was emitted; *len its size. */
bootref_err_t bootref_report_finish(bootref_report_t *r, const bootref_port_t *sha, const bootref_ctx_t *c,
                                    unsigned kind, int verified, int ran, const uint8_t *env,
                                    size_t env_len, bootref_err_t result, int pending, size_t *len);

#endif /* BOOTREF_REPORT */

#ifdef __cplusplus
}
#endif

#endif /* BOOTREF_REPORT_H */
