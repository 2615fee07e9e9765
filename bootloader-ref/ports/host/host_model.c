/*
 * host_model.c - the host mode of docs/processing-model.md around the core:
 * the rules that concern what a host is given (an image file, decryption
 * keys) and the envelope's integrated payloads, which a device never needs and
 * which therefore stay out of the core's flash budget. `bootref verify` and the
 * in-process verifier (fwsign/device/lib.py) both run an envelope through
 * bootref_host_verify(), in the order fwsign's host verifier takes:
 *
 *   1. bootref_verify_envelope() (structure, digest, authentication, severed
 *      members, rollback, validate present);
 *   2. every integrated payload is named by a uri parameter somewhere in the
 *      manifest (section 9), else BOOTREF_E_STRUCTURE ("malformed");
 *   3. a dry run of every sequence with nothing supplied (no identity, no
 *      image, every condition skipped, delegation scope not judged) through
 *      the port's action hook, which learns component 0's fetch uris and the
 *      encryption infos its fetch / copy / write consume;
 *   4. component 0's content: the image given, or the integrated payload that
 *      component 0's first fetch with a "#..." uri names; both given and
 *      different: BOOTREF_E_IMAGE_DIGEST ("image-mismatch");
 *   5. an encrypted component 0 (one encryption info; several are refused as
 *      "unsupported"): with a decryption key its content is decrypted (AEAD
 *      tag checked) and the plaintext is what image-match sees; without one
 *      the content's plaintext is unknown and component 0 has no image;
 *   6. bootref_run() of every sequence; then an image the host had for
 *      component 0 must have been compared by an image-match or check-content
 *      that really ran (section 6, host only), else "image-mismatch".
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootref_decrypt.h"
#include "bootref_host.h"
#include "cbor.h" /* the core's strict decoder */

#define SEQ_ALL (BOOTREF_SEQ_PAYLOAD_FETCH | BOOTREF_SEQ_INSTALL | BOOTREF_SEQ_VALIDATE | BOOTREF_SEQ_LOAD | \
                 BOOTREF_SEQ_INVOKE)
#define WALK_DEPTH (BOOTREF_MAX_SEQ_NESTING + 2u)

enum { CMD_TRY_EACH = 15, CMD_SET_PARAMS = 19, CMD_OVERRIDE = 20, CMD_FETCH = 21, CMD_RUN_SEQ = 32,
       CMD_OVERRIDE_MULTIPLE = 34, PARAM_URI = 21 };

static bootref_err_t fail(bootref_ctx_t *c, bootref_err_t e, const char *detail)
{
    c->detail = detail;
    c->err_command = -1;
    c->err_component = -1;
    return e;
}

/* --- integrated payloads (section 9) ------------------------------------------------------- */

/* Whether the command sequence seq names `name` in a uri parameter of a
 * set-parameters or override-parameters, here or in a try-each option or
 * run-sequence inside it. A sequence that is not well-formed (strict CBOR,
 * canonical maps) names nothing: it is malformed, as fwsign decodes it, and
 * its run refuses it anyway. */
/* One parameters map at d: 1 if a uri in it is `name`, -1 if it cannot be read
 * (the sequence names nothing), 0 otherwise (d after the map). */
static int params_name(cbor_dec_t *d, const uint8_t *name, size_t name_len)
{
    cbor_item_t it;
    size_t j, m;
    int64_t key;

    if (cbor_map(d, &m) != BOOTREF_OK)
        return -1;
    for (j = 0; j < m; j++) {
        if (cbor_int(d, &key) != BOOTREF_OK)
            return -1;
        if (key != PARAM_URI) {
            if (cbor_skip(d) != BOOTREF_OK)
                return -1;
            continue;
        }
        if (cbor_head(d, &it) != BOOTREF_OK)
            return -1;
        if (it.major == CBOR_TSTR && it.val == name_len && memcmp(it.str, name, name_len) == 0)
            return 1;
        if (it.major != CBOR_TSTR && it.major != CBOR_BSTR) {
            d->pos = it.start;
            if (cbor_skip(d) != BOOTREF_OK)
                return -1;
        }
    }
    return 0;
}

static int seq_names(const uint8_t *seq, size_t seq_len, const uint8_t *name, size_t name_len, unsigned depth)
{
    cbor_dec_t d;
    cbor_item_t it;
    size_t n, i, j, m;
    int64_t label;
    int r;

    if (depth > WALK_DEPTH || cbor_wellformed(seq, seq_len) != BOOTREF_OK)
        return 0;
    cbor_init(&d, seq, seq_len);
    if (cbor_array(&d, &n) != BOOTREF_OK)
        return 0;
    for (i = 0; i + 1u < n; i += 2u) {
        if (cbor_int(&d, &label) != BOOTREF_OK)
            return 0;
        if (label == CMD_SET_PARAMS || label == CMD_OVERRIDE) {
            if ((r = params_name(&d, name, name_len)) != 0)
                return r > 0;
#if BOOTREF_WITH_UM
        } else if (label == CMD_OVERRIDE_MULTIPLE) {
            /* {+ component => parameters}: each parameters map as above */
            if (cbor_map(&d, &m) != BOOTREF_OK)
                return 0;
            for (j = 0; j < m; j++) {
                if (cbor_skip(&d) != BOOTREF_OK)
                    return 0;
                if ((r = params_name(&d, name, name_len)) != 0)
                    return r > 0;
            }
#endif
        } else if (label == CMD_TRY_EACH || label == CMD_RUN_SEQ) {
            /* try-each: an array of options; run-sequence: one option */
            m = 1;
            if (label == CMD_TRY_EACH && cbor_array(&d, &m) != BOOTREF_OK)
                return 0;
            for (j = 0; j < m; j++) {
                if (cbor_head(&d, &it) != BOOTREF_OK)
                    return 0;
                if (it.major == CBOR_BSTR) {
                    if (seq_names(it.str, (size_t)it.val, name, name_len, depth + 1u))
                        return 1;
                } else if (it.major != CBOR_TSTR) {
                    d.pos = it.start;
                    if (cbor_skip(&d) != BOOTREF_OK)
                        return 0;
                }
            }
        } else if (cbor_skip(&d) != BOOTREF_OK) {
            return 0;
        }
    }
    return 0;
}

/* Whether any sequence the host runs (shared; payload-fetch and install inline
 * or severed and supplied; validate, load, invoke) names `name`. */
static int manifest_names(const bootref_ctx_t *c, const uint8_t *name, size_t name_len)
{
    unsigned i;
    if (c->shared.p != NULL && seq_names(c->shared.p, c->shared.n, name, name_len, 0))
        return 1;
    for (i = 0; i < 5u; i++)
        if (c->seq[i].p != NULL && seq_names(c->seq[i].p, c->seq[i].n, name, name_len, 0))
            return 1;
    return 0;
}

/* Visit the envelope's text-keyed members (integrated payloads): fn returns
 * nonzero to stop; the value it returned is returned. The envelope decoded
 * strictly in bootref_verify_envelope(), so a decoding failure here ends the walk. */
typedef int (*payload_fn)(void *user, const uint8_t *name, size_t name_len, const uint8_t *data, size_t len);

static int each_payload(const uint8_t *env, size_t env_len, payload_fn fn, void *user)
{
    cbor_dec_t d;
    cbor_item_t it, v;
    size_t n, i;
    int r;

    cbor_init(&d, env, env_len);
    if (cbor_head(&d, &it) != BOOTREF_OK)
        return 0;
    if (it.major != CBOR_TAG)
        d.pos = 0;
    if (cbor_map(&d, &n) != BOOTREF_OK)
        return 0;
    for (i = 0; i < n; i++) {
        if (cbor_head(&d, &it) != BOOTREF_OK)
            return 0;
        if (it.major == CBOR_TSTR) {
            if (cbor_expect(&d, CBOR_BSTR, &v) != BOOTREF_OK)
                return 0;
            if ((r = fn(user, it.str, (size_t)it.val, v.str, (size_t)v.val)) != 0)
                return r;
        } else if (cbor_skip(&d) != BOOTREF_OK) {
            return 0;
        }
    }
    return 0;
}

static int unnamed(void *user, const uint8_t *name, size_t name_len, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    return !manifest_names(user, name, name_len);
}

typedef struct find { const uint8_t *name; size_t name_len; const uint8_t *data; size_t len; } find_t;

static int find_payload(void *user, const uint8_t *name, size_t name_len, const uint8_t *data, size_t len)
{
    find_t *f = user;
    if (name_len != f->name_len || memcmp(name, f->name, name_len) != 0)
        return 0;
    f->data = data;
    f->len = len;
    return 1;
}

/* --- the dry run ---------------------------------------------------------------------------- */

typedef struct dry {
    const uint8_t *env;
    size_t env_len;
    const uint8_t *payload; /* component 0's integrated payload */
    size_t payload_len;
    const uint8_t *enc;     /* the encryption info component 0's writes consume */
    size_t enc_len;
    int several;            /* more than one, and different */
    int delta;              /* component 0's fetch is a patch (BOOTREF_DELTA) */
} dry_t;

static int dry_action(void *ctx, const bootref_action_t *a)
{
    bootref_host_t *h = ctx;
    dry_t *s = h->dry_state;
    if (a->component != 0u)
        return BOOTREF_PORT_OK;
    if (a->command == CMD_FETCH && s->payload == NULL && a->uri_len > 0u && a->uri[0] == '#') {
        find_t f = {a->uri, a->uri_len, NULL, 0};
        if (each_payload(s->env, s->env_len, find_payload, &f)) {
            s->payload = f.data;
            s->payload_len = f.len;
        }
    }
    if (a->delta_info != NULL)
        s->delta = 1;
    if (a->enc_info != NULL) {
        if (s->enc == NULL) {
            s->enc = a->enc_info;
            s->enc_len = a->enc_info_len;
        } else if (a->enc_info_len != s->enc_len || memcmp(a->enc_info, s->enc, s->enc_len) != 0) {
            s->several = 1;
        }
    }
    return BOOTREF_PORT_OK;
}

static bootref_err_t deleg_scope_any(bootref_ctx_t *c, unsigned kind, const uint8_t *id, size_t len)
{
    (void)c;
    (void)kind;
    (void)id;
    (void)len;
    return BOOTREF_OK;
}

/* Run every sequence as fwsign's host verifier observes a manifest: nothing
 * supplied, every condition skipped, directives recorded; a failure ends the
 * trace where it happened (the real run reports it). */
static void dry_run(bootref_host_t *h, bootref_ctx_t *c, dry_t *s)
{
    bootref_report_fn report = c->report;
    int (*action)(void *, const bootref_action_t *) = h->port.action;
    bootref_err_t (*scope)(bootref_ctx_t *, unsigned, const uint8_t *, size_t) = h->deleg.scope;

    c->report = NULL;
    h->dry = 1;
    h->dry_state = s;
    h->port.action = dry_action;
    h->deleg.scope = deleg_scope_any;
    (void)bootref_run(c, SEQ_ALL);
    h->deleg.scope = scope;
    h->port.action = action;
    h->dry_state = NULL;
    h->dry = 0;
    c->report = report;
    c->detail = NULL;
    c->err_command = -1;
    c->err_component = -1;
}

/* --- component 0's content -------------------------------------------------------------------- */

static void report(bootref_ctx_t *c, const char *note, bootref_ev_status_t st)
{
    bootref_event_t ev;
    if (c->report == NULL)
        return;
    ev.what = "decrypt";
    ev.note = note;
    ev.component = 0;
    ev.value = 0;
    ev.status = st;
    c->report(c->report_user, &ev);
}

/* Whether the image file holds exactly data[0..len). */
static bootref_err_t same_as_file(FILE *f, const uint8_t *data, size_t len, int *same)
{
    uint8_t buf[4096];
    size_t off = 0, n;
    *same = 0;
    if (fseek(f, 0L, SEEK_SET) != 0)
        return BOOTREF_E_PORT;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0u) {
        if (n > len - off || memcmp(buf, data + off, n) != 0)
            return BOOTREF_OK;
        off += n;
    }
    if (ferror(f))
        return BOOTREF_E_PORT;
    *same = off == len;
    return BOOTREF_OK;
}

/* Decrypt component 0's content (the image file, or the integrated payload)
 * into an unnamed temporary file with the boot flow's streaming decryption. */
static bootref_err_t decrypt(bootref_host_t *h, bootref_ctx_t *c, const dry_t *s)
{
    static uint8_t in[4096], plain[4096 + BOOTREF_DEC_TAG_MAX];
    static char note[96];
    bootref_decrypt_t d;
    bootref_err_t e;
    const char *detail = NULL;
    FILE *t = NULL;
    size_t n, got, total = 0, off = 0;

    e = bootref_decrypt_begin(&d, &h->port, s->enc, s->enc_len);
    if (e == BOOTREF_OK && (t = tmpfile()) == NULL) {
        e = BOOTREF_E_PORT;
        detail = "cannot create a temporary file";
    }
    if (e == BOOTREF_OK && s->payload == NULL && fseek(h->image, 0L, SEEK_SET) != 0) {
        e = BOOTREF_E_PORT;
        detail = "cannot read IMAGE";
    }
    while (e == BOOTREF_OK) {
        if (s->payload != NULL) {
            n = s->payload_len - off < sizeof in ? s->payload_len - off : sizeof in;
            memcpy(in, s->payload + off, n);
            off += n;
        } else if ((n = fread(in, 1, sizeof in, h->image)) == 0u && ferror(h->image)) {
            e = BOOTREF_E_PORT;
            detail = "cannot read IMAGE";
            break;
        }
        if (n == 0u)
            break;
        if ((e = bootref_decrypt_update(&d, in, n, plain, &got)) != BOOTREF_OK)
            break;
        if (fwrite(plain, 1, got, t) != got) {
            e = BOOTREF_E_PORT;
            detail = "cannot write the temporary file";
        }
        total += got;
    }
    if (e == BOOTREF_OK)
        e = bootref_decrypt_finish(&d);
    if (e == BOOTREF_OK && (fflush(t) != 0 || fseek(t, 0L, SEEK_SET) != 0)) {
        e = BOOTREF_E_PORT;
        detail = "cannot read back the temporary file";
    }
    if (e != BOOTREF_OK) {
        (void)fail(c, e, detail != NULL ? detail : d.detail != NULL ? d.detail : "decryption failed");
        report(c, c->detail, BOOTREF_EV_FAILED);
        if (t != NULL)
            fclose(t);
        return e;
    }
    snprintf(note, sizeof note, "%lu bytes of plaintext, authenticated", (unsigned long)total);
    report(c, note, BOOTREF_EV_OK);
    h->run_image = t;
    return BOOTREF_OK;
}

/* --- the host run ----------------------------------------------------------------------------- */

static void host_report(void *user, const bootref_event_t *ev)
{
    bootref_host_t *h = user;
    if (ev->status == BOOTREF_EV_OK && ev->component == 0 && ev->what != NULL &&
        (strcmp(ev->what, "condition image-match") == 0 || strcmp(ev->what, "condition check-content") == 0))
        h->image_compared = 1;
    if (h->user_report != NULL)
        h->user_report(h->user_report_user, ev);
}

static void end_run(bootref_host_t *h)
{
    if (h->run_image != NULL)
        fclose(h->run_image);
    h->run_image = NULL;
    h->payload = NULL;
    h->payload_len = 0;
    h->image_hidden = 0;
    h->image_compared = 0;
}

static bootref_err_t host_run(bootref_host_t *h, bootref_ctx_t *c, const uint8_t *env, size_t env_len,
                              uint32_t flags, uint32_t sequences)
{
    const bootref_dec_port_t *dec = h->port.dec;
    dry_t s;
    bootref_err_t e;
    int have_image, same;

    e = bootref_verify_envelope(c, &h->port, env, env_len, flags);
    if (e != BOOTREF_OK || !(flags & BOOTREF_F_ALLOW_SKIP))
        return e == BOOTREF_OK ? bootref_run(c, sequences) : e;

    if (each_payload(env, env_len, unnamed, c))
        return fail(c, BOOTREF_E_STRUCTURE,
                    "integrated payload named by no uri parameter of the manifest: nothing authenticates it");

    memset(&s, 0, sizeof s);
    s.env = env;
    s.env_len = env_len;
    dry_run(h, c, &s);

    if (s.payload != NULL && h->image != NULL) {
        if ((e = same_as_file(h->image, s.payload, s.payload_len, &same)) != BOOTREF_OK)
            return fail(c, e, "cannot read IMAGE");
        if (!same)
            return fail(c, BOOTREF_E_IMAGE_DIGEST, "the image given differs from the envelope's integrated payload");
    } else if (s.payload != NULL) {
        h->payload = s.payload;
        h->payload_len = s.payload_len;
    }
    if (s.several)
        return fail(c, BOOTREF_E_UNSUPPORTED_ALG, "component 0 has several encryption infos (one per slot image)");
    have_image = h->image != NULL || h->payload != NULL;
    if (s.enc != NULL && have_image) {
        if (dec == NULL || dec->n_keys == 0u)
            h->image_hidden = 1; /* ciphertext whose plaintext nobody here knows */
        else if ((e = decrypt(h, c, &s)) != BOOTREF_OK)
            return e;
    }
    if (s.delta && have_image)
        h->image_hidden = 1; /* a patch: the image it makes depends on a source not given here */
    have_image = have_image && !h->image_hidden;

    h->user_report = c->report;
    h->user_report_user = c->report_user;
    c->report = host_report;
    c->report_user = h;
    e = bootref_run(c, sequences);
    c->report = h->user_report;
    c->report_user = h->user_report_user;
    if (e == BOOTREF_OK && have_image && !h->image_compared)
        e = fail(c, BOOTREF_E_IMAGE_DIGEST,
                 "the manifest never compares component 0's image, so the image cannot be checked");
    return e;
}

bootref_err_t bootref_host_verify(bootref_host_t *h, bootref_ctx_t *c, const uint8_t *env, size_t env_len,
                                  uint32_t flags, uint32_t sequences)
{
    bootref_err_t e;
    if (h == NULL || c == NULL)
        return BOOTREF_E_USAGE;
    end_run(h);
    e = host_run(h, c, env, env_len, flags, sequences);
    end_run(h);
    return e;
}
