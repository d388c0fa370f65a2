/* SPDX-License-Identifier: MIT */
/* osi_collect as a whole: golden reports of fixture roots, the envelope
 * fields, the collection object, bad roots, allocation failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_int.h"
#include "fake_sys.h"
#include "osi_test.h"

/* Fixture roots with a golden report in tests/data/golden/<root>.json. */
static const char *const golden_roots[] = { "debian12", "rhel9", "container",
                                            "noroute" };

static enum osi_status collect_fixture(const char *root,
                                       struct osi_report **out,
                                       struct osi_error *err)
{
    struct osip_sys sys;
    struct fake_sys fake;
    char path[4096];

    snprintf(path, sizeof(path), "roots/%s", root);
    fake_sys_init(&sys, &fake, osi_test_data(path));
    return osip_collect_with(fake.root, &sys, out, err);
}

static json_t *report_json(const struct osi_report *r)
{
    char *text = NULL;
    json_t *j;

    assert_osi_ok(osi_report_to_json(r, OSI_JSON_PRETTY, &text, NULL, NULL),
                  NULL);
    j = json_loads(text, 0, NULL);
    osi_free(text);
    assert_non_null(j);
    return j;
}

/* Compare with the golden file; OSI_UPDATE_GOLDEN=1 rewrites it instead
 * (review the diff before committing). */
static void test_collect_golden(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(golden_roots) / sizeof(*golden_roots); i++) {
        struct osi_report *r = NULL;
        struct osi_error err;
        char rel[256], *text = NULL;
        json_t *want, *got;

        assert_osi_ok(collect_fixture(golden_roots[i], &r, &err), &err);
        assert_osi_ok(osi_report_to_json(r, OSI_JSON_PRETTY, &text, NULL,
                                         &err),
                      &err);
        snprintf(rel, sizeof(rel), "golden/%s.json", golden_roots[i]);
        if (getenv("OSI_UPDATE_GOLDEN") != NULL) {
            FILE *f = fopen(osi_test_data(rel), "w");

            assert_non_null(f);
            fprintf(f, "%s\n", text);
            fclose(f);
        }
        want = json_load_file(osi_test_data(rel), JSON_REJECT_DUPLICATES,
                              NULL);
        got = json_loads(text, 0, NULL);
        if (want == NULL || !json_equal(want, got)) {
            char actual[256];
            FILE *f;

            snprintf(actual, sizeof(actual), "%s.actual.json",
                     golden_roots[i]);
            f = fopen(actual, "w");
            if (f != NULL) {
                fprintf(f, "%s\n", text);
                fclose(f);
            }
            fail_msg("%s differs from the collected report, written to "
                     "%s (OSI_UPDATE_GOLDEN=1 rewrites the golden file)",
                     osi_test_data(rel), actual);
        }
        json_decref(want);
        json_decref(got);
        osi_free(text);
        osi_report_free(r);
    }
}

static void test_collect_envelope(void **state)
{
    static const char *const first[] = { "cpu", "os_username", "os_name",
                                         "server_ip", "timestamp",
                                         "os_version" };
    struct osi_report *r = NULL;
    struct osi_error err;
    json_t *j;
    const char *key;
    void *iter;
    int64_t v;

    (void)state;
    assert_osi_ok(collect_fixture("debian12", &r, &err), &err);
    assert_string_equal(osi_report_get_string(r, "report_id"),
                        "00112233-4455-4677-8899-aabbccddeeff");
    assert_string_equal(osi_report_get_string(r, "collected_at"),
                        "2026-01-02T03:04:05.678Z");
    assert_string_equal(osi_report_get_string(r, "timestamp"),
                        "2026-01-02 03:04:05");
    assert_string_equal(osi_report_get_string(r, "agent_version"),
                        OSI_VERSION_STRING);
    assert_osi_ok(osi_report_get_int(r, "schema_version", &v), NULL);
    assert_int_equal(v, OSI_SCHEMA_VERSION);

    /* The six fields of the original come first, in its order. */
    j = report_json(r);
    iter = json_object_iter(j);
    for (size_t i = 0; i < 6; i++) {
        key = json_object_iter_key(iter);
        assert_string_equal(key, first[i]);
        iter = json_object_iter_next(j, iter);
    }
    json_decref(j);
    osi_report_free(r);
}

/* Every section is in the collection object with a status and a time; a
 * reason exactly when it was not read fully. */
static void test_collect_collection_object(void **state)
{
    static const char *const sections[] = {
        "kernel", "hostname", "os", "cpu", "memory", "uptime", "load",
        "disks", "network", "users", "username", "identity", "container",
    };
    struct osi_report *r = NULL;
    struct osi_error err;
    json_t *j, *secs;
    int64_t total;

    (void)state;
    assert_osi_ok(collect_fixture("container", &r, &err), &err);
    j = report_json(r);
    secs = json_object_get(json_object_get(j, "collection"), "sections");
    assert_int_equal(json_object_size(secs), 13);
    for (size_t i = 0; i < 13; i++) {
        json_t *s = json_object_get(secs, sections[i]);
        const char *status = json_string_value(json_object_get(s, "status"));

        assert_non_null(status);
        assert_true(strcmp(status, "full") == 0 ||
                    strcmp(status, "partial") == 0 ||
                    strcmp(status, "failed") == 0);
        /* the fake monotonic clock moves 1 us per reading */
        assert_int_equal(json_integer_value(json_object_get(s, "duration_us")),
                         1);
        assert_int_equal(json_object_get(s, "reason") != NULL,
                         strcmp(status, "full") != 0);
    }
    assert_osi_ok(osi_report_get_int(r, "collection.duration_us", &total),
                  NULL);
    assert_int_equal(total, 2 * 13 + 1);
    json_decref(j);
    osi_report_free(r);
}

static void test_collect_bad_root(void **state)
{
    struct osi_collect_options opts = OSI_COLLECT_OPTIONS_INIT;
    struct osi_report *r = NULL;
    struct osi_error err;
    char *longroot;

    (void)state;
    opts.root = "/nonexistent/osinspect";
    assert_osi_fails(osi_collect(&opts, &r, &err), OSI_EIO, &err,
                     "root /nonexistent/osinspect: No such file or directory");
    assert_null(r);
    assert_int_equal(err.cause_kind, OSI_CAUSE_ERRNO);
    opts.root = osi_test_data("roots/debian12/proc/meminfo");
    assert_osi_fails(osi_collect(&opts, &r, &err), OSI_EIO, &err,
                     "Not a directory");
    longroot = malloc(5000);
    memset(longroot, 'a', 4999);
    longroot[4999] = '\0';
    opts.root = longroot;
    assert_osi_fails(osi_collect(&opts, &r, &err), OSI_EINVAL, &err,
                     "root: path too long");
    free(longroot);
    opts.root = NULL;
    opts.version = 99;
    assert_osi_fails(osi_collect(&opts, &r, &err), OSI_EINVAL, &err,
                     "unknown collect options version 99");
    assert_int_equal(osi_collect_options_init(&opts, 2), OSI_EINVAL);
    assert_int_equal(osi_collect_options_init(NULL, 1), OSI_EINVAL);
    assert_osi_ok(osi_collect_options_init(&opts, 1), NULL);
    assert_null(opts.root);
}

/* The real machine: whatever it is, the report is valid and complete in
 * shape (osip_collect_with validates it before returning). */
static void test_collect_this_machine(void **state)
{
    struct osi_report *r = NULL;
    struct osi_error err;

    (void)state;
    assert_osi_ok(osi_collect(NULL, &r, &err), &err);
    assert_non_null(osi_report_get_string(r, "server_ip"));
    assert_string_not_equal(osi_report_get_string(r, "cpu"), "");
    osi_report_free(r);
}

/* Fail each allocation of a collection in turn: every run ends in
 * OSI_ENOMEM, never in a partial report presented as complete. */
static long alloc_calls;

static enum osi_status chaos_collect(long n)
{
    struct osi_report *r = NULL;
    struct osi_error err;
    enum osi_status st;

    osi_test_chaos_begin(n);
    st = collect_fixture("debian12", &r, &err);
    alloc_calls = osi_test_chaos_end();
    if (st != OSI_OK) {
        assert_null(r);
        if (st != OSI_ENOMEM)
            fail_msg("allocation %ld: %s: %s", n, osi_status_str(st),
                     err.message);
    }
    osi_report_free(r);
    return st;
}

static void test_collect_chaos(void **state)
{
    long total;

    (void)state;
    assert_int_equal(chaos_collect(-1), OSI_OK);
    total = alloc_calls;
    assert_true(total > 50);
    for (long n = 0; n < total; n++)
        assert_int_equal(chaos_collect(n), OSI_ENOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_golden),
        cmocka_unit_test(test_collect_envelope),
        cmocka_unit_test(test_collect_collection_object),
        cmocka_unit_test(test_collect_bad_root),
        cmocka_unit_test(test_collect_this_machine),
        cmocka_unit_test(test_collect_chaos),
    };
    return cmocka_run_group_tests_name("collect", tests, NULL, NULL);
}
