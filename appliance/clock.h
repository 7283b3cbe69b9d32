/* clock.h: the wall clock of sopd, which replay replaces by a fake one. */
#ifndef SOPD_CLOCK_H
#define SOPD_CLOCK_H

#include <stdint.h>
#include <time.h>

/*
 * Every module that needs "now" for business logic (incident timestamps,
 * escalation deadlines, expectations, silent hosts, flapping, windows)
 * calls clock_now() or clock_now_us() instead of time(NULL) or
 * clock_gettime(CLOCK_REALTIME).  Normally these read the real wall clock.
 * `sopd --replay` calls clock_set_fake() with the timestamp of each
 * replayed message (and of each deadline it fires), so the same code runs
 * on simulated time; in that mode the clock only moves when replay moves
 * it.  Intervals measured for performance or I/O timeouts keep using
 * CLOCK_MONOTONIC directly.
 */

/* Wall-clock seconds now (the fake time while one is set). */
time_t clock_now(void);
/* Wall-clock microseconds since the epoch (the fake time while one is set). */
int64_t clock_now_us(void);
/* Use t (seconds since the epoch) as now until cleared. */
void clock_set_fake(time_t t);
/* Use t_us (microseconds since the epoch) as now until cleared. */
void clock_set_fake_us(int64_t t_us);
/* Go back to the real wall clock. */
void clock_clear_fake(void);
/* 1 while a fake time is set. */
int clock_is_fake(void);

#endif
