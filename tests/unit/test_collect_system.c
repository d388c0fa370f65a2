/* SPDX-License-Identifier: MIT */
/* Sections "hostname", "os", "cpu", "uptime", "load" and "username"
 * against fixture roots, each run on its own so that one section's
 * status is seen exactly, and the helpers of collect_util.c they stand
 * on (reading inside the root, section reasons); the last test runs the
 * sections inside a report. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "collect_int.h"
#include "fake_sys.h"
#include "osi_test.h"

struct run {
    struct osip_sys sys;
    struct fake_sys fake;
    struct osip_ctx ctx;
};

/* Fields of these sections start null, as osip_collect_with sets them. */
static const char *const my_fields[] = {
    "hostname", "os", "cpu", "cpu_info", "uptime_seconds", "boot_time",
    "load_average", "os_username",
};

static const char *const status_names[] = { "full", "partial", "failed" };

/* Point a run at a fixture root; a test may then replace run->sys calls. */
static void run_init(struct run *run, const char *fixture)
{
    memset(run, 0, sizeof(*run));
    fake_sys_init(&run->sys, &run->fake, osi_test_data(fixture));
    snprintf(run->ctx.root, sizeof(run->ctx.root), "%s", run->fake.root);
    run->ctx.rootfd = open(run->fake.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(run->ctx.rootfd >= 0);
    run->ctx.sys = &run->sys;
    run->ctx.report = json_object();
    assert_non_null(run->ctx.report);
    for (size_t i = 0; i < sizeof(my_fields) / sizeof(*my_fields); i++)
        json_object_set_new(run->ctx.report, my_fields[i], json_null());
}

static void run_section(struct run *run, void (*fn)(struct osip_ctx *ctx))
{
    fn(&run->ctx);
    close(run->ctx.rootfd);
    run->ctx.rootfd = -1;
    assert_false(run->ctx.oom);
}

static struct run *run_on(const char *fixture,
                          void (*fn)(struct osip_ctx *ctx))
{
    struct run *run = malloc(sizeof(*run));

    assert_non_null(run);
    run_init(run, fixture);
    run_section(run, fn);
    return run;
}

static void run_done(struct run *run)
{
    json_decref(run->ctx.report);
    free(run);
}

/* The status of the section, and its reason (NULL: none, for "full"). */
static void assert_status(const struct run *run, const char *status,
                          const char *reason)
{
    assert_string_equal(status_names[run->ctx.status], status);
    if (reason == NULL)
        assert_string_equal(run->ctx.reason, "");
    else
        assert_string_equal(run->ctx.reason, reason);
}

/* A dotted path ("cpu_info.model") in the report; NULL when absent. */
static json_t *get(const struct run *run, const char *path)
{
    json_t *node = run->ctx.report;

    while (node != NULL) {
        const char *dot = strchr(path, '.');

        if (dot == NULL)
            return json_object_get(node, path);
        node = json_object_getn(node, path, (size_t)(dot - path));
        path = dot + 1;
    }
    return NULL;
}

static void assert_field_str(const struct run *run, const char *path,
                       const char *want)
{
    json_t *v = get(run, path);

    if (!json_is_string(v))
        fail_msg("%s: not a string", path);
    assert_string_equal(json_string_value(v), want);
}

static void assert_field_null(const struct run *run, const char *path)
{
    if (!json_is_null(get(run, path)))
        fail_msg("%s: not null", path);
}

static void assert_field_int(const struct run *run, const char *path,
                       json_int_t want)
{
    json_t *v = get(run, path);

    if (!json_is_integer(v))
        fail_msg("%s: not an integer", path);
    assert_int_equal(json_integer_value(v), want);
}

/* Exact: the numbers are parsed, not computed. */
static void assert_real_value(const char *what, const json_t *v, double want)
{
    if (!json_is_real(v))
        fail_msg("%s: not a real", what);
    if (json_real_value(v) != want)
        fail_msg("%s: %.17g, expected %.17g", what, json_real_value(v), want);
}

static void assert_field_real(const struct run *run, const char *path,
                              double want)
{
    assert_real_value(path, get(run, path), want);
}

/* hostname */

static void test_collect_hostname_from_proc(void **state)
{
    struct run *run = run_on("roots/debian12", osip_collect_hostname);

    (void)state;
    /* The file wins over uname's node name ("debian12"). */
    assert_field_str(run, "hostname", "web-01");
    assert_status(run, "full", NULL);
    run_done(run);
}

static void test_collect_hostname_uname_fallback(void **state)
{
    struct run *run = run_on("roots/rhel9", osip_collect_hostname);

    (void)state;
    assert_field_str(run, "hostname", "rhel9");
    assert_status(run, "partial",
                  "/proc/sys/kernel/hostname: No such file or directory; "
                  "hostname from uname");
    run_done(run);
}

static void test_collect_hostname_none(void **state)
{
    struct run *run = run_on("roots/sys-broken", osip_collect_hostname);

    (void)state;
    assert_field_null(run, "hostname");
    assert_status(run, "failed",
                  "/proc/sys/kernel/hostname: empty; "
                  "uname: No such file or directory");
    run_done(run);
}

/* Without a root (ctx->root "") uname() answers, not the file: the
 * fixture's file says "web-01", the fake uname "debian12". */
static struct run *run_hostname_no_root(const char *fixture,
                                        int (*uname_fn)(void *,
                                                        struct utsname *))
{
    struct run *run = malloc(sizeof(*run));

    assert_non_null(run);
    run_init(run, fixture);
    run->ctx.root[0] = '\0';
    if (uname_fn != NULL)
        run->sys.uname = uname_fn;
    run_section(run, osip_collect_hostname);
    return run;
}

static void test_collect_hostname_no_root_uname(void **state)
{
    struct run *run = run_hostname_no_root("roots/debian12", NULL);

    (void)state;
    assert_field_str(run, "hostname", "debian12");
    assert_status(run, "full", NULL);
    run_done(run);
}

static void test_collect_hostname_no_root_uname_fails(void **state)
{
    struct run *run = run_hostname_no_root("roots/sys-broken", NULL);

    (void)state;
    assert_field_null(run, "hostname");
    assert_status(run, "failed", "uname: No such file or directory");
    run_done(run);
}

static const char *uname_node;

static int uname_with_node(void *data, struct utsname *out)
{
    (void)data;
    memset(out, 0, sizeof(*out));
    snprintf(out->sysname, sizeof(out->sysname), "Linux");
    snprintf(out->nodename, sizeof(out->nodename), "%s", uname_node);
    return 0;
}

/* The kernel takes any bytes as a host name: the report gets '?' for
 * those that are not text, and says so. */
static void test_collect_hostname_no_root_not_text(void **state)
{
    struct run *run;

    (void)state;
    uname_node = "bad\tname\xff";
    run = run_hostname_no_root("roots/debian12", uname_with_node);
    assert_field_str(run, "hostname", "bad?name?");
    assert_status(run, "partial", "uname: node name not valid text");
    run_done(run);

    uname_node = "";
    run = run_hostname_no_root("roots/debian12", uname_with_node);
    assert_field_null(run, "hostname");
    assert_status(run, "failed", "uname: node name empty");
    run_done(run);
}

/* os */

/* etc/os-release is a relative symlink into usr/lib, as Debian ships it. */
static void test_collect_os_debian(void **state)
{
    struct run *run = run_on("roots/debian12", osip_collect_os);

    (void)state;
    assert_field_str(run, "os.id", "debian");
    assert_field_null(run, "os.id_like");
    assert_field_str(run, "os.name", "Debian GNU/Linux");
    assert_field_str(run, "os.version", "12 (bookworm)");
    assert_field_str(run, "os.version_id", "12");
    assert_field_str(run, "os.version_codename", "bookworm");
    assert_field_str(run, "os.pretty_name", "Debian GNU/Linux 12 (bookworm)");
    assert_int_equal(json_object_size(get(run, "os")), 7);
    assert_status(run, "full", NULL);
    run_done(run);
}

static void test_collect_os_rocky(void **state)
{
    struct run *run = run_on("roots/rhel9", osip_collect_os);

    (void)state;
    assert_field_str(run, "os.id", "rocky");
    assert_field_str(run, "os.id_like", "rhel centos fedora");
    assert_field_str(run, "os.name", "Rocky Linux");
    assert_field_str(run, "os.version", "9.4 (Blue Onyx)");
    assert_field_str(run, "os.version_id", "9.4");
    assert_field_null(run, "os.version_codename");
    assert_field_str(run, "os.pretty_name", "Rocky Linux 9.4 (Blue Onyx)");
    assert_status(run, "full", NULL);
    run_done(run);
}

static void test_collect_os_usr_lib_fallback(void **state)
{
    struct run *run = run_on("roots/container", osip_collect_os);

    (void)state;
    assert_field_str(run, "os.id", "alpine");
    assert_field_null(run, "os.id_like");
    assert_field_str(run, "os.name", "Alpine Linux");
    assert_field_null(run, "os.version");
    assert_field_str(run, "os.version_id", "3.20.3");
    assert_field_null(run, "os.version_codename");
    assert_field_str(run, "os.pretty_name", "Alpine Linux v3.20");
    assert_status(run, "full", NULL);
    run_done(run);
}

/* An etc/os-release that exists but cannot be read: usr/lib stands in,
 * and the section says so. */
static void test_collect_os_etc_unreadable(void **state)
{
    struct run *run = run_on("roots/sys-broken", osip_collect_os);

    (void)state;
    assert_field_str(run, "os.id", "ubuntu");
    assert_field_str(run, "os.id_like", "debian");
    assert_field_str(run, "os.version", "24.04.1 LTS (Noble Numbat)");
    assert_field_str(run, "os.version_codename", "noble");
    assert_status(run, "partial", "/etc/os-release: Is a directory");
    run_done(run);
}

/* Comments, a line without '=', a key given twice, joined quotes,
 * escapes inside and outside double quotes, literal single quotes, an
 * empty value, indentation and trailing blanks; usr/lib is not read. */
static void test_collect_os_quoting(void **state)
{
    struct run *run = run_on("roots/sys-quoting", osip_collect_os);

    (void)state;
    assert_field_str(run, "os.id", "quoted");
    assert_field_null(run, "os.id_like");
    assert_field_str(run, "os.name", "Quoted Linux");
    assert_field_str(run, "os.version",
                     "1.0 \"Dollar\" $HOME `cmd` \\ back \\n");
    assert_field_str(run, "os.version_id", "1.0 beta");
    assert_field_str(run, "os.version_codename", "single \\\"quoted\\\" $x");
    assert_field_str(run, "os.pretty_name", "Quoted Linux 1.0");
    assert_status(run, "full", NULL);
    run_done(run);
}

static void test_collect_os_missing(void **state)
{
    struct run *run = run_on("roots/sys-s390x", osip_collect_os);

    (void)state;
    assert_field_null(run, "os");
    assert_status(run, "failed",
                  "/etc/os-release: No such file or directory; "
                  "/usr/lib/os-release: No such file or directory");
    run_done(run);
}

/* Without openat2 (kernels before 5.6, valgrind 3.19) the library falls
 * back to openat, which cannot keep symlinks inside the root. */
static void require_openat2(void)
{
    if (syscall(SYS_openat2, -1, "", NULL, (size_t)0) < 0 && errno == ENOSYS)
        skip();
}

/* NixOS: etc/os-release -> /etc/static/os-release, etc/static -> /nix/
 * store/...: absolute symlinks, resolved inside the root, not on the host
 * the agent runs on. */
static void test_collect_os_symlinks_in_root(void **state)
{
    struct run *run;

    (void)state;
    require_openat2();
    run = run_on("roots/sys-nixos", osip_collect_os);
    assert_field_str(run, "os.id", "nixos");
    assert_field_null(run, "os.id_like");
    assert_field_str(run, "os.name", "NixOS");
    assert_field_str(run, "os.version", "24.05 (Uakari)");
    assert_field_str(run, "os.version_id", "24.05");
    assert_field_str(run, "os.version_codename", "uakari");
    assert_field_str(run, "os.pretty_name", "NixOS 24.05 (Uakari)");
    assert_status(run, "full", NULL);
    run_done(run);
}

/* cpu */

/* 2 sockets x 2 cores x 2 threads, with physical id and core id. */
static void test_collect_cpu_two_sockets(void **state)
{
    struct run *run = run_on("roots/debian12", osip_collect_cpu);

    (void)state;
    assert_field_str(run, "cpu", "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz");
    assert_field_str(run, "cpu_info.model",
               "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz");
    assert_field_str(run, "cpu_info.vendor", "GenuineIntel");
    assert_field_int(run, "cpu_info.logical_cores", 8);
    assert_field_int(run, "cpu_info.physical_cores", 4);
    assert_field_int(run, "cpu_info.sockets", 2);
    assert_field_real(run, "cpu_info.mhz", 2095.078);
    assert_int_equal(json_object_size(get(run, "cpu_info")), 6);
    assert_status(run, "full", NULL);
    run_done(run);
}

static void test_collect_cpu_no_topology(void **state)
{
    struct run *run = run_on("roots/rhel9", osip_collect_cpu);

    (void)state;
    assert_field_str(run, "cpu", "Intel Xeon Processor (Icelake)");
    assert_field_int(run, "cpu_info.logical_cores", 4);
    assert_field_null(run, "cpu_info.physical_cores");
    assert_field_null(run, "cpu_info.sockets");
    assert_field_real(run, "cpu_info.mhz", 2593.906);
    assert_status(run, "full", NULL);
    run_done(run);
}

/* Mainline arm64 prints no model at all: cpu is the machine name. */
static void test_collect_cpu_arm64_no_model(void **state)
{
    struct run *run = run_on("roots/sys-arm64", osip_collect_cpu);

    (void)state;
    assert_field_str(run, "cpu", "aarch64");
    assert_field_null(run, "cpu_info.model");
    assert_field_null(run, "cpu_info.vendor");
    assert_field_int(run, "cpu_info.logical_cores", 4);
    assert_field_null(run, "cpu_info.physical_cores");
    assert_field_null(run, "cpu_info.sockets");
    assert_field_null(run, "cpu_info.mhz");
    assert_status(run, "partial", "no model name in /proc/cpuinfo");
    run_done(run);
}

/* The Raspberry Pi kernel adds a Hardware line (and a Model line, which
 * is not a CPU). */
static void test_collect_cpu_hardware_line(void **state)
{
    struct run *run = run_on("roots/sys-rpi4", osip_collect_cpu);

    (void)state;
    assert_field_str(run, "cpu", "BCM2835");
    assert_field_str(run, "cpu_info.model", "BCM2835");
    assert_field_int(run, "cpu_info.logical_cores", 4);
    assert_field_null(run, "cpu_info.physical_cores");
    assert_status(run, "full", NULL);
    run_done(run);
}

/* 32-bit ARM prints both "model name" and the board's Hardware line:
 * the CPU's own name wins. */
static void test_collect_cpu_model_name_first(void **state)
{
    struct run *run = run_on("roots/sys-armv7", osip_collect_cpu);

    (void)state;
    assert_field_str(run, "cpu", "ARMv7 Processor rev 4 (v7l)");
    assert_field_int(run, "cpu_info.logical_cores", 4);
    assert_status(run, "full", NULL);
    run_done(run);
}

/* s390x writes "processor 0: ...", not "processor : 0": the count comes
 * from the online list "0-1,3-4" (CPU 2 offline). */
static void test_collect_cpu_online_list(void **state)
{
    struct run *run = run_on("roots/sys-s390x", osip_collect_cpu);

    (void)state;
    assert_field_str(run, "cpu", "s390x");
    assert_field_str(run, "cpu_info.vendor", "IBM/S390");
    assert_field_int(run, "cpu_info.logical_cores", 4);
    assert_field_null(run, "cpu_info.mhz");
    assert_status(run, "partial", "no model name in /proc/cpuinfo");
    run_done(run);
}

static void test_collect_cpu_missing(void **state)
{
    struct run *run = run_on("roots/container", osip_collect_cpu);

    (void)state;
    assert_field_str(run, "cpu", "x86_64");
    assert_field_null(run, "cpu_info");
    assert_status(run, "failed", "/proc/cpuinfo: No such file or directory");
    run_done(run);
}

/* Neither /proc/cpuinfo nor uname: cpu still is a non-empty string. */
static void test_collect_cpu_nothing_known(void **state)
{
    struct run *run = run_on("roots/sys-broken", osip_collect_cpu);

    (void)state;
    assert_field_str(run, "cpu", "unknown");
    assert_field_null(run, "cpu_info");
    assert_status(run, "failed", "/proc/cpuinfo: No such file or directory");
    run_done(run);
}

/* uptime */

static void test_collect_uptime_debian(void **state)
{
    struct run *run = run_on("roots/debian12", osip_collect_uptime);

    (void)state;
    assert_field_real(run, "uptime_seconds", 350735.47);
    assert_field_str(run, "boot_time", "2025-12-29T01:38:30Z");
    assert_status(run, "full", NULL);
    run_done(run);
}

static void test_collect_uptime_no_stat(void **state)
{
    struct run *run = run_on("roots/sys-arm64", osip_collect_uptime);

    (void)state;
    assert_field_real(run, "uptime_seconds", 4711.93);
    assert_field_null(run, "boot_time");
    assert_status(run, "partial", "/proc/stat: No such file or directory");
    run_done(run);
}

static void test_collect_uptime_missing(void **state)
{
    struct run *run = run_on("roots/container", osip_collect_uptime);

    (void)state;
    assert_field_null(run, "uptime_seconds");
    assert_field_null(run, "boot_time");
    assert_status(run, "failed",
                  "/proc/uptime: No such file or directory; "
                  "/proc/stat: No such file or directory");
    run_done(run);
}

static void test_collect_uptime_malformed(void **state)
{
    struct run *run = run_on("roots/sys-broken", osip_collect_uptime);

    (void)state;
    assert_field_null(run, "uptime_seconds");
    assert_field_null(run, "boot_time");
    assert_status(run, "failed",
                  "/proc/uptime: unexpected format; "
                  "/proc/stat: no btime line");
    run_done(run);
}

/* Without a root (ctx->root "") the clocks answer. The files are read
 * from "roots/container", which has neither /proc/uptime nor /proc/stat:
 * a section that read them would fail. boottime_ns is the fake boot
 * clock's first reading; the wall clock is FAKE_SYS_REALTIME.678. */
static struct run *run_clocks(long long boottime_ns)
{
    struct run *run = malloc(sizeof(*run));

    assert_non_null(run);
    run_init(run, "roots/container");
    run->ctx.root[0] = '\0';
    run->fake.mono_ns = boottime_ns - 1000;
    run_section(run, osip_collect_uptime);
    return run;
}

/* uptime cut (not rounded) to hundredths as /proc/uptime prints it;
 * boot time 2026-01-02T03:04:05.678 - 4711.939002 s, rounded down. */
static void test_collect_uptime_from_clocks(void **state)
{
    struct run *run = run_clocks(4711939000000LL);

    (void)state;
    assert_field_real(run, "uptime_seconds", 4711.93);
    assert_field_str(run, "boot_time", "2026-01-02T01:45:33Z");
    assert_status(run, "full", NULL);
    run_done(run);
}

/* The boot clock read before the wall clock puts boot time at 03:02:25
 * exactly, the one read after it 1 us earlier: a second boundary lies
 * between them, so the clocks are read again (both then say 03:02:24). */
static void test_collect_uptime_clocks_second_boundary(void **state)
{
    struct run *run = run_clocks(100677999000LL);

    (void)state;
    assert_field_real(run, "uptime_seconds", 100.67);
    assert_field_str(run, "boot_time", "2026-01-02T03:02:24Z");
    assert_status(run, "full", NULL);
    run_done(run);
}

static int clock_fails(void *data, clockid_t clock, struct timespec *out)
{
    (void)data;
    (void)clock;
    (void)out;
    errno = EINVAL;
    return -1;
}

/* A boot clock that moves a whole second per reading: no two readings
 * around the wall clock ever agree. */
static int clock_jumps(void *data, clockid_t clock, struct timespec *out)
{
    static long long boot;

    (void)data;
    out->tv_nsec = 500000000;
    out->tv_sec = clock == CLOCK_REALTIME ? FAKE_SYS_REALTIME : ++boot;
    return 0;
}

static void test_collect_uptime_clock_fails(void **state)
{
    struct run *run = malloc(sizeof(*run));

    (void)state;
    assert_non_null(run);
    run_init(run, "roots/container");
    run->ctx.root[0] = '\0';
    run->sys.clock_gettime = clock_fails;
    run_section(run, osip_collect_uptime);
    assert_field_null(run, "uptime_seconds");
    assert_field_null(run, "boot_time");
    assert_status(run, "failed",
                  "clock_gettime: Invalid argument; "
                  "clock_gettime: Invalid argument");
    run_done(run);
}

static void test_collect_uptime_clocks_unsteady(void **state)
{
    struct run *run = malloc(sizeof(*run));

    (void)state;
    assert_non_null(run);
    run_init(run, "roots/container");
    run->ctx.root[0] = '\0';
    run->sys.clock_gettime = clock_jumps;
    run_section(run, osip_collect_uptime);
    assert_field_real(run, "uptime_seconds", 1.5);
    assert_field_null(run, "boot_time");
    assert_status(run, "partial",
                  "clock_gettime: the clocks moved apart while read");
    run_done(run);
}

/* load */

static void test_collect_load_debian(void **state)
{
    struct run *run = run_on("roots/debian12", osip_collect_load);
    json_t *arr;

    (void)state;
    arr = get(run, "load_average");
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 3);
    assert_real_value("load_average[0]", json_array_get(arr, 0), 0.52);
    assert_real_value("load_average[1]", json_array_get(arr, 1), 0.58);
    assert_real_value("load_average[2]", json_array_get(arr, 2), 0.59);
    assert_status(run, "full", NULL);
    run_done(run);
}

static void test_collect_load_missing(void **state)
{
    struct run *run = run_on("roots/container", osip_collect_load);

    (void)state;
    assert_field_null(run, "load_average");
    assert_status(run, "failed", "/proc/loadavg: No such file or directory");
    run_done(run);
}

/* "0.10 0.20": two averages are not three. */
static void test_collect_load_malformed(void **state)
{
    struct run *run = run_on("roots/sys-broken", osip_collect_load);

    (void)state;
    assert_field_null(run, "load_average");
    assert_status(run, "failed", "/proc/loadavg: unexpected format");
    run_done(run);
}

/* username */

/* alice logged in (loginuid 1000) and ran the agent as root (euid 0). */
static void test_collect_username_login_user(void **state)
{
    struct run *run = run_on("roots/debian12", osip_collect_username);

    (void)state;
    assert_field_str(run, "os_username", "alice");
    assert_status(run, "full", NULL);
    run_done(run);
}

/* No login uid (cron, systemd): the effective user. */
static void test_collect_username_effective_user(void **state)
{
    struct run *run = run_on("roots/rhel9", osip_collect_username);

    (void)state;
    assert_field_str(run, "os_username", "root");
    assert_status(run, "full", NULL);
    run_done(run);
}

static void test_collect_username_effective_non_root(void **state)
{
    struct run *run = run_on("roots/sys-arm64", osip_collect_username);

    (void)state;
    assert_field_str(run, "os_username", "ec2-user");
    assert_status(run, "full", NULL);
    run_done(run);
}

/* A container user with no passwd entry is still someone: its number. */
static void test_collect_username_no_passwd_entry(void **state)
{
    struct run *run = run_on("roots/container", osip_collect_username);

    (void)state;
    assert_field_str(run, "os_username", "65534");
    assert_status(run, "partial", "uid 65534 has no passwd entry");
    run_done(run);
}

/* A getpwuid_r that needs need bytes of buffer, or fails with fail. */
static struct {
    size_t need;
    int fail;
    const char *name;
    int calls;
    size_t last_size;
} pw_fake;

static int pw_fake_getpwuid_r(void *data, uid_t uid, struct passwd *pwd,
                              char *buf, size_t buflen,
                              struct passwd **result)
{
    (void)data;
    *result = NULL;
    pw_fake.calls++;
    pw_fake.last_size = buflen;
    if (pw_fake.fail != 0)
        return pw_fake.fail;
    if (buflen < pw_fake.need)
        return ERANGE;
    memset(pwd, 0, sizeof(*pwd));
    snprintf(buf, buflen, "%s", pw_fake.name);
    pwd->pw_name = buf;
    pwd->pw_uid = uid;
    *result = pwd;
    return 0;
}

static struct run *run_pw_fake(size_t need, int fail, const char *name)
{
    struct run *run = malloc(sizeof(*run));

    assert_non_null(run);
    memset(&pw_fake, 0, sizeof(pw_fake));
    pw_fake.need = need;
    pw_fake.fail = fail;
    pw_fake.name = name;
    run_init(run, "roots/username-nss"); /* uid 1000 not in etc/passwd */
    run->sys.getpwuid_r = pw_fake_getpwuid_r;
    run_section(run, osip_collect_username);
    return run;
}

/* ERANGE: 1 KiB, 2 KiB, then 4 KiB is enough. */
static void test_collect_username_buffer_grows(void **state)
{
    struct run *run = run_pw_fake(3000, 0, "grown");

    (void)state;
    assert_field_str(run, "os_username", "grown");
    assert_int_equal(pw_fake.calls, 3);
    assert_int_equal(pw_fake.last_size, 4096);
    assert_status(run, "full", NULL);
    run_done(run);
}

/* ERANGE up to the 64 KiB cap: 1, 2, 4, 8, 16, 32, 64 KiB, then stop. */
static void test_collect_username_buffer_cap(void **state)
{
    struct run *run = run_pw_fake((size_t)1 << 20, 0, "never");

    (void)state;
    assert_field_str(run, "os_username", "1000");
    assert_int_equal(pw_fake.calls, 7);
    assert_int_equal(pw_fake.last_size, 65536);
    assert_status(run, "partial",
                  "passwd entry of uid 1000 is over 65536 bytes");
    run_done(run);
}

static void test_collect_username_lookup_error(void **state)
{
    struct run *run = run_pw_fake(0, EIO, NULL);

    (void)state;
    assert_field_str(run, "os_username", "1000");
    assert_int_equal(pw_fake.calls, 1);
    assert_status(run, "partial", "getpwuid_r(1000): Input/output error");
    run_done(run);
}

/* A name the report cannot carry (os_username must hold no control
 * character) gives way to the number. */
static void test_collect_username_bad_name(void **state)
{
    struct run *run = run_pw_fake(0, 0, "bad\tname");

    (void)state;
    assert_field_str(run, "os_username", "1000");
    assert_status(run, "partial", "passwd name of uid 1000 is not valid text");
    run_done(run);
}

/* helpers */

/* ".." stops at the root, and an absolute symlink starts from it: the
 * host's /etc/passwd is not this root's. */
static void test_collect_util_paths_in_root(void **state)
{
    struct run *run;
    struct osip_ctx *ctx;
    char up[256];
    struct stat st;

    (void)state;
    require_openat2();
    run = malloc(sizeof(*run));
    assert_non_null(run);
    run_init(run, "roots/sys-nixos");
    ctx = &run->ctx;
    assert_int_equal(osip_path_exists(ctx, "etc/os-release", 1), 1);
    assert_int_equal(osip_stat(ctx, "etc/os-release", 1, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(osip_stat(ctx, "etc/os-release", 0, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(osip_path_exists(ctx, "etc/os-release/x", 1), 0);
    assert_int_equal(osip_path_exists(ctx, "etc/passwd", 1), 0);
    /* far more ".." than this root is deep in the host's tree */
    for (size_t i = 0; i < 60; i++)
        memcpy(up + 3 * i, "../", 3);
    snprintf(up + 180, sizeof(up) - 180, "etc/passwd");
    assert_int_equal(access("/etc/passwd", F_OK), 0);
    assert_int_equal(osip_path_exists(ctx, up, 1), 0);
    close(ctx->rootfd);
    run_done(run);
}

/* A reason is a JSON string: bytes that are not UTF-8 (a path, a
 * strerror in a Latin-1 locale) become '?', and a character cut at the
 * reason's size is dropped whole. */
static void test_collect_util_reason_utf8(void **state)
{
    char name[300];
    struct osip_ctx ctx;
    json_t *j;

    (void)state;
    memset(&ctx, 0, sizeof(ctx));
    osip_sec_partial(&ctx, "/%s: %s", "mnt/caf\xe9", "Permiso denegado");
    assert_string_equal(ctx.reason, "/mnt/caf?: Permiso denegado");
    assert_int_equal(ctx.status, OSIP_SEC_PARTIAL);
    j = json_string(ctx.reason);
    assert_non_null(j);
    json_decref(j);

    /* 253 bytes, then a 3-byte euro sign across the cut at 255 */
    memset(&ctx, 0, sizeof(ctx));
    memset(name, 'a', 253);
    snprintf(name + 253, sizeof(name) - 253, "\xe2\x82\xac tail");
    osip_sec_failed(&ctx, "%s", name);
    assert_int_equal(strlen(ctx.reason), 253);
    assert_int_equal(strspn(ctx.reason, "a"), 253);
    assert_int_equal(ctx.status, OSIP_SEC_FAILED);

    /* whole characters up to the last byte are kept */
    memset(&ctx, 0, sizeof(ctx));
    snprintf(name + 252, sizeof(name) - 252, "\xe2\x82\xac tail");
    osip_sec_failed(&ctx, "%s", name);
    assert_int_equal(strlen(ctx.reason), 255);
    assert_string_equal(ctx.reason + 252, "\xe2\x82\xac");
    j = json_string(ctx.reason);
    assert_non_null(j);
    json_decref(j);
}

/* UTC without gmtime_r: the same text as strftime of gmtime_r over leap
 * days, century years and past 9999, and the same refusals. */
static void test_collect_util_utc_seconds(void **state)
{
    static const struct {
        long long sec;
        const char *want;
    } cases[] = {
        { 1, "1970-01-01T00:00:01Z" },
        { 951782400, "2000-02-29T00:00:00Z" },
        { 951868799, "2000-02-29T23:59:59Z" },
        { 4107542399, "2100-02-28T23:59:59Z" },
        { 4107542400, "2100-03-01T00:00:00Z" },
        { 2147483648, "2038-01-19T03:14:08Z" },
        { FAKE_SYS_REALTIME, "2026-01-02T03:04:05Z" },
        { 253402300799, "9999-12-31T23:59:59Z" },
        { 253402300800, "10000-01-01T00:00:00Z" },
    };
    char buf[32], ref[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        assert_int_equal(osip_format_utc_seconds(cases[i].sec, buf,
                                                 sizeof(buf)), 0);
        assert_string_equal(buf, cases[i].want);
    }
    /* every day of 1999-2101, at a time that moves through the day */
    for (long long day = 10592; day < 47541; day++) {
        long long sec = day * 86400 + (day * 3607) % 86400;
        time_t t = (time_t)sec;
        struct tm tm;

        assert_non_null(gmtime_r(&t, &tm));
        assert_true(strftime(ref, sizeof(ref), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
        assert_int_equal(osip_format_utc_seconds(sec, buf, sizeof(buf)), 0);
        assert_string_equal(buf, ref);
    }
    assert_int_equal(osip_format_utc_seconds(0, buf, sizeof(buf)), -1);
    assert_int_equal(osip_format_utc_seconds(-86400, buf, sizeof(buf)), -1);
    assert_int_equal(osip_format_utc_seconds(1, buf, 20), -1);
    assert_int_equal(osip_format_utc_seconds(1, buf, 21), 0);
    /* past the years struct tm holds */
    assert_int_equal(osip_format_utc_seconds(LLONG_MAX, buf, sizeof(buf)),
                     -1);
}

static void test_collect_util_rfc3339(void **state)
{
    struct timespec ts = { FAKE_SYS_REALTIME, FAKE_SYS_REALTIME_NS };
    char buf[64];

    (void)state;
    osip_format_rfc3339(&ts, buf, sizeof(buf));
    assert_string_equal(buf, "2026-01-02T03:04:05.678Z");
    ts.tv_sec = -1;
    ts.tv_nsec = 999999999;
    osip_format_rfc3339(&ts, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    ts.tv_sec = -62135596800LL; /* 0001-01-01 */
    ts.tv_nsec = 0;
    osip_format_rfc3339(&ts, buf, sizeof(buf));
    assert_string_equal(buf, "0001-01-01T00:00:00.000Z");
    ts.tv_sec = LLONG_MAX;
    osip_format_rfc3339(&ts, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
}

/* The sections inside a whole report, as osi_collect runs them. */
static void test_collect_system_full_report(void **state)
{
    static const char *const sections[] = {
        "hostname", "os", "cpu", "uptime", "load", "username",
    };
    struct osip_sys sys;
    struct fake_sys fake;
    struct osi_report *r = NULL;
    struct osi_error err;
    char path[64];
    double d;
    int64_t n;

    (void)state;
    fake_sys_init(&sys, &fake, osi_test_data("roots/debian12"));
    assert_osi_ok(osip_collect_with(fake.root, &sys, &r, &err), &err);
    assert_string_equal(osi_report_get_string(r, "cpu"),
                        "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz");
    assert_string_equal(osi_report_get_string(r, "os_username"), "alice");
    assert_string_equal(osi_report_get_string(r, "hostname"), "web-01");
    assert_string_equal(osi_report_get_string(r, "os.id"), "debian");
    assert_osi_ok(osi_report_get_int(r, "cpu_info.logical_cores", &n), NULL);
    assert_int_equal(n, 8);
    assert_osi_ok(osi_report_get_number(r, "uptime_seconds", &d), NULL);
    assert_true(d == 350735.47);
    assert_string_equal(osi_report_get_string(r, "boot_time"),
                        "2025-12-29T01:38:30Z");
    for (size_t i = 0; i < sizeof(sections) / sizeof(*sections); i++) {
        snprintf(path, sizeof(path), "collection.sections.%s.status",
                 sections[i]);
        assert_string_equal(osi_report_get_string(r, path), "full");
    }
    osi_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_hostname_from_proc),
        cmocka_unit_test(test_collect_hostname_uname_fallback),
        cmocka_unit_test(test_collect_hostname_none),
        cmocka_unit_test(test_collect_hostname_no_root_uname),
        cmocka_unit_test(test_collect_hostname_no_root_uname_fails),
        cmocka_unit_test(test_collect_hostname_no_root_not_text),
        cmocka_unit_test(test_collect_os_debian),
        cmocka_unit_test(test_collect_os_rocky),
        cmocka_unit_test(test_collect_os_usr_lib_fallback),
        cmocka_unit_test(test_collect_os_etc_unreadable),
        cmocka_unit_test(test_collect_os_quoting),
        cmocka_unit_test(test_collect_os_missing),
        cmocka_unit_test(test_collect_os_symlinks_in_root),
        cmocka_unit_test(test_collect_cpu_two_sockets),
        cmocka_unit_test(test_collect_cpu_no_topology),
        cmocka_unit_test(test_collect_cpu_arm64_no_model),
        cmocka_unit_test(test_collect_cpu_hardware_line),
        cmocka_unit_test(test_collect_cpu_model_name_first),
        cmocka_unit_test(test_collect_cpu_online_list),
        cmocka_unit_test(test_collect_cpu_missing),
        cmocka_unit_test(test_collect_cpu_nothing_known),
        cmocka_unit_test(test_collect_uptime_debian),
        cmocka_unit_test(test_collect_uptime_no_stat),
        cmocka_unit_test(test_collect_uptime_missing),
        cmocka_unit_test(test_collect_uptime_malformed),
        cmocka_unit_test(test_collect_uptime_from_clocks),
        cmocka_unit_test(test_collect_uptime_clocks_second_boundary),
        cmocka_unit_test(test_collect_uptime_clock_fails),
        cmocka_unit_test(test_collect_uptime_clocks_unsteady),
        cmocka_unit_test(test_collect_load_debian),
        cmocka_unit_test(test_collect_load_missing),
        cmocka_unit_test(test_collect_load_malformed),
        cmocka_unit_test(test_collect_username_login_user),
        cmocka_unit_test(test_collect_username_effective_user),
        cmocka_unit_test(test_collect_username_effective_non_root),
        cmocka_unit_test(test_collect_username_no_passwd_entry),
        cmocka_unit_test(test_collect_username_buffer_grows),
        cmocka_unit_test(test_collect_username_buffer_cap),
        cmocka_unit_test(test_collect_username_lookup_error),
        cmocka_unit_test(test_collect_username_bad_name),
        cmocka_unit_test(test_collect_util_paths_in_root),
        cmocka_unit_test(test_collect_util_utc_seconds),
        cmocka_unit_test(test_collect_util_rfc3339),
        cmocka_unit_test(test_collect_util_reason_utf8),
        cmocka_unit_test(test_collect_system_full_report),
    };
    return cmocka_run_group_tests_name("collect_system", tests, NULL, NULL);
}
