/* core.h: the one start of the core (incidents' clock, expectations,
 * escalation) and the one deadline dispatch, for the daemon and replay. */
#ifndef SOPD_CORE_H
#define SOPD_CORE_H

#include <stdint.h>
#include <time.h>

#include "deadline.h"

struct event_base;
struct sopd;

/*
 * After the store (sd->incidents) is open and sd->policy loaded: the one
 * deadline queue (base NULL: ticked by the caller), the incidents' use of
 * it, quiet expiries re-armed, expectations started. fire is the queue's
 * callback; it hands entries on with core_fire.
 */
void core_start(struct sopd *, struct event_base *, deadlines_fire_cb fire);
/*
 * The clock begins: expectations count from now, the escalation engine
 * starts. -1 with *cause when the escalation state cannot be loaded.
 */
int core_begin(struct sopd *, char **cause);
/* Hand a due entry to the module of its kind; 0 if no module took it. */
int core_fire(struct sopd *, int kind, uint64_t id, time_t due);
/* The daemon's deadline callback: core_fire, or a debug line. */
void core_deadline_cb(struct deadlines *, int kind, uint64_t id, time_t due,
    void *arg);

#endif
