/*
 * fuzz_delta.c - libFuzzer target for the FWD1 patch reader (src/delta.c).
 *
 * Input: byte 0 = piece size - 1 (how the patch is split across update calls),
 * bytes 1..2 = source size (little-endian, at most 4 KiB), the rest = the
 * patch. The source is a fixed pattern. The harness aborts if the applier reads
 * outside the source, emits out of order or past the declared target size, or
 * says OK for a patch whose result length differs from the header's.
 * With -DBOOTREF_FUZZ_STANDALONE a main() replays files given as arguments.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootref_delta.h"
#include "bootref_port.h"

#define SRC_MAX 4096u
#define OUT_MAX 65536u

static uint8_t src[SRC_MAX];
static uint32_t src_len, expect_off;

static int rd(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    (void)ctx;
    if (off > src_len || len > src_len - off || len == 0u || len > BOOTREF_DELTA_CHUNK)
        abort();
    memcpy(buf, src + off, len);
    return BOOTREF_PORT_OK;
}

static int wr(void *ctx, uint32_t off, const uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    if (off != expect_off || len == 0u || len > BOOTREF_DELTA_CHUNK || len > OUT_MAX - off)
        abort();
    expect_off += (uint32_t)len;
    return BOOTREF_PORT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bootref_delta_t d;
    bootref_delta_io_t io = {NULL, rd, wr};
    size_t piece, off;
    uint32_t i;
    bootref_err_t e = BOOTREF_OK;

    if (size < 3u)
        return 0;
    piece = (size_t)data[0] + 1u;
    src_len = ((uint32_t)data[1] | ((uint32_t)data[2] << 8)) % (SRC_MAX + 1u);
    for (i = 0; i < src_len; i++)
        src[i] = (uint8_t)(i * 7u + 3u);
    expect_off = 0;
    data += 3;
    size -= 3;
    bootref_delta_begin(&d, src_len, OUT_MAX);
    for (off = 0; off < size && e == BOOTREF_OK; off += piece)
        e = bootref_delta_update(&d, &io, data + off, size - off < piece ? size - off : piece);
    if (e == BOOTREF_OK && bootref_delta_finish(&d) == BOOTREF_OK && expect_off != d.target_size)
        abort();
    if (expect_off > OUT_MAX)
        abort();
    return 0;
}

#ifdef BOOTREF_FUZZ_STANDALONE
int main(int argc, char **argv)
{
    static uint8_t buf[1u << 16];
    int i;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        size_t n;
        if (f == NULL)
            return 2;
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif
