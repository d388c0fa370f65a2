/* SPDX-License-Identifier: MIT */
/* SHA-1 and HMAC-SHA1 (sha1.c) by the vectors of FIPS 180-4's examples and
 * RFC 2202, and the S3 signer (s3_sign.c) by AWS's published signature
 * version 2 examples. */
#include <stdio.h>
#include <string.h>

#include "osi_test.h"
#include "s3_sign.h"
#include "sha1.h"

static void to_hex(const unsigned char *d, size_t n, char *hex)
{
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static void test_sha1_fips_vectors(void **state)
{
    static const struct {
        const char *in, *hex;
    } v[] = {
        { "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
        { "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
    };
    unsigned char d[OSIP_SHA1_SIZE];
    char hex[2 * OSIP_SHA1_SIZE + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        osip_sha1(v[i].in, strlen(v[i].in), d);
        to_hex(d, sizeof(d), hex);
        assert_string_equal(hex, v[i].hex);
    }
}

/* A million 'a' fed in pieces of 7 (crossing every block boundary), and
 * each split of a 3-block message. */
static void test_sha1_pieces(void **state)
{
    const char *in = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
                     "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
                     "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    size_t len = strlen(in);
    unsigned char whole[OSIP_SHA1_SIZE], d[OSIP_SHA1_SIZE];
    char hex[2 * OSIP_SHA1_SIZE + 1];
    struct osip_sha1 ctx;
    size_t left = 1000000;

    (void)state;
    osip_sha1_init(&ctx);
    while (left > 0) {
        size_t n = left < 7 ? left : 7;

        osip_sha1_update(&ctx, "aaaaaaa", n);
        left -= n;
    }
    osip_sha1_final(&ctx, d);
    to_hex(d, sizeof(d), hex);
    assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");

    osip_sha1(in, len, whole);
    for (size_t cut = 0; cut <= len; cut++) {
        osip_sha1_init(&ctx);
        osip_sha1_update(&ctx, in, cut);
        osip_sha1_update(&ctx, in + cut, len - cut);
        osip_sha1_final(&ctx, d);
        assert_memory_equal(d, whole, sizeof(d));
    }
}

static void test_sha1_hmac_rfc2202(void **state)
{
    unsigned char key[80], data[50], d[OSIP_SHA1_SIZE];
    char hex[2 * OSIP_SHA1_SIZE + 1];

    (void)state;
    memset(key, 0x0b, 20);
    osip_hmac_sha1(key, 20, "Hi There", 8, d);
    to_hex(d, sizeof(d), hex);
    assert_string_equal(hex, "b617318655057264e28bc0b6fb378c8ef146be00");

    osip_hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, d);
    to_hex(d, sizeof(d), hex);
    assert_string_equal(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");

    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    osip_hmac_sha1(key, 20, data, 50, d);
    to_hex(d, sizeof(d), hex);
    assert_string_equal(hex, "125d7342b9ac11cd91a39af48aa17b4f63f175d3");

    /* A key longer than a block is hashed first. */
    memset(key, 0xaa, 80);
    osip_hmac_sha1(key, 80, "Test Using Larger Than Block-Size Key - Hash "
                   "Key First", 54, d);
    to_hex(d, sizeof(d), hex);
    assert_string_equal(hex, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

/* The examples of AWS's "Signing and authenticating REST requests"
 * (signature version 2). */
static void test_sha1_s3_sign_aws_examples(void **state)
{
    static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    static const char get[] = "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n"
                              "/johnsmith/photos/puppy.jpg";
    static const char put[] = "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 "
                              "+0000\n/johnsmith/photos/puppy.jpg";
    char sig[OSIP_S3_SIGNATURE_SIZE];

    (void)state;
    osip_s3_sign_v2(secret, get, strlen(get), sig);
    assert_string_equal(sig, "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
    osip_s3_sign_v2(secret, put, strlen(put), sig);
    assert_string_equal(sig, "MyyxeRY7whkBe+bq8fHCL/2kKUg=");
}

static void test_sha1_s3_uri_encode(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(osip_s3_uri_encode("latest/2001:db8::1.json", out,
                                        sizeof(out)), 0);
    assert_string_equal(out, "latest/2001%3Adb8%3A%3A1.json");
    assert_int_equal(osip_s3_uri_encode("a b+c~d_e-f.g\xc3\xa9", out,
                                        sizeof(out)), 0);
    assert_string_equal(out, "a%20b%2Bc~d_e-f.g%C3%A9");
    /* "a:" needs 5 bytes with its NUL. */
    assert_int_equal(osip_s3_uri_encode("a:", out, 5), 0);
    assert_int_equal(osip_s3_uri_encode("a:", out, 4), -1);
    assert_int_equal(osip_s3_uri_encode("ab", out, 2), -1);
}

static void test_sha1_s3_http_date(void **state)
{
    char date[OSIP_S3_DATE_SIZE];

    (void)state;
    osip_s3_http_date(1175023002, date);
    assert_string_equal(date, "Tue, 27 Mar 2007 19:16:42 GMT");
    osip_s3_http_date(0, date);
    assert_string_equal(date, "Thu, 01 Jan 1970 00:00:00 GMT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_fips_vectors),
        cmocka_unit_test(test_sha1_pieces),
        cmocka_unit_test(test_sha1_hmac_rfc2202),
        cmocka_unit_test(test_sha1_s3_sign_aws_examples),
        cmocka_unit_test(test_sha1_s3_uri_encode),
        cmocka_unit_test(test_sha1_s3_http_date),
    };

    return cmocka_run_group_tests_name("sha1", tests, NULL, NULL);
}
