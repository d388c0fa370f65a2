/* SPDX-License-Identifier: MIT */
/* Section "identity" against fixture roots. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect_int.h"
#include "osi_test.h"

static void assert_identity(const struct osi_report *r, const char *machine_id,
                            const char *boot_id, const char *product_uuid,
                            const char *product_name, const char *sys_vendor)
{
    const json_t *id = json_object_get(r->root, "identity");
    const char *const keys[] = { "machine_id", "boot_id", "product_uuid",
                                 "product_name", "sys_vendor" };
    const char *const want[] = { machine_id, boot_id, product_uuid,
                                 product_name, sys_vendor };

    assert_true(json_is_object(id));
    assert_int_equal(json_object_size(id), 5);
    for (size_t i = 0; i < 5; i++) {
        const json_t *v = json_object_get(id, keys[i]);

        if (want[i] == NULL)
            assert_true(json_is_null(v));
        else
            assert_string_equal(json_string_value(v), want[i]);
    }
}

static void test_collect_identity_debian(void **state)
{
    struct osi_report *r = osi_test_collect("roots/debian12");

    (void)state;
    assert_identity(r, "8f3c2a9e5b7d41c6a0e2f4b6d8c1e3a5",
                    "2b9d7e3a-4c61-4f0e-9a8b-1d2c3e4f5a6b",
                    "4c4c4544-0036-4b10-8052-b4c04f4b4e32", "PowerEdge R640",
                    "Dell Inc.");
    osi_test_assert_section(r, "identity", "full", NULL);
    osi_report_free(r);
}

/* The AMI firmware placeholder UUID names no machine: null, not an error;
 * likewise "To be filled by O.E.M.". */
static void test_collect_identity_placeholder_uuid(void **state)
{
    struct osi_report *r = osi_test_collect("roots/rhel9");

    (void)state;
    assert_identity(r, "c1a5e8f2b4d6489aa0b1c2d3e4f50617",
                    "7e0f4a2c-9b1d-4e3f-8a5b-6c7d8e9f0a1b", NULL, NULL,
                    "Supermicro");
    osi_test_assert_section(r, "identity", "full", NULL);
    osi_report_free(r);
}

/* All F's (upper case) and vendor default strings are dropped too. */
static void test_collect_identity_placeholder_texts(void **state)
{
    struct osi_report *r = osi_test_collect("roots/identity-placeholders");

    (void)state;
    assert_identity(r, "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b",
                    "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", NULL, NULL, NULL);
    osi_test_assert_section(r, "identity", "full", NULL);
    osi_report_free(r);
}

/* A container without machine-id: null, partial; what is there stands. */
static void test_collect_identity_container(void **state)
{
    struct osi_report *r = osi_test_collect("roots/container");

    (void)state;
    assert_identity(r, NULL, "5a4f3e2d-1c0b-4a9e-8d7c-6b5a4f3e2d1c", NULL,
                    NULL, NULL);
    osi_test_assert_section(r, "identity", "partial",
                            "/etc/machine-id: No such file or directory");
    osi_report_free(r);
}

/* An image before first boot ("uninitialized"): D-Bus's copy is used. No
 * DMI directory (a VM without DMI, an ARM board) is not an error. */
static void test_collect_identity_dbus_fallback(void **state)
{
    struct osi_report *r = osi_test_collect("roots/identity-dbus");

    (void)state;
    assert_identity(r, "5e2b8c1d9f4a4e7bb3c6d0a1f2e3d4c5",
                    "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", NULL, NULL, NULL);
    osi_test_assert_section(r, "identity", "full", NULL);
    osi_report_free(r);
}

/* Values that are not what they claim are null, never passed on; DMI text
 * loses leading blanks. */
static void test_collect_identity_garbage(void **state)
{
    struct osi_report *r = osi_test_collect("roots/identity-garbage");

    (void)state;
    assert_identity(r, NULL, NULL, NULL, "Virtual Machine",
                    "Microsoft Corporation");
    osi_test_assert_section(r, "identity", "partial",
                            "/etc/machine-id: not a machine ID");
    osi_report_free(r);
}

/* Nothing to read at all: the section failed. */
static void test_collect_identity_nothing(void **state)
{
    struct osi_report *r = osi_test_collect("roots/identity-none");

    (void)state;
    assert_identity(r, NULL, NULL, NULL, NULL, NULL);
    osi_test_assert_section(r, "identity", "failed",
                            "/etc/machine-id: No such file or directory");
    osi_report_free(r);
}

/* product_uuid is readable by root only: a non-root agent gets EACCES,
 * and says so. As root, the file system user id is dropped for the
 * collection so that the permission bits apply. */
static void test_collect_identity_uuid_unreadable(void **state)
{
    char path[2 * PATH_MAX];
    struct osi_report *r;
    int as_root = geteuid() == 0;
    char *root;

    (void)state;
    if (as_root) {
        int dropped;

        setfsuid(65534);
        dropped = setfsuid(65534) == 65534;
        setfsuid(0);
        if (!dropped)
            skip();
    }
    root = osi_test_copy_fixture("roots/debian12");
    snprintf(path, sizeof(path), "%s/sys/class/dmi/id/product_uuid", root);
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(chmod(root, 0755), 0);
    if (as_root)
        setfsuid(65534);
    r = osi_test_collect(root);
    if (as_root)
        setfsuid(0);
    assert_identity(r, "8f3c2a9e5b7d41c6a0e2f4b6d8c1e3a5",
                    "2b9d7e3a-4c61-4f0e-9a8b-1d2c3e4f5a6b", NULL,
                    "PowerEdge R640", "Dell Inc.");
    osi_test_assert_section(
        r, "identity", "partial",
        "/sys/class/dmi/id/product_uuid: Permission denied");
    osi_report_free(r);
    osi_test_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_identity_debian),
        cmocka_unit_test(test_collect_identity_placeholder_uuid),
        cmocka_unit_test(test_collect_identity_placeholder_texts),
        cmocka_unit_test(test_collect_identity_container),
        cmocka_unit_test(test_collect_identity_dbus_fallback),
        cmocka_unit_test(test_collect_identity_garbage),
        cmocka_unit_test(test_collect_identity_nothing),
        cmocka_unit_test(test_collect_identity_uuid_unreadable),
    };
    return cmocka_run_group_tests_name("collect_identity", tests, NULL, NULL);
}
