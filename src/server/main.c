/* SPDX-License-Identifier: MIT */
/* osinspect-api: options, start-up, and a clean stop on SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = OSIC_EXIT_USAGE };

/* "osinspect-api: <message>" and the pointer to --help. */
#define usage_error(...) osic_usage_error(API_PROG, __VA_ARGS__)

#define DEFAULT_LISTEN "0.0.0.0:5000"
#define DEFAULT_THREADS 64
#define DEFAULT_MAX_BODY 65536
#define DEFAULT_TIMEOUT_MS 10000

struct options {
    char listen[80];   /* CivetWeb's form: "1.2.3.4:5000", "[::1]:5000" */
    char host[INET6_ADDRSTRLEN];
    int ipv6;
    int port;          /* the bound one, once listening */
    const char *store; /* NULL: the library's default */
    unsigned int store_flags;
    unsigned long threads;
    unsigned long max_body;
    unsigned long timeout_ms;
};

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: " API_PROG " [--listen ADDR:PORT] [--store URI] [--threads N]\n"
        "                     [--max-body BYTES] [--request-timeout MS]\n"
        "                     [--s3-insecure-tls]\n"
        "\n"
        "Serve the osinspect HTTP API (docs/http-api.md): agents POST their\n"
        "reports to /report, readers GET /report?ip=, /reports?ip=, /hosts\n"
        "and /health.\n"
        "\n"
        "Options:\n"
        "  -l, --listen ADDR:PORT   address and port to listen on (default\n"
        "                           " DEFAULT_LISTEN "; an IPv6 address in\n"
        "                           brackets: [::1]:5000); port 0 picks a\n"
        "                           free port, printed in the start log line\n"
        "  -s, --store URI          where reports are kept: file:///path, a\n"
        "                           bare path or s3://bucket (default:\n"
        "                           $STATE_DIRECTORY, else ./osinspect-data)\n"
        "      --s3-insecure-tls    allow an https:// S3 endpoint although\n"
        "                           libs3 does not verify its certificate:\n"
        "                           anyone on the path can read and change\n"
        "                           reports and credentials\n"
        "  -t, --threads N          worker threads, 1 to 1024 (default %d);\n"
        "                           each open connection holds one\n"
        "  -b, --max-body BYTES     largest report accepted, 1 to 67108864\n"
        "                           (default %d)\n"
        "  -T, --request-timeout MS time allowed for the request headers and,\n"
        "                           separately, for the whole body, 100 to\n"
        "                           600000 (default %d)\n"
        "  -h, --help               show this help and exit\n"
        "  -V, --version            show the version and exit\n"
        "\n"
        "Logs one line per request on stderr. SIGTERM or SIGINT stops the\n"
        "server once the requests in progress are answered.\n"
        "\n"
        "Exit status: 0 stopped by a signal, 1 failure, 2 usage error.\n",
        DEFAULT_THREADS, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT_MS);
}

/* ADDR:PORT with a literal IPv4 address or a bracketed IPv6 one. */
static int parse_listen(const char *arg, struct options *o)
{
    unsigned char addr[16];
    char host[INET6_ADDRSTRLEN];
    const char *colon, *hstart = arg;
    unsigned long port;
    size_t hlen;

    o->ipv6 = arg[0] == '[';
    if (o->ipv6) {
        const char *close = strchr(arg, ']');

        if (close == NULL || close[1] != ':')
            return -1;
        hstart = arg + 1;
        hlen = (size_t)(close - hstart);
        colon = close + 1;
    } else {
        colon = strrchr(arg, ':');
        if (colon == NULL)
            return -1;
        hlen = (size_t)(colon - arg);
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return -1;
    memcpy(host, hstart, hlen);
    host[hlen] = '\0';
    if (inet_pton(o->ipv6 ? AF_INET6 : AF_INET, host, addr) != 1 ||
        osic_parse_number(colon + 1, 0, 65535, &port) != 0)
        return -1;
    snprintf(o->listen, sizeof(o->listen), o->ipv6 ? "[%s]:%lu" : "%s:%lu",
             host, port);
    memcpy(o->host, host, hlen + 1);
    return 0;
}

/* Returns 0 to go on, -1 after --help or --version, else EXIT_USAGE. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "store", required_argument, NULL, 's' },
        { "s3-insecure-tls", no_argument, NULL, 'I' },
        { "threads", required_argument, NULL, 't' },
        { "max-body", required_argument, NULL, 'b' },
        { "request-timeout", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":l:s:t:b:T:hV", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'l':
            if (parse_listen(optarg, o) != 0)
                return usage_error("--listen '%s': expected ADDR:PORT with "
                                   "a literal address, such as "
                                   "0.0.0.0:5000 or [::1]:5000", optarg);
            break;
        case 's':
            if (optarg[0] == '\0')
                return usage_error("--store needs a URI or a path");
            o->store = optarg;
            break;
        case 'I':
            o->store_flags |= OSI_STORE_S3_INSECURE_TLS;
            break;
        case 't':
            if (osic_parse_number(optarg, 1, 1024, &o->threads) != 0)
                return usage_error("--threads '%s': expected a number "
                                   "from 1 to 1024", optarg);
            break;
        case 'b':
            if (osic_parse_number(optarg, 1, 67108864, &o->max_body) != 0)
                return usage_error("--max-body '%s': expected a number of "
                                   "bytes from 1 to 67108864", optarg);
            break;
        case 'T':
            if (osic_parse_number(optarg, 100, 600000, &o->timeout_ms) != 0)
                return usage_error("--request-timeout '%s': expected "
                                   "milliseconds from 100 to 600000",
                                   optarg);
            break;
        case 'h':
            usage(stdout);
            return -1;
        case 'V':
            printf(API_PROG " %s (CivetWeb %s)\n", osi_version(),
                   mg_version());
            return -1;
        case ':':
            return usage_error("option '%s' needs a value",
                               argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}

/* Start CivetWeb: no document_root (no file serving), Nagle off (else
 * small answers wait ~40 ms for a delayed ACK), keep-alive on. */
static struct mg_context *start_http(const struct options *o,
                                     struct api_server *srv)
{
    char threads[16], timeout[16], errtext[256] = "";
    const char *cfg[] = {
        "listening_ports", o->listen,
        "num_threads", threads,
        "request_timeout_ms", timeout,
        "enable_keep_alive", "yes",
        "tcp_nodelay", "1",
        NULL,
    };
    struct mg_callbacks cb;
    struct mg_init_data init;
    struct mg_error_data error;
    unsigned int code = 0;
    struct mg_context *ctx;

    if (o->ipv6 && !mg_check_feature(MG_FEATURES_IPV6)) {
        api_log("cannot listen on %s: this CivetWeb (%s) is built without "
                "IPv6; listen on an IPv4 address", o->listen, mg_version());
        return NULL;
    }
    snprintf(threads, sizeof(threads), "%lu", o->threads);
    snprintf(timeout, sizeof(timeout), "%lu", o->timeout_ms);
    api_callbacks_init(&cb);
    init.callbacks = &cb;
    init.user_data = srv;
    init.configuration_options = cfg;
    error.code = &code;
    error.text = errtext;
    error.text_buffer_size = sizeof(errtext);
    ctx = mg_start2(&init, &error);
    if (ctx == NULL)
        api_log("cannot listen on %s: %s", o->listen,
                errtext[0] ? errtext : "CivetWeb did not start");
    return ctx;
}

static void log_listening(struct options *o, struct mg_context *ctx)
{
    struct mg_server_port port;

    if (mg_get_server_ports(ctx, 1, &port) == 1)
        o->port = port.port;
    api_log(o->ipv6 ? "listening on [%s]:%d" : "listening on %s:%d", o->host,
            o->port);
}

struct stopper {
    struct mg_context *ctx;
    atomic_int done;
};

static void *run_stop(void *arg)
{
    struct stopper *s = arg;

    mg_stop(s->ctx);
    atomic_store(&s->done, 1);
    return NULL;
}

/* Connect to our own listening socket and hang up. */
static void poke(const struct options *o)
{
    struct sockaddr_storage sa;
    struct sockaddr_in *in = (struct sockaddr_in *)&sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
    socklen_t len;
    int fd;

    memset(&sa, 0, sizeof(sa));
    if (o->ipv6) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)o->port);
        if (strcmp(o->host, "::") == 0)
            in6->sin6_addr = in6addr_loopback;
        else
            inet_pton(AF_INET6, o->host, &in6->sin6_addr);
        len = sizeof(*in6);
    } else {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)o->port);
        inet_pton(AF_INET,
                  strcmp(o->host, "0.0.0.0") == 0 ? "127.0.0.1" : o->host,
                  &in->sin_addr);
        len = sizeof(*in);
    }
    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    connect(fd, (struct sockaddr *)&sa, len);
    close(fd);
}

/* mg_stop() waits for the requests in progress. CivetWeb 1.15's master
 * thread, though, sees the stop flag only between 2 s polls of its
 * listening socket; a connection of our own wakes it at once. */
static void stop_http(struct mg_context *ctx, const struct options *o)
{
    static const struct timespec pause = { 0, 50000000 };
    struct stopper s = { ctx, 0 };
    pthread_t thread;
    int i;

    if (pthread_create(&thread, NULL, run_stop, &s) != 0) {
        mg_stop(ctx);
        return;
    }
    for (i = 0; i < 100 && !atomic_load(&s.done); i++) {
        nanosleep(&pause, NULL);
        if (!atomic_load(&s.done) && o->port > 0)
            poke(o);
    }
    pthread_join(thread, NULL);
}

int main(int argc, char **argv)
{
    struct options o;
    struct api_server srv;
    struct osi_store_options sopts = OSI_STORE_OPTIONS_INIT;
    struct osi_error err;
    struct mg_context *ctx = NULL;
    char msg[256];
    sigset_t stop;
    int rc, sig = 0, civetweb = 0;

    memset(&o, 0, sizeof(o));
    memset(&srv, 0, sizeof(srv));
    parse_listen(DEFAULT_LISTEN, &o);
    o.threads = DEFAULT_THREADS;
    o.max_body = DEFAULT_MAX_BODY;
    o.timeout_ms = DEFAULT_TIMEOUT_MS;
    rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    rc = EXIT_FAIL;

    /* Blocked before any thread starts, so every thread inherits it and
     * only sigwait() below sees these signals. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    if (osi_init(&err) != OSI_OK) {
        api_log("%s", err.message);
        return EXIT_FAIL;
    }
    sopts.flags = o.store_flags;
    if (osi_store_open(o.store, &sopts, &srv.store, &err) != OSI_OK) {
        api_log("cannot open the store %s: %s",
                o.store ? o.store : "(default)", err.message);
        goto out;
    }
    if (api_deadlines_start(&srv.deadlines, msg, sizeof(msg)) != 0) {
        api_log("%s", msg);
        goto out;
    }
    srv.max_body = o.max_body;
    srv.request_timeout_ms = (unsigned int)o.timeout_ms;
    mg_init_library(0);
    civetweb = 1;
    ctx = start_http(&o, &srv);
    if (ctx == NULL)
        goto out;
    log_listening(&o, ctx);
    api_log("store %s, %lu threads, bodies up to %lu bytes, request "
            "timeout %lu ms", o.store ? o.store : "(default)", o.threads,
            o.max_body, o.timeout_ms);
    api_log("warning: no token is configured: the API is open to anyone "
            "who can reach it");

    while (sigwait(&stop, &sig) != 0)
        ;
    api_log("stopping on %s: finishing requests in progress",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    /* A body still arriving will not be stored: its client sends the
     * report again (CivetWeb writes nothing more once stopping). */
    atomic_store(&srv.stopping, 1);
    api_deadlines_cut(srv.deadlines);
    stop_http(ctx, &o);
    api_log("stopped");
    rc = EXIT_OK;
out:
    if (civetweb)
        mg_exit_library();
    api_deadlines_stop(srv.deadlines);
    osi_store_close(srv.store);
    osi_cleanup();
    api_log_stop();
    return rc;
}
