/* SPDX-License-Identifier: MIT */
/* Command-line helpers shared by osinspect-agent and osinspect-api. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

int osic_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    return OSIC_EXIT_USAGE;
}

int osic_parse_number(const char *s, unsigned long min, unsigned long max,
                      unsigned long *out)
{
    unsigned long v = 0;
    const char *p;

    for (p = s; *p >= '0' && *p <= '9'; p++) {
        if (v > (max - (unsigned long)(*p - '0')) / 10)
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (p == s || *p != '\0' || v < min)
        return -1;
    *out = v;
    return 0;
}
