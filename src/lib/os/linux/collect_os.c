/* SPDX-License-Identifier: MIT */
/* Placeholder until the section is written. */
#include "../../collect_int.h"

void osip_collect_os(struct osip_ctx *ctx)
{
    osip_sec_failed(ctx, "not collected yet");
}
