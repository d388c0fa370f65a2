/* SPDX-License-Identifier: MIT */
/* A fake system-call table whose answers come from files in a fixture
 * root, so collection is deterministic in unit tests:
 *
 *   fake/uname    key=value lines: sysname nodename release version machine
 *   fake/ids      key=value lines: euid, loginuid (-1 for unset)
 *   fake/links    the rtnetlink dumps, one message a line, in order:
 *                 "link <index> <name> <arphrd type> <flags> [key=value...]"
 *                 (RTM_NEWLINK; flags: comma list of up,running,loopback,
 *                 broadcast,pointopoint,multicast,noarp or "-"; keys: mtu,
 *                 mac (hex pairs), kind (IFLA_INFO_KIND), parent
 *                 (IFLA_PARENT_DEV_NAME), gro_max_size (sent by Linux 5.19
 *                 on), raw=<type>:<hex> (any attribute), trunc=<bytes>
 *                 (message cut short); name "-" sends none);
 *                 "addr <index> inet|inet6 <address>/<prefix> [peer=<addr>]
 *                 [label=<name>]" (RTM_NEWADDR); "route inet|inet6
 *                 <dst>/<len> [oif=<index>] [gw=<addr>] [metric=<n>]
 *                 [table=<n>] [type=unicast|unreachable|prohibit|
 *                 blackhole] [dead] [mp=<index>@<gw>,...]" (RTM_NEWROUTE,
 *                 table main unless told); "error link|addr|route <errno>"
 *                 fails that dump with -errno; each dump ends in NLMSG_DONE
 *   fake/statvfs  "<mount point> <frsize> <blocks> <bfree> <bavail>" lines,
 *                 the mount point with mountinfo's \ooo escapes ("\040"
 *                 for a space); mount points missing from it fail with
 *                 EACCES
 *   etc/passwd    read for getpwuid_r
 *
 * A missing file makes the matching call fail with ENOENT (uname, links)
 * or answer "unset" (ids). The clock is fixed at 2026-01-02T03:04:05.678Z
 * (local time = UTC); the monotonic clock advances 1 us per reading;
 * random bytes are 0x00, 0x11, 0x22, ... */
#ifndef OSI_FAKE_SYS_H
#define OSI_FAKE_SYS_H

#include <limits.h>

#include "os/os.h"

#define FAKE_SYS_REALTIME 1767323045
#define FAKE_SYS_REALTIME_NS 678000000

struct fake_sys {
    char root[PATH_MAX];
    long long mono_ns;
    int fail_errno; /* when not 0, every call fails with it */
};

/* Fill table so that its calls answer from fake; root is the fixture. */
void fake_sys_init(struct osip_sys *table, struct fake_sys *fake,
                   const char *root);

#endif /* OSI_FAKE_SYS_H */
