/*
 * size_entry.c - link root for `make size`: calls the public API the way a
 * bootloader does, so that --gc-sections keeps exactly the code a device
 * needs. The port and envelope come through volatile pointers so the compiler
 * cannot fold anything away. The context is static, as on a device, so its
 * RAM shows up as bss.
 */
#include "bootref.h"

const bootref_port_t *volatile bootref_size_port;
const uint8_t *volatile bootref_size_env;
volatile size_t bootref_size_len;
static bootref_ctx_t ctx;

int bootref_size_entry(void);

int bootref_size_entry(void)
{
    bootref_err_t e = bootref_verify_envelope(&ctx, bootref_size_port, bootref_size_env,
                                              bootref_size_len, 0);
    if (e == BOOTREF_OK)
        e = bootref_run(&ctx, BOOTREF_SEQ_VALIDATE | BOOTREF_SEQ_LOAD | BOOTREF_SEQ_INVOKE |
                                  BOOTREF_SEQ_INSTALL | BOOTREF_SEQ_PAYLOAD_FETCH);
#if BOOTREF_DETAIL_STRINGS
    /* diagnostics build: log the reason class as text */
    return (int)e + (int)bootref_reason(e)[0];
#else
    /* device build: log the stable numeric code; the reason class is looked
     * up on the host (bootref_reason() would add its string table) */
    return (int)e;
#endif
}
