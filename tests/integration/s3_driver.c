/* SPDX-License-Identifier: MIT */
/* Drives a store for the integration tests: reads one command a line on
 * stdin (a JSON array), answers one JSON object a line on stdout. Keeps
 * one public store (osi_store_*) and one bare S3 backend open across
 * commands, so a test can stop and restart the server under them. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <osinspect/osinspect.h>

#include "store_int.h"

static struct osi_store *store;
static const struct osip_store_backend *ops;
static void *be;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Print the answer: status, its name, the error message and cause, the
 * time the call took, and what the command adds (taken). */
static void answer(int status, const struct osi_error *err, double started,
                   json_t *extra)
{
    json_t *o = extra ? extra : json_object();
    char *text;

    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "name", json_string(osi_status_str(status)));
    json_object_set_new(o, "message",
                        json_string(status ? err->message : ""));
    json_object_set_new(o, "cause_kind",
                        json_integer(status ? err->cause_kind : 0));
    json_object_set_new(o, "cause", json_integer(status ? err->cause : 0));
    json_object_set_new(o, "ms", json_real(now_ms() - started));
    text = json_dumps(o, JSON_COMPACT);
    printf("%s\n", text ? text : "{}");
    fflush(stdout);
    free(text);
    json_decref(o);
}

static int collect_key(const char *key, void *payload)
{
    json_t *keys = payload;

    json_array_append_new(keys, json_string(key));
    return (size_t)json_array_size(keys) >= 100000;
}

/* Stop after the first key: checks that a callback can end a listing. */
static int first_key(const char *key, void *payload)
{
    json_array_append_new(payload, json_string(key));
    return 1;
}

struct hammer {
    pthread_t thread;
    unsigned int id;
    unsigned int iterations;
    double until;
    unsigned long ops;
    unsigned long errors;
    char first_error[320];
};

static void hammer_error(struct hammer *h, const char *what,
                         const struct osi_error *err)
{
    if (h->errors++ == 0)
        snprintf(h->first_error, sizeof(h->first_error), "%s: %s", what,
                 err ? err->message : "");
}

/* One of the threads of "hammer": put_report, get and list of its own
 * keys, through the backend that all threads share. (s3rver cannot serve
 * a key that is being rewritten: its overwrites are not atomic.) */
static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    char key[128], latest[128], data[256], prefix[64];
    struct osi_error err;

    snprintf(prefix, sizeof(prefix), "hammer/%u/", h->id);
    snprintf(latest, sizeof(latest), "hammer/latest/%u.json", h->id);
    for (unsigned int n = 0; n < h->iterations && now_ms() < h->until; n++) {
        size_t len;
        char *got = NULL;
        json_t *keys;

        snprintf(key, sizeof(key), "hammer/%u/%04u.json", h->id, n);
        len = (size_t)snprintf(data, sizeof(data),
                               "{\"thread\":%u,\"n\":%u}", h->id, n);
        h->ops++;
        if (ops->put_report(be, key, latest, data, len, NULL, &err) !=
            OSI_OK) {
            hammer_error(h, "put_report", &err);
            continue;
        }
        for (int i = 0; i < 2; i++) {
            h->ops++;
            if (ops->get(be, i ? latest : key, &got, &len, &err) != OSI_OK)
                hammer_error(h, "get", &err);
            else if (len != strlen(data) || strcmp(got, data) != 0)
                hammer_error(h, "get returned other bytes", NULL);
            free(got);
            got = NULL;
        }
        if (n % 4 == 3) {
            keys = json_array();
            h->ops++;
            if (ops->list(be, prefix, collect_key, keys, &err) != OSI_OK)
                hammer_error(h, "list", &err);
            else if (json_array_size(keys) != n + 1)
                hammer_error(h, "list missed keys", NULL);
            json_decref(keys);
        }
    }
    return NULL;
}

/* The same through the public API: each thread stores reports of its
 * own host, newer each time, and reads back latest and history. (Not
 * hosts, which reads every host's latest: s3rver's overwrites are not
 * atomic, and a GET of an object being rewritten can find it empty.) */
static void *phammer_main(void *arg)
{
    struct hammer *h = arg;
    char ip[32], peer[32], text[512], id[32];
    struct osi_error err;

    /* A peer of its own: s3rver fails concurrent PUTs of one key (the
     * seen/ alias of a shared peer) with 500 InternalError. */
    snprintf(ip, sizeof(ip), "10.1.%u.1", h->id);
    snprintf(peer, sizeof(peer), "192.0.2.%u", h->id + 1);
    for (unsigned int n = 0; n < h->iterations && now_ms() < h->until; n++) {
        struct osi_report *r = NULL;
        struct osi_report_list *list = NULL;
        const char *got;
        size_t len;

        snprintf(id, sizeof(id), "t%u-n%u", h->id, n);
        len = (size_t)snprintf(
            text, sizeof(text),
            "{\"cpu\":\"\",\"os_username\":\"root\",\"os_name\":"
            "\"Linux\",\"server_ip\":\"%s\",\"timestamp\":\"t\","
            "\"os_version\":\"v\",\"report_id\":\"%s\","
            "\"collected_at\":\"2026-01-02T03:%02u:%02u.000Z\"}",
            ip, id, n / 60, n % 60);
        h->ops++;
        if (osi_report_from_json(text, len, NULL, &r, &err) != OSI_OK ||
            osi_store_put(store, r, peer, NULL, &err) != OSI_OK)
            hammer_error(h, "put", &err);
        osi_report_free(r);
        r = NULL;
        h->ops++;
        if (osi_store_latest(store, ip, &r, &err) != OSI_OK)
            hammer_error(h, "latest", &err);
        else if ((got = osi_report_get_string(r, "report_id")) == NULL ||
                 strcmp(got, id) != 0)
            hammer_error(h, "latest is not the newest", NULL);
        osi_report_free(r);
        h->ops++;
        if (osi_store_history(store, ip, NULL, &list, &err) != OSI_OK)
            hammer_error(h, "history", &err);
        else if (osi_report_list_count(list) != n + 1)
            hammer_error(h, "history missed reports", NULL);
        osi_report_list_free(list);
    }
    return NULL;
}

static json_t *hammer_run(void *(*fn)(void *), unsigned int threads,
                          unsigned int iterations, unsigned int seconds,
                          int *status, struct osi_error *err)
{
    struct hammer *hs = calloc(threads, sizeof(*hs));
    unsigned long total = 0, errors = 0;
    json_t *o = json_object(), *first = json_array();

    *status = OSI_OK;
    if (hs == NULL) {
        *status = osip_fail(err, OSI_ENOMEM, "out of memory");
        return o;
    }
    for (unsigned int i = 0; i < threads; i++) {
        hs[i].id = i;
        hs[i].iterations = iterations;
        hs[i].until = now_ms() + seconds * 1e3;
        pthread_create(&hs[i].thread, NULL, fn, &hs[i]);
    }
    for (unsigned int i = 0; i < threads; i++) {
        pthread_join(hs[i].thread, NULL);
        total += hs[i].ops;
        errors += hs[i].errors;
        if (hs[i].errors)
            json_array_append_new(first, json_string(hs[i].first_error));
    }
    free(hs);
    json_object_set_new(o, "ops", json_integer((json_int_t)total));
    json_object_set_new(o, "errors", json_integer((json_int_t)errors));
    json_object_set_new(o, "first_errors", first);
    return o;
}

struct fill {
    pthread_mutex_t lock;
    const char *prefix;
    int mode; /* 0: <prefix><n>.json, 1: prefix itself, 2: <prefix><n>/x.json */
    unsigned int next, count;
    unsigned long errors;
    struct osi_error err;
};

static void *fill_main(void *arg)
{
    struct fill *f = arg;
    char key[256];
    struct osi_error err;

    for (;;) {
        unsigned int i;

        pthread_mutex_lock(&f->lock);
        i = f->next++;
        pthread_mutex_unlock(&f->lock);
        if (i >= f->count)
            return NULL;
        if (f->mode == 1)
            snprintf(key, sizeof(key), "%s", f->prefix);
        else if (f->mode == 2)
            snprintf(key, sizeof(key), "%s%05u/x.json", f->prefix, i);
        else
            snprintf(key, sizeof(key), "%s%05u.json", f->prefix, i);
        if (ops->put(be, key, "{}", 2, &err) != OSI_OK) {
            pthread_mutex_lock(&f->lock);
            if (f->errors++ == 0)
                f->err = err;
            pthread_mutex_unlock(&f->lock);
        }
    }
}

/* PUT count small objects from some threads, named as mode says. */
static int fill_run(const char *prefix, unsigned int count,
                    unsigned int threads, int mode, struct osi_error *err)
{
    struct fill f = { PTHREAD_MUTEX_INITIALIZER, prefix, mode, 0, count, 0,
                      { 0 } };
    pthread_t t[64];

    if (threads == 0 || threads > 64)
        return osip_fail(err, OSI_EINVAL, "1 to 64 threads");
    for (unsigned int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, fill_main, &f);
    for (unsigned int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    if (f.errors == 0)
        return OSI_OK;
    *err = f.err;
    return err->status;
}

/* Fail one allocation of the library: the one after chaos_left more. */
static atomic_long chaos_left = -1;

static int chaos_hook(void)
{
    return atomic_fetch_sub(&chaos_left, 1) == 0;
}

/* Open a backend, put_report, get, list and ping, close it, failing the
 * Nth allocation of the library for N = 0, 1, ... until a round fails
 * none. Every call must succeed or answer OSI_ENOMEM. */
static json_t *chaos_run(const char *bucket, int *status,
                         struct osi_error *err)
{
    json_t *o = json_object(), *bad = json_array();
    const struct osip_store_backend *cops;
    void *cbe0;
    unsigned int rounds = 0;
    int injected = 1;

    /* What get and list find, whatever put_report does below. */
    *status = osip_store_s3_open(bucket, NULL, &cops, &cbe0, err);
    if (*status == OSI_OK) {
        *status = cops->put_report(cbe0, "chaos/r.json", "chaos/l.json",
                                   "{\"a\":1}", 7, NULL, err);
        cops->close(cbe0);
    }
    for (long n = 0; *status == OSI_OK && injected && n < 10000;
         n++, rounds++) {
        void *cbe = NULL;
        struct osi_error e;
        int st[5] = { OSI_OK, OSI_OK, OSI_OK, OSI_OK, OSI_OK };
        char *got = NULL;
        json_t *keys = json_array();

        atomic_store(&chaos_left, n);
        osip_alloc_fail_hook = chaos_hook;
        st[0] = osip_store_s3_open(bucket, NULL, &cops, &cbe, &e);
        if (st[0] == OSI_OK) {
            st[1] = cops->put_report(cbe, "chaos/r.json", "chaos/l.json",
                                     "{\"a\":1}", 7, NULL, &e);
            st[2] = cops->get(cbe, "chaos/l.json", &got, NULL, &e);
            st[3] = cops->list(cbe, "chaos/", collect_key, keys, &e);
            st[4] = cops->ping(cbe, &e);
            cops->close(cbe);
        }
        osip_alloc_fail_hook = NULL;
        injected = atomic_load(&chaos_left) < 0;
        free(got);
        json_decref(keys);
        for (int i = 0; i < 5; i++)
            if (st[i] != OSI_OK && st[i] != OSI_ENOMEM)
                json_array_append_new(bad, json_pack("{sisiss}", "round",
                                                     (int)n, "call", i,
                                                     "message", e.message));
        if (!injected)
            for (int i = 0; i < 5; i++)
                if (st[i] != OSI_OK)
                    *status = osip_fail(err, st[i], "%s", e.message);
    }
    json_object_set_new(o, "rounds", json_integer(rounds));
    json_object_set_new(o, "unexpected", bad);
    return o;
}

static const char *arg_str(json_t *cmd, size_t i)
{
    const char *s = json_string_value(json_array_get(cmd, i));

    return s ? s : "";
}

static unsigned int arg_uint(json_t *cmd, size_t i)
{
    return (unsigned int)json_integer_value(json_array_get(cmd, i));
}

static void run(json_t *cmd)
{
    const char *op = arg_str(cmd, 0);
    struct osi_error err;
    double t0 = now_ms();
    json_t *extra = json_object();
    int st;

    memset(&err, 0, sizeof(err));
    if (strcmp(op, "open") == 0 || strcmp(op, "bopen") == 0) {
        struct osi_store_options opts = OSI_STORE_OPTIONS_INIT;

        opts.timeout_ms = arg_uint(cmd, 2);
        opts.flags = arg_uint(cmd, 3);
        if (op[0] == 'o')
            st = osi_store_open(arg_str(cmd, 1), &opts, &store, &err);
        else
            st = osip_store_s3_open(arg_str(cmd, 1), &opts, &ops, &be, &err);
    } else if (strcmp(op, "close") == 0) {
        osi_store_close(store);
        store = NULL;
        st = OSI_OK;
    } else if (strcmp(op, "bclose") == 0) {
        if (be != NULL)
            ops->close(be);
        be = NULL;
        st = OSI_OK;
    } else if (strcmp(op, "put") == 0) {
        struct osi_report *r = NULL;
        const char *text = arg_str(cmd, 1);
        const char *peer = arg_str(cmd, 2);
        int dup = -1;

        st = osi_report_from_json(text, strlen(text), NULL, &r, &err);
        if (st == OSI_OK)
            st = osi_store_put(store, r, *peer ? peer : NULL, &dup, &err);
        json_object_set_new(extra, "duplicate", json_integer(dup));
        osi_report_free(r);
    } else if (strcmp(op, "latest") == 0) {
        struct osi_report *r = NULL;
        char *text = NULL;

        st = osi_store_latest(store, arg_str(cmd, 1), &r, &err);
        if (st == OSI_OK)
            st = osi_report_to_json(r, OSI_JSON_COMPACT, &text, NULL, &err);
        if (st == OSI_OK)
            json_object_set_new(extra, "data", json_string(text));
        osi_free(text);
        osi_report_free(r);
    } else if (strcmp(op, "history") == 0) {
        struct osi_history_query q = OSI_HISTORY_QUERY_INIT;
        struct osi_report_list *list = NULL;
        char *text = NULL;

        q.limit = arg_uint(cmd, 2);
        st = osi_store_history(store, arg_str(cmd, 1), &q, &list, &err);
        if (st == OSI_OK)
            st = osi_report_list_to_json(list, OSI_JSON_COMPACT, &text, NULL,
                                         &err);
        if (st == OSI_OK)
            json_object_set_new(extra, "data", json_string(text));
        osi_free(text);
        osi_report_list_free(list);
    } else if (strcmp(op, "hosts") == 0) {
        char *text = NULL;

        st = osi_store_hosts_json(store, OSI_JSON_COMPACT, &text, NULL, &err);
        if (st == OSI_OK)
            json_object_set_new(extra, "data", json_string(text));
        osi_free(text);
    } else if (strcmp(op, "ping") == 0) {
        st = osi_store_ping(store, &err);
    } else if (strcmp(op, "bput") == 0) {
        const char *data = arg_str(cmd, 2);

        st = ops->put(be, arg_str(cmd, 1), data, strlen(data), &err);
    } else if (strcmp(op, "bputr") == 0) {
        const char *data = arg_str(cmd, 3);
        int dup = -1;

        st = ops->put_report(be, arg_str(cmd, 1), arg_str(cmd, 2), data,
                             strlen(data), &dup, &err);
        json_object_set_new(extra, "duplicate", json_integer(dup));
    } else if (strcmp(op, "bget") == 0) {
        char *data = NULL;
        size_t len = 0;

        st = ops->get(be, arg_str(cmd, 1), &data, &len, &err);
        if (st == OSI_OK) {
            json_object_set_new(extra, "data", json_stringn(data, len));
            json_object_set_new(extra, "nul", json_boolean(data[len] == 0));
        }
        free(data);
    } else if (strcmp(op, "blist") == 0 || strcmp(op, "blist1") == 0) {
        json_t *keys = json_array();

        st = ops->list(be, arg_str(cmd, 1),
                       op[5] == '1' ? first_key : collect_key, keys, &err);
        json_object_set_new(extra, "keys", keys);
    } else if (strcmp(op, "blistflat") == 0) {
        json_t *keys = json_array();

        st = ops->list_flat(be, arg_str(cmd, 1), collect_key, keys, &err);
        json_object_set_new(extra, "keys", keys);
    } else if (strcmp(op, "bping") == 0) {
        st = ops->ping(be, &err);
    } else if (strcmp(op, "bfill") == 0) {
        st = fill_run(arg_str(cmd, 1), arg_uint(cmd, 2), arg_uint(cmd, 3),
                      (int)arg_uint(cmd, 4), &err);
    } else if (strcmp(op, "chaos") == 0) {
        json_decref(extra);
        extra = chaos_run(arg_str(cmd, 1), &st, &err);
    } else if (strcmp(op, "hammer") == 0 || strcmp(op, "phammer") == 0) {
        json_decref(extra);
        extra = hammer_run(op[0] == 'h' ? hammer_main : phammer_main,
                           arg_uint(cmd, 1), arg_uint(cmd, 2),
                           arg_uint(cmd, 3), &st, &err);
    } else {
        st = osip_fail(&err, OSI_EINVAL, "unknown command \"%s\"", op);
    }
    answer(st, &err, t0, extra);
}

int main(void)
{
    char line[1 << 16];
    struct osi_error err;

    if (osi_init(&err) != OSI_OK) {
        fprintf(stderr, "s3_driver: %s\n", err.message);
        return 1;
    }
    while (fgets(line, sizeof(line), stdin) != NULL) {
        json_error_t jerr;
        json_t *cmd = json_loads(line, 0, &jerr);

        if (!json_is_array(cmd)) {
            fprintf(stderr, "s3_driver: not a JSON array: %s", line);
            json_decref(cmd);
            return 2;
        }
        run(cmd);
        json_decref(cmd);
    }
    osi_store_close(store);
    if (be != NULL)
        ops->close(be);
    osi_cleanup();
    return 0;
}
