/* SPDX-License-Identifier: MIT */
/* What both programs' command lines need: a usage error in the GNU shape
 * and whole numbers in a range. Shared by the programs, not part of
 * libosinspect. */
#ifndef OSINSPECT_COMMON_CLI_H
#define OSINSPECT_COMMON_CLI_H

#include <osinspect/common.h>

/* The exit status of a usage or configuration error. */
#define OSIC_EXIT_USAGE 2

/* Print "<prog>: <message>" and the pointer to --help on stderr; returns
 * OSIC_EXIT_USAGE. */
int osic_usage_error(const char *prog, const char *fmt, ...)
    OSI_PRINTF(2, 3);

/* A whole decimal number within [min, max], digits only (no sign, no
 * space); 0 and *out set, or -1. */
int osic_parse_number(const char *s, unsigned long min, unsigned long max,
                      unsigned long *out);

#endif /* OSINSPECT_COMMON_CLI_H */
