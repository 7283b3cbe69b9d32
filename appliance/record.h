/* record.h: the outcome lines of a replay, stamped with the simulated time. */
#ifndef SOPD_RECORD_H
#define SOPD_RECORD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct calendar;

/*
 * A leaf: it calls nothing of sopd but the clock and the calendar. replay.c
 * starts it with a sink, feeds it through its observers (incident hooks, a
 * recording notifier) and prints or compares each line as the sink gets
 * it: no line is kept here, so a replay's memory does not grow with its
 * outcome. Outside a replay record_line() does nothing. The stable line
 * formats are in replay.h.
 */

/* Where each line goes as it is made: its text (no newline) and length. */
typedef void record_sink(const char *line, size_t len, void *arg);

/* Start handing lines to sink; times in cal's zone (RFC 3339). */
void record_start(const struct calendar *cal, record_sink *sink, void *arg);
/* 1 while lines are made. */
int record_active(void);
/* One line (printf format, no newline), prefixed with clock_now(). */
void record_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The same without printf (replay's hot path): the line is the strings
 * given, joined as they are, up to a NULL; cut as record_line cuts it.
 */
void record_cat(const char *s, ...) __attribute__((sentinel));
/* The decimal digits of v, written in buf; returns buf. */
#define RECORD_U64_LEN 21
char *record_u64(char buf[RECORD_U64_LEN], uint64_t v);
/* Stop: lines are no longer made. */
void record_stop(void);

#endif
