/* SPDX-License-Identifier: MIT */
/* Downstream example: collect this machine's report and print it. */
#include <stdio.h>

#include <osinspect/osinspect.h>

int main(void)
{
    struct osi_error err;
    struct osi_report *report = NULL;
    char *json = NULL;
    int ok;

    if (osi_init(&err) != OSI_OK) {
        fprintf(stderr, "error: %s\n", err.message);
        return 1;
    }
    ok = osi_collect(NULL, &report, &err) == OSI_OK &&
         osi_report_to_json(report, OSI_JSON_PRETTY, &json, NULL,
                            &err) == OSI_OK;
    if (ok) {
        const char *ip = osi_report_get_string(report, "server_ip");
        const char *os = osi_report_get_string(report, "os.pretty_name");

        printf("server_ip: %s\nos: %s\n%s\n", ip ? ip : "(unknown)",
               os ? os : "(unknown)", json);
    } else {
        fprintf(stderr, "error: %s: %s\n", osi_status_str(err.status),
                err.message);
    }
    osi_free(json);
    osi_report_free(report);
    osi_cleanup();
    return ok ? 0 : 1;
}
