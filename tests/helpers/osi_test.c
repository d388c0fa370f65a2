/* SPDX-License-Identifier: MIT */
/* Test helpers (osi_test.h). */

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect_int.h"
#include "fake_sys.h"
#include "osi_test.h"
#include "osi_test_config.h"

const char osi_test_data_dir[] = OSI_TEST_DATA_DIR;

void osi_test_assert_ok(int got, const struct osi_error *err,
                        const char *expr, const char *file, int line)
{
    if (got != OSI_OK) {
        print_error("%s: %s (%d): %s\n", expr, osi_status_str(got), got,
                    err ? err->message : "");
        _fail(file, line);
    }
}

void osi_test_assert_fails(int got, int want, const struct osi_error *err,
                           const char *needle, const char *expr,
                           const char *file, int line)
{
    if (got != want) {
        print_error("%s: expected %s (%d), got %s (%d): %s\n", expr,
                    osi_status_str(want), want, osi_status_str(got), got,
                    err ? err->message : "");
        _fail(file, line);
    }
    if (err != NULL && needle != NULL &&
        strstr(err->message, needle) == NULL) {
        print_error("%s: message \"%s\" lacks \"%s\"\n", expr,
                    err->message, needle);
        _fail(file, line);
    }
    if (err != NULL && err->status != want) {
        print_error("%s: err->status %d, expected %d\n", expr, err->status,
                    want);
        _fail(file, line);
    }
}

const char *osi_test_data(const char *rel)
{
    static char buf[4096];

    snprintf(buf, sizeof(buf), "%s/%s", osi_test_data_dir, rel);
    return buf;
}

char *osi_test_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path;

    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    if (asprintf(&path, "%s/osi-test-XXXXXX", tmp) < 0)
        return NULL;
    if (mkdtemp(path) == NULL) {
        free(path);
        return NULL;
    }
    return path;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void osi_test_rmtree(const char *path)
{
    if (path != NULL)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *osi_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *bigger = realloc(buf, cap + 65536);
            if (bigger == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = bigger;
            cap += 65536;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

/* nftw passes no payload: the tree being copied. */
static const char *copy_from, *copy_to;

static int copy_one(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    char dst[2 * PATH_MAX];
    char *data;
    size_t len;
    FILE *f;

    (void)ftw;
    snprintf(dst, sizeof(dst), "%s%s", copy_to, path + strlen(copy_from));
    if (flag == FTW_D)
        return mkdir(dst, st->st_mode & 07777) == 0 || errno == EEXIST ? 0
                                                                       : -1;
    if (flag == FTW_SL) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);

        if (n < 0)
            return -1;
        target[n] = '\0';
        return symlink(target, dst);
    }
    if (flag != FTW_F)
        return -1;
    data = osi_test_slurp(path, &len);
    f = fopen(dst, "wb");
    if (data == NULL || f == NULL || fwrite(data, 1, len, f) != len) {
        free(data);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    free(data);
    return fclose(f) == 0 ? 0 : -1;
}

int osi_test_copytree(const char *from, const char *to)
{
    copy_from = from;
    copy_to = to;
    return nftw(from, copy_one, 16, FTW_PHYS) == 0 ? 0 : -1;
}

char *osi_test_copy_fixture(const char *rel)
{
    char *dst = osi_test_mkdtemp();

    assert_non_null(dst);
    assert_int_equal(osi_test_copytree(osi_test_data(rel), dst), 0);
    return dst;
}

struct osi_report *osi_test_collect(const char *root)
{
    struct osip_sys sys;
    struct fake_sys fake;
    struct osi_report *r = NULL;
    struct osi_error err;

    fake_sys_init(&sys, &fake, root[0] == '/' ? root : osi_test_data(root));
    assert_osi_ok(osip_collect_with(fake.root, &sys, &r, &err), &err);
    return r;
}

void osi_test_assert_section(const struct osi_report *r, const char *section,
                             const char *status, const char *reason)
{
    char path[128];

    snprintf(path, sizeof(path), "collection.sections.%s.status", section);
    assert_string_equal(osi_report_get_string(r, path), status);
    snprintf(path, sizeof(path), "collection.sections.%s.reason", section);
    if (reason == NULL)
        assert_null(osi_report_get_string(r, path));
    else
        assert_string_equal(osi_report_get_string(r, path), reason);
}

static long chaos_countdown = -1;
static long chaos_calls;

static int chaos_hook(void)
{
    chaos_calls++;
    return chaos_countdown >= 0 && chaos_countdown-- == 0;
}

static void *chaos_malloc(size_t size)
{
    return chaos_hook() ? NULL : malloc(size);
}

void osi_test_chaos_begin(long n)
{
    osip_alloc_fail_hook = chaos_hook;
    json_set_alloc_funcs(chaos_malloc, free);
    chaos_calls = 0;
    chaos_countdown = n;
}

long osi_test_chaos_end(void)
{
    chaos_countdown = -1;
    json_set_alloc_funcs(malloc, free);
    osip_alloc_fail_hook = NULL;
    return chaos_calls;
}

void osi_test_write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

int osi_test_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

int osi_test_count_temp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char sub[4096];

        if (strncmp(e->d_name, ".tmp-", 5) == 0)
            n++;
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        n += osi_test_count_temp(sub);
    }
    closedir(d);
    return n;
}

void osi_test_on_small_stack(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t t;

    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 100 * 1024), 0);
    assert_int_equal(pthread_create(&t, &attr, fn, arg), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
}
