/* SPDX-License-Identifier: MIT */
/* Shared by the cmocka tests: paths of test data, temporary directories
 * and copies of fixtures, assertions that print the library's status and
 * message, collection of a fixture root. */
#ifndef OSI_TEST_H
#define OSI_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <osinspect/osinspect.h>

/* Absolute path of tests/data, set by the build. */
extern const char osi_test_data_dir[];

/* Assert that a call returned OSI_OK; on failure print the status name and
 * the error message. */
#define assert_osi_ok(expr, errp) \
    osi_test_assert_ok((expr), (errp), #expr, __FILE__, __LINE__)
void osi_test_assert_ok(int got, const struct osi_error *err,
                        const char *expr, const char *file, int line);

/* Assert that a call failed with status want and a message containing
 * the substring needle. */
#define assert_osi_fails(expr, want, errp, needle)                        \
    osi_test_assert_fails((expr), (want), (errp), (needle), #expr,        \
                          __FILE__, __LINE__)
void osi_test_assert_fails(int got, int want, const struct osi_error *err,
                           const char *needle, const char *expr,
                           const char *file, int line);

/* "<data dir>/<rel>" into a static buffer (valid until the next call). */
const char *osi_test_data(const char *rel);

/* A fresh directory under $TMPDIR, removed with osi_test_rmtree(). */
char *osi_test_mkdtemp(void);
void osi_test_rmtree(const char *path);

/* Read a whole file; NULL on error. Free with free(). */
char *osi_test_slurp(const char *path, size_t *len);

/* Copy the tree from into the directory to (created if missing): files,
 * directories with their modes, symlinks as symlinks. 0, or -1 with errno. */
int osi_test_copytree(const char *from, const char *to);

/* A fresh temporary copy of the fixture root rel (under tests/data);
 * remove with osi_test_rmtree(), then free(). Asserts success. */
char *osi_test_copy_fixture(const char *rel);

/* Collect root with the fake system table of fake_sys.h; root is relative
 * to tests/data ("roots/debian12") or absolute. Asserts OSI_OK. Free with
 * osi_report_free(). */
struct osi_report *osi_test_collect(const char *root);

/* Assert collection.sections.<section>: its status and its reason (NULL:
 * no reason, as for "full"). */
void osi_test_assert_section(const struct osi_report *r, const char *section,
                             const char *status, const char *reason);

/* Allocation failures: from osi_test_chaos_begin(n) on, every allocation
 * of the library (osip_malloc) and of jansson is counted and the nth one
 * (from 0; -1: none) fails. osi_test_chaos_end() restores the allocators
 * and returns how many allocations were made. */
void osi_test_chaos_begin(long n);
long osi_test_chaos_end(void);

/* "<dir>/<name>": write text to it (failing the test on error), or tell
 * whether it exists. */
void osi_test_write_file(const char *dir, const char *name, const char *text);
int osi_test_exists(const char *dir, const char *name);

/* How many names under dir (at any depth) start with ".tmp-": the temp
 * files a store or spool left behind. */
int osi_test_count_temp(const char *dir);

/* Run fn(arg) on a thread with a stack as small as CivetWeb's workers'
 * (100 KiB) and wait for it to end. fn must not call cmocka's asserts. */
void osi_test_on_small_stack(void *(*fn)(void *), void *arg);

#endif /* OSI_TEST_H */
