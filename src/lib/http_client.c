/* SPDX-License-Identifier: MIT */
/* The sender's HTTP/1.1 client for http:// URLs (http_client.h): URL
 * parsing, connecting with timeouts, one kept connection, the request, and
 * reading an answer (Content-Length, chunked or until close). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"

/* An answer's status line and each header line must fit in this. */
#define IN_MAX 16384
/* Body bytes read past what the caller keeps, so that the connection can
 * serve the next request; a longer body closes the connection instead. */
#define DRAIN_MAX (64 * 1024)
/* Longest host name (RFC 1035: 253 characters). */
#define HOST_MAX 253

struct osip_http {
    char host[HOST_MAX + 1]; /* without the brackets of an IPv6 address */
    char port[6];
    char *head; /* the request up to Content-Encoding and Content-Length */
    size_t head_len;
    char *common; /* Host and User-Agent lines, for osip_http_request */
    size_t common_len;
    unsigned int connect_timeout_ms, timeout_ms;
    int fd;     /* the kept connection; -1 when none */
    size_t in_off, in_len; /* unread bytes of in[] */
    char in[IN_MAX];
};

/* One attempt: its deadline and what came back so far. */
struct xfer {
    struct osip_http *h;
    struct osip_http_answer *a;
    int64_t start, deadline;
    int got_any; /* a byte of an answer arrived */
    int no_body; /* the answer to a HEAD has none */
    void (*on_header)(const char *name, const char *value, void *payload);
    void *payload;
    char *body;
    size_t body_max, body_seen;
};

/* The parts of an answer's head that matter. */
struct head {
    long status;
    int minor;      /* HTTP/1.<minor> */
    int close;      /* Connection: close */
    int chunked;
    int until_close; /* a body that ends when the connection does */
    int has_length;
    uint64_t length;
};

static int fail(struct xfer *x, CURLcode cc, const char *fmt, ...)
    OSI_PRINTF(3, 4);

/* Set the attempt's failure; returns -1 for the callers to pass on. */
static int fail(struct xfer *x, CURLcode cc, const char *fmt, ...)
{
    va_list ap;

    x->a->cc = cc;
    va_start(ap, fmt);
    vsnprintf(x->a->message, sizeof(x->a->message), fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_timeout(struct xfer *x)
{
    return fail(x, CURLE_OPERATION_TIMEDOUT,
                "Operation timed out after %llu milliseconds with %zu bytes "
                "received", (unsigned long long)(osip_mono_ms() - x->start),
                x->body_seen);
}

const char *osip_http_strerror(CURLcode cc)
{
    /* libcurl's own texts, so that a log line reads the same whichever
     * client met the failure. */
    switch (cc) {
    case CURLE_OK:
        return "No error";
    case CURLE_COULDNT_RESOLVE_HOST:
        return "Couldn't resolve host name";
    case CURLE_COULDNT_CONNECT:
        return "Couldn't connect to server";
    case CURLE_OPERATION_TIMEDOUT:
        return "Timeout was reached";
    case CURLE_SEND_ERROR:
        return "Failed sending data to the peer";
    case CURLE_RECV_ERROR:
        return "Failure when receiving data from the peer";
    case CURLE_GOT_NOTHING:
        return "Server returned nothing (no headers, no data)";
    case CURLE_PARTIAL_FILE:
        return "Transferred a partial file";
    case CURLE_WEIRD_SERVER_REPLY:
        return "Weird server reply";
    case CURLE_OUT_OF_MEMORY:
        return "Out of memory";
    default:
        return "Unknown error";
    }
}

/* -- the URL -------------------------------------------------------------- */

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Split "http://host[:port][/path][?query]" into h->host, h->port and the
 * request target (a pointer into url, or "" for "/"). */
static enum osi_status parse_url(struct osip_http *h, const char *url,
                                 const char **target_out, int *ipv6_out,
                                 struct osi_error *err)
{
    const char *p = url + strlen("http://"), *auth_end, *host_end, *q;
    size_t hlen;

    if (strncasecmp(url, "http://", strlen("http://")) != 0)
        return osip_fail(err, OSI_EINVAL, "\"%.100s\" is not an http URL",
                         url);
    for (q = url; *q != '\0'; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return osip_fail(err, OSI_EINVAL, "\"%.100s\" is not a URL: it "
                             "holds a space, a control character or a "
                             "byte that is not ASCII", url);
    if (strchr(url, '#') != NULL)
        return osip_fail(err, OSI_EINVAL, "\"%.100s\" is not a URL to send "
                         "to: it holds a fragment (#)", url);
    auth_end = p + strcspn(p, "/?");
    if (memchr(p, '@', (size_t)(auth_end - p)) != NULL)
        return osip_fail(err, OSI_EINVAL, "\"%.100s\": a user name or "
                         "password in the URL is not supported (use a "
                         "token)", url);
    *ipv6_out = *p == '[';
    if (*ipv6_out) {
        struct in6_addr a6;

        host_end = memchr(p, ']', (size_t)(auth_end - p));
        hlen = host_end != NULL ? (size_t)(host_end - p - 1) : 0;
        if (host_end == NULL || hlen == 0 || hlen > HOST_MAX)
            return osip_fail(err, OSI_EINVAL, "\"%.100s\" is not a URL: bad "
                             "IPv6 address", url);
        memcpy(h->host, p + 1, hlen);
        h->host[hlen] = '\0';
        if (inet_pton(AF_INET6, h->host, &a6) != 1)
            return osip_fail(err, OSI_EINVAL, "\"%.100s\" is not a URL: bad "
                             "IPv6 address", url);
        host_end++;
    } else {
        host_end = p;
        while (host_end < auth_end && host_char(*host_end))
            host_end++;
        hlen = (size_t)(host_end - p);
        if (hlen == 0 || hlen > HOST_MAX)
            return osip_fail(err, OSI_EINVAL, "\"%.100s\" is not a URL: no "
                             "host name", url);
        memcpy(h->host, p, hlen);
        h->host[hlen] = '\0';
    }
    if (host_end < auth_end && *host_end != ':')
        return osip_fail(err, OSI_EINVAL, "\"%.100s\" is not a URL: bad host "
                         "name", url);
    if (host_end < auth_end && host_end + 1 < auth_end) {
        unsigned long port = 0;
        size_t digits = (size_t)(auth_end - host_end - 1);

        for (q = host_end + 1; q < auth_end && *q >= '0' && *q <= '9'; q++)
            port = port * 10 + (unsigned long)(*q - '0');
        if (q != auth_end || digits > 5 || port == 0 || port > 65535)
            return osip_fail(err, OSI_EINVAL, "\"%.100s\" is not a URL: bad "
                             "port", url);
        snprintf(h->port, sizeof(h->port), "%lu", port);
    } else {
        memcpy(h->port, "80", 3);
    }
    *target_out = auth_end;
    return OSI_OK;
}

enum osi_status osip_http_new(const struct osip_http_options *opts,
                              struct osip_http **out, struct osi_error *err)
{
    struct osip_http *h;
    const char *target = "";
    const char *slash;
    enum osi_status st;
    int ipv6 = 0, n;
    size_t size;

    *out = NULL;
    h = osip_malloc(sizeof(*h));
    if (h == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    memset(h, 0, offsetof(struct osip_http, in));
    h->fd = -1;
    st = parse_url(h, opts->url, &target, &ipv6, err);
    if (st != OSI_OK) {
        free(h);
        return st;
    }
    /* "http://host?q" asks for "/?q". */
    slash = *target == '/' ? "" : "/";
    size = strlen(target) + strlen(h->host) + strlen(opts->user_agent) +
           (opts->token != NULL ? strlen(opts->token) : 0) + 256;
    h->head = osip_malloc(size);
    if (h->head == NULL) {
        free(h);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    /* The port in Host only when it is not the default, as browsers and
     * libcurl do. */
    n = snprintf(h->head, size,
                 "POST %s%s HTTP/1.1\r\n"
                 "Host: %s%s%s%s%s\r\n"
                 "User-Agent: %s\r\n"
                 "Content-Type: application/json\r\n"
                 "%s%s%s"
                 "Connection: keep-alive\r\n",
                 slash, target, ipv6 ? "[" : "", h->host, ipv6 ? "]" : "",
                 strcmp(h->port, "80") != 0 ? ":" : "",
                 strcmp(h->port, "80") != 0 ? h->port : "", opts->user_agent,
                 opts->token != NULL ? "Authorization: Bearer " : "",
                 opts->token != NULL ? opts->token : "",
                 opts->token != NULL ? "\r\n" : "");
    h->head_len = (size_t)n;
    size = strlen(h->host) + strlen(opts->user_agent) + 64;
    h->common = osip_malloc(size);
    if (h->common == NULL) {
        free(h->head);
        free(h);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    n = snprintf(h->common, size, "Host: %s%s%s%s%s\r\nUser-Agent: %s\r\n",
                 ipv6 ? "[" : "", h->host, ipv6 ? "]" : "",
                 strcmp(h->port, "80") != 0 ? ":" : "",
                 strcmp(h->port, "80") != 0 ? h->port : "",
                 opts->user_agent);
    h->common_len = (size_t)n;
    h->connect_timeout_ms = opts->connect_timeout_ms;
    h->timeout_ms = opts->timeout_ms;
    *out = h;
    return OSI_OK;
}

static void close_conn(struct osip_http *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->in_off = h->in_len = 0;
}

void osip_http_free(struct osip_http *h)
{
    if (h == NULL)
        return;
    close_conn(h);
    /* the head holds the token */
    explicit_bzero(h->head, h->head_len);
    free(h->head);
    free(h->common);
    free(h);
}

/* -- the connection ------------------------------------------------------- */

/* Wait until fd is ready for events or the deadline passes (0: ready,
 * -1: time is up, or poll itself failed). A signal does not end the wait:
 * only the backoff wait of the sender is meant to be cut short by one. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = events };
        int64_t now = osip_mono_ms();
        int rc;

        if (now >= deadline)
            return -1;
        rc = poll(&pfd, 1, deadline - now > INT32_MAX
                               ? INT32_MAX : (int)(deadline - now));
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* Connect to one address. The socket on success; -1 with errno. */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
    int one = 1, soerr = 0;
    socklen_t len = sizeof(soerr);

    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR)
            goto fail;
        if (wait_fd(fd, POLLOUT, deadline) != 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
            goto fail;
        if (soerr != 0) {
            errno = soerr;
            goto fail;
        }
    }
    /* The request goes in one write: no reason to wait for an ACK. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    return fd;
fail:
    {
        int saved = errno;

        close(fd);
        errno = saved;
    }
    return -1;
}

/* Resolve the host and connect to each of its addresses in turn. */
static int open_conn(struct xfer *x)
{
    struct osip_http *h = x->h;
    struct addrinfo hints, *list = NULL;
    unsigned char probe[sizeof(struct in6_addr)];
    int64_t deadline = osip_mono_ms() + h->connect_timeout_ms;
    int rc, last_errno = ECONNREFUSED;

    if (deadline > x->deadline)
        deadline = x->deadline;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    /* AI_ADDRCONFIG skips the addresses of a family the host has none
     * of; a literal address is taken as written. */
    if (inet_pton(AF_INET, h->host, probe) == 1 ||
        inet_pton(AF_INET6, h->host, probe) == 1)
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    else
        hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    rc = getaddrinfo(h->host, h->port, &hints, &list);
    if (rc == EAI_MEMORY)
        return fail(x, CURLE_OUT_OF_MEMORY, "Out of memory");
    if (rc != 0)
        return fail(x, CURLE_COULDNT_RESOLVE_HOST,
                    "Could not resolve host: %s (%s)", h->host,
                    gai_strerror(rc));
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        h->fd = connect_one(ai, deadline);
        if (h->fd >= 0)
            break;
        last_errno = errno;
        if (last_errno == ETIMEDOUT && osip_mono_ms() >= deadline)
            break;
    }
    freeaddrinfo(list);
    if (h->fd >= 0)
        return 0;
    if (last_errno == ETIMEDOUT)
        return fail(x, CURLE_OPERATION_TIMEDOUT,
                    "Connection to %s port %s timed out after %llu "
                    "milliseconds", h->host, h->port,
                    (unsigned long long)(osip_mono_ms() - x->start));
    return fail(x, CURLE_COULDNT_CONNECT, "Failed to connect to %s port %s: "
                "%s", h->host, h->port, strerror(last_errno));
}

/* Whether a kept connection is still usable: an idle connection has
 * nothing to read; readable means closed by the server (or junk). */
static int conn_alive(struct osip_http *h)
{
    struct pollfd pfd = { .fd = h->fd, .events = POLLIN };

    return h->in_off == h->in_len && poll(&pfd, 1, 0) == 0;
}

/* Write the whole request (one sendmsg unless the socket buffer is
 * full). MSG_NOSIGNAL: a closed connection is an error, not a SIGPIPE. */
static int send_request(struct xfer *x, struct iovec *iov, int iovcnt)
{
    struct msghdr msg;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)iovcnt;
    while (msg.msg_iovlen > 0) {
        ssize_t w = sendmsg(x->h->fd, &msg, MSG_NOSIGNAL);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return fail(x, CURLE_SEND_ERROR, "Send failure: %s",
                            strerror(errno));
            if (wait_fd(x->h->fd, POLLOUT, x->deadline) != 0)
                return fail_timeout(x);
            continue;
        }
        while (msg.msg_iovlen > 0 && (size_t)w >= msg.msg_iov->iov_len) {
            w -= (ssize_t)msg.msg_iov->iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + w;
            msg.msg_iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* -- reading the answer --------------------------------------------------- */

/* Read more into h->in. 1: read some; 0: the server closed; -1: failed
 * (the failure set). */
static int fill(struct xfer *x)
{
    struct osip_http *h = x->h;

    if (h->in_off > 0) {
        memmove(h->in, h->in + h->in_off, h->in_len - h->in_off);
        h->in_len -= h->in_off;
        h->in_off = 0;
    }
    for (;;) {
        ssize_t r = recv(h->fd, h->in + h->in_len, IN_MAX - h->in_len, 0);

        if (r > 0) {
            h->in_len += (size_t)r;
            x->got_any = 1;
            return 1;
        }
        if (r == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail(x, CURLE_RECV_ERROR, "Recv failure: %s",
                        strerror(errno));
        if (wait_fd(h->fd, POLLIN, x->deadline) != 0)
            return fail_timeout(x);
    }
}

/* The next line of the answer, without its CR LF, NUL-terminated in place
 * (valid until the next read). NULL when it failed (set). */
static char *read_line(struct xfer *x)
{
    struct osip_http *h = x->h;

    for (;;) {
        char *start = h->in + h->in_off;
        char *nl = memchr(start, '\n', h->in_len - h->in_off);
        int rc;

        if (nl != NULL) {
            h->in_off = (size_t)(nl - h->in) + 1;
            if (nl > start && nl[-1] == '\r')
                nl--;
            *nl = '\0';
            return start;
        }
        if (h->in_off == 0 && h->in_len == IN_MAX) {
            fail(x, CURLE_WEIRD_SERVER_REPLY,
                 "A line of the answer is longer than %d bytes", IN_MAX);
            return NULL;
        }
        rc = fill(x);
        if (rc == 0) {
            if (!x->got_any)
                fail(x, CURLE_GOT_NOTHING, "Empty reply from server");
            else
                fail(x, CURLE_PARTIAL_FILE, "The connection closed in the "
                     "middle of the answer");
        }
        if (rc <= 0)
            return NULL;
    }
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
    int64_t era;
    unsigned int yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned int)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* An HTTP date in any of the three forms of RFC 9110 (IMF-fixdate, RFC 850,
 * asctime) as Unix time; -1 when it is not one. Locale-free. */
static int64_t parse_http_date(const char *s)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    int day = -1, month = -1, hh = -1, mm = -1, ss = -1;
    long year = -1;

    while (*s != '\0') {
        size_t len;

        s += strspn(s, " \t,-");
        len = strcspn(s, " \t,-");
        if (len == 0)
            break;
        if (memchr(s, ':', len) != NULL) {
            if (len != 8 || sscanf(s, "%2d:%2d:%2d", &hh, &mm, &ss) != 3)
                return -1;
        } else if (*s >= '0' && *s <= '9') {
            long v = 0;

            for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9' || i >= 4)
                    return -1;
                v = v * 10 + (s[i] - '0');
            }
            if (len == 4)
                year = v;
            else if (day < 0)
                day = (int)v;
            else if (year < 0) /* RFC 850's two digits */
                year = v < 70 ? 2000 + v : 1900 + v;
            else
                return -1;
        } else if (len == 3 && month < 0) {
            for (int i = 0; i < 12; i++)
                if (strncasecmp(s, months + 3 * i, 3) == 0)
                    month = i + 1;
        }
        s += len;
    }
    if (day < 1 || day > 31 || month < 0 || year < 1970 || hh < 0 ||
        hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
        return -1;
    return days_from_civil(year, (unsigned int)month, (unsigned int)day) *
               86400 + hh * 3600 + mm * 60 + ss;
}

/* Retry-After: delay-seconds or an HTTP date; 0 when unusable or past. */
static long retry_after_s(const char *v)
{
    int64_t when;
    long secs = 0;

    if (*v >= '0' && *v <= '9') {
        for (; *v >= '0' && *v <= '9'; v++)
            secs = secs < 100000000 ? secs * 10 + (*v - '0') : secs;
        return *v == '\0' ? secs : 0;
    }
    when = parse_http_date(v);
    if (when < 0 || when <= (int64_t)time(NULL))
        return 0;
    when -= (int64_t)time(NULL);
    return when > 100000000 ? 100000000 : (long)when;
}

/* Whether a comma-separated list of tokens holds token. */
static int has_token(const char *list, const char *token)
{
    size_t tlen = strlen(token);

    while (*list != '\0') {
        size_t len;

        list += strspn(list, " \t,");
        len = strcspn(list, ",");
        while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t'))
            len--;
        if (len == tlen && strncasecmp(list, token, tlen) == 0)
            return 1;
        list += strcspn(list, ",");
    }
    return 0;
}

/* One header line into hd. -1 when the answer cannot be trusted. */
static int parse_header(struct xfer *x, char *line, struct head *hd)
{
    char *colon = strchr(line, ':'), *v, *end;

    /* Folded lines, a space before the colon, no colon: RFC 9112 says to
     * reject them rather than guess. */
    if (colon == NULL || colon == line || line[0] == ' ' ||
        line[0] == '\t' || colon[-1] == ' ' || colon[-1] == '\t')
        return fail(x, CURLE_WEIRD_SERVER_REPLY,
                    "A header line of the answer is malformed");
    *colon = '\0';
    v = colon + 1;
    v += strspn(v, " \t");
    end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    if (strcasecmp(line, "Content-Length") == 0) {
        uint64_t n = 0;
        const char *p = v;

        if (*p == '\0')
            return fail(x, CURLE_WEIRD_SERVER_REPLY, "Bad Content-Length");
        for (; *p >= '0' && *p <= '9'; p++) {
            if (n > UINT64_MAX / 10 - 1)
                return fail(x, CURLE_WEIRD_SERVER_REPLY,
                            "Bad Content-Length");
            n = n * 10 + (uint64_t)(*p - '0');
        }
        if (*p != '\0' || (hd->has_length && hd->length != n))
            return fail(x, CURLE_WEIRD_SERVER_REPLY, "Bad Content-Length");
        hd->has_length = 1;
        hd->length = n;
    } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
        /* chunked is always the last coding; anything else ends the body
         * with the connection */
        const char *last = strrchr(v, ',');

        last = last != NULL ? last + 1 : v;
        last += strspn(last, " \t");
        if (strcasecmp(last, "chunked") == 0)
            hd->chunked = 1;
        else
            hd->until_close = 1;
    } else if (strcasecmp(line, "Connection") == 0) {
        if (has_token(v, "close"))
            hd->close = 1;
    } else if (strcasecmp(line, "Retry-After") == 0) {
        x->a->retry_after_s = retry_after_s(v);
    }
    if (x->on_header != NULL)
        x->on_header(line, v, x->payload);
    return 0;
}

/* The status line and headers of the final answer; interim (1xx) answers
 * are skipped. */
static int read_head(struct xfer *x, struct head *hd)
{
    for (;;) {
        char *line = read_line(x);
        int minor;
        long status;

        if (line == NULL)
            return -1;
        memset(hd, 0, sizeof(*hd));
        if (strncmp(line, "HTTP/1.", 7) != 0 || line[7] < '0' ||
            line[7] > '9' || line[8] != ' ' || line[9] < '1' ||
            line[9] > '5' || line[10] < '0' || line[10] > '9' ||
            line[11] < '0' || line[11] > '9' ||
            (line[12] != ' ' && line[12] != '\0'))
            return fail(x, CURLE_WEIRD_SERVER_REPLY,
                        "Invalid status line: %.60s", line);
        minor = line[7] - '0';
        status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
                 (line[11] - '0');
        hd->minor = minor;
        hd->status = status;
        x->a->retry_after_s = 0;
        for (;;) {
            line = read_line(x);
            if (line == NULL)
                return -1;
            if (*line == '\0')
                break;
            if (parse_header(x, line, hd) != 0)
                return -1;
        }
        if (status == 101)
            return fail(x, CURLE_WEIRD_SERVER_REPLY,
                        "The server switched protocols");
        if (status >= 200)
            return 0;
    }
}

/* Take n bytes of the body: keep what fits the caller's buffer, discard
 * the rest. 1 when the body grew past DRAIN_MAX (the caller stops reading
 * and closes); 0 when taken; -1 on failure (set). until_close: the end of
 * the connection ends the body (then n is the most to take). */
static int take_body(struct xfer *x, uint64_t n, int until_close)
{
    struct osip_http *h = x->h;

    while (n > 0) {
        size_t have = h->in_len - h->in_off, take, keep;
        int rc;

        if (have == 0) {
            rc = fill(x);
            if (rc == 0 && until_close)
                return 0;
            if (rc == 0)
                return fail(x, CURLE_PARTIAL_FILE, "transfer closed with "
                            "%llu bytes remaining to read",
                            (unsigned long long)n);
            if (rc < 0)
                return -1;
            continue;
        }
        take = n < have ? (size_t)n : have;
        keep = x->body_max - x->a->body_len;
        if (keep > take)
            keep = take;
        memcpy(x->body + x->a->body_len, h->in + h->in_off, keep);
        x->a->body_len += keep;
        x->body_seen += take;
        h->in_off += take;
        n -= take;
        if (x->body_seen > x->body_max + DRAIN_MAX)
            return 1;
    }
    return 0;
}

/* A chunked body (RFC 9112 7.1), trailers skipped. */
static int take_chunked(struct xfer *x)
{
    for (;;) {
        char *line = read_line(x);
        uint64_t size = 0;
        const char *p;
        int rc;

        if (line == NULL)
            return -1;
        for (p = line; *p != '\0' && strchr("0123456789abcdefABCDEF", *p);
             p++) {
            if (size >> 60)
                return fail(x, CURLE_WEIRD_SERVER_REPLY, "Bad chunk size");
            size = size * 16 + (uint64_t)(*p <= '9' ? *p - '0'
                                                    : (*p | 0x20) - 'a' + 10);
        }
        if (p == line || (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t'))
            return fail(x, CURLE_WEIRD_SERVER_REPLY, "Bad chunk size");
        if (size == 0)
            break;
        rc = take_body(x, size, 0);
        if (rc != 0)
            return rc;
        line = read_line(x);
        if (line == NULL)
            return -1;
        if (*line != '\0')
            return fail(x, CURLE_WEIRD_SERVER_REPLY, "Bad chunk end");
    }
    for (;;) {
        char *line = read_line(x);

        if (line == NULL)
            return -1;
        if (*line == '\0')
            return 0;
    }
}

/* Send the request on h->fd and read the answer. 0 with a->status set;
 * -1 with a->cc set. */
static int exchange(struct xfer *x, struct iovec *iov, int iovcnt)
{
    struct osip_http *h = x->h;
    struct head hd;
    int rc = 0, keep;

    if (send_request(x, iov, iovcnt) != 0)
        return -1;
    if (read_head(x, &hd) != 0)
        return -1;
    x->a->status = hd.status;
    if (x->no_body || hd.status == 204 || hd.status == 304)
        rc = 0;
    else if (hd.chunked)
        rc = take_chunked(x);
    else if (hd.has_length && !hd.until_close)
        rc = take_body(x, hd.length, 0);
    else
        rc = take_body(x, UINT64_MAX, 1);
    if (rc < 0)
        return -1;
    /* A connection stays only when its next answer cannot be confused with
     * the rest of this one. */
    keep = rc == 0 && hd.minor >= 1 && !hd.close && !hd.until_close &&
           (x->no_body || hd.chunked || hd.has_length ||
            hd.status == 204 || hd.status == 304) &&
           h->in_off == h->in_len;
    if (!keep)
        close_conn(h);
    return 0;
}

/* Send the request on the kept connection, or a new one, and read the
 * answer. */
static void run(struct xfer *x, struct iovec *iov, int iovcnt)
{
    struct osip_http *h = x->h;

    for (int resent = 0;; resent = 1) {
        struct iovec sent[5];
        int kept = h->fd >= 0;

        /* send_request moves through its vector: keep the original for a
         * second sending. */
        memcpy(sent, iov, (size_t)iovcnt * sizeof(*iov));
        if (kept && !conn_alive(h)) {
            close_conn(h);
            kept = 0;
        }
        if (!kept && open_conn(x) != 0)
            return;
        if (exchange(x, sent, iovcnt) == 0)
            return;
        close_conn(h);
        /* A kept connection the server closed while it was idle fails
         * before any answer: the request never reached the server, or was
         * dropped unread. Send it again on a new connection, once, as
         * libcurl does; only idempotent requests come here (a report
         * carries its report_id, a PUT the same bytes). A new connection
         * failing is a real failure. */
        if (!kept || resent || x->got_any ||
            (x->a->cc != CURLE_SEND_ERROR && x->a->cc != CURLE_RECV_ERROR &&
             x->a->cc != CURLE_GOT_NOTHING))
            return;
        memset(x->a, 0, sizeof(*x->a));
        x->body_seen = 0;
    }
}

void osip_http_post(struct osip_http *h, const char *body, size_t len,
                    int gzipped, char *body_buf, size_t body_max,
                    struct osip_http_answer *a)
{
    struct xfer x = { .h = h, .a = a, .body = body_buf,
                      .body_max = body_max };
    char tail[80];
    int n;

    memset(a, 0, sizeof(*a));
    x.start = osip_mono_ms();
    x.deadline = x.start + h->timeout_ms;
    n = snprintf(tail, sizeof(tail), "%sContent-Length: %zu\r\n\r\n",
                 gzipped ? "Content-Encoding: gzip\r\n" : "", len);
    {
        struct iovec iov[3] = {
            { h->head, h->head_len },
            { tail, (size_t)n },
            { (void *)(uintptr_t)body, len },
        };

        run(&x, iov, 3);
    }
}

void osip_http_request(struct osip_http *h, const struct osip_http_request *r,
                       char *body_buf, size_t body_max,
                       struct osip_http_answer *a)
{
    struct xfer x = { .h = h, .a = a, .body = body_buf,
                      .body_max = body_max, .on_header = r->on_header,
                      .payload = r->payload };
    int has_body = strcmp(r->method, "GET") != 0 &&
                   strcmp(r->method, "HEAD") != 0;
    size_t size = strlen(r->method) + strlen(r->target) + 64;
    char *line, tail[64];
    int n, m;

    memset(a, 0, sizeof(*a));
    x.start = osip_mono_ms();
    x.deadline = x.start + (r->timeout_ms != 0 ? r->timeout_ms
                                               : h->timeout_ms);
    x.no_body = strcmp(r->method, "HEAD") == 0;
    line = osip_malloc(size);
    if (line == NULL) {
        fail(&x, CURLE_OUT_OF_MEMORY, "Out of memory");
        return;
    }
    n = snprintf(line, size, "%s %s HTTP/1.1\r\n", r->method, r->target);
    m = snprintf(tail, sizeof(tail), has_body ? "Content-Length: %zu\r\n\r\n"
                                               : "\r\n", r->len);
    {
        struct iovec iov[5] = {
            { line, (size_t)n },
            { h->common, h->common_len },
            { (void *)(uintptr_t)(r->headers ? r->headers : ""),
              r->headers ? strlen(r->headers) : 0 },
            { tail, (size_t)m },
            { (void *)(uintptr_t)r->body, has_body ? r->len : 0 },
        };

        run(&x, iov, 5);
    }
    free(line);
}
