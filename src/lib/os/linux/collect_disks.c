/* SPDX-License-Identifier: MIT */
/* Section "disks": the real file systems of mountinfo and their sizes
 * from statvfs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../collect_int.h"

struct mount {
    unsigned long id, parent, major, minor;
    char *root, *point, *options, *fstype, *source, *super;
};

/* File systems that hold no user data: kernel interfaces, memory-backed
 * ones, read-only images (snaps) and the automounter's trigger points.
 * Sorted (strcmp). */
static const char *const pseudo_types[] = {
    "anon_inodefs", "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2",
    "configfs", "debugfs", "devfs", "devpts", "devtmpfs", "efivarfs",
    "fuse", "fusectl", "hugetlbfs", "mqueue", "nfsd", "nsfs", "proc",
    "pstore", "ramfs", "resctrl", "rootfs", "rpc_pipefs", "securityfs",
    "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs", "usbfs",
};

/* File systems whose statvfs waits on a server that may be gone: listed,
 * never asked for sizes, so a dead server cannot hang the agent. Sorted
 * (strcmp). */
static const char *const network_types[] = {
    "9p", "afs", "ceph", "cifs", "coda", "glusterfs", "gpfs", "lustre",
    "ncpfs", "nfs", "nfs4", "smb3", "smbfs",
};

/* Binary search: the lists are sorted, and every mount is looked up. */
static int in_list(const char *s, const char *const *list, size_t n)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s, list[mid]);

        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

static int is_network(const char *fstype)
{
    return in_list(fstype, network_types,
                   sizeof(network_types) / sizeof(*network_types));
}

static int is_pseudo(const struct mount *m)
{
    /* An overlay at / is a container's root; elsewhere it is a
     * container's view of some other disk. */
    if (strcmp(m->fstype, "overlay") == 0 || strcmp(m->fstype, "aufs") == 0)
        return strcmp(m->point, "/") != 0;
    /* fuseblk is a block device (ntfs-3g, exfat-fuse); other FUSE file
     * systems are user-space views (sshfs, gvfs, portals). */
    if (strncmp(m->fstype, "fuse.", 5) == 0)
        return 1;
    return in_list(m->fstype, pseudo_types,
                   sizeof(pseudo_types) / sizeof(*pseudo_types));
}

/* Decode the kernel's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. */
static void unescape(char *s)
{
    char *out = s;

    while (*s != '\0') {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
            s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
                            (s[3] - '0'));
            s += 4;
        } else {
            *out++ = *s++;
        }
    }
    *out = '\0';
}

static int parse_ulong(const char *s, char stop, unsigned long *out,
                       const char **end_out)
{
    char *end;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    *out = strtoul(s, &end, 10);
    if (errno != 0 || *end != stop)
        return -1;
    if (end_out != NULL)
        *end_out = end;
    return 0;
}

/* True when the comma-separated options contain "ro". */
static int has_ro(const char *options)
{
    for (const char *p = options; p != NULL; p = strchr(p, ',')) {
        if (*p == ',')
            p++;
        if (p[0] == 'r' && p[1] == 'o' && (p[2] == ',' || p[2] == '\0'))
            return 1;
    }
    return 0;
}

/* The next field of a line split on single spaces (an empty source is
 * an empty field), or NULL at the end. */
static char *next_field(char **cursor)
{
    char *f = *cursor, *sp;

    if (f == NULL)
        return NULL;
    sp = strchr(f, ' ');
    if (sp != NULL)
        *sp++ = '\0';
    *cursor = sp;
    return f;
}

/* Split one line of mountinfo (modified in place) into m:
 * id parent major:minor root point options [optional...] - type source super */
static int parse_line(char *line, struct mount *m)
{
    char *f[6], *cursor = line, *tok;
    const char *p;

    for (size_t i = 0; i < 6; i++)
        if ((f[i] = next_field(&cursor)) == NULL)
            return -1;
    /* optional fields ("shared:1 master:2") end at a lone "-" */
    do
        tok = next_field(&cursor);
    while (tok != NULL && strcmp(tok, "-") != 0);
    m->fstype = next_field(&cursor);
    m->source = next_field(&cursor);
    m->super = next_field(&cursor);
    if (m->super == NULL)
        return -1;
    m->root = f[3];
    m->point = f[4];
    m->options = f[5];
    if (parse_ulong(f[0], '\0', &m->id, NULL) != 0 ||
        parse_ulong(f[1], '\0', &m->parent, NULL) != 0 ||
        parse_ulong(f[2], ':', &m->major, &p) != 0 ||
        parse_ulong(p + 1, '\0', &m->minor, NULL) != 0 ||
        m->point[0] == '\0' || m->fstype[0] == '\0')
        return -1;
    unescape(m->root);
    unescape(m->point);
    unescape(m->fstype);
    unescape(m->source);
    return 0;
}

/* Is the mount hidden by another mounted on the same point on top of it? */
static int is_shadowed(const struct mount *all, size_t n, size_t i)
{
    for (size_t j = 0; j < n; j++)
        if (all[j].parent == all[i].id && all[j].id != all[i].id &&
            strcmp(all[j].point, all[i].point) == 0)
            return 1;
    return 0;
}

/* Container runtimes bind single files of the host's disk (/etc/hosts,
 * /etc/resolv.conf): a file is not a place to keep data. Only mounts of a
 * subtree are checked (a file bind never has root "/"), never network
 * ones (a stat could hang), and a mount point that cannot be seen counts
 * as a directory. */
static int is_file_bind(struct osip_ctx *ctx, const struct mount *m)
{
    struct stat st;

    if (strcmp(m->root, "/") == 0 || is_network(m->fstype) ||
        m->point[0] != '/' || m->point[1] == '\0')
        return 0;
    if (osip_stat(ctx, m->point + 1, 0, &st) != 0)
        return 0;
    return !S_ISDIR(st.st_mode);
}

/* The mount point as a reason can hold it: the reason becomes a JSON
 * string too, and is cut at a fixed size. */
static const char *reason_name(const struct mount *m)
{
    return osip_text_valid(m->point, 1) && strlen(m->point) <= 128
               ? m->point
               : "a mount point";
}

static void set_sizes(struct osip_ctx *ctx, json_t *disk,
                      const struct mount *m)
{
    static const char *const keys[] = { "total_bytes", "free_bytes",
                                        "available_bytes" };
    char path[2 * PATH_MAX];
    struct statvfs st;
    unsigned long long frsize;
    int n;

    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
        osip_set(ctx, disk, keys[i], json_null());
    if (is_network(m->fstype)) {
        osip_sec_partial(ctx, "%s: %s is a network file system, sizes "
                              "not read", reason_name(m), m->fstype);
        return;
    }
    n = snprintf(path, sizeof(path), "%s%s", ctx->root, m->point);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        osip_sec_partial(ctx, "%s: path too long", reason_name(m));
        return;
    }
    if (ctx->sys->statvfs(ctx->sys->data, path, &st) != 0) {
        osip_sec_partial(ctx, "statvfs %s: %s", reason_name(m),
                         strerror(errno));
        return;
    }
    frsize = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
    osip_set(ctx, disk, "total_bytes",
             json_integer((json_int_t)(frsize * st.f_blocks)));
    osip_set(ctx, disk, "free_bytes",
             json_integer((json_int_t)(frsize * st.f_bfree)));
    osip_set(ctx, disk, "available_bytes",
             json_integer((json_int_t)(frsize * st.f_bavail)));
}

static void add_disk(struct osip_ctx *ctx, json_t *disks,
                     const struct mount *m)
{
    json_t *d = osip_append(ctx, disks, json_object());

    if (d == NULL)
        return;
    osip_set(ctx, d, "mount_point", osip_json_text(m->point));
    osip_set(ctx, d, "device", osip_json_text(m->source));
    osip_set(ctx, d, "fs_type", osip_json_text(m->fstype));
    set_sizes(ctx, d, m);
    osip_set(ctx, d, "read_only",
             json_boolean(has_ro(m->options) || has_ro(m->super)));
}

/* Of the mounts of one device, the one to report: the first that shows the
 * whole file system (root "/"), else the first. */
static int is_chosen(const struct mount *all, const unsigned char *keep,
                     size_t n, size_t i)
{
    size_t first = n;

    for (size_t j = 0; j < n; j++) {
        if (!keep[j] || all[j].major != all[i].major ||
            all[j].minor != all[i].minor)
            continue;
        if (strcmp(all[j].root, "/") == 0)
            return j == i;
        if (first == n)
            first = j;
    }
    return first == i;
}

/* Under another root (--root /host in a container), proc/self is the
 * agent's own mount namespace, whose mount points carry the /host prefix;
 * the root's /proc is the host's, in which 1 is the host's init and its
 * mountinfo the host's view. Fixture roots are other roots too: their
 * mount table is proc/1/mountinfo. */
void osip_collect_disks(struct osip_ctx *ctx)
{
    const char *path = ctx->root[0] != '\0' ? "proc/1/mountinfo"
                                            : "proc/self/mountinfo";
    struct mount *all;
    unsigned char *keep;
    char *text, *line, *next;
    size_t len, lines = 1, n = 0, lineno = 0;
    json_t *disks;
    int r;

    r = osip_read_file(ctx, path, &text, &len);
    if (r < 0) {
        osip_sec_file_error(ctx, path, r, 1);
        return;
    }
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    all = osip_calloc(lines, sizeof(*all));
    keep = osip_calloc(lines, 1);
    if (all == NULL || keep == NULL) {
        ctx->oom = 1;
        osip_sec_failed(ctx, "out of memory");
        goto out;
    }
    for (line = text; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        if (*line == '\0')
            continue;
        if (parse_line(line, &all[n]) != 0) {
            osip_sec_partial(ctx, "/%s: line %zu: not a mount", path, lineno);
            continue;
        }
        n++;
    }
    for (size_t i = 0; i < n; i++)
        keep[i] = !is_pseudo(&all[i]) && !is_shadowed(all, n, i) &&
                  !is_file_bind(ctx, &all[i]);

    disks = osip_set(ctx, ctx->report, "disks", json_array());
    for (size_t i = 0; i < n; i++)
        if (keep[i] && is_chosen(all, keep, n, i))
            add_disk(ctx, disks, &all[i]);
out:
    free(keep);
    free(all);
    free(text);
}
