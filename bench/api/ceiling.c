/* SPDX-License-Identifier: MIT */
/* bench/api.sh's ceilings: the least a CivetWeb server can do per request:
 * answer a small JSON body ("minimal"), answer {"report": FILE} as GET
 * /report would, read once at start ("report"), or store the request body
 * as one durable file and answer the small body ("durable": temp file,
 * write, fsync, rename, directory fsync). Built by bench/api.sh with cc
 * -lcivetweb.
 *
 * usage: ceiling minimal THREADS
 *        ceiling report THREADS FILE
 *        ceiling durable THREADS DIR
 * Listens on 127.0.0.1 with a port the system picks, prints "port N" on
 * stdout, and stops on SIGTERM or SIGINT. */
#define _GNU_SOURCE
#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* As the API's default --max-body: a report never exceeds it. */
#define MAX_BODY 65536

static const char answer[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 21\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "{\"status\":\"success\"}\n";

static const char failure[] =
    "HTTP/1.1 500 Internal Server Error\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 28\r\n"
    "Connection: close\r\n"
    "\r\n"
    "{\"error\":\"cannot store it\"}\n";

static int durable;
static int dir_fd = -1;
/* The whole "report" answer, headers included; else the small one. */
static char *canned;
static size_t canned_len;
static atomic_ulong seq;

/* Each worker keeps one body buffer, off its 100 KiB stack. */
static pthread_key_t buf_key;

static char *body_buffer(void)
{
    char *buf = pthread_getspecific(buf_key);

    if (buf == NULL) {
        buf = malloc(MAX_BODY);
        if (buf != NULL && pthread_setspecific(buf_key, buf) != 0) {
            free(buf);
            buf = NULL;
        }
    }
    return buf;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The cheapest durable creation of one file: what a store must at least
 * do for a report answered only once it survives a crash. */
static int store_durably(const char *data, size_t len)
{
    unsigned long n = atomic_fetch_add(&seq, 1);
    char tmp[64], name[64];
    int fd, rc;

    snprintf(tmp, sizeof(tmp), ".tmp-%lu", n);
    snprintf(name, sizeof(name), "%lu.json", n);
    fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    rc = write_all(fd, data, len) != 0 || fsync(fd) != 0 ? -1 : 0;
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && renameat(dir_fd, tmp, dir_fd, name) != 0)
        rc = -1;
    if (rc == 0 && fsync(dir_fd) != 0)
        rc = -1;
    return rc;
}

static int on_request(struct mg_connection *conn)
{
    char *buf = body_buffer();
    size_t len = 0;
    int n;

    if (buf == NULL) {
        mg_write(conn, failure, sizeof(failure) - 1);
        return 500;
    }
    /* The body is read (and, minimal, dropped) so that keep-alive works
     * for POST too. */
    while (len < MAX_BODY &&
           (n = mg_read(conn, buf + len, MAX_BODY - len)) > 0)
        len += (size_t)n;
    if (durable && store_durably(buf, len) != 0) {
        mg_write(conn, failure, sizeof(failure) - 1);
        return 500;
    }
    if (canned != NULL)
        mg_write(conn, canned, canned_len);
    else
        mg_write(conn, answer, sizeof(answer) - 1);
    return 200;
}

/* The answer GET /report gives for FILE: {"report":FILE}, in one piece. */
static int load_canned(const char *path)
{
    char head[160];
    char *body = NULL;
    size_t len = 0, cap = 0, n;
    FILE *f = fopen(path, "rb");
    int hlen;

    if (f == NULL)
        return -1;
    do {
        if (len == cap) {
            char *p = realloc(body, cap = cap ? 2 * cap : 4096);

            if (p == NULL) {
                free(body);
                fclose(f);
                return -1;
            }
            body = p;
        }
        n = fread(body + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
        len--;
    hlen = snprintf(head, sizeof(head),
                    "HTTP/1.1 200 OK\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: %zu\r\n"
                    "Connection: keep-alive\r\n"
                    "\r\n"
                    "{\"report\":",
                    len + sizeof("{\"report\":}\n") - 1);
    canned = malloc((size_t)hlen + len + 2);
    if (hlen < 0 || canned == NULL) {
        free(body);
        return -1;
    }
    memcpy(canned, head, (size_t)hlen);
    memcpy(canned + hlen, body, len);
    memcpy(canned + (size_t)hlen + len, "}\n", 2);
    canned_len = (size_t)hlen + len + 2;
    free(body);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cfg[] = {
        "listening_ports", "127.0.0.1:0",
        "num_threads", NULL,
        "enable_keep_alive", "yes",
        "tcp_nodelay", "1",
        NULL,
    };
    struct mg_callbacks cb;
    struct mg_context *ctx;
    struct mg_server_port port;
    sigset_t stop;
    int sig;

    int minimal = argc == 3 && strcmp(argv[1], "minimal") == 0;
    int report = argc == 4 && strcmp(argv[1], "report") == 0;

    durable = argc == 4 && strcmp(argv[1], "durable") == 0;
    if (!minimal && !report && !durable) {
        fprintf(stderr, "usage: ceiling minimal THREADS\n"
                        "       ceiling report THREADS FILE\n"
                        "       ceiling durable THREADS DIR\n");
        return 2;
    }
    cfg[3] = argv[2];
    if (report && load_canned(argv[3]) != 0) {
        perror(argv[3]);
        return 1;
    }
    if (durable) {
        dir_fd = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
            perror(argv[3]);
            return 1;
        }
    }
    if (pthread_key_create(&buf_key, free) != 0)
        return 1;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    mg_init_library(0);
    memset(&cb, 0, sizeof(cb));
    cb.begin_request = on_request;
    ctx = mg_start(&cb, NULL, cfg);
    if (ctx == NULL || mg_get_server_ports(ctx, 1, &port) != 1) {
        fprintf(stderr, "ceiling: CivetWeb did not start\n");
        return 1;
    }
    printf("port %d\n", port.port);
    fflush(stdout);
    while (sigwait(&stop, &sig) != 0)
        ;
    mg_stop(ctx);
    mg_exit_library();
    return 0;
}
