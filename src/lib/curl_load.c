/* SPDX-License-Identifier: MIT */
/* Loading libcurl and zlib with dlopen: programs that never send do not
 * map curl and its ~30 dependencies at start-up (docs/sending.md). */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "curl_load.h"

const char *osip_curl_soname = "libcurl.so.4";
const char *osip_zlib_soname = "libz.so.1";

struct sym {
    const char *name;
    size_t offset;
};

#define CURL_SYM(field, name) { name, offsetof(struct osip_curl, field) }
static const struct sym curl_syms[] = {
    CURL_SYM(global_init, "curl_global_init"),
    CURL_SYM(version_info, "curl_version_info"),
    CURL_SYM(easy_init, "curl_easy_init"),
    CURL_SYM(easy_setopt, "curl_easy_setopt"),
    CURL_SYM(easy_perform, "curl_easy_perform"),
    CURL_SYM(easy_getinfo, "curl_easy_getinfo"),
    CURL_SYM(easy_strerror, "curl_easy_strerror"),
    CURL_SYM(easy_cleanup, "curl_easy_cleanup"),
    CURL_SYM(slist_append, "curl_slist_append"),
    CURL_SYM(slist_free_all, "curl_slist_free_all"),
    CURL_SYM(url, "curl_url"),
    CURL_SYM(url_set, "curl_url_set"),
    CURL_SYM(url_get, "curl_url_get"),
    CURL_SYM(url_cleanup, "curl_url_cleanup"),
    CURL_SYM(free, "curl_free"),
};

#define ZLIB_SYM(field, name) { name, offsetof(struct osip_zlib, field) }
static const struct sym zlib_syms[] = {
    ZLIB_SYM(deflate_init2_, "deflateInit2_"),
    ZLIB_SYM(deflate, "deflate"),
    ZLIB_SYM(deflate_end, "deflateEnd"),
    ZLIB_SYM(deflate_bound, "deflateBound"),
};

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct osip_curl curl_table;
static struct osip_zlib zlib_table;
static int curl_loaded, zlib_loaded;

/* dlopen soname and fill table from syms. ISO C has no conversion from
 * dlsym's void * to a function pointer; POSIX guarantees the bytes are
 * the same, so they are copied. The handle is never closed: the library
 * stays for the life of the process. */
static enum osi_status load(const char *soname, const char *what,
                            const char *package, const struct sym *syms,
                            size_t n, void *table, struct osi_error *err)
{
    /* Lazy: libcurl binds its own symbols at once (it is linked -z now),
     * but its ~30 dependencies need not resolve what the sender never
     * calls; measured 2-3 ms less than RTLD_NOW. */
    void *handle = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);

    if (handle == NULL) {
        const char *why = dlerror();

        return osip_fail(err, OSI_ENOTSUP,
                         "%s is not installed (Debian package %s): %s", what, package, why ? why : soname);
    }
    for (size_t i = 0; i < n; i++) {
        void *fn = dlsym(handle, syms[i].name);

        if (fn == NULL) {
            dlclose(handle);
            return osip_fail(err, OSI_ENOTSUP, "%s has no %s: it is too old",
                             soname, syms[i].name);
        }
        memcpy((char *)table + syms[i].offset, &fn, sizeof(fn));
    }
    return OSI_OK;
}

enum osi_status osip_curl_load(const struct osip_curl **out,
                               struct osi_error *err)
{
    enum osi_status st = OSI_OK;

    pthread_mutex_lock(&load_lock);
    if (!curl_loaded) {
        struct osip_curl t;
        CURLcode cc;

        st = load(osip_curl_soname, "libcurl", "libcurl4", curl_syms,
                  sizeof(curl_syms) / sizeof(curl_syms[0]), &t, err);
        if (st == OSI_OK) {
            cc = t.global_init(CURL_GLOBAL_DEFAULT);
            if (cc != CURLE_OK) {
                st = osip_error_set(err, cc == CURLE_OUT_OF_MEMORY ?
                                             OSI_ENOMEM : OSI_ENOTSUP,
                                    OSI_CAUSE_CURL, cc,
                                    "libcurl cannot start: %s",
                                    t.easy_strerror(cc));
            } else {
                curl_table = t;
                curl_loaded = 1;
            }
        }
    }
    pthread_mutex_unlock(&load_lock);
    *out = st == OSI_OK ? &curl_table : NULL;
    return st;
}

enum osi_status osip_zlib_load(const struct osip_zlib **out,
                               struct osi_error *err)
{
    enum osi_status st = OSI_OK;

    pthread_mutex_lock(&load_lock);
    if (!zlib_loaded) {
        struct osip_zlib t;

        st = load(osip_zlib_soname, "zlib", "zlib1g", zlib_syms,
                  sizeof(zlib_syms) / sizeof(zlib_syms[0]), &t, err);
        if (st == OSI_OK) {
            zlib_table = t;
            zlib_loaded = 1;
        }
    }
    pthread_mutex_unlock(&load_lock);
    *out = st == OSI_OK ? &zlib_table : NULL;
    return st;
}
