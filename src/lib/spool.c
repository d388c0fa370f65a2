/* SPDX-License-Identifier: MIT */
/* The spool: undelivered reports on disk, one file each, oldest first,
 * written atomically and bounded; and the default spool directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "send_int.h"

/* Digits of the time part of an entry name: ms since 1970 fit in 16
 * digits until the year 318857. */
#define MS_DIGITS 16
/* Longest report_id kept in a name; longer ones are named "noid". */
#define ID_MAX 64
/* A spool file larger than this is not a report (the parser's default
 * cap is 64 KiB); it is not even read. */
#define FILE_MAX (1024 * 1024)

void osip_log(osi_log_fn *log, void *payload, enum osi_log_level level,
              const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log(level, line, payload);
}

/* OSI_EIO with "<what>: <strerror(e)>" and e as the cause. */
static enum osi_status io_error(struct osi_error *err, int e, const char *fmt,
                                ...) OSI_PRINTF(3, 4);
static enum osi_status io_error(struct osi_error *err, int e, const char *fmt,
                                ...)
{
    char what[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return osip_error_set(err, OSI_EIO, OSI_CAUSE_ERRNO, e, "%s: %s", what,
                          strerror(e));
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int mkdir_parents(char *path)
{
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

enum osi_status osip_spool_open(struct osip_spool *sp, const char *dir,
                                unsigned int max, osi_log_fn *log,
                                void *log_payload, struct osi_error *err)
{
    char probe[64];
    size_t n = strlen(dir);
    int fd, e;

    sp->dirfd = -1;
    sp->max = max;
    sp->last_ms = 0;
    sp->log = log;
    sp->log_payload = log_payload;
    sp->dir = osip_malloc(n + 1);
    if (sp->dir == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    memcpy(sp->dir, dir, n + 1);
    if (n == 0) {
        osip_spool_close(sp);
        return osip_fail(err, OSI_EINVAL, "the spool directory is empty");
    }
    if (mkdir_parents(sp->dir) != 0) {
        e = errno;
        io_error(err, e, "spool directory %s cannot be created", dir);
        osip_spool_close(sp);
        return OSI_EIO;
    }
    sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dirfd < 0) {
        e = errno;
        io_error(err, e, "spool directory %s", dir);
        osip_spool_close(sp);
        return OSI_EIO;
    }
    /* Being root or the owner says little (read-only mounts, ACLs,
     * quotas): only creating a file proves that spooling will work. */
    snprintf(probe, sizeof(probe), ".probe-%ld", (long)getpid());
    fd = openat(sp->dirfd, probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                0600);
    if (fd < 0 && errno == EEXIST) {
        unlinkat(sp->dirfd, probe, 0);
        fd = openat(sp->dirfd, probe,
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (fd < 0) {
        e = errno;
        io_error(err, e, "spool directory %s is not writable", dir);
        osip_spool_close(sp);
        return OSI_EIO;
    }
    close(fd);
    unlinkat(sp->dirfd, probe, 0);
    return OSI_OK;
}

void osip_spool_close(struct osip_spool *sp)
{
    if (sp->dirfd >= 0)
        close(sp->dirfd);
    sp->dirfd = -1;
    free(sp->dir);
    sp->dir = NULL;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_id_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '-';
}

/* "<16 digits>-<id>.json" with an id of letters, digits and '-'. */
static int entry_name_valid(const char *name)
{
    size_t len = strlen(name), i;

    if (len < MS_DIGITS + 1 + 1 + 5 || len >= OSIP_SPOOL_NAME_MAX ||
        strcmp(name + len - 5, ".json") != 0 || name[MS_DIGITS] != '-')
        return 0;
    for (i = 0; i < MS_DIGITS; i++)
        if (!is_digit(name[i]))
            return 0;
    for (i = MS_DIGITS + 1; i < len - 5; i++)
        if (!is_id_char(name[i]))
            return 0;
    return 1;
}

static uint64_t entry_ms(const char *name)
{
    uint64_t ms = 0;

    for (int i = 0; i < MS_DIGITS; i++)
        ms = ms * 10 + (uint64_t)(name[i] - '0');
    return ms;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void osip_spool_list_free(struct osip_spool_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->names[i]);
    free(list->names);
    list->names = NULL;
    list->count = 0;
}

enum osi_status osip_spool_list(struct osip_spool *sp,
                                struct osip_spool_list *out,
                                struct osi_error *err)
{
    size_t cap = 0;
    struct dirent *de;
    DIR *d;
    int fd, e;

    out->names = NULL;
    out->count = 0;
    /* A descriptor of its own: one dup()ed from dirfd would share the
     * read position. */
    fd = openat(sp->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        e = errno;
        if (fd >= 0)
            close(fd);
        return io_error(err, e, "spool directory %s", sp->dir);
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        size_t n;

        if (!entry_name_valid(de->d_name))
            continue;
        if (out->count == cap) {
            size_t bigger_cap = cap ? cap * 2 : 16;
            char **bigger = osip_realloc(out->names,
                                         bigger_cap * sizeof(*bigger));

            if (bigger == NULL)
                goto nomem;
            out->names = bigger;
            cap = bigger_cap;
        }
        n = strlen(de->d_name) + 1;
        out->names[out->count] = osip_malloc(n);
        if (out->names[out->count] == NULL)
            goto nomem;
        memcpy(out->names[out->count++], de->d_name, n);
    }
    e = errno;
    closedir(d);
    if (e != 0) {
        osip_spool_list_free(out);
        return io_error(err, e, "spool directory %s", sp->dir);
    }
    if (out->count > 1)
        qsort(out->names, out->count, sizeof(*out->names), cmp_names);
    if (out->count > 0 && entry_ms(out->names[out->count - 1]) > sp->last_ms)
        sp->last_ms = entry_ms(out->names[out->count - 1]);
    return OSI_OK;
nomem:
    closedir(d);
    osip_spool_list_free(out);
    return osip_fail(err, OSI_ENOMEM, "out of memory");
}

static int id_usable(const char *id)
{
    size_t n;

    if (id == NULL)
        return 0;
    n = strlen(id);
    if (n == 0 || n > ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_id_char(id[i]))
            return 0;
    return 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

enum osi_status osip_spool_put(struct osip_spool *sp, const char *json,
                               size_t len, const char *report_id,
                               unsigned int *dropped_out, char *name_out,
                               struct osi_error *err)
{
    char name[OSIP_SPOOL_NAME_MAX], tmp[OSIP_SPOOL_NAME_MAX + 32];
    struct osip_spool_list list;
    unsigned int dropped = 0;
    enum osi_status st;
    uint64_t ms;
    int fd, e;

    if (dropped_out != NULL)
        *dropped_out = 0;
    /* The names must sort in the order the reports were spooled, even
     * within one millisecond or after the clock stepped back: never older
     * than the newest entry there is (the listing updates last_ms). */
    st = osip_spool_list(sp, &list, err);
    if (st != OSI_OK)
        return st;
    ms = now_ms();
    if (ms <= sp->last_ms)
        ms = sp->last_ms + 1;
    snprintf(name, sizeof(name), "%0*" PRIu64 "-%s.json", MS_DIGITS, ms,
             id_usable(report_id) ? report_id : "noid");
    snprintf(tmp, sizeof(tmp), ".tmp-%ld-%s", (long)getpid(), name);

    fd = openat(sp->dirfd, tmp,
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        st = io_error(err, errno, "spool file %s/%s", sp->dir, tmp);
        goto out;
    }
    if (osip_write_all(fd, json, len) != 0 || fdatasync(fd) != 0) {
        e = errno;
        close(fd);
        unlinkat(sp->dirfd, tmp, 0);
        st = io_error(err, e, "spool file %s/%s", sp->dir, tmp);
        goto out;
    }
    if (close(fd) != 0 || renameat(sp->dirfd, tmp, sp->dirfd, name) != 0) {
        e = errno;
        unlinkat(sp->dirfd, tmp, 0);
        st = io_error(err, e, "spool file %s/%s", sp->dir, name);
        goto out;
    }
    if (fsync(sp->dirfd) != 0) {
        st = io_error(err, errno, "spool directory %s", sp->dir);
        goto out;
    }
    sp->last_ms = ms;
    if (name_out != NULL)
        memcpy(name_out, name, strlen(name) + 1);
    /* The bound is kept after the write, so that a failed write costs no
     * report: the listing plus the new entry, oldest dropped first. */
    for (size_t i = 0; i + sp->max < list.count + 1; i++) {
        if (unlinkat(sp->dirfd, list.names[i], 0) != 0 && errno != ENOENT) {
            osip_log(sp->log, sp->log_payload, OSI_LOG_WARNING,
                     "spool %s is full (%u reports) and its oldest, %s, "
                     "cannot be removed: %s", sp->dir, sp->max,
                     list.names[i], strerror(errno));
            break;
        }
        dropped++;
        osip_log(sp->log, sp->log_payload, OSI_LOG_WARNING,
                 "spool %s is full (%u reports): dropped the oldest, %s",
                 sp->dir, sp->max, list.names[i]);
    }
out:
    osip_spool_list_free(&list);
    if (dropped_out != NULL)
        *dropped_out = dropped;
    return st;
}

enum osi_status osip_spool_set_aside(struct osip_spool *sp, const char *name,
                                     const char *suffix,
                                     struct osi_error *err)
{
    char to[OSIP_SPOOL_NAME_MAX + 16];

    snprintf(to, sizeof(to), "%s%s", name, suffix);
    if (renameat(sp->dirfd, name, sp->dirfd, to) != 0)
        return io_error(err, errno, "spool file %s/%s", sp->dir, name);
    return OSI_OK;
}

enum osi_status osip_spool_remove(struct osip_spool *sp, const char *name,
                                  struct osi_error *err)
{
    if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
        return io_error(err, errno, "spool file %s/%s", sp->dir, name);
    return OSI_OK;
}

/* Read a whole regular file of at most FILE_MAX bytes. Returns OSI_EPARSE
 * for one that cannot be a report (not a regular file, too large). */
static enum osi_status read_entry(struct osip_spool *sp, const char *name,
                                  char **buf_out, size_t *len_out,
                                  struct osi_error *err)
{
    struct stat st;
    size_t len = 0;
    char *buf;
    int fd, e;

    fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return osip_fail(err, OSI_ENOTFOUND, "spool file %s/%s is gone",
                             sp->dir, name);
        if (errno == ELOOP)
            return osip_fail(err, OSI_EPARSE, "a symbolic link");
        return io_error(err, errno, "spool file %s/%s", sp->dir, name);
    }
    if (fstat(fd, &st) != 0) {
        e = errno;
        close(fd);
        return io_error(err, e, "spool file %s/%s", sp->dir, name);
    }
    if (!S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
        close(fd);
        return osip_fail(err, OSI_EPARSE, "not a regular file of at most %d "
                         "bytes", FILE_MAX);
    }
    buf = osip_malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            e = r < 0 ? errno : EIO;
            close(fd);
            free(buf);
            return io_error(err, e, "spool file %s/%s", sp->dir, name);
        }
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *buf_out = buf;
    *len_out = len;
    return OSI_OK;
}

enum osi_status osip_spool_get(struct osip_spool *sp, const char *name,
                               char **json_out, size_t *len_out,
                               struct osi_error *err)
{
    struct osi_report *report = NULL;
    struct osi_error why;
    enum osi_status st;
    char *buf = NULL;
    size_t len = 0;

    *json_out = NULL;
    *len_out = 0;
    st = read_entry(sp, name, &buf, &len, &why);
    if (st == OSI_OK) {
        st = osi_report_from_json(buf, len, NULL, &report, &why);
        osi_report_free(report);
        report = NULL;
    }
    if ((st == OSI_EPARSE || st == OSI_EINVAL) && buf != NULL) {
        /* jansson reports some allocation failures as syntax errors: a
         * file is called corrupt only when a second parse fails the same
         * way, never for a passing lack of memory. */
        struct osi_error again;
        enum osi_status st2 = osi_report_from_json(buf, len, NULL, &report,
                                                   &again);

        osi_report_free(report);
        if (st2 == OSI_OK || st2 == OSI_ENOMEM ||
            strcmp(again.message, why.message) != 0) {
            st = st2 == OSI_OK ? OSI_OK : OSI_ENOMEM;
            if (st == OSI_ENOMEM)
                osip_fail(&why, OSI_ENOMEM, "out of memory");
        }
    }
    if (st == OSI_OK) {
        *json_out = buf;
        *len_out = len;
        return OSI_OK;
    }
    free(buf);
    if (st != OSI_EPARSE && st != OSI_EINVAL) {
        if (err != NULL)
            *err = why;
        return st;
    }
    st = osip_spool_set_aside(sp, name, ".corrupt", err);
    if (st != OSI_OK)
        return st;
    osip_log(sp->log, sp->log_payload, OSI_LOG_WARNING,
             "spool file %s/%s is not a valid report (%s): moved aside to "
             "%s.corrupt", sp->dir, name, why.message, name);
    return osip_fail(err, OSI_EPARSE, "spool file %s/%s is not a valid "
                     "report: %s", sp->dir, name, why.message);
}

/* A copy of "<a><b>", or NULL when out of memory. */
static char *concat(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    char *s = osip_malloc(alen + blen + 1);

    if (s == NULL)
        return NULL;
    memcpy(s, a, alen);
    memcpy(s + alen, b, blen + 1);
    return s;
}

enum osi_status osi_spool_default_dir(char **out, struct osi_error *err)
{
    const char *v;
    char *s;

    OSIP_ASSERT_ARG(out != NULL, err);
    *out = NULL;
    /* systemd's StateDirectory= may list several, separated by ':'. */
    v = getenv("STATE_DIRECTORY");
    if (v != NULL && v[0] != '\0' && v[0] != ':')
        s = concat(v, strcspn(v, ":"), "/spool");
    else if ((v = getenv("XDG_STATE_HOME")) != NULL && v[0] == '/')
        s = concat(v, strlen(v), "/osinspect/spool");
    else if ((v = getenv("HOME")) != NULL && v[0] != '\0')
        s = concat(v, strlen(v), "/.local/state/osinspect/spool");
    else
        return osip_fail(err, OSI_ENOTFOUND,
                         "no place for the spool: none of STATE_DIRECTORY, "
                         "XDG_STATE_HOME and HOME is set");
    if (s == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    *out = s;
    return OSI_OK;
}
