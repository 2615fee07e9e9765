/*
 * delta.c - the FWD1 patch reader and applier (include/bootref_delta.h; the
 * format is specified in docs/delta.md). A byte-driven state machine: each
 * patch byte moves it on, so the patch may arrive in pieces of any size.
 */
#include <string.h>

#include "bootref_delta.h"
#include "bootref_port.h"

enum { ST_HEADER = 0, ST_OP, ST_LEN, ST_DATA, ST_DONE, ST_FAILED };
enum { OP_COPY = 1, OP_ADD = 2, OP_INSERT = 3, OP_SEEK = 4 };

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

void bootref_delta_begin(bootref_delta_t *d, uint32_t source_size, uint32_t max_target)
{
    memset(d, 0, sizeof *d);
    d->source_size = source_size;
    d->max_target = max_target;
    d->state = ST_HEADER;
}

static bootref_err_t fail(bootref_delta_t *d, bootref_err_t e)
{
    d->state = ST_FAILED;
    return e;
}

/* The instruction's length is known: check it against the source and target. */
static bootref_err_t start(bootref_delta_t *d, const bootref_delta_io_t *io)
{
    uint32_t z;
    if (d->op == OP_SEEK) {
        z = d->n;
        if (z & 1u) { /* zigzag: odd values are negative, -(z+1)/2 */
            z = (z >> 1) + 1u;
            if (z > d->cur)
                return fail(d, BOOTREF_E_PATCH);
            d->cur -= z;
        } else {
            z >>= 1;
            if (z > d->source_size - d->cur)
                return fail(d, BOOTREF_E_PATCH);
            d->cur += z;
        }
        d->state = ST_OP;
        return BOOTREF_OK;
    }
    if (d->n == 0u || d->n > d->target_size - d->out)
        return fail(d, BOOTREF_E_PATCH);
    if (d->op != OP_INSERT && d->n > d->source_size - d->cur)
        return fail(d, BOOTREF_E_PATCH);
    if (d->op != OP_COPY) {
        d->state = ST_DATA;
        return BOOTREF_OK;
    }
    /* COPY carries no data: emit it now, a chunk at a time */
    while (d->n > 0u) {
        size_t k = d->n < sizeof d->buf ? d->n : sizeof d->buf;
        if (io->read_source(io->ctx, d->cur, d->buf, k) != BOOTREF_PORT_OK ||
            io->write_target(io->ctx, d->out, d->buf, k) != BOOTREF_PORT_OK)
            return fail(d, BOOTREF_E_PORT);
        d->cur += (uint32_t)k;
        d->out += (uint32_t)k;
        d->n -= (uint32_t)k;
    }
    d->state = d->out == d->target_size ? ST_DONE : ST_OP;
    return BOOTREF_OK;
}

/* ADD or INSERT data: as much of it as `in` holds and the buffer takes. */
static bootref_err_t data(bootref_delta_t *d, const bootref_delta_io_t *io, const uint8_t *in,
                          size_t n, size_t *used)
{
    size_t k = n < d->n ? n : d->n, i;
    if (k > sizeof d->buf)
        k = sizeof d->buf;
    if (d->op == OP_ADD) {
        if (io->read_source(io->ctx, d->cur, d->buf, k) != BOOTREF_PORT_OK)
            return fail(d, BOOTREF_E_PORT);
        for (i = 0; i < k; i++)
            d->buf[i] = (uint8_t)(d->buf[i] + in[i]);
        d->cur += (uint32_t)k;
    } else {
        memcpy(d->buf, in, k);
    }
    if (io->write_target(io->ctx, d->out, d->buf, k) != BOOTREF_PORT_OK)
        return fail(d, BOOTREF_E_PORT);
    d->out += (uint32_t)k;
    d->n -= (uint32_t)k;
    *used = k;
    if (d->n == 0u)
        d->state = d->out == d->target_size ? ST_DONE : ST_OP;
    return BOOTREF_OK;
}

bootref_err_t bootref_delta_update(bootref_delta_t *d, const bootref_delta_io_t *io,
                                   const uint8_t *in, size_t n)
{
    size_t used;
    uint8_t b;
    bootref_err_t e;

    if (d == NULL || io == NULL || (in == NULL && n > 0u))
        return BOOTREF_E_USAGE;
    while (n > 0u) {
        switch (d->state) {
        case ST_HEADER:
            d->hdr[d->hn++] = *in++;
            n--;
            if (d->hn < sizeof d->hdr)
                break;
            if (memcmp(d->hdr, "FWD1", 4) != 0 || le32(d->hdr + 4) != d->source_size ||
                le32(d->hdr + 8) > d->max_target)
                return fail(d, BOOTREF_E_PATCH);
            d->target_size = le32(d->hdr + 8);
            d->state = d->target_size == 0u ? ST_DONE : ST_OP;
            break;
        case ST_OP:
            b = *in++;
            n--;
            if (b < OP_COPY || b > OP_SEEK)
                return fail(d, BOOTREF_E_PATCH);
            d->op = b;
            d->n = 0;
            d->shift = 0;
            d->state = ST_LEN;
            break;
        case ST_LEN:
            /* LEB128, at most 5 bytes, shortest form, < 2^32 */
            b = *in++;
            n--;
            if (d->shift == 28u && (b & 0xf0u) != 0u)
                return fail(d, BOOTREF_E_PATCH); /* over 32 bits, or a sixth byte */
            if (d->shift > 0u && b == 0u)
                return fail(d, BOOTREF_E_PATCH); /* not the shortest form */
            d->n |= (uint32_t)(b & 0x7fu) << d->shift;
            if (b & 0x80u) {
                d->shift = (uint8_t)(d->shift + 7u);
                break;
            }
            if ((e = start(d, io)) != BOOTREF_OK)
                return e;
            break;
        case ST_DATA:
            if ((e = data(d, io, in, n, &used)) != BOOTREF_OK)
                return e;
            in += used;
            n -= used;
            break;
        default: /* DONE: bytes after the end; FAILED: stays failed */
            return fail(d, BOOTREF_E_PATCH);
        }
    }
    return BOOTREF_OK;
}

bootref_err_t bootref_delta_finish(const bootref_delta_t *d)
{
    if (d == NULL)
        return BOOTREF_E_USAGE;
    return d->state == ST_DONE ? BOOTREF_OK : BOOTREF_E_PATCH;
}
