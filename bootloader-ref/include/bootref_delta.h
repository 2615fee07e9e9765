/*
 * bootref_delta.h - streaming apply of FWD1 delta patches (docs/delta.md).
 *
 * Optional part: devices that take delta updates link src/delta.c and build with
 * BOOTREF_DELTA=1; the core and the lean configuration do not include it.
 *
 * The patch arrives in pieces of any size (bootref_delta_update); the applier
 * reads the source image through read_source and emits the result in order
 * through write_target, in pieces of at most BOOTREF_DELTA_CHUNK bytes. It never
 * allocates: its whole state is one bootref_delta_t (the chunk buffer and a few
 * words), so the RAM of the apply step is fixed at compile time. Every rule of
 * the format is checked as the bytes arrive: an instruction that reads outside
 * the source, writes past the declared target size, or is not well-formed ends
 * the apply with BOOTREF_E_PATCH before anything of it is emitted; a callback
 * that fails ends it with BOOTREF_E_PORT. bootref_delta_finish() then checks
 * that the patch ended exactly with the target complete.
 *
 * Authenticity is not the applier's business: the caller checks the patch's
 * digest and the source's before, and the result's digest after (docs/delta.md).
 */
#ifndef BOOTREF_DELTA_H
#define BOOTREF_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "bootref.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Source bytes read and result bytes emitted per step. The apply step's RAM is
 * sizeof(bootref_delta_t), about this plus 40 bytes. */
#ifndef BOOTREF_DELTA_CHUNK
#define BOOTREF_DELTA_CHUNK 64u
#endif

typedef struct bootref_delta_io {
    void *ctx;
    /* copy len source bytes from offset off into buf; BOOTREF_PORT_OK or an error */
    int (*read_source)(void *ctx, uint32_t off, uint8_t *buf, size_t len);
    /* the next len result bytes, at result offset off (in order, no gaps) */
    int (*write_target)(void *ctx, uint32_t off, const uint8_t *buf, size_t len);
} bootref_delta_io_t;

typedef struct bootref_delta {
    uint32_t source_size; /* from the header; must equal the caller's */
    uint32_t target_size;
    uint32_t out;         /* result bytes emitted */
    uint32_t cur;         /* source cursor */
    uint32_t n;           /* bytes left in the current instruction / varint value */
    uint32_t max_target;
    uint8_t state;        /* internal */
    uint8_t op;
    uint8_t shift;        /* varint: bits read so far */
    uint8_t hn;           /* header bytes read */
    uint8_t hdr[12];
    uint8_t buf[BOOTREF_DELTA_CHUNK];
} bootref_delta_t;

/* Start applying a patch to a source of source_size bytes that may make at most
 * max_target bytes. */
void bootref_delta_begin(bootref_delta_t *d, uint32_t source_size, uint32_t max_target);
/* Consume n patch bytes. */
bootref_err_t bootref_delta_update(bootref_delta_t *d, const bootref_delta_io_t *io,
                                   const uint8_t *in, size_t n);
/* The patch is complete: OK only if its last instruction completed the target. */
bootref_err_t bootref_delta_finish(const bootref_delta_t *d);

#ifdef __cplusplus
}
#endif

#endif /* BOOTREF_DELTA_H */
