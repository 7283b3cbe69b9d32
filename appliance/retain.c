/*
 * retain.c: the database for years.
 *
 * Resolved incidents, their events and history, and window records are
 * kept for store.retention (default 400 days, enough for the monthly and
 * yearly reports) and then deleted, RETAIN_ROWS at a time in their own
 * transaction, with RETAIN_PAUSE_MS of loop time between steps; then
 * PRAGMA incremental_vacuum gives the freed pages back RETAIN_PAGES at a
 * time, so the file stays bounded by what the retention keeps.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "incident.h"
#include "log.h"
#include "retain.h"
#include "store.h"
#include "xmalloc.h"

#define RETAIN_FIRST_S	2    /* first pass after start */
#define RETAIN_IDLE_S	3600 /* between passes */
#define RETAIN_ROWS	500  /* incidents deleted per step */
#define RETAIN_PAGES	256  /* pages given back per step */
#define RETAIN_PAUSE_MS 10   /* loop time between steps */

struct retain {
	struct sopd *sd;
	struct event *ev;
	int64_t before;	  /* this pass's cutoff */
	uint64_t deleted; /* this pass */
	int vacuum;	  /* pruning done, vacuuming */
};

static void
retain_arm(struct retain *r, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(r->ev, &tv);
}

/* The pass is over: say what it did, sleep until the next one. */
static void
retain_done(struct retain *r)
{
	if (r->deleted > 0)
		log_info("retention: deleted %" PRIu64 " resolved incidents "
			 "and window records older than %lld days",
		    r->deleted, r->sd->cfg->retention / 86400);
	r->deleted = 0;
	r->vacuum = 0;
	r->before = 0;
	retain_arm(r, RETAIN_IDLE_S * 1000L);
}

/* One bounded step of the pass. */
static void
retain_step(evutil_socket_t fd, short what, void *arg)
{
	struct retain *r = arg;
	struct store *st = incidents_store(r->sd->incidents);
	long long keep = r->sd->cfg->retention;
	int n;
	int64_t left;

	if (!r->vacuum && keep > 0) {
		if (r->before == 0)
			r->before = (int64_t)time(NULL) - keep;
		if ((n = store_prune(st, r->before, RETAIN_ROWS)) == -1) {
			log_warnx("retention: %s", store_error(st));
			retain_done(r);
			return;
		}
		r->deleted += (uint64_t)n;
		if (n > 0) {
			retain_arm(r, RETAIN_PAUSE_MS);
			return;
		}
	}
	r->vacuum = 1;
	if ((left = store_vacuum_step(st, RETAIN_PAGES)) == -1) {
		log_warnx("retention: incremental vacuum: %s", store_error(st));
		retain_done(r);
	} else if (left > 0)
		retain_arm(r, RETAIN_PAUSE_MS);
	else
		retain_done(r);
}

struct retain *
retain_start(struct sopd *sd)
{
	struct retain *r;

	r = xcalloc(1, sizeof(*r));
	r->sd = sd;
	if ((r->ev = evtimer_new(sd->base, retain_step, r)) == NULL)
		fatalx("retention: evtimer_new failed");
	retain_arm(r, RETAIN_FIRST_S * 1000L);
	return r;
}

void
retain_free(struct retain *r)
{
	if (r == NULL)
		return;
	event_free(r->ev);
	free(r);
}
