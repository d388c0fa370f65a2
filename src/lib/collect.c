/* SPDX-License-Identifier: MIT */
/* osi_collect: runs each section, times it, records its status, and adds
 * the fields that belong to the report rather than to a section. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "collect_int.h"

static const struct {
    const char *name;
    void (*fn)(struct osip_ctx *ctx);
} sections[] = {
    { "kernel", osip_collect_kernel },
    { "hostname", osip_collect_hostname },
    { "os", osip_collect_os },
    { "cpu", osip_collect_cpu },
    { "memory", osip_collect_memory },
    { "uptime", osip_collect_uptime },
    { "load", osip_collect_load },
    { "disks", osip_collect_disks },
    { "network", osip_collect_network },
    { "users", osip_collect_users },
    { "username", osip_collect_username },
    { "identity", osip_collect_identity },
    { "container", osip_collect_container },
};

/* Top-level fields in the order they are printed: the six fields of the
 * original first. Each starts as null ("not read") until set. */
static const char *const field_order[] = {
    "cpu", "os_username", "os_name", "server_ip", "timestamp", "os_version",
    "schema_version", "agent_version", "report_id", "collected_at",
    "hostname", "os", "kernel", "cpu_info", "memory", "uptime_seconds",
    "boot_time", "load_average", "disks", "network", "users", "identity",
    "container", "collection",
};

static const char *const status_names[] = { "full", "partial", "failed" };

enum osi_status osi_collect_options_init(struct osi_collect_options *opts,
                                         unsigned int version)
{
    static const struct osi_collect_options defaults =
        OSI_COLLECT_OPTIONS_INIT;

    if (opts == NULL || version != OSI_COLLECT_OPTIONS_VERSION)
        return OSI_EINVAL;
    *opts = defaults;
    return OSI_OK;
}

/* jansson seeds its hash function when it makes its first object, from
 * /dev/urandom (open, read, close); getrandom is one system call. Once
 * seeded, json_object_seed does nothing. */
static void seed_json_hash(void)
{
    size_t seed = 0;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) ==
            (ssize_t)sizeof(seed) &&
        seed != 0)
        json_object_seed(seed);
}

static int64_t mono_us(const struct osip_ctx *ctx)
{
    struct timespec ts = { 0, 0 };

    ctx->sys->clock_gettime(ctx->sys->data, CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A version 4 UUID: random, unique per report, safe in a storage key. */
static int make_report_id(struct osip_ctx *ctx, char *buf, size_t size)
{
    unsigned char b[16];

    if (ctx->sys->random(ctx->sys->data, b, sizeof(b)) != 0)
        return -errno;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(buf, size,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

/* The report-level fields: schema, agent, id and the two clocks. */
static enum osi_status set_envelope(struct osip_ctx *ctx,
                                    struct osi_error *err)
{
    struct timespec now = { 0, 0 };
    struct tm tm;
    char buf[64];
    json_t *r = ctx->report;

    if (make_report_id(ctx, buf, sizeof(buf)) != 0)
        return osip_error_set(err, OSI_EIO, OSI_CAUSE_ERRNO, errno,
                              "no random bytes for the report id: %s",
                              strerror(errno));
    osip_set(ctx, r, "report_id", json_string(buf));
    osip_set(ctx, r, "schema_version", json_integer(OSI_SCHEMA_VERSION));
    osip_set(ctx, r, "agent_version", json_string(OSI_VERSION_STRING));

    ctx->sys->clock_gettime(ctx->sys->data, CLOCK_REALTIME, &now);
    osip_format_rfc3339(&now, buf, sizeof(buf));
    osip_set(ctx, r, "collected_at", json_string(buf));
    /* The original's timestamp: local time, seconds, no zone. */
    if (ctx->sys->localtime_r(ctx->sys->data, &now.tv_sec, &tm) == NULL ||
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
        osip_format_rfc3339(&now, buf, sizeof(buf));
    osip_set(ctx, r, "timestamp", json_string(buf));
    return OSI_OK;
}

static void run_sections(struct osip_ctx *ctx, json_t *out)
{
    for (size_t i = 0; i < sizeof(sections) / sizeof(*sections); i++) {
        int64_t t0, t1;
        json_t *s;

        ctx->status = OSIP_SEC_FULL;
        ctx->reason[0] = '\0';
        t0 = mono_us(ctx);
        sections[i].fn(ctx);
        t1 = mono_us(ctx);

        s = osip_set(ctx, out, sections[i].name, json_object());
        osip_set(ctx, s, "status", json_string(status_names[ctx->status]));
        if (ctx->status != OSIP_SEC_FULL)
            osip_set(ctx, s, "reason", json_string(ctx->reason));
        osip_set(ctx, s, "duration_us", json_integer(t1 - t0));
    }
}

enum osi_status osip_collect_with(const char *root, const struct osip_sys *sys,
                                  struct osi_report **out,
                                  struct osi_error *err)
{
    struct osip_ctx ctx;
    json_t *collection, *secs;
    enum osi_status st;
    int64_t t0;
    size_t n;

    OSIP_ASSERT_ARG(out != NULL, err);
    *out = NULL;
    if (root == NULL || root[0] == '\0')
        root = "/";
    n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n >= sizeof(ctx.root))
        return osip_fail(err, OSI_EINVAL, "root: path too long");

    memset(&ctx, 0, sizeof(ctx));
    ctx.sys = sys;
    if (!(n == 1 && root[0] == '/'))
        memcpy(ctx.root, root, n);
    ctx.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ctx.rootfd < 0)
        return osip_error_set(err, OSI_EIO, OSI_CAUSE_ERRNO, errno,
                              "root %s: %s", root, strerror(errno));
    seed_json_hash();
    ctx.report = json_object();
    if (ctx.report == NULL) {
        close(ctx.rootfd);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < sizeof(field_order) / sizeof(*field_order); i++)
        osip_set(&ctx, ctx.report, field_order[i], json_null());

    t0 = mono_us(&ctx);
    collection = osip_set(&ctx, ctx.report, "collection", json_object());
    secs = json_object();
    run_sections(&ctx, secs);
    osip_set(&ctx, collection, "duration_us", json_integer(mono_us(&ctx) - t0));
    osip_set(&ctx, collection, "sections", secs);

    st = set_envelope(&ctx, err);
    close(ctx.rootfd);
    if (st == OSI_OK && ctx.oom)
        st = osip_fail(err, OSI_ENOMEM, "out of memory");
    /* Collection promises a report the API accepts: check it like one. */
    if (st == OSI_OK)
        st = osip_report_validate(ctx.report, err);
    if (st != OSI_OK) {
        json_decref(ctx.report);
        return st;
    }
    return osip_report_wrap(ctx.report, out, err);
}

enum osi_status osi_collect(const struct osi_collect_options *opts,
                            struct osi_report **out, struct osi_error *err)
{
    const char *root = NULL;

    if (opts != NULL) {
        if (opts->version != OSI_COLLECT_OPTIONS_VERSION)
            return osip_fail(err, OSI_EINVAL,
                             "unknown collect options version %u",
                             opts->version);
        root = opts->root;
    }
    return osip_collect_with(root, &osip_sys_default, out, err);
}
