/* SPDX-License-Identifier: MIT */
/* What MD5 (md5.c) and SHA-1 (sha1.c) share: input of any length cut into
 * 64-byte blocks, and the padding that ends a message (0x80, zeros, the
 * length in bits in the last 8 bytes of a block). Inline, so that each
 * hash keeps a direct call to its own block function. */
#ifndef OSINSPECT_HASH_BLOCKS_H
#define OSINSPECT_HASH_BLOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void osip_block_fn(uint32_t *state, const unsigned char *block);

/* Hash len bytes of data: whole blocks at once, the rest kept in block
 * (*bytes, the count hashed so far, says how much of it is filled). */
static inline void osip_blocks_update(uint32_t *state, unsigned char *block,
                                      uint64_t *bytes, const void *data,
                                      size_t len, osip_block_fn *fn)
{
    const unsigned char *p = data;
    size_t used = (size_t)(*bytes % 64);

    *bytes += len;
    if (used > 0) {
        size_t take = 64 - used < len ? 64 - used : len;

        memcpy(block + used, p, take);
        p += take;
        len -= take;
        if (used + take < 64)
            return;
        fn(state, block);
    }
    for (; len >= 64; p += 64, len -= 64)
        fn(state, p);
    if (len > 0)
        memcpy(block, p, len);
}

/* End the message: pad to 56 bytes past a block boundary, then the
 * length in bits, big-endian (SHA-1) or little-endian (MD5). */
static inline void osip_blocks_final(uint32_t *state, unsigned char *block,
                                     uint64_t *bytes, int big_endian,
                                     osip_block_fn *fn)
{
    unsigned char pad[72] = { 0x80 };
    uint64_t bits = *bytes * 8;
    size_t used = (size_t)(*bytes % 64);
    size_t n = used < 56 ? 56 - used : 120 - used;

    for (size_t i = 0; i < 8; i++)
        pad[n + i] = (unsigned char)(bits >> (big_endian ? 56 - 8 * i
                                                         : 8 * i));
    osip_blocks_update(state, block, bytes, pad, n + 8, fn);
}

#endif
