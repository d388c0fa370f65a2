/* SPDX-License-Identifier: MIT */
/* Helpers of the collectors: reading under the root, section status. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_int.h"

#define MAX_FILE_SIZE (8u << 20)

int osip_read_file(struct osip_ctx *ctx, const char *path, char **out,
                   size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf;
    int fd;

    *out = NULL;
    *len = 0;
    fd = openat(ctx->rootfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    buf = osip_malloc(cap);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    /* /proc files report size 0: read until EOF, growing the buffer. */
    for (;;) {
        ssize_t r;

        if (cap - n < 2) {
            char *bigger;

            if (cap >= MAX_FILE_SIZE) {
                free(buf);
                close(fd);
                return -EFBIG;
            }
            bigger = osip_realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                close(fd);
                return -ENOMEM;
            }
            buf = bigger;
            cap *= 2;
        }
        r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            int e = errno;

            if (e == EINTR)
                continue;
            free(buf);
            close(fd);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int osip_read_line(struct osip_ctx *ctx, const char *path, char *buf,
                   size_t size)
{
    ssize_t r;
    size_t n;
    int fd;

    fd = openat(ctx->rootfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
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

int osip_uname(struct osip_ctx *ctx)
{
    if (!ctx->have_uts) {
        if (ctx->sys->uname(ctx->sys->data, &ctx->uts) != 0)
            return -errno;
        ctx->have_uts = 1;
    }
    return 0;
}

static void sec_mark(struct osip_ctx *ctx, enum osip_sec_status status,
                     const char *fmt, va_list ap)
{
    if (ctx->status < status)
        ctx->status = status;
    if (ctx->reason[0] == '\0')
        vsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
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

void osip_format_rfc3339(const struct timespec *ts, char *buf, size_t size)
{
    struct tm tm;
    time_t t = ts->tv_sec;

    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, size, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
}
