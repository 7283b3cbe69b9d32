/* pipeline.c: the one-way flow from a raw message to the incidents. */
#include "pipeline.h"

#include <sys/time.h>

#include <string.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "event.h"
#include "expect.h"
#include "incident.h"
#include "rules.h"
#include "schedule.h"
#include "syslog_parse.h"

/* Wall clock in microseconds since the epoch. */
int64_t
pipeline_now_us(void)
{
	return clock_now_us();
}

/* Count what the parser repaired. */
static void
pipeline_count_repairs(enum stats_input in, unsigned flags)
{
	if (flags & EVENT_F_TRUNCATED)
		stats_count(in, REASON_TRUNCATED);
	if (flags & EVENT_F_NUL)
		stats_count(in, REASON_NUL);
	if (flags & EVENT_F_BAD_UTF8)
		stats_count(in, REASON_BAD_UTF8);
	if (flags & EVENT_F_NO_PRI)
		stats_count(in, REASON_NO_PRI);
	if (flags & EVENT_F_BAD_TIME)
		stats_count(in, REASON_BAD_TIME);
	if (flags & EVENT_F_BAD_5424)
		stats_count(in, REASON_BAD_5424);
}

/* Parse one syslog message and pass it on; count every outcome. */
void
pipeline_syslog(struct sopd *sd, enum stats_input in, char *buf, size_t len,
    unsigned flags, const char *peer, int64_t now_us)
{
	static const char *transports[INPUT_MAX] = { "udp", "tcp", "tls",
		"relp", "snmp" };
	struct logevent ev;
	enum stats_reason reason = REASON_MALFORMED;

	stats.in[in].received++;
	stats.in[in].bytes += len;
	ev.source = EVENT_SYSLOG;
	ev.transport = transports[in];
	ev.peer = peer;
	ev.received_us = now_us;
	if (syslog_parse(buf, len, sd->cfg->max_message_size, &ev, &reason) ==
	    -1) {
		stats_count(in, reason);
		return;
	}
	ev.flags |= flags;
	pipeline_count_repairs(in, ev.flags);
	stats.in[in].accepted++;
	pipeline_event(sd, &ev);
}

/* The input an event came from, by its transport. */
static enum stats_input
pipeline_input(const struct logevent *ev)
{
	const char *t = ev->transport ? ev->transport : "";

	if (ev->source == EVENT_TRAP)
		return INPUT_TRAP;
	if (strcmp(t, "tcp") == 0)
		return INPUT_TCP;
	if (strcmp(t, "tls") == 0)
		return INPUT_TLS;
	if (strcmp(t, "relp") == 0)
		return INPUT_RELP;
	return INPUT_UDP;
}

/*
 * sopd's own log line (program "sopd"), fed back to it through the host's
 * syslog: a failed notice must never open an incident whose notice fails
 * again.
 */
static int
pipeline_is_self(const struct logevent *ev)
{
	return ev->source != EVENT_TRAP && ev->program != NULL &&
	    strcmp(ev->program, "sopd") == 0;
}

/* Match an event against the rules and hand a hit to the incidents. */
void
pipeline_event(struct sopd *sd, const struct logevent *ev)
{
	struct rule_hit hit;

	/* The poller's own events (transport "poll") are not the host's. */
	if (sd->expect != NULL &&
	    (ev->transport == NULL || strcmp(ev->transport, "poll") != 0))
		expect_heard(sd->expect, ev);
	if (pipeline_is_self(ev)) {
		stats_count(pipeline_input(ev), REASON_SELF);
		return;
	}
	schedule_heard(sd->schedule, ev);
	if (!ruleset_match(sd->rules, ev, &hit)) {
		stats.events_unmatched++;
		return;
	}
	if (hit.rule->action == RULE_DROP) {
		stats_count(pipeline_input(ev), REASON_RULE_DROP);
		return;
	}
	stats.events_matched++;
	if (hit.rule->action == RULE_EXPECT) {
		if (sd->expect != NULL)
			expect_arrival(sd->expect, ev, &hit);
		return;
	}
	incidents_event(sd->incidents, ev, &hit);
	if (sd->expect != NULL)
		expect_failure(sd->expect, ev, &hit);
}

/* Commit the incidents' pending changes (an inform's response waits). */
int
pipeline_commit(void *arg)
{
	struct sopd *sd = arg;

	return incidents_flush(sd->incidents);
}

/* The trap receiver's callback: traps are already counted and parsed. */
void
pipeline_trap_cb(const struct logevent *ev, void *arg)
{
	pipeline_event(arg, ev);
}
