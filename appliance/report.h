/* report.h: the SOP's daily, weekly and monthly reports (SOP 5.1). */
#ifndef SOPD_REPORT_H
#define SOPD_REPORT_H

#include <jansson.h>

struct sopd;

/*
 * A report covers one local period in the calendar's time zone: a day, the
 * ISO week (Monday to Sunday) or the month containing a date.  Without a
 * date it is the period containing yesterday, so the 09:00 daily report is
 * about the last complete day, a Monday's weekly report about last week and
 * the monthly report on the 1st about last month; a period not over yet is
 * reported so far ("complete": false).  The numbers are about incidents
 * opened in the period (resolutions and escalations: those made in it),
 * evaluated as of the time the report is made; backup and silent-host
 * states are the live ones.  Every query is an aggregate in SQL with
 * bounded top lists, asked of the store through store_report.h.
 */
enum report_kind {
	REPORT_DAILY = 0,
	REPORT_WEEKLY,
	REPORT_MONTHLY
};

#define REPORT_TOP	     10 /* entries of a top list */
#define REPORT_RECURRING     3 /* incidents that make a recurring host or rule */
#define REPORT_RECURRING_MAX 20	    /* entries of a recurring list */
#define REPORT_WINDOWS_MAX   100    /* window occurrences of a week */
#define REPORT_FAILED_MAX    50	    /* failed incidents listed per occurrence */
#define REPORT_SLA_ROWS	     100000 /* incidents checked on business deadlines */

/* "daily", "weekly", "monthly" to a kind; -1 if unknown. */
int report_kind_from_name(const char *);
const char *report_kind_name(int);
/* Parse a strict "YYYY-MM-DD" calendar date; -1 if it is not one. */
int report_parse_date(const char *, int *y, int *m, int *d);
/*
 * Build a report (caller decrefs) for the local date (NULL: yesterday);
 * NULL and *err (caller frees) on a bad date (a 400) or a store error.
 */
json_t *report_build(struct sopd *, int kind, const char *date, char **err);
/*
 * The record of an expectation (an object with "rule" and "host") on a
 * local date: "ok", "late", "missing", "failed", "rerun_ok", "pending";
 * NULL when that day has none.
 */
struct store;
const char *report_backup_record(struct store *, json_t *expectation, int y,
    int m, int d);

#endif
