/* SPDX-License-Identifier: MIT */
/* Sections "kernel" (os_name, os_version, kernel) and "hostname". */
#include <errno.h>
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

void osip_collect_hostname(struct osip_ctx *ctx)
{
    osip_sec_failed(ctx, "not collected yet");
}
