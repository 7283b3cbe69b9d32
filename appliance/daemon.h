/* daemon.h: the state the one event loop owns, shared by the views. */
#ifndef SOPD_DAEMON_H
#define SOPD_DAEMON_H

#include <time.h>

struct event_base;
struct config;
struct ruleset;
struct incidents;

struct sopd {
	struct event_base	*base;
	struct config		*cfg;		/* current configuration */
	struct ruleset		*rules;		/* current rule set */
	struct incidents	*incidents;
	time_t			 started;	/* wall clock at start */
	unsigned		 generation;	/* +1 on every successful reload */
	time_t			 last_reload;	/* 0: never reloaded */
	int			 last_reload_ok;
	char			 last_reload_error[512];
};

#endif
