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

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
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
                                   const json_t *v, struct osi_error *err)
{
    const char *want = NULL;

    switch (kind) {
    case K_STRING:
    case K_REPORT_ID:
        if (!json_is_string(v)) {
            want = "a string";
            break;
        }
        if (json_string_length(v) > MAX_KNOWN_STRING)
            return osip_fail(err, OSI_EINVAL, "%s: longer than %d bytes",
                             name, MAX_KNOWN_STRING);
        if (kind == K_REPORT_ID &&
            !report_id_valid(json_string_value(v), json_string_length(v)))
            return osip_fail(err, OSI_EINVAL,
                             "%s: must be 1 to %d letters, digits or '-'",
                             name, MAX_REPORT_ID);
        return OSI_OK;
    case K_INTEGER:
        if (!json_is_integer(v))
            want = "an integer";
        break;
    case K_NUMBER:
        if (!json_is_number(v))
            want = "a number";
        break;
    case K_OBJECT:
        if (!json_is_object(v))
            want = "an object";
        break;
    case K_ARRAY:
        if (!json_is_array(v))
            want = "an array";
        break;
    }
    if (want != NULL)
        return osip_fail(err, OSI_EINVAL, "%s: must be %s or null, not %s",
                         name, want, type_name(v));
    return OSI_OK;
}

enum osi_status osip_report_validate(const json_t *root, struct osi_error *err)
{
    if (!json_is_object(root))
        return osip_fail(err, OSI_EINVAL,
                         "report: must be a JSON object, not %s",
                         type_name(root));

    for (size_t i = 0; i < sizeof(original_fields) / sizeof(*original_fields);
         i++) {
        const char *name = original_fields[i].name;
        const json_t *v = json_object_get(root, name);
        const char *s;
        size_t len;

        if (v == NULL)
            return osip_fail(err, OSI_EINVAL, "%s: missing", name);
        if (!json_is_string(v))
            return osip_fail(err, OSI_EINVAL, "%s: must be a string, not %s",
                             name, type_name(v));
        s = json_string_value(v);
        len = json_string_length(v);
        if (len == 0 && original_fields[i].non_empty)
            return osip_fail(err, OSI_EINVAL, "%s: empty", name);
        if (len > original_fields[i].max_len)
            return osip_fail(err, OSI_EINVAL, "%s: longer than %zu bytes",
                             name, original_fields[i].max_len);
        if (has_control_char(s, len))
            return osip_fail(err, OSI_EINVAL,
                             "%s: contains a control character", name);
    }
    if (!osip_ip_valid(json_string_value(json_object_get(root, "server_ip"))))
        return osip_fail(err, OSI_EINVAL,
                         "server_ip: \"%.64s\" is not an IPv4 or IPv6 address",
                         json_string_value(json_object_get(root, "server_ip")));

    for (size_t i = 0; i < sizeof(known_fields) / sizeof(*known_fields); i++) {
        const json_t *v = json_object_get(root, known_fields[i].name);
        enum osi_status st;

        if (v == NULL || json_is_null(v))
            continue;
        st = check_known(known_fields[i].name, known_fields[i].kind, v, err);
        if (st != OSI_OK)
            return st;
    }
    return OSI_OK;
}
