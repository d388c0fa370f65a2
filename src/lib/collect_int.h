/* SPDX-License-Identifier: MIT */
/* What the collectors of each section share: the context, file reading
 * under the root, section status, and JSON building that notes OOM. */
#ifndef OSINSPECT_COLLECT_INT_H
#define OSINSPECT_COLLECT_INT_H

#include <limits.h>

#include "internal.h"
#include "os/os.h"

enum osip_sec_status { OSIP_SEC_FULL, OSIP_SEC_PARTIAL, OSIP_SEC_FAILED };

struct osip_ctx {
    int rootfd;             /* directory that relative paths are read from */
    char root[PATH_MAX];    /* the root without a trailing '/'; "" for / */
    const struct osip_sys *sys;
    json_t *report;         /* the report being built */
    int oom;                /* a JSON value could not be allocated */

    /* the section being collected */
    enum osip_sec_status status;
    char reason[256];

    /* facts shared by several sections, filled on first use */
    int have_uts;
    struct utsname uts;
};

/* Read a whole file under the root. path is relative ("proc/meminfo").
 * On success *out is a NUL-terminated malloc'ed buffer (free()) of *len
 * bytes. Returns 0 or a negative errno; files over 8 MiB give -EFBIG. */
int osip_read_file(struct osip_ctx *ctx, const char *path, char **out,
                   size_t *len);

/* Read the first line of a file under the root into buf, without the
 * newline and trailing white space. Returns 0 or a negative errno. */
int osip_read_line(struct osip_ctx *ctx, const char *path, char *buf,
                   size_t size);

/* uname() through the table, cached in ctx->uts. Returns 0 or -errno. */
int osip_uname(struct osip_ctx *ctx);

/* Mark the section partly read / not read, with a reason. The first
 * reason is kept; a failure is never downgraded to partial. */
void osip_sec_partial(struct osip_ctx *ctx, const char *fmt, ...)
    OSI_PRINTF(2, 3);
void osip_sec_failed(struct osip_ctx *ctx, const char *fmt, ...)
    OSI_PRINTF(2, 3);
/* Shorthand: "<path>: <strerror(-neg_errno)>" as partial or failed. */
void osip_sec_file_error(struct osip_ctx *ctx, const char *path,
                         int neg_errno, int failed);

/* Set obj[key] = value (stolen). A NULL value or a failed insert (out of
 * memory) sets ctx->oom. Returns value, or NULL when it was not set. */
json_t *osip_set(struct osip_ctx *ctx, json_t *obj, const char *key,
                 json_t *value);
/* Append value (stolen) to arr, likewise. */
json_t *osip_append(struct osip_ctx *ctx, json_t *arr, json_t *value);

/* Format a UTC time as RFC 3339 with milliseconds: 2026-01-02T03:04:05.678Z
 * (buf of at least 32 bytes). */
void osip_format_rfc3339(const struct timespec *ts, char *buf, size_t size);

/* Sections. Each writes its fields into ctx->report and its status into
 * ctx->status / ctx->reason. Implemented per system in os/<system>/. */
void osip_collect_kernel(struct osip_ctx *ctx);    /* os_name, os_version, kernel */
void osip_collect_hostname(struct osip_ctx *ctx);  /* hostname */
void osip_collect_os(struct osip_ctx *ctx);        /* os */
void osip_collect_cpu(struct osip_ctx *ctx);       /* cpu, cpu_info */
void osip_collect_memory(struct osip_ctx *ctx);    /* memory */
void osip_collect_uptime(struct osip_ctx *ctx);    /* uptime_seconds, boot_time */
void osip_collect_load(struct osip_ctx *ctx);      /* load_average */
void osip_collect_disks(struct osip_ctx *ctx);     /* disks */
void osip_collect_network(struct osip_ctx *ctx);   /* server_ip, network */
void osip_collect_users(struct osip_ctx *ctx);     /* users */
void osip_collect_username(struct osip_ctx *ctx);  /* os_username */
void osip_collect_identity(struct osip_ctx *ctx);  /* identity */
void osip_collect_container(struct osip_ctx *ctx); /* container */

/* Collect with a given system-call table (unit tests pass a fake). */
enum osi_status osip_collect_with(const char *root, const struct osip_sys *sys,
                                  struct osi_report **out,
                                  struct osi_error *err);

#endif /* OSINSPECT_COLLECT_INT_H */
