/* SPDX-License-Identifier: MIT */
/* Process-wide set-up (osi_init, osi_cleanup) and the run-time version. */
#include <pthread.h>

#include "internal.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int init_count;

const char *osi_version(void)
{
    return OSI_VERSION_STRING;
}

/* Nothing global is needed by collection and reports; the counter is kept
 * so that transports loaded later (libcurl, libs3) set up and tear down
 * once per process, whoever calls first. */
enum osi_status osi_init(struct osi_error *err)
{
    pthread_mutex_lock(&init_lock);
    init_count++;
    pthread_mutex_unlock(&init_lock);
    (void)err;
    return OSI_OK;
}

void osi_cleanup(void)
{
    pthread_mutex_lock(&init_lock);
    if (init_count > 0)
        init_count--;
    pthread_mutex_unlock(&init_lock);
}
