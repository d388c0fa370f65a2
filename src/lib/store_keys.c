/* SPDX-License-Identifier: MIT */
/* Store keys: canonical addresses, RFC 3339 times, building and parsing
 * the keys of the layout (docs/storage.md). Pure functions, no state. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

#define MS_PER_DAY INT64_C(86400000)
#define MAX_REPORT_ID 64

int osip_ip_canonical(const char *in, char out[OSIP_IP_MAX])
{
    struct in6_addr a6;
    struct in_addr a4;

    if (in == NULL)
        return -1;
    /* inet_pton takes IPv4 only as four decimal numbers of at most 255
     * with no leading zero: the text it accepts is already canonical
     * (and inet_ntop would format it with sprintf, on every request). */
    if (inet_pton(AF_INET, in, &a4) == 1) {
        memcpy(out, in, strlen(in) + 1);
        return 0;
    }
    if (inet_pton(AF_INET6, in, &a6) != 1)
        return -1;
    /* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d: the same
     * host as a.b.c.d. */
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
        return inet_ntop(AF_INET, &a4, out, OSIP_IP_MAX) ? 0 : -1;
    }
    return inet_ntop(AF_INET6, &a6, out, OSIP_IP_MAX) ? 0 : -1;
}

int osip_ip_is_local(const char *ip)
{
    struct in6_addr a6;
    struct in_addr a4;

    if (ip == NULL)
        return 0;
    if (inet_pton(AF_INET, ip, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127 || a4.s_addr == 0;
    if (inet_pton(AF_INET6, ip, &a6) != 1)
        return 0;
    if (IN6_IS_ADDR_V4MAPPED(&a6))
        return a6.s6_addr[12] == 127 ||
               memcmp(&a6.s6_addr[12], "\0\0\0\0", 4) == 0;
    return IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_UNSPECIFIED(&a6);
}

int osip_report_id_valid(const char *id)
{
    size_t n;

    if (id == NULL)
        return 0;
    n = strlen(id);
    if (n == 0 || n > MAX_REPORT_ID)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '-'))
            return 0;
    }
    return 1;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): no time zone, no locale, no lock. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31 };

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* Exactly n decimal digits. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int ms_in_range(int64_t ms)
{
    return ms >= days_from_civil(0, 1, 1) * MS_PER_DAY &&
           ms < days_from_civil(10000, 1, 1) * MS_PER_DAY;
}

/* "YYYY-MM-DD" followed by sep (or nothing when sep is '\0'). */
static int parse_date(const char *s, int *y, int *m, int *d)
{
    if (digits(s, 4, y) != 0 || s[4] != '-' || digits(s + 5, 2, m) != 0 ||
        s[7] != '-' || digits(s + 8, 2, d) != 0)
        return -1;
    if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

int osip_rfc3339_parse(const char *s, int64_t *ms_out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, frac = 0, sign = 0;
    int64_t ms;
    const char *p;

    if (s == NULL || strlen(s) < 20 || parse_date(s, &y, &mo, &d) != 0)
        return -1;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return -1;
    if (digits(s + 11, 2, &h) != 0 || s[13] != ':' ||
        digits(s + 14, 2, &mi) != 0 || s[16] != ':' ||
        digits(s + 17, 2, &sec) != 0)
        return -1;
    /* 60 is a leap second: it counts as the next minute's first. */
    if (h > 23 || mi > 59 || sec > 60)
        return -1;
    p = s + 19;
    if (*p == '.') {
        int n = 0;

        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                frac = frac * 10 + (*p - '0');
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (digits(p + 1, 2, &oh) != 0 || p[3] != ':' ||
            digits(p + 4, 2, &om) != 0 || oh > 23 || om > 59)
            return -1;
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    ms = days_from_civil(y, mo, d) * MS_PER_DAY +
         ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + frac -
         (int64_t)sign * ((int64_t)oh * 3600 + om * 60) * 1000;
    if (!ms_in_range(ms))
        return -1;
    *ms_out = ms;
    return 0;
}

struct civil {
    int y, mo, d, h, mi, s, ms;
};

static struct civil civil_from_ms(int64_t ms)
{
    struct civil c;
    int64_t days = floor_div(ms, MS_PER_DAY);
    int64_t rest = ms - days * MS_PER_DAY;

    civil_from_days(days, &c.y, &c.mo, &c.d);
    c.h = (int)(rest / 3600000);
    c.mi = (int)(rest / 60000 % 60);
    c.s = (int)(rest / 1000 % 60);
    c.ms = (int)(rest % 1000);
    return c;
}

void osip_rfc3339_format(int64_t ms, char buf[OSIP_TIME_MAX])
{
    struct civil c;

    if (!ms_in_range(ms))
        ms = 0;
    c = civil_from_ms(ms);
    snprintf(buf, OSIP_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.y,
             c.mo, c.d, c.h, c.mi, c.s, c.ms);
}

uint32_t osip_key_hash(const char *key)
{
    uint32_t h = 2166136261u;

    for (const char *p = key; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

struct osip_known *osip_known_new(void)
{
    struct osip_known *k =
        osip_malloc(OSIP_KNOWN_SETS * OSIP_KNOWN_WAYS * sizeof(*k));

    if (k != NULL)
        memset(k, 0, OSIP_KNOWN_SETS * OSIP_KNOWN_WAYS * sizeof(*k));
    return k;
}

size_t osip_known_set(const char *latest)
{
    return osip_key_hash(latest) % OSIP_KNOWN_SETS;
}

struct osip_known *osip_known_find(struct osip_known *known,
                                   const char *latest)
{
    struct osip_known *set = &known[osip_known_set(latest) * OSIP_KNOWN_WAYS];

    for (size_t i = 0; i < OSIP_KNOWN_WAYS; i++) {
        if (strcmp(set[i].latest, latest) == 0) {
            struct osip_known k = set[i];

            memmove(set + 1, set, i * sizeof(*set));
            set[0] = k;
            return set;
        }
    }
    return NULL;
}

struct osip_known *osip_known_put(struct osip_known *known,
                                  const char *latest, const char *report)
{
    struct osip_known *k = osip_known_find(known, latest);
    size_t nl = strlen(latest), nr = strlen(report);

    if (nl >= sizeof(k->latest) || nr >= sizeof(k->report)) {
        if (k != NULL)
            k->latest[0] = '\0';
        return NULL;
    }
    if (k == NULL) {
        /* The least recently used way goes. */
        k = &known[osip_known_set(latest) * OSIP_KNOWN_WAYS];
        memmove(k + 1, k, (OSIP_KNOWN_WAYS - 1) * sizeof(*k));
    }
    memcpy(k->latest, latest, nl + 1);
    memcpy(k->report, report, nr + 1);
    k->tag[0] = k->tag[1] = 0;
    return k;
}

void osip_known_forget(struct osip_known *known, const char *latest)
{
    struct osip_known *k = osip_known_find(known, latest);

    if (k != NULL)
        k->latest[0] = '\0';
}

int64_t osip_now_ms(void)
{
    struct timespec ts = { 0, 0 };

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fits(int n)
{
    return n > 0 && n < OSIP_KEY_MAX ? 0 : -1;
}

int osip_key_report(char buf[OSIP_KEY_MAX], const char *ip, int64_t ms,
                    const char *report_id)
{
    struct civil c;

    if (!ms_in_range(ms) || !osip_report_id_valid(report_id))
        return -1;
    c = civil_from_ms(ms);
    return fits(snprintf(buf, OSIP_KEY_MAX,
                         "reports/%s/%04d-%02d-%02d/%02d%02d%02d.%03dZ-%s.json",
                         ip, c.y, c.mo, c.d, c.h, c.mi, c.s, c.ms,
                         report_id));
}

int osip_key_latest(char buf[OSIP_KEY_MAX], const char *ip)
{
    return fits(snprintf(buf, OSIP_KEY_MAX, "latest/%s.json", ip));
}

int osip_key_seen(char buf[OSIP_KEY_MAX], const char *ip)
{
    return fits(snprintf(buf, OSIP_KEY_MAX, "seen/%s.json", ip));
}

int osip_key_legacy_prefix(char buf[OSIP_KEY_MAX], const char *ip)
{
    size_t n = strlen(ip);

    if (n + 2 > OSIP_KEY_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        buf[i] = ip[i] == '.' ? '_' : ip[i];
    buf[n] = '_';
    buf[n + 1] = '\0';
    return 0;
}

/* Copy the n bytes at s and check that they are a canonical address. */
static int canonical_part(const char *s, size_t n, char ip_out[OSIP_IP_MAX])
{
    char raw[OSIP_IP_MAX], canon[OSIP_IP_MAX];

    if (n == 0 || n >= sizeof(raw))
        return -1;
    memcpy(raw, s, n);
    raw[n] = '\0';
    if (osip_ip_canonical(raw, canon) != 0 || strcmp(raw, canon) != 0)
        return -1;
    if (ip_out != NULL)
        memcpy(ip_out, canon, n + 1);
    return 0;
}

int osip_key_report_parse(const char *key, int64_t *ms_out,
                          char ip_out[OSIP_IP_MAX])
{
    static const char head[] = "reports/";
    char id[MAX_REPORT_ID + 1];
    const char *ip, *slash, *p;
    int y, mo, d, h, mi, s, ms;
    size_t n;

    if (key == NULL || strncmp(key, head, sizeof(head) - 1) != 0)
        return -1;
    ip = key + sizeof(head) - 1;
    slash = strchr(ip, '/');
    if (slash == NULL || canonical_part(ip, (size_t)(slash - ip), ip_out) != 0)
        return -1;
    p = slash + 1;
    /* YYYY-MM-DD/HHMMSS.mmmZ-: 23 characters before the report_id. */
    if (strlen(p) < 23 + 1 + 5 || parse_date(p, &y, &mo, &d) != 0 ||
        p[10] != '/' || digits(p + 11, 2, &h) != 0 ||
        digits(p + 13, 2, &mi) != 0 || digits(p + 15, 2, &s) != 0 ||
        p[17] != '.' || digits(p + 18, 3, &ms) != 0 || p[21] != 'Z' ||
        p[22] != '-')
        return -1;
    if (h > 23 || mi > 59 || s > 59)
        return -1;
    p += 23;
    n = strlen(p);
    if (n <= 5 || n - 5 > MAX_REPORT_ID || strcmp(p + n - 5, ".json") != 0)
        return -1;
    memcpy(id, p, n - 5);
    id[n - 5] = '\0';
    if (!osip_report_id_valid(id))
        return -1;
    *ms_out = days_from_civil(y, mo, d) * MS_PER_DAY +
              ((int64_t)h * 3600 + mi * 60 + s) * 1000 + ms;
    return 0;
}

int osip_key_host_parse(const char *key, const char *kind,
                        char ip_out[OSIP_IP_MAX])
{
    size_t k, n;

    if (key == NULL || kind == NULL)
        return -1;
    k = strlen(kind);
    n = strlen(key);
    if (strncmp(key, kind, k) != 0 || n < k + 5 ||
        strcmp(key + n - 5, ".json") != 0)
        return -1;
    return canonical_part(key + k, n - k - 5, ip_out);
}

int osip_key_legacy_parse(const char *key, char ip_out[OSIP_IP_MAX],
                          int64_t *ms_out)
{
    /* "_YYYY-MM-DD.json" */
    static const size_t tail = 16;
    char raw[OSIP_IP_MAX];
    int y, mo, d;
    size_t n, ipn;
    const char *t;

    if (key == NULL || strchr(key, '/') != NULL)
        return -1;
    n = strlen(key);
    if (n <= tail)
        return -1;
    ipn = n - tail;
    t = key + ipn;
    if (t[0] != '_' || parse_date(t + 1, &y, &mo, &d) != 0 ||
        strcmp(t + 11, ".json") != 0 || ipn >= sizeof(raw))
        return -1;
    /* The original wrote the address with '_' for '.'. */
    for (size_t i = 0; i < ipn; i++)
        raw[i] = key[i] == '_' ? '.' : key[i];
    raw[ipn] = '\0';
    if (osip_ip_canonical(raw, ip_out) != 0)
        return -1;
    *ms_out = days_from_civil(y, mo, d) * MS_PER_DAY;
    return 0;
}

int osip_key_report_cmp(const char *a, const char *b)
{
    int64_t ta = 0, tb = 0;
    int pa = osip_key_report_parse(a, &ta, NULL) == 0;
    int pb = osip_key_report_parse(b, &tb, NULL) == 0;
    int c;

    if (pa != pb)
        return pa ? 1 : -1;
    if (pa && ta != tb)
        return ta < tb ? -1 : 1;
    c = strcmp(a, b);
    return (c > 0) - (c < 0);
}
