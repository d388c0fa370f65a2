/* SPDX-License-Identifier: MIT */
/**
 * @file error.h
 * Status codes, the caller-owned error record, global set-up and freeing
 * of library-allocated memory.
 */
#ifndef OSINSPECT_ERROR_H
#define OSINSPECT_ERROR_H

#include <stddef.h>

#include <osinspect/common.h>

OSI_BEGIN_DECLS

/**
 * What a call did. Zero is success, failures are negative. Codes are only
 * ever appended: no value is renumbered or reused (docs/errors.md).
 */
enum osi_status {
    OSI_OK = 0,
    OSI_EINVAL = -1,    /**< an argument or an input is invalid */
    OSI_ENOMEM = -2,    /**< out of memory */
    OSI_ENOTFOUND = -3, /**< no such object, field or report */
    OSI_ENOTSUP = -4,   /**< not supported on this system or build */
    OSI_EIO = -5,       /**< a system call or file operation failed */
    OSI_EPARSE = -6,    /**< input is not well-formed (JSON syntax, nesting) */
    OSI_ENET = -7,      /**< network failure */
    OSI_EAUTH = -8,     /**< missing or refused credentials */
    OSI_ETIMEOUT = -9,  /**< a deadline passed */
    OSI_ESTORE = -10,   /**< the report store failed */
};

/** What the @c cause of a struct osi_error means. */
enum osi_cause_kind {
    OSI_CAUSE_NONE = 0,  /**< no lower-level cause */
    OSI_CAUSE_ERRNO = 1, /**< cause is an errno value */
    OSI_CAUSE_HTTP = 2,  /**< cause is an HTTP status */
    OSI_CAUSE_S3 = 3,    /**< cause is a libs3 status */
    OSI_CAUSE_CURL = 4,  /**< cause is a libcurl code */
};

/** Size of the message buffer of struct osi_error, terminating NUL included. */
#define OSI_ERROR_MESSAGE_SIZE 256

/**
 * The details of a failure. Owned by the caller (usually on the stack);
 * every call that takes one accepts NULL. Filled only when a call fails:
 * its content after a success is unspecified. Filling it never allocates.
 */
struct osi_error {
    int status;                           /**< an enum osi_status */
    int cause_kind;                       /**< an enum osi_cause_kind */
    long cause;                           /**< errno, HTTP status, ... */
    char message[OSI_ERROR_MESSAGE_SIZE]; /**< one line, no trailing period */
    unsigned char reserved[64];           /**< room to grow; zero */
};

/**
 * A static, human-readable name for a status, such as "invalid argument".
 *
 * @param[in] status any value, unknown ones included
 * @return a static string; never NULL
 * @since 0.1
 */
OSI_EXPORT const char *osi_status_str(int status);

/**
 * Set up process-wide state. Call once at the start of a program (it is
 * reference-counted: every call needs one osi_cleanup()). Thread-safe.
 *
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_ENOMEM or OSI_EIO on failure
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_init(struct osi_error *err);

/**
 * Release what osi_init() set up, once the last reference is dropped.
 * Thread-safe.
 *
 * @since 0.1
 */
OSI_EXPORT void osi_cleanup(void);

/**
 * Release memory that the library handed to the caller (documented as
 * "free with osi_free()"). Accepts NULL.
 *
 * @param[in] ptr memory from the library, or NULL
 * @since 0.1
 */
OSI_EXPORT void osi_free(void *ptr);

OSI_END_DECLS

#endif /* OSINSPECT_ERROR_H */
