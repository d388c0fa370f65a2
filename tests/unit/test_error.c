/* SPDX-License-Identifier: MIT */
/* Status names, the error record, global set-up, version. */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "osi_test.h"

static void test_error_status_names(void **state)
{
    (void)state;
    assert_string_equal(osi_status_str(OSI_OK), "success");
    assert_string_equal(osi_status_str(OSI_EINVAL), "invalid argument");
    assert_string_equal(osi_status_str(OSI_ESTORE), "store error");
    for (int s = OSI_ESTORE; s <= OSI_OK; s++) {
        assert_non_null(osi_status_str(s));
        assert_string_not_equal(osi_status_str(s), "unknown status");
    }
    assert_string_equal(osi_status_str(-11), "unknown status");
    assert_string_equal(osi_status_str(1), "unknown status");
}

static void test_error_fill(void **state)
{
    struct osi_error err;
    char longer[400];

    (void)state;
    memset(&err, 0xaa, sizeof(err));
    assert_int_equal(osip_error_set(&err, OSI_EIO, OSI_CAUSE_ERRNO, ENOENT,
                                    "open %s: %s", "/x", strerror(ENOENT)),
                     OSI_EIO);
    assert_int_equal(err.status, OSI_EIO);
    assert_int_equal(err.cause_kind, OSI_CAUSE_ERRNO);
    assert_int_equal(err.cause, ENOENT);
    assert_string_equal(err.message, "open /x: No such file or directory");
    assert_int_equal(err.reserved[0], 0);
    /* A NULL record is allowed; a long message is cut, still terminated. */
    assert_int_equal(osip_fail(NULL, OSI_EINVAL, "x"), OSI_EINVAL);
    memset(longer, 'm', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    osip_fail(&err, OSI_EINVAL, "%s", longer);
    assert_int_equal(strlen(err.message), OSI_ERROR_MESSAGE_SIZE - 1);
}

static void test_error_init_cleanup_nest(void **state)
{
    struct osi_error err;

    (void)state;
    assert_osi_ok(osi_init(&err), &err);
    assert_osi_ok(osi_init(NULL), NULL);
    osi_cleanup();
    osi_cleanup();
    osi_cleanup(); /* one too many is harmless */
}

static void test_error_version(void **state)
{
    (void)state;
    assert_string_equal(osi_version(), OSI_VERSION_STRING);
    assert_true(OSI_VERSION_AT_LEAST(0, 1, 0));
    assert_false(OSI_VERSION_AT_LEAST(OSI_VERSION_MAJOR + 1, 0, 0));
    assert_int_equal(OSI_VERSION_NUM, (OSI_VERSION_MAJOR << 16) |
                                          (OSI_VERSION_MINOR << 8) |
                                          OSI_VERSION_PATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_status_names),
        cmocka_unit_test(test_error_fill),
        cmocka_unit_test(test_error_init_cleanup_nest),
        cmocka_unit_test(test_error_version),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
