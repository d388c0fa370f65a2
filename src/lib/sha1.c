/* SPDX-License-Identifier: MIT */
/* SHA-1 (FIPS 180-4 6.1) and HMAC-SHA1 (RFC 2104), for S3 request
 * signatures: libosinspect links no crypto library. */
#include <string.h>

#include "hash_blocks.h"
#include "sha1.h"

static uint32_t rol(uint32_t x, unsigned int n)
{
    return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t *s, const unsigned char *p)
{
    uint32_t w[80], a = s[0], b = s[1], c = s[2], d = s[3], e = s[4];

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (int i = 0; i < 80; i++) {
        uint32_t f, k, t;

        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    s[0] += a;
    s[1] += b;
    s[2] += c;
    s[3] += d;
    s[4] += e;
}

void osip_sha1_init(struct osip_sha1 *ctx)
{
    static const uint32_t iv[5] = { 0x67452301, 0xefcdab89, 0x98badcfe,
                                    0x10325476, 0xc3d2e1f0 };

    memcpy(ctx->state, iv, sizeof(iv));
    ctx->bytes = 0;
}

void osip_sha1_update(struct osip_sha1 *ctx, const void *data, size_t len)
{
    osip_blocks_update(ctx->state, ctx->block, &ctx->bytes, data, len,
                       sha1_block);
}

void osip_sha1_final(struct osip_sha1 *ctx, unsigned char out[OSIP_SHA1_SIZE])
{
    osip_blocks_final(ctx->state, ctx->block, &ctx->bytes, 1, sha1_block);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(ctx->state[i] >> 24);
        out[4 * i + 1] = (unsigned char)(ctx->state[i] >> 16);
        out[4 * i + 2] = (unsigned char)(ctx->state[i] >> 8);
        out[4 * i + 3] = (unsigned char)ctx->state[i];
    }
}

void osip_sha1(const void *data, size_t len, unsigned char out[OSIP_SHA1_SIZE])
{
    struct osip_sha1 ctx;

    osip_sha1_init(&ctx);
    osip_sha1_update(&ctx, data, len);
    osip_sha1_final(&ctx, out);
}

void osip_hmac_sha1(const void *key, size_t key_len, const void *data,
                    size_t len, unsigned char out[OSIP_SHA1_SIZE])
{
    unsigned char k[64] = { 0 }, pad[64], inner[OSIP_SHA1_SIZE];
    struct osip_sha1 ctx;

    if (key_len > sizeof(k))
        osip_sha1(key, key_len, k);
    else if (key_len > 0)
        memcpy(k, key, key_len);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    osip_sha1_init(&ctx);
    osip_sha1_update(&ctx, pad, sizeof(pad));
    osip_sha1_update(&ctx, data, len);
    osip_sha1_final(&ctx, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    osip_sha1_init(&ctx);
    osip_sha1_update(&ctx, pad, sizeof(pad));
    osip_sha1_update(&ctx, inner, sizeof(inner));
    osip_sha1_final(&ctx, out);
}
