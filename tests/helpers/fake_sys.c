/* SPDX-License-Identifier: MIT */
/* Fake system calls answering from a fixture root (fake_sys.h). */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netpacket/packet.h>
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

/* A netmask sockaddr for a prefix length. */
static struct sockaddr *make_mask(int family, int prefix)
{
    if (family == AF_INET) {
        struct sockaddr_in *m = calloc(1, sizeof(*m));
        m->sin_family = AF_INET;
        m->sin_addr.s_addr =
            prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
        return (struct sockaddr *)m;
    } else {
        struct sockaddr_in6 *m = calloc(1, sizeof(*m));
        m->sin6_family = AF_INET6;
        for (int i = 0; i < 16; i++) {
            int bits = prefix - i * 8;
            m->sin6_addr.s6_addr[i] = (unsigned char)(
                bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)));
        }
        return (struct sockaddr *)m;
    }
}

static int fake_getifaddrs(void *data, struct ifaddrs **out)
{
    struct fake_sys *f = data;
    struct ifaddrs *head = NULL, **tail = &head;
    char line[512];
    FILE *fp;

    *out = NULL;
    if (f->fail_errno) {
        errno = f->fail_errno;
        return -1;
    }
    fp = open_fixture(f, "fake/ifaddrs");
    if (fp == NULL) {
        errno = ENOENT;
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        char name[IFNAMSIZ + 1], flags[128], family[16], addr[64] = "";
        int prefix = 0;
        struct ifaddrs *ifa;
        int n;

        if (line[0] == '#' || line[0] == '\n')
            continue;
        n = sscanf(line, "%16s %127s %15s %63s %d", name, flags, family,
                   addr, &prefix);
        if (n < 3)
            continue;
        ifa = calloc(1, sizeof(*ifa));
        ifa->ifa_name = strdup(name);
        ifa->ifa_flags = parse_flags(flags);
        if (strcmp(family, "inet") == 0) {
            struct sockaddr_in *sa = calloc(1, sizeof(*sa));
            sa->sin_family = AF_INET;
            inet_pton(AF_INET, addr, &sa->sin_addr);
            ifa->ifa_addr = (struct sockaddr *)sa;
            ifa->ifa_netmask = make_mask(AF_INET, prefix);
        } else if (strcmp(family, "inet6") == 0) {
            struct sockaddr_in6 *sa = calloc(1, sizeof(*sa));
            sa->sin6_family = AF_INET6;
            inet_pton(AF_INET6, addr, &sa->sin6_addr);
            ifa->ifa_addr = (struct sockaddr *)sa;
            ifa->ifa_netmask = make_mask(AF_INET6, prefix);
        } else {
            struct sockaddr_ll *sa = calloc(1, sizeof(*sa));
            sa->sll_family = AF_PACKET;
            ifa->ifa_addr = (struct sockaddr *)sa;
        }
        *tail = ifa;
        tail = &ifa->ifa_next;
    }
    fclose(fp);
    *out = head;
    return 0;
}

static void fake_freeifaddrs(void *data, struct ifaddrs *ifa)
{
    (void)data;
    while (ifa != NULL) {
        struct ifaddrs *next = ifa->ifa_next;
        free(ifa->ifa_name);
        free(ifa->ifa_addr);
        free(ifa->ifa_netmask);
        free(ifa);
        ifa = next;
    }
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
        .getifaddrs = fake_getifaddrs,
        .freeifaddrs = fake_freeifaddrs,
        .statvfs = fake_statvfs,
        .getpwuid_r = fake_getpwuid_r,
        .geteuid = fake_geteuid,
        .loginuid = fake_loginuid,
        .clock_gettime = fake_clock_gettime,
        .random = fake_random,
        .localtime_r = fake_localtime_r,
    };
}
