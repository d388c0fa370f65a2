/* SPDX-License-Identifier: MIT */
/* Section "container": whether the collection root runs in a container,
 * which kind, and which file said so. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../collect_int.h"

/* Files whose mere presence names the kind, checked in this order. */
static const struct {
    const char *path;
    const char *kind;
} marker_files[] = {
    { "run/.containerenv", "podman" },
    { ".dockerenv", "docker" },
};

/* Words in a cgroup path, most specific first: Kubernetes pods also run
 * under docker or libpod. */
static const struct {
    const char *word;
    const char *kind;
} cgroup_words[] = {
    { "kubepods", "kubernetes" },
    { "docker", "docker" },
    { "lxc", "lxc" },
    { "libpod", "podman" },
};

static void set_result(struct osip_ctx *ctx, json_t *c, const char *kind,
                       const char *path)
{
    char source[64];

    osip_set(ctx, c, "detected", json_boolean(path != NULL));
    osip_set(ctx, c, "kind", kind != NULL ? json_string(kind) : json_null());
    if (path == NULL) {
        osip_set(ctx, c, "source", json_null());
        return;
    }
    snprintf(source, sizeof(source), "/%s", path);
    osip_set(ctx, c, "source", json_string(source));
}

/* Does path exist under the root? An error other than "no such file"
 * leaves the answer open and marks the section partial. */
static int exists(struct osip_ctx *ctx, const char *path)
{
    int r = osip_path_exists(ctx, path, 1);

    if (r < 0)
        osip_sec_file_error(ctx, path, r, 0);
    return r > 0;
}

/* Read a small file; NULL when it cannot be read (a missing file is no
 * error: most hosts have none of these). Free with free(). */
static char *read_text(struct osip_ctx *ctx, const char *path)
{
    char *text;
    size_t len;
    int r = osip_read_file(ctx, path, &text, &len);

    if (r == 0)
        return text;
    if (r != -ENOENT && r != -ENOTDIR)
        osip_sec_file_error(ctx, path, r, 0);
    return NULL;
}

/* systemd's name for the container manager ("docker", "lxc",
 * "systemd-nspawn"), which it writes after detecting it at boot. */
static int is_kind_name(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 32 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

static int from_systemd(struct osip_ctx *ctx, json_t *c)
{
    const char *path = "run/systemd/container";
    char buf[64];
    int r = osip_read_line(ctx, path, buf, sizeof(buf));

    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r < 0) {
        osip_sec_file_error(ctx, path, r, 0);
        return 0;
    }
    set_result(ctx, c, is_kind_name(buf) ? buf : NULL, path);
    return 1;
}

static int from_cgroup(struct osip_ctx *ctx, json_t *c, const char *path)
{
    char *text = read_text(ctx, path);

    if (text == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(cgroup_words) / sizeof(*cgroup_words); i++) {
        if (strstr(text, cgroup_words[i].word) != NULL) {
            set_result(ctx, c, cgroup_words[i].kind, path);
            free(text);
            return 1;
        }
    }
    free(text);
    return 0;
}

/* WSL kernels name themselves: "5.15.153.1-microsoft-standard-WSL2",
 * "4.4.0-19041-Microsoft". */
static int from_osrelease(struct osip_ctx *ctx, json_t *c)
{
    const char *path = "proc/sys/kernel/osrelease";
    char *text = read_text(ctx, path);
    int wsl;

    if (text == NULL)
        return 0;
    wsl = strcasestr(text, "microsoft") != NULL || strstr(text, "WSL") != NULL;
    free(text);
    if (wsl)
        set_result(ctx, c, "wsl", path);
    return wsl;
}

void osip_collect_container(struct osip_ctx *ctx)
{
    json_t *c = osip_set(ctx, ctx->report, "container", json_object());

    if (c == NULL || from_systemd(ctx, c))
        return;
    for (size_t i = 0; i < sizeof(marker_files) / sizeof(*marker_files); i++) {
        if (exists(ctx, marker_files[i].path)) {
            set_result(ctx, c, marker_files[i].kind, marker_files[i].path);
            return;
        }
    }
    if (from_cgroup(ctx, c, "proc/1/cgroup") ||
        from_cgroup(ctx, c, "proc/self/cgroup"))
        return;
    /* An OpenVZ host has /proc/bc too; only its containers lack it. */
    if (exists(ctx, "proc/vz") && !exists(ctx, "proc/bc")) {
        set_result(ctx, c, "openvz", "proc/vz");
        return;
    }
    if (from_osrelease(ctx, c))
        return;
    set_result(ctx, c, NULL, NULL);
}
