/* error.c - filling ingot_error and naming status codes. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

int ingot_fail(ingot_error *err, ingot_status code, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* One line: a newline inside a message would break "ingot: <msg>". */
    for (char *p = err->message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return -1;
}

int ingot_fail_in(ingot_error *err, ingot_status code, const char *where, const char *where2,
                  const char *fmt, ...)
{
    char why[INGOT_WHY_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (where2)
        return ingot_fail(err, code, "%s: %s: %s", where, where2, why);
    return ingot_fail(err, code, "%s: %s", where, why);
}

void ingot_error_prefix(ingot_error *err, const char *prefix)
{
    if (!err || !prefix)
        return;
    char tmp[sizeof err->message];
    snprintf(tmp, sizeof tmp, "%.200s: %.*s", prefix, (int)sizeof tmp - 210, err->message);
    memcpy(err->message, tmp, sizeof tmp);
}

const char *ingot_status_name(ingot_status code)
{
    static const char *const names[] = {
        "ok", "io", "format", "unsupported", "shape", "nonfinite",
        "checksum", "nomem", "arg", "version", "interrupted",
    };
    if ((unsigned)code < INGOT_ARRAY_LEN(names))
        return names[code];
    return "unknown";
}

const char *ingot_version(void)
{
    return PACKAGE_VERSION;
}
