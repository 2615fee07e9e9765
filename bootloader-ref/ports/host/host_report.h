/*
 * host_report.h - the host port's SUIT report signer (ports/host/host_report.c),
 * BOOTREF_REPORT=1 builds only: a device key loaded from a file signs each report and
 * a callback receives it. Allocates; for the simulated device and tests, not devices.
 */
#ifndef BOOTREF_HOST_REPORT_H
#define BOOTREF_HOST_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bootref_report.h"

#if BOOTREF_REPORT

/* The callback that receives each finished report; 0 = kept, anything else = lost. */
typedef int (*bootref_host_emit_fn)(void *user, unsigned kind, const uint8_t *report, size_t len);

typedef struct bootref_host_reporter bootref_host_reporter_t;

/* Load the report key: a PEM private key (P-256: ES256, Ed25519: EdDSA) or a file of
 * 32..64 raw bytes (HMAC 256/256, COSE_Mac0). NULL with a message in err on failure. */
bootref_host_reporter_t *bootref_host_reporter_new(const char *path, char *err, size_t errlen);
void bootref_host_reporter_free(bootref_host_reporter_t *r);
/* Where reports go; capabilities != 0: every report carries the capability report. */
void bootref_host_reporter_set_emit(bootref_host_reporter_t *r, bootref_host_emit_fn fn, void *user,
                                    int capabilities);
/* The port to give bootref_boot_set_report(). */
const bootref_report_port_t *bootref_host_reporter_port(const bootref_host_reporter_t *r);

#endif /* BOOTREF_REPORT */

#endif /* BOOTREF_HOST_REPORT_H */
