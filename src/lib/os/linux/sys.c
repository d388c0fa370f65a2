/* SPDX-License-Identifier: MIT */
/* The real system-call table of Linux. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "../os.h"

static int sys_uname(void *data, struct utsname *out)
{
    (void)data;
    return uname(out);
}

static int sys_getifaddrs(void *data, struct ifaddrs **out)
{
    (void)data;
    return getifaddrs(out);
}

static void sys_freeifaddrs(void *data, struct ifaddrs *ifa)
{
    (void)data;
    freeifaddrs(ifa);
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
    .getifaddrs = sys_getifaddrs,
    .freeifaddrs = sys_freeifaddrs,
    .statvfs = sys_statvfs,
    .getpwuid_r = sys_getpwuid_r,
    .geteuid = sys_geteuid,
    .loginuid = sys_loginuid,
    .clock_gettime = sys_clock_gettime,
    .random = sys_random,
    .localtime_r = sys_localtime_r,
};
