/* SPDX-License-Identifier: MIT */
/* MD5 (RFC 1321): the digest S3 checks a PUT's body against (Content-MD5)
 * and gives back as the ETag of a plain object. Not for security. */
#ifndef OSINSPECT_MD5_H
#define OSINSPECT_MD5_H

#include <stddef.h>
#include <stdint.h>

#define OSIP_MD5_SIZE 16

struct osip_md5 {
    uint32_t state[4];
    uint64_t bytes; /* hashed so far */
    unsigned char block[64];
};

void osip_md5_init(struct osip_md5 *ctx);
void osip_md5_update(struct osip_md5 *ctx, const void *data, size_t len);
void osip_md5_final(struct osip_md5 *ctx, unsigned char out[OSIP_MD5_SIZE]);

/* The digest of one buffer. */
void osip_md5(const void *data, size_t len, unsigned char out[OSIP_MD5_SIZE]);

#endif
