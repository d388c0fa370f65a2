/* SPDX-License-Identifier: MIT */
/* osinspect-agent: collects this machine's report and sends it to the API
 * (or prints it), once or every --interval seconds. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <osinspect/osinspect.h>

#include "cli.h"

#define PROG "osinspect-agent"
/* "osinspect-agent: <message>" and the pointer to --help. */
#define usage_error(...) osic_usage_error(PROG, __VA_ARGS__)

/* Exit statuses: 3 tells a cron wrapper the report is safe in the spool. */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = OSIC_EXIT_USAGE,
    EXIT_SPOOLED = 3
};

struct config {
    int print, quiet;
    unsigned int json_flags;
    const char *root;
    char *url;        /* malloc'ed */
    char *token;      /* malloc'ed, or NULL */
    const char *cacert;
    const char *spool;
    unsigned int spool_max;
    unsigned int timeout_ms;
    unsigned int retries;
    int retries_set;
    double interval;  /* seconds; 0: run once */
};

static volatile sig_atomic_t stop_signal;

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: " PROG " [OPTION]...\n"
        "       " PROG " --print [--compact] [--root DIR]\n"
        "\n"
        "Collect the facts of this machine's operating system as one JSON\n"
        "report (docs/report-schema.md) and send it to the osinspect API;\n"
        "print 'success', or 'error: REASON' on stderr.\n"
        "\n"
        "Where to send (first found):\n"
        "  -u, --url URL          the API's report URL, http:// or https://\n"
        "                         (environment: OSI_API_URL)\n"
        "                         else http://$API_IP:$API_PORT/report, as the\n"
        "                         original agent (defaults 127.0.0.1 and 5000)\n"
        "  -t, --token TOKEN      send 'Authorization: Bearer TOKEN'\n"
        "                         (environment: OSI_API_TOKEN)\n"
        "  -T, --token-file FILE  read the token from the first line of FILE\n"
        "      --cacert FILE      verify https against FILE instead of the\n"
        "                         system's certificate authorities\n"
        "      --timeout SECONDS  give up one attempt after SECONDS (default 15)\n"
        "      --retries N        retries of a temporary failure (default 4)\n"
        "      --spool DIR        keep undelivered reports in DIR (default\n"
        "                         $STATE_DIRECTORY/spool, else\n"
        "                         $XDG_STATE_HOME/osinspect/spool, else\n"
        "                         ~/.local/state/osinspect/spool)\n"
        "      --spool-max N      keep at most N reports, dropping the oldest\n"
        "                         (default 1000)\n"
        "  -i, --interval SECONDS keep running: one report every SECONDS\n"
        "                         (+-10%% jitter) until SIGTERM or SIGINT\n"
        "  -q, --quiet            print nothing on success\n"
        "\n"
        "Printing instead of sending:\n"
        "  -p, --print            print the report on stdout, send nothing\n"
        "  -c, --compact          print it on one line (default: indented)\n"
        "      --pretty           print it indented by two spaces\n"
        "\n"
        "  -r, --root DIR         read files from under DIR instead of / (a\n"
        "                         container's mount of the host's /)\n"
        "  -h, --help             show this help and exit\n"
        "  -V, --version          show the version and exit\n"
        "\n"
        "Exit status: 0 success, 1 failure, 2 usage or configuration error,\n"
        "3 not delivered but kept in the spool for the next run.\n");
}

/* Seconds as a positive decimal ("300", "0.5"), at most a day. */
static int parse_seconds(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400)
        return -1;
    *out = v;
    return 0;
}

/* The first line of a file, without surrounding white space. */
static char *read_token_file(const char *path)
{
    char buf[4096], *start, *end;
    size_t n;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    for (start = buf; *start == ' ' || *start == '\t'; start++)
        ;
    for (end = start + strlen(start);
         end > start && (end[-1] == ' ' || end[-1] == '\t'); end--)
        ;
    *end = '\0';
    return strdup(start);
}

/* The original agent's variables: API_IP (a host) and API_PORT. */
static int url_from_env(struct config *cfg)
{
    const char *ip = getenv("API_IP"), *port = getenv("API_PORT");
    unsigned long p;
    int bracket;
    size_t n;

    if (ip == NULL || ip[0] == '\0')
        ip = "127.0.0.1";
    if (port == NULL || port[0] == '\0')
        port = "5000";
    if (osic_parse_number(port, 1, 65535, &p) != 0)
        return usage_error("API_PORT='%s' is not a port (1-65535)", port);
    if (strpbrk(ip, "/?#@ \t\r\n") != NULL)
        return usage_error("API_IP='%s' is not a host name or address", ip);
    bracket = strchr(ip, ':') != NULL && ip[0] != '[';
    n = strlen(ip) + 32;
    cfg->url = malloc(n);
    if (cfg->url == NULL)
        return EXIT_FAIL;
    snprintf(cfg->url, n, "http://%s%s%s:%lu/report", bracket ? "[" : "", ip,
             bracket ? "]" : "", p);
    return EXIT_OK;
}

static int parse_options(int argc, char **argv, struct config *cfg)
{
    enum { O_PRETTY = 256, O_CACERT, O_TIMEOUT, O_RETRIES, O_SPOOL,
           O_SPOOL_MAX };
    static const struct option longopts[] = {
        { "url", required_argument, NULL, 'u' },
        { "token", required_argument, NULL, 't' },
        { "token-file", required_argument, NULL, 'T' },
        { "cacert", required_argument, NULL, O_CACERT },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "retries", required_argument, NULL, O_RETRIES },
        { "spool", required_argument, NULL, O_SPOOL },
        { "spool-max", required_argument, NULL, O_SPOOL_MAX },
        { "interval", required_argument, NULL, 'i' },
        { "quiet", no_argument, NULL, 'q' },
        { "print", no_argument, NULL, 'p' },
        { "compact", no_argument, NULL, 'c' },
        { "pretty", no_argument, NULL, O_PRETTY },
        { "root", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *url = getenv("OSI_API_URL"), *token = getenv("OSI_API_TOKEN");
    const char *token_file = NULL;
    unsigned long v;
    double secs;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":u:t:T:i:qpcr:hV", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 't': token = optarg; token_file = NULL; break;
        case 'T': token_file = optarg; break;
        case O_CACERT: cfg->cacert = optarg; break;
        case O_TIMEOUT:
            if (parse_seconds(optarg, &secs) != 0 || secs > 3600)
                return usage_error("--timeout needs seconds (0 < S <= 3600), "
                                   "not '%s'", optarg);
            cfg->timeout_ms = (unsigned int)(secs * 1000 + 0.5);
            if (cfg->timeout_ms == 0)
                cfg->timeout_ms = 1;
            break;
        case O_RETRIES:
            if (osic_parse_number(optarg, 0, 100, &v) != 0)
                return usage_error("--retries needs a number from 0 to 100, "
                                   "not '%s'", optarg);
            cfg->retries = (unsigned int)v;
            cfg->retries_set = 1;
            break;
        case O_SPOOL:
            if (optarg[0] == '\0')
                return usage_error("--spool needs a directory");
            cfg->spool = optarg;
            break;
        case O_SPOOL_MAX:
            if (osic_parse_number(optarg, 1, 1000000, &v) != 0)
                return usage_error("--spool-max needs a number from 1 to "
                                   "1000000, not '%s'", optarg);
            cfg->spool_max = (unsigned int)v;
            break;
        case 'i':
            if (parse_seconds(optarg, &cfg->interval) != 0)
                return usage_error("--interval needs seconds (0 < S <= "
                                   "86400), not '%s'", optarg);
            break;
        case 'q': cfg->quiet = 1; break;
        case 'p': cfg->print = 1; break;
        case 'c': cfg->json_flags = OSI_JSON_COMPACT; break;
        case O_PRETTY: cfg->json_flags = OSI_JSON_PRETTY; break;
        case 'r':
            if (optarg[0] == '\0')
                return usage_error("--root needs a directory");
            cfg->root = optarg;
            break;
        case 'h': usage(stdout); exit(EXIT_OK);
        case 'V': printf(PROG " %s\n", osi_version()); exit(EXIT_OK);
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (cfg->print)
        return EXIT_OK;

    if (url != NULL && url[0] != '\0') {
        cfg->url = strdup(url);
        if (cfg->url == NULL)
            return EXIT_FAIL;
    } else if (url_from_env(cfg) != EXIT_OK) {
        return EXIT_USAGE;
    }
    if (token_file != NULL) {
        cfg->token = read_token_file(token_file);
        if (cfg->token == NULL)
            return usage_error("--token-file %s: %s", token_file,
                               strerror(errno));
        if (cfg->token[0] == '\0')
            return usage_error("--token-file %s: the file holds no token",
                               token_file);
    } else if (token != NULL && token[0] != '\0') {
        cfg->token = strdup(token);
        if (cfg->token == NULL)
            return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* Library warnings (a spool full, a corrupt spool file) go to stderr. */
static void log_line(enum osi_log_level level, const char *message,
                     void *payload)
{
    (void)payload;
    if (level <= OSI_LOG_WARNING)
        fprintf(stderr, "%s: %s\n",
                level == OSI_LOG_ERROR ? "error" : "warning", message);
}

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* Collect once; print or send. Returns an exit status. */
static int run_once(const struct config *cfg, struct osi_sender *sender)
{
    struct osi_collect_options copts = OSI_COLLECT_OPTIONS_INIT;
    struct osi_send_outcome outcome;
    struct osi_report *report = NULL;
    struct osi_error err;
    char *json = NULL;
    size_t len;
    int rc = EXIT_FAIL;

    copts.root = cfg->root;
    if (osi_collect(&copts, &report, &err) != OSI_OK) {
        fprintf(stderr, "error: %s\n", err.message);
        return EXIT_FAIL;
    }
    if (cfg->print) {
        if (osi_report_to_json(report, cfg->json_flags, &json, &len, &err) !=
            OSI_OK) {
            fprintf(stderr, "error: %s\n", err.message);
        } else if (fwrite(json, 1, len, stdout) != len ||
                   putchar('\n') == EOF || fflush(stdout) != 0) {
            fprintf(stderr, "error: writing the report: %s\n",
                    strerror(errno));
        } else {
            rc = EXIT_OK;
        }
    } else if (osi_send(sender, report, &outcome, &err) == OSI_OK) {
        if (!cfg->quiet && (printf("success\n") < 0 || fflush(stdout) != 0))
            fprintf(stderr, "error: writing to stdout: %s\n",
                    strerror(errno));
        rc = EXIT_OK;
    } else {
        fprintf(stderr, "error: %s%s\n", err.message,
                outcome.spooled ? " (kept in the spool for the next run)"
                                : "");
        rc = outcome.spooled ? EXIT_SPOOLED : EXIT_FAIL;
    }
    osi_free(json);
    osi_report_free(report);
    return rc;
}

/* Sleep about interval seconds (+-10 %), or less when SIGTERM or SIGINT
 * arrives. The signals are blocked while deciding to sleep, so one that
 * lands just before the wait still ends it. Returns 0 to go on. */
static int wait_interval(double interval)
{
    sigset_t set, old;
    struct timespec ts;
    double jitter = 0.9 + 0.2 * ((double)rand() / RAND_MAX);
    double secs = interval * jitter;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, &old);
    if (stop_signal == 0) {
        ts.tv_sec = (time_t)secs;
        ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
        do
            sig = sigtimedwait(&set, NULL, &ts);
        while (sig < 0 && errno == EINTR && stop_signal == 0);
        if (sig > 0)
            stop_signal = sig;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return stop_signal != 0;
}

static struct osi_sender *make_sender(const struct config *cfg, int *rc)
{
    struct osi_send_options sopts = OSI_SEND_OPTIONS_INIT;
    struct osi_sender *sender = NULL;
    struct osi_error err;
    char *spool = NULL;
    enum osi_status st;

    sopts.url = cfg->url;
    sopts.token = cfg->token;
    sopts.ca_file = cfg->cacert;
    sopts.timeout_ms = cfg->timeout_ms;
    if (cfg->retries_set)
        sopts.retries = cfg->retries;
    sopts.spool_max = cfg->spool_max;
    sopts.log = log_line;
    if (cfg->spool != NULL) {
        sopts.spool_dir = cfg->spool;
    } else if (osi_spool_default_dir(&spool, &err) == OSI_OK) {
        sopts.spool_dir = spool;
    } else {
        fprintf(stderr, "warning: no spool: %s\n", err.message);
    }
    st = osi_sender_new(&sopts, &sender, &err);
    osi_free(spool);
    if (st != OSI_OK) {
        /* A missing libcurl is an installation problem, the rest is
         * configuration. */
        *rc = st == OSI_ENOTSUP || st == OSI_ENOMEM ? EXIT_FAIL : EXIT_USAGE;
        fprintf(stderr, "error: %s\n", err.message);
        return NULL;
    }
    return sender;
}

int main(int argc, char **argv)
{
    struct config cfg = { .json_flags = OSI_JSON_PRETTY };
    struct osi_sender *sender = NULL;
    struct sigaction sa;
    struct osi_error err;
    int rc;

    rc = parse_options(argc, argv, &cfg);
    if (rc != EXIT_OK)
        goto out;
    if (osi_init(&err) != OSI_OK) {
        fprintf(stderr, "error: %s\n", err.message);
        rc = EXIT_FAIL;
        goto out;
    }
    if (!cfg.print && (sender = make_sender(&cfg, &rc)) == NULL)
        goto cleanup;

    /* No SA_RESTART: a signal ends a backoff wait of the sender, which
     * then spools the report at once. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    srand((unsigned int)time(NULL) ^ (unsigned int)getpid());

    rc = run_once(&cfg, sender);
    /* In --interval mode a failed run is reported and the next one tried:
     * the spool keeps what was not delivered. */
    while (cfg.interval > 0 && !wait_interval(cfg.interval))
        rc = run_once(&cfg, sender);
    if (cfg.interval > 0)
        rc = EXIT_OK;

cleanup:
    osi_sender_free(sender);
    osi_cleanup();
out:
    free(cfg.url);
    free(cfg.token);
    return rc;
}
