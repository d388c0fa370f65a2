/* SPDX-License-Identifier: MIT */
/* The HTTP side: CivetWeb's callbacks, routing a request to its handler,
 * and writing answers (JSON, Content-Length, one write each). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"

static const struct route {
    const char *path;
    void (*get)(struct api_request *req);
    void (*post)(struct api_request *req);
    const char *allow;
} routes[] = {
    { "/report", api_get_report, api_post_report, "GET, POST" },
    { "/collect", NULL, api_post_report, "POST" },
    { "/reports", api_get_reports, NULL, "GET" },
    { "/hosts", api_get_hosts, NULL, "GET" },
    { "/health", api_get_health, NULL, "GET" },
};

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

/* True when the comma-separated header value holds token. */
static int has_token(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    const char *p = value;

    while (*p != '\0') {
        const char *end;
        size_t len;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        for (end = p; *end != ',' && *end != '\0'; end++)
            ;
        len = (size_t)(end - p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == tlen && strncasecmp(p, token, len) == 0)
            return 1;
        p = end;
    }
    return 0;
}

/* The same choice as CivetWeb's should_keep_alive(), so the Connection
 * header we send says what it will do; plus: a body left unread ends the
 * connection, since its bytes would be read as the next request. */
static int keep_alive(const struct api_request *req)
{
    const char *c;

    if (req->body_unread)
        return 0;
    c = mg_get_header(req->conn, "Connection");
    if (c != NULL)
        return has_token(c, "keep-alive");
    return req->ri->http_version != NULL &&
           strcmp(req->ri->http_version, "1.1") == 0;
}

void api_must_close(struct api_request *req)
{
    req->body_unread = 1;
}

/* The Date header's value, made again once a second by each thread:
 * strftime per answer cost 2 % of GET /health. */
static const char *http_date(void)
{
    static _Thread_local time_t made = (time_t)-1;
    static _Thread_local char date[40];
    time_t now = time(NULL);
    struct tm tm;

    if (now != made) {
        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        made = now;
    }
    return date;
}

/* Append s to buf at at; size (never a valid end) once it does not fit. */
static size_t append(char *buf, size_t at, size_t size, const char *s)
{
    size_t n = strlen(s);

    if (at >= size || n >= size - at)
        return size;
    memcpy(buf + at, s, n);
    return at + n;
}

/* The head of an answer, built by hand: snprintf was the dearest part of
 * answering GET /health. 0 when it does not fit. */
static size_t format_head(struct api_request *req, char *head, size_t size,
                          int status, const char *extra, size_t body_len)
{
    char num[API_UINT_MAX];
    int keep = keep_alive(req);
    size_t n;

    if (!keep)
        mg_disable_connection_keep_alive(req->conn);
    api_utoa(num, (uint64_t)status);
    n = append(head, 0, size, "HTTP/1.1 ");
    n = append(head, n, size, num);
    n = append(head, n, size, " ");
    n = append(head, n, size, reason(status));
    n = append(head, n, size, "\r\nDate: ");
    n = append(head, n, size, http_date());
    n = append(head, n, size, "\r\nContent-Type: application/json\r\n"
                              "Content-Length: ");
    api_utoa(num, body_len);
    n = append(head, n, size, num);
    n = append(head, n, size, "\r\nCache-Control: no-store\r\nConnection: ");
    n = append(head, n, size, keep ? "keep-alive\r\n" : "close\r\n");
    n = append(head, n, size, extra ? extra : "");
    n = append(head, n, size, "\r\n");
    return n >= size ? 0 : n;
}

/* The answer when even the answer could not be built. */
static void send_out_of_memory(struct api_request *req)
{
    static const char body[] = "{\"error\":\"out of memory\"}\n";
    char msg[API_HEADROOM + sizeof(body)];
    size_t hlen;

    api_must_close(req);
    hlen = format_head(req, msg, API_HEADROOM, 503, API_RETRY_AFTER,
                       sizeof(body) - 1);
    memcpy(msg + hlen, body, sizeof(body) - 1);
    req->status = 503;
    if (mg_write(req->conn, msg, hlen + sizeof(body) - 1) > 0)
        req->bytes = sizeof(body) - 1;
}

void api_send(struct api_request *req, int status, const char *extra_headers,
              struct api_buf *body)
{
    char head[API_HEADROOM];
    size_t hlen;

    api_buf_add(body, "\n", 1);
    if (body->failed) {
        send_out_of_memory(req);
        return;
    }
    hlen = format_head(req, head, sizeof(head), status, extra_headers,
                       body->len);
    if (hlen == 0) {
        send_out_of_memory(req);
        return;
    }
    req->status = status;
    if (strcmp(req->method, "HEAD") == 0) {
        /* The headers of the answer a GET would get, never its body. */
        mg_write(req->conn, head, hlen);
        return;
    }
    /* The headers go right before the body, in the room kept for them. */
    memcpy(api_buf_body(body) - hlen, head, hlen);
    if (mg_write(req->conn, api_buf_body(body) - hlen, hlen + body->len) > 0)
        req->bytes = body->len;
}

void api_send_error(struct api_request *req, int status,
                    const char *extra_headers, const char *fmt, ...)
{
    char msg[512];
    struct api_buf body;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    api_buf_init(&body);
    api_buf_adds(&body, "{\"error\":");
    api_buf_add_json_string(&body, msg);
    api_buf_adds(&body, "}");
    api_send(req, status, extra_headers, &body);
    api_buf_free(&body);
}

void api_send_osi_error(struct api_request *req, const struct osi_error *err)
{
    const char *msg = err->message[0] != '\0' ? err->message
                                              : osi_status_str(err->status);

    switch (err->status) {
    case OSI_EINVAL:
    case OSI_EPARSE:
        api_send_error(req, 400, NULL, "%s", msg);
        break;
    case OSI_ENOTFOUND:
        api_send_error(req, 404, NULL, "%s", msg);
        break;
    default:
        /* The store failed, timed out or ran out of memory: nothing was
         * lost, and the client can try again. */
        api_send_error(req, 503, API_RETRY_AFTER, "%s", msg);
        break;
    }
}

static void route(struct api_request *req)
{
    const char *method = req->method;
    size_t i;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];
        char allow[64];

        if (strcmp(req->path, r->path) != 0)
            continue;
        if (strcmp(method, "GET") == 0 && r->get != NULL) {
            r->get(req);
        } else if (strcmp(method, "POST") == 0 && r->post != NULL) {
            r->post(req);
        } else {
            snprintf(allow, sizeof(allow), "Allow: %s\r\n", r->allow);
            api_send_error(req, 405, allow,
                           "method %.32s is not allowed on %s: use %s",
                           method, r->path, r->allow);
        }
        return;
    }
    api_send_error(req, 404, NULL, "no such endpoint: %.128s", req->path);
}

static void request_init(struct api_request *req, struct mg_connection *conn)
{
    memset(req, 0, sizeof(*req));
    req->start_ns = api_now_ns();
    req->conn = conn;
    req->ri = mg_get_request_info(conn);
    req->srv = mg_get_user_data(mg_get_context(conn));
    req->slot = mg_get_thread_pointer(conn);
    req->content_length = -1;
    req->method = req->ri->request_method ? req->ri->request_method : "-";
    req->query = req->ri->query_string;
    /* Routing uses the decoded path before CivetWeb removes dot segments:
     * "/x/../health" is not "/health". */
    req->path = req->ri->local_uri_raw ? req->ri->local_uri_raw
                                       : req->ri->local_uri;
    if (req->path == NULL)
        req->path = "";
}

static int on_begin_request(struct mg_connection *conn)
{
    struct api_request req;

    request_init(&req, conn);
    if (api_check_framing(&req) == 0)
        route(&req);
    api_log_request(&req);
    return req.status;
}

/* Errors CivetWeb finds itself (a malformed request line, headers over
 * its buffer, a Content-Length that is not a number, ...): answered in the
 * same JSON shape, and the connection closed. */
static int on_http_error(struct mg_connection *conn, int status,
                         const char *msg)
{
    struct api_request req;

    request_init(&req, conn);
    /* What CivetWeb parsed of a request it refused may be stale. */
    req.method = "-";
    req.path = "-";
    req.query = NULL;
    api_must_close(&req);
    /* CivetWeb says 411 for a Content-Length it cannot read. */
    if (status == 411)
        status = 400;
    if (status < 400 || status > 599)
        status = 500;
    api_send_error(&req, status, NULL, "%s",
                   msg != NULL && msg[0] != '\0' ? msg : reason(status));
    api_log_request(&req);
    return 0;
}

static int on_log_message(const struct mg_connection *conn,
                          const char *message)
{
    (void)conn;
    api_log("civetweb: %s", message);
    return 1;
}

static void *on_init_thread(const struct mg_context *ctx, int thread_type)
{
    const struct api_server *srv = mg_get_user_data(ctx);

    /* 1: a worker, which reads bodies and so needs a deadline slot. */
    return thread_type == 1 ? api_deadlines_join(srv->deadlines) : NULL;
}

static void on_exit_thread(const struct mg_context *ctx, int thread_type,
                           void *thread_pointer)
{
    const struct api_server *srv = mg_get_user_data(ctx);

    if (thread_type == 1)
        api_deadlines_leave(srv->deadlines, thread_pointer);
}

void api_callbacks_init(struct mg_callbacks *cb)
{
    memset(cb, 0, sizeof(*cb));
    cb->begin_request = on_begin_request;
    cb->http_error = on_http_error;
    cb->log_message = on_log_message;
    cb->init_thread = on_init_thread;
    cb->exit_thread = on_exit_thread;
}
