/* SPDX-License-Identifier: MIT */
/* Section "username": os_username, the login user of this process, or its
 * effective user when it has none (cron, systemd, setsid); never an error.
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

/* Set os_username to the passwd name of uid. 0, or -1 with the section
 * marked partial when there is no usable name. */
static int set_passwd_name(struct osip_ctx *ctx, uid_t uid)
{
    struct passwd pw, *found = NULL;
    size_t size = PW_BUF_FIRST;
    const char *name = NULL;
    char *buf = NULL;
    int r;

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
    else if (pw.pw_name == NULL || pw.pw_name[0] == '\0' ||
             strlen(pw.pw_name) > MAX_NAME || !osip_text_valid(pw.pw_name, 0))
        osip_sec_partial(ctx, "passwd name of uid %lu is not valid text",
                         (unsigned long)uid);
    else
        name = pw.pw_name;
    if (name != NULL)
        osip_set(ctx, ctx->report, "os_username", json_string(name));
    free(buf);
    return name != NULL ? 0 : -1;
}

void osip_collect_username(struct osip_ctx *ctx)
{
    uid_t uid = ctx->sys->loginuid(ctx->sys->data);
    char num[32];

    if (uid == (uid_t)-1)
        uid = ctx->sys->geteuid(ctx->sys->data);
    if (set_passwd_name(ctx, uid) == 0)
        return;
    /* The number is still the user, and os_username must be set. */
    snprintf(num, sizeof(num), "%lu", (unsigned long)uid);
    osip_set(ctx, ctx->report, "os_username", json_string(num));
}
