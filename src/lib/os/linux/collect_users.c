/* SPDX-License-Identifier: MIT */
/* Section "users": logged-in sessions, from systemd-logind's session files
 * first and utmp second (new distributions stop writing utmp). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmp.h>

#include "../../collect_int.h"

#define LOGIND_SESSIONS "run/systemd/sessions"
#define UTMP_PATH "run/utmp"

/* One logind session, kept until all are read so they can be sorted. */
struct session {
    long long realtime_us; /* -1 when unknown */
    char id[65];
    json_t *obj;
};

/* A string, or null when absent, empty or not UTF-8. */
static json_t *text_or_null(const char *s)
{
    return s == NULL || *s == '\0' ? json_null() : osip_json_text(s);
}

static json_t *time_or_null(long long sec)
{
    char buf[32];

    if (osip_format_utc_seconds(sec, buf, sizeof(buf)) != 0)
        return json_null();
    return json_string(buf);
}

static json_t *user_object(struct osip_ctx *ctx, const char *name,
                           const char *tty, const char *host, long long sec,
                           const char *source)
{
    json_t *u = json_object();

    osip_set(ctx, u, "name", text_or_null(name));
    osip_set(ctx, u, "tty", text_or_null(tty));
    osip_set(ctx, u, "remote_host", text_or_null(host));
    osip_set(ctx, u, "login_time", time_or_null(sec));
    osip_set(ctx, u, "source", json_string(source));
    return u;
}

/* The keys of a session file that are used. */
struct session_keys {
    char *user, *tty, *remote_host, *realtime, *class, *state;
};

/* Undo the shell quoting logind applies to values with special
 * characters ("a b", "x\"y"), in place. */
static char *unquote(char *v)
{
    char *out = v;

    if (*v != '"')
        return v;
    for (char *p = v + 1; *p != '\0' && *p != '"'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        *out++ = *p;
    }
    *out = '\0';
    return v;
}

/* Split the KEY=VALUE lines of a session file (modified in place). */
static void parse_session(char *text, struct session_keys *k)
{
    char *line, *next;

    memset(k, 0, sizeof(*k));
    for (line = text; line != NULL && *line != '\0'; line = next) {
        char *eq;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        if (strcmp(line, "USER") == 0)
            k->user = unquote(eq + 1);
        else if (strcmp(line, "TTY") == 0)
            k->tty = unquote(eq + 1);
        else if (strcmp(line, "REMOTE_HOST") == 0)
            k->remote_host = unquote(eq + 1);
        else if (strcmp(line, "REALTIME") == 0)
            k->realtime = eq + 1;
        else if (strcmp(line, "CLASS") == 0)
            k->class = eq + 1;
        else if (strcmp(line, "STATE") == 0)
            k->state = eq + 1;
    }
}

/* Interactive user sessions: CLASS=user and, since systemd 256, its
 * variants (user-early, user-light, ...). Greeters, lock screens,
 * background and manager sessions are nobody at a keyboard. Files from
 * before CLASS= was written have none. */
static int is_user_class(const char *cls)
{
    return cls == NULL || strcmp(cls, "user") == 0 ||
           strncmp(cls, "user-", 5) == 0;
}

/* Read one session file; s->obj stays NULL when it is not a session to
 * list. */
static void read_session(struct osip_ctx *ctx, const char *id,
                        struct session *s)
{
    char path[sizeof(LOGIND_SESSIONS) + sizeof(s->id) + 1];
    struct session_keys k;
    char *text, *tty;
    size_t len;
    int r;

    s->obj = NULL;
    snprintf(path, sizeof(path), "%s/%s", LOGIND_SESSIONS, id);
    snprintf(s->id, sizeof(s->id), "%s", id);
    r = osip_read_file(ctx, path, &text, &len);
    if (r == -ENOENT) /* the session ended since the directory was read */
        return;
    if (r < 0) {
        osip_sec_file_error(ctx, path, r, 0);
        return;
    }
    parse_session(text, &k);
    if (!is_user_class(k.class) ||
        (k.state != NULL && strcmp(k.state, "closing") == 0)) {
        free(text);
        return;
    }
    if (k.user == NULL) {
        osip_sec_partial(ctx, "/%s: no USER=", path);
        free(text);
        return;
    }
    tty = k.tty;
    if (tty != NULL && strncmp(tty, "/dev/", 5) == 0)
        tty += 5;
    s->realtime_us = -1;
    if (k.realtime != NULL) {
        char *end;
        unsigned long long us;

        errno = 0;
        us = strtoull(k.realtime, &end, 10);
        if (errno == 0 && end != k.realtime && *end == '\0' &&
            us <= INT64_MAX)
            s->realtime_us = (long long)us;
    }
    s->obj = user_object(ctx, k.user, tty, k.remote_host,
                         s->realtime_us < 0 ? 0 : s->realtime_us / 1000000,
                         "logind");
    free(text);
}

static int session_cmp(const void *a, const void *b)
{
    const struct session *x = a, *y = b;

    if (x->realtime_us != y->realtime_us)
        return x->realtime_us < y->realtime_us ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Session files are named by the session id, letters and digits ("3",
 * "c12"); logind also keeps a FIFO "<id>.ref" beside each, which must
 * never be opened (it blocks). The entry's type says whether it is a
 * regular file, except on file systems that leave it DT_UNKNOWN. */
static int is_session_file(int dfd, const struct dirent64 *de)
{
    const char *name = de->d_name;
    struct stat st;
    size_t n = strlen(name);

    if (n == 0 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789") != n)
        return 0;
    if (de->d_type != DT_UNKNOWN)
        return de->d_type == DT_REG;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode);
}

/* Read the session files of one batch of directory entries into list.
 * 0, or -ENOMEM. */
static int read_sessions(struct osip_ctx *ctx, int dfd, const char *ents,
                         size_t len, struct session **list, size_t *n,
                         size_t *cap)
{
    for (size_t off = 0; off < len;) {
        const struct dirent64 *de =
            (const struct dirent64 *)(const void *)(ents + off);
        struct session *bigger;

        off += de->d_reclen;
        if (!is_session_file(dfd, de))
            continue;
        bigger = osip_grow(*list, *n, cap, sizeof(**list), 8);
        if (bigger == NULL)
            return -ENOMEM;
        *list = bigger;
        read_session(ctx, de->d_name, &(*list)[*n]);
        if ((*list)[*n].obj != NULL)
            (*n)++;
    }
    return 0;
}

/* Returns 1 when the directory exists, 0 when it does not. The entries
 * are read with getdents64 into a buffer on the stack: opendir would
 * allocate 32 KiB and make three more system calls for a directory that
 * holds a few names. */
static int add_logind(struct osip_ctx *ctx, json_t *users)
{
    union {
        struct dirent64 align;
        char bytes[4096];
    } buf;
    struct session *list = NULL;
    size_t n = 0, cap = 0;
    int fd;

    fd = osip_open(ctx, LOGIND_SESSIONS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -ENOENT || fd == -ENOTDIR)
        return 0;
    if (fd < 0) {
        osip_sec_file_error(ctx, LOGIND_SESSIONS, fd, 0);
        return 1;
    }
    for (;;) {
        ssize_t got = getdents64(fd, buf.bytes, sizeof(buf.bytes));

        if (got < 0) {
            osip_sec_file_error(ctx, LOGIND_SESSIONS, -errno, 0);
            break;
        }
        if (got == 0)
            break;
        if (read_sessions(ctx, fd, buf.bytes, (size_t)got, &list, &n,
                          &cap) != 0) {
            ctx->oom = 1;
            break;
        }
    }
    close(fd);
    if (n > 0)
        qsort(list, n, sizeof(*list), session_cmp);
    for (size_t i = 0; i < n; i++)
        osip_append(ctx, users, list[i].obj);
    free(list);
    return 1;
}

/* Is (name, tty) already listed? */
static int listed(json_t *users, const char *name, const char *tty)
{
    size_t i;
    json_t *u;

    json_array_foreach(users, i, u) {
        const char *n = json_string_value(json_object_get(u, "name"));
        const char *t = json_string_value(json_object_get(u, "tty"));

        if (n != NULL && strcmp(n, name) == 0 &&
            ((t == NULL && tty[0] == '\0') ||
             (t != NULL && strcmp(t, tty) == 0)))
            return 1;
    }
    return 0;
}

/* Copy a fixed-size utmp field, which need not end in NUL. */
static void field(char *dst, size_t dsize, const char *src, size_t ssize)
{
    size_t n = strnlen(src, ssize);

    if (n >= dsize)
        n = dsize - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Returns 1 when utmp exists, 0 when it does not. */
static int add_utmp(struct osip_ctx *ctx, json_t *users)
{
    char *data;
    size_t len;
    int r;

    r = osip_read_file(ctx, UTMP_PATH, &data, &len);
    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r < 0) {
        osip_sec_file_error(ctx, UTMP_PATH, r, 0);
        return 1;
    }
    for (size_t off = 0; off + sizeof(struct utmp) <= len;
         off += sizeof(struct utmp)) {
        struct utmp ut;
        char name[sizeof(ut.ut_user) + 1], line[sizeof(ut.ut_line) + 1];
        char host[sizeof(ut.ut_host) + 1];

        memcpy(&ut, data + off, sizeof(ut));
        if (ut.ut_type != USER_PROCESS)
            continue;
        field(name, sizeof(name), ut.ut_user, sizeof(ut.ut_user));
        field(line, sizeof(line), ut.ut_line, sizeof(ut.ut_line));
        field(host, sizeof(host), ut.ut_host, sizeof(ut.ut_host));
        if (name[0] == '\0' || listed(users, name, line))
            continue;
        osip_append(ctx, users,
                    user_object(ctx, name, line, host, ut.ut_tv.tv_sec,
                                "utmp"));
    }
    free(data);
    return 1;
}

void osip_collect_users(struct osip_ctx *ctx)
{
    json_t *users = osip_set(ctx, ctx->report, "users", json_array());
    int have_logind, have_utmp;

    if (users == NULL)
        return;
    have_logind = add_logind(ctx, users);
    have_utmp = add_utmp(ctx, users);
    if (!have_logind && !have_utmp)
        osip_sec_partial(ctx, "no /%s and no /%s", LOGIND_SESSIONS, UTMP_PATH);
}
