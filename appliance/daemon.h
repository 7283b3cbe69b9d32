/* daemon.h: the state the one event loop owns, shared by the views. */
#ifndef SOPD_DAEMON_H
#define SOPD_DAEMON_H

#include <time.h>

struct event_base;
struct config;
struct ruleset;
struct incidents;
struct deadlines;
struct policy;
struct winset;
struct escalator;
struct notifier;
struct expect;
struct poller;
struct schedule;

struct sopd {
	struct event_base *base;
	struct config *cfg;    /* current configuration */
	struct ruleset *rules; /* current rule set */
	struct incidents *incidents;
	struct deadlines *deadlines; /* the one deadline queue */
	struct policy *policy;	     /* calendar and escalation */
	struct winset *windows;	     /* patch and change windows */
	struct escalator *escalator;
	struct notifier *notifier; /* NULL: nobody is told */
	struct expect *expect;	   /* expected events, silent hosts */
	time_t started;		   /* wall clock at start */
	unsigned generation;	   /* +1 on every successful reload */
	time_t last_reload;	   /* 0: never reloaded */
	int last_reload_ok;
	char last_reload_error[512];
	struct poller *poller;	   /* SNMP polling of hosts */
	struct schedule *schedule; /* the SOP's jobs (schedule.h) */
	/* Settings changed since the start that only a restart applies. */
	char restart_needed[256]; /* "http.tls, http.tls_cert", "" none */
};

#endif
