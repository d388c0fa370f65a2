/* SPDX-License-Identifier: MIT */
/* The sender: POSTs reports over one kept connection (our own HTTP/1.1
 * client for http://, libcurl for https://), classifies the API's
 * answers, retries with backoff, spools what it cannot deliver and
 * flushes the spool on the next contact. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "curl_load.h"
#include "http_client.h"
#include "send_int.h"

#define USER_AGENT "osinspect-agent/" OSI_VERSION_STRING

/* Backoff before retry n (0-based): a random wait in
 * [0, min(CAP, BASE * 2^n)] ms ("full jitter"), so that a fleet of agents
 * does not come back in step after an outage. */
#define BACKOFF_BASE_MS 250
#define BACKOFF_CAP_MS 8000
/* Longest Retry-After taken into account; longer ones exceed any retry
 * time anyway. */
#define RETRY_AFTER_MAX_S 86400
/* Bytes of an answer kept for the error text; the rest is discarded. */
#define ANSWER_MAX 4096
/* Longest error text of the API quoted in a message. */
#define REASON_MAX 160

struct attempt;

/* How a request goes out. Two implementations: libcurl (https, and http
 * through a proxy of the environment) and a plain socket (http), which
 * spares a process libcurl's ~30 libraries (docs/sending.md). Both report
 * failures with libcurl's codes, so that everything past post() is the
 * same for both. */
struct transport {
    /* POST body: fill a (but its verdict), the answer's first bytes in
     * s->answer and, on a failure, a message in s->errbuf. */
    void (*post)(struct osi_sender *s, const char *body, size_t len,
                 int gzipped, struct attempt *a);
    /* Short text of a failure code. */
    const char *(*strerror)(const struct osi_sender *s, CURLcode cc);
    /* Close the connection and free what the transport holds. */
    void (*close)(struct osi_sender *s);
};

struct osi_sender {
    const struct transport *t; /* NULL until one is set up */
    const struct osip_curl *c; /* libcurl's: NULL when not loaded */
    CURL *easy;
    struct curl_slist *headers_plain, *headers_gzip;
    struct osip_http *http;    /* the socket's */
    const struct osip_zlib *z; /* NULL: no gzip */
    int has_token;
    unsigned int retries, retry_time_ms;
    int gzip_ok; /* the API has not shown that it cannot take gzip */
    int has_spool;
    struct osip_spool spool;
    osi_log_fn *log;
    void *log_payload;
    uint64_t rng;
    size_t answer_len;
    char answer[ANSWER_MAX + 1];
    char errbuf[CURL_ERROR_SIZE];
};

/* What one attempt came to. */
enum verdict {
    V_DELIVERED,    /* 2xx */
    V_RETRY,        /* temporary: try again later */
    V_REJECTED,     /* the report is bad: never resend it */
    V_AUTH,         /* the token was refused: the report is fine */
    V_GZIP_REFUSED, /* 415 to a gzipped body: resend it plain */
    V_GZIP_SUSPECT, /* 400 to a gzipped body: perhaps gzip's fault */
    V_FAILED,       /* not the report's fault, and retrying will not help */
    V_NOMEM
};

struct attempt {
    enum verdict verdict;
    CURLcode cc;
    long http;           /* 0 when no answer */
    long retry_after_ms; /* 0 when none */
};

enum osi_status osi_send_options_init(struct osi_send_options *opts,
                                      unsigned int version)
{
    static const struct osi_send_options defaults = OSI_SEND_OPTIONS_INIT;

    if (opts == NULL || version != OSI_SEND_OPTIONS_VERSION)
        return OSI_EINVAL;
    *opts = defaults;
    return OSI_OK;
}

/* splitmix64: jitter needs spread, not secrecy. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned int backoff_ms(struct osi_sender *s, unsigned int retry)
{
    uint64_t ceiling = BACKOFF_BASE_MS;

    for (unsigned int i = 0; i < retry && ceiling < BACKOFF_CAP_MS; i++)
        ceiling *= 2;
    if (ceiling > BACKOFF_CAP_MS)
        ceiling = BACKOFF_CAP_MS;
    return (unsigned int)(next_random(&s->rng) % (ceiling + 1));
}

/* Sleep ms milliseconds; -1 when a signal handler ran meanwhile (the
 * program wants to stop: retrying would only delay it). */
static int sleep_ms(unsigned int ms)
{
    struct timespec until;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    return rc == 0 ? 0 : -1;
}

static size_t on_answer(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct osi_sender *s = userdata;
    size_t n = size * nmemb, room = ANSWER_MAX - s->answer_len;

    memcpy(s->answer + s->answer_len, ptr, n < room ? n : room);
    s->answer_len += n < room ? n : room;
    return n;
}

/* The API's reason from its answer: the "error" string of a JSON object,
 * else the first line of the text; control characters become spaces. */
static void answer_reason(struct osi_sender *s, char *out, size_t size)
{
    const char *text = s->answer;
    size_t len = s->answer_len, i;
    json_t *root, *e;

    s->answer[s->answer_len] = '\0';
    /* jansson recurses per level, and this may run on a caller's thread
     * with a small stack: an answer nested deep is read as text. */
    root = osip_json_depth_exceeds(s->answer, s->answer_len, 32) == 0
               ? json_loadb(s->answer, s->answer_len, 0, NULL)
               : NULL;
    e = json_is_object(root) ? json_object_get(root, "error") : NULL;
    if (json_is_string(e)) {
        text = json_string_value(e);
        len = json_string_length(e);
    } else {
        len = strcspn(text, "\r\n");
    }
    if (len >= size)
        len = size - 1;
    if (len > REASON_MAX)
        len = REASON_MAX;
    for (i = 0; i < len; i++)
        out[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? ' '
                                                                   : text[i];
    out[i] = '\0';
    json_decref(root);
}

static enum verdict classify_http(long http, int gzipped)
{
    if (http >= 200 && http <= 299)
        return V_DELIVERED;
    switch (http) {
    case 401:
    case 403:
        return V_AUTH;
    case 400:
        /* What an API that ignores Content-Encoding answers to gzip (the
         * original Flask API does): only a plain resend can tell. */
        return gzipped ? V_GZIP_SUSPECT : V_REJECTED;
    case 415:
        return gzipped ? V_GZIP_REFUSED : V_REJECTED;
    /* The URL is wrong, not the report: keep it for when it is fixed. */
    case 404:
    case 405:
        return V_FAILED;
    /* Not the report's fault: the server timed the request out, or
     * limits the rate (with a Retry-After). */
    case 408:
    case 429:
        return V_RETRY;
    }
    if (http >= 500 && http <= 599)
        return V_RETRY;
    if (http >= 400 && http <= 499)
        return V_REJECTED;
    /* 1xx as a final answer, 3xx (redirects are not followed: a POST
     * must not silently go elsewhere), anything unknown. */
    return V_FAILED;
}

static enum verdict classify_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: /* the connection closed before the answer */
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR: /* a handshake cut short */
        return V_RETRY;
    case CURLE_OUT_OF_MEMORY:
        return V_NOMEM;
    default:
        /* Certificate problems, an unusable URL or protocol: retrying
         * cannot help, and the report itself is fine. */
        return V_FAILED;
    }
}

static long retry_after_ms(long seconds)
{
    if (seconds <= 0)
        return 0;
    return (seconds > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : seconds) *
           1000L;
}

static void curl_post(struct osi_sender *s, const char *body, size_t len,
                      int gzipped, struct attempt *a)
{
    const struct osip_curl *c = s->c;
    curl_off_t ra = 0;

    c->easy_setopt(s->easy, CURLOPT_HTTPHEADER,
                   gzipped ? s->headers_gzip : s->headers_plain);
    c->easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    c->easy_setopt(s->easy, CURLOPT_POSTFIELDS, body);
    a->cc = c->easy_perform(s->easy);
    if (a->cc != CURLE_OK)
        return;
    c->easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &a->http);
    /* curl parses both forms (seconds, HTTP date); 0 when absent. */
    if (c->easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK)
        a->retry_after_ms = retry_after_ms(ra > RETRY_AFTER_MAX_S
                                               ? RETRY_AFTER_MAX_S
                                               : (long)ra);
}

static const char *curl_strerror(const struct osi_sender *s, CURLcode cc)
{
    return s->c->easy_strerror(cc);
}

static void curl_close(struct osi_sender *s)
{
    if (s->easy != NULL)
        s->c->easy_cleanup(s->easy);
    s->c->slist_free_all(s->headers_plain);
    s->c->slist_free_all(s->headers_gzip);
}

static const struct transport curl_transport = {
    curl_post, curl_strerror, curl_close
};

static void socket_post(struct osi_sender *s, const char *body, size_t len,
                        int gzipped, struct attempt *a)
{
    struct osip_http_answer ans;

    osip_http_post(s->http, body, len, gzipped, s->answer, ANSWER_MAX,
                   &ans);
    a->cc = ans.cc;
    if (ans.cc != CURLE_OK) {
        memcpy(s->errbuf, ans.message, sizeof(s->errbuf));
        return;
    }
    s->answer_len = ans.body_len;
    a->http = ans.status;
    a->retry_after_ms = retry_after_ms(ans.retry_after_s);
}

static const char *socket_strerror(const struct osi_sender *s, CURLcode cc)
{
    (void)s;
    return osip_http_strerror(cc);
}

static void socket_close(struct osi_sender *s)
{
    osip_http_free(s->http);
}

static const struct transport socket_transport = {
    socket_post, socket_strerror, socket_close
};

static void attempt_once(struct osi_sender *s, const char *body, size_t len,
                         int gzipped, struct attempt *a)
{
    s->answer_len = 0;
    s->errbuf[0] = '\0';
    a->http = 0;
    a->retry_after_ms = 0;
    s->t->post(s, body, len, gzipped, a);
    a->verdict = a->cc != CURLE_OK ? classify_curl(a->cc)
                                   : classify_http(a->http, gzipped);
}

static void *z_alloc(void *opaque, unsigned int items, unsigned int size)
{
    (void)opaque;
    if (size != 0 && items > SIZE_MAX / size)
        return NULL;
    return osip_malloc((size_t)items * size);
}

static void z_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

/* gzip a body into new memory. */
static enum osi_status gzip_body(const struct osip_zlib *z, const char *in,
                                 size_t len, char **out, size_t *out_len,
                                 struct osi_error *err)
{
    z_stream zs;
    size_t bound;
    char *buf;
    int rc;

    memset(&zs, 0, sizeof(zs));
    zs.zalloc = z_alloc;
    zs.zfree = z_free;
    /* windowBits 15 + 16: a gzip wrapper, not zlib's. */
    rc = z->deflate_init2_(&zs, 6, Z_DEFLATED, 15 + 16, 8,
                           Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                           (int)sizeof(zs));
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR
                   ? osip_fail(err, OSI_ENOMEM, "out of memory")
                   : osip_fail(err, OSI_ENOTSUP, "zlib cannot gzip (%d)", rc);
    bound = z->deflate_bound(&zs, (unsigned long)len);
    buf = osip_malloc(bound);
    if (buf == NULL) {
        z->deflate_end(&zs);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    zs.next_in = (const Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)bound;
    rc = z->deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    z->deflate_end(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return rc == Z_MEM_ERROR
                   ? osip_fail(err, OSI_ENOMEM, "out of memory")
                   : osip_fail(err, OSI_ENOTSUP, "zlib cannot gzip (%d)", rc);
    }
    *out = buf;
    return OSI_OK;
}

/* The error of a final verdict. */
static enum osi_status verdict_error(struct osi_sender *s,
                                     const struct attempt *a,
                                     unsigned int attempts,
                                     struct osi_error *err)
{
    char reason[REASON_MAX + 1];
    const char *what = s->errbuf[0] ? s->errbuf
                                    : s->t->strerror(s, a->cc);

    switch (a->verdict) {
    case V_DELIVERED:
        return OSI_OK;
    case V_NOMEM:
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    case V_AUTH:
        if (s->has_token)
            return osip_error_set(err, OSI_EAUTH, OSI_CAUSE_HTTP, a->http,
                                  "the API refused the token (HTTP %ld)",
                                  a->http);
        return osip_error_set(err, OSI_EAUTH, OSI_CAUSE_HTTP, a->http,
                              "the API wants a token (HTTP %ld) and none "
                              "is set", a->http);
    case V_REJECTED:
    case V_GZIP_REFUSED:
    case V_GZIP_SUSPECT:
        answer_reason(s, reason, sizeof(reason));
        return osip_error_set(err, OSI_EINVAL, OSI_CAUSE_HTTP, a->http,
                              "the API rejected the report (HTTP %ld): %s",
                              a->http, reason[0] ? reason : "no reason given");
    case V_RETRY:
        if (a->cc == CURLE_OK) {
            answer_reason(s, reason, sizeof(reason));
            return osip_error_set(err, OSI_ENET, OSI_CAUSE_HTTP, a->http,
                                  "the API answered HTTP %ld%s%s (%u "
                                  "attempt%s)", a->http, reason[0] ? ": " : "",
                                  reason, attempts, attempts == 1 ? "" : "s");
        }
        return osip_error_set(err, a->cc == CURLE_OPERATION_TIMEDOUT ?
                                       OSI_ETIMEOUT : OSI_ENET,
                              OSI_CAUSE_CURL, a->cc,
                              "the API cannot be reached: %s (%u attempt%s)",
                              what, attempts, attempts == 1 ? "" : "s");
    case V_FAILED:
        if (a->cc == CURLE_OK)
            return osip_error_set(err, OSI_ENET, OSI_CAUSE_HTTP, a->http,
                                  "the API answered HTTP %ld, which does "
                                  "not take reports (check the URL)",
                                  a->http);
        return osip_error_set(err, OSI_ENET, OSI_CAUSE_CURL, a->cc,
                              "the report cannot be sent: %s", what);
    }
    return osip_fail(err, OSI_ENET, "unknown verdict");
}

/* POST one report's JSON text until it is delivered, rejected, or the
 * retries are spent. spoolable_out: whether the failure leaves the report
 * worth keeping (everything but a rejection and a lack of memory). */
static enum osi_status deliver(struct osi_sender *s, const char *json,
                               size_t len, const char *label,
                               unsigned int *attempts_out, long *http_out,
                               int *spoolable_out, struct osi_error *err)
{
    uint64_t start = osip_mono_ms();
    unsigned int retry = 0, attempts = 0;
    int plain = 0, probing = 0;
    char *gz = NULL;
    size_t gz_len = 0;
    struct attempt a;
    enum osi_status st;

    *spoolable_out = 0;
    for (;;) {
        int gzipped = s->gzip_ok && s->z != NULL && !plain;
        unsigned int wait;
        uint64_t elapsed;

        if (gzipped && gz == NULL) {
            struct osi_error ze;

            st = gzip_body(s->z, json, len, &gz, &gz_len, &ze);
            if (st == OSI_ENOTSUP) {
                /* a zlib that will not gzip: go on without */
                osip_log(s->log, s->log_payload, OSI_LOG_DEBUG,
                         "not gzipping reports: %s", ze.message);
                s->z = NULL;
                continue;
            }
            if (st != OSI_OK) {
                if (err != NULL)
                    *err = ze;
                goto out;
            }
        }
        attempt_once(s, gzipped ? gz : json, gzipped ? gz_len : len, gzipped,
                     &a);
        attempts++;
        if (http_out != NULL)
            *http_out = a.http;
        /* A resend of a gzipped body, plain and at once, is not a retry. */
        if (a.verdict == V_GZIP_REFUSED) {
            s->gzip_ok = 0;
            plain = 1;
            osip_log(s->log, s->log_payload, OSI_LOG_INFO,
                     "the API does not take gzipped reports (HTTP 415): "
                     "sending them uncompressed from now on");
            continue;
        }
        if (a.verdict == V_GZIP_SUSPECT) {
            plain = probing = 1;
            continue;
        }
        if (probing && a.verdict == V_DELIVERED) {
            s->gzip_ok = 0;
            osip_log(s->log, s->log_payload, OSI_LOG_INFO,
                     "the API took uncompressed what it refused gzipped "
                     "(HTTP 400): sending reports uncompressed from now on");
        }
        probing = 0;
        if (a.verdict != V_RETRY || retry >= s->retries)
            break;
        wait = backoff_ms(s, retry);
        if (a.retry_after_ms > (long)wait)
            wait = (unsigned int)a.retry_after_ms;
        elapsed = osip_mono_ms() - start;
        if (elapsed + wait > s->retry_time_ms) {
            osip_log(s->log, s->log_payload, OSI_LOG_INFO,
                     "%s: no retry: waiting %u ms would pass the retry time "
                     "of %u ms", label, wait, s->retry_time_ms);
            break;
        }
        if (a.cc != CURLE_OK)
            osip_log(s->log, s->log_payload, OSI_LOG_INFO,
                     "%s: %s; retry %u of %u in %u ms", label,
                     s->t->strerror(s, a.cc), retry + 1, s->retries, wait);
        else
            osip_log(s->log, s->log_payload, OSI_LOG_INFO,
                     "%s: HTTP %ld; retry %u of %u in %u ms", label, a.http,
                     retry + 1, s->retries, wait);
        if (sleep_ms(wait) != 0) {
            osip_log(s->log, s->log_payload, OSI_LOG_INFO,
                     "%s: retries stopped by a signal", label);
            break;
        }
        retry++;
    }
    st = verdict_error(s, &a, attempts, err);
    *spoolable_out = a.verdict != V_REJECTED && a.verdict != V_NOMEM &&
                     a.verdict != V_DELIVERED;
out:
    free(gz);
    if (attempts_out != NULL)
        *attempts_out = attempts;
    return st;
}

/* Send the spooled reports, oldest first. *contact_failed_out is set when
 * the API could not be reached or refused the token: then the caller
 * should not try its own report now. */
static enum osi_status flush(struct osi_sender *s,
                             struct osi_send_outcome *o,
                             int *contact_failed_out, struct osi_error *err)
{
    struct osip_spool_list list;
    enum osi_status st;

    *contact_failed_out = 0;
    if (!s->has_spool)
        return OSI_OK;
    st = osip_spool_list(&s->spool, &list, err);
    if (st != OSI_OK)
        return st;
    for (size_t i = 0; i < list.count; i++) {
        const char *name = list.names[i];
        struct osi_error e;
        char *json = NULL;
        size_t len = 0;
        int spoolable;

        st = osip_spool_get(&s->spool, name, &json, &len, &e);
        if (st == OSI_ENOTFOUND) {
            st = OSI_OK; /* another process sent it */
            continue;
        }
        if (st == OSI_EPARSE) {
            st = OSI_OK; /* set aside, with a warning */
            o->set_aside++;
            continue;
        }
        if (st == OSI_EIO) {
            /* Left where it is (a person may fix its permissions); the
             * others are still sent. */
            osip_log(s->log, s->log_payload, OSI_LOG_ERROR, "%s", e.message);
            st = OSI_OK;
            continue;
        }
        if (st != OSI_OK) {
            if (err != NULL)
                *err = e;
            break;
        }
        st = deliver(s, json, len, name, NULL, NULL, &spoolable, &e);
        free(json);
        if (st == OSI_OK) {
            o->flushed++;
            osip_log(s->log, s->log_payload, OSI_LOG_INFO,
                     "sent spooled report %s", name);
            /* Delivered: a failure to remove it means a harmless resend
             * later (the API stores a report_id once). */
            if (osip_spool_remove(&s->spool, name, &e) != OSI_OK)
                osip_log(s->log, s->log_payload, OSI_LOG_WARNING, "%s",
                         e.message);
            continue;
        }
        if (st == OSI_EINVAL) {
            o->set_aside++;
            osip_log(s->log, s->log_payload, OSI_LOG_WARNING,
                     "spooled report %s: %s: moved aside to %s.rejected",
                     name, e.message, name);
            if (osip_spool_set_aside(&s->spool, name, ".rejected", &e) !=
                OSI_OK)
                osip_log(s->log, s->log_payload, OSI_LOG_WARNING, "%s",
                         e.message);
            st = OSI_OK;
            continue;
        }
        *contact_failed_out = spoolable;
        if (err != NULL)
            *err = e;
        break;
    }
    osip_spool_list_free(&list);
    return st;
}

static void count_pending(struct osi_sender *s, struct osi_send_outcome *o)
{
    struct osip_spool_list list;

    if (s->has_spool && osip_spool_list(&s->spool, &list, NULL) == OSI_OK) {
        o->pending = (unsigned int)list.count;
        osip_spool_list_free(&list);
    }
}

enum osi_status osi_sender_flush(struct osi_sender *sender,
                                 struct osi_send_outcome *outcome,
                                 struct osi_error *err)
{
    struct osi_send_outcome o;
    enum osi_status st;
    int contact_failed;

    memset(&o, 0, sizeof(o));
    if (outcome != NULL)
        *outcome = o;
    OSIP_ASSERT_ARG(sender != NULL, err);
    st = flush(sender, &o, &contact_failed, err);
    count_pending(sender, &o);
    if (outcome != NULL)
        *outcome = o;
    return st;
}

enum osi_status osi_send(struct osi_sender *sender,
                         const struct osi_report *report,
                         struct osi_send_outcome *outcome,
                         struct osi_error *err)
{
    struct osi_send_outcome o;
    struct osi_error e;
    enum osi_status st;
    const char *id;
    char label[OSIP_SPOOL_NAME_MAX];
    char *json = NULL;
    size_t len = 0;
    int contact_failed = 0, spoolable = 0;

    memset(&o, 0, sizeof(o));
    if (outcome != NULL)
        *outcome = o;
    OSIP_ASSERT_ARG(sender != NULL, err);
    OSIP_ASSERT_ARG(report != NULL, err);
    st = osi_report_to_json(report, OSI_JSON_COMPACT, &json, &len, err);
    if (st != OSI_OK)
        return st;
    id = osi_report_get_string(report, "report_id");
    snprintf(label, sizeof(label), "report %.64s", id ? id : "without id");

    st = flush(sender, &o, &contact_failed, &e);
    if (st != OSI_OK && !contact_failed && st != OSI_EIO)
        goto out;
    if (st == OSI_EIO)
        /* A spool that cannot be read must not stop new reports. */
        osip_log(sender->log, sender->log_payload, OSI_LOG_ERROR,
                 "%s", e.message);
    if (contact_failed) {
        spoolable = 1;
    } else {
        st = deliver(sender, json, len, label, &o.attempts, &o.http_status,
                     &spoolable, &e);
        o.delivered = st == OSI_OK;
    }
    if (st != OSI_OK && spoolable && sender->has_spool) {
        struct osi_error pe;
        unsigned int dropped = 0;
        char name[OSIP_SPOOL_NAME_MAX], first[sizeof(e.message)];

        if (osip_spool_put(&sender->spool, json, len, id, &dropped, name,
                           &pe) == OSI_OK) {
            o.spooled = 1;
            osip_log(sender->log, sender->log_payload, OSI_LOG_INFO,
                     "%s spooled as %s", label, name);
        } else {
            osip_log(sender->log, sender->log_payload, OSI_LOG_ERROR,
                     "%s cannot be spooled: %s", label, pe.message);
            memcpy(first, e.message, sizeof(first));
            osip_error_set(&e, (enum osi_status)e.status, e.cause_kind,
                           e.cause, "%.*s; and it cannot be spooled: %s",
                           (int)(sizeof(first) / 2), first, pe.message);
        }
        o.dropped += dropped;
    }
out:
    if (st != OSI_OK && err != NULL)
        *err = e;
    count_pending(sender, &o);
    free(json);
    if (outcome != NULL)
        *outcome = o;
    return st;
}

/* Set an option, keeping the first failure. */
#define SETOPT(s, opt, val, cc)                                      \
    do {                                                             \
        if ((cc) == CURLE_OK)                                        \
            (cc) = (s)->c->easy_setopt((s)->easy, (opt), (val));     \
    } while (0)

/* The scheme of url, lower-cased, into buf. */
static enum osi_status url_scheme(const char *url, char *buf, size_t size,
                                  struct osi_error *err)
{
    size_t len = strspn(url, "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

    if (len == 0 || !((url[0] | 0x20) >= 'a' && (url[0] | 0x20) <= 'z') ||
        strncmp(url + len, "://", 3) != 0)
        return osip_fail(err, OSI_EINVAL, "\"%.100s\" is not a URL", url);
    if (len >= size)
        len = size - 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(url[i] >= 'A' && url[i] <= 'Z' ? url[i] | 0x20
                                                       : url[i]);
    buf[len] = '\0';
    if (strcmp(buf, "http") != 0 && strcmp(buf, "https") != 0)
        return osip_fail(err, OSI_EINVAL,
                         "URL scheme \"%.20s\" is not supported: use http "
                         "or https", buf);
    return OSI_OK;
}

/* Whether libcurl would send an http:// request through a proxy named by
 * the environment (it reads http_proxy, never HTTP_PROXY, for http, then
 * all_proxy). libcurl then sends it, and applies no_proxy itself. */
static int http_proxy_set(void)
{
    static const char *const names[] = { "http_proxy", "all_proxy",
                                         "ALL_PROXY" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = getenv(names[i]);

        if (v != NULL && v[0] != '\0')
            return 1;
    }
    return 0;
}

static enum osi_status check_curl_url(const struct osip_curl *c,
                                      const char *url, struct osi_error *err)
{
    CURLU *u = c->url();
    CURLUcode uc;
    enum osi_status st = OSI_OK;

    if (u == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    uc = c->url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OUT_OF_MEMORY)
        st = osip_fail(err, OSI_ENOMEM, "out of memory");
    else if (uc != CURLUE_OK)
        st = osip_fail(err, OSI_EINVAL, "\"%.100s\" is not a URL (%d)", url,
                       (int)uc);
    c->url_cleanup(u);
    return st;
}

/* Append "<name>: <value>" to a header list. */
static int add_header(const struct osip_curl *c, struct curl_slist **list,
                      const char *line)
{
    struct curl_slist *longer = c->slist_append(*list, line);

    if (longer == NULL)
        return -1;
    *list = longer;
    return 0;
}

static enum osi_status make_headers(struct osi_sender *s, const char *token,
                                    struct osi_error *err)
{
    const struct osip_curl *c = s->c;
    char *auth = NULL;
    int bad = 0;

    if (token != NULL) {
        size_t n = strlen(token) + sizeof("Authorization: Bearer ");

        auth = osip_malloc(n);
        if (auth == NULL)
            return osip_fail(err, OSI_ENOMEM, "out of memory");
        snprintf(auth, n, "Authorization: Bearer %s", token);
    }
    /* "Expect:" keeps curl from waiting for a 100 Continue on larger
     * bodies: one round trip less. */
    for (int gz = 0; gz <= 1 && !bad; gz++) {
        struct curl_slist **l = gz ? &s->headers_gzip : &s->headers_plain;

        bad = add_header(c, l, "Content-Type: application/json") ||
              add_header(c, l, "Expect:") ||
              (auth != NULL && add_header(c, l, auth)) ||
              (gz && add_header(c, l, "Content-Encoding: gzip"));
    }
    if (auth != NULL) {
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    return bad ? osip_fail(err, OSI_ENOMEM, "out of memory") : OSI_OK;
}

static enum osi_status check_options(const struct osi_send_options *opts,
                                     struct osi_error *err)
{
    if (opts->version != OSI_SEND_OPTIONS_VERSION)
        return osip_fail(err, OSI_EINVAL, "unknown send options version %u",
                         opts->version);
    if (opts->url == NULL || opts->url[0] == '\0')
        return osip_fail(err, OSI_EINVAL, "no URL to send reports to");
    if (opts->token != NULL) {
        if (opts->token[0] == '\0')
            return osip_fail(err, OSI_EINVAL, "the token is empty");
        for (const char *p = opts->token; *p != '\0'; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return osip_fail(err, OSI_EINVAL,
                                 "the token holds a control character");
    }
    if (opts->flags & ~(unsigned int)OSI_SEND_NO_GZIP)
        return osip_fail(err, OSI_EINVAL, "unknown send flags 0x%x",
                         opts->flags);
    return OSI_OK;
}

static enum osi_status set_options(struct osi_sender *s,
                                   const struct osi_send_options *opts,
                                   int https, struct osi_error *err)
{
    long connect_ms = opts->connect_timeout_ms
                          ? (long)opts->connect_timeout_ms
                          : OSI_SEND_DEFAULT_CONNECT_TIMEOUT_MS;
    long total_ms = opts->timeout_ms ? (long)opts->timeout_ms
                                     : OSI_SEND_DEFAULT_TIMEOUT_MS;
    CURLcode cc = CURLE_OK;

    SETOPT(s, CURLOPT_URL, opts->url, cc);
    SETOPT(s, CURLOPT_NOSIGNAL, 1L, cc);
    SETOPT(s, CURLOPT_CONNECTTIMEOUT_MS, connect_ms, cc);
    SETOPT(s, CURLOPT_TIMEOUT_MS, total_ms, cc);
    SETOPT(s, CURLOPT_USERAGENT, USER_AGENT, cc);
    SETOPT(s, CURLOPT_POST, 1L, cc);
    SETOPT(s, CURLOPT_TCP_KEEPALIVE, 1L, cc);
    SETOPT(s, CURLOPT_ERRORBUFFER, s->errbuf, cc);
    SETOPT(s, CURLOPT_WRITEFUNCTION, on_answer, cc);
    SETOPT(s, CURLOPT_WRITEDATA, s, cc);
    /* Already libcurl's defaults: set anyway, so that no environment or
     * build can make a sender unverified. */
    SETOPT(s, CURLOPT_SSL_VERIFYPEER, 1L, cc);
    SETOPT(s, CURLOPT_SSL_VERIFYHOST, 2L, cc);
    if (https && opts->ca_file != NULL)
        SETOPT(s, CURLOPT_CAINFO, opts->ca_file, cc);
    /* The scheme was checked and redirects are not followed: limiting the
     * protocols is a second line only, and libcurl before 7.85 lacks it. */
    if (cc == CURLE_OK &&
        s->c->easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https") ==
            CURLE_OUT_OF_MEMORY)
        cc = CURLE_OUT_OF_MEMORY;
    if (cc == CURLE_OUT_OF_MEMORY)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    if (cc != CURLE_OK)
        return osip_error_set(err, OSI_ENOTSUP, OSI_CAUSE_CURL, cc,
                              "libcurl refused an option: %s",
                              s->c->easy_strerror(cc));
    return OSI_OK;
}

/* libcurl for https (and http through a proxy): it verifies
 * certificates, which our client must not try. */
static enum osi_status curl_setup(struct osi_sender *s,
                                  const struct osi_send_options *opts,
                                  int https, struct osi_error *err)
{
    enum osi_status st = osip_curl_load(&s->c, err);

    if (st != OSI_OK)
        return st;
    s->t = &curl_transport;
    st = check_curl_url(s->c, opts->url, err);
    if (st != OSI_OK)
        return st;
    if (https && !(s->c->version_info(CURLVERSION_NOW)->features &
                   CURL_VERSION_SSL))
        return osip_fail(err, OSI_ENOTSUP, "this libcurl cannot do https");
    if (https && opts->ca_file != NULL) {
        int fd = open(opts->ca_file, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
            return osip_error_set(err, OSI_EIO, OSI_CAUSE_ERRNO, errno,
                                  "CA file %s: %s", opts->ca_file,
                                  strerror(errno));
        close(fd);
    }
    s->easy = s->c->easy_init();
    if (s->easy == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    st = make_headers(s, opts->token, err);
    if (st == OSI_OK)
        st = set_options(s, opts, https, err);
    return st;
}

static enum osi_status socket_setup(struct osi_sender *s,
                                    const struct osi_send_options *opts,
                                    struct osi_error *err)
{
    struct osip_http_options ho = {
        .url = opts->url,
        .user_agent = USER_AGENT,
        .token = opts->token,
        .connect_timeout_ms = opts->connect_timeout_ms
                                  ? opts->connect_timeout_ms
                                  : OSI_SEND_DEFAULT_CONNECT_TIMEOUT_MS,
        .timeout_ms = opts->timeout_ms ? opts->timeout_ms
                                       : OSI_SEND_DEFAULT_TIMEOUT_MS,
    };
    enum osi_status st = osip_http_new(&ho, &s->http, err);

    if (st == OSI_OK)
        s->t = &socket_transport;
    return st;
}

enum osi_status osi_sender_new(const struct osi_send_options *opts,
                               struct osi_sender **out,
                               struct osi_error *err)
{
    struct osi_sender *s;
    enum osi_status st;
    struct timespec ts;
    char scheme[8];
    int https;

    OSIP_ASSERT_ARG(out != NULL, err);
    *out = NULL;
    OSIP_ASSERT_ARG(opts != NULL, err);
    st = check_options(opts, err);
    if (st != OSI_OK)
        return st;
    st = url_scheme(opts->url, scheme, sizeof(scheme), err);
    if (st != OSI_OK)
        return st;
    https = strcmp(scheme, "https") == 0;
    s = osip_malloc(sizeof(*s));
    if (s == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    memset(s, 0, sizeof(*s));
    s->spool.dirfd = -1;
    st = https || http_proxy_set() ? curl_setup(s, opts, https, err)
                                   : socket_setup(s, opts, err);
    if (st != OSI_OK)
        goto fail;
    if (!(opts->flags & OSI_SEND_NO_GZIP)) {
        struct osi_error ze;

        /* zlib is optional: without it reports go uncompressed. */
        if (osip_zlib_load(&s->z, &ze) != OSI_OK)
            osip_log(opts->log, opts->log_payload, OSI_LOG_DEBUG,
                     "not gzipping reports: %s", ze.message);
    }
    s->gzip_ok = 1;
    s->has_token = opts->token != NULL;
    s->retries = opts->retries;
    s->retry_time_ms = opts->retry_time_ms ? opts->retry_time_ms
                                           : OSI_SEND_DEFAULT_RETRY_TIME_MS;
    s->log = opts->log;
    s->log_payload = opts->log_payload;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->rng = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
             ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)s;
    if (opts->spool_dir != NULL) {
        st = osip_spool_open(&s->spool, opts->spool_dir,
                             opts->spool_max ? opts->spool_max
                                             : OSI_SEND_DEFAULT_SPOOL_MAX,
                             opts->log, opts->log_payload, err);
        if (st != OSI_OK)
            goto fail;
        s->has_spool = 1;
    }
    *out = s;
    return OSI_OK;
fail:
    osi_sender_free(s);
    return st;
}

void osi_sender_free(struct osi_sender *sender)
{
    if (sender == NULL)
        return;
    if (sender->t != NULL)
        sender->t->close(sender);
    osip_spool_close(&sender->spool);
    free(sender);
}
