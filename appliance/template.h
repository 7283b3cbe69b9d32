/* template.h: "{name}" placeholders in rule titles and keys. */
#ifndef SOPD_TEMPLATE_H
#define SOPD_TEMPLATE_H

#include <stddef.h>

#include "event.h"
#include "rules.h"

#define TEMPLATE_NAME_MAX 128

/*
 * Step to the next placeholder from *pos: 1 with its name (without braces)
 * in name and its offset in *start, 0 at the end, -1 on a syntax error at
 * *start ("{" without "}", empty or over-long name). "{{" and "}}" are
 * literal braces.
 */
int template_next(const char *tmpl, size_t *pos, size_t *start, char *name,
    size_t namelen);
/*
 * The length of s[0..len) without a UTF-8 sequence its end cuts short, so
 * that a string cut to a limit ends on a character boundary.
 */
size_t template_utf8_whole(const char *s, size_t len);
/* Cut a NUL-ended string after an incomplete last character; its length. */
size_t template_utf8_trim(char *s);
/*
 * Expand a template; returns the length written (NUL-ended; cut to size on
 * a character boundary).
 */
size_t template_render(const char *tmpl, const struct logevent *,
    const struct rule_hit *, char *out, size_t size);

#endif
