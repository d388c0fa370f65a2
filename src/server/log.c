/* SPDX-License-Identifier: MIT */
/* The server's log on stderr: one line per message or request. Lines are
 * gathered in a buffer that one thread writes out, each write(2) holding
 * whole lines only, so lines of concurrent workers never interleave: a
 * write(2) per request cost 15 % of GET /health's rate at 32 connections.
 * The writer takes what a millisecond gathered, so a line waits about a
 * millisecond and a busy server's lines go out in large batches; it keeps
 * gathering while lines come and waits to be woken only once they stop,
 * so a busy server's workers never wake it and an idle one sleeps. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"

/* Longer lines are cut: a log line must fit one atomic pipe write. */
#define LOG_LINE_MAX 1024
/* Lines gathered while the writer writes; a worker that finds the buffer
 * full waits for the writer, as it would for a slow stderr. */
#define LOG_BUF (64 * 1024)
/* Empty gathers (of 1 ms) before the writer waits to be woken. */
#define LOG_LINGER 20

static struct {
    pthread_mutex_t lock;
    pthread_cond_t more;    /* lines arrived, or stop */
    pthread_cond_t written; /* the writer took a batch */
    char bufs[2][LOG_BUF];
    int cur;                /* the buffer being filled */
    size_t len;             /* bytes in it */
    uint64_t queued;        /* bytes ever queued */
    uint64_t done;          /* bytes ever written (or dropped) */
    int started, stopping;
    int idle;               /* the writer waits for lines */
    pthread_t thread;
} lg = { .lock = PTHREAD_MUTEX_INITIALIZER,
         .more = PTHREAD_COND_INITIALIZER,
         .written = PTHREAD_COND_INITIALIZER };

static void write_all(const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, p, len);

        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void *writer(void *arg)
{
    static const struct timespec gather = { 0, 1000000 }; /* 1 ms */
    int empty = 0; /* gathers in a row that found no line */

    (void)arg;
    pthread_mutex_lock(&lg.lock);
    for (;;) {
        char *out;
        size_t n;

        /* While lines keep coming, the writer keeps gathering without
         * being woken: a wake-up per batch cost the workers a futex call
         * every few requests. It waits to be woken only after LOG_LINGER
         * empty gathers, so an idle server sleeps. */
        while (lg.len == 0 && !lg.stopping && empty >= LOG_LINGER) {
            lg.idle = 1;
            pthread_cond_wait(&lg.more, &lg.lock);
            lg.idle = 0;
            empty = 0;
        }
        if (lg.len == 0 && lg.stopping)
            break;
        /* Let lines gather: a wake-up and a write per line would cost
         * what writing them in place did. With none yet, this is one
         * empty gather more. */
        if (lg.len == 0)
            empty++;
        if (!lg.stopping && lg.len < LOG_BUF / 2) {
            pthread_mutex_unlock(&lg.lock);
            nanosleep(&gather, NULL);
            pthread_mutex_lock(&lg.lock);
        }
        if (lg.len == 0)
            continue;
        empty = 0;
        out = lg.bufs[lg.cur];
        n = lg.len;
        lg.cur ^= 1;
        lg.len = 0;
        pthread_mutex_unlock(&lg.lock);
        write_all(out, n);
        pthread_mutex_lock(&lg.lock);
        lg.done += n;
        pthread_cond_broadcast(&lg.written);
    }
    pthread_mutex_unlock(&lg.lock);
    return NULL;
}

/* Queue one line (with its newline); when wait, return once it has been
 * written. Without a writer (before the first line, if it cannot start,
 * after api_log_stop) the line is written here. */
static void put_line(char *line, size_t len, int wait)
{
    sigset_t all, old;
    uint64_t mine;

    if (len > LOG_LINE_MAX - 1)
        len = LOG_LINE_MAX - 1;
    line[len++] = '\n';
    pthread_mutex_lock(&lg.lock);
    if (!lg.started && !lg.stopping) {
        /* Signals go to the server's own threads, never to this one. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        lg.started = pthread_create(&lg.thread, NULL, writer, NULL) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        lg.stopping = !lg.started;
    }
    if (lg.stopping) {
        write_all(line, len);
        pthread_mutex_unlock(&lg.lock);
        return;
    }
    while (lg.len + len > LOG_BUF) {
        pthread_cond_signal(&lg.more);
        pthread_cond_wait(&lg.written, &lg.lock);
    }
    memcpy(lg.bufs[lg.cur] + lg.len, line, len);
    lg.len += len;
    lg.queued += len;
    mine = lg.queued;
    if (lg.idle)
        pthread_cond_signal(&lg.more);
    while (wait && lg.done < mine)
        pthread_cond_wait(&lg.written, &lg.lock);
    pthread_mutex_unlock(&lg.lock);
}

void api_log_stop(void)
{
    int join;

    pthread_mutex_lock(&lg.lock);
    join = lg.started && !lg.stopping;
    lg.stopping = 1;
    pthread_cond_signal(&lg.more);
    pthread_mutex_unlock(&lg.lock);
    if (join)
        pthread_join(lg.thread, NULL);
}

uint64_t api_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t api_utoa(char buf[API_UINT_MAX], uint64_t v)
{
    char tmp[API_UINT_MAX];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
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
    /* Messages are few and may come right before the process exits. */
    put_line(line, n < 0 ? 0 : (size_t)n, 1);
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

/* "<peer> <METHOD> <path>[?query] <status> <bytes> <microseconds>us",
 * without printf: it cost more than the rest of the line. */
void api_log_request(const struct api_request *req)
{
    /* Room for the numbers after a path cut short. */
    enum { PATH_CAP = LOG_LINE_MAX - 96 };
    static const char prog[] = API_PROG ": ";
    char line[LOG_LINE_MAX];
    uint64_t us = (api_now_ns() - req->start_ns) / 1000u;
    size_t len = sizeof(prog) - 1;

    memcpy(line, prog, len);
    len = add_clean(line, len, PATH_CAP, req->ri->remote_addr);
    line[len++] = ' ';
    len = add_clean(line, len, PATH_CAP, req->method);
    line[len++] = ' ';
    len = add_clean(line, len, PATH_CAP, req->path);
    if (req->query != NULL) {
        line[len++] = '?';
        len = add_clean(line, len, PATH_CAP, req->query);
    }
    line[len++] = ' ';
    len += api_utoa(line + len, (uint64_t)req->status);
    line[len++] = ' ';
    len += api_utoa(line + len, req->bytes);
    line[len++] = ' ';
    len += api_utoa(line + len, us);
    memcpy(line + len, "us", 2);
    put_line(line, len + 2, 0);
}
