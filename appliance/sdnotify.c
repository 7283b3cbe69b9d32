/*
 * sdnotify.c: systemd's notification protocol through libsystemd.
 *
 * The watchdog is fed from the event loop itself: when the loop stalls
 * (a callback that never returns, SIGSTOP), WATCHDOG=1 stops and systemd
 * kills and restarts the service after WatchdogSec=.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "incident.h"
#include "log.h"
#include "rules.h"
#include "sdnotify.h"
#include "stats.h"

/* Status refresh without a watchdog. */
#define SDNOTIFY_STATUS_US (10 * 1000000ULL)

static struct event *sdn_timer;

/* STATUS=: rules, active incidents, messages received and dropped. */
static void
sdnotify_status(struct sopd *sd, char *buf, size_t len)
{
	uint64_t received = 0, dropped = 0;
	int i;

	for (i = 0; i < INPUT_MAX; i++) {
		received += stats.in[i].received;
		dropped += stats.in[i].dropped;
	}
	snprintf(buf, len,
	    "STATUS=%zu rules, %zu active incidents, "
	    "%" PRIu64 " messages received, %" PRIu64 " dropped",
	    ruleset_count(sd->rules), incidents_active_count(sd->incidents),
	    received, dropped);
}

/* Send one message; failures are logged once, never fatal. */
static void
sdnotify_send(const char *msg)
{
	static int warned;
	int r;

	if ((r = sd_notify(0, msg)) < 0 && !warned) {
		log_warnx("sd_notify: %s", strerror(-r));
		warned = 1;
	}
}

/* The loop is alive: feed the watchdog, refresh the status. */
static void
sdnotify_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sopd *sd = arg;
	char msg[256];
	int wd;

	wd = sd_watchdog_enabled(0, NULL) > 0;
	sdnotify_status(sd, msg, sizeof(msg));
	if (wd)
		sdnotify_send("WATCHDOG=1");
	sdnotify_send(msg);
}

void
sdnotify_ready(struct sopd *sd)
{
	struct timeval tv;
	uint64_t usec = SDNOTIFY_STATUS_US * 2;
	char msg[300];

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld\n", (long)getpid());
	sdnotify_status(sd, msg + strlen(msg), sizeof(msg) - strlen(msg));
	sdnotify_send(msg);
	if (sd_watchdog_enabled(0, &usec) > 0)
		log_info("systemd watchdog: every %" PRIu64 " ms", usec / 2000);
	tv.tv_sec = (time_t)(usec / 2 / 1000000);
	tv.tv_usec = (suseconds_t)(usec / 2 % 1000000);
	if (sdn_timer == NULL)
		sdn_timer =
		    event_new(sd->base, -1, EV_PERSIST, sdnotify_tick, sd);
	if (sdn_timer != NULL)
		evtimer_add(sdn_timer, &tv);
}

void
sdnotify_reloading(struct sopd *sd)
{
	char msg[64];
	struct timespec ts;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	sdnotify_send(msg);
}

void
sdnotify_reloaded(struct sopd *sd)
{
	char msg[300];

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	snprintf(msg, sizeof(msg), "READY=1\n");
	sdnotify_status(sd, msg + strlen(msg), sizeof(msg) - strlen(msg));
	sdnotify_send(msg);
}

void
sdnotify_stopping(void)
{
	if (sdn_timer != NULL) {
		event_free(sdn_timer);
		sdn_timer = NULL;
	}
	if (getenv("NOTIFY_SOCKET") != NULL)
		sdnotify_send("STOPPING=1\nSTATUS=stopping");
}
