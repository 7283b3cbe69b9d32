/* notify_int.h: what notify.c shares with its transports (not for other modules). */
#ifndef SOPD_NOTIFY_INT_H
#define SOPD_NOTIFY_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "notify.h"

struct logevent;
struct event_base;
struct store;

#define NOTIFY_NAME_MAX 64 /* a target's name */

enum notify_type {
	NOTIFY_SNMP_TRAP = 0,
	NOTIFY_SNMP_INFORM,
	NOTIFY_SYSLOG,
	NOTIFY_EXEC,
	NOTIFY_WEBHOOK,
};

/* Syslog forwarding transports. */
enum notify_proto {
	NOTIFY_UDP = 0,
	NOTIFY_TCP, /* RFC 6587 octet counting */
	NOTIFY_RELP,
};

/* One target as configured. */
struct notify_tconf {
	char *name;
	enum notify_type type;
	char *address;		 /* host:port (snmp, syslog) */
	char *community;	 /* snmp */
	long long retries;	 /* snmp-inform: net-snmp's retries */
	long long timeout;	 /* seconds: inform, exec, webhook, tcp */
	enum notify_proto proto; /* syslog */
	char *app_name;		 /* syslog */
	int facility;		 /* syslog */
	char *command;		 /* exec: absolute path */
	char **args;		 /* exec: argv[1..] */
	size_t nargs;
	char *url;		/* webhook */
	long long max_attempts; /* 0: the notifier's */
	char *user;		/* snmp: SNMPv3 user; NULL: v2c */
	char *auth;		/* snmp v3: SHA, SHA-256, SHA-512, MD5 */
	char *auth_pass;
	char *priv; /* snmp v3: AES, AES-256, DES */
	char *priv_pass;
	int authpriv; /* snmp v3: 1 authPriv, 0 authNoPriv */
};

/* A notice as copied at send time; shared by the jobs of that send. */
struct notify_msg {
	int refs;
	enum notice_kind kind;
	int step;
	char *level; /* the level that hears it */
	int64_t at_us;
	char *note; /* may be NULL */
	uint64_t id;
	int severity;				     /* enum sop_severity */
	int state;				     /* enum incident_state */
	char *inc_level;			     /* the incident's level */
	char *host, *rule, *title, *key, *in_window; /* never NULL */
	char *owner;		   /* who acknowledged, "" nobody; never NULL */
	char *impact, *workaround; /* for the client, or "" */
	char *last_note;	   /* the latest note, "" none */
	char *last_event;	   /* the latest event's text, "" none */
	char *link;		   /* the incident on the page, "" none */
	int64_t eta_us;		   /* expected recovery, 0: not said */
	uint64_t count;
	int64_t first_seen_us, last_seen_us, next_escalation_us;
	char idem[96]; /* idempotency key */
	/* Its row in the agent's notification log and its targets' counts. */
	uint32_t nlog;	    /* 0: not logged (yet) */
	char *nlog_targets; /* "a,b,c" while queuing */
	unsigned nl_pending, nl_ok, nl_failed;
	char *body;	 /* NOTICE_REPORT: text, NULL otherwise */
	char *body_json; /* NOTICE_REPORT: webhook body */
};

struct notify_job {
	TAILQ_ENTRY(notify_job) entry;
	struct notify_msg *msg;
	int attempts;
	int64_t next_try; /* wall clock, 0: now */
};
TAILQ_HEAD(notify_jobs, notify_job);

struct notify_target;

/* A transport: start one delivery; free its state. */
struct notify_ops {
	/* 1: delivered now, -1: failed now, 0: notify_done() comes later. */
	int (*start)(struct notify_target *, struct notify_msg *);
	void (*free)(struct notify_target *);
};

struct notify_target {
	struct notifier *n;
	struct event_base *base;
	struct notify_tconf c;
	char *sig; /* the config as text, for reloads */
	const struct notify_ops *ops;
	void *state;		  /* the transport's */
	struct notify_jobs queue; /* head is in flight when busy */
	size_t nqueue;
	int busy;
	int retired;	    /* removed by a reload, draining */
	struct event *kick; /* next delivery or retry */
	uint64_t sent, failed, retried, dropped;
};

/* A delivery that returned 0 from start finished: ok or not (why). */
void notify_done(struct notify_target *, int ok, const char *why);
/* Idempotency key of a notice: "<id>-<kind>[-<step>]". */
void notify_key(uint64_t id, enum notice_kind, int step, char *, size_t);
/* Seconds to wait before attempt+1 after attempt failed (1, 2, 4 ... max). */
long long notify_backoff(long long initial, long long max, int attempt);
const char *notify_notif_name(enum notice_kind);
/* Whether a notice kind has a notification in SOP-APPLIANCE-MIB. */
int notify_in_mib(enum notice_kind);
/* RFC 3339 UTC time with milliseconds ("" for 0). */
void notify_time(int64_t us, char *, size_t);
/* The notice as the JSON document of webhooks (caller decrefs). */
json_t *notify_json(const struct notify_msg *);
/* A one-line human summary ("incident 12 escalated to L3: title (host)"). */
char *notify_summary(const struct notify_msg *);

/*
 * The outbox (notify_outbox.c): notices kept in the store until delivered.
 * Every function takes a NULL outbox (no store) and then does nothing.
 */
struct notify_outbox;
/* A pending row at start: cb owns the message (refs 0); 0 when queued. */
typedef int (*notify_outbox_cb)(const char *target, struct notify_msg *,
    int attempts, int64_t next_try, void *);
struct notify_outbox *notify_outbox_new(struct event_base *, struct store *);
void notify_outbox_free(struct notify_outbox *);
uint64_t notify_outbox_errors(const struct notify_outbox *);
int notify_outbox_put(struct notify_outbox *, const char *target,
    const struct notify_msg *, int64_t now);
void notify_outbox_delivered(struct notify_outbox *, const char *target,
    const char *idem);
void notify_outbox_retry(struct notify_outbox *, const char *target,
    const char *idem, int attempts, int64_t next_try);
void notify_outbox_failed(struct notify_outbox *, const char *target,
    const char *idem, int attempts);
void notify_outbox_persist(struct notify_outbox *);
void notify_outbox_arm(struct notify_outbox *);
long notify_outbox_load(struct notify_outbox *, notify_outbox_cb, void *);
int notify_outbox_begin(struct notify_outbox *);
int notify_outbox_commit(struct notify_outbox *);
void notify_outbox_rollback(struct notify_outbox *);
/*
 * The notice log (the incidents' timelines): a notice sent to targets
 * ("a,b"; "" when only its outcome changed), and the notices of an
 * incident as JSON (NULL: no store).
 */
void notify_outbox_log(struct notify_outbox *, const struct notify_msg *,
    const char *targets, const char *outcome);
json_t *notify_outbox_log_json(struct notify_outbox *, uint64_t incident);

extern const struct notify_ops notify_snmp_ops;
extern const struct notify_ops notify_syslog_ops;
extern const struct notify_ops notify_exec_ops;
extern const struct notify_ops notify_webhook_ops;

/* syslog: the RFC 5424 message of a notice (malloc'd). */
char *notify_syslog_format(const struct notify_tconf *,
    const struct notify_msg *);

#endif
