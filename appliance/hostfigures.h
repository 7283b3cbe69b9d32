/* hostfigures.h: the schedule's host figures from SNMP polling. */
#ifndef SOPD_HOSTFIGURES_H
#define SOPD_HOSTFIGURES_H

struct sopd;
struct schedule_metrics;

#define HOSTFIG_HIGH_PCT  90.0 /* CPU/memory: sustained high load */
#define HOSTFIG_HIGH_SECS 3600 /* ... held this long: sustained */
#define HOSTFIG_FULL_DAYS 30.0 /* a disk full within: reported */

/*
 * Fill m with the server check's and performance report's sources: the
 * polled hosts (sd->poller, looked up on each call so a rebuilt poller
 * is followed), their last values and their stored series.
 */
void hostfigures_metrics(struct sopd *, struct schedule_metrics *m);

#endif
