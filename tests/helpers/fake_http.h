/* SPDX-License-Identifier: MIT */
/* An in-process HTTP/1.1 server on 127.0.0.1 for the sender's tests:
 * answers from a script, records every request, can cut a connection
 * after reading a request and can be stopped (connection refused) and
 * started again on the same port. One thread, plain sockets. */
#ifndef FAKE_HTTP_H
#define FAKE_HTTP_H

#include <stddef.h>

/* A request as the server saw it. */
struct fake_http_request {
    char method[16];
    char path[256];
    char *headers;     /* the header lines, "Name: value\r\n" each */
    char *body;        /* NUL-terminated; inflated when it came gzipped */
    size_t body_len;
    int gzipped;       /* it came with Content-Encoding: gzip */
    unsigned int conn; /* which accepted connection (1, 2, ...) */
};

struct fake_http;

/* Listen on 127.0.0.1, a port of the kernel's choice. NULL on failure. */
struct fake_http *fake_http_start(void);

/* Stop (when running) and free everything. Accepts NULL. */
void fake_http_free(struct fake_http *f);

/* Close the listening socket and every connection: connecting now is
 * refused. */
void fake_http_stop(struct fake_http *f);

/* Listen again on the same port. 0 on success. */
int fake_http_restart(struct fake_http *f);

/* "http://127.0.0.1:<port>/report" (valid until fake_http_free). */
const char *fake_http_url(const struct fake_http *f);

/* Queue an answer for the next unanswered request: status, extra header
 * lines (NULL, or "Retry-After: 1" with "\r\n" between several) and body
 * (NULL for none). When the queue is empty, requests get
 * 200 {"status":"success"}. */
void fake_http_push(struct fake_http *f, int status, const char *headers,
                    const char *body);

/* Queue an answer sent byte for byte as raw (a status line, headers and
 * a body the test wrote), after which the connection is closed when
 * close_after is non-zero (without saying so in the answer, as a server
 * that closes idle connections does) and kept otherwise. */
void fake_http_push_raw(struct fake_http *f, const char *raw,
                        int close_after);

/* Queue a lost acknowledgement: the request is read and recorded, then
 * the connection is closed without an answer. */
void fake_http_push_cut(struct fake_http *f);

/* Queue a silence: the request is read and recorded, and never answered
 * (the client times out). */
void fake_http_push_silent(struct fake_http *f);

/* Requests received so far, and one of them (NULL past the end). */
size_t fake_http_count(struct fake_http *f);
const struct fake_http_request *fake_http_request(struct fake_http *f,
                                                  size_t i);

/* Connections accepted so far. */
unsigned int fake_http_connections(struct fake_http *f);

/* The value of a request header (case-insensitive name) copied into buf;
 * NULL when absent. */
const char *fake_http_header(const struct fake_http_request *r,
                             const char *name, char *buf, size_t size);

#endif /* FAKE_HTTP_H */
