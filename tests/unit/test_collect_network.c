/* SPDX-License-Identifier: MIT */
/* Section "network" and server_ip against fixture roots. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_int.h"
#include "osi_test.h"

static const char *status(const struct osi_report *r)
{
    return osi_report_get_string(r, "collection.sections.network.status");
}

static const char *reason(const struct osi_report *r)
{
    return osi_report_get_string(r, "collection.sections.network.reason");
}

static const json_t *network(const struct osi_report *r)
{
    return json_object_get(r->root, "network");
}

/* A string member of network, "null" for JSON null ("absent" if missing). */
static const char *net_field(const struct osi_report *r, const char *key)
{
    const json_t *v = json_object_get(network(r), key);

    if (v == NULL)
        return "absent";
    return json_is_null(v) ? "null" : json_string_value(v);
}

/* Append " s" (just s to an empty buf). */
static void cat(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf);

    snprintf(buf + n, size - n, "%s%s", n ? " " : "", s);
}

static void cat_value(char *buf, size_t size, const json_t *v)
{
    char num[32];

    if (json_is_string(v)) {
        cat(buf, size, json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        cat(buf, size, num);
    } else {
        cat(buf, size, json_is_null(v) ? "-" : "?");
    }
}

/* One interface as "name kind mac mtu up|down [v4/prefix ...]
 * [v6/prefix/scope ...] [default]", null as "-", to compare in one go. */
static void summary(const json_t *ifc, char *buf, size_t size)
{
    const json_t *a;
    size_t i;

    buf[0] = '\0';
    cat(buf, size, json_string_value(json_object_get(ifc, "name")));
    cat_value(buf, size, json_object_get(ifc, "kind"));
    cat_value(buf, size, json_object_get(ifc, "mac"));
    cat_value(buf, size, json_object_get(ifc, "mtu"));
    cat(buf, size, json_is_true(json_object_get(ifc, "up")) ? "up" : "down");
    json_array_foreach(json_object_get(ifc, "ipv4"), i, a) {
        cat_value(buf, size, json_object_get(a, "address"));
        cat_value(buf, size, json_object_get(a, "prefix"));
        *strrchr(buf, ' ') = '/';
    }
    json_array_foreach(json_object_get(ifc, "ipv6"), i, a) {
        cat_value(buf, size, json_object_get(a, "address"));
        cat_value(buf, size, json_object_get(a, "prefix"));
        *strrchr(buf, ' ') = '/';
        cat_value(buf, size, json_object_get(a, "scope"));
        *strrchr(buf, ' ') = '/';
    }
    if (json_is_true(json_object_get(ifc, "default_route")))
        cat(buf, size, "default");
}

/* Assert the interfaces, in order, against expected summaries. */
static void assert_interfaces(const struct osi_report *r,
                              const char *const *want, size_t n)
{
    const json_t *arr = json_object_get(network(r), "interfaces");
    char buf[1024];

    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) {
        summary(json_array_get(arr, i), buf, sizeof(buf));
        assert_string_equal(buf, want[i]);
    }
}

#define ASSERT_INTERFACES(r, ...)                                         \
    do {                                                                  \
        static const char *const want_[] = { __VA_ARGS__ };               \
        assert_interfaces((r), want_, sizeof(want_) / sizeof(*want_));    \
    } while (0)

static void test_collect_network_debian12(void **state)
{
    struct osi_report *r = osi_test_collect("roots/debian12");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"),
                        "192.168.1.20");
    assert_string_equal(net_field(r, "default_interface"), "eth0");
    assert_string_equal(net_field(r, "default_gateway"), "192.168.1.1");
    assert_string_equal(net_field(r, "default_interface6"), "eth0");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8 ::1/128/host",
        "eth0 physical 52:54:00:12:34:56 1500 up 192.168.1.20/24 "
        "2001:db8:1::20/64/global fe80::5054:ff:fe12:3456/64/link default",
        "docker0 bridge 02:42:9e:1f:2a:3b 1500 up 172.17.0.1/16 "
        "fe80::42:9eff:fe1f:2a3b/64/link",
        "wg0 tunnel - 1420 up 10.8.0.2/24",
        "veth3f1c2e9 veth 6a:1b:4c:2d:9e:01 1500 up "
        "fe80::681b:4cff:fe2d:9e01/64/link");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* Two IPv4 default routes: the lower metric wins whatever the order, and
 * the first of the interface's two addresses is server_ip. Linux 5.14
 * sends no IFLA_PARENT_DEV_NAME: ens3 and ens4 are hardware by their
 * sysfs device link, the vlan on ens4 is not. */
static void test_collect_network_rhel9_metric(void **state)
{
    struct osi_report *r = osi_test_collect("roots/rhel9");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "10.0.0.5");
    assert_string_equal(net_field(r, "default_interface"), "ens3");
    assert_string_equal(net_field(r, "default_gateway"), "10.0.0.1");
    assert_string_equal(net_field(r, "default_interface6"), "null");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8 ::1/128/host",
        "ens3 physical 52:54:00:aa:bb:01 9000 up 10.0.0.5/24 10.0.0.6/24 "
        "fe80::5054:ff:feaa:bb01/64/link default",
        "ens4 physical 52:54:00:aa:bb:02 1500 up 192.168.100.5/24 "
        "fe80::5054:ff:feaa:bb02/64/link",
        "ens4.100 virtual 52:54:00:aa:bb:02 1500 up 172.16.100.5/24",
        "tap0 tunnel 36:5e:a1:07:c2:44 1500 up",
        "sit0 tunnel - 1480 down",
        "dummy0 virtual 8e:2f:51:90:3a:6d 1500 up 198.18.0.1/32");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* A container's eth0 is a veth; without IPv6 routes (IPv6 disabled) the
 * section is still full. */
static void test_collect_network_container(void **state)
{
    struct osi_report *r = osi_test_collect("roots/container");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "172.17.0.2");
    assert_string_equal(net_field(r, "default_interface"), "eth0");
    assert_string_equal(net_field(r, "default_gateway"), "172.17.0.1");
    assert_string_equal(net_field(r, "default_interface6"), "null");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8",
        "eth0 veth 02:42:ac:11:00:02 1500 up 172.17.0.2/16 default");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* No default route: the first global address of an interface that is up,
 * neither 127.0.0.1 (lo comes first) nor eth0's 169.254 address. */
static void test_collect_network_noroute(void **state)
{
    struct osi_report *r = osi_test_collect("roots/noroute");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"),
                        "10.20.30.40");
    assert_string_equal(net_field(r, "default_interface"), "null");
    assert_string_equal(net_field(r, "default_gateway"), "null");
    assert_string_equal(net_field(r, "default_interface6"), "null");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8 ::1/128/host",
        "eth0 physical 52:54:00:00:10:01 1500 up 169.254.10.20/16 "
        "fe80::5054:ff:fe00:1001/64/link",
        "eth1 physical 52:54:00:00:10:02 1500 up 10.20.30.40/24 "
        "fe80::5054:ff:fe00:1002/64/link");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* IPv6 only: the global address of the IPv6 default route's interface
 * (ens2: metric 1024 between two of ens1's), not ens1's unique local
 * address, which comes first. */
static void test_collect_network_ipv6_only(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-ipv6only");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"),
                        "2001:db8:abcd::10");
    assert_string_equal(net_field(r, "default_interface"), "null");
    assert_string_equal(net_field(r, "default_gateway"), "null");
    assert_string_equal(net_field(r, "default_interface6"), "ens2");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8 ::1/128/host",
        "ens1 physical 52:54:00:00:20:01 1500 up "
        "fd12:3456:789a::5/64/global fe80::1:5/64/link",
        "ens2 physical 52:54:00:00:20:02 1500 up "
        "fe80::2:10/64/link 2001:db8:abcd::10/64/global default");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* Only lo: 127.0.0.1 is right, and lo's ::/0 reject route is no default. */
static void test_collect_network_loopback_only(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-loopback");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "127.0.0.1");
    assert_string_equal(net_field(r, "default_interface"), "null");
    assert_string_equal(net_field(r, "default_interface6"), "null");
    ASSERT_INTERFACES(r, "lo loopback - 65536 up 127.0.0.1/8 ::1/128/host");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* The route dump fails after the interfaces came whole: partial, no
 * default route (not even the IPv6 one read before the failure), and
 * server_ip falls back to the first global address of an interface that
 * is up (eth0 is down). An attribute the kernel did not send is null:
 * eth0's mtu. */
static void test_collect_network_route_dump_fails(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-noroutefile");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"),
                        "203.0.113.9");
    assert_string_equal(net_field(r, "default_interface"), "null");
    assert_string_equal(net_field(r, "default_gateway"), "null");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8 ::1/128/host",
        "eth0 physical 52:54:00:00:30:01 - down 198.51.100.7/24",
        "eth1 physical 52:54:00:ab:cd:ef 1500 up 203.0.113.9/24",
        "wg0 tunnel - 1420 up 10.9.0.3/24");
    assert_string_equal(status(r), "partial");
    assert_string_equal(reason(r),
                        "rtnetlink routes: No buffer space available");
    osi_report_free(r);
}

/* The rtnetlink socket is refused (seccomp, an LSM): the section failed,
 * network is null, and server_ip is the last resort; the report still
 * goes out. */
static void test_collect_network_rtnetlink_fails(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-nonetlink");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "127.0.0.1");
    assert_true(json_is_null(network(r)));
    assert_string_equal(status(r), "failed");
    assert_string_equal(reason(r), "rtnetlink: Permission denied");
    osi_report_free(r);
}

/* A kernel before 5.17 sends no IFLA_PARENT_DEV_NAME, and there is no
 * /sys to ask instead: whether eth0 is hardware is unknown (kind null,
 * partial); what the messages tell is still there. */
static void test_collect_network_no_sysfs(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-nosysfs");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "192.0.2.50");
    assert_string_equal(net_field(r, "default_interface"), "eth0");
    assert_string_equal(net_field(r, "default_gateway"), "192.0.2.1");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8",
        "eth0 - 52:54:00:00:80:02 1500 up 192.0.2.50/24 default");
    assert_string_equal(status(r), "partial");
    assert_string_equal(reason(r),
                        "/sys/class/net: No such file or directory");
    osi_report_free(r);
}

/* A kernel that sends IFLA_PARENT_DEV_NAME needs no /sys: each kind comes
 * from the messages (hardware first, even with a link kind: wwan0), an
 * alias label (eth0:1) is an address of eth0, not an interface, and a
 * point-to-point address is the local one, not the peer's. Default
 * routes: a dead one (bond0, metric 50) and ones of other tables than
 * main (veth0, metric 0 and 256) lose; of a multipath one the first hop
 * counts. */
static void test_collect_network_kinds_from_netlink(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-kinds");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "192.0.2.10");
    assert_string_equal(net_field(r, "default_interface"), "eth0");
    assert_string_equal(net_field(r, "default_gateway"), "192.0.2.1");
    assert_string_equal(net_field(r, "default_interface6"), "eth0");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8 ::1/128/host",
        "eth0 physical 52:54:00:00:90:02 1500 up 192.0.2.10/24 "
        "192.0.2.11/24 2001:db8:9::10/64/global fec0::10/64/site default",
        "wwan0 physical - 1500 up",
        "bond0 virtual 52:54:00:00:90:04 1500 up",
        "br0 bridge 02:00:00:00:90:05 1500 up",
        "vxlan42 tunnel 6e:1d:3a:00:90:06 1450 up",
        "tap1 tunnel 36:5e:a1:00:90:07 1500 up",
        "ipip0 tunnel - 1480 down",
        "veth0 veth 0a:58:0a:00:90:09 1500 up",
        "ppp0 virtual - 1492 up 100.64.0.5/32");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* No message names a parent, but the kernel sends attributes numbered
 * after IFLA_PARENT_DEV_NAME: it would have sent one, so eth0 is not
 * hardware, and /sys, missing here, is not needed. */
static void test_collect_network_no_parent_known(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-veth-only");

    (void)state;
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8",
        "eth0 veth 02:42:ac:11:00:07 1500 up 172.17.0.7/16 default");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* Messages the kernel should not send are skipped, not trusted: links
 * without a usable name, an index seen twice, a cut attribute (what came
 * before it stays), a hardware address too long, an address on no known
 * interface or with an impossible prefix. */
static void test_collect_network_malformed_messages(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-malformed");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "192.0.2.33");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8",
        "eth0 physical 52:54:00:00:a0:03 1500 up 192.0.2.33/24 default",
        "eth1 physical 52:54:00:00:a0:05 1500 up",
        "tun9 tunnel - 1400 up");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* Default routes that must lose: an unreachable route (metric 0), one on
 * a down interface (100), and one with metric 4278198272 (past 2^31: a
 * u32). wlan0 (600) wins, and its address is server_ip though usb0,
 * listed first, has one too. */
static void test_collect_network_default_route_rules(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-downroute");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"),
                        "192.168.60.23");
    assert_string_equal(net_field(r, "default_interface"), "wlan0");
    assert_string_equal(net_field(r, "default_gateway"), "192.168.60.1");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8",
        "eth0 physical 8c:16:45:5a:01:02 1500 down 192.168.50.10/24",
        "usb0 physical 0a:3e:8b:77:01:02 1500 up 192.168.42.129/24",
        "wlan0 physical f8:e4:e3:11:22:33 1500 up 192.168.60.23/24 default");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* The default route's interface (a raw-IP modem: ARPHRD_NONE, but
 * hardware; metric past 2^31) has no IPv4 address yet and no
 * gateway: server_ip is the first global address instead. */
static void test_collect_network_default_without_address(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-noaddr4");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "192.168.7.7");
    assert_string_equal(net_field(r, "default_interface"), "wwan0");
    assert_string_equal(net_field(r, "default_gateway"), "null");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8",
        "eth0 physical 52:54:00:00:40:01 1500 up 192.168.7.7/24",
        "wwan0 physical - 1500 up default");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* Link-local addresses only: still better than 127.0.0.1, IPv4 first. */
static void test_collect_network_link_local_only(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-linklocal");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"),
                        "169.254.3.4");
    osi_report_free(r);
    r = osi_test_collect("roots/net-linklocal6");
    assert_string_equal(osi_report_get_string(r, "server_ip"),
                        "fe80::5054:ff:fe00:6001");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* Names are bytes: what is not UTF-8 becomes '?', UTF-8 stays. */
static void test_collect_network_names(void **state)
{
    struct osi_report *r = osi_test_collect("roots/net-names");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "server_ip"), "192.0.2.77");
    ASSERT_INTERFACES(r,
        "lo loopback - 65536 up 127.0.0.1/8",
        "eth?0 physical 52:54:00:00:70:02 1500 up 192.0.2.77/24",
        "br-caf\xc3\xa9 bridge 02:00:00:00:00:03 1500 up");
    assert_string_equal(status(r), "full");
    osi_report_free(r);
}

/* This machine: whatever it has, server_ip is an address and is not
 * loopback when an interface has another one. */
static void test_collect_network_this_host(void **state)
{
    struct osi_report *r = NULL;
    struct osi_error err;
    const json_t *arr, *ifc = NULL, *a;
    const char *ip;
    int other = 0;
    size_t i, j;

    (void)state;
    assert_osi_ok(osip_collect_with("/", &osip_sys_default, &r, &err), &err);
    ip = osi_report_get_string(r, "server_ip");
    assert_non_null(ip);
    arr = json_object_get(network(r), "interfaces");
    json_array_foreach(arr, i, ifc) {
        json_array_foreach(json_object_get(ifc, "ipv4"), j, a)
            other |= strncmp(json_string_value(json_object_get(a, "address")),
                             "127.", 4) != 0;
        json_array_foreach(json_object_get(ifc, "ipv6"), j, a)
            other |= strcmp(json_string_value(json_object_get(a, "address")),
                            "::1") != 0;
    }
    if (other)
        assert_true(strncmp(ip, "127.", 4) != 0 && strcmp(ip, "::1") != 0);
    assert_string_not_equal(status(r), "failed");
    /* Every network namespace has lo: the real dump was parsed. */
    json_array_foreach(arr, i, ifc)
        if (strcmp(json_string_value(json_object_get(ifc, "name")), "lo") == 0)
            break;
    assert_true(i < json_array_size(arr));
    assert_string_equal(json_string_value(json_object_get(ifc, "kind")),
                        "loopback");
    assert_true(json_integer_value(json_object_get(ifc, "mtu")) > 0);
    osi_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_network_debian12),
        cmocka_unit_test(test_collect_network_rhel9_metric),
        cmocka_unit_test(test_collect_network_container),
        cmocka_unit_test(test_collect_network_noroute),
        cmocka_unit_test(test_collect_network_ipv6_only),
        cmocka_unit_test(test_collect_network_loopback_only),
        cmocka_unit_test(test_collect_network_route_dump_fails),
        cmocka_unit_test(test_collect_network_rtnetlink_fails),
        cmocka_unit_test(test_collect_network_no_sysfs),
        cmocka_unit_test(test_collect_network_kinds_from_netlink),
        cmocka_unit_test(test_collect_network_no_parent_known),
        cmocka_unit_test(test_collect_network_malformed_messages),
        cmocka_unit_test(test_collect_network_default_route_rules),
        cmocka_unit_test(test_collect_network_default_without_address),
        cmocka_unit_test(test_collect_network_link_local_only),
        cmocka_unit_test(test_collect_network_names),
        cmocka_unit_test(test_collect_network_this_host),
    };
    return cmocka_run_group_tests_name("collect_network", tests, NULL, NULL);
}
