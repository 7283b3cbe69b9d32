/* expect.h: expected events by a calendar deadline, and hosts that fall silent. */
#ifndef SOPD_EXPECT_H
#define SOPD_EXPECT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "deadline.h"

struct calendar;
struct deadlines;
struct logevent;
struct incidents;
struct rule_hit;
struct ruleset;

/*
 * Expectations ("expect:" rules): each listed host must send an event the
 * rule matches inside each period (since, by].  At the deadline "by" a
 * host without one gets an incident of the rule with the key RULE:HOST;
 * an arrival after that and before the next period starts (its "since",
 * or the next midnight) resolves it with the note "arrived late at
 * HH:MM"; a later one is the next day's and leaves it open.  Incidents of
 * the rules named in "failed" fail the host's day; an arrival that day
 * (a re-run) resolves them ("re-run ok at HH:MM").  The record of each
 * host and day (ok, late, missing, failed, re-run ok) is kept in the
 * meta table as expect.day:RULE:HOST:YYYY-MM-DD.  The failure incidents of
 * the last failed day (at most 4 per rule and host) are rows
 * of the store's expect_fail table, written with the incidents' commits,
 * read at the start and dropped after 3 days, so a restart or a reload
 * before the re-run keeps them.  Per (rule, host) the store's meta table
 * keeps the last arrival
 * and the last deadline handled, so a deadline that passed while sopd was
 * down is checked once after the restart, and none is checked twice.
 *
 * Silent hosts ("silent:" rules): a host the rule covers that was heard
 * (any accepted event) and then nothing for "after" gets an incident
 * RULE:HOST ("silent since ..."); hearing it again resolves it.  At most
 * EXPECT_MAX_HOSTS hosts are tracked (the rest are counted, not tracked).
 * When a host was last heard is written with the incidents' next commit
 * (rows of the store's silent_hosts table with rule ''), and loaded at the
 * start, so a host heard before a restart that stays silent still gets
 * its incident when its silence runs out (at once if it ran out while
 * sopd was down).
 *
 * Both use the daemon's deadline queue with the kinds below; all times come
 * from clock_now(), so replay drives them in simulated time.
 */
#define EXPECT_DL_DEADLINE DEADLINE_EXPECT
#define EXPECT_DL_SILENT   DEADLINE_EXPECT_SILENT
#define EXPECT_MAX_HOSTS   100000 /* silent-host tracking */

struct expect;

struct expect *expect_new(struct incidents *, struct deadlines *,
    const struct calendar *);
void expect_free(struct expect *);
/* Take the expect and silent rules of a (new) rule set; state is kept. */
void expect_set_rules(struct expect *, struct ruleset *);
/* An event an expect rule took (hit->rule->action == RULE_EXPECT). */
void expect_arrival(struct expect *, const struct logevent *,
    const struct rule_hit *);
/*
 * An incident rule took an event: when
 * an expectation of the host names that rule in "failed", its day failed,
 * and the next arrival that day (a re-run) resolves the incident.
 */
void expect_failure(struct expect *, const struct logevent *,
    const struct rule_hit *);
/* Any accepted event: the host was heard. */
void expect_heard(struct expect *, const struct logevent *);
/* A deadline fell due; 0 if the kind is not ours. */
int expect_fire(struct expect *, int kind, uint64_t id, time_t due);
/* Counters: expectations, tracked hosts, hosts not tracked (over bound). */
size_t expect_count(const struct expect *);
size_t expect_tracked(const struct expect *);
uint64_t expect_untracked(const struct expect *);
/* The next deadline of (rule, host), 0 if none (for tests and views). */
time_t expect_next(const struct expect *, const char *rule, const char *host);
/*
 * The state for GET /api/v1/expectations (caller decrefs): each expect
 * rule x host with its last arrival, period start, next and last deadline
 * and state (ok, missing, late, pending); each silent rule with the hosts
 * it tracks (at most 1000 listed, least recently heard first), their last
 * heard time, when they count as silent, and state (ok, silent).
 */
json_t *expect_status_json(struct expect *);

#endif
