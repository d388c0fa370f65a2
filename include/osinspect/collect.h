/* SPDX-License-Identifier: MIT */
/**
 * @file collect.h
 * Gathering the facts of a machine into a report.
 */
#ifndef OSINSPECT_COLLECT_H
#define OSINSPECT_COLLECT_H

#include <osinspect/common.h>
#include <osinspect/error.h>
#include <osinspect/report.h>

OSI_BEGIN_DECLS

/** Current version of struct osi_collect_options. */
#define OSI_COLLECT_OPTIONS_VERSION 1

/**
 * How to collect. Initialise with OSI_COLLECT_OPTIONS_INIT or
 * osi_collect_options_init(), then set the fields you need.
 */
struct osi_collect_options {
    unsigned int version; /**< OSI_COLLECT_OPTIONS_VERSION */
    /**
     * Directory that file-based sources are read under (a container's
     * mount of the host's /, or a fixture tree); NULL or "/" for this
     * machine. Copied by osi_collect(); may be freed after the call.
     */
    const char *root;
    unsigned int flags;   /**< reserved; 0 */
    void *reserved[4];    /**< room to grow; NULL */
};

/** Static initialiser of struct osi_collect_options with the defaults. */
#define OSI_COLLECT_OPTIONS_INIT { OSI_COLLECT_OPTIONS_VERSION, 0, 0, { 0 } }

/**
 * Fill @p opts with the defaults of options version @p version.
 *
 * @param[out] opts the options to fill
 * @param[in] version OSI_COLLECT_OPTIONS_VERSION
 * @return OSI_OK; OSI_EINVAL when @p opts is NULL or @p version unknown
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_collect_options_init(
    struct osi_collect_options *opts, unsigned int version);

/**
 * Collect the facts of this machine (or of the tree under opts->root).
 *
 * One unreadable source never fails the call: it fails its section, which
 * the report's "collection" object records with the reason, and the rest
 * of the report is still produced. Reads files and calls the kernel only;
 * starts no process.
 *
 * @param[in] opts options, or NULL for the defaults
 * @param[out] out the new report; free with osi_report_free()
 * @param[out] err optional details on failure
 * @return OSI_OK; OSI_EINVAL for bad options; OSI_EIO when the root cannot
 *         be opened; OSI_ENOMEM
 * @since 0.1
 */
OSI_EXPORT enum osi_status osi_collect(const struct osi_collect_options *opts,
                                       struct osi_report **out,
                                       struct osi_error *err);

OSI_END_DECLS

#endif /* OSINSPECT_COLLECT_H */
