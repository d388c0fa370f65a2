/* SPDX-License-Identifier: MIT */
/* What makes a JSON object a valid report (docs/report-schema.md). */
#include <arpa/inet.h>
#include <string.h>

#include "internal.h"

int osip_ip_valid(const char *s)
{
    unsigned char addr[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, s, addr) == 1 ||
           inet_pton(AF_INET6, s, addr) == 1;
}

static const char *type_name(const struct osip_field *f)
{
    switch (f->type) {
    case OSIP_F_OBJECT: return "an object";
    case OSIP_F_ARRAY: return "an array";
    case OSIP_F_STRING: return "a string";
    case OSIP_F_INTEGER: return "an integer";
    case OSIP_F_REAL: return "a real number";
    case OSIP_F_BOOL: return "a boolean";
    case OSIP_F_NULL: return "null";
    case OSIP_F_ABSENT: break;
    }
    return "unknown";
}

/* The six fields of the original agent: required strings. cpu may be empty
 * (the original sends "" where platform.processor() knows nothing). */
static const struct {
    const char *name;
    size_t max_len;
    int non_empty;
} original_fields[] = {
    { "cpu", 512, 0 },
    { "os_username", 256, 1 },
    { "os_name", 128, 1 },
    { "server_ip", 64, 1 },
    { "timestamp", 64, 1 },
    { "os_version", 512, 1 },
};

/* Fields of schema version 1 that may be absent or null, and their type. */
enum kind { K_STRING, K_INTEGER, K_NUMBER, K_OBJECT, K_ARRAY, K_REPORT_ID };
static const struct {
    const char *name;
    enum kind kind;
} known_fields[] = {
    { "schema_version", K_INTEGER }, { "agent_version", K_STRING },
    { "report_id", K_REPORT_ID },    { "collected_at", K_STRING },
    { "hostname", K_STRING },        { "os", K_OBJECT },
    { "kernel", K_OBJECT },          { "cpu_info", K_OBJECT },
    { "memory", K_OBJECT },          { "uptime_seconds", K_NUMBER },
    { "boot_time", K_STRING },       { "load_average", K_ARRAY },
    { "disks", K_ARRAY },            { "network", K_OBJECT },
    { "users", K_ARRAY },            { "identity", K_OBJECT },
    { "container", K_OBJECT },       { "collection", K_OBJECT },
};

#define MAX_KNOWN_STRING 1024
#define MAX_REPORT_ID 64

static int has_control_char(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* report_id becomes part of a storage key: letters, digits and '-' only. */
static int report_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > MAX_REPORT_ID)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '-'))
            return 0;
    }
    return 1;
}

static enum osi_status check_known(const char *name, enum kind kind,
                                   const struct osip_field *f,
                                   struct osi_error *err)
{
    const char *want = NULL;

    switch (kind) {
    case K_STRING:
    case K_REPORT_ID:
        if (f->type != OSIP_F_STRING) {
            want = "a string";
            break;
        }
        if (f->len > MAX_KNOWN_STRING)
            return osip_fail(err, OSI_EINVAL, "%s: longer than %d bytes",
                             name, MAX_KNOWN_STRING);
        if (kind == K_REPORT_ID && !report_id_valid(f->s, f->len))
            return osip_fail(err, OSI_EINVAL,
                             "%s: must be 1 to %d letters, digits or '-'",
                             name, MAX_REPORT_ID);
        return OSI_OK;
    case K_INTEGER:
        if (f->type != OSIP_F_INTEGER)
            want = "an integer";
        break;
    case K_NUMBER:
        if (f->type != OSIP_F_INTEGER && f->type != OSIP_F_REAL)
            want = "a number";
        break;
    case K_OBJECT:
        if (f->type != OSIP_F_OBJECT)
            want = "an object";
        break;
    case K_ARRAY:
        if (f->type != OSIP_F_ARRAY)
            want = "an array";
        break;
    }
    if (want != NULL)
        return osip_fail(err, OSI_EINVAL, "%s: must be %s or null, not %s",
                         name, want, type_name(f));
    return OSI_OK;
}

enum osi_status osip_report_validate_fields(osip_field_get get,
                                            const void *report,
                                            struct osi_error *err)
{
    /* server_ip, at most 64 bytes once checked, as a C string. */
    char ip[65];
    struct osip_field f;

    for (size_t i = 0; i < sizeof(original_fields) / sizeof(*original_fields);
         i++) {
        const char *name = original_fields[i].name;

        get(report, name, &f);
        if (f.type == OSIP_F_ABSENT)
            return osip_fail(err, OSI_EINVAL, "%s: missing", name);
        if (f.type != OSIP_F_STRING)
            return osip_fail(err, OSI_EINVAL, "%s: must be a string, not %s",
                             name, type_name(&f));
        if (f.len == 0 && original_fields[i].non_empty)
            return osip_fail(err, OSI_EINVAL, "%s: empty", name);
        if (f.len > original_fields[i].max_len)
            return osip_fail(err, OSI_EINVAL, "%s: longer than %zu bytes",
                             name, original_fields[i].max_len);
        if (has_control_char(f.s, f.len))
            return osip_fail(err, OSI_EINVAL,
                             "%s: contains a control character", name);
    }
    get(report, "server_ip", &f);
    memcpy(ip, f.s, f.len);
    ip[f.len] = '\0';
    if (!osip_ip_valid(ip))
        return osip_fail(err, OSI_EINVAL,
                         "server_ip: \"%.64s\" is not an IPv4 or IPv6 address",
                         ip);

    for (size_t i = 0; i < sizeof(known_fields) / sizeof(*known_fields); i++) {
        enum osi_status st;

        get(report, known_fields[i].name, &f);
        if (f.type == OSIP_F_ABSENT || f.type == OSIP_F_NULL)
            continue;
        st = check_known(known_fields[i].name, known_fields[i].kind, &f, err);
        if (st != OSI_OK)
            return st;
    }
    return OSI_OK;
}

/* What v (NULL: absent) is. */
static void field_of(const json_t *v, struct osip_field *out)
{
    out->s = NULL;
    out->len = 0;
    out->type = OSIP_F_ABSENT;
    switch (v == NULL ? JSON_NULL : json_typeof(v)) {
    case JSON_OBJECT: out->type = OSIP_F_OBJECT; break;
    case JSON_ARRAY: out->type = OSIP_F_ARRAY; break;
    case JSON_STRING:
        out->type = OSIP_F_STRING;
        out->s = json_string_value(v);
        out->len = json_string_length(v);
        break;
    case JSON_INTEGER: out->type = OSIP_F_INTEGER; break;
    case JSON_REAL: out->type = OSIP_F_REAL; break;
    case JSON_TRUE:
    case JSON_FALSE: out->type = OSIP_F_BOOL; break;
    case JSON_NULL:
        if (v != NULL)
            out->type = OSIP_F_NULL;
        break;
    }
}

static void json_field(const void *report, const char *name,
                       struct osip_field *out)
{
    field_of(json_object_get(report, name), out);
}

enum osi_status osip_report_validate(const json_t *root, struct osi_error *err)
{
    struct osip_field f;

    if (!json_is_object(root)) {
        field_of(root, &f);
        return osip_fail(err, OSI_EINVAL,
                         "report: must be a JSON object, not %s",
                         type_name(&f));
    }
    return osip_report_validate_fields(json_field, root, err);
}
