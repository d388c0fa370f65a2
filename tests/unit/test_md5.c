/* SPDX-License-Identifier: MIT */
/* MD5 (md5.c): the test suite of RFC 1321, appendix A.5, whole and fed
 * in pieces that cross the 64-byte blocks. */
#include <stdio.h>
#include <string.h>

#include "md5.h"
#include "osi_test.h"

static const struct {
    const char *in, *hex;
} rfc1321[] = {
    { "", "d41d8cd98f00b204e9800998ecf8427e" },
    { "a", "0cc175b9c0f1b6a831c399e269772661" },
    { "abc", "900150983cd24fb0d6963f7d28e17f72" },
    { "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
    { "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
    { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f" },
    { "1234567890123456789012345678901234567890123456789012345678901234567"
      "8901234567890",
      "57edf4a22be3c955ac49da2e2107b67a" },
};

static void to_hex(const unsigned char d[OSIP_MD5_SIZE], char hex[33])
{
    for (int i = 0; i < OSIP_MD5_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static void test_md5_rfc1321_vectors(void **state)
{
    unsigned char d[OSIP_MD5_SIZE];
    char hex[33];

    (void)state;
    for (size_t i = 0; i < sizeof(rfc1321) / sizeof(rfc1321[0]); i++) {
        osip_md5(rfc1321[i].in, strlen(rfc1321[i].in), d);
        to_hex(d, hex);
        assert_string_equal(hex, rfc1321[i].hex);
    }
}

/* Every split of the 80-byte vector, so that the buffered part of a block
 * is joined with each possible length. */
static void test_md5_pieces(void **state)
{
    const char *in = rfc1321[6].in;
    size_t len = strlen(in);
    unsigned char d[OSIP_MD5_SIZE];
    char hex[33];

    (void)state;
    for (size_t cut = 0; cut <= len; cut++) {
        struct osip_md5 ctx;

        osip_md5_init(&ctx);
        osip_md5_update(&ctx, in, cut);
        osip_md5_update(&ctx, in + cut, len - cut);
        osip_md5_final(&ctx, d);
        to_hex(d, hex);
        assert_string_equal(hex, rfc1321[6].hex);
    }
}

/* Lengths around the padding boundaries (55, 56, 63, 64, 65 bytes), each
 * checked against the same input fed one byte at a time. */
static void test_md5_padding_boundaries(void **state)
{
    static const struct {
        size_t len;
        const char *hex;
    } cases[] = {
        { 55, "ef1772b6dff9a122358552954ad0df65" },
        { 56, "3b0c8ac703f828b04c6c197006d17218" },
        { 63, "b06521f39153d618550606be297466d5" },
        { 64, "014842d480b571495a4a0363793f7367" },
        { 65, "c743a45e0d2e6a95cb859adae0248435" },
    };
    char buf[65];
    unsigned char d[OSIP_MD5_SIZE];
    char hex[33];

    (void)state;
    memset(buf, 'a', sizeof(buf));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct osip_md5 ctx;

        osip_md5(buf, cases[i].len, d);
        to_hex(d, hex);
        assert_string_equal(hex, cases[i].hex);
        osip_md5_init(&ctx);
        for (size_t j = 0; j < cases[i].len; j++)
            osip_md5_update(&ctx, buf + j, 1);
        osip_md5_final(&ctx, d);
        to_hex(d, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_rfc1321_vectors),
        cmocka_unit_test(test_md5_pieces),
        cmocka_unit_test(test_md5_padding_boundaries),
    };

    return cmocka_run_group_tests_name("md5", tests, NULL, NULL);
}
