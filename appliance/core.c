/*
 * core.c: the one start of the core (incidents' clock, expectations,
 * escalation) and the one deadline dispatch, for the daemon and replay.
 */
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core.h"
#include "daemon.h"
#include "deadline.h"
#include "escalate.h"
#include "expect.h"
#include "incident.h"
#include "log.h"
#include "policy.h"
#include "schedule.h"
#include "store.h"
#include "winapi.h"
#include "xmalloc.h"

static int core_fire_expect(struct sopd *, int, uint64_t, time_t);
static int core_fire_escalate(struct sopd *, int, uint64_t, time_t);
static int core_fire_incidents(struct sopd *, int, uint64_t, time_t);
static int core_fire_schedule(struct sopd *, int, uint64_t, time_t);

/* Which module takes each kind of deadline. */
static const struct {
	enum deadline_kind kind;
	int (*fire)(struct sopd *, int, uint64_t, time_t);
} core_fires[] = {
	{ DEADLINE_ESCALATE_STEP, core_fire_escalate },
	{ DEADLINE_ESCALATE_WINDOW, core_fire_escalate },
	{ DEADLINE_ESCALATE_IMPACT, core_fire_escalate },
	{ DEADLINE_EXPECT, core_fire_expect },
	{ DEADLINE_EXPECT_SILENT, core_fire_expect },
	{ DEADLINE_INCIDENT_FLAP, core_fire_incidents },
	{ DEADLINE_INCIDENT_QUIET, core_fire_incidents },
	{ DEADLINE_SCHEDULE_JOB, core_fire_schedule },
};

static int
core_fire_expect(struct sopd *sd, int kind, uint64_t id, time_t due)
{
	return sd->expect != NULL && expect_fire(sd->expect, kind, id, due);
}

static int
core_fire_escalate(struct sopd *sd, int kind, uint64_t id, time_t due)
{
	return sd->escalator != NULL &&
	    escalate_fire(sd->escalator, kind, id, due);
}

static int
core_fire_incidents(struct sopd *sd, int kind, uint64_t id, time_t due)
{
	return sd->incidents != NULL &&
	    incidents_fire(sd->incidents, kind, id, due);
}

static int
core_fire_schedule(struct sopd *sd, int kind, uint64_t id, time_t due)
{
	return sd->schedule != NULL &&
	    schedule_fire(sd->schedule, kind, id, due);
}

/* Hand a due entry to the module of its kind. */
int
core_fire(struct sopd *sd, int kind, uint64_t id, time_t due)
{
	size_t i;

	for (i = 0; i < sizeof(core_fires) / sizeof(core_fires[0]); i++) {
		if ((int)core_fires[i].kind == kind)
			return core_fires[i].fire(sd, kind, id, due);
	}
	return 0;
}

/* The one deadline queue fired: hand the entry to the module of its kind. */
void
core_deadline_cb(struct deadlines *dq, int kind, uint64_t id, time_t due,
    void *arg)
{
	struct sopd *sd = arg;

	if (!core_fire(sd, kind, id, due))
		log_debug("deadline of unknown kind %d (id %llu)", kind,
		    (unsigned long long)id);
}

/* The deadline queue, the incidents' use of it, and expectations. */
void
core_start(struct sopd *sd, struct event_base *base, deadlines_fire_cb fire)
{
	if (sd->deadlines == NULL)
		sd->deadlines = deadlines_new(base, fire, sd);
	incidents_set_deadlines(sd->incidents, sd->deadlines);
	incidents_rearm_quiet(sd->incidents, sd->rules);
	sd->expect = expect_new(sd->incidents, sd->deadlines,
	    policy_calendar(sd->policy));
}

/* The clock begins: expectations count from now; escalation starts. */
int
core_begin(struct sopd *sd, char **cause)
{
	struct escalate_deps d = { sd->incidents, sd->deadlines, sd->notifier,
		sd->policy, sd->windows, sd->cfg };

	struct store *st = incidents_store(sd->incidents);

	expect_set_rules(sd->expect, sd->rules);
	/* The windows created through the API, before the escalator syncs. */
	if (winapi_load(sd->windows, sd->cfg, policy_calendar(sd->policy),
		st) != 0) {
		xasprintf(cause, "loading windows: %s", store_error(st));
		return -1;
	}
	if ((sd->escalator = escalate_new(&d, cause)) == NULL)
		return -1;
	return 0;
}
