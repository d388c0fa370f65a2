/* SPDX-License-Identifier: MIT */
/* The file store backend: objects as files under one directory, written
 * durably (temp file, fdatasync, link or rename, directory fsync), latest
 * pointers as hard links moved forward only (docs/storage.md). */
#include <dirent.h>
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

/* Latest pointers are compared and replaced under one of these, chosen by
 * a hash of the host's key: hosts rarely wait for each other. */
#define STRIPES 64
/* The deepest a listing goes: keys have at most three levels. */
#define MAX_LIST_DEPTH 8
/* Objects are reports (64 KiB at most) and small aliases; legacy objects
 * of the original tool are similar. Anything far larger is not ours. */
#define MAX_OBJECT (16u * 1024 * 1024)
/* Temporary files start with this; listings skip every name that starts
 * with '.', and keys never do. */
#define TMP_PREFIX ".tmp-"
#define DIR_MODE 0755
#define FILE_MODE 0644

/* Group flushes of latest/ (latest_ask, latest_wait). */
struct dir_flush {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    uint64_t asked;    /* changes that asked for a flush */
    uint64_t done;     /* those a successful fsync covered */
    uint64_t failures; /* failed fsyncs */
    int error;         /* errno of the last */
    int busy;          /* an fsync runs */
};

struct file_store {
    int root;   /* the store directory, O_DIRECTORY */
    int latest; /* its latest/ */
    long pid;   /* in temp names, with tmp_seq */
    atomic_uint_fast64_t tmp_seq;
    pthread_mutex_t stripes[STRIPES];
    struct dir_flush flush;
    /* What this process knows of latest pointers, each with the inode
     * the pointer was when seen (tag: device, inode); a set is guarded by
     * the stripe lock of its keys. */
    struct osip_known *known;
    char path[]; /* for messages */
};

static enum osi_status fail_errno(struct osi_error *err, int e,
                                  const char *what, const char *key)
{
    return osip_error_set(err, OSI_ESTORE, OSI_CAUSE_ERRNO, e,
                          "file store: cannot %s %s: %s", what, key,
                          strerror(e));
}

/* Keys come from store_keys.c; this re-checks what the file system relies
 * on, so that no key or prefix names anything outside the store or a temp
 * file: no component is empty or starts with '.'. A prefix may end with
 * '/' or be empty. */
static int path_ok(const char *s, int prefix)
{
    size_t n = s ? strlen(s) : 0;

    if (n >= OSIP_KEY_MAX || (n == 0 && !prefix))
        return 0;
    for (size_t i = 0; i < n; i++) {
        int starts = i == 0 || s[i - 1] == '/';

        if (starts && (s[i] == '/' || s[i] == '.'))
            return 0;
    }
    return prefix || s[n - 1] != '/';
}

static int key_ok(const char *key)
{
    return path_ok(key, 0);
}

/* Split "a/b/c.json" into dir "a/b" (or "" at the top) and "c.json". */
static const char *split_key(const char *key, char dir[OSIP_KEY_MAX])
{
    const char *slash = strrchr(key, '/');
    size_t n = slash ? (size_t)(slash - key) : 0;

    memcpy(dir, key, n);
    dir[n] = '\0';
    return slash ? slash + 1 : key;
}

static int open_dir_at(int at, const char *dir)
{
    return openat(at, dir[0] ? dir : ".",
                  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int fsync_dir_at(int at, const char *dir)
{
    int fd = open_dir_at(at, dir), rc, e;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* Create the missing components of dir, making each entry durable in its
 * parent. A component that exists already may have been made a moment
 * ago by another thread that has not synced its parent yet, so every
 * parent is synced: this runs once per host and day. */
static int make_dirs(int root, const char *dir)
{
    char part[OSIP_KEY_MAX];
    size_t n = strlen(dir), parent = 0;

    for (size_t i = 1; i <= n; i++) {
        if (dir[i] != '/' && dir[i] != '\0')
            continue;
        memcpy(part, dir, i);
        part[i] = '\0';
        if (mkdirat(root, part, DIR_MODE) != 0 && errno != EEXIST)
            return -1;
        part[parent] = '\0';
        if (fsync_dir_at(root, part) != 0)
            return -1;
        parent = i;
    }
    return 0;
}

/* Open the directory of a key, creating it when missing. */
static int open_key_dir(struct file_store *fs, const char *dir)
{
    int fd = open_dir_at(fs->root, dir);

    if (fd >= 0 || errno != ENOENT)
        return fd;
    if (make_dirs(fs->root, dir) != 0)
        return -1;
    return open_dir_at(fs->root, dir);
}

static void tmp_name(struct file_store *fs, char buf[64])
{
    unsigned long long seq = atomic_fetch_add(&fs->tmp_seq, 1);

    snprintf(buf, 64, TMP_PREFIX "%ld-%llu", fs->pid, seq);
}

/* Write data to a new temp file in dfd and, when durable, flush it to the
 * disk: its name goes to tmp. A stale temp file of a process that died
 * keeps its name (O_EXCL then tries the next one) and is never listed. */
static int write_temp(struct file_store *fs, int dfd, const char *data,
                      size_t len, int durable, char tmp[64])
{
    int fd = -1, e;

    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        tmp_name(fs, tmp);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    FILE_MODE);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    if (fd < 0)
        return -1;
    /* fdatasync: the data and the size needed to read it back; the name
     * is made durable by the directory's fsync. */
    if (osip_write_all(fd, data, len) != 0 || (durable && fdatasync(fd) != 0)) {
        e = errno;
        close(fd);
        unlinkat(dfd, tmp, 0);
        errno = e;
        return -1;
    }
    if (close(fd) != 0) {
        e = errno;
        unlinkat(dfd, tmp, 0);
        errno = e;
        return -1;
    }
    return 0;
}

static enum osi_status file_get(void *be, const char *key, char **data,
                                size_t *len, struct osi_error *err);

/* Make the changes made so far in the latest/ directory durable, with one
 * fsync for all the threads that ask while one runs: every host's pointer
 * lives in that one directory, and a flush is the dearest step of a
 * report. A thread's change is durable once an fsync that started after
 * it asked succeeds: latest_ask() right after the change, then
 * latest_wait(), with other work in between if the thread has some (a
 * flush another thread runs meanwhile may cover it). Any failed fsync
 * fails every thread that was waiting on the directory then, even one
 * whose own flush had already succeeded (its resend is harmless): after a
 * failed fsync, Linux may answer the next one with success although the
 * data were lost. */
struct latest_ticket {
    uint64_t mine, failures;
};

static struct latest_ticket latest_ask(struct file_store *fs)
{
    struct latest_ticket t;

    pthread_mutex_lock(&fs->flush.lock);
    t.mine = ++fs->flush.asked;
    t.failures = fs->flush.failures;
    pthread_mutex_unlock(&fs->flush.lock);
    return t;
}

static int latest_wait(struct file_store *fs, struct latest_ticket t)
{
    struct dir_flush *g = &fs->flush;
    int e = 0;

    pthread_mutex_lock(&g->lock);
    while (g->done < t.mine && g->failures == t.failures) {
        uint64_t upto = g->asked;
        int rc;

        if (g->busy) {
            pthread_cond_wait(&g->cv, &g->lock);
            continue;
        }
        g->busy = 1;
        pthread_mutex_unlock(&g->lock);
        rc = fsync(fs->latest);
        e = errno;
        pthread_mutex_lock(&g->lock);
        g->busy = 0;
        if (rc == 0) {
            g->done = upto;
        } else {
            g->failures++;
            g->error = e;
        }
        pthread_cond_broadcast(&g->cv);
    }
    e = g->failures == t.failures ? 0 : g->error;
    pthread_mutex_unlock(&g->lock);
    errno = e;
    return e == 0 ? 0 : -1;
}

static pthread_mutex_t *stripe_of(struct file_store *fs,
                                  const char *latest_key)
{
    _Static_assert(OSIP_KNOWN_SETS % STRIPES == 0,
                   "the keys of a set share a lock");
    return &fs->stripes[osip_known_set(latest_key) % STRIPES];
}

static void remember(struct file_store *fs, const char *latest_key,
                     const char *report_key, const struct stat *st)
{
    struct osip_known *k = osip_known_put(fs->known, latest_key, report_key);

    if (k != NULL) {
        k->tag[0] = (uint64_t)st->st_dev;
        k->tag[1] = (uint64_t)st->st_ino;
    }
}

/* The report key that latest_key (name in ldfd) names now, in cur ("" for
 * none, or for an object that names none that can be told), and what it
 * is in *lst (zeroed when there is none). 0, or -1 on error. Called
 * under the key's stripe lock, which also guards its set of the cache:
 * the cache answers when the pointer is still the inode it saw last, so
 * another process that moved the pointer is noticed. */
static int current_latest(struct file_store *fs, int ldfd, const char *name,
                          int depth, const char *latest_key,
                          char cur[OSIP_KEY_MAX], struct stat *lst)
{
    const struct osip_known *k;
    char ip[OSIP_IP_MAX], *data = NULL;
    size_t len = 0, off = 3 * (size_t)depth;
    ssize_t n;

    cur[0] = '\0';
    memset(lst, 0, sizeof(*lst));
    if (fstatat(ldfd, name, lst, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISLNK(lst->st_mode)) {
        /* Stores of osinspect before 0.1 pointed with symbolic links. */
        char target[OSIP_KEY_MAX + 3 * MAX_LIST_DEPTH];

        n = readlinkat(ldfd, name, target, sizeof(target) - 1);
        if (n < 0)
            return -1;
        target[n] = '\0';
        if ((size_t)n > off && (size_t)n - off < OSIP_KEY_MAX)
            memcpy(cur, target + off, (size_t)n - off + 1);
        return 0;
    }
    if (!S_ISREG(lst->st_mode))
        return 0;
    k = osip_known_find(fs->known, latest_key);
    if (k != NULL && k->tag[0] == (uint64_t)lst->st_dev &&
        k->tag[1] == (uint64_t)lst->st_ino) {
        memcpy(cur, k->report, sizeof(k->report));
        return 0;
    }
    /* Another process's pointer, a copied store or a new process: what
     * the report says of itself names its key. */
    if (osip_key_host_parse(latest_key, "latest/", ip) != 0)
        return 0;
    if (file_get(fs, latest_key, &data, &len, NULL) == OSI_ENOMEM) {
        errno = ENOMEM;
        return -1;
    }
    if (data != NULL && osip_report_key_of(data, len, ip, cur) != 0)
        cur[0] = '\0';
    free(data);
    if (cur[0] != '\0')
        remember(fs, latest_key, cur, lst);
    return 0;
}

/* Point latest_key (name in ldfd, a directory at depth levels) to the
 * report rname in rdfd, a hard link, unless it already names a report
 * that is as new or newer. Returns 1 when it moved, 0 when not, -1 on
 * error. A hard link costs no inode and no block: a symbolic link to a
 * report key is too long to live in its inode, and ext4 without a
 * journal discards the block of every replaced one on the spot (a tenth
 * of the rate of links here). */
static int move_latest(struct file_store *fs, int rdfd, const char *rname,
                       int ldfd, const char *name, int depth,
                       const char *report_key, const char *latest_key)
{
    pthread_mutex_t *lock = stripe_of(fs, latest_key);
    char cur[OSIP_KEY_MAX], tmp[64];
    struct stat st, lst;
    int rc = -1, e = 0;

    if (depth > MAX_LIST_DEPTH) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(lock);
    if (current_latest(fs, ldfd, name, depth, latest_key, cur, &lst) != 0) {
        e = errno;
        goto out;
    }
    if (cur[0] != '\0' && osip_key_report_cmp(cur, report_key) >= 0) {
        rc = 0;
        goto out;
    }
    if (fstatat(rdfd, rname, &st, 0) != 0) {
        e = errno;
        goto out;
    }
    /* Already this report, though its key could not be told (rename()
     * of a link onto another link of the same file would do nothing). */
    if (S_ISREG(lst.st_mode) && lst.st_ino == st.st_ino &&
        lst.st_dev == st.st_dev) {
        rc = 0;
        goto out;
    }
    for (int tries = 0; tries < 100; tries++) {
        tmp_name(fs, tmp);
        if (linkat(rdfd, rname, ldfd, tmp, 0) == 0)
            break;
        if (errno != EEXIST) {
            e = errno;
            goto out;
        }
        tmp[0] = '\0';
    }
    if (tmp[0] == '\0') {
        e = EEXIST;
        goto out;
    }
    if (renameat(ldfd, tmp, ldfd, name) != 0) {
        e = errno;
        unlinkat(ldfd, tmp, 0);
        goto out;
    }
    remember(fs, latest_key, report_key, &st);
    rc = 1;
out:
    pthread_mutex_unlock(lock);
    errno = e;
    return rc;
}

static int depth_of(const char *dir)
{
    int depth = dir[0] != '\0';

    for (; *dir; dir++)
        depth += *dir == '/';
    return depth;
}

static enum osi_status file_put_report(void *be, const char *report_key,
                                       const char *latest_key,
                                       const char *data, size_t len,
                                       int *duplicate, struct osi_error *err)
{
    struct file_store *fs = be;
    char rdir[OSIP_KEY_MAX], ldir[OSIP_KEY_MAX], tmp[64];
    const char *rname, *lname;
    struct latest_ticket ticket = { 0, 0 };
    int dfd, ldfd, moved;
    enum osi_status st = OSI_OK;

    *duplicate = 0;
    if (!key_ok(report_key) || !key_ok(latest_key))
        return osip_fail(err, OSI_EINVAL, "file store: invalid key");
    rname = split_key(report_key, rdir);
    lname = split_key(latest_key, ldir);

    dfd = open_key_dir(fs, rdir);
    if (dfd < 0)
        return fail_errno(err, errno, "create the directory of", report_key);
    /* A resend of a stored report costs no write; one racing with its
     * first copy is caught by link() below. */
    if (faccessat(dfd, rname, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        *duplicate = 1;
    } else if (write_temp(fs, dfd, data, len, 1, tmp) != 0) {
        st = fail_errno(err, errno, "write", report_key);
        goto out;
    } else if (linkat(dfd, tmp, dfd, rname, 0) != 0) {
        /* link() fails on an existing name where rename() would replace
         * it: that is how a resent report is stored once. */
        int e = errno;

        unlinkat(dfd, tmp, 0);
        if (e != EEXIST) {
            st = fail_errno(err, e, "link", report_key);
            goto out;
        }
        *duplicate = 1;
    } else {
        unlinkat(dfd, tmp, 0);
    }

    /* The pointer moves before the report's name is synced, so that one
     * thread's flush of latest/ may cover other threads' pointers while
     * they sync their reports' directories: a report then costs two
     * flushes in a row (its data, then its names), as one durable file
     * does. Also for a duplicate: its first writer may not have synced
     * yet, and a crash between the report and its pointer is repaired by
     * the agent's resend. */
    ldfd = strcmp(ldir, "latest") == 0 ? fs->latest
                                       : open_key_dir(fs, ldir);
    if (ldfd < 0) {
        st = fail_errno(err, errno, "create the directory of", latest_key);
        goto out;
    }
    moved = move_latest(fs, dfd, rname, ldfd, lname, depth_of(ldir),
                        report_key, latest_key);
    if (moved == 1 && ldfd == fs->latest)
        ticket = latest_ask(fs);
    if (moved < 0)
        st = fail_errno(err, errno, "update", latest_key);
    else if (fsync(dfd) != 0)
        st = fail_errno(err, errno, "sync the directory of", report_key);
    else if (moved == 1 &&
             (ldfd == fs->latest ? latest_wait(fs, ticket) : fsync(ldfd)) != 0)
        st = fail_errno(err, errno, "sync the directory of", latest_key);
    if (ldfd != fs->latest)
        close(ldfd);
out:
    close(dfd);
    return st;
}

static enum osi_status put_object(struct file_store *fs, const char *key,
                                  const char *data, size_t len, int durable,
                                  struct osi_error *err)
{
    char dir[OSIP_KEY_MAX], tmp[64];
    const char *name;
    enum osi_status st = OSI_OK;
    int dfd;

    if (!key_ok(key))
        return osip_fail(err, OSI_EINVAL, "file store: invalid key");
    name = split_key(key, dir);
    dfd = open_key_dir(fs, dir);
    if (dfd < 0)
        return fail_errno(err, errno, "create the directory of", key);
    if (write_temp(fs, dfd, data, len, durable, tmp) != 0) {
        st = fail_errno(err, errno, "write", key);
    } else if (renameat(dfd, tmp, dfd, name) != 0) {
        st = fail_errno(err, errno, "rename", key);
        unlinkat(dfd, tmp, 0);
    } else if (durable && fsync(dfd) != 0) {
        st = fail_errno(err, errno, "sync the directory of", key);
    }
    close(dfd);
    return st;
}

static enum osi_status file_put(void *be, const char *key, const char *data,
                                size_t len, struct osi_error *err)
{
    return put_object(be, key, data, len, 1, err);
}

static enum osi_status file_put_hint(void *be, const char *key,
                                     const char *data, size_t len,
                                     struct osi_error *err)
{
    return put_object(be, key, data, len, 0, err);
}

static enum osi_status file_get(void *be, const char *key, char **data,
                                size_t *len, struct osi_error *err)
{
    struct file_store *fs = be;
    struct stat st;
    size_t size, got = 0;
    char *buf;
    int fd;

    *data = NULL;
    *len = 0;
    if (!key_ok(key))
        return osip_fail(err, OSI_EINVAL, "file store: invalid key");
    /* Follows the latest/ symbolic links. */
    fd = openat(fs->root, key, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return osip_fail(err, OSI_ENOTFOUND, "no object %s", key);
        return fail_errno(err, errno, "open", key);
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;

        close(fd);
        return fail_errno(err, e, "stat", key);
    }
    if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > MAX_OBJECT) {
        close(fd);
        return osip_fail(err, OSI_ESTORE,
                         "file store: %s is not a regular file of at most "
                         "%u bytes", key, MAX_OBJECT);
    }
    size = (size_t)st.st_size;
    buf = osip_malloc(size + 1);
    if (buf == NULL) {
        close(fd);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;

            free(buf);
            close(fd);
            return fail_errno(err, e, "read", key);
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return OSI_OK;
}

/* Walk the directory dfd (taken, closed here), whose keys start with
 * key[0..keylen), calling fn for the files whose name starts with match.
 * Returns 1 when fn asked to stop, 0 when done, -1 on error. */
static int walk(int dfd, char key[OSIP_KEY_MAX], size_t keylen,
                const char *match, int depth, int flat, osip_list_fn fn,
                void *payload)
{
    DIR *d = fdopendir(dfd);
    size_t mlen = match ? strlen(match) : 0;
    struct dirent *ent;
    int rc = 0;

    if (d == NULL) {
        close(dfd);
        return -1;
    }
    while (rc == 0) {
        size_t n;
        unsigned char type;

        errno = 0;
        ent = readdir(d);
        if (ent == NULL) {
            if (errno != 0)
                rc = -1;
            break;
        }
        if (ent->d_name[0] == '.' ||
            (mlen && strncmp(ent->d_name, match, mlen) != 0))
            continue;
        n = strlen(ent->d_name);
        if (keylen + n + 1 >= OSIP_KEY_MAX)
            continue;
        memcpy(key + keylen, ent->d_name, n + 1);
        type = ent->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st;

            if (fstatat(dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue; /* gone since readdir */
            type = S_ISDIR(st.st_mode)   ? DT_DIR
                   : S_ISREG(st.st_mode) ? DT_REG
                   : S_ISLNK(st.st_mode) ? DT_LNK
                                         : DT_UNKNOWN;
        }
        if (type == DT_REG || type == DT_LNK) {
            rc = fn(key, payload) != 0;
        } else if (type == DT_DIR && !flat && depth < MAX_LIST_DEPTH) {
            int sub = openat(dirfd(d), ent->d_name,
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

            if (sub < 0)
                continue; /* gone since readdir */
            key[keylen + n] = '/';
            key[keylen + n + 1] = '\0';
            rc = walk(sub, key, keylen + n + 1, NULL, depth + 1, 0, fn,
                      payload);
        }
    }
    closedir(d);
    return rc;
}

static enum osi_status list_common(struct file_store *fs, const char *prefix,
                                   int flat, osip_list_fn fn, void *payload,
                                   struct osi_error *err)
{
    char dir[OSIP_KEY_MAX], key[OSIP_KEY_MAX];
    const char *match;
    size_t keylen;
    int dfd, e;

    if (!path_ok(prefix, 1))
        return osip_fail(err, OSI_EINVAL, "file store: invalid prefix");
    match = split_key(prefix, dir);
    dfd = open_dir_at(fs->root, dir);
    if (dfd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return OSI_OK;
        return fail_errno(err, errno, "list", prefix);
    }
    keylen = (size_t)(match - prefix);
    memcpy(key, prefix, keylen);
    key[keylen] = '\0';
    if (walk(dfd, key, keylen, match, depth_of(dir), flat, fn, payload) < 0) {
        e = errno;
        return fail_errno(err, e, "list", prefix[0] ? prefix : "the store");
    }
    return OSI_OK;
}

static enum osi_status file_list(void *be, const char *prefix,
                                 osip_list_fn fn, void *payload,
                                 struct osi_error *err)
{
    return list_common(be, prefix, 0, fn, payload, err);
}

static enum osi_status file_list_flat(void *be, const char *prefix,
                                      osip_list_fn fn, void *payload,
                                      struct osi_error *err)
{
    return list_common(be, prefix, 1, fn, payload, err);
}

static enum osi_status file_ping(void *be, struct osi_error *err)
{
    struct file_store *fs = be;

    /* One call (GET /health makes it on every request): latest/ is where
     * every report ends, and a removed store no longer holds it, even
     * through our descriptor of the directory. */
    if (faccessat(fs->root, "latest", W_OK, AT_EACCESS) == 0)
        return OSI_OK;
    if (errno == ENOENT || errno == ENOTDIR)
        return osip_fail(err, OSI_ESTORE,
                         "file store: %s was removed", fs->path);
    return fail_errno(err, errno, "write to", fs->path);
}

static enum osi_status file_version(void *be, const char *key,
                                    struct osip_version *out,
                                    struct osi_error *err)
{
    struct file_store *fs = be;
    const char *name = key;
    int dfd = fs->root;
    struct stat st;

    if (!key_ok(key))
        return osip_fail(err, OSI_EINVAL, "file store: invalid key");
    /* Looked up from latest/ when it is there: one path step less on
     * every GET /report. */
    if (strncmp(key, "latest/", 7) == 0) {
        dfd = fs->latest;
        name = key + 7;
    }
    /* Follows a symbolic link, as file_get() does. Every new latest
     * pointer is a new inode; the times catch a file rewritten in place
     * by someone else. */
    if (fstatat(dfd, name, &st, 0) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return osip_fail(err, OSI_ENOTFOUND, "no object %s", key);
        return fail_errno(err, errno, "stat", key);
    }
    out->w[0] = (uint64_t)st.st_dev;
    out->w[1] = (uint64_t)st.st_ino;
    out->w[2] = (uint64_t)st.st_size;
    out->w[3] = (uint64_t)st.st_mtim.tv_sec * 1000000000u +
                (uint64_t)st.st_mtim.tv_nsec;
    out->w[4] = (uint64_t)st.st_ctim.tv_sec * 1000000000u +
                (uint64_t)st.st_ctim.tv_nsec;
    return OSI_OK;
}

static void file_close(void *be)
{
    struct file_store *fs = be;

    if (fs == NULL)
        return;
    close(fs->latest);
    close(fs->root);
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&fs->stripes[i]);
    pthread_mutex_destroy(&fs->flush.lock);
    pthread_cond_destroy(&fs->flush.cv);
    free(fs->known);
    free(fs);
}

static const struct osip_store_backend file_backend = {
    .name = "file",
    .put_report = file_put_report,
    .put = file_put,
    .get = file_get,
    .list = file_list,
    .ping = file_ping,
    .close = file_close,
    .list_flat = file_list_flat,
    .put_hint = file_put_hint,
    .version = file_version,
};

/* mkdir -p, syncing the parent of each directory it creates. */
static int make_path(char *path)
{
    size_t n = strlen(path);

    for (size_t i = 1; i <= n; i++) {
        char c = path[i];
        char *slash;

        if (c != '/' && c != '\0')
            continue;
        if (path[i - 1] == '/')
            continue;
        path[i] = '\0';
        if (mkdir(path, DIR_MODE) == 0) {
            slash = strrchr(path, '/');
            if (slash == NULL) {
                if (fsync_dir_at(AT_FDCWD, ".") != 0)
                    return -1;
            } else {
                *slash = '\0';
                if (fsync_dir_at(AT_FDCWD, slash == path ? "/" : path) != 0)
                    return -1;
                *slash = '/';
            }
        } else if (errno != EEXIST) {
            return -1;
        }
        path[i] = c;
    }
    return 0;
}

enum osi_status osip_store_file_open(const char *path,
                                     const struct osi_store_options *opts,
                                     const struct osip_store_backend **ops,
                                     void **be, struct osi_error *err)
{
    static const char *const subdirs[] = { "reports", "latest", "seen" };
    size_t n = strlen(path);
    struct file_store *fs;
    int created = 0;
    const char *what = "create";
    int e;

    (void)opts;
    fs = osip_malloc(sizeof(*fs) + n + 1);
    if (fs == NULL)
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    memcpy(fs->path, path, n + 1);
    fs->root = fs->latest = -1;
    fs->known = osip_known_new();
    if (fs->known == NULL) {
        free(fs);
        return osip_fail(err, OSI_ENOMEM, "out of memory");
    }
    if (make_path(fs->path) != 0)
        goto fail;
    memcpy(fs->path, path, n + 1);
    what = "open";
    fs->root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->root < 0)
        goto fail;
    what = "create the layout in";
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(*subdirs); i++) {
        if (mkdirat(fs->root, subdirs[i], DIR_MODE) == 0)
            created = 1;
        else if (errno != EEXIST)
            goto fail;
    }
    if (created && fsync(fs->root) != 0)
        goto fail;
    fs->latest = open_dir_at(fs->root, "latest");
    if (fs->latest < 0)
        goto fail;
    fs->pid = (long)getpid();
    atomic_init(&fs->tmp_seq, 0);
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&fs->stripes[i], NULL);
    memset(&fs->flush, 0, sizeof(fs->flush));
    pthread_mutex_init(&fs->flush.lock, NULL);
    pthread_cond_init(&fs->flush.cv, NULL);
    *ops = &file_backend;
    *be = fs;
    return OSI_OK;
fail:
    e = errno;
    if (fs->root >= 0)
        close(fs->root);
    free(fs->known);
    free(fs);
    return osip_error_set(err, OSI_EIO, OSI_CAUSE_ERRNO, e,
                          "cannot %s store directory %s: %s", what, path,
                          strerror(e));
}
