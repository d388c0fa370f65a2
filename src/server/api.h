/* SPDX-License-Identifier: MIT */
/* Declarations shared by the files of osinspect-api: the server state, one
 * request in flight, and what each file offers the others. */
#ifndef OSINSPECT_API_H
#define OSINSPECT_API_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <civetweb.h>

#include <osinspect/osinspect.h>

#define API_PROG "osinspect-api"

/* The header of a 503: how long the client should wait before retrying. */
#define API_RETRY_AFTER "Retry-After: 5\r\n"

struct api_deadlines;
struct api_deadline_slot;

/* Set up by main before the first request; read-only afterwards. */
struct api_server {
    struct osi_store *store;
    size_t max_body;                 /* bytes */
    unsigned int request_timeout_ms; /* also the deadline of a whole body */
    struct api_deadlines *deadlines;
    atomic_int stopping;             /* set on SIGTERM/SIGINT */
};

/* One request, from the first byte of its answer to its log line. Lives on
 * a worker's stack, which is 100 KiB: nothing large goes in here. */
struct api_request {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    const struct api_server *srv;
    struct api_deadline_slot *slot; /* this worker's body deadline */
    uint64_t start_ns;
    const char *method;         /* "-" when CivetWeb could not parse it */
    const char *path;           /* decoded, before dot-segment removal */
    const char *query;          /* raw, or NULL */
    long long content_length;   /* -1 when none was sent */
    int chunked;                /* Transfer-Encoding: chunked */
    int gzip;                   /* Content-Encoding: gzip */
    int body_unread;            /* some body bytes may still be in flight */
    int status;                 /* sent status, 0 until answered */
    size_t bytes;               /* body bytes sent */
};

/* A growing text buffer with room reserved in front for the response
 * headers, so an answer goes out in one write without copying its body. */
#define API_HEADROOM 512
struct api_buf {
    char *mem;  /* API_HEADROOM bytes, then the body */
    size_t len; /* body bytes */
    size_t cap; /* body capacity */
    int failed; /* an allocation failed: the content is incomplete */
};

/* jsonbuf.c */
void api_buf_init(struct api_buf *b);
void api_buf_free(struct api_buf *b);
/* Room for n more body bytes in one allocation; -1 (and the buffer
 * failed) when there is none. */
int api_buf_reserve(struct api_buf *b, size_t n);
void api_buf_add(struct api_buf *b, const char *s, size_t n);
void api_buf_adds(struct api_buf *b, const char *s);
/* Append s as a JSON string, quoted; bytes that are not UTF-8 become
 * U+FFFD so the answer stays valid JSON whatever a message quotes. */
void api_buf_add_json_string(struct api_buf *b, const char *s);
static inline char *api_buf_body(const struct api_buf *b)
{
    return b->mem + API_HEADROOM;
}

/* http.c: answers. Each one sets req->status and req->bytes. */
void api_send(struct api_request *req, int status, const char *extra_headers,
              struct api_buf *body);
void api_send_error(struct api_request *req, int status,
                    const char *extra_headers, const char *fmt, ...)
    OSI_PRINTF(4, 5);
/* Answer a failed library call: its status picks the HTTP status. */
void api_send_osi_error(struct api_request *req, const struct osi_error *err);
/* Close the connection after this answer (the body was not read). */
void api_must_close(struct api_request *req);
/* The civetweb callbacks; user data is the struct api_server. */
void api_callbacks_init(struct mg_callbacks *cb);

/* handlers.c: one function per endpoint. */
void api_post_report(struct api_request *req);
void api_get_report(struct api_request *req);
void api_get_reports(struct api_request *req);
void api_get_hosts(struct api_request *req);
void api_get_health(struct api_request *req);

/* limits.c: checks made before any body byte is read, and the body read
 * itself. Each returns 0 to go on, or -1 once it has answered. */
int api_check_framing(struct api_request *req);
int api_check_content_type(struct api_request *req);
int api_read_body(struct api_request *req, char **out, size_t *len_out);

/* gzip.c: replace a gzip body by its inflated text (capped at max_body),
 * or answer 400/413 and return -1. */
int api_inflate_body(struct api_request *req, char **body, size_t *len);

/* deadline.c: a watchdog that interrupts a worker blocked reading a body
 * past its deadline (CivetWeb only bounds each read, not the whole body).
 * Start it from main before any other thread. */
int api_deadlines_start(struct api_deadlines **out, char *msg,
                        size_t msg_size);
/* The server stops: interrupt every body read now and from now on. */
void api_deadlines_cut(struct api_deadlines *dl);
void api_deadlines_stop(struct api_deadlines *dl);
struct api_deadline_slot *api_deadlines_join(struct api_deadlines *dl);
void api_deadlines_leave(struct api_deadlines *dl,
                         struct api_deadline_slot *slot);
void api_deadline_arm(struct api_deadlines *dl, struct api_deadline_slot *slot,
                      uint64_t deadline_ns);
/* Returns non-zero when the deadline fired while armed. */
int api_deadline_disarm(struct api_deadlines *dl,
                        struct api_deadline_slot *slot);

/* log.c */
/* Room for a 64-bit number in decimal, NUL included. */
#define API_UINT_MAX 21
/* Write v in decimal with a NUL; returns its length. */
size_t api_utoa(char buf[API_UINT_MAX], uint64_t v);
uint64_t api_now_ns(void);
void api_log(const char *fmt, ...) OSI_PRINTF(1, 2);
void api_log_request(const struct api_request *req);
/* Write what is queued and end the log's thread; later lines are written
 * by their callers. */
void api_log_stop(void);

#endif /* OSINSPECT_API_H */
