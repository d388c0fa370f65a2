/* SPDX-License-Identifier: MIT */
/* Section "network": interfaces, addresses and default routes from
 * rtnetlink dumps (sysfs only on kernels before 5.17, to tell hardware),
 * and server_ip. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../collect_int.h"

/* ARPHRD_* values (linux/if_arp.h) of devices that only tunnel packets. */
static const unsigned int tunnel_types[] = {
    768,   /* ARPHRD_TUNNEL: ipip, vti */
    769,   /* ARPHRD_TUNNEL6: ip6tnl, vti6 */
    776,   /* ARPHRD_SIT */
    778,   /* ARPHRD_IPGRE */
    823,   /* ARPHRD_IP6GRE */
    65534, /* ARPHRD_NONE: tun, wireguard, xfrm */
};
/* Link kinds (IFLA_INFO_KIND) of tunnels whose type is ARPHRD_ETHER or
 * that the types above may miss: tun covers tap devices too. */
static const char *const tunnel_kinds[] = {
    "wireguard", "tun", "gretap", "ip6gretap", "erspan", "ip6erspan",
    "vxlan", "geneve",
};
#define ARPHRD_LOOPBACK_TYPE 772
/* linux/if_link.h numbers, fixed by the ABI; older headers lack them. */
#define OSIP_IFLA_PARENT_DEV_NAME 56
#define OSIP_IFLA_PARENT_DEV_BUS_NAME 57

struct link {
    int index;
    char name[IFNAMSIZ];
    unsigned int flags;          /* IFF_* */
    unsigned int type;           /* ARPHRD_* */
    uint32_t mtu;                /* 0 when not sent */
    unsigned char mac[32];       /* MAX_ADDR_LEN */
    size_t mac_len;
    char kind[32];               /* IFLA_INFO_KIND, "" when none */
    int parent;                  /* IFLA_PARENT_DEV_NAME was sent */
};

struct addr {
    int index;
    int family;
    unsigned int prefix;
    unsigned char bytes[16];
};

struct net {
    struct link *links;
    size_t n_links, cap_links;
    struct addr *addrs;
    size_t n_addrs, cap_addrs;
    /* The kernel sends IFLA_PARENT_DEV_NAME (Linux 5.17) for devices that
     * sit on hardware: its absence then means "virtual". */
    int parents_known;
    int sysfs;           /* sys/class/net: 1 there, 0 missing, -1 not seen */
    int dumps_done;      /* dumps answered to the end */
    char def4[IFNAMSIZ]; /* interface of the IPv4 default route, or "" */
    struct in_addr gw4;  /* its gateway; 0.0.0.0 when it has none */
    uint32_t metric4;
    char def6[IFNAMSIZ]; /* interface of the IPv6 default route, or "" */
    uint32_t metric6;
};

/* Which addresses pick_addr() accepts, beyond "not loopback". */
enum {
    PICK_UP = 1,          /* on an interface that is up */
    PICK_NOT_LO_IF = 2,   /* not on a loopback interface */
    PICK_GLOBAL = 4,      /* not link-local (nor site-local for IPv6) */
};

static const struct link *link_by_index(const struct net *n, int index)
{
    for (size_t i = 0; i < n->n_links; i++)
        if (n->links[i].index == index)
            return &n->links[i];
    return NULL;
}

/* Attributes of a message: the first at off bytes into msg, aligned. */
struct attrs {
    const unsigned char *p;
    size_t left;
};

static void attrs_init(struct attrs *it, const struct nlmsghdr *msg,
                       size_t hdr)
{
    size_t off = NLMSG_LENGTH(NLMSG_ALIGN(hdr));

    it->p = (const unsigned char *)msg + off;
    it->left = msg->nlmsg_len > off ? msg->nlmsg_len - off : 0;
}

/* The next well-formed attribute: its type (nesting flags off), payload
 * and length. 0 at the end or at a malformed attribute. */
static int attrs_next(struct attrs *it, unsigned int *type,
                      const unsigned char **data, size_t *len)
{
    struct rtattr a;
    size_t step;

    if (it->left < sizeof(a))
        return 0;
    memcpy(&a, it->p, sizeof(a));
    if (a.rta_len < sizeof(a) || a.rta_len > it->left)
        return 0;
    *type = a.rta_type & NLA_TYPE_MASK;
    *data = it->p + RTA_LENGTH(0);
    *len = a.rta_len - RTA_LENGTH(0);
    step = RTA_ALIGN(a.rta_len);
    it->p += step < it->left ? step : it->left;
    it->left -= step < it->left ? step : it->left;
    return 1;
}

/* A NUL-terminated string attribute into buf; 0 when it is not one or does
 * not fit. */
static int attr_string(const unsigned char *data, size_t len, char *buf,
                       size_t size)
{
    size_t n = strnlen((const char *)data, len);

    if (n == len || n == 0 || n >= size)
        return 0;
    memcpy(buf, data, n + 1);
    return 1;
}

static uint32_t attr_u32(const unsigned char *data, size_t len)
{
    uint32_t v = 0;

    if (len >= sizeof(v))
        memcpy(&v, data, sizeof(v));
    return v;
}

/* IFLA_INFO_KIND inside IFLA_LINKINFO. */
static void parse_linkinfo(struct link *l, const unsigned char *data,
                           size_t len)
{
    struct attrs it = { data, len };
    const unsigned char *d;
    unsigned int type;
    size_t dlen;

    while (attrs_next(&it, &type, &d, &dlen))
        if (type == IFLA_INFO_KIND &&
            !attr_string(d, dlen, l->kind, sizeof(l->kind)))
            l->kind[0] = '\0';
}

static int parse_link(struct net *n, const struct nlmsghdr *msg)
{
    struct ifinfomsg ifi;
    struct attrs it;
    struct link l, *slot;
    const unsigned char *d;
    unsigned int type;
    size_t len;

    if (msg->nlmsg_len < NLMSG_LENGTH(sizeof(ifi)))
        return 0;
    memcpy(&ifi, NLMSG_DATA(msg), sizeof(ifi));
    memset(&l, 0, sizeof(l));
    l.index = ifi.ifi_index;
    l.flags = ifi.ifi_flags;
    l.type = ifi.ifi_type;
    attrs_init(&it, msg, sizeof(ifi));
    while (attrs_next(&it, &type, &d, &len)) {
        if (type > OSIP_IFLA_PARENT_DEV_BUS_NAME)
            n->parents_known = 1;
        switch (type) {
        case IFLA_IFNAME:
            if (!attr_string(d, len, l.name, sizeof(l.name)))
                l.name[0] = '\0';
            break;
        case IFLA_MTU:
            l.mtu = attr_u32(d, len);
            break;
        case IFLA_ADDRESS:
            if (len <= sizeof(l.mac)) {
                memcpy(l.mac, d, len);
                l.mac_len = len;
            }
            break;
        case IFLA_LINKINFO:
            parse_linkinfo(&l, d, len);
            break;
        case OSIP_IFLA_PARENT_DEV_NAME:
            l.parent = 1;
            n->parents_known = 1;
            break;
        default:
            break;
        }
    }
    /* A link without a name has nothing to report by; one listed twice
     * (renamed while the dump ran) counts once. */
    if (l.name[0] == '\0' || link_by_index(n, l.index) != NULL)
        return 0;
    slot = osip_grow(n->links, n->n_links, &n->cap_links, sizeof(*slot), 8);
    if (slot == NULL)
        return -ENOMEM;
    n->links = slot;
    n->links[n->n_links++] = l;
    return 0;
}

/* The address of an interface is IFA_LOCAL where there is one (on a
 * point-to-point link IFA_ADDRESS is the peer), else IFA_ADDRESS, as
 * getifaddrs takes it. */
static int parse_addr(struct net *n, const struct nlmsghdr *msg)
{
    struct ifaddrmsg ifa;
    struct attrs it;
    struct addr a, *slot;
    const unsigned char *d, *local = NULL, *address = NULL;
    unsigned int type;
    size_t len, want;

    if (msg->nlmsg_len < NLMSG_LENGTH(sizeof(ifa)))
        return 0;
    memcpy(&ifa, NLMSG_DATA(msg), sizeof(ifa));
    if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
        return 0;
    want = ifa.ifa_family == AF_INET ? 4 : 16;
    attrs_init(&it, msg, sizeof(ifa));
    while (attrs_next(&it, &type, &d, &len)) {
        if (type == IFA_LOCAL && len == want)
            local = d;
        else if (type == IFA_ADDRESS && len == want)
            address = d;
    }
    if (local == NULL)
        local = address;
    if (local == NULL || ifa.ifa_prefixlen > want * 8)
        return 0;
    memset(&a, 0, sizeof(a));
    a.index = (int)ifa.ifa_index;
    a.family = ifa.ifa_family;
    a.prefix = ifa.ifa_prefixlen;
    memcpy(a.bytes, local, want);
    slot = osip_grow(n->addrs, n->n_addrs, &n->cap_addrs, sizeof(*slot), 16);
    if (slot == NULL)
        return -ENOMEM;
    n->addrs = slot;
    n->addrs[n->n_addrs++] = a;
    return 0;
}


/* A route's interface counts only when it is one of ours and up: routes
 * of a device going down can linger in the table for a moment. */
static int route_iface_ok(const struct link *l, int is_v6)
{
    if (l == NULL || !(l->flags & IFF_UP))
        return 0;
    /* The kernel puts IPv6 reject routes, a ::/0 one included, on lo. */
    return !(is_v6 && (l->flags & IFF_LOOPBACK));
}

/* The first next hop of RTA_MULTIPATH: its interface and gateway. */
static void first_nexthop(const unsigned char *data, size_t len,
                          uint32_t *oif, const unsigned char **gw,
                          size_t *gw_len)
{
    struct rtnexthop nh;
    struct attrs it;
    const unsigned char *d;
    unsigned int type;
    size_t dlen;

    if (len < sizeof(nh))
        return;
    memcpy(&nh, data, sizeof(nh));
    if (nh.rtnh_len < sizeof(nh) || nh.rtnh_len > len)
        return;
    *oif = (uint32_t)nh.rtnh_ifindex;
    it.p = data + RTNH_LENGTH(0);
    it.left = nh.rtnh_len - RTNH_LENGTH(0);
    while (attrs_next(&it, &type, &d, &dlen))
        if (type == RTA_GATEWAY) {
            *gw = d;
            *gw_len = dlen;
        }
}

/* A default route of the main table (the one /proc/net/route shows, and
 * the one a lookup ends in): the lowest metric among the up interfaces
 * wins, as the kernel's lookup picks it; the first on ties. */
static void parse_route(struct net *n, const struct nlmsghdr *msg)
{
    struct rtmsg rtm;
    struct attrs it;
    const unsigned char *d, *gw = NULL;
    const struct link *l;
    unsigned int type;
    uint32_t table, oif = 0, metric = 0;
    size_t len, gw_len = 0;
    int is_v6;

    if (msg->nlmsg_len < NLMSG_LENGTH(sizeof(rtm)))
        return;
    memcpy(&rtm, NLMSG_DATA(msg), sizeof(rtm));
    /* Reject routes (unreachable, prohibit, blackhole) carry no traffic;
     * a dead next hop neither. */
    if ((rtm.rtm_family != AF_INET && rtm.rtm_family != AF_INET6) ||
        rtm.rtm_dst_len != 0 || rtm.rtm_type != RTN_UNICAST ||
        (rtm.rtm_flags & RTNH_F_DEAD))
        return;
    is_v6 = rtm.rtm_family == AF_INET6;
    table = rtm.rtm_table;
    attrs_init(&it, msg, sizeof(rtm));
    while (attrs_next(&it, &type, &d, &len)) {
        if (type == RTA_TABLE) {
            table = attr_u32(d, len);
        } else if (type == RTA_OIF) {
            oif = attr_u32(d, len);
        } else if (type == RTA_PRIORITY) {
            metric = attr_u32(d, len);
        } else if (type == RTA_GATEWAY) {
            gw = d;
            gw_len = len;
        } else if (type == RTA_MULTIPATH) {
            first_nexthop(d, len, &oif, &gw, &gw_len);
        }
    }
    l = link_by_index(n, (int)oif);
    if (table != RT_TABLE_MAIN || !route_iface_ok(l, is_v6))
        return;
    if (is_v6) {
        if (n->def6[0] != '\0' && metric >= n->metric6)
            return;
        memcpy(n->def6, l->name, sizeof(n->def6));
        n->metric6 = metric;
    } else {
        if (n->def4[0] != '\0' && metric >= n->metric4)
            return;
        memcpy(n->def4, l->name, sizeof(n->def4));
        n->metric4 = metric;
        n->gw4.s_addr = 0;
        if (gw != NULL && gw_len == sizeof(n->gw4))
            memcpy(&n->gw4, gw, sizeof(n->gw4));
    }
}

static int on_rtnl_message(const struct nlmsghdr *msg, void *arg)
{
    struct net *n = arg;

    if (msg->nlmsg_type == NLMSG_DONE)
        n->dumps_done++;
    else if (msg->nlmsg_type == RTM_NEWLINK)
        return parse_link(n, msg);
    else if (msg->nlmsg_type == RTM_NEWADDR)
        return parse_addr(n, msg);
    else if (msg->nlmsg_type == RTM_NEWROUTE)
        parse_route(n, msg);
    return 0;
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

static int addr_acceptable(const struct addr *a, unsigned int how)
{
    if (a->family == AF_INET) {
        struct in_addr in;

        memcpy(&in, a->bytes, sizeof(in));
        return !is_v4_loopback_or_any(&in) &&
               !((how & PICK_GLOBAL) && is_v4_link_local(&in));
    } else {
        struct in6_addr in6;

        memcpy(&in6, a->bytes, sizeof(in6));
        if (IN6_IS_ADDR_LOOPBACK(&in6) || IN6_IS_ADDR_UNSPECIFIED(&in6))
            return 0;
        return !(how & PICK_GLOBAL) || strcmp(v6_scope(&in6), "global") == 0;
    }
}

/* The first address of family on ifname (any interface when NULL) that
 * passes the filters of how, as text into buf. Returns 1 when found. */
static int pick_addr(const struct net *n, int family, const char *ifname,
                     unsigned int how, char *buf, size_t size)
{
    for (size_t i = 0; i < n->n_addrs; i++) {
        const struct addr *a = &n->addrs[i];
        const struct link *l = link_by_index(n, a->index);

        if (a->family != family || l == NULL ||
            (ifname != NULL && strcmp(l->name, ifname) != 0) ||
            ((how & PICK_UP) && !(l->flags & IFF_UP)) ||
            ((how & PICK_NOT_LO_IF) && (l->flags & IFF_LOOPBACK)) ||
            !addr_acceptable(a, how))
            continue;
        return inet_ntop(family, a->bytes, buf, (socklen_t)size) != NULL;
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

/* Whether the interface sits on hardware, from sysfs, for kernels that do
 * not send IFLA_PARENT_DEV_NAME: sys/class/net/<if>/device is the same
 * parent device (a symlink in sysfs; a directory in fixtures counts).
 * 1 yes, 0 no, -1 unknown (no sysfs, reported once as partial). */
static int sysfs_has_device(struct osip_ctx *ctx, struct net *n,
                            const char *ifname)
{
    char path[PATH_MAX];
    int r;

    if (n->sysfs < 0) {
        struct stat st;

        r = osip_stat(ctx, "sys/class/net", 1, &st);
        if (r == 0 && !S_ISDIR(st.st_mode))
            r = -ENOTDIR;
        if (r < 0)
            osip_sec_file_error(ctx, "sys/class/net", r, 0);
        n->sysfs = r == 0;
    }
    if (!n->sysfs || !sysfs_name_ok(ifname))
        return -1;
    r = snprintf(path, sizeof(path), "sys/class/net/%s", ifname);
    if (r < 0 || (size_t)r >= sizeof(path) - sizeof("/device") ||
        osip_path_exists(ctx, path, 0) <= 0)
        return -1;
    memcpy(path + r, "/device", sizeof("/device"));
    r = osip_path_exists(ctx, path, 0);
    return r < 0 ? -1 : r;
}

static int is_tunnel(const struct link *l)
{
    for (size_t i = 0; i < sizeof(tunnel_types) / sizeof(*tunnel_types); i++)
        if (l->type == tunnel_types[i])
            return 1;
    for (size_t i = 0; i < sizeof(tunnel_kinds) / sizeof(*tunnel_kinds); i++)
        if (strcmp(l->kind, tunnel_kinds[i]) == 0)
            return 1;
    return 0;
}

/* What the interface is; NULL when that cannot be told. */
static const char *link_kind(struct osip_ctx *ctx, struct net *n,
                             const struct link *l)
{
    int hardware = l->parent;

    if ((l->flags & IFF_LOOPBACK) || l->type == ARPHRD_LOOPBACK_TYPE)
        return "loopback";
    if (strcmp(l->kind, "bridge") == 0)
        return "bridge";
    if (!n->parents_known && (hardware = sysfs_has_device(ctx, n, l->name)) < 0)
        return NULL;
    /* Hardware first: a modem in raw-IP mode has type ARPHRD_NONE too. */
    if (hardware)
        return "physical";
    if (is_tunnel(l))
        return "tunnel";
    if (strcmp(l->kind, "veth") == 0)
        return "veth";
    return "virtual";
}

/* The hardware address, lowercase; NULL when absent or all zeros. */
static json_t *link_mac(const struct link *l)
{
    static const char hex[] = "0123456789abcdef";
    char buf[sizeof(l->mac) * 3];
    size_t pos = 0;
    int nonzero = 0;

    for (size_t i = 0; i < l->mac_len; i++) {
        if (i > 0)
            buf[pos++] = ':';
        buf[pos++] = hex[l->mac[i] >> 4];
        buf[pos++] = hex[l->mac[i] & 15];
        nonzero |= l->mac[i] != 0;
    }
    buf[pos] = '\0';
    return nonzero ? json_string(buf) : json_null();
}

static void append_addr(struct osip_ctx *ctx, json_t *arr,
                        const struct addr *a)
{
    char buf[INET6_ADDRSTRLEN];
    json_t *o;

    if (inet_ntop(a->family, a->bytes, buf, sizeof(buf)) == NULL)
        return;
    o = osip_append(ctx, arr, json_object());
    osip_set(ctx, o, "address", json_string(buf));
    osip_set(ctx, o, "prefix", json_integer(a->prefix));
    if (a->family == AF_INET6) {
        struct in6_addr in6;

        memcpy(&in6, a->bytes, sizeof(in6));
        osip_set(ctx, o, "scope", json_string(v6_scope(&in6)));
    }
}

static void add_link(struct osip_ctx *ctx, struct net *n,
                     const struct link *l, json_t *arr)
{
    const char *kind = link_kind(ctx, n, l);
    json_t *o, *v4, *v6;

    o = osip_append(ctx, arr, json_object());
    osip_set(ctx, o, "name", text_json(l->name));
    osip_set(ctx, o, "kind", kind ? json_string(kind) : json_null());
    osip_set(ctx, o, "mac", link_mac(l));
    osip_set(ctx, o, "mtu", l->mtu > 0 ? json_integer(l->mtu) : json_null());
    osip_set(ctx, o, "up", json_boolean(l->flags & IFF_UP));
    v4 = osip_set(ctx, o, "ipv4", json_array());
    v6 = osip_set(ctx, o, "ipv6", json_array());
    for (size_t i = 0; i < n->n_addrs; i++) {
        const struct addr *a = &n->addrs[i];

        if (a->index == l->index)
            append_addr(ctx, a->family == AF_INET ? v4 : v6, a);
    }
    osip_set(ctx, o, "default_route",
             json_boolean(strcmp(l->name, n->def4) == 0 ||
                          strcmp(l->name, n->def6) == 0));
}

static json_t *name_or_null(const char *name)
{
    return name[0] != '\0' ? text_json(name) : json_null();
}

static void build_network(struct osip_ctx *ctx, struct net *n)
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
    for (size_t i = 0; i < n->n_links; i++)
        add_link(ctx, n, &n->links[i], arr);
}

void osip_collect_network(struct osip_ctx *ctx)
{
    /* Routes last: parse_route looks their interfaces up. */
    static const int dumps[] = { RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE };
    char ip[INET6_ADDRSTRLEN];
    struct net n;
    int r;

    memset(&n, 0, sizeof(n));
    n.sysfs = -1;
    r = ctx->sys->rtnl_dump(ctx->sys->data, dumps,
                            sizeof(dumps) / sizeof(*dumps), on_rtnl_message,
                            &n);
    if (r == -ENOMEM)
        ctx->oom = 1;
    if (r < 0 && n.dumps_done < 2) {
        /* getifaddrs reads the same dumps (glibc, musl): nothing to fall
         * back to. */
        osip_sec_failed(ctx, "rtnetlink: %s", strerror(-r));
        choose_server_ip(NULL, ip, sizeof(ip));
    } else {
        /* Interfaces and addresses are whole; default routes unknown. */
        if (r < 0) {
            osip_sec_partial(ctx, "rtnetlink routes: %s", strerror(-r));
            n.def4[0] = n.def6[0] = '\0';
        }
        build_network(ctx, &n);
        choose_server_ip(&n, ip, sizeof(ip));
    }
    osip_set(ctx, ctx->report, "server_ip", json_string(ip));
    free(n.links);
    free(n.addrs);
}
