/* SPDX-License-Identifier: MIT */
/* osi_collect: runs the sections, on the calling thread and one of its
 * own, times each, records its status, and adds the fields that belong to
 * the report rather than to a section. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
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

#define N_SECTIONS (sizeof(sections) / sizeof(*sections))

/* The order in which sections are taken: the calling thread takes them
 * from the front, its threads from the back. The slowest come first (as
 * measured on Linux 6: network's three netlink dumps, disks' mountinfo and
 * statvfs calls, cpuinfo): the caller starts at once on the long ones,
 * while a thread of its own, which starts later and may be kept waiting
 * for a CPU, takes short ones and never holds up the end for long. Indexes
 * into sections[]. */
static const unsigned char run_order[] = {
    8, 7, 3, 9, 11, 5, 4, 10, 2, 1, 12, 6, 0,
};

_Static_assert(sizeof(run_order) == N_SECTIONS,
               "run_order names each section once");
_Static_assert(N_SECTIONS < 256, "the queue's ends fit in a byte each");

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

/* What one section left: its fields (an object merged into the report in
 * the report's order once every section has ended) and its status. */
struct section_result {
    json_t *fields;
    enum osip_sec_status status;
    char reason[sizeof(((struct osip_ctx *)0)->reason)];
    int64_t duration_us;
};

struct section_run;

struct worker {
    struct section_run *run;
    struct osip_ctx ctx;          /* this thread's own */
    pthread_t thread;
};

/* One collection's sections and the threads that run them. */
struct section_run {
    /* run_order[front..back) is still to take: front in the low byte,
     * back in the next one, changed together */
    atomic_uint ends;
    sem_t done;                   /* posted by each worker when it ends */
    unsigned int started;         /* workers running */
    int pinned;                   /* started off the caller's CPU */
    cpu_set_t cpus;               /* the CPUs the caller may run on */
    struct worker workers[OSIP_COLLECT_MAX_THREADS];
    struct section_result results[N_SECTIONS];
};

/* The next section to run, from the front or the back of run_order, or
 * -1 when none is left. */
static int take(struct section_run *run, int front)
{
    unsigned int e = atomic_load_explicit(&run->ends, memory_order_relaxed);

    for (;;) {
        unsigned int f = e & 0xffu, b = e >> 8;

        if (f >= b)
            return -1;
        if (atomic_compare_exchange_weak_explicit(
                &run->ends, &e, front ? (f + 1) | b << 8 : f | (b - 1) << 8,
                memory_order_relaxed, memory_order_relaxed))
            return run_order[front ? f : b - 1];
    }
}

/* Runs sections until none is left, each with ctx->report pointing at the
 * section's own fields object: no two threads write the same JSON value,
 * the same result or the same context. The sections call strerror on
 * these threads: glibc's is thread-safe (since 2.32: a thread's own
 * buffer for unknown numbers), and so is musl's (static text). */
static void take_sections(struct section_run *run, struct osip_ctx *ctx,
                          int front)
{
    int i;

    while ((i = take(run, front)) >= 0) {
        struct section_result *res = &run->results[i];
        int64_t t0;

        ctx->report = res->fields;
        ctx->status = OSIP_SEC_FULL;
        ctx->reason[0] = '\0';
        t0 = mono_us(ctx);
        sections[i].fn(ctx);
        res->duration_us = mono_us(ctx) - t0;
        res->status = ctx->status;
        memcpy(res->reason, ctx->reason, sizeof(res->reason));
    }
    ctx->report = NULL;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    take_sections(w->run, &w->ctx, 0);
    sem_post(&w->run->done);
    return NULL;
}

/* Start workers off the CPU the caller runs on. Else the scheduler may
 * put a new thread there (the other CPU looking busier), where it takes
 * the CPU from the caller, which then waits inside pthread_create until
 * the worker has run every section: measured 0.5-1 ms on a 2-CPU virtual
 * machine. Sets run->pinned and keeps the caller's CPUs in run->cpus. */
static void pin_elsewhere(struct section_run *run, pthread_attr_t *attr)
{
    cpu_set_t others;
    int me = sched_getcpu();

    if (me < 0 || sched_getaffinity(0, sizeof(run->cpus), &run->cpus) != 0)
        return;
    others = run->cpus;
    CPU_CLR(me, &others);
    run->pinned = CPU_COUNT(&others) > 0 &&
                  pthread_attr_setaffinity_np(attr, sizeof(others),
                                              &others) == 0;
}

/* Let workers run on every CPU of the caller's again, before it waits for
 * them: a worker whose CPUs are busy (it may not even have started)
 * then moves to the one the waiting caller leaves idle, instead of
 * holding the caller up for a time slice of whatever runs there (several
 * milliseconds). */
static void unpin(struct section_run *run)
{
    if (!run->pinned)
        return;
    for (unsigned int t = 0; t < run->started; t++)
        pthread_setaffinity_np(run->workers[t].thread, sizeof(run->cpus),
                               &run->cpus);
}

/* Start workers with every signal blocked, so that the caller's signal
 * handlers never run on a thread it did not make. One that cannot be
 * started leaves its share to the others. */
static void start_workers(struct section_run *run, const struct osip_ctx *ctx,
                          unsigned int threads)
{
    pthread_attr_t attr;
    sigset_t all, old;
    int have_attr;

    run->started = 0;
    run->pinned = 0;
    if (threads == 0 || sem_init(&run->done, 0, 0) != 0)
        return;
    have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr)
        pin_elsewhere(run, &attr);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned int t = 0; t < threads && t < OSIP_COLLECT_MAX_THREADS;
         t++) {
        struct worker *w = &run->workers[run->started];

        w->run = run;
        w->ctx = *ctx;
        if (pthread_create(&w->thread, have_attr ? &attr : NULL, worker_main,
                           w) != 0)
            break;
        run->started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (have_attr)
        pthread_attr_destroy(&attr);
    if (run->started == 0)
        sem_destroy(&run->done);
}

/* Run every section, on the calling thread and on up to `threads` threads
 * of its own, and put their fields into ctx->report and their status into
 * out, both in the order of a serial run whatever thread ran what. The
 * workers have finished their sections when it returns, but may still be
 * ending: end_workers() waits for that. */
static void run_sections(struct osip_ctx *ctx, struct section_run *run,
                         unsigned int threads, json_t *out)
{
    struct osip_ctx mine;

    atomic_init(&run->ends, (unsigned int)N_SECTIONS << 8);
    for (size_t i = 0; i < N_SECTIONS; i++) {
        run->results[i].fields = json_object();
        if (run->results[i].fields == NULL)
            ctx->oom = 1;
    }
    start_workers(run, ctx, threads);
    mine = *ctx;
    take_sections(run, &mine, 1);
    ctx->oom |= mine.oom;
    unpin(run);
    for (unsigned int t = 0; t < run->started; t++)
        while (sem_wait(&run->done) != 0)
            ; /* EINTR: a signal handler of the caller's ran */
    for (unsigned int t = 0; t < run->started; t++)
        ctx->oom |= run->workers[t].ctx.oom;

    for (size_t i = 0; i < N_SECTIONS; i++) {
        struct section_result *res = &run->results[i];
        const char *key;
        json_t *s, *value;

        s = osip_set(ctx, out, sections[i].name, json_object());
        osip_set(ctx, s, "status", json_string(status_names[res->status]));
        if (res->status != OSIP_SEC_FULL)
            osip_set(ctx, s, "reason", json_string(res->reason));
        osip_set(ctx, s, "duration_us", json_integer(res->duration_us));
        /* The report holds each field already (null): setting it again
         * keeps its place and allocates nothing. */
        json_object_foreach(res->fields, key, value)
            osip_set(ctx, ctx->report, key, json_incref(value));
        json_decref(res->fields);
    }
}

/* Wait until the workers have ended: a thread that has posted `done` is
 * past the last of its sections, its exit left to overlap the caller's
 * last steps. */
static void end_workers(struct section_run *run)
{
    for (unsigned int t = 0; t < run->started; t++)
        pthread_join(run->workers[t].thread, NULL);
    if (run->started > 0)
        sem_destroy(&run->done);
}

/* A worker when the calling thread may run on more than one CPU; on one
 * it would only take turns with the caller. A set of CPUs too large for
 * cpu_set_t (over 1024) counts as one: collection stays on the caller. */
static unsigned int default_threads(void)
{
    cpu_set_t cpus;

    if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0 ||
        CPU_COUNT(&cpus) < 2)
        return 0;
    return OSIP_COLLECT_MAX_THREADS;
}

enum osi_status osip_collect_with(const char *root, const struct osip_sys *sys,
                                  struct osi_report **out,
                                  struct osi_error *err)
{
    return osip_collect_run(root, sys, default_threads(), out, err);
}

enum osi_status osip_collect_run(const char *root, const struct osip_sys *sys,
                                 unsigned int threads,
                                 struct osi_report **out,
                                 struct osi_error *err)
{
    struct osip_ctx ctx;
    struct section_run run;
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
    run_sections(&ctx, &run, threads, secs);
    osip_set(&ctx, collection, "duration_us", json_integer(mono_us(&ctx) - t0));
    osip_set(&ctx, collection, "sections", secs);

    st = set_envelope(&ctx, err);
    close(ctx.rootfd);
    if (st == OSI_OK && ctx.oom)
        st = osip_fail(err, OSI_ENOMEM, "out of memory");
    /* Collection promises a report the API accepts: check it like one. */
    if (st == OSI_OK)
        st = osip_report_validate(ctx.report, err);
    end_workers(&run);
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
