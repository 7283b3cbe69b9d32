/* calendar.h: business calendar: time zone, working hours, holidays. */
#ifndef SOPD_CALENDAR_H
#define SOPD_CALENDAR_H

#include <time.h>

/*
 * Business time is the real elapsed time (in seconds) that falls inside the
 * working hours of a working day.  A working day is a local date in the
 * calendar's time zone whose weekday has working hours and which is not a
 * holiday.  Nights, weekends and holidays do not count.
 *
 * "1 business day" is calendar_business_day_seconds(): the length of one
 * standard working day (9 hours with the default Monday to Friday
 * 09:00-18:00).  A deadline of N business days is the earliest instant at
 * which N times that much business time has passed since the clock started.
 * A clock started outside working hours starts counting at the next opening.
 * So with the default hours in Asia/Tokyo: opened Friday 17:00 -> Monday
 * 17:00; opened Friday 19:00 -> Monday 18:00 (the end of Monday's hours);
 * opened on the eve of a holiday, the holidays are skipped.
 *
 * Working hours are local wall-clock times.  On a day when daylight saving
 * time starts or ends, business time is what really elapses between those
 * wall-clock times (hours 00:00-24:00 give 23 or 25 hours that day).
 *
 * Local times (calendar_mktime): a local time that does not exist (skipped
 * by a clock change) means the first instant after the gap, i.e. the moment
 * of the change; a local time that exists twice means the earlier instant,
 * unless tm_isdst (0 or 1) selects exactly one of the two.
 */

struct calendar;
struct errlist;

#define CALENDAR_DEFAULT_TZ   "Asia/Tokyo"
#define CALENDAR_MAX_SPANS    4 /* working intervals per weekday */
#define CALENDAR_MAX_HOLIDAYS 10000
#define CALENDAR_MAX_DAYS     (366 * 100) /* search horizon, days */

/* A calendar in an IANA zone (NULL: the default); NULL and *cause on error. */
struct calendar *calendar_new(const char *tzname, char **cause);
void calendar_free(struct calendar *);
const char *calendar_tzname(const struct calendar *);

/* Working hours, minutes after local midnight, 0 <= start <= end <= 1440. */
/* Set one interval for a weekday (0 = Sunday); start == end closes it. */
int calendar_set_hours(struct calendar *, int wday, int start_min, int end_min);
/* Add a further interval to a weekday; -1 if it overlaps or too many. */
int calendar_add_hours(struct calendar *, int wday, int start_min, int end_min);
/* Set hours from text such as "mon-fri 09:00-12:00,13:00-18:00". */
int calendar_set_hours_spec(struct calendar *, const char *spec, char **cause);
/* A weekday's intervals into start[]/end[] (up to max); their number. */
int calendar_get_hours(const struct calendar *, int wday, int *start, int *end,
    int max);
/* Business seconds of weekday's hours (nominal, no DST). */
long long calendar_weekday_seconds(const struct calendar *, int wday);
/* "1 business day"; 0 restores the default (the most common day length). */
void calendar_set_business_day(struct calendar *, long long seconds);
long long calendar_business_day_seconds(const struct calendar *);

/* Holidays: a YAML list of {date: YYYY-MM-DD, name: text}; adds to the set. */
int calendar_load_holidays(struct calendar *, const char *yaml_file,
    struct errlist *);
int calendar_add_holiday(struct calendar *, int y, int m, int d,
    const char *name);
/* 1 if y-m-d is a holiday (name set when not NULL), else 0. */
int calendar_is_holiday(const struct calendar *, int y, int m, int d,
    const char **name);
size_t calendar_holiday_count(const struct calendar *);
/* The last holiday known as "YYYY-MM-DD" in buf; 0 when there is none. */
int calendar_holidays_end(const struct calendar *, char *buf, size_t len);
/* 1 when the holiday data ends within days of t (or there is none). */
int calendar_holidays_ending(const struct calendar *, time_t t, int days);

/* Business time arithmetic; see the definition above. */
int calendar_is_business_time(const struct calendar *, time_t);
int calendar_is_working_day(const struct calendar *, int y, int m, int d);
/* Deadline after that much business time from start; (time_t)-1 if none. */
time_t calendar_add_business(const struct calendar *, time_t start,
    long long business_seconds);
/* Business seconds in [a, b) (negative if b < a; spans up to 100 years). */
long long calendar_business_between(const struct calendar *, time_t a,
    time_t b);
/* First business instant at or after t; (time_t)-1 if none. */
time_t calendar_next_open(const struct calendar *, time_t t);

/* Local time in the calendar's zone (tm_zone points into the calendar). */
void calendar_localtime(const struct calendar *, time_t, struct tm *out);
/* Local fields (normalized like mktime) to an instant; see above for DST. */
time_t calendar_mktime(const struct calendar *, const struct tm *local);
/* Offset from UTC in seconds at an instant. */
long calendar_utcoff(const struct calendar *, time_t);
/* Parse RFC 3339 or local "YYYY-MM-DD[ HH:MM[:SS]]"; -1 if malformed. */
int calendar_parse_time(const struct calendar *, const char *, time_t *out);

/* Text helpers shared with windows: "mon-fri", "sat,sun", "daily". */
int calendar_parse_days(const char *, unsigned *mask);
/* "HH:MM" (00:00 to 24:00) to minutes; -1 if malformed. */
int calendar_parse_hhmm(const char *, int *minutes);

#endif
