/* SPDX-License-Identifier: MIT */
/* Section "memory": RAM and swap from /proc/meminfo, in bytes. */
#include <stdlib.h>
#include <string.h>

#include "../../collect_int.h"

/* Find "Key:   123 kB" and return the value in bytes, or -1. */
static json_int_t meminfo_bytes(const char *text, const char *key)
{
    size_t klen = strlen(key);

    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *next = strchr(line, '\n');

        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            char *end;
            unsigned long long kb = strtoull(line + klen + 1, &end, 10);

            if (end == line + klen + 1)
                return -1;
            return (json_int_t)(kb * 1024);
        }
        line = next ? next + 1 : NULL;
    }
    return -1;
}

void osip_collect_memory(struct osip_ctx *ctx)
{
    static const struct {
        const char *json;
        const char *key;
    } fields[] = {
        { "total_bytes", "MemTotal" },
        { "available_bytes", "MemAvailable" },
        { "swap_total_bytes", "SwapTotal" },
        { "swap_free_bytes", "SwapFree" },
    };
    const char *path = "proc/meminfo";
    char *text;
    size_t len;
    json_t *mem;
    int r;

    r = osip_read_file(ctx, path, &text, &len);
    if (r < 0) {
        osip_sec_file_error(ctx, path, r, 1);
        return;
    }
    mem = osip_set(ctx, ctx->report, "memory", json_object());
    for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
        json_int_t v = meminfo_bytes(text, fields[i].key);

        /* Kernels before 3.14 have no MemAvailable: estimate it as the
         * kernel did then (free + buffers + page cache). */
        if (v < 0 && strcmp(fields[i].key, "MemAvailable") == 0) {
            json_int_t f = meminfo_bytes(text, "MemFree");
            json_int_t b = meminfo_bytes(text, "Buffers");
            json_int_t c = meminfo_bytes(text, "Cached");

            if (f >= 0 && b >= 0 && c >= 0) {
                v = f + b + c;
                osip_sec_partial(ctx, "MemAvailable estimated: no such "
                                      "line in /proc/meminfo");
            }
        }
        if (v < 0) {
            osip_sec_partial(ctx, "/%s: no %s line", path, fields[i].key);
            osip_set(ctx, mem, fields[i].json, json_null());
            continue;
        }
        osip_set(ctx, mem, fields[i].json, json_integer(v));
    }
    free(text);
}
