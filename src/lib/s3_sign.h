/* SPDX-License-Identifier: MIT */
/* S3 request signing, version 2 (HMAC-SHA1), as libs3 2.0 signs and
 * s3rver checks, for the requests the S3 store sends itself. */
#ifndef OSINSPECT_S3_SIGN_H
#define OSINSPECT_S3_SIGN_H

#include <stddef.h>
#include <time.h>

/* Base64 of a SHA-1 digest, NUL-terminated. */
#define OSIP_S3_SIGNATURE_SIZE 29
/* "Tue, 27 Mar 2007 19:36:42 GMT" and its NUL. */
#define OSIP_S3_DATE_SIZE 30

/* The signature of string_to_sign (RFC 2104 HMAC-SHA1 under secret, in
 * base64). */
void osip_s3_sign_v2(const char *secret, const char *string_to_sign,
                     size_t len, char out[OSIP_S3_SIGNATURE_SIZE]);

/* key as a URL path, each byte but A-Z a-z 0-9 - . _ ~ / as %XX: the form
 * both the request line and the signed resource take. -1 when it does
 * not fit out_size (with its NUL), else 0. */
int osip_s3_uri_encode(const char *key, char *out, size_t out_size);

/* t as an IMF-fixdate (RFC 9110), without the locale. */
void osip_s3_http_date(time_t t, char out[OSIP_S3_DATE_SIZE]);

#endif
