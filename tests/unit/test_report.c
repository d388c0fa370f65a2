/* SPDX-License-Identifier: MIT */
/* The report object: round trips, field access, allocation failures. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "osi_test.h"

static const char sample[] =
    "{\"cpu\":\"Intel(R) Xeon(R) CPU\",\"os_username\":\"alice\","
    "\"os_name\":\"Linux\",\"server_ip\":\"10.0.0.5\","
    "\"timestamp\":\"2026-01-02 03:04:05\",\"os_version\":\"6.1.0\","
    "\"schema_version\":1,\"os\":{\"id\":\"debian\",\"version_id\":\"12\"},"
    "\"memory\":{\"total_bytes\":8343838720},\"load_average\":[0.1,0.25,2],"
    "\"uptime_seconds\":12.5,\"future\":{\"nested\":[true,null]},"
    "\"identity\":{\"machine_id\":null}}";

static struct osi_report *load(const char *json)
{
    struct osi_report *r = NULL;
    struct osi_error err;

    assert_osi_ok(osi_report_from_json(json, strlen(json), NULL, &r, &err),
                  &err);
    return r;
}

static void test_report_round_trip_compact(void **state)
{
    struct osi_report *r = load(sample);
    struct osi_error err;
    char *out = NULL;
    size_t len = 0;

    (void)state;
    assert_osi_ok(osi_report_to_json(r, OSI_JSON_COMPACT, &out, &len, &err),
                  &err);
    assert_string_equal(out, sample); /* order, reals and unknowns kept */
    assert_int_equal(len, strlen(sample));
    osi_free(out);
    osi_report_free(r);
}

static void test_report_round_trip_pretty(void **state)
{
    struct osi_report *r = load(sample), *again;
    struct osi_error err;
    char *out = NULL, *compact = NULL;
    size_t len = 0;

    (void)state;
    assert_osi_ok(osi_report_to_json(r, OSI_JSON_PRETTY, &out, &len, &err),
                  &err);
    assert_memory_equal(out, "{\n  \"cpu\": \"Intel(R) Xeon(R) CPU\",\n", 35);
    assert_non_null(strstr(out, "\n  \"load_average\": [\n    0.1,\n"));
    again = load(out);
    assert_osi_ok(osi_report_to_json(again, OSI_JSON_COMPACT, &compact, NULL,
                                     &err),
                  &err);
    assert_string_equal(compact, sample);
    osi_free(compact);
    osi_free(out);
    osi_report_free(again);
    osi_report_free(r);
}

static void test_report_getters(void **state)
{
    struct osi_report *r = load(sample);
    int64_t i = 0;
    double d = 0;

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "10.0.0.5");
    assert_string_equal(osi_report_get_string(r, "os.id"), "debian");
    assert_null(osi_report_get_string(r, "os.missing"));
    assert_null(osi_report_get_string(r, "os.id.deeper"));
    assert_null(osi_report_get_string(r, "identity.machine_id")); /* null */
    assert_null(osi_report_get_string(r, "schema_version")); /* not string */
    assert_null(osi_report_get_string(r, "os."));
    assert_null(osi_report_get_string(r, ""));
    assert_null(osi_report_get_string(NULL, "cpu"));
    assert_null(osi_report_get_string(r, NULL));

    assert_osi_ok(osi_report_get_int(r, "memory.total_bytes", &i), NULL);
    assert_int_equal(i, 8343838720LL);
    assert_int_equal(osi_report_get_int(r, "uptime_seconds", &i),
                     OSI_ENOTFOUND); /* a real is not an integer */
    assert_int_equal(osi_report_get_int(r, "nope", &i), OSI_ENOTFOUND);
    assert_int_equal(osi_report_get_int(r, NULL, &i), OSI_EINVAL);

    assert_osi_ok(osi_report_get_number(r, "uptime_seconds", &d), NULL);
    assert_true(d == 12.5);
    assert_osi_ok(osi_report_get_number(r, "schema_version", &d), NULL);
    assert_true(d == 1.0);
    assert_int_equal(osi_report_get_number(r, "cpu", &d), OSI_ENOTFOUND);
    assert_int_equal(osi_report_get_number(r, "cpu", NULL), OSI_EINVAL);
    osi_report_free(r);
    osi_report_free(NULL);
    osi_free(NULL);
}

/* Fail the Nth allocation, for every N a clean run makes: each failure
 * must end in a clean error with nothing leaked (ASan and valgrind runs of
 * this test see leaks). */
/* Run fn failing allocation n (-1: none); returns the allocations made. */
static long run_chaos(enum osi_status (*fn)(struct osi_report *r, long n),
                      struct osi_report *r, long n, enum osi_status *st)
{
    osi_test_chaos_begin(n);
    *st = fn(r, n);
    return osi_test_chaos_end();
}

static enum osi_status chaos_parse(struct osi_report *unused, long n)
{
    struct osi_report *r = NULL;
    struct osi_error err;
    enum osi_status st;

    (void)unused;
    st = osi_report_from_json(sample, strlen(sample), NULL, &r, &err);
    osi_report_free(r);
    if (n >= 0 && st != OSI_OK && st != OSI_EPARSE)
        assert_string_equal(err.message, "out of memory");
    return st;
}

static enum osi_status chaos_dump(struct osi_report *r, long n)
{
    struct osi_error err;
    enum osi_status st;
    char *out = NULL;

    (void)n;
    st = osi_report_to_json(r, OSI_JSON_PRETTY, &out, NULL, &err);
    if (st == OSI_OK)
        assert_non_null(out);
    else
        assert_null(out);
    osi_free(out);
    return st;
}

static void test_report_chaos_parse(void **state)
{
    enum osi_status st;
    long total = run_chaos(chaos_parse, NULL, -1, &st);

    (void)state;
    assert_int_equal(st, OSI_OK);
    assert_true(total > 10);
    /* jansson's lexer drops characters when its buffer cannot grow and
     * reports other allocation failures as syntax errors: under memory
     * pressure a parse may succeed or fail with EPARSE or ENOMEM; what is
     * tested is that it never crashes or leaks. */
    for (long n = 0; n < total; n++)
        run_chaos(chaos_parse, NULL, n, &st);
}

static void test_report_chaos_dump(void **state)
{
    struct osi_report *r = load(sample);
    enum osi_status st;
    long total = run_chaos(chaos_dump, r, -1, &st);

    (void)state;
    assert_int_equal(st, OSI_OK);
    assert_true(total > 1);
    for (long n = 0; n < total; n++) {
        run_chaos(chaos_dump, r, n, &st);
        assert_int_equal(st, OSI_ENOMEM);
    }
    osi_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_round_trip_compact),
        cmocka_unit_test(test_report_round_trip_pretty),
        cmocka_unit_test(test_report_getters),
        cmocka_unit_test(test_report_chaos_parse),
        cmocka_unit_test(test_report_chaos_dump),
    };
    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
