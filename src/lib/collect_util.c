/* SPDX-License-Identifier: MIT */
/* Helpers of the collectors: reading under the root, section status, text
 * and numbers as the report needs them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collect_int.h"

#define MAX_FILE_SIZE (8u << 20)

/* Set once openat2 is known to be missing (kernels before 5.6) or blocked
 * (seccomp filters of older container runtimes answer EPERM for system
 * calls they do not know): then plain openat, which cannot keep symlinks
 * inside the root, is all there is. */
static atomic_int no_openat2;

/* openat2 with RESOLVE_IN_ROOT: an absolute symlink ("/etc/static/
 * os-release", as NixOS ships /etc/os-release) and ".." resolve against
 * the root, as in a process chrooted there, where plain openat would leave
 * --root /host for the agent's own file system. Returns fd or -errno. */
static int openat2_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = { .flags = (uint64_t)flags,
                            .resolve = RESOLVE_IN_ROOT };

    /* EAGAIN: a rename raced the check that ".." stays inside. */
    for (int tries = 0; tries < 8; tries++) {
        int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

        if (fd >= 0)
            return fd;
        if (errno != EAGAIN)
            break;
    }
    return -errno;
}

int osip_open(struct osip_ctx *ctx, const char *path, int flags)
{
    int fd, refused = 0;

    /* Under "/" nothing lies outside the root: openat resolves the same
     * and spares openat2's scoped walk. */
    if (!atomic_load_explicit(&no_openat2, memory_order_relaxed) &&
        ctx->root[0] != '\0') {
        fd = openat2_in_root(ctx->rootfd, path, flags);
        if (fd == -ENOSYS)
            atomic_store_explicit(&no_openat2, 1, memory_order_relaxed);
        else if (fd == -EPERM)
            refused = 1;
        else
            return fd;
    }
    fd = openat(ctx->rootfd, path, flags);
    if (fd < 0)
        return -errno;
    /* EPERM from openat2 where openat may: a filter, not the file. */
    if (refused)
        atomic_store_explicit(&no_openat2, 1, memory_order_relaxed);
    return fd;
}

int osip_stat(struct osip_ctx *ctx, const char *path, int follow,
              struct stat *out)
{
    int fd = osip_open(ctx, path,
                       O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    int r = 0;

    if (fd < 0)
        return fd;
    if (fstat(fd, out) != 0)
        r = -errno;
    close(fd);
    return r;
}

int osip_path_exists(struct osip_ctx *ctx, const char *path, int follow)
{
    struct stat st;
    int r = osip_stat(ctx, path, follow, &st);

    if (r == 0)
        return 1;
    return r == -ENOENT || r == -ENOTDIR ? 0 : r;
}

int osip_read_file(struct osip_ctx *ctx, const char *path, char **out,
                   size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf;
    int fd, r = 0;

    *out = NULL;
    *len = 0;
    fd = osip_open(ctx, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fd;
    buf = osip_malloc(cap);
    if (buf == NULL) {
        r = -ENOMEM;
        goto fail;
    }
    /* /proc files report size 0: read until EOF, growing the buffer. */
    for (;;) {
        ssize_t got;

        if (cap - n < 2) {
            char *bigger;

            if (cap >= MAX_FILE_SIZE) {
                r = -EFBIG;
                goto fail;
            }
            bigger = osip_realloc(buf, cap * 2);
            if (bigger == NULL) {
                r = -ENOMEM;
                goto fail;
            }
            buf = bigger;
            cap *= 2;
        }
        got = read(fd, buf + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = -errno;
            goto fail;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
fail:
    if (r == -ENOMEM)
        ctx->oom = 1;
    free(buf);
    close(fd);
    return r;
}

int osip_read_line(struct osip_ctx *ctx, const char *path, char *buf,
                   size_t size)
{
    ssize_t r;
    size_t n;
    int fd;

    fd = osip_open(ctx, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fd;
    do
        r = read(fd, buf, size - 1);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    close(fd);
    n = (size_t)r;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t' ||
                     buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

/* uname fields end up in required report strings (os_name, os_version):
 * make them valid UTF-8 without control characters whatever the kernel
 * was built with, rather than fail the report. */
static void uts_clean(char *field, size_t size)
{
    char buf[sizeof(((struct utsname *)0)->release)];

    if (size > sizeof(buf))
        size = sizeof(buf);
    osip_text_copy(buf, size, field);
    for (char *p = buf; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    memcpy(field, buf, strlen(buf) + 1);
}

int osip_uname(struct osip_ctx *ctx)
{
    struct utsname *u = &ctx->uts;

    if (!ctx->have_uts) {
        if (ctx->sys->uname(ctx->sys->data, u) != 0)
            return -errno;
        uts_clean(u->sysname, sizeof(u->sysname));
        uts_clean(u->nodename, sizeof(u->nodename));
        uts_clean(u->release, sizeof(u->release));
        uts_clean(u->version, sizeof(u->version));
        uts_clean(u->machine, sizeof(u->machine));
        ctx->have_uts = 1;
    }
    return 0;
}

static void sec_mark(struct osip_ctx *ctx, enum osip_sec_status status,
                     const char *fmt, va_list ap) OSI_PRINTF(3, 0);
static void sec_mark(struct osip_ctx *ctx, enum osip_sec_status status,
                     const char *fmt, va_list ap)
{
    /* Room past the reason's size, so that a character vsnprintf cuts
     * lies beyond what is kept: a path or a localized strerror holds any
     * bytes, and the reason must be a JSON string. */
    char text[sizeof(ctx->reason) + 4];

    if (ctx->status < status)
        ctx->status = status;
    if (ctx->reason[0] != '\0')
        return;
    vsnprintf(text, sizeof(text), fmt, ap);
    osip_text_copy(ctx->reason, sizeof(ctx->reason), text);
}

void osip_sec_partial(struct osip_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sec_mark(ctx, OSIP_SEC_PARTIAL, fmt, ap);
    va_end(ap);
}

void osip_sec_failed(struct osip_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sec_mark(ctx, OSIP_SEC_FAILED, fmt, ap);
    va_end(ap);
}

void osip_sec_file_error(struct osip_ctx *ctx, const char *path,
                         int neg_errno, int failed)
{
    if (neg_errno == -ENOMEM)
        ctx->oom = 1;
    if (failed)
        osip_sec_failed(ctx, "/%s: %s", path, strerror(-neg_errno));
    else
        osip_sec_partial(ctx, "/%s: %s", path, strerror(-neg_errno));
}

json_t *osip_set(struct osip_ctx *ctx, json_t *obj, const char *key,
                 json_t *value)
{
    if (value == NULL || obj == NULL) {
        ctx->oom = 1;
        json_decref(value);
        return NULL;
    }
    if (json_object_set_new(obj, key, value) != 0) {
        ctx->oom = 1;
        return NULL;
    }
    return value;
}

json_t *osip_append(struct osip_ctx *ctx, json_t *arr, json_t *value)
{
    if (value == NULL || arr == NULL) {
        ctx->oom = 1;
        json_decref(value);
        return NULL;
    }
    if (json_array_append_new(arr, value) != 0) {
        ctx->oom = 1;
        return NULL;
    }
    return value;
}

/* UTC broken down. Not gmtime_r: glibc loads the time zone (opens and
 * parses /etc/localtime) on its first call, which UTC has no use for. */
struct utc {
    long long year;
    unsigned int mon, day, hour, min, sec;
};

/* Seconds since the epoch to a proleptic Gregorian date and time (the
 * days-to-civil algorithm of H. Hinnant, exact over the whole range).
 * -1 for a year past those struct tm holds, where gmtime_r fails too. */
static int utc_from_seconds(long long t, struct utc *u)
{
    long long days = t / 86400, rem = t % 86400, era;
    unsigned int doe, yoe, doy, mp;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    u->hour = (unsigned int)(rem / 3600);
    u->min = (unsigned int)(rem / 60 % 60);
    u->sec = (unsigned int)(rem % 60);
    days += 719468; /* from 0000-03-01, which starts a 400-year era */
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = (unsigned int)(days - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    u->day = doy - (153 * mp + 2) / 5 + 1;
    u->mon = mp < 10 ? mp + 3 : mp - 9;
    u->year = (long long)yoe + era * 400 + (u->mon <= 2);
    if (u->year - 1900 > INT_MAX || u->year - 1900 < INT_MIN)
        return -1;
    return 0;
}

void osip_format_rfc3339(const struct timespec *ts, char *buf, size_t size)
{
    struct utc u;

    if (utc_from_seconds((long long)ts->tv_sec, &u) != 0) {
        snprintf(buf, size, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%03ldZ", u.year,
             u.mon, u.day, u.hour, u.min, u.sec, ts->tv_nsec / 1000000);
}

int osip_format_utc_seconds(long long sec, char *buf, size_t size)
{
    struct utc u;
    int n;

    if (sec <= 0 || utc_from_seconds(sec, &u) != 0)
        return -1;
    n = snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02uZ", u.year, u.mon,
                 u.day, u.hour, u.min, u.sec);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

size_t osip_utf8_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    size_t n;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    /* A NUL ends the loop too: it is no continuation byte. */
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    /* overlong forms, surrogates, past U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

int osip_text_valid(const char *s, int allow_control)
{
    while (*s != '\0') {
        unsigned char c = (unsigned char)*s;
        size_t n;

        if (!allow_control && (c < 0x20 || c == 0x7f))
            return 0;
        n = osip_utf8_len(s);
        if (n == 0)
            return 0;
        s += n;
    }
    return 1;
}

json_t *osip_json_text(const char *s)
{
    return osip_text_valid(s, 1) ? json_string(s) : json_null();
}

size_t osip_text_copy(char *dst, size_t size, const char *src)
{
    size_t i = 0;

    if (size == 0)
        return 0;
    while (*src != '\0') {
        size_t n = osip_utf8_len(src);

        if (i + (n > 0 ? n : 1) >= size)
            break;
        if (n == 0) {
            dst[i++] = '?';
            src++;
        } else {
            memcpy(dst + i, src, n);
            i += n;
            src += n;
        }
    }
    dst[i] = '\0';
    return i;
}

/* Not strtod, which follows LC_NUMERIC: a program linking the library may
 * run in a locale whose decimal point is a comma. The digits make one
 * integer (18 fit) divided once by a power of ten, which rounds as strtod
 * does while both are exact doubles (the kernel's numbers are). */
const char *osip_parse_decimal(const char *s, double *out)
{
    unsigned long long mant = 0;
    double scale = 1;
    int digits = 0, frac = -1;

    for (; (*s >= '0' && *s <= '9') || *s == '.'; s++) {
        if (*s == '.') {
            if (frac >= 0 || digits == 0)
                return NULL;
            frac = 0;
            continue;
        }
        if (digits == 18)
            return NULL;
        mant = mant * 10 + (unsigned long long)(*s - '0');
        digits++;
        if (frac >= 0)
            frac++;
    }
    if (digits == 0)
        return NULL;
    while (frac-- > 0)
        scale *= 10;
    *out = (double)mant / scale;
    return s;
}

void *osip_calloc(size_t n, size_t size)
{
    void *p;

    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    /* malloc(0) may answer NULL, which would read as out of memory. */
    p = osip_malloc(n * size > 0 ? n * size : 1);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *osip_grow(void *arr, size_t n, size_t *cap, size_t size, size_t first)
{
    size_t ncap;
    void *bigger;

    if (n < *cap)
        return arr;
    ncap = *cap > 0 ? *cap * 2 : first;
    if (ncap < *cap || ncap > SIZE_MAX / size)
        return NULL;
    bigger = osip_realloc(arr, ncap * size);
    if (bigger != NULL)
        *cap = ncap;
    return bigger;
}
