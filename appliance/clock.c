/* clock.c: the wall clock, with a fake time for replay. */
#include <time.h>

#include "clock.h"

static int clock_fake;
static int64_t clock_fake_us;

/* Wall-clock seconds now. */
time_t
clock_now(void)
{
	if (clock_fake)
		return ((time_t)(clock_fake_us / 1000000));
	return (time(NULL));
}

/* Wall-clock microseconds now. */
int64_t
clock_now_us(void)
{
	struct timespec ts;

	if (clock_fake)
		return (clock_fake_us);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* Set the fake time in seconds. */
void
clock_set_fake(time_t t)
{
	clock_set_fake_us((int64_t)t * 1000000);
}

/* Set the fake time in microseconds. */
void
clock_set_fake_us(int64_t t_us)
{
	clock_fake = 1;
	clock_fake_us = t_us;
}

/* Return to the real clock. */
void
clock_clear_fake(void)
{
	clock_fake = 0;
	clock_fake_us = 0;
}

/* Whether a fake time is set. */
int
clock_is_fake(void)
{
	return (clock_fake);
}
