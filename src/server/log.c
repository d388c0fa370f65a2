/* SPDX-License-Identifier: MIT */
/* The server's log on stderr: one line per message or request, each
 * written with a single write(2) so lines of concurrent workers never
 * interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"

/* Longer lines are cut: a log line must fit one atomic pipe write. */
#define LOG_LINE_MAX 1024

uint64_t api_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put_line(char *line, size_t len)
{
    const char *p = line;

    if (len > LOG_LINE_MAX - 1)
        len = LOG_LINE_MAX - 1;
    line[len++] = '\n';
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, p, len);

        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

void api_log(const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    int n;

    n = snprintf(line, sizeof(line), API_PROG ": ");
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    put_line(line, n < 0 ? 0 : (size_t)n);
}

/* Append s, with bytes that could forge or break a log line (controls,
 * spaces, quotes, non-ASCII) written as \xNN. Returns the new length. */
static size_t add_clean(char *line, size_t len, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    for (; s != NULL && *s != '\0' && len + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;

        if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
            line[len++] = (char)c;
        } else {
            line[len++] = '\\';
            line[len++] = 'x';
            line[len++] = hex[c >> 4];
            line[len++] = hex[c & 0xf];
        }
    }
    return len;
}

/* "<peer> <METHOD> <path>[?query] <status> <bytes> <microseconds>us" */
void api_log_request(const struct api_request *req)
{
    /* Room for the numbers after a path cut short. */
    enum { PATH_CAP = LOG_LINE_MAX - 96 };
    char line[LOG_LINE_MAX];
    uint64_t us = (api_now_ns() - req->start_ns) / 1000u;
    size_t len;
    int n;

    len = (size_t)snprintf(line, sizeof(line), API_PROG ": ");
    len = add_clean(line, len, PATH_CAP, req->ri->remote_addr);
    line[len++] = ' ';
    len = add_clean(line, len, PATH_CAP, req->method);
    line[len++] = ' ';
    len = add_clean(line, len, PATH_CAP, req->path);
    if (req->query != NULL) {
        line[len++] = '?';
        len = add_clean(line, len, PATH_CAP, req->query);
    }
    n = snprintf(line + len, sizeof(line) - len, " %d %zu %lluus",
                 req->status, req->bytes, (unsigned long long)us);
    put_line(line, len + (n < 0 ? 0 : (size_t)n));
}
