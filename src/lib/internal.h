/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of libosinspect. */
#ifndef OSINSPECT_INTERNAL_H
#define OSINSPECT_INTERNAL_H

#include <jansson.h>

#include <osinspect/osinspect.h>

/* A report is its JSON object: unknown fields survive a round trip and no
 * second model has to be kept in step with the schema. */
struct osi_report {
    json_t *root;
};

/* Every allocation of the library goes through these, so that tests can
 * make the Nth one fail (osip_alloc_fail_hook returns non-zero to fail).
 * Memory is always libc's: osi_free() is free(). */
extern int (*osip_alloc_fail_hook)(void);
void *osip_malloc(size_t size);
void *osip_realloc(void *ptr, size_t size);

/* Write all of buf to fd, resuming after EINTR and short writes. Returns
 * 0, or -1 with errno. */
int osip_write_all(int fd, const void *buf, size_t len);
/* CLOCK_MONOTONIC in milliseconds: for deadlines and durations. */
int64_t osip_mono_ms(void);

/* Fill err (if not NULL) and return status. Never allocates. */
enum osi_status osip_error_set(struct osi_error *err, enum osi_status status,
                               int cause_kind, long cause, const char *fmt,
                               ...) OSI_PRINTF(5, 6);

/* Shorthand for errors with no lower-level cause. */
#define osip_fail(err, status, ...) \
    osip_error_set((err), (status), OSI_CAUSE_NONE, 0, __VA_ARGS__)

/* Bad arguments: abort in debug builds (a programming error should be seen
 * at once), OSI_EINVAL with a message in release builds. */
#ifdef NDEBUG
#define OSIP_ASSERT_ARG(expr, err)                                          \
    do {                                                                    \
        if (!(expr))                                                        \
            return osip_fail((err), OSI_EINVAL, "invalid argument: %s",     \
                             #expr);                                        \
    } while (0)
#else
#include <assert.h>
#define OSIP_ASSERT_ARG(expr, err) assert(expr)
#endif

/* Wrap a JSON object into a new report, taking the reference. */
enum osi_status osip_report_wrap(json_t *root, struct osi_report **out,
                                 struct osi_error *err);

/* Reject nesting deeper than max_depth without recursion (jansson recurses
 * once per level). Returns 0 when within the cap, else the byte offset + 1
 * where the cap was passed. */
size_t osip_json_depth_exceeds(const char *buf, size_t len,
                               unsigned int max_depth);

/* Deepest nesting osip_json_object_check() follows. */
#define OSIP_JSON_CHECK_MAX_DEPTH 64

/* Check, without building anything, that buf is exactly one JSON object
 * (RFC 8259, UTF-8, whitespace around it) that jansson would load with no
 * flags, minus \u0000 in strings, nested at most max_depth (at most
 * OSIP_JSON_CHECK_MAX_DEPTH) levels. Duplicate keys are not looked for.
 * Returns 0 when it is, else the byte offset + 1 of the fault, with its
 * reason in *why when why is not NULL. */
size_t osip_json_object_check(const char *buf, size_t len,
                              unsigned int max_depth, const char **why);

/* Most members of one object, and most keys of all the open objects, that
 * osip_json_report_scan() follows. */
#define OSIP_JSON_SCAN_MEMBERS 64
#define OSIP_JSON_SCAN_KEYS 256

/* A member of the outermost object, as written. */
struct osip_json_member {
    const char *key; /* between its quotes; never with an escape */
    size_t key_len;
    const char *value; /* a string's between its quotes */
    size_t value_len;
    char type;   /* the value's first byte: '"', '{', '[', 't', 'f', 'n',
                    or '-' or a digit for a number */
    int real;    /* a number with a fraction */
    int escaped; /* a string with an escape */
};

struct osip_json_scan {
    struct osip_json_member m[OSIP_JSON_SCAN_MEMBERS];
    size_t count;
};

/* As osip_json_object_check(), also refusing duplicate keys, and keeping
 * the outermost object's members in *out. Returns 1 when buf is one JSON
 * object that jansson loads with JSON_REJECT_DUPLICATES; 0 when it is not,
 * or when the scan cannot tell: a key with an escape, an object of more
 * than OSIP_JSON_SCAN_MEMBERS keys or open objects of more than
 * OSIP_JSON_SCAN_KEYS in all, a number with an exponent or more than 18
 * digits before its point, deeper than OSIP_JSON_CHECK_MAX_DEPTH. The
 * caller then asks jansson. */
int osip_json_report_scan(const char *buf, size_t len, unsigned int max_depth,
                          struct osip_json_scan *out);

/* A member of a report, however the report was read. */
struct osip_field {
    enum {
        OSIP_F_ABSENT,
        OSIP_F_NULL,
        OSIP_F_STRING,
        OSIP_F_INTEGER,
        OSIP_F_REAL,
        OSIP_F_BOOL,
        OSIP_F_OBJECT,
        OSIP_F_ARRAY
    } type;
    const char *s; /* a string's bytes (not NUL-terminated) */
    size_t len;
};

/* Fill *out with the member name of report. */
typedef void (*osip_field_get)(const void *report, const char *name,
                               struct osip_field *out);

/* Validate the fields of a report object read by get. */
enum osi_status osip_report_validate_fields(osip_field_get get,
                                            const void *report,
                                            struct osi_error *err);

/* Validate the fields of a parsed report object. */
enum osi_status osip_report_validate(const json_t *root,
                                     struct osi_error *err);

/* True when s parses as an IPv4 or IPv6 address (no zone, no prefix). */
int osip_ip_valid(const char *s);

#endif /* OSINSPECT_INTERNAL_H */
