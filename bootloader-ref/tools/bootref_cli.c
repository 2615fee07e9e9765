/*
 * bootref_cli.c - host command-line front end of the reference verifier.
 *
 *   bootref verify --trust KEY.pem [--trust KEY2.pem] [--hmac-key FILE]
 *                  [--vendor-id UUID --class-id UUID --device-id UUID]
 *                  [--min-sequence N] [--now EPOCH|none] [--decrypt-key KEY]
 *                  [--require-alg ALG ...] ENVELOPE [IMAGE]
 *
 * Prints one line per check, then "OK" or "REJECTED: <reason>: <detail>".
 * Host mode of docs/processing-model.md (bootref_host_verify(), host_model.c):
 * trust anchors carry fwsign's key ids; component 0's content is IMAGE or the
 * integrated payload its fetch names (both given: they must be equal); an
 * integrated payload no uri names is refused; with --decrypt-key, an encrypted
 * component 0 is decrypted first, through the decryption port operations the
 * boot flow uses (bootref_decrypt.h), and image-match checks the plaintext;
 * without one, an encrypted IMAGE is not checked.
 * Exit status: 0 valid, 1 rejected, 2 usage error or unreadable input.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootref.h"
#include "bootref_host.h"

static void usage(FILE *f)
{
    fputs("usage: bootref verify --trust KEY.pem [--trust KEY2.pem] [--hmac-key FILE]\n"
          "                      [--vendor-id UUID] [--class-id UUID] [--device-id UUID]\n"
          "                      [--min-sequence N] [--now EPOCH|none] [--decrypt-key KEY]\n"
          "                      [--require-alg ALG ...] ENVELOPE [IMAGE]\n"
          "\n"
          "Verifies a binary SUIT envelope (draft-ietf-suit-manifest-34) against the given\n"
          "trust anchors (P-256 or Ed25519 PEM public keys; HSS-LMS or ML-DSA COSE_Key files;\n"
          "raw HMAC-SHA256 key files). --require-alg (a COSE algorithm id, repeatable): a block\n"
          "with each of these algorithms must verify (hybrid: e.g. -19 and -46).\n"
          "then runs the manifest's command sequences' conditions. Conditions whose\n"
          "inputs are not given (identity, image, slot) are reported as skipped.\n"
          "Trust anchors carry the key id fwsign gives them (RFC 9679 thumbprint, 8 bytes): an\n"
          "authentication block whose kid names none of them is ignored.\n"
          "IMAGE is component 0's image, checked by image-match (digest and size); the manifest\n"
          "must compare it. Without IMAGE, an integrated payload (\"#name\" in the envelope) that\n"
          "component 0's fetch names is its image; with both, they must be equal. An integrated\n"
          "payload that no uri parameter names is refused.\n"
          "An envelope may carry a delegation chain (trust domains) from a trust anchor to\n"
          "its signing key; --now gives the time its expiry is checked against (seconds\n"
          "since the epoch; default: this host's clock; 'none': no time source, which\n"
          "refuses delegations).\n"
          "--decrypt-key KEY (repeatable; X25519 or P-256 private key PEM, or a key-encryption\n"
          "key: fwsign's KEK PEM or 16/32 raw bytes): when the manifest gives component 0's\n"
          "fetch an encryption info, IMAGE is the ciphertext; it is decrypted (AEAD tag\n"
          "checked) and image-match checks the plaintext. Without a decryption key an\n"
          "encrypted IMAGE is not checked (its image-match is skipped).\n"
          "Exit status: 0 valid, 1 rejected, 2 usage error or unreadable input.\n",
          f);
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "bootref: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    usage(stderr);
    return 2;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe" or 32 hex digits. */
static int parse_uuid(const char *s, uint8_t out[16])
{
    size_t n = strlen(s), i, j = 0;
    int dashed = n == 36u;
    if (n != 36u && n != 32u)
        return -1;
    for (i = 0; i < n;) {
        int hi, lo;
        if (dashed && (i == 8u || i == 13u || i == 18u || i == 23u)) {
            if (s[i] != '-')
                return -1;
            i++;
            continue;
        }
        if (i + 1u >= n || j >= 16u)
            return -1;
        hi = hexval(s[i]);
        lo = hexval(s[i + 1u]);
        if (hi < 0 || lo < 0)
            return -1;
        out[j++] = (uint8_t)(hi * 16 + lo);
        i += 2u;
    }
    return j == 16u ? 0 : -1;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end = NULL;
    unsigned long long x;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || end == NULL || *end != '\0')
        return -1;
    *v = (uint64_t)x;
    return 0;
}

static const char *status_word(bootref_ev_status_t st)
{
    switch (st) {
    case BOOTREF_EV_OK: return "ok";
    case BOOTREF_EV_SKIPPED: return "skipped";
    case BOOTREF_EV_FAILED: return "FAILED";
    case BOOTREF_EV_NOT_EXECUTED: return "not-executed";
    }
    return "?";
}

static void reporter(void *user, const bootref_event_t *ev)
{
    const char *what = ev->what != NULL ? ev->what : "check";
    const char *note = ev->note != NULL ? ev->note : "";
    (void)user;
    if (strcmp(what, "sequence") == 0 || strcmp(what, "severed-member") == 0) {
        const char *name = ev->value == 16 ? "payload-fetch" : ev->value == 20 ? "install"
                           : ev->value == 7 ? "validate" : ev->value == 8 ? "load"
                           : ev->value == 9 ? "invoke" : ev->value == 23 ? "text" : "?";
        printf("%-12s %s %s: %s\n", status_word(ev->status), what, name, note);
    } else if (strcmp(what, "authentication") == 0 && ev->status == BOOTREF_EV_OK) {
        printf("%-12s %s (COSE alg %d, trust anchor %d): %s\n", status_word(ev->status), what,
               (int)ev->value, ev->component, note);
    } else if (strcmp(what, "sequence-number") == 0) {
        printf("%-12s %s %d: %s\n", status_word(ev->status), what, (int)ev->value, note);
    } else if (ev->component >= 0) {
        if (ev->status == BOOTREF_EV_SKIPPED && strstr(what, "identifier") != NULL)
            note = "not given on the command line";
        else if (ev->status == BOOTREF_EV_SKIPPED && strstr(what, "image-match") != NULL)
            note = "no IMAGE given for this component";
        printf("%-12s %s (component %d): %s\n", status_word(ev->status), what, ev->component,
               note);
    } else {
        printf("%-12s %s: %s\n", status_word(ev->status), what, note);
    }
}

/* Read a whole file of at most max bytes; *len = max + 1 if it is longer
 * (the core then rejects it as limit-exceeded). */
static int read_file(const char *path, uint8_t *buf, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (f == NULL)
        return -1;
    n = fread(buf, 1, max + 1u, f);
    if (ferror(f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    *len = n;
    return 0;
}

static bootref_ctx_t ctx;                               /* static: like on a device */
static uint8_t envelope[BOOTREF_MAX_ENVELOPE_SIZE + 1u];

int main(int argc, char **argv)
{
    bootref_host_t *h;
    const char *env_path = NULL, *img_path = NULL;
    char err[512];
    size_t env_len = 0;
    int i, n_anchors = 0, rc;
    bootref_err_t e;

    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "verify") != 0)
        return usage_error("expected the 'verify' command", NULL);

    h = bootref_host_new();
    if (h == NULL) {
        fputs("bootref: out of memory\n", stderr);
        return 2;
    }
    rc = 2;
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--trust") == 0 || strcmp(a, "--hmac-key") == 0) {
            int r;
            if (!has_val) {
                rc = usage_error("missing value for", a);
                goto out;
            }
            r = strcmp(a, "--trust") == 0 ? bootref_host_add_key_file(h, argv[++i], err, sizeof err)
                                           : bootref_host_add_hmac_file(h, argv[++i], err, sizeof err);
            if (r != 0) {
                fprintf(stderr, "bootref: %s\n", err);
                goto out;
            }
            n_anchors++;
        } else if (strcmp(a, "--decrypt-key") == 0) {
            if (!has_val) {
                rc = usage_error("missing value for", a);
                goto out;
            }
            if (bootref_host_add_decrypt_key_file(h, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "bootref: %s\n", err);
                goto out;
            }
        } else if (strcmp(a, "--vendor-id") == 0 || strcmp(a, "--class-id") == 0 ||
                   strcmp(a, "--device-id") == 0) {
            uint8_t id[16];
            if (!has_val || parse_uuid(argv[i + 1], id) != 0) {
                rc = usage_error("expected a UUID after", a);
                goto out;
            }
            bootref_host_set_identity(h, a[2] == 'v' ? 1 : a[2] == 'c' ? 2 : 3, id);
            i++;
        } else if (strcmp(a, "--require-alg") == 0) {
            /* the "all of these algorithms" rule: a COSE algorithm id, repeatable */
            char *end = NULL;
            long v = has_val ? strtol(argv[i + 1], &end, 10) : 0;
            if (!has_val || end == argv[i + 1] || *end != '\0' || v < INT32_MIN || v > INT32_MAX ||
                bootref_host_require_alg(h, (int32_t)v) != 0) {
                rc = usage_error("expected a COSE algorithm id (at most 8) after", a);
                goto out;
            }
            i++;
        } else if (strcmp(a, "--min-sequence") == 0) {
            uint64_t v;
            if (!has_val || parse_u64(argv[i + 1], &v) != 0) {
                rc = usage_error("expected a non-negative integer after", a);
                goto out;
            }
            bootref_host_set_counter(h, v);
            i++;
        } else if (strcmp(a, "--now") == 0) {
            uint64_t v;
            if (has_val && strcmp(argv[i + 1], "none") == 0) {
                bootref_host_set_time(h, BOOTREF_HOST_TIME_NONE, 0);
            } else if (!has_val || parse_u64(argv[i + 1], &v) != 0 || v > (uint64_t)INT64_MAX) {
                rc = usage_error("expected seconds since the epoch or 'none' after", a);
                goto out;
            } else {
                bootref_host_set_time(h, BOOTREF_HOST_TIME_FIXED, (int64_t)v);
            }
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = usage_error("unknown option", a);
            goto out;
        } else if (env_path == NULL) {
            env_path = a;
        } else if (img_path == NULL) {
            img_path = a;
        } else {
            rc = usage_error("too many arguments", a);
            goto out;
        }
    }
    if (env_path == NULL) {
        rc = usage_error("missing ENVELOPE", NULL);
        goto out;
    }
    if (n_anchors == 0) {
        rc = usage_error("give at least one --trust KEY.pem or --hmac-key FILE", NULL);
        goto out;
    }
    if (read_file(env_path, envelope, BOOTREF_MAX_ENVELOPE_SIZE, &env_len) != 0) {
        fprintf(stderr, "bootref: cannot read envelope: %s\n", env_path);
        goto out;
    }
    if (img_path != NULL && bootref_host_set_image(h, img_path, err, sizeof err) != 0) {
        fprintf(stderr, "bootref: %s\n", err);
        goto out;
    }
    bootref_set_reporter(&ctx, reporter, NULL);
    /* A host inspection tool: conditions without inputs are skipped, directives
     * are reported, not executed (the host port has no action), and the host's
     * own rules apply (integrated payloads, encrypted and given images). */
    e = bootref_host_verify(h, &ctx, envelope, env_len, BOOTREF_F_ALLOW_SKIP,
                            BOOTREF_SEQ_PAYLOAD_FETCH | BOOTREF_SEQ_INSTALL | BOOTREF_SEQ_VALIDATE |
                                BOOTREF_SEQ_LOAD | BOOTREF_SEQ_INVOKE);
    if (e == BOOTREF_OK) {
        puts("OK");
        rc = 0;
    } else {
        printf("REJECTED: %s: %s", bootref_reason(e), ctx.detail != NULL ? ctx.detail : "rejected");
        if (ctx.err_command >= 0 || ctx.err_component >= 0) {
            printf(" (");
            if (ctx.err_command >= 0)
                printf("command %d", (int)ctx.err_command);
            if (ctx.err_component >= 0)
                printf("%scomponent %d", ctx.err_command >= 0 ? ", " : "", ctx.err_component);
            printf(")");
        }
        printf(" [%s]\n", bootref_err_name(e));
        rc = 1;
    }
out:
    fflush(stdout);
    bootref_host_free(h);
    return rc;
}
