/*
 * bootref_host.h - host port on OpenSSL libcrypto (tests, CLI, ctypes use).
 *
 * Trust anchors are P-256 or Ed25519 public keys loaded from PEM
 * (SubjectPublicKeyInfo) and raw HMAC-SHA256 keys loaded from files.
 * Component 0's image is a file, streamed on demand. Not for devices: it
 * allocates and uses stdio.
 */
#ifndef BOOTREF_HOST_H
#define BOOTREF_HOST_H

#include <stdint.h>
#include <stdio.h>

#include "bootref.h"
#include "bootref_delegation.h"

#define BOOTREF_HOST_MAX_KEYS 8
#define BOOTREF_HOST_MAX_HMAC_KEY 64
#define BOOTREF_HOST_MAX_KID 64
/* fwsign's key ids: the first 8 bytes of the key's RFC 9679 COSE Key Thumbprint */
#define BOOTREF_HOST_KID_LEN 8

typedef struct bootref_host_hmac_key {
    size_t len;
    uint8_t key[BOOTREF_HOST_MAX_HMAC_KEY];
} bootref_host_hmac_key_t;

/* largest raw public key: ML-DSA-87 (FIPS 204 Table 2) */
#define BOOTREF_HOST_MAX_RAW_KEY 2592

typedef struct bootref_host {
    bootref_port_t port;
    /* raw public keys of HSS-LMS and ML-DSA trust anchors (bootref_host_add_raw_key) */
    uint8_t raw[BOOTREF_HOST_MAX_KEYS][BOOTREF_HOST_MAX_RAW_KEY];
    size_t raw_len[BOOTREF_HOST_MAX_KEYS];
    int32_t require[8];                                 /* the "all of these algorithms" rule */
    bootref_key_t keys[BOOTREF_HOST_MAX_KEYS];
    void *pkey[BOOTREF_HOST_MAX_KEYS];                 /* EVP_PKEY* */
    bootref_host_hmac_key_t hmac[BOOTREF_HOST_MAX_KEYS];
    uint8_t kid[BOOTREF_HOST_MAX_KEYS][BOOTREF_HOST_MAX_KID]; /* the trusted keys' key ids */
    void *md;                                           /* EVP_MD_CTX* */
    FILE *image;
    uint64_t counter;
    uint8_t vendor_id[16], class_id[16], device_id[16];
    uint8_t has_vendor, has_class, has_device;
    void *enc;                                          /* decryption keys and cipher (crypto_enc.c) */
    /* delegation (trust domains): state, its port, and the time source */
    bootref_deleg_state_t deleg_state;
    bootref_deleg_port_t deleg;
    int64_t now;
    int time_mode;                                      /* BOOTREF_HOST_TIME_* */
    /* host mode (host_model.c): what component 0 holds during one run */
    uint8_t dry;                                        /* the dry run: no identity, no image */
    uint8_t image_hidden;                               /* encrypted, no decryption key: no image */
    const uint8_t *payload;                             /* the integrated payload as the image */
    size_t payload_len;
    FILE *run_image;                                    /* the decrypted image */
    uint8_t image_compared;                             /* an image-match / check-content of 0 passed */
    void *dry_state;
    bootref_report_fn user_report;                      /* the caller's reporter during a host run */
    void *user_report_user;
#if BOOTREF_WITH_UM
    /* update management inputs (the simulated device's); port.um stays NULL until
     * one is set, so `bootref verify` skips what needs them */
    bootref_um_port_t um;
    uint8_t um_has_now, um_has_battery, um_authorized; /* authorized: 0 none, 1 no, 2 yes */
    uint64_t um_now, um_battery;
    size_t um_nver;                                     /* 0: component 0's version unknown */
    int64_t um_version[BOOTREF_MAX_VERSION_PARTS];
#endif
} bootref_host_t;

enum {
    BOOTREF_HOST_TIME_CLOCK = 0, /* the host's clock (default) */
    BOOTREF_HOST_TIME_FIXED = 1, /* the value given to bootref_host_set_time() */
    BOOTREF_HOST_TIME_NONE = 2   /* no time source (a device without a clock) */
};

/* All functions return 0 on success, -1 on failure (with a message in err
 * if err != NULL, at most errlen bytes). */
bootref_host_t *bootref_host_new(void);
void bootref_host_free(bootref_host_t *h);
/* Trust anchors. Each gets the key id fwsign gives the key and signs with
 * (BOOTREF_HOST_KID_LEN bytes of its RFC 9679 thumbprint), so an
 * authentication block whose kid names no trusted key is ignored and one that
 * names a key is checked with that key only (docs/processing-model.md
 * section 5). */
int bootref_host_add_pem(bootref_host_t *h, const char *path, char *err, size_t errlen);
int bootref_host_add_hmac_file(bootref_host_t *h, const char *path, char *err, size_t errlen);
/* A post-quantum trust anchor from its raw public key: type BOOTREF_KEY_HSS_LMS
 * (the 60-byte HSS public key, RFC 8554 section 6.1) or BOOTREF_KEY_MLDSA44/65/87
 * (1,312 / 1,952 / 2,592 bytes, FIPS 204). Its key id is fwsign's (the RFC 9679
 * thumbprint of the COSE_Key: kty HSS-LMS with pub, or kty AKP with alg and pub). */
int bootref_host_add_raw_key(bootref_host_t *h, uint8_t type, const uint8_t *raw, size_t len,
                             char *err, size_t errlen);
/* Any trust anchor file: a PEM public key, or a COSE_Key (fwsign's NAME.cose)
 * of an HSS-LMS or ML-DSA public key. */
int bootref_host_add_key_file(bootref_host_t *h, const char *path, char *err, size_t errlen);
/* The "all of these algorithms" rule (bootref_port.h require_algs): each call
 * adds one COSE algorithm that must have a verified block; at most 8. */
int bootref_host_require_alg(bootref_host_t *h, int32_t alg);
/* The core's HSS-LMS verifier (src/hsslms.c) over the host's SHA-256, on its
 * own: a BOOTREF_PORT_* code (0 = valid), -1 if out of memory. For tests
 * against RFC 8554's vectors. */
int bootref_host_hsslms_verify(const uint8_t *pub, size_t pub_len, const uint8_t *msg, size_t msg_len,
                               const uint8_t *sig, size_t sig_len);
/* Replace the key id of trust anchor `index` (in the order added): kid_len
 * bytes (at most BOOTREF_HOST_MAX_KID), or none (kid NULL or kid_len 0), which
 * makes the key a candidate for blocks with any kid. */
int bootref_host_set_kid(bootref_host_t *h, size_t index, const uint8_t *kid, size_t kid_len);
/* fwsign's key id of a key: an EVP_PKEY (Ed25519, X25519 or P-256; for a
 * private key, its public key's) or a symmetric key of 1..64 bytes. The one
 * definition for trust anchors and decryption keys. 0 or -1. */
int bootref_host_pkey_kid(const void *pkey, uint8_t kid[BOOTREF_HOST_KID_LEN]);
int bootref_host_secret_kid(const uint8_t *k, size_t len, uint8_t kid[BOOTREF_HOST_KID_LEN]);
int bootref_host_set_image(bootref_host_t *h, const char *path, char *err, size_t errlen);
void bootref_host_set_counter(bootref_host_t *h, uint64_t value);
/* which: 1 vendor, 2 class, 3 device */
void bootref_host_set_identity(bootref_host_t *h, int which, const uint8_t id[16]);
const bootref_port_t *bootref_host_port(const bootref_host_t *h);
#if BOOTREF_WITH_UM
/* Update management inputs (docs/processing-model.md section 14.1): has = 0 clears one.
 * authorized: -1 no application, 0 not authorized, 1 authorized. The version is
 * component 0's (n = 0: unknown; at most BOOTREF_MAX_VERSION_PARTS integers). */
void bootref_host_set_um_time(bootref_host_t *h, int has, uint64_t now);
void bootref_host_set_battery(bootref_host_t *h, int has, uint64_t mwh);
void bootref_host_set_authorized(bootref_host_t *h, int authorized);
int bootref_host_set_version(bootref_host_t *h, const int64_t *parts, size_t n);
#endif
/* Time for the expiry of delegations: mode BOOTREF_HOST_TIME_*, now for _FIXED. */
void bootref_host_set_time(bootref_host_t *h, int mode, int64_t now);
/* Payload decryption (crypto_enc.c): a device decryption key, either a PEM
 * private key (X25519 or P-256, for ECDH-ES+A128KW) or a KEK for A128KW/A256KW
 * (fwsign's KEK PEM, or a file of exactly 16 or 32 raw bytes); kid may be NULL
 * (matches any). */
int bootref_host_add_decrypt_key(bootref_host_t *h, const char *path, const uint8_t *kid, size_t kid_len,
                                 char *err, size_t errlen);
/* The same key files, with the key id fwsign gives the key (the first 8 bytes
 * of its RFC 9679 COSE Key Thumbprint), as `bootref verify --decrypt-key` uses. */
int bootref_host_add_decrypt_key_file(bootref_host_t *h, const char *path, char *err, size_t errlen);
void bootref_host_enc_free(bootref_host_t *h);

/* Host mode (host_model.c; docs/processing-model.md sections 1, 6 and 9):
 * bootref_verify_envelope(), then, with BOOTREF_F_ALLOW_SKIP, the host's own
 * rules before and after bootref_run(sequences):
 *   - an integrated payload ("#name" in the envelope) that no uri parameter of
 *     the manifest names is refused: BOOTREF_E_STRUCTURE ("malformed");
 *   - component 0's content is the image given (bootref_host_set_image) or
 *     else the integrated payload its first "#..." fetch names, found by a dry
 *     run of the sequences with no identity and no image; an image given that
 *     differs from that payload: BOOTREF_E_IMAGE_DIGEST;
 *   - component 0's fetch/copy/write consuming an encryption info: with a
 *     decryption key the content is decrypted and image-match sees the
 *     plaintext (reported as "decrypt"); without one its plaintext is unknown
 *     and component 0 has no image; several different infos:
 *     BOOTREF_E_UNSUPPORTED_ALG;
 *   - an image the host had for component 0 must be compared by an
 *     image-match or check-content that ran: else BOOTREF_E_IMAGE_DIGEST.
 * Without BOOTREF_F_ALLOW_SKIP: bootref_verify_envelope() and bootref_run()
 * alone (device mode). The envelope buffer must stay alive during the call. */
bootref_err_t bootref_host_verify(bootref_host_t *h, bootref_ctx_t *ctx, const uint8_t *env, size_t env_len,
                                  uint32_t flags, uint32_t sequences);

/* Sizes for foreign-function callers that allocate the context themselves. */
size_t bootref_ctx_size(void);

/* Boot flow (bootref_boot.h) for foreign-function callers: the size of a
 * bootref_boot_t, and one slot's state as last scanned. */
size_t bootref_boot_size(void);
int bootref_boot_slot_info(const void *boot, unsigned slot, uint8_t *state, uint64_t *sequence,
                           uint32_t *env_len, uint32_t *img_len);
/* Detail of the boot flow's last verifier error ("" if none). */
const char *bootref_boot_detail(const void *boot);

#endif /* BOOTREF_HOST_H */
