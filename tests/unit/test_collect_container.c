/* SPDX-License-Identifier: MIT */
/* Section "container" against fixture roots. */
#include "collect_int.h"
#include "osi_test.h"

/* Collect fixture and assert the whole section; kind and source may be
 * NULL for null. */
static void check(const char *fixture, int detected, const char *kind,
                  const char *source, const char *status, const char *reason)
{
    struct osi_report *r = osi_test_collect(fixture);
    const json_t *c = json_object_get(r->root, "container");
    const json_t *k = json_object_get(c, "kind");
    const json_t *s = json_object_get(c, "source");

    assert_true(json_is_object(c));
    assert_int_equal(json_object_size(c), 3);
    assert_true(json_is_boolean(json_object_get(c, "detected")));
    assert_int_equal(json_is_true(json_object_get(c, "detected")), detected);
    if (kind == NULL)
        assert_true(json_is_null(k));
    else
        assert_string_equal(json_string_value(k), kind);
    if (source == NULL)
        assert_true(json_is_null(s));
    else
        assert_string_equal(json_string_value(s), source);
    osi_test_assert_section(r, "container", status, reason);
    osi_report_free(r);
}

static void test_collect_container_host(void **state)
{
    (void)state;
    check("roots/debian12", 0, NULL, NULL, "full", NULL);
}

static void test_collect_container_dockerenv(void **state)
{
    (void)state;
    check("roots/container", 1, "docker", "/.dockerenv", "full", NULL);
}

static void test_collect_container_podman(void **state)
{
    (void)state;
    check("roots/container-podman", 1, "podman", "/run/.containerenv",
          "full", NULL);
}

/* systemd names the kind itself; a name that is not one is not passed
 * on, but the container is still there. */
static void test_collect_container_systemd(void **state)
{
    (void)state;
    check("roots/container-nspawn", 1, "systemd-nspawn",
          "/run/systemd/container", "full", NULL);
    check("roots/container-unknown-kind", 1, NULL, "/run/systemd/container",
          "full", NULL);
}

/* A pod's cgroup names both kubepods and docker: kubernetes wins. */
static void test_collect_container_kubernetes(void **state)
{
    (void)state;
    check("roots/container-k8s", 1, "kubernetes", "/proc/1/cgroup", "full",
          NULL);
}

/* No /proc/1/cgroup (hidepid): this process's own cgroup tells. */
static void test_collect_container_lxc_self_cgroup(void **state)
{
    (void)state;
    check("roots/container-lxc", 1, "lxc", "/proc/self/cgroup", "full",
          NULL);
}

/* An OpenVZ container has /proc/vz without /proc/bc; its host has both. */
static void test_collect_container_openvz(void **state)
{
    (void)state;
    check("roots/container-openvz", 1, "openvz", "/proc/vz", "full", NULL);
    check("roots/container-vzhost", 0, NULL, NULL, "full", NULL);
}

static void test_collect_container_wsl(void **state)
{
    (void)state;
    check("roots/container-wsl", 1, "wsl", "/proc/sys/kernel/osrelease",
          "full", NULL);
}

/* A marker that cannot be read is reported; later checks still run. */
static void test_collect_container_unreadable_marker(void **state)
{
    (void)state;
    check("roots/container-broken", 1, "docker", "/.dockerenv", "partial",
          "/run/systemd/container: Is a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_container_host),
        cmocka_unit_test(test_collect_container_dockerenv),
        cmocka_unit_test(test_collect_container_podman),
        cmocka_unit_test(test_collect_container_systemd),
        cmocka_unit_test(test_collect_container_kubernetes),
        cmocka_unit_test(test_collect_container_lxc_self_cgroup),
        cmocka_unit_test(test_collect_container_openvz),
        cmocka_unit_test(test_collect_container_wsl),
        cmocka_unit_test(test_collect_container_unreadable_marker),
    };
    return cmocka_run_group_tests_name("collect_container", tests, NULL,
                                       NULL);
}
