/* SPDX-License-Identifier: MIT */
/* The file store backend: durable objects by key, latest pointers that
 * only move forward, listings that skip temp files, safe keys. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"
#include "osi_test.h"

#define K1 "reports/10.0.0.1/2026-01-02/030405.678Z-a.json"
#define K2 "reports/10.0.0.1/2026-01-03/000000.000Z-b.json"
#define K0 "reports/10.0.0.1/2026-01-01/120000.000Z-c.json"
#define LATEST "latest/10.0.0.1.json"

struct fixture {
    char *dir;
    const struct osip_store_backend *ops;
    void *be;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct osi_error err;

    if (f == NULL)
        return -1;
    umask(022);
    f->dir = osi_test_mkdtemp();
    if (f->dir == NULL ||
        osip_store_file_open(f->dir, NULL, &f->ops, &f->be, &err) != OSI_OK) {
        free(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    f->ops->close(f->be);
    osi_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char *path_in(const struct fixture *f, const char *rel)
{
    static char buf[4096];

    snprintf(buf, sizeof(buf), "%s/%s", f->dir, rel);
    return buf;
}

static void put_report(struct fixture *f, const char *key, const char *data,
                       int want_dup)
{
    struct osi_error err;
    int dup = -1;

    assert_osi_ok(f->ops->put_report(f->be, key, LATEST, data, strlen(data),
                                     &dup, &err),
                  &err);
    assert_int_equal(dup, want_dup);
}

/* latest is a hard link to the report key. */
static void expect_latest_target(struct fixture *f, const char *key)
{
    struct stat l, r;

    assert_int_equal(lstat(path_in(f, LATEST), &l), 0);
    assert_int_equal(stat(path_in(f, key), &r), 0);
    assert_true(S_ISREG(l.st_mode));
    if (l.st_ino != r.st_ino || l.st_dev != r.st_dev)
        fail_msg("latest is not %s", key);
}

static void expect_get(struct fixture *f, const char *key, const char *want)
{
    struct osi_error err;
    char *data = NULL;
    size_t len = 0;

    assert_osi_ok(f->ops->get(f->be, key, &data, &len, &err), &err);
    assert_string_equal(data, want);
    assert_int_equal(len, strlen(want));
    free(data);
}

static void test_store_file_put_report_layout(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    char *data;

    put_report(f, K1, "{\"n\":1}", 0);
    data = osi_test_slurp(path_in(f, K1), NULL);
    assert_non_null(data);
    assert_string_equal(data, "{\"n\":1}");
    free(data);
    assert_int_equal(stat(path_in(f, K1), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    /* The report and latest: the temp names are gone. */
    assert_int_equal(st.st_nlink, 2);
    expect_latest_target(f, K1);
    expect_get(f, LATEST, "{\"n\":1}");
    expect_get(f, K1, "{\"n\":1}");
    assert_int_equal(osi_test_count_temp(f->dir), 0);
}

static void test_store_file_duplicate_kept_once(void **state)
{
    struct fixture *f = *state;

    put_report(f, K1, "{\"n\":1}", 0);
    put_report(f, K1, "{\"n\":2}", 1);
    expect_get(f, K1, "{\"n\":1}");
    expect_latest_target(f, K1);
    assert_int_equal(osi_test_count_temp(f->dir), 0);
}

static void test_store_file_latest_moves_forward_only(void **state)
{
    struct fixture *f = *state;

    put_report(f, K1, "{\"n\":1}", 0);
    put_report(f, K2, "{\"n\":2}", 0);
    expect_latest_target(f, K2);
    /* A spooled report arriving late is stored, latest stays. */
    put_report(f, K0, "{\"n\":0}", 0);
    expect_latest_target(f, K2);
    expect_get(f, LATEST, "{\"n\":2}");
    expect_get(f, K0, "{\"n\":0}");
}

static void test_store_file_duplicate_repairs_latest(void **state)
{
    struct fixture *f = *state;

    put_report(f, K1, "{\"n\":1}", 0);
    /* As if the process died between the report and its pointer. */
    assert_int_equal(unlink(path_in(f, LATEST)), 0);
    put_report(f, K1, "{\"n\":1}", 1);
    expect_latest_target(f, K1);
}

static void test_store_file_latest_regular_file_replaced(void **state)
{
    struct fixture *f = *state;
    FILE *fp = fopen(path_in(f, LATEST), "w");

    assert_non_null(fp);
    fputs("{\"copied\":true}", fp);
    fclose(fp);
    put_report(f, K0, "{\"n\":0}", 0);
    expect_latest_target(f, K0);
}

static void test_store_file_put_overwrites(void **state)
{
    struct fixture *f = *state;
    struct osi_error err;

    assert_osi_ok(f->ops->put(f->be, "seen/10.0.0.9.json", "{\"ip\":\"a\"}",
                              10, &err),
                  &err);
    assert_osi_ok(f->ops->put(f->be, "seen/10.0.0.9.json", "{\"ip\":\"b\"}",
                              10, &err),
                  &err);
    expect_get(f, "seen/10.0.0.9.json", "{\"ip\":\"b\"}");
    /* A directory of the layout that does not exist yet is created. */
    assert_osi_ok(f->ops->put(f->be, "new/deeper/x.json", "1", 1, &err),
                  &err);
    expect_get(f, "new/deeper/x.json", "1");
    assert_int_equal(osi_test_count_temp(f->dir), 0);
}

/* A stamped report as store.c writes it, for key K (time and id). */
static const char *stamped(const char *collected_at, const char *id)
{
    static char buf[256];

    snprintf(buf, sizeof(buf),
             "{\"server_ip\":\"10.0.0.1\",\"collected_at\":\"%s\","
             "\"report_id\":\"%s\",\"received\":{\"at\":"
             "\"2026-01-05T00:00:00.000Z\",\"peer\":null}}",
             collected_at, id);
    return buf;
}

#define K3 "reports/10.0.0.1/2026-01-04/000000.000Z-d.json"

/* Another process (here another backend on the same directory) moves
 * latest: this one notices although it remembers the pointer it made,
 * and a process that starts reads what latest names from the report. */
static void test_store_file_latest_other_process(void **state)
{
    struct fixture *f = *state;
    const struct osip_store_backend *ops2;
    struct osi_error err;
    const char *k3;
    void *be2;
    int dup;

    put_report(f, K1, stamped("2026-01-02T03:04:05.678Z", "a"), 0);
    assert_osi_ok(osip_store_file_open(f->dir, NULL, &ops2, &be2, &err), &err);
    k3 = stamped("2026-01-04T00:00:00Z", "d");
    assert_osi_ok(ops2->put_report(be2, K3, LATEST, k3, strlen(k3), &dup,
                                   &err),
                  &err);
    expect_latest_target(f, K3);
    /* Newer than what this one made, older than the other's. */
    put_report(f, K2, stamped("2026-01-03T00:00:00Z", "b"), 0);
    expect_latest_target(f, K3);
    ops2->close(be2);

    /* A process that starts: the key from the report's own text. */
    assert_osi_ok(osip_store_file_open(f->dir, NULL, &ops2, &be2, &err), &err);
    assert_osi_ok(ops2->put_report(be2, K0, LATEST, "{}", 2, &dup, &err),
                  &err);
    expect_latest_target(f, K3);
    ops2->close(be2);
}

/* A pointer it cannot read a key from (not a stamped report) is
 * replaced; a symbolic link (stores of osinspect before 0.1) is read. */
static void test_store_file_latest_foreign_pointers(void **state)
{
    struct fixture *f = *state;
    const struct osip_store_backend *ops2;
    struct osi_error err;
    void *be2;
    int dup;

    assert_int_equal(symlink("../" K2, path_in(f, LATEST)), 0);
    put_report(f, K1, "{\"n\":1}", 0);
    put_report(f, K2, "{\"n\":2}", 0);
    put_report(f, K3, "{\"n\":3}", 0);
    expect_latest_target(f, K3);

    assert_osi_ok(osip_store_file_open(f->dir, NULL, &ops2, &be2, &err), &err);
    assert_osi_ok(ops2->put_report(be2, K0, LATEST, "{}", 2, &dup, &err),
                  &err);
    expect_latest_target(f, K0);
    ops2->close(be2);
}

/* latest is already the report whose key cannot be told from its text:
 * left as it is, no temp link left behind. */
static void test_store_file_latest_same_file_unknown_key(void **state)
{
    struct fixture *f = *state;
    const struct osip_store_backend *ops2;
    struct osi_error err;
    void *be2;
    int dup;

    put_report(f, K1, "{\"n\":1}", 0);
    assert_osi_ok(osip_store_file_open(f->dir, NULL, &ops2, &be2, &err), &err);
    assert_osi_ok(ops2->put_report(be2, K1, LATEST, "{\"n\":1}", 7, &dup,
                                   &err),
                  &err);
    assert_int_equal(dup, 1);
    ops2->close(be2);
    expect_latest_target(f, K1);
    assert_int_equal(osi_test_count_temp(f->dir), 0);
}

static void test_store_file_get_missing(void **state)
{
    struct fixture *f = *state;
    struct osi_error err;
    char *data = (char *)"x";
    size_t len = 7;

    assert_osi_fails(f->ops->get(f->be, "latest/10.9.9.9.json", &data, &len,
                                 &err),
                     OSI_ENOTFOUND, &err, "latest/10.9.9.9.json");
    assert_null(data);
    assert_int_equal(len, 0);
    assert_osi_fails(f->ops->get(f->be, "nodir/x/y.json", &data, &len, &err),
                     OSI_ENOTFOUND, &err, NULL);
    /* A dangling pointer is no report. */
    assert_int_equal(symlink("../reports/none.json", path_in(f, LATEST)), 0);
    assert_osi_fails(f->ops->get(f->be, LATEST, &data, &len, &err),
                     OSI_ENOTFOUND, &err, NULL);
}

static void test_store_file_rejects_unsafe_keys(void **state)
{
    static const char *const bad[] = {
        "../x.json", "/etc/passwd", "reports/../../x", "a//b.json",
        ".tmp-1-1", "reports/.tmp-1-1", "latest/", "", "a/./b",
    };
    struct fixture *f = *state;
    struct osi_error err;
    char *data;
    size_t len;
    int dup;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        assert_osi_fails(f->ops->get(f->be, bad[i], &data, &len, &err),
                         OSI_EINVAL, &err, "invalid key");
        assert_osi_fails(f->ops->put(f->be, bad[i], "x", 1, &err), OSI_EINVAL,
                         &err, "invalid key");
        assert_osi_fails(f->ops->put_report(f->be, bad[i], LATEST, "x", 1,
                                            &dup, &err),
                         OSI_EINVAL, &err, "invalid key");
    }
}

struct seen_keys {
    char keys[16][128];
    int n;
    int stop_after;
};

static int collect(const char *key, void *payload)
{
    struct seen_keys *s = payload;

    assert_true(s->n < 16);
    snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", key);
    return s->stop_after != 0 && s->n >= s->stop_after;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void list(struct fixture *f, const char *prefix, int flat,
                 struct seen_keys *s)
{
    struct osi_error err;

    s->n = 0;
    if (flat)
        assert_osi_ok(f->ops->list_flat(f->be, prefix, collect, s, &err),
                      &err);
    else
        assert_osi_ok(f->ops->list(f->be, prefix, collect, s, &err), &err);
    qsort(s->keys, (size_t)s->n, sizeof(s->keys[0]), by_text);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_store_file_list(void **state)
{
    struct fixture *f = *state;
    struct seen_keys s = { .stop_after = 0 };

    put_report(f, K1, "{}", 0);
    put_report(f, K2, "{}", 0);
    write_file(path_in(f, "10_0_0_5_2026-01-01.json"), "{}");
    write_file(path_in(f, "10_0_0_50_2026-01-01.json"), "{}");
    /* A temp file of a process that died: never listed. */
    write_file(path_in(f, "reports/10.0.0.1/2026-01-02/.tmp-99-1"), "{\"n");
    write_file(path_in(f, ".tmp-99-2"), "{");

    list(f, "reports/10.0.0.1/", 0, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], K1);
    assert_string_equal(s.keys[1], K2);

    list(f, "latest/", 0, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.keys[0], LATEST);

    list(f, "10_0_0_5_", 1, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.keys[0], "10_0_0_5_2026-01-01.json");

    /* The top level, flat: no report, no directory. */
    list(f, "", 1, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "10_0_0_50_2026-01-01.json");
    assert_string_equal(s.keys[1], "10_0_0_5_2026-01-01.json");

    /* Everything. */
    list(f, "", 0, &s);
    assert_int_equal(s.n, 5);

    list(f, "reports/10.9.9.9/", 0, &s);
    assert_int_equal(s.n, 0);
    list(f, "nothing/here/", 0, &s);
    assert_int_equal(s.n, 0);

    s.stop_after = 1;
    list(f, "", 0, &s);
    assert_int_equal(s.n, 1);
}

static void test_store_file_list_rejects_unsafe_prefix(void **state)
{
    struct fixture *f = *state;
    struct seen_keys s = { .stop_after = 0 };
    struct osi_error err;

    assert_osi_fails(f->ops->list(f->be, "../", collect, &s, &err),
                     OSI_EINVAL, &err, "invalid prefix");
    assert_osi_fails(f->ops->list(f->be, "reports/../../", collect, &s, &err),
                     OSI_EINVAL, &err, "invalid prefix");
    assert_osi_fails(f->ops->list(f->be, "/", collect, &s, &err), OSI_EINVAL,
                     &err, "invalid prefix");
    assert_osi_fails(f->ops->list_flat(f->be, ".tmp-", collect, &s, &err),
                     OSI_EINVAL, &err, "invalid prefix");
    assert_int_equal(s.n, 0);
}

static void test_store_file_ping(void **state)
{
    struct fixture *f = *state;
    struct osi_error err;

    assert_osi_ok(f->ops->ping(f->be, &err), &err);
    osi_test_rmtree(f->dir);
    assert_osi_fails(f->ops->ping(f->be, &err), OSI_ESTORE, &err,
                     "was removed");
}

static void test_store_file_open_creates_parents(void **state)
{
    const struct osip_store_backend *ops;
    struct fixture *f = *state;
    struct osi_error err;
    struct stat st;
    void *be;
    char path[4096];

    snprintf(path, sizeof(path), "%s/a/b/c", f->dir);
    assert_osi_ok(osip_store_file_open(path, NULL, &ops, &be, &err), &err);
    ops->close(be);
    snprintf(path, sizeof(path), "%s/a/b/c/latest", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* Opening again finds it all in place. */
    snprintf(path, sizeof(path), "%s/a/b/c/", f->dir);
    assert_osi_ok(osip_store_file_open(path, NULL, &ops, &be, &err), &err);
    ops->close(be);
}

static void test_store_file_open_fails_under_file(void **state)
{
    const struct osip_store_backend *ops = NULL;
    struct fixture *f = *state;
    struct osi_error err;
    void *be = NULL;
    char path[4096];

    write_file(path_in(f, "file"), "x");
    snprintf(path, sizeof(path), "%s/file/store", f->dir);
    assert_osi_fails(osip_store_file_open(path, NULL, &ops, &be, &err),
                     OSI_EIO, &err, "cannot create store directory");
    assert_non_null(strstr(err.message, "/file/store: Not a directory"));
    assert_int_equal(err.cause_kind, OSI_CAUSE_ERRNO);
    assert_int_equal(err.cause, ENOTDIR);
    assert_null(be);
    /* The path itself a file. */
    assert_osi_fails(osip_store_file_open(path_in(f, "file"), NULL, &ops, &be,
                                          &err),
                     OSI_EIO, &err, "Not a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_file_put_report_layout,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_file_duplicate_kept_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_file_latest_moves_forward_only, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_file_duplicate_repairs_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_file_latest_regular_file_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_file_latest_other_process,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_file_latest_foreign_pointers, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_file_latest_same_file_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_file_put_overwrites, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_file_get_missing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_file_rejects_unsafe_keys,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_file_list, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_store_file_list_rejects_unsafe_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_file_ping, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_file_open_creates_parents,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_file_open_fails_under_file,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("store_file", tests, NULL, NULL);
}
