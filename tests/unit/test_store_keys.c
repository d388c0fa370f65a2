/* SPDX-License-Identifier: MIT */
/* Store keys: canonical addresses, RFC 3339 times, the key layout. */
#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "osi_test.h"

static void expect_canonical(const char *in, const char *want)
{
    char out[OSIP_IP_MAX];

    if (osip_ip_canonical(in, out) != 0)
        fail_msg("\"%s\" was refused", in);
    assert_string_equal(out, want);
}

static void test_store_keys_canonical_ipv4(void **state)
{
    (void)state;
    expect_canonical("10.0.0.1", "10.0.0.1");
    expect_canonical("255.255.255.255", "255.255.255.255");
    expect_canonical("0.0.0.0", "0.0.0.0");
    /* Every accepted IPv4 text is its own canonical form: what inet_ntop
     * writes back. */
    for (unsigned v = 0; v < 256; v++) {
        char in[OSIP_IP_MAX];

        snprintf(in, sizeof(in), "%u.%u.%u.%u", v, 255 - v, v / 10, v % 10);
        expect_canonical(in, in);
    }
}

static void test_store_keys_canonical_ipv6(void **state)
{
    (void)state;
    expect_canonical("2001:DB8::1", "2001:db8::1");
    expect_canonical("2001:db8::1", "2001:db8::1");
    expect_canonical("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
    expect_canonical("::1", "::1");
    expect_canonical("fe80::1", "fe80::1");
}

static void test_store_keys_canonical_v4mapped(void **state)
{
    (void)state;
    /* What a dual-stack listener reports for an IPv4 peer. */
    expect_canonical("::ffff:10.0.0.1", "10.0.0.1");
    expect_canonical("::FFFF:10.0.0.1", "10.0.0.1");
    expect_canonical("::ffff:a00:1", "10.0.0.1");
    expect_canonical("0:0:0:0:0:ffff:0a00:0001", "10.0.0.1");
    /* Not mapped: IPv4-compatible and NAT64 stay IPv6. */
    expect_canonical("64:ff9b::10.0.0.1", "64:ff9b::a00:1");
}

static void test_store_keys_canonical_rejects(void **state)
{
    static const char *const bad[] = {
        "../../etc/passwd", "%2e%2e%2f", "10.0.0.1/../x", "fe80::1%eth0",
        "0x7f.0.0.1", "300.1.1.1", "", "10.0.0.1/24", " 10.0.0.1",
        "10.0.0.1 ", "010.0.0.1", "10.0.0", "10.0.0.1.", "1.2.3.4.5",
        "::1/128", "[::1]", "2001:db8::1::2", "localhost", "10.0.0.1\n",
        "..", "latest/10.0.0.1",
    };
    char out[OSIP_IP_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (osip_ip_canonical(bad[i], out) != -1)
            fail_msg("\"%s\" was accepted as \"%s\"", bad[i], out);
    assert_int_equal(osip_ip_canonical(NULL, out), -1);
}

static void test_store_keys_is_local(void **state)
{
    (void)state;
    assert_true(osip_ip_is_local("127.0.0.1"));
    assert_true(osip_ip_is_local("127.0.1.1"));
    assert_true(osip_ip_is_local("127.255.255.254"));
    assert_true(osip_ip_is_local("0.0.0.0"));
    assert_true(osip_ip_is_local("::1"));
    assert_true(osip_ip_is_local("::"));
    assert_true(osip_ip_is_local("::ffff:127.0.0.1"));
    assert_false(osip_ip_is_local("128.0.0.1"));
    assert_false(osip_ip_is_local("126.255.255.255"));
    assert_false(osip_ip_is_local("10.0.0.1"));
    assert_false(osip_ip_is_local("::2"));
    assert_false(osip_ip_is_local("::ffff:10.0.0.1"));
    assert_false(osip_ip_is_local("fe80::1"));
    assert_false(osip_ip_is_local("localhost"));
    assert_false(osip_ip_is_local(NULL));
}

static void test_store_keys_report_id_valid(void **state)
{
    (void)state;
    assert_true(osip_report_id_valid("0b7e4a52-5d0c-4f7e-9a43-3c2d7c1e9f00"));
    assert_true(osip_report_id_valid("A-z-0"));
    assert_true(osip_report_id_valid(
        "0123456789012345678901234567890123456789012345678901234567890123"));
    assert_false(osip_report_id_valid(
        "01234567890123456789012345678901234567890123456789012345678901234"));
    assert_false(osip_report_id_valid(""));
    assert_false(osip_report_id_valid(NULL));
    assert_false(osip_report_id_valid("../x"));
    assert_false(osip_report_id_valid("a.json"));
    assert_false(osip_report_id_valid("a/b"));
    assert_false(osip_report_id_valid("a b"));
}

static void expect_time(const char *s, int64_t want)
{
    int64_t ms = -1;

    if (osip_rfc3339_parse(s, &ms) != 0)
        fail_msg("\"%s\" was refused", s);
    assert_int_equal(ms, want);
}

static void test_store_keys_rfc3339_parse(void **state)
{
    (void)state;
    expect_time("2026-01-02T03:04:05Z", INT64_C(1767323045000));
    expect_time("2026-01-02T03:04:05.678Z", INT64_C(1767323045678));
    expect_time("2026-01-02T03:04:05.6Z", INT64_C(1767323045600));
    expect_time("2026-01-02T03:04:05.678999999Z", INT64_C(1767323045678));
    expect_time("2026-01-02t03:04:05.678z", INT64_C(1767323045678));
    expect_time("2026-01-02 03:04:05.678Z", INT64_C(1767323045678));
    expect_time("2026-01-02T05:04:05.678+02:00", INT64_C(1767323045678));
    expect_time("2026-01-01T21:34:05.678-05:30", INT64_C(1767323045678));
    expect_time("2026-01-01T00:30:00+01:00", INT64_C(1767223800000));
    expect_time("2026-01-02T03:04:05-00:00", INT64_C(1767323045000));
    expect_time("2024-02-29T12:00:00Z", INT64_C(1709208000000));
    expect_time("1970-01-01T00:00:00Z", 0);
    expect_time("1969-12-31T23:59:59.999Z", -1);
    expect_time("9999-12-31T23:59:59.999Z", INT64_C(253402300799999));
    expect_time("0000-01-01T00:00:00Z", INT64_C(-62167219200000));
    /* A leap second counts as the next minute's first. */
    expect_time("2016-12-31T23:59:60Z", INT64_C(1483228800000));
}

static void test_store_keys_rfc3339_rejects(void **state)
{
    static const char *const bad[] = {
        "", "2026-01-02", "2026-01-02T03:04:05", "2026-01-02T03:04Z",
        "2026-1-02T03:04:05Z", "2026-01-02T03:04:05.Z",
        "2026-01-02T03:04:05+2:00", "2026-01-02T03:04:05+0200",
        "2026-01-02T03:04:05+24:00", "2026-01-02T03:04:05+02:60",
        "2026-01-02T03:04:05Zjunk", "2026-01-02T03:04:05Z ",
        "2026-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-01-00T00:00:00Z", "2026-01-02T24:00:00Z",
        "2026-01-02T03:60:00Z", "2026-01-02T03:04:61Z",
        "2026-01-02X03:04:05Z", "+2026-01-02T03:04:05Z",
        "2026-01-02 03:04:05", /* the original's timestamp: no zone */
        "9999-12-31T23:59:59-01:00", /* past year 9999 in UTC */
        "0000-01-01T00:00:00+01:00", /* before year 0000 in UTC */
    };
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (osip_rfc3339_parse(bad[i], &ms) != -1)
            fail_msg("\"%s\" was accepted", bad[i]);
    assert_int_equal(osip_rfc3339_parse(NULL, &ms), -1);
}

static void test_store_keys_rfc3339_format(void **state)
{
    char buf[OSIP_TIME_MAX];
    int64_t ms;

    (void)state;
    osip_rfc3339_format(INT64_C(1767323045678), buf);
    assert_string_equal(buf, "2026-01-02T03:04:05.678Z");
    osip_rfc3339_format(-1, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    osip_rfc3339_format(INT64_C(1709208000000), buf);
    assert_string_equal(buf, "2024-02-29T12:00:00.000Z");
    assert_int_equal(osip_rfc3339_parse(buf, &ms), 0);
    assert_int_equal(ms, INT64_C(1709208000000));
    /* Beyond what a key holds: the epoch rather than a 5-digit year. */
    osip_rfc3339_format(INT64_C(253402300800000), buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
}

static void test_store_keys_report_key(void **state)
{
    char key[OSIP_KEY_MAX], ip[OSIP_IP_MAX];
    int64_t ms = 0;

    (void)state;
    assert_int_equal(osip_key_report(key, "10.0.0.1", INT64_C(1767323045678),
                                     "abc-1"),
                     0);
    assert_string_equal(key,
                        "reports/10.0.0.1/2026-01-02/030405.678Z-abc-1.json");
    assert_int_equal(osip_key_report_parse(key, &ms, ip), 0);
    assert_int_equal(ms, INT64_C(1767323045678));
    assert_string_equal(ip, "10.0.0.1");

    assert_int_equal(osip_key_report(key, "2001:db8::1", -1, "x"), 0);
    assert_string_equal(key,
                        "reports/2001:db8::1/1969-12-31/235959.999Z-x.json");
    assert_int_equal(osip_key_report_parse(key, &ms, NULL), 0);
    assert_int_equal(ms, -1);

    assert_int_equal(osip_key_report(key, "10.0.0.1", 0, "../x"), -1);
    assert_int_equal(osip_key_report(key, "10.0.0.1", 0, ""), -1);
    assert_int_equal(osip_key_report(key, "10.0.0.1", 0, NULL), -1);
    assert_int_equal(osip_key_report(key, "10.0.0.1",
                                     INT64_C(253402300800000), "x"),
                     -1);
}

static void test_store_keys_report_key_rejects(void **state)
{
    static const char *const bad[] = {
        "reports/10.0.0.1/2026-01-02/030405.678Z-abc.jso",
        "reports/10.0.0.1/2026-01-02/030405.678Z-.json",
        "reports/10.0.0.1/2026-01-02/030405.678Z-a.b.json",
        "reports/10.0.0.1/2026-01-02/030405.678-abc.json",
        "reports/10.0.0.1/2026-01-02/030405Z-abc.json",
        "reports/10.0.0.1/2026-01-02/240405.678Z-abc.json",
        "reports/10.0.0.1/2026-01-02/036005.678Z-abc.json",
        "reports/10.0.0.1/2026-01-02/030460.678Z-abc.json",
        "reports/10.0.0.1/2026-02-30/030405.678Z-abc.json",
        "reports/10.0.0.1/2026-01-02/.tmp-1-2",
        "reports/10.0.0.1/2026-01-02/x/030405.678Z-abc.json",
        "reports/2001:DB8::1/2026-01-02/030405.678Z-abc.json",
        "reports/::ffff:10.0.0.1/2026-01-02/030405.678Z-abc.json",
        "reports/10.0.0.1/../2026-01-02/030405.678Z-abc.json",
        "reports//2026-01-02/030405.678Z-abc.json",
        "reports/10.0.0.1/2026-01-02",
        "latest/10.0.0.1.json",
        "10_0_0_1_2026-01-02.json",
        "",
    };
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (osip_key_report_parse(bad[i], &ms, NULL) != -1)
            fail_msg("\"%s\" was accepted", bad[i]);
    assert_int_equal(osip_key_report_parse(NULL, &ms, NULL), -1);
}

static void test_store_keys_host_keys(void **state)
{
    char key[OSIP_KEY_MAX], ip[OSIP_IP_MAX];

    (void)state;
    assert_int_equal(osip_key_latest(key, "10.0.0.1"), 0);
    assert_string_equal(key, "latest/10.0.0.1.json");
    assert_int_equal(osip_key_host_parse(key, "latest/", ip), 0);
    assert_string_equal(ip, "10.0.0.1");
    assert_int_equal(osip_key_seen(key, "2001:db8::1"), 0);
    assert_string_equal(key, "seen/2001:db8::1.json");
    assert_int_equal(osip_key_host_parse(key, "seen/", ip), 0);
    assert_string_equal(ip, "2001:db8::1");

    assert_int_equal(osip_key_host_parse(key, "latest/", ip), -1);
    assert_int_equal(osip_key_host_parse("latest/.json", "latest/", ip), -1);
    assert_int_equal(osip_key_host_parse("latest/10.0.0.1", "latest/", ip),
                     -1);
    assert_int_equal(
        osip_key_host_parse("latest/2001:DB8::1.json", "latest/", ip), -1);
    assert_int_equal(
        osip_key_host_parse("latest/.tmp-1-2.json", "latest/", ip), -1);
    assert_int_equal(osip_key_host_parse(NULL, "latest/", ip), -1);
}

static void test_store_keys_legacy(void **state)
{
    char key[OSIP_KEY_MAX], ip[OSIP_IP_MAX];
    int64_t ms = 0;

    (void)state;
    assert_int_equal(osip_key_legacy_prefix(key, "10.0.0.5"), 0);
    assert_string_equal(key, "10_0_0_5_");
    assert_int_equal(osip_key_legacy_prefix(key, "2001:db8::1"), 0);
    assert_string_equal(key, "2001:db8::1_");

    assert_int_equal(osip_key_legacy_parse("10_0_0_5_2026-01-02.json", ip,
                                           &ms),
                     0);
    assert_string_equal(ip, "10.0.0.5");
    assert_int_equal(ms, INT64_C(1767312000000));
    assert_int_equal(osip_key_legacy_parse("2001:db8::1_2026-01-01.json", ip,
                                           &ms),
                     0);
    assert_string_equal(ip, "2001:db8::1");
    assert_int_equal(ms, INT64_C(1767225600000));

    assert_int_equal(osip_key_legacy_parse("10_0_0_5_2026-13-01.json", ip, &ms),
                     -1);
    assert_int_equal(osip_key_legacy_parse("10_0_0_5_2026-01-02.txt", ip, &ms),
                     -1);
    assert_int_equal(osip_key_legacy_parse("10_0_0_5-2026-01-02.json", ip, &ms),
                     -1);
    assert_int_equal(osip_key_legacy_parse("x_2026-01-02.json", ip, &ms), -1);
    assert_int_equal(osip_key_legacy_parse("_2026-01-02.json", ip, &ms), -1);
    assert_int_equal(
        osip_key_legacy_parse("300_1_1_1_2026-01-02.json", ip, &ms), -1);
    assert_int_equal(
        osip_key_legacy_parse("latest/10_0_0_5_2026-01-02.json", ip, &ms), -1);
    assert_int_equal(osip_key_legacy_parse(NULL, ip, &ms), -1);
}

static void test_store_keys_cmp(void **state)
{
    const char *old = "reports/10.0.0.1/2026-01-01/235959.999Z-b.json";
    const char *mid = "reports/10.0.0.1/2026-01-02/000000.000Z-a.json";
    const char *mid2 = "reports/10.0.0.1/2026-01-02/000000.000Z-b.json";

    (void)state;
    assert_int_equal(osip_key_report_cmp(old, mid), -1);
    assert_int_equal(osip_key_report_cmp(mid, old), 1);
    assert_int_equal(osip_key_report_cmp(mid, mid), 0);
    /* The same millisecond: by text, so every process agrees. */
    assert_int_equal(osip_key_report_cmp(mid, mid2), -1);
    assert_int_equal(osip_key_report_cmp(mid2, mid), 1);
    assert_int_equal(osip_key_report_cmp("junk", old), -1);
    assert_int_equal(osip_key_report_cmp(old, "junk"), 1);
}

/* The bench's hosts: 1000 addresses, each remembered once, all still
 * known afterwards (a direct-mapped table of the same size lost about a
 * fifth of them to collisions). */
static void test_store_keys_known_thousand_hosts(void **state)
{
    struct osip_known *known = osip_known_new();
    char latest[OSIP_KEY_MAX], report[OSIP_KEY_MAX];

    (void)state;
    assert_non_null(known);
    for (int i = 0; i < 1000; i++) {
        snprintf(latest, sizeof(latest), "latest/10.%d.%d.1.json", i / 250,
                 i % 250);
        snprintf(report, sizeof(report), "reports/%d", i);
        assert_non_null(osip_known_put(known, latest, report));
    }
    for (int i = 0; i < 1000; i++) {
        const struct osip_known *k;

        snprintf(latest, sizeof(latest), "latest/10.%d.%d.1.json", i / 250,
                 i % 250);
        snprintf(report, sizeof(report), "reports/%d", i);
        k = osip_known_find(known, latest);
        if (k == NULL)
            fail_msg("%s was evicted", latest);
        assert_string_equal(k->report, report);
    }
    free(known);
}

/* Keys of one set: the least recently used is the one that goes, a key
 * found moves to the front, a key too long is not kept, and a forgotten
 * key is not found. */
static void test_store_keys_known_lru(void **state)
{
    struct osip_known *known = osip_known_new();
    char keys[OSIP_KNOWN_WAYS + 1][64], longkey[OSIP_KEY_MAX + 8];
    const struct osip_known *k;
    int n = 0;

    (void)state;
    assert_non_null(known);
    for (int i = 0; n < OSIP_KNOWN_WAYS + 1; i++) {
        snprintf(keys[n], sizeof(keys[n]), "latest/10.0.%d.%d.json", i / 256,
                 i % 256);
        if (osip_known_set(keys[n]) == 7)
            n++;
    }
    for (int i = 0; i < OSIP_KNOWN_WAYS; i++) {
        k = osip_known_put(known, keys[i], keys[i]);
        assert_non_null(k);
        assert_int_equal(k->tag[0], 0);
    }
    /* keys[0] is used again: keys[1] becomes the oldest. */
    assert_non_null(osip_known_find(known, keys[0]));
    assert_non_null(osip_known_put(known, keys[OSIP_KNOWN_WAYS], "new"));
    assert_null(osip_known_find(known, keys[1]));
    k = osip_known_find(known, keys[0]);
    assert_non_null(k);
    assert_string_equal(k->report, keys[0]);
    k = osip_known_find(known, keys[OSIP_KNOWN_WAYS]);
    assert_non_null(k);
    assert_string_equal(k->report, "new");

    osip_known_forget(known, keys[0]);
    assert_null(osip_known_find(known, keys[0]));
    memset(longkey, 'a', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_null(osip_known_put(known, keys[2], longkey));
    assert_null(osip_known_find(known, keys[2]));
    assert_null(osip_known_put(known, longkey, "r"));
    free(known);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_keys_canonical_ipv4),
        cmocka_unit_test(test_store_keys_canonical_ipv6),
        cmocka_unit_test(test_store_keys_canonical_v4mapped),
        cmocka_unit_test(test_store_keys_canonical_rejects),
        cmocka_unit_test(test_store_keys_is_local),
        cmocka_unit_test(test_store_keys_report_id_valid),
        cmocka_unit_test(test_store_keys_rfc3339_parse),
        cmocka_unit_test(test_store_keys_rfc3339_rejects),
        cmocka_unit_test(test_store_keys_rfc3339_format),
        cmocka_unit_test(test_store_keys_report_key),
        cmocka_unit_test(test_store_keys_report_key_rejects),
        cmocka_unit_test(test_store_keys_host_keys),
        cmocka_unit_test(test_store_keys_legacy),
        cmocka_unit_test(test_store_keys_cmp),
        cmocka_unit_test(test_store_keys_known_thousand_hosts),
        cmocka_unit_test(test_store_keys_known_lru),
    };
    return cmocka_run_group_tests_name("store_keys", tests, NULL, NULL);
}
