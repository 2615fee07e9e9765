/*
 * mldsa.h - ML-DSA verification (FIPS 204) and SHAKE (FIPS 202) for the host
 * and soft ports (ports/soft/mldsa.c). The core never calls these: a port's
 * sig_verify does, for COSE algs -48/-49/-50 (draft-ietf-cose-dilithium).
 */
#ifndef BOOTREF_MLDSA_H
#define BOOTREF_MLDSA_H

#include <stddef.h>
#include <stdint.h>

/* ML-DSA.Verify(pk, msg, sig, ctx = "") for level 44, 65 or 87: 0 if the
 * signature is valid, -1 otherwise (including wrong lengths). Uses about 10 KB
 * of stack (l x 1 KiB for NTT(z)) unless built with BOOTREF_MLDSA_STATIC,
 * which keeps that work area in one static buffer (not re-entrant). */
int bootref_mldsa_verify(int level, const uint8_t *pk, size_t pk_len, const uint8_t *msg, size_t msg_len,
                         const uint8_t *sig, size_t sig_len);

/* SHAKE128 (bits 128) or SHAKE256 (bits 256) of in, outlen bytes (FIPS 202). */
void bootref_shake(unsigned bits, const uint8_t *in, size_t len, uint8_t *out, size_t outlen);

#endif
