/* errlist.c: configuration errors collected as "file:line:col: message". */
#include "errlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "xmalloc.h"

/* Append one formatted error at a position. */
void
errlist_add(struct errlist *el, const char *file, int line, int col,
    const char *fmt, ...)
{
	char *msg, *full;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	xasprintf(&full, "%s:%d:%d: %s", file, line, col, msg ? msg : "error");
	free(msg);
	el->msgs = xreallocarray(el->msgs, el->n + 1, sizeof(*el->msgs));
	el->msgs[el->n++] = full;
}

/* Print every error, one per line. */
void
errlist_print(const struct errlist *el, void *fp)
{
	size_t i;

	for (i = 0; i < el->n; i++)
		fprintf(fp, "%s\n", el->msgs[i]);
}

/* Free the messages and reset the list. */
void
errlist_free(struct errlist *el)
{
	size_t i;

	for (i = 0; i < el->n; i++)
		free(el->msgs[i]);
	free(el->msgs);
	el->msgs = NULL;
	el->n = 0;
}
