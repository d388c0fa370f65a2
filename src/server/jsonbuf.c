/* SPDX-License-Identifier: MIT */
/* The answer buffer: growing text with header room in front, and JSON
 * string quoting that always yields valid UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "api.h"

void api_buf_init(struct api_buf *b)
{
    b->mem = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

void api_buf_free(struct api_buf *b)
{
    free(b->mem);
    api_buf_init(b);
}

int api_buf_reserve(struct api_buf *b, size_t n)
{
    size_t cap;
    char *mem;

    if (b->failed)
        return -1;
    if (n <= b->cap - b->len)
        return 0;
    if (n > SIZE_MAX / 2 - API_HEADROOM - b->len) {
        b->failed = 1;
        return -1;
    }
    cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    mem = realloc(b->mem, API_HEADROOM + cap);
    if (mem == NULL) {
        b->failed = 1;
        return -1;
    }
    b->mem = mem;
    b->cap = cap;
    return 0;
}

void api_buf_add(struct api_buf *b, const char *s, size_t n)
{
    if (n == 0 || api_buf_reserve(b, n) != 0)
        return;
    memcpy(api_buf_body(b) + b->len, s, n);
    b->len += n;
}

void api_buf_adds(struct api_buf *b, const char *s)
{
    api_buf_add(b, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs,
 * no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];

    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
        unsigned char hi = c == 0xed ? 0x9f : 0xbf;

        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;

        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
                       (s[3] & 0xc0) == 0x80
                   ? 4
                   : 0;
    }
    return 0;
}

void api_buf_add_json_string(struct api_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;

    api_buf_add(b, "\"", 1);
    while (*p != '\0') {
        const unsigned char *run = p;
        char esc[6];

        while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        api_buf_add(b, (const char *)run, (size_t)(p - run));
        if (*p == '\0')
            break;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p++;
            api_buf_add(b, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 0xf];
            api_buf_add(b, esc, 6);
            p++;
        } else {
            size_t n = utf8_seq(p);

            if (n == 0) {
                api_buf_add(b, "\\ufffd", 6);
                p++;
            } else {
                api_buf_add(b, (const char *)p, n);
                p += n;
            }
        }
    }
    api_buf_add(b, "\"", 1);
}
