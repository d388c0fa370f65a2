/* SPDX-License-Identifier: MIT */
/* The system calls that collection makes, behind a table that unit tests
 * replace (tests/helpers/fake_sys.c): everything else is read from files
 * under the collection root. */
#ifndef OSINSPECT_OS_H
#define OSINSPECT_OS_H

#include <linux/netlink.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>

/* Called on one message of an rtnetlink dump; msg->nlmsg_len bytes are
 * readable. 0 to go on, a negative errno to stop. */
typedef int osip_rtnl_fn(const struct nlmsghdr *msg, void *arg);

struct osip_sys {
    void *data; /* passed to every function */
    int (*uname)(void *data, struct utsname *out);
    /* rtnetlink dumps of this process's network namespace (never of
     * the collection root): one request per entry of types (RTM_GETLINK,
     * RTM_GETADDR, RTM_GETROUTE; all address families), in order, on one
     * socket. fn is called on each message of the answers, the NLMSG_DONE
     * that ends each dump included, NLMSG_ERROR not; a value other than 0
     * from fn ends the dumps and is returned. Returns 0 or a negative
     * errno (no socket, the kernel's error, ...). */
    int (*rtnl_dump)(void *data, const int *types, size_t n_types,
                     osip_rtnl_fn *fn, void *arg);
    /* path is absolute, already joined with the collection root */
    int (*statvfs)(void *data, const char *path, struct statvfs *out);
    int (*getpwuid_r)(void *data, uid_t uid, struct passwd *pwd, char *buf,
                      size_t buflen, struct passwd **result);
    uid_t (*geteuid)(void *data);
    /* the audit login uid of this process, (uid_t)-1 when unset */
    uid_t (*loginuid)(void *data);
    int (*clock_gettime)(void *data, clockid_t clock, struct timespec *out);
    /* fill len random bytes; 0 or -1 with errno */
    int (*random)(void *data, void *buf, size_t len);
    /* local broken-down time; NULL on failure */
    struct tm *(*localtime_r)(void *data, const time_t *t, struct tm *out);
};

/* The real system. */
extern const struct osip_sys osip_sys_default;

#endif /* OSINSPECT_OS_H */
