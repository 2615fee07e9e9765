/*
 * driver.c - measurement entry point for running bootloader-ref under an
 * instruction-counting emulator (benchmarks/emu/run.py).
 *
 * The host writes the envelope, the image and the identity into the emu_*
 * globals, then calls emu_main(). Every call of a port function goes through a
 * wrapper that writes a marker to EMU_MARK before and after it, so the host can
 * split the instruction count into phases: envelope parsing (the core outside
 * port calls), SHA-256 (manifest digest, image hashing), image reads and the
 * signature check.
 *
 * Signature verification is not measured here for P-256 and Ed25519: the soft
 * port's signature hook is a stub by design (their cycles come from the
 * device's crypto library, cited in the energy profiles). This driver supplies
 * an ACCEPTING stub for them so that the parser and the interpreter behind it
 * are reached. It exists only in this measurement build, never in a device
 * build.
 *
 * The post-quantum build (EMU_PQ, benchmarks/bench_pq.py) verifies for real:
 * HSS-LMS in the core (src/hsslms.c over the soft port's SHA-256, counted in the
 * SHA-256 and parse phases) and ML-DSA with ports/soft/mldsa.c inside the
 * signature hook (the signature phase), with the public key the host writes
 * into emu_pq_key.
 */
#include <string.h>

#include "bootref.h"
#include "bootref_soft.h"
#ifdef EMU_PQ
#include "mldsa.h"
#endif

#define EMU_MARK ((volatile uint32_t *)0x40000000u)

enum {
    M_VERIFY_BEGIN = 1, M_VERIFY_END = 2, M_RUN_END = 3,
    M_SHA_IN = 0x10, M_SHA_OUT = 0x11,
    M_READ_IN = 0x20, M_READ_OUT = 0x21,
    M_SIG_IN = 0x30, M_SIG_OUT = 0x31
};

/* Inputs, written by the host before emu_main() runs. */
const uint8_t *emu_env;
uint32_t emu_env_len;
const uint8_t *emu_img;
uint32_t emu_img_len;
uint32_t emu_flags;
uint32_t emu_sequences;
uint8_t emu_vendor[16];
uint8_t emu_class[16];
#ifdef EMU_PQ
const uint8_t *emu_pq_key;   /* raw public key of the post-quantum trust anchor */
uint32_t emu_pq_key_len;
uint32_t emu_pq_type;        /* BOOTREF_KEY_HSS_LMS or BOOTREF_KEY_MLDSA44/65/87 */
#endif
/* Outputs. */
int32_t emu_verify_result = -1;
int32_t emu_run_result = -1;

int emu_main(void);
void emu_mark(uint32_t v);

__attribute__((noinline)) void emu_mark(uint32_t v)
{
    *EMU_MARK = v;
}

static bootref_soft_t soft;
static bootref_ctx_t ctx;
static const uint8_t pub_p256[64] = {4};
static const uint8_t pub_ed25519[32] = {1};
#ifdef EMU_PQ
static bootref_key_t keys[3] = {
#else
static const bootref_key_t keys[2] = {
#endif
    {BOOTREF_KEY_P256, NULL, 0, pub_p256},
    {BOOTREF_KEY_ED25519, NULL, 0, pub_ed25519},
};

static int (*o_init)(void *);
static int (*o_update)(void *, const uint8_t *, size_t);
static int (*o_final)(void *, uint8_t *);
static int (*o_read)(void *, uint8_t, uint64_t, uint8_t *, size_t, size_t *);

static int w_init(void *c)
{
    int r;
    emu_mark(M_SHA_IN);
    r = o_init(c);
    emu_mark(M_SHA_OUT);
    return r;
}

static int w_update(void *c, const uint8_t *d, size_t n)
{
    int r;
    emu_mark(M_SHA_IN);
    r = o_update(c, d, n);
    emu_mark(M_SHA_OUT);
    return r;
}

static int w_final(void *c, uint8_t out[32])
{
    int r;
    emu_mark(M_SHA_IN);
    r = o_final(c, out);
    emu_mark(M_SHA_OUT);
    return r;
}

static int w_read(void *c, uint8_t comp, uint64_t off, uint8_t *buf, size_t len, size_t *got)
{
    int r;
    emu_mark(M_READ_IN);
    r = o_read(c, comp, off, buf, len, got);
    emu_mark(M_READ_OUT);
    return r;
}

/* Measurement stub (see the file comment): accepts every P-256 / Ed25519 signature;
 * in the post-quantum build, verifies ML-DSA for real. */
int bootref_soft_sig_verify(void *c, int32_t alg, const bootref_key_t *key, const uint8_t *msg,
                            size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    int r = BOOTREF_PORT_OK;
    (void)c; (void)alg; (void)key; (void)msg; (void)msg_len; (void)sig; (void)sig_len;
    emu_mark(M_SIG_IN);
#ifdef EMU_PQ
    if (key->type >= BOOTREF_KEY_MLDSA44 && key->type <= BOOTREF_KEY_MLDSA87)
        r = bootref_mldsa_verify(key->type == BOOTREF_KEY_MLDSA44 ? 44 : key->type == BOOTREF_KEY_MLDSA65 ? 65 : 87,
                                 (const uint8_t *)key->handle, emu_pq_key_len, msg, msg_len, sig, sig_len) == 0
            ? BOOTREF_PORT_OK : BOOTREF_PORT_FAIL;
#endif
    emu_mark(M_SIG_OUT);
    return r;
}

int emu_main(void)
{
    bootref_err_t e;

#ifdef EMU_PQ
    keys[2].type = (uint8_t)emu_pq_type;
    keys[2].handle = emu_pq_key;
    bootref_soft_init(&soft, keys, 3);
#else
    bootref_soft_init(&soft, keys, 2);
#endif
    o_init = soft.port.sha256_init;
    o_update = soft.port.sha256_update;
    o_final = soft.port.sha256_final;
    o_read = soft.port.read_image;
    soft.port.sha256_init = w_init;
    soft.port.sha256_update = w_update;
    soft.port.sha256_final = w_final;
    soft.port.read_image = w_read;
    soft.id.vendor_id = emu_vendor;
    soft.id.class_id = emu_class;
    soft.counter = 0;
    if (emu_img_len > 0u) {
        soft.image[0].data = emu_img;
        soft.image[0].len = emu_img_len;
    }

    emu_mark(M_VERIFY_BEGIN);
    e = bootref_verify_envelope(&ctx, &soft.port, emu_env, emu_env_len, emu_flags);
    emu_mark(M_VERIFY_END);
    emu_verify_result = (int32_t)e;
    if (e == BOOTREF_OK) {
        e = bootref_run(&ctx, emu_sequences);
        emu_run_result = (int32_t)e;
    }
    emu_mark(M_RUN_END);
    return (int)e;
}
