/* SPDX-License-Identifier: MIT */
/* Placeholder until the section is written. */
#include "../../collect_int.h"

void osip_collect_network(struct osip_ctx *ctx)
{
    osip_set(ctx, ctx->report, "server_ip", json_string("127.0.0.1"));
    osip_sec_failed(ctx, "not collected yet");
}
