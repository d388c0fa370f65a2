/* SPDX-License-Identifier: MIT */
/* Sections "uptime" (uptime_seconds and boot_time: from the clocks, or
 * under a root from its /proc/uptime and /proc/stat's btime line) and
 * "load" (load_average, /proc/loadavg). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../collect_int.h"

/* The first field of /proc/uptime ("4711.93 18790.61"); reason on error. */
static int read_uptime(struct osip_ctx *ctx, double *out, char *why,
                       size_t size)
{
    const char *path = "proc/uptime";
    const char *end;
    char line[128];
    int r = osip_read_line(ctx, path, line, sizeof(line));

    if (r < 0) {
        snprintf(why, size, "/%s: %s", path, strerror(-r));
        return -1;
    }
    end = osip_parse_decimal(line, out);
    if (end == NULL || (*end != ' ' && *end != '\0')) {
        snprintf(why, size, "/%s: unexpected format", path);
        return -1;
    }
    return 0;
}

/* The "btime <seconds since the epoch>" line of /proc/stat as RFC 3339
 * UTC ("2026-01-02T01:00:00Z"): the kernel counts it in whole seconds. */
static int read_boot_time(struct osip_ctx *ctx, char *buf, size_t bufsize,
                          char *why, size_t size)
{
    const char *path = "proc/stat";
    char *text, *line, *next, *end;
    long long secs = -1;
    int found = 0;
    size_t len;
    int r = osip_read_file(ctx, path, &text, &len);

    if (r < 0) {
        snprintf(why, size, "/%s: %s", path, strerror(-r));
        return -1;
    }
    for (line = text; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            next++;
        if (strncmp(line, "btime ", 6) == 0) {
            found = 1;
            errno = 0;
            secs = strtoll(line + 6, &end, 10);
            if (errno != 0 || end == line + 6 ||
                (*end != '\n' && *end != '\0'))
                secs = -1;
            break;
        }
    }
    free(text);
    if (osip_format_utc_seconds(secs, buf, bufsize) != 0) {
        snprintf(why, size, "/%s: %s", path,
                 found ? "btime is not a time" : "no btime line");
        return -1;
    }
    return 0;
}

/* Seconds of CLOCK_BOOTTIME cut to hundredths, as /proc/uptime prints
 * them (and as the same division of the same digits parses them). */
static int clock_uptime(struct osip_ctx *ctx, double *out, char *why,
                        size_t size)
{
    struct timespec b;

    if (ctx->sys->clock_gettime(ctx->sys->data, CLOCK_BOOTTIME, &b) != 0) {
        snprintf(why, size, "clock_gettime: %s", strerror(errno));
        return -1;
    }
    *out = (double)((long long)b.tv_sec * 100 + b.tv_nsec / 10000000) / 100;
    return 0;
}

/* The kernel's btime is CLOCK_REALTIME minus CLOCK_BOOTTIME in whole
 * seconds, rounded down. The two clocks are read apart: the boot clock on
 * either side of the wall clock brackets the true difference, and when
 * both differences fall in the same second that second is btime's (else
 * a second boundary lay between the readings: read again). */
static int clock_boot_time(struct osip_ctx *ctx, char *buf, size_t bufsize,
                           char *why, size_t size)
{
    const struct osip_sys *sys = ctx->sys;
    long long secs = 0;
    int steady = 0;

    for (int tries = 0; tries < 4 && !steady; tries++) {
        struct timespec b1, r, b2;
        long long hi;

        if (sys->clock_gettime(sys->data, CLOCK_BOOTTIME, &b1) != 0 ||
            sys->clock_gettime(sys->data, CLOCK_REALTIME, &r) != 0 ||
            sys->clock_gettime(sys->data, CLOCK_BOOTTIME, &b2) != 0) {
            snprintf(why, size, "clock_gettime: %s", strerror(errno));
            return -1;
        }
        hi = (long long)r.tv_sec - b1.tv_sec - (r.tv_nsec < b1.tv_nsec);
        secs = (long long)r.tv_sec - b2.tv_sec - (r.tv_nsec < b2.tv_nsec);
        steady = hi == secs;
    }
    if (!steady || osip_format_utc_seconds(secs, buf, bufsize) != 0) {
        snprintf(why, size, "clock_gettime: %s",
                 steady ? "boot time is not a time"
                        : "the clocks moved apart while read");
        return -1;
    }
    return 0;
}

/* /proc/uptime and /proc/stat's btime are these clocks as the kernel
 * prints them, /proc/stat after a line per CPU and per interrupt: without
 * a root the clocks are read instead. A root's files are its own (a
 * host's /proc under --root /host, a fixture). */
void osip_collect_uptime(struct osip_ctx *ctx)
{
    char why_up[128], why_boot[128], boot[64];
    double up;
    int have_up, have_boot;

    if (ctx->root[0] == '\0') {
        have_up = clock_uptime(ctx, &up, why_up, sizeof(why_up)) == 0;
        have_boot = clock_boot_time(ctx, boot, sizeof(boot), why_boot,
                                    sizeof(why_boot)) == 0;
    } else {
        have_up = read_uptime(ctx, &up, why_up, sizeof(why_up)) == 0;
        have_boot = read_boot_time(ctx, boot, sizeof(boot), why_boot,
                                   sizeof(why_boot)) == 0;
    }

    osip_set(ctx, ctx->report, "uptime_seconds",
             have_up ? json_real(up) : json_null());
    osip_set(ctx, ctx->report, "boot_time",
             have_boot ? json_string(boot) : json_null());
    if (!have_up && !have_boot)
        osip_sec_failed(ctx, "%s; %s", why_up, why_boot);
    else if (!have_up)
        osip_sec_partial(ctx, "%s", why_up);
    else if (!have_boot)
        osip_sec_partial(ctx, "%s", why_boot);
}

/* "0.52 0.58 0.59 3/467 123456": the 1, 5 and 15 minute averages. */
void osip_collect_load(struct osip_ctx *ctx)
{
    const char *path = "proc/loadavg";
    const char *p;
    char line[128];
    double avg[3];
    json_t *arr;
    int r = osip_read_line(ctx, path, line, sizeof(line));

    if (r < 0) {
        osip_sec_file_error(ctx, path, r, 1);
        return;
    }
    p = osip_parse_decimal(line, &avg[0]);
    for (size_t i = 1; i < 3 && p != NULL; i++)
        p = *p == ' ' ? osip_parse_decimal(p + 1, &avg[i]) : NULL;
    if (p == NULL || (*p != ' ' && *p != '\0')) {
        osip_sec_failed(ctx, "/%s: unexpected format", path);
        return;
    }
    arr = osip_set(ctx, ctx->report, "load_average", json_array());
    for (size_t i = 0; i < 3; i++)
        osip_append(ctx, arr, json_real(avg[i]));
}
