/*
 * fuzz_boot.c - libFuzzer target for the boot flow (src/boot.c).
 *
 * Input: [flags][cut][seq 8 bytes LE][envelope...]. The harness builds a flash
 * with two slots in RAM: slot (flags & 1) holds the envelope and a trailer whose
 * image record has a correct CRC (a fuzzer cannot forge CRC-32) and flags
 * tried/confirmed/bad from flags bits 1-3; the other slot's trailer state comes
 * from bits 4-6. The signature hook accepts everything, so fuzzed envelopes get
 * past authentication. Then, with power cut after `cut` flash operations
 * (cut == 0: never), it runs: select, confirm, install of the same envelope
 * (payload: a fixed image); then, powered again, select once more. The flash model aborts on any rule a
 * real part would break (misaligned or out-of-range access, writing a location
 * twice without an erase), so the fuzzer finds those too.
 *
 * Build: make fuzz-boot (clang). With -DBOOTREF_FUZZ_STANDALONE it gets a
 * main() that replays files (used by the gcc sanitizer tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootref_boot.h"
#include "bootref_soft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECTOR 256u
#define WRITE 8u
#define SLOT_SECTORS 21u /* 16 envelope + 4 image + 1 trailer */
#define SLOT_SIZE (SECTOR * SLOT_SECTORS)
#define FLASH_SIZE (2u * SLOT_SIZE)

static uint8_t flash[FLASH_SIZE];
static uint8_t written[FLASH_SIZE / WRITE];
static unsigned ops, cut;
static unsigned long booted; /* inputs after which a slot verified and booted (replay statistics) */
static uint64_t counter;
static const uint8_t payload[700] = {7, 7, 7};
static const uint8_t vendor[16] = {0xfa, 0x6b, 0x4a, 0x53, 0xd5, 0xad, 0x5f, 0xdf,
                                   0xbe, 0x9d, 0xe6, 0x63, 0xe4, 0xd4, 0x1f, 0xfe};
static const uint8_t klass[16] = {0x14, 0x92, 0xaf, 0x14, 0x25, 0x69, 0x5e, 0x48,
                                  0xbf, 0x42, 0x9b, 0x2d, 0x51, 0xf2, 0xab, 0x45};

static int power(void)
{
    if (cut != 0u && ops >= cut)
        return 0;
    ops++;
    return 1;
}

static int f_read(void *ctx, uint32_t addr, uint8_t *buf, size_t len)
{
    (void)ctx;
    if (addr > FLASH_SIZE || len > FLASH_SIZE - addr)
        abort();
    memcpy(buf, flash + addr, len);
    return BOOTREF_PORT_OK;
}

static int f_write(void *ctx, uint32_t addr, const uint8_t *buf, size_t len)
{
    size_t i;
    (void)ctx;
    if (addr % WRITE || len % WRITE || len == 0u || addr > FLASH_SIZE || len > FLASH_SIZE - addr)
        abort();
    for (i = addr / WRITE; i < (addr + len) / WRITE; i++)
        if (written[i])
            abort(); /* programmed twice without an erase */
    if (!power())
        return BOOTREF_PORT_ERROR;
    memcpy(flash + addr, buf, len);
    memset(written + addr / WRITE, 1, len / WRITE);
    return BOOTREF_PORT_OK;
}

static int f_erase(void *ctx, uint32_t addr)
{
    (void)ctx;
    if (addr % SECTOR || addr >= FLASH_SIZE)
        abort();
    if (!power())
        return BOOTREF_PORT_ERROR;
    memset(flash + addr, 0xff, SECTOR);
    memset(written + addr / WRITE, 0, SECTOR / WRITE);
    return BOOTREF_PORT_OK;
}

static int c_read(void *ctx, uint64_t *v)
{
    (void)ctx;
    *v = counter;
    return BOOTREF_PORT_OK;
}

static int c_advance(void *ctx, uint64_t v)
{
    (void)ctx;
    if (!power())
        return BOOTREF_PORT_ERROR;
    if (v > counter)
        counter = v;
    return BOOTREF_PORT_OK;
}

static int fetch(void *ctx, const uint8_t *uri, size_t uri_len, uint64_t off, uint8_t *buf, size_t len,
                 size_t *got)
{
    (void)ctx;
    (void)uri;
    (void)uri_len;
    *got = 0;
    if (off < sizeof payload) {
        *got = sizeof payload - (size_t)off < len ? sizeof payload - (size_t)off : len;
        memcpy(buf, payload + off, *got);
    }
    return BOOTREF_PORT_OK;
}

static int accept_sig(void *ctx, int32_t alg, const bootref_key_t *key, const uint8_t *msg,
                      size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    (void)ctx; (void)alg; (void)key; (void)msg; (void)msg_len; (void)sig; (void)sig_len;
    return BOOTREF_PORT_OK;
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    size_t i;
    unsigned k;
    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8u; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* trailer of slot s: image record (correct CRC) and flags from bits 0-2 of f */
static void trailer(unsigned s, uint32_t env_len, uint64_t seq, unsigned f)
{
    uint8_t *t = flash + s * SLOT_SIZE + SLOT_SIZE - SECTOR;
    put32(t, 0x31495242u);
    put32(t + 4, env_len);
    put32(t + 8, (uint32_t)sizeof payload);
    put32(t + 12, 0);
    put32(t + 16, (uint32_t)seq);
    put32(t + 20, (uint32_t)(seq >> 32));
    put32(t + 24, crc32(t, 24));
    memset(t + 28, 0, 4);
    memset(written + (t - flash) / WRITE, 1, 32 / WRITE);
    for (unsigned k = 0; k < 3u; k++) {
        if (f & (1u << k)) {
            memset(t + 32u * (k + 1u), 0, 32);
            memset(written + (t + 32u * (k + 1u) - flash) / WRITE, 1, 32 / WRITE);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bootref_soft_t port;
    static bootref_boot_t boot;
    static bootref_boot_port_t bp;
    static const bootref_key_t keys[1] = {{BOOTREF_KEY_P256, NULL, 0, NULL}};
    bootref_boot_result_t r;
    unsigned s, flags;
    uint64_t seq = 0;
    size_t env_len, i;
    const uint8_t *env;

    if (size < 10u || size - 10u > BOOTREF_MAX_ENVELOPE_SIZE)
        return 0;
    flags = data[0];
    for (i = 0; i < 8u; i++)
        seq |= (uint64_t)data[2 + i] << (8u * i);
    env = data + 10;
    env_len = size - 10u;

    memset(flash, 0xff, sizeof flash);
    memset(written, 0, sizeof written);
    s = flags & 1u;
    memcpy(flash + s * SLOT_SIZE, env, env_len);
    memset(written + s * SLOT_SIZE / WRITE, 1, (env_len + WRITE - 1u) / WRITE);
    memcpy(flash + s * SLOT_SIZE + 16u * SECTOR, payload, sizeof payload);
    memset(written + (s * SLOT_SIZE + 16u * SECTOR) / WRITE, 1, sizeof payload / WRITE + 1u);
    if (env_len > 0u)
        trailer(s, (uint32_t)env_len, seq, (flags >> 1) & 7u);
    if (flags & 0x80u)
        trailer(s ^ 1u, (uint32_t)env_len, seq + 1u, (flags >> 4) & 7u); /* no envelope there */
    counter = seq & 3u;
    ops = 0;
    cut = data[1];

    bootref_soft_init(&port, keys, 1);
    port.port.sig_verify = accept_sig;
    port.id.vendor_id = vendor;
    port.id.class_id = klass;
    memset(&bp, 0, sizeof bp);
    bp.sector_size = SECTOR;
    bp.write_size = WRITE;
    bp.slot_addr[0] = 0;
    bp.slot_addr[1] = SLOT_SIZE;
    bp.slot_size = SLOT_SIZE;
    bp.flash_read = f_read;
    bp.flash_write = f_write;
    bp.flash_erase = f_erase;
    bp.counter_read = c_read;
    bp.counter_advance = c_advance;
    bp.fetch = fetch;
    if (bootref_boot_init(&boot, &port.port, &bp) != BOOTREF_OK)
        abort();
    (void)bootref_boot_select(&boot, &r);
    (void)bootref_boot_confirm(&boot);
    (void)bootref_boot_install(&boot, env, env_len, NULL);
    cut = 0; /* power is back for the last boot */
    if (bootref_boot_select(&boot, &r) == BOOTREF_OK)
        booted++;
    return 0;
}

#ifdef BOOTREF_FUZZ_STANDALONE
static uint8_t buf[BOOTREF_MAX_ENVELOPE_SIZE + 11u];

int main(int argc, char **argv)
{
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
    printf("replayed %d inputs, %lu booted\n", argc - 1, booted);
    return 0;
}
#endif
