/* SPDX-License-Identifier: MIT */
/* Fake system calls answering from a fixture root (fake_sys.h). */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_sys.h"

static FILE *open_fixture(const struct fake_sys *f, const char *rel)
{
    char path[PATH_MAX + 64];

    snprintf(path, sizeof(path), "%s/%s", f->root, rel);
    return fopen(path, "r");
}

/* Value of "key=value" in a fixture file into buf; 0 or -1. */
static int fixture_value(const struct fake_sys *f, const char *rel,
                         const char *key, char *buf, size_t size)
{
    FILE *fp = open_fixture(f, rel);
    char line[512];
    size_t klen = strlen(key);
    int found = -1;

    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(buf, size, "%s", line + klen + 1);
            found = 0;
            break;
        }
    }
    fclose(fp);
    return found;
}

static int fake_uname(void *data, struct utsname *out)
{
    struct fake_sys *f = data;
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        { "sysname", offsetof(struct utsname, sysname) },
        { "nodename", offsetof(struct utsname, nodename) },
        { "release", offsetof(struct utsname, release) },
        { "version", offsetof(struct utsname, version) },
        { "machine", offsetof(struct utsname, machine) },
    };

    if (f->fail_errno) {
        errno = f->fail_errno;
        return -1;
    }
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        if (fixture_value(f, "fake/uname", keys[i].key,
                          (char *)out + keys[i].off,
                          sizeof(out->sysname)) != 0) {
            errno = ENOENT;
            return -1;
        }
    }
    return 0;
}

static unsigned int parse_flags(const char *s)
{
    static const struct {
        const char *name;
        unsigned int flag;
    } names[] = {
        { "up", IFF_UP },           { "running", IFF_RUNNING },
        { "loopback", IFF_LOOPBACK }, { "broadcast", IFF_BROADCAST },
        { "pointopoint", IFF_POINTOPOINT }, { "multicast", IFF_MULTICAST },
        { "noarp", IFF_NOARP },
    };
    unsigned int flags = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        const char *p = strstr(s, names[i].name);
        size_t n = strlen(names[i].name);

        if (p != NULL && (p == s || p[-1] == ',') &&
            (p[n] == '\0' || p[n] == ','))
            flags |= names[i].flag;
    }
    return flags;
}

/* A netlink message being built, as the kernel lays it out. */
struct nl_msg {
    union {
        struct nlmsghdr h;
        unsigned char bytes[4096];
    } u;
};

static void *msg_tail(struct nl_msg *m)
{
    return m->u.bytes + NLMSG_ALIGN(m->u.h.nlmsg_len);
}

static void msg_start(struct nl_msg *m, int type, const void *hdr,
                      size_t len)
{
    memset(m, 0, sizeof(*m));
    m->u.h.nlmsg_type = (unsigned short)type;
    m->u.h.nlmsg_flags = NLM_F_MULTI;
    m->u.h.nlmsg_len = NLMSG_LENGTH(len);
    memcpy(NLMSG_DATA(&m->u.h), hdr, len);
}

static struct rtattr *msg_attr(struct nl_msg *m, int type, const void *data,
                               size_t len)
{
    struct rtattr *a = msg_tail(m);

    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len > 0)
        memcpy(RTA_DATA(a), data, len);
    m->u.h.nlmsg_len = NLMSG_ALIGN(m->u.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
    return a;
}

static void msg_u32(struct nl_msg *m, int type, unsigned long v)
{
    uint32_t u = (uint32_t)v;

    msg_attr(m, type, &u, sizeof(u));
}

/* "aa:bb:..." into bytes; the count, or 0 when it is not hex pairs. */
static size_t parse_hex(const char *s, unsigned char *out, size_t max)
{
    size_t n = 0;

    while (*s != '\0' && n < max) {
        char pair[3] = { s[0], s[0] ? s[1] : '\0', '\0' };
        char *end;

        out[n++] = (unsigned char)strtoul(pair, &end, 16);
        if (*end != '\0')
            return 0;
        s += 2;
        if (*s == ':')
            s++;
    }
    return n;
}

/* "link <index> <name> <type> <flags> [key=value ...]": an RTM_NEWLINK as
 * Linux 6.1 sends it, with the attributes the keys ask for. */
static void build_link(struct nl_msg *m, char *rest)
{
    struct ifinfomsg ifi;
    char *save = NULL, *tok;
    char *index = strtok_r(rest, " \t\n", &save);
    char *name = strtok_r(NULL, " \t\n", &save);
    char *type = strtok_r(NULL, " \t\n", &save);
    char *flags = strtok_r(NULL, " \t\n", &save);

    memset(&ifi, 0, sizeof(ifi));
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = (int)strtol(index ? index : "0", NULL, 10);
    ifi.ifi_type = (unsigned short)strtoul(type ? type : "1", NULL, 10);
    ifi.ifi_flags = parse_flags(flags ? flags : "-");
    msg_start(m, RTM_NEWLINK, &ifi, sizeof(ifi));
    if (name != NULL && strcmp(name, "-") != 0)
        msg_attr(m, IFLA_IFNAME, name, strlen(name) + 1);
    while ((tok = strtok_r(NULL, " \t\n", &save)) != NULL) {
        char *v = strchr(tok, '=');
        unsigned char bytes[64];

        if (v == NULL)
            continue;
        *v++ = '\0';
        if (strcmp(tok, "mtu") == 0) {
            msg_u32(m, IFLA_MTU, strtoul(v, NULL, 10));
        } else if (strcmp(tok, "mac") == 0) {
            msg_attr(m, IFLA_ADDRESS, bytes, parse_hex(v, bytes, 32));
        } else if (strcmp(tok, "kind") == 0) {
            struct rtattr *info = msg_attr(m, IFLA_LINKINFO | NLA_F_NESTED,
                                           NULL, 0);
            size_t start = (size_t)((unsigned char *)info - m->u.bytes);

            msg_attr(m, IFLA_INFO_KIND, v, strlen(v) + 1);
            info->rta_len = (unsigned short)(m->u.h.nlmsg_len - start);
        } else if (strcmp(tok, "parent") == 0) {
            msg_attr(m, IFLA_PARENT_DEV_NAME, v, strlen(v) + 1);
        } else if (strcmp(tok, "gro_max_size") == 0) {
            msg_u32(m, IFLA_GRO_MAX_SIZE, strtoul(v, NULL, 10));
        } else if (strcmp(tok, "raw") == 0) {
            /* "raw=<type>:<hex>": any attribute, malformed ones too */
            char *colon = strchr(v, ':');
            size_t len = colon ? parse_hex(colon + 1, bytes, sizeof(bytes))
                               : 0;

            msg_attr(m, (int)strtol(v, NULL, 10), bytes, len);
        } else if (strcmp(tok, "trunc") == 0) {
            /* cut the message short by this many bytes */
            m->u.h.nlmsg_len -= (uint32_t)strtoul(v, NULL, 10);
        }
    }
}

/* "addr <index> inet|inet6 <address>/<prefix> [peer=<address>]
 * [label=<name>]": an RTM_NEWADDR as the kernel sends it, IPv4 with both
 * IFA_ADDRESS and IFA_LOCAL (the peer, if any, in IFA_ADDRESS). */
static void build_addr(struct nl_msg *m, char *rest)
{
    struct ifaddrmsg ifa;
    char *save = NULL, *tok, *slash;
    char *index = strtok_r(rest, " \t\n", &save);
    char *family = strtok_r(NULL, " \t\n", &save);
    char *addr = strtok_r(NULL, " \t\n", &save);
    unsigned char local[16], peer[16];
    int af, have_peer = 0;
    size_t len;

    if (index == NULL || family == NULL || addr == NULL)
        return;
    af = strcmp(family, "inet6") == 0 ? AF_INET6 : AF_INET;
    len = af == AF_INET ? 4 : 16;
    memset(&ifa, 0, sizeof(ifa));
    ifa.ifa_family = (unsigned char)af;
    ifa.ifa_index = (unsigned int)strtoul(index, NULL, 10);
    slash = strchr(addr, '/');
    if (slash != NULL) {
        *slash = '\0';
        ifa.ifa_prefixlen = (unsigned char)strtoul(slash + 1, NULL, 10);
    }
    inet_pton(af, addr, local);
    msg_start(m, RTM_NEWADDR, &ifa, sizeof(ifa));
    while ((tok = strtok_r(NULL, " \t\n", &save)) != NULL) {
        if (strncmp(tok, "peer=", 5) == 0)
            have_peer = inet_pton(af, tok + 5, peer) == 1;
        else if (strncmp(tok, "label=", 6) == 0)
            msg_attr(m, IFA_LABEL, tok + 6, strlen(tok + 6) + 1);
    }
    msg_attr(m, IFA_ADDRESS, have_peer ? peer : local, len);
    if (af == AF_INET || have_peer)
        msg_attr(m, IFA_LOCAL, local, len);
}

/* "route inet|inet6 <dst>/<len> [oif=<index>] [gw=<addr>] [metric=<n>]
 * [table=<n>] [type=unicast|unreachable|prohibit|blackhole] [dead]
 * [mp=<index>@<gw>,...]": an RTM_NEWROUTE as the kernel sends it. */
static void build_route(struct nl_msg *m, char *rest)
{
    static const struct {
        const char *name;
        unsigned char type;
    } types[] = {
        { "unicast", RTN_UNICAST },         { "unreachable", RTN_UNREACHABLE },
        { "prohibit", RTN_PROHIBIT },       { "blackhole", RTN_BLACKHOLE },
    };
    struct rtmsg rtm;
    char *save = NULL, *tok, *slash;
    char *family = strtok_r(rest, " \t\n", &save);
    char *dst = strtok_r(NULL, " \t\n", &save);
    unsigned char bytes[16];
    unsigned long table = RT_TABLE_MAIN;
    int af;
    size_t len;

    if (family == NULL || dst == NULL)
        return;
    af = strcmp(family, "inet6") == 0 ? AF_INET6 : AF_INET;
    len = af == AF_INET ? 4 : 16;
    memset(&rtm, 0, sizeof(rtm));
    rtm.rtm_family = (unsigned char)af;
    rtm.rtm_protocol = RTPROT_BOOT;
    rtm.rtm_scope = RT_SCOPE_UNIVERSE;
    rtm.rtm_type = RTN_UNICAST;
    slash = strchr(dst, '/');
    if (slash != NULL) {
        *slash = '\0';
        rtm.rtm_dst_len = (unsigned char)strtoul(slash + 1, NULL, 10);
    }
    msg_start(m, RTM_NEWROUTE, &rtm, sizeof(rtm));
    if (rtm.rtm_dst_len > 0 && inet_pton(af, dst, bytes) == 1)
        msg_attr(m, RTA_DST, bytes, len);
    while ((tok = strtok_r(NULL, " \t\n", &save)) != NULL) {
        char *v = strchr(tok, '=');
        struct rtmsg *hdr = NLMSG_DATA(&m->u.h);

        if (strcmp(tok, "dead") == 0)
            hdr->rtm_flags |= RTNH_F_DEAD;
        if (v == NULL)
            continue;
        *v++ = '\0';
        if (strcmp(tok, "oif") == 0) {
            msg_u32(m, RTA_OIF, strtoul(v, NULL, 10));
        } else if (strcmp(tok, "gw") == 0 && inet_pton(af, v, bytes) == 1) {
            msg_attr(m, RTA_GATEWAY, bytes, len);
        } else if (strcmp(tok, "metric") == 0) {
            msg_u32(m, RTA_PRIORITY, strtoul(v, NULL, 10));
        } else if (strcmp(tok, "table") == 0) {
            table = strtoul(v, NULL, 10);
        } else if (strcmp(tok, "type") == 0) {
            for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++)
                if (strcmp(v, types[i].name) == 0)
                    hdr->rtm_type = types[i].type;
        } else if (strcmp(tok, "mp") == 0) {
            struct rtattr *mp = msg_attr(m, RTA_MULTIPATH, NULL, 0);
            size_t start = (size_t)((unsigned char *)mp - m->u.bytes);
            char *save2 = NULL, *hop;

            for (hop = strtok_r(v, ",", &save2); hop != NULL;
                 hop = strtok_r(NULL, ",", &save2)) {
                struct rtnexthop *nh = msg_tail(m);
                char *at = strchr(hop, '@');
                size_t nh_start = (size_t)((unsigned char *)nh - m->u.bytes);

                memset(nh, 0, sizeof(*nh));
                nh->rtnh_ifindex = (int)strtol(hop, NULL, 10);
                m->u.h.nlmsg_len = (uint32_t)(nh_start + RTNH_LENGTH(0));
                if (at != NULL && inet_pton(af, at + 1, bytes) == 1)
                    msg_attr(m, RTA_GATEWAY, bytes, len);
                nh->rtnh_len = (unsigned short)(m->u.h.nlmsg_len - nh_start);
            }
            mp->rta_len = (unsigned short)(m->u.h.nlmsg_len - start);
        }
    }
    /* Tables past 255 are in RTA_TABLE only. */
    ((struct rtmsg *)NLMSG_DATA(&m->u.h))->rtm_table =
        (unsigned char)(table < 256 ? table : RT_TABLE_COMPAT);
    msg_u32(m, RTA_TABLE, table);
}

static int fake_rtnl_dump(void *data, const int *types, size_t n_types,
                          osip_rtnl_fn *fn, void *arg)
{
    static const struct {
        int type;
        const char *word;
    } dumps[] = {
        { RTM_GETLINK, "link" },
        { RTM_GETADDR, "addr" },
        { RTM_GETROUTE, "route" },
    };
    struct fake_sys *f = data;
    struct nl_msg m;
    char line[512];
    FILE *fp;
    int r = 0;

    if (f->fail_errno)
        return -f->fail_errno;
    fp = open_fixture(f, "fake/links");
    if (fp == NULL)
        return -ENOENT;
    for (size_t i = 0; i < n_types && r == 0; i++) {
        const char *want = NULL;
        size_t wlen;

        for (size_t j = 0; j < sizeof(dumps) / sizeof(*dumps); j++)
            if (dumps[j].type == types[i])
                want = dumps[j].word;
        if (want == NULL) {
            r = -EINVAL;
            break;
        }
        wlen = strlen(want);
        rewind(fp);
        while (r == 0 && fgets(line, sizeof(line), fp) != NULL) {
            if (strncmp(line, "error ", 6) == 0 &&
                strncmp(line + 6, want, wlen) == 0 && line[6 + wlen] == ' ') {
                r = -(int)strtol(line + 7 + wlen, NULL, 10);
                break;
            }
            if (strncmp(line, want, wlen) != 0 || line[wlen] != ' ')
                continue;
            if (types[i] == RTM_GETLINK)
                build_link(&m, line + wlen + 1);
            else if (types[i] == RTM_GETADDR)
                build_addr(&m, line + wlen + 1);
            else
                build_route(&m, line + wlen + 1);
            m.u.h.nlmsg_seq = (uint32_t)i + 1;
            r = fn(&m.u.h, arg);
        }
        if (r == 0) {
            int zero = 0;

            msg_start(&m, NLMSG_DONE, &zero, sizeof(zero));
            m.u.h.nlmsg_seq = (uint32_t)i + 1;
            r = fn(&m.u.h, arg);
        }
    }
    fclose(fp);
    return r;
}

/* Decode mountinfo's octal escapes ("\040" is a space) in place. Written
 * apart from the library's decoder, which it checks. */
static void unescape(char *s)
{
    char *out = s;

    for (; *s != '\0'; s++) {
        if (s[0] == '\\' && strspn(s + 1, "01234567") >= 3) {
            char digits[4] = { s[1], s[2], s[3], '\0' };

            *out++ = (char)strtol(digits, NULL, 8);
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

static int fake_statvfs(void *data, const char *path, struct statvfs *out)
{
    struct fake_sys *f = data;
    size_t rlen = strlen(f->root);
    const char *mp = path;
    char line[512];
    FILE *fp;

    if (f->fail_errno) {
        errno = f->fail_errno;
        return -1;
    }
    if (strncmp(path, f->root, rlen) == 0)
        mp = path[rlen] == '\0' ? "/" : path + rlen;
    fp = open_fixture(f, "fake/statvfs");
    if (fp == NULL) {
        errno = ENOENT;
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        char name[256];
        unsigned long frsize, blocks, bfree, bavail;

        if (sscanf(line, "%255s %lu %lu %lu %lu", name, &frsize, &blocks,
                   &bfree, &bavail) != 5)
            continue;
        unescape(name);
        if (strcmp(name, mp) == 0) {
            memset(out, 0, sizeof(*out));
            out->f_bsize = frsize;
            out->f_frsize = frsize;
            out->f_blocks = blocks;
            out->f_bfree = bfree;
            out->f_bavail = bavail;
            fclose(fp);
            return 0;
        }
    }
    fclose(fp);
    errno = EACCES;
    return -1;
}

static int fake_getpwuid_r(void *data, uid_t uid, struct passwd *pwd,
                           char *buf, size_t buflen, struct passwd **result)
{
    struct fake_sys *f = data;
    char line[512];
    FILE *fp;

    *result = NULL;
    if (f->fail_errno)
        return f->fail_errno;
    fp = open_fixture(f, "etc/passwd");
    if (fp == NULL)
        return 0; /* no such user */
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *save = NULL, *name, *id;

        line[strcspn(line, "\n")] = '\0';
        name = strtok_r(line, ":", &save);
        strtok_r(NULL, ":", &save); /* password */
        id = strtok_r(NULL, ":", &save);
        if (name == NULL || id == NULL || strtoul(id, NULL, 10) != uid)
            continue;
        if (strlen(name) + 1 > buflen) {
            fclose(fp);
            return ERANGE;
        }
        memset(pwd, 0, sizeof(*pwd));
        memcpy(buf, name, strlen(name) + 1);
        pwd->pw_name = buf;
        pwd->pw_uid = uid;
        *result = pwd;
        break;
    }
    fclose(fp);
    return 0;
}

static uid_t id_value(struct fake_sys *f, const char *key)
{
    char buf[32];

    if (fixture_value(f, "fake/ids", key, buf, sizeof(buf)) != 0)
        return (uid_t)-1;
    return (uid_t)strtol(buf, NULL, 10);
}

static uid_t fake_geteuid(void *data)
{
    uid_t id = id_value(data, "euid");

    return id == (uid_t)-1 ? 0 : id;
}

static uid_t fake_loginuid(void *data)
{
    return id_value(data, "loginuid");
}

static int fake_clock_gettime(void *data, clockid_t clock, struct timespec *out)
{
    struct fake_sys *f = data;

    if (clock == CLOCK_REALTIME) {
        out->tv_sec = FAKE_SYS_REALTIME;
        out->tv_nsec = FAKE_SYS_REALTIME_NS;
    } else {
        f->mono_ns += 1000;
        out->tv_sec = (time_t)(f->mono_ns / 1000000000);
        out->tv_nsec = (long)(f->mono_ns % 1000000000);
    }
    return 0;
}

static int fake_random(void *data, void *buf, size_t len)
{
    struct fake_sys *f = data;

    if (f->fail_errno) {
        errno = f->fail_errno;
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        ((unsigned char *)buf)[i] = (unsigned char)(i * 0x11);
    return 0;
}

static struct tm *fake_localtime_r(void *data, const time_t *t, struct tm *out)
{
    (void)data;
    return gmtime_r(t, out);
}

void fake_sys_init(struct osip_sys *table, struct fake_sys *fake,
                   const char *root)
{
    memset(fake, 0, sizeof(*fake));
    snprintf(fake->root, sizeof(fake->root), "%s", root);
    fake->mono_ns = 1000000000000LL;
    *table = (struct osip_sys){
        .data = fake,
        .uname = fake_uname,
        .rtnl_dump = fake_rtnl_dump,
        .statvfs = fake_statvfs,
        .getpwuid_r = fake_getpwuid_r,
        .geteuid = fake_geteuid,
        .loginuid = fake_loginuid,
        .clock_gettime = fake_clock_gettime,
        .random = fake_random,
        .localtime_r = fake_localtime_r,
    };
}
