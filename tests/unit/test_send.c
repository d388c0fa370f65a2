/* SPDX-License-Identifier: MIT */
/* The sender against a fake HTTP server on 127.0.0.1: delivery, the
 * classification of answers, retries, the spool, gzip, tokens, the kept
 * connection, allocation failures, a missing libcurl, and the HTTP/1.1
 * client of http:// URLs (answers chunked, interim, closing, malformed). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "curl_load.h"
#include "fake_http.h"
#include "osi_test.h"
#include "send_int.h"

#define MAX_LINES 64

struct logbook {
    int count, warnings;
    int levels[MAX_LINES];
    char lines[MAX_LINES][512];
};

static void logger(enum osi_log_level level, const char *message,
                   void *payload)
{
    struct logbook *lb = payload;

    if (level == OSI_LOG_WARNING)
        lb->warnings++;
    if (lb->count < MAX_LINES) {
        lb->levels[lb->count] = level;
        snprintf(lb->lines[lb->count], sizeof(lb->lines[0]), "%s", message);
    }
    lb->count++;
}

/* The first logged line holding needle, or NULL. */
static const char *logged(const struct logbook *lb, int level,
                          const char *needle)
{
    for (int i = 0; i < lb->count && i < MAX_LINES; i++)
        if (lb->levels[i] == level && strstr(lb->lines[i], needle) != NULL)
            return lb->lines[i];
    return NULL;
}

struct fx {
    struct fake_http *http;
    char *tmp;
    char spool[512];
    struct logbook log;
    struct osi_send_options opts;
    struct osi_sender *sender;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    if (fx == NULL || (fx->tmp = osi_test_mkdtemp()) == NULL ||
        (fx->http = fake_http_start()) == NULL)
        return -1;
    snprintf(fx->spool, sizeof(fx->spool), "%s/spool", fx->tmp);
    osi_send_options_init(&fx->opts, OSI_SEND_OPTIONS_VERSION);
    fx->opts.url = fake_http_url(fx->http);
    fx->opts.spool_dir = fx->spool;
    fx->opts.timeout_ms = 10000;
    fx->opts.log = logger;
    fx->opts.log_payload = &fx->log;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    unsetenv("http_proxy"); /* set by a test that may have failed */
    osi_sender_free(fx->sender);
    fake_http_free(fx->http);
    osi_test_rmtree(fx->tmp);
    free(fx->tmp);
    free(fx);
    return 0;
}

static void new_sender(struct fx *fx)
{
    struct osi_error err;

    osi_sender_free(fx->sender);
    fx->sender = NULL;
    assert_osi_ok(osi_sender_new(&fx->opts, &fx->sender, &err), &err);
}

static char *report_json(const char *id)
{
    char *s = NULL;

    assert_true(asprintf(&s,
        "{\"cpu\":\"x\",\"os_username\":\"alice\",\"os_name\":\"Linux\","
        "\"server_ip\":\"10.0.0.5\",\"timestamp\":\"2026-01-02 03:04:05\","
        "\"os_version\":\"6.1.0\",\"schema_version\":1,"
        "\"report_id\":\"%s\"}", id) > 0);
    return s;
}

static struct osi_report *make_report(const char *id)
{
    struct osi_report *r = NULL;
    struct osi_error err;
    char *json = report_json(id);

    assert_osi_ok(osi_report_from_json(json, strlen(json), NULL, &r, &err),
                  &err);
    free(json);
    return r;
}

/* Send a new report with this id; returns the status. */
static int send_id(struct fx *fx, const char *id, struct osi_send_outcome *o,
                   struct osi_error *err)
{
    struct osi_report *r = make_report(id);
    int st = osi_send(fx->sender, r, o, err);

    osi_report_free(r);
    return st;
}

/* report_id of the body of request i, into a static buffer. */
static const char *req_id(struct fake_http *http, size_t i)
{
    static char id[64];
    const struct fake_http_request *q = fake_http_request(http, i);
    struct osi_report *r = NULL;
    struct osi_error err;

    assert_non_null(q);
    assert_osi_ok(osi_report_from_json(q->body, q->body_len, NULL, &r, &err),
                  &err);
    snprintf(id, sizeof(id), "%s", osi_report_get_string(r, "report_id"));
    osi_report_free(r);
    return id;
}

/* The spool's entries (names not starting with '.'), sorted, joined. */
static void spool_names(const char *dir, char *out, size_t size)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);

    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (list[i]->d_name[0] != '.') {
            size_t len = strlen(out);
            snprintf(out + len, size - len, "%s%s", len ? " " : "",
                     list[i]->d_name);
        }
        free(list[i]);
    }
    if (n >= 0)
        free(list);
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 +
           (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* The fake server's URL with https for http: where libcurl sends. */
static void https_url(struct fx *fx, char *buf, size_t size)
{
    snprintf(buf, size, "https%s", fx->opts.url + 4);
    fx->opts.url = buf;
}

/* Must run before anything loads libcurl (as the next test): http:// is
 * sent without it. */
static void test_send_http_needs_no_libcurl(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;
    const char *real = osip_curl_soname;

    osip_curl_soname = "libnonexistent.so.9";
    new_sender(fx);
    assert_osi_ok(send_id(fx, "nocurl", &o, &err), &err);
    osip_curl_soname = real;
    assert_int_equal(o.delivered, 1);
    assert_int_equal(fake_http_count(fx->http), 1);
    assert_string_equal(req_id(fx->http, 0), "nocurl");
}

/* Must run before anything loads libcurl: the loader keeps a library once
 * loaded, and only a failure is tried again. */
static void test_send_without_libcurl(void **state)
{
    struct fx *fx = *state;
    struct osi_sender *s = NULL;
    struct osi_error err;
    const char *real = osip_curl_soname;
    char url[128];

    https_url(fx, url, sizeof(url));
    osip_curl_soname = "libnonexistent.so.9";
    assert_osi_fails(osi_sender_new(&fx->opts, &s, &err), OSI_ENOTSUP, &err,
                     "libcurl is not installed (Debian package libcurl4): "
                     "libnonexistent.so.9: cannot open shared object file");
    assert_null(s);
    osip_curl_soname = real;
    /* the failure is not remembered */
    new_sender(fx);
}

static void test_send_delivered_once(void **state)
{
    struct fx *fx = *state;
    const struct fake_http_request *q;
    struct osi_send_outcome o;
    struct osi_error err;
    char ua[64], v[128], *want = report_json("id-1");

    new_sender(fx);
    assert_osi_ok(send_id(fx, "id-1", &o, &err), &err);
    assert_int_equal(o.delivered, 1);
    assert_int_equal(o.spooled, 0);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(o.http_status, 200);
    assert_int_equal(o.flushed, 0);
    assert_int_equal(o.pending, 0);
    assert_int_equal(fake_http_count(fx->http), 1);
    q = fake_http_request(fx->http, 0);
    assert_string_equal(q->method, "POST");
    assert_string_equal(q->path, "/report");
    assert_string_equal(q->body, want); /* compact, field order kept */
    assert_int_equal(q->gzipped, 1);    /* gzip is on by default */
    assert_string_equal(fake_http_header(q, "Content-Type", v, sizeof(v)),
                        "application/json");
    assert_string_equal(fake_http_header(q, "Content-Encoding", v,
                                         sizeof(v)),
                        "gzip");
    snprintf(ua, sizeof(ua), "osinspect-agent/%s", OSI_VERSION_STRING);
    assert_string_equal(fake_http_header(q, "User-Agent", v, sizeof(v)), ua);
    assert_null(fake_http_header(q, "Authorization", v, sizeof(v)));
    assert_null(fake_http_header(q, "Expect", v, sizeof(v)));
    free(want);
}

static void test_send_authorization_header(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;
    char v[128];

    fx->opts.token = "tok.en-123";
    new_sender(fx);
    assert_osi_ok(send_id(fx, "a1", NULL, &err), &err);
    assert_string_equal(fake_http_header(fake_http_request(fx->http, 0),
                                         "Authorization", v, sizeof(v)),
                        "Bearer tok.en-123");
}

static void test_send_connection_reused(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;

    new_sender(fx);
    for (int i = 0; i < 3; i++) {
        char id[16];

        snprintf(id, sizeof(id), "c%d", i);
        assert_osi_ok(send_id(fx, id, NULL, &err), &err);
    }
    assert_int_equal(fake_http_count(fx->http), 3);
    assert_int_equal(fake_http_connections(fx->http), 1);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(fake_http_request(fx->http, i)->conn, 1);
}

static void test_send_503_retry_after_honoured(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;
    struct timespec t0;

    fake_http_push(fx->http, 503, "Retry-After: 1",
                   "{\"error\":\"store unavailable\"}");
    new_sender(fx);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_osi_ok(send_id(fx, "r503", &o, &err), &err);
    assert_true(elapsed_ms(&t0) >= 1000);
    assert_int_equal(o.delivered, 1);
    assert_int_equal(o.attempts, 2);
    assert_int_equal(o.http_status, 200);
    assert_int_equal(fake_http_count(fx->http), 2);
    assert_string_equal(req_id(fx->http, 0), "r503");
    assert_string_equal(req_id(fx->http, 1), "r503");
    assert_non_null(logged(&fx->log, OSI_LOG_INFO, "retry 1 of 4 in"));
}

static void test_send_5xx_retries_are_bounded(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    static const int statuses[] = { 429, 502, 500 };

    for (int i = 0; i < 3; i++)
        fake_http_push(fx->http, statuses[i], NULL, "{\"error\":\"boom\"}");
    fx->opts.retries = 2;
    new_sender(fx);
    assert_osi_fails(send_id(fx, "r500", &o, &err), OSI_ENET, &err,
                     "the API answered HTTP 500: boom (3 attempts)");
    assert_int_equal(err.cause_kind, OSI_CAUSE_HTTP);
    assert_int_equal(err.cause, 500);
    assert_int_equal(o.attempts, 3);
    assert_int_equal(o.spooled, 1);
    assert_int_equal(o.pending, 1);
    assert_int_equal(fake_http_count(fx->http), 3);
}

static void test_send_retry_after_past_retry_time(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    fake_http_push(fx->http, 503, "Retry-After: 3600", NULL);
    new_sender(fx);
    assert_osi_fails(send_id(fx, "r3600", &o, &err), OSI_ENET, &err,
                     "HTTP 503");
    assert_int_equal(fake_http_count(fx->http), 1);
    assert_int_equal(o.spooled, 1);
    assert_non_null(logged(&fx->log, OSI_LOG_INFO,
                           "no retry: waiting 3600000 ms would pass the "
                           "retry time of 60000 ms"));
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_send_signal_stops_retries(void **state)
{
    struct fx *fx = *state;
    struct sigaction sa, old;
    /* repeated: one that lands while libcurl works is absorbed there */
    struct itimerval it = { { 0, 100000 }, { 0, 100000 } };
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    struct osi_send_outcome o;
    struct osi_error err;

    /* Without the signal, the sender would wait the 30 s and send again:
     * a second request. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART, as a SIGTERM handler */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    fake_http_push(fx->http, 503, "Retry-After: 30", NULL);
    new_sender(fx);
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    assert_osi_fails(send_id(fx, "sig", &o, &err), OSI_ENET, &err,
                     "HTTP 503");
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    assert_true(alarms >= 1);
    assert_int_equal(o.spooled, 1);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(fake_http_count(fx->http), 1);
    assert_non_null(logged(&fx->log, OSI_LOG_INFO,
                           "retries stopped by a signal"));
}

static void test_send_refused_is_spooled(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;
    char names[512];

    fx->opts.retries = 1;
    new_sender(fx);
    fake_http_stop(fx->http);
    assert_osi_fails(send_id(fx, "down-1", &o, &err), OSI_ENET, &err,
                     "the API cannot be reached: ");
    assert_non_null(strstr(err.message, "(2 attempts)"));
    assert_int_equal(err.cause_kind, OSI_CAUSE_CURL);
    assert_int_equal(err.cause, CURLE_COULDNT_CONNECT);
    assert_int_equal(o.delivered, 0);
    assert_int_equal(o.spooled, 1);
    assert_int_equal(o.attempts, 2);
    assert_int_equal(o.http_status, 0);
    assert_int_equal(o.pending, 1);
    spool_names(fx->spool, names, sizeof(names));
    assert_int_equal(strlen(names), 16 + strlen("-down-1.json"));
    assert_string_equal(names + 16, "-down-1.json");
}

static void test_send_without_spool_only_fails(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    fx->opts.retries = 0;
    fx->opts.spool_dir = NULL;
    new_sender(fx);
    fake_http_stop(fx->http);
    assert_osi_fails(send_id(fx, "nospool", &o, &err), OSI_ENET, &err,
                     "cannot be reached");
    assert_int_equal(o.spooled, 0);
    assert_int_equal(o.pending, 0);
    assert_false(osi_test_exists(fx->tmp, "spool"));
}

static void test_send_timeout_is_spooled(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    fake_http_push_silent(fx->http);
    fx->opts.retries = 0;
    fx->opts.timeout_ms = 300;
    new_sender(fx);
    assert_osi_fails(send_id(fx, "slow", &o, &err), OSI_ETIMEOUT, &err,
                     "the API cannot be reached");
    assert_int_equal(err.cause, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(o.spooled, 1);
    assert_int_equal(fake_http_count(fx->http), 1);
}

static void test_send_spool_flushed_oldest_first(void **state)
{
    struct fx *fx = *state;
    static const char *ids[] = { "s1", "s2", "s3", "s4", "s5" };
    struct osi_send_outcome o;
    struct osi_error err;
    char names[1024];

    fx->opts.retries = 0;
    new_sender(fx);
    fake_http_stop(fx->http);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(send_id(fx, ids[i], &o, &err), OSI_ENET);
        assert_int_equal(o.spooled, 1);
        assert_int_equal(o.pending, (unsigned int)i + 1);
    }
    assert_int_equal(fake_http_restart(fx->http), 0);
    /* the same sender, whose connection died with the server */
    assert_osi_ok(send_id(fx, ids[4], &o, &err), &err);
    assert_int_equal(o.delivered, 1);
    assert_int_equal(o.flushed, 4);
    assert_int_equal(o.pending, 0);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(fake_http_count(fx->http), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(req_id(fx->http, i), ids[i]);
    spool_names(fx->spool, names, sizeof(names));
    assert_string_equal(names, "");
    assert_non_null(logged(&fx->log, OSI_LOG_INFO, "sent spooled report"));
}

static void test_send_flush_alone(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    fx->opts.retries = 0;
    new_sender(fx);
    fake_http_stop(fx->http);
    assert_int_equal(send_id(fx, "f1", &o, &err), OSI_ENET);
    assert_int_equal(osi_sender_flush(fx->sender, &o, &err), OSI_ENET);
    assert_int_equal(o.pending, 1);
    assert_int_equal(fake_http_restart(fx->http), 0);
    assert_osi_ok(osi_sender_flush(fx->sender, &o, &err), &err);
    assert_int_equal(o.flushed, 1);
    assert_int_equal(o.pending, 0);
    assert_int_equal(o.delivered, 0);
    assert_int_equal(fake_http_count(fx->http), 1);
    assert_string_equal(req_id(fx->http, 0), "f1");
}

static void test_send_spool_failure_stops_new_report(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;
    char *json = report_json("old");

    /* The spooled report gets the API down: the new one is spooled
     * without a try of its own. */
    new_sender(fx);
    osi_test_write_file(fx->spool, "0000000000000001-old.json", json);
    fake_http_push(fx->http, 503, NULL, NULL);
    fx->opts.retries = 0;
    new_sender(fx);
    assert_int_equal(send_id(fx, "new", &o, &err), OSI_ENET);
    assert_int_equal(o.spooled, 1);
    assert_int_equal(o.attempts, 0);
    assert_int_equal(o.pending, 2);
    assert_int_equal(fake_http_count(fx->http), 1);
    assert_string_equal(req_id(fx->http, 0), "old");
    free(json);
}

static void test_send_lost_ack_resent(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    /* read, stored, connection cut before the answer */
    fake_http_push_cut(fx->http);
    new_sender(fx);
    assert_osi_ok(send_id(fx, "lost-ack", &o, &err), &err);
    assert_int_equal(o.delivered, 1);
    assert_int_equal(o.spooled, 0);
    assert_int_equal(o.attempts, 2);
    assert_int_equal(fake_http_count(fx->http), 2);
    assert_string_equal(req_id(fx->http, 0), "lost-ack");
    assert_string_equal(req_id(fx->http, 1), "lost-ack");
    assert_int_equal(fake_http_connections(fx->http), 2);
}

static void test_send_lost_ack_on_kept_connection(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    new_sender(fx);
    assert_osi_ok(send_id(fx, "first", &o, &err), &err);
    fake_http_push_cut(fx->http);
    assert_osi_ok(send_id(fx, "lost-ack", &o, &err), &err);
    assert_int_equal(o.delivered, 1);
    assert_int_equal(fake_http_count(fx->http), 3);
    assert_string_equal(req_id(fx->http, 1), "lost-ack");
    assert_string_equal(req_id(fx->http, 2), "lost-ack");
    /* On a kept connection that dies before any answer, the client
     * resends the request itself on a new connection (as libcurl 7.88
     * does for https): one attempt of ours, or two where it does not. */
    assert_true(o.attempts == 1 || o.attempts == 2);
    assert_int_equal(fake_http_connections(fx->http), 2);
}

static void test_send_rejected_not_spooled(void **state)
{
    struct fx *fx = *state;
    static const int statuses[] = { 400, 410, 413, 422 };
    size_t count = 0;

    fx->opts.retries = 4;
    new_sender(fx);
    for (size_t i = 0; i < 4; i++) {
        struct osi_send_outcome o;
        struct osi_error err;
        char want[128], names[512];
        /* a 400 to a gzipped body is tried once more, plain */
        unsigned int tries = statuses[i] == 400 ? 2 : 1;

        for (unsigned int t = 0; t < tries; t++)
            fake_http_push(fx->http, statuses[i], NULL, "{\"error\":\"x\"}");
        snprintf(want, sizeof(want),
                 "the API rejected the report (HTTP %d): x", statuses[i]);
        assert_osi_fails(send_id(fx, "bad", &o, &err), OSI_EINVAL, &err,
                         want);
        assert_string_equal(err.message, want);
        assert_int_equal(err.cause_kind, OSI_CAUSE_HTTP);
        assert_int_equal(err.cause, statuses[i]);
        assert_int_equal(o.spooled, 0);
        assert_int_equal(o.attempts, tries);
        assert_int_equal(o.http_status, statuses[i]);
        count += tries;
        assert_int_equal(fake_http_count(fx->http), count);
        spool_names(fx->spool, names, sizeof(names));
        assert_string_equal(names, "");
    }
    /* the 400 was the report's fault, not gzip's: still gzipped */
    assert_int_equal(fake_http_request(fx->http, count - 1)->gzipped, 1);
}

static void test_send_gzip_400_then_plain_delivered(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    /* An API that does not decode gzip and calls the body bad JSON, as
     * the original one does. */
    fx->opts.retries = 0;
    new_sender(fx);
    fake_http_push(fx->http, 400, NULL, "{\"error\":\"bad JSON\"}");
    assert_osi_ok(send_id(fx, "z1", &o, &err), &err);
    assert_int_equal(o.attempts, 2);
    assert_int_equal(fake_http_request(fx->http, 0)->gzipped, 1);
    assert_int_equal(fake_http_request(fx->http, 1)->gzipped, 0);
    assert_non_null(logged(&fx->log, OSI_LOG_INFO,
                           "sending reports uncompressed from now on"));
    assert_osi_ok(send_id(fx, "z2", &o, &err), &err);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(fake_http_request(fx->http, 2)->gzipped, 0);
}

static void test_send_wrong_path_spooled(void **state)
{
    struct fx *fx = *state;
    static const int statuses[] = { 301, 404, 405 };

    new_sender(fx);
    for (size_t i = 0; i < 3; i++) {
        struct osi_send_outcome o;
        struct osi_error err;
        char want[128];

        fake_http_push(fx->http, statuses[i], NULL, NULL);
        snprintf(want, sizeof(want), "the API answered HTTP %d, which does "
                 "not take reports (check the URL)", statuses[i]);
        assert_osi_fails(send_id(fx, "path", &o, &err), OSI_ENET, &err, NULL);
        assert_string_equal(err.message, want);
        assert_int_equal(err.cause, statuses[i]);
        /* from the second on, the spooled report meets the answer first,
         * and the new one is spooled untried */
        assert_int_equal(o.attempts, i == 0 ? 1 : 0);
        assert_int_equal(o.spooled, 1);
        assert_int_equal(o.pending, i + 1);
        assert_int_equal(fake_http_count(fx->http), i + 1);
    }
}

static void test_send_rejected_text_not_json(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;

    fx->opts.flags = OSI_SEND_NO_GZIP;
    new_sender(fx);
    fake_http_push(fx->http, 400, NULL, "plain words\r\nsecond line");
    assert_osi_fails(send_id(fx, "bad", NULL, &err), OSI_EINVAL, &err, NULL);
    assert_string_equal(err.message,
                        "the API rejected the report (HTTP 400): plain words");
    fake_http_push(fx->http, 422, NULL, NULL);
    assert_osi_fails(send_id(fx, "bad", NULL, &err), OSI_EINVAL, &err, NULL);
    assert_string_equal(err.message, "the API rejected the report (HTTP 422): "
                                     "no reason given");
}

struct send_call {
    struct osi_sender *sender;
    struct osi_report *report;
    enum osi_status st;
    struct osi_error err;
};

static void *send_on_thread(void *arg)
{
    struct send_call *c = arg;

    c->st = osi_send(c->sender, c->report, NULL, &c->err);
    return NULL;
}

/* An error answer nested deep (here 2,000 levels, near all the answer
 * the sender keeps) is read as text: jansson, which recurses per level,
 * never sees it, so a caller's thread with a small stack survives it. */
static void test_send_rejected_deeply_nested(void **state)
{
    struct fx *fx = *state;
    struct send_call c = { 0 };
    char body[4001];

    fx->opts.flags = OSI_SEND_NO_GZIP;
    new_sender(fx);
    memset(body, '[', 2000);
    memset(body + 2000, ']', 2000);
    body[4000] = '\0';
    fake_http_push(fx->http, 400, NULL, body);
    c.sender = fx->sender;
    c.report = make_report("deep");
    osi_test_on_small_stack(send_on_thread, &c);
    osi_report_free(c.report);
    assert_int_equal(c.st, OSI_EINVAL);
    assert_non_null(strstr(c.err.message,
                           "the API rejected the report (HTTP 400): [[["));
}

static void test_send_auth_refused_spooled(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    fx->opts.token = "wrong";
    new_sender(fx);
    fake_http_push(fx->http, 401, NULL, "{\"error\":\"bad token\"}");
    assert_osi_fails(send_id(fx, "auth", &o, &err), OSI_EAUTH, &err, NULL);
    assert_string_equal(err.message, "the API refused the token (HTTP 401)");
    assert_int_equal(err.cause_kind, OSI_CAUSE_HTTP);
    assert_int_equal(err.cause, 401);
    assert_int_equal(o.spooled, 1);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(fake_http_count(fx->http), 1);

    /* the same without a token, and 403 */
    fx->opts.token = NULL;
    new_sender(fx);
    fake_http_push(fx->http, 403, NULL, NULL);
    fake_http_push(fx->http, 403, NULL, NULL);
    assert_osi_fails(send_id(fx, "auth2", &o, &err), OSI_EAUTH, &err,
                     "the API wants a token (HTTP 403) and none is set");
    assert_int_equal(o.spooled, 1);
    assert_int_equal(o.pending, 2);
}

static void test_send_gzip_refused_then_plain(void **state)
{
    struct fx *fx = *state;
    const struct fake_http_request *q;
    struct osi_send_outcome o;
    struct osi_error err;
    char v[64];

    fx->opts.retries = 0; /* the plain resend is not a retry */
    new_sender(fx);
    fake_http_push(fx->http, 415, NULL, "{\"error\":\"gzip?\"}");
    assert_osi_ok(send_id(fx, "g1", &o, &err), &err);
    assert_int_equal(o.attempts, 2);
    assert_int_equal(fake_http_count(fx->http), 2);
    assert_int_equal(fake_http_request(fx->http, 0)->gzipped, 1);
    q = fake_http_request(fx->http, 1);
    assert_int_equal(q->gzipped, 0);
    assert_null(fake_http_header(q, "Content-Encoding", v, sizeof(v)));
    assert_string_equal(q->body, fake_http_request(fx->http, 0)->body);
    assert_non_null(logged(&fx->log, OSI_LOG_INFO,
                           "sending them uncompressed from now on"));
    /* remembered by this sender */
    assert_osi_ok(send_id(fx, "g2", &o, &err), &err);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(fake_http_request(fx->http, 2)->gzipped, 0);
    /* a 415 to a plain body is the report's fault */
    fake_http_push(fx->http, 415, NULL, "{\"error\":\"not JSON\"}");
    assert_osi_fails(send_id(fx, "g3", &o, &err), OSI_EINVAL, &err,
                     "(HTTP 415): not JSON");
    assert_int_equal(o.spooled, 0);
}

static void test_send_no_gzip_flag(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;

    fx->opts.flags = OSI_SEND_NO_GZIP;
    new_sender(fx);
    assert_osi_ok(send_id(fx, "plain", NULL, &err), &err);
    assert_int_equal(fake_http_request(fx->http, 0)->gzipped, 0);
}

static void test_send_spool_limit_drops_oldest(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;
    char names[1024];
    const char *w;

    fx->opts.retries = 0;
    fx->opts.spool_max = 2;
    new_sender(fx);
    fake_http_stop(fx->http);
    for (int i = 1; i <= 4; i++) {
        char id[8];

        snprintf(id, sizeof(id), "L%d", i);
        assert_int_equal(send_id(fx, id, &o, &err), OSI_ENET);
        assert_int_equal(o.spooled, 1);
        assert_int_equal(o.dropped, i > 2 ? 1 : 0);
        assert_int_equal(o.pending, i > 2 ? 2 : (unsigned int)i);
    }
    assert_int_equal(fx->log.warnings, 2);
    w = logged(&fx->log, OSI_LOG_WARNING, "is full (2 reports): dropped the "
                                          "oldest, ");
    assert_non_null(w);
    assert_non_null(strstr(w, "-L1.json"));
    spool_names(fx->spool, names, sizeof(names));
    assert_int_equal(strlen(names), 2 * (16 + strlen("-Lx.json")) + 1);
    assert_non_null(strstr(names, "-L3.json "));
    assert_non_null(strstr(names, "-L4.json"));
}

static void test_send_corrupt_spool_file_set_aside(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    new_sender(fx); /* creates the spool */
    osi_test_write_file(fx->spool, "0000000000000001-broken.json", "{\"cpu\":");
    assert_osi_ok(send_id(fx, "after", &o, &err), &err);
    assert_int_equal(o.delivered, 1);
    assert_int_equal(o.set_aside, 1);
    assert_int_equal(o.flushed, 0);
    assert_int_equal(o.pending, 0);
    assert_int_equal(fake_http_count(fx->http), 1);
    assert_string_equal(req_id(fx->http, 0), "after");
    assert_false(osi_test_exists(fx->spool, "0000000000000001-broken.json"));
    assert_true(osi_test_exists(fx->spool,
                            "0000000000000001-broken.json.corrupt"));
    assert_int_equal(fx->log.warnings, 1);
    assert_non_null(logged(&fx->log, OSI_LOG_WARNING, "is not a valid report"));
}

static void test_send_rejected_spool_file_set_aside(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;
    char *json = report_json("old-bad");

    new_sender(fx);
    osi_test_write_file(fx->spool, "0000000000000001-old-bad.json", json);
    fake_http_push(fx->http, 422, NULL, "{\"error\":\"too old\"}");
    assert_osi_ok(send_id(fx, "fresh", &o, &err), &err);
    assert_int_equal(o.set_aside, 1);
    assert_int_equal(o.flushed, 0);
    assert_int_equal(fake_http_count(fx->http), 2);
    assert_true(osi_test_exists(fx->spool,
                            "0000000000000001-old-bad.json.rejected"));
    assert_non_null(logged(&fx->log, OSI_LOG_WARNING, "too old"));
    free(json);
}

static void test_send_bad_options(void **state)
{
    struct fx *fx = *state;
    struct osi_send_options opts = fx->opts;
    struct osi_sender *s = NULL;
    struct osi_error err;
    char path[600];

    opts.url = "ftp://127.0.0.1/report";
    assert_osi_fails(osi_sender_new(&opts, &s, &err), OSI_EINVAL, &err,
                     "URL scheme \"ftp\" is not supported");
    opts.url = "not a url at all";
    assert_osi_fails(osi_sender_new(&opts, &s, &err), OSI_EINVAL, &err,
                     "is not a URL");
    opts.url = NULL;
    assert_osi_fails(osi_sender_new(&opts, &s, &err), OSI_EINVAL, &err,
                     "no URL");
    opts.url = fx->opts.url;
    opts.token = "two\nlines";
    assert_osi_fails(osi_sender_new(&opts, &s, &err), OSI_EINVAL, &err,
                     "control character");
    opts.token = NULL;
    opts.url = "https://127.0.0.1:1/report";
    opts.ca_file = "/nonexistent/ca.pem";
    assert_osi_fails(osi_sender_new(&opts, &s, &err), OSI_EIO, &err,
                     "CA file /nonexistent/ca.pem: No such file");
    opts.url = fx->opts.url;
    opts.ca_file = NULL;
    snprintf(path, sizeof(path), "%s/file", fx->tmp);
    osi_test_write_file(fx->tmp, "file", "x");
    strncat(path, "/spool", sizeof(path) - strlen(path) - 1);
    opts.spool_dir = path;
    assert_osi_fails(osi_sender_new(&opts, &s, &err), OSI_EIO, &err,
                     "spool directory");
    assert_int_equal(err.cause, ENOTDIR);
    opts.spool_dir = NULL;
    opts.version = 99;
    assert_osi_fails(osi_sender_new(&opts, &s, &err), OSI_EINVAL, &err,
                     "unknown send options version 99");
    assert_null(s);
    assert_int_equal(osi_send_options_init(NULL, OSI_SEND_OPTIONS_VERSION),
                     OSI_EINVAL);
    assert_int_equal(osi_send_options_init(&opts, 2), OSI_EINVAL);
    osi_sender_free(NULL);
}

static void test_send_tls_problem_not_retried(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;
    char url[128], ca[600];

    /* A CA file that holds no certificate: nothing can be verified, so
     * nothing is sent; a retry cannot help, and the report is fine. */
    https_url(fx, url, sizeof(url));
    snprintf(ca, sizeof(ca), "%s/ca.pem", fx->tmp);
    osi_test_write_file(fx->tmp, "ca.pem", "not a certificate\n");
    fx->opts.ca_file = ca;
    new_sender(fx);
    assert_osi_fails(send_id(fx, "tls", &o, &err), OSI_ENET, &err,
                     "the report cannot be sent: ");
    assert_int_equal(err.cause_kind, OSI_CAUSE_CURL);
    assert_int_equal(err.cause, CURLE_SSL_CACERT_BADFILE);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(o.spooled, 1);
    assert_int_equal(fake_http_count(fx->http), 0);
}

/* -- the HTTP/1.1 client of http:// URLs -------------------------------- */

static void test_send_http_request_head(void **state)
{
    struct fx *fx = *state;
    const struct fake_http_request *q;
    struct osi_error err;
    char url[128], want[64], v[128];
    unsigned int port = 0;

    /* a query is kept */
    snprintf(url, sizeof(url), "%s?site=b%%20c", fake_http_url(fx->http));
    fx->opts.url = url;
    fx->opts.token = "tok";
    new_sender(fx);
    assert_osi_ok(send_id(fx, "head", NULL, &err), &err);
    q = fake_http_request(fx->http, 0);
    assert_string_equal(q->path, "/report?site=b%20c");
    assert_int_equal(sscanf(fake_http_url(fx->http), "http://127.0.0.1:%u/",
                            &port), 1);
    snprintf(want, sizeof(want), "127.0.0.1:%u", port);
    assert_string_equal(fake_http_header(q, "Host", v, sizeof(v)), want);
    assert_string_equal(fake_http_header(q, "Connection", v, sizeof(v)),
                        "keep-alive");
    assert_string_equal(fake_http_header(q, "Authorization", v, sizeof(v)),
                        "Bearer tok");
    assert_null(fake_http_header(q, "Transfer-Encoding", v, sizeof(v)));
    assert_non_null(fake_http_header(q, "Content-Length", v, sizeof(v)));

    /* no path: "/" */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    new_sender(fx);
    assert_osi_ok(send_id(fx, "root", NULL, &err), &err);
    assert_string_equal(fake_http_request(fx->http, 1)->path, "/");
}

static void test_send_http_bad_urls(void **state)
{
    struct fx *fx = *state;
    struct osi_send_options opts = fx->opts;
    struct osi_sender *s = NULL;
    struct osi_error err;
    static const struct {
        const char *url, *why;
    } bad[] = {
        { "http://user:pw@127.0.0.1/report", "a user name or password" },
        { "http://127.0.0.1/report#top", "fragment" },
        { "http://127.0.0.1:0/report", "bad port" },
        { "http://127.0.0.1:65536/report", "bad port" },
        { "http://127.0.0.1:80x/report", "bad port" },
        { "http:///report", "no host name" },
        { "http://[::1/report", "bad IPv6 address" },
        { "http://[not:an:address]/report", "bad IPv6 address" },
        { "http://host name/report", "a space" },
        { "http://bad!host/report", "bad host name" },
        { "://127.0.0.1/report", "is not a URL" },
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        opts.url = bad[i].url;
        assert_osi_fails(osi_sender_new(&opts, &s, &err), OSI_EINVAL, &err,
                         bad[i].why);
        assert_null(s);
    }
    /* IPv6, an empty port (the default), upper-case scheme */
    opts.url = "http://[::1]:8080/report";
    assert_osi_ok(osi_sender_new(&opts, &s, &err), &err);
    osi_sender_free(s);
    opts.url = "HTTP://127.0.0.1:/report";
    assert_osi_ok(osi_sender_new(&opts, &s, &err), &err);
    osi_sender_free(s);
}

static void test_send_http_dns_failure_retried(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    fx->opts.url = "http://nonexistent.invalid/report"; /* RFC 6761 */
    fx->opts.retries = 1;
    new_sender(fx);
    assert_osi_fails(send_id(fx, "dns", &o, &err), OSI_ENET, &err,
                     "the API cannot be reached: Could not resolve host: "
                     "nonexistent.invalid");
    assert_non_null(strstr(err.message, "(2 attempts)"));
    assert_int_equal(err.cause_kind, OSI_CAUSE_CURL);
    assert_int_equal(err.cause, CURLE_COULDNT_RESOLVE_HOST);
    assert_int_equal(o.attempts, 2);
    assert_int_equal(o.spooled, 1);
    assert_non_null(logged(&fx->log, OSI_LOG_INFO,
                           "Couldn't resolve host name; retry 1 of 1"));
}

static void test_send_http_idle_close_reconnects(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    /* The server closes the connection after its answer without saying
     * so, as one that closes idle connections does. */
    fake_http_push_raw(fx->http, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                 "\r\n{}", 1);
    new_sender(fx);
    assert_osi_ok(send_id(fx, "i1", &o, &err), &err);
    assert_osi_ok(send_id(fx, "i2", &o, &err), &err);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(fake_http_count(fx->http), 2);
    assert_int_equal(fake_http_request(fx->http, 1)->conn, 2);
    assert_int_equal(fake_http_connections(fx->http), 2);
}

static void test_send_http_kept_connection_cut_resent_once(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    /* The kept connection dies after the request was read: resent at once
     * on a new connection, inside the same attempt... */
    fx->opts.retries = 0;
    new_sender(fx);
    assert_osi_ok(send_id(fx, "k1", &o, &err), &err);
    fake_http_push_cut(fx->http);
    assert_osi_ok(send_id(fx, "k2", &o, &err), &err);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(fake_http_count(fx->http), 3);
    assert_int_equal(fake_http_request(fx->http, 2)->conn, 2);

    /* ...but only once: the new connection dying too is a failure */
    fake_http_push_cut(fx->http);
    fake_http_push_cut(fx->http);
    assert_osi_fails(send_id(fx, "k3", &o, &err), OSI_ENET, &err,
                     "the API cannot be reached: Empty reply from server");
    assert_int_equal(err.cause, CURLE_GOT_NOTHING);
    assert_int_equal(fake_http_count(fx->http), 5);
    assert_int_equal(o.spooled, 1);
}

static void test_send_http_fresh_connection_cut_not_resent(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    /* a new connection that dies after the whole request went out: a
     * failure of the attempt, retried (if at all) with a backoff */
    fx->opts.retries = 0;
    fake_http_push_cut(fx->http);
    new_sender(fx);
    assert_osi_fails(send_id(fx, "fresh", &o, &err), OSI_ENET, &err,
                     "Empty reply from server (1 attempt)");
    assert_int_equal(err.cause, CURLE_GOT_NOTHING);
    assert_int_equal(fake_http_count(fx->http), 1);
    assert_int_equal(o.spooled, 1);
}

static void test_send_http_partial_answer_not_resent(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    /* a kept connection that dies in the middle of an answer: the request
     * was read, so no silent resend */
    fx->opts.retries = 0;
    new_sender(fx);
    assert_osi_ok(send_id(fx, "p1", &o, &err), &err);
    fake_http_push_raw(fx->http, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
                                 "\r\n{}", 1);
    assert_osi_fails(send_id(fx, "p2", &o, &err), OSI_ENET, &err,
                     "transfer closed with 8 bytes remaining to read");
    assert_int_equal(err.cause, CURLE_PARTIAL_FILE);
    assert_int_equal(fake_http_count(fx->http), 2);
    assert_int_equal(o.spooled, 1);
}

static void test_send_http_connection_close_honoured(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;

    /* The server says it closes (or speaks HTTP/1.0) but keeps the socket
     * open: the next request must still go on a new connection. */
    fake_http_push_raw(fx->http, "HTTP/1.1 200 OK\r\nConnection: Close\r\n"
                                 "Content-Length: 2\r\n\r\n{}", 0);
    fake_http_push_raw(fx->http, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n"
                                 "\r\n{}", 0);
    new_sender(fx);
    assert_osi_ok(send_id(fx, "x1", NULL, &err), &err);
    assert_osi_ok(send_id(fx, "x2", NULL, &err), &err);
    assert_osi_ok(send_id(fx, "x3", NULL, &err), &err);
    assert_int_equal(fake_http_request(fx->http, 0)->conn, 1);
    assert_int_equal(fake_http_request(fx->http, 1)->conn, 2);
    assert_int_equal(fake_http_request(fx->http, 2)->conn, 3);
}

static void test_send_http_chunked_answer(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;

    /* as a proxy in front of the API may send it: a 1xx first, a chunked
     * body with an extension and a trailer; then the connection serves
     * the next report */
    fx->opts.flags = OSI_SEND_NO_GZIP;
    fake_http_push_raw(fx->http,
                       "HTTP/1.1 100 Continue\r\n\r\n"
                       "HTTP/1.1 102 Processing\r\nX-A: b\r\n\r\n"
                       "HTTP/1.1 422 Unprocessable\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"
                       "5;ext=1\r\n{\"err\r\n"
                       "f\r\nor\":\"chunky\"}  \r\n"
                       "0\r\nX-Trailer: 1\r\n\r\n", 0);
    new_sender(fx);
    assert_osi_fails(send_id(fx, "chunk", &o, &err), OSI_EINVAL, &err, NULL);
    assert_string_equal(err.message,
                        "the API rejected the report (HTTP 422): chunky");
    assert_int_equal(o.http_status, 422);
    assert_osi_ok(send_id(fx, "after", &o, &err), &err);
    assert_int_equal(fake_http_request(fx->http, 1)->conn, 1);
    assert_int_equal(fake_http_connections(fx->http), 1);
}

static void test_send_http_body_until_close(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;

    fx->opts.flags = OSI_SEND_NO_GZIP;
    fake_http_push_raw(fx->http, "HTTP/1.1 400 Bad Request\r\n\r\n"
                                 "{\"error\":\"no length\"}", 1);
    new_sender(fx);
    assert_osi_fails(send_id(fx, "eof", NULL, &err), OSI_EINVAL, &err,
                     "(HTTP 400): no length");
}

static void test_send_http_long_answer(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;
    size_t big = 100 * 1024, mid = 20 * 1024;
    char *text = malloc(big + 1);

    /* kept up to a bound; a body past what is worth reading closes the
     * connection, a shorter one is read to keep it */
    assert_non_null(text);
    memset(text, 'a', big);
    text[big] = '\0';
    fx->opts.flags = OSI_SEND_NO_GZIP;
    new_sender(fx);
    fake_http_push(fx->http, 400, NULL, text);
    assert_osi_fails(send_id(fx, "big", NULL, &err), OSI_EINVAL, &err,
                     "(HTTP 400): aaaaaaaa");
    assert_int_equal(strlen(strchr(err.message, ':') + 2), 160);
    text[mid] = '\0';
    fake_http_push(fx->http, 400, NULL, text);
    assert_osi_fails(send_id(fx, "mid", NULL, &err), OSI_EINVAL, &err,
                     "(HTTP 400): aaaaaaaa");
    assert_osi_ok(send_id(fx, "after", NULL, &err), &err);
    assert_int_equal(fake_http_request(fx->http, 1)->conn, 2);
    assert_int_equal(fake_http_request(fx->http, 2)->conn, 2);
    free(text);
}

static void test_send_http_malformed_answers_retried(void **state)
{
    struct fx *fx = *state;
    static const char *const answers[] = {
        "garbage\r\n\r\n",
        "HTTP/2 200\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
        "\r\n{}",
        "HTTP/1.1 200 OK\r\n folded: line\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    };

    fx->opts.retries = 0;
    new_sender(fx);
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        struct osi_send_outcome o;
        struct osi_error err;

        fake_http_push_raw(fx->http, answers[i], 1);
        assert_osi_fails(send_id(fx, "weird", &o, &err), OSI_ENET, &err,
                         "the API cannot be reached: ");
        assert_int_equal(err.cause_kind, OSI_CAUSE_CURL);
        assert_int_equal(err.cause, CURLE_WEIRD_SERVER_REPLY);
        assert_int_equal(o.http_status, 0);
        /* spooled: the next send delivers it first, from the queue's
         * default answer... so empty the spool with a flush */
        assert_int_equal(o.spooled, 1);
        assert_osi_ok(osi_sender_flush(fx->sender, &o, &err), &err);
        assert_int_equal(o.flushed, 1);
    }
}

static void test_send_http_retry_after_date(void **state)
{
    struct fx *fx = *state;
    struct osi_send_outcome o;
    struct osi_error err;
    struct timespec t0;
    char hdr[64];
    time_t when = time(NULL) + 3;
    struct tm tm;

    gmtime_r(&when, &tm);
    /* IMF-fixdate, written without the locale: strftime's %a would be
     * localised */
    snprintf(hdr, sizeof(hdr), "Retry-After: %.3s, %02d %.3s %d "
             "%02d:%02d:%02d GMT", "SunMonTueWedThuFriSat" + 3 * tm.tm_wday,
             tm.tm_mday, "JanFebMarAprMayJunJulAugSepOctNovDec" +
             3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    fake_http_push(fx->http, 503, hdr, NULL);
    new_sender(fx);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_osi_ok(send_id(fx, "date", &o, &err), &err);
    /* at least one second: the date has whole seconds */
    assert_true(elapsed_ms(&t0) >= 1000);
    assert_int_equal(o.attempts, 2);

    /* a date past, or one that is not a date, is no reason to give up:
     * retried with the backoff alone (no upper bound on the time is
     * asserted: a loaded machine is slow) */
    fake_http_push(fx->http, 503, "Retry-After: Sun, 06 Nov 1994 08:49:37 "
                                  "GMT", NULL);
    fake_http_push(fx->http, 503, "Retry-After: soon", NULL);
    assert_osi_ok(send_id(fx, "past", &o, &err), &err);
    assert_int_equal(o.attempts, 3);
}

static void test_send_http_proxy_uses_libcurl(void **state)
{
    struct fx *fx = *state;
    struct osi_error err;

    /* With a proxy in the environment, libcurl sends http:// too (it
     * applies http_proxy and no_proxy, when it sends): the request reaches
     * the proxy with the whole URL as its target. */
    setenv("http_proxy", fake_http_url(fx->http), 1);
    fx->opts.url = "http://api.example.invalid:5000/report";
    new_sender(fx);
    assert_osi_ok(send_id(fx, "proxied", NULL, &err), &err);
    unsetenv("http_proxy");
    assert_string_equal(fake_http_request(fx->http, 0)->path,
                        "http://api.example.invalid:5000/report");
}

/* Fail the Nth allocation (ours and jansson's), for every N a clean run
 * makes: each failure must end in OSI_OK or a clean OSI_ENOMEM, with
 * nothing leaked and no spooled report lost. */
static long alloc_calls;

static int chaos_send(struct fx *fx, long n)
{
    struct osi_report *r = make_report("chaos-new");
    struct osi_error err;
    int st;

    osi_test_chaos_begin(n);
    st = osi_send(fx->sender, r, NULL, &err);
    alloc_calls = osi_test_chaos_end();
    if (st != OSI_OK) {
        assert_int_equal(st, OSI_ENOMEM);
        assert_string_equal(err.message, "out of memory");
    }
    osi_report_free(r);
    return st;
}

static void test_send_chaos(void **state)
{
    struct fx *fx = *state;
    char *old = report_json("chaos-old");
    long total;

    new_sender(fx);
    osi_test_write_file(fx->spool, "0000000000000001-chaos-old.json", old);
    assert_int_equal(chaos_send(fx, -1), OSI_OK);
    total = alloc_calls;
    assert_true(total > 5);
    for (long n = 0; n < total; n++) {
        size_t before = fake_http_count(fx->http), after, i;
        int seen_old = 0, seen_new = 0, st;

        osi_test_write_file(fx->spool, "0000000000000001-chaos-old.json", old);
        st = chaos_send(fx, n);
        after = fake_http_count(fx->http);
        for (i = before; i < after; i++) {
            seen_old |= strcmp(req_id(fx->http, i), "chaos-old") == 0;
            seen_new |= strcmp(req_id(fx->http, i), "chaos-new") == 0;
        }
        /* the spooled report is either delivered or still spooled */
        assert_true(seen_old !=
                    osi_test_exists(fx->spool, "0000000000000001-chaos-old.json"));
        assert_int_equal(seen_new, st == OSI_OK);
    }
    free(old);
}

static void test_send_chaos_new(void **state)
{
    struct fx *fx = *state;
    long total;

    fx->opts.token = "t";
    osi_test_chaos_begin(-1);
    new_sender(fx);
    total = osi_test_chaos_end();
    assert_true(total >= 2);
    for (long n = 0; n < total; n++) {
        struct osi_sender *s = NULL;
        struct osi_error err;
        int st;

        osi_test_chaos_begin(n);
        st = osi_sender_new(&fx->opts, &s, &err);
        osi_test_chaos_end();
        assert_osi_fails(st, OSI_ENOMEM, &err, "out of memory");
        assert_null(s);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        /* first: before libcurl is loaded */
        T(test_send_http_needs_no_libcurl),
        T(test_send_without_libcurl),
        T(test_send_delivered_once),
        T(test_send_authorization_header),
        T(test_send_connection_reused),
        T(test_send_503_retry_after_honoured),
        T(test_send_5xx_retries_are_bounded),
        T(test_send_retry_after_past_retry_time),
        T(test_send_signal_stops_retries),
        T(test_send_refused_is_spooled),
        T(test_send_without_spool_only_fails),
        T(test_send_timeout_is_spooled),
        T(test_send_spool_flushed_oldest_first),
        T(test_send_flush_alone),
        T(test_send_spool_failure_stops_new_report),
        T(test_send_lost_ack_resent),
        T(test_send_lost_ack_on_kept_connection),
        T(test_send_rejected_not_spooled),
        T(test_send_rejected_text_not_json),
        T(test_send_rejected_deeply_nested),
        T(test_send_gzip_400_then_plain_delivered),
        T(test_send_wrong_path_spooled),
        T(test_send_auth_refused_spooled),
        T(test_send_gzip_refused_then_plain),
        T(test_send_no_gzip_flag),
        T(test_send_spool_limit_drops_oldest),
        T(test_send_corrupt_spool_file_set_aside),
        T(test_send_rejected_spool_file_set_aside),
        T(test_send_bad_options),
        T(test_send_tls_problem_not_retried),
        T(test_send_http_request_head),
        T(test_send_http_bad_urls),
        T(test_send_http_dns_failure_retried),
        T(test_send_http_idle_close_reconnects),
        T(test_send_http_kept_connection_cut_resent_once),
        T(test_send_http_fresh_connection_cut_not_resent),
        T(test_send_http_partial_answer_not_resent),
        T(test_send_http_connection_close_honoured),
        T(test_send_http_chunked_answer),
        T(test_send_http_body_until_close),
        T(test_send_http_long_answer),
        T(test_send_http_malformed_answers_retried),
        T(test_send_http_retry_after_date),
        T(test_send_http_proxy_uses_libcurl),
        T(test_send_chaos),
        T(test_send_chaos_new),
    };
#undef T
    /* The fake server is on 127.0.0.1: no proxy of the environment may
     * stand in between. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    return cmocka_run_group_tests_name("send", tests, NULL, NULL);
}
