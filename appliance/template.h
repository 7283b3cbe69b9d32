/* template.h: "{name}" placeholders in rule titles and keys. */
#ifndef SOPD_TEMPLATE_H
#define SOPD_TEMPLATE_H

#include <stddef.h>

#include "event.h"
#include "rules.h"

#define TEMPLATE_NAME_MAX	128

/*
 * Step to the next placeholder from *pos: 1 with its name (without braces)
 * in name and its offset in *start, 0 at the end, -1 on a syntax error at
 * *start ("{" without "}", empty or over-long name). "{{" and "}}" are
 * literal braces.
 */
int template_next(const char *tmpl, size_t *pos, size_t *start,
    char *name, size_t namelen);
/* Expand a template; returns the length written (truncated, NUL-ended). */
size_t template_render(const char *tmpl, const struct event *,
    const struct rule_hit *, char *out, size_t size);

#endif
