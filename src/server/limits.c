/* SPDX-License-Identifier: MIT */
/* What a request must satisfy before its body is read, and the bounded
 * read of the body. CivetWeb 1.15 accepts framing that a proxy in front
 * may read differently (request smuggling): Content-Length beside chunked
 * encoding, a Content-Length with trailing junk ("7abc" reads as 7), CR or
 * LF decoded into the path. Those are refused here, from the headers
 * alone. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"

/* The first read of a chunked body; it grows up to max_body + 1. */
#define CHUNKED_FIRST_READ 16384

static int count_headers(const struct mg_request_info *ri, const char *name,
                         const char **value)
{
    int i, n = 0;

    *value = NULL;
    for (i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(ri->http_headers[i].name, name) == 0) {
            if (n++ == 0)
                *value = ri->http_headers[i].value;
        }
    }
    return n;
}

/* Digits, then optional spaces: anything else is not a length. Lengths
 * past what a long long holds are clamped, which is over any limit. */
static int parse_length(const char *s, long long *out)
{
    unsigned long long v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v <= (unsigned long long)(LLONG_MAX - 9) / 10)
            v = v * 10 + (unsigned long long)(*p - '0');
        else
            v = LLONG_MAX;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0')
        return -1;
    *out = (long long)v;
    return 0;
}

static int has_control(const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}

int api_check_framing(struct api_request *req)
{
    const struct mg_request_info *ri = req->ri;
    const char *cl, *te;
    int ncl, nte;

    req->content_length = -1;
    ncl = count_headers(ri, "Content-Length", &cl);
    nte = count_headers(ri, "Transfer-Encoding", &te);
    /* Any body on a request refused below stays unread: the connection
     * cannot carry another request. */
    req->body_unread = ncl > 0 || nte > 0;

    /* CivetWeb keeps the first MG_MAX_HEADERS fields and drops the rest
     * unseen, a Content-Length or Transfer-Encoding among them. */
    if (ri->num_headers >= MG_MAX_HEADERS) {
        api_send_error(req, 400, NULL,
                       "too many header fields: %d at most",
                       MG_MAX_HEADERS - 1);
        return -1;
    }
    if (has_control(ri->local_uri_raw) || has_control(ri->request_uri)) {
        api_send_error(req, 400, NULL,
                       "the path holds control characters (CR, LF, ...)");
        return -1;
    }
    if (ncl > 1 || nte > 1) {
        api_send_error(req, 400, NULL, "%s is given more than once",
                       ncl > 1 ? "Content-Length" : "Transfer-Encoding");
        return -1;
    }
    if (ncl == 1 && nte == 1) {
        api_send_error(req, 400, NULL,
                       "Content-Length and Transfer-Encoding are both "
                       "given: send one");
        return -1;
    }
    if (nte == 1) {
        if (strcasecmp(te, "chunked") != 0) {
            api_send_error(req, 400, NULL,
                           "Transfer-Encoding '%.64s' is not supported: "
                           "only chunked is", te);
            return -1;
        }
        req->chunked = 1;
    }
    if (ncl == 1) {
        if (parse_length(cl, &req->content_length) != 0) {
            api_send_error(req, 400, NULL,
                           "Content-Length '%.64s' is not a number of bytes",
                           cl);
            return -1;
        }
        req->body_unread = req->content_length > 0;
    }
    return 0;
}

/* Skip optional white space. */
static const char *ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* True when the Content-Type parameters (after the first ';') name no
 * charset but UTF-8. */
static int charset_ok(const char *p)
{
    while (*p == ';') {
        const char *name = ows(p + 1), *value, *end;
        size_t nlen, vlen;

        for (end = name; *end != '=' && *end != ';' && *end != '\0'; end++)
            ;
        nlen = (size_t)(end - name);
        while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
            nlen--;
        value = *end == '=' ? ows(end + 1) : end;
        if (*value == '"') {
            value++;
            for (end = value; *end != '"' && *end != '\0'; end++)
                ;
            vlen = (size_t)(end - value);
            if (*end == '"')
                end++;
            end = ows(end);
        } else {
            for (end = value; *end != ';' && *end != '\0'; end++)
                ;
            vlen = (size_t)(end - value);
            while (vlen > 0 &&
                   (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
                vlen--;
        }
        if (nlen == 7 && strncasecmp(name, "charset", 7) == 0 &&
            !((vlen == 5 && strncasecmp(value, "utf-8", 5) == 0) ||
              (vlen == 4 && strncasecmp(value, "utf8", 4) == 0)))
            return 0;
        if (*end != ';' && *end != '\0')
            return 0;
        p = end;
    }
    return *p == '\0';
}

int api_check_content_type(struct api_request *req)
{
    static const char json[] = "application/json";
    const char *ct = mg_get_header(req->conn, "Content-Type");
    const char *ce = mg_get_header(req->conn, "Content-Encoding");
    const char *p;

    if (ce != NULL && strcasecmp(ce, "gzip") == 0) {
        req->gzip = 1;
    } else if (ce != NULL && strcasecmp(ce, "identity") != 0) {
        api_send_error(req, 415, NULL,
                       "Content-Encoding '%.64s' is not supported: send the "
                       "report plain or gzipped", ce);
        return -1;
    }
    if (ct == NULL) {
        api_send_error(req, 415, NULL,
                       "Content-Type is missing: send application/json");
        return -1;
    }
    p = ows(ct);
    if (strncasecmp(p, json, sizeof(json) - 1) != 0 ||
        !charset_ok(ows(p + sizeof(json) - 1))) {
        api_send_error(req, 415, NULL,
                       "Content-Type '%.64s' is not accepted: send "
                       "application/json in UTF-8", ct);
        return -1;
    }
    return 0;
}

/* Read into buf until it is full, the body ends, or the deadline. */
static int read_some(struct api_request *req, char *buf, size_t want,
                     size_t *got, uint64_t deadline)
{
    while (want > 0) {
        int n = mg_read(req->conn, buf + *got, want);

        if (n <= 0)
            return n;
        *got += (size_t)n;
        want -= (size_t)n;
        if (api_now_ns() >= deadline)
            return -1;
    }
    return 1;
}

int api_read_body(struct api_request *req, char **out, size_t *len_out)
{
    const struct api_server *srv = req->srv;
    uint64_t deadline;
    size_t got = 0, cap;
    char *buf;
    int rc = 1, fired;

    if (!req->chunked && req->content_length < 0) {
        api_send_error(req, 400, NULL,
                       "the body needs a Content-Length or chunked "
                       "Transfer-Encoding");
        return -1;
    }
    if (!req->chunked && (unsigned long long)req->content_length >
                             (unsigned long long)srv->max_body) {
        api_send_error(req, 413, NULL,
                       "the body is %lld bytes, over the limit of %zu",
                       req->content_length, srv->max_body);
        return -1;
    }
    if (req->chunked)
        cap = srv->max_body + 1 < CHUNKED_FIRST_READ ? srv->max_body + 1
                                                     : CHUNKED_FIRST_READ;
    else
        cap = (size_t)req->content_length;
    /* The body lives on the heap: a worker's stack is 100 KiB. */
    buf = malloc(cap + 1);
    if (buf == NULL) {
        api_send_error(req, 503, API_RETRY_AFTER, "out of memory");
        return -1;
    }

    deadline = req->start_ns + (uint64_t)srv->request_timeout_ms * 1000000u;
    api_deadline_arm(srv->deadlines, req->slot, deadline);
    for (;;) {
        rc = read_some(req, buf, cap - got, &got, deadline);
        if (rc <= 0 || !req->chunked || got > srv->max_body)
            break;
        /* The chunked buffer is full and the body goes on: grow it. */
        cap = cap * 2 > srv->max_body + 1 ? srv->max_body + 1 : cap * 2;
        {
            char *bigger = realloc(buf, cap + 1);

            if (bigger == NULL) {
                rc = -2;
                break;
            }
            buf = bigger;
        }
    }
    fired = api_deadline_disarm(srv->deadlines, req->slot);

    if (req->chunked ? rc == 0 && got <= srv->max_body : got == cap) {
        req->body_unread = req->chunked; /* CivetWeb may leave a trailer */
        buf[got] = '\0';
        *out = buf;
        *len_out = got;
        return 0;
    }
    if (atomic_load(&srv->stopping))
        api_send_error(req, 503, API_RETRY_AFTER,
                       "the server is stopping: send the report again");
    else if (fired || api_now_ns() >= deadline)
        api_send_error(req, 408, NULL,
                       "the body did not arrive within %u ms",
                       srv->request_timeout_ms);
    else if (rc == -2)
        api_send_error(req, 503, API_RETRY_AFTER, "out of memory");
    else if (got > srv->max_body)
        api_send_error(req, 413, NULL,
                       "the chunked body is over the limit of %zu bytes",
                       srv->max_body);
    else if (req->chunked)
        api_send_error(req, 400, NULL,
                       "the chunked body is malformed or ended early");
    else
        api_send_error(req, 400, NULL,
                       "the body ended after %zu bytes of %lld", got,
                       req->content_length);
    free(buf);
    return -1;
}
