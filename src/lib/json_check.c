/* SPDX-License-Identifier: MIT */
/* A strict JSON checker that builds nothing: lets the store hand out a
 * stored report as its text after one pass over it, where parsing and
 * serialising it again costs twenty times as much. */
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* What osip_json_report_scan() keeps while it checks: the keys of the
 * open objects, to find duplicates, and the members of the outermost. */
struct record {
    struct osip_json_scan *out;
    struct {
        const unsigned char *p;
        size_t len;
    } keys[OSIP_JSON_SCAN_KEYS];
    size_t nkeys;
    size_t frame[OSIP_JSON_CHECK_MAX_DEPTH]; /* first key of each level */
};

struct scan {
    const unsigned char *p, *end;
    const char *why;
    struct record *rec; /* NULL: check only */
};

static int fail(struct scan *s, const char *why)
{
    s->why = why;
    return -1;
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const unsigned char *p, unsigned int *out)
{
    unsigned int v = 0;

    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned int)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned int)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned int)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* The length of the UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* Skip the printable ASCII at s->p other than '"' and '\\' (most of a
 * report), eight bytes at a time: a byte below 0x20 or above 0x7f, a
 * quote or a backslash stops it. */
static void skip_plain(struct scan *s)
{
    const uint64_t ones = 0x0101010101010101ull, highs = ones * 0x80;

    while (s->end - s->p >= 8) {
        uint64_t x, q, b;

        memcpy(&x, s->p, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        /* Some byte of v is below k when (v - k) & ~v & 0x80.. (for
         * k = 1: some byte is zero). */
        if (((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
              ((b - ones) & ~b) | x) &
             highs) != 0)
            break;
        s->p += 8;
    }
    while (s->p < s->end && *s->p >= 0x20 && *s->p < 0x80 && *s->p != '"' &&
           *s->p != '\\')
        s->p++;
}

/* A string from its opening quote: what jansson accepts without
 * JSON_ALLOW_NUL (no \u0000, surrogates only in pairs). */
static int string(struct scan *s)
{
    s->p++;
    while (s->p < s->end) {
        unsigned char c;
        unsigned int u, lo;
        size_t n;

        skip_plain(s);
        if (s->p == s->end)
            break;
        c = *s->p;

        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c < 0x20)
            return fail(s, "control character in a string");
        if (c != '\\') {
            n = utf8_len(s->p, s->end);
            if (n == 0)
                return fail(s, "invalid UTF-8");
            s->p += n;
            continue;
        }
        if (s->end - s->p < 2)
            break;
        c = s->p[1];
        if (c != 'u') {
            if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
                return fail(s, "invalid escape");
            s->p += 2;
            continue;
        }
        if (s->end - s->p < 6 || hex4(s->p + 2, &u) != 0)
            return fail(s, "invalid \\u escape");
        s->p += 6;
        if (u == 0)
            return fail(s, "\\u0000 in a string");
        if (u >= 0xdc00 && u <= 0xdfff)
            return fail(s, "lone low surrogate");
        if (u >= 0xd800 && u <= 0xdbff) {
            if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
                hex4(s->p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                return fail(s, "lone high surrogate");
            s->p += 6;
        }
    }
    return fail(s, "unterminated string");
}

static int digits(struct scan *s)
{
    const unsigned char *start = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start ? 0 : -1;
}

/* Beyond what the scan can vouch for: jansson refuses an integer out of
 * the range of long long and a real out of that of double. */
static int fail_unsure(struct scan *s)
{
    return fail(s, "beyond what the scan follows");
}

static int number(struct scan *s)
{
    const unsigned char *start;

    if (*s->p == '-')
        s->p++;
    start = s->p;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (digits(s) != 0)
        return fail(s, "invalid number");
    if (s->rec != NULL && s->p - start > 18)
        return fail_unsure(s);
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) != 0)
            return fail(s, "invalid number");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        if (s->rec != NULL)
            return fail_unsure(s);
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (digits(s) != 0)
            return fail(s, "invalid number");
    }
    return 0;
}

static int literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "invalid literal");
    s->p += n;
    return 0;
}

/* A scalar value at s->p. */
static int scalar(struct scan *s)
{
    switch (*s->p) {
    case '"':
        return string(s);
    case 't':
        return literal(s, "true");
    case 'f':
        return literal(s, "false");
    case 'n':
        return literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return number(s);
        return fail(s, "unexpected character");
    }
}

static unsigned char closer(unsigned char opener)
{
    return opener == '{' ? '}' : ']';
}

/* Note a key of the object open at depth: a duplicate fails, as with
 * JSON_REJECT_DUPLICATES. Keys are compared as written, so one with an
 * escape (which may spell another key) is beyond the scan, and so are
 * objects with more keys than it keeps. */
static int record_key(struct scan *s, unsigned int depth,
                      const unsigned char *key, size_t len)
{
    struct record *r = s->rec;
    struct osip_json_scan *out = r->out;

    if (memchr(key, '\\', len) != NULL || r->nkeys == OSIP_JSON_SCAN_KEYS ||
        r->nkeys - r->frame[depth - 1] == OSIP_JSON_SCAN_MEMBERS)
        return fail_unsure(s);
    for (size_t i = r->frame[depth - 1]; i < r->nkeys; i++)
        if (r->keys[i].len == len && memcmp(r->keys[i].p, key, len) == 0)
            return fail(s, "duplicate key");
    r->keys[r->nkeys].p = key;
    r->keys[r->nkeys].len = len;
    r->nkeys++;
    if (depth == 1) {
        out->m[out->count].key = (const char *)key;
        out->m[out->count].key_len = len;
    }
    return 0;
}

/* A member's key and its ':', from the key's quote, in the object open at
 * depth. */
static int member_key(struct scan *s, unsigned int depth)
{
    const unsigned char *key;

    if (s->p == s->end || *s->p != '"')
        return fail(s, "expected a key");
    key = s->p + 1;
    if (string(s) != 0)
        return -1;
    if (s->rec != NULL &&
        record_key(s, depth, key, (size_t)(s->p - 1 - key)) != 0)
        return -1;
    skip_ws(s);
    if (s->p == s->end || *s->p != ':')
        return fail(s, "expected ':'");
    s->p++;
    skip_ws(s);
    return 0;
}

/* The value of a member of the outermost object ends at s->p. */
static void record_value(struct scan *s, const unsigned char *start)
{
    struct osip_json_member *m = &s->rec->out->m[s->rec->out->count++];

    m->type = (char)*start;
    m->value = (const char *)start;
    m->value_len = (size_t)(s->p - start);
    m->escaped = 0;
    m->real = 0;
    if (m->type == '"') {
        m->value++;
        m->value_len -= 2;
        m->escaped = memchr(m->value, '\\', m->value_len) != NULL;
    } else if (m->type == '-' || (m->type >= '0' && m->type <= '9')) {
        m->real = memchr(m->value, '.', m->value_len) != NULL;
    }
}

/* Iterative over an explicit stack of open containers ('{' or '['), so
 * that no input can exhaust the C stack. */
static int check(struct scan *s, unsigned int max_depth)
{
    unsigned char open[OSIP_JSON_CHECK_MAX_DEPTH];
    unsigned int depth = 0;
    const unsigned char *value = NULL; /* of the outermost's member */

    skip_ws(s);
    if (s->p == s->end || *s->p != '{')
        return fail(s, "not a JSON object");
    for (;;) {
        /* At the start of a value. */
        if (s->p == s->end)
            return fail(s, "unexpected end");
        if (depth == 1)
            value = s->p;
        if (*s->p == '{' || *s->p == '[') {
            if (depth == max_depth)
                return fail(s, "nested too deep");
            if (s->rec != NULL)
                s->rec->frame[depth] = s->rec->nkeys;
            open[depth++] = *s->p++;
            skip_ws(s);
            if (s->p < s->end && *s->p == closer(open[depth - 1])) {
                s->p++;
                depth--;
            } else if (open[depth - 1] == '{') {
                if (member_key(s, depth) != 0)
                    return -1;
                continue;
            } else {
                continue;
            }
        } else if (scalar(s) != 0) {
            return -1;
        }
        /* After a value: ',' then the next, or the end of containers. */
        for (;;) {
            if (depth == 1 && s->rec != NULL)
                record_value(s, value);
            skip_ws(s);
            if (depth == 0) {
                if (s->p != s->end)
                    return fail(s, "trailing bytes");
                return 0;
            }
            if (s->p == s->end)
                return fail(s, "unexpected end");
            if (*s->p == closer(open[depth - 1])) {
                s->p++;
                depth--;
                if (s->rec != NULL && open[depth] == '{')
                    s->rec->nkeys = s->rec->frame[depth];
                continue;
            }
            if (*s->p != ',')
                return fail(s, "expected ',' or the end of a container");
            s->p++;
            skip_ws(s);
            if (open[depth - 1] == '{' && member_key(s, depth) != 0)
                return -1;
            break;
        }
    }
}

size_t osip_json_object_check(const char *buf, size_t len,
                              unsigned int max_depth, const char **why)
{
    struct scan s = { (const unsigned char *)buf,
                      (const unsigned char *)buf + len, NULL, NULL };

    if (max_depth > OSIP_JSON_CHECK_MAX_DEPTH)
        max_depth = OSIP_JSON_CHECK_MAX_DEPTH;
    if (check(&s, max_depth) == 0)
        return 0;
    if (why != NULL)
        *why = s.why;
    return (size_t)(s.p - (const unsigned char *)buf) + 1;
}

int osip_json_report_scan(const char *buf, size_t len, unsigned int max_depth,
                          struct osip_json_scan *out)
{
    struct record rec;
    struct scan s = { (const unsigned char *)buf,
                      (const unsigned char *)buf + len, NULL, &rec };

    if (max_depth > OSIP_JSON_CHECK_MAX_DEPTH)
        return 0;
    rec.out = out;
    rec.nkeys = 0;
    out->count = 0;
    return check(&s, max_depth) == 0;
}
