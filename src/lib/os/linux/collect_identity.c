/* SPDX-License-Identifier: MIT */
/* Section "identity": machine-id, boot id and the DMI product identity,
 * with the placeholder values firmware ships dropped. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "../../collect_int.h"

#define DMI_DIR "sys/class/dmi/id/"

/* Product UUIDs that firmware vendors leave unset: they name no machine. */
static const char *const placeholder_uuids[] = {
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "03000200-0400-0500-0006-000700080009",
    "00020003-0004-0005-0006-000700080009",
};

/* Text that DMI strings hold when the vendor did not fill them in. */
static const char *const placeholder_texts[] = {
    "Default string", "N/A", "None", "Not Applicable", "Not Available",
    "Not Present", "Not Settable", "Not Specified", "O.E.M.", "OEM",
    "System manufacturer", "System Product Name", "To be filled by O.E.M.",
    "Unknown",
};

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* 32 lowercase hex digits, as systemd writes /etc/machine-id. */
static int is_machine_id(const char *s)
{
    return strlen(s) == 32 && is_hex(s, 32);
}

/* 8-4-4-4-12 lowercase hex digits. */
static int is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !is_hex(s + i, 1))
            return 0;
    }
    return 1;
}

/* machine-id: /etc/machine-id, else the copy D-Bus keeps. An empty file
 * or "uninitialized" (an image before its first boot) is no id. */
static void set_machine_id(struct osip_ctx *ctx, json_t *id, int *found)
{
    static const char *const paths[] = { "etc/machine-id",
                                         "var/lib/dbus/machine-id" };
    char buf[64], reason[128] = "";

    for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
        int r = osip_read_line(ctx, paths[i], buf, sizeof(buf));

        if (r == 0 && is_machine_id(buf)) {
            osip_set(ctx, id, "machine_id", json_string(buf));
            (*found)++;
            return;
        }
        /* The reason names the first file: it is the one that counts. */
        if (reason[0] != '\0')
            continue;
        if (r < 0)
            snprintf(reason, sizeof(reason), "/%s: %s", paths[i],
                     strerror(-r));
        else
            snprintf(reason, sizeof(reason), "/%s: not a machine ID",
                     paths[i]);
    }
    osip_set(ctx, id, "machine_id", json_null());
    osip_sec_partial(ctx, "%s", reason);
}

static void set_boot_id(struct osip_ctx *ctx, json_t *id, int *found)
{
    const char *path = "proc/sys/kernel/random/boot_id";
    char buf[64];
    int r = osip_read_line(ctx, path, buf, sizeof(buf));

    if (r == 0 && is_uuid(buf)) {
        osip_set(ctx, id, "boot_id", json_string(buf));
        (*found)++;
        return;
    }
    osip_set(ctx, id, "boot_id", json_null());
    if (r < 0)
        osip_sec_file_error(ctx, path, r, 0);
    else
        osip_sec_partial(ctx, "/%s: not a UUID", path);
}

/* Read a DMI attribute with leading white space removed. A missing one is
 * normal (virtual machines without DMI, most ARM boards): 1 when read, 0
 * when absent, and unreadable ones (product_uuid is root-only) mark the
 * section partial. */
static int read_dmi(struct osip_ctx *ctx, const char *name, char *buf,
                    size_t size)
{
    char path[64];
    size_t skip;
    int r;

    snprintf(path, sizeof(path), DMI_DIR "%s", name);
    r = osip_read_line(ctx, path, buf, size);
    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r < 0) {
        osip_sec_file_error(ctx, path, r, 0);
        return 0;
    }
    skip = strspn(buf, " \t");
    memmove(buf, buf + skip, strlen(buf + skip) + 1);
    return 1;
}

static void set_product_uuid(struct osip_ctx *ctx, json_t *id, int *found)
{
    char buf[64];

    if (read_dmi(ctx, "product_uuid", buf, sizeof(buf))) {
        int placeholder = 0;

        for (char *p = buf; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        for (size_t i = 0;
             i < sizeof(placeholder_uuids) / sizeof(*placeholder_uuids); i++)
            placeholder |= strcmp(buf, placeholder_uuids[i]) == 0;
        if (is_uuid(buf) && !placeholder) {
            osip_set(ctx, id, "product_uuid", json_string(buf));
            (*found)++;
            return;
        }
    }
    osip_set(ctx, id, "product_uuid", json_null());
}

/* A DMI string, or null when absent, a placeholder, or not printable
 * ASCII (SMBIOS strings are ASCII; anything else is garbage). */
static void set_dmi_text(struct osip_ctx *ctx, json_t *id, const char *key,
                         int *found)
{
    char buf[256];

    if (read_dmi(ctx, key, buf, sizeof(buf)) && buf[0] != '\0') {
        int ok = 1;

        for (const char *p = buf; *p != '\0'; p++)
            ok &= *p >= 0x20 && *p < 0x7f;
        for (size_t i = 0;
             i < sizeof(placeholder_texts) / sizeof(*placeholder_texts); i++)
            ok &= strcasecmp(buf, placeholder_texts[i]) != 0;
        if (ok) {
            osip_set(ctx, id, key, json_string(buf));
            (*found)++;
            return;
        }
    }
    osip_set(ctx, id, key, json_null());
}

void osip_collect_identity(struct osip_ctx *ctx)
{
    json_t *id = osip_set(ctx, ctx->report, "identity", json_object());
    int found = 0;

    if (id == NULL)
        return;
    set_machine_id(ctx, id, &found);
    set_boot_id(ctx, id, &found);
    set_product_uuid(ctx, id, &found);
    set_dmi_text(ctx, id, "product_name", &found);
    set_dmi_text(ctx, id, "sys_vendor", &found);
    /* Nothing read and something wrong: the section, not a field, failed. */
    if (found == 0 && ctx->status != OSIP_SEC_FULL)
        osip_sec_failed(ctx, "%s", ctx->reason);
}
