/* SPDX-License-Identifier: MIT */
/* Section "cpu": cpu (the model, never empty) and cpu_info, from
 * /proc/cpuinfo, whose keys differ per architecture. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../collect_int.h"

/* Report strings are capped (the validator allows 512 bytes for cpu);
 * a longer model name is not one. */
#define MAX_MODEL 256

/* Keys naming the model, best first: x86; the Raspberry Pi kernel (the
 * mainline arm64 kernel prints none of these); MIPS; PowerPC; RISC-V;
 * 32-bit ARM. */
static const char *const model_keys[] = {
    "model name", "Hardware", "cpu model", "cpu", "uarch", "Processor",
};
#define NMODEL_KEYS (sizeof(model_keys) / sizeof(*model_keys))

/* Topology of one "processor" block; -1 when the block does not say. */
struct cpu_topo {
    long phys;
    long core;
};

struct cpuinfo {
    const char *model;
    size_t model_rank;  /* index in model_keys of the key model came from */
    const char *vendor;
    const char *mhz;
    size_t nproc;       /* "processor" lines */
    struct cpu_topo *topo;
    size_t cap;
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static long parse_id(const char *s)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    return errno != 0 || *end != '\0' ? -1 : v;
}

static int add_processor(struct cpuinfo *ci)
{
    struct cpu_topo *topo = osip_grow(ci->topo, ci->nproc, &ci->cap,
                                      sizeof(*topo), 64);

    if (topo == NULL)
        return -ENOMEM;
    ci->topo = topo;
    ci->topo[ci->nproc].phys = -1;
    ci->topo[ci->nproc].core = -1;
    ci->nproc++;
    return 0;
}

/* One "key<blanks>: value" line. Values point into the text. */
static int cpuinfo_line(struct cpuinfo *ci, const char *key, const char *val)
{
    if (strcmp(key, "processor") == 0)
        return add_processor(ci);
    if (strcmp(key, "physical id") == 0 && ci->nproc > 0)
        ci->topo[ci->nproc - 1].phys = parse_id(val);
    else if (strcmp(key, "core id") == 0 && ci->nproc > 0)
        ci->topo[ci->nproc - 1].core = parse_id(val);
    else if (strcmp(key, "vendor_id") == 0 && ci->vendor == NULL)
        ci->vendor = val;
    else if (strcmp(key, "cpu MHz") == 0 && ci->mhz == NULL)
        ci->mhz = val;
    for (size_t i = 0; i < ci->model_rank; i++) {
        if (strcmp(key, model_keys[i]) == 0 && val[0] != '\0') {
            ci->model = val;
            ci->model_rank = i;
            break;
        }
    }
    return 0;
}

/* Split text (modified in place) into key/value lines. 0 or -ENOMEM. */
static int parse_cpuinfo(char *text, struct cpuinfo *ci)
{
    char *line = text;

    ci->model_rank = NMODEL_KEYS;
    while (line != NULL) {
        char *next = strchr(line, '\n');
        char *colon, *key_end, *val, *val_end;

        if (next != NULL)
            *next++ = '\0';
        colon = strchr(line, ':');
        if (colon != NULL) {
            key_end = colon;
            while (key_end > line && is_blank(key_end[-1]))
                key_end--;
            *key_end = '\0';
            val = colon + 1;
            while (is_blank(*val))
                val++;
            val_end = val + strlen(val);
            while (val_end > val && is_blank(val_end[-1]))
                *--val_end = '\0';
            if (cpuinfo_line(ci, line, val) < 0)
                return -ENOMEM;
        }
        line = next;
    }
    return 0;
}

static int topo_cmp(const void *a, const void *b)
{
    const struct cpu_topo *x = a, *y = b;

    if (x->phys != y->phys)
        return x->phys < y->phys ? -1 : 1;
    if (x->core != y->core)
        return x->core < y->core ? -1 : 1;
    return 0;
}

/* Distinct physical ids and (physical id, core id) pairs, each -1 unless
 * every processor block gives them (arm64 gives neither). */
static void count_topology(struct cpuinfo *ci, json_int_t *sockets,
                           json_int_t *cores)
{
    int have_cores = 1;
    json_int_t s = 1, c = 1;

    *sockets = -1;
    *cores = -1;
    if (ci->nproc == 0)
        return;
    for (size_t i = 0; i < ci->nproc; i++) {
        if (ci->topo[i].phys < 0)
            return;
        if (ci->topo[i].core < 0)
            have_cores = 0;
    }
    qsort(ci->topo, ci->nproc, sizeof(*ci->topo), topo_cmp);
    for (size_t i = 1; i < ci->nproc; i++) {
        if (ci->topo[i].phys != ci->topo[i - 1].phys) {
            s++;
            c++;
        } else if (ci->topo[i].core != ci->topo[i - 1].core) {
            c++;
        }
    }
    *sockets = s;
    if (have_cores)
        *cores = c;
}

/* CPUs in the kernel's list format ("0-3,5"); -1 when malformed. */
static json_int_t count_cpulist(const char *s)
{
    json_int_t n = 0;

    for (;;) {
        unsigned long a, b;
        char *end;

        if (*s < '0' || *s > '9')
            return -1;
        a = b = strtoul(s, &end, 10);
        if (*end == '-') {
            s = end + 1;
            if (*s < '0' || *s > '9')
                return -1;
            b = strtoul(s, &end, 10);
        }
        if (b < a || b - a >= 1u << 20)
            return -1;
        n += (json_int_t)(b - a + 1);
        if (*end == '\0')
            return n;
        if (*end != ',')
            return -1;
        s = end + 1;
    }
}

/* No "processor" lines (s390x writes "processor 0: ..."): count the
 * online CPUs instead. */
static json_int_t online_cpus(struct osip_ctx *ctx)
{
    const char *path = "sys/devices/system/cpu/online";
    char *text, *end;
    size_t len;
    json_int_t n;
    int r;

    r = osip_read_file(ctx, path, &text, &len);
    if (r < 0) {
        osip_sec_file_error(ctx, path, r, 0);
        return -1;
    }
    end = text + len;
    while (end > text && (is_blank(end[-1]) || end[-1] == '\n'))
        *--end = '\0';
    n = count_cpulist(text);
    if (n < 0)
        osip_sec_partial(ctx, "/%s: not a CPU list", path);
    free(text);
    return n;
}

/* cpu is one of the original's six fields: never null, never empty.
 * Without a model name it is uname's machine ("aarch64"), which says
 * less but is true, and "unknown" only when even that is missing. */
static void set_cpu(struct osip_ctx *ctx, const char *model)
{
    int r;

    if (model == NULL) {
        r = osip_uname(ctx);
        if (r < 0)
            osip_sec_partial(ctx, "uname: %s", strerror(-r));
        else if (ctx->uts.machine[0] != '\0' &&
                 osip_text_valid(ctx->uts.machine, 0))
            model = ctx->uts.machine;
        else
            osip_sec_partial(ctx, "uname: machine empty or not valid text");
    }
    osip_set(ctx, ctx->report, "cpu",
             json_string(model != NULL ? model : "unknown"));
}

static json_t *int_or_null(json_int_t v)
{
    return v < 0 ? json_null() : json_integer(v);
}

void osip_collect_cpu(struct osip_ctx *ctx)
{
    const char *path = "proc/cpuinfo";
    struct cpuinfo ci = { 0 };
    const char *model, *vendor;
    json_int_t logical, sockets, cores;
    double mhz;
    char *text;
    size_t len;
    json_t *info;
    int r;

    r = osip_read_file(ctx, path, &text, &len);
    if (r < 0) {
        osip_sec_file_error(ctx, path, r, 1);
        set_cpu(ctx, NULL);
        return;
    }
    if (parse_cpuinfo(text, &ci) < 0) {
        ctx->oom = 1;
        goto out;
    }

    model = ci.model;
    if (model == NULL) {
        osip_sec_partial(ctx, "no model name in /%s", path);
    } else if (strlen(model) > MAX_MODEL || !osip_text_valid(model, 0)) {
        osip_sec_partial(ctx, "/%s: %s is not valid text", path,
                         model_keys[ci.model_rank]);
        model = NULL;
    }
    set_cpu(ctx, model);

    vendor = ci.vendor;
    if (vendor != NULL && !osip_text_valid(vendor, 0)) {
        osip_sec_partial(ctx, "/%s: vendor_id is not valid text", path);
        vendor = NULL;
    }
    logical = ci.nproc > 0 ? (json_int_t)ci.nproc : online_cpus(ctx);
    count_topology(&ci, &sockets, &cores);
    if (ci.mhz != NULL) {
        const char *end = osip_parse_decimal(ci.mhz, &mhz);

        if (end == NULL || *end != '\0') {
            osip_sec_partial(ctx, "/%s: cpu MHz is not a number", path);
            ci.mhz = NULL;
        }
    }

    info = osip_set(ctx, ctx->report, "cpu_info", json_object());
    osip_set(ctx, info, "model",
             model != NULL ? json_string(model) : json_null());
    osip_set(ctx, info, "vendor",
             vendor != NULL ? json_string(vendor) : json_null());
    osip_set(ctx, info, "logical_cores", int_or_null(logical));
    osip_set(ctx, info, "physical_cores", int_or_null(cores));
    osip_set(ctx, info, "sockets", int_or_null(sockets));
    osip_set(ctx, info, "mhz", ci.mhz != NULL ? json_real(mhz) : json_null());
out:
    free(ci.topo);
    free(text);
}
