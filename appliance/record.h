/* record.h: the outcome lines of a replay, stamped with the simulated time. */
#ifndef SOPD_RECORD_H
#define SOPD_RECORD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct calendar;

/*
 * A leaf: it calls nothing of sopd but the clock and the calendar. replay.c
 * starts it, feeds it through its observers (incident hooks, a recording
 * notifier) and prints or compares its lines. Outside a replay
 * record_line() does nothing. The stable line formats are in replay.h.
 */

/* Start keeping lines; times in cal's zone (RFC 3339). */
void record_start(const struct calendar *cal);
/* 1 while lines are kept. */
int record_active(void);
/* Keep one line (printf format, no newline), prefixed with clock_now(). */
void record_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The same without printf (replay's hot path): the line is the strings
 * given, joined as they are, up to a NULL; cut as record_line cuts it.
 */
void record_cat(const char *s, ...) __attribute__((sentinel));
/* The decimal digits of v, written in buf; returns buf. */
#define RECORD_U64_LEN 21
char *record_u64(char buf[RECORD_U64_LEN], uint64_t v);
/* The lines kept, and how many were dropped over the limit. */
const char *const *record_lines(size_t *n);
uint64_t record_dropped(void);
/* Forget every line and stop. */
void record_stop(void);

#endif
