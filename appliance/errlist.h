/* errlist.h: configuration errors collected as "file:line:col: message". */
#ifndef SOPD_ERRLIST_H
#define SOPD_ERRLIST_H

#include <stddef.h>

/* Collected errors, each "file:line:col: message". */
struct errlist {
	char **msgs;
	size_t n;
};

void errlist_add(struct errlist *, const char *file, int line, int col,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void errlist_print(const struct errlist *, void *stdio_file);
void errlist_free(struct errlist *);

#endif
