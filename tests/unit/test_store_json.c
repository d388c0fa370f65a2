/* SPDX-License-Identifier: MIT */
/* osi_store_put_json() against osi_report_from_json() + osi_store_put():
 * the same verdicts and messages on valid, invalid and mutated reports,
 * the same stored report, and the text path really taken; and
 * osip_report_key_of() against jansson alone on stored texts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "osi_test.h"

/* A report with a bit of everything the scan follows: nesting, arrays,
 * escapes in a field no rule reads, numbers of each form, null, booleans,
 * and the spelling "2.50" that jansson would write "2.5". */
#define BASE                                                                  \
    "{\"cpu\": \"\", \"os_username\": \"root\", \"os_name\": \"Linux\", "    \
    "\"server_ip\": \"192.0.2.10\", \"timestamp\": \"2026-11-28 10:00\", "   \
    "\"os_version\": \"#1 SMP\", \"report_id\": \"r-1\", "                   \
    "\"collected_at\": \"2026-11-28T10:00:00Z\", \"mem\": 2.50, "            \
    "\"note\": \"a \\\"q\\\" \\u00e9\\n\", \"load_average\": [0.5, -1, 0], " \
    "\"disks\": [{\"m\": \"/\", \"ro\": false, \"x\": null}], "              \
    "\"memory\": {\"total\": 123456789012345678, \"o\": {\"k\": true}}}"

struct fixture {
    char *dir;
    struct osi_store *text; /* osi_store_put_json() */
    struct osi_store *tree; /* osi_report_from_json() + osi_store_put() */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char uri[4200];

    if (f == NULL || (f->dir = osi_test_mkdtemp()) == NULL)
        return -1;
    snprintf(uri, sizeof(uri), "file://%s/text", f->dir);
    if (osi_store_open(uri, NULL, &f->text, NULL) != OSI_OK)
        return -1;
    snprintf(uri, sizeof(uri), "file://%s/tree", f->dir);
    if (osi_store_open(uri, NULL, &f->tree, NULL) != OSI_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    osi_store_close(f->text);
    osi_store_close(f->tree);
    osi_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Both ways, which must agree on status, message and duplicate flag;
 * returns the status. */
static enum osi_status put_both(struct fixture *f, const char *json,
                                size_t len, const char *peer, char id[65],
                                int *dup)
{
    struct osi_report *r = NULL;
    struct osi_error e1, e2;
    enum osi_status s1, s2;
    int d1 = -1, d2 = -1;

    s1 = osi_store_put_json(f->text, json, len, NULL, peer, &d1, id, &e1);
    s2 = osi_report_from_json(json, len, NULL, &r, &e2);
    if (s2 == OSI_OK)
        s2 = osi_store_put(f->tree, r, peer, &d2, &e2);
    if (s1 != s2 || (s1 != OSI_OK && strcmp(e1.message, e2.message) != 0))
        fail_msg("%.80s: text way %s \"%s\", jansson way %s \"%s\"", json,
                 osi_status_str(s1), s1 ? e1.message : "",
                 osi_status_str(s2), s2 ? e2.message : "");
    if (s1 == OSI_OK) {
        assert_int_equal(d1, d2);
        *dup = d1;
    }
    osi_report_free(r);
    return s1;
}

/* The stored report of ip in store, without received.at (the two stores
 * stamp at different milliseconds) and, when drop_id, report_id. */
static json_t *stored(struct osi_store *store, const char *ip, int drop_id,
                      char **text)
{
    struct osi_error err;
    json_t *root;
    size_t len;

    assert_osi_ok(osi_store_latest_json(store, ip, text, &len, &err), &err);
    root = json_loadb(*text, len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(root);
    assert_non_null(json_string_value(
        json_object_get(json_object_get(root, "received"), "at")));
    json_object_del(json_object_get(root, "received"), "at");
    if (drop_id)
        json_object_del(root, "report_id");
    return root;
}

/* json stored both ways under ip, decided by the scan when fast; has_id:
 * it carries its report_id. */
static void expect_same_stored(struct fixture *f, const char *json,
                               const char *peer, const char *ip, int fast,
                               int has_id)
{
    char id[65], *t1, *t2;
    json_t *a, *b;
    int dup = -1;
    enum osi_status st;
    struct osi_error err;

    if (osip_report_scan_verdict(json, strlen(json), 32, &st, &err) != fast)
        fail_msg("%.200s: decided by the scan: %d", json, !fast);
    assert_osi_ok(put_both(f, json, strlen(json), peer, id, &dup), NULL);
    assert_int_equal(dup, 0);
    a = stored(f->text, ip, !has_id, &t1);
    b = stored(f->tree, ip, !has_id, &t2);
    if (!json_equal(a, b))
        fail_msg("stored differently:\n%s\n%s", t1, t2);
    if (!has_id)
        assert_int_equal(strlen(id), 36); /* a UUID given by the store */
    /* A resend is kept once by both. */
    if (has_id && strstr(json, "collected_at") != NULL) {
        assert_osi_ok(put_both(f, json, strlen(json), peer, id, &dup), NULL);
        assert_int_equal(dup, 1);
    }
    json_decref(a);
    json_decref(b);
    osi_free(t1);
    osi_free(t2);
}

static void test_put_json_stores_what_put_stores(void **state)
{
    struct fixture *f = *state;
    size_t len;
    char *golden = osi_test_slurp(osi_test_data("golden/debian12.json"), &len);
    char *t;
    json_t *g;

    expect_same_stored(f, BASE, NULL, "192.0.2.10", 1, 1);
    /* The original agent's: no report_id, no collected_at, loopback
     * server_ip filed under the peer. */
    expect_same_stored(
        f,
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"Linux\","
        "\"server_ip\":\"127.0.1.1\",\"timestamp\":\"t\","
        "\"os_version\":\"#1 SMP PREEMPT_DYNAMIC\",\"mem\":2.9}",
        "198.51.100.4", "198.51.100.4", 1, 0);
    /* IPv6 in upper case, filed canonically, with a peer of its own. */
    expect_same_stored(
        f,
        "{\"cpu\":\"c\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"2001:DB8::1\",\"timestamp\":\"t\","
        "\"os_version\":\"v\",\"report_id\":\"A-9\"}",
        "::ffff:192.0.2.99", "2001:db8::1", 1, 1);
    /* Left to jansson, stored the same: an escape in a checked field, an
     * escaped key, an exponent, a forged "received", a null report_id. */
    expect_same_stored(
        f,
        "{\"cpu\":\"\\u0041MD\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"192.0.2.11\",\"timestamp\":\"t\","
        "\"os_version\":\"v\"}",
        NULL, "192.0.2.11", 0, 0);
    expect_same_stored(
        f,
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"192.0.2.12\",\"timestamp\":\"t\","
        "\"os_version\":\"v\",\"\\u0078\":1,\"e\":1e3}",
        NULL, "192.0.2.12", 0, 0);
    expect_same_stored(
        f,
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"192.0.2.13\",\"timestamp\":\"t\","
        "\"os_version\":\"v\",\"report_id\":null,"
        "\"received\":{\"at\":\"forged\"}}",
        NULL, "192.0.2.13", 0, 0);
    /* A whole report of this library's agent, pretty-printed. */
    assert_non_null(golden);
    g = json_loadb(golden, len, 0, NULL);
    assert_non_null(g);
    json_object_set_new(g, "server_ip", json_string("192.0.2.14"));
    t = json_dumps(g, JSON_INDENT(2));
    expect_same_stored(f, t, NULL, "192.0.2.14", 1, 1);
    free(t);
    json_decref(g);
    free(golden);
}

/* A report of the six fields under ip with extra members: n objects
 * nested one in the next, each of width members. */
static char *wide(const char *ip, int n, int width)
{
    size_t cap = 512 + (size_t)n * (size_t)width * 16, len;
    char *t = malloc(cap);

    assert_non_null(t);
    len = (size_t)snprintf(t, cap,
                           "{\"cpu\":\"\",\"os_username\":\"u\","
                           "\"os_name\":\"n\",\"server_ip\":\"%s\","
                           "\"timestamp\":\"t\",\"os_version\":\"v\"",
                           ip);
    for (int d = 0; d < n; d++) {
        len += (size_t)snprintf(t + len, cap - len, ",\"o\":{\"k\":0");
        for (int i = 1; i < width; i++)
            len += (size_t)snprintf(t + len, cap - len, ",\"k%d\":%d", i, i);
    }
    for (int d = 0; d <= n; d++)
        t[len++] = '}';
    t[len] = '\0';
    return t;
}

/* Beyond what the scan follows, jansson decides and the store is the
 * same: more members than it keeps in one object, or in all the open
 * ones; an integer of 19 digits. */
static void test_put_json_beyond_the_scan(void **state)
{
    struct fixture *f = *state;
    char *t;

    t = wide("192.0.2.20", 1, 70);
    expect_same_stored(f, t, NULL, "192.0.2.20", 0, 0);
    free(t);
    t = wide("192.0.2.21", 5, 60);
    expect_same_stored(f, t, NULL, "192.0.2.21", 0, 0);
    free(t);
    t = wide("192.0.2.22", 4, 60);
    expect_same_stored(f, t, NULL, "192.0.2.22", 1, 0);
    free(t);
    expect_same_stored(
        f,
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"192.0.2.23\",\"timestamp\":\"t\","
        "\"os_version\":\"v\",\"n\":9223372036854775807}",
        NULL, "192.0.2.23", 0, 0);
}

/* The text way keeps the text: "2.50" as sent, where jansson writes
 * "2.5", and no whitespace between tokens. */
static void test_put_json_keeps_the_text(void **state)
{
    struct fixture *f = *state;
    struct osi_error err;
    char id[65], *text;
    int dup;

    assert_osi_ok(put_both(f, BASE, strlen(BASE), "192.0.2.200", id, &dup),
                  &err);
    assert_string_equal(id, "r-1");
    assert_osi_ok(osi_store_latest_json(f->text, "192.0.2.10", &text, NULL,
                                        &err),
                  &err);
    assert_memory_equal(text,
                        "{\"cpu\":\"\",\"os_username\":\"root\","
                        "\"os_name\":\"Linux\",\"server_ip\":\"192.0.2.10\",",
                        74);
    assert_non_null(strstr(text, "\"mem\":2.50,"));
    assert_non_null(strstr(text, "\"note\":\"a \\\"q\\\" \\u00e9\\n\","));
    assert_non_null(strstr(text, ",\"received\":{\"at\":\""));
    assert_non_null(strstr(text, "\",\"peer\":\"192.0.2.200\"}}"));
    osi_free(text);
    assert_osi_ok(osi_store_latest_json(f->tree, "192.0.2.10", &text, NULL,
                                        &err),
                  &err);
    assert_non_null(strstr(text, "\"mem\":2.5,"));
    osi_free(text);
}

/* Where the scan decides, it says what jansson and the rules say. */
/* Counts: decided by the scan, found valid by it, valid for jansson. */
struct tally {
    int decided, valid, valid_jansson;
};

static void expect_verdict(const char *json, size_t len, struct tally *t)
{
    struct osi_report *r = NULL;
    struct osi_error e1, e2;
    enum osi_status s1 = OSI_OK, s2;
    int v = osip_report_scan_verdict(json, len, 32, &s1, &e1);

    assert_true(v == 0 || v == 1);
    s2 = osi_report_from_json(json, len, NULL, &r, &e2);
    osi_report_free(r);
    t->valid_jansson += s2 == OSI_OK;
    if (v == 0)
        return;
    t->decided++;
    t->valid += s1 == OSI_OK;
    if (s1 != s2 || (s1 != OSI_OK && strcmp(e1.message, e2.message) != 0))
        fail_msg("%.*s: scan %s \"%s\", jansson %s \"%s\"", (int)len, json,
                 osi_status_str(s1), s1 ? e1.message : "",
                 osi_status_str(s2), s2 ? e2.message : "");
}

static void test_put_json_verdicts_of_bad_input(void **state)
{
    static const char *const bad[] = {
        "", "{", "[]", "\"x\"", "null", "{} x", "{\"cpu\":1}",
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"300.1.1.1\",\"timestamp\":\"t\",\"os_version\":\"v\"}",
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"10.0.0.1\",\"timestamp\":\"t\",\"os_version\":\"v\","
        "\"cpu\":\"again\"}",
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"10.0.0.1\",\"timestamp\":\"t\",\"os_version\":\"v\","
        "\"a\":{\"b\":[{\"c\":1,\"c\":2}]}}",
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"10.0.0.1\",\"timestamp\":\"t\",\"os_version\":\"v\","
        "\"n\":123456789012345678901234}",
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"10.0.0.1\",\"timestamp\":\"t\",\"os_version\":\"v\","
        "\"n\":1e400}",
        "{\"cpu\":\"\",\"os_username\":\"\",\"os_name\":\"n\","
        "\"server_ip\":\"10.0.0.1\",\"timestamp\":\"t\",\"os_version\":\"v\"}",
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"10.0.0.1\",\"timestamp\":\"t\",\"os_version\":\"v\","
        "\"report_id\":\"a/b\"}",
        "{\"cpu\":\"\",\"os_username\":\"u\",\"os_name\":\"n\","
        "\"server_ip\":\"10.0.0.1\",\"timestamp\":\"t\",\"os_version\":\"v\","
        "\"schema_version\":1.5}",
        "{\"cpu\":\"\xc3\x28\",\"os_username\":\"u\"}",
    };
    char deep[1200 * 2 + 1];
    struct tally t = { 0 };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        expect_verdict(bad[i], strlen(bad[i]), &t);
    memset(deep, '[', 1200);
    memset(deep + 1200, ']', 1200);
    deep[0] = '{';
    expect_verdict(deep, 2400, &t);
    /* Syntax errors are jansson's to word; the rules' errors the scan's. */
    assert_int_equal(t.valid, 0);
    assert_int_equal(t.valid_jansson, 0);
    assert_int_equal(t.decided, 5);
}

/* Every one-byte change of BASE (deleted, or replaced by a byte that
 * matters to JSON), and every cut. */
static void test_put_json_verdicts_of_mutants(void **state)
{
    static const char subst[] = "\"\\{}[],: a0-.e\x01\x7f\xc3\xff";
    static const char base[] = BASE;
    char m[sizeof(base)];
    struct tally t = { 0 };

    (void)state;
    for (size_t i = 0; i < sizeof(base) - 1; i++) {
        memcpy(m, base, i);
        memcpy(m + i, base + i + 1, sizeof(base) - 1 - i);
        expect_verdict(m, sizeof(base) - 2, &t);
        expect_verdict(base, i, &t);
        for (size_t k = 0; k < sizeof(subst) - 1; k++) {
            memcpy(m, base, sizeof(base));
            m[i] = subst[k];
            expect_verdict(m, sizeof(base) - 1, &t);
        }
    }
    /* The scan takes most valid mutants (not those with an escape
     * spoilt into another, or an exponent) and words rule errors. */
    assert_true(t.valid * 10 >= t.valid_jansson * 8);
    assert_true(t.decided - t.valid > 500);
    printf("mutants: %d valid (jansson: %d), %d rule errors\n", t.valid,
           t.valid_jansson, t.decided - t.valid);
}

/* A stored report: compact, stamped, as osi_store_put() writes it. */
#define STORED                                                                \
    "{\"cpu\":\"\",\"os_username\":\"root\",\"os_name\":\"Linux\","           \
    "\"server_ip\":\"192.0.2.10\",\"timestamp\":\"t\",\"os_version\":\"v\","   \
    "\"report_id\":\"r-1\",\"collected_at\":\"2026-11-28T10:00:00.250Z\","     \
    "\"note\":\"a \\\"q\\\"\",\"mem\":[1,{\"x\":null}],"                        \
    "\"received\":{\"at\":\"2026-11-28T10:00:01.000Z\",\"peer\":\"192.0.2.1\"}}"

/* osip_report_key_of() says what jansson alone says: the same result and
 * key. Returns the allocations it made (1 when the scan told). */
static long expect_same_key(const char *text, size_t len)
{
    char k1[OSIP_KEY_MAX] = "", k2[OSIP_KEY_MAX] = "";
    int r1, r2;
    long allocs;

    osi_test_chaos_begin(-1);
    r1 = osip_report_key_of(text, len, "192.0.2.10", k1);
    allocs = osi_test_chaos_end();
    r2 = osip_report_key_of_jansson(text, len, "192.0.2.10", k2);
    if (r1 != r2 || (r1 == 0 && strcmp(k1, k2) != 0))
        fail_msg("%.*s: scan %d \"%s\", jansson %d \"%s\"", (int)len, text,
                 r1, k1, r2, k2);
    return allocs;
}

static void test_key_of_stored_text(void **state)
{
    static const char *const cases[] = {
        STORED,
        /* collected_at more than an hour ahead of received: received */
        "{\"report_id\":\"r\",\"collected_at\":\"2030-01-01T00:00:00Z\","
        "\"received\":{\"at\":\"2026-11-28T10:00:01Z\"}}",
        /* no collected_at, a null one, a number */
        "{\"report_id\":\"r\",\"received\":{\"at\":\"2026-11-28T10:00:01Z\"}}",
        "{\"report_id\":\"r\",\"collected_at\":null,"
        "\"received\":{\"at\":\"2026-11-28T10:00:01Z\"}}",
        "{\"report_id\":\"r\",\"collected_at\":5,"
        "\"received\":{\"at\":\"2026-11-28T10:00:01Z\"}}",
        /* no report_id, a bad one, an escaped one */
        "{\"received\":{\"at\":\"2026-11-28T10:00:01Z\"}}",
        "{\"report_id\":\"a/b\",\"received\":{\"at\":\"2026-11-28T10:00:01Z\"}}",
        "{\"report_id\":\"r\\u002d1\",\"received\":{\"at\":\"2026-11-28T10:00:01Z\"}}",
        /* received missing, not an object, its at missing or not a time */
        "{\"report_id\":\"r\"}",
        "{\"report_id\":\"r\",\"received\":\"2026-11-28T10:00:01Z\"}",
        "{\"report_id\":\"r\",\"received\":{\"peer\":\"1.2.3.4\"}}",
        "{\"report_id\":\"r\",\"received\":{\"at\":\"yesterday\"}}",
        /* duplicate keys: jansson keeps the last */
        "{\"report_id\":\"a\",\"report_id\":\"b\","
        "\"received\":{\"at\":\"2026-11-28T10:00:01Z\"}}",
        /* a time with more fraction digits than the scan keeps */
        "{\"report_id\":\"r\",\"collected_at\":\"2026-11-28T10:00:00."
        "12345678901234567890123456789012345678901234567890123456789012345678"
        "90123456789012345678901234567890123456789012345678901234567890123456"
        "78901234567890123456789012345678901234567890123456789012345678901234"
        "5678901234567890Z\",\"received\":{\"at\":\"2026-11-28T10:00:01Z\"}}",
        /* not a report at all */
        "[]", "{", "",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        expect_same_key(cases[i], strlen(cases[i]));
    /* The stored text of a report is read by the scan, not by jansson. */
    assert_int_equal(expect_same_key(STORED, strlen(STORED)), 1);
}

struct deep_call {
    const char *text;
    size_t len;
    int rc;
};

static void *key_of_deep(void *arg)
{
    struct deep_call *c = arg;
    char key[OSIP_KEY_MAX];

    c->rc = osip_report_key_of(c->text, c->len, "192.0.2.10", key);
    return NULL;
}

/* A stored text nested far deeper than a report may be (someone else's
 * file in the store) is no report, and is not handed to jansson, whose
 * parser recurses per level: on a thread with a stack as small as
 * CivetWeb's workers' (100 KiB), that would crash the server. */
static void test_key_of_deep_text(void **state)
{
    static const char head[] =
        "{\"received\":{\"at\":\"2026-11-28T10:00:01Z\"},\"report_id\":\"r\",\"x\":";
    size_t depth = 100000, n = sizeof(head) - 1;
    char *text = malloc(n + 2 * depth + 1);
    struct deep_call c;

    (void)state;
    assert_non_null(text);
    memcpy(text, head, n);
    memset(text + n, '[', depth);
    memset(text + n + depth, ']', depth);
    text[n + 2 * depth] = '}';
    c.text = text;
    c.len = n + 2 * depth + 1;
    c.rc = 0;
    osi_test_on_small_stack(key_of_deep, &c);
    assert_int_equal(c.rc, -1);
    free(text);
}

/* Every one-byte deletion or change of a stored text, and every cut. */
static void test_key_of_mutants(void **state)
{
    static const char subst[] = "\"\\{}[],: a0-.Z\x01\xc3";
    static const char base[] = STORED;
    char m[sizeof(base)];

    (void)state;
    for (size_t i = 0; i < sizeof(base) - 1; i++) {
        memcpy(m, base, i);
        memcpy(m + i, base + i + 1, sizeof(base) - 1 - i);
        expect_same_key(m, sizeof(base) - 2);
        expect_same_key(base, i);
        for (size_t k = 0; k < sizeof(subst) - 1; k++) {
            memcpy(m, base, sizeof(base));
            m[i] = subst[k];
            expect_same_key(m, sizeof(base) - 1);
        }
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_put_json_stores_what_put_stores),
        T(test_put_json_keeps_the_text),
        T(test_put_json_beyond_the_scan),
        cmocka_unit_test(test_put_json_verdicts_of_bad_input),
        cmocka_unit_test(test_put_json_verdicts_of_mutants),
        cmocka_unit_test(test_key_of_stored_text),
        cmocka_unit_test(test_key_of_mutants),
        cmocka_unit_test(test_key_of_deep_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
