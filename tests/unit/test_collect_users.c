/* SPDX-License-Identifier: MIT */
/* Sections "users" and "username" (its etc/passwd lookup before NSS)
 * against fixture roots; utmp and passwd files are written at test time
 * into a copy of a root, so no binary file is committed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmp.h>

#include "collect_int.h"
#include "fake_sys.h"
#include "osi_test.h"

static void make_dirs(const char *root, const char *rel)
{
    char path[2 * PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = strchr(path + strlen(root) + 1, '/'); p != NULL;
         p = strchr(p + 1, '/')) {
        *p = '\0';
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        *p = '/';
    }
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void write_file(const char *root, const char *rel, const void *data,
                       size_t len)
{
    char path[2 * PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static struct utmp record(short type, const char *user, const char *line,
                          const char *host, int32_t sec)
{
    struct utmp u;

    memset(&u, 0, sizeof(u));
    u.ut_type = type;
    u.ut_pid = 1000 + (int)sec % 1000;
    memcpy(u.ut_user, user, strnlen(user, sizeof(u.ut_user)));
    memcpy(u.ut_line, line, strnlen(line, sizeof(u.ut_line)));
    memcpy(u.ut_host, host, strnlen(host, sizeof(u.ut_host)));
    u.ut_tv.tv_sec = sec;
    return u;
}

/* Collect a temporary copy of a root, then remove it and free root. */
static struct osi_report *collect_copy(char *root)
{
    struct osi_report *r = osi_test_collect(root);

    osi_test_rmtree(root);
    free(root);
    return r;
}

static const json_t *users(const struct osi_report *r)
{
    const json_t *u = json_object_get(r->root, "users");

    assert_true(json_is_array(u));
    return u;
}

static void assert_str_or_null(const json_t *v, const char *want)
{
    if (want == NULL)
        assert_true(json_is_null(v));
    else
        assert_string_equal(json_string_value(v), want);
}

static void assert_user(const struct osi_report *r, size_t i,
                        const char *name, const char *tty, const char *host,
                        const char *login_time, const char *source)
{
    const json_t *u = json_array_get(users(r), i);

    assert_non_null(u);
    assert_int_equal(json_object_size(u), 5);
    assert_str_or_null(json_object_get(u, "name"), name);
    assert_str_or_null(json_object_get(u, "tty"), tty);
    assert_str_or_null(json_object_get(u, "remote_host"), host);
    assert_str_or_null(json_object_get(u, "login_time"), login_time);
    assert_str_or_null(json_object_get(u, "source"), source);
}

/* Sessions in login order, whatever order the directory lists them in. */
static void test_collect_users_logind(void **state)
{
    struct osi_report *r = osi_test_collect("roots/debian12");

    (void)state;
    assert_int_equal(json_array_size(users(r)), 2);
    assert_user(r, 0, "bob", "tty1", NULL, "2026-01-02T01:00:00Z", "logind");
    assert_user(r, 1, "alice", "pts/0", "203.0.113.7",
                "2026-01-02T02:00:00Z", "logind");
    osi_test_assert_section(r, "users", "full", NULL);
    osi_report_free(r);
}

/* A distribution without utmp: greeter, manager, background and closing
 * sessions are nobody at a keyboard; user-early is; a session without
 * CLASS= (older systemd) is; quoted values are unquoted, /dev/ dropped. */
static void test_collect_users_logind_only_classes(void **state)
{
    struct osi_report *r = osi_test_collect("roots/users-logind");

    (void)state;
    assert_int_equal(json_array_size(users(r)), 4);
    assert_user(r, 0, "alice", NULL, NULL, "2026-01-01T08:30:00Z", "logind");
    assert_user(r, 1, "carol", "pts/1", "kiosk (lab \"2\")",
                "2026-01-01T10:00:00Z", "logind");
    assert_user(r, 2, "root", "tty3", NULL, "2026-01-01T11:45:30Z",
                "logind");
    assert_user(r, 3, "erin", "pts/2", "192.0.2.99", "2026-01-01T12:00:00Z",
                "logind");
    osi_test_assert_section(r, "users", "full", NULL);
    osi_report_free(r);
}

/* utmp only: USER_PROCESS records, nothing else. */
static void test_collect_users_utmp(void **state)
{
    char *root = osi_test_copy_fixture("roots/rhel9");
    const struct utmp recs[] = {
        record(BOOT_TIME, "reboot", "~", "6.1.0-26-amd64", 1767240000),
        record(RUN_LVL, "runlevel", "~", "6.1.0-26-amd64", 1767240010),
        record(LOGIN_PROCESS, "LOGIN", "tty2", "", 1767240020),
        record(USER_PROCESS, "root", "tty1", "", 1767250800),
        record(DEAD_PROCESS, "", "pts/1", "", 1767252000),
        record(USER_PROCESS, "admin", "pts/0", "192.0.2.50", 1767256200),
    };
    struct osi_report *r;

    (void)state;
    make_dirs(root, "run");
    write_file(root, "run/utmp", recs, sizeof(recs));
    r = collect_copy(root);
    assert_int_equal(json_array_size(users(r)), 2);
    assert_user(r, 0, "root", "tty1", NULL, "2026-01-01T07:00:00Z", "utmp");
    assert_user(r, 1, "admin", "pts/0", "192.0.2.50", "2026-01-01T08:30:00Z",
                "utmp");
    osi_test_assert_section(r, "users", "full", NULL);
    osi_report_free(r);
}

/* Both sources: utmp adds only sessions logind did not list, by name and
 * terminal; a user name filling ut_user (no NUL) is read whole. */
static void test_collect_users_logind_then_utmp(void **state)
{
    char *root = osi_test_copy_fixture("roots/debian12");
    const struct utmp recs[] = {
        record(USER_PROCESS, "alice", "pts/0", "203.0.113.7", 1767319200),
        record(USER_PROCESS, "alice", "pts/3", "203.0.113.7", 1767320000),
        record(USER_PROCESS, "a-user-name-of-exactly-32-bytes!", "pts/4",
               "198.51.100.4", 1767321000),
    };
    struct osi_report *r;

    (void)state;
    write_file(root, "run/utmp", recs, sizeof(recs));
    r = collect_copy(root);
    assert_int_equal(json_array_size(users(r)), 4);
    assert_user(r, 0, "bob", "tty1", NULL, "2026-01-02T01:00:00Z", "logind");
    assert_user(r, 1, "alice", "pts/0", "203.0.113.7",
                "2026-01-02T02:00:00Z", "logind");
    assert_user(r, 2, "alice", "pts/3", "203.0.113.7",
                "2026-01-02T02:13:20Z", "utmp");
    assert_user(r, 3, "a-user-name-of-exactly-32-bytes!", "pts/4",
                "198.51.100.4", "2026-01-02T02:30:00Z", "utmp");
    osi_test_assert_section(r, "users", "full", NULL);
    osi_report_free(r);
}

/* Neither source: the host may have users; nothing says. */
static void test_collect_users_no_source(void **state)
{
    struct osi_report *r = osi_test_collect("roots/container");

    (void)state;
    assert_int_equal(json_array_size(users(r)), 0);
    osi_test_assert_section(r, "users", "partial",
                            "no /run/systemd/sessions and no /run/utmp");
    osi_report_free(r);
}

/* An empty sessions directory, or an empty utmp: nobody logged in. */
static void test_collect_users_nobody(void **state)
{
    char *root = osi_test_copy_fixture("roots/container");
    struct osi_report *r;

    (void)state;
    make_dirs(root, "run/systemd/sessions");
    r = collect_copy(root);
    assert_int_equal(json_array_size(users(r)), 0);
    osi_test_assert_section(r, "users", "full", NULL);
    osi_report_free(r);

    root = osi_test_copy_fixture("roots/container");
    make_dirs(root, "run");
    write_file(root, "run/utmp", "", 0);
    r = collect_copy(root);
    assert_int_equal(json_array_size(users(r)), 0);
    osi_test_assert_section(r, "users", "full", NULL);
    osi_report_free(r);
}

/* logind's "<id>.ref" FIFOs are never opened (that would block), nor is
 * a FIFO with a session's name (the entry's type says it is none), and a
 * session file without USER= is skipped and reported. */
static void test_collect_users_fifo_and_bad_session(void **state)
{
    char *root = osi_test_copy_fixture("roots/debian12");
    const char text[] = "UID=1003\nSTATE=active\nCLASS=user\nTTY=pts/7\n";
    char fifo[2 * PATH_MAX];
    struct osi_report *r;

    (void)state;
    snprintf(fifo, sizeof(fifo), "%s/run/systemd/sessions/3.ref", root);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(fifo, sizeof(fifo), "%s/run/systemd/sessions/12", root);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    write_file(root, "run/systemd/sessions/9", text, sizeof(text) - 1);
    r = collect_copy(root);
    assert_int_equal(json_array_size(users(r)), 2);
    assert_user(r, 0, "bob", "tty1", NULL, "2026-01-02T01:00:00Z", "logind");
    assert_user(r, 1, "alice", "pts/0", "203.0.113.7",
                "2026-01-02T02:00:00Z", "logind");
    osi_test_assert_section(r, "users", "partial",
                            "/run/systemd/sessions/9: no USER=");
    osi_report_free(r);
}

/* A utmp that cannot be read: what logind says stands, the section says
 * what is missing. */
static void test_collect_users_utmp_unreadable(void **state)
{
    char *root = osi_test_copy_fixture("roots/debian12");
    struct osi_report *r;

    (void)state;
    make_dirs(root, "run/utmp");
    r = collect_copy(root);
    assert_int_equal(json_array_size(users(r)), 2);
    osi_test_assert_section(r, "users", "partial",
                            "/run/utmp: Is a directory");
    osi_report_free(r);
}

/* username: NSS stands in for LDAP or sssd, answering "nss-<uid>". */
static int nss_calls;

static int nss_getpwuid_r(void *data, uid_t uid, struct passwd *pwd,
                          char *buf, size_t buflen, struct passwd **result)
{
    (void)data;
    nss_calls++;
    memset(pwd, 0, sizeof(*pwd));
    snprintf(buf, buflen, "nss-%lu", (unsigned long)uid);
    pwd->pw_name = buf;
    pwd->pw_uid = uid;
    *result = pwd;
    return 0;
}

/* Collect a copy of roots/username-nss (login uid 1000) whose etc/passwd
 * is passwd (none when NULL). */
static struct osi_report *collect_username(const char *passwd)
{
    char *root = osi_test_copy_fixture("roots/username-nss");
    struct osi_report *r = NULL;
    struct osi_error err;
    struct fake_sys fake;
    struct osip_sys sys;
    char path[PATH_MAX + 16];

    snprintf(path, sizeof(path), "%s/etc/passwd", root);
    assert_int_equal(unlink(path), 0);
    if (passwd != NULL)
        osi_test_write_file(root, "etc/passwd", passwd);
    fake_sys_init(&sys, &fake, root);
    sys.getpwuid_r = nss_getpwuid_r;
    nss_calls = 0;
    assert_osi_ok(osip_collect_with(root, &sys, &r, &err), &err);
    osi_test_rmtree(root);
    free(root);
    return r;
}

/* The uid is in etc/passwd: NSS is not asked. Comments, NIS entries and
 * uids that only start like 1000 are no match. */
static void test_collect_username_passwd_file(void **state)
{
    struct osi_report *r = collect_username(
        "root:x:0:0:root:/root:/bin/bash\n"
        "#alice:x:1000:1000::/home/alice:/bin/sh\n"
        "+bob::1000:1000:::\n"
        "carol:x:10000:10000::/home/carol:/bin/sh\n"
        "erin:x:100:100::/home/erin:/bin/sh\n"
        "dave:x:1000:1000:Dave:/home/dave:/bin/sh");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "os_username"), "dave");
    assert_int_equal(nss_calls, 0);
    osi_test_assert_section(r, "username", "full", NULL);
    osi_report_free(r);
}

/* Not in etc/passwd, or no etc/passwd: NSS knows the user. */
static void test_collect_username_nss_fallback(void **state)
{
    struct osi_report *r = collect_username(
        "root:x:0:0:root:/root:/bin/bash\n");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "os_username"), "nss-1000");
    assert_int_equal(nss_calls, 1);
    osi_test_assert_section(r, "username", "full", NULL);
    osi_report_free(r);
    r = collect_username(NULL);
    assert_string_equal(osi_report_get_string(r, "os_username"), "nss-1000");
    assert_int_equal(nss_calls, 1);
    osi_report_free(r);
}

/* A name in etc/passwd the report cannot carry (a control character, an
 * empty name) gives way to the number, as from NSS. */
static void test_collect_username_passwd_file_bad_name(void **state)
{
    struct osi_report *r = collect_username("bad\tname:x:1000:1000:::\n");

    (void)state;
    assert_string_equal(osi_report_get_string(r, "os_username"), "1000");
    assert_int_equal(nss_calls, 0);
    osi_test_assert_section(r, "username", "partial",
                            "passwd name of uid 1000 is not valid text");
    osi_report_free(r);
    r = collect_username(":x:1000:1000:::\n");
    assert_string_equal(osi_report_get_string(r, "os_username"), "1000");
    osi_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_users_logind),
        cmocka_unit_test(test_collect_users_logind_only_classes),
        cmocka_unit_test(test_collect_users_utmp),
        cmocka_unit_test(test_collect_users_logind_then_utmp),
        cmocka_unit_test(test_collect_users_no_source),
        cmocka_unit_test(test_collect_users_nobody),
        cmocka_unit_test(test_collect_users_fifo_and_bad_session),
        cmocka_unit_test(test_collect_users_utmp_unreadable),
        cmocka_unit_test(test_collect_username_passwd_file),
        cmocka_unit_test(test_collect_username_nss_fallback),
        cmocka_unit_test(test_collect_username_passwd_file_bad_name),
    };
    return cmocka_run_group_tests_name("collect_users", tests, NULL, NULL);
}
