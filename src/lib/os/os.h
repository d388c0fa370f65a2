/* SPDX-License-Identifier: MIT */
/* The system calls that collection makes, behind a table that unit tests
 * replace (tests/helpers/fake_sys.c): everything else is read from files
 * under the collection root. */
#ifndef OSINSPECT_OS_H
#define OSINSPECT_OS_H

#include <ifaddrs.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>

struct osip_sys {
    void *data; /* passed to every function */
    int (*uname)(void *data, struct utsname *out);
    int (*getifaddrs)(void *data, struct ifaddrs **out);
    void (*freeifaddrs)(void *data, struct ifaddrs *ifa);
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
