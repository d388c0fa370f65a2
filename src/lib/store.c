/* SPDX-License-Identifier: MIT */
/* The generic report store: opening by URI, stamping and keying reports,
 * latest / history / hosts over any backend, the original tool's keys,
 * report lists (docs/storage.md). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "store_int.h"

/* Aliases written by this process, so that a host reporting every minute
 * from the same address costs one alias write, not one per report.
 * Direct-mapped: a collision only costs a rewrite. */
#define SEEN_SLOTS 256
/* Stored objects are our reports (nested 32 deep at most, plus
 * "received") or the original tool's; deeper is not ours, and jansson
 * recurses once per level on small worker stacks. */
#define STORED_MAX_DEPTH 64
#define DEFAULT_LIMIT 100
/* A collected_at further ahead of the server's clock than this is a wrong
 * clock: keyed by it, the report would hold latest/ until that date, as
 * latest never goes back. */
#define MAX_AHEAD_MS (3600 * 1000)
#define DEFAULT_DIR "./osinspect-data"
/* The checked text of latest/ objects, for backends that tell versions:
 * GET /report then costs a stat and a copy instead of an open, a read
 * and a check. Two-way set-associative (direct-mapped, a fifth of 1,000
 * hosts would share a slot and evict each other); the bytes kept are
 * bounded (a typical report is 3 KiB: about 2,700 hosts). */
#define TEXT_SETS 4096
#define TEXT_SLOTS (2 * TEXT_SETS)
#define TEXT_BUDGET (8u << 20)

struct seen_slot {
    char peer[OSIP_IP_MAX];
    char ip[OSIP_IP_MAX];
};

struct text_slot {
    char key[64]; /* "latest/<ip>.json" */
    struct osip_version version;
    char *text; /* NULL: empty */
    size_t len;
    int newer; /* of a set's first way: filled after the second */
};

struct osi_store {
    const struct osip_store_backend *ops;
    void *be;
    pthread_mutex_t seen_lock;
    struct seen_slot seen[SEEN_SLOTS];
    pthread_mutex_t text_lock; /* the two below */
    struct text_slot *text;    /* TEXT_SLOTS, or NULL: no cache */
    size_t text_bytes;         /* held by the slots */
};

struct osi_report_list {
    size_t count;
    struct osi_report **items;
};

enum osi_status osi_store_options_init(struct osi_store_options *opts,
                                       unsigned int version)
{
    static const struct osi_store_options defaults = OSI_STORE_OPTIONS_INIT;

    if (opts == NULL || version != OSI_STORE_OPTIONS_VERSION)
        return OSI_EINVAL;
    *opts = defaults;
    return OSI_OK;
}

/* "scheme://..." when the text before "://" is a URI scheme. */
static size_t scheme_len(const char *uri)
{
    const char *sep = strstr(uri, "://");

    if (sep == NULL || sep == uri)
        return 0;
    for (const char *c = uri; c < sep; c++) {
        int alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z');
        int other = (*c >= '0' && *c <= '9') || *c == '+' || *c == '-' ||
                    *c == '.';

        if (!alpha && (c == uri || !other))
            return 0;
    }
    return (size_t)(sep - uri);
}

static enum osi_status open_backend(struct osi_store *store, const char *uri,
                                    const struct osi_store_options *opts,
                                    struct osi_error *err)
{
    size_t n;

    if (uri == NULL) {
        /* systemd's StateDirectory= may list several, ':'-separated. */
        const char *state = getenv("STATE_DIRECTORY");
        char *first;
        enum osi_status st;

        if (state == NULL || state[0] == '\0' || state[0] == ':')
            return osip_store_file_open(DEFAULT_DIR, opts, &store->ops,
                                        &store->be, err);
        n = strcspn(state, ":");
        first = osip_malloc(n + 1);
        if (first == NULL)
            return osip_fail(err, OSI_ENOMEM, "out of memory");
        memcpy(first, state, n);
        first[n] = '\0';
        st = osip_store_file_open(first, opts, &store->ops, &store->be, err);
        free(first);
        return st;
    }
    if (uri[0] == '\0')
        return osip_fail(err, OSI_EINVAL, "store URI is empty");
    n = scheme_len(uri);
    if (n == 0)
        return osip_store_file_open(uri, opts, &store->ops, &store->be, err);
    if (n == 4 && strncmp(uri, "file", 4) == 0) {
        if (uri[7] != '/')
            return osip_fail(err, OSI_EINVAL,
                             "store URI \"%.128s\": file:// must be followed "
                             "by an absolute path (file:///var/lib/osinspect)",
                             uri);
        return osip_store_file_open(uri + 7, opts, &store->ops, &store->be,
                                    err);
    }
    if (n == 2 && strncmp(uri, "s3", 2) == 0)
        return osip_store_s3_open(uri + 5, opts, &store->ops, &store->be,
                                  err);
    return osip_fail(err, OSI_ENOTSUP,
                     "store URI \"%.128s\": unknown scheme \"%.*s\" (use "
                     "file:///path, a path, or s3://bucket)",
                     uri, (int)(n > 32 ? 32 : n), uri);
}

enum osi_status osi_store_open(const char *uri,
                               const struct osi_store_options *opts,
                               struct osi_store **out, struct osi_error *err)
{
    struct osi_store *store;
    enum osi_status st;

    OSIP_ASSERT_ARG(out != NULL, err);
    *out = NULL;
    if (opts != NULL && opts->version != OSI_STORE_OPTIONS_VERSION)
        return osip_fail(err, OSI_EINVAL, "unknown store options version %u",
                         opts->version);
    if (opts != NULL &&
        (opts->flags & ~(unsigned int)OSI_STORE_S3_INSECURE_TLS) != 0)
        return osip_fail(err, OSI_EINVAL, "unknown store option flags 0x%x",
                         opts->flags);
    store = osip_malloc(sizeof(*store));
    if (store == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    memset(store, 0, sizeof(*store));
    st = open_backend(store, uri, opts, err);
    if (st != OSI_OK) {
        free(store);
        return st;
    }
    pthread_mutex_init(&store->seen_lock, NULL);
    pthread_mutex_init(&store->text_lock, NULL);
    /* Without its room the store works, only uncached. */
    if (store->ops->version != NULL) {
        store->text = osip_malloc(TEXT_SLOTS * sizeof(*store->text));
        if (store->text != NULL)
            memset(store->text, 0, TEXT_SLOTS * sizeof(*store->text));
    }
    *out = store;
    return OSI_OK;
}

void osi_store_close(struct osi_store *store)
{
    if (store == NULL)
        return;
    store->ops->close(store->be);
    pthread_mutex_destroy(&store->seen_lock);
    pthread_mutex_destroy(&store->text_lock);
    for (size_t i = 0; store->text != NULL && i < TEXT_SLOTS; i++)
        free(store->text[i].text);
    free(store->text);
    free(store);
}

enum osi_status osi_store_ping(struct osi_store *store, struct osi_error *err)
{
    OSIP_ASSERT_ARG(store != NULL, err);
    return store->ops->ping(store->be, err);
}

/* --- put ---------------------------------------------------------------- */

/* A version 4 UUID, as collect.c makes them. */
static enum osi_status make_report_id(char buf[37], struct osi_error *err)
{
    unsigned char b[16];
    ssize_t n;

    do
        n = getrandom(b, sizeof(b), 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(b))
        return osip_error_set(err, OSI_EIO, OSI_CAUSE_ERRNO, errno,
                              "no random bytes for the report id: %s",
                              strerror(errno));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(buf, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
    return OSI_OK;
}

static unsigned int seen_slot_of(const char *peer)
{
    uint32_t h = 2166136261u;

    for (; *peer; peer++)
        h = (h ^ (unsigned char)*peer) * 16777619u;
    return h % SEEN_SLOTS;
}

static int seen_known(struct osi_store *store, const char *peer,
                      const char *ip)
{
    struct seen_slot *s = &store->seen[seen_slot_of(peer)];
    int known;

    pthread_mutex_lock(&store->seen_lock);
    known = strcmp(s->peer, peer) == 0 && strcmp(s->ip, ip) == 0;
    pthread_mutex_unlock(&store->seen_lock);
    return known;
}

static void seen_remember(struct osi_store *store, const char *peer,
                          const char *ip)
{
    struct seen_slot *s = &store->seen[seen_slot_of(peer)];

    pthread_mutex_lock(&store->seen_lock);
    memcpy(s->peer, peer, strlen(peer) + 1);
    memcpy(s->ip, ip, strlen(ip) + 1);
    pthread_mutex_unlock(&store->seen_lock);
}

/* An alias is a hint: a crash of the machine may lose the newest one
 * (the host's next report writes it again, the cache being empty after a
 * restart), so the file store writes it without flushing. */
static enum osi_status put_alias(struct osi_store *store, const char *peer,
                                 const char *ip, struct osi_error *err)
{
    char key[OSIP_KEY_MAX], body[OSIP_IP_MAX + 16];
    int n;

    /* A canonical address needs no JSON escaping. */
    n = snprintf(body, sizeof(body), "{\"ip\":\"%s\"}", ip);
    if (osip_key_seen(key, peer) != 0 || n < 0 || (size_t)n >= sizeof(body))
        return osip_fail(err, OSI_EINVAL, "peer %s: key too long", peer);
    if (store->ops->put_hint != NULL)
        return store->ops->put_hint(store->be, key, body, (size_t)n, err);
    return store->ops->put(store->be, key, body, (size_t)n, err);
}

/* Give the report its report_id (when it has none) and its "received"
 * stamp. */
static enum osi_status stamp(json_t *root, const char *peer, int64_t now,
                             struct osi_error *err)
{
    json_t *id = json_object_get(root, "report_id");
    char at[OSIP_TIME_MAX], uuid[37];
    json_t *received;
    enum osi_status st;

    if (id == NULL || json_is_null(id)) {
        st = make_report_id(uuid, err);
        if (st != OSI_OK)
            return st;
        if (json_object_set_new(root, "report_id", json_string(uuid)) != 0)
            return osip_fail(err, OSI_ENOMEM, "out of memory");
    } else if (!osip_report_id_valid(json_string_value(id))) {
        return osip_fail(err, OSI_EINVAL,
                         "report_id: must be 1 to 64 letters, digits or '-'");
    }
    osip_rfc3339_format(now, at);
    received = json_object();
    if (received == NULL ||
        json_object_set_new(received, "at", json_string(at)) != 0 ||
        json_object_set_new(received, "peer",
                            peer ? json_string(peer) : json_null()) != 0) {
        json_decref(received);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    if (json_object_set_new(root, "received", received) != 0)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    return OSI_OK;
}

/* The key of a report filed under ip and received at received_ms. The
 * agent's clock (collected_at, may be NULL) names it, so a resend lands
 * on the same key; the server's when the report has no usable time. */
static int report_key(char key[OSIP_KEY_MAX], const char *collected_at,
                      const char *report_id, const char *ip,
                      int64_t received_ms)
{
    int64_t when;

    if (osip_rfc3339_parse(collected_at, &when) != 0 ||
        when > received_ms + MAX_AHEAD_MS)
        when = received_ms;
    return osip_key_report(key, ip, when, report_id);
}

static int report_key_json(char key[OSIP_KEY_MAX], const json_t *root,
                           const char *ip, int64_t received_ms)
{
    return report_key(key,
                      json_string_value(json_object_get(root, "collected_at")),
                      json_string_value(json_object_get(root, "report_id")),
                      ip, received_ms);
}

int osip_report_key_of_jansson(const char *data, size_t len, const char *ip,
                               char key[OSIP_KEY_MAX])
{
    json_t *root = json_loadb(data, len, 0, NULL);
    int64_t received;
    int rc = -1;

    if (json_is_object(root) &&
        osip_rfc3339_parse(json_string_value(json_object_get(
                               json_object_get(root, "received"), "at")),
                           &received) == 0)
        rc = report_key_json(key, root, ip, received);
    json_decref(root);
    return rc;
}

/* Where a report of server_ip that came from peer (may be NULL) is filed:
 * its canonical address in ip, peer's in peer_c, *known_peer when peer
 * tells where the host is. */
static enum osi_status file_under(const char *server_ip, const char *peer,
                                  char ip[OSIP_IP_MAX],
                                  char peer_c[OSIP_IP_MAX], int *known_peer,
                                  struct osi_error *err)
{
    if (osip_ip_canonical(server_ip, ip) != 0)
        return osip_fail(err, OSI_EINVAL,
                         "server_ip: \"%.64s\" is not an IPv4 or IPv6 address",
                         server_ip ? server_ip : "(missing)");
    if (peer != NULL && osip_ip_canonical(peer, peer_c) != 0)
        return osip_fail(err, OSI_EINVAL,
                         "peer \"%.64s\" is not an IPv4 or IPv6 address",
                         peer);
    /* A loopback peer (a proxy on this machine) says nothing about the
     * host. A loopback server_ip (the original agent's 127.0.1.1, sent by
     * most of its hosts) says nothing either: such a report is filed
     * under the address it came from. */
    *known_peer = peer != NULL && !osip_ip_is_local(peer_c);
    if (*known_peer && osip_ip_is_local(ip))
        memcpy(ip, peer_c, OSIP_IP_MAX);
    return OSI_OK;
}

/* Store the stamped text of a report filed under ip, keyed rkey and
 * lkey, with the alias of its peer when that is news. */
static enum osi_status put_stamped(struct osi_store *store, const char *ip,
                                   const char *peer_c, int known_peer,
                                   const char *rkey, const char *lkey,
                                   const char *data, size_t len, int *dup,
                                   struct osi_error *err)
{
    enum osi_status st = OSI_OK;
    /* The alias first: a journalling file system then commits it with
     * the report's own flush. One naming a report that failed to be
     * stored leads nowhere, which lookups handle. */
    int alias = known_peer && strcmp(peer_c, ip) != 0 &&
                !seen_known(store, peer_c, ip);

    if (alias)
        st = put_alias(store, peer_c, ip, err);
    if (st == OSI_OK)
        st = store->ops->put_report(store->be, rkey, lkey, data, len, dup,
                                    err);
    if (st == OSI_OK && alias)
        seen_remember(store, peer_c, ip);
    return st;
}

enum osi_status osi_store_put(struct osi_store *store,
                              struct osi_report *report, const char *peer,
                              int *duplicate_out, struct osi_error *err)
{
    char ip[OSIP_IP_MAX], peer_c[OSIP_IP_MAX];
    char rkey[OSIP_KEY_MAX], lkey[OSIP_KEY_MAX];
    int64_t now;
    enum osi_status st;
    char *data = NULL;
    size_t len = 0;
    int dup = 0, known_peer;

    OSIP_ASSERT_ARG(store != NULL, err);
    OSIP_ASSERT_ARG(report != NULL, err);
    if (duplicate_out != NULL)
        *duplicate_out = 0;
    if (!json_is_object(report->root))
        return osip_fail(err, OSI_EINVAL, "report: not a JSON object");
    st = file_under(json_string_value(json_object_get(report->root,
                                                      "server_ip")),
                    peer, ip, peer_c, &known_peer, err);
    if (st != OSI_OK)
        return st;

    now = osip_now_ms();
    st = stamp(report->root, peer ? peer_c : NULL, now, err);
    if (st != OSI_OK)
        return st;
    if (report_key_json(rkey, report->root, ip, now) != 0 ||
        osip_key_latest(lkey, ip) != 0)
        return osip_fail(err, OSI_EINVAL, "report of %s: no key for it", ip);

    st = osi_report_to_json(report, OSI_JSON_COMPACT, &data, &len, err);
    if (st != OSI_OK)
        return st;
    st = put_stamped(store, ip, peer_c, known_peer, rkey, lkey, data, len,
                     &dup, err);
    free(data);
    if (st == OSI_OK && duplicate_out != NULL)
        *duplicate_out = dup;
    return st;
}

/* --- put from text ------------------------------------------------------- */

/* What a scanned report needs beside its text, off the small stacks of
 * server threads. */
struct scanned {
    struct osip_json_scan scan;
    int unsure; /* a field was read that only jansson can decode */
    char collected_at[1025]; /* its longest valid value and a NUL */
};

static const struct osip_json_member *member(const struct osip_json_scan *sc,
                                             const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < sc->count; i++)
        if (sc->m[i].key_len == n && memcmp(sc->m[i].key, name, n) == 0)
            return &sc->m[i];
    return NULL;
}

/* The string member name of sc, NUL-terminated, in buf (size bytes);
 * NULL when there is none or it is not a string. Returns 0, or -1 when
 * only jansson can tell (an escape, or too long for buf). */
static int scan_string(const struct osip_json_scan *sc, const char *name,
                       char *buf, size_t size, const char **out)
{
    const struct osip_json_member *m = member(sc, name);

    *out = NULL;
    if (m == NULL || m->type != '"')
        return 0;
    if (m->escaped || m->value_len >= size)
        return -1;
    memcpy(buf, m->value, m->value_len);
    buf[m->value_len] = '\0';
    *out = buf;
    return 0;
}

/* What osip_report_key_of() needs, off the small stacks of server
 * threads: the report's members, then those of its "received". */
struct key_scan {
    struct osip_json_scan report, received;
    char collected_at[256], report_id[256], at[256];
};

/* osip_report_key_of() by the scan: 1 with its result in *rc, or 0 when
 * jansson must read the text. The stored text of a report is one
 * compact object written by this library, so the scan almost always
 * tells, in a tenth of the time of a parse. */
static int key_of_scanned(struct key_scan *k, const char *data, size_t len,
                          const char *ip, char key[OSIP_KEY_MAX], int *rc)
{
    const struct osip_json_member *rcv;
    const char *collected_at, *report_id, *at;
    int64_t received;

    if (!osip_json_report_scan(data, len, STORED_MAX_DEPTH, &k->report))
        return 0;
    rcv = member(&k->report, "received");
    *rc = -1;
    if (rcv == NULL || rcv->type != '{')
        return 1;
    if (!osip_json_report_scan(rcv->value, rcv->value_len, STORED_MAX_DEPTH,
                               &k->received) ||
        scan_string(&k->received, "at", k->at, sizeof(k->at), &at) != 0 ||
        scan_string(&k->report, "collected_at", k->collected_at,
                    sizeof(k->collected_at), &collected_at) != 0 ||
        scan_string(&k->report, "report_id", k->report_id,
                    sizeof(k->report_id), &report_id) != 0)
        return 0;
    if (osip_rfc3339_parse(at, &received) == 0)
        *rc = report_key(key, collected_at, report_id, ip, received);
    return 1;
}

int osip_report_key_of(const char *data, size_t len, const char *ip,
                       char key[OSIP_KEY_MAX])
{
    struct key_scan *k = osip_malloc(sizeof(*k));
    int rc;

    if (k == NULL)
        return -1;
    /* jansson recurses per level: only a text the checker passes (an
     * object no deeper than any stored one may be) goes to it. */
    if (!key_of_scanned(k, data, len, ip, key, &rc))
        rc = osip_json_object_check(data, len, STORED_MAX_DEPTH, NULL) == 0
                 ? osip_report_key_of_jansson(data, len, ip, key)
                 : -1;
    free(k);
    return rc;
}

static void scanned_field(const void *report, const char *name,
                          struct osip_field *out)
{
    struct scanned *r = (struct scanned *)report;
    const struct osip_json_member *m = member(&r->scan, name);

    out->s = NULL;
    out->len = 0;
    if (m == NULL) {
        out->type = OSIP_F_ABSENT;
        return;
    }
    switch (m->type) {
    case '"':
        out->type = OSIP_F_STRING;
        out->s = m->value;
        out->len = m->value_len;
        r->unsure |= m->escaped;
        break;
    case '{': out->type = OSIP_F_OBJECT; break;
    case '[': out->type = OSIP_F_ARRAY; break;
    case 't':
    case 'f': out->type = OSIP_F_BOOL; break;
    case 'n': out->type = OSIP_F_NULL; break;
    default: out->type = m->real ? OSIP_F_REAL : OSIP_F_INTEGER; break;
    }
}

/* Copy the JSON text buf without the whitespace between its tokens to
 * out (len bytes at most). Returns the length copied. */
static size_t compact(char *out, const char *buf, size_t len)
{
    size_t n = 0;
    int in_string = 0;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];

        if (in_string) {
            out[n++] = c;
            if (c == '\\' && i + 1 < len)
                out[n++] = buf[++i];
            else if (c == '"')
                in_string = 0;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            in_string = c == '"';
            out[n++] = c;
        }
    }
    return n;
}

/* scan_string() of r's members: the copy, or NULL when there is none, it
 * is not a string, it does not fit or it has an escape (the rules have
 * sent such a report to jansson already). */
static const char *member_string(const struct scanned *r, const char *name,
                                 char *buf, size_t size)
{
    const char *s;

    return scan_string(&r->scan, name, buf, size, &s) == 0 ? s : NULL;
}

/* Check buf as osi_report_from_json() would: returns 1 when the scan can
 * tell, with OSI_OK or that function's error in *st and err, else 0. A
 * report found valid has a string server_ip (a valid address) and no
 * "received" or null report_id for the stamp to replace in place. */
static int scan_report(struct scanned *r, const char *buf, size_t len,
                       unsigned int max_depth, enum osi_status *st,
                       struct osi_error *err)
{
    const struct osip_json_member *id;

    r->unsure = 0;
    if (!osip_json_report_scan(buf, len, max_depth, &r->scan))
        return 0;
    *st = osip_report_validate_fields(scanned_field, r, err);
    if (r->unsure)
        return 0;
    if (*st != OSI_OK)
        return 1;
    id = member(&r->scan, "report_id");
    return (id == NULL || id->type == '"') &&
           member(&r->scan, "received") == NULL;
}

int osip_report_scan_verdict(const char *buf, size_t len,
                             unsigned int max_depth, enum osi_status *st,
                             struct osi_error *err)
{
    struct scanned *r = osip_malloc(sizeof(*r));
    int done;

    if (r == NULL)
        return -1;
    done = scan_report(r, buf, len, max_depth, st, err);
    free(r);
    return done;
}

/* Append a, b and c at p; returns the new end. */
static char *append3(char *p, const char *a, const char *b, const char *c)
{
    const char *parts[3] = { a, b, c };

    for (int i = 0; i < 3; i++) {
        size_t n = strlen(parts[i]);

        memcpy(p, parts[i], n);
        p += n;
    }
    return p;
}

/* osi_store_put_json() for a report the scan can vouch for: returns 1
 * with the outcome in *st, or 0 when jansson must decide. */
static int put_scanned(struct osi_store *store, struct scanned *r,
                       const char *buf, size_t len, unsigned int max_depth,
                       const char *peer, int *dup,
                       char report_id[OSI_REPORT_ID_SIZE],
                       enum osi_status *st, struct osi_error *err)
{
    char ip[OSIP_IP_MAX], peer_c[OSIP_IP_MAX], server_ip[65];
    char rkey[OSIP_KEY_MAX], lkey[OSIP_KEY_MAX], at[OSIP_TIME_MAX];
    const struct osip_json_member *id;
    const char *collected_at;
    char *data, *p;
    size_t n;
    int64_t now;
    int known_peer;

    if (!scan_report(r, buf, len, max_depth, st, err))
        return 0;
    if (*st != OSI_OK)
        return 1;
    id = member(&r->scan, "report_id");
    member_string(r, "server_ip", server_ip, sizeof(server_ip));
    *st = file_under(server_ip, peer, ip, peer_c, &known_peer, err);
    if (*st != OSI_OK)
        return 1;

    now = osip_now_ms();
    if (id != NULL)
        member_string(r, "report_id", report_id, OSI_REPORT_ID_SIZE);
    else if ((*st = make_report_id(report_id, err)) != OSI_OK)
        return 1;
    collected_at = member_string(r, "collected_at", r->collected_at,
                                 sizeof(r->collected_at));
    if (report_key(rkey, collected_at, report_id, ip, now) != 0 ||
        osip_key_latest(lkey, ip) != 0) {
        *st = osip_fail(err, OSI_EINVAL, "report of %s: no key for it", ip);
        return 1;
    }

    /* The text as sent, compact, then its stamp: what jansson would
     * write, but for how numbers and escapes are spelt. */
    data = osip_malloc(len + OSI_REPORT_ID_SIZE + OSIP_TIME_MAX +
                       OSIP_IP_MAX + 64);
    if (data == NULL) {
        *st = osip_fail(err, OSI_ENOMEM, "out of memory");
        return 1;
    }
    p = data + compact(data, buf, len) - 1; /* before the closing '}' */
    if (id == NULL)
        p = append3(p, ",\"report_id\":\"", report_id, "\"");
    osip_rfc3339_format(now, at);
    p = append3(p, ",\"received\":{\"at\":\"", at, "\",\"peer\":");
    if (peer != NULL)
        p = append3(p, "\"", peer_c, "\"}}");
    else
        p = append3(p, "null}}", "", "");
    n = (size_t)(p - data);
    *st = put_stamped(store, ip, peer_c, known_peer, rkey, lkey, data, n,
                      dup, err);
    free(data);
    return 1;
}

enum osi_status osi_store_put_json(struct osi_store *store, const char *buf,
                                   size_t len,
                                   const struct osi_parse_options *opts,
                                   const char *peer, int *duplicate_out,
                                   char report_id[OSI_REPORT_ID_SIZE],
                                   struct osi_error *err)
{
    size_t max_size = OSI_REPORT_DEFAULT_MAX_SIZE;
    unsigned int max_depth = OSI_REPORT_DEFAULT_MAX_DEPTH;
    struct osi_report *report = NULL;
    struct scanned *r;
    char id[OSI_REPORT_ID_SIZE];
    enum osi_status st;
    int dup = 0, done = 0;

    OSIP_ASSERT_ARG(store != NULL, err);
    OSIP_ASSERT_ARG(buf != NULL || len == 0, err);
    if (duplicate_out != NULL)
        *duplicate_out = 0;
    if (opts != NULL && opts->version == OSI_PARSE_OPTIONS_VERSION) {
        if (opts->max_size != 0)
            max_size = opts->max_size;
        if (opts->max_depth != 0)
            max_depth = opts->max_depth;
    }
    r = (opts == NULL || opts->version == OSI_PARSE_OPTIONS_VERSION) &&
                len <= max_size
            ? osip_malloc(sizeof(*r))
            : NULL;
    if (r != NULL) {
        done = put_scanned(store, r, buf, len, max_depth, peer, &dup, id,
                           &st, err);
        free(r);
    }
    /* Whatever the scan cannot vouch for, jansson decides, with its
     * errors. */
    if (!done) {
        st = osi_report_from_json(buf, len, opts, &report, err);
        if (st == OSI_OK)
            st = osi_store_put(store, report, peer, &dup, err);
        if (st == OSI_OK) {
            const char *given = osi_report_get_string(report, "report_id");

            snprintf(id, sizeof(id), "%s", given ? given : "");
        }
        osi_report_free(report);
    }
    if (st != OSI_OK)
        return st;
    if (duplicate_out != NULL)
        *duplicate_out = dup;
    if (report_id != NULL)
        memcpy(report_id, id, sizeof(id));
    return OSI_OK;
}

/* --- reading ------------------------------------------------------------ */

/* Read and parse one stored object into a report. */
/* A stored object's text, checked to be one JSON object that jansson
 * loads: *data is osip_malloc'ed and NUL-terminated. */
static enum osi_status load_text(struct osi_store *store, const char *key,
                                 char **data, size_t *len,
                                 struct osi_error *err)
{
    const char *why = NULL;
    size_t at;
    enum osi_status st;

    *data = NULL;
    st = store->ops->get(store->be, key, data, len, err);
    if (st != OSI_OK)
        return st;
    at = osip_json_object_check(*data, *len, STORED_MAX_DEPTH, &why);
    if (at != 0) {
        free(*data);
        *data = NULL;
        return osip_fail(err, OSI_ESTORE,
                         "stored object %s: invalid JSON: %s at byte %zu",
                         key, why, at - 1);
    }
    return OSI_OK;
}

/* Parse text that load_text() checked (of key, or of a host), taking
 * it. */
static enum osi_status parse_text(const char *key, char *data, size_t len,
                                  struct osi_report **out,
                                  struct osi_error *err)
{
    json_error_t jerr;
    json_t *root;

    memset(&jerr, 0, sizeof(jerr));
    root = json_loadb(data, len, 0, &jerr);
    free(data);
    if (root == NULL) {
        /* The check leaves jansson nothing else to refuse but numbers too
         * large for it. */
        if (json_error_code(&jerr) == json_error_out_of_memory ||
            jerr.text[0] == '\0')
            return osip_fail(err, OSI_ENOMEM, "out of memory");
        return osip_fail(err, OSI_ESTORE, "stored object %s: invalid JSON: %s",
                         key, jerr.text);
    }
    return osip_report_wrap(root, out, err);
}

static enum osi_status load(struct osi_store *store, const char *key,
                            struct osi_report **out, struct osi_error *err)
{
    char *data;
    size_t len = 0;
    enum osi_status st;

    *out = NULL;
    st = load_text(store, key, &data, &len, err);
    if (st != OSI_OK)
        return st;
    return parse_text(key, data, len, out, err);
}

/* Keys found by a listing, with their times. */
struct key_ent {
    int64_t ms;
    char *key;
};

struct key_set {
    struct key_ent *v;
    size_t n, cap;
    int oom;
    /* Filter of the listing callbacks. */
    const char *ip;
    int64_t since, until; /* seconds; 0: no bound */
    size_t seen;          /* keys of the layout found, in bounds or not */
};

static void key_set_free(struct key_set *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->v[i].key);
    free(ks->v);
    ks->v = NULL;
    ks->n = ks->cap = 0;
}

static int key_set_add(struct key_set *ks, const char *key, int64_t ms)
{
    size_t n = strlen(key) + 1;
    char *copy;

    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 16;
        struct key_ent *v = osip_realloc(ks->v, cap * sizeof(*v));

        if (v == NULL)
            goto oom;
        ks->v = v;
        ks->cap = cap;
    }
    copy = osip_malloc(n);
    if (copy == NULL)
        goto oom;
    memcpy(copy, key, n);
    ks->v[ks->n].ms = ms;
    ks->v[ks->n].key = copy;
    ks->n++;
    return 0;
oom:
    ks->oom = 1;
    return 1;
}

static int64_t seconds_of(int64_t ms)
{
    return ms / 1000 - (ms % 1000 < 0);
}

static int in_bounds(const struct key_set *ks, int64_t ms)
{
    int64_t s = seconds_of(ms);

    return (ks->since == 0 || s >= ks->since) &&
           (ks->until == 0 || s < ks->until);
}

static int add_report_key(const char *key, void *payload)
{
    struct key_set *ks = payload;
    char ip[OSIP_IP_MAX];
    int64_t ms;

    if (osip_key_report_parse(key, &ms, ip) != 0 || strcmp(ip, ks->ip) != 0)
        return 0;
    ks->seen++;
    return in_bounds(ks, ms) ? key_set_add(ks, key, ms) : 0;
}

static int add_legacy_key(const char *key, void *payload)
{
    struct key_set *ks = payload;
    char ip[OSIP_IP_MAX];
    int64_t ms;

    if (osip_key_legacy_parse(key, ip, &ms) != 0 || strcmp(ip, ks->ip) != 0)
        return 0;
    ks->seen++;
    return in_bounds(ks, ms) ? key_set_add(ks, key, ms) : 0;
}

/* Newest first; the same time by key, for a stable order. */
static int newest_first(const void *a, const void *b)
{
    const struct key_ent *x = a, *y = b;

    if (x->ms != y->ms)
        return x->ms < y->ms ? 1 : -1;
    return -strcmp(x->key, y->key);
}

static void sort_newest_first(struct key_set *ks)
{
    if (ks->n > 1)
        qsort(ks->v, ks->n, sizeof(*ks->v), newest_first);
}

/* The generic layer's view of list_flat: backends without one get a full
 * listing with the deeper keys skipped. */
struct flat_filter {
    size_t prefix_len;
    osip_list_fn fn;
    void *payload;
};

static int flat_only(const char *key, void *payload)
{
    struct flat_filter *f = payload;

    if (strchr(key + f->prefix_len, '/') != NULL)
        return 0;
    return f->fn(key, f->payload);
}

static enum osi_status list_flat(struct osi_store *store, const char *prefix,
                                 osip_list_fn fn, void *payload,
                                 struct osi_error *err)
{
    struct flat_filter f = { strlen(prefix), fn, payload };

    if (store->ops->list_flat != NULL)
        return store->ops->list_flat(store->be, prefix, fn, payload, err);
    return store->ops->list(store->be, prefix, flat_only, &f, err);
}

static enum osi_status list_reports(struct osi_store *store, const char *ip,
                                    struct key_set *ks, struct osi_error *err)
{
    char prefix[OSIP_KEY_MAX];
    enum osi_status st;

    snprintf(prefix, sizeof(prefix), "reports/%s/", ip);
    ks->ip = ip;
    st = store->ops->list(store->be, prefix, add_report_key, ks, err);
    if (st == OSI_OK && ks->oom)
        st = osip_fail(err, OSI_ENOMEM, "out of memory");
    return st;
}

static enum osi_status list_legacy(struct osi_store *store, const char *ip,
                                   struct key_set *ks, struct osi_error *err)
{
    char prefix[OSIP_KEY_MAX];
    enum osi_status st;

    if (osip_key_legacy_prefix(prefix, ip) != 0)
        return OSI_OK;
    ks->ip = ip;
    st = list_flat(store, prefix, add_legacy_key, ks, err);
    if (st == OSI_OK && ks->oom)
        st = osip_fail(err, OSI_ENOMEM, "out of memory");
    return st;
}

/* The address a host was seen at leads to the one it reports. An alias
 * that a machine crash left empty or cut short is no alias. */
static enum osi_status seen_alias(struct osi_store *store, const char *ip,
                                  char alias[OSIP_IP_MAX],
                                  struct osi_error *err)
{
    char key[OSIP_KEY_MAX], *data = NULL;
    json_error_t jerr;
    size_t len = 0;
    json_t *root;
    enum osi_status st;
    int bad;

    if (osip_key_seen(key, ip) != 0)
        return OSI_ENOTFOUND;
    st = store->ops->get(store->be, key, &data, &len, err);
    if (st != OSI_OK)
        return st;
    memset(&jerr, 0, sizeof(jerr));
    /* jansson recurses per level: the checker vets the text first. */
    root = osip_json_object_check(data, len, STORED_MAX_DEPTH, NULL) == 0
               ? json_loadb(data, len, 0, &jerr)
               : NULL;
    free(data);
    if (root == NULL && json_error_code(&jerr) == json_error_out_of_memory)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    bad = osip_ip_canonical(json_string_value(json_object_get(root, "ip")),
                            alias) != 0;
    json_decref(root);
    if (bad || strcmp(alias, ip) == 0)
        return OSI_ENOTFOUND;
    return OSI_OK;
}

/* The text of the newest object among ks's keys that can still be
 * read. */
static enum osi_status load_newest(struct osi_store *store,
                                   struct key_set *ks, char **data,
                                   size_t *len, struct osi_error *err)
{
    enum osi_status st = OSI_ENOTFOUND;

    sort_newest_first(ks);
    for (size_t i = 0; i < ks->n && st == OSI_ENOTFOUND; i++)
        st = load_text(store, ks->v[i].key, data, len, err);
    return st;
}

/* The slot of set that holds key, or NULL. Under text_lock. */
static struct text_slot *text_find(struct text_slot *set, const char *key)
{
    for (int i = 0; i < 2; i++) {
        if (set[i].text != NULL && strcmp(set[i].key, key) == 0)
            return &set[i];
    }
    return NULL;
}

/* Keep a copy of text, the checked content of key at version v, unless
 * it would take the cache over its budget. A cache that cannot allocate
 * only misses. */
static void text_cache_put(struct osi_store *store, struct text_slot *set,
                           const char *key, const struct osip_version *v,
                           const char *text, size_t len)
{
    struct text_slot *slot;
    char *copy = NULL, *old;

    if (strlen(key) >= sizeof(set->key))
        return;
    pthread_mutex_lock(&store->text_lock);
    slot = text_find(set, key);
    if (slot == NULL)
        /* An empty way, else the other one than the last filled. */
        slot = set[0].text == NULL ? &set[0]
               : set[1].text == NULL ? &set[1]
               : &set[set[0].newer ? 1 : 0];
    old = slot->text;
    store->text_bytes -= old ? slot->len : 0;
    slot->text = NULL;
    if (store->text_bytes + len <= TEXT_BUDGET)
        copy = osip_malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, text, len + 1);
        memcpy(slot->key, key, strlen(key) + 1);
        slot->version = *v;
        slot->text = copy;
        slot->len = len;
        store->text_bytes += len;
        set[0].newer = slot == &set[0];
    }
    pthread_mutex_unlock(&store->text_lock);
    free(old);
}

/* load_text() of a latest/ key, from the cache while the backend says
 * the object has the version the cached text was read at. The version is
 * taken before the read: an object replaced in between is cached under
 * the older version, which only costs the next request a read. */
static enum osi_status load_latest_text(struct osi_store *store,
                                        const char *key, char **data,
                                        size_t *len, struct osi_error *err)
{
    struct osip_version v;
    struct text_slot *set, *slot;
    enum osi_status st;

    if (store->text == NULL)
        return load_text(store, key, data, len, err);
    st = store->ops->version(store->be, key, &v, err);
    if (st != OSI_OK)
        return st;
    set = &store->text[2 * (osip_key_hash(key) % TEXT_SETS)];
    pthread_mutex_lock(&store->text_lock);
    slot = text_find(set, key);
    if (slot != NULL && memcmp(&slot->version, &v, sizeof(v)) == 0) {
        *data = osip_malloc(slot->len + 1);
        if (*data != NULL) {
            memcpy(*data, slot->text, slot->len + 1);
            *len = slot->len;
        }
        pthread_mutex_unlock(&store->text_lock);
        return *data != NULL ? OSI_OK
                             : osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    pthread_mutex_unlock(&store->text_lock);
    st = load_text(store, key, data, len, err);
    if (st == OSI_OK)
        text_cache_put(store, set, key, &v, *data, *len);
    return st;
}

/* latest/<ip>.json, else the newest of reports/<ip>/ (a crash between
 * the report and its pointer leaves the report alone). */
static enum osi_status latest_of(struct osi_store *store, const char *ip,
                                 char **data, size_t *len,
                                 struct osi_error *err)
{
    struct key_set ks = { 0 };
    char key[OSIP_KEY_MAX];
    enum osi_status st;

    if (osip_key_latest(key, ip) != 0)
        return OSI_ENOTFOUND;
    st = load_latest_text(store, key, data, len, err);
    if (st != OSI_ENOTFOUND)
        return st;
    st = list_reports(store, ip, &ks, err);
    if (st == OSI_OK)
        st = load_newest(store, &ks, data, len, err);
    key_set_free(&ks);
    return st;
}

/* The text of the newest report of a host (osi_store_latest()). */
static enum osi_status latest_text(struct osi_store *store, const char *ip,
                                   char **data, size_t *len,
                                   struct osi_error *err)
{
    char canon[OSIP_IP_MAX], alias[OSIP_IP_MAX];
    struct key_set ks = { 0 };
    enum osi_status st;

    if (osip_ip_canonical(ip, canon) != 0)
        return osip_fail(err, OSI_EINVAL,
                         "ip \"%.64s\" is not an IPv4 or IPv6 address",
                         ip ? ip : "(null)");
    st = latest_of(store, canon, data, len, err);
    if (st != OSI_ENOTFOUND)
        return st;
    st = seen_alias(store, canon, alias, err);
    if (st == OSI_OK)
        st = latest_of(store, alias, data, len, err);
    if (st != OSI_ENOTFOUND)
        return st;
    st = list_legacy(store, canon, &ks, err);
    if (st == OSI_OK)
        st = load_newest(store, &ks, data, len, err);
    key_set_free(&ks);
    if (st == OSI_ENOTFOUND)
        return osip_fail(err, OSI_ENOTFOUND, "no report of %s", canon);
    return st;
}

enum osi_status osi_store_latest(struct osi_store *store, const char *ip,
                                 struct osi_report **out,
                                 struct osi_error *err)
{
    char *data = NULL;
    size_t len = 0;
    enum osi_status st;

    OSIP_ASSERT_ARG(store != NULL, err);
    OSIP_ASSERT_ARG(out != NULL, err);
    *out = NULL;
    st = latest_text(store, ip, &data, &len, err);
    if (st != OSI_OK)
        return st;
    return parse_text(ip, data, len, out, err);
}

enum osi_status osi_store_latest_json(struct osi_store *store,
                                      const char *ip, char **out,
                                      size_t *len_out, struct osi_error *err)
{
    size_t len = 0;
    enum osi_status st;

    OSIP_ASSERT_ARG(store != NULL, err);
    OSIP_ASSERT_ARG(out != NULL, err);
    *out = NULL;
    st = latest_text(store, ip, out, &len, err);
    if (st == OSI_OK && len_out != NULL)
        *len_out = len;
    return st;
}

/* --- history ------------------------------------------------------------ */

static void list_free_items(struct osi_report_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        osi_report_free(list->items[i]);
    free(list->items);
}

static enum osi_status load_list(struct osi_store *store, struct key_set *ks,
                                 size_t limit, struct osi_report_list *list,
                                 struct osi_error *err)
{
    size_t want = ks->n < limit ? ks->n : limit;

    sort_newest_first(ks);
    if (want == 0)
        return OSI_OK;
    list->items = osip_malloc(want * sizeof(*list->items));
    if (list->items == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    for (size_t i = 0; i < ks->n && list->count < want; i++) {
        struct osi_report *r = NULL;
        enum osi_status st = load(store, ks->v[i].key, &r, err);

        if (st == OSI_ENOTFOUND)
            continue; /* removed since it was listed */
        if (st != OSI_OK)
            return st;
        list->items[list->count++] = r;
    }
    return OSI_OK;
}

enum osi_status osi_store_history(struct osi_store *store, const char *ip,
                                  const struct osi_history_query *query,
                                  struct osi_report_list **out,
                                  struct osi_error *err)
{
    static const struct osi_history_query defaults = OSI_HISTORY_QUERY_INIT;
    char canon[OSIP_IP_MAX], alias[OSIP_IP_MAX];
    struct osi_report_list *list;
    struct key_set ks = { 0 };
    size_t limit;
    enum osi_status st;

    OSIP_ASSERT_ARG(store != NULL, err);
    OSIP_ASSERT_ARG(out != NULL, err);
    *out = NULL;
    if (query == NULL)
        query = &defaults;
    if (query->version != OSI_HISTORY_QUERY_VERSION)
        return osip_fail(err, OSI_EINVAL, "unknown history query version %u",
                         query->version);
    if (query->since != 0 && query->until != 0 && query->since >= query->until)
        return osip_fail(err, OSI_EINVAL,
                         "since (%lld) must be before until (%lld)",
                         (long long)query->since, (long long)query->until);
    if (osip_ip_canonical(ip, canon) != 0)
        return osip_fail(err, OSI_EINVAL,
                         "ip \"%.64s\" is not an IPv4 or IPv6 address",
                         ip ? ip : "(null)");
    limit = query->limit ? query->limit : DEFAULT_LIMIT;
    ks.since = query->since;
    ks.until = query->until;

    st = list_reports(store, canon, &ks, err);
    if (st == OSI_OK && ks.seen == 0) {
        st = seen_alias(store, canon, alias, err);
        if (st == OSI_OK)
            st = list_reports(store, alias, &ks, err);
        else if (st == OSI_ENOTFOUND)
            st = OSI_OK;
    }
    if (st == OSI_OK && ks.seen == 0)
        st = list_legacy(store, canon, &ks, err);
    if (st != OSI_OK) {
        key_set_free(&ks);
        return st;
    }
    list = osip_malloc(sizeof(*list));
    if (list == NULL) {
        key_set_free(&ks);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    list->count = 0;
    list->items = NULL;
    st = load_list(store, &ks, limit, list, err);
    key_set_free(&ks);
    if (st != OSI_OK) {
        osi_report_list_free(list);
        return st;
    }
    *out = list;
    return OSI_OK;
}

size_t osi_report_list_count(const struct osi_report_list *list)
{
    return list ? list->count : 0;
}

const struct osi_report *osi_report_list_get(
    const struct osi_report_list *list, size_t index)
{
    if (list == NULL || index >= list->count)
        return NULL;
    return list->items[index];
}

/* Serialise a JSON value through osi_report_to_json(), which only needs a
 * root: one serialiser, one allocator. */
static enum osi_status dump(json_t *value, unsigned int flags, char **out,
                            size_t *len_out, struct osi_error *err)
{
    struct osi_report tmp = { value };

    return osi_report_to_json(&tmp, flags, out, len_out, err);
}

enum osi_status osi_report_list_to_json(const struct osi_report_list *list,
                                        unsigned int flags, char **out,
                                        size_t *len_out,
                                        struct osi_error *err)
{
    json_t *arr;
    enum osi_status st;

    OSIP_ASSERT_ARG(list != NULL, err);
    OSIP_ASSERT_ARG(out != NULL, err);
    *out = NULL;
    arr = json_array();
    if (arr == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    for (size_t i = 0; i < list->count; i++) {
        if (json_array_append(arr, list->items[i]->root) != 0) {
            json_decref(arr);
            return osip_fail(err, OSI_ENOMEM, "out of memory");
        }
    }
    st = dump(arr, flags, out, len_out, err);
    json_decref(arr);
    return st;
}

void osi_report_list_free(struct osi_report_list *list)
{
    if (list == NULL)
        return;
    list_free_items(list);
    free(list);
}

/* --- hosts -------------------------------------------------------------- */

struct host {
    char ip[OSIP_IP_MAX];
    const char *key; /* borrowed from a key_set */
    int64_t ms;      /* the date of a legacy key */
    json_t *obj;     /* the host's object in the answer */
    const char *mid; /* its machine_id, borrowed from obj */
};

struct host_set {
    struct key_set latest; /* latest/<ip>.json */
    struct key_set legacy; /* the newest legacy key of each ip */
};

static int add_latest_key(const char *key, void *payload)
{
    struct key_set *ks = payload;
    char ip[OSIP_IP_MAX];

    if (osip_key_host_parse(key, "latest/", ip) != 0)
        return 0;
    return key_set_add(ks, key, 0);
}

static int add_any_legacy_key(const char *key, void *payload)
{
    struct key_set *ks = payload;
    char ip[OSIP_IP_MAX];
    int64_t ms;

    if (osip_key_legacy_parse(key, ip, &ms) != 0)
        return 0;
    return key_set_add(ks, key, ms);
}

static int by_ip(const void *a, const void *b)
{
    return strcmp(((const struct host *)a)->ip, ((const struct host *)b)->ip);
}

/* By ip, then newest first. */
static int by_ip_newest(const void *a, const void *b)
{
    const struct host *x = a, *y = b;
    int c = strcmp(x->ip, y->ip);

    if (c != 0)
        return c;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

static int by_mid(const void *a, const void *b)
{
    const struct host *x = *(const struct host *const *)a;
    const struct host *y = *(const struct host *const *)b;

    return strcmp(x->mid, y->mid);
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static enum osi_status host_object(struct osi_store *store, struct host *h,
                                   struct osi_error *err)
{
    struct osi_report *r = NULL;
    const char *last;
    enum osi_status st;
    json_t *o;
    int bad = 0;

    st = load(store, h->key, &r, err);
    if (st != OSI_OK)
        return st;
    last = osi_report_get_string(r, "collected_at");
    if (last == NULL)
        last = osi_report_get_string(r, "timestamp");
    o = json_object();
    bad |= o == NULL;
    bad |= json_object_set_new(o, "ip", json_string(h->ip));
    bad |= json_object_set_new(
        o, "hostname", string_or_null(osi_report_get_string(r, "hostname")));
    bad |= json_object_set_new(o, "last_report", string_or_null(last));
    bad |= json_object_set_new(
        o, "received_at",
        string_or_null(osi_report_get_string(r, "received.at")));
    bad |= json_object_set_new(
        o, "peer", string_or_null(osi_report_get_string(r, "received.peer")));
    bad |= json_object_set_new(
        o, "machine_id",
        string_or_null(osi_report_get_string(r, "identity.machine_id")));
    bad |= json_object_set_new(o, "machine_id_shared", json_false());
    osi_report_free(r);
    if (bad) {
        json_decref(o);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    h->obj = o;
    h->mid = json_string_value(json_object_get(o, "machine_id"));
    return OSI_OK;
}

/* Flag the hosts that share a machine-id with another. */
static enum osi_status flag_shared(struct host *hosts, size_t n,
                                   struct osi_error *err)
{
    struct host **by = osip_malloc((n ? n : 1) * sizeof(*by));
    size_t m = 0;

    if (by == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (hosts[i].mid != NULL && hosts[i].mid[0] != '\0')
            by[m++] = &hosts[i];
    qsort(by, m, sizeof(*by), by_mid);
    for (size_t i = 0; i + 1 < m; i++) {
        if (strcmp(by[i]->mid, by[i + 1]->mid) != 0)
            continue;
        /* json_true() is a static singleton: setting it cannot fail. */
        json_object_set_new(by[i]->obj, "machine_id_shared", json_true());
        json_object_set_new(by[i + 1]->obj, "machine_id_shared",
                            json_true());
    }
    free(by);
    return OSI_OK;
}

static enum osi_status collect_hosts(struct osi_store *store,
                                     struct host_set *hs, struct host **out,
                                     size_t *n_out, struct osi_error *err)
{
    size_t cap = hs->latest.n + hs->legacy.n, n = 0, known;
    struct host *hosts;
    enum osi_status st = OSI_OK;

    *out = NULL;
    *n_out = 0;
    hosts = osip_malloc((cap ? cap : 1) * sizeof(*hosts));
    if (hosts == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    for (size_t i = 0; i < hs->latest.n; i++) {
        osip_key_host_parse(hs->latest.v[i].key, "latest/", hosts[n].ip);
        hosts[n].key = hs->latest.v[i].key;
        hosts[n].ms = 0;
        hosts[n].obj = NULL;
        hosts[n].mid = NULL;
        n++;
    }
    qsort(hosts, n, sizeof(*hosts), by_ip);
    known = n;
    /* The original tool's hosts that the new layout does not know, each
     * by its newest day. */
    for (size_t i = 0; i < hs->legacy.n; i++) {
        struct host *h = &hosts[n];

        osip_key_legacy_parse(hs->legacy.v[i].key, h->ip, &h->ms);
        if (bsearch(h, hosts, known, sizeof(*hosts), by_ip) != NULL)
            continue;
        h->key = hs->legacy.v[i].key;
        h->obj = NULL;
        h->mid = NULL;
        n++;
    }
    qsort(hosts + known, n - known, sizeof(*hosts), by_ip_newest);
    if (n > known) {
        size_t j = known + 1;

        for (size_t i = known + 1; i < n; i++)
            if (strcmp(hosts[i].ip, hosts[j - 1].ip) != 0)
                hosts[j++] = hosts[i];
        n = j;
    }
    qsort(hosts, n, sizeof(*hosts), by_ip);
    for (size_t i = 0; i < n && st == OSI_OK; i++) {
        st = host_object(store, &hosts[i], err);
        if (st == OSI_ENOTFOUND)
            st = OSI_OK; /* removed since it was listed */
    }
    *out = hosts;
    *n_out = n;
    return st;
}

enum osi_status osi_store_hosts_json(struct osi_store *store,
                                     unsigned int flags, char **out,
                                     size_t *len_out, struct osi_error *err)
{
    struct host_set hs = { { 0 }, { 0 } };
    struct host *hosts = NULL;
    size_t n = 0;
    json_t *arr = NULL;
    enum osi_status st;

    OSIP_ASSERT_ARG(store != NULL, err);
    OSIP_ASSERT_ARG(out != NULL, err);
    *out = NULL;
    st = list_flat(store, "latest/", add_latest_key, &hs.latest, err);
    if (st == OSI_OK)
        st = list_flat(store, "", add_any_legacy_key, &hs.legacy, err);
    if (st == OSI_OK && (hs.latest.oom || hs.legacy.oom))
        st = osip_fail(err, OSI_ENOMEM, "out of memory");
    if (st == OSI_OK)
        st = collect_hosts(store, &hs, &hosts, &n, err);
    if (st == OSI_OK)
        st = flag_shared(hosts, n, err);
    if (st == OSI_OK) {
        arr = json_array();
        if (arr == NULL)
            st = osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    for (size_t i = 0; st == OSI_OK && i < n; i++)
        if (hosts[i].obj != NULL && json_array_append(arr, hosts[i].obj) != 0)
            st = osip_fail(err, OSI_ENOMEM, "out of memory");
    if (st == OSI_OK)
        st = dump(arr, flags, out, len_out, err);
    json_decref(arr);
    for (size_t i = 0; i < n; i++)
        json_decref(hosts[i].obj);
    free(hosts);
    key_set_free(&hs.latest);
    key_set_free(&hs.legacy);
    return st;
}
