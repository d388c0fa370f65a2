/* SPDX-License-Identifier: MIT */
/* What the collectors of each section share: the context, file reading
 * under the root, section status, JSON building that notes OOM, and text
 * and numbers as the report needs them. */
#ifndef OSINSPECT_COLLECT_INT_H
#define OSINSPECT_COLLECT_INT_H

#include <limits.h>
#include <sys/stat.h>

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

/* Open path, relative ("proc/meminfo"), under the root with open(2)
 * flags; symlinks, absolute ones included, and ".." cannot leave the root
 * (openat2 RESOLVE_IN_ROOT; plain openat where the kernel has no openat2).
 * Returns a new file descriptor (close()) or a negative errno. */
int osip_open(struct osip_ctx *ctx, const char *path, int flags);

/* stat(2) of path under the root, as osip_open resolves it; follow: follow
 * a symlink in the last component. Returns 0 or a negative errno. */
int osip_stat(struct osip_ctx *ctx, const char *path, int follow,
              struct stat *out);

/* 1 when path exists under the root, 0 when it does not (ENOENT, ENOTDIR),
 * else a negative errno (the answer is unknown). */
int osip_path_exists(struct osip_ctx *ctx, const char *path, int follow);

/* Read a whole file under the root. path is relative ("proc/meminfo").
 * On success *out is a NUL-terminated malloc'ed buffer (free()) of *len
 * bytes. Returns 0 or a negative errno; files over 8 MiB give -EFBIG;
 * -ENOMEM also sets ctx->oom. */
int osip_read_file(struct osip_ctx *ctx, const char *path, char **out,
                   size_t *len);

/* Read the first line of a file under the root into buf, without the
 * newline and trailing white space. Returns 0 or a negative errno. */
int osip_read_line(struct osip_ctx *ctx, const char *path, char *buf,
                   size_t size);

/* uname() through the table, cached in ctx->uts. Returns 0 or -errno. */
int osip_uname(struct osip_ctx *ctx);

/* Mark the section partly read / not read, with a reason. The first
 * reason is kept; a failure is never downgraded to partial. The reason is
 * stored as osip_text_copy leaves it: valid UTF-8, whatever the bytes. */
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

/* Length (1 to 4) of the UTF-8 character s starts with, as jansson takes
 * it (no overlong form, surrogate or code point past U+10FFFF); 0 when s
 * starts with a byte that begins none. s is not at its NUL. */
size_t osip_utf8_len(const char *s);

/* True when s is valid UTF-8 and, unless allow_control, holds no C0
 * control character or DEL (the original six fields must not). */
int osip_text_valid(const char *s, int allow_control);

/* json_string(s), or json_null() when s is not valid UTF-8: jansson
 * refuses it, and a path, a utmp field or a session file holds any bytes.
 * NULL only when out of memory. */
json_t *osip_json_text(const char *s);

/* Copy src into dst (size bytes, NUL included) with each byte that begins
 * no UTF-8 character replaced by '?', ending before the first character
 * that does not fit. Returns strlen(dst). */
size_t osip_text_copy(char *dst, size_t size, const char *src);

/* Parse the decimal number at the start of s ("2095.078": digits with an
 * optional fraction, up to 18 digits), whatever the locale's decimal point.
 * Returns the end of the number, or NULL when s does not start with one.
 * Callers that need all of s check *end == '\0'. */
const char *osip_parse_decimal(const char *s, double *out);

/* osip_malloc of n zeroed elements; NULL when n * size overflows too. */
void *osip_calloc(size_t n, size_t size);

/* Room for element n of arr, which has *cap of size bytes: arr itself
 * while n < *cap, else arr reallocated to twice *cap (first when 0) with
 * *cap updated. NULL when out of memory, arr left as it was. */
void *osip_grow(void *arr, size_t n, size_t *cap, size_t size, size_t first);

/* Format a UTC time as RFC 3339 with milliseconds: 2026-01-02T03:04:05.678Z
 * (buf of at least 32 bytes). */
void osip_format_rfc3339(const struct timespec *ts, char *buf, size_t size);

/* Seconds since the epoch as RFC 3339 UTC, whole seconds:
 * 2026-01-02T01:00:00Z (buf of at least 32 bytes). 0, or -1 when sec is
 * not after the epoch (0 stands for "unset" in the kernel's and utmp's
 * times) or out of range. */
int osip_format_utc_seconds(long long sec, char *buf, size_t size);

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
