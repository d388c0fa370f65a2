/* SPDX-License-Identifier: MIT */
/* Test helpers (osi_test.h). */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
