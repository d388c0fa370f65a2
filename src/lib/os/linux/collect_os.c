/* SPDX-License-Identifier: MIT */
/* Section "os": the distribution, from os-release(5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../collect_int.h"

static const struct {
    const char *json;
    const char *key;
} fields[] = {
    { "id", "ID" },
    { "id_like", "ID_LIKE" },
    { "name", "NAME" },
    { "version", "VERSION" },
    { "version_id", "VERSION_ID" },
    { "version_codename", "VERSION_CODENAME" },
    { "pretty_name", "PRETTY_NAME" },
};
#define NFIELDS (sizeof(fields) / sizeof(*fields))

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Decode a value in place with the shell quoting os-release(5) asks for,
 * as systemd reads it: '...' literal; "..." where a backslash escapes only
 * " \ $ and `; outside quotes a backslash escapes any character, and
 * quoted parts join ('a'"b" is ab). Trailing unquoted blanks are dropped.
 * The result is never longer than the input, so it overwrites it. */
static char *unquote(char *s)
{
    char *in = s, *out = s, *end = s;
    char quote = '\0';

    while (is_blank(*in))
        in++;
    for (; *in != '\0'; in++) {
        char c = *in;

        if (quote == '\'' && c != '\'') {
            *out++ = c;
        } else if (quote == '"' && c != '"') {
            if (c == '\\' && in[1] != '\0' && strchr("\"\\$`", in[1]))
                c = *++in;
            *out++ = c;
        } else if (quote != '\0') {
            quote = '\0';
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else {
            if (c == '\\' && in[1] != '\0')
                c = *++in;
            else if (is_blank(c)) {
                *out++ = c;
                continue;
            }
            *out++ = c;
        }
        end = out;
    }
    *end = '\0';
    return s;
}

/* Fill values[] with the fields found in text (modified in place); a key
 * given twice keeps its last value, as the shell does. */
static void parse_os_release(char *text, char *values[NFIELDS])
{
    char *line = text;

    while (line != NULL) {
        char *next = strchr(line, '\n');
        char *eq;
        size_t klen;

        if (next != NULL)
            *next++ = '\0';
        while (is_blank(*line))
            line++;
        eq = strchr(line, '=');
        if (line[0] != '#' && eq != NULL) {
            klen = (size_t)(eq - line);
            while (klen > 0 && is_blank(line[klen - 1]))
                klen--;
            for (size_t i = 0; i < NFIELDS; i++) {
                if (strlen(fields[i].key) == klen &&
                    memcmp(line, fields[i].key, klen) == 0) {
                    values[i] = unquote(eq + 1);
                    break;
                }
            }
        }
        line = next;
    }
}

/* os-release(5): /etc/os-release wins; /usr/lib/os-release is read only
 * when it is missing (or, here, unreadable: partial then). */
void osip_collect_os(struct osip_ctx *ctx)
{
    static const char *const paths[] = { "etc/os-release",
                                         "usr/lib/os-release" };
    char *values[NFIELDS] = { NULL };
    char *text = NULL;
    size_t len, used;
    int errs[2] = { 0, 0 };
    json_t *os;

    for (used = 0; used < 2; used++) {
        errs[used] = osip_read_file(ctx, paths[used], &text, &len);
        if (errs[used] == 0)
            break;
        if (errs[used] == -ENOMEM)
            return;
    }
    if (used == 2) {
        osip_sec_failed(ctx, "/%s: %s; /%s: %s", paths[0], strerror(-errs[0]),
                        paths[1], strerror(-errs[1]));
        return;
    }
    if (used == 1 && errs[0] != -ENOENT)
        osip_sec_file_error(ctx, paths[0], errs[0], 0);

    parse_os_release(text, values);
    os = osip_set(ctx, ctx->report, "os", json_object());
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *v = values[i];

        /* An empty assignment says no more than an absent one. */
        if (v != NULL && v[0] != '\0' && !osip_text_valid(v, 0)) {
            osip_sec_partial(ctx, "/%s: %s is not valid text", paths[used],
                             fields[i].key);
            v = NULL;
        }
        osip_set(ctx, os, fields[i].json,
                 v != NULL && v[0] != '\0' ? json_string(v) : json_null());
    }
    free(text);
}
