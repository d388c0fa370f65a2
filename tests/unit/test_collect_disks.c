/* SPDX-License-Identifier: MIT */
/* Section "disks" against fixture roots. */
#include <stdio.h>

#include "collect_int.h"
#include "osi_test.h"

static const json_t *disks(const struct osi_report *r)
{
    const json_t *d = json_object_get(r->root, "disks");

    assert_true(json_is_array(d));
    return d;
}

/* Assert every field of disk i; a negative size means null. */
static void assert_disk(const struct osi_report *r, size_t i,
                        const char *point, const char *device,
                        const char *type, long long total, long long free_,
                        long long avail, int ro)
{
    const json_t *d = json_array_get(disks(r), i);
    const long long want[] = { total, free_, avail };
    const char *const keys[] = { "total_bytes", "free_bytes",
                                 "available_bytes" };

    assert_non_null(d);
    assert_int_equal(json_object_size(d), 7);
    if (point == NULL)
        assert_true(json_is_null(json_object_get(d, "mount_point")));
    else
        assert_string_equal(
            json_string_value(json_object_get(d, "mount_point")), point);
    assert_string_equal(json_string_value(json_object_get(d, "device")),
                        device);
    assert_string_equal(json_string_value(json_object_get(d, "fs_type")),
                        type);
    for (size_t k = 0; k < 3; k++) {
        const json_t *v = json_object_get(d, keys[k]);

        if (want[k] < 0) {
            assert_true(json_is_null(v));
        } else {
            assert_true(json_is_integer(v));
            assert_int_equal(json_integer_value(v), want[k]);
        }
    }
    assert_true(json_is_boolean(json_object_get(d, "read_only")));
    assert_int_equal(json_is_true(json_object_get(d, "read_only")), ro);
}

/* Pseudo file systems, the snap, the bind mount of a directory of /home
 * and /run/user's tmpfs are left out; "\040" is a space. */
static void test_collect_disks_debian(void **state)
{
    struct osi_report *r = osi_test_collect("roots/debian12");

    (void)state;
    assert_int_equal(json_array_size(disks(r)), 5);
    assert_disk(r, 0, "/", "/dev/mapper/vg0-root", "ext4", 4096LL * 5046272,
                4096LL * 3145728, 4096LL * 2883584, 0);
    assert_disk(r, 1, "/boot", "/dev/sda2", "ext4", 1024LL * 499712,
                1024LL * 380000, 1024LL * 353000, 0);
    assert_disk(r, 2, "/boot/efi", "/dev/sda1", "vfat", 4096LL * 130812,
                4096LL * 129000, 4096LL * 129000, 0);
    assert_disk(r, 3, "/home", "/dev/mapper/vg0-home", "ext4",
                4096LL * 61022208, 4096LL * 40000000, 4096LL * 36900000, 0);
    assert_disk(r, 4, "/mnt/backup disk", "/dev/sdb1", "ext4",
                4096LL * 244190208, 4096LL * 100000000, 4096LL * 90000000, 0);
    osi_test_assert_section(r, "disks", "full", NULL);
    osi_report_free(r);
}

static void test_collect_disks_rhel(void **state)
{
    struct osi_report *r = osi_test_collect("roots/rhel9");

    (void)state;
    assert_int_equal(json_array_size(disks(r)), 4);
    assert_disk(r, 0, "/", "/dev/mapper/rhel-root", "xfs", 4096LL * 18307072,
                4096LL * 15000000, 4096LL * 15000000, 0);
    assert_disk(r, 1, "/boot", "/dev/sda2", "xfs", 4096LL * 259584,
                4096LL * 200000, 4096LL * 200000, 0);
    assert_disk(r, 2, "/boot/efi", "/dev/sda1", "vfat", 4096LL * 153290,
                4096LL * 150000, 4096LL * 150000, 0);
    assert_disk(r, 3, "/var", "/dev/mapper/rhel-var", "xfs",
                4096LL * 52428800, 4096LL * 30000000, 4096LL * 30000000, 0);
    osi_test_assert_section(r, "disks", "full", NULL);
    osi_report_free(r);
}

/* A container's overlay root is its disk. */
static void test_collect_disks_container_overlay(void **state)
{
    struct osi_report *r = osi_test_collect("roots/container");

    (void)state;
    assert_int_equal(json_array_size(disks(r)), 1);
    assert_disk(r, 0, "/", "overlay", "overlay", 4096LL * 25600000,
                4096LL * 12800000, 4096LL * 11500000, 0);
    osi_test_assert_section(r, "disks", "full", NULL);
    osi_report_free(r);
}

/* Files of the host's disk bound into a container (/etc/hosts) are not
 * disks; a volume (a directory) is. */
static void test_collect_disks_docker_file_binds(void **state)
{
    struct osi_report *r = osi_test_collect("roots/disks-docker");

    (void)state;
    assert_int_equal(json_array_size(disks(r)), 2);
    assert_disk(r, 0, "/", "overlay", "overlay", 4096LL * 25600000,
                4096LL * 12800000, 4096LL * 11500000, 0);
    assert_disk(r, 1, "/data", "/dev/mapper/vg0-root", "ext4",
                4096LL * 25600000, 4096LL * 12800000, 4096LL * 11500000, 0);
    osi_test_assert_section(r, "disks", "full", NULL);
    osi_report_free(r);
}

/* Bind mount listed before the whole file system, statvfs refused, network
 * file systems never asked, FUSE kept only for block devices, overlays
 * away from /, read-only mounts, a mount hidden under another, escapes,
 * and a mount point that is not UTF-8. */
static void test_collect_disks_edge_cases(void **state)
{
    struct osi_report *r = osi_test_collect("roots/disks-edge");

    (void)state;
    assert_int_equal(json_array_size(disks(r)), 10);
    assert_disk(r, 0, "/", "/dev/sda1", "ext4", 4096LL * 2621440,
                4096LL * 1310720, 4096LL * 1179648, 0);
    assert_disk(r, 1, "/data", "/dev/sdb1", "ext4", 4096LL * 262144000,
                4096LL * 131072000, 4096LL * 131072000, 0);
    assert_disk(r, 2, "/scratch", "/dev/sdc1", "xfs", -1, -1, -1, 0);
    assert_disk(r, 3, "/mnt/share", "nas.example.net:/export/share", "nfs4",
                -1, -1, -1, 0);
    assert_disk(r, 4, "/media/win", "/dev/sdd1", "fuseblk",
                4096LL * 122096646, 4096LL * 61048323, 4096LL * 61048323, 0);
    assert_disk(r, 5, "/mnt/cdrom", "/dev/sr0", "iso9660", 2048LL * 2097152,
                0, 0, 1);
    assert_disk(r, 6, "/mnt/usb", "/dev/sdf1", "ext4", 4096LL * 7864320,
                4096LL * 7000000, 4096LL * 6500000, 0);
    assert_disk(r, 7, "/srv/tab\tand\\back", "/dev/sdg1", "ext4",
                4096LL * 3000, 4096LL * 2000, 4096LL * 1000, 0);
    assert_disk(r, 8, "/srv/ro-super", "/dev/sdh1", "ext4", 4096LL * 1000,
                4096LL * 100, 4096LL * 50, 1);
    assert_disk(r, 9, NULL, "legacy.example.net:/srv", "nfs", -1, -1, -1, 0);
    osi_test_assert_section(r, "disks", "partial",
                            "statvfs /scratch: Permission denied");
    osi_report_free(r);
}

static void test_collect_disks_network_partial(void **state)
{
    struct osi_report *r = osi_test_collect("roots/disks-nfs");

    (void)state;
    assert_int_equal(json_array_size(disks(r)), 2);
    assert_disk(r, 1, "/mnt/share", "nas.example.net:/export/share", "nfs4",
                -1, -1, -1, 0);
    osi_test_assert_section(
        r, "disks", "partial",
        "/mnt/share: nfs4 is a network file system, sizes not read");
    osi_report_free(r);
}

/* Every file system type of the two lists, in reverse order: pseudo ones
 * are dropped, network ones listed without sizes, whatever their place
 * in the (binary searched) lists. */
static void test_collect_disks_every_listed_type(void **state)
{
    static const char *const network[] = {
        "smbfs", "smb3", "nfs4", "nfs", "ncpfs", "lustre", "gpfs",
        "glusterfs", "coda", "cifs", "ceph", "afs", "9p",
    };
    struct osi_report *r = osi_test_collect("roots/disks-types");
    char point[64], source[64];

    (void)state;
    assert_int_equal(json_array_size(disks(r)), 14);
    assert_disk(r, 0, "/", "/dev/sda1", "ext4", 4096LL * 1000, 4096LL * 500,
                4096LL * 400, 0);
    for (size_t i = 0; i < sizeof(network) / sizeof(*network); i++) {
        snprintf(point, sizeof(point), "/t/%s", network[i]);
        snprintf(source, sizeof(source), "src-%s", network[i]);
        assert_disk(r, i + 1, point, source, network[i], -1, -1, -1, 0);
    }
    osi_test_assert_section(
        r, "disks", "partial",
        "/t/smbfs: smbfs is a network file system, sizes not read");
    osi_report_free(r);
}

static void test_collect_disks_malformed_line(void **state)
{
    struct osi_report *r = osi_test_collect("roots/disks-malformed");

    (void)state;
    assert_int_equal(json_array_size(disks(r)), 1);
    assert_disk(r, 0, "/boot", "/dev/sda2", "ext4", 1024LL * 1000,
                1024LL * 500, 1024LL * 400, 0);
    osi_test_assert_section(r, "disks", "partial",
                            "/proc/1/mountinfo: line 1: not a mount");
    osi_report_free(r);
}

/* No mountinfo: disks stays null (not read), never [] (no disks). */
static void test_collect_disks_missing(void **state)
{
    struct osi_report *r = osi_test_collect("roots/disks-missing");

    (void)state;
    assert_true(json_is_null(json_object_get(r->root, "disks")));
    osi_test_assert_section(r, "disks", "failed",
                            "/proc/1/mountinfo: No such file or directory");
    osi_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_disks_debian),
        cmocka_unit_test(test_collect_disks_rhel),
        cmocka_unit_test(test_collect_disks_container_overlay),
        cmocka_unit_test(test_collect_disks_docker_file_binds),
        cmocka_unit_test(test_collect_disks_edge_cases),
        cmocka_unit_test(test_collect_disks_network_partial),
        cmocka_unit_test(test_collect_disks_every_listed_type),
        cmocka_unit_test(test_collect_disks_malformed_line),
        cmocka_unit_test(test_collect_disks_missing),
    };
    return cmocka_run_group_tests_name("collect_disks", tests, NULL, NULL);
}
