/* SPDX-License-Identifier: MIT */
/* Black-box tests of the installed interface: only <osinspect/osinspect.h>,
 * linked with the shared library, as a downstream program uses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <osinspect/osinspect.h>

static void test_api_collect_serialise_parse(void **state)
{
    struct osi_collect_options opts;
    struct osi_report *r = NULL, *back = NULL;
    struct osi_error err;
    char *json = NULL, *again = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(osi_init(&err), OSI_OK);
    assert_int_equal(osi_collect_options_init(&opts,
                                              OSI_COLLECT_OPTIONS_VERSION),
                     OSI_OK);
    assert_int_equal(osi_collect(&opts, &r, &err), OSI_OK);
    assert_int_equal(osi_report_to_json(r, OSI_JSON_COMPACT, &json, &len,
                                        &err),
                     OSI_OK);
    assert_int_equal(strlen(json), len);
    /* What the library writes, the library reads back unchanged. */
    assert_int_equal(osi_report_from_json(json, len, NULL, &back, &err),
                     OSI_OK);
    assert_int_equal(osi_report_to_json(back, OSI_JSON_COMPACT, &again, NULL,
                                        &err),
                     OSI_OK);
    assert_string_equal(json, again);
    assert_string_equal(osi_report_get_string(back, "server_ip"),
                        osi_report_get_string(r, "server_ip"));
    osi_free(again);
    osi_free(json);
    osi_report_free(back);
    osi_report_free(r);
    osi_cleanup();
}

static void test_api_errors(void **state)
{
    struct osi_report *r = NULL;
    struct osi_error err;

    (void)state;
    assert_int_equal(osi_report_from_json("{", 1, NULL, &r, &err),
                     OSI_EPARSE);
    assert_int_equal(err.status, OSI_EPARSE);
    assert_non_null(strstr(err.message, "invalid JSON"));
    assert_null(r);
    /* A NULL error record is allowed everywhere. */
    assert_int_equal(osi_report_from_json("[]", 2, NULL, &r, NULL),
                     OSI_EINVAL);
    assert_string_equal(osi_status_str(OSI_ENOTFOUND), "not found");
    assert_string_equal(osi_version(), OSI_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_collect_serialise_parse),
        cmocka_unit_test(test_api_errors),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
