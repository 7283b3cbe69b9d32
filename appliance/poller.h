/* poller.h: poll hosts' SNMP agents (v2c, v3) from the one loop. */
#ifndef SOPD_POLLER_H
#define SOPD_POLLER_H

#include <jansson.h>

struct config;
struct errlist;
struct sopd;
struct poller;

#define POLL_MAX_HOSTS	10000
#define POLL_MAX_ROWS	256  /* file systems / interfaces a host */
#define POLL_MAX_REQS	64   /* requests of one poll */
#define POLL_INTERVAL	300  /* seconds, default */
#define POLL_TIMEOUT_MS 2000 /* a request, default */
#define POLL_RETRIES	1

/* Check the config's poll: section; -1 with every error in errs. */
int poll_check(const struct config *, struct errlist *);
/*
 * Open one asynchronous net-snmp session per configured host (net-snmp
 * must be started: snmp_bridge_start) and poll each on its own timer.
 */
struct poller *poll_new(struct sopd *, char **cause);
/* Take a reloaded config: the hosts are polled anew (samples are kept). */
void poll_reconfigure(struct poller *);
void poll_free(struct poller *);
/* GET /api/v1/hosts: every polled host, its state and last values. */
json_t *poll_hosts_json(struct poller *);
/* One polled host as poll_hosts_json lists it; NULL if not polled. */
json_t *poll_host_json(struct poller *, const char *host);
/* The stored metrics, for the API. */
struct metrics *poll_metrics(struct poller *);
/* Whether host is polled. */
int poll_has_host(struct poller *, const char *host);

#endif
