/* SPDX-License-Identifier: MIT */
/* The fake HTTP server of the sender's tests (fake_http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "fake_http.h"

#define MAX_REQUESTS 4096
#define MAX_SCRIPT 64
#define MAX_CONNS 16

struct answer {
    int status; /* 0: cut the connection; -1: never answer */
    char *headers;
    char *body;
    char *raw;      /* sent as it is instead of an answer made up here */
    int close_after; /* close the connection after the answer */
};

struct conn {
    int fd;
    unsigned int number;
    char *buf;
    size_t len, cap;
};

struct fake_http {
    pthread_mutex_t lock;
    pthread_t thread;
    int running;
    int listen_fd;
    int wake[2];
    unsigned short port;
    char url[64];
    struct answer script[MAX_SCRIPT];
    size_t script_head, script_len;
    struct fake_http_request *requests[MAX_REQUESTS];
    size_t nrequests;
    unsigned int nconns;
    struct conn conns[MAX_CONNS];
};

static char *dup_str(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static int listen_on(struct fake_http *f)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(f->port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
        close(fd);
        return -1;
    }
    f->port = ntohs(sa.sin_port);
    f->listen_fd = fd;
    return 0;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    return "Whatever";
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Inflate a gzip body; NULL when it is not gzip. */
static char *inflate_body(const char *in, size_t len, size_t *out_len)
{
    z_stream zs;
    size_t cap = len * 4 + 1024, n = 0;
    char *out = malloc(cap);
    int rc;

    if (out == NULL)
        return NULL;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        free(out);
        return NULL;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    do {
        if (cap - n < 1024) {
            char *bigger = realloc(out, cap * 2);
            if (bigger == NULL)
                break;
            out = bigger;
            cap *= 2;
        }
        zs.next_out = (Bytef *)out + n;
        zs.avail_out = (uInt)(cap - n - 1);
        rc = inflate(&zs, Z_NO_FLUSH);
        n = zs.total_out;
    } while (rc == Z_OK);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

const char *fake_http_header(const struct fake_http_request *r,
                             const char *name, char *buf, size_t size)
{
    size_t nlen = strlen(name);

    for (const char *p = r->headers; *p != '\0';) {
        const char *eol = strstr(p, "\r\n");
        size_t llen = eol ? (size_t)(eol - p) : strlen(p);

        if (llen > nlen && strncasecmp(p, name, nlen) == 0 &&
            p[nlen] == ':') {
            const char *v = p + nlen + 1;
            size_t vlen;

            while (*v == ' ' || *v == '\t')
                v++;
            vlen = (size_t)(p + llen - v);
            if (vlen >= size)
                vlen = size - 1;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        if (eol == NULL)
            break;
        p = eol + 2;
    }
    return NULL;
}

/* Handle the request at the start of c->buf, if complete. Returns the
 * bytes it took, 0 when more are needed, -1 to close the connection. */
static long handle_request(struct fake_http *f, struct conn *c)
{
    const char *end, *line_end;
    struct fake_http_request *r;
    struct fake_http_request probe;
    struct answer a = { 200, NULL, NULL, NULL, 0 };
    size_t head_len, body_len = 0, total;
    char value[64], *response;
    int n, cut = 0;

    c->buf[c->len] = '\0';
    end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL)
        return 0;
    head_len = (size_t)(end - c->buf) + 4;
    line_end = strstr(c->buf, "\r\n");
    probe.headers = (char *)line_end + 2;
    /* the header block ends at the blank line: cut it there for lookups */
    c->buf[head_len - 2] = '\0';
    if (fake_http_header(&probe, "Content-Length", value, sizeof(value)))
        body_len = strtoul(value, NULL, 10);
    total = head_len + body_len;
    if (c->len < total) {
        c->buf[head_len - 2] = '\r';
        return 0;
    }

    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -1;
    sscanf(c->buf, "%15s %255s", r->method, r->path);
    r->headers = strndup(line_end + 2, (size_t)(end + 2 - (line_end + 2)));
    r->conn = c->number;
    if (fake_http_header(&probe, "Content-Encoding", value, sizeof(value)) &&
        strcasecmp(value, "gzip") == 0) {
        r->gzipped = 1;
        r->body = inflate_body(c->buf + head_len, body_len, &r->body_len);
    } else {
        r->body = strndup(c->buf + head_len, body_len);
        r->body_len = body_len;
    }
    if (r->body == NULL)
        r->body = strdup("");

    pthread_mutex_lock(&f->lock);
    if (f->nrequests < MAX_REQUESTS)
        f->requests[f->nrequests++] = r;
    else
        r = NULL;
    if (f->script_head < f->script_len) {
        a = f->script[f->script_head];
        f->script[f->script_head].headers = NULL;
        f->script[f->script_head].body = NULL;
        f->script[f->script_head].raw = NULL;
        f->script_head++;
        cut = a.status == 0;
    }
    pthread_mutex_unlock(&f->lock);
    if (r == NULL || cut || a.status < 0) {
        free(a.headers);
        free(a.body);
        free(a.raw);
        /* silent: the request is taken, the client waits in vain */
        return r != NULL && a.status < 0 ? (long)total : -1;
    }

    if (a.raw != NULL) {
        int bad = send_all(c->fd, a.raw, strlen(a.raw));

        free(a.raw);
        return bad || a.close_after ? -1 : (long)total;
    }
    {
        /* Only an answer from the empty queue has no body. */
        const char *body = a.body ? a.body : "{\"status\":\"success\"}";
        const char *hdr = a.headers ? a.headers : "";
        const char *sep = a.headers && strlen(a.headers) >= 2 &&
                          strcmp(a.headers + strlen(a.headers) - 2, "\r\n")
                              ? "\r\n" : "";

        n = asprintf(&response,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s%s\r\n%s",
                     a.status, reason_phrase(a.status), strlen(body), hdr,
                     sep, body);
    }
    free(a.headers);
    free(a.body);
    if (n < 0 || send_all(c->fd, response, (size_t)n) != 0) {
        if (n >= 0)
            free(response);
        return -1;
    }
    free(response);
    return (long)total;
}

static void close_conn(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

static void read_conn(struct fake_http *f, struct conn *c)
{
    ssize_t r;
    long used;

    if (c->cap - c->len < 4097) {
        char *bigger = realloc(c->buf, c->cap + 65536);

        if (bigger == NULL) {
            close_conn(c);
            return;
        }
        c->buf = bigger;
        c->cap += 65536;
    }
    r = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
    if (r <= 0) {
        close_conn(c);
        return;
    }
    c->len += (size_t)r;
    while ((used = handle_request(f, c)) > 0) {
        memmove(c->buf, c->buf + used, c->len - (size_t)used);
        c->len -= (size_t)used;
    }
    if (used < 0)
        close_conn(c);
}

static void *serve(void *arg)
{
    struct fake_http *f = arg;

    for (;;) {
        struct pollfd pfd[2 + MAX_CONNS];
        int map[2 + MAX_CONNS];
        nfds_t n = 0;

        pfd[n].fd = f->wake[0];
        pfd[n++].events = POLLIN;
        pfd[n].fd = f->listen_fd;
        pfd[n++].events = POLLIN;
        for (int i = 0; i < MAX_CONNS; i++) {
            if (f->conns[i].fd < 0)
                continue;
            map[n] = i;
            pfd[n].fd = f->conns[i].fd;
            pfd[n++].events = POLLIN;
        }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents)
            break; /* told to stop */
        if (pfd[1].revents & POLLIN) {
            int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);

            if (fd >= 0) {
                int slot = -1;

                for (int i = 0; i < MAX_CONNS && slot < 0; i++)
                    if (f->conns[i].fd < 0)
                        slot = i;
                if (slot < 0) {
                    close(fd);
                } else {
                    pthread_mutex_lock(&f->lock);
                    f->conns[slot].number = ++f->nconns;
                    pthread_mutex_unlock(&f->lock);
                    f->conns[slot].fd = fd;
                }
            }
        }
        for (nfds_t i = 2; i < n; i++)
            if (pfd[i].revents)
                read_conn(f, &f->conns[map[i]]);
    }
    return NULL;
}

static int launch(struct fake_http *f)
{
    sigset_t all, old;
    int rc;

    if (listen_on(f) != 0)
        return -1;
    if (pipe2(f->wake, O_CLOEXEC) != 0) {
        close(f->listen_fd);
        return -1;
    }
    /* The server thread takes no signal: those of a test are meant for
     * the code under test, on the main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&f->thread, NULL, serve, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(f->listen_fd);
        close(f->wake[0]);
        close(f->wake[1]);
        return -1;
    }
    f->running = 1;
    return 0;
}

struct fake_http *fake_http_start(void)
{
    struct fake_http *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        f->conns[i].fd = -1;
    if (launch(f) != 0) {
        pthread_mutex_destroy(&f->lock);
        free(f);
        return NULL;
    }
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/report",
             (unsigned int)f->port);
    return f;
}

void fake_http_stop(struct fake_http *f)
{
    if (!f->running)
        return;
    if (write(f->wake[1], "x", 1) != 1)
        abort();
    pthread_join(f->thread, NULL);
    f->running = 0;
    close(f->wake[0]);
    close(f->wake[1]);
    close(f->listen_fd);
    f->listen_fd = -1;
    for (int i = 0; i < MAX_CONNS; i++)
        close_conn(&f->conns[i]);
}

int fake_http_restart(struct fake_http *f)
{
    if (f->running)
        return 0;
    return launch(f);
}

void fake_http_free(struct fake_http *f)
{
    if (f == NULL)
        return;
    fake_http_stop(f);
    for (size_t i = 0; i < f->nrequests; i++) {
        free(f->requests[i]->headers);
        free(f->requests[i]->body);
        free(f->requests[i]);
    }
    for (size_t i = f->script_head; i < f->script_len; i++) {
        free(f->script[i].headers);
        free(f->script[i].body);
        free(f->script[i].raw);
    }
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *fake_http_url(const struct fake_http *f)
{
    return f->url;
}

static void push(struct fake_http *f, int status, const char *headers,
                 const char *body)
{
    pthread_mutex_lock(&f->lock);
    if (f->script_len < MAX_SCRIPT) {
        struct answer *a = &f->script[f->script_len++];

        memset(a, 0, sizeof(*a));
        a->status = status;
        a->headers = dup_str(headers);
        a->body = dup_str(body);
    }
    pthread_mutex_unlock(&f->lock);
}

void fake_http_push_raw(struct fake_http *f, const char *raw, int close_after)
{
    pthread_mutex_lock(&f->lock);
    if (f->script_len < MAX_SCRIPT) {
        struct answer *a = &f->script[f->script_len++];

        memset(a, 0, sizeof(*a));
        a->status = 200;
        a->raw = dup_str(raw);
        a->close_after = close_after;
    }
    pthread_mutex_unlock(&f->lock);
}

void fake_http_push(struct fake_http *f, int status, const char *headers,
                    const char *body)
{
    push(f, status, headers, body != NULL ? body : "");
}

void fake_http_push_cut(struct fake_http *f)
{
    push(f, 0, NULL, NULL);
}

void fake_http_push_silent(struct fake_http *f)
{
    push(f, -1, NULL, NULL);
}

size_t fake_http_count(struct fake_http *f)
{
    size_t n;

    pthread_mutex_lock(&f->lock);
    n = f->nrequests;
    pthread_mutex_unlock(&f->lock);
    return n;
}

const struct fake_http_request *fake_http_request(struct fake_http *f,
                                                  size_t i)
{
    const struct fake_http_request *r = NULL;

    pthread_mutex_lock(&f->lock);
    if (i < f->nrequests)
        r = f->requests[i];
    pthread_mutex_unlock(&f->lock);
    return r;
}

unsigned int fake_http_connections(struct fake_http *f)
{
    unsigned int n;

    pthread_mutex_lock(&f->lock);
    n = f->nconns;
    pthread_mutex_unlock(&f->lock);
    return n;
}
