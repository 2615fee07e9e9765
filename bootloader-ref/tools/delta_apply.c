/*
 * delta_apply.c - host tool around src/delta.c, for the tests that hold the C
 * applier to the Python one (tests/bootref/test_delta.py) and for trying patches:
 *
 *   bootref-delta-apply SOURCE PATCH OUT [PIECE]
 *
 * feeds PATCH to the applier in pieces of PIECE bytes (default 1: every split
 * point), reading SOURCE and writing the result to OUT. Prints "ok" or the
 * reason and code; exit 0 applied, 1 refused, 2 usage. The result file is
 * written only when the patch applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootref_delta.h"
#include "bootref_port.h"

#define MAX_FILE (4u << 20)

typedef struct {
    const uint8_t *src;
    size_t src_len;
    uint8_t *out;
    size_t out_cap;
} sink_t;

static int rd(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    sink_t *s = ctx;
    if (off > s->src_len || len > s->src_len - off)
        return BOOTREF_PORT_ERROR; /* the applier must never ask for this */
    memcpy(buf, s->src + off, len);
    return BOOTREF_PORT_OK;
}

static int wr(void *ctx, uint32_t off, const uint8_t *buf, size_t len)
{
    sink_t *s = ctx;
    if (off > s->out_cap || len > s->out_cap - off)
        return BOOTREF_PORT_ERROR;
    memcpy(s->out + off, buf, len);
    return BOOTREF_PORT_OK;
}

static uint8_t *load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p;
    if (f == NULL)
        return NULL;
    p = malloc(MAX_FILE);
    if (p != NULL)
        *n = fread(p, 1, MAX_FILE, f);
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    static bootref_delta_t d;
    sink_t s;
    bootref_delta_io_t io;
    uint8_t *src, *patch;
    size_t src_len = 0, patch_len = 0, piece = 1, off;
    bootref_err_t e = BOOTREF_OK;
    FILE *f;

    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: bootref-delta-apply SOURCE PATCH OUT [PIECE]\n");
        return 2;
    }
    if (argc == 5 && (piece = (size_t)strtoul(argv[4], NULL, 10)) == 0u)
        piece = 1;
    src = load(argv[1], &src_len);
    patch = load(argv[2], &patch_len);
    if (src == NULL || patch == NULL) {
        free(src);
        free(patch);
        fprintf(stderr, "cannot read the source or the patch\n");
        return 2;
    }
    s.src = src;
    s.src_len = src_len;
    s.out_cap = MAX_FILE;
    s.out = malloc(MAX_FILE);
    if (s.out == NULL) {
        free(src);
        free(patch);
        return 2;
    }
    io.ctx = &s;
    io.read_source = rd;
    io.write_target = wr;
    bootref_delta_begin(&d, (uint32_t)src_len, MAX_FILE);
    for (off = 0; off < patch_len && e == BOOTREF_OK; off += piece)
        e = bootref_delta_update(&d, &io, patch + off, patch_len - off < piece ? patch_len - off : piece);
    if (e == BOOTREF_OK)
        e = bootref_delta_finish(&d);
    free(src);
    free(patch);
    if (e != BOOTREF_OK) {
        free(s.out);
        printf("%s %d\n", bootref_reason(e), (int)e);
        return 1;
    }
    f = fopen(argv[3], "wb");
    if (f == NULL || fwrite(s.out, 1, d.out, f) != d.out || fclose(f) != 0) {
        free(s.out);
        fprintf(stderr, "cannot write the result\n");
        return 2;
    }
    free(s.out);
    printf("ok %u\n", (unsigned)d.out);
    return 0;
}
