/* SPDX-License-Identifier: MIT */
/* The report store through its public API on the file backend: put,
 * latest, history, hosts, aliases, the original tool's keys, opening,
 * allocation failures and 16 threads at once. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"
#include "osi_test.h"

/* What the original Python agent really sends: no report_id, no
 * collected_at, an empty cpu, a kernel build string, an extra number. */
#define ORIGINAL(ip, ts)                                                      \
    "{\"cpu\": \"\", \"os_username\": \"root\", \"os_name\": \"Linux\", "    \
    "\"server_ip\": \"" ip "\", \"timestamp\": \"" ts "\", "                 \
    "\"os_version\": \"#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 "             \
    "(2024-02-01)\", \"mem\": 2.9}"

struct fixture {
    char *dir;
    struct osi_store *store;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char uri[4200];

    if (f == NULL)
        return -1;
    f->dir = osi_test_mkdtemp();
    if (f->dir == NULL)
        return -1;
    snprintf(uri, sizeof(uri), "file://%s/store", f->dir);
    if (osi_store_open(uri, NULL, &f->store, NULL) != OSI_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    osi_store_close(f->store);
    osi_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char *path_in(const struct fixture *f, const char *rel)
{
    static char buf[4096];

    snprintf(buf, sizeof(buf), "%s/store/%s", f->dir, rel);
    return buf;
}

static struct osi_report *parse(const char *json)
{
    struct osi_report *r = NULL;
    struct osi_error err;

    assert_osi_ok(osi_report_from_json(json, strlen(json), NULL, &r, &err),
                  &err);
    return r;
}

/* A report of this library's agent, with the fields the store reads. */
static struct osi_report *make(const char *ip, const char *id,
                               const char *collected_at, const char *hostname,
                               const char *machine_id)
{
    char buf[2048], mid[128] = "";

    if (machine_id != NULL)
        snprintf(mid, sizeof(mid), ",\"identity\":{\"machine_id\":\"%s\"}",
                 machine_id);
    snprintf(buf, sizeof(buf),
             "{\"cpu\":\"Xeon\",\"os_username\":\"alice\",\"os_name\":"
             "\"Linux\",\"server_ip\":\"%s\",\"timestamp\":\"2026-01-02 "
             "03:04:05\",\"os_version\":\"6.1.0\",\"report_id\":\"%s\","
             "\"collected_at\":\"%s\",\"hostname\":\"%s\"%s}",
             ip, id, collected_at, hostname, mid);
    return parse(buf);
}

static int put(struct fixture *f, struct osi_report *r, const char *peer)
{
    struct osi_error err;
    int dup = -1;

    assert_osi_ok(osi_store_put(f->store, r, peer, &dup, &err), &err);
    return dup;
}

static void put_new(struct fixture *f, const char *ip, const char *id,
                    const char *collected_at)
{
    struct osi_report *r = make(ip, id, collected_at, "h", NULL);

    assert_int_equal(put(f, r, ip), 0);
    osi_report_free(r);
}

static char *to_json(const struct osi_report *r)
{
    struct osi_error err;
    char *out = NULL;

    assert_osi_ok(osi_report_to_json(r, OSI_JSON_COMPACT, &out, NULL, &err),
                  &err);
    return out;
}

static struct osi_report *latest(struct fixture *f, const char *ip)
{
    struct osi_report *r = NULL;
    struct osi_error err;

    assert_osi_ok(osi_store_latest(f->store, ip, &r, &err), &err);
    return r;
}

static void expect_latest_id(struct fixture *f, const char *ip,
                             const char *id)
{
    struct osi_report *r = latest(f, ip);

    assert_string_equal(osi_report_get_string(r, "report_id"), id);
    osi_report_free(r);
}

/* History as "id,id,...", newest first. */
static void expect_history(struct fixture *f, const char *ip, int64_t since,
                           int64_t until, size_t limit, const char *want)
{
    struct osi_history_query q = OSI_HISTORY_QUERY_INIT;
    struct osi_report_list *list = NULL;
    struct osi_error err;
    char got[1024] = "";
    size_t off = 0;

    q.since = since;
    q.until = until;
    q.limit = limit;
    assert_osi_ok(osi_store_history(f->store, ip, &q, &list, &err), &err);
    for (size_t i = 0; i < osi_report_list_count(list); i++) {
        const char *id =
            osi_report_get_string(osi_report_list_get(list, i), "report_id");

        off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s",
                                i ? "," : "", id ? id : "(none)");
    }
    osi_report_list_free(list);
    assert_string_equal(got, want);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

struct latest_call {
    struct osi_store *store;
    const char *ip;
    enum osi_status st;
};

static void *latest_json_of(void *arg)
{
    struct latest_call *c = arg;
    char *json = NULL;
    size_t len = 0;

    c->st = osi_store_latest_json(c->store, c->ip, &json, &len, NULL);
    osi_free(json);
    return NULL;
}

static int exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* --- put and latest ----------------------------------------------------- */

static void test_store_put_then_latest(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r = make("10.0.0.1", "id-1", "2026-01-02T03:04:05.678Z",
                                "web1", "m1");
    struct osi_report *got;
    int64_t before = osip_now_ms(), at = 0, after;
    char *want, *have;
    const char *stamp;

    assert_int_equal(put(f, r, "10.0.0.1"), 0);
    after = osip_now_ms();
    assert_true(exists(
        path_in(f, "reports/10.0.0.1/2026-01-02/030405.678Z-id-1.json")));

    stamp = osi_report_get_string(r, "received.at");
    assert_non_null(stamp);
    assert_int_equal(strlen(stamp), 24); /* 2026-01-02T03:04:05.678Z */
    assert_int_equal(osip_rfc3339_parse(stamp, &at), 0);
    assert_true(at >= before - 1 && at <= after + 1);
    assert_string_equal(osi_report_get_string(r, "received.peer"),
                        "10.0.0.1");

    got = latest(f, "10.0.0.1");
    want = to_json(r);
    have = to_json(got);
    assert_string_equal(have, want);
    osi_free(want);
    osi_free(have);
    osi_report_free(got);
    osi_report_free(r);
}

static void test_store_put_replaces_forged_received(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r = parse(
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"Linux\","
        "\"server_ip\":\"10.0.0.1\",\"timestamp\":\"t\",\"os_version\":\"v\","
        "\"received\":{\"at\":\"1999-01-01T00:00:00.000Z\","
        "\"peer\":\"6.6.6.6\"}}");

    assert_int_equal(put(f, r, NULL), 0);
    assert_string_not_equal(osi_report_get_string(r, "received.at"),
                            "1999-01-01T00:00:00.000Z");
    assert_null(osi_report_get_string(r, "received.peer"));
    osi_report_free(r);
    r = latest(f, "10.0.0.1");
    assert_null(osi_report_get_string(r, "received.peer"));
    osi_report_free(r);
}

static void expect_uuid_v4(const char *id)
{
    assert_non_null(id);
    assert_int_equal(strlen(id), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(id[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", id[i]));
    }
    assert_int_equal(id[14], '4');
    assert_non_null(strchr("89ab", id[19]));
}

static void test_store_put_assigns_report_id(void **state)
{
    struct fixture *f = *state;
    const char *json = ORIGINAL("10.0.0.5", "2026-01-02 10:00:00");
    struct osi_report *a = parse(json), *b = parse(json), *got;
    char id_a[64];

    assert_int_equal(put(f, a, "10.0.0.5"), 0);
    expect_uuid_v4(osi_report_get_string(a, "report_id"));
    snprintf(id_a, sizeof(id_a), "%s", osi_report_get_string(a, "report_id"));
    got = latest(f, "10.0.0.5");
    assert_string_equal(osi_report_get_string(got, "report_id"), id_a);
    assert_string_equal(osi_report_get_string(got, "os_version"),
                        "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)");
    osi_report_free(got);

    /* The same text again is another report: it has no id to match. */
    assert_int_equal(put(f, b, "10.0.0.5"), 0);
    assert_string_not_equal(osi_report_get_string(b, "report_id"), id_a);
    {
        struct osi_report_list *list = NULL;
        struct osi_error err;

        assert_osi_ok(osi_store_history(f->store, "10.0.0.5", NULL, &list,
                                        &err),
                      &err);
        assert_int_equal(osi_report_list_count(list), 2);
        osi_report_list_free(list);
    }
    osi_report_free(a);
    osi_report_free(b);
}

static void test_store_put_duplicate_stored_once(void **state)
{
    struct fixture *f = *state;
    struct osi_report *a = make("10.0.0.1", "resent", "2026-01-02T03:04:05Z",
                                "h", NULL);
    struct osi_report *b = make("10.0.0.1", "resent", "2026-01-02T03:04:05Z",
                                "h", NULL);
    struct osi_report *got;
    struct osi_error err;
    char first_at[64];

    assert_int_equal(put(f, a, "10.0.0.1"), 0);
    snprintf(first_at, sizeof(first_at), "%s",
             osi_report_get_string(a, "received.at"));
    usleep(2000);
    assert_int_equal(put(f, b, "10.0.0.1"), 1);
    expect_history(f, "10.0.0.1", 0, 0, 0, "resent");
    got = latest(f, "10.0.0.1");
    assert_string_equal(osi_report_get_string(got, "received.at"), first_at);
    osi_report_free(got);
    /* duplicate_out is optional. */
    assert_osi_ok(osi_store_put(f->store, b, NULL, NULL, &err), &err);
    osi_report_free(a);
    osi_report_free(b);
}

static void test_store_put_without_collected_at_uses_received(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r = parse(ORIGINAL("10.0.0.7", "2026-01-02 10:00:00"));
    char key[OSIP_KEY_MAX];
    int64_t at;

    assert_int_equal(put(f, r, NULL), 0);
    assert_int_equal(
        osip_rfc3339_parse(osi_report_get_string(r, "received.at"), &at), 0);
    assert_int_equal(osip_key_report(key, "10.0.0.7", at,
                                     osi_report_get_string(r, "report_id")),
                     0);
    assert_true(exists(path_in(f, key)));
    osi_report_free(r);
}

static void test_store_put_rejects_bad_input(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r;
    struct osi_error err;
    json_t *root;
    int dup = -1;

    /* A report object made inside the library, not by the parser. */
    root = json_pack("{s:s}", "server_ip", "../../etc/passwd");
    assert_osi_ok(osip_report_wrap(root, &r, &err), &err);
    assert_osi_fails(osi_store_put(f->store, r, NULL, &dup, &err), OSI_EINVAL,
                     &err, "server_ip");
    assert_int_equal(dup, 0);
    osi_report_free(r);

    root = json_pack("{s:s,s:s}", "server_ip", "10.0.0.1", "report_id",
                     "../x");
    assert_osi_ok(osip_report_wrap(root, &r, &err), &err);
    assert_osi_fails(osi_store_put(f->store, r, NULL, &dup, &err), OSI_EINVAL,
                     &err, "report_id");
    osi_report_free(r);

    r = make("10.0.0.1", "x", "2026-01-02T03:04:05Z", "h", NULL);
    assert_osi_fails(osi_store_put(f->store, r, "fe80::1%eth0", &dup, &err),
                     OSI_EINVAL, &err, "peer");
    osi_report_free(r);
    /* Nothing was written. */
    assert_false(exists(path_in(f, "reports/10.0.0.1")));
    assert_false(exists(path_in(f, "latest/10.0.0.1.json")));
}

static void test_store_ipv6_case_is_one_host(void **state)
{
    struct fixture *f = *state;

    put_new(f, "2001:DB8::1", "v6", "2026-01-02T03:04:05Z");
    assert_true(exists(path_in(f, "latest/2001:db8::1.json")));
    expect_latest_id(f, "2001:db8::1", "v6");
    expect_latest_id(f, "2001:DB8::1", "v6");
    expect_latest_id(f, "2001:0db8:0:0::0001", "v6");
    expect_history(f, "2001:db8::1", 0, 0, 0, "v6");
}

static void test_store_bad_ip_refused(void **state)
{
    static const char *const bad[] = {
        "../../etc/passwd", "%2e%2e%2f", "10.0.0.1/../x", "fe80::1%eth0",
        "0x7f.0.0.1", "300.1.1.1", "",
    };
    struct fixture *f = *state;
    struct osi_report_list *list;
    struct osi_report *r;
    struct osi_error err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        r = (struct osi_report *)&err;
        assert_osi_fails(osi_store_latest(f->store, bad[i], &r, &err),
                         OSI_EINVAL, &err, "is not an IPv4 or IPv6 address");
        assert_null(r);
        list = (struct osi_report_list *)&err;
        assert_osi_fails(osi_store_history(f->store, bad[i], NULL, &list,
                                           &err),
                         OSI_EINVAL, &err, "is not an IPv4 or IPv6 address");
        assert_null(list);
    }
}

static void test_store_latest_not_found(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r = NULL;
    struct osi_error err;

    assert_osi_fails(osi_store_latest(f->store, "10.9.9.9", &r, &err),
                     OSI_ENOTFOUND, &err, "no report of 10.9.9.9");
    assert_null(r);
    expect_history(f, "10.9.9.9", 0, 0, 0, "");
}

static void test_store_latest_follows_newest(void **state)
{
    struct fixture *f = *state;

    put_new(f, "10.0.0.1", "t2", "2026-01-02T10:00:00Z");
    expect_latest_id(f, "10.0.0.1", "t2");
    /* A spooled report arriving late does not take latest back. */
    put_new(f, "10.0.0.1", "t1", "2026-01-01T10:00:00Z");
    expect_latest_id(f, "10.0.0.1", "t2");
    /* Newer by its offset, though earlier on its wall clock. */
    put_new(f, "10.0.0.1", "t3", "2026-01-02T11:00:00+00:30");
    expect_latest_id(f, "10.0.0.1", "t3");
    expect_history(f, "10.0.0.1", 0, 0, 0, "t3,t2,t1");
}

static void test_store_clock_far_ahead_keyed_by_received(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r = make("10.0.0.1", "ahead", "2099-01-01T00:00:00Z",
                                "h", NULL);
    char key[OSIP_KEY_MAX];
    int64_t at;

    assert_int_equal(put(f, r, NULL), 0);
    assert_int_equal(
        osip_rfc3339_parse(osi_report_get_string(r, "received.at"), &at), 0);
    assert_int_equal(osip_key_report(key, "10.0.0.1", at, "ahead"), 0);
    assert_true(exists(path_in(f, key)));
    osi_report_free(r);
    /* Once the clock is right, latest follows again. */
    r = make("10.0.0.1", "fixed", "2026-01-01T00:00:00Z", "h", NULL);
    osip_rfc3339_format(osip_now_ms() + 1000, key);
    json_object_set_new(r->root, "collected_at", json_string(key));
    assert_int_equal(put(f, r, NULL), 0);
    osi_report_free(r);
    expect_latest_id(f, "10.0.0.1", "fixed");
}

static void test_store_latest_survives_lost_pointer(void **state)
{
    struct fixture *f = *state;

    put_new(f, "10.0.0.1", "a", "2026-01-01T10:00:00Z");
    put_new(f, "10.0.0.1", "b", "2026-01-02T10:00:00Z");
    /* As after a crash between a report and its pointer. */
    assert_int_equal(unlink(path_in(f, "latest/10.0.0.1.json")), 0);
    expect_latest_id(f, "10.0.0.1", "b");
}

static void test_store_latest_corrupt_object(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r = NULL;
    struct osi_error err;

    write_file(path_in(f, "latest/10.0.0.8.json"), "{\"cpu\": tru");
    assert_osi_fails(osi_store_latest(f->store, "10.0.0.8", &r, &err),
                     OSI_ESTORE, &err, "latest/10.0.0.8.json: invalid JSON");
    write_file(path_in(f, "latest/10.0.0.8.json"), "[1,2]");
    assert_osi_fails(osi_store_latest(f->store, "10.0.0.8", &r, &err),
                     OSI_ESTORE, &err, "not a JSON object");
    assert_null(r);
}

/* --- history ------------------------------------------------------------ */

static void test_store_history_order_limit_bounds(void **state)
{
    struct fixture *f = *state;
    struct osi_history_query q = OSI_HISTORY_QUERY_INIT;
    struct osi_report_list *list = NULL;
    struct osi_error err;

    put_new(f, "10.0.0.1", "t3", "2026-01-03T09:00:00+02:00"); /* 07:00Z */
    put_new(f, "10.0.0.1", "t1", "2026-01-01T10:00:00Z");
    put_new(f, "10.0.0.1", "t5", "2026-01-04T00:00:00Z");
    put_new(f, "10.0.0.1", "t2", "2026-01-02T10:00:00.500Z");
    put_new(f, "10.0.0.1", "t4", "2026-01-03T08:00:00Z");
    put_new(f, "10.0.0.2", "other", "2026-01-03T08:00:00Z");

    expect_history(f, "10.0.0.1", 0, 0, 0, "t5,t4,t3,t2,t1");
    expect_history(f, "10.0.0.1", 0, 0, 2, "t5,t4");
    expect_history(f, "10.0.0.1", 0, 0, 5, "t5,t4,t3,t2,t1");
    /* since is inclusive: t2 at 10:00:00.500 is within second 1767348000. */
    expect_history(f, "10.0.0.1", 1767348000, 0, 0, "t5,t4,t3,t2");
    expect_history(f, "10.0.0.1", 1767348001, 0, 0, "t5,t4,t3");
    /* until is exclusive. */
    expect_history(f, "10.0.0.1", 0, 1767427200, 0, "t3,t2,t1");
    expect_history(f, "10.0.0.1", 0, 1767427201, 0, "t4,t3,t2,t1");
    expect_history(f, "10.0.0.1", 1767348000, 1767427200, 1, "t3");
    expect_history(f, "10.0.0.1", 1767484801, 0, 0, "");

    q.since = 5;
    q.until = 5;
    assert_osi_fails(osi_store_history(f->store, "10.0.0.1", &q, &list, &err),
                     OSI_EINVAL, &err, "since");
    q.since = q.until = 0;
    q.version = 99;
    assert_osi_fails(osi_store_history(f->store, "10.0.0.1", &q, &list, &err),
                     OSI_EINVAL, &err, "version");
    assert_null(list);
}

static void test_store_report_list(void **state)
{
    struct fixture *f = *state;
    struct osi_report_list *list = NULL;
    struct osi_error err;
    char *text = NULL;
    size_t len = 0;
    json_t *arr;

    put_new(f, "10.0.0.1", "a", "2026-01-01T10:00:00Z");
    put_new(f, "10.0.0.1", "b", "2026-01-02T10:00:00Z");
    assert_osi_ok(osi_store_history(f->store, "10.0.0.1", NULL, &list, &err),
                  &err);
    assert_int_equal(osi_report_list_count(list), 2);
    assert_string_equal(
        osi_report_get_string(osi_report_list_get(list, 0), "report_id"), "b");
    assert_null(osi_report_list_get(list, 2));
    assert_null(osi_report_list_get(NULL, 0));
    assert_int_equal(osi_report_list_count(NULL), 0);

    assert_osi_ok(osi_report_list_to_json(list, OSI_JSON_COMPACT, &text, &len,
                                          &err),
                  &err);
    assert_int_equal(len, strlen(text));
    arr = json_loads(text, 0, NULL);
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(arr, 1), "report_id")),
        "a");
    json_decref(arr);
    osi_free(text);
    assert_osi_ok(osi_report_list_to_json(list, OSI_JSON_PRETTY, &text, NULL,
                                          &err),
                  &err);
    assert_memory_equal(text, "[\n  {\n", 6);
    osi_free(text);
    osi_report_list_free(list);
    osi_report_list_free(NULL);

    /* An empty list is an empty array. */
    assert_osi_ok(osi_store_history(f->store, "10.9.9.9", NULL, &list, &err),
                  &err);
    assert_osi_ok(osi_report_list_to_json(list, 0, &text, NULL, &err), &err);
    assert_string_equal(text, "[]");
    osi_free(text);
    osi_report_list_free(list);
}

/* --- aliases ------------------------------------------------------------ */

/* The text of latest is the stored bytes, checked: found by the same
 * steps as osi_store_latest(), refused by the same faults. */
static void test_store_latest_json(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r;
    struct osi_error err;
    char *text = NULL, *stored, *want;
    size_t len = 0, stored_len;

    put_new(f, "2001:db8::7", "a", "2026-01-01T10:00:00Z");
    put_new(f, "2001:db8::7", "b", "2026-01-02T10:00:00Z");
    assert_osi_ok(osi_store_latest_json(f->store, "2001:DB8::7", &text, &len,
                                        &err), &err);
    stored = osi_test_slurp(path_in(f, "latest/2001:db8::7.json"),
                            &stored_len);
    assert_int_equal(len, stored_len);
    assert_memory_equal(text, stored, len);
    assert_int_equal(text[len], '\0');
    /* The same report as osi_store_latest() parses. */
    r = latest(f, "2001:db8::7");
    want = to_json(r);
    assert_string_equal(text, want);
    osi_free(want);
    osi_report_free(r);
    free(stored);
    osi_free(text);

    /* A lost pointer: the newest report of the host. */
    assert_int_equal(unlink(path_in(f, "latest/2001:db8::7.json")), 0);
    assert_osi_ok(osi_store_latest_json(f->store, "2001:db8::7", &text, NULL,
                                        &err), &err);
    assert_non_null(strstr(text, "\"report_id\":\"b\""));
    osi_free(text);

    text = (char *)"untouched";
    assert_osi_fails(osi_store_latest_json(f->store, "10.9.9.9", &text, &len,
                                           &err),
                     OSI_ENOTFOUND, &err, "no report of 10.9.9.9");
    assert_null(text);
    assert_osi_fails(osi_store_latest_json(f->store, "10.0.0.1/../x", &text,
                                           &len, &err),
                     OSI_EINVAL, &err, "not an IPv4 or IPv6 address");
    write_file(path_in(f, "latest/10.0.0.8.json"), "{\"a\":\"\xff\"}");
    assert_osi_fails(osi_store_latest_json(f->store, "10.0.0.8", &text, &len,
                                           &err),
                     OSI_ESTORE, &err,
                     "latest/10.0.0.8.json: invalid JSON: invalid UTF-8 at "
                     "byte 6");
    write_file(path_in(f, "latest/10.0.0.8.json"), "{} {}");
    assert_osi_fails(osi_store_latest_json(f->store, "10.0.0.8", &text, &len,
                                           &err),
                     OSI_ESTORE, &err, "trailing bytes at byte 3");
    assert_null(text);
}

static char *latest_text(struct fixture *f, const char *ip)
{
    struct osi_error err;
    char *text = NULL;

    assert_osi_ok(osi_store_latest_json(f->store, ip, &text, NULL, &err),
                  &err);
    return text;
}

static void expect_latest_text(struct fixture *f, const char *ip,
                               const char *want)
{
    char *text = latest_text(f, ip);

    assert_string_equal(text, want);
    osi_free(text);
}

/* The text of latest is kept while the file is unchanged: whoever
 * changes it (this store, another process, someone rewriting it in
 * place), the next read sees the change, and never a text that fails the
 * check. */
static void test_store_latest_json_cache_follows_changes(void **state)
{
    struct fixture *f = *state;
    const char *file = path_in(f, "latest/10.0.0.3.json");
    const struct timespec past[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    struct osi_store *other = NULL;
    struct osi_error err;
    char uri[4200], *text, *stored;

    put_new(f, "10.0.0.3", "a", "2026-01-01T10:00:00Z");
    stored = osi_test_slurp(file, NULL);
    expect_latest_text(f, "10.0.0.3", stored);
    expect_latest_text(f, "10.0.0.3", stored); /* from the cache */
    free(stored);

    /* Another process moves the pointer. */
    snprintf(uri, sizeof(uri), "file://%s/store", f->dir);
    assert_osi_ok(osi_store_open(uri, NULL, &other, &err), &err);
    {
        struct osi_report *r = make("10.0.0.3", "b", "2026-01-02T10:00:00Z",
                                    "h", NULL);

        assert_osi_ok(osi_store_put(other, r, "10.0.0.3", NULL, &err), &err);
        osi_report_free(r);
    }
    osi_store_close(other);
    text = latest_text(f, "10.0.0.3");
    assert_non_null(strstr(text, "\"report_id\":\"b\""));
    osi_free(text);

    /* Rewritten in place (the same inode): a new size, ... */
    write_file(file, "{\"x\":1}");
    expect_latest_text(f, "10.0.0.3", "{\"x\":1}");
    /* ... the same size, told by the times ... */
    write_file(file, "{\"x\":2}");
    assert_int_equal(utimensat(AT_FDCWD, file, past, 0), 0);
    expect_latest_text(f, "10.0.0.3", "{\"x\":2}");
    /* ... and a text that fails the check is refused, not the old one
     * served. */
    write_file(file, "{\"x\":}");
    text = (char *)"untouched";
    assert_osi_fails(osi_store_latest_json(f->store, "10.0.0.3", &text, NULL,
                                           &err),
                     OSI_ESTORE, &err, "invalid JSON");
    assert_null(text);
}

/* More hosts than the cache has slots: each is answered its own text,
 * the first time and from the cache. */
static void test_store_latest_json_cache_many_hosts(void **state)
{
    struct fixture *f = *state;
    enum { HOSTS = 5000 };
    char ip[32], want[64], key[64];

    for (int i = 0; i < HOSTS; i++) {
        snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
        snprintf(want, sizeof(want), "{\"ip\":\"%s\"}", ip);
        snprintf(key, sizeof(key), "latest/%s.json", ip);
        write_file(path_in(f, key), want);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < HOSTS; i++) {
            snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
            snprintf(want, sizeof(want), "{\"ip\":\"%s\"}", ip);
            expect_latest_text(f, ip, want);
        }
    }
}

static void test_store_seen_alias(void **state)
{
    struct fixture *f = *state;
    /* A host behind NAT, seen through a dual-stack socket. */
    struct osi_report *r = parse(ORIGINAL("10.0.0.20", "2026-01-02 10:00:00"));
    struct osi_report *got;
    struct osi_error err;
    char *alias, uri[4200];
    struct osi_store *again;

    assert_int_equal(put(f, r, "::ffff:192.0.2.7"), 0);
    assert_string_equal(osi_report_get_string(r, "received.peer"),
                        "192.0.2.7");
    assert_true(exists(path_in(f, "latest/10.0.0.20.json")));
    alias = osi_test_slurp(path_in(f, "seen/192.0.2.7.json"), NULL);
    assert_non_null(alias);
    assert_string_equal(alias, "{\"ip\":\"10.0.0.20\"}");
    free(alias);

    got = latest(f, "192.0.2.7");
    assert_string_equal(osi_report_get_string(got, "report_id"),
                        osi_report_get_string(r, "report_id"));
    osi_report_free(got);
    expect_latest_id(f, "::ffff:192.0.2.7",
                     osi_report_get_string(r, "report_id"));
    expect_history(f, "192.0.2.7", 0, 0, 0,
                   osi_report_get_string(r, "report_id"));
    osi_report_free(r);

    /* Written once per process: the next report from there costs no
     * alias write. */
    assert_int_equal(unlink(path_in(f, "seen/192.0.2.7.json")), 0);
    r = parse(ORIGINAL("10.0.0.20", "2026-01-02 10:01:00"));
    assert_int_equal(put(f, r, "192.0.2.7"), 0);
    osi_report_free(r);
    assert_false(exists(path_in(f, "seen/192.0.2.7.json")));
    /* Another process (another store) writes it again. */
    snprintf(uri, sizeof(uri), "%s/store", f->dir);
    assert_osi_ok(osi_store_open(uri, NULL, &again, &err), &err);
    r = parse(ORIGINAL("10.0.0.20", "2026-01-02 10:02:00"));
    assert_osi_ok(osi_store_put(again, r, "192.0.2.7", NULL, &err), &err);
    osi_report_free(r);
    osi_store_close(again);
    assert_true(exists(path_in(f, "seen/192.0.2.7.json")));

    /* A machine crash may leave an alias empty: no alias, no error. */
    write_file(path_in(f, "seen/192.0.2.8.json"), "");
    {
        struct osi_report *none = NULL;

        assert_osi_fails(osi_store_latest(f->store, "192.0.2.8", &none, &err),
                         OSI_ENOTFOUND, &err, "no report of 192.0.2.8");
        write_file(path_in(f, "seen/192.0.2.8.json"), "{\"ip\":\"10.0");
        assert_osi_fails(osi_store_latest(f->store, "192.0.2.8", &none, &err),
                         OSI_ENOTFOUND, &err, "no report of 192.0.2.8");
    }

    /* An alias nested far deeper than any is no alias, and never reaches
     * jansson (which recurses per level) on a worker's small stack. */
    {
        size_t depth = 100000;
        char *deep = malloc(2 * depth + 1);
        struct latest_call c = { f->store, "192.0.2.8", OSI_OK };

        assert_non_null(deep);
        memset(deep, '[', depth);
        memset(deep + depth, ']', depth);
        deep[2 * depth] = '\0';
        write_file(path_in(f, "seen/192.0.2.8.json"), deep);
        free(deep);
        osi_test_on_small_stack(latest_json_of, &c);
        assert_int_equal(c.st, OSI_ENOTFOUND);
    }

    /* A peer that is the reported address needs no alias, a loopback
     * peer (a proxy on the server) names no host. */
    put_new(f, "10.0.0.1", "x", "2026-01-02T03:04:05Z");
    assert_false(exists(path_in(f, "seen/10.0.0.1.json")));
    r = make("10.0.0.2", "y", "2026-01-02T03:04:05Z", "h", NULL);
    assert_int_equal(put(f, r, "127.0.0.1"), 0);
    assert_string_equal(osi_report_get_string(r, "received.peer"),
                        "127.0.0.1");
    osi_report_free(r);
    assert_false(exists(path_in(f, "seen/127.0.0.1.json")));
}

static void test_store_loopback_server_ip_filed_under_peer(void **state)
{
    struct fixture *f = *state;
    /* Two hosts running the original agent, both reporting 127.0.1.1. */
    struct osi_report *a = parse(ORIGINAL("127.0.1.1", "2026-01-02 10:00:00"));
    struct osi_report *b = parse(ORIGINAL("127.0.1.1", "2026-01-02 10:00:01"));
    struct osi_report *c = parse(ORIGINAL("127.0.0.1", "2026-01-02 10:00:02"));
    char id_a[64], id_b[64], id_c[64];

    assert_int_equal(put(f, a, "192.0.2.7"), 0);
    assert_int_equal(put(f, b, "::ffff:192.0.2.8"), 0);
    /* From this machine itself: no better address to file it under. */
    assert_int_equal(put(f, c, "::1"), 0);
    snprintf(id_a, sizeof(id_a), "%s", osi_report_get_string(a, "report_id"));
    snprintf(id_b, sizeof(id_b), "%s", osi_report_get_string(b, "report_id"));
    snprintf(id_c, sizeof(id_c), "%s", osi_report_get_string(c, "report_id"));
    assert_string_equal(osi_report_get_string(a, "server_ip"), "127.0.1.1");
    osi_report_free(a);
    osi_report_free(b);
    osi_report_free(c);

    expect_latest_id(f, "192.0.2.7", id_a);
    expect_latest_id(f, "192.0.2.8", id_b);
    expect_history(f, "192.0.2.7", 0, 0, 0, id_a);
    expect_latest_id(f, "127.0.0.1", id_c);
    assert_true(exists(path_in(f, "latest/192.0.2.7.json")));
    assert_false(exists(path_in(f, "latest/127.0.1.1.json")));
    assert_false(exists(path_in(f, "seen/192.0.2.7.json")));
    assert_false(exists(path_in(f, "seen/::1.json")));
}

/* --- the original tool's keys ------------------------------------------- */

static void seed_legacy(struct fixture *f)
{
    write_file(path_in(f, "10_0_0_5_2026-01-01.json"),
               ORIGINAL("10.0.0.5", "2026-01-01 09:00:00"));
    write_file(path_in(f, "10_0_0_5_2026-01-02.json"),
               ORIGINAL("10.0.0.5", "2026-01-02 09:00:00"));
    /* Another host whose name starts the same. */
    write_file(path_in(f, "10_0_0_50_2026-01-03.json"),
               ORIGINAL("10.0.0.50", "2026-01-03 09:00:00"));
}

static void expect_legacy_history(struct fixture *f, int64_t since,
                                  const char *want)
{
    struct osi_history_query q = OSI_HISTORY_QUERY_INIT;
    struct osi_report_list *list = NULL;
    struct osi_error err;
    char got[256] = "";
    size_t off = 0;

    q.since = since;
    assert_osi_ok(osi_store_history(f->store, "10.0.0.5", &q, &list, &err),
                  &err);
    for (size_t i = 0; i < osi_report_list_count(list); i++)
        off += (size_t)snprintf(
            got + off, sizeof(got) - off, "%s%s", i ? "," : "",
            osi_report_get_string(osi_report_list_get(list, i), "timestamp"));
    osi_report_list_free(list);
    assert_string_equal(got, want);
}

static void test_store_legacy_keys(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r;

    seed_legacy(f);
    r = latest(f, "10.0.0.5");
    assert_string_equal(osi_report_get_string(r, "timestamp"),
                        "2026-01-02 09:00:00");
    assert_null(osi_report_get_string(r, "received.at"));
    osi_report_free(r);
    expect_legacy_history(f, 0, "2026-01-02 09:00:00,2026-01-01 09:00:00");
    /* A legacy key's time is its date at 00:00:00 UTC. */
    expect_legacy_history(f, 1767312000, "2026-01-02 09:00:00");
    expect_legacy_history(f, 1767312001, "");

    /* Once the host reports in the new layout, that is what counts. */
    put_new(f, "10.0.0.5", "new", "2025-12-01T00:00:00Z");
    expect_latest_id(f, "10.0.0.5", "new");
    expect_history(f, "10.0.0.5", 0, 0, 0, "new");
}

/* --- hosts -------------------------------------------------------------- */

static json_t *hosts(struct fixture *f)
{
    struct osi_error err;
    char *text = NULL;
    size_t len = 0;
    json_t *arr;

    assert_osi_ok(osi_store_hosts_json(f->store, OSI_JSON_COMPACT, &text, &len,
                                       &err),
                  &err);
    assert_int_equal(len, strlen(text));
    arr = json_loads(text, 0, NULL);
    osi_free(text);
    assert_true(json_is_array(arr));
    return arr;
}

static void test_store_hosts_json(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r;
    char *text, *want_at;
    json_t *arr, *h;

    r = make("10.0.0.1", "a1", "2026-01-01T00:00:00Z", "a", "m1");
    put(f, r, "198.51.100.1");
    osi_report_free(r);
    r = make("10.0.0.1", "a2", "2026-01-02T00:00:00Z", "a2", "m1");
    put(f, r, "198.51.100.1");
    want_at = to_json(r); /* keeps received.at for the comparison below */
    osi_report_free(r);
    r = make("10.0.0.2", "b", "2026-01-02T00:00:00Z", "b", "m1");
    put(f, r, NULL);
    osi_report_free(r);
    r = make("10.0.0.3", "c", "2026-01-02T00:00:00Z", "c", "m2");
    put(f, r, NULL);
    osi_report_free(r);
    put_new(f, "2001:db8::1", "d", "2026-01-02T00:00:00Z");
    seed_legacy(f);
    /* A legacy key of a host the new layout knows is not listed again. */
    write_file(path_in(f, "10_0_0_3_2025-01-01.json"),
               ORIGINAL("10.0.0.3", "2025-01-01 09:00:00"));

    arr = hosts(f);
    assert_int_equal(json_array_size(arr), 6);
    h = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(h, "ip")),
                        "10.0.0.1");
    assert_string_equal(json_string_value(json_object_get(h, "hostname")),
                        "a2");
    assert_string_equal(json_string_value(json_object_get(h, "last_report")),
                        "2026-01-02T00:00:00Z");
    {
        json_t *stored = json_loads(want_at, 0, NULL);

        assert_string_equal(
            json_string_value(json_object_get(h, "received_at")),
            json_string_value(
                json_object_get(json_object_get(stored, "received"), "at")));
        json_decref(stored);
    }
    assert_string_equal(json_string_value(json_object_get(h, "peer")),
                        "198.51.100.1");
    assert_string_equal(json_string_value(json_object_get(h, "machine_id")),
                        "m1");
    assert_true(json_is_true(json_object_get(h, "machine_id_shared")));
    assert_int_equal(json_object_size(h), 7);

    h = json_array_get(arr, 1);
    assert_string_equal(json_string_value(json_object_get(h, "ip")),
                        "10.0.0.2");
    assert_true(json_is_true(json_object_get(h, "machine_id_shared")));
    assert_true(json_is_null(json_object_get(h, "peer")));

    h = json_array_get(arr, 2);
    assert_string_equal(json_string_value(json_object_get(h, "ip")),
                        "10.0.0.3");
    assert_true(json_is_false(json_object_get(h, "machine_id_shared")));

    h = json_array_get(arr, 3);
    assert_string_equal(json_string_value(json_object_get(h, "ip")),
                        "10.0.0.5");
    assert_string_equal(json_string_value(json_object_get(h, "last_report")),
                        "2026-01-02 09:00:00");
    assert_true(json_is_null(json_object_get(h, "hostname")));
    assert_true(json_is_null(json_object_get(h, "received_at")));
    assert_true(json_is_null(json_object_get(h, "machine_id")));
    assert_true(json_is_false(json_object_get(h, "machine_id_shared")));

    h = json_array_get(arr, 4);
    assert_string_equal(json_string_value(json_object_get(h, "ip")),
                        "10.0.0.50");
    h = json_array_get(arr, 5);
    assert_string_equal(json_string_value(json_object_get(h, "ip")),
                        "2001:db8::1");
    assert_true(json_is_null(json_object_get(h, "machine_id")));
    assert_true(json_is_false(json_object_get(h, "machine_id_shared")));
    json_decref(arr);
    osi_free(want_at);

    {
        struct osi_error err;
        size_t len;

        assert_osi_ok(osi_store_hosts_json(f->store, OSI_JSON_PRETTY, &text,
                                           &len, &err),
                      &err);
        assert_memory_equal(text, "[\n  {\n    \"ip\": \"10.0.0.1\",\n", 28);
        osi_free(text);
    }
}

static void test_store_hosts_json_empty(void **state)
{
    struct fixture *f = *state;
    struct osi_error err;
    char *text = NULL;

    assert_osi_ok(osi_store_hosts_json(f->store, 0, &text, NULL, &err), &err);
    assert_string_equal(text, "[]");
    osi_free(text);
}

/* --- opening ------------------------------------------------------------ */

static void test_store_open_uris(void **state)
{
    struct fixture *f = *state;
    struct osi_store_options opts;
    struct osi_store *s = (struct osi_store *)&opts;
    struct osi_error err;
    char uri[4200], cwd[4096];

    snprintf(uri, sizeof(uri), "%s/bare", f->dir);
    assert_osi_ok(osi_store_open(uri, NULL, &s, &err), &err);
    assert_osi_ok(osi_store_ping(s, &err), &err);
    osi_store_close(s);
    assert_true(exists(path_in(f, "../bare/latest")));

    assert_osi_fails(osi_store_open("", NULL, &s, &err), OSI_EINVAL, &err,
                     "empty");
    assert_null(s);
    assert_osi_fails(osi_store_open("file://relative/x", NULL, &s, &err),
                     OSI_EINVAL, &err, "absolute path");
    assert_osi_fails(osi_store_open("http://example.com/x", NULL, &s, &err),
                     OSI_ENOTSUP, &err, "unknown scheme \"http\"");
    assert_osi_fails(osi_store_open("gs://bucket", NULL, &s, &err),
                     OSI_ENOTSUP, &err, "s3://bucket");

    assert_osi_ok(osi_store_options_init(&opts, OSI_STORE_OPTIONS_VERSION),
                  NULL);
    assert_int_equal(opts.flags, 0);
    assert_int_equal(opts.timeout_ms, 0);
    assert_int_equal(osi_store_options_init(&opts, 99), OSI_EINVAL);
    assert_int_equal(osi_store_options_init(NULL, 1), OSI_EINVAL);
    opts.version = 2;
    assert_osi_fails(osi_store_open(uri, &opts, &s, &err), OSI_EINVAL, &err,
                     "version");
    opts.version = OSI_STORE_OPTIONS_VERSION;
    opts.flags = 1u << 7;
    assert_osi_fails(osi_store_open(uri, &opts, &s, &err), OSI_EINVAL, &err,
                     "flags");

    /* NULL: systemd's $STATE_DIRECTORY (its first entry)... */
    snprintf(uri, sizeof(uri), "%s/state:%s/other", f->dir, f->dir);
    setenv("STATE_DIRECTORY", uri, 1);
    assert_osi_ok(osi_store_open(NULL, NULL, &s, &err), &err);
    osi_store_close(s);
    assert_true(exists(path_in(f, "../state/reports")));
    assert_false(exists(path_in(f, "../other")));
    /* ...else ./osinspect-data. */
    unsetenv("STATE_DIRECTORY");
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(f->dir), 0);
    assert_osi_ok(osi_store_open(NULL, NULL, &s, &err), &err);
    osi_store_close(s);
    assert_int_equal(chdir(cwd), 0);
    assert_true(exists(path_in(f, "../osinspect-data/seen")));
    osi_store_close(NULL);
}

static void test_store_open_fails_under_file(void **state)
{
    struct fixture *f = *state;
    struct osi_store *s = NULL;
    struct osi_error err;
    char uri[4200];

    write_file(path_in(f, "../plain"), "x");
    snprintf(uri, sizeof(uri), "file://%s/plain/store", f->dir);
    assert_osi_fails(osi_store_open(uri, NULL, &s, &err), OSI_EIO, &err,
                     "cannot create store directory");
    assert_non_null(strstr(err.message, "/plain/store: Not a directory"));
    assert_null(s);
}

static void test_store_ping(void **state)
{
    struct fixture *f = *state;
    struct osi_error err;

    assert_osi_ok(osi_store_ping(f->store, &err), &err);
    osi_test_rmtree(path_in(f, ""));
    assert_osi_fails(osi_store_ping(f->store, &err), OSI_ESTORE, &err,
                     "removed");
}

/* --- allocation failures ------------------------------------------------ */

static enum osi_status chaos_put_once(struct fixture *f, long n)
{
    struct osi_report *r = make("10.0.0.1", "chaos", "2026-01-02T03:04:05Z",
                                "h", "m");
    struct osi_error err;
    enum osi_status st;

    osi_test_chaos_begin(n);
    st = osi_store_put(f->store, r, "192.0.2.1", NULL, &err);
    osi_test_chaos_end();
    if (st != OSI_OK) {
        assert_int_equal(st, OSI_ENOMEM);
        assert_string_equal(err.message, "out of memory");
    }
    osi_report_free(r);
    return st;
}

static void test_store_chaos_put(void **state)
{
    struct fixture *f = *state;
    struct osi_report *r = make("10.0.0.1", "chaos", "2026-01-02T03:04:05Z",
                                "h", "m");
    long total;

    /* Count the allocations of a put (a resend after the first), then
     * fail each in turn. */
    assert_int_equal(chaos_put_once(f, -1), OSI_OK);
    osi_test_chaos_begin(-1);
    assert_osi_ok(osi_store_put(f->store, r, "192.0.2.1", NULL, NULL), NULL);
    total = osi_test_chaos_end();
    osi_report_free(r);
    assert_true(total > 3);
    for (long n = 0; n < total; n++)
        chaos_put_once(f, n);
    expect_history(f, "10.0.0.1", 0, 0, 0, "chaos");
}

/* Run one read failing allocation n (-1: none); returns its status and
 * the number of allocations it made. */
static enum osi_status chaos_read_once(struct fixture *f, long n, int which,
                                       long *calls)
{
    struct osi_report_list *list = NULL;
    struct osi_report *r = NULL;
    struct osi_error err;
    enum osi_status st;
    char *text = NULL;

    osi_test_chaos_begin(n);
    if (which == 0)
        st = osi_store_latest(f->store, "10.0.0.5", &r, &err);
    else if (which == 1)
        st = osi_store_history(f->store, "10.0.0.1", NULL, &list, &err);
    else if (which == 2)
        st = osi_store_hosts_json(f->store, 0, &text, NULL, &err);
    else
        st = osi_store_latest_json(f->store, "10.0.0.5", &text, NULL, &err);
    *calls = osi_test_chaos_end();
    /* jansson reports some allocation failures as syntax errors. */
    if (st != OSI_OK && st != OSI_ENOMEM) {
        assert_int_equal(st, OSI_ESTORE);
        assert_non_null(strstr(err.message, "invalid JSON"));
    }
    if (st == OSI_OK)
        assert_true(r != NULL || list != NULL || text != NULL);
    else
        assert_true(r == NULL && list == NULL && text == NULL);
    osi_report_free(r);
    osi_report_list_free(list);
    osi_free(text);
    return st;
}

static void test_store_chaos_read(void **state)
{
    struct fixture *f = *state;

    seed_legacy(f); /* latest of 10.0.0.5 walks every fallback */
    put_new(f, "10.0.0.1", "a", "2026-01-01T10:00:00Z");
    put_new(f, "10.0.0.1", "b", "2026-01-02T10:00:00Z");
    put_new(f, "10.0.0.2", "c", "2026-01-02T10:00:00Z");
    for (int which = 0; which < 4; which++) {
        long total, calls;

        assert_int_equal(chaos_read_once(f, -1, which, &total), OSI_OK);
        assert_true(total > 3);
        for (long n = 0; n < total; n++)
            chaos_read_once(f, n, which, &calls);
    }
}

/* --- 16 threads --------------------------------------------------------- */

#define THREADS 16
#define PER_THREAD 12
#define SHARED_IP "10.9.9.9"
#define BASE_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

struct worker {
    struct osi_store *store;
    int id;
    int failures;
    char why[OSI_ERROR_MESSAGE_SIZE + 64];
};

static atomic_int first_puts;

static struct osi_report *hammer_report(const char *ip, const char *id,
                                        int64_t ms)
{
    char at[OSIP_TIME_MAX], buf[1024];
    struct osi_report *r = NULL;

    osip_rfc3339_format(ms, at);
    snprintf(buf, sizeof(buf),
             "{\"cpu\":\"x\",\"os_username\":\"u\",\"os_name\":\"Linux\","
             "\"server_ip\":\"%s\",\"timestamp\":\"t\",\"os_version\":\"v\","
             "\"report_id\":\"%s\",\"collected_at\":\"%s\","
             "\"identity\":{\"machine_id\":\"%s\"}}",
             ip, id, at, id);
    if (osi_report_from_json(buf, strlen(buf), NULL, &r, NULL) != OSI_OK)
        return NULL;
    return r;
}

static void note(struct worker *w, const char *what, enum osi_status st,
                 const struct osi_error *err)
{
    if (w->failures++ == 0)
        snprintf(w->why, sizeof(w->why), "%s: %s: %s", what,
                 osi_status_str(st), err->message);
}

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char own[32], peer[32], id[32];
    struct osi_error err;
    enum osi_status st;

    snprintf(own, sizeof(own), "10.1.%d.1", w->id);
    snprintf(peer, sizeof(peer), "192.0.2.%d", w->id + 1);
    for (int j = 0; j < PER_THREAD; j++) {
        int shared = j % 2;
        const char *ip = shared ? SHARED_IP : own;
        struct osi_report *r, *got = NULL;
        struct osi_report_list *list = NULL;
        int dup = -1;

        snprintf(id, sizeof(id), "t%d-r%d", w->id, j);
        r = hammer_report(ip, id,
                          BASE_MS + (int64_t)(w->id * PER_THREAD + j) * 1000);
        if (r == NULL) {
            w->failures++;
            continue;
        }
        st = osi_store_put(w->store, r, shared ? peer : ip, &dup, &err);
        if (st != OSI_OK || dup != 0)
            note(w, "put", st, &err);
        osi_report_free(r);

        st = osi_store_latest(w->store, ip, &got, &err);
        if (st != OSI_OK)
            note(w, "latest", st, &err);
        osi_report_free(got);
        st = osi_store_history(w->store, SHARED_IP, NULL, &list, &err);
        if (st != OSI_OK)
            note(w, "history", st, &err);
        osi_report_list_free(list);

        if (j == PER_THREAD / 2) {
            char *text = NULL;

            /* Every thread resends one report: stored once. */
            r = hammer_report(SHARED_IP, "resent", BASE_MS - 1000);
            st = osi_store_put(w->store, r, peer, &dup, &err);
            if (st != OSI_OK)
                note(w, "put resent", st, &err);
            else if (dup == 0)
                atomic_fetch_add(&first_puts, 1);
            osi_report_free(r);
            st = osi_store_hosts_json(w->store, 0, &text, NULL, &err);
            if (st != OSI_OK)
                note(w, "hosts", st, &err);
            osi_free(text);
            st = osi_store_ping(w->store, &err);
            if (st != OSI_OK)
                note(w, "ping", st, &err);
        }
    }
    return NULL;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every report of the host is there exactly once. */
static void expect_ids(struct fixture *f, const char *ip, const char **want,
                       size_t n)
{
    struct osi_history_query q = OSI_HISTORY_QUERY_INIT;
    struct osi_report_list *list = NULL;
    const char **got;
    struct osi_error err;

    q.limit = 100000;
    assert_osi_ok(osi_store_history(f->store, ip, &q, &list, &err), &err);
    assert_int_equal(osi_report_list_count(list), n);
    got = calloc(n, sizeof(*got));
    assert_non_null(got);
    for (size_t i = 0; i < n; i++)
        got[i] = osi_report_get_string(osi_report_list_get(list, i),
                                       "report_id");
    qsort(got, n, sizeof(*got), by_string);
    qsort(want, n, sizeof(*want), by_string);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], want[i]);
    free(got);
    osi_report_list_free(list);
}

static void test_store_threads_hammer(void **state)
{
    static char ids[THREADS * PER_THREAD + 1][32];
    struct fixture *f = *state;
    struct worker w[THREADS];
    pthread_t t[THREADS];
    const char *shared[THREADS * PER_THREAD + 1], *own[PER_THREAD];
    size_t n_shared = 0;
    char name[32];
    json_t *arr;

    atomic_store(&first_puts, 0);
    for (int i = 0; i < THREADS; i++) {
        w[i].store = f->store;
        w[i].id = i;
        w[i].failures = 0;
        w[i].why[0] = '\0';
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < THREADS; i++)
        if (w[i].failures != 0)
            fail_msg("thread %d: %d failures, first: %s", i, w[i].failures,
                     w[i].why);
    assert_int_equal(atomic_load(&first_puts), 1);

    for (int i = 0; i < THREADS; i++) {
        size_t n_own = 0;

        for (int j = 0; j < PER_THREAD; j++) {
            char *id = ids[i * PER_THREAD + j];

            snprintf(id, 32, "t%d-r%d", i, j);
            if (j % 2)
                shared[n_shared++] = id;
            else
                own[n_own++] = id;
        }
        snprintf(name, sizeof(name), "10.1.%d.1", i);
        expect_ids(f, name, own, n_own);
        expect_latest_id(f, name, ids[i * PER_THREAD + PER_THREAD - 2]);
    }
    shared[n_shared++] = "resent";
    expect_ids(f, SHARED_IP, shared, n_shared);
    /* The newest shared report is the last thread's last odd one. */
    snprintf(name, sizeof(name), "t%d-r%d", THREADS - 1, PER_THREAD - 1);
    expect_latest_id(f, SHARED_IP, name);
    expect_latest_id(f, "192.0.2.4", name); /* through its alias */

    arr = hosts(f);
    assert_int_equal(json_array_size(arr), THREADS + 1);
    json_decref(arr);
    assert_int_equal(osi_test_count_temp(path_in(f, "")), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_store_put_then_latest),
        T(test_store_put_replaces_forged_received),
        T(test_store_put_assigns_report_id),
        T(test_store_put_duplicate_stored_once),
        T(test_store_put_without_collected_at_uses_received),
        T(test_store_put_rejects_bad_input),
        T(test_store_ipv6_case_is_one_host),
        T(test_store_bad_ip_refused),
        T(test_store_latest_not_found),
        T(test_store_latest_follows_newest),
        T(test_store_clock_far_ahead_keyed_by_received),
        T(test_store_latest_survives_lost_pointer),
        T(test_store_latest_corrupt_object),
        T(test_store_history_order_limit_bounds),
        T(test_store_report_list),
        T(test_store_latest_json),
        T(test_store_latest_json_cache_follows_changes),
        T(test_store_latest_json_cache_many_hosts),
        T(test_store_seen_alias),
        T(test_store_loopback_server_ip_filed_under_peer),
        T(test_store_legacy_keys),
        T(test_store_hosts_json),
        T(test_store_hosts_json_empty),
        T(test_store_open_uris),
        T(test_store_open_fails_under_file),
        T(test_store_ping),
        T(test_store_chaos_put),
        T(test_store_chaos_read),
        T(test_store_threads_hammer),
    };
#undef T
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
