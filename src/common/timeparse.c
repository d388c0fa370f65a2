/* SPDX-License-Identifier: MIT */
/* osic_parse_time: RFC 3339 times, dates and Unix seconds, without the
 * C library's time zone state (timegm is not standard C). */
#include <stddef.h>

#include "timeparse.h"

/* Read exactly n digits. */
static int digits(const char *s, int n, int *out)
{
    int i, v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_date(const char *s, int64_t *days)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31 };
    int y, m, d;

    if (digits(s, 4, &y) != 0 || s[4] != '-' || digits(s + 5, 2, &m) != 0 ||
        s[7] != '-' || digits(s + 8, 2, &d) != 0)
        return -1;
    if (m < 1 || m > 12 || d < 1 ||
        d > mdays[m - 1] + (m == 2 && leap(y)))
        return -1;
    *days = days_from_civil(y, m, d);
    return 0;
}

static int parse_unix(const char *s, int64_t *out)
{
    int64_t v = 0;
    const char *p;

    for (p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (p == s)
        return -1;
    *out = v;
    return 0;
}

int osic_parse_time(const char *s, int64_t *out, int *date_only)
{
    int64_t days, t;
    int hh, mm, ss, oh, om;
    const char *p;

    *date_only = 0;
    if (s == NULL)
        return -1;
    if (parse_date(s, &days) != 0)
        return parse_unix(s, out);
    if (s[10] == '\0') {
        *date_only = 1;
        *out = days * 86400;
        return 0;
    }
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &hh) != 0 || s[13] != ':' ||
        digits(s + 14, 2, &mm) != 0 || s[16] != ':' ||
        digits(s + 17, 2, &ss) != 0)
        return -1;
    /* 60: a leap second, which Unix time folds into the next one. */
    if (hh > 23 || mm > 59 || ss > 60)
        return -1;
    p = s + 19;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9')
            return -1;
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    }
    t = days * 86400 + hh * 3600 + mm * 60 + ss;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        *out = t;
        return 0;
    }
    if ((*p != '+' && *p != '-') || digits(p + 1, 2, &oh) != 0 ||
        p[3] != ':' || digits(p + 4, 2, &om) != 0 || p[6] != '\0' ||
        oh > 23 || om > 59)
        return -1;
    /* The local time is ahead of UTC by a positive offset. */
    *out = t + (*p == '+' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
    return 0;
}
