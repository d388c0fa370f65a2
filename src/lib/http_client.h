/* SPDX-License-Identifier: MIT */
/* The HTTP/1.1 client for http:// URLs of the sender and of the S3 store's
 * writes: one kept connection on a plain socket, so that sending over http
 * needs no libcurl (docs/sending.md), and the S3 store reads the real
 * status line and headers of its PUTs (docs/storage.md). */
#ifndef OSINSPECT_HTTP_CLIENT_H
#define OSINSPECT_HTTP_CLIENT_H

#include <stddef.h>

/* Failures are told with libcurl's codes (the header only: nothing of
 * libcurl is loaded), so that a failure has the same cause, classification
 * and text whichever client met it. */
#include <curl/curl.h>

#include "internal.h"

struct osip_http;

struct osip_http_options {
    const char *url;        /* http://host[:port]/path */
    const char *user_agent; /* the User-Agent value */
    const char *token;      /* Authorization: Bearer; NULL for none */
    unsigned int connect_timeout_ms, timeout_ms; /* both non-zero */
};

/* What one request came to. */
struct osip_http_answer {
    CURLcode cc;         /* CURLE_OK: status and body are the server's */
    long status;         /* 0 when no answer */
    long retry_after_s;  /* Retry-After, capped; 0 when none or past */
    size_t body_len;     /* bytes of the body kept in the caller's buffer */
    char message[CURL_ERROR_SIZE]; /* what failed, when cc is not OK */
};

/* Parse url (http only: host a name, an IPv4 or a bracketed IPv6 address,
 * port 1-65535, default 80; no user, no fragment) and make a client that
 * opens no connection yet. OSI_EINVAL with a message for a URL it cannot
 * use; OSI_ENOMEM. Free with osip_http_free. */
enum osi_status osip_http_new(const struct osip_http_options *opts,
                              struct osip_http **out, struct osi_error *err);

/* Close the connection and free the client. Accepts NULL. */
void osip_http_free(struct osip_http *h);

/* POST body (len bytes; gzipped: with Content-Encoding: gzip) as JSON on
 * the kept connection, or a new one, within the timeouts. The first
 * body_max bytes of the answer's body go to body (not NUL-terminated). A
 * kept connection that the server closed while idle is replaced and the
 * request sent again, once, when no byte of an answer came back. */
void osip_http_post(struct osip_http *h, const char *body, size_t len,
                    int gzipped, char *body_buf, size_t body_max,
                    struct osip_http_answer *a);

/* One request for osip_http_request. Nothing is kept after the call. */
struct osip_http_request {
    const char *method; /* "PUT", "HEAD", "GET": GET and HEAD send no body */
    const char *target; /* "/path", escaped as it is to be sent */
    const char *headers; /* more header lines, each ending in CR LF, or
                          * NULL; Host, User-Agent and Content-Length are
                          * the client's */
    const char *body;
    size_t len;
    unsigned int timeout_ms; /* connect and answer; 0: the client's */
    /* Called for each header of the final answer (name and value without
     * surrounding blanks, valid during the call); NULL for none. */
    void (*on_header)(const char *name, const char *value, void *payload);
    void *payload;
};

/* Send one request on the kept connection, or a new one, and read its
 * answer as osip_http_post does (the same resending of a request that met
 * a connection the server had closed while idle: use it for idempotent
 * requests only). The answer to a HEAD has no body. */
void osip_http_request(struct osip_http *h, const struct osip_http_request *r,
                       char *body_buf, size_t body_max,
                       struct osip_http_answer *a);

/* libcurl's short text for the codes osip_http_post sets. */
const char *osip_http_strerror(CURLcode cc);

#endif /* OSINSPECT_HTTP_CLIENT_H */
