/* SPDX-License-Identifier: MIT */
/* Request bodies sent with Content-Encoding: gzip, inflated under the same
 * size cap as plain bodies (a small body must not become a huge one). */
#include <stdlib.h>
#include <zlib.h>

#include "api.h"

int api_inflate_body(struct api_request *req, char **body, size_t *len)
{
    size_t cap = req->srv->max_body;
    z_stream zs = { 0 };
    char *out;
    int zr;

    /* One byte more than the cap tells "too large" from "exactly full". */
    out = malloc(cap + 2);
    if (out == NULL) {
        api_send_error(req, 503, API_RETRY_AFTER, "out of memory");
        return -1;
    }
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) { /* gzip framing only */
        free(out);
        api_send_error(req, 503, API_RETRY_AFTER, "out of memory");
        return -1;
    }
    zs.next_in = (unsigned char *)*body;
    zs.avail_in = (unsigned int)*len;
    zs.next_out = (unsigned char *)out;
    zs.avail_out = (unsigned int)(cap + 1);
    zr = inflate(&zs, Z_FINISH);
    if (zr == Z_STREAM_END && zs.avail_in == 0) {
        size_t n = zs.total_out;

        inflateEnd(&zs);
        out[n] = '\0';
        free(*body);
        *body = out;
        *len = n;
        return 0;
    }
    if (zs.avail_out == 0 && zr != Z_STREAM_END)
        api_send_error(req, 413, NULL,
                       "the gzip body inflates to over %zu bytes", cap);
    else if (zr == Z_STREAM_END)
        api_send_error(req, 400, NULL,
                       "the gzip body has %u bytes after its end",
                       zs.avail_in);
    else
        api_send_error(req, 400, NULL, "the gzip body is corrupt: %s",
                       zs.msg != NULL ? zs.msg : "it ends early");
    inflateEnd(&zs);
    free(out);
    return -1;
}
