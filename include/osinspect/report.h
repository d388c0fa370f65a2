/* SPDX-License-Identifier: MIT */
/**
 * @file report.h
 * The report: parsing with validation, serialising, reading fields.
 *
 * A report is one JSON object (docs/report-schema.md). A struct osi_report
 * is used by one thread at a time.
 */
#ifndef OSINSPECT_REPORT_H
#define OSINSPECT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <osinspect/common.h>
#include <osinspect/error.h>

OSI_BEGIN_DECLS

/** An opaque report. */
struct osi_report;

/** Schema version written by this library. */
#define OSI_SCHEMA_VERSION 1

/** Default cap on the size of a report's JSON text, in bytes. */
#define OSI_REPORT_DEFAULT_MAX_SIZE 65536
/** Default cap on the nesting of arrays and objects. */
#define OSI_REPORT_DEFAULT_MAX_DEPTH 32

/** Current version of struct osi_parse_options. */
#define OSI_PARSE_OPTIONS_VERSION 1

/** Limits for osi_report_from_json(). */
struct osi_parse_options {
    unsigned int version;   /**< OSI_PARSE_OPTIONS_VERSION */
    size_t max_size;        /**< bytes; 0 for OSI_REPORT_DEFAULT_MAX_SIZE */
    unsigned int max_depth; /**< levels; 0 for OSI_REPORT_DEFAULT_MAX_DEPTH */
    unsigned int flags;     /**< reserved; 0 */
    void *reserved[4];      /**< room to grow; NULL */
};

/** Static initialiser of struct osi_parse_options with the defaults. */
#define OSI_PARSE_OPTIONS_INIT { OSI_PARSE_OPTIONS_VERSION, 0, 0, 0, { 0 } }

/**
 * Fill @p opts with the defaults of options version @p version.
 *
 * @return OSI_OK; OSI_EINVAL when @p opts is NULL or @p version unknown
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_parse_options_init(
    struct osi_parse_options *opts, unsigned int version);

/**
 * Parse and validate a report.
 *
 * Accepted: one JSON object, in UTF-8, with nothing after it, no duplicate
 * keys, no deeper nesting than the cap, no larger than the cap, holding the
 * six original fields (cpu, os_username, os_name, server_ip, timestamp,
 * os_version) as strings of sane length without control characters, with
 * server_ip an IPv4 or IPv6 address, and every other known field of the
 * type the schema gives it. Unknown fields are kept. Each rejection names
 * the field and the reason in err->message.
 *
 * @param[in] buf the JSON text (need not be NUL-terminated); copied
 * @param[in] len its length in bytes
 * @param[in] opts limits, or NULL for the defaults
 * @param[out] out the new report; free with osi_report_free()
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EPARSE for text that is not one well-formed JSON
 *         value within the limits; OSI_EINVAL for a well-formed document
 *         that is not a valid report; OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_report_from_json(
    const char *buf, size_t len, const struct osi_parse_options *opts,
    struct osi_report **out, struct osi_error *err);

/** Flags of osi_report_to_json(). */
enum osi_json_flags {
    OSI_JSON_COMPACT = 0,    /**< one line, no spaces */
    OSI_JSON_PRETTY = 1 << 0 /**< indented by two spaces, one field a line */
};

/**
 * Serialise a report as JSON text. Fields keep their order.
 *
 * @param[in] report the report
 * @param[in] flags OSI_JSON_COMPACT or OSI_JSON_PRETTY
 * @param[out] out new NUL-terminated text; free with osi_free()
 * @param[out] len_out optional length of @p out without the NUL
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EINVAL; OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_report_to_json(const struct osi_report *report,
                                              unsigned int flags, char **out,
                                              size_t *len_out,
                                              struct osi_error *err);

/**
 * Read a string field. @p path names a top-level field ("server_ip") or,
 * with dots, one inside objects ("os.id", "identity.machine_id").
 *
 * @return the value, borrowed: valid until the report is changed or freed;
 *         NULL when the field is absent, null or not a string
 * @since 0.1
 */
OSI_EXPORT const char *osi_report_get_string(const struct osi_report *report,
                                             const char *path);

/**
 * Read an integer field (see osi_report_get_string() for @p path).
 *
 * @param[out] out the value
 * @return OSI_OK; OSI_ENOTFOUND when absent, null or not an integer;
 *         OSI_EINVAL for NULL arguments
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_report_get_int(const struct osi_report *report,
                                              const char *path, int64_t *out);

/**
 * Read a number field, integer or real (see osi_report_get_string()).
 *
 * @param[out] out the value
 * @return OSI_OK; OSI_ENOTFOUND when absent, null or not a number;
 *         OSI_EINVAL for NULL arguments
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_report_get_number(
    const struct osi_report *report, const char *path, double *out);

/**
 * Free a report. Accepts NULL.
 *
 * @since 0.1
 */
OSI_EXPORT void osi_report_free(struct osi_report *report);

OSI_END_DECLS

#endif /* OSINSPECT_REPORT_H */
