/* SPDX-License-Identifier: MIT */
/* The real system-call table of Linux. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../internal.h"
#include "../os.h"

/* The kernel fills a dump reply up to the size of the reader's last
 * buffer, up to 32 KiB: with one this size a dump comes in one or two
 * reads. */
#define RTNL_BUF (32 * 1024)

static int sys_uname(void *data, struct utsname *out)
{
    (void)data;
    return uname(out);
}

/* Ask for a dump of type; the kernel's answer to seq follows. */
static int rtnl_request(int fd, int type, uint32_t seq)
{
    struct {
        struct nlmsghdr h;
        union {
            struct ifinfomsg ifi; /* the largest: IFLA_EXT_MASK after it */
            struct ifaddrmsg ifa;
            struct rtmsg rtm;
        } u;
        struct rtattr ext;
        uint32_t ext_mask;
    } req;
    struct sockaddr_nl kernel;

    memset(&req, 0, sizeof(req));
    memset(&kernel, 0, sizeof(kernel));
    kernel.nl_family = AF_NETLINK;
    req.h.nlmsg_type = (uint16_t)type;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = seq;
    if (type == RTM_GETLINK) {
        /* Fewer statistics to gather per link (the per-VF and
         * per-address-family ones; IFLA_STATS and IFLA_STATS64 still
         * come). Kernels that predate the flag ignore it. */
        req.h.nlmsg_len = sizeof(req);
        req.u.ifi.ifi_family = AF_UNSPEC;
        req.ext.rta_type = IFLA_EXT_MASK;
        req.ext.rta_len = RTA_LENGTH(sizeof(uint32_t));
        req.ext_mask = RTEXT_FILTER_SKIP_STATS;
    } else if (type == RTM_GETADDR) {
        req.u.ifa.ifa_family = AF_UNSPEC;
        req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.u.ifa));
    } else if (type == RTM_GETROUTE) {
        req.u.rtm.rtm_family = AF_UNSPEC;
        req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.u.rtm));
    } else {
        return -EINVAL;
    }
    for (;;) {
        ssize_t n = sendto(fd, &req, req.h.nlmsg_len, 0,
                           (struct sockaddr *)&kernel, sizeof(kernel));

        if (n >= 0)
            return (size_t)n == req.h.nlmsg_len ? 0 : -EIO;
        if (errno != EINTR)
            return -errno;
    }
}

/* The messages of one read, for seq: 1 at its end (NLMSG_DONE, passed to
 * fn too), 0 when more is to come, else a negative errno or what fn
 * returned. */
static int rtnl_walk(const char *buf, size_t len, uint32_t seq,
                     osip_rtnl_fn *fn, void *arg)
{
    while (len >= sizeof(struct nlmsghdr)) {
        const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)buf;
        size_t step;
        int err;

        if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len)
            return -EPROTO;
        step = NLMSG_ALIGN(h->nlmsg_len);
        if (h->nlmsg_seq == seq) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                /* NLMSG_DONE carries the dump's error (0) where the kernel
                 * has one; NLMSG_ERROR a struct nlmsgerr, error first. */
                err = 0;
                if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
                    memcpy(&err, NLMSG_DATA(h), sizeof(err));
                else if (h->nlmsg_type == NLMSG_ERROR)
                    return -EPROTO;
                if (err < 0)
                    return err;
                if (h->nlmsg_type == NLMSG_ERROR)
                    return -EPROTO;
                err = fn(h, arg);
                return err != 0 ? err : 1;
            }
            err = fn(h, arg);
            if (err != 0)
                return err;
        }
        if (step >= len)
            break;
        buf += step;
        len -= step;
    }
    return 0;
}

static int rtnl_dump_one(int fd, int type, uint32_t seq, char *buf,
                         osip_rtnl_fn *fn, void *arg)
{
    int r = rtnl_request(fd, type, seq);

    while (r == 0) {
        struct sockaddr_nl from;
        struct iovec iov = { .iov_base = buf, .iov_len = RTNL_BUF };
        struct msghdr msg;
        ssize_t n;

        memset(&msg, 0, sizeof(msg));
        msg.msg_name = &from;
        msg.msg_namelen = sizeof(from);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        n = recvmsg(fd, &msg, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (msg.msg_flags & MSG_TRUNC)
            return -EMSGSIZE;
        /* Only the kernel's answer: another process may write to us. */
        if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
            continue;
        r = rtnl_walk(buf, (size_t)n, seq, fn, arg);
    }
    return r < 0 ? r : 0;
}

static int sys_rtnl_dump(void *data, const int *types, size_t n_types,
                         osip_rtnl_fn *fn, void *arg)
{
    char *buf;
    int fd, r = 0;

    (void)data;
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    buf = osip_malloc(RTNL_BUF);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n_types && r == 0; i++)
        r = rtnl_dump_one(fd, types[i], (uint32_t)i + 1, buf, fn, arg);
    free(buf);
    close(fd);
    return r;
}

static int sys_statvfs(void *data, const char *path, struct statvfs *out)
{
    (void)data;
    return statvfs(path, out);
}

static int sys_getpwuid_r(void *data, uid_t uid, struct passwd *pwd,
                          char *buf, size_t buflen, struct passwd **result)
{
    (void)data;
    return getpwuid_r(uid, pwd, buf, buflen, result);
}

static uid_t sys_geteuid(void *data)
{
    (void)data;
    return geteuid();
}

/* /proc/self/loginuid describes this process, not the collection root, so
 * it is read from the real /proc whatever the root is. */
static uid_t sys_loginuid(void *data)
{
    char buf[32];
    ssize_t n;
    int fd;
    unsigned long v;
    char *end;

    (void)data;
    fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return (uid_t)-1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return (uid_t)-1;
    buf[n] = '\0';
    errno = 0;
    v = strtoul(buf, &end, 10);
    if (errno != 0 || end == buf || v >= (unsigned long)(uid_t)-1)
        return (uid_t)-1;
    return (uid_t)v;
}

static int sys_clock_gettime(void *data, clockid_t clock, struct timespec *out)
{
    (void)data;
    return clock_gettime(clock, out);
}

static int sys_random(void *data, void *buf, size_t len)
{
    size_t done = 0;

    (void)data;
    while (done < len) {
        ssize_t n = getrandom((char *)buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

static struct tm *sys_localtime_r(void *data, const time_t *t, struct tm *out)
{
    (void)data;
    return localtime_r(t, out);
}

const struct osip_sys osip_sys_default = {
    .data = NULL,
    .uname = sys_uname,
    .rtnl_dump = sys_rtnl_dump,
    .statvfs = sys_statvfs,
    .getpwuid_r = sys_getpwuid_r,
    .geteuid = sys_geteuid,
    .loginuid = sys_loginuid,
    .clock_gettime = sys_clock_gettime,
    .random = sys_random,
    .localtime_r = sys_localtime_r,
};
