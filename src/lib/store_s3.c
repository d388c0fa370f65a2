/* SPDX-License-Identifier: MIT */
/* The s3:// store backend: libs3 2.0 loaded on first use, one I/O thread
 * per store that makes every libs3 call, the writes to an http endpoint by
 * the project's own HTTP client, retries, deadlines, and the checks that
 * libs3 2.0 leaves out (docs/storage.md, "The S3 store"). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <libs3.h>

#include <osinspect/store.h>

#include "http_client.h"
#include "md5.h"
#include "s3_sign.h"
#include "store_int.h"

/* Tuning. Retries use exponential backoff with full jitter: try n waits a
 * random time in [0, min(RETRY_CAP, RETRY_BASE * 2^(n-1))], so the four
 * waits of five tries add up to 1.5 s at most. */
#define S3_MAX_TRIES 5
#define S3_RETRY_BASE_MS 100
#define S3_RETRY_CAP_MS 1000
#define S3_DEFAULT_TIMEOUT_MS 10000
#define S3_MAX_IN_FLIGHT 64
#define S3_LIST_PAGE 1000
/* Larger objects are not reports: refuse them rather than fill memory. */
#define S3_MAX_OBJECT (32u * 1024 * 1024)
/* select() may not see every transfer (curl leaves out descriptors past
 * FD_SETSIZE), so a loop with requests in flight never sleeps longer. */
#define S3_POLL_MS 100
/* Closing, how long requests given up by their callers may still run to
 * their end. libs3 2.0 loses track of one of two requests in flight when
 * the other ends (its list removal takes "prev == next" for "alone"), and
 * destroying the context then never ends the lost one: its memory is
 * never freed. Run to their end, they are freed. */
#define S3_DRAIN_MS 1000
#define S3_MESSAGE_MAX 128
/* Locks of latest keys, picked by the key's set in the table of what
 * latest/<ip>.json names (osip_known_*). The sets are a multiple of the
 * locks, so that the keys of one set always share one lock. */
#define S3_LATEST_LOCKS 32
/* Idle connections of the own client kept for the next write: as many as
 * the API has workers. More at once are opened, and closed after use. */
#define S3_POOL_MAX 64
/* The start of an error answer that is read for its Code and Message. */
#define S3_ERROR_BODY 2048

/* ---- libs3, loaded on first use ---------------------------------------- */

/* Every function used, declared with libs3.h's own prototype so that the
 * compiler checks each call through the table. */
#define S3_FUNCTIONS(X)                                                     \
    X(S3_initialize)                                                        \
    X(S3_get_status_name)                                                   \
    X(S3_status_is_retryable)                                               \
    X(S3_create_request_context)                                            \
    X(S3_destroy_request_context)                                           \
    X(S3_runonce_request_context)                                           \
    X(S3_get_request_context_fdsets)                                        \
    X(S3_get_request_context_timeout)                                       \
    X(S3_put_object)                                                        \
    X(S3_head_object)                                                       \
    X(S3_copy_object)                                                       \
    X(S3_get_object)                                                        \
    X(S3_list_bucket)

static struct {
#define S3_MEMBER(name) __typeof__(name) *name;
    S3_FUNCTIONS(S3_MEMBER)
#undef S3_MEMBER
} s3;

static pthread_once_t s3_once = PTHREAD_ONCE_INIT;
static enum { S3_LOAD_OK, S3_LOAD_NOLIB, S3_LOAD_NOSYM, S3_LOAD_INIT } s3_load;
static const char *s3_missing_symbol;
static S3Status s3_init_status;

/* libs3 2.0 signs every request with gmtime(), whose result buffer all
 * threads share: the I/O threads of several open stores take turns. */
static pthread_mutex_t s3_call_lock = PTHREAD_MUTEX_INITIALIZER;

/* The library stays loaded and initialised until the process exits:
 * S3_deinitialize() would also tear down libcurl and OpenSSL state that
 * other users in the process may share. */
static void s3_load_once(void)
{
    static const char *const names[] = {
#define S3_NAME(name) #name,
        S3_FUNCTIONS(S3_NAME)
#undef S3_NAME
    };
    void *slots[sizeof(names) / sizeof(names[0])];
    void *lib = dlopen("libs3.so.2", RTLD_NOW | RTLD_LOCAL);
    size_t i = 0;

    if (lib == NULL) {
        s3_load = S3_LOAD_NOLIB;
        return;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        slots[i] = dlsym(lib, names[i]);
        if (slots[i] == NULL) {
            s3_missing_symbol = names[i];
            s3_load = S3_LOAD_NOSYM;
            dlclose(lib);
            return;
        }
    }
    /* A data pointer from dlsym becomes a function pointer by copying its
     * bytes (POSIX guarantees they have the same representation). */
    i = 0;
#define S3_FILL(name)                                                       \
    _Static_assert(sizeof(s3.name) == sizeof(void *), "function pointer"); \
    memcpy(&s3.name, &slots[i++], sizeof(s3.name));
    S3_FUNCTIONS(S3_FILL)
#undef S3_FILL
    s3_init_status = s3.S3_initialize("osinspect", S3_INIT_ALL, NULL);
    s3_load = s3_init_status == S3StatusOK ? S3_LOAD_OK : S3_LOAD_INIT;
}

static enum osi_status s3_load_lib(struct osi_error *err)
{
    pthread_once(&s3_once, s3_load_once);
    switch (s3_load) {
    case S3_LOAD_OK:
        return OSI_OK;
    case S3_LOAD_NOLIB:
        return osip_fail(err, OSI_ENOTSUP,
                         "libs3 is not installed (Debian package libs3-2)");
    case S3_LOAD_NOSYM:
        return osip_fail(err, OSI_ENOTSUP,
                         "libs3 is not installed (Debian package libs3-2): "
                         "libs3.so.2 has no %s", s3_missing_symbol);
    case S3_LOAD_INIT:
        break;
    }
    return osip_error_set(err, OSI_EIO, OSI_CAUSE_S3, (long)s3_init_status,
                          "libs3 could not be initialised (%s)",
                          s3.S3_get_status_name(s3_init_status));
}

/* ---- configuration ------------------------------------------------------ */

/* AWS's rules for new buckets, which also suit path-style requests. */
static int bucket_name_valid(const char *name, size_t len)
{
    int all_digits_dots = 1;
    unsigned int dots = 0;

    if (len < 3 || len > 63)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (!alnum && c != '-' && c != '.')
            return 0;
        if ((i == 0 || i == len - 1) && !alnum)
            return 0;
        if (c == '.' && (name[i + 1] == '.' || name[i + 1] == '-' ||
                         name[i - 1] == '-'))
            return 0;
        if (c == '.')
            dots++;
        else if (c < '0' || c > '9')
            all_digits_dots = 0;
    }
    /* Not an IPv4 address. */
    return !(all_digits_dots && dots == 3);
}

static int host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
           c == ':' || c == '[' || c == ']';
}

struct s3_config {
    char bucket[64];
    char host[S3_MAX_HOSTNAME_SIZE + 1];
    S3Protocol protocol;
    const char *access_key;
    const char *secret_key;
    /* Test seam, not a feature: OSIP_TEST_S3_LIBS3_WRITES=1 makes the
     * writes to an http endpoint go through libs3, as they do on https,
     * so that tests/integration/test_store_s3.py covers that path
     * without TLS. Read once, at open. */
    int libs3_writes;
};

/* Read the URI's bucket and the environment. Nothing is copied yet: the
 * strings are copied into the backend once everything is known good. */
static enum osi_status s3_config_read(const char *bucket, unsigned int flags,
                                      struct s3_config *cfg,
                                      struct osi_error *err)
{
    size_t blen = strlen(bucket);
    const char *url = getenv("AWS_ENDPOINT_URL");
    const char *test_seam;
    const char *host;
    size_t hlen;

    /* "s3://bucket/" is accepted as "s3://bucket". */
    if (blen > 0 && bucket[blen - 1] == '/')
        blen--;
    if (!bucket_name_valid(bucket, blen))
        return osip_fail(err, OSI_EINVAL,
                         "invalid S3 bucket name \"%.*s\": 3 to 63 "
                         "characters a-z 0-9 . -, no key prefix",
                         (int)(blen > 70 ? 70 : blen), bucket);
    memcpy(cfg->bucket, bucket, blen);
    cfg->bucket[blen] = '\0';

    if (url == NULL || *url == '\0')
        url = "https://s3.amazonaws.com";
    if (strncasecmp(url, "http://", 7) == 0) {
        cfg->protocol = S3ProtocolHTTP;
        host = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        cfg->protocol = S3ProtocolHTTPS;
        host = url + 8;
    } else {
        return osip_fail(err, OSI_EINVAL,
                         "AWS_ENDPOINT_URL must start with http:// or "
                         "https://");
    }
    hlen = strcspn(host, "/?#");
    if (host[hlen] != '\0' && strcmp(host + hlen, "/") != 0)
        return osip_fail(err, OSI_EINVAL,
                         "AWS_ENDPOINT_URL may name a host and port only "
                         "(the bucket goes in the path: path-style)");
    if (hlen == 0 || hlen > S3_MAX_HOSTNAME_SIZE)
        return osip_fail(err, OSI_EINVAL,
                         "AWS_ENDPOINT_URL has no valid host");
    for (size_t i = 0; i < hlen; i++)
        if (!host_char_ok(host[i]))
            return osip_fail(err, OSI_EINVAL,
                             "AWS_ENDPOINT_URL has no valid host");
    memcpy(cfg->host, host, hlen);
    cfg->host[hlen] = '\0';
    if (cfg->protocol == S3ProtocolHTTPS &&
        !(flags & OSI_STORE_S3_INSECURE_TLS))
        return osip_fail(err, OSI_ENOTSUP,
                         "https S3 endpoint refused: libs3 2.0 does not "
                         "verify TLS certificates; use http on a trusted "
                         "network, or opt in with OSI_STORE_S3_INSECURE_TLS "
                         "(osinspect-api --s3-insecure-tls)");

    test_seam = getenv("OSIP_TEST_S3_LIBS3_WRITES");
    cfg->libs3_writes = test_seam != NULL && strcmp(test_seam, "1") == 0;
    cfg->access_key = getenv("AWS_ACCESS_KEY_ID");
    if (cfg->access_key == NULL || *cfg->access_key == '\0')
        return osip_fail(err, OSI_EINVAL,
                         "AWS_ACCESS_KEY_ID is not set (needed by s3://)");
    cfg->secret_key = getenv("AWS_SECRET_ACCESS_KEY");
    if (cfg->secret_key == NULL || *cfg->secret_key == '\0')
        return osip_fail(err, OSI_EINVAL,
                         "AWS_SECRET_ACCESS_KEY is not set (needed by "
                         "s3://)");
    return OSI_OK;
}

/* ---- jobs: one backend call, handed to the I/O thread ------------------- */

enum s3_op { S3_OP_PUT, S3_OP_GET, S3_OP_LIST };

/* The steps of a PUT job. An object: PUT VERIFY. A report and its latest
 * key: [CHECK] PUT COPY VERIFY_LATEST, or on a server that refuses copies
 * [CHECK] PUT PUT_LATEST VERIFY_LATEST VERIFY; [CHECK] PUT VERIFY when
 * latest is left alone. A failure after CHECK sends the job back to PUT
 * (a new try). */
enum s3_step {
    S3_STEP_CHECK,  /* HEAD latest: leave it if it names a newer report */
    S3_STEP_PUT,    /* the object (the report) */
    S3_STEP_COPY,   /* the report, copied by the server to latest */
    S3_STEP_PUT_LATEST, /* the same, uploaded again */
    S3_STEP_VERIFY_LATEST, /* GET latest: this try's copy, our bytes? */
    S3_STEP_VERIFY, /* HEAD: did this try's PUT store the object? */
    S3_STEP_DONE
};

/* Owned by the caller and the I/O thread together (refs, under
 * be->lock): a caller that gives up at its deadline leaves, and the job
 * lives on until libs3 has finished with it. A job holds copies of its
 * keys and data, so nothing of the caller is touched after it leaves. */
struct s3_job {
    struct s3_job *next; /* in exactly one list of the backend */
    struct s3_backend *be;
    pthread_cond_t done_cv;
    enum s3_op op;
    int64_t deadline; /* osip_mono_ms() time */

    /* Under be->lock. */
    int refs;
    int done;
    int abandoned; /* the caller gave up at its deadline */
    int closed;    /* never started: the store was closing */
    S3Status seen_status;  /* of the last finished try */
    unsigned int seen_tries; /* started */
    unsigned int seen_ended; /* finished */

    /* The request; fixed once submitted. */
    const char *key;    /* PUT, GET; LIST: the prefix */
    const char *latest; /* PUT of a report: its latest key, or NULL */
    const char *data;   /* PUT body */
    size_t len;
    char md5_base64[(OSIP_MD5_SIZE + 2) / 3 * 4 + 1]; /* Content-MD5 */
    char *marker;       /* LIST: start after this key, or NULL */
    int max_keys;       /* LIST */
    int flat;           /* LIST: delimiter '/': only the keys of one level */

    /* The I/O thread's until done, then the caller's. */
    enum s3_step step;
    unsigned int tries;
    int write_latest; /* put latest (CHECK, or the caller, said so) */
    int copied;     /* this try wrote latest by COPY */
    int verified;   /* VERIFY*: found this try's object */
    char named[OSIP_KEY_MAX]; /* CHECK: the report latest names */
    char nonce[20]; /* PUT: names this try's object (x-amz-meta-osi-put) */
    char latest_nonce[20]; /* COPY, PUT_LATEST: the same for latest */
    char found[20]; /* VERIFY: the nonce of the object found instead */
    uint64_t put_start; /* PUT: be->events when this try was sent */
    size_t put_slot;    /* PUT: its entry in be->recent */
    S3NameValue meta[2];
    S3PutProperties put_props;
    int64_t retry_at;
    size_t sent;
    S3Status status;
    int too_large;
    char message[S3_MESSAGE_MAX]; /* S3's own error message */
    int http; /* own client: the HTTP status of the failed try, or 0 */
    char *body;                   /* GET */
    size_t body_len, body_cap;
    size_t expect_len; /* GET: Content-Length, 0 when not given */
    char *names; /* LIST: keys of the page, NUL-separated */
    size_t names_len, names_cap, names_count;
    size_t last_name; /* offset of the page's last key */
    int truncated;
    char *next_marker; /* from S3, when it gives one */
    char *last_prefix; /* flat: the page's last common prefix ("dir/") */

    char storage[]; /* key, report and data */
};

struct s3_backend {
    S3BucketContext bucket_ctx; /* its strings point into this struct */
    /* An http endpoint (and not the libs3_writes test seam): PUTs and
     * the HEADs around them go by the own client (d_* below), on the
     * caller's thread. */
    int direct;
    pthread_mutex_t pool_lock;
    struct osip_http *pool[S3_POOL_MAX]; /* idle clients */
    size_t pool_len;
    char *endpoint; /* "http://host[:port]" */
    _Atomic uint64_t seq; /* nonces and jitter of the callers' threads */
    char bucket[64];
    char host[S3_MAX_HOSTNAME_SIZE + 1];
    char *access_key;
    char *secret_key;
    unsigned int timeout_ms;
    pthread_t thread;
    int wake[2]; /* pipe: a job was submitted, or the store closes */

    /* Held by a caller from reading latest/<ip>.json to rewriting it, so
     * that two reports of one host cannot move it backwards (within this
     * process: S3 has no compare-and-swap). Picked by a hash of the key. */
    pthread_mutex_t latest_locks[S3_LATEST_LOCKS];
    /* What each latest key names, as this process last wrote or read it,
     * so that its next report needs no CHECK; a set is guarded by the
     * latest lock of its keys. */
    struct osip_known *known;

    pthread_mutex_t lock;
    struct s3_job *queue, *queue_tail; /* submitted, not started */
    int stopping;
    unsigned long abandons; /* jobs given up by their caller so far */

    /* The I/O thread's alone. */
    S3RequestContext *rctx;
    struct s3_job *running; /* with a libs3 request in flight */
    unsigned int in_flight;
    struct s3_job *waiting; /* to start again at retry_at */
    struct s3_job *finished; /* tries ended, to be looked at */
    unsigned long abandons_seen;
    uint64_t rng;
    int no_copy; /* the server refused a COPY: latest is uploaded */
    /* The last PUTs sent, so that a VERIFY that finds the object of
     * another PUT of the same key by this process, one in flight at the
     * same time, takes it as overwritten rather than lost. Times are
     * counts of events: a PUT sent, a PUT answered. */
    struct {
        uint32_t key_hash;
        uint64_t sent, answered; /* answered: 0 while in flight */
        char nonce[20];
    } recent[128];
    size_t recent_next;
    uint64_t events;
};

static void job_free(struct s3_job *job)
{
    pthread_cond_destroy(&job->done_cv);
    free(job->marker);
    free(job->body);
    free(job->names);
    free(job->next_marker);
    free(job->last_prefix);
    free(job);
}

/* With be->lock held. */
static void job_unref(struct s3_job *job)
{
    if (--job->refs == 0)
        job_free(job);
}

/* Content-MD5: the MD5 of the body in base64, on the caller's thread. */
static void job_digest(struct s3_job *job)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char d[OSIP_MD5_SIZE + 2] = { 0 };
    char *o = job->md5_base64;

    osip_md5(job->data, job->len, d);
    for (int i = 0; i < OSIP_MD5_SIZE; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 |
                     d[i + 2];

        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < OSIP_MD5_SIZE ? b64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < OSIP_MD5_SIZE ? b64[v & 63] : '=';
    }
    *o = '\0';
}

static struct s3_job *job_new(struct s3_backend *be, enum s3_op op,
                              const char *key, const char *latest,
                              const char *data, size_t len)
{
    size_t l1 = strlen(key) + 1;
    size_t l2 = latest ? strlen(latest) + 1 : 0;
    struct s3_job *job;
    pthread_condattr_t attr;
    char *p;

    if (len > SIZE_MAX - sizeof(*job) - l1 - l2)
        return NULL;
    job = osip_malloc(sizeof(*job) + l1 + l2 + len);
    if (job == NULL)
        return NULL;
    memset(job, 0, sizeof(*job));
    if (pthread_condattr_init(&attr) != 0) {
        free(job);
        return NULL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_cond_init(&job->done_cv, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        free(job);
        return NULL;
    }
    pthread_condattr_destroy(&attr);
    job->be = be;
    job->op = op;
    job->refs = 2;
    p = job->storage;
    memcpy(p, key, l1);
    job->key = p;
    p += l1;
    if (latest != NULL) {
        memcpy(p, latest, l2);
        job->latest = p;
        p += l2;
    }
    if (len > 0)
        memcpy(p, data, len);
    job->data = p;
    job->len = len;
    if (op == S3_OP_PUT)
        job_digest(job);
    job->step = latest != NULL ? S3_STEP_CHECK : S3_STEP_PUT;
    job->max_keys = S3_LIST_PAGE;
    job->deadline = osip_mono_ms() + be->timeout_ms;
    return job;
}

/* ---- libs3 callbacks (on the I/O thread) -------------------------------- */

static S3Status cb_properties(const S3ResponseProperties *props, void *data)
{
    struct s3_job *job = data;

    /* Only a HEAD gets here: libs3 2.0 never calls this for a request
     * with a body (see io_start_put). */
    if (job->op == S3_OP_PUT) {
        for (int i = 0; i < props->metaDataCount; i++) {
            const S3NameValue *m = &props->metaData[i];

            if (job->step == S3_STEP_VERIFY &&
                strcasecmp(m->name, "osi-put") == 0) {
                if (strcmp(m->value, job->nonce) == 0 &&
                    props->contentLength == job->len)
                    job->verified = 1;
                else
                    snprintf(job->found, sizeof(job->found), "%s", m->value);
            }
            if (job->step == S3_STEP_VERIFY_LATEST &&
                strcasecmp(m->name, "osi-put") == 0 &&
                strcmp(m->value, job->latest_nonce) == 0)
                job->verified = 1;
            if (job->step == S3_STEP_CHECK &&
                strcasecmp(m->name, "osi-report") == 0)
                snprintf(job->named, sizeof(job->named), "%s", m->value);
        }
        return S3StatusOK;
    }
    /* libs3 2.0 reports a missing Content-Length as 0. */
    if (job->op != S3_OP_GET || props->contentLength == 0)
        return S3StatusOK;
    if (props->contentLength > S3_MAX_OBJECT) {
        job->too_large = 1;
        return S3StatusAbortedByCallback;
    }
    job->expect_len = (size_t)props->contentLength;
    if (job->body_cap < job->expect_len + 1) {
        char *body = osip_realloc(job->body, job->expect_len + 1);

        if (body == NULL)
            return S3StatusOutOfMemory;
        job->body = body;
        job->body_cap = job->expect_len + 1;
    }
    return S3StatusOK;
}

static int cb_put_data(int size, char *buf, void *data)
{
    struct s3_job *job = data;
    size_t n = job->len - job->sent;

    if (size <= 0)
        return 0;
    if (n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, job->data + job->sent, n);
    job->sent += n;
    return (int)n;
}

static S3Status cb_get_data(int size, const char *buf, void *data)
{
    struct s3_job *job = data;
    size_t n = size > 0 ? (size_t)size : 0;

    if (n > S3_MAX_OBJECT - job->body_len) {
        job->too_large = 1;
        return S3StatusAbortedByCallback;
    }
    if (job->body_len + n + 1 > job->body_cap) {
        size_t cap = job->body_cap ? job->body_cap : 4096;
        char *body;

        while (cap < job->body_len + n + 1)
            cap *= 2;
        body = osip_realloc(job->body, cap);
        if (body == NULL)
            return S3StatusOutOfMemory;
        job->body = body;
        job->body_cap = cap;
    }
    memcpy(job->body + job->body_len, buf, n);
    job->body_len += n;
    return S3StatusOK;
}

static S3Status cb_list(int truncated, const char *next_marker, int count,
                        const S3ListBucketContent *contents, int prefixes,
                        const char **common, void *data)
{
    struct s3_job *job = data;

    job->truncated = truncated;
    if (prefixes > 0) {
        size_t l = strlen(common[prefixes - 1]) + 1;
        char *copy = osip_malloc(l);

        if (copy == NULL)
            return S3StatusOutOfMemory;
        memcpy(copy, common[prefixes - 1], l);
        free(job->last_prefix);
        job->last_prefix = copy;
    }
    if (next_marker != NULL && *next_marker != '\0') {
        size_t l = strlen(next_marker) + 1;
        char *copy = osip_malloc(l);

        if (copy == NULL)
            return S3StatusOutOfMemory;
        memcpy(copy, next_marker, l);
        free(job->next_marker);
        job->next_marker = copy;
    }
    for (int i = 0; i < count; i++) {
        size_t l = strlen(contents[i].key) + 1;

        if (job->names_len + l > job->names_cap) {
            size_t cap = job->names_cap ? job->names_cap : 16384;
            char *names;

            while (cap < job->names_len + l)
                cap *= 2;
            names = osip_realloc(job->names, cap);
            if (names == NULL)
                return S3StatusOutOfMemory;
            job->names = names;
            job->names_cap = cap;
        }
        memcpy(job->names + job->names_len, contents[i].key, l);
        job->last_name = job->names_len;
        job->names_len += l;
        job->names_count++;
    }
    return S3StatusOK;
}

/* libs3 calls this from inside a request function (for a request it could
 * not start), from S3_runonce_request_context or from
 * S3_destroy_request_context: always on the I/O thread. */
static void cb_complete(S3Status status, const S3ErrorDetails *details,
                        void *data)
{
    struct s3_job *job = data;
    struct s3_backend *be = job->be;
    struct s3_job **p;

    job->status = status;
    job->message[0] = '\0';
    if (status != S3StatusOK && details != NULL && details->message != NULL)
        snprintf(job->message, sizeof(job->message), "%s",
                 details->message);
    if (job->op == S3_OP_PUT && job->step == S3_STEP_PUT &&
        be->recent[job->put_slot].sent == job->put_start)
        be->recent[job->put_slot].answered = ++be->events;
    if (job->op == S3_OP_PUT && job->step == S3_STEP_VERIFY &&
        status == S3StatusOK && !job->verified && job->found[0] != '\0') {
        uint32_t h = osip_key_hash(job->key);

        /* Found: the object of a PUT that was still unanswered when this
         * one was sent. The two crossed: either may land last. */
        for (size_t i = 0; i < sizeof(be->recent) / sizeof(be->recent[0]);
             i++)
            if (be->recent[i].key_hash == h &&
                strcmp(be->recent[i].nonce, job->found) == 0 &&
                (be->recent[i].answered == 0 ||
                 be->recent[i].answered > job->put_start))
                job->verified = 1;
    }
    /* A copy of the report that finds none: the PUT did not store it. */
    if (job->op == S3_OP_PUT && job->step == S3_STEP_COPY &&
        (status == S3StatusErrorNoSuchKey ||
         status == S3StatusHttpErrorNotFound)) {
        job->status = S3StatusHttpErrorUnknown;
        snprintf(job->message, sizeof(job->message),
                 "the PUT was answered but did not store the object");
    }
    if (job->op == S3_OP_PUT && job->step == S3_STEP_VERIFY &&
        (status == S3StatusOK || status == S3StatusHttpErrorNotFound) &&
        !job->verified) {
        job->status = S3StatusHttpErrorUnknown;
        snprintf(job->message, sizeof(job->message),
                 "the PUT was answered but did not store the object");
    }
    /* latest holds this try's copy, and our bytes: so the report it was
     * copied from held them too. (Not its ETag: not every store makes it
     * the MD5 of the bytes, and s3rver leaves an overwritten copy with the
     * ETag of the object it replaced.) */
    if (job->op == S3_OP_PUT && job->step == S3_STEP_VERIFY_LATEST &&
        status == S3StatusOK && job->verified)
        job->verified = job->body_len == job->len &&
                        (job->len == 0 ||
                         memcmp(job->body, job->data, job->len) == 0);
    if (job->op == S3_OP_PUT && job->step == S3_STEP_VERIFY_LATEST &&
        (status == S3StatusOK || status == S3StatusHttpErrorNotFound) &&
        !job->verified) {
        job->status = S3StatusHttpErrorUnknown;
        snprintf(job->message, sizeof(job->message),
                 "%s: the write was answered but did not store it",
                 job->latest);
    }
    /* libs3 2.0 takes curl's CURLE_PARTIAL_FILE for success: an answer
     * cut short would pass for a whole object. */
    if (status == S3StatusOK && job->op == S3_OP_GET &&
        job->expect_len > 0 && job->body_len != job->expect_len) {
        job->status = S3StatusConnectionFailed;
        snprintf(job->message, sizeof(job->message),
                 "the answer ended after %zu of %zu bytes", job->body_len,
                 job->expect_len);
    }
    for (p = &be->running; *p != NULL; p = &(*p)->next) {
        if (*p == job) {
            *p = job->next;
            break;
        }
    }
    be->in_flight--;
    job->next = be->finished;
    be->finished = job;
}

/* ---- the I/O thread ----------------------------------------------------- */

static const S3ResponseHandler head_handler = { cb_properties, cb_complete };
static const S3PutObjectHandler put_handler = {
    { cb_properties, cb_complete }, cb_put_data
};
static const S3GetObjectHandler get_handler = {
    { cb_properties, cb_complete }, cb_get_data
};
static const S3ListBucketHandler list_handler = {
    { cb_properties, cb_complete }, cb_list
};

static uint64_t io_random(struct s3_backend *be)
{
    /* xorshift64*: the I/O thread's own generator */
    be->rng ^= be->rng >> 12;
    be->rng ^= be->rng << 25;
    be->rng ^= be->rng >> 27;
    return be->rng * 2685821657736338717ull;
}

/* A PUT goes with a metadata value of its own, which a HEAD then looks
 * for: libs3 2.0 takes the HTTP status of a request with a body when it
 * starts sending the body, which is after curl's "100 Continue", so a 5xx
 * answer without an S3 error document (a proxy's error page, an empty
 * body) passes for success, and the answer's headers (its ETag) are never
 * read. The same holds for a COPY. Content-MD5 makes S3 refuse a body
 * that changed on the way. */
static void io_start_put(struct s3_backend *be, struct s3_job *job)
{
    const char *nonce = job->nonce;

    if (job->step == S3_STEP_PUT) {
        size_t slot = be->recent_next++ % (sizeof(be->recent) /
                                           sizeof(be->recent[0]));

        snprintf(job->nonce, sizeof(job->nonce), "%016llx",
                 (unsigned long long)io_random(be));
        job->put_start = ++be->events;
        job->put_slot = slot;
        be->recent[slot].key_hash = osip_key_hash(job->key);
        be->recent[slot].sent = job->put_start;
        be->recent[slot].answered = 0;
        memcpy(be->recent[slot].nonce, job->nonce, sizeof(job->nonce));
    } else {
        snprintf(job->latest_nonce, sizeof(job->latest_nonce), "%016llx",
                 (unsigned long long)io_random(be));
        nonce = job->latest_nonce;
    }
    job->meta[0].name = "osi-put";
    job->meta[0].value = nonce;
    job->meta[1].name = "osi-report";
    job->meta[1].value = job->key;
    memset(&job->put_props, 0, sizeof(job->put_props));
    job->put_props.contentType = "application/json";
    job->put_props.expires = -1;
    job->put_props.cannedAcl = S3CannedAclPrivate;
    job->put_props.metaDataCount = job->step == S3_STEP_PUT ? 1 : 2;
    job->put_props.metaData = job->meta;
    if (job->step == S3_STEP_COPY) {
        /* The server copies the report to latest: no body to send, and
         * latest's bytes then tell whether the report holds ours. The
         * metadata replaces the report's (libs3 sends REPLACE). */
        s3.S3_copy_object(&be->bucket_ctx, job->key, NULL, job->latest,
                          &job->put_props, NULL, 0, NULL, be->rctx,
                          &head_handler, job);
        return;
    }
    job->put_props.md5 = job->md5_base64;
    s3.S3_put_object(&be->bucket_ctx,
                     job->step == S3_STEP_PUT ? job->key : job->latest,
                     job->len, &job->put_props, be->rctx, &put_handler, job);
}

/* Whether a step starts a new try (the others check or finish one). */
static int step_is_try(const struct s3_job *job)
{
    return job->op != S3_OP_PUT || job->step == S3_STEP_CHECK ||
           job->step == S3_STEP_PUT;
}

static void io_start(struct s3_backend *be, struct s3_job *job)
{
    if (step_is_try(job))
        job->tries++;
    if (job->step == S3_STEP_PUT || job->step == S3_STEP_COPY ||
        job->step == S3_STEP_PUT_LATEST)
        job->copied = job->step == S3_STEP_COPY;
    job->verified = 0;
    job->found[0] = '\0';
    if (job->step == S3_STEP_CHECK)
        job->named[0] = '\0';
    job->status = S3StatusOK;
    job->sent = 0;
    job->body_len = 0;
    job->expect_len = 0;
    job->too_large = 0;
    job->names_len = 0;
    job->names_count = 0;
    job->truncated = 0;
    free(job->next_marker);
    job->next_marker = NULL;
    free(job->last_prefix);
    job->last_prefix = NULL;
    job->next = be->running;
    be->running = job;
    be->in_flight++;

    pthread_mutex_lock(&s3_call_lock);
    if (be->rctx == NULL &&
        s3.S3_create_request_context(&be->rctx) != S3StatusOK) {
        be->rctx = NULL;
        cb_complete(S3StatusOutOfMemory, NULL, job);
    } else if (job->op == S3_OP_PUT && job->step == S3_STEP_CHECK) {
        s3.S3_head_object(&be->bucket_ctx, job->latest, be->rctx,
                          &head_handler, job);
    } else if (job->op == S3_OP_PUT && job->step == S3_STEP_VERIFY_LATEST) {
        s3.S3_get_object(&be->bucket_ctx, job->latest, NULL, 0, 0, be->rctx,
                         &get_handler, job);
    } else if (job->op == S3_OP_PUT && job->step == S3_STEP_VERIFY) {
        s3.S3_head_object(&be->bucket_ctx, job->key, be->rctx,
                          &head_handler, job);
    } else if (job->op == S3_OP_PUT) {
        io_start_put(be, job);
    } else if (job->op == S3_OP_GET) {
        s3.S3_get_object(&be->bucket_ctx, job->key, NULL, 0, 0, be->rctx,
                         &get_handler, job);
    } else {
        s3.S3_list_bucket(&be->bucket_ctx, *job->key ? job->key : NULL,
                          job->marker, job->flat ? "/" : NULL,
                          job->max_keys, be->rctx, &list_handler, job);
    }
    pthread_mutex_unlock(&s3_call_lock);
}

/* libs3's S3_status_is_retryable misses what S3 asks clients to retry:
 * libs3 2.0 turns a bare 503 into SlowDown and 502, 504 and other unnamed
 * codes into HttpErrorUnknown, an error code it does not know (such as
 * ServiceUnavailable) into ErrorUnknown, an error page that is not XML
 * (a proxy's) into XmlParseFailure, and a connection reset or a dead
 * keep-alive connection into InternalError. */
static int s3_retryable(S3Status st)
{
    switch (st) {
    case S3StatusErrorSlowDown:
    case S3StatusHttpErrorUnknown:
    case S3StatusXmlParseFailure:
    case S3StatusErrorUnknown:
    case S3StatusInternalError:
    case S3StatusErrorInternalError:
    case S3StatusErrorRequestTimeout:
        return 1;
    default:
        return s3.S3_status_is_retryable(st);
    }
}

/* Full jitter: uniform in [0, min(cap, base * 2^(tries - 1))] ms. */
static int64_t io_backoff(struct s3_backend *be, unsigned int tries)
{
    int64_t span = S3_RETRY_BASE_MS;

    for (unsigned int i = 1; i < tries && span < S3_RETRY_CAP_MS; i++)
        span *= 2;
    if (span > S3_RETRY_CAP_MS)
        span = S3_RETRY_CAP_MS;
    return (int64_t)(io_random(be) >> 33) % (span + 1);
}

/* With be->lock held: hand the job back to its caller, or drop it. */
static void io_done_locked(struct s3_job *job)
{
    job->done = 1;
    pthread_cond_signal(&job->done_cv);
    job_unref(job);
}

/* The step that follows a PUT job's request that succeeded (or, for
 * CHECK, found no latest object). */
static enum s3_step io_next_step(const struct s3_backend *be,
                                 struct s3_job *job)
{
    switch (job->step) {
    case S3_STEP_CHECK:
        /* latest may name a newer report (a spooled one arrived late):
         * then it stays. */
        job->write_latest = osip_key_report_cmp(job->named, job->key) < 0;
        return S3_STEP_PUT;
    case S3_STEP_PUT:
        if (job->latest == NULL || !job->write_latest)
            return S3_STEP_VERIFY;
        return be->no_copy ? S3_STEP_PUT_LATEST : S3_STEP_COPY;
    case S3_STEP_COPY:
    case S3_STEP_PUT_LATEST:
        return S3_STEP_VERIFY_LATEST;
    case S3_STEP_VERIFY_LATEST:
        return job->copied ? S3_STEP_DONE : S3_STEP_VERIFY;
    case S3_STEP_VERIFY:
    case S3_STEP_DONE:
        break;
    }
    return S3_STEP_DONE;
}

/* A server that does not do copies (as S3 does) answers COPY with one of
 * these: latest is then uploaded, by this store from now on. */
static int copy_refused(S3Status st)
{
    return st == S3StatusErrorNotImplemented ||
           st == S3StatusErrorMissingContentLength ||
           st == S3StatusErrorMethodNotAllowed;
}

/* Decide what follows each request that ended: the next step of a PUT
 * job, a retry, or the end. */
static void io_look_at_finished(struct s3_backend *be)
{
    struct s3_job *job;
    int64_t now = osip_mono_ms();

    while ((job = be->finished) != NULL) {
        int go_on, again = 0;

        be->finished = job->next;
        if (job->op == S3_OP_PUT && job->step == S3_STEP_CHECK &&
            job->status == S3StatusHttpErrorNotFound)
            job->status = S3StatusOK; /* no latest yet */
        pthread_mutex_lock(&be->lock);
        go_on = !job->abandoned && !be->stopping;
        job->seen_status = job->status;
        job->seen_ended = job->tries;
        pthread_mutex_unlock(&be->lock);

        if (go_on && job->op == S3_OP_PUT && job->step == S3_STEP_COPY &&
            copy_refused(job->status)) {
            be->no_copy = 1;
            job->step = S3_STEP_PUT_LATEST;
            job->retry_at = now;
            again = 1;
        } else if (go_on && job->status == S3StatusOK &&
                   job->op == S3_OP_PUT) {
            enum s3_step next = io_next_step(be, job);

            /* The tries of a CHECK are not those of the write. */
            if (job->step == S3_STEP_CHECK)
                job->tries = 0;
            if (next != S3_STEP_DONE) {
                job->step = next;
                job->retry_at = now;
                again = 1;
            }
        } else if (go_on && job->status != S3StatusOK && !job->too_large &&
                   job->tries < S3_MAX_TRIES && s3_retryable(job->status)) {
            /* What follows the PUT failed: the whole write is tried
             * again (a PUT is idempotent), not the check before it. */
            if (job->op == S3_OP_PUT && job->step != S3_STEP_CHECK)
                job->step = S3_STEP_PUT;
            job->retry_at = now + io_backoff(be, job->tries);
            again = job->retry_at < job->deadline;
        }
        if (again) {
            job->next = be->waiting;
            be->waiting = job;
        } else {
            pthread_mutex_lock(&be->lock);
            io_done_locked(job);
            pthread_mutex_unlock(&be->lock);
        }
    }
}

/* Take submitted jobs and start them, with retries that are due, up to
 * S3_MAX_IN_FLIGHT requests at once. */
static void io_start_due(struct s3_backend *be)
{
    struct s3_job *ready = NULL, **tail = &ready, *job, **p;
    unsigned int room = S3_MAX_IN_FLIGHT - be->in_flight;
    int64_t now = osip_mono_ms();

    pthread_mutex_lock(&be->lock);
    for (p = &be->waiting; (job = *p) != NULL && room > 0;) {
        if (job->retry_at > now && !job->abandoned) {
            p = &job->next;
            continue;
        }
        *p = job->next;
        if (job->abandoned) {
            io_done_locked(job);
            continue;
        }
        job->seen_tries = job->tries + step_is_try(job);
        *tail = job;
        tail = &job->next;
        room--;
    }
    while ((job = be->queue) != NULL && room > 0) {
        be->queue = job->next;
        if (job->abandoned) {
            job_unref(job);
            continue;
        }
        job->seen_tries = 1;
        *tail = job;
        tail = &job->next;
        room--;
    }
    if (be->queue == NULL)
        be->queue_tail = NULL;
    pthread_mutex_unlock(&be->lock);
    *tail = NULL;

    while ((job = ready) != NULL) {
        ready = job->next;
        io_start(be, job);
    }
}

/* Every request in flight was given up by its caller: drop them all
 * with the request context (libs3 cannot cancel one request, and sets no
 * connect timeout, so a server that stopped answering would keep them
 * for minutes). Their completions arrive as Interrupted. Returns 0 while
 * given-up requests stay in flight beside ones that a caller waits for. */
static int io_drop_abandoned(struct s3_backend *be)
{
    int callers = 0, abandoned = 0;

    pthread_mutex_lock(&be->lock);
    for (struct s3_job *job = be->running; job != NULL; job = job->next) {
        callers |= !job->abandoned;
        abandoned |= job->abandoned;
    }
    pthread_mutex_unlock(&be->lock);
    if (!abandoned)
        return 1;
    if (callers)
        return 0;
    pthread_mutex_lock(&s3_call_lock);
    s3.S3_destroy_request_context(be->rctx);
    be->rctx = NULL;
    pthread_mutex_unlock(&s3_call_lock);
    io_look_at_finished(be);
    return 1;
}

/* Closing: what has not started fails at once; requests in flight end
 * normally while a caller still waits for them. Returns 1 when nothing is
 * left that a caller waits for. */
static int io_stop_ready(struct s3_backend *be)
{
    struct s3_job *job;
    int callers = 0;

    pthread_mutex_lock(&be->lock);
    while ((job = be->queue) != NULL) {
        be->queue = job->next;
        job->closed = 1;
        io_done_locked(job);
    }
    be->queue_tail = NULL;
    while ((job = be->waiting) != NULL) {
        be->waiting = job->next;
        io_done_locked(job);
    }
    for (job = be->running; job != NULL; job = job->next)
        callers |= !job->abandoned;
    pthread_mutex_unlock(&be->lock);
    return !callers;
}

static void io_wait(struct s3_backend *be)
{
    fd_set rd, wr, ex;
    int maxfd = -1;
    int64_t wait = -1; /* ms; -1: until woken */
    struct timeval tv;
    char buf[64];

    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    if (be->in_flight > 0 && be->rctx != NULL) {
        pthread_mutex_lock(&s3_call_lock);
        if (s3.S3_get_request_context_fdsets(be->rctx, &rd, &wr, &ex,
                                             &maxfd) != S3StatusOK)
            maxfd = -1;
        wait = s3.S3_get_request_context_timeout(be->rctx);
        pthread_mutex_unlock(&s3_call_lock);
        if (wait < 0 || wait > S3_POLL_MS)
            wait = S3_POLL_MS;
    }
    if (be->in_flight < S3_MAX_IN_FLIGHT) {
        int64_t now = osip_mono_ms();

        for (struct s3_job *job = be->waiting; job; job = job->next) {
            int64_t d = job->retry_at > now ? job->retry_at - now : 0;

            if (wait < 0 || d < wait)
                wait = d;
        }
    }
    if (be->wake[0] < FD_SETSIZE) {
        FD_SET(be->wake[0], &rd);
        if (be->wake[0] > maxfd)
            maxfd = be->wake[0];
    } else if (wait < 0 || wait > 10) {
        wait = 10;
    }
    if (wait >= 0) {
        tv.tv_sec = (time_t)(wait / 1000);
        tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
    }
    if (select(maxfd + 1, &rd, &wr, &ex, wait >= 0 ? &tv : NULL) > 0 &&
        be->wake[0] < FD_SETSIZE && FD_ISSET(be->wake[0], &rd)) {
        while (read(be->wake[0], buf, sizeof(buf)) > 0)
            ;
    }
}

static void *io_main(void *arg)
{
    struct s3_backend *be = arg;
    int64_t drain_until = 0;

    for (;;) {
        int stopping, remaining = 0;
        unsigned long abandons;

        io_start_due(be);
        if (be->rctx != NULL) {
            pthread_mutex_lock(&s3_call_lock);
            s3.S3_runonce_request_context(be->rctx, &remaining);
            pthread_mutex_unlock(&s3_call_lock);
        }
        io_look_at_finished(be);

        pthread_mutex_lock(&be->lock);
        stopping = be->stopping;
        abandons = be->abandons;
        pthread_mutex_unlock(&be->lock);
        if (stopping) {
            if (drain_until == 0)
                drain_until = osip_mono_ms() + S3_DRAIN_MS;
            if (io_stop_ready(be) &&
                (remaining == 0 || osip_mono_ms() >= drain_until))
                break;
        } else if (abandons != be->abandons_seen &&
                   (be->in_flight == 0 || io_drop_abandoned(be))) {
            be->abandons_seen = abandons;
        }
        io_wait(be);
    }
    if (be->rctx != NULL) {
        pthread_mutex_lock(&s3_call_lock);
        s3.S3_destroy_request_context(be->rctx);
        be->rctx = NULL;
        pthread_mutex_unlock(&s3_call_lock);
        io_look_at_finished(be);
    }
    return NULL;
}

/* ---- the callers' side -------------------------------------------------- */

/* What the caller learns of a job that ended (or that it gave up on). */
struct s3_outcome {
    int timed_out;
    int closed;
    S3Status status;   /* of the last finished try */
    unsigned int tries; /* started */
    unsigned int ended; /* finished */
};

/* Submit a job and wait for it until its deadline. The caller still owns
 * its reference afterwards (job_release). */
static void job_run(struct s3_backend *be, struct s3_job *job,
                    struct s3_outcome *out)
{
    struct timespec ts;
    ssize_t n;

    memset(out, 0, sizeof(*out));
    ts.tv_sec = (time_t)(job->deadline / 1000);
    ts.tv_nsec = (long)(job->deadline % 1000) * 1000000;

    pthread_mutex_lock(&be->lock);
    if (be->stopping) {
        job->refs--; /* the I/O thread never sees it */
        pthread_mutex_unlock(&be->lock);
        out->closed = 1;
        return;
    }
    job->next = NULL;
    if (be->queue_tail != NULL)
        be->queue_tail->next = job;
    else
        be->queue = job;
    be->queue_tail = job;
    pthread_mutex_unlock(&be->lock);

    /* A full pipe already holds a wake-up. */
    n = write(be->wake[1], "", 1);
    (void)n;

    pthread_mutex_lock(&be->lock);
    while (!job->done) {
        if (pthread_cond_timedwait(&job->done_cv, &be->lock, &ts) ==
                ETIMEDOUT && !job->done) {
            job->abandoned = 1;
            be->abandons++;
            out->timed_out = 1;
            break;
        }
    }
    out->closed = job->closed;
    out->status = job->seen_status;
    out->tries = job->seen_tries;
    out->ended = job->seen_ended;
    pthread_mutex_unlock(&be->lock);
}

static void job_release(struct s3_backend *be, struct s3_job *job)
{
    pthread_mutex_lock(&be->lock);
    job_unref(job);
    pthread_mutex_unlock(&be->lock);
}

/* The HTTP status behind a libs3 status, where libs3 2.0 keeps one (it
 * does not hand the code itself to callers); 0 when there is none. */
static int s3_http_status(S3Status st)
{
    switch (st) {
    case S3StatusErrorPermanentRedirect: return 301;
    case S3StatusHttpErrorMovedTemporarily:
    case S3StatusErrorTemporaryRedirect: return 307;
    case S3StatusHttpErrorBadRequest:
    case S3StatusErrorInvalidArgument:
    case S3StatusErrorInvalidBucketName:
    case S3StatusErrorInvalidURI:
    case S3StatusErrorKeyTooLong:
    case S3StatusErrorRequestTimeout:
    case S3StatusErrorIncompleteBody:
    case S3StatusErrorEntityTooLarge:
    case S3StatusErrorBadDigest:
    case S3StatusErrorExpiredToken:
    case S3StatusErrorInvalidToken: return 400;
    case S3StatusHttpErrorForbidden:
    case S3StatusErrorAccessDenied:
    case S3StatusErrorAccountProblem:
    case S3StatusErrorInvalidAccessKeyId:
    case S3StatusErrorSignatureDoesNotMatch:
    case S3StatusErrorRequestTimeTooSkewed:
    case S3StatusErrorInvalidSecurity:
    case S3StatusErrorNotSignedUp: return 403;
    case S3StatusHttpErrorNotFound:
    case S3StatusErrorNoSuchKey:
    case S3StatusErrorNoSuchBucket: return 404;
    case S3StatusErrorMethodNotAllowed: return 405;
    case S3StatusHttpErrorConflict:
    case S3StatusErrorOperationAborted: return 409;
    case S3StatusErrorMissingContentLength: return 411;
    case S3StatusErrorPreconditionFailed: return 412;
    case S3StatusErrorInvalidRange: return 416;
    case S3StatusErrorInternalError: return 500;
    case S3StatusErrorNotImplemented: return 501;
    case S3StatusErrorSlowDown: return 503;
    default: return 0;
    }
}

static int s3_auth_failure(S3Status st)
{
    return st == S3StatusErrorSignatureDoesNotMatch ||
           st == S3StatusErrorInvalidAccessKeyId ||
           st == S3StatusErrorAccessDenied ||
           st == S3StatusHttpErrorForbidden;
}

/* Turn the end of a job into a status and a one-line message naming the
 * key, libs3's status name and the HTTP status. */
static enum osi_status job_outcome(const struct s3_backend *be,
                                   const struct s3_job *job,
                                   const struct s3_outcome *o,
                                   struct osi_error *err)
{
    static const char *const verbs[] = { "PUT", "GET", "list" };
    const char *verb = verbs[job->op];
    const char *name = s3.S3_get_status_name(o->status);
    int http = s3_http_status(o->status);
    char what[S3_MAX_KEY_SIZE + 80], code[40], state[80];

    if (job->op == S3_OP_LIST)
        snprintf(what, sizeof(what), "%s/%s", be->bucket, job->key);
    else
        snprintf(what, sizeof(what), "%s", job->key);
    if (o->closed)
        return osip_fail(err, OSI_ESTORE, "the S3 store is closing");
    if (o->timed_out) {
        if (o->tries == 0)
            snprintf(state, sizeof(state), "not started: too much queued");
        else if (o->ended < o->tries && o->ended == 0)
            snprintf(state, sizeof(state), "no answer to try 1");
        else if (o->ended < o->tries)
            snprintf(state, sizeof(state), "no answer to try %u; try %u: %s",
                     o->tries, o->ended, name);
        else
            snprintf(state, sizeof(state), "try %u: %s", o->ended, name);
        return osip_error_set(err, OSI_ETIMEOUT, OSI_CAUSE_S3,
                              (long)o->status,
                              "S3 %s %s: no answer within %u ms (%s)", verb,
                              what, be->timeout_ms, state);
    }
    if (o->status == S3StatusOK)
        return OSI_OK;
    if (o->status == S3StatusOutOfMemory)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    if (job->op == S3_OP_GET && job->too_large)
        return osip_fail(err, OSI_ESTORE,
                         "S3 object %s is larger than %u MiB", what,
                         S3_MAX_OBJECT >> 20);
    if (job->op == S3_OP_GET && (o->status == S3StatusErrorNoSuchKey ||
                                 o->status == S3StatusHttpErrorNotFound))
        return osip_error_set(err, OSI_ENOTFOUND, OSI_CAUSE_S3,
                              (long)o->status, "no S3 object %s", what);
    if (o->status == S3StatusErrorNoSuchBucket)
        return osip_error_set(err, OSI_ESTORE, OSI_CAUSE_S3,
                              (long)o->status,
                              "S3 bucket %s does not exist at %s (%s, "
                              "HTTP 404)", be->bucket, be->host, name);
    if (job->http != 0)
        snprintf(code, sizeof(code), "HTTP %d", job->http);
    else if (http != 0)
        snprintf(code, sizeof(code), "HTTP %d", http);
    else if (o->status == S3StatusHttpErrorUnknown)
        snprintf(code, sizeof(code), "an HTTP error libs3 does not name");
    else if (o->status == S3StatusXmlParseFailure)
        snprintf(code, sizeof(code), "an answer that is not S3's");
    else if (o->status < S3StatusErrorAccessDenied)
        snprintf(code, sizeof(code), "no HTTP answer");
    else
        snprintf(code, sizeof(code), "HTTP status not known");
    if (s3_auth_failure(o->status))
        return osip_error_set(err, OSI_ESTORE, OSI_CAUSE_S3, (long)o->status,
                              "S3 %s %s: %s (%s): check AWS_ACCESS_KEY_ID "
                              "and AWS_SECRET_ACCESS_KEY", verb, what, name,
                              code);
    return osip_error_set(err, OSI_ESTORE, OSI_CAUSE_S3, (long)o->status,
                          "S3 %s %s: %s (%s) after %u %s%s%s", verb, what,
                          name, code, o->ended,
                          o->ended == 1 ? "try" : "tries",
                          job->message[0] ? ": " : "", job->message);
}

/* ---- writes by the own client (http endpoints) -------------------------- */

/* libs3 2.0 takes the HTTP status of a PUT when it starts sending the
 * body, after curl's "100 Continue": a 5xx answer without an S3 error
 * document (a proxy's page, an empty body) passes for success there, and
 * the answer's headers, its ETag among them, are never shown. So on an
 * http endpoint the store sends its PUTs, and the HEADs that go with
 * them, itself (http_client.c), signed as libs3 signs (signature version
 * 2, s3_sign.c), and reads the real answer: a PUT stored the bytes when
 * it is answered 2xx with their MD5 as ETag. These requests run on the
 * caller's thread: no libs3 call, so no gmtime(), is made. */

/* What the own client's answer to one request said. */
struct d_answer {
    S3Status status;
    int http;      /* the status line's code; 0: no answer */
    int timed_out; /* no answer before the deadline */
    char etag[48]; /* without its quotes */
    char nonce[20]; /* x-amz-meta-osi-put */
    char report[OSIP_KEY_MAX]; /* x-amz-meta-osi-report */
    int has_length;
    uint64_t length;
    char message[S3_MESSAGE_MAX];
};

/* The scratch space of one write, off the caller's stack (the API's
 * worker threads have small ones). */
struct d_bufs {
    char path[1 + 64 + 1 + 3 * S3_MAX_KEY_SIZE + 1];
    char sign[4 * S3_MAX_KEY_SIZE + 512];
    char headers[2 * S3_MAX_KEY_SIZE + 512];
    char body[S3_ERROR_BODY];
};

static uint64_t d_random(struct s3_backend *be)
{
    /* splitmix64 over a shared counter: any thread, no lock */
    uint64_t z = atomic_fetch_add(&be->seq, 0x9e3779b97f4a7c15ull) +
                 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void d_copy_value(char *dst, size_t size, const char *value)
{
    size_t l = strlen(value);

    if (l >= size)
        l = size - 1;
    memcpy(dst, value, l);
    dst[l] = '\0';
}

static void d_on_header(const char *name, const char *value, void *payload)
{
    struct d_answer *r = payload;

    if (strcasecmp(name, "ETag") == 0) {
        size_t l = strlen(value);

        if (l >= 2 && value[0] == '"' && value[l - 1] == '"' &&
            l - 2 < sizeof(r->etag)) {
            memcpy(r->etag, value + 1, l - 2);
            r->etag[l - 2] = '\0';
        } else {
            d_copy_value(r->etag, sizeof(r->etag), value);
        }
    } else if (strcasecmp(name, "x-amz-meta-osi-put") == 0) {
        d_copy_value(r->nonce, sizeof(r->nonce), value);
    } else if (strcasecmp(name, "x-amz-meta-osi-report") == 0) {
        d_copy_value(r->report, sizeof(r->report), value);
    } else if (strcasecmp(name, "Content-Length") == 0) {
        char *end;
        unsigned long long v = strtoull(value, &end, 10);

        r->has_length = end != value && *end == '\0';
        r->length = v;
    }
}

/* The text between <tag> and </tag> in an S3 error document; 0 when it
 * has none. */
static int d_xml_field(const char *body, size_t len, const char *tag,
                       char *out, size_t out_size)
{
    char open[32], close[32];
    const char *start, *end;
    size_t l;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    start = memmem(body, len, open, strlen(open));
    if (start == NULL)
        return 0;
    start += strlen(open);
    end = memmem(start, len - (size_t)(start - body), close, strlen(close));
    if (end == NULL)
        return 0;
    l = (size_t)(end - start);
    if (l >= out_size)
        l = out_size - 1;
    memcpy(out, start, l);
    out[l] = '\0';
    return 1;
}

/* The libs3 status of an answer, so that retries and messages follow one
 * set of rules whichever client met it. */
static S3Status d_status(const struct osip_http_answer *a, const char *body,
                         struct d_answer *r)
{
    static const struct {
        const char *code;
        S3Status status;
    } codes[] = {
        { "AccessDenied", S3StatusErrorAccessDenied },
        { "BadDigest", S3StatusErrorBadDigest },
        { "EntityTooLarge", S3StatusErrorEntityTooLarge },
        { "InternalError", S3StatusErrorInternalError },
        { "InvalidAccessKeyId", S3StatusErrorInvalidAccessKeyId },
        { "InvalidArgument", S3StatusErrorInvalidArgument },
        { "InvalidBucketName", S3StatusErrorInvalidBucketName },
        { "NoSuchBucket", S3StatusErrorNoSuchBucket },
        { "NoSuchKey", S3StatusErrorNoSuchKey },
        { "RequestTimeTooSkewed", S3StatusErrorRequestTimeTooSkewed },
        { "RequestTimeout", S3StatusErrorRequestTimeout },
        { "SignatureDoesNotMatch", S3StatusErrorSignatureDoesNotMatch },
        { "SlowDown", S3StatusErrorSlowDown },
    };
    char code[64];

    if (a->cc != CURLE_OK) {
        d_copy_value(r->message, sizeof(r->message), a->message);
        switch (a->cc) {
        case CURLE_OUT_OF_MEMORY:
            return S3StatusOutOfMemory;
        case CURLE_COULDNT_RESOLVE_HOST:
            return S3StatusNameLookupError;
        case CURLE_COULDNT_CONNECT:
            return S3StatusFailedToConnect;
        default:
            return S3StatusConnectionFailed;
        }
    }
    r->http = (int)a->status;
    if (a->status >= 200 && a->status < 300)
        return S3StatusOK;
    d_xml_field(body, a->body_len, "Message", r->message,
                sizeof(r->message));
    if (d_xml_field(body, a->body_len, "Code", code, sizeof(code))) {
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
            if (strcmp(code, codes[i].code) == 0)
                return codes[i].status;
        if (r->message[0] == '\0')
            snprintf(r->message, sizeof(r->message), "%s", code);
    }
    switch (a->status) {
    case 400: return S3StatusHttpErrorBadRequest;
    case 403: return S3StatusHttpErrorForbidden;
    case 404: return S3StatusHttpErrorNotFound;
    case 409: return S3StatusHttpErrorConflict;
    case 500: return S3StatusErrorInternalError;
    case 501: return S3StatusErrorNotImplemented;
    case 503: return S3StatusErrorSlowDown;
    default: return S3StatusHttpErrorUnknown;
    }
}

/* One signed request: HEAD of key, or PUT of the job's bytes to key
 * with nonce (x-amz-meta-osi-put) and report (x-amz-meta-osi-report,
 * or NULL). */
static void d_send(struct s3_backend *be, struct d_bufs *b,
                   const struct s3_job *job, const char *key, int put,
                   const char *nonce, const char *report, int64_t deadline,
                   struct d_answer *r)
{
    struct osip_http_request req;
    struct osip_http_answer a;
    struct osip_http *h = NULL;
    char date[OSIP_S3_DATE_SIZE], sig[OSIP_S3_SIGNATURE_SIZE];
    int64_t left = deadline - osip_mono_ms();
    int n;

    memset(r, 0, sizeof(*r));
    memcpy(b->path, "/", 2);
    memcpy(b->path + 1, be->bucket, strlen(be->bucket));
    b->path[1 + strlen(be->bucket)] = '/';
    if (left <= 0) {
        r->status = S3StatusConnectionFailed;
        r->timed_out = 1;
        return;
    }
    if (osip_s3_uri_encode(key, b->path + 2 + strlen(be->bucket),
                           sizeof(b->path) - 2 - strlen(be->bucket)) != 0) {
        r->status = S3StatusErrorKeyTooLong;
        return;
    }
    osip_s3_http_date(time(NULL), date);
    /* The signed text of signature version 2: the date goes in
     * x-amz-date, as libs3 sends it, which leaves the Date line empty; the
     * amz headers in order of their names. */
    n = snprintf(b->sign, sizeof(b->sign),
                 "%s\n%s\n%s\n\nx-amz-date:%s\n%s%s%s%s%s%s%s",
                 put ? "PUT" : "HEAD", put ? job->md5_base64 : "",
                 put ? "application/json" : "", date,
                 put ? "x-amz-meta-osi-put:" : "", put ? nonce : "",
                 put ? "\n" : "", report ? "x-amz-meta-osi-report:" : "",
                 report ? report : "", report ? "\n" : "", b->path);
    if (n < 0 || (size_t)n >= sizeof(b->sign)) {
        r->status = S3StatusErrorKeyTooLong;
        return;
    }
    osip_s3_sign_v2(be->secret_key, b->sign, (size_t)n, sig);
    snprintf(b->headers, sizeof(b->headers),
             "x-amz-date: %s\r\n%s%s%s%s%s%s%s%s%sAuthorization: AWS %s:%s\r\n",
             date, put ? "Content-Type: application/json\r\nContent-MD5: "
                       : "", put ? job->md5_base64 : "", put ? "\r\n" : "",
             put ? "x-amz-meta-osi-put: " : "", put ? nonce : "",
             put ? "\r\n" : "", report ? "x-amz-meta-osi-report: " : "",
             report ? report : "", report ? "\r\n" : "", be->access_key,
             sig);

    pthread_mutex_lock(&be->pool_lock);
    if (be->pool_len > 0)
        h = be->pool[--be->pool_len];
    pthread_mutex_unlock(&be->pool_lock);
    if (h == NULL) {
        struct osip_http_options ho = {
            .url = be->endpoint, .user_agent = "osinspect",
            .connect_timeout_ms = be->timeout_ms,
            .timeout_ms = be->timeout_ms,
        };

        if (osip_http_new(&ho, &h, NULL) != OSI_OK) {
            r->status = S3StatusOutOfMemory;
            return;
        }
    }
    memset(&req, 0, sizeof(req));
    req.method = put ? "PUT" : "HEAD";
    req.target = b->path;
    req.headers = b->headers;
    req.body = put ? job->data : NULL;
    req.len = put ? job->len : 0;
    req.timeout_ms = left > UINT32_MAX ? UINT32_MAX : (unsigned int)left;
    req.on_header = d_on_header;
    req.payload = r;
    osip_http_request(h, &req, b->body, sizeof(b->body), &a);
    r->status = d_status(&a, b->body, r);
    r->timed_out = a.cc == CURLE_OPERATION_TIMEDOUT && osip_mono_ms() >= deadline;

    pthread_mutex_lock(&be->pool_lock);
    if (be->pool_len < S3_POOL_MAX) {
        be->pool[be->pool_len++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&be->pool_lock);
    osip_http_free(h);
}

static int d_is_md5(const char *etag)
{
    size_t i = 0;

    for (; etag[i] != '\0'; i++)
        if (!((etag[i] >= '0' && etag[i] <= '9') ||
              (etag[i] >= 'a' && etag[i] <= 'f') ||
              (etag[i] >= 'A' && etag[i] <= 'F')))
            return 0;
    return i == 2 * OSIP_MD5_SIZE;
}

/* One try of a PUT: stored when answered 2xx with the MD5 of the bytes as
 * ETag. An ETag that is no MD5 (a bucket encrypted with KMS keys, an
 * object stored in parts) leaves a HEAD to find this try's nonce and
 * length. */
static void d_put_once(struct s3_backend *be, struct d_bufs *b,
                       const struct s3_job *job, const char *key,
                       const char *report, int64_t deadline,
                       struct d_answer *r)
{
    unsigned char md5[OSIP_MD5_SIZE];
    char nonce[20], hex[2 * OSIP_MD5_SIZE + 1];
    struct d_answer head;

    snprintf(nonce, sizeof(nonce), "%016llx",
             (unsigned long long)d_random(be));
    d_send(be, b, job, key, 1, nonce, report, deadline, r);
    if (r->status != S3StatusOK)
        return;
    if (d_is_md5(r->etag)) {
        osip_md5(job->data, job->len, md5);
        for (int i = 0; i < OSIP_MD5_SIZE; i++)
            snprintf(hex + 2 * i, 3, "%02x", md5[i]);
        if (strcasecmp(r->etag, hex) == 0)
            return;
        r->status = S3StatusHttpErrorUnknown;
        snprintf(r->message, sizeof(r->message), "the PUT was answered "
                 "HTTP %d with ETag %s, not the MD5 of the bytes sent",
                 r->http, r->etag);
        return;
    }
    d_send(be, b, job, key, 0, NULL, NULL, deadline, &head);
    if (head.status == S3StatusOK && strcmp(head.nonce, nonce) == 0 &&
        head.has_length && head.length == job->len)
        return;
    if (head.status == S3StatusOK || head.status == S3StatusHttpErrorNotFound) {
        r->status = S3StatusHttpErrorUnknown;
        snprintf(r->message, sizeof(r->message),
                 "the PUT was answered but did not store the object");
    } else {
        *r = head;
    }
}

/* Sleep until a monotonic time (signals do not cut it short). */
static void d_sleep_until(int64_t when)
{
    struct timespec ts = { .tv_sec = (time_t)(when / 1000),
                           .tv_nsec = (long)(when % 1000) * 1000000 };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
           EINTR)
        ;
}

/* A HEAD (put 0) or a PUT of key, tried again as the I/O thread retries
 * libs3's requests, until it succeeds, fails for good, or the deadline
 * passes. The last answer in r, the tries in o. */
static void d_run(struct s3_backend *be, struct d_bufs *b,
                  const struct s3_job *job, const char *key, int put,
                  const char *report, struct d_answer *r,
                  struct s3_outcome *o)
{
    memset(o, 0, sizeof(*o));
    for (;;) {
        int64_t at, span = S3_RETRY_BASE_MS;

        o->tries++;
        if (put)
            d_put_once(be, b, job, key, report, job->deadline, r);
        else
            d_send(be, b, job, key, 0, NULL, NULL, job->deadline, r);
        if (r->timed_out) {
            o->timed_out = 1;
            return;
        }
        o->ended = o->tries;
        o->status = r->status;
        if (r->status == S3StatusOK || o->tries >= S3_MAX_TRIES ||
            !s3_retryable(r->status))
            return;
        /* Full jitter, as io_backoff. */
        for (unsigned int i = 1; i < o->tries && span < S3_RETRY_CAP_MS; i++)
            span *= 2;
        if (span > S3_RETRY_CAP_MS)
            span = S3_RETRY_CAP_MS;
        at = osip_mono_ms() + (int64_t)(d_random(be) >> 33) % (span + 1);
        if (at >= job->deadline)
            return;
        d_sleep_until(at);
    }
}

/* The outcome of a d_run, told as a libs3 job's. */
static enum osi_status d_outcome(struct s3_backend *be, struct s3_job *job,
                                 const struct d_answer *r,
                                 const struct s3_outcome *o,
                                 const char *prefix, struct osi_error *err)
{
    job->http = o->status == S3StatusOK ? 0 : r->http;
    size_t l = strlen(prefix);

    d_copy_value(job->message, sizeof(job->message), prefix);
    if (l < sizeof(job->message))
        d_copy_value(job->message + l, sizeof(job->message) - l, r->message);
    return job_outcome(be, job, o, err);
}

/* A report and latest on an http endpoint: [HEAD latest] PUT report
 * [PUT latest]. */
static enum osi_status d_put_report(struct s3_backend *be,
                                    struct s3_job *job,
                                    struct osi_error *err)
{
    struct d_bufs *b = osip_malloc(sizeof(*b));
    struct d_answer *r = osip_malloc(sizeof(*r));
    struct s3_outcome o;
    enum osi_status rc = OSI_OK;
    char prefix[OSIP_KEY_MAX + 4];

    /* The I/O thread never sees this job: its reference goes now. */
    job->refs--;
    if (b == NULL || r == NULL) {
        free(b);
        free(r);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    if (job->latest != NULL && job->step == S3_STEP_CHECK) {
        d_run(be, b, job, job->latest, 0, NULL, r, &o);
        if (r->status == S3StatusHttpErrorNotFound && !o.timed_out)
            o.status = S3StatusOK; /* no latest yet */
        else
            memcpy(job->named, r->report, sizeof(job->named));
        rc = d_outcome(be, job, r, &o, "", err);
        job->write_latest = osip_key_report_cmp(job->named, job->key) < 0;
    }
    if (rc == OSI_OK) {
        d_run(be, b, job, job->key, 1, NULL, r, &o);
        rc = d_outcome(be, job, r, &o, "", err);
    }
    if (rc == OSI_OK && job->latest != NULL && job->write_latest) {
        d_run(be, b, job, job->latest, 1, job->key, r, &o);
        snprintf(prefix, sizeof(prefix), "%s: ", job->latest);
        rc = d_outcome(be, job, r, &o, prefix, err);
    }
    free(b);
    free(r);
    return rc;
}

static void d_pool_free(struct s3_backend *be)
{
    while (be->pool_len > 0)
        osip_http_free(be->pool[--be->pool_len]);
}

/* Run a PUT job; the caller still owns its reference. */
static enum osi_status s3_put_job(struct s3_backend *be, struct s3_job *job,
                                  struct osi_error *err)
{
    struct s3_outcome o;

    job_run(be, job, &o);
    return job_outcome(be, job, &o, err);
}

static pthread_mutex_t *latest_lock(struct s3_backend *be, const char *key)
{
    _Static_assert(OSIP_KNOWN_SETS % S3_LATEST_LOCKS == 0,
                   "the keys of a set share a lock");
    return &be->latest_locks[osip_known_set(key) % S3_LATEST_LOCKS];
}

/* With the key's latest lock held: remember what latest names now, or
 * forget it (report NULL: the write's outcome is not known). */
static void latest_remember(struct s3_backend *be, const char *latest,
                            const char *report)
{
    if (report != NULL)
        osip_known_put(be->known, latest, report);
    else
        osip_known_forget(be->known, latest);
}

/* The report, then latest: latest is rewritten only when this report is
 * newer than the one it names, which a HEAD of latest reads (metadata
 * x-amz-meta-osi-report) unless this process knows it already. On an
 * http endpoint two PUTs follow, each checked by its answer (d_put_report);
 * through libs3 the server copies the report to latest, and a GET of
 * latest checks both. */
static enum osi_status s3_put_report(void *bep, const char *report_key,
                                     const char *latest_key,
                                     const char *data, size_t len,
                                     int *duplicate, struct osi_error *err)
{
    struct s3_backend *be = bep;
    struct s3_job *job;
    const struct osip_known *k;
    pthread_mutex_t *lock;
    enum osi_status rc;

    /* S3 cannot tell a new key from an old one without a request more;
     * writing the same report twice is harmless. */
    if (duplicate != NULL)
        *duplicate = 0;
    job = job_new(be, S3_OP_PUT, report_key, latest_key, data, len);
    if (job == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    lock = latest_lock(be, latest_key);
    pthread_mutex_lock(lock);
    k = osip_known_find(be->known, latest_key);
    if (k != NULL) {
        job->step = S3_STEP_PUT;
        job->write_latest = osip_key_report_cmp(k->report, report_key) < 0;
    }
    rc = be->direct ? d_put_report(be, job, err) : s3_put_job(be, job, err);
    if (rc != OSI_OK)
        latest_remember(be, latest_key, NULL);
    else if (job->write_latest)
        latest_remember(be, latest_key, report_key);
    else if (job->named[0] != '\0')
        latest_remember(be, latest_key, job->named);
    pthread_mutex_unlock(lock);
    job_release(be, job);
    return rc;
}

static enum osi_status s3_put(void *bep, const char *key, const char *data,
                              size_t len, struct osi_error *err)
{
    struct s3_backend *be = bep;
    struct s3_job *job = job_new(be, S3_OP_PUT, key, NULL, data, len);
    enum osi_status rc;

    if (job == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    rc = be->direct ? d_put_report(be, job, err) : s3_put_job(be, job, err);
    job_release(be, job);
    return rc;
}

static enum osi_status s3_get(void *bep, const char *key, char **data,
                              size_t *len, struct osi_error *err)
{
    struct s3_backend *be = bep;
    struct s3_job *job = job_new(be, S3_OP_GET, key, NULL, NULL, 0);
    struct s3_outcome o;
    enum osi_status rc;

    if (job == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    job_run(be, job, &o);
    rc = job_outcome(be, job, &o, err);
    if (rc == OSI_OK && job->body == NULL) {
        job->body = osip_malloc(1);
        if (job->body == NULL)
            rc = osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    if (rc == OSI_OK) {
        job->body[job->body_len] = '\0';
        *data = job->body;
        if (len != NULL)
            *len = job->body_len;
        job->body = NULL;
    }
    job_release(be, job);
    return rc;
}

/* One page at a time, so that fn runs on the caller's thread and can stop
 * the listing; the whole listing shares one deadline. */
static enum osi_status s3_list_pages(struct s3_backend *be,
                                     const char *prefix, int flat,
                                     osip_list_fn fn, void *payload,
                                     struct osi_error *err)
{
    int64_t deadline = osip_mono_ms() + be->timeout_ms;
    char *marker = NULL;

    for (;;) {
        struct s3_job *job = job_new(be, S3_OP_LIST, prefix, NULL, NULL, 0);
        struct s3_outcome o;
        enum osi_status rc;
        int stop = 0;

        if (job == NULL) {
            free(marker);
            return osip_fail(err, OSI_ENOMEM, "out of memory");
        }
        job->deadline = deadline;
        job->flat = flat;
        job->marker = marker;
        marker = NULL;
        job_run(be, job, &o);
        rc = job_outcome(be, job, &o, err);
        for (size_t i = 0, off = 0; rc == OSI_OK && i < job->names_count;
             i++) {
            if (fn(job->names + off, payload) != 0) {
                stop = 1;
                break;
            }
            off += strlen(job->names + off) + 1;
        }
        if (rc == OSI_OK && !stop && job->truncated) {
            /* S3 gives NextMarker only with a delimiter, and not every
             * server does then: else the next page starts after the
             * greater of the page's last key and last common prefix. */
            const char *last = job->names_count > 0
                                   ? job->names + job->last_name
                                   : NULL;

            if (job->last_prefix != NULL &&
                (last == NULL || strcmp(job->last_prefix, last) > 0))
                last = job->last_prefix;
            if (job->next_marker != NULL) {
                marker = job->next_marker;
                job->next_marker = NULL;
            } else if (last != NULL) {
                size_t l = strlen(last) + 1;

                marker = osip_malloc(l);
                if (marker == NULL)
                    rc = osip_fail(err, OSI_ENOMEM, "out of memory");
                else
                    memcpy(marker, last, l);
            } else {
                rc = osip_fail(err, OSI_ESTORE,
                               "S3 list %s/%s: a truncated page with no key",
                               be->bucket, prefix);
            }
        }
        job_release(be, job);
        if (rc != OSI_OK || marker == NULL)
            return rc;
    }
}

static enum osi_status s3_list(void *bep, const char *prefix,
                               osip_list_fn fn, void *payload,
                               struct osi_error *err)
{
    return s3_list_pages(bep, prefix, 0, fn, payload, err);
}

/* Only the keys with no '/' after the prefix, in pages that S3 fills
 * with them alone (delimiter '/'): the original tool's keys at the top
 * of a bucket full of reports cost a few requests. */
static enum osi_status s3_list_flat(void *bep, const char *prefix,
                                    osip_list_fn fn, void *payload,
                                    struct osi_error *err)
{
    return s3_list_pages(bep, prefix, 1, fn, payload, err);
}

/* A one-key listing: it proves that the endpoint answers, that the bucket
 * exists and that the credentials are accepted, and costs little. */
static enum osi_status s3_ping(void *bep, struct osi_error *err)
{
    struct s3_backend *be = bep;
    struct s3_job *job = job_new(be, S3_OP_LIST, "", NULL, NULL, 0);
    struct s3_outcome o;
    enum osi_status rc;

    if (job == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    job->max_keys = 1;
    job_run(be, job, &o);
    rc = job_outcome(be, job, &o, err);
    job_release(be, job);
    return rc;
}

static void s3_backend_free(struct s3_backend *be)
{
    if (be->wake[0] >= 0)
        close(be->wake[0]);
    if (be->wake[1] >= 0)
        close(be->wake[1]);
    pthread_mutex_destroy(&be->lock);
    for (size_t i = 0; i < sizeof(be->latest_locks) /
                               sizeof(be->latest_locks[0]); i++)
        pthread_mutex_destroy(&be->latest_locks[i]);
    d_pool_free(be);
    pthread_mutex_destroy(&be->pool_lock);
    free(be->endpoint);
    free(be->known);
    free(be->access_key);
    free(be->secret_key);
    free(be);
}

static void s3_close(void *bep)
{
    struct s3_backend *be = bep;
    ssize_t n;

    pthread_mutex_lock(&be->lock);
    be->stopping = 1;
    pthread_mutex_unlock(&be->lock);
    n = write(be->wake[1], "", 1);
    (void)n;
    pthread_join(be->thread, NULL);
    s3_backend_free(be);
}

static const struct osip_store_backend s3_ops = {
    .name = "s3",
    .put_report = s3_put_report,
    .put = s3_put,
    .get = s3_get,
    .list = s3_list,
    .ping = s3_ping,
    .close = s3_close,
    .list_flat = s3_list_flat,
};

static char *dup_string(const char *s)
{
    size_t l = strlen(s) + 1;
    char *copy = osip_malloc(l);

    if (copy != NULL)
        memcpy(copy, s, l);
    return copy;
}

enum osi_status osip_store_s3_open(const char *bucket,
                                   const struct osi_store_options *opts,
                                   const struct osip_store_backend **ops,
                                   void **out, struct osi_error *err)
{
    struct s3_config cfg;
    struct s3_backend *be;
    sigset_t all, old;
    enum osi_status rc;
    int e;

    OSIP_ASSERT_ARG(bucket != NULL && ops != NULL && out != NULL, err);
    rc = s3_config_read(bucket, opts ? opts->flags : 0, &cfg, err);
    if (rc != OSI_OK)
        return rc;
    rc = s3_load_lib(err);
    if (rc != OSI_OK)
        return rc;

    be = osip_malloc(sizeof(*be));
    if (be == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    memset(be, 0, sizeof(*be));
    be->wake[0] = be->wake[1] = -1;
    if (pthread_mutex_init(&be->lock, NULL) != 0) {
        free(be);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&be->pool_lock, NULL);
    for (size_t i = 0; i < sizeof(be->latest_locks) /
                               sizeof(be->latest_locks[0]); i++)
        pthread_mutex_init(&be->latest_locks[i], NULL);
    memcpy(be->bucket, cfg.bucket, sizeof(be->bucket));
    memcpy(be->host, cfg.host, sizeof(be->host));
    be->access_key = dup_string(cfg.access_key);
    be->secret_key = dup_string(cfg.secret_key);
    be->known = osip_known_new();
    if (be->access_key == NULL || be->secret_key == NULL ||
        be->known == NULL) {
        s3_backend_free(be);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    be->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms
                                              : S3_DEFAULT_TIMEOUT_MS;
    if (cfg.protocol == S3ProtocolHTTP && !cfg.libs3_writes) {
        size_t l = strlen("http://") + strlen(cfg.host) + 1;
        struct osip_http_options ho = {
            .user_agent = "osinspect", .connect_timeout_ms = be->timeout_ms,
            .timeout_ms = be->timeout_ms,
        };

        be->direct = 1;
        be->endpoint = osip_malloc(l);
        if (be->endpoint == NULL) {
            s3_backend_free(be);
            return osip_fail(err, OSI_ENOMEM, "out of memory");
        }
        snprintf(be->endpoint, l, "http://%s", cfg.host);
        /* The first client of the pool, which proves the URL usable. */
        ho.url = be->endpoint;
        rc = osip_http_new(&ho, &be->pool[0], err);
        if (rc != OSI_OK) {
            s3_backend_free(be);
            return rc;
        }
        be->pool_len = 1;
    }
    /* libs3 2.0 signs with AWS Signature V2 only, which carries no region
     * (and so do the own client's requests, which s3rver checks the same
     * way): AWS_DEFAULT_REGION is not needed. */
    be->bucket_ctx.hostName = be->host;
    be->bucket_ctx.bucketName = be->bucket;
    be->bucket_ctx.protocol = cfg.protocol;
    be->bucket_ctx.uriStyle = S3UriStylePath;
    be->bucket_ctx.accessKeyId = be->access_key;
    be->bucket_ctx.secretAccessKey = be->secret_key;
    be->rng = (uint64_t)osip_mono_ms() ^ (uint64_t)(uintptr_t)be ^
              0x9e3779b97f4a7c15ull;
    atomic_init(&be->seq, be->rng * 3);
    if (pipe2(be->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        e = errno;
        s3_backend_free(be);
        return osip_error_set(err, OSI_EIO, OSI_CAUSE_ERRNO, e,
                              "pipe: %s", strerror(e));
    }
    /* The I/O thread takes no signal: the program's own threads do. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&be->thread, NULL, io_main, be);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        s3_backend_free(be);
        return osip_error_set(err, e == EAGAIN ? OSI_ENOMEM : OSI_EIO,
                              OSI_CAUSE_ERRNO, e,
                              "cannot start the S3 I/O thread: %s",
                              strerror(e));
    }
    *ops = &s3_ops;
    *out = be;
    return OSI_OK;
}
