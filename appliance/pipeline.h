/* pipeline.h: raw input -> parser -> rules -> incidents, in one call. */
#ifndef SOPD_PIPELINE_H
#define SOPD_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct sopd;
struct logevent;

/* Hand one raw syslog message (writable, room for len+1) to the pipeline. */
void pipeline_syslog(struct sopd *, enum stats_input, char *buf, size_t len,
    unsigned flags, const char *peer, int64_t now_us);
/* Hand one parsed event (syslog or trap) to the rules and incidents. */
void pipeline_event(struct sopd *, const struct logevent *);
/* Trap receiver callback (arg is the struct sopd). */
void pipeline_trap_cb(const struct logevent *, void *);
/* Commit what the events changed (arg is the struct sopd); 0 or -1. */
int pipeline_commit(void *);
/* Wall clock in microseconds. */
int64_t pipeline_now_us(void);

#endif
