/*
 * interp.c - SUIT command-sequence interpreter (draft-ietf-suit-manifest-34,
 * section 8.4.6 "Command Sequences", 8.4.8 parameters, 8.4.9 conditions,
 * 8.4.10 directives).
 *
 * A command sequence is a flat array of (label, argument) pairs. Conditions
 * check something and fail; directives change state (parameters, component
 * index) or ask the port to act. Anything this interpreter does not implement
 * fails closed with BOOTREF_E_UNSUPPORTED_COMMAND / _PARAMETER: skipping an
 * unknown command could skip a check the signer relied on.
 *
 * Recursion: try-each and run-sequence call run_seq() for their nested
 * sequences; the depth is capped by BOOTREF_MAX_SEQ_NESTING, so the stack is
 * bounded by (cap + 1) interpreter frames.
 *
 * Well-formedness: a sequence is decoded with the strict readers as it runs,
 * and the separate walk (cbor_wellformed) runs only when it is needed to give
 * the same answer as checking every sequence before running it: when the
 * sequence fails (a CBOR error found by the walk wins over the failure, as it
 * did when the walk came first) and before the port is asked to act on a
 * directive (every enclosing sequence is checked first, outermost error
 * first). A sequence that runs to its end without an error is well-formed:
 * every item was read by the strict head reader, nothing follows the array,
 * the try-each argument was skipped by the walk, and the one map
 * (override-parameters) refuses a repeated label itself.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "bootref_delegation.h"

/* Command labels. */
enum {
    CMD_VENDOR_ID = 1, CMD_CLASS_ID = 2, CMD_IMAGE_MATCH = 3, CMD_COMPONENT_SLOT = 5,
    CMD_CHECK_CONTENT = 6, CMD_SET_COMPONENT_INDEX = 12, CMD_ABORT = 14, CMD_TRY_EACH = 15,
    CMD_WRITE = 18, CMD_SET_PARAMETERS = 19, CMD_OVERRIDE_PARAMETERS = 20, CMD_FETCH = 21, CMD_COPY = 22,
    CMD_INVOKE = 23, CMD_DEVICE_ID = 24, CMD_SWAP = 31, CMD_RUN_SEQUENCE = 32
};

/* Parameter slots and their SUIT labels / required CBOR types (draft-34
 * section 8.4.8). soft-failure (13) is not stored per component: it belongs to
 * the enclosing try-each / run-sequence. */
enum { P_VENDOR, P_CLASS, P_DEVICE, P_DIGEST, P_SLOT, P_STRICT, P_SIZE, P_CONTENT, P_URI, P_SOURCE, P_ENC, P_CORE_END };
#if BOOTREF_DELTA
/* delta-info, fwsign's custom parameter (docs/delta.md); only with BOOTREF_DELTA */
#define PARAM_DELTA_INFO (-257)
enum { P_DELTA = P_CORE_END, P_DELTA_END };
#else
enum { P_DELTA_END = P_CORE_END };
#endif
#if BOOTREF_WITH_UM
/* Update management (draft-ietf-suit-update-management, docs/processing-model.md
 * section 14): commands and the parameter slots after the core's (and delta-info's). */
enum {
    CMD_USE_BEFORE = 4, CMD_IMAGE_NOT_MATCH = 25, CMD_MIN_BATTERY = 26, CMD_AUTHORIZED = 27,
    CMD_VERSION = 28, CMD_WAIT = 29, CMD_OVERRIDE_MULTIPLE = 34, CMD_COPY_PARAMS = 35
};
enum { P_USE_BEFORE = P_DELTA_END, P_BATTERY, P_PRIORITY, P_VERSION, P_WAIT };
#define PARAM_UPDATE_PRIORITY 27
enum { P_END = P_WAIT + 1 };
#else
enum { P_END = P_DELTA_END };
#endif
/* the slots built in are the ones bootref_component_t has room for */
typedef char br_slots_match_component[P_END == BOOTREF_N_PARAMS ? 1 : -1];
/* cond_identity() finds the error of a mismatch from the slot */
typedef char br_identity_codes_in_slot_order[
    BOOTREF_E_CLASS_MISMATCH == BOOTREF_E_VENDOR_MISMATCH + P_CLASS &&
    BOOTREF_E_DEVICE_MISMATCH == BOOTREF_E_VENDOR_MISMATCH + P_DEVICE ? 1 : -1];
#define PARAM_SOFT_FAILURE 13
/* Indexed by the parameter's label: its slot + 1 (low nibble; 0 = not
 * supported) and the CBOR major type its value must have (high nibble). */
#if BOOTREF_WITH_UM
#define PARAM_MAX_LABEL 29
#define PS_SHIFT 5 /* 16 or 17 slots: the slot + 1 takes five bits */
#else
#define PARAM_MAX_LABEL 24
#define PS_SHIFT 4
#endif
#define PS_SLOT_MASK ((1u << PS_SHIFT) - 1u)
#define PS(slot, major) (uint8_t)(((major) << PS_SHIFT) | ((slot) + 1))
static const uint8_t param_slot[PARAM_MAX_LABEL + 1] = {
    [1] = PS(P_VENDOR, CBOR_BSTR), [2] = PS(P_CLASS, CBOR_BSTR), [3] = PS(P_DIGEST, CBOR_BSTR),
    [5] = PS(P_SLOT, CBOR_UINT), [12] = PS(P_STRICT, CBOR_SIMPLE), [14] = PS(P_SIZE, CBOR_UINT),
    [18] = PS(P_CONTENT, CBOR_BSTR), [19] = PS(P_ENC, CBOR_BSTR), [21] = PS(P_URI, CBOR_TSTR),
    [22] = PS(P_SOURCE, CBOR_UINT), [24] = PS(P_DEVICE, CBOR_BSTR)
#if BOOTREF_WITH_UM
    , [4] = PS(P_USE_BEFORE, CBOR_UINT), [26] = PS(P_BATTERY, CBOR_UINT),
    [27] = PS(P_PRIORITY, CBOR_UINT) /* or CBOR_NINT: an int */, [28] = PS(P_VERSION, CBOR_BSTR),
    [29] = PS(P_WAIT, CBOR_BSTR)
#endif
};

static bootref_err_t run_seq(bootref_ctx_t *c, const bootref_span_t *seq, unsigned depth,
                             uint8_t *soft, int checked);

/* Condition failures are what soft-failure may turn into "try the next
 * option"; parse errors, limits and port faults never are. */
static int is_condition_failure(bootref_err_t e)
{
    /* vendor, class, device mismatch, image digest, size, content, slot: codes
     * 34..41 (37, rollback, never comes from a sequence), and abort */
    return (unsigned)e - (unsigned)BOOTREF_E_VENDOR_MISMATCH <=
               (unsigned)(BOOTREF_E_SLOT_MISMATCH - BOOTREF_E_VENDOR_MISMATCH) ||
#if BOOTREF_WITH_UM
           /* use-before, battery, not authorized, version, image matches: 64..68 */
           (unsigned)e - (unsigned)BOOTREF_E_USE_BEFORE <=
               (unsigned)(BOOTREF_E_IMAGE_MATCHES - BOOTREF_E_USE_BEFORE) ||
#endif
           e == BOOTREF_E_ABORT;
}

/* A condition whose input the device does not have: skipped in host tools
 * (BOOTREF_F_ALLOW_SKIP), a failure everywhere else. */
static BR_NOINLINE bootref_err_t unavailable(bootref_ctx_t *c, const char *what, int comp,
                                 bootref_err_t fail, const char *why)
{
    if (c->flags & BOOTREF_F_ALLOW_SKIP) {
        br_report(c, what, why, comp, 0, BOOTREF_EV_SKIPPED);
        return BOOTREF_OK;
    }
    return br_fail(c, fail, why);
}

/* Decode the stored parameter of a component; the type was checked when set. */
static bootref_err_t param_get(bootref_ctx_t *c, unsigned comp, unsigned slot, cbor_item_t *it)
{
    cbor_dec_t d;
    const bootref_span_t *s = &c->comp[comp].param[slot];
    if (s->p == NULL)
        return br_fail(c, BOOTREF_E_PARAM_MISSING, BR_STR("command needs a parameter that is not set"));
    cbor_init(&d, s->p, s->n);
    return cbor_head(&d, it);
}

static BR_NOINLINE bootref_err_t cond_identity(bootref_ctx_t *c, unsigned comp, int32_t label)
{
    const bootref_port_t *port = c->port;
    bootref_identity_t id;
    cbor_item_t it;
    const uint8_t *mine;
    /* vendor, class, device: parameter slots 0, 1, 2 (P_*), errors in the same order */
    unsigned slot = label == CMD_DEVICE_ID ? P_DEVICE : (unsigned)label - 1u;
    bootref_err_t fail = (bootref_err_t)(BOOTREF_E_VENDOR_MISMATCH + slot);
    const char *what = label == CMD_VENDOR_ID ? BR_STR("condition vendor-identifier")
                       : label == CMD_CLASS_ID ? BR_STR("condition class-identifier")
                       : BR_STR("condition device-identifier");
    bootref_err_t e;
    int r;

    if ((e = param_get(c, comp, slot, &it)) != BOOTREF_OK)
        return e;
    memset(&id, 0, sizeof id);
    r = port->identity(port->ctx, &id);
    if (r != BOOTREF_PORT_OK && r != BOOTREF_PORT_UNAVAILABLE)
        return br_fail(c, BOOTREF_E_PORT, BR_STR("device identity unreadable"));
    mine = slot == P_VENDOR ? id.vendor_id : slot == P_CLASS ? id.class_id : id.device_id;
    if (r == BOOTREF_PORT_UNAVAILABLE || mine == NULL) {
        if ((e = unavailable(c, what, (int)comp, fail, BR_STR("identity not provisioned"))) != BOOTREF_OK)
            return e;
    } else if (it.val != 16u || !br_equal(it.str, mine, 16u)) {
        /* Identifiers are RFC 9562 UUIDs: 16 bytes (draft-34 section 8.4.8.2). */
        br_report(c, what, BR_STR("differs from the device's"), (int)comp, 0, BOOTREF_EV_FAILED);
        return br_fail(c, fail, BR_STR("identifier differs from the device's"));
    } else {
        br_report(c, what, BR_STR("matches"), (int)comp, 0, BOOTREF_EV_OK);
    }
    /* made (passed, or skipped in host mode): counts for R1, and a vendor or
     * class it compared must lie in the scope of every delegated key that
     * signed (processing model sections 6 and 9) */
    if (slot == P_DEVICE)
        return BOOTREF_OK;
    c->identity |= (uint8_t)(1u << slot);
    if (c->deleg.p == NULL) /* set only when the port has delegation */
        return BOOTREF_OK;
    return c->port->deleg->scope(c, slot, it.str, (size_t)it.val);
}

/* Stream component `comp` in BOOTREF_IMAGE_CHUNK pieces, either through the
 * port's SHA-256 (content == NULL; the caller has run sha256_init) or
 * comparing it with `content`. With `bounded`, exactly len bytes are read:
 * fewer available is BOOTREF_E_IMAGE_SIZE, and so is more when the port knows
 * where the image ends (image_exact). Without it, read to the end.
 * *absent is set if the component holds no image at all. */
static bootref_err_t stream(bootref_ctx_t *c, unsigned comp, uint64_t len, int bounded,
                            const uint8_t *content, int *absent)
{
    const bootref_port_t *port = c->port;
    uint64_t off = 0;
    size_t got, want;
    int r, probe = 0;

    for (;;) {
        want = BOOTREF_IMAGE_CHUNK;
        if (bounded) {
            if (len - off < want)
                want = (size_t)(len - off);
            if (want == 0u) {
                if (!port->image_exact || probe)
                    break;
                want = 1u; /* probe: nothing may follow the image */
                probe = 1;
            }
        }
        got = 0;
        r = port->read_image(port->ctx, (uint8_t)comp, off, c->chunk, want, &got);
        if (r == BOOTREF_PORT_UNAVAILABLE && off == 0u && !probe) {
            *absent = 1;
            return BOOTREF_OK;
        }
        if (r != BOOTREF_PORT_OK || got > want)
            return br_fail(c, BOOTREF_E_PORT, BR_STR("image read failed in the port"));
        if (got == 0u)
            break;
        if (probe)
            return br_fail(c, BOOTREF_E_IMAGE_SIZE, BR_STR("image is longer than expected"));
        if (content != NULL) {
            if (memcmp(c->chunk, content + off, got) != 0)
                return br_fail(c, BOOTREF_E_IMAGE_CONTENT, BR_STR("component content differs"));
        } else if (port->sha256_update(port->ctx, c->chunk, got) != BOOTREF_PORT_OK) {
            return br_fail(c, BOOTREF_E_PORT, BR_STR("sha256 failed in the port"));
        }
        off += got;
    }
    if (bounded && off != len)
        return br_fail(c, BOOTREF_E_IMAGE_SIZE, BR_STR("image is shorter than expected"));
    return BOOTREF_OK;
}

/* condition-image-match (draft-34 section 8.4.9.3): SHA-256 of the component's
 * image and, if image-size (parameter 14) is set, its size; and
 * condition-check-content (section 8.4.9.6): the component holds exactly the
 * bytes of parameter content (18). One path for both: the image is streamed
 * through the port's SHA-256 or compared with the content. Made (passed, or
 * skipped in host mode), it counts as a match for R2 and R3. */
static BR_NOINLINE bootref_err_t cond_image(bootref_ctx_t *c, unsigned comp, int32_t label)
{
    const bootref_port_t *port = c->port;
#if BOOTREF_WITH_UM
    int match = label != CMD_CHECK_CONTENT; /* image-match or image-not-match: a digest */
    const char *what = label == CMD_IMAGE_NOT_MATCH ? BR_STR("condition image-not-match")
                       : match ? BR_STR("condition image-match") : BR_STR("condition check-content");
#else
    int match = label == CMD_IMAGE_MATCH;
    const char *what = match ? BR_STR("condition image-match") : BR_STR("condition check-content");
#endif
    cbor_item_t it, sz;
    cbor_dec_t d;
    const uint8_t *want = NULL;
    uint8_t got_digest[32];
    int bounded = 1, absent = 0;
    bootref_err_t e;

    if ((e = param_get(c, comp, match ? P_DIGEST : P_CONTENT, &it)) != BOOTREF_OK)
        return e;
    sz = it;
    if (match) {
        /* image-digest = bstr .cbor SUIT_Digest. br_parse_digest() reads each
         * item of [int, bstr] with the strict decoder, so parsing it and finding
         * nothing after it accepts exactly what cbor_wellformed() + parsing
         * would, without walking the bytes twice. */
        cbor_init(&d, it.str, (size_t)it.val);
        if ((e = br_parse_digest(&d, &want)) == BOOTREF_OK && d.pos != d.len)
            e = BOOTREF_E_CBOR_TRAILING;
        if (e != BOOTREF_OK)
            return br_fail(c, e, BR_STR("image-digest"));
        bounded = c->comp[comp].param[P_SIZE].p != NULL;
        if (bounded && (e = param_get(c, comp, P_SIZE, &sz)) != BOOTREF_OK)
            return e;
        if (port->sha256_init(port->ctx) != BOOTREF_PORT_OK)
            return br_fail(c, BOOTREF_E_PORT, BR_STR("sha256 failed in the port"));
        it.str = NULL;
    }
    e = stream(c, comp, sz.val, bounded, it.str, &absent);
    /* always finish the hash so the port's hash state is left idle */
    if (match && port->sha256_final(port->ctx, got_digest) != BOOTREF_PORT_OK && e == BOOTREF_OK)
        e = br_fail(c, BOOTREF_E_PORT, BR_STR("sha256 failed in the port"));
#if BOOTREF_WITH_UM
    if (label == CMD_IMAGE_NOT_MATCH) {
        /* section 14.3: holds unless the component holds exactly that image; a
         * component with no image holds no image (skipped in host tools) */
        if (e == BOOTREF_OK && absent) {
            if (c->flags & BOOTREF_F_ALLOW_SKIP)
                return unavailable(c, what, (int)comp, BOOTREF_E_IMAGE_MATCHES, BR_STR("no image for this component"));
        } else if (e == BOOTREF_OK && br_digest_equal(got_digest, want)) {
            br_report(c, what, BR_STR("the component holds that image"), (int)comp, 0, BOOTREF_EV_FAILED);
            return br_fail(c, BOOTREF_E_IMAGE_MATCHES, BR_STR("the component holds the excluded image"));
        } else if (e != BOOTREF_OK && e != BOOTREF_E_IMAGE_SIZE) {
            return e;
        }
        br_report(c, what, BR_STR("a different image"), (int)comp, 0, BOOTREF_EV_OK);
        return BOOTREF_OK;
    }
#endif
    if (e == BOOTREF_OK && absent)
        e = unavailable(c, what, (int)comp, match ? BOOTREF_E_IMAGE_DIGEST : BOOTREF_E_IMAGE_CONTENT,
                        match ? BR_STR("no image for this component") : BR_STR("no content for this component"));
    else if (e == BOOTREF_OK && match && !br_digest_equal(got_digest, want))
        e = br_fail(c, BOOTREF_E_IMAGE_DIGEST, BR_STR("image SHA-256 differs from image-digest"));
    else if (e == BOOTREF_E_IMAGE_SIZE && !match)
        e = br_fail(c, BOOTREF_E_IMAGE_CONTENT, BR_STR("component content has a different length"));
    if (!absent)
        br_report(c, what, e != BOOTREF_OK ? c->detail : match ? BR_STR("digest and size match")
                                                               : BR_STR("content matches"), (int)comp, 0,
                  e == BOOTREF_OK ? BOOTREF_EV_OK : BOOTREF_EV_FAILED);
    if (e == BOOTREF_OK)
        c->matched |= (uint32_t)1u << comp;
    return e;
}

static BR_NOINLINE bootref_err_t cond_slot(bootref_ctx_t *c, unsigned comp)
{
    const bootref_port_t *port = c->port;
    const char *what = BR_STR("condition component-slot");
    cbor_item_t it;
    uint64_t slot;
    int r;
    bootref_err_t e;

    if ((e = param_get(c, comp, P_SLOT, &it)) != BOOTREF_OK)
        return e;
    r = port->component_slot == NULL ? BOOTREF_PORT_UNAVAILABLE
        : port->component_slot(port->ctx, (uint8_t)comp, &slot);
    if (r == BOOTREF_PORT_UNAVAILABLE)
        return unavailable(c, what, (int)comp, BOOTREF_E_SLOT_MISMATCH, BR_STR("slot unknown"));
    if (r != BOOTREF_PORT_OK)
        return br_fail(c, BOOTREF_E_PORT, BR_STR("slot unreadable"));
    if (slot != it.val) {
        br_report(c, what, BR_STR("different slot"), (int)comp, (int32_t)slot, BOOTREF_EV_FAILED);
        return br_fail(c, BOOTREF_E_SLOT_MISMATCH, BR_STR("component is in a different slot"));
    }
    br_report(c, what, BR_STR("matches"), (int)comp, (int32_t)slot, BOOTREF_EV_OK);
    return BOOTREF_OK;
}

#if BOOTREF_DELTA
/* A fetch with delta-info (docs/processing-model.md section 15): source-component
 * names another component; delta-info = bstr .cbor [format 1, patch-size (< 2^32),
 * SUIT_Digest (SHA-256)], strictly encoded, nothing after it. */
static BR_NOINLINE bootref_err_t delta_fetch(bootref_ctx_t *c, unsigned comp, bootref_action_t *a)
{
    cbor_item_t it;
    cbor_dec_t d;
    size_t n;
    uint64_t fmt, size;
    bootref_err_t e;

    if ((e = param_get(c, comp, P_SOURCE, &it)) != BOOTREF_OK)
        return e;
    if (it.val >= c->n_components || it.val == comp)
        return br_fail(c, BOOTREF_E_COMPONENT_INDEX, BR_STR("source-component out of range"));
    a->source_component = (uint8_t)it.val;
    if ((e = param_get(c, comp, P_DELTA, &it)) != BOOTREF_OK)
        return e;
    cbor_init(&d, it.str, (size_t)it.val);
    if ((e = cbor_array(&d, &n)) == BOOTREF_OK && n != 3u)
        e = BOOTREF_E_STRUCTURE;
    if (e == BOOTREF_OK && (e = cbor_uint(&d, &fmt)) == BOOTREF_OK && (e = cbor_uint(&d, &size)) == BOOTREF_OK &&
        size > 0xffffffffu)
        e = BOOTREF_E_STRUCTURE;
    if (e == BOOTREF_OK && (e = br_parse_digest(&d, &a->patch_digest)) == BOOTREF_OK && d.pos != d.len)
        e = BOOTREF_E_CBOR_TRAILING;
    if (e == BOOTREF_OK && fmt != 1u)
        e = BOOTREF_E_UNSUPPORTED_ALG;
    if (e != BOOTREF_OK)
        return br_fail(c, e, BR_STR("delta-info"));
    a->delta_info = it.str;
    a->delta_info_len = (size_t)it.val;
    a->patch_size = (uint32_t)size;
    return BOOTREF_OK;
}
#endif

#if BOOTREF_WITH_UM
/* A stored int parameter (update-priority, a wait event's value). */
static int64_t item_int(const cbor_item_t *it)
{
    return it->major == CBOR_NINT ? -1 - (int64_t)it->val : (int64_t)it->val;
}

/* Does the application authorize an update of this priority now? */
static int um_authorized(const bootref_um_port_t *um, int64_t priority)
{
    return um != NULL && um->authorized != NULL && um->authorized(um->ctx, priority) == BOOTREF_PORT_OK;
}

/* bstr .cbor [type 1..5, [+ int]] (parameter-version, section 14.2) into *type,
 * parts, *n. The bytes are walked first: strict CBOR within the limits, one item. */
static bootref_err_t um_parse_version(bootref_ctx_t *c, const cbor_item_t *bs, uint64_t *type,
                                      int64_t *parts, size_t *n)
{
    cbor_dec_t d;
    size_t k, i;
    bootref_err_t e;

    if ((e = cbor_wellformed(bs->str, (size_t)bs->val)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("version"));
    cbor_init(&d, bs->str, (size_t)bs->val);
    if ((e = cbor_array(&d, &k)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("version must be [type, [+ int]]"));
    if (k != 2u)
        return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("version must be [type, [+ int]]"));
    if ((e = cbor_uint(&d, type)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("version comparison type"));
    if (*type < 1u || *type > 5u)
        return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("version comparison type must be 1..5"));
    if ((e = cbor_array(&d, n)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("version value must be [+ int]"));
    if (*n == 0u)
        return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("version value must be [+ int]"));
    if (*n > BOOTREF_MAX_VERSION_PARTS)
        return br_fail(c, BOOTREF_E_LIMIT_COUNT, BR_STR("version has too many integers"));
    for (i = 0; i < *n; i++)
        if ((e = cbor_int(&d, &parts[i])) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("version integer"));
    return BOOTREF_OK;
}

/* The update-management conditions (section 14.3) and directive wait (14.4). */
static BR_NOINLINE bootref_err_t um_command(bootref_ctx_t *c, unsigned comp, int32_t label)
{
    const bootref_um_port_t *um = c->port->um;
    cbor_item_t it, ev;
    cbor_dec_t d;
    uint64_t have = 0, key, type;
    int64_t want[BOOTREF_MAX_VERSION_PARTS], mine[BOOTREF_MAX_VERSION_PARTS];
    size_t n, nm = 0, i;
    int r = BOOTREF_PORT_UNAVAILABLE, pass, occurred;
    unsigned slot = label == CMD_USE_BEFORE ? P_USE_BEFORE : label == CMD_MIN_BATTERY ? P_BATTERY
                    : label == CMD_AUTHORIZED ? P_PRIORITY : label == CMD_VERSION ? P_VERSION : P_WAIT;
    bootref_err_t fail = label == CMD_USE_BEFORE ? BOOTREF_E_USE_BEFORE : label == CMD_MIN_BATTERY
                         ? BOOTREF_E_BATTERY : label == CMD_AUTHORIZED ? BOOTREF_E_NOT_AUTHORIZED
                         : BOOTREF_E_VERSION_MISMATCH;
    const char *what = label == CMD_USE_BEFORE ? BR_STR("condition use-before")
                       : label == CMD_MIN_BATTERY ? BR_STR("condition minimum-battery")
                       : label == CMD_AUTHORIZED ? BR_STR("condition update-authorized")
                       : label == CMD_VERSION ? BR_STR("condition version") : BR_STR("directive wait");
    bootref_err_t e;

    if ((e = param_get(c, comp, slot, &it)) != BOOTREF_OK)
        return e;
    if (label == CMD_WAIT) {
        /* wait-info: {+ event => value}; every entry checked before any event is
         * asked about (pass 0), then each event must have occurred (pass 1) */
        if ((e = cbor_wellformed(it.str, (size_t)it.val)) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("wait-info"));
        for (pass = 0; pass < 2; pass++) {
            cbor_init(&d, it.str, (size_t)it.val);
            if ((e = cbor_map(&d, &n)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("wait-info must be a map"));
            if (n == 0u)
                return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("wait-info needs one or more events"));
            for (i = 0; i < n; i++) {
                if ((e = cbor_uint(&d, &key)) != BOOTREF_OK)
                    return br_fail(c, e, BR_STR("wait event must be a uint"));
                if (key != 1u && key != 2u) /* authorization, power; no other source here */
                    return br_fail(c, BOOTREF_E_UNSUPPORTED_PARAMETER, BR_STR("wait event not supported"));
                if ((e = cbor_head(&d, &ev)) != BOOTREF_OK)
                    return br_fail(c, e, BR_STR("wait event value"));
                if (ev.major != CBOR_UINT && ev.major != CBOR_NINT)
                    return br_fail(c, BOOTREF_E_TYPE, BR_STR("wait event value must be an int"));
                if (pass == 0)
                    continue;
                if (key == 1u) {
                    occurred = um_authorized(um, item_int(&ev));
                } else {
                    r = um == NULL || um->battery == NULL ? BOOTREF_PORT_UNAVAILABLE : um->battery(um->ctx, &have);
                    if (r != BOOTREF_PORT_OK && r != BOOTREF_PORT_UNAVAILABLE)
                        return br_fail(c, BOOTREF_E_PORT, BR_STR("battery unreadable"));
                    occurred = r == BOOTREF_PORT_OK && (ev.major == CBOR_NINT || have >= ev.val);
                }
                if (!occurred) {
                    br_report(c, what, BR_STR("event has not occurred: deferred"), (int)comp, (int32_t)key,
                              BOOTREF_EV_FAILED);
                    return br_fail(c, BOOTREF_E_DEFERRED, BR_STR("waiting for an event: update deferred"));
                }
            }
            if (c->flags & BOOTREF_F_ALLOW_SKIP) {
                /* host tools: a directive is reported, not executed */
                br_report(c, what, BR_STR("not executed (verification only)"), (int)comp, 0,
                          BOOTREF_EV_NOT_EXECUTED);
                return BOOTREF_OK;
            }
        }
        br_report(c, what, BR_STR("every event has occurred"), (int)comp, 0, BOOTREF_EV_OK);
        return BOOTREF_OK;
    }
    if (label == CMD_VERSION && (e = um_parse_version(c, &it, &type, want, &nm)) != BOOTREF_OK)
        return e;
    if (um != NULL) {
        if (label == CMD_USE_BEFORE && um->now != NULL)
            r = um->now(um->ctx, &have);
        else if (label == CMD_MIN_BATTERY && um->battery != NULL)
            r = um->battery(um->ctx, &have);
        else if (label == CMD_AUTHORIZED && um->authorized != NULL)
            r = um->authorized(um->ctx, item_int(&it));
        else if (label == CMD_VERSION && um->version != NULL)
            r = um->version(um->ctx, (uint8_t)comp, mine, BOOTREF_MAX_VERSION_PARTS, &n);
    }
    if (r == BOOTREF_PORT_UNAVAILABLE)
        return unavailable(c, what, (int)comp, fail, BR_STR("input not available"));
    if (label == CMD_AUTHORIZED) {
        pass = r == BOOTREF_PORT_OK;
        if (r != BOOTREF_PORT_OK && r != BOOTREF_PORT_FAIL)
            return br_fail(c, BOOTREF_E_PORT, BR_STR("authorization failed in the port"));
    } else if (r != BOOTREF_PORT_OK) {
        return br_fail(c, BOOTREF_E_PORT, BR_STR("update-management input unreadable"));
    } else if (label == CMD_VERSION) {
        /* the manifest's integers in order; the first difference decides; the
         * component's version is padded with zeros (section 14.3) */
        int cmp = 0;
        if (n > BOOTREF_MAX_VERSION_PARTS)
            return br_fail(c, BOOTREF_E_PORT, BR_STR("version too long in the port"));
        for (i = 0; i < nm && cmp == 0; i++) {
            int64_t h = i < n ? mine[i] : 0;
            cmp = h > want[i] ? 1 : h < want[i] ? -1 : 0;
        }
        pass = type == 1u ? cmp > 0 : type == 2u ? cmp >= 0 : type == 3u ? cmp == 0
               : type == 4u ? cmp <= 0 : cmp < 0;
    } else {
        /* use-before: now < parameter; minimum-battery: battery >= parameter */
        pass = label == CMD_USE_BEFORE ? have < it.val : have >= it.val;
    }
    br_report(c, what, pass ? BR_STR("holds") : BR_STR("does not hold"), (int)comp, 0,
              pass ? BOOTREF_EV_OK : BOOTREF_EV_FAILED);
    return pass ? BOOTREF_OK : br_fail(c, fail, what);
}
#endif

/* fetch / copy / write / swap / invoke: check the parameters the directive
 * needs, then hand it to the port (or report it as not executed). */
static BR_NOINLINE bootref_err_t directive(bootref_ctx_t *c, unsigned comp, int32_t label, unsigned depth)
{
    const bootref_port_t *port = c->port;
    bootref_action_t a;
    cbor_item_t it;
    unsigned k;
    uint32_t w = (uint32_t)1u << comp; /* what the directive writes */
    bootref_err_t e;
    const char *what = label == CMD_FETCH ? BR_STR("directive fetch")
                       : label == CMD_COPY ? BR_STR("directive copy")
                       : label == CMD_WRITE ? BR_STR("directive write")
                       : label == CMD_SWAP ? BR_STR("directive swap")
                       : BR_STR("directive invoke");

    /* R1: vendor and class made before anything acts; R2: invoke only an
     * image matched since its last write (processing model section 6) */
    if (c->identity != 3u || (label == CMD_INVOKE && !(c->matched & w)))
        return br_fail(c, BOOTREF_E_MISSING_CHECK,
                       BR_STR(label == CMD_INVOKE ? "invoke needs vendor, class and image checks first"
                                                  : "directive needs vendor and class checks first"));
    memset(&a, 0, sizeof a);
    a.command = (uint8_t)label;
    a.component = (uint8_t)comp;
    if (label == CMD_FETCH) {
        if ((e = param_get(c, comp, P_URI, &it)) != BOOTREF_OK)
            return e;
        a.uri = it.str;
        a.uri_len = (size_t)it.val;
    } else if (label == CMD_COPY || label == CMD_SWAP) {
        if ((e = param_get(c, comp, P_SOURCE, &it)) != BOOTREF_OK)
            return e;
        if (it.val >= c->n_components || it.val == comp)
            return br_fail(c, BOOTREF_E_COMPONENT_INDEX, BR_STR("source-component out of range"));
        a.source_component = (uint8_t)it.val;
        if (label == CMD_SWAP)
            w |= (uint32_t)1u << it.val;
    } else if (label == CMD_WRITE) {
        if ((e = param_get(c, comp, P_CONTENT, &it)) != BOOTREF_OK)
            return e;
        a.content = it.str;
        a.content_len = (size_t)it.val;
    }
#if BOOTREF_DELTA
    if (label == CMD_FETCH && c->comp[comp].param[P_DELTA].p != NULL &&
        (e = delta_fetch(c, comp, &a)) != BOOTREF_OK)
        return e;
#endif
    /* encryption-info (draft-ietf-suit-firmware-encryption): the port decrypts */
    if (label != CMD_INVOKE && label != CMD_SWAP && c->comp[comp].param[P_ENC].p != NULL) {
        if ((e = param_get(c, comp, P_ENC, &it)) != BOOTREF_OK)
            return e;
        a.enc_info = it.str;
        a.enc_info_len = (size_t)it.val;
    }
    /* a write (fetch, copy, write, swap; swap writes its source too) must be
     * matched again before invoke or the end of validate */
    if (label != CMD_INVOKE) {
        c->written |= w;
        c->matched &= ~w;
    }
    if (port->action == NULL) {
        br_report(c, what, BR_STR("not executed (verification only)"), (int)comp, 0,
                  BOOTREF_EV_NOT_EXECUTED);
        return BOOTREF_OK;
    }
    /* the port acts only on well-formed sequences: each one that leads here is
     * checked first, outermost first (the error it would have had up front) */
    for (k = 0; k <= depth; k++) {
        if (c->running[k].checked)
            continue;
        if ((e = cbor_wellformed(c->running[k].seq->p, c->running[k].seq->n)) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("command sequence"));
        c->running[k].checked = 1;
    }
    if (port->action(port->ctx, &a) != BOOTREF_PORT_OK)
        return br_fail(c, BOOTREF_E_PORT, BR_STR("directive failed in the port"));
    br_report(c, what, BR_STR("done"), (int)comp, 0, BOOTREF_EV_OK);
    return BOOTREF_OK;
}

/* directive-set-component-index: uint / true / [+ uint] (draft-34 8.4.10.1). */
static bootref_err_t set_index(bootref_ctx_t *c, cbor_dec_t *d)
{
    cbor_item_t it;
    uint32_t mask = 0;
    size_t n = 1, i;
    bootref_err_t e;

    if ((e = cbor_head(d, &it)) != BOOTREF_OK)
        return e;
    if (it.major == CBOR_SIMPLE && it.val == CBOR_TRUE) {
        mask = 0xffffffffu >> (32u - c->n_components); /* 1 <= n_components <= 32 */
    } else {
        if (it.major == CBOR_ARRAY) {
            n = (size_t)it.val;
            if (n == 0u)
                return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("empty component index list"));
        } else if (it.major == CBOR_UINT) {
            d->pos = it.start; /* one index: read as a list of one */
        } else {
            return br_fail(c, BOOTREF_E_TYPE, BR_STR("component index must be uint, true or array"));
        }
        for (i = 0; i < n; i++) {
            uint64_t v;
            if ((e = cbor_uint(d, &v)) != BOOTREF_OK)
                return e;
            if (v >= c->n_components)
                return br_fail(c, BOOTREF_E_COMPONENT_INDEX, BR_STR("component index out of range"));
            mask |= (uint32_t)1u << v;
        }
    }
    c->selected = mask;
    return BOOTREF_OK;
}

/* directive-override-parameters (20): {+ label => value} for every selected
 * component; directive-set-parameters (19, draft-ietf-suit-trust-domains): the
 * same, but only where the parameter is not set yet. Values are type-checked
 * now and kept as spans. soft == NULL: not inside a try-each option or a
 * run-sequence, where setting soft-failure is an abort (section 8.4.8.15). */
static bootref_err_t override(bootref_ctx_t *c, cbor_dec_t *d, uint8_t *soft, int32_t cmd)
{
    size_t n, i;
    unsigned k, comp;
    uint32_t seen = 0;
    uint8_t ps;
    int64_t label;
    cbor_item_t it;
    bootref_span_t v;
    bootref_err_t e;

    if ((e = cbor_map(d, &n)) != BOOTREF_OK)
        return e;
    for (i = 0; i < n; i++) {
        if ((e = cbor_int(d, &label)) != BOOTREF_OK)
            return e;
#if BOOTREF_DELTA
        if (label == PARAM_DELTA_INFO) {
            /* a negative label sorts after every uint label: bit 31 stands for it */
            if (seen >= ((uint32_t)1u << 31))
                return BOOTREF_E_CBOR_ORDER;
            seen |= (uint32_t)1u << 31;
            v.p = d->buf + d->pos;
            if ((e = cbor_head(d, &it)) != BOOTREF_OK)
                return e;
            if (it.major != CBOR_BSTR)
                return br_fail(c, BOOTREF_E_TYPE, BR_STR("parameter has the wrong type"));
            v.n = (size_t)(d->buf + d->pos - v.p);
            for (comp = 0; comp < c->n_components; comp++)
                if ((c->selected & ((uint32_t)1u << comp)) &&
                    (cmd == CMD_OVERRIDE_PARAMETERS || c->comp[comp].param[P_DELTA].p == NULL))
                    c->comp[comp].param[P_DELTA] = v;
            continue;
        }
#endif
        if (label < 0 || label > PARAM_MAX_LABEL)
            return br_fail(c, BOOTREF_E_UNSUPPORTED_PARAMETER, BR_STR("parameter not supported"));
        /* labels in canonical order (0..24: numeric order is encoding
         * order); a repeat is never well-formed (run_seq() lets the walk say so) */
        if (seen >= ((uint32_t)1u << label))
            return BOOTREF_E_CBOR_ORDER;
        seen |= (uint32_t)1u << label;
        v.p = d->buf + d->pos;
        if ((e = cbor_head(d, &it)) != BOOTREF_OK)
            return e;
        if (label == PARAM_SOFT_FAILURE) {
            if (it.major != CBOR_SIMPLE || it.val == CBOR_NULL)
                return br_fail(c, BOOTREF_E_TYPE, BR_STR("soft-failure must be a bool"));
            if (soft == NULL)
                return br_fail(c, BOOTREF_E_ABORT, BR_STR("soft-failure set outside try-each/run-sequence"));
            /* bit 1: set by the sequence (set-parameters leaves it then) */
            if (cmd == CMD_OVERRIDE_PARAMETERS || !(*soft & 2u))
                *soft = (uint8_t)(2u | (it.val == CBOR_TRUE));
            continue;
        }
        if ((ps = param_slot[label]) == 0u)
            return br_fail(c, BOOTREF_E_UNSUPPORTED_PARAMETER, BR_STR("parameter not supported"));
        k = (unsigned)(ps & PS_SLOT_MASK) - 1u;
        if ((it.major != ps >> PS_SHIFT || (it.major == CBOR_SIMPLE && it.val == CBOR_NULL))
#if BOOTREF_WITH_UM
            && !(label == PARAM_UPDATE_PRIORITY && it.major == CBOR_NINT) /* an int */
#endif
        )
            return br_fail(c, BOOTREF_E_TYPE, BR_STR("parameter has the wrong type"));
        v.n = (size_t)(d->buf + d->pos - v.p); /* scalars and strings: head + content */
        for (comp = 0; comp < c->n_components; comp++)
            if ((c->selected & ((uint32_t)1u << comp)) &&
                (cmd == CMD_OVERRIDE_PARAMETERS || c->comp[comp].param[k].p == NULL))
                c->comp[comp].param[k] = v;
    }
    return BOOTREF_OK;
}

#if BOOTREF_WITH_UM
/* directive-override-multiple {+ uint => {+ parameter => value}} and
 * directive-copy-params {+ uint => [+ int]} (section 14.4). The map's keys are
 * checked for canonical order here (a sequence that runs to its end is taken to
 * be well-formed, see the file comment). */
static bootref_err_t um_multi(bootref_ctx_t *c, cbor_dec_t *d, uint8_t *soft, int32_t label)
{
    size_t n, m, i, j;
    uint64_t k, prev = 0;
    unsigned comp, slot;
    cbor_item_t it;
    uint8_t ps;
    bootref_err_t e;

    if ((e = cbor_map(d, &n)) != BOOTREF_OK)
        return e;
    if (n == 0u)
        return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("empty map of components"));
    for (i = 0; i < n; i++) {
        if ((e = cbor_uint(d, &k)) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("component index must be a uint"));
        if (i > 0u && k <= prev)
            return BOOTREF_E_CBOR_ORDER;
        prev = k;
        if (k >= c->n_components)
            return br_fail(c, BOOTREF_E_COMPONENT_INDEX, BR_STR("component index out of range"));
        if (label == CMD_OVERRIDE_MULTIPLE) {
            /* override-parameters for that component alone; it stays selected */
            c->selected = (uint32_t)1u << k;
            if ((e = override(c, d, soft, CMD_OVERRIDE_PARAMETERS)) != BOOTREF_OK)
                return e;
            continue;
        }
        if ((e = cbor_array(d, &m)) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("copy-params needs a list of labels"));
        if (m == 0u)
            return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("copy-params needs a list of labels"));
        for (j = 0; j < m; j++) {
            if ((e = cbor_head(d, &it)) != BOOTREF_OK)
                return e;
            if (it.major != CBOR_UINT && it.major != CBOR_NINT)
                return br_fail(c, BOOTREF_E_TYPE, BR_STR("a parameter label must be an int"));
            /* nint labels (delta-info among them, model section 15) are not copied */
            if (it.major == CBOR_NINT || it.val > PARAM_MAX_LABEL || (ps = param_slot[it.val]) == 0u)
                return br_fail(c, BOOTREF_E_UNSUPPORTED_PARAMETER, BR_STR("parameter cannot be copied"));
            slot = (unsigned)(ps & PS_SLOT_MASK) - 1u;
            for (comp = 0; comp < c->n_components; comp++)
                if ((c->selected & ((uint32_t)1u << comp)) && c->comp[k].param[slot].p != NULL)
                    c->comp[comp].param[slot] = c->comp[k].param[slot];
        }
    }
    return BOOTREF_OK;
}
#endif

/* try-each: [2* bstr .cbor seq, ?nil]; run-sequence: bstr .cbor seq. Run once
 * for each selected component, with only that component selected.
 * run-sequence is run as a try-each of one option: soft-failure defaults to
 * false, and when set inside, a failed condition ends the sequence without
 * failing the caller. */
static bootref_err_t nested(bootref_ctx_t *c, cbor_dec_t *d, int32_t label, unsigned depth)
{
    size_t arg = d->pos, end, n = 1, i;
    uint32_t saved = c->selected;
    unsigned comp;
    int run = label == CMD_RUN_SEQUENCE;
    cbor_dec_t a;
    cbor_item_t it;
    bootref_span_t s;
    bootref_err_t e = BOOTREF_OK;

    if (depth + 1u > BOOTREF_MAX_SEQ_NESTING)
        return br_fail(c, BOOTREF_E_LIMIT_NESTING, BR_STR("try-each/run-sequence nested too deep"));
    if ((e = cbor_skip(d)) != BOOTREF_OK)
        return e;
    end = d->pos;

    for (comp = 0; comp < c->n_components; comp++) {
        int done = 0;
        if (!(saved & ((uint32_t)1u << comp)))
            continue;
        cbor_init(&a, d->buf, end);
        a.pos = arg;
        if (!run) {
            if ((e = cbor_array(&a, &n)) != BOOTREF_OK)
                return e;
            if (n < 2u)
                return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("try-each needs two or more options"));
        }
        for (i = 0; i < n; i++) {
            uint8_t soft = (uint8_t)!run; /* draft-34: true in try-each, false in run-sequence */
            if ((e = cbor_head(&a, &it)) != BOOTREF_OK)
                return e;
            /* i >= 2: [2* bstr, ?nil] (a run-sequence has n = 1, so never here) */
            if (i >= 2u && i == n - 1u && it.major == CBOR_SIMPLE && it.val == CBOR_NULL) {
                done = 1; /* a final nil: "none applied" is acceptable */
                break;
            }
            if (it.major != CBOR_BSTR)
                return br_fail(c, BOOTREF_E_TYPE, BR_STR(run ? "run-sequence must be a bstr"
                                                              : "try-each option must be a bstr"));
            if (done)
                continue; /* remaining options are only type-checked */
            c->selected = (uint32_t)1u << comp; /* a failed option must not leak its index */
            s.p = it.str;
            s.n = (size_t)it.val;
            e = run_seq(c, &s, depth + 1u, &soft, 0);
            if (e == BOOTREF_OK) {
                done = 1;
                continue;
            }
            if (!((soft & 1u) && is_condition_failure(e)))
                return e;
            if (!run)
                br_report(c, BR_STR("try-each"), BR_STR("option failed, trying the next"),
                          (int)comp, (int32_t)i, BOOTREF_EV_SKIPPED);
        }
        if (!done && !run)
            return e; /* every option failed: the last failure stands */
    }
    c->selected = saved;
    return BOOTREF_OK;
}

/* The commands of one sequence, decoded as they run (see the file comment). */
static bootref_err_t run_cmds(bootref_ctx_t *c, cbor_dec_t *d, unsigned depth, uint8_t *soft)
{
    size_t n, i;
    int64_t label64;
    int32_t label;
    unsigned comp;
    bootref_err_t e;

    if ((e = cbor_array(d, &n)) != BOOTREF_OK)
        return br_fail(c, e, BR_STR("command sequence must be an array"));
    /* SUIT_Command_Sequence = [+ (label, argument)]: never empty */
    if ((n & 1u) || n == 0u)
        return br_fail(c, BOOTREF_E_STRUCTURE, BR_STR("command sequence needs one or more (label, argument) pairs"));
    if (n / 2u > BOOTREF_MAX_COMMANDS)
        return br_fail(c, BOOTREF_E_LIMIT_COUNT, BR_STR("too many commands"));

    for (i = 0; i < n; i += 2u) {
#if BOOTREF_REPORT
        size_t start = d->pos;
#endif
        if ((e = cbor_int(d, &label64)) != BOOTREF_OK)
            return br_fail(c, e, BR_STR("command label"));
        /* clamped: every label outside +-0x7fff is unsupported anyway */
        label = (int32_t)(label64 < -0x7fff ? -0x7fff : label64 > 0x7fff ? 0x7fff : label64);
        c->err_command = label;
        c->err_component = -1;
#if BOOTREF_REPORT
        if (depth == 0u)
            c->rep_offset = (uint32_t)start;
#endif
        switch (label) {
        case CMD_SET_COMPONENT_INDEX:
            e = set_index(c, d);
            break;
        case CMD_SET_PARAMETERS:
        case CMD_OVERRIDE_PARAMETERS:
            e = override(c, d, soft, label);
            break;
        case CMD_TRY_EACH:
        case CMD_RUN_SEQUENCE:
            e = nested(c, d, label, depth);
            break;
#if BOOTREF_WITH_UM
        case CMD_OVERRIDE_MULTIPLE:
        case CMD_COPY_PARAMS:
            e = um_multi(c, d, soft, label);
            break;
        case CMD_USE_BEFORE: case CMD_IMAGE_NOT_MATCH: case CMD_MIN_BATTERY: case CMD_AUTHORIZED:
        case CMD_VERSION: case CMD_WAIT:
#endif
        case CMD_VENDOR_ID: case CMD_CLASS_ID: case CMD_DEVICE_ID: case CMD_IMAGE_MATCH:
        case CMD_COMPONENT_SLOT: case CMD_CHECK_CONTENT: case CMD_ABORT:
        case CMD_FETCH: case CMD_COPY: case CMD_WRITE: case CMD_SWAP: case CMD_INVOKE: {
            uint64_t policy; /* SUIT_Rep_Policy: reporting bits, no effect here */
            if ((e = cbor_uint(d, &policy)) != BOOTREF_OK)
                return br_fail(c, e, BR_STR("command argument must be a reporting policy (uint)"));
            for (comp = 0; comp < c->n_components && e == BOOTREF_OK; comp++) {
                if (!(c->selected & ((uint32_t)1u << comp)))
                    continue;
                c->err_component = (int)comp;
                if (label == CMD_ABORT) {
                    br_report(c, BR_STR("condition abort"), NULL, (int)comp, 0, BOOTREF_EV_FAILED);
                    e = br_fail(c, BOOTREF_E_ABORT, BR_STR("condition abort"));
                } else if (label == CMD_VENDOR_ID || label == CMD_CLASS_ID || label == CMD_DEVICE_ID)
                    e = cond_identity(c, comp, label);
                else if (label == CMD_COMPONENT_SLOT)
                    e = cond_slot(c, comp);
                else if (label == CMD_IMAGE_MATCH || label == CMD_CHECK_CONTENT)
                    e = cond_image(c, comp, label);
#if BOOTREF_WITH_UM
                else if (label == CMD_IMAGE_NOT_MATCH)
                    e = cond_image(c, comp, label);
                else if (label == CMD_USE_BEFORE || label == CMD_MIN_BATTERY || label == CMD_AUTHORIZED ||
                         label == CMD_VERSION || label == CMD_WAIT)
                    e = um_command(c, comp, label);
#endif
                else
                    e = directive(c, comp, label, depth);
#if BOOTREF_REPORT
                if (c->record != NULL)
                    c->record(c->record_user, label, comp, (uint32_t)policy, e);
#endif
            }
            break;
        }
        default:
            return br_fail(c, BOOTREF_E_UNSUPPORTED_COMMAND, BR_STR("command not supported"));
        }
        if (e != BOOTREF_OK)
            return e;
    }
    return BOOTREF_OK;
}

/* checked: the sequence's bytes are known to be well-formed (the shared
 * sequence after its first complete run in this bootref_run() call). */
static bootref_err_t run_seq(bootref_ctx_t *c, const bootref_span_t *seq, unsigned depth,
                             uint8_t *soft, int checked)
{
    cbor_dec_t d;
    int32_t cmd = c->err_command;
    int comp = c->err_component;
    bootref_err_t e, w;

    c->running[depth].seq = seq;
    c->running[depth].checked = (uint8_t)checked;
    cbor_init(&d, seq->p, seq->n);
    e = run_cmds(c, &d, depth, soft);
    if (e == BOOTREF_OK && d.pos == d.len)
        return BOOTREF_OK; /* complete, hence well-formed */
    if (!c->running[depth].checked && (w = cbor_wellformed(seq->p, seq->n)) != BOOTREF_OK) {
        /* as if the walk had refused the sequence before it ran */
        c->err_command = cmd;
        c->err_component = comp;
        return br_fail(c, w, BR_STR("command sequence"));
    }
    return e != BOOTREF_OK ? e : BOOTREF_E_CBOR_TRAILING;
}

bootref_err_t bootref_run(bootref_ctx_t *c, uint32_t sequences)
{
    /* Order of draft-34 section 8.4.6: update (payload-fetch, install), then
     * boot (validate, load, invoke). */
    static const uint8_t keys[5] = {16, 20, 7, 8, 9};
    const bootref_span_t *seq;
    unsigned i;
    int shared_checked = 0;
    bootref_err_t e;

    if (c == NULL)
        return BOOTREF_E_USAGE;
    if (!c->verified)
        return br_fail(c, BOOTREF_E_USAGE, BR_STR("bootref_verify_envelope() has not succeeded"));

    c->matched = c->written = 0; /* per run (processing model section 4) */
    for (i = 0; i < 5u; i++) {
        if (!(sequences & (1u << i)))
            continue;
        seq = &c->seq[i];
        if (seq->p == NULL) {
            if (i < 2u && (c->severed_digest & (1u << i))) {
                if (c->flags & BOOTREF_F_ALLOW_SKIP) {
                    br_report(c, BR_STR("sequence"), BR_STR("severed and not supplied: not executed"),
                              -1, keys[i], BOOTREF_EV_SKIPPED);
                    continue;
                }
                return br_fail(c, BOOTREF_E_SEVERED_MISSING,
                               BR_STR("sequence is severed and its member was not supplied"));
            }
            continue; /* absent from the manifest: nothing to do */
        }
        /* Each sequence starts from a clean state; the shared sequence runs
         * first and sets the common parameters (draft-34 section 8.4.5). */
        memset(c->comp, 0, c->n_components * sizeof c->comp[0]); /* others are never used */
        c->selected = 1u; /* component index defaults to 0 */
        c->identity = 0;
        /* top level: no soft-failure (NULL: setting it aborts) */
#if BOOTREF_REPORT
        c->rep_section = 3; /* suit-common: its shared sequence */
        c->rep_offset = 0;
#endif
        if (c->shared.p != NULL) {
            if ((e = run_seq(c, &c->shared, 0, NULL, shared_checked)) != BOOTREF_OK)
                return e;
            shared_checked = 1;
        }
        c->selected = 1u;
#if BOOTREF_REPORT
        c->rep_section = keys[i];
        c->rep_offset = 0;
#endif
        if ((e = run_seq(c, seq, 0, NULL, 0)) != BOOTREF_OK)
            return e;
#if BOOTREF_REPORT
        c->rep_offset = (uint32_t)seq->n; /* the rules checked at its end */
#endif
        /* R1 by the end of every sequence; R3 at the end of validate: something
         * matched, and everything written in this run matched again */
        c->err_command = -1;
        c->err_component = -1;
        if (c->identity != 3u ||
            (i == 2u && (c->matched == 0u || (c->written & ~c->matched) != 0u)))
            return br_fail(c, BOOTREF_E_MISSING_CHECK,
                           BR_STR(c->identity != 3u ? "sequence makes no vendor and class checks"
                                                    : "validate does not match every written component"));
        br_report(c, BR_STR("sequence"), BR_STR("completed"), -1, keys[i], BOOTREF_EV_OK);
    }
    return BOOTREF_OK;
}
