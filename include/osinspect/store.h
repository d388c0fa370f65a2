/* SPDX-License-Identifier: MIT */
/**
 * @file store.h
 * Where reports are kept: a local directory (file://, the default) or an
 * S3 bucket (s3://). One key layout for every backend (docs/storage.md):
 *
 *   reports/<ip>/<YYYY-MM-DD>/<HHMMSS.mmm>Z-<report_id>.json  every report
 *   latest/<ip>.json                                          the newest
 *   seen/<peer>.json                          {"ip": <ip>} of a host seen there
 *
 * <ip> is the canonical text of the parsed server_ip (inet_pton, then
 * inet_ntop; IPv6 in lower case, IPv4-mapped IPv6 as plain IPv4), so no
 * input reaches outside its prefix and "2001:DB8::1" and "2001:db8::1" are
 * one host. The date and time of a key are the report's collected_at in
 * UTC, else (none, or more than an hour ahead of the server's clock) the
 * time it was received. Buckets written by the original tool
 * (<ip with '_' for '.'>_<YYYY-MM-DD>.json at the top) are still read for
 * hosts with no report in the new layout.
 *
 * A struct osi_store is safe to use from many threads at once; the
 * reports and lists it returns belong to the caller (one thread at a time).
 */
#ifndef OSINSPECT_STORE_H
#define OSINSPECT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <osinspect/common.h>
#include <osinspect/error.h>
#include <osinspect/report.h>

OSI_BEGIN_DECLS

/** An opaque, thread-safe store. */
struct osi_store;

/** Current version of struct osi_store_options. */
#define OSI_STORE_OPTIONS_VERSION 1

/** Flags of struct osi_store_options. */
enum osi_store_flags {
    /**
     * Allow an https:// S3 endpoint although libs3 2.0 does not verify
     * its certificate. Without it such an endpoint is refused.
     */
    OSI_STORE_S3_INSECURE_TLS = 1 << 0
};

/** How to open a store. */
struct osi_store_options {
    unsigned int version; /**< OSI_STORE_OPTIONS_VERSION */
    unsigned int flags;   /**< enum osi_store_flags */
    /** Deadline of one operation, retries included, in ms; 0 for 10000. */
    unsigned int timeout_ms;
    void *reserved[4];    /**< room to grow; NULL */
};

/** Static initialiser of struct osi_store_options with the defaults. */
#define OSI_STORE_OPTIONS_INIT { OSI_STORE_OPTIONS_VERSION, 0, 0, { 0 } }

/**
 * Fill @p opts with the defaults of options version @p version.
 *
 * @return OSI_OK; OSI_EINVAL when @p opts is NULL or @p version unknown
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_store_options_init(
    struct osi_store_options *opts, unsigned int version);

/**
 * Open a store.
 *
 * @param[in] uri "file:///abs/path" (the path as is, no %-decoding), a
 *            bare path, or "s3://bucket" (endpoint and credentials from
 *            AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *            AWS_DEFAULT_REGION); NULL for the default: $STATE_DIRECTORY
 *            (its first entry) when set, else ./osinspect-data. A missing
 *            directory is created with its parents. Copied.
 * @param[in] opts options, or NULL for the defaults
 * @param[out] out the new store; close with osi_store_close()
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EINVAL for a bad URI (empty, file:// without an
 *         absolute path) or options; OSI_ENOTSUP for an unknown scheme,
 *         an https endpoint without OSI_STORE_S3_INSECURE_TLS, or libs3
 *         not installed; OSI_EIO when the directory cannot be created or
 *         opened; OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_store_open(const char *uri,
                                          const struct osi_store_options *opts,
                                          struct osi_store **out,
                                          struct osi_error *err);

/**
 * Close a store. Call it once no other thread uses the store; a backend
 * with requests of its own still running (S3) finishes them first.
 * Accepts NULL.
 *
 * @since 0.1
 */
OSI_EXPORT void osi_store_close(struct osi_store *store);

/**
 * Store a report durably: when this returns OSI_OK, the report survives a
 * crash of the process or the machine.
 *
 * Before storing, the report is stamped with a "received" object
 * ({"at": the server's time, RFC 3339 UTC with milliseconds, "peer": the
 * canonical @p peer or null}, replacing any the report carried) and given
 * a report_id (a UUID v4) when it has none. A resend of a stored report
 * (same host address, report_id and collected_at) is kept once. The report
 * is filed under its server_ip, except that a loopback or unspecified
 * server_ip (the original agent's 127.0.1.1) is replaced by @p peer when
 * that is not loopback itself. When @p peer differs from the address the
 * report is filed under and is not loopback (a local proxy), the store
 * also records that the host was seen at @p peer, for osi_store_latest().
 * On failure the report may already carry "received" and its new
 * report_id.
 *
 * @param[in] store the store
 * @param[in,out] report the report; gains "received" (and "report_id")
 * @param[in] peer the address the report came from (an IPv4 or IPv6
 *            address in any valid text form), or NULL; copied
 * @param[out] duplicate_out optional: 1 when the report was already
 *             stored, else 0
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EINVAL for a report whose server_ip or report_id is
 *         not valid, or a @p peer that is not an address; OSI_ESTORE or
 *         OSI_ETIMEOUT when the store failed (the caller should answer 503
 *         and the agent retry); OSI_EIO when no random bytes were to be
 *         had for a report_id; OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_store_put(struct osi_store *store,
                                         struct osi_report *report,
                                         const char *peer, int *duplicate_out,
                                         struct osi_error *err);

/** Room for a report_id (at most 64 characters) and its NUL. */
#define OSI_REPORT_ID_SIZE 65

/**
 * Parse, validate and store a report given as JSON text: what
 * osi_report_from_json() with @p opts and then osi_store_put() do, with
 * the same checks, error messages and statuses, but without building the
 * report in memory. A well-formed report is checked in one pass over its
 * text and stored as it was sent, its whitespace between tokens removed
 * and its stamp added (numbers and escapes keep their spelling); that
 * costs a fraction of parsing and serialising it, which is what
 * POST /report does. Text the pass cannot vouch for (a key with an
 * escape, an escape in one of the fields checked, a number with an
 * exponent or more than 18 digits, an object of more than 64 members, a
 * null report_id, a "received" to replace, any error) takes the way of
 * osi_report_from_json() and osi_store_put().
 *
 * @param[in] store the store
 * @param[in] buf the report's JSON text (need not be NUL-terminated)
 * @param[in] len its length in bytes
 * @param[in] opts parse options, or NULL for the defaults
 * @param[in] peer as for osi_store_put()
 * @param[out] duplicate_out optional: 1 when the report was already
 *             stored, else 0
 * @param[out] report_id optional: the stored report's report_id, the one
 *             it carried or the one it was given
 * @param[out] err optional details on failure
 * @return OSI_OK; the statuses of osi_report_from_json() and
 *         osi_store_put()
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_store_put_json(
    struct osi_store *store, const char *buf, size_t len,
    const struct osi_parse_options *opts, const char *peer,
    int *duplicate_out, char report_id[OSI_REPORT_ID_SIZE],
    struct osi_error *err);

/**
 * The newest report of a host, looked up by the address it reports or,
 * failing that, the address it was last seen at (docs/storage.md): in
 * latest/<ip>.json, else the newest in reports/<ip>/, else through
 * seen/<ip>.json, else in the original tool's keys of that address (the
 * newest date).
 *
 * @param[in] store the store
 * @param[in] ip an IPv4 or IPv6 address in any valid text form
 * @param[out] out the new report, as stored (with "received"); free with
 *             osi_report_free()
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EINVAL for an @p ip that is not an address;
 *         OSI_ENOTFOUND when there is none; OSI_ESTORE (a stored object
 *         that cannot be read or is not a JSON object); OSI_ETIMEOUT;
 *         OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_store_latest(struct osi_store *store,
                                            const char *ip,
                                            struct osi_report **out,
                                            struct osi_error *err);

/**
 * The newest report of a host as its stored JSON text, found as by
 * osi_store_latest(), without parsing it into a report and serialising it
 * again (about twenty times cheaper: what GET /report answers with). The
 * text is checked to be one JSON object (UTF-8, nested at most 64 levels)
 * before it is handed out; it is the stored bytes, so its whitespace is
 * whatever the writer used (osi_store_put() writes compact JSON). The file
 * store keeps the checked text of latest/ in memory and answers from it
 * while one stat finds the file unchanged (docs/storage.md); a report
 * stored by another process is seen by the next call.
 *
 * @param[in] store the store
 * @param[in] ip an IPv4 or IPv6 address in any valid text form
 * @param[out] out new NUL-terminated text; free with osi_free()
 * @param[out] len_out optional length of @p out without the NUL
 * @param[out] err optional details on failure
 * @return as osi_store_latest()
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_store_latest_json(struct osi_store *store,
                                                 const char *ip, char **out,
                                                 size_t *len_out,
                                                 struct osi_error *err);
/** An opaque list of reports. */
struct osi_report_list;

/** Current version of struct osi_history_query. */
#define OSI_HISTORY_QUERY_VERSION 1

/** Which reports of a host osi_store_history() returns. */
struct osi_history_query {
    unsigned int version; /**< OSI_HISTORY_QUERY_VERSION */
    int64_t since;        /**< Unix seconds, inclusive; 0: no bound */
    int64_t until;        /**< Unix seconds, exclusive; 0: no bound */
    size_t limit;         /**< at most this many; 0 for 100 */
    void *reserved[4];    /**< room to grow; NULL */
};

/** Static initialiser of struct osi_history_query: the newest 100. */
#define OSI_HISTORY_QUERY_INIT { OSI_HISTORY_QUERY_VERSION, 0, 0, 0, { 0 } }

/**
 * The reports of a host, newest first (by the time in their keys: when
 * the report was collected, else received). A host with no report in the
 * new layout is answered from the address it was seen at (seen/<ip>.json),
 * else from the original tool's keys, whose time is their date at
 * 00:00:00 UTC.
 *
 * @param[in] store the store
 * @param[in] ip an address in any valid text form
 * @param[in] query bounds, or NULL for the newest 100
 * @param[out] out the new list (possibly empty); free with
 *             osi_report_list_free()
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EINVAL for a bad @p ip or query (unknown version,
 *         since >= until when both are set); OSI_ESTORE; OSI_ETIMEOUT;
 *         OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_store_history(
    struct osi_store *store, const char *ip,
    const struct osi_history_query *query, struct osi_report_list **out,
    struct osi_error *err);

/** Number of reports in a list. @since 0.1 */
OSI_EXPORT size_t osi_report_list_count(const struct osi_report_list *list);

/**
 * A report of a list.
 *
 * @return borrowed: valid until the list is freed; NULL past the end
 * @since 0.1
 */
OSI_EXPORT const struct osi_report *osi_report_list_get(
    const struct osi_report_list *list, size_t index);

/**
 * Serialise a list as a JSON array of reports, in the list's order.
 *
 * @param[in] list the list
 * @param[in] flags OSI_JSON_COMPACT or OSI_JSON_PRETTY
 * @param[out] out new NUL-terminated text; free with osi_free()
 * @param[out] len_out optional length of @p out without the NUL
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EINVAL; OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_report_list_to_json(
    const struct osi_report_list *list, unsigned int flags, char **out,
    size_t *len_out, struct osi_error *err);

/** Free a list and its reports. Accepts NULL. @since 0.1 */
OSI_EXPORT void osi_report_list_free(struct osi_report_list *list);

/**
 * Every known host as a JSON array sorted by ip, one object per host:
 * {"ip", "hostname", "last_report" (collected_at of its newest report,
 * else its original "timestamp"), "received_at", "peer", "machine_id"
 * (identity.machine_id), "machine_id_shared" (true when another host
 * reports the same machine-id)}; a value the report lacks is null. Hosts
 * known only from the original tool's keys are listed too.
 *
 * @param[in] store the store
 * @param[in] flags OSI_JSON_COMPACT or OSI_JSON_PRETTY
 * @param[out] out new NUL-terminated text; free with osi_free()
 * @param[out] len_out optional length of @p out without the NUL
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EINVAL; OSI_ESTORE; OSI_ETIMEOUT; OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_store_hosts_json(struct osi_store *store,
                                                unsigned int flags,
                                                char **out, size_t *len_out,
                                                struct osi_error *err);

/**
 * Check that the store answers (for a health check): the file store that
 * its directory still exists and is writable (no disk I/O), the S3 store
 * that the bucket answers.
 *
 * @param[in] store the store
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_ESTORE; OSI_ETIMEOUT
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_store_ping(struct osi_store *store,
                                          struct osi_error *err);

OSI_END_DECLS

#endif /* OSINSPECT_STORE_H */
