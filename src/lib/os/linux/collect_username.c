/* SPDX-License-Identifier: MIT */
/* Section "username": os_username, the login user of this process, or its
 * effective user when it has none (cron, systemd, setsid), by the root's
 * etc/passwd, else by NSS (getpwuid_r); never an error.
 * Not getlogin() (it reads utmp for the controlling terminal, and fails
 * without one: the original agent's crash under cron) nor $USER/$LOGNAME,
 * which any caller sets to anything. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../collect_int.h"

#define PW_BUF_FIRST 1024
#define PW_BUF_MAX (64 * 1024)
/* The validator's limit for os_username. */
#define MAX_NAME 256

/* Set os_username to name, the passwd name of uid. 0, or -1 with the
 * section marked partial when the report cannot carry it. */
static int set_name(struct osip_ctx *ctx, uid_t uid, const char *name)
{
    if (name[0] == '\0' || strlen(name) > MAX_NAME ||
        !osip_text_valid(name, 0)) {
        osip_sec_partial(ctx, "passwd name of uid %lu is not valid text",
                         (unsigned long)uid);
        return -1;
    }
    osip_set(ctx, ctx->report, "os_username", json_string(name));
    return 0;
}

/* The uid field of a passwd line, "name:password:uid:...", is uid: decimal
 * digits only, as NSS "files" reads them. */
static int line_has_uid(const char *line, const char *end, uid_t uid)
{
    const char *p = memchr(line, ':', (size_t)(end - line));
    unsigned long long v = 0;
    const char *digits;

    if (p == NULL || (p = memchr(p + 1, ':', (size_t)(end - p - 1))) == NULL)
        return 0;
    digits = ++p;
    while (p < end && *p >= '0' && *p <= '9' && v <= (uid_t)-1)
        v = v * 10 + (unsigned long long)(*p++ - '0');
    return p > digits && p < end && *p == ':' && v == uid;
}

/* Look uid up in the root's etc/passwd, the "files" source of NSS, without
 * loading NSS (nsswitch.conf, its modules, the nscd socket: most of the
 * section's time). 1 when found (os_username set, or the section partial),
 * 0 when not there (NSS may still know it: LDAP, sssd), -1 out of memory. */
static int passwd_file_name(struct osip_ctx *ctx, uid_t uid, int *set)
{
    char *text, *line, *next, *colon;
    size_t len;
    int r = osip_read_file(ctx, "etc/passwd", &text, &len);

    if (r == -ENOMEM)
        return -1;
    if (r < 0)
        return 0;
    r = 0;
    for (line = text; r == 0 && line < text + len; line = next) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));

        if (end == NULL)
            end = text + len;
        next = end + 1;
        /* "#" comments and NIS "+"/"-" entries are no one's name. */
        if (line[0] == '#' || line[0] == '+' || line[0] == '-' ||
            !line_has_uid(line, end, uid))
            continue;
        colon = memchr(line, ':', (size_t)(end - line));
        /* A NUL in the name would cut it: not the name either. */
        *colon = '\0';
        *set = set_name(ctx, uid,
                        strlen(line) == (size_t)(colon - line) ? line : "") ==
               0;
        r = 1;
    }
    free(text);
    return r;
}

/* Set os_username to the NSS passwd name of uid. 0, or -1 with the section
 * marked partial when there is no usable name. */
static int set_passwd_name(struct osip_ctx *ctx, uid_t uid)
{
    struct passwd pw, *found = NULL;
    size_t size = PW_BUF_FIRST;
    char *buf = NULL;
    int r, ok = -1;

    for (;;) {
        char *bigger = osip_realloc(buf, size);

        if (bigger == NULL) {
            free(buf);
            ctx->oom = 1;
            return -1;
        }
        buf = bigger;
        r = ctx->sys->getpwuid_r(ctx->sys->data, uid, &pw, buf, size, &found);
        if (r != ERANGE || size >= PW_BUF_MAX)
            break;
        size *= 2;
    }
    /* "Not found" is 0 with no result in glibc; NSS modules may say
     * ENOENT or ESRCH instead (getpwuid_r(3)). */
    if (found == NULL && (r == 0 || r == ENOENT || r == ESRCH))
        osip_sec_partial(ctx, "uid %lu has no passwd entry",
                         (unsigned long)uid);
    else if (found == NULL && r == ERANGE)
        osip_sec_partial(ctx, "passwd entry of uid %lu is over %d bytes",
                         (unsigned long)uid, PW_BUF_MAX);
    else if (found == NULL)
        osip_sec_partial(ctx, "getpwuid_r(%lu): %s", (unsigned long)uid,
                         strerror(r));
    else if (set_name(ctx, uid, pw.pw_name ? pw.pw_name : "") == 0)
        ok = 0;
    free(buf);
    return ok;
}

void osip_collect_username(struct osip_ctx *ctx)
{
    uid_t uid = ctx->sys->loginuid(ctx->sys->data);
    char num[32];
    int set = 0, found;

    if (uid == (uid_t)-1)
        uid = ctx->sys->geteuid(ctx->sys->data);
    found = passwd_file_name(ctx, uid, &set);
    if (found < 0 || set || (!found && set_passwd_name(ctx, uid) == 0))
        return;
    /* The number is still the user, and os_username must be set. */
    snprintf(num, sizeof(num), "%lu", (unsigned long)uid);
    osip_set(ctx, ctx->report, "os_username", json_string(num));
}
