/* SPDX-License-Identifier: MIT */
/* The body deadline. CivetWeb 1.15's mg_read() loops until it has every
 * byte asked for and only gives up after request_timeout_ms of silence, so
 * a client sending one byte a second holds a worker for as long as it
 * likes. Each worker owns a slot; while it reads a body the slot carries a
 * deadline, and a watchdog thread sends a past-deadline worker a signal
 * (installed without SA_RESTART): CivetWeb's poll() then fails with EINTR
 * and mg_read() returns. The signal is repeated until the worker disarms,
 * since one landing outside poll() is lost. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"

/* How often a fired deadline is signalled again. */
#define RESIGNAL_NS 100000000u

struct api_deadline_slot {
    pthread_t thread;
    uint64_t deadline_ns; /* 0: not reading a body */
    int fired;
    struct api_deadline_slot *next;
};

struct api_deadlines {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int stopping;
    int cut;          /* the server stops: every deadline has passed */
    uint64_t wake_at; /* when the watchdog wakes; 0: when a slot is armed */
    struct api_deadline_slot *slots;
};

/* The interrupting signal: a real-time one nobody else sends. */
static int wake_signal(void)
{
    return SIGRTMIN;
}

static void on_wake_signal(int signo)
{
    (void)signo;
}

static void *watch(void *arg)
{
    struct api_deadlines *dl = arg;

    pthread_mutex_lock(&dl->lock);
    while (!dl->stopping) {
        uint64_t now = api_now_ns(), next = 0;
        struct api_deadline_slot *s;

        for (s = dl->slots; s != NULL; s = s->next) {
            uint64_t when = s->deadline_ns;

            if (when == 0)
                continue;
            if (now >= when || dl->cut) {
                s->fired = 1;
                pthread_kill(s->thread, wake_signal());
                when = now + RESIGNAL_NS;
            }
            if (next == 0 || when < next)
                next = when;
        }
        dl->wake_at = next;
        if (next == 0) {
            pthread_cond_wait(&dl->wake, &dl->lock);
        } else {
            struct timespec ts = { (time_t)(next / 1000000000u),
                                   (long)(next % 1000000000u) };

            pthread_cond_timedwait(&dl->wake, &dl->lock, &ts);
        }
    }
    pthread_mutex_unlock(&dl->lock);
    return NULL;
}

int api_deadlines_start(struct api_deadlines **out, char *msg,
                        size_t msg_size)
{
    struct api_deadlines *dl;
    struct sigaction sa;
    pthread_condattr_t ca;
    sigset_t set;
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_wake_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the point is to break poll() */
    if (sigaction(wake_signal(), &sa, NULL) != 0) {
        snprintf(msg, msg_size, "sigaction: %s", strerror(errno));
        return -1;
    }
    /* Blocked here, in main, before any other thread exists: threads
     * inherit the mask, and only workers unblock it (api_deadlines_join). */
    sigemptyset(&set);
    sigaddset(&set, wake_signal());
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    dl = calloc(1, sizeof(*dl));
    if (dl == NULL) {
        snprintf(msg, msg_size, "out of memory");
        return -1;
    }
    pthread_mutex_init(&dl->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&dl->wake, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&dl->thread, NULL, watch, dl);
    if (rc != 0) {
        snprintf(msg, msg_size, "cannot start a thread: %s", strerror(rc));
        pthread_cond_destroy(&dl->wake);
        pthread_mutex_destroy(&dl->lock);
        free(dl);
        return -1;
    }
    *out = dl;
    return 0;
}

void api_deadlines_cut(struct api_deadlines *dl)
{
    pthread_mutex_lock(&dl->lock);
    dl->cut = 1;
    pthread_cond_signal(&dl->wake);
    pthread_mutex_unlock(&dl->lock);
}

void api_deadlines_stop(struct api_deadlines *dl)
{
    if (dl == NULL)
        return;
    pthread_mutex_lock(&dl->lock);
    dl->stopping = 1;
    pthread_cond_signal(&dl->wake);
    pthread_mutex_unlock(&dl->lock);
    pthread_join(dl->thread, NULL);
    while (dl->slots != NULL) {
        struct api_deadline_slot *s = dl->slots;

        dl->slots = s->next;
        free(s);
    }
    pthread_cond_destroy(&dl->wake);
    pthread_mutex_destroy(&dl->lock);
    free(dl);
}

/* Called on the worker thread itself, which then accepts the signal (every
 * other thread keeps it blocked, as main blocked it before starting any). */
struct api_deadline_slot *api_deadlines_join(struct api_deadlines *dl)
{
    struct api_deadline_slot *s = calloc(1, sizeof(*s));
    sigset_t set;

    if (s == NULL)
        return NULL;
    s->thread = pthread_self();
    pthread_mutex_lock(&dl->lock);
    s->next = dl->slots;
    dl->slots = s;
    pthread_mutex_unlock(&dl->lock);
    sigemptyset(&set);
    sigaddset(&set, wake_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return s;
}

void api_deadlines_leave(struct api_deadlines *dl,
                         struct api_deadline_slot *slot)
{
    struct api_deadline_slot **p;

    if (slot == NULL)
        return;
    pthread_mutex_lock(&dl->lock);
    for (p = &dl->slots; *p != NULL; p = &(*p)->next) {
        if (*p == slot) {
            *p = slot->next;
            break;
        }
    }
    pthread_mutex_unlock(&dl->lock);
    free(slot);
}

void api_deadline_arm(struct api_deadlines *dl, struct api_deadline_slot *slot,
                      uint64_t deadline_ns)
{
    if (slot == NULL) /* its allocation failed: each read is still bounded */
        return;
    pthread_mutex_lock(&dl->lock);
    slot->deadline_ns = deadline_ns;
    slot->fired = 0;
    if (dl->wake_at == 0 || deadline_ns < dl->wake_at) {
        dl->wake_at = deadline_ns;
        pthread_cond_signal(&dl->wake);
    }
    pthread_mutex_unlock(&dl->lock);
}

int api_deadline_disarm(struct api_deadlines *dl,
                        struct api_deadline_slot *slot)
{
    int fired;

    if (slot == NULL)
        return 0;
    pthread_mutex_lock(&dl->lock);
    slot->deadline_ns = 0;
    fired = slot->fired;
    slot->fired = 0;
    pthread_mutex_unlock(&dl->lock);
    return fired;
}
