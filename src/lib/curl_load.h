/* SPDX-License-Identifier: MIT */
/* libcurl and zlib, loaded with dlopen on first use (docs/sending.md). */
#ifndef OSINSPECT_CURL_LOAD_H
#define OSINSPECT_CURL_LOAD_H

#include <curl/curl.h>
/* next_in is then const, as the bodies are. */
#define ZLIB_CONST
#include <zlib.h>

#include "internal.h"

/* The functions of libcurl the sender calls, declared with curl's own
 * prototypes so that a mismatch is a compile error. curl_easy_setopt and
 * curl_easy_getinfo are variadic: pass numbers as long, sizes as
 * curl_off_t, as curl requires (its type-checking macros do not apply to
 * calls through these pointers). */
struct osip_curl {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_version_info) *version_info;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
    __typeof__(curl_url) *url;
    __typeof__(curl_url_set) *url_set;
    __typeof__(curl_url_get) *url_get;
    __typeof__(curl_url_cleanup) *url_cleanup;
    __typeof__(curl_free) *free;
};

/* The functions of zlib that gzip a body. */
struct osip_zlib {
    __typeof__(deflateInit2_) *deflate_init2_;
    __typeof__(deflate) *deflate;
    __typeof__(deflateEnd) *deflate_end;
    __typeof__(deflateBound) *deflate_bound;
};

/* Names of the libraries to load. Variables so that the white-box tests
 * can point them at a library that does not exist; the shared library
 * exports only osi_ names, so no program can change them. */
extern const char *osip_curl_soname;
extern const char *osip_zlib_soname;

/* Load libcurl and run curl_global_init, once per process (the library
 * stays loaded until the process exits: curl_global_cleanup is not safe
 * while another part of the program may still use curl). A failure is not
 * remembered: a later call tries again. Thread-safe.
 * OSI_ENOTSUP when the library or one of its functions is missing. */
enum osi_status osip_curl_load(const struct osip_curl **out,
                               struct osi_error *err);

/* Load zlib, once per process, likewise. */
enum osi_status osip_zlib_load(const struct osip_zlib **out,
                               struct osi_error *err);

#endif /* OSINSPECT_CURL_LOAD_H */
