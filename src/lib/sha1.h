/* SPDX-License-Identifier: MIT */
/* SHA-1 (FIPS 180-4) and HMAC-SHA1 (RFC 2104): what S3's signature
 * version 2 signs requests with, as libs3 2.0 does (s3_sign.c). */
#ifndef OSINSPECT_SHA1_H
#define OSINSPECT_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define OSIP_SHA1_SIZE 20

struct osip_sha1 {
    uint32_t state[5];
    uint64_t bytes; /* hashed so far */
    unsigned char block[64];
};

void osip_sha1_init(struct osip_sha1 *ctx);
void osip_sha1_update(struct osip_sha1 *ctx, const void *data, size_t len);
void osip_sha1_final(struct osip_sha1 *ctx, unsigned char out[OSIP_SHA1_SIZE]);

/* The digest of one buffer. */
void osip_sha1(const void *data, size_t len, unsigned char out[OSIP_SHA1_SIZE]);

/* HMAC-SHA1 of data under key (any length). */
void osip_hmac_sha1(const void *key, size_t key_len, const void *data,
                    size_t len, unsigned char out[OSIP_SHA1_SIZE]);

#endif
