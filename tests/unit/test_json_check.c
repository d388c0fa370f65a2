/* SPDX-License-Identifier: MIT */
/* The strict JSON checker: every fault named, and the same verdict as
 * jansson on a real report and thousands of mutations of it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "osi_test.h"

static size_t check(const char *text, const char **why)
{
    *why = NULL;
    return osip_json_object_check(text, strlen(text), 64, why);
}

static void expect_ok(const char *text)
{
    const char *why;
    size_t at = check(text, &why);

    if (at != 0)
        fail_msg("%s: refused at byte %zu: %s", text, at - 1, why);
}

static void expect_bad(const char *text, size_t want_at, const char *want)
{
    const char *why;
    size_t at = check(text, &why);

    if (at == 0)
        fail_msg("%s: accepted", text);
    assert_non_null(why);
    if (strcmp(why, want) != 0 || at - 1 != want_at)
        fail_msg("%s: \"%s\" at byte %zu, wanted \"%s\" at %zu", text, why,
                 at - 1, want, want_at);
}

static void test_json_check_accepts(void **state)
{
    (void)state;
    expect_ok("{}");
    expect_ok(" \t\r\n{ } \n");
    expect_ok("{\"a\":1,\"b\":[1,-2.5e+3,0,0.1E-2,true,false,null,\"x\"],"
              "\"c\":{\"d\":{}},\"e\":[[],[{}]]}");
    expect_ok("{\"s\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 "
              "\\ud83d\\ude00\"}");
    expect_ok("{\"utf8\":\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
    /* Duplicate keys: jansson keeps the last; the checker does not look. */
    expect_ok("{\"a\":1,\"a\":2}");
}

static void test_json_check_rejects(void **state)
{
    (void)state;
    expect_bad("", 0, "not a JSON object");
    expect_bad("[1]", 0, "not a JSON object");
    expect_bad("\"x\"", 0, "not a JSON object");
    expect_bad("{", 1, "expected a key");
    expect_bad("{\"a\":1", 6, "unexpected end");
    expect_bad("{\"a\":1}x", 7, "trailing bytes");
    expect_bad("{}{}", 2, "trailing bytes");
    expect_bad("{\"a\" 1}", 5, "expected ':'");
    expect_bad("{a:1}", 1, "expected a key");
    expect_bad("{\"a\":1,}", 7, "expected a key");
    expect_bad("{\"a\":[1,]}", 8, "unexpected character");
    expect_bad("{\"a\":1 \"b\":2}", 7, "expected ',' or the end of a container");
    expect_bad("{\"a\":[1}", 7, "expected ',' or the end of a container");
    expect_bad("{\"a\":01}", 6, "expected ',' or the end of a container");
    expect_bad("{\"a\":-}", 6, "invalid number");
    expect_bad("{\"a\":1.}", 7, "invalid number");
    expect_bad("{\"a\":1e}", 7, "invalid number");
    expect_bad("{\"a\":+1}", 5, "unexpected character");
    expect_bad("{\"a\":NaN}", 5, "unexpected character");
    expect_bad("{\"a\":tru}", 5, "invalid literal");
    expect_bad("{\"a\":\"x}", 8, "unterminated string");
    expect_bad("{\"a\":\"\x01\"}", 6, "control character in a string");
    expect_bad("{\"a\":\"\\x\"}", 6, "invalid escape");
    expect_bad("{\"a\":\"\\u12g4\"}", 6, "invalid \\u escape");
    expect_bad("{\"a\":\"\\u0000\"}", 12, "\\u0000 in a string");
    expect_bad("{\"a\":\"\\udc00\"}", 12, "lone low surrogate");
    expect_bad("{\"a\":\"\\ud800x\"}", 12, "lone high surrogate");
    expect_bad("{\"a\":\"\xc0\xaf\"}", 6, "invalid UTF-8");      /* overlong */
    expect_bad("{\"a\":\"\xed\xa0\x80\"}", 6, "invalid UTF-8");  /* surrogate */
    expect_bad("{\"a\":\"\xf4\x90\x80\x80\"}", 6, "invalid UTF-8"); /* > U+10FFFF */
    expect_bad("{\"a\":\"\xe2\x82\"}", 6, "invalid UTF-8");      /* cut short */
}

static void test_json_check_nul_byte(void **state)
{
    static const char text[] = "{\"a\":\"x\0y\"}";
    const char *why = NULL;

    (void)state;
    assert_int_equal(osip_json_object_check(text, sizeof(text) - 1, 64, &why),
                     8);
    assert_string_equal(why, "control character in a string");
}

static void test_json_check_depth(void **state)
{
    char text[300];
    const char *why = NULL;
    size_t n = 0;

    (void)state;
    text[n++] = '{';
    text[n++] = '"';
    text[n++] = 'a';
    text[n++] = '"';
    text[n++] = ':';
    for (int i = 0; i < 63; i++)
        text[n++] = '[';
    for (int i = 0; i < 63; i++)
        text[n++] = ']';
    text[n++] = '}';
    /* 64 levels: the object and 63 arrays. */
    assert_int_equal(osip_json_object_check(text, n, 64, &why), 0);
    assert_int_equal(osip_json_object_check(text, n, 63, &why), 5 + 62 + 1);
    assert_string_equal(why, "nested too deep");
    /* A larger cap is held to the checker's own. */
    memset(text + 5, '[', 200);
    assert_int_not_equal(osip_json_object_check(text, 205, 100000, &why), 0);
    assert_string_equal(why, "nested too deep");
}

/* Would jansson, with the store's flags, load text as an object? NULL
 * when it would, else its reason. Numbers too large for jansson are left
 * out by the caller: the grammar allows them. */
static int jansson_accepts(const char *text, size_t len, int *number_limit)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    int ok = root != NULL && json_is_object(root);

    *number_limit = root == NULL &&
                    (strstr(jerr.text, "too big") != NULL ||
                     strstr(jerr.text, "overflow") != NULL);
    json_decref(root);
    return ok;
}

/* Mutations of a real report (a byte replaced, removed or doubled): the
 * checker and jansson agree on every one. */
static void test_json_check_agrees_with_jansson(void **state)
{
    static const char subst[] = "{}[]\":,\\0123456789.eE+- \t\nabtfnu\x01"
                                "\x80\xc3\xe2\xed\xf4\xff";
    size_t len, compared = 0, refused = 0;
    char *report = osi_test_slurp(osi_test_data("golden/debian12.json"),
                                  &len);
    char *buf = malloc(len + 2);
    uint64_t rng = 0x9e3779b97f4a7c15ull;

    (void)state;
    assert_non_null(report);
    assert_non_null(buf);
    assert_int_equal(osip_json_object_check(report, len, 64, NULL), 0);
    for (int i = 0; i < 4000; i++) {
        size_t at, n = len;
        int number_limit, j_ok, c_ok;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        at = (size_t)(rng >> 16) % len;
        memcpy(buf, report, len);
        switch (rng % 3) {
        case 0:
            buf[at] = subst[(rng >> 8) % (sizeof(subst) - 1)];
            break;
        case 1:
            memmove(buf + at, buf + at + 1, len - at - 1);
            n--;
            break;
        default:
            memmove(buf + at + 1, buf + at, len - at);
            n++;
            break;
        }
        j_ok = jansson_accepts(buf, n, &number_limit);
        if (number_limit)
            continue;
        c_ok = osip_json_object_check(buf, n, 64, NULL) == 0;
        if (j_ok != c_ok)
            fail_msg("mutation %d (byte %zu): jansson %s, checker %s", i, at,
                     j_ok ? "accepts" : "refuses",
                     c_ok ? "accepts" : "refuses");
        compared++;
        refused += !c_ok;
    }
    /* Both kinds of verdict were compared, many times. */
    assert_true(compared > 3800);
    assert_true(refused > 400 && refused < compared - 400);
    free(buf);
    free(report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_check_accepts),
        cmocka_unit_test(test_json_check_rejects),
        cmocka_unit_test(test_json_check_nul_byte),
        cmocka_unit_test(test_json_check_depth),
        cmocka_unit_test(test_json_check_agrees_with_jansson),
    };

    return cmocka_run_group_tests_name("json_check", tests, NULL, NULL);
}
