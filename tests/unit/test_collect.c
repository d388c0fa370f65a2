/* SPDX-License-Identifier: MIT */
/* osi_collect as a whole: golden reports of fixture roots, the envelope
 * fields, the collection object, sections on threads, bad roots,
 * allocation failures. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect_int.h"
#include "fake_sys.h"
#include "osi_test.h"

/* Fixture roots with a golden report in tests/data/golden/<root>.json. */
static const char *const golden_roots[] = { "debian12", "rhel9", "container",
                                            "noroute" };

/* Collect a fixture root on the calling thread and `threads` more; with
 * none, the fake clock's readings follow one another in a fixed order and
 * every time in "collection" is known. */
static enum osi_status collect_threads(const char *root, unsigned int threads,
                                       struct osi_report **out,
                                       struct osi_error *err)
{
    struct osip_sys sys;
    struct fake_sys fake;
    char path[4096];

    snprintf(path, sizeof(path), "roots/%s", root);
    fake_sys_init(&sys, &fake, osi_test_data(path));
    return osip_collect_run(fake.root, &sys, threads, out, err);
}

static enum osi_status collect_fixture(const char *root,
                                       struct osi_report **out,
                                       struct osi_error *err)
{
    return collect_threads(root, 0, out, err);
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

/* The report as text with every "duration_us" set to 0: the times are all
 * that may differ between runs on different numbers of threads. NULL when
 * a time is missing or out of memory. Asserts nothing: a forked child
 * calls it too. */
static char *text_without_times(const struct osi_report *r)
{
    char *text = NULL;
    json_t *j, *coll, *secs, *s;
    const char *key;
    int ok;

    if (osi_report_to_json(r, OSI_JSON_PRETTY, &text, NULL, NULL) != OSI_OK)
        return NULL;
    j = json_loads(text, 0, NULL);
    osi_free(text);
    coll = json_object_get(j, "collection");
    secs = json_object_get(coll, "sections");
    ok = json_object_get(coll, "duration_us") != NULL &&
         json_object_set_new(coll, "duration_us", json_integer(0)) == 0 &&
         json_object_size(secs) > 0;
    json_object_foreach(secs, key, s)
        ok = ok && json_object_get(s, "duration_us") != NULL &&
             json_object_set_new(s, "duration_us", json_integer(0)) == 0;
    text = ok ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    return text;
}

/* Sections spread over threads give the report of a serial run, fields
 * and sections in the same order, byte for byte apart from the times. The
 * roots cover failed and partial sections (container, noroute). */
static void test_collect_threads_same_report(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(golden_roots) / sizeof(*golden_roots); i++) {
        struct osi_report *serial = NULL;
        struct osi_error err;
        char *want;

        assert_osi_ok(collect_threads(golden_roots[i], 0, &serial, &err),
                      &err);
        want = text_without_times(serial);
        assert_non_null(want);
        for (unsigned int t = 1; t <= OSIP_COLLECT_MAX_THREADS + 1; t++) {
            /* repeated: which thread takes which section varies */
            for (int run = 0; run < 5; run++) {
                struct osi_report *r = NULL;
                char *got;

                assert_osi_ok(collect_threads(golden_roots[i], t, &r, &err),
                              &err);
                got = text_without_times(r);
                assert_non_null(got);
                if (strcmp(got, want) != 0)
                    fail_msg("%s on %u threads: report differs from the "
                             "serial one:\n%s\nserial:\n%s",
                             golden_roots[i], t, got, want);
                free(got);
                osi_report_free(r);
            }
        }
        free(want);
        osi_report_free(serial);
    }
}

static void *no_work(void *arg)
{
    return arg;
}

/* In a child process, where clone and clone3 fail with EAGAIN from here
 * on, so that pthread_create does: 0, or -1 when seccomp is not there. */
static int deny_threads(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAGAIN),
    };
    struct sock_fprog prog = { sizeof(f) / sizeof(*f), f };

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -1;
    return 0;
}

/* A thread that cannot be started costs the collection nothing: the
 * caller runs every section and the report is the serial one. Exit code
 * of the child: 0 same report, 1 different or failed, 2 threads could
 * still be started, 3 no seccomp (skipped). */
static void test_collect_no_thread(void **state)
{
    struct osi_report *serial = NULL;
    struct osi_error err;
    char *want;
    pid_t pid;
    int status;

    (void)state;
    assert_osi_ok(collect_threads("debian12", 0, &serial, &err), &err);
    want = text_without_times(serial);
    assert_non_null(want);
    osi_report_free(serial);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct osi_report *r = NULL;
        pthread_t t;
        char *got = NULL;
        int code;

        if (deny_threads() != 0) {
            code = 3;
        } else if (pthread_create(&t, NULL, no_work, NULL) == 0) {
            code = 2;
        } else if (collect_threads("debian12", 1, &r, &err) != OSI_OK) {
            code = 1;
        } else {
            got = text_without_times(r);
            code = got != NULL && strcmp(got, want) == 0 ? 0 : 1;
        }
        free(got);
        free(want);
        osi_report_free(r);
        _exit(code);
    }
    free(want);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
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

static enum osi_status chaos_collect(unsigned int threads, long n)
{
    struct osi_report *r = NULL;
    struct osi_error err;
    enum osi_status st;

    osi_test_chaos_begin(n);
    st = collect_threads("debian12", threads, &r, &err);
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
    assert_int_equal(chaos_collect(0, -1), OSI_OK);
    total = alloc_calls;
    assert_true(total > 50);
    for (long n = 0; n < total; n++)
        assert_int_equal(chaos_collect(0, n), OSI_ENOMEM);
}

/* The same on threads: the nth allocation is made by whichever thread
 * gets there, and its failure still fails the whole collection. As many
 * allocations as on one thread, whatever thread takes what. */
static void test_collect_chaos_threads(void **state)
{
    long total;

    (void)state;
    assert_int_equal(chaos_collect(0, -1), OSI_OK);
    total = alloc_calls;
    assert_int_equal(chaos_collect(OSIP_COLLECT_MAX_THREADS, -1), OSI_OK);
    assert_int_equal(alloc_calls, total);
    for (long n = 0; n < total; n++)
        assert_int_equal(chaos_collect(OSIP_COLLECT_MAX_THREADS, n),
                         OSI_ENOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_golden),
        cmocka_unit_test(test_collect_envelope),
        cmocka_unit_test(test_collect_collection_object),
        cmocka_unit_test(test_collect_threads_same_report),
        cmocka_unit_test(test_collect_no_thread),
        cmocka_unit_test(test_collect_bad_root),
        cmocka_unit_test(test_collect_this_machine),
        cmocka_unit_test(test_collect_chaos),
        cmocka_unit_test(test_collect_chaos_threads),
    };
    return cmocka_run_group_tests_name("collect", tests, NULL, NULL);
}
