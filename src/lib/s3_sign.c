/* SPDX-License-Identifier: MIT */
/* S3 signature version 2 (s3_sign.h): the HMAC, the escaping of keys and
 * the Date header. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "s3_sign.h"
#include "sha1.h"

void osip_s3_sign_v2(const char *secret, const char *string_to_sign,
                     size_t len, char out[OSIP_S3_SIGNATURE_SIZE])
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char d[OSIP_SHA1_SIZE + 1] = { 0 };
    char *o = out;

    osip_hmac_sha1(secret, strlen(secret), string_to_sign, len, d);
    for (int i = 0; i < OSIP_SHA1_SIZE; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 |
                     (i + 2 < OSIP_SHA1_SIZE ? d[i + 2] : 0);

        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < OSIP_SHA1_SIZE ? b64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < OSIP_SHA1_SIZE ? b64[v & 63] : '=';
    }
    *o = '\0';
}

int osip_s3_uri_encode(const char *key, char *out, size_t out_size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
                    *p == '_' || *p == '~' || *p == '/';

        if (o + (plain ? 1 : 3) >= out_size)
            return -1;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (o >= out_size)
        return -1;
    out[o] = '\0';
    return 0;
}

void osip_s3_http_date(time_t t, char out[OSIP_S3_DATE_SIZE])
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    /* Room for any int: the compiler cannot know the fields' ranges. */
    char buf[80];

    gmtime_r(&t, &tm);
    snprintf(buf, sizeof(buf), "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT",
             days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, buf, OSIP_S3_DATE_SIZE - 1);
    out[OSIP_S3_DATE_SIZE - 1] = '\0';
}
