/* SPDX-License-Identifier: MIT */
/* Reading a point in time that a user typed (a query parameter, an
 * option): shared by the programs, not part of libosinspect. */
#ifndef OSINSPECT_COMMON_TIMEPARSE_H
#define OSINSPECT_COMMON_TIMEPARSE_H

#include <stdint.h>

/*
 * Parse one of:
 *   RFC 3339       "2026-01-02T03:04:05Z", "2026-01-02T05:04:05.250+02:00"
 *                  ('t', 'z' and a space for 'T' are accepted too)
 *   a date         "2026-01-02", midnight UTC; *date_only is set to 1
 *   Unix seconds   "1767323045" (digits only)
 * Fractions of a second are dropped. Returns 0 and sets *out, or -1 when
 * s is none of these or names a time that does not exist.
 */
int osic_parse_time(const char *s, int64_t *out, int *date_only);

#endif /* OSINSPECT_COMMON_TIMEPARSE_H */
