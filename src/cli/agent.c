/* SPDX-License-Identifier: MIT */
/* osinspect-agent: collects this machine's report and prints it. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osinspect/osinspect.h>

#define PROG "osinspect-agent"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: " PROG " --print [--compact] [--root DIR]\n"
        "\n"
        "Collect the facts of this machine's operating system as one JSON\n"
        "report (docs/report-schema.md).\n"
        "\n"
        "Options:\n"
        "  -p, --print      print the report on stdout instead of sending it\n"
        "  -c, --compact    print the report on one line (default: indented)\n"
        "      --pretty     print the report indented by two spaces\n"
        "  -r, --root DIR   read files from under DIR instead of / (a\n"
        "                   container's mount of the host's /, or a fixture)\n"
        "  -h, --help       show this help and exit\n"
        "  -V, --version    show the version and exit\n"
        "\n"
        "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int usage_error(const char *fmt, ...) OSI_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "print", no_argument, NULL, 'p' },
        { "compact", no_argument, NULL, 'c' },
        { "pretty", no_argument, NULL, 'P' },
        { "root", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct osi_collect_options copts = OSI_COLLECT_OPTIONS_INIT;
    struct osi_error err;
    struct osi_report *report = NULL;
    unsigned int flags = OSI_JSON_PRETTY;
    int print = 0, c, rc = EXIT_FAIL;
    char *json = NULL;
    size_t len;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":pcr:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': print = 1; break;
        case 'c': flags = OSI_JSON_COMPACT; break;
        case 'P': flags = OSI_JSON_PRETTY; break;
        case 'r':
            if (optarg[0] == '\0')
                return usage_error("--root needs a directory");
            copts.root = optarg;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf(PROG " %s\n", osi_version()); return EXIT_OK;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!print)
        return usage_error("sending reports is not built yet: use --print");

    if (osi_init(&err) != OSI_OK) {
        fprintf(stderr, "error: %s\n", err.message);
        return EXIT_FAIL;
    }
    if (osi_collect(&copts, &report, &err) != OSI_OK ||
        osi_report_to_json(report, flags, &json, &len, &err) != OSI_OK) {
        fprintf(stderr, "error: %s\n", err.message);
        goto out;
    }
    if (fwrite(json, 1, len, stdout) != len || putchar('\n') == EOF ||
        fflush(stdout) != 0) {
        fprintf(stderr, "error: writing the report: %s\n", strerror(errno));
        goto out;
    }
    rc = EXIT_OK;
out:
    osi_free(json);
    osi_report_free(report);
    osi_cleanup();
    return rc;
}
