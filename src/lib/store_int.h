/* SPDX-License-Identifier: MIT */
/* The contract between the generic store (store.c: key layout, stamping,
 * latest / history / hosts logic) and its backends (store_file.c,
 * store_s3.c), which only move objects by key. */
#ifndef OSINSPECT_STORE_INT_H
#define OSINSPECT_STORE_INT_H

#include <stdint.h>

#include <osinspect/store.h>

#include "internal.h"

/* Called for each key a listing finds; return non-zero to stop (the
 * listing then returns OSI_OK). */
typedef int (*osip_list_fn)(const char *key, void *payload);

/* What tells whether an object changed (the file store: its device,
 * inode, size and times). Two equal versions name the same bytes. */
struct osip_version {
    uint64_t w[5];
};

/* A backend: every function is called from many threads at once. Keys are
 * relative ("reports/10.0.0.1/2026-01-02/030405.678Z-<id>.json"), made
 * only by store_keys.c from canonical parts: no "..", no leading '/'. */
struct osip_store_backend {
    const char *name; /* "file", "s3": for messages */

    /* Store a report object under report_key and make latest_key name
     * the same content, both durably, before returning OSI_OK. latest_key
     * never goes back: when it already names a report whose key is newer
     * (osip_key_report_cmp() > 0: a spooled report arriving late), it is
     * left alone. A backend that can tell the report_key exists already
     * sets *duplicate and leaves the report untouched (the file store
     * does, and still moves latest_key forward if a crash kept it from
     * doing so the first time; S3 overwrites, which is idempotent for the
     * same key). */
    enum osi_status (*put_report)(void *be, const char *report_key,
                                  const char *latest_key, const char *data,
                                  size_t len, int *duplicate,
                                  struct osi_error *err);
    /* Store one small object durably (aliases). */
    enum osi_status (*put)(void *be, const char *key, const char *data,
                           size_t len, struct osi_error *err);
    /* Read an object: *data is osip_malloc'ed, NUL-terminated, free();
     * OSI_ENOTFOUND when the key does not exist. */
    enum osi_status (*get)(void *be, const char *key, char **data,
                           size_t *len, struct osi_error *err);
    /* Call fn for every key that starts with prefix (any depth, any
     * order); none (a prefix nothing is under) is OSI_OK. */
    enum osi_status (*list)(void *be, const char *prefix, osip_list_fn fn,
                            void *payload, struct osi_error *err);
    /* OSI_OK when the backend answers. */
    enum osi_status (*ping)(void *be, struct osi_error *err);
    void (*close)(void *be);
    /* Optional (NULL: the generic layer calls list and skips the deeper
     * keys): like list, but only the keys with no '/' after the prefix,
     * so that listing the top level (legacy keys) does not walk every
     * report. */
    enum osi_status (*list_flat)(void *be, const char *prefix,
                                 osip_list_fn fn, void *payload,
                                 struct osi_error *err);
    /* Optional (NULL: the generic layer calls put): store one small
     * object that is only a hint (the seen/ aliases), atomically (never
     * half visible) but without waiting for the disk: a crash of the
     * machine may lose it, or leave it empty, never a crash of the
     * process. Saves the file store two flushes per report from a peer
     * that is not the address it reports. */
    enum osi_status (*put_hint)(void *be, const char *key, const char *data,
                                size_t len, struct osi_error *err);
    /* Optional (NULL: nothing is cached): the version of an object, far
     * cheaper than reading it; OSI_ENOTFOUND when it does not exist.
     * Lets the generic layer keep the checked text of latest/ objects
     * and answer from it while the object is unchanged. */
    enum osi_status (*version)(void *be, const char *key,
                               struct osip_version *out,
                               struct osi_error *err);
};

/* Open a backend. uri is what follows "file://" (a path) or "s3://" (a
 * bucket). */
enum osi_status osip_store_file_open(const char *path,
                                     const struct osi_store_options *opts,
                                     const struct osip_store_backend **ops,
                                     void **be, struct osi_error *err);
enum osi_status osip_store_s3_open(const char *bucket,
                                   const struct osi_store_options *opts,
                                   const struct osip_store_backend **ops,
                                   void **be, struct osi_error *err);

/* Keys (store_keys.c). */

/* Room for a canonical address with its NUL (INET6_ADDRSTRLEN). */
#define OSIP_IP_MAX 46
/* Room for any key this library builds, NUL included. */
#define OSIP_KEY_MAX 256
/* Room for an RFC 3339 UTC time with milliseconds, NUL included. */
#define OSIP_TIME_MAX 32

/* The canonical text of an IPv4 or IPv6 address: inet_pton, then
 * inet_ntop (IPv6 lower case and compressed), with an IPv4-mapped IPv6
 * address written as plain IPv4. Anything inet_pton rejects (a zone, a
 * prefix, a path, hex or octal parts, "") is refused: returns -1. */
int osip_ip_canonical(const char *in, char out[OSIP_IP_MAX]);

/* True for an address that names no particular machine to the server: a
 * loopback (127.0.0.0/8, ::1) or unspecified (0.0.0.0, ::) one. The
 * original agent reports 127.0.1.1 as its server_ip on most Linux hosts;
 * a proxy on the same machine is every report's peer. */
int osip_ip_is_local(const char *ip);

/* report_id as a key accepts it: 1 to 64 letters, digits or '-'. */
int osip_report_id_valid(const char *id);

/* Parse RFC 3339 ("2026-01-02T03:04:05.678Z", "...05+02:00", 't', 'z' and
 * a space separator too, any number of fraction digits) into Unix time in
 * milliseconds, truncating finer fractions. Returns -1 when s is not such
 * a time or falls outside the years 0000 to 9999 in UTC. */
int osip_rfc3339_parse(const char *s, int64_t *ms_out);
/* Format Unix milliseconds as "2026-01-02T03:04:05.678Z". */
void osip_rfc3339_format(int64_t ms, char buf[OSIP_TIME_MAX]);
/* The current time in Unix milliseconds. */
int64_t osip_now_ms(void);

/* FNV-1a of a key, for the stores' caches. */
uint32_t osip_key_hash(const char *key);

/* What latest keys name (latest/<ip>.json -> its reports/ key), as a
 * backend last wrote or read them, so that the next report of a host
 * needs no read of its pointer: OSIP_KNOWN_SETS sets of OSIP_KNOWN_WAYS
 * entries, the most recently used first. A direct-mapped table of the
 * same size had a fifth of 1000 hosts evict each other. A set is guarded
 * by one lock of the backend's for all its keys: the lock chosen by
 * osip_known_set() modulo a divisor of OSIP_KNOWN_SETS. */
#define OSIP_KNOWN_SETS 512
#define OSIP_KNOWN_WAYS 8

struct osip_known {
    char latest[64]; /* "" for an empty way */
    char report[OSIP_KEY_MAX];
    uint64_t tag[2]; /* the backend's own (the file store: the inode) */
};

/* A zeroed table (free() it), or NULL when out of memory. */
struct osip_known *osip_known_new(void);
/* The set of a latest key. */
size_t osip_known_set(const char *latest);
/* The entry of latest, moved to the front of its set, or NULL. */
struct osip_known *osip_known_find(struct osip_known *known,
                                   const char *latest);
/* Remember that latest names report: its entry (a new key takes the
 * least recently used way), at the front of its set, its tag zeroed; NULL
 * when a key is too long to keep (latest is then forgotten). */
struct osip_known *osip_known_put(struct osip_known *known,
                                  const char *latest, const char *report);
/* Forget what latest names. */
void osip_known_forget(struct osip_known *known, const char *latest);

/* Build keys from a canonical ip (and a valid report_id). Return -1 when
 * the result would not fit or ms is outside the years 0000 to 9999. */
int osip_key_report(char buf[OSIP_KEY_MAX], const char *ip, int64_t ms,
                    const char *report_id);
int osip_key_latest(char buf[OSIP_KEY_MAX], const char *ip);
int osip_key_seen(char buf[OSIP_KEY_MAX], const char *ip);
/* "10_0_0_5_": what every legacy key of that ip starts with. */
int osip_key_legacy_prefix(char buf[OSIP_KEY_MAX], const char *ip);

/* Parse "reports/<ip>/<YYYY-MM-DD>/<HHMMSS.mmm>Z-<report_id>.json": its
 * time (ms) and, when ip_out is not NULL, its canonical ip. Returns -1 for
 * any other key, or one whose ip is not canonical or whose date and time
 * do not agree with each other. */
int osip_key_report_parse(const char *key, int64_t *ms_out,
                          char ip_out[OSIP_IP_MAX]);
/* Parse "latest/<ip>.json" or "seen/<ip>.json" (kind "latest/" or
 * "seen/"): the canonical ip it names. */
int osip_key_host_parse(const char *key, const char *kind,
                        char ip_out[OSIP_IP_MAX]);
/* Parse a legacy key "<ip with '_' for '.'>_<YYYY-MM-DD>.json": the
 * canonical ip and the date at 00:00:00 UTC in ms. */
int osip_key_legacy_parse(const char *key, char ip_out[OSIP_IP_MAX],
                          int64_t *ms_out);

/* The key osi_store_put() filed a stored report under, from its text
 * and the canonical ip of its key (store.c). Returns -1 when the text is
 * not a stamped report (no "received"."at") or does not parse, including
 * for lack of memory. */
int osip_report_key_of(const char *data, size_t len, const char *ip,
                       char key[OSIP_KEY_MAX]);
/* The same by jansson alone: what osip_report_key_of() does when its scan
 * cannot tell. For tests, which compare the two. */
int osip_report_key_of_jansson(const char *data, size_t len, const char *ip,
                               char key[OSIP_KEY_MAX]);

/* Order of two report keys by their time, then by their text: < 0 when a
 * is older, 0 when the same, > 0 when a is newer. A key that does not
 * parse is older than any that does. */
int osip_key_report_cmp(const char *a, const char *b);

/* Whether osi_store_put_json() decides the report text buf (max_depth
 * levels deep at most) without jansson: 1 with OSI_OK (valid) or the
 * error of osi_report_from_json() in *st and err; 0 when jansson must
 * decide; -1 when out of memory. For tests. */
int osip_report_scan_verdict(const char *buf, size_t len,
                             unsigned int max_depth, enum osi_status *st,
                             struct osi_error *err);

#endif /* OSINSPECT_STORE_INT_H */
