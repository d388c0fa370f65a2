/* SPDX-License-Identifier: MIT */
/* Section "network": interfaces from getifaddrs and /sys/class/net, default
 * routes from /proc/net/route and /proc/net/ipv6_route, and server_ip. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../collect_int.h"

/* ARPHRD_* values (linux/if_arp.h) of devices that only tunnel packets. */
static const long tunnel_types[] = {
    768,   /* ARPHRD_TUNNEL: ipip */
    769,   /* ARPHRD_TUNNEL6: ip6tnl */
    776,   /* ARPHRD_SIT */
    778,   /* ARPHRD_IPGRE */
    823,   /* ARPHRD_IP6GRE */
    65534, /* ARPHRD_NONE: tun, wireguard */
};
#define ARPHRD_LOOPBACK_TYPE 772

struct iface {
    const char *name; /* borrowed from the getifaddrs list */
    unsigned int flags;
};

struct net {
    struct ifaddrs *ifa;
    struct iface *ifs;
    size_t n_ifs;
    char def4[IFNAMSIZ]; /* interface of the IPv4 default route, or "" */
    struct in_addr gw4;  /* its gateway; 0.0.0.0 when it has none */
    char def6[IFNAMSIZ]; /* interface of the IPv6 default route, or "" */
};

/* Which addresses pick_addr() accepts, beyond "not loopback". */
enum {
    PICK_UP = 1,          /* on an interface that is up */
    PICK_NOT_LO_IF = 2,   /* not on a loopback interface */
    PICK_GLOBAL = 4,      /* not link-local (nor site-local for IPv6) */
};

static struct iface *find_iface(const struct net *n, const char *name)
{
    for (size_t i = 0; i < n->n_ifs; i++)
        if (strcmp(n->ifs[i].name, name) == 0)
            return &n->ifs[i];
    return NULL;
}

/* The interfaces in order of first appearance; getifaddrs lists an
 * AF_PACKET entry for every interface, addresses or not. */
static int list_ifaces(struct net *n)
{
    size_t cap = 0;

    for (const struct ifaddrs *a = n->ifa; a != NULL; a = a->ifa_next) {
        struct iface *ifc;

        if (a->ifa_name == NULL)
            continue;
        ifc = find_iface(n, a->ifa_name);
        if (ifc != NULL) {
            ifc->flags |= a->ifa_flags;
            continue;
        }
        ifc = osip_grow(n->ifs, n->n_ifs, &cap, sizeof(*ifc), 16);
        if (ifc == NULL)
            return -ENOMEM;
        n->ifs = ifc;
        n->ifs[n->n_ifs].name = a->ifa_name;
        n->ifs[n->n_ifs].flags = a->ifa_flags;
        n->n_ifs++;
    }
    return 0;
}

/* A route's interface counts only when it is one of ours and up: routes
 * of a device going down can linger in the table for a moment. */
static int route_iface_ok(const struct net *n, const char *name, int is_v6)
{
    const struct iface *ifc = find_iface(n, name);

    if (ifc == NULL || !(ifc->flags & IFF_UP))
        return 0;
    /* The kernel puts IPv6 reject routes, a ::/0 one included, on lo. */
    return !(is_v6 && (ifc->flags & IFF_LOOPBACK));
}

static int parse_unsigned(const char *s, int base, unsigned long long max,
                          unsigned long long *out)
{
    unsigned long long v;
    char *end;

    if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Split a line into at most max white-space separated fields, in place. */
static size_t split_fields(char *line, char **fields, size_t max)
{
    char *save = NULL, *tok;
    size_t n = 0;

    for (tok = strtok_r(line, " \t", &save); tok != NULL && n < max;
         tok = strtok_r(NULL, " \t", &save))
        fields[n++] = tok;
    return n;
}

/* Call fn on each line, the first (the header of /proc/net/route) skipped
 * when skip_header is set. */
static void for_each_line(char *text, int skip_header,
                          void (*fn)(char *line, void *payload),
                          void *payload)
{
    char *line = text;

    while (line != NULL && *line != '\0') {
        char *nl = strchr(line, '\n');

        if (nl != NULL)
            *nl = '\0';
        if (!skip_header)
            fn(line, payload);
        skip_header = 0;
        line = nl ? nl + 1 : NULL;
    }
}

struct route_pick {
    const struct net *net;
    int found;
    uint32_t metric;
    char ifname[IFNAMSIZ];
    uint32_t gw; /* IPv4 gateway as the kernel printed it (network order) */
};

/* "Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT",
 * addresses in hex of the network-order value, metric in decimal. */
static void route4_line(char *line, void *payload)
{
    struct route_pick *p = payload;
    char *f[8];
    unsigned long long dst, gw, flags, mask;
    long long metric;
    char *end;

    if (split_fields(line, f, 8) < 8 || strlen(f[0]) >= IFNAMSIZ ||
        parse_unsigned(f[1], 16, UINT32_MAX, &dst) != 0 ||
        parse_unsigned(f[2], 16, UINT32_MAX, &gw) != 0 ||
        parse_unsigned(f[3], 16, 0xffff, &flags) != 0 ||
        parse_unsigned(f[7], 16, UINT32_MAX, &mask) != 0)
        return;
    /* The kernel prints the u32 metric with %d: past 2^31 it is negative. */
    errno = 0;
    metric = strtoll(f[6], &end, 10);
    if (errno != 0 || end == f[6] || *end != '\0' || metric < INT32_MIN ||
        metric > (long long)UINT32_MAX)
        return;
    if (dst != 0 || mask != 0 || !(flags & RTF_UP) || (flags & RTF_REJECT) ||
        !route_iface_ok(p->net, f[0], 0))
        return;
    if (p->found && (uint32_t)metric >= p->metric)
        return;
    p->found = 1;
    p->metric = (uint32_t)metric;
    p->gw = (uint32_t)gw;
    memcpy(p->ifname, f[0], strlen(f[0]) + 1);
}

/* "dst dst_len src src_len next_hop metric refcnt use flags iface", all
 * but the name in hex. */
static void route6_line(char *line, void *payload)
{
    static const char zero[] = "00000000000000000000000000000000";
    struct route_pick *p = payload;
    char *f[10];
    unsigned long long plen, metric, flags;

    if (split_fields(line, f, 10) < 10 || strlen(f[9]) >= IFNAMSIZ ||
        strcmp(f[0], zero) != 0 ||
        parse_unsigned(f[1], 16, 128, &plen) != 0 || plen != 0 ||
        parse_unsigned(f[5], 16, UINT32_MAX, &metric) != 0 ||
        parse_unsigned(f[8], 16, UINT32_MAX, &flags) != 0)
        return;
    if ((flags & RTF_REJECT) || !route_iface_ok(p->net, f[9], 1))
        return;
    if (p->found && (uint32_t)metric >= p->metric)
        return;
    p->found = 1;
    p->metric = (uint32_t)metric;
    memcpy(p->ifname, f[9], strlen(f[9]) + 1);
}

/* The default route of one family: the lowest metric among the up
 * interfaces, as the kernel's lookup picks it. */
static void read_default_route(struct osip_ctx *ctx, struct net *n,
                               int is_v6)
{
    const char *path = is_v6 ? "proc/net/ipv6_route" : "proc/net/route";
    struct route_pick p;
    char *text;
    size_t len;
    int r;

    r = osip_read_file(ctx, path, &text, &len);
    if (r < 0) {
        /* A kernel booted with ipv6.disable=1 has no IPv6 routing table:
         * a host state, not a read failure. */
        if (!(is_v6 && r == -ENOENT))
            osip_sec_file_error(ctx, path, r, 0);
        return;
    }
    memset(&p, 0, sizeof(p));
    p.net = n;
    for_each_line(text, !is_v6, is_v6 ? route6_line : route4_line, &p);
    free(text);
    if (!p.found)
        return;
    if (is_v6) {
        memcpy(n->def6, p.ifname, sizeof(n->def6));
    } else {
        memcpy(n->def4, p.ifname, sizeof(n->def4));
        n->gw4.s_addr = p.gw;
    }
}

static int is_v4_loopback_or_any(const struct in_addr *a)
{
    return (ntohl(a->s_addr) >> 24) == 127 || a->s_addr == 0;
}

static int is_v4_link_local(const struct in_addr *a)
{
    return (ntohl(a->s_addr) >> 16) == 0xa9fe; /* 169.254/16 */
}

static const char *v6_scope(const struct in6_addr *a)
{
    if (IN6_IS_ADDR_LOOPBACK(a))
        return "host";
    if (IN6_IS_ADDR_LINKLOCAL(a))
        return "link";
    if (IN6_IS_ADDR_SITELOCAL(a))
        return "site";
    return "global";
}

static const struct in_addr *sa_in(const struct sockaddr *sa)
{
    return &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
}

static const struct in6_addr *sa_in6(const struct sockaddr *sa)
{
    return &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
}

static int addr_family(const struct ifaddrs *a)
{
    if (a->ifa_addr == NULL)
        return AF_UNSPEC;
    return a->ifa_addr->sa_family;
}

static int addr_acceptable(const struct ifaddrs *a, unsigned int how)
{
    if (addr_family(a) == AF_INET) {
        const struct in_addr *in = sa_in(a->ifa_addr);

        return !is_v4_loopback_or_any(in) &&
               !((how & PICK_GLOBAL) && is_v4_link_local(in));
    } else {
        const struct in6_addr *in6 = sa_in6(a->ifa_addr);

        if (IN6_IS_ADDR_LOOPBACK(in6) || IN6_IS_ADDR_UNSPECIFIED(in6))
            return 0;
        return !(how & PICK_GLOBAL) || strcmp(v6_scope(in6), "global") == 0;
    }
}

/* The first address of family on ifname (any interface when NULL) that
 * passes the filters of how, as text into buf. Returns 1 when found. */
static int pick_addr(const struct net *n, int family, const char *ifname,
                     unsigned int how, char *buf, size_t size)
{
    for (const struct ifaddrs *a = n->ifa; a != NULL; a = a->ifa_next) {
        const struct iface *ifc;

        if (addr_family(a) != family || a->ifa_name == NULL ||
            (ifname != NULL && strcmp(a->ifa_name, ifname) != 0))
            continue;
        ifc = find_iface(n, a->ifa_name);
        if (ifc == NULL || ((how & PICK_UP) && !(ifc->flags & IFF_UP)) ||
            ((how & PICK_NOT_LO_IF) && (ifc->flags & IFF_LOOPBACK)) ||
            !addr_acceptable(a, how))
            continue;
        return inet_ntop(family,
                         family == AF_INET ? (const void *)sa_in(a->ifa_addr)
                                           : (const void *)sa_in6(a->ifa_addr),
                         buf, (socklen_t)size) != NULL;
    }
    return 0;
}

/* The address the host is known by, from the most to the least telling
 * source; loopback only when the host has nothing else. */
static void choose_server_ip(const struct net *n, char *buf, size_t size)
{
    const unsigned int any_global = PICK_UP | PICK_NOT_LO_IF | PICK_GLOBAL;

    if (n != NULL) {
        if (n->def4[0] != '\0' &&
            pick_addr(n, AF_INET, n->def4, 0, buf, size))
            return;
        if (pick_addr(n, AF_INET, NULL, any_global, buf, size))
            return;
        if (n->def6[0] != '\0' &&
            pick_addr(n, AF_INET6, n->def6, PICK_GLOBAL, buf, size))
            return;
        if (pick_addr(n, AF_INET6, NULL, any_global, buf, size))
            return;
        /* Global addresses of interfaces that are down or loopback, then
         * link-local ones: still better than 127.0.0.1. */
        if (pick_addr(n, AF_INET, NULL, 0, buf, size) ||
            pick_addr(n, AF_INET6, NULL, PICK_GLOBAL, buf, size) ||
            pick_addr(n, AF_INET6, NULL, 0, buf, size))
            return;
    }
    snprintf(buf, size, "127.0.0.1");
}

/* Interface names are bytes, not necessarily UTF-8, which JSON needs:
 * bytes that are not UTF-8 become '?'. */
static json_t *text_json(const char *s)
{
    char buf[64];

    osip_text_copy(buf, sizeof(buf), s);
    return json_string(buf);
}

/* Names that are safe as one path component under sys/class/net. */
static int sysfs_name_ok(const char *name)
{
    return name[0] != '\0' && strchr(name, '/') == NULL &&
           strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int sysfs_path(char *path, size_t size, const char *ifname,
                      const char *attr)
{
    int r = snprintf(path, size, "sys/class/net/%s%s%s", ifname,
                     attr ? "/" : "", attr ? attr : "");

    return r >= 0 && (size_t)r < size;
}

/* Whether sys/class/net/<if>/<attr> exists; in sysfs `device` is a
 * symlink, in fixtures it may be a directory: either counts. */
static int sysfs_exists(struct osip_ctx *ctx, const char *ifname,
                        const char *attr)
{
    char path[PATH_MAX];

    return sysfs_path(path, sizeof(path), ifname, attr) &&
           osip_path_exists(ctx, path, 0) > 0;
}

static int sysfs_line(struct osip_ctx *ctx, const char *ifname,
                      const char *attr, char *buf, size_t size)
{
    char path[PATH_MAX];

    if (!sysfs_path(path, sizeof(path), ifname, attr))
        return -ENAMETOOLONG;
    return osip_read_line(ctx, path, buf, size);
}

/* A decimal attribute (type, ifindex, iflink, mtu); -1 when unreadable. */
static long sysfs_long(struct osip_ctx *ctx, const char *ifname,
                       const char *attr)
{
    unsigned long long v;
    char buf[32];

    if (sysfs_line(ctx, ifname, attr, buf, sizeof(buf)) != 0 ||
        parse_unsigned(buf, 10, INT32_MAX, &v) != 0)
        return -1;
    return (long)v;
}

/* DEVTYPE= of the interface's uevent into buf ("" when none). */
static void sysfs_devtype(struct osip_ctx *ctx, const char *ifname,
                          char *buf, size_t size)
{
    char path[PATH_MAX];
    char *text, *line;
    size_t len;
    int r;

    buf[0] = '\0';
    if (!sysfs_path(path, sizeof(path), ifname, "uevent"))
        return;
    r = osip_read_file(ctx, path, &text, &len);
    if (r < 0)
        return;
    for (line = text; line != NULL; line = strchr(line, '\n')) {
        line += *line == '\n';
        if (strncmp(line, "DEVTYPE=", 8) == 0) {
            size_t n = strcspn(line + 8, "\n");

            if (n < size) {
                memcpy(buf, line + 8, n);
                buf[n] = '\0';
            }
            break;
        }
    }
    free(text);
}

static int is_tunnel_type(long type)
{
    for (size_t i = 0; i < sizeof(tunnel_types) / sizeof(*tunnel_types); i++)
        if (type == tunnel_types[i])
            return 1;
    return 0;
}

/* What the interface is, from sysfs; NULL when sysfs does not know it. */
static const char *iface_kind(struct osip_ctx *ctx, const struct iface *ifc)
{
    const char *name = ifc->name;
    char devtype[32];
    long type, ifindex, iflink;

    if (ifc->flags & IFF_LOOPBACK)
        return "loopback";
    if (!sysfs_exists(ctx, name, NULL))
        return NULL;
    type = sysfs_long(ctx, name, "type");
    if (type == ARPHRD_LOOPBACK_TYPE)
        return "loopback";
    sysfs_devtype(ctx, name, devtype, sizeof(devtype));
    if (strcmp(devtype, "bridge") == 0 || sysfs_exists(ctx, name, "bridge"))
        return "bridge";
    /* Hardware first: a modem in raw-IP mode has type ARPHRD_NONE too. */
    if (sysfs_exists(ctx, name, "device"))
        return "physical";
    if (is_tunnel_type(type) || strcmp(devtype, "wireguard") == 0 ||
        sysfs_exists(ctx, name, "tun_flags"))
        return "tunnel";
    /* veth has no DEVTYPE and names its peer in iflink; vlan, macvlan and
     * the like name their lower device but have a DEVTYPE. */
    ifindex = sysfs_long(ctx, name, "ifindex");
    iflink = sysfs_long(ctx, name, "iflink");
    if (devtype[0] == '\0' && ifindex > 0 && iflink > 0 && ifindex != iflink)
        return "veth";
    return "virtual";
}

/* The hardware address, lowercase; NULL when absent or all zeros. */
static json_t *iface_mac(struct osip_ctx *ctx, const char *name)
{
    char buf[128];
    int nonzero = 0;

    if (sysfs_line(ctx, name, "address", buf, sizeof(buf)) != 0 ||
        buf[0] == '\0')
        return json_null();
    for (char *p = buf; *p != '\0'; p++) {
        if (!isxdigit((unsigned char)*p) && *p != ':')
            return json_null();
        *p = (char)tolower((unsigned char)*p);
        nonzero |= *p != '0' && *p != ':';
    }
    return nonzero ? json_string(buf) : json_null();
}

static int mask_prefix(const struct sockaddr *mask, int family)
{
    const unsigned char *b;
    size_t n;
    int bits = 0;

    if (mask == NULL || mask->sa_family != family)
        return -1;
    if (family == AF_INET) {
        b = (const unsigned char *)&sa_in(mask)->s_addr;
        n = 4;
    } else {
        b = sa_in6(mask)->s6_addr;
        n = 16;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 7; j >= 0; j--) {
            if (!(b[i] & (1u << j)))
                return bits;
            bits++;
        }
    return bits;
}

static void append_addr(struct osip_ctx *ctx, json_t *arr,
                        const struct ifaddrs *a)
{
    int family = addr_family(a);
    const void *src = family == AF_INET ? (const void *)sa_in(a->ifa_addr)
                                        : (const void *)sa_in6(a->ifa_addr);
    char buf[INET6_ADDRSTRLEN];
    int prefix;
    json_t *o;

    if (inet_ntop(family, src, buf, sizeof(buf)) == NULL)
        return;
    prefix = mask_prefix(a->ifa_netmask, family);
    o = osip_append(ctx, arr, json_object());
    osip_set(ctx, o, "address", json_string(buf));
    osip_set(ctx, o, "prefix",
             prefix < 0 ? json_null() : json_integer(prefix));
    if (family == AF_INET6)
        osip_set(ctx, o, "scope", json_string(v6_scope(src)));
}

static void add_iface(struct osip_ctx *ctx, const struct net *n,
                      const struct iface *ifc, int have_sysfs, json_t *arr)
{
    int sysfs = have_sysfs && sysfs_name_ok(ifc->name);
    const char *kind = NULL;
    json_t *o, *v4, *v6;
    long mtu = -1;

    if (sysfs) {
        kind = iface_kind(ctx, ifc);
        mtu = sysfs_long(ctx, ifc->name, "mtu");
    } else if (ifc->flags & IFF_LOOPBACK) {
        kind = "loopback";
    }
    o = osip_append(ctx, arr, json_object());
    osip_set(ctx, o, "name", text_json(ifc->name));
    osip_set(ctx, o, "kind", kind ? json_string(kind) : json_null());
    osip_set(ctx, o, "mac", sysfs ? iface_mac(ctx, ifc->name) : json_null());
    osip_set(ctx, o, "mtu", mtu > 0 ? json_integer(mtu) : json_null());
    osip_set(ctx, o, "up", json_boolean(ifc->flags & IFF_UP));
    v4 = osip_set(ctx, o, "ipv4", json_array());
    v6 = osip_set(ctx, o, "ipv6", json_array());
    for (const struct ifaddrs *a = n->ifa; a != NULL; a = a->ifa_next) {
        int family = addr_family(a);

        if (a->ifa_name == NULL || strcmp(a->ifa_name, ifc->name) != 0)
            continue;
        if (family == AF_INET)
            append_addr(ctx, v4, a);
        else if (family == AF_INET6)
            append_addr(ctx, v6, a);
    }
    osip_set(ctx, o, "default_route",
             json_boolean(strcmp(ifc->name, n->def4) == 0 ||
                          strcmp(ifc->name, n->def6) == 0));
}

static json_t *name_or_null(const char *name)
{
    return name[0] != '\0' ? text_json(name) : json_null();
}

static void build_network(struct osip_ctx *ctx, const struct net *n,
                          int have_sysfs)
{
    char gw[INET_ADDRSTRLEN];
    json_t *net, *arr;

    net = osip_set(ctx, ctx->report, "network", json_object());
    osip_set(ctx, net, "default_interface", name_or_null(n->def4));
    if (n->def4[0] != '\0' && n->gw4.s_addr != 0 &&
        inet_ntop(AF_INET, &n->gw4, gw, sizeof(gw)) != NULL)
        osip_set(ctx, net, "default_gateway", json_string(gw));
    else
        osip_set(ctx, net, "default_gateway", json_null());
    osip_set(ctx, net, "default_interface6", name_or_null(n->def6));
    arr = osip_set(ctx, net, "interfaces", json_array());
    for (size_t i = 0; i < n->n_ifs; i++)
        add_iface(ctx, n, &n->ifs[i], have_sysfs, arr);
}

/* sys/class/net must be there for kinds and hardware data; missing in a
 * container without /sys, for one. */
static int check_sysfs(struct osip_ctx *ctx)
{
    const char *path = "sys/class/net";
    struct stat st;
    int r = osip_stat(ctx, path, 1, &st);

    if (r < 0) {
        osip_sec_file_error(ctx, path, r, 0);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        osip_sec_file_error(ctx, path, -ENOTDIR, 0);
        return 0;
    }
    return 1;
}

void osip_collect_network(struct osip_ctx *ctx)
{
    char ip[INET6_ADDRSTRLEN];
    struct net n;

    memset(&n, 0, sizeof(n));
    if (ctx->sys->getifaddrs(ctx->sys->data, &n.ifa) != 0) {
        int e = errno;

        if (e == ENOMEM)
            ctx->oom = 1;
        osip_sec_failed(ctx, "getifaddrs: %s", strerror(e));
        choose_server_ip(NULL, ip, sizeof(ip));
        osip_set(ctx, ctx->report, "server_ip", json_string(ip));
        return;
    }
    if (list_ifaces(&n) != 0) {
        ctx->oom = 1;
        choose_server_ip(NULL, ip, sizeof(ip));
    } else {
        read_default_route(ctx, &n, 0);
        read_default_route(ctx, &n, 1);
        build_network(ctx, &n, check_sysfs(ctx));
        choose_server_ip(&n, ip, sizeof(ip));
    }
    osip_set(ctx, ctx->report, "server_ip", json_string(ip));
    free(n.ifs);
    ctx->sys->freeifaddrs(ctx->sys->data, n.ifa);
}
