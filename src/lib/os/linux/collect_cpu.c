/* SPDX-License-Identifier: MIT */
/* Placeholder until the section is written. */
#include "../../collect_int.h"

void osip_collect_cpu(struct osip_ctx *ctx)
{
    osip_set(ctx, ctx->report, "cpu", json_string("unknown"));
    osip_sec_failed(ctx, "not collected yet");
}
