/* SPDX-License-Identifier: MIT */
/* Section "memory" against fixture roots. */
#include <string.h>

#include "collect_int.h"
#include "osi_test.h"

static void test_collect_memory_debian(void **state)
{
    struct osi_report *r = osi_test_collect("roots/debian12");
    int64_t v;

    (void)state;
    assert_osi_ok(osi_report_get_int(r, "memory.total_bytes", &v), NULL);
    assert_int_equal(v, 8148280LL * 1024);
    assert_osi_ok(osi_report_get_int(r, "memory.available_bytes", &v), NULL);
    assert_int_equal(v, 6012344LL * 1024);
    assert_osi_ok(osi_report_get_int(r, "memory.swap_total_bytes", &v), NULL);
    assert_int_equal(v, 999420LL * 1024);
    assert_osi_ok(osi_report_get_int(r, "memory.swap_free_bytes", &v), NULL);
    assert_int_equal(v, 999420LL * 1024);
    osi_test_assert_section(r, "memory", "full", NULL);
    osi_report_free(r);
}

/* A kernel without MemAvailable: estimated, and the section says so. */
static void test_collect_memory_old_kernel(void **state)
{
    struct osi_report *r = osi_test_collect("roots/rhel9");
    int64_t v;

    (void)state;
    assert_osi_ok(osi_report_get_int(r, "memory.available_bytes", &v), NULL);
    assert_int_equal(v, (1000000LL + 20000 + 300000) * 1024);
    assert_string_equal(
        osi_report_get_string(r, "collection.sections.memory.status"),
        "partial");
    assert_non_null(strstr(
        osi_report_get_string(r, "collection.sections.memory.reason"),
        "MemAvailable"));
    osi_report_free(r);
}

/* No /proc/meminfo: memory is null, the section failed, the report stands. */
static void test_collect_memory_missing(void **state)
{
    struct osi_report *r = osi_test_collect("roots/container");
    int64_t v;

    (void)state;
    assert_int_equal(osi_report_get_int(r, "memory.total_bytes", &v),
                     OSI_ENOTFOUND);
    osi_test_assert_section(r, "memory", "failed",
                            "/proc/meminfo: No such file or directory");
    osi_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_memory_debian),
        cmocka_unit_test(test_collect_memory_old_kernel),
        cmocka_unit_test(test_collect_memory_missing),
    };
    return cmocka_run_group_tests_name("collect_memory", tests, NULL, NULL);
}
