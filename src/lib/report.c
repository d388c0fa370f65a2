/* SPDX-License-Identifier: MIT */
/* The report object: parsing, serialising, field access, freeing. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum osi_status osi_parse_options_init(struct osi_parse_options *opts,
                                       unsigned int version)
{
    static const struct osi_parse_options defaults = OSI_PARSE_OPTIONS_INIT;

    if (opts == NULL || version != OSI_PARSE_OPTIONS_VERSION)
        return OSI_EINVAL;
    *opts = defaults;
    return OSI_OK;
}

enum osi_status osip_report_wrap(json_t *root, struct osi_report **out,
                                 struct osi_error *err)
{
    struct osi_report *report = osip_malloc(sizeof(*report));

    if (report == NULL) {
        json_decref(root);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    report->root = root;
    *out = report;
    return OSI_OK;
}

size_t osip_json_depth_exceeds(const char *buf, size_t len,
                               unsigned int max_depth)
{
    unsigned int depth = 0;
    int in_string = 0;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];

        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return i + 1;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

enum osi_status osi_report_from_json(const char *buf, size_t len,
                                     const struct osi_parse_options *opts,
                                     struct osi_report **out,
                                     struct osi_error *err)
{
    size_t max_size = OSI_REPORT_DEFAULT_MAX_SIZE;
    unsigned int max_depth = OSI_REPORT_DEFAULT_MAX_DEPTH;
    json_error_t jerr = { 0 };
    json_t *root;
    size_t at;
    enum osi_status st;

    OSIP_ASSERT_ARG(out != NULL, err);
    OSIP_ASSERT_ARG(buf != NULL || len == 0, err);
    *out = NULL;
    if (opts != NULL) {
        if (opts->version != OSI_PARSE_OPTIONS_VERSION)
            return osip_fail(err, OSI_EINVAL,
                             "unknown parse options version %u",
                             opts->version);
        if (opts->max_size != 0)
            max_size = opts->max_size;
        if (opts->max_depth != 0)
            max_depth = opts->max_depth;
    }
    if (len > max_size)
        return osip_fail(err, OSI_EPARSE,
                         "report is %zu bytes, over the limit of %zu", len,
                         max_size);
    at = osip_json_depth_exceeds(buf, len, max_depth);
    if (at != 0)
        return osip_fail(err, OSI_EPARSE,
                         "invalid JSON: nested deeper than %u levels at byte %zu",
                         max_depth, at);

    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                      &jerr);
    if (root == NULL) {
        /* jansson leaves the text empty when its first allocation fails;
         * every syntax error has a text. */
        if (json_error_code(&jerr) == json_error_out_of_memory ||
            jerr.text[0] == '\0')
            return osip_fail(err, OSI_ENOMEM, "out of memory");
        return osip_fail(err, OSI_EPARSE,
                         "invalid JSON at line %d, column %d: %s", jerr.line,
                         jerr.column, jerr.text);
    }
    st = osip_report_validate(root, err);
    if (st != OSI_OK) {
        json_decref(root);
        return st;
    }
    return osip_report_wrap(root, out, err);
}

/* Output of json_dump_callback, in memory of our own allocator (not
 * jansson's, which a program may have replaced), so osi_free() is free(). */
struct dump_buf {
    char *data;
    size_t len, cap;
};

static int dump_append(const char *chunk, size_t size, void *payload)
{
    struct dump_buf *b = payload;

    if (b->cap - b->len <= size) {
        size_t cap = b->cap ? b->cap : 4096;
        char *bigger;

        while (cap - b->len <= size)
            cap *= 2;
        bigger = osip_realloc(b->data, cap);
        if (bigger == NULL)
            return -1;
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, chunk, size);
    b->len += size;
    b->data[b->len] = '\0';
    return 0;
}

enum osi_status osi_report_to_json(const struct osi_report *report,
                                   unsigned int flags, char **out,
                                   size_t *len_out, struct osi_error *err)
{
    /* 15 significant digits print 0.1 as 0.1, not 0.10000000000000001. */
    size_t jflags = JSON_REAL_PRECISION(15);
    struct dump_buf b = { NULL, 0, 0 };

    OSIP_ASSERT_ARG(report != NULL, err);
    OSIP_ASSERT_ARG(out != NULL, err);
    OSIP_ASSERT_ARG((flags & ~(unsigned int)OSI_JSON_PRETTY) == 0, err);
    *out = NULL;
    jflags |= (flags & OSI_JSON_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT;
    if (json_dump_callback(report->root, dump_append, &b, jflags) != 0 ||
        (b.data == NULL && dump_append("", 0, &b) != 0)) {
        free(b.data);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    *out = b.data;
    if (len_out != NULL)
        *len_out = b.len;
    return OSI_OK;
}

/* Walk a dotted path through nested objects. */
static const json_t *lookup(const struct osi_report *report, const char *path)
{
    const json_t *node;

    if (report == NULL || path == NULL)
        return NULL;
    node = report->root;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);

        if (!json_is_object(node))
            return NULL;
        node = json_object_getn(node, path, n);
        if (node == NULL || dot == NULL)
            return node;
        path = dot + 1;
    }
}

const char *osi_report_get_string(const struct osi_report *report,
                                  const char *path)
{
    return json_string_value(lookup(report, path));
}

enum osi_status osi_report_get_int(const struct osi_report *report,
                                   const char *path, int64_t *out)
{
    const json_t *v;

    if (report == NULL || path == NULL || out == NULL)
        return OSI_EINVAL;
    v = lookup(report, path);
    if (!json_is_integer(v))
        return OSI_ENOTFOUND;
    *out = json_integer_value(v);
    return OSI_OK;
}

enum osi_status osi_report_get_number(const struct osi_report *report,
                                      const char *path, double *out)
{
    const json_t *v;

    if (report == NULL || path == NULL || out == NULL)
        return OSI_EINVAL;
    v = lookup(report, path);
    if (!json_is_number(v))
        return OSI_ENOTFOUND;
    *out = json_number_value(v);
    return OSI_OK;
}

void osi_report_free(struct osi_report *report)
{
    if (report == NULL)
        return;
    json_decref(report->root);
    free(report);
}
