/*
 * soft_selftest.c - checks the soft port's own SHA-256 and HMAC against the
 * published test vectors, then (optionally) verifies an envelope with it.
 *
 *   bootref-soft-selftest                          known-answer tests only
 *   bootref-soft-selftest ENVELOPE [HMACKEY [IMAGE]]  also verify ENVELOPE
 *
 * Exit status: 0 pass/valid, 1 fail/rejected, 2 unreadable input.
 */
#include <stdio.h>
#include <string.h>

#include "bootref.h"
#include "bootref_soft.h"

static int hex_eq(const uint8_t *d, const char *hex)
{
    char buf[65];
    unsigned i;
    for (i = 0; i < 32u; i++)
        sprintf(buf + 2u * i, "%02x", d[i]);
    return strcmp(buf, hex) == 0;
}

static int kat(void)
{
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and RFC 4231 case 2. */
    static const uint8_t m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    bootref_sha256_t s;
    uint8_t d[32], a[1000];
    unsigned i;
    int fails = 0;

    bootref_sha256_init(&s);
    bootref_sha256_update(&s, (const uint8_t *)"abc", 3);
    bootref_sha256_final(&s, d);
    fails += !hex_eq(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    bootref_sha256_init(&s);
    bootref_sha256_final(&s, d);
    fails += !hex_eq(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    bootref_sha256_init(&s);
    bootref_sha256_update(&s, m448, sizeof m448 - 1u);
    bootref_sha256_final(&s, d);
    fails += !hex_eq(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    memset(a, 'a', sizeof a);
    bootref_sha256_init(&s);
    for (i = 0; i < 1000u; i++)
        bootref_sha256_update(&s, a, sizeof a);
    bootref_sha256_final(&s, d);
    fails += !hex_eq(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    bootref_soft_hmac_sha256((const uint8_t *)"Jefe", 4,
                             (const uint8_t *)"what do ya want for nothing?", 28, d);
    fails += !hex_eq(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    printf("%s soft SHA-256/HMAC known-answer tests\n", fails ? "FAILED" : "ok");
    return fails;
}

static uint8_t env[BOOTREF_MAX_ENVELOPE_SIZE + 1u];
static uint8_t key[64];
static uint8_t image[1u << 20];
static bootref_ctx_t ctx;
static bootref_soft_t port;

static int slurp(const char *path, uint8_t *buf, size_t max, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    *n = fread(buf, 1, max, f);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    /* anchor 0: the HMAC key (if given); anchor 1: a P-256 placeholder that
     * the signature stub is asked about, to show it never says "valid". */
    bootref_key_t anchor[2];
    bootref_soft_hmac_key_t hk;
    size_t env_len = 0, key_len = 0, img_len = 0;
    bootref_err_t e;

    if (kat() != 0)
        return 1;
    if (argc < 2)
        return 0;
    if (slurp(argv[1], env, sizeof env, &env_len) != 0 ||
        (argc > 2 && slurp(argv[2], key, sizeof key, &key_len) != 0) ||
        (argc > 3 && slurp(argv[3], image, sizeof image, &img_len) != 0)) {
        fputs("unreadable input\n", stderr);
        return 2;
    }
    hk.key = key;
    hk.len = key_len;
    memset(anchor, 0, sizeof anchor);
    anchor[0].type = BOOTREF_KEY_HMAC_SHA256;
    anchor[0].handle = &hk;
    anchor[1].type = BOOTREF_KEY_P256;
    bootref_soft_init(&port, argc > 2 ? &anchor[0] : &anchor[1], argc > 2 ? 2u : 1u);
    if (argc > 3) {
        port.image[0].data = image;
        port.image[0].len = img_len;
    }
    e = bootref_verify_envelope(&ctx, &port.port, env, env_len, BOOTREF_F_ALLOW_SKIP);
    if (e == BOOTREF_OK)
        e = bootref_run(&ctx, BOOTREF_SEQ_INSTALL | BOOTREF_SEQ_VALIDATE | BOOTREF_SEQ_LOAD |
                                  BOOTREF_SEQ_INVOKE);
    if (e == BOOTREF_OK) {
        puts("OK");
        return 0;
    }
    printf("REJECTED: %s: %s\n", bootref_reason(e), ctx.detail ? ctx.detail : "");
    return 1;
}
