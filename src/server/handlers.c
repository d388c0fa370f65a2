/* SPDX-License-Identifier: MIT */
/* The endpoints: each reads its query, makes one store call and shapes
 * the answer; every rule about reports lives in libosinspect. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "timeparse.h"

/* Room for one decoded query value: an IPv6 address, an RFC 3339 time. */
#define PARAM_MAX 128
#define LIMIT_MAX 1000

struct param {
    const char *name;
    int seen;
    char value[PARAM_MAX];
};

/* Decode src (form-encoded, len bytes) into dst; -1 when it does not fit
 * or decodes to a control character (NUL included). */
static int decode(const char *src, size_t len, char *dst, size_t size)
{
    int n = mg_url_decode(src, (int)len, dst, (int)size, 1);
    int i;

    if (n < 0)
        return -1;
    for (i = 0; i < n; i++) {
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
            return -1;
    }
    return 0;
}

/* Fill params from the query string. Unknown, repeated, overlong or
 * undecodable parameters are refused (answered 400): a typo such as
 * "limt=5" must not silently return the default. */
static int parse_query(struct api_request *req, struct param *params,
                       size_t nparams)
{
    const char *p = req->query;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, '&'), *eq;
        char name[32];
        size_t len, i;

        if (end == NULL)
            end = p + strlen(p);
        len = (size_t)(end - p);
        eq = memchr(p, '=', len);
        if (len == 0) {
            p = *end ? end + 1 : end;
            continue;
        }
        if (decode(p, eq ? (size_t)(eq - p) : len, name, sizeof(name)) != 0) {
            api_send_error(req, 400, NULL, "unknown query parameter");
            return -1;
        }
        for (i = 0; i < nparams && strcmp(params[i].name, name) != 0; i++)
            ;
        if (i == nparams) {
            api_send_error(req, 400, NULL, "unknown query parameter '%s'",
                           name);
            return -1;
        }
        if (params[i].seen) {
            api_send_error(req, 400, NULL,
                           "query parameter '%s' is given twice", name);
            return -1;
        }
        params[i].seen = 1;
        if (eq == NULL) {
            params[i].value[0] = '\0';
        } else if (decode(eq + 1, (size_t)(end - eq - 1), params[i].value,
                          sizeof(params[i].value)) != 0) {
            api_send_error(req, 400, NULL,
                           "query parameter '%s' is too long or holds "
                           "control characters", name);
            return -1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* The ip parameter: present and not empty. Whether it is an address is
 * the store's call (it answers OSI_EINVAL). */
static int need_ip(struct api_request *req, const struct param *ip)
{
    if (!ip->seen) {
        api_send_error(req, 400, NULL,
                       "query parameter 'ip' is missing: give the address "
                       "of a host");
        return -1;
    }
    if (ip->value[0] == '\0') {
        api_send_error(req, 400, NULL, "query parameter 'ip' is empty");
        return -1;
    }
    return 0;
}

/* Send {"<key>":<json>} where json is text the library made. */
static void send_wrapped(struct api_request *req, const char *key,
                         const char *json, size_t len)
{
    struct api_buf body;

    api_buf_init(&body);
    /* {"key":json}, the newline api_send() adds, no growing. */
    api_buf_reserve(&body, strlen(key) + len + 6);
    api_buf_adds(&body, "{\"");
    api_buf_adds(&body, key);
    api_buf_adds(&body, "\":");
    api_buf_add(&body, json, len);
    api_buf_adds(&body, "}");
    api_send(req, 200, NULL, &body);
    api_buf_free(&body);
}

void api_post_report(struct api_request *req)
{
    struct osi_parse_options popts = OSI_PARSE_OPTIONS_INIT;
    struct osi_error err;
    struct api_buf body;
    char id[OSI_REPORT_ID_SIZE];
    char *text = NULL;
    size_t len;
    int duplicate = 0;

    if (parse_query(req, NULL, 0) != 0 || api_check_content_type(req) != 0 ||
        api_read_body(req, &text, &len) != 0 ||
        (req->gzip && api_inflate_body(req, &text, &len) != 0)) {
        free(text);
        return;
    }
    popts.max_size = req->srv->max_body;
    /* 200 only once the store says the report is durable. */
    if (osi_store_put_json(req->srv->store, text, len, &popts,
                           req->ri->remote_addr, &duplicate, id,
                           &err) != OSI_OK) {
        api_send_osi_error(req, &err);
        free(text);
        return;
    }
    free(text);
    api_buf_init(&body);
    api_buf_adds(&body, "{\"status\":\"success\",\"report_id\":");
    api_buf_add_json_string(&body, id);
    api_buf_adds(&body, duplicate ? ",\"duplicate\":true}"
                                  : ",\"duplicate\":false}");
    api_send(req, 200, NULL, &body);
    api_buf_free(&body);
}

void api_get_report(struct api_request *req)
{
    struct param params[] = { { "ip", 0, "" } };
    struct osi_error err;
    char *json = NULL;
    size_t len = 0;
    enum osi_status st;

    if (parse_query(req, params, 1) != 0 || need_ip(req, &params[0]) != 0)
        return;
    st = osi_store_latest_json(req->srv->store, params[0].value, &json, &len,
                               &err);
    if (st == OSI_ENOTFOUND)
        api_send_error(req, 404, NULL, "no report for host %s",
                       params[0].value);
    else if (st != OSI_OK)
        api_send_osi_error(req, &err);
    else
        send_wrapped(req, "report", json, len);
    osi_free(json);
}

/* A time bound of /reports. A date alone covers its whole day: since=D
 * starts at D's midnight, until=D ends at the next one. */
static int time_param(struct api_request *req, const struct param *p,
                      int is_until, int64_t *out)
{
    int date_only;

    if (!p->seen)
        return 0;
    if (osic_parse_time(p->value, out, &date_only) != 0) {
        api_send_error(req, 400, NULL,
                       "query parameter '%s' is not a time: give RFC 3339 "
                       "(2026-01-02T03:04:05Z), a date (2026-01-02) or "
                       "Unix seconds", p->name);
        return -1;
    }
    if (is_until && date_only)
        *out += 86400;
    if (*out <= 0) {
        /* The store reads 0 as "no bound". */
        api_send_error(req, 400, NULL,
                       "query parameter '%s' must be after "
                       "1970-01-01T00:00:00Z", p->name);
        return -1;
    }
    return 0;
}

static int limit_param(struct api_request *req, const struct param *p,
                       size_t *out)
{
    const char *s = p->value;
    size_t v = 0;

    if (!p->seen)
        return 0;
    for (; *s >= '0' && *s <= '9' && v <= LIMIT_MAX; s++)
        v = v * 10 + (size_t)(*s - '0');
    if (*s != '\0' || s == p->value || v < 1 || v > LIMIT_MAX) {
        api_send_error(req, 400, NULL,
                       "query parameter 'limit' must be a whole number from "
                       "1 to %d", LIMIT_MAX);
        return -1;
    }
    *out = v;
    return 0;
}

void api_get_reports(struct api_request *req)
{
    struct param params[] = {
        { "ip", 0, "" }, { "since", 0, "" }, { "until", 0, "" },
        { "limit", 0, "" },
    };
    struct osi_history_query q = OSI_HISTORY_QUERY_INIT;
    struct osi_report_list *list = NULL;
    struct osi_error err;
    char *json = NULL;
    size_t len;

    if (parse_query(req, params, 4) != 0 || need_ip(req, &params[0]) != 0 ||
        time_param(req, &params[1], 0, &q.since) != 0 ||
        time_param(req, &params[2], 1, &q.until) != 0 ||
        limit_param(req, &params[3], &q.limit) != 0)
        return;
    if (q.since != 0 && q.until != 0 && q.until <= q.since) {
        api_send_error(req, 400, NULL,
                       "query parameter 'until' must be after 'since'");
        return;
    }
    if (osi_store_history(req->srv->store, params[0].value, &q, &list,
                          &err) != OSI_OK ||
        osi_report_list_to_json(list, OSI_JSON_COMPACT, &json, &len,
                                &err) != OSI_OK)
        api_send_osi_error(req, &err);
    else
        send_wrapped(req, "reports", json, len);
    osi_free(json);
    osi_report_list_free(list);
}

void api_get_hosts(struct api_request *req)
{
    struct osi_error err;
    char *json = NULL;
    size_t len;

    if (parse_query(req, NULL, 0) != 0)
        return;
    if (osi_store_hosts_json(req->srv->store, OSI_JSON_COMPACT, &json, &len,
                             &err) != OSI_OK)
        api_send_osi_error(req, &err);
    else
        send_wrapped(req, "hosts", json, len);
    osi_free(json);
}

void api_get_health(struct api_request *req)
{
    struct osi_error err;
    struct api_buf body;

    if (parse_query(req, NULL, 0) != 0)
        return;
    api_buf_init(&body);
    if (osi_store_ping(req->srv->store, &err) == OSI_OK) {
        api_buf_adds(&body, "{\"health\":\"ok\"}");
        api_send(req, 200, NULL, &body);
    } else {
        api_buf_adds(&body, "{\"health\":\"error\",\"error\":");
        api_buf_add_json_string(&body, err.message[0] ? err.message
                                                      : osi_status_str(
                                                            err.status));
        api_buf_adds(&body, "}");
        api_send(req, 503, API_RETRY_AFTER, &body);
    }
    api_buf_free(&body);
}
