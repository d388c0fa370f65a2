/* SPDX-License-Identifier: MIT */
/* Sections "kernel" (os_name, os_version, kernel) and "hostname". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../collect_int.h"

void osip_collect_kernel(struct osip_ctx *ctx)
{
    json_t *k;
    int r = osip_uname(ctx);

    if (r < 0) {
        osip_sec_failed(ctx, "uname: %s", strerror(-r));
        return;
    }
    osip_set(ctx, ctx->report, "os_name", json_string(ctx->uts.sysname));
    osip_set(ctx, ctx->report, "os_version", json_string(ctx->uts.release));
    k = osip_set(ctx, ctx->report, "kernel", json_object());
    osip_set(ctx, k, "name", json_string(ctx->uts.sysname));
    osip_set(ctx, k, "release", json_string(ctx->uts.release));
    osip_set(ctx, k, "version", json_string(ctx->uts.version));
    osip_set(ctx, k, "architecture", json_string(ctx->uts.machine));
}

/* Without a root, /proc/sys/kernel/hostname and uname() both show this
 * process's UTS namespace: uname() is one system call where the file
 * costs a /proc path walk and a sysctl handler (about 20 us). The kernel
 * takes any bytes as a host name: only text is kept. */
static void hostname_from_uname(struct osip_ctx *ctx)
{
    struct utsname u;
    int r;

    if (ctx->sys->uname(ctx->sys->data, &u) == 0 && u.nodename[0] != '\0' &&
        osip_text_valid(u.nodename, 0)) {
        osip_set(ctx, ctx->report, "hostname", json_string(u.nodename));
        return;
    }
    /* osip_uname's copy has '?' for bytes that are not text */
    r = osip_uname(ctx);
    if (r < 0) {
        osip_sec_failed(ctx, "uname: %s", strerror(-r));
        return;
    }
    if (ctx->uts.nodename[0] == '\0') {
        osip_sec_failed(ctx, "uname: node name empty");
        return;
    }
    osip_sec_partial(ctx, "uname: node name not valid text");
    osip_set(ctx, ctx->report, "hostname", json_string(ctx->uts.nodename));
}

/* Under a root, the file of that root (a fixture; --root /host); uname()
 * names the host or container the agent runs in: hence partial when it
 * stands in. */
void osip_collect_hostname(struct osip_ctx *ctx)
{
    const char *path = "proc/sys/kernel/hostname";
    char name[256], why[160];
    int r;

    if (ctx->root[0] == '\0') {
        hostname_from_uname(ctx);
        return;
    }
    r = osip_read_line(ctx, path, name, sizeof(name));
    if (r == 0 && name[0] != '\0' && osip_text_valid(name, 0)) {
        osip_set(ctx, ctx->report, "hostname", json_string(name));
        return;
    }
    if (r < 0)
        snprintf(why, sizeof(why), "/%s: %s", path, strerror(-r));
    else
        snprintf(why, sizeof(why), "/%s: %s", path,
                 name[0] == '\0' ? "empty" : "not valid text");
    r = osip_uname(ctx);
    if (r < 0) {
        osip_sec_failed(ctx, "%s; uname: %s", why, strerror(-r));
        return;
    }
    if (ctx->uts.nodename[0] == '\0' ||
        !osip_text_valid(ctx->uts.nodename, 0)) {
        osip_sec_failed(ctx, "%s; uname: node name empty or not valid text",
                        why);
        return;
    }
    osip_sec_partial(ctx, "%s; hostname from uname", why);
    osip_set(ctx, ctx->report, "hostname", json_string(ctx->uts.nodename));
}
