/* SPDX-License-Identifier: MIT */
/* Every input the report parser must reject, and what it must accept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "osi_test.h"

/* The six fields as the original Python agent sends them on Linux. */
#define ORIGINAL_FIELDS                                                   \
    "\"cpu\": \"\", \"os_username\": \"alice\", \"os_name\": \"Linux\", " \
    "\"server_ip\": \"127.0.0.1\", \"timestamp\": \"2026-01-02 03:04:05\", " \
    "\"os_version\": \"#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1\""

static enum osi_status parse(const char *json, struct osi_error *err)
{
    struct osi_report *r = NULL;
    enum osi_status st = osi_report_from_json(json, strlen(json), NULL, &r,
                                              err);

    if (st == OSI_OK)
        assert_non_null(r);
    else
        assert_null(r);
    osi_report_free(r);
    return st;
}

/* A valid report with one original field replaced by a raw JSON value
 * (or removed when value is NULL). */
static char *with_field(const char *name, const char *value)
{
    static const char *const names[] = { "cpu", "os_username", "os_name",
                                         "server_ip", "timestamp",
                                         "os_version" };
    static const char *const values[] = { "\"Intel(R) Xeon(R)\"", "\"alice\"",
                                          "\"Linux\"", "\"10.0.0.5\"",
                                          "\"2026-01-02 03:04:05\"",
                                          "\"6.1.0-26-amd64\"" };
    size_t cap = 4096 + (value ? strlen(value) : 0), n = 0;
    char *buf = malloc(cap);

    n += (size_t)snprintf(buf + n, cap - n, "{");
    for (size_t i = 0; i < 6; i++) {
        const char *v = strcmp(names[i], name) == 0 ? value : values[i];

        if (v == NULL)
            continue;
        n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\": %s",
                              n > 1 ? ", " : "", names[i], v);
    }
    snprintf(buf + n, cap - n, "}");
    return buf;
}

static void expect_field_error(const char *name, const char *value,
                               const char *needle)
{
    struct osi_error err;
    char *json = with_field(name, value);

    assert_osi_fails(parse(json, &err), OSI_EINVAL, &err, needle);
    free(json);
}

static void test_validate_accepts_original_agent(void **state)
{
    struct osi_error err;
    struct osi_report *r = NULL;
    const char *json = "{" ORIGINAL_FIELDS ", \"mem\": 2.9}";
    char *out = NULL;

    (void)state;
    assert_osi_ok(osi_report_from_json(json, strlen(json), NULL, &r, &err),
                  &err);
    assert_string_equal(osi_report_get_string(r, "cpu"), "");
    assert_string_equal(osi_report_get_string(r, "server_ip"), "127.0.0.1");
    assert_osi_ok(osi_report_to_json(r, OSI_JSON_COMPACT, &out, NULL, &err),
                  &err);
    /* Unknown fields survive, in their place. */
    assert_non_null(strstr(out, "\"os_version\":\"#1 SMP PREEMPT_DYNAMIC "
                                "Debian 6.1.112-1\",\"mem\":2.9}"));
    osi_free(out);
    osi_report_free(r);
}

static void test_validate_accepts_nulls_and_ipv6(void **state)
{
    struct osi_error err;

    (void)state;
    assert_osi_ok(parse("{\"cpu\":\"x\",\"os_username\":\"u\",\"os_name\":"
                        "\"Linux\",\"server_ip\":\"2001:DB8::1\",\"timestamp\""
                        ":\"t\",\"os_version\":\"v\",\"os\":null,\"disks\":"
                        "null,\"report_id\":\"0a1B-2\",\"schema_version\":1}",
                        &err),
                  &err);
}

static void test_validate_rejects_syntax(void **state)
{
    static const struct {
        const char *json;
        const char *needle;
    } cases[] = {
        { "", "invalid JSON at line 1" },
        { "{\"cpu\": ", "invalid JSON at line 1" },
        { "{" ORIGINAL_FIELDS "} x", "end of file expected" },
        { "{" ORIGINAL_FIELDS "}{}", "end of file expected" },
        { "{\"cpu\": \"\xff\xfe\"}", "unable to decode byte 0xff" },
        { "{\"cpu\": \"\xc3\x28\"}", "unable to decode byte" },
        { "{\"cpu\": \"a\\u0000b\"}", "\\u0000 is not allowed" },
        { "{" ORIGINAL_FIELDS ", \"cpu\": \"again\"}",
          "duplicate object key" },
        { "{\"cpu\": 'x'}", "invalid token" },
        { "{\"n\": 99999999999999999999999}", "too big integer" },
    };
    struct osi_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        assert_osi_fails(parse(cases[i].json, &err), OSI_EPARSE, &err,
                         cases[i].needle);
}

static void test_validate_rejects_non_objects(void **state)
{
    static const struct {
        const char *json;
        const char *needle;
    } cases[] = {
        { "[1, 2]", "report: must be a JSON object, not an array" },
        { "\"text\"", "report: must be a JSON object, not a string" },
        { "42", "report: must be a JSON object, not an integer" },
        { "null", "report: must be a JSON object, not null" },
        { "true", "report: must be a JSON object, not a boolean" },
    };
    struct osi_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        assert_osi_fails(parse(cases[i].json, &err), OSI_EINVAL, &err,
                         cases[i].needle);
}

static void test_validate_rejects_missing_or_mistyped_fields(void **state)
{
    static const char *const names[] = { "cpu", "os_username", "os_name",
                                         "server_ip", "timestamp",
                                         "os_version" };
    char needle[128];

    (void)state;
    for (size_t i = 0; i < 6; i++) {
        snprintf(needle, sizeof(needle), "%s: missing", names[i]);
        expect_field_error(names[i], NULL, needle);
        snprintf(needle, sizeof(needle), "%s: must be a string, not an integer",
                 names[i]);
        expect_field_error(names[i], "7", needle);
        snprintf(needle, sizeof(needle), "%s: must be a string, not null",
                 names[i]);
        expect_field_error(names[i], "null", needle);
        snprintf(needle, sizeof(needle), "%s: must be a string, not an object",
                 names[i]);
        expect_field_error(names[i], "{}", needle);
        snprintf(needle, sizeof(needle), "%s: contains a control character",
                 names[i]);
        expect_field_error(names[i], "\"a\\nb\"", needle);
    }
    expect_field_error("os_name", "\"\"", "os_name: empty");
    expect_field_error("os_username", "\"\"", "os_username: empty");
}

static void test_validate_rejects_long_strings(void **state)
{
    char big[2100];

    (void)state;
    big[0] = '"';
    memset(big + 1, 'x', 600);
    memcpy(big + 601, "\"", 2);
    expect_field_error("cpu", big, "cpu: longer than 512 bytes");
    expect_field_error("os_version", big, "os_version: longer than 512 bytes");
    memset(big + 1, 'x', 300);
    memcpy(big + 301, "\"", 2);
    expect_field_error("os_username", big,
                       "os_username: longer than 256 bytes");
}

static void test_validate_rejects_bad_server_ip(void **state)
{
    static const char *const bad[] = {
        "\"300.1.1.1\"",       "\"0x7f.0.0.1\"",      "\"fe80::1%eth0\"",
        "\"../../etc/passwd\"", "\"%2e%2e%2f\"",       "\"10.0.0.1/../x\"",
        "\"10.0.0.1/24\"",     "\" 10.0.0.1\"",       "\"10.0.0\"",
        "\"localhost\"",       "\"010.0.0.1\"",       "\"1.2.3.4.5\"",
        "\"::ffff:1.2.3.4.5\"",
    };
    char needle[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        snprintf(needle, sizeof(needle),
                 "server_ip: %s is not an IPv4 or IPv6 address", bad[i]);
        expect_field_error("server_ip", bad[i], needle);
    }
    expect_field_error("server_ip", "\"\"", "server_ip: empty");
}

static void test_validate_accepts_good_server_ip(void **state)
{
    static const char *const good[] = { "\"10.0.0.1\"", "\"2001:db8::1\"",
                                        "\"2001:DB8::1\"", "\"::1\"",
                                        "\"::ffff:10.0.0.1\"",
                                        "\"255.255.255.255\"" };
    struct osi_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        char *json = with_field("server_ip", good[i]);

        assert_osi_ok(parse(json, &err), &err);
        free(json);
    }
}

static void test_validate_rejects_known_field_types(void **state)
{
    static const struct {
        const char *extra;
        const char *needle;
    } cases[] = {
        { "\"schema_version\": \"1\"",
          "schema_version: must be an integer or null, not a string" },
        { "\"report_id\": \"../x\"",
          "report_id: must be 1 to 64 letters, digits or '-'" },
        { "\"report_id\": \"\"",
          "report_id: must be 1 to 64 letters, digits or '-'" },
        { "\"report_id\": 5", "report_id: must be a string or null" },
        { "\"disks\": {}", "disks: must be an array or null, not an object" },
        { "\"os\": []", "os: must be an object or null, not an array" },
        { "\"uptime_seconds\": \"5\"", "uptime_seconds: must be a number" },
        { "\"hostname\": true", "hostname: must be a string or null" },
    };
    struct osi_error err;
    char json[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        snprintf(json, sizeof(json), "{" ORIGINAL_FIELDS ", %s}",
                 cases[i].extra);
        assert_osi_fails(parse(json, &err), OSI_EINVAL, &err,
                         cases[i].needle);
    }
}

static void test_validate_rejects_oversized(void **state)
{
    struct osi_parse_options opts = OSI_PARSE_OPTIONS_INIT;
    struct osi_report *r = NULL;
    struct osi_error err;
    size_t len = 70000;
    char *json = malloc(len + 1);
    const char *small = "{" ORIGINAL_FIELDS "}";

    (void)state;
    memset(json, ' ', len);
    json[len] = '\0';
    memcpy(json, small, strlen(small));
    assert_osi_fails(osi_report_from_json(json, len, NULL, &r, &err),
                     OSI_EPARSE, &err,
                     "report is 70000 bytes, over the limit of 65536");
    /* The cap is an option. */
    opts.max_size = 100;
    assert_osi_fails(osi_report_from_json(small, strlen(small), &opts, &r,
                                          &err),
                     OSI_EPARSE, &err, "over the limit of 100");
    opts.max_size = len;
    assert_osi_ok(osi_report_from_json(json, len, &opts, &r, &err), &err);
    osi_report_free(r);
    free(json);
}

static char *nested(size_t depth)
{
    const char *head = "{" ORIGINAL_FIELDS ", \"x\": ";
    size_t hl = strlen(head);
    char *json = malloc(hl + 2 * depth + 2);

    memcpy(json, head, hl);
    memset(json + hl, '[', depth);
    memset(json + hl + depth, ']', depth);
    memcpy(json + hl + 2 * depth, "}", 2);
    return json;
}

static void test_validate_rejects_deep_nesting(void **state)
{
    static const size_t depths[] = { 32, 1100, 100000 };
    struct osi_parse_options opts = OSI_PARSE_OPTIONS_INIT;
    struct osi_report *r = NULL;
    struct osi_error err;
    char *json;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        json = nested(depths[i]);
        opts.max_size = strlen(json);
        assert_osi_fails(
            osi_report_from_json(json, strlen(json), &opts, &r, &err),
            OSI_EPARSE, &err, "nested deeper than 32 levels");
        free(json);
    }
    /* 31 arrays inside the report object: 32 levels, accepted. */
    json = nested(31);
    assert_osi_ok(osi_report_from_json(json, strlen(json), NULL, &r, &err),
                  &err);
    osi_report_free(r);
    free(json);
}

/* Brackets inside strings, escaped quotes included, are not nesting. */
static void test_validate_depth_scan_skips_strings(void **state)
{
    char buf[256];

    (void)state;
    snprintf(buf, sizeof(buf), "\"[[[[\\\"[[[[\" [[]]");
    assert_int_equal(osip_json_depth_exceeds(buf, strlen(buf), 2), 0);
    assert_int_equal(osip_json_depth_exceeds(buf, strlen(buf), 1),
                     strlen("\"[[[[\\\"[[[[\" [["));
    assert_int_equal(osip_json_depth_exceeds("[{[", 3, 2), 3);
}

static void test_validate_parse_options(void **state)
{
    struct osi_parse_options opts;
    struct osi_report *r = NULL;
    struct osi_error err;

    (void)state;
    assert_int_equal(osi_parse_options_init(&opts, 99), OSI_EINVAL);
    assert_osi_ok(osi_parse_options_init(&opts, OSI_PARSE_OPTIONS_VERSION),
                  NULL);
    assert_int_equal(opts.max_size, 0);
    opts.version = 7;
    assert_osi_fails(osi_report_from_json("{}", 2, &opts, &r, &err),
                     OSI_EINVAL, &err, "unknown parse options version 7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_accepts_original_agent),
        cmocka_unit_test(test_validate_accepts_nulls_and_ipv6),
        cmocka_unit_test(test_validate_rejects_syntax),
        cmocka_unit_test(test_validate_rejects_non_objects),
        cmocka_unit_test(test_validate_rejects_missing_or_mistyped_fields),
        cmocka_unit_test(test_validate_rejects_long_strings),
        cmocka_unit_test(test_validate_rejects_bad_server_ip),
        cmocka_unit_test(test_validate_accepts_good_server_ip),
        cmocka_unit_test(test_validate_rejects_known_field_types),
        cmocka_unit_test(test_validate_rejects_oversized),
        cmocka_unit_test(test_validate_rejects_deep_nesting),
        cmocka_unit_test(test_validate_depth_scan_skips_strings),
        cmocka_unit_test(test_validate_parse_options),
    };
    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
