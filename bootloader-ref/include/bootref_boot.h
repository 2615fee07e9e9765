/*
 * bootref_boot.h - the boot flow: two image slots (A/B) in flash, install with
 * verification before activation, secure boot, test-then-confirm with
 * automatic revert, and a per-slot flash trailer that makes every step
 * restartable after a power cut.
 *
 * INTEGRATION CONTRACT (in addition to bootref_port.h)
 * ====================================================
 * The boot flow is a separate object (src/boot.c) on top of the verifier core.
 * It never allocates; all its state is one bootref_boot_t (about 5 KB: it holds
 * a RAM copy of the envelope, BOOTREF_MAX_ENVELOPE_SIZE bytes, so the bytes
 * checked are the bytes used). Keep it static.
 *
 * The device provides a bootref_boot_port_t (storage, counter, payload source)
 * next to the verifier's bootref_port_t (crypto, trust anchors, identity). The
 * boot flow routes the verifier's read_image, component_slot, counter_read and
 * action through the slots; everything else goes to the verifier port.
 *
 * Flash (all addresses are byte addresses in the device's flash space):
 *   flash_read(addr, buf, len)   any alignment.
 *   flash_write(addr, buf, len)  addr and len are multiples of write_size; the
 *                                range was erased since it was last written
 *                                (the boot flow never writes a location twice).
 *   flash_erase(addr)            erase the sector starting at addr to 0xFF.
 *   sector_size                  erase unit; >= 128 and a multiple of 32.
 *   write_size                   program unit: 1, 2, 4, 8, 16 or 32.
 *   slot_addr[0..1], slot_size   two equal slots, sector aligned, each at least
 *                                (envelope sectors + 2) sectors.
 * An operation cut short by power loss may leave its range partly written or
 * partly erased; the boot flow recognises that (see the trailer below).
 *
 * Monotonic counter:
 *   counter_read(value)     the anti-rollback counter.
 *   counter_advance(value)  raise it to value (never lower it; a lower or equal
 *                           value is a no-op). Called only with the sequence
 *                           number of an image that verified and is confirmed.
 *
 * Payload source:
 *   fetch(uri, uri_len, offset, buf, len, got)  copy up to len bytes of the
 *       payload named by uri (a directive-fetch's uri; uri_len 0: the payload
 *       delivered with the envelope) from offset; *got = 0 at the end.
 *
 * SLOT LAYOUT
 *   [envelope area: ceil(BOOTREF_MAX_ENVELOPE_SIZE / sector) sectors]
 *   [image area: the sectors between]
 *   [trailer: the slot's last sector]
 *
 * TRAILER (last sector of each slot; 32-byte records, each written once)
 *   +0   image record: "BRI1", envelope length, image length, 0, sequence
 *        number (u64), CRC-32 of the 24 bytes before it; all little-endian.
 *        Valid CRC = the slot holds a verified envelope and image.
 *   +32  "tried"      the bootloader started a trial boot of this slot.
 *   +64  "confirmed"  the image confirmed itself (bootref_boot_confirm).
 *   +96  "bad"        the slot failed verification or its trial; never boot it.
 *   A flag record counts as set as soon as any of its bytes is not 0xFF, so a
 *   torn write is read the safe way. A torn image record fails its CRC and the
 *   slot is treated as empty.
 *
 * STATES (derived from the trailer)        BOOT DECISION (bootref_boot_select)
 *   EMPTY      no valid image record        1. TRIAL slots: the trial was not
 *   PENDING    image, not tried                confirmed -> write "bad" (revert).
 *   TRIAL      tried, not confirmed         2. PENDING slot: verify envelope and
 *   CONFIRMED  confirmed                       image again; ok -> write "tried",
 *   BAD        bad                             boot it as a trial; else "bad".
 *                                           3. CONFIRMED slots, highest sequence
 *                                              first: verify; ok -> raise the
 *                                              counter to its sequence if lower
 *                                              (resumes a cut confirm), boot it.
 *                                           4. nothing verifies: no-bootable-image.
 *
 * INSTALL (bootref_boot_install): the target is the slot that does not hold
 * the newest confirmed image. While an image is on trial (TRIAL) install is
 * refused (BOOTREF_E_USAGE): confirm it, or reset to revert, first. The envelope is verified in RAM first (rollback:
 * its sequence number must be >= the counter and > the running image's); a
 * rejected envelope costs no flash operation. Then: erase the target's trailer
 * (the slot is EMPTY from here on), erase and write the envelope area, run
 * payload-fetch and install (directive-fetch streams the payload into the image
 * area, erasing sectors as it goes; without a fetch the delivered payload is
 * written), run validate, load and invoke against the written flash (invoke is
 * not executed), and only then write the image record: the slot is PENDING.
 *
 * DELTA (BOOTREF_DELTA=1, docs/delta.md): during an install, component 1 is the
 * running image (the newest confirmed slot), read-only; a directive-fetch with
 * delta-info streams the patch twice from the payload source: first through
 * SHA-256 against the delta-info's size and digest (nothing is written), then
 * through the FWD1 applier, which reads the running slot and writes the target
 * slot's image area in order. The result is checked by the manifest's
 * image-match (validate) before the image record is written, as for any fetch.
 * A power cut during the apply leaves the target EMPTY: the running image, the
 * patch's source, is never written, so the device reverts to it and the update
 * is retried from the start (no resume).
 *
 * A power cut at any point leaves either the old state (target EMPTY or not
 * yet touched; the running image boots) or the new PENDING/TRIAL/CONFIRMED
 * state; in every case the image booted has just been verified.
 */
#ifndef BOOTREF_BOOT_H
#define BOOTREF_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "bootref.h"
#include "bootref_decrypt.h"
#include "bootref_report.h"
#if BOOTREF_DELTA
#include "bootref_delta.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of payload moved per fetch/write step (a buffer in bootref_boot_t).
 * Must be a multiple of 32. */
#ifndef BOOTREF_BOOT_CHUNK
#define BOOTREF_BOOT_CHUNK 256u
#endif

#define BOOTREF_TRAILER_RECORD 32u

typedef struct bootref_boot_port {
    void *ctx;
    uint32_t sector_size;
    uint32_t write_size;
    uint32_t slot_addr[2];
    uint32_t slot_size;
    int (*flash_read)(void *ctx, uint32_t addr, uint8_t *buf, size_t len);
    int (*flash_write)(void *ctx, uint32_t addr, const uint8_t *buf, size_t len);
    int (*flash_erase)(void *ctx, uint32_t addr);
    int (*counter_read)(void *ctx, uint64_t *value);
    int (*counter_advance)(void *ctx, uint64_t value);
    int (*fetch)(void *ctx, const uint8_t *uri, size_t uri_len, uint64_t offset, uint8_t *buf,
                 size_t len, size_t *got);
} bootref_boot_port_t;

enum {
    BOOTREF_SLOT_EMPTY = 0,
    BOOTREF_SLOT_PENDING = 1,
    BOOTREF_SLOT_TRIAL = 2,
    BOOTREF_SLOT_CONFIRMED = 3,
    BOOTREF_SLOT_BAD = 4
};

typedef struct bootref_slot_info {
    uint8_t state;     /* BOOTREF_SLOT_* */
    uint64_t sequence; /* valid unless EMPTY */
    uint32_t env_len;
    uint32_t img_len;
} bootref_slot_info_t;

/* Opaque; public only for static allocation. */
typedef struct bootref_boot {
    const bootref_boot_port_t *bp;
    const bootref_port_t *base;
    bootref_port_t port;             /* base port with storage hooks routed to the slots */
    bootref_ctx_t ctx;
    bootref_slot_info_t slot[2];
    uint8_t cur;                     /* slot being verified or written */
    uint8_t mode;                    /* internal: install or boot */
    uint8_t fetched;
    uint8_t invoked;                 /* last verification ran directive-invoke */
    uint32_t img_len;                /* image bytes in slot `cur` */
    uint32_t erased;                 /* install: image-area bytes erased so far */
    uint32_t env_sectors;
    bootref_err_t fetch_err;         /* why the last payload fetch failed */
    const char *fetch_detail;
    bootref_decrypt_t dec;           /* encrypted payload: decrypted while written */
    uint32_t stage_n;                /* plaintext bytes staged in dbuf */
    uint32_t woff;                   /* plaintext bytes written to the image area */
    uint8_t dbuf[BOOTREF_BOOT_CHUNK];
    uint8_t buf[BOOTREF_BOOT_CHUNK];
#if BOOTREF_REPORT
    bootref_report_t rep;            /* SUIT report of the current install or boot attempt */
    uint8_t rep_verified;            /* the envelope passed bootref_verify_envelope() */
    uint8_t rep_ran;                 /* the error came from bootref_run() */
#endif
    uint8_t env[BOOTREF_MAX_ENVELOPE_SIZE];
#if BOOTREF_DELTA
    /* delta updates (docs/delta.md): the patch applier, and the slot the patch's
     * source is read from during an install (the running image; -1: none) */
    bootref_delta_t delta;
    int8_t src_slot;
#endif
} bootref_boot_t;

typedef struct bootref_boot_result {
    uint8_t slot;      /* slot to start */
    uint8_t trial;     /* 1: first start of a new image; it must confirm itself */
    uint8_t invoke;    /* the manifest's invoke sequence ran directive-invoke */
    uint64_t sequence; /* its manifest sequence number */
} bootref_boot_result_t;

/* Check the geometry and bind the two ports. BOOTREF_E_USAGE if unusable. */
bootref_err_t bootref_boot_init(bootref_boot_t *b, const bootref_port_t *verifier,
                                const bootref_boot_port_t *storage);

/* Re-read both trailers into b->slot[]. */
bootref_err_t bootref_boot_scan(bootref_boot_t *b);

/* Verify and stage an update into the inactive slot (see INSTALL above).
 * env is copied; *slot (may be NULL) receives the target slot. */
bootref_err_t bootref_boot_install(bootref_boot_t *b, const uint8_t *env, size_t env_len,
                                   uint8_t *slot);

/* The slot the next bootref_boot_install() would write (for an updater that must
 * fetch the image built for that slot). */
bootref_err_t bootref_boot_target(bootref_boot_t *b, uint8_t *slot);

/* Decide what to boot (see BOOT DECISION above). BOOTREF_E_NO_IMAGE if nothing
 * verifies: stay in the bootloader (recovery), never start an unverified image. */
bootref_err_t bootref_boot_select(bootref_boot_t *b, bootref_boot_result_t *r);

#if BOOTREF_REPORT
/* SUIT reports (bootref_report.h): after bootref_boot_init(), every install and
 * every boot attempt (each slot verified, and a boot that finds nothing) emits a
 * signed SUIT_Report through `port` (NULL: none). */
void bootref_boot_set_report(bootref_boot_t *b, const bootref_report_port_t *port);
/* The nonce the following reports carry (a collector's challenge); len 0: none. */
bootref_err_t bootref_boot_set_nonce(bootref_boot_t *b, const uint8_t *nonce, size_t len);
#endif

/* Called by the running image once it is healthy: marks its TRIAL slot
 * confirmed, then raises the counter to its sequence number. Idempotent; a
 * no-op (OK) when no slot is on trial. */
bootref_err_t bootref_boot_confirm(bootref_boot_t *b);

#ifdef __cplusplus
}
#endif

#endif /* BOOTREF_BOOT_H */
