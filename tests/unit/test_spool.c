/* SPDX-License-Identifier: MIT */
/* The spool: directory creation, atomic ordered entries, the bound,
 * corrupt files, the default directory. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "send_int.h"
#include "osi_test.h"

struct logbook {
    int count, warnings;
    char last[512];
};

static void logger(enum osi_log_level level, const char *message,
                   void *payload)
{
    struct logbook *lb = payload;

    lb->count++;
    if (level == OSI_LOG_WARNING)
        lb->warnings++;
    snprintf(lb->last, sizeof(lb->last), "%s", message);
}

struct fx {
    char *tmp;
    char dir[512];
    struct osip_spool sp;
    struct logbook log;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    if (fx == NULL || (fx->tmp = osi_test_mkdtemp()) == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "%s/state/osinspect/spool", fx->tmp);
    fx->sp.dirfd = -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    osip_spool_close(&fx->sp);
    osi_test_rmtree(fx->tmp);
    free(fx->tmp);
    free(fx);
    return 0;
}

static void open_spool(struct fx *fx, unsigned int max)
{
    struct osi_error err;

    assert_osi_ok(osip_spool_open(&fx->sp, fx->dir, max, logger, &fx->log,
                                  &err),
                  &err);
}

static char *report_json(const char *id)
{
    char *s = NULL;

    assert_true(asprintf(&s,
        "{\"cpu\":\"x\",\"os_username\":\"alice\",\"os_name\":\"Linux\","
        "\"server_ip\":\"10.0.0.5\",\"timestamp\":\"2026-01-02 03:04:05\","
        "\"os_version\":\"6.1.0\",\"report_id\":\"%s\"}", id) > 0);
    return s;
}

static void put(struct fx *fx, const char *id, unsigned int *dropped,
                char *name)
{
    struct osi_error err;
    char *json = report_json(id);

    assert_osi_ok(osip_spool_put(&fx->sp, json, strlen(json), id, dropped,
                                 name, &err),
                  &err);
    free(json);
}

/* Every name in dir, sorted, joined by spaces. */
static void dir_names(const char *dir, char *out, size_t size)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);

    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i]->d_name, ".") != 0 &&
            strcmp(list[i]->d_name, "..") != 0) {
            size_t len = strlen(out);
            snprintf(out + len, size - len, "%s%s", len ? " " : "",
                     list[i]->d_name);
        }
        free(list[i]);
    }
    free(list);
}

static void test_spool_open_creates_dir_0700(void **state)
{
    struct fx *fx = *state;
    char parent[600];
    struct stat st;

    open_spool(fx, 10);
    assert_int_equal(stat(fx->dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(parent, sizeof(parent), "%s/state/osinspect", fx->tmp);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    /* the writability probe leaves nothing behind */
    dir_names(fx->dir, parent, sizeof(parent));
    assert_string_equal(parent, "");
}

static void test_spool_open_unwritable_is_eio(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;
    char path[600];

    osi_test_write_file(fx->tmp, "file", "x");
    snprintf(path, sizeof(path), "%s/file/spool", fx->tmp);
    assert_osi_fails(osip_spool_open(&fx->sp, path, 10, NULL, NULL, &err),
                     OSI_EIO, &err, "cannot be created: Not a directory");
    assert_int_equal(err.cause_kind, OSI_CAUSE_ERRNO);
    assert_int_equal(err.cause, ENOTDIR);
    assert_int_equal(fx->sp.dirfd, -1);
    assert_null(fx->sp.dir);
}

static void test_spool_put_keeps_order_and_text(void **state)
{
    struct fx *fx = *state;
    static const char *ids[] = { "zz9", "aa1", "mm5", "aa0", "zz8" };
    struct osip_spool_list list;
    struct osi_error err;
    char names[5][OSIP_SPOOL_NAME_MAX], all[2048];
    unsigned int dropped = 99;

    open_spool(fx, 10);
    /* Written within a few milliseconds: the names must still sort in
     * the order of the writes, whatever the ids. */
    for (int i = 0; i < 5; i++)
        put(fx, ids[i], &dropped, names[i]);
    assert_int_equal(dropped, 0);
    assert_osi_ok(osip_spool_list(&fx->sp, &list, &err), &err);
    assert_int_equal(list.count, 5);
    for (int i = 0; i < 5; i++) {
        char want[80];
        char *text = NULL, *json = report_json(ids[i]);
        size_t len = 0;
        struct stat st;
        char path[1024];

        assert_string_equal(list.names[i], names[i]);
        snprintf(want, sizeof(want), "-%s.json", ids[i]);
        assert_string_equal(names[i] + 16, want);
        assert_osi_ok(osip_spool_get(&fx->sp, names[i], &text, &len, &err),
                      &err);
        assert_string_equal(text, json);
        assert_int_equal(len, strlen(json));
        snprintf(path, sizeof(path), "%s/%s", fx->dir, names[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        free(text);
        free(json);
    }
    osip_spool_list_free(&list);
    dir_names(fx->dir, all, sizeof(all)); /* no temporary file left */
    assert_null(strstr(all, ".tmp"));
}

static void test_spool_put_after_clock_went_back(void **state)
{
    struct fx *fx = *state;
    char name[OSIP_SPOOL_NAME_MAX], *json = report_json("old");

    open_spool(fx, 10);
    /* An entry from "the future": a new one must still sort after it. */
    osi_test_write_file(fx->dir, "9000000000000000-old.json", json);
    put(fx, "new", NULL, name);
    assert_string_equal(name, "9000000000000001-new.json");
    free(json);
}

static void test_spool_put_without_usable_id(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;
    char name[OSIP_SPOOL_NAME_MAX];
    const char *json = "{}";

    open_spool(fx, 10);
    assert_osi_ok(osip_spool_put(&fx->sp, json, 2, NULL, NULL, name, &err),
                  &err);
    assert_string_equal(name + 16, "-noid.json");
    assert_osi_ok(osip_spool_put(&fx->sp, json, 2, "../../etc/x", NULL, name,
                                 &err),
                  &err);
    assert_string_equal(name + 16, "-noid.json");
}

static void test_spool_put_drops_oldest_past_bound(void **state)
{
    struct fx *fx = *state;
    struct osip_spool_list list;
    struct osi_error err;
    char names[5][OSIP_SPOOL_NAME_MAX], want[700];
    unsigned int dropped;
    static const char *ids[] = { "r1", "r2", "r3", "r4", "r5" };

    open_spool(fx, 3);
    for (int i = 0; i < 5; i++) {
        put(fx, ids[i], &dropped, names[i]);
        assert_int_equal(dropped, i < 3 ? 0 : 1);
    }
    assert_int_equal(fx->log.warnings, 2);
    snprintf(want, sizeof(want),
             "spool %s is full (3 reports): dropped the oldest, %s", fx->dir,
             names[1]);
    assert_string_equal(fx->log.last, want);
    assert_osi_ok(osip_spool_list(&fx->sp, &list, &err), &err);
    assert_int_equal(list.count, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(list.names[i], names[i + 2]);
    osip_spool_list_free(&list);
}

static void test_spool_get_corrupt_is_set_aside(void **state)
{
    struct fx *fx = *state;
    static const char *bad[] = {
        "{\"cpu\":",                     /* cut short */
        "{\"what\":\"not a report\"}",  /* valid JSON, not a report */
        "",                              /* empty */
    };
    struct osip_spool_list list;
    struct osi_error err;

    open_spool(fx, 10);
    for (int i = 0; i < 3; i++) {
        char name[64], aside[80];
        char *text = (char *)"unchanged";
        size_t len = 7;

        snprintf(name, sizeof(name), "000000000000000%d-bad.json", i);
        snprintf(aside, sizeof(aside), "%s.corrupt", name);
        osi_test_write_file(fx->dir, name, bad[i]);
        assert_osi_fails(osip_spool_get(&fx->sp, name, &text, &len, &err),
                         OSI_EPARSE, &err, "is not a valid report");
        assert_null(text);
        assert_int_equal(len, 0);
        assert_false(osi_test_exists(fx->dir, name));
        assert_true(osi_test_exists(fx->dir, aside));
        assert_int_equal(fx->log.warnings, i + 1);
        assert_non_null(strstr(fx->log.last, "moved aside to"));
        assert_non_null(strstr(fx->log.last, aside));
    }
    assert_osi_ok(osip_spool_list(&fx->sp, &list, &err), &err);
    assert_int_equal(list.count, 0);
    osip_spool_list_free(&list);
}

static void test_spool_get_gone_is_enotfound(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;
    char *text = NULL;
    size_t len = 0;

    open_spool(fx, 10);
    assert_osi_fails(osip_spool_get(&fx->sp, "0000000000000001-x.json", &text,
                                    &len, &err),
                     OSI_ENOTFOUND, &err, "is gone");
    assert_osi_ok(osip_spool_remove(&fx->sp, "0000000000000001-x.json", &err),
                  &err);
}

static void test_spool_list_ignores_other_names(void **state)
{
    struct fx *fx = *state;
    struct osip_spool_list list;
    struct osi_error err;
    char *json = report_json("ok");

    open_spool(fx, 10);
    osi_test_write_file(fx->dir, ".tmp-12-0000000000000001-a.json", json);
    osi_test_write_file(fx->dir, "0000000000000001-a.json.corrupt", json);
    osi_test_write_file(fx->dir, "0000000000000001-a.json.rejected", json);
    osi_test_write_file(fx->dir, "123-short.json", json);
    osi_test_write_file(fx->dir, "000000000000000x-a.json", json);
    osi_test_write_file(fx->dir, "0000000000000001-a b.json", json);
    osi_test_write_file(fx->dir, "notes.txt", json);
    osi_test_write_file(fx->dir, "0000000000000002-ok.json", json);
    assert_osi_ok(osip_spool_list(&fx->sp, &list, &err), &err);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.names[0], "0000000000000002-ok.json");
    osip_spool_list_free(&list);
    free(json);
}

static void test_spool_default_dir(void **state)
{
    struct osi_error err;
    char *dir = NULL;

    (void)state;
    setenv("STATE_DIRECTORY", "/var/lib/osinspect:/other", 1);
    setenv("XDG_STATE_HOME", "/home/a/.state", 1);
    setenv("HOME", "/home/a", 1);
    assert_osi_ok(osi_spool_default_dir(&dir, &err), &err);
    assert_string_equal(dir, "/var/lib/osinspect/spool");
    osi_free(dir);

    unsetenv("STATE_DIRECTORY");
    assert_osi_ok(osi_spool_default_dir(&dir, &err), &err);
    assert_string_equal(dir, "/home/a/.state/osinspect/spool");
    osi_free(dir);

    setenv("XDG_STATE_HOME", "relative", 1); /* ignored, as XDG says */
    assert_osi_ok(osi_spool_default_dir(&dir, &err), &err);
    assert_string_equal(dir, "/home/a/.local/state/osinspect/spool");
    osi_free(dir);

    unsetenv("XDG_STATE_HOME");
    unsetenv("HOME");
    assert_osi_fails(osi_spool_default_dir(&dir, &err), OSI_ENOTFOUND, &err,
                     "no place for the spool");
    assert_null(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spool_open_creates_dir_0700,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_open_unwritable_is_eio,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_put_keeps_order_and_text,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_put_after_clock_went_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_put_without_usable_id,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_put_drops_oldest_past_bound,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_get_corrupt_is_set_aside,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_get_gone_is_enotfound,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_list_ignores_other_names,
                                        setup, teardown),
        cmocka_unit_test(test_spool_default_dir),
    };
    return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
