/* SPDX-License-Identifier: MIT */
/* Status names, filling struct osi_error, the library's allocator and
 * its one write loop. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "internal.h"

const char *osi_status_str(int status)
{
    switch (status) {
    case OSI_OK: return "success";
    case OSI_EINVAL: return "invalid argument";
    case OSI_ENOMEM: return "out of memory";
    case OSI_ENOTFOUND: return "not found";
    case OSI_ENOTSUP: return "not supported";
    case OSI_EIO: return "input/output error";
    case OSI_EPARSE: return "parse error";
    case OSI_ENET: return "network error";
    case OSI_EAUTH: return "authentication error";
    case OSI_ETIMEOUT: return "timed out";
    case OSI_ESTORE: return "store error";
    }
    return "unknown status";
}

enum osi_status osip_error_set(struct osi_error *err, enum osi_status status,
                               int cause_kind, long cause, const char *fmt,
                               ...)
{
    va_list ap;

    if (err == NULL)
        return status;
    err->status = status;
    err->cause_kind = cause_kind;
    err->cause = cause;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    memset(err->reserved, 0, sizeof(err->reserved));
    return status;
}

int (*osip_alloc_fail_hook)(void);

void *osip_malloc(size_t size)
{
    if (osip_alloc_fail_hook != NULL && osip_alloc_fail_hook())
        return NULL;
    return malloc(size);
}

void *osip_realloc(void *ptr, size_t size)
{
    if (osip_alloc_fail_hook != NULL && osip_alloc_fail_hook())
        return NULL;
    return realloc(ptr, size);
}

void osi_free(void *ptr)
{
    free(ptr);
}

int64_t osip_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int osip_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}
