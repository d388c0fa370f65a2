/* SPDX-License-Identifier: MIT */
/**
 * @file send.h
 * Delivering reports to the API: one reusable sender that keeps its
 * connection, retries with backoff and spools what it cannot deliver
 * (docs/sending.md).
 *
 * A struct osi_sender is used by one thread at a time. http:// is sent by
 * the library's own HTTP/1.1 client on a plain socket; https:// (and http
 * through a proxy from http_proxy / all_proxy) by libcurl, loaded (dlopen
 * "libcurl.so.4") by the first such osi_sender_new() of the process, so
 * programs that never send over TLS do not pay for it.
 */
#ifndef OSINSPECT_SEND_H
#define OSINSPECT_SEND_H

#include <osinspect/common.h>
#include <osinspect/error.h>
#include <osinspect/report.h>

OSI_BEGIN_DECLS

/** An opaque sender. */
struct osi_sender;

/** How much a log message matters. */
enum osi_log_level {
    OSI_LOG_ERROR = 1,   /**< something was lost or cannot work */
    OSI_LOG_WARNING = 2, /**< something was dropped or set aside */
    OSI_LOG_INFO = 3,    /**< a retry, a spooled or flushed report */
    OSI_LOG_DEBUG = 4    /**< details for troubleshooting */
};

/**
 * A log callback. The library never prints: what a program may want to
 * show (a spooled report dropped for the bound, a corrupt spool file set
 * aside, a retry) is handed to this function, synchronously, on the
 * thread that called the library.
 *
 * @param[in] level an enum osi_log_level
 * @param[in] message one line, no trailing period or newline; borrowed:
 *            valid during the call only. Never holds a token.
 * @param[in] payload the log_payload of the options
 */
typedef void osi_log_fn(enum osi_log_level level, const char *message,
                        void *payload);

/** Current version of struct osi_send_options. */
#define OSI_SEND_OPTIONS_VERSION 1

/** Default connect timeout of one attempt, in milliseconds. */
#define OSI_SEND_DEFAULT_CONNECT_TIMEOUT_MS 5000
/** Default total timeout of one attempt, in milliseconds. */
#define OSI_SEND_DEFAULT_TIMEOUT_MS 15000
/** Default number of retries after the first attempt. */
#define OSI_SEND_DEFAULT_RETRIES 4
/** Default time after the first attempt past which no retry starts, in ms. */
#define OSI_SEND_DEFAULT_RETRY_TIME_MS 60000
/** Default bound of the spool, in reports. */
#define OSI_SEND_DEFAULT_SPOOL_MAX 1000

/** Flags of struct osi_send_options. */
enum osi_send_flags {
    /** Never gzip request bodies (by default they are gzipped until the
     *  API shows it cannot take them: see osi_send()). */
    OSI_SEND_NO_GZIP = 1 << 0
};

/**
 * How to send. Initialise with OSI_SEND_OPTIONS_INIT or
 * osi_send_options_init(), then set the fields you need. Strings are
 * copied by osi_sender_new() and may be freed after it.
 */
struct osi_send_options {
    unsigned int version; /**< OSI_SEND_OPTIONS_VERSION */
    /** Where reports are POSTed: an http:// or https:// URL, such as
     *  "http://10.0.0.1:5000/report". Required. */
    const char *url;
    /** Sent as "Authorization: Bearer <token>"; NULL for none. No control
     *  characters. */
    const char *token;
    /** PEM file of the CAs that https:// servers are verified against;
     *  NULL for the system's CAs. Verification cannot be turned off. */
    const char *ca_file;
    /** Connect timeout of one attempt in ms; 0 for the default. */
    unsigned int connect_timeout_ms;
    /** Total timeout of one attempt (connect, send, answer) in ms; 0 for
     *  the default. */
    unsigned int timeout_ms;
    /** Retries after the first attempt of a report, for answers and
     *  failures that are worth retrying; 0 for none.
     *  OSI_SEND_OPTIONS_INIT sets OSI_SEND_DEFAULT_RETRIES. */
    unsigned int retries;
    /** No retry starts later than this many ms after the first attempt of
     *  a report; 0 for the default. */
    unsigned int retry_time_ms;
    /** Directory of the spool (created with mode 0700 when missing), or
     *  NULL for no spool: what cannot be delivered is then only an error.
     *  osi_spool_default_dir() gives the usual place. */
    const char *spool_dir;
    /** Bound of the spool in reports; 0 for the default. Past it the
     *  oldest are dropped, with a warning. */
    unsigned int spool_max;
    unsigned int flags;     /**< enum osi_send_flags */
    osi_log_fn *log;        /**< log callback, or NULL */
    void *log_payload;      /**< passed to @c log */
    void *reserved[4];      /**< room to grow; NULL */
};

/** Static initialiser of struct osi_send_options with the defaults. */
#define OSI_SEND_OPTIONS_INIT                                             \
    { OSI_SEND_OPTIONS_VERSION, 0, 0, 0, 0, 0, OSI_SEND_DEFAULT_RETRIES,  \
      0, 0, 0, 0, 0, 0, { 0 } }

/**
 * Fill @p opts with the defaults of options version @p version.
 *
 * @param[out] opts the options to fill
 * @param[in] version OSI_SEND_OPTIONS_VERSION
 * @return OSI_OK; OSI_EINVAL when @p opts is NULL or @p version unknown
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_send_options_init(
    struct osi_send_options *opts, unsigned int version);

/**
 * What one osi_send() or osi_sender_flush() did, filled whether the call
 * succeeds or fails. Owned by the caller.
 */
struct osi_send_outcome {
    /** 1 when the API acknowledged the report (2xx). */
    int delivered;
    /** 1 when the report was not delivered and was written to the spool
     *  for a later call (the failure was temporary or one of
     *  configuration, never the report's). */
    int spooled;
    /** Spooled reports delivered (and removed from the spool). */
    unsigned int flushed;
    /** Spooled reports removed unsent to keep the spool within its bound. */
    unsigned int dropped;
    /** Spool files moved aside unsent: corrupt ones (renamed *.corrupt)
     *  and ones the API rejected as invalid (renamed *.rejected). */
    unsigned int set_aside;
    /** Reports waiting in the spool when the call returned. */
    unsigned int pending;
    /** HTTP requests made for the report passed to osi_send(). */
    unsigned int attempts;
    /** The last HTTP status the API answered for that report; 0 when it
     *  gave none. */
    long http_status;
    unsigned char reserved[32]; /**< room to grow; zero */
};

/**
 * Create a sender. For https:// (or a proxied http://) loads libcurl on
 * the first such call of the process; checks the URL, the CA file and the
 * spool directory (creating it when missing), and opens no connection
 * yet.
 *
 * @param[in] opts the options; url is required
 * @param[out] out the new sender; free with osi_sender_free()
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EINVAL for a missing or malformed URL, a scheme
 *         other than http and https, a token with control characters or
 *         bad options; OSI_ENOTSUP when an https:// URL needs libcurl and
 *         it is not installed or cannot do https; OSI_EIO when the CA file cannot be read or the spool
 *         directory cannot be created or written (cause: the errno);
 *         OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_sender_new(const struct osi_send_options *opts,
                                          struct osi_sender **out,
                                          struct osi_error *err);

/**
 * Deliver a report: POST it as JSON.
 *
 * When the spool holds reports, they are sent first, oldest first, each
 * removed after its 2xx. A temporary failure (HTTP 408, 429, 502, 503,
 * 504 and other 5xx, a refused, reset or timed-out connection, a failed
 * name lookup) is retried with exponential backoff and full jitter,
 * honouring Retry-After, within the retry count and time; what is still
 * undelivered is spooled. A report the API rejects (HTTP 400, 413, 415,
 * 422 and other 4xx) is neither retried nor spooled. An answer that is
 * about the configuration, not the report (401 and 403: the token; 3xx,
 * 404, 405: the URL; a TLS certificate problem), is not retried, and the
 * report is spooled. A signal that interrupts a backoff wait ends the
 * retries at once (the report is spooled). The report's report_id makes a
 * resend harmless: the API stores a report once.
 *
 * Bodies are gzipped (Content-Encoding: gzip) unless OSI_SEND_NO_GZIP is
 * set. A gzipped body answered 415, or 400, is resent plain at once; after
 * a 415, or a 400 that the plain body turns into a 2xx, this sender sends
 * plain only.
 *
 * @param[in] sender the sender
 * @param[in] report the report; not changed
 * @param[out] outcome optional: what was done (also on failure)
 * @param[out] err optional details on failure
 * @return OSI_OK when the report was delivered; OSI_EINVAL when the API
 *         rejected it (message: the API's "error" text, cause: the HTTP
 *         status); OSI_EAUTH when the API refused the token (HTTP 401,
 *         403); OSI_ENET for a network or TLS failure, a server error that
 *         outlasted the retries or an answer about the URL (cause: the
 *         HTTP status or the libcurl code); OSI_ETIMEOUT when the last
 *         attempt timed out; OSI_ENOMEM. Whether the report was spooled is
 *         in @p outcome; when spooling failed too, the message says so
 *         after "; and it cannot be spooled: ".
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_send(struct osi_sender *sender,
                                    const struct osi_report *report,
                                    struct osi_send_outcome *outcome,
                                    struct osi_error *err);

/**
 * Send the spooled reports, oldest first, as osi_send() does before its
 * own report. Does nothing without a spool.
 *
 * @param[in] sender the sender
 * @param[out] outcome optional: what was done (also on failure)
 * @param[out] err optional details on failure
 * @return OSI_OK when every spooled report was delivered or set aside;
 *         otherwise as osi_send(), and OSI_EIO when the spool cannot be
 *         read
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_sender_flush(struct osi_sender *sender,
                                            struct osi_send_outcome *outcome,
                                            struct osi_error *err);

/**
 * Free a sender and close its connection. The spool stays on disk.
 * Accepts NULL.
 *
 * @since 0.1
 */
OSI_EXPORT void osi_sender_free(struct osi_sender *sender);

/**
 * The usual spool directory of this process: "$STATE_DIRECTORY/spool"
 * (its first entry, when systemd gives one), else
 * "$XDG_STATE_HOME/osinspect/spool" (when absolute), else
 * "$HOME/.local/state/osinspect/spool". Creates nothing.
 *
 * @param[out] out new text; free with osi_free()
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_ENOTFOUND when none of these variables is set;
 *         OSI_EINVAL when @p out is NULL; OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_spool_default_dir(char **out,
                                                 struct osi_error *err);

OSI_END_DECLS

#endif /* OSINSPECT_SEND_H */
