/*
 * fuzz_envelope.c - libFuzzer target for envelope processing.
 *
 * The first input byte picks a mode:
 *   even: the rest is an envelope, processed with the soft port's real
 *         SHA-256 and an accepting signature hook. Reaches the CBOR decoder,
 *         envelope and COSE parsing, the digest check and (rarely) beyond.
 *   odd:  the rest is a *manifest*; the harness wraps it into an envelope
 *         with the correct digest and a signature the fuzz port accepts, so
 *         that the manifest parser and the command interpreter are reached
 *         on every input (a fuzzer cannot forge SHA-256 itself).
 * Component 0 holds a small image, the identity is fixed, the slot is 1.
 * Bit 3 (8) of the mode byte enables delegation (src/delegation.c): the
 * trust anchors then carry the kid "anchor01" and the clock reads 1.9e9, so a
 * chain whose first CWT names that kid reaches the chain rules and, with a
 * block signed by a delegate's kid, the scope walk of the manifest.
 *
 * Build: make fuzz (clang -fsanitize=fuzzer,address,undefined). With
 * -DBOOTREF_FUZZ_STANDALONE it gets a main() that replays files given on
 * the command line (used by the gcc sanitizer tests); with -v first, it also
 * prints one line per input: the verify and run results, the command and
 * component of the failure, and how many directives reached the port.
 */
#include <stdio.h>
#include <string.h>

#include "bootref.h"
#include "bootref_delegation.h"
#include "bootref_soft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t image[100] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t vendor[16] = {0xfa, 0x6b, 0x4a, 0x53, 0xd5, 0xad, 0x5f, 0xdf,
                                   0xbe, 0x9d, 0xe6, 0x63, 0xe4, 0xd4, 0x1f, 0xfe};
static const uint8_t klass[16] = {0x14, 0x92, 0xaf, 0x14, 0x25, 0x69, 0x5e, 0x48,
                                  0xbf, 0x42, 0x9b, 0x2d, 0x51, 0xf2, 0xab, 0x45};

static int accept_sig(void *ctx, int32_t alg, const bootref_key_t *key, const uint8_t *msg,
                      size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    (void)ctx; (void)alg; (void)key; (void)msg; (void)msg_len; (void)sig; (void)sig_len;
    return BOOTREF_PORT_OK;
}

static int fixed_time(void *ctx, int64_t *now)
{
    (void)ctx;
    *now = 1900000000;
    return BOOTREF_PORT_OK;
}

static int slot(void *ctx, uint8_t component, uint64_t *s)
{
    (void)ctx;
    *s = component == 0u ? 1u : 0u;
    return BOOTREF_PORT_OK;
}

static unsigned actions; /* directives that reached the port, per input */

static int action(void *ctx, const bootref_action_t *a)
{
    (void)ctx;
    (void)a; /* every directive "succeeds": the interpreter continues */
    actions++;
    return BOOTREF_PORT_OK;
}

/* head of a CBOR byte string (major type 2) of length n */
static size_t bstr_head(uint8_t *p, size_t n)
{
    if (n < 24u) { p[0] = (uint8_t)(0x40u | n); return 1; }
    if (n < 256u) { p[0] = 0x58; p[1] = (uint8_t)n; return 2; }
    p[0] = 0x59; p[1] = (uint8_t)(n >> 8); p[2] = (uint8_t)n; return 3;
}

static uint8_t env[BOOTREF_MAX_ENVELOPE_SIZE + 256u];
static bootref_ctx_t ctx;
static int verify_result, run_result;

static size_t wrap_manifest(const uint8_t *m, size_t n)
{
    /* {2: bstr [bstr [-16, h'..32'], bstr 18([h'a10126', {}, nil, h'00*64'])], 3: bstr m} */
    static const uint8_t sign1[] = {0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0, 0xf6, 0x58, 0x40};
    uint8_t auth[1 + 2 + 36 + 2 + sizeof sign1 + 64];
    uint8_t digest[32];
    bootref_sha256_t s;
    size_t a = 0, e = 0;

    /* manifest digest over the bstr-wrapped manifest (draft-34 s8.3) */
    e = bstr_head(env, n);
    bootref_sha256_init(&s);
    bootref_sha256_update(&s, env, e);
    bootref_sha256_update(&s, m, n);
    bootref_sha256_final(&s, digest);

    auth[a++] = 0x82;
    auth[a++] = 0x58; auth[a++] = 36;
    auth[a++] = 0x82; auth[a++] = 0x2f; auth[a++] = 0x58; auth[a++] = 0x20;
    memcpy(auth + a, digest, 32); a += 32;
    auth[a++] = 0x58; auth[a++] = (uint8_t)(sizeof sign1 + 64u);
    memcpy(auth + a, sign1, sizeof sign1); a += sizeof sign1;
    memset(auth + a, 0, 64); a += 64;

    e = 0;
    env[e++] = 0xd8; env[e++] = 0x6b; env[e++] = 0xa2; env[e++] = 0x02;
    e += bstr_head(env + e, a);
    memcpy(env + e, auth, a); e += a;
    env[e++] = 0x03;
    e += bstr_head(env + e, n);
    memcpy(env + e, m, n); e += n;
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bootref_soft_t port;
    static const bootref_key_t keys[2] = {{BOOTREF_KEY_P256, NULL, 0, NULL},
                                          {BOOTREF_KEY_ED25519, NULL, 0, NULL}};
    static const bootref_key_t kid_keys[2] = {{BOOTREF_KEY_P256, (const uint8_t *)"anchor01", 8, NULL},
                                              {BOOTREF_KEY_ED25519, (const uint8_t *)"anchor01", 8, NULL}};
    static bootref_deleg_state_t deleg_state;
    static const bootref_deleg_port_t deleg = BOOTREF_DELEG_PORT(&deleg_state);
    const uint8_t *in;
    size_t len;

    actions = 0;
    verify_result = run_result = -1;
    if (size < 1u || size > BOOTREF_MAX_ENVELOPE_SIZE)
        return 0;
    bootref_soft_init(&port, (data[0] & 8u) ? kid_keys : keys, 2);
    port.port.sig_verify = accept_sig;
    if (data[0] & 8u) {
        port.port.deleg = &deleg;
        port.port.time_now = fixed_time;
    }
    port.port.component_slot = slot;
    port.port.action = (data[0] & 2u) ? action : NULL;
    port.image[0].data = image;
    port.image[0].len = sizeof image;
    port.id.vendor_id = vendor;
    port.id.class_id = klass;
    port.counter = 1;
    if (data[0] & 1u) {
        len = wrap_manifest(data + 1, size - 1u);
        in = env;
    } else {
        in = data + 1;
        len = size - 1u;
    }
    verify_result = (int)bootref_verify_envelope(&ctx, &port.port, in, len,
                                                 (data[0] & 4u) ? BOOTREF_F_ALLOW_SKIP : 0);
    if (verify_result == BOOTREF_OK)
        run_result = (int)bootref_run(&ctx, 0x1fu);
    return 0;
}

#ifdef BOOTREF_FUZZ_STANDALONE
static uint8_t buf[BOOTREF_MAX_ENVELOPE_SIZE + 1u];

int main(int argc, char **argv)
{
    int i, first = 1, verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    if (verbose)
        first = 2;
    for (i = first; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        size_t n;
        if (f == NULL)
            return 2;
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        if (verbose)
            printf("%s: verify %d run %d command %d component %d actions %u\n", argv[i], verify_result,
                   run_result, (int)ctx.err_command, ctx.err_component, actions);
    }
    printf("replayed %d inputs\n", argc - first);
    return 0;
}
#endif
