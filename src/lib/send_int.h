/* SPDX-License-Identifier: MIT */
/* Private declarations of the sender (send_http.c) and its spool
 * (spool.c). */
#ifndef OSINSPECT_SEND_INT_H
#define OSINSPECT_SEND_INT_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Hand one formatted line to a log callback (NULL: dropped). Never
 * allocates. */
void osip_log(osi_log_fn *log, void *payload, enum osi_log_level level,
              const char *fmt, ...) OSI_PRINTF(4, 5);

/* A spool: one file per undelivered report in one directory, named
 * "<unix ms, 16 digits>-<report_id>.json" so that the names sort oldest
 * first. Files are written to ".tmp-<pid>-<name>" and renamed into place;
 * names that do not have the shape of an entry are never read (temporary
 * files, *.corrupt, *.rejected, anything a person put there). */
struct osip_spool {
    int dirfd;          /* the directory; -1 when closed */
    char *dir;          /* its path, for messages */
    unsigned int max;   /* bound, in reports */
    uint64_t last_ms;   /* time part of the newest name written */
    osi_log_fn *log;
    void *log_payload;
};

/* The entries of a spool, oldest first. */
struct osip_spool_list {
    char **names;
    size_t count;
};

/* Longest entry name, NUL included. */
#define OSIP_SPOOL_NAME_MAX 96

/* Open the spool in dir, creating it (and missing parents) with mode 0700,
 * and check that a file can be created in it. OSI_EIO (cause: errno) when
 * it cannot. */
enum osi_status osip_spool_open(struct osip_spool *sp, const char *dir,
                                unsigned int max, osi_log_fn *log,
                                void *log_payload, struct osi_error *err);

/* Close a spool opened by osip_spool_open (or zeroed with dirfd -1). */
void osip_spool_close(struct osip_spool *sp);

/* List the entries, oldest first. Free with osip_spool_list_free. */
enum osi_status osip_spool_list(struct osip_spool *sp,
                                struct osip_spool_list *out,
                                struct osi_error *err);
void osip_spool_list_free(struct osip_spool_list *list);

/* Write a report's JSON text atomically as the newest entry (temp file,
 * fsync, rename, fsync of the directory), then drop the oldest entries
 * past the bound, each with a warning. report_id names the file (NULL or
 * unusable: "noid"). dropped_out counts the dropped entries; name_out
 * (OSIP_SPOOL_NAME_MAX bytes, optional) receives the new entry's name. */
enum osi_status osip_spool_put(struct osip_spool *sp, const char *json,
                               size_t len, const char *report_id,
                               unsigned int *dropped_out, char *name_out,
                               struct osi_error *err);

/* Read an entry and check that it is a valid report. OSI_ENOTFOUND when
 * it is gone (another process sent it); OSI_EPARSE when it is not a valid
 * report: it has then been renamed "<name>.corrupt", with a warning. The
 * text is new memory; free with free(). */
enum osi_status osip_spool_get(struct osip_spool *sp, const char *name,
                               char **json_out, size_t *len_out,
                               struct osi_error *err);

/* Remove an entry (one already gone is not an error). */
enum osi_status osip_spool_remove(struct osip_spool *sp, const char *name,
                                  struct osi_error *err);

/* Rename an entry "<name><suffix>", out of the spool's sight. */
enum osi_status osip_spool_set_aside(struct osip_spool *sp, const char *name,
                                     const char *suffix,
                                     struct osi_error *err);

#endif /* OSINSPECT_SEND_INT_H */
