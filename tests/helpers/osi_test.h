/* SPDX-License-Identifier: MIT */
/* Shared by the cmocka tests: paths of test data, temporary directories,
 * assertions that print the library's status and message. */
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

#endif /* OSI_TEST_H */
