/*
 * boot.c - A/B boot flow over the port's flash: install, secure boot,
 * test-then-confirm, revert. The state machine and trailer layout are
 * documented in include/bootref_boot.h.
 */
#include <string.h>

#include "bootref_boot.h"

#define REC_MAGIC 0x31495242u /* "BRI1" little-endian */
#define OFF_IMAGE 0u
#define OFF_TRIED 32u
#define OFF_CONFIRMED 64u
#define OFF_BAD 96u

enum { MODE_IDLE = 0, MODE_INSTALL = 1, MODE_BOOT = 2 };

/* ---- little-endian helpers and CRC-32 (IEEE 802.3, reflected) ---------- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
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

/* Record a diagnostic for a boot-flow failure (compiled out when lean). */
static bootref_err_t bfail(bootref_boot_t *b, bootref_err_t e, const char *detail)
{
#if BOOTREF_DETAIL_STRINGS
    b->ctx.detail = detail;
#else
    (void)b;
    (void)detail;
#endif
    return e;
}

/* ---- SUIT reports (BOOTREF_REPORT) ---------------------------------------- */

#if BOOTREF_REPORT
static void rep_begin(bootref_boot_t *b)
{
    bootref_report_begin(&b->rep);
    b->rep_verified = 0;
    b->rep_ran = 0;
}

/* The envelope verified: records from here on. */
static void rep_verified(bootref_boot_t *b)
{
    b->rep_verified = 1;
    bootref_report_attach(&b->rep, &b->ctx);
}

/* A report that cannot be built or emitted costs the report, never the update. */
static void rep_end(bootref_boot_t *b, unsigned kind, const uint8_t *env, size_t env_len, bootref_err_t e,
                    int pending)
{
    if (b->rep.port != NULL)
        (void)bootref_report_finish(&b->rep, b->base, &b->ctx, kind, b->rep_verified, b->rep_ran, env,
                                    env_len, e, pending, NULL);
}

void bootref_boot_set_report(bootref_boot_t *b, const bootref_report_port_t *port)
{
    if (b != NULL)
        b->rep.port = port;
}

bootref_err_t bootref_boot_set_nonce(bootref_boot_t *b, const uint8_t *nonce, size_t len)
{
    if (b == NULL || (nonce == NULL && len > 0u))
        return BOOTREF_E_USAGE;
    return bootref_report_set_nonce(&b->rep, nonce, len);
}
#define REP_BEGIN(b) rep_begin(b)
#define REP_VERIFIED(b) rep_verified(b)
#define REP_RAN(b, v) ((b)->rep_ran = (uint8_t)(v))
#define REP_END(b, kind, env, len, e, pending) rep_end(b, kind, env, len, e, pending)
#else
#define REP_BEGIN(b) ((void)0)
#define REP_VERIFIED(b) ((void)0)
#define REP_RAN(b, v) ((void)0)
#define REP_END(b, kind, env, len, e, pending) ((void)0)
#endif

/* ---- geometry ------------------------------------------------------------ */

static uint32_t trailer_addr(const bootref_boot_t *b, unsigned s)
{
    return b->bp->slot_addr[s] + b->bp->slot_size - b->bp->sector_size;
}

static uint32_t image_addr(const bootref_boot_t *b, unsigned s)
{
    return b->bp->slot_addr[s] + b->env_sectors * b->bp->sector_size;
}

static uint32_t image_capacity(const bootref_boot_t *b)
{
    return b->bp->slot_size - (b->env_sectors + 1u) * b->bp->sector_size;
}

/* ---- flash primitives ---------------------------------------------------- */

static bootref_err_t fl_read(bootref_boot_t *b, uint32_t addr, uint8_t *buf, size_t len)
{
    return b->bp->flash_read(b->bp->ctx, addr, buf, len) == BOOTREF_PORT_OK ? BOOTREF_OK
                                                                            : BOOTREF_E_PORT;
}

static bootref_err_t fl_erase(bootref_boot_t *b, uint32_t addr)
{
    return b->bp->flash_erase(b->bp->ctx, addr) == BOOTREF_PORT_OK ? BOOTREF_OK : BOOTREF_E_PORT;
}

/* Program len bytes at an aligned address; the tail is padded with 0xFF up
 * to the write size. */
static bootref_err_t fl_prog(bootref_boot_t *b, uint32_t addr, const uint8_t *p, size_t len)
{
    uint8_t tail[32];
    size_t ws = b->bp->write_size, body = len - len % ws;
    if (body > 0u && b->bp->flash_write(b->bp->ctx, addr, p, body) != BOOTREF_PORT_OK)
        return BOOTREF_E_PORT;
    if (body < len) {
        memset(tail, 0xff, sizeof tail);
        memcpy(tail, p + body, len - body);
        if (b->bp->flash_write(b->bp->ctx, addr + (uint32_t)body, tail, ws) != BOOTREF_PORT_OK)
            return BOOTREF_E_PORT;
    }
    return BOOTREF_OK;
}

static bootref_err_t set_flag(bootref_boot_t *b, unsigned s, uint32_t off)
{
    uint8_t rec[BOOTREF_TRAILER_RECORD];
    memset(rec, 0, sizeof rec);
    put32(rec, REC_MAGIC + off);
    return fl_prog(b, trailer_addr(b, s) + off, rec, sizeof rec);
}

static int is_erased(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != 0xffu)
            return 0;
    return 1;
}

/* ---- trailer scan -------------------------------------------------------- */

static bootref_err_t scan_slot(bootref_boot_t *b, unsigned s)
{
    uint8_t t[4u * BOOTREF_TRAILER_RECORD];
    bootref_slot_info_t *si = &b->slot[s];
    bootref_err_t e;

    memset(si, 0, sizeof *si);
    if ((e = fl_read(b, trailer_addr(b, s), t, sizeof t)) != BOOTREF_OK)
        return e;
    if (get32(t) != REC_MAGIC || get32(t + 24) != crc32(t, 24u))
        return BOOTREF_OK; /* EMPTY: erased, torn or foreign */
    si->env_len = get32(t + 4);
    si->img_len = get32(t + 8);
    si->sequence = (uint64_t)get32(t + 16) | ((uint64_t)get32(t + 20) << 32);
    if (si->env_len == 0u || si->env_len > BOOTREF_MAX_ENVELOPE_SIZE ||
        si->img_len > image_capacity(b))
        si->state = BOOTREF_SLOT_BAD;
    else if (!is_erased(t + OFF_BAD, BOOTREF_TRAILER_RECORD))
        si->state = BOOTREF_SLOT_BAD;
    else if (!is_erased(t + OFF_CONFIRMED, BOOTREF_TRAILER_RECORD))
        si->state = BOOTREF_SLOT_CONFIRMED;
    else if (!is_erased(t + OFF_TRIED, BOOTREF_TRAILER_RECORD))
        si->state = BOOTREF_SLOT_TRIAL;
    else
        si->state = BOOTREF_SLOT_PENDING;
    return BOOTREF_OK;
}

bootref_err_t bootref_boot_scan(bootref_boot_t *b)
{
    bootref_err_t e;
    if (b == NULL || b->bp == NULL)
        return BOOTREF_E_USAGE;
    if ((e = scan_slot(b, 0)) != BOOTREF_OK)
        return e;
    return scan_slot(b, 1);
}

/* ---- the verifier port, routed through the slots ------------------------- */

static int w_sha_init(void *ctx)
{
    const bootref_port_t *p = ((bootref_boot_t *)ctx)->base;
    return p->sha256_init(p->ctx);
}

static int w_sha_update(void *ctx, const uint8_t *d, size_t n)
{
    const bootref_port_t *p = ((bootref_boot_t *)ctx)->base;
    return p->sha256_update(p->ctx, d, n);
}

static int w_sha_final(void *ctx, uint8_t out[32])
{
    const bootref_port_t *p = ((bootref_boot_t *)ctx)->base;
    return p->sha256_final(p->ctx, out);
}

static int w_sig(void *ctx, int32_t alg, const bootref_key_t *k, const uint8_t *m, size_t ml,
                 const uint8_t *s, size_t sl)
{
    const bootref_port_t *p = ((bootref_boot_t *)ctx)->base;
    return p->sig_verify(p->ctx, alg, k, m, ml, s, sl);
}

static int w_mac(void *ctx, int32_t alg, const bootref_key_t *k, const uint8_t *m, size_t ml,
                 const uint8_t *t, size_t tl)
{
    const bootref_port_t *p = ((bootref_boot_t *)ctx)->base;
    if (p->mac_verify == NULL)
        return BOOTREF_PORT_UNSUPPORTED;
    return p->mac_verify(p->ctx, alg, k, m, ml, t, tl);
}

static int w_identity(void *ctx, bootref_identity_t *id)
{
    const bootref_port_t *p = ((bootref_boot_t *)ctx)->base;
    return p->identity(p->ctx, id);
}

static int w_counter(void *ctx, uint64_t *v)
{
    const bootref_boot_port_t *bp = ((bootref_boot_t *)ctx)->bp;
    return bp->counter_read(bp->ctx, v);
}

/* Component 0 is the slot's image; the device has no other component. */
static int w_read_image(void *ctx, uint8_t comp, uint64_t off, uint8_t *buf, size_t len,
                        size_t *got)
{
    bootref_boot_t *b = ctx;
    *got = 0;
#if BOOTREF_DELTA
    /* component 1 during an install: the running image, a patch's source */
    if (comp == 1u && b->mode == MODE_INSTALL && b->src_slot >= 0) {
        uint32_t n = b->slot[b->src_slot].img_len;
        if (off >= n)
            return BOOTREF_PORT_OK;
        if (len > n - off)
            len = (size_t)(n - off);
        if (fl_read(b, image_addr(b, (unsigned)b->src_slot) + (uint32_t)off, buf, len) != BOOTREF_OK)
            return BOOTREF_PORT_ERROR;
        *got = len;
        return BOOTREF_PORT_OK;
    }
#endif
    if (comp != 0u || (b->mode == MODE_INSTALL && !b->fetched))
        return BOOTREF_PORT_UNAVAILABLE;
    if (off >= b->img_len)
        return BOOTREF_PORT_OK;
    if (len > b->img_len - off)
        len = (size_t)(b->img_len - off);
    if (fl_read(b, image_addr(b, b->cur) + (uint32_t)off, buf, len) != BOOTREF_OK)
        return BOOTREF_PORT_ERROR;
    *got = len;
    return BOOTREF_PORT_OK;
}

static int w_slot(void *ctx, uint8_t comp, uint64_t *slot)
{
    bootref_boot_t *b = ctx;
    if (comp != 0u)
        return BOOTREF_PORT_UNAVAILABLE;
    *slot = b->cur;
    return BOOTREF_PORT_OK;
}

/* Program n bytes at image offset off of `cur`, erasing each sector just before
 * its first write. */
static int put(bootref_boot_t *b, uint32_t off, const uint8_t *p, size_t n)
{
    uint32_t base = image_addr(b, b->cur);
    if (n > image_capacity(b) - off) {
        b->fetch_err = bfail(b, BOOTREF_E_LIMIT_SIZE, "payload is larger than the slot's image area");
        b->fetch_detail = "payload is larger than the slot's image area";
        return BOOTREF_PORT_ERROR;
    }
    while (b->erased < off + n) {
        if (fl_erase(b, base + b->erased) != BOOTREF_OK)
            return BOOTREF_PORT_ERROR;
        b->erased += b->bp->sector_size;
    }
    return fl_prog(b, base + off, p, n) == BOOTREF_OK ? BOOTREF_PORT_OK : BOOTREF_PORT_ERROR;
}

static int dec_fail(bootref_boot_t *b, bootref_err_t e)
{
    b->fetch_err = e;
    b->fetch_detail = b->dec.detail;
    return BOOTREF_PORT_ERROR;
}

/* Decrypt n ciphertext bytes into the staging buffer; program it when full
 * (full chunks keep every write aligned). */
static int dec_put(bootref_boot_t *b, const uint8_t *in, size_t n)
{
    size_t take, got;
    bootref_err_t e;
    while (n > 0u) {
        take = sizeof b->dbuf - b->stage_n;
        take = n < take ? n : take; /* plaintext out <= ciphertext in: it fits */
        if ((e = bootref_decrypt_update(&b->dec, in, take, b->dbuf + b->stage_n, &got)) != BOOTREF_OK)
            return dec_fail(b, e);
        b->stage_n += (uint32_t)got;
        in += take;
        n -= take;
        if (b->stage_n == sizeof b->dbuf) {
            if (put(b, b->woff, b->dbuf, sizeof b->dbuf) != BOOTREF_PORT_OK)
                return BOOTREF_PORT_ERROR;
            b->woff += (uint32_t)sizeof b->dbuf;
            b->stage_n = 0;
        }
    }
    return BOOTREF_PORT_OK;
}

/* Stream a payload from the port's source into the image area of `cur`; with
 * an encryption info (parameter 19), decrypt it on the way (bootref_decrypt.h). */
static int do_fetch(bootref_boot_t *b, const uint8_t *uri, size_t uri_len, const uint8_t *enc,
                    size_t enc_len)
{
    const bootref_boot_port_t *bp = b->bp;
    uint32_t off = 0;
    size_t n, got;
    bootref_err_t e;

    if (b->fetched)
        return BOOTREF_PORT_ERROR; /* one image per install */
    b->stage_n = 0;
    b->woff = 0;
    if (enc != NULL && (e = bootref_decrypt_begin(&b->dec, b->base, enc, enc_len)) != BOOTREF_OK)
        return dec_fail(b, e);
    for (;;) {
        n = 0;
        while (n < sizeof b->buf) {
            got = 0;
            if (bp->fetch(bp->ctx, uri, uri_len, (uint64_t)off + n, b->buf + n, sizeof b->buf - n,
                          &got) != BOOTREF_PORT_OK || got > sizeof b->buf - n)
                return BOOTREF_PORT_ERROR;
            if (got == 0u)
                break;
            n += got;
        }
        if (n == 0u)
            break;
        if ((enc == NULL ? put(b, off, b->buf, n) : dec_put(b, b->buf, n)) != BOOTREF_PORT_OK)
            return BOOTREF_PORT_ERROR;
        off += (uint32_t)n;
        if (n < sizeof b->buf)
            break;
    }
    if (enc != NULL) {
        if ((e = bootref_decrypt_finish(&b->dec)) != BOOTREF_OK)
            return dec_fail(b, e);
        if (b->stage_n > 0u && put(b, b->woff, b->dbuf, b->stage_n) != BOOTREF_PORT_OK)
            return BOOTREF_PORT_ERROR;
        off = b->woff + b->stage_n;
    }
    b->img_len = off;
    b->fetched = 1;
    return BOOTREF_PORT_OK;
}

#if BOOTREF_DELTA
/* ---- delta updates (docs/delta.md) -------------------------------------- */

static int delta_read(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    bootref_boot_t *b = ctx;
    /* the applier keeps every read inside the source size it was given */
    return fl_read(b, image_addr(b, (unsigned)b->src_slot) + off, buf, len) == BOOTREF_OK ? BOOTREF_PORT_OK
                                                                                          : BOOTREF_PORT_ERROR;
}

/* Result bytes arrive in order; stage them so every program is a full chunk. */
static int delta_write(void *ctx, uint32_t off, const uint8_t *p, size_t n)
{
    bootref_boot_t *b = ctx;
    size_t take;
    (void)off;
    while (n > 0u) {
        take = sizeof b->dbuf - b->stage_n;
        take = n < take ? n : take;
        memcpy(b->dbuf + b->stage_n, p, take);
        b->stage_n += (uint32_t)take;
        p += take;
        n -= take;
        if (b->stage_n == sizeof b->dbuf) {
            if (put(b, b->woff, b->dbuf, sizeof b->dbuf) != BOOTREF_PORT_OK)
                return BOOTREF_PORT_ERROR;
            b->woff += (uint32_t)sizeof b->dbuf;
            b->stage_n = 0;
        }
    }
    return BOOTREF_PORT_OK;
}

static int delta_fail(bootref_boot_t *b, bootref_err_t e, const char *detail)
{
    b->fetch_err = e;
    b->fetch_detail = detail;
    return BOOTREF_PORT_ERROR;
}

/* Read the whole patch from the payload source in buf-sized steps; pass 0 hashes
 * it, pass 1 applies it. */
static int delta_pass(bootref_boot_t *b, const bootref_action_t *a, int apply, uint32_t *total)
{
    const bootref_boot_port_t *bp = b->bp;
    const bootref_port_t *vp = b->base;
    bootref_delta_io_t io;
    uint32_t off = 0;
    size_t got;
    bootref_err_t e;

    io.ctx = b;
    io.read_source = delta_read;
    io.write_target = delta_write;
    for (;;) {
        got = 0;
        if (bp->fetch(bp->ctx, a->uri, a->uri_len, off, b->buf, sizeof b->buf, &got) != BOOTREF_PORT_OK ||
            got > sizeof b->buf)
            return BOOTREF_PORT_ERROR;
        if (got == 0u)
            break;
        if (!apply && (got > a->patch_size - off || /* longer than the manifest says: stop reading */
                       vp->sha256_update(vp->ctx, b->buf, got) != BOOTREF_PORT_OK))
            return got > a->patch_size - off ? delta_fail(b, BOOTREF_E_PATCH, "patch is longer than delta-info says")
                                             : BOOTREF_PORT_ERROR;
        if (apply && (e = bootref_delta_update(&b->delta, &io, b->buf, got)) != BOOTREF_OK)
            return e == BOOTREF_E_PORT && b->fetch_err != BOOTREF_OK ? BOOTREF_PORT_ERROR
                                                                      : delta_fail(b, e, "patch does not apply");
        off += (uint32_t)got;
    }
    *total = off;
    return BOOTREF_PORT_OK;
}

/* directive-fetch with delta-info: the patch is authenticated first (size and
 * SHA-256 from the manifest), then applied from the running slot into `cur`. */
static int do_delta_fetch(bootref_boot_t *b, const bootref_action_t *a)
{
    const bootref_port_t *vp = b->base;
    uint8_t md[32];
    uint32_t total = 0, i;
    uint8_t diff = 0;
    int r;

    if (b->fetched || a->enc_info != NULL || a->source_component != 1u)
        return BOOTREF_PORT_UNSUPPORTED; /* one image per install; no encrypted patches */
    if (b->src_slot < 0)
        return delta_fail(b, BOOTREF_E_PORT, "no running image to apply the patch to");
    /* 1. the patch, before anything of it is written */
    if (vp->sha256_init(vp->ctx) != BOOTREF_PORT_OK)
        return BOOTREF_PORT_ERROR;
    r = delta_pass(b, a, 0, &total);
    if (vp->sha256_final(vp->ctx, md) != BOOTREF_PORT_OK || r != BOOTREF_PORT_OK)
        return BOOTREF_PORT_ERROR;
    for (i = 0; i < 32u; i++)
        diff |= (uint8_t)(md[i] ^ a->patch_digest[i]);
    if (total != a->patch_size || diff != 0u)
        return delta_fail(b, BOOTREF_E_PATCH, "patch differs from the size or digest in delta-info");
    /* 2. apply it: source = the running slot's image, result = the target slot */
    b->stage_n = 0;
    b->woff = 0;
    bootref_delta_begin(&b->delta, b->slot[b->src_slot].img_len, image_capacity(b));
    if ((r = delta_pass(b, a, 1, &total)) != BOOTREF_PORT_OK)
        return r;
    if (bootref_delta_finish(&b->delta) != BOOTREF_OK)
        return delta_fail(b, BOOTREF_E_PATCH, "patch ends before its result is complete");
    if (b->stage_n > 0u && put(b, b->woff, b->dbuf, b->stage_n) != BOOTREF_PORT_OK)
        return BOOTREF_PORT_ERROR;
    b->img_len = b->woff + b->stage_n;
    b->fetched = 1;
    return BOOTREF_PORT_OK;
}
#endif

/* The delegation's clock is the verifier port's (when it has one). */
static int w_time(void *ctx, int64_t *now)
{
    const bootref_boot_t *b = ctx;
    return b->base->time_now(b->base->ctx, now);
}

static int w_action(void *ctx, const bootref_action_t *a)
{
    bootref_boot_t *b = ctx;
    if (a->component != 0u)
        return BOOTREF_PORT_UNSUPPORTED;
    if (a->command == 23u) { /* invoke: recorded; the caller starts the image */
        b->invoked = 1;
        return BOOTREF_PORT_OK;
    }
#if BOOTREF_DELTA
    if (a->command == 21u && b->mode == MODE_INSTALL && a->delta_info != NULL)
        return do_delta_fetch(b, a);
#endif
    if (a->command == 21u && b->mode == MODE_INSTALL)
        return do_fetch(b, a->uri, a->uri_len, a->enc_info, a->enc_info_len);
    return BOOTREF_PORT_UNSUPPORTED; /* copy, swap, write: not on this device */
}

bootref_err_t bootref_boot_init(bootref_boot_t *b, const bootref_port_t *verifier,
                                const bootref_boot_port_t *bp)
{
    uint32_t ss;
    if (b == NULL || verifier == NULL || bp == NULL || bp->flash_read == NULL ||
        bp->flash_write == NULL || bp->flash_erase == NULL || bp->counter_read == NULL ||
        bp->counter_advance == NULL || bp->fetch == NULL || verifier->identity == NULL)
        return BOOTREF_E_USAGE;
    ss = bp->sector_size;
    if (ss < 4u * BOOTREF_TRAILER_RECORD || ss % 32u != 0u || bp->write_size == 0u ||
        bp->write_size > 32u || 32u % bp->write_size != 0u || bp->slot_size % ss != 0u ||
        bp->slot_addr[0] % ss != 0u || bp->slot_addr[1] % ss != 0u)
        return BOOTREF_E_USAGE;
    memset(b, 0, sizeof *b);
    b->env_sectors = (BOOTREF_MAX_ENVELOPE_SIZE + ss - 1u) / ss;
    if (bp->slot_size / ss < b->env_sectors + 2u)
        return BOOTREF_E_USAGE;
    if ((bp->slot_addr[0] < bp->slot_addr[1] && bp->slot_addr[0] + bp->slot_size > bp->slot_addr[1]) ||
        (bp->slot_addr[1] <= bp->slot_addr[0] && bp->slot_addr[1] + bp->slot_size > bp->slot_addr[0]))
        return BOOTREF_E_USAGE; /* overlapping slots */
    b->bp = bp;
    b->base = verifier;
    b->port = *verifier;
    b->port.ctx = b;
    b->port.sha256_init = w_sha_init;
    b->port.sha256_update = w_sha_update;
    b->port.sha256_final = w_sha_final;
    b->port.sig_verify = w_sig;
    b->port.mac_verify = w_mac;
    b->port.identity = w_identity;
    b->port.counter_read = w_counter;
    b->port.read_image = w_read_image;
    b->port.image_exact = 1; /* the trailer records the image length */
    b->port.component_slot = w_slot;
    b->port.action = w_action;
    b->port.time_now = verifier->time_now != NULL ? w_time : NULL;
#if BOOTREF_WITH_UM
    b->port.um = verifier->um; /* update management inputs: the device's own, unchanged */
#endif
    return BOOTREF_OK;
}

/* Newest CONFIRMED slot, or -1. */
static int newest_confirmed(const bootref_boot_t *b)
{
    int best = -1;
    unsigned s;
    for (s = 0; s < 2u; s++)
        if (b->slot[s].state == BOOTREF_SLOT_CONFIRMED &&
            (best < 0 || b->slot[s].sequence > b->slot[best].sequence))
            best = (int)s;
    return best;
}

/* Secure boot of slot s: the stored envelope, copied to RAM, verified, then
 * validate, load and invoke against the slot's image. */
static bootref_err_t verify_slot(bootref_boot_t *b, unsigned s)
{
    const bootref_slot_info_t *si = &b->slot[s];
    bootref_err_t e;

    b->mode = MODE_BOOT;
    b->cur = (uint8_t)s;
    b->img_len = si->img_len;
    b->invoked = 0;
    REP_BEGIN(b);
    if ((e = fl_read(b, b->bp->slot_addr[s], b->env, si->env_len)) != BOOTREF_OK) {
        REP_END(b, BOOTREF_REPORT_BOOT, NULL, 0u, e, 0);
        return e;
    }
    /* a delegation's validity period was checked at install: an installed image
     * keeps booting after its delegation expires (and without a clock) */
    e = bootref_verify_envelope(&b->ctx, &b->port, b->env, si->env_len, BOOTREF_F_INSTALLED);
    if (e == BOOTREF_OK && b->ctx.sequence_number != si->sequence)
        e = BOOTREF_E_STRUCTURE; /* trailer and envelope disagree */
    if (e == BOOTREF_OK) {
        REP_VERIFIED(b);
        REP_RAN(b, 1);
        e = bootref_run(&b->ctx, BOOTREF_SEQ_VALIDATE | BOOTREF_SEQ_LOAD | BOOTREF_SEQ_INVOKE);
    }
    /* the image starts after this: an invoke is reported as pending (draft-ietf-suit-report) */
    REP_END(b, BOOTREF_REPORT_BOOT, b->env, si->env_len, e, e == BOOTREF_OK && b->invoked);
    return e;
}

/* The slot an install writes: not the one holding the newest confirmed image;
 * on a device without one, not a slot that is pending or on trial. */
static unsigned target_slot(const bootref_boot_t *b, int run)
{
    if (run >= 0)
        return (unsigned)run ^ 1u;
    return b->slot[0].state == BOOTREF_SLOT_PENDING || b->slot[0].state == BOOTREF_SLOT_TRIAL ? 1u : 0u;
}

bootref_err_t bootref_boot_target(bootref_boot_t *b, uint8_t *slot)
{
    bootref_err_t e;
    if (b == NULL || b->bp == NULL || slot == NULL)
        return BOOTREF_E_USAGE;
    if ((e = bootref_boot_scan(b)) != BOOTREF_OK)
        return e;
    *slot = (uint8_t)target_slot(b, newest_confirmed(b));
    return BOOTREF_OK;
}

/* With reports, the install proper sits inside bootref_boot_install() below, which
 * reports every outcome; without, it is bootref_boot_install() itself. */
#if BOOTREF_REPORT
static bootref_err_t install(bootref_boot_t *b, const uint8_t *env, size_t env_len, uint8_t *slot)
#else
bootref_err_t bootref_boot_install(bootref_boot_t *b, const uint8_t *env, size_t env_len,
                                   uint8_t *slot)
#endif
{
    uint8_t rec[BOOTREF_TRAILER_RECORD];
    uint64_t counter = 0;
    unsigned t, i;
    int run;
    bootref_err_t e;

#if !BOOTREF_REPORT
    if (b == NULL || b->bp == NULL || env == NULL)
        return BOOTREF_E_USAGE;
#endif
    if (env_len > BOOTREF_MAX_ENVELOPE_SIZE)
        return BOOTREF_E_LIMIT_SIZE;
    b->ctx.detail = NULL;
    if ((e = bootref_boot_scan(b)) != BOOTREF_OK)
        return e;
    run = newest_confirmed(b);
    t = target_slot(b, run);
    if (b->slot[0].state == BOOTREF_SLOT_TRIAL || b->slot[1].state == BOOTREF_SLOT_TRIAL)
        /* the image on trial may be the one running: never erase it under itself */
        return bfail(b, BOOTREF_E_USAGE, "an image is on trial: confirm it (or reset to revert) first");

    /* 1. verify in RAM: authenticity, identity, rollback. Nothing is written yet. */
    memcpy(b->env, env, env_len);
    b->mode = MODE_INSTALL;
    b->cur = (uint8_t)t;
    b->fetched = 0;
    b->img_len = 0;
    b->erased = 0;
#if BOOTREF_DELTA
    b->src_slot = (int8_t)run;
#endif
    if ((e = bootref_verify_envelope(&b->ctx, &b->port, b->env, env_len, 0)) != BOOTREF_OK)
        goto out;
    REP_VERIFIED(b);
    if (b->bp->counter_read(b->bp->ctx, &counter) != BOOTREF_PORT_OK) {
        e = BOOTREF_E_PORT;
        goto out;
    }
    if (b->ctx.sequence_number < counter ||
        (run >= 0 && b->ctx.sequence_number <= b->slot[run].sequence)) {
        /* an update must be newer than what runs */
        e = bfail(b, BOOTREF_E_ROLLBACK, "sequence number is not newer than the running image");
        goto out;
    }

    /* 2. invalidate the target, then write the envelope */
    if ((e = fl_erase(b, trailer_addr(b, t))) != BOOTREF_OK)
        goto out;
    for (i = 0; i < b->env_sectors; i++)
        if ((e = fl_erase(b, b->bp->slot_addr[t] + i * b->bp->sector_size)) != BOOTREF_OK)
            goto out;
    if ((e = fl_prog(b, b->bp->slot_addr[t], b->env, env_len)) != BOOTREF_OK)
        goto out;

    /* 3. fetch the payload into the slot, as the manifest says */
    b->fetch_err = BOOTREF_OK;
    b->fetch_detail = NULL;
    REP_RAN(b, 1);
    e = bootref_run(&b->ctx, BOOTREF_SEQ_PAYLOAD_FETCH | BOOTREF_SEQ_INSTALL);
    REP_RAN(b, e != BOOTREF_OK);
    if (e == BOOTREF_OK && !b->fetched && do_fetch(b, NULL, 0, NULL, 0) != BOOTREF_PORT_OK)
        e = bfail(b, BOOTREF_E_PORT, "payload could not be fetched into the slot");
    if (e != BOOTREF_OK && b->fetch_err != BOOTREF_OK)
        e = bfail(b, b->fetch_err, b->fetch_detail);
    if (e != BOOTREF_OK)
        goto out;

    /* 4. verify what is now in flash, as the boot will */
    REP_RAN(b, 1);
    if ((e = bootref_run(&b->ctx, BOOTREF_SEQ_VALIDATE | BOOTREF_SEQ_LOAD | BOOTREF_SEQ_INVOKE)) !=
        BOOTREF_OK)
        goto out;

    /* 5. commit: the image record makes the slot PENDING */
    memset(rec, 0, sizeof rec);
    put32(rec, REC_MAGIC);
    put32(rec + 4, (uint32_t)env_len);
    put32(rec + 8, b->img_len);
    put32(rec + 16, (uint32_t)b->ctx.sequence_number);
    put32(rec + 20, (uint32_t)(b->ctx.sequence_number >> 32));
    put32(rec + 24, crc32(rec, 24u));
    REP_RAN(b, 0);
    e = fl_prog(b, trailer_addr(b, t) + OFF_IMAGE, rec, sizeof rec);
out:
    b->mode = MODE_IDLE;
    if (slot != NULL)
        *slot = (uint8_t)t;
    if (e == BOOTREF_OK)
        e = bootref_boot_scan(b);
    return e;
}

#if BOOTREF_REPORT
bootref_err_t bootref_boot_install(bootref_boot_t *b, const uint8_t *env, size_t env_len,
                                   uint8_t *slot)
{
    bootref_err_t e;
    if (b == NULL || b->bp == NULL || env == NULL)
        return BOOTREF_E_USAGE;
    REP_BEGIN(b);
    e = install(b, env, env_len, slot);
    REP_END(b, BOOTREF_REPORT_INSTALL, env, env_len, e, 0);
    return e;
}
#endif

bootref_err_t bootref_boot_select(bootref_boot_t *b, bootref_boot_result_t *r)
{
    uint64_t counter = 0;
    unsigned s;
    int best, pend = -1;
    bootref_err_t e;

    if (b == NULL || b->bp == NULL || r == NULL)
        return BOOTREF_E_USAGE;
    memset(r, 0, sizeof *r);
    b->ctx.detail = NULL;
    if ((e = bootref_boot_scan(b)) != BOOTREF_OK)
        return e;
    /* 1. a trial that was not confirmed: revert */
    for (s = 0; s < 2u; s++) {
        if (b->slot[s].state == BOOTREF_SLOT_TRIAL) {
            if ((e = set_flag(b, s, OFF_BAD)) != BOOTREF_OK)
                return e;
            b->slot[s].state = BOOTREF_SLOT_BAD;
        }
        if (b->slot[s].state == BOOTREF_SLOT_PENDING &&
            (pend < 0 || b->slot[s].sequence > b->slot[pend].sequence))
            pend = (int)s;
    }
    /* 2. a staged update: verify again, then start it on trial */
    if (pend >= 0) {
        e = verify_slot(b, (unsigned)pend);
        b->mode = MODE_IDLE;
        if (e == BOOTREF_E_PORT)
            return e;
        if (e == BOOTREF_OK) {
            if ((e = set_flag(b, (unsigned)pend, OFF_TRIED)) != BOOTREF_OK)
                return e;
            b->slot[pend].state = BOOTREF_SLOT_TRIAL;
            r->slot = (uint8_t)pend;
            r->trial = 1;
            r->invoke = b->invoked;
            r->sequence = b->slot[pend].sequence;
            return BOOTREF_OK;
        }
        if ((e = set_flag(b, (unsigned)pend, OFF_BAD)) != BOOTREF_OK)
            return e;
        b->slot[pend].state = BOOTREF_SLOT_BAD;
    }
    /* 3. confirmed images, newest first */
    for (s = 0; s < 2u; s++) {
        if ((best = newest_confirmed(b)) < 0)
            break;
        e = verify_slot(b, (unsigned)best);
        b->mode = MODE_IDLE;
        if (e == BOOTREF_E_PORT)
            return e;
        if (e == BOOTREF_OK) {
            if (b->bp->counter_read(b->bp->ctx, &counter) != BOOTREF_PORT_OK)
                return BOOTREF_E_PORT;
            if (b->slot[best].sequence > counter &&
                b->bp->counter_advance(b->bp->ctx, b->slot[best].sequence) != BOOTREF_PORT_OK)
                return BOOTREF_E_PORT;
            r->slot = (uint8_t)best;
            r->invoke = b->invoked;
            r->sequence = b->slot[best].sequence;
            return BOOTREF_OK;
        }
        /* does not verify (e.g. superseded by the counter): skip it this boot */
        b->slot[best].state = BOOTREF_SLOT_BAD;
    }
    REP_BEGIN(b);
    REP_END(b, BOOTREF_REPORT_BOOT, NULL, 0u, BOOTREF_E_NO_IMAGE, 0);
    return bfail(b, BOOTREF_E_NO_IMAGE, "no slot holds an image that verifies");
}

bootref_err_t bootref_boot_confirm(bootref_boot_t *b)
{
    uint64_t counter = 0;
    unsigned s;
    bootref_err_t e;

    if (b == NULL || b->bp == NULL)
        return BOOTREF_E_USAGE;
    if ((e = bootref_boot_scan(b)) != BOOTREF_OK)
        return e;
    for (s = 0; s < 2u; s++) {
        if (b->slot[s].state != BOOTREF_SLOT_TRIAL)
            continue;
        if ((e = set_flag(b, s, OFF_CONFIRMED)) != BOOTREF_OK)
            return e;
        b->slot[s].state = BOOTREF_SLOT_CONFIRMED;
        if (b->bp->counter_read(b->bp->ctx, &counter) != BOOTREF_PORT_OK)
            return BOOTREF_E_PORT;
        if (b->slot[s].sequence > counter &&
            b->bp->counter_advance(b->bp->ctx, b->slot[s].sequence) != BOOTREF_PORT_OK)
            return BOOTREF_E_PORT;
    }
    return BOOTREF_OK;
}
