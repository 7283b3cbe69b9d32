/*
 * incident.c: incidents: dedup by (rule, key), thresholds, clears, the
 * lifecycle people drive, and the batched writes to the store.
 *
 * Active incidents (open, acknowledged) live in memory, indexed by (rule,
 * key) and by id; resolved ones live only in SQLite. incidents_event() only
 * touches memory and marks the incident dirty; a short timer commits every
 * dirty incident and queued history row in one transaction.
 */
#include "incident.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "deadline.h"
#include "event.h"
#include "event_json.h"
#include "flap.h"
#include "hash.h"
#include "keytab.h"
#include "log.h"
#include "rules.h"
#include "stats.h"
#include "store.h"
#include "template.h"
#include "xmalloc.h"

#define INC_KEY_MAX	      512    /* rendered key */
#define INC_TITLE_MAX	      512    /* rendered title */
#define INC_SAMPLE_MAX	      4096   /* one sample's JSON text */
#define INC_SAMPLE_MSG	      1024   /* message bytes kept in a sample */
#define INC_LAST_MSG	      512    /* bytes of the latest event told */
#define INC_SAMPLE_GAP_US     100000 /* once the ring is full */
#define INC_HISTORY_MAX	      100000 /* queued history rows */
#define INC_THRESHOLD_MAX     10000  /* timestamps kept per key */
#define INC_CHECKPOINT_S      5
#define INC_RETRY_MS	      1000 /* after a failed commit */
#define INC_BUSY_RETRY_MS     100  /* after a commit found the file locked */
#define INC_BATCH_US	      5000 /* writing time of one timed commit */
#define INC_BATCH_CHECK	      8	   /* rows written between clock reads */
#define INC_HIST_ROWS	      16  /* history rows handed to the store at once */
#define INC_INTEGRITY_MS      250 /* first budget of an integrity check */
#define INC_INTEGRITY_MAX_MS  4000 /* budget after repeated interruptions */
#define INC_INTEGRITY_RETRY_S 60   /* after a check that could not run */
#define INC_LOG_EVERY	      60   /* seconds between repeated warnings */
#define INC_RULE_BUCKETS      256
#define INC_DEFAULT_KEY	      "{rule}:{host}"
#define INC_FLAP_PREFIX	      "flapping:"
#define INC_FLAP_MAX	      10000 /* keys whose cycles are kept */

/* One active (or resolved, not yet written) incident. */
struct inc {
	uint64_t id;
	char *rule; /* rule to title: in the block after the struct */
	char *rule_file;
	int rule_line;
	char *key;
	int severity;
	int state;
	char level[4];
	char *host;
	char *title;
	char *owner;
	char *in_window;
	uint64_t count;
	int64_t first_seen;
	int64_t last_seen;
	int64_t acked_at;
	int64_t resolved_at;
	int64_t next_escalation;
	int next_step; /* -1: none */
	char next_level[8];
	int64_t last_sample_us;
	char **samples; /* ring of JSON texts, grown up to scap */
	char *cause;	/* trap OID, or "program msgid" */
	char *impact;	/* for the client; NULL: not said */
	char *workaround;
	int64_t eta;	 /* expected recovery, 0: not said */
	char *last_note; /* the latest note given */
	char *last_msg;	 /* the latest sampled event's text */
	size_t scap;
	size_t salloc; /* slots of samples; all of scap once it wrapped */
	size_t sn;
	size_t shead; /* oldest */
	uint32_t hash;
	int indexed;
	int dirty;
	int samples_dirty;
	int stored_state;  /* the state its stored row has; -1: no row known */
	struct inc *knext; /* (rule, key) chain */
	struct inc *inext; /* id chain */
	struct inc *prev;  /* active list, by id */
	struct inc *next;
	struct inc *dnext; /* dirty list */
	uint64_t dseq;	   /* when it joined the dirty list */
	struct rulecnt *rc;
	long long quiet; /* the rule's quiet expiry, seconds */
};

/* Active incidents of one rule. */
struct rulecnt {
	char *name;
	uint32_t hash;
	size_t active;
	struct rulecnt *next;
};

/* Timestamps of recent events for a (rule, key) below its threshold. */
struct thr {
	struct keytab_entry ent;
	int64_t *ts;
	unsigned cap;
	unsigned n;
	unsigned head; /* oldest */
};

/* One history row waiting for the next commit. */
struct hist {
	struct store_history h;
	uint64_t seq; /* after its incident's dseq */
	char *actor;
	char *note;
	struct hist *next;
};

struct incidents {
	struct event_base *base;
	struct store *store;
	struct event *commit_ev;
	struct event *ckpt_ev;
	struct event *ckpt_due_ev; /* a checkpoint in a turn of its own */
	int commit_armed;
	int ckpt_idle; /* truncated since last commit */
	uint64_t ckpt_commits;
	int integ_interval; /* s, 0 off */
	time_t integ_due;   /* monotonic s */
	int integ_budget;   /* ms, doubled when interrupted */
	int throwaway;	    /* in memory only: see incidents_set_throwaway */
	pid_t integ_pid;    /* the check's process, 0: none */
	int integ_fd;	    /* its output */
	struct event *integ_ev;
	char integ_out[512];
	size_t integ_len;
	size_t sample_events;
	size_t max_open;
	size_t max_per_rule;
	size_t max_thr;
	int commit_ms;

	struct inc **kb; /* by (rule, key) */
	struct inc **ib; /* by id */
	size_t nb;
	struct inc *ahead; /* active, oldest id first */
	struct inc *atail;
	size_t nactive;
	size_t nstate[INC_CLOSED + 1];
	size_t nsev[SEV_MAX];
	struct rulecnt *rb[INC_RULE_BUCKETS];

	struct inc *dhead; /* dirty */
	struct inc *dtail;
	size_t npending; /* resolved, not yet written */
	struct hist *hhead;
	struct hist *htail;
	size_t nhist;
	int meta_dirty;
	uint64_t seq;	   /* dseq and history order */
	struct inc *wstop; /* first not in the batch */
	struct hist *hstop;
	size_t nhooked; /* hooks that wrote in the batch */
	int hooks_more; /* a hook has rows left for another batch */

	struct keytab *thr; /* threshold state, bounded */

	struct deadlines *dq; /* for the ends of flapping */
	struct flaps *flaps;
	struct {
		const struct incident_hooks *h;
		void *arg;
	} hooks[INC_HOOKS_MAX]; /* observers */
	size_t nhooks;

	uint64_t next_id;
	uint64_t version;   /* +1 on every change */
	int64_t changed_us; /* when version last grew */
	uint64_t dropped;
	uint64_t clear_unmatched;
	uint64_t hist_dropped;
	time_t drop_logged;
	time_t err_logged;
};

static const char *incident_state_names[] = { "open", "acknowledged",
	"resolved", "closed" };

/* The API name of a state, or NULL. */
const char *
incident_state_name(int state)
{
	if (state < 0 || state > INC_CLOSED)
		return NULL;
	return incident_state_names[state];
}

/* A state from its name, -1 if unknown. */
int
incident_state_from_name(const char *name)
{
	int i;

	for (i = 0; name != NULL && i <= INC_CLOSED; i++) {
		if (strcmp(name, incident_state_names[i]) == 0)
			return i;
	}
	return -1;
}

/* FNV-1a over rule, a NUL and key. */
static uint32_t
incidents_hash(const char *rule, const char *key)
{
	uint64_t h;

	h = hash_str(hash_byte(hash_str(HASH_INIT, rule), 0), key);
	return (uint32_t)(h ^ (h >> 32));
}

/* Seconds of an event's reception time (now if it has none). */
static int64_t
incidents_event_time(const struct logevent *ev)
{
	if (ev->received_us > 0)
		return ev->received_us / 1000000;
	return (int64_t)clock_now();
}

/* Whether a warning of this kind may be logged now (once a minute). */
static int
incidents_may_log(time_t *last)
{
	time_t now = time(NULL);

	if (*last != 0 && now - *last < INC_LOG_EVERY)
		return 0;
	*last = now;
	return 1;
}

/* prefix then src in dst of size bytes, cut to fit (prefix fits). */
static void
incidents_prefixed(char *dst, size_t size, const char *prefix, const char *src)
{
	size_t n = strlen(prefix);

	memcpy(dst, prefix, n);
	strcopy(dst + n, size - n, src);
}

/* Set a string field to a copy (or NULL). */
static void
incidents_setstr(char **field, const char *s)
{
	free(*field);
	*field = s != NULL ? xstrdup(s) : NULL;
}

/* The active-incident counter of a rule, created on demand. */
static struct rulecnt *
incidents_rulecnt(struct incidents *is, const char *name)
{
	struct rulecnt *rc;
	uint32_t h;

	h = incidents_hash(name, "");
	for (rc = is->rb[h % INC_RULE_BUCKETS]; rc != NULL; rc = rc->next) {
		if (rc->hash == h && strcmp(rc->name, name) == 0)
			return rc;
	}
	rc = xcalloc(1, sizeof(*rc));
	rc->name = xstrdup(name);
	rc->hash = h;
	rc->next = is->rb[h % INC_RULE_BUCKETS];
	is->rb[h % INC_RULE_BUCKETS] = rc;
	return rc;
}

/* The active incident of (rule, key), or NULL. */
static struct inc *
incidents_find(struct incidents *is, const char *rule, const char *key,
    uint32_t h)
{
	struct inc *inc;

	for (inc = is->kb[h & (is->nb - 1)]; inc != NULL; inc = inc->knext) {
		if (inc->hash == h && strcmp(inc->key, key) == 0 &&
		    strcmp(inc->rule, rule) == 0)
			return inc;
	}
	return NULL;
}

/* The active incident with this id, or NULL. */
static struct inc *
incidents_find_id(struct incidents *is, uint64_t id)
{
	struct inc *inc;

	for (inc = is->ib[id & (is->nb - 1)]; inc != NULL; inc = inc->inext) {
		if (inc->id == id)
			return inc;
	}
	return NULL;
}

/*
 * The index tables' size for a bound of active incidents: all of them at
 * once (two a bucket at most), so that a storm does not rehash every
 * active incident (a walk of up to max_open scattered entries) in the
 * middle of reading input. The tables are calloc'ed: pages untouched stay
 * unused.
 */
size_t
incidents_buckets(size_t max_open)
{
	size_t nb = 1024;

	while (nb * 2 < max_open && nb < ((size_t)1 << 24))
		nb *= 2;
	return nb;
}

/* Double the index tables when they are full (a bigger max_open). */
static void
incidents_grow(struct incidents *is)
{
	struct inc *inc;
	size_t nb = is->nb * 2;

	free(is->kb);
	free(is->ib);
	is->kb = xcalloc(nb, sizeof(*is->kb));
	is->ib = xcalloc(nb, sizeof(*is->ib));
	is->nb = nb;
	for (inc = is->ahead; inc != NULL; inc = inc->next) {
		inc->knext = is->kb[inc->hash & (nb - 1)];
		is->kb[inc->hash & (nb - 1)] = inc;
		inc->inext = is->ib[inc->id & (nb - 1)];
		is->ib[inc->id & (nb - 1)] = inc;
	}
}

/* Add an incident to the indexes, the active list and the counters. */
static void
incidents_index(struct incidents *is, struct inc *inc)
{
	size_t k, i;

	if (is->nactive + 1 > 2 * is->nb)
		incidents_grow(is);
	k = inc->hash & (is->nb - 1);
	i = inc->id & (is->nb - 1);
	inc->knext = is->kb[k];
	is->kb[k] = inc;
	inc->inext = is->ib[i];
	is->ib[i] = inc;
	inc->prev = is->atail;
	inc->next = NULL;
	if (is->atail != NULL)
		is->atail->next = inc;
	else
		is->ahead = inc;
	is->atail = inc;
	inc->indexed = 1;
	inc->rc = incidents_rulecnt(is, inc->rule);
	inc->rc->active++;
	is->nactive++;
	is->nstate[inc->state]++;
	is->nsev[inc->severity]++;
}

/* Remove an incident from the indexes, the active list and the counters. */
static void
incidents_unindex(struct incidents *is, struct inc *inc)
{
	struct inc **pp;

	for (pp = &is->kb[inc->hash & (is->nb - 1)]; *pp != inc;
	     pp = &(*pp)->knext)
		;
	*pp = inc->knext;
	for (pp = &is->ib[inc->id & (is->nb - 1)]; *pp != inc;
	     pp = &(*pp)->inext)
		;
	*pp = inc->inext;
	if (inc->prev != NULL)
		inc->prev->next = inc->next;
	else
		is->ahead = inc->next;
	if (inc->next != NULL)
		inc->next->prev = inc->prev;
	else
		is->atail = inc->prev;
	inc->indexed = 0;
	inc->rc->active--;
	is->nactive--;
	is->nsev[inc->severity]--;
}

/* Copy s (if any) to *p, set *field to the copy and move *p past it. */
static void
incidents_block_put(char **p, char **field, const char *s)
{
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s) + 1;
	memcpy(*p, s, n);
	*field = *p;
	*p += n;
}

/*
 * A zeroed incident with its strings that never change (rule, rule file,
 * key, host, title) in the same allocation, after the struct: one block
 * instead of six, a storm's 100,000 incidents hold less malloc overhead.
 */
static struct inc *
incidents_alloc(const char *rule, const char *rule_file, const char *key,
    const char *host, const char *title)
{
	const char *s[] = { rule, rule_file, key, host, title };
	struct inc *inc;
	size_t i, len = 0;
	char *p;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		len += s[i] != NULL ? strlen(s[i]) + 1 : 0;
	inc = xcalloc(1, sizeof(*inc) + len);
	p = (char *)(inc + 1);
	incidents_block_put(&p, &inc->rule, rule);
	incidents_block_put(&p, &inc->rule_file, rule_file);
	incidents_block_put(&p, &inc->key, key);
	incidents_block_put(&p, &inc->host, host);
	incidents_block_put(&p, &inc->title, title);
	return inc;
}

/* Free an incident's memory. */
static void
incidents_free_inc(struct inc *inc)
{
	size_t i;

	for (i = 0; i < inc->sn; i++)
		free(inc->samples[(inc->shead + i) % inc->scap]);
	free(inc->samples);
	free(inc->cause);
	free(inc->owner);
	free(inc->in_window);
	free(inc->impact);
	free(inc->workaround);
	free(inc->last_note);
	free(inc->last_msg);
	free(inc);
}

static int incidents_flush_some(struct incidents *, uint64_t);
static void incidents_arm(struct incidents *, int);

/* Commit on the timer, a batch at a time. */
static void
incidents_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct incidents *is = arg;

	is->commit_armed = 0;
	if (incidents_flush_batch(is, INC_BATCH_US) == 1)
		incidents_arm(is, 0); /* the rest after the inputs had a turn */
}

/* The monotonic clock in seconds. */
static time_t
incidents_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* A finished integrity check: 1 sound, 0 damaged (problem says why). */
static void
incidents_integrity_done(struct incidents *is, int rc, const char *problem)
{
	stats.store_integrity_at = (uint64_t)time(NULL);
	stats.store_integrity_failed = rc == 0;
	if (rc == 0)
		log_warnx("%s: integrity check found damage: %s (back up what "
			  "can be read, see README, Durability)",
		    store_path(is->store), problem != NULL ? problem : "?");
	else
		log_info("%s: integrity check ok", store_path(is->store));
	is->integ_due = incidents_mono() + is->integ_interval;
	is->integ_budget = INC_INTEGRITY_MS;
}

/* Forget the check's process (reaped) and its pipe. */
static void
incidents_integrity_reset(struct incidents *is)
{
	if (is->integ_ev != NULL)
		event_free(is->integ_ev);
	is->integ_ev = NULL;
	if (is->integ_fd != -1)
		close(is->integ_fd);
	is->integ_fd = -1;
	is->integ_pid = 0;
	is->integ_len = 0;
}

/*
 * The check's process wrote or ended: at the end of its output, reap it
 * and take its result (exit 0 sound, 1 damaged with the problem on its
 * output, anything else: not checked, tried again on a later tick).
 */
static void
incidents_integrity_cb(evutil_socket_t fd, short what, void *arg)
{
	struct incidents *is = arg;
	struct stall_clock t0;
	char rest[256], *nl, *dst;
	size_t room;
	ssize_t n;
	int status = -1;

	stats_stall_start(&t0);
	dst = is->integ_out + is->integ_len;
	room = sizeof(is->integ_out) - 1 - is->integ_len;
	if (room == 0) { /* only the start is kept */
		dst = rest;
		room = sizeof(rest);
	}
	n = read(fd, dst, room);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR))) {
		if (n > 0 && dst != rest)
			is->integ_len += (size_t)n;
		stats_stall(LOOP_INTEGRITY, &t0);
		return;
	}
	is->integ_out[is->integ_len] = '\0';
	if ((nl = strchr(is->integ_out, '\n')) != NULL)
		*nl = '\0';
	while (waitpid(is->integ_pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) <= 1)
		incidents_integrity_done(is, WEXITSTATUS(status) == 0,
		    is->integ_out);
	else {
		log_warnx("%s: integrity check did not run (tried again in "
			  "%d s): %s",
		    store_path(is->store), INC_INTEGRITY_RETRY_S,
		    is->integ_out[0] != '\0' ? is->integ_out : "?");
		is->integ_due = incidents_mono() + INC_INTEGRITY_RETRY_S;
	}
	incidents_integrity_reset(is);
	stats_stall(LOOP_INTEGRITY, &t0);
}

/*
 * Start the check in a process of its own (sopd --integrity-check FILE,
 * the running binary, on a read-only connection of its own), its output
 * into a pipe the loop watches; -1 when it cannot start.
 */
static int
incidents_integrity_spawn(struct incidents *is)
{
	char *argv[] = { (char *)"sopd", (char *)"--integrity-check",
		(char *)store_path(is->store), NULL };
	extern char **environ;
	posix_spawn_file_actions_t fa;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* no listener, no descriptor of the store's own connection */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	r = posix_spawn(&is->integ_pid, "/proc/self/exe", &fa, NULL, argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		is->integ_pid = 0;
		errno = r;
		return -1;
	}
	is->integ_fd = p[0];
	is->integ_len = 0;
	is->integ_ev = event_new(is->base, p[0], EV_READ | EV_PERSIST,
	    incidents_integrity_cb, is);
	event_add(is->integ_ev, NULL);
	return 0;
}

/*
 * The full integrity check, when due: at a quiet tick (nothing committed
 * since the last one), or on any tick once overdue by an interval. The
 * daemon runs it in a process of its own, so that it never holds the loop
 * however big the file; without a loop (replay, tests) it runs here within
 * a budget, and an interrupted check is tried again on the next tick with
 * twice the budget (up to INC_INTEGRITY_MAX_MS).
 */
static void
incidents_integrity(struct incidents *is, int idle)
{
	time_t now = incidents_mono();
	struct stall_clock t0;
	char *problem;
	int rc;

	if (is->integ_interval <= 0 || now < is->integ_due ||
	    (!idle && now < is->integ_due + is->integ_interval) ||
	    is->integ_pid != 0)
		return;
	stats_stall_start(&t0);
	if (is->base != NULL) {
		rc = incidents_integrity_spawn(is);
		stats_stall(LOOP_INTEGRITY, &t0);
		if (rc == 0)
			return;
		log_warn("%s: integrity check: cannot start its process",
		    store_path(is->store));
		stats_stall_start(&t0);
	}
	rc = store_integrity(is->store, is->integ_budget, &problem);
	stats_stall(LOOP_INTEGRITY, &t0);
	if (rc == -1) {
		log_debug("integrity check interrupted after %d ms, tried "
			  "again",
		    is->integ_budget);
		if (is->integ_budget < INC_INTEGRITY_MAX_MS)
			is->integ_budget *= 2;
		return;
	}
	incidents_integrity_done(is, rc, problem);
	free(problem);
}

/* Checkpoint the WAL (passive, or truncating); time the stall. */
static void
incidents_checkpoint(struct incidents *is, int truncate)
{
	struct stall_clock t0;

	stats_stall_start(&t0);
	if (store_checkpoint(is->store, truncate) == -1)
		log_debug("checkpoint: %s", store_error(is->store));
	stats_stall(LOOP_CHECKPOINT, &t0);
}

/* The WAL grew past its mark in a commit: checkpoint in a turn of its own. */
static void
incidents_ckpt_due_cb(evutil_socket_t fd, short what, void *arg)
{
	incidents_checkpoint(arg, 0);
}

/*
 * Checkpoint the WAL on the periodic timer: passive while writes go on
 * (it syncs the WAL too), truncating once nothing was committed for a tick.
 */
static void
incidents_checkpoint_cb(evutil_socket_t fd, short what, void *arg)
{
	struct incidents *is = arg;
	int idle;

	idle = stats.store_commits == is->ckpt_commits;
	if (idle && is->ckpt_idle)
		return;
	incidents_checkpoint(is, idle);
	is->ckpt_idle = idle;
	is->ckpt_commits = stats.store_commits;
	incidents_integrity(is, idle);
}

/* Arm the commit timer if it is not armed yet. */
static void
incidents_arm(struct incidents *is, int ms)
{
	struct timeval tv;

	if (is->commit_armed || is->commit_ev == NULL)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(is->commit_ev, &tv);
	is->commit_armed = 1;
}

/* Mark an incident as changed: it is written on the next commit. */
static void
incidents_dirty(struct incidents *is, struct inc *inc)
{
	is->version++;
	is->changed_us = clock_now_us();
	if (!inc->dirty) {
		inc->dirty = 1;
		inc->dnext = NULL;
		inc->dseq = ++is->seq;
		if (is->dtail != NULL)
			is->dtail->dnext = inc;
		else
			is->dhead = inc;
		is->dtail = inc;
	}
	incidents_arm(is, is->commit_ms);
}

/* Queue one history row (the oldest is dropped beyond the bound). */
static void
incidents_history(struct incidents *is, uint64_t id, int64_t at,
    const char *actor, const char *action, int from, int to, const char *note)
{
	struct hist *hr, *old;

	if (is->throwaway)
		return;
	if (is->nhist >= INC_HISTORY_MAX) {
		old = is->hhead;
		is->hhead = old->next;
		if (is->hhead == NULL)
			is->htail = NULL;
		free(old->actor);
		free(old->note);
		free(old);
		is->nhist--;
		is->hist_dropped++;
	}
	hr = xcalloc(1, sizeof(*hr));
	hr->actor = xstrdup(actor != NULL ? actor : "unknown");
	hr->note = note != NULL ? xstrdup(note) : NULL;
	hr->h.incident_id = id;
	hr->h.at = at;
	hr->h.actor = hr->actor;
	hr->h.action = action;
	hr->h.from_state = incident_state_name(from);
	hr->h.to_state = incident_state_name(to);
	hr->h.note = hr->note;
	hr->seq = ++is->seq;
	if (is->htail != NULL)
		is->htail->next = hr;
	else
		is->hhead = hr;
	is->htail = hr;
	is->nhist++;
	incidents_arm(is, is->commit_ms);
}

/* Fill the public view of an incident. */
static void
incidents_fill_info(const struct inc *inc, struct incident_info *ii)
{
	memset(ii, 0, sizeof(*ii));
	ii->id = inc->id;
	ii->severity = inc->severity;
	ii->state = inc->state;
	ii->level = inc->level;
	ii->host = inc->host;
	ii->rule = inc->rule;
	ii->title = inc->title;
	ii->key = inc->key;
	ii->in_window = inc->in_window;
	ii->count = inc->count;
	ii->first_seen_us = inc->first_seen * 1000000;
	ii->last_seen_us = inc->last_seen * 1000000;
	ii->next_escalation_us = inc->next_escalation * 1000000;
	ii->next_step = inc->next_step;
	ii->next_level = inc->next_level[0] != '\0' ? inc->next_level : NULL;
	ii->owner = inc->owner;
	ii->acked_us = inc->acked_at * 1000000;
	ii->resolved_us = inc->resolved_at * 1000000;
	ii->cause = inc->cause;
	ii->impact = inc->impact;
	ii->workaround = inc->workaround;
	ii->eta_us = inc->eta * 1000000;
	ii->last_note = inc->last_note;
	ii->last_event = inc->last_msg;
}

/* Tell the observers about an open, ack, resolve or flapping update. */
static void
incidents_hook(struct incidents *is, const struct inc *inc,
    enum incident_change what, const char *note)
{
	struct incident_info ii;
	size_t i;

	incidents_fill_info(inc, &ii);
	ii.note = note;
	for (i = 0; i < is->nhooks; i++) {
		if (is->hooks[i].h->change != NULL)
			is->hooks[i].h->change(&ii, what, is->hooks[i].arg);
	}
}

/*
 * Move an incident to another state (or record a note): every state change
 * goes through here, which writes history and marks the incident dirty.
 */
static void
incidents_move(struct incidents *is, struct inc *inc, int to, const char *actor,
    const char *action, const char *note, int64_t at)
{
	int from = inc->state;

	if (note != NULL && *note != '\0')
		incidents_setstr(&inc->last_note, note);
	if (to != from) {
		is->nstate[from]--;
		inc->state = to;
		if (to == INC_ACKNOWLEDGED) {
			inc->acked_at = at;
			incidents_setstr(&inc->owner, actor);
		}
		if (to == INC_RESOLVED || to == INC_CLOSED) {
			inc->resolved_at = at;
			incidents_unindex(is, inc);
			is->npending++;
			stats.incidents_resolved++;
		} else
			is->nstate[to]++;
	}
	incidents_dirty(is, inc); /* first: see incidents_write */
	incidents_history(is, inc->id, at, actor, action, from, to, note);
	if (to != from && to == INC_ACKNOWLEDGED)
		incidents_hook(is, inc, INC_CHANGE_ACK, note);
	else if (to != from && (to == INC_RESOLVED || to == INC_CLOSED))
		incidents_hook(is, inc, INC_CHANGE_RESOLVE, note);
}

/*
 * Render one event as a bounded compact JSON text (NULL on failure): the
 * message is cut to INC_SAMPLE_MSG bytes on a UTF-8 boundary before it is
 * rendered, and oversized structured data or varbinds are left out.
 */
static char *
incidents_sample(const struct logevent *ev)
{
	struct logevent cut;
	json_t *o;
	char *s;
	size_t n;
	int truncated = 0;

	if (ev->message != NULL && ev->message_len > INC_SAMPLE_MSG) {
		cut = *ev;
		n = INC_SAMPLE_MSG;
		while (n > 0 && ((unsigned char)ev->message[n] & 0xc0) == 0x80)
			n--;
		cut.message_len = n;
		ev = &cut;
		truncated = 1;
	}
	/* Most events are plain syslog, written without building a tree. */
	if ((s = event_json_text(ev, truncated)) != NULL) {
		if (strlen(s) <= INC_SAMPLE_MAX)
			return s;
		free(s);
	}
	if ((o = event_to_json(ev)) == NULL)
		return NULL;
	if (truncated)
		json_object_set_new(o, "sample_truncated", json_true());
	s = json_dumps(o, JSON_COMPACT);
	if (s != NULL && strlen(s) > INC_SAMPLE_MAX) {
		free(s);
		json_object_set_new(o, "structured_data", json_null());
		json_object_set_new(o, "varbinds", json_null());
		json_object_set_new(o, "sample_truncated", json_true());
		s = json_dumps(o, JSON_COMPACT);
	}
	json_decref(o);
	return s;
}

/*
 * What caused an incident, from its event: the trap's snmpTrapOID, or the
 * syslog program (APP-NAME, tag) and MSGID, "-" for one missing.
 */
static char *
incidents_cause(const char *trap_oid, const char *program, const char *msgid)
{
	char *s;

	size_t np, nm;

	if (trap_oid != NULL && *trap_oid != '\0')
		return xstrndup(trap_oid, 255);
	if (program == NULL || *program == '\0')
		program = "-";
	if (msgid == NULL || *msgid == '\0')
		msgid = "-";
	np = strnlen(program, 100); /* each cut to 100 bytes */
	nm = strnlen(msgid, 100);
	s = xmalloc(np + 1 + nm + 1);
	memcpy(s, program, np);
	s[np] = ' ';
	memcpy(s + np + 1, msgid, nm);
	s[np + 1 + nm] = '\0';
	return s;
}

/* Put one sample text into an incident's ring (taking it). */
static void
incidents_sample_put(struct inc *inc, char *s)
{
	size_t i;

	if (inc->scap == 0) {
		free(s);
		return;
	}
	if (inc->sn < inc->scap) {
		/* not wrapped yet: shead is 0, the ring grows as it fills */
		if (inc->sn == inc->salloc) {
			inc->salloc = inc->salloc == 0 ? 1 : inc->salloc * 2;
			if (inc->salloc > inc->scap)
				inc->salloc = inc->scap;
			inc->samples = xreallocarray(inc->samples, inc->salloc,
			    sizeof(*inc->samples));
		}
		i = (inc->shead + inc->sn) % inc->scap;
		inc->samples[i] = s;
		inc->sn++;
	} else {
		free(inc->samples[inc->shead]);
		inc->samples[inc->shead] = s;
		inc->shead = (inc->shead + 1) % inc->scap;
	}
	inc->samples_dirty = 1;
}

/* Keep an event's text (cut on a UTF-8 boundary) as the latest one. */
static void
incidents_last_msg(struct inc *inc, const char *msg, size_t len)
{
	if (msg == NULL)
		return;
	if (len > INC_LAST_MSG) {
		len = INC_LAST_MSG;
		while (len > 0 && ((unsigned char)msg[len] & 0xc0) == 0x80)
			len--;
	}
	free(inc->last_msg);
	inc->last_msg = xstrndup(msg, len);
}

/*
 * Keep an event as a recent sample: always while the ring has room, then
 * at most once per INC_SAMPLE_GAP_US, so a flood costs no JSON per event.
 */
static void
incidents_sample_event(struct inc *inc, const struct logevent *ev)
{
	char *s;

	if (inc->scap == 0)
		return;
	if (inc->sn == inc->scap &&
	    ev->received_us - inc->last_sample_us < INC_SAMPLE_GAP_US &&
	    ev->received_us >= inc->last_sample_us)
		return;
	if ((s = incidents_sample(ev)) == NULL)
		return;
	incidents_last_msg(inc, ev->message, ev->message_len);
	inc->last_sample_us = ev->received_us;
	incidents_sample_put(inc, s);
}

/*
 * Give an incident a ring of cap samples, keeping the newest; its slots
 * are allocated as samples come (most incidents of a storm keep one).
 */
static void
incidents_sample_resize(struct inc *inc, size_t cap)
{
	char **ring;
	size_t i, n, skip;

	if (cap == inc->scap)
		return;
	n = inc->sn < cap ? inc->sn : cap;
	skip = inc->sn - n;
	ring = n > 0 ? xcalloc(n, sizeof(*ring)) : NULL;
	for (i = 0; i < inc->sn; i++) {
		if (i < skip)
			free(inc->samples[(inc->shead + i) % inc->scap]);
		else
			ring[i - skip] =
			    inc->samples[(inc->shead + i) % inc->scap];
	}
	free(inc->samples);
	inc->samples = ring;
	inc->scap = cap;
	inc->salloc = n;
	inc->sn = n;
	inc->shead = 0;
}

/* Free a threshold entry the table let go of. */
static void
incidents_thr_free_cb(struct keytab_entry *e, void *arg)
{
	struct thr *t = keytab_item(e, struct thr, ent);

	free(t->ts);
	free(t);
}

/* The threshold entry of (rule, key), created (most recently used) if new. */
static struct thr *
incidents_thr_get(struct incidents *is, const char *rule, const char *key)
{
	struct keytab_entry *e;
	struct thr *t;

	if ((e = keytab_find(is->thr, rule, key)) != NULL) {
		keytab_touch(is->thr, e);
		return keytab_item(e, struct thr, ent);
	}
	t = xcalloc(1, sizeof(*t));
	keytab_insert(is->thr, &t->ent, rule, key);
	return t;
}

/*
 * Count one event toward a rule's threshold: 1 (and the entry forgotten)
 * when the last threshold_count events fell within threshold_window.
 */
static int
incidents_threshold(struct incidents *is, const struct rule *r,
    const char *name, const char *key, int64_t us, int64_t *first_us)
{
	struct thr *t;
	unsigned cap;

	cap = r->threshold_count < INC_THRESHOLD_MAX ? r->threshold_count :
						       INC_THRESHOLD_MAX;
	t = incidents_thr_get(is, name, key);
	if (t->cap != cap) {
		free(t->ts);
		t->ts = xcalloc(cap, sizeof(*t->ts));
		t->cap = cap;
		t->n = t->head = 0;
	}
	if (t->n < t->cap)
		t->ts[(t->head + t->n++) % t->cap] = us;
	else {
		t->ts[t->head] = us;
		t->head = (t->head + 1) % t->cap;
	}
	if (t->n < t->cap ||
	    us - t->ts[t->head] > r->threshold_window * 1000000)
		return 0;
	*first_us = t->ts[t->head];
	keytab_remove(is->thr, &t->ent);
	return 1;
}

/* Whether the bounds allow one more incident of this rule (else counted). */
static int
incidents_room(struct incidents *is, const char *name)
{
	struct rulecnt *rc;

	rc = incidents_rulecnt(is, name);
	if (is->nactive < is->max_open && rc->active < is->max_per_rule)
		return 1;
	is->dropped++;
	is->meta_dirty = 1;
	if (incidents_may_log(&is->drop_logged))
		log_warnx("incident of rule %s not opened: %zu active, %zu "
			  "of this rule (limits %zu, %zu); %llu dropped so far",
		    name, is->nactive, rc->active, is->max_open,
		    is->max_per_rule, (unsigned long long)is->dropped);
	return 0;
}

/* Open a new incident for an event. */
static struct inc *
incidents_new(struct incidents *is, const struct logevent *ev,
    const struct rule_hit *hit, const char *name, const char *key, uint32_t h,
    uint64_t count, int64_t first, const char *title_as)
{
	const struct rule *r = hit->rule;
	char title[INC_TITLE_MAX], actor[256];
	struct inc *inc;

	if (title_as != NULL) {
		snprintf(title, sizeof(title), "%s", title_as);
		template_utf8_trim(title);
	} else
		rule_render(r->title != NULL ? r->title : "{rule} on {host}",
		    ev, hit, title, sizeof(title));
	inc = incidents_alloc(name, r->file, key, ev->host, title);
	inc->id = is->next_id++;
	inc->rule_line = r->line;
	inc->hash = h;
	inc->severity =
	    r->severity >= 0 && r->severity < SEV_MAX ? r->severity : SEV_INFO;
	inc->state = INC_OPEN;
	inc->stored_state = -1;
	strcopy(inc->level, sizeof(inc->level),
	    inc->severity == SEV_CRITICAL ? "L2" : "L1");
	inc->count = count;
	inc->first_seen = first;
	inc->last_seen = incidents_event_time(ev);
	incidents_sample_resize(inc, is->sample_events);
	incidents_sample_event(inc, ev);
	inc->cause = incidents_cause(ev->trap_oid, ev->program, ev->msgid);
	incidents_index(is, inc);
	is->meta_dirty = 1;
	stats.incidents_opened++;
	incidents_prefixed(actor, sizeof(actor), "rule:", name);
	incidents_dirty(is, inc); /* first: see incidents_write */
	incidents_history(is, inc->id, inc->first_seen, actor, "open", -1,
	    INC_OPEN, NULL);
	incidents_dirty(is, inc);
	inc->next_step = -1;
	incidents_hook(is, inc, INC_CHANGE_OPEN, NULL);
	return inc;
}

/* Count one more event on an active incident. */
static void
incidents_update(struct incidents *is, struct inc *inc,
    const struct logevent *ev)
{
	int64_t t = incidents_event_time(ev);

	inc->count++;
	if (t > inc->last_seen)
		inc->last_seen = t;
	incidents_sample_event(inc, ev);
	incidents_dirty(is, inc);
}

/* Resolve the active incident a clearing event names, if there is one. */
static void
incidents_clear(struct incidents *is, struct inc *inc, const char *name,
    const char *key, const struct logevent *ev)
{
	struct keytab_entry *e;
	char actor[256];

	if ((e = keytab_find(is->thr, name, key)) != NULL)
		keytab_remove(is->thr, e);
	if (inc == NULL) {
		is->clear_unmatched++;
		return;
	}
	incidents_prefixed(actor, sizeof(actor), "rule:", name);
	incidents_move(is, inc, INC_RESOLVED, actor, "resolve", NULL,
	    incidents_event_time(ev));
}

/* Resolve an incident of a "quiet:" rule when its key stays quiet. */
static void
incidents_quiet_arm(struct incidents *is, struct inc *inc, const struct rule *r)
{
	if (inc == NULL || r->quiet <= 0)
		return;
	inc->quiet = r->quiet;
	if (is->dq != NULL)
		deadlines_schedule(is->dq, INCIDENTS_DL_QUIET, inc->id,
		    (time_t)(inc->last_seen + r->quiet));
}

/* Resolve a flapping incident when its key stays quiet that long. */
static void
incidents_flap_arm(struct incidents *is, const struct inc *f, int64_t due)
{
	if (is->dq != NULL)
		deadlines_schedule(is->dq, INCIDENTS_DL_FLAP, f->id,
		    (time_t)due);
}

/*
 * Flapping: once more than flap_cycles incidents of a key were opened and
 * cleared within flap_within, the next open becomes one incident with the
 * key "flapping:KEY" that counts every further open and clear of the key;
 * it resolves when the key has been quiet for flap_within.  1 when the
 * event was taken here.
 */
static int
incidents_flapping(struct incidents *is, const struct logevent *ev,
    const struct rule_hit *hit, const char *key, const struct inc *inc)
{
	const struct rule *r = hit->rule;
	char fkey[INC_KEY_MAX], base[INC_TITLE_MAX - 128], title[INC_TITLE_MAX];
	struct inc *f;
	int64_t t = incidents_event_time(ev);
	uint32_t h;

	incidents_prefixed(fkey, sizeof(fkey), INC_FLAP_PREFIX, key);
	template_utf8_trim(fkey);
	h = incidents_hash(r->name, fkey);
	if ((f = incidents_find(is, r->name, fkey, h)) != NULL) {
		incidents_update(is, f, ev);
		incidents_hook(is, f, INC_CHANGE_FLAP, NULL);
		incidents_flap_arm(is, f, t + r->flap_within);
		return 1;
	}
	if (hit->clear || inc != NULL ||
	    flaps_recent(is->flaps, r->name, key, t, r->flap_within) <
		r->flap_cycles)
		return 0;
	if (!incidents_room(is, r->name))
		return 1;
	rule_render(r->title != NULL ? r->title : "{rule} on {host}", ev, hit,
	    base, sizeof(base));
	snprintf(title, sizeof(title),
	    "Flapping: %s (more than %u open/clear "
	    "cycles within %llds)",
	    base, r->flap_cycles, r->flap_within);
	template_utf8_trim(title);
	f = incidents_new(is, ev, hit, r->name, fkey, h, 1, t, title);
	incidents_flap_arm(is, f, t + r->flap_within);
	flaps_forget(is->flaps, r->name, key);
	return 1;
}

/* Feed one event that a rule took. */
void
incidents_event(struct incidents *is, const struct logevent *ev,
    const struct rule_hit *hit)
{
	const struct rule *r;
	const char *name;
	char key[INC_KEY_MAX];
	struct inc *inc;
	int64_t first_us;
	uint32_t h;

	if (is == NULL || ev == NULL || hit == NULL || hit->rule == NULL)
		return;
	r = hit->rule;
	if (r->action != RULE_INCIDENT)
		return;
	name = r->name != NULL ? r->name : "?";
	rule_render(r->key != NULL ? r->key : INC_DEFAULT_KEY, ev, hit, key,
	    sizeof(key));
	h = incidents_hash(name, key);
	inc = incidents_find(is, name, key, h);
	if (r->flap_cycles > 0 && incidents_flapping(is, ev, hit, key, inc))
		return;
	if (hit->clear) {
		if (r->flap_cycles > 0 && inc != NULL)
			flaps_cycle(is->flaps, name, key,
			    incidents_event_time(ev), r->flap_cycles + 1);
		incidents_clear(is, inc, name, key, ev);
		return;
	}
	if (inc != NULL) {
		incidents_update(is, inc, ev);
		incidents_quiet_arm(is, inc, r);
		return;
	}
	first_us = ev->received_us;
	if (r->threshold_count > 1 &&
	    !incidents_threshold(is, r, name, key, ev->received_us, &first_us))
		return;
	if (!incidents_room(is, name))
		return;
	inc = incidents_new(is, ev, hit, name, key, h,
	    r->threshold_count > 1 ? r->threshold_count : 1,
	    first_us > 0 ? first_us / 1000000 : incidents_event_time(ev), NULL);
	incidents_quiet_arm(is, inc, r);
}

/* Fill a store row from an incident (samples not set). */
static void
incidents_row(const struct inc *inc, struct store_incident *r)
{
	memset(r, 0, sizeof(*r));
	r->id = inc->id;
	r->rule = inc->rule;
	r->rule_file = inc->rule_file;
	r->rule_line = inc->rule_line;
	r->key = inc->key;
	r->severity = severity_name(inc->severity);
	r->state = incident_state_name(inc->state);
	r->level = inc->level;
	r->host = inc->host;
	r->title = inc->title;
	r->count = inc->count;
	r->first_seen = inc->first_seen;
	r->last_seen = inc->last_seen;
	r->resolved_at = inc->resolved_at;
	r->acked_at = inc->acked_at;
	r->owner = inc->owner;
	r->next_escalation = inc->next_escalation;
	r->in_window = inc->in_window;
	r->impact = inc->impact;
	r->workaround = inc->workaround;
	r->eta = inc->eta;
	r->last_note = inc->last_note;
}

/* The samples ring as one JSON array text, oldest first. */
static char *
incidents_samples_text(const struct inc *inc)
{
	size_t i, len = 3;
	char *s, *p;

	for (i = 0; i < inc->sn; i++)
		len += strlen(inc->samples[(inc->shead + i) % inc->scap]) + 1;
	p = s = xmalloc(len);
	*p++ = '[';
	for (i = 0; i < inc->sn; i++) {
		if (i > 0)
			*p++ = ',';
		len = strlen(inc->samples[(inc->shead + i) % inc->scap]);
		memcpy(p, inc->samples[(inc->shead + i) % inc->scap], len);
		p += len;
	}
	*p++ = ']';
	*p = '\0';
	return s;
}

/* Write one dirty incident; -1 on an error that must abort the batch. */
static int
incidents_put(struct incidents *is, const struct inc *inc)
{
	struct store_incident r;
	char *samples = NULL;
	int rc;

	if (is->throwaway)
		return 0;
	incidents_row(inc, &r);
	if (inc->samples_dirty)
		r.samples = samples = incidents_samples_text(inc);
	/* A row as stored in all but the columns that change: no index. */
	rc = 2;
	if (inc->stored_state >= 0 && inc->stored_state == inc->state)
		rc = store_update_incident(is->store, &r);
	if (rc == 2)
		rc = store_put_incident(is->store, &r);
	free(samples);
	if (rc == 1)
		log_warnx("incident %llu: not written: %s",
		    (unsigned long long)inc->id, store_error(is->store));
	return rc == -1 ? -1 : 0;
}

/* Whether a batch's deadline (us, 0: none) has passed. */
static int
incidents_late(uint64_t until_us)
{
	return until_us != 0 && stats_mono_us() >= until_us;
}

/*
 * The observers' rows, once every incident and history row is written:
 * each hook until the deadline; one that has more left (1) ends the batch
 * and is->hooks_more asks for another. is->nhooked counts the hooks that
 * wrote, whose written() follows the commit.
 */
static int
incidents_write_hooks(struct incidents *is, uint64_t until_us)
{
	size_t i;
	int rc;

	is->hooks_more = 0;
	for (i = 0; i < is->nhooks; i++) {
		if (i > 0 && incidents_late(until_us)) {
			is->hooks_more = 1;
			break;
		}
		is->nhooked = i + 1;
		if (is->hooks[i].h->write == NULL)
			continue;
		rc = is->hooks[i].h->write(is->store, is->hooks[i].arg,
		    until_us);
		if (rc == -1)
			return -1;
		if (rc == 1) {
			is->hooks_more = 1;
			break;
		}
	}
	return 0;
}

/*
 * Write the dirty incidents and the queued history rows in the order they
 * were queued (an incident by when it joined the dirty list), until the
 * deadline: so a history row follows its incident, and neither list
 * waits for the other. is->wstop and is->hstop mark the first of each
 * left out. -1 on an error that aborts the batch.
 */
static int
incidents_write_rows(struct incidents *is, uint64_t until_us)
{
	struct inc *inc = is->dhead;
	struct hist *hr = is->hhead;
	struct store_history h[INC_HIST_ROWS];
	size_t nh = 0;
	unsigned n = 0;

	while (inc != NULL || hr != NULL) {
		if (++n % INC_BATCH_CHECK == 0 && incidents_late(until_us))
			break;
		if (hr == NULL || (inc != NULL && inc->dseq < hr->seq)) {
			if (incidents_put(is, inc) == -1)
				return -1;
			inc = inc->dnext;
			continue;
		}
		h[nh++] = hr->h;
		hr = hr->next;
		if (nh == INC_HIST_ROWS) {
			if (store_add_histories(is->store, h, nh) == -1)
				return -1;
			nh = 0;
		}
	}
	if (nh > 0 && store_add_histories(is->store, h, nh) == -1)
		return -1;
	is->wstop = inc;
	is->hstop = hr;
	return 0;
}

/*
 * Write what is pending inside an open transaction: with a budget (us, 0:
 * none), only what is written within it: the dirty incidents and the
 * history rows in the order they were queued, then, once both lists are
 * written, the observers' rows; the rest goes in a later batch. A history
 * row is queued after its incident joined the dirty list, so its incident
 * is in the batch or already stored.
 */
static int
incidents_write(struct incidents *is, uint64_t budget_us)
{
	uint64_t until = budget_us != 0 ? stats_mono_us() + budget_us : 0;

	is->nhooked = 0;
	if (incidents_write_rows(is, until) == -1)
		return -1;
	if (is->wstop != NULL || is->hstop != NULL)
		return 0;
	if (incidents_write_hooks(is, until) == -1)
		return -1;
	if (store_set_meta(is->store, "next_id", (int64_t)is->next_id) == -1 ||
	    store_set_meta(is->store, "dropped", (int64_t)is->dropped) == -1)
		return -1;
	return 0;
}

/*
 * After a successful commit: clear the dirty marks, free what was written
 * (up to is->wstop and is->hstop).
 */
static void
incidents_written(struct incidents *is)
{
	struct inc *inc, *next;
	struct hist *hr, *hnext;

	for (inc = is->dhead; inc != is->wstop; inc = next) {
		next = inc->dnext;
		inc->dirty = inc->samples_dirty = 0;
		inc->stored_state = inc->state;
		inc->dnext = NULL;
		if (!inc->indexed) {
			incidents_free_inc(inc);
			if (is->npending > 0)
				is->npending--;
		}
	}
	if ((is->dhead = is->wstop) == NULL) {
		is->dtail = NULL;
		is->npending = 0;
	}
	for (hr = is->hhead; hr != is->hstop; hr = hnext) {
		hnext = hr->next;
		free(hr->actor);
		free(hr->note);
		free(hr);
		is->nhist--;
	}
	if ((is->hhead = is->hstop) == NULL) {
		is->htail = NULL;
		is->nhist = 0;
	}
	is->meta_dirty = 0;
	is->wstop = NULL;
	is->hstop = NULL;
}

/* Bound the resolved incidents kept for a failing store: drop the oldest. */
static void
incidents_shed(struct incidents *is)
{
	struct inc **pp, *inc;

	pp = &is->dhead;
	while (is->npending > is->max_open && (inc = *pp) != NULL) {
		if (inc->indexed) {
			pp = &inc->dnext;
			continue;
		}
		*pp = inc->dnext;
		incidents_free_inc(inc);
		is->npending--;
		stats.store_errors++;
	}
	for (is->dtail = NULL, inc = is->dhead; inc != NULL; inc = inc->dnext)
		is->dtail = inc;
}

/*
 * Commit the pending changes in one transaction (timed by the caller): all
 * of them, or with a budget (us) a batch written within it.
 */
static int
incidents_flush1(struct incidents *is, uint64_t budget_us)
{
	struct timeval zero = { 0, 0 };
	size_t i, hooked;
	int busy;

	if (store_begin(is->store) == -1 ||
	    incidents_write(is, budget_us) == -1 ||
	    store_commit(is->store) == -1) {
		busy = store_busy(is->store);
		if (incidents_may_log(&is->err_logged))
			log_warnx("%s: commit failed, will retry: %s",
			    store_path(is->store), store_error(is->store));
		store_rollback(is->store);
		is->wstop = NULL;
		is->hstop = NULL;
		is->nhooked = 0;
		if (busy)
			stats.store_busy_retries++;
		else
			stats.store_errors++;
		incidents_shed(is);
		incidents_arm(is, busy ? INC_BUSY_RETRY_MS : INC_RETRY_MS);
		return -1;
	}
	stats.store_commits++;
	if (store_checkpoint_due(is->store) && is->ckpt_due_ev != NULL)
		evtimer_add(is->ckpt_due_ev, &zero); /* after the inputs */
	/* The hooks wrote only in a batch that ended the pending list. */
	hooked = is->nhooked;
	incidents_written(is);
	for (i = 0; i < hooked && i < is->nhooks; i++) {
		if (is->hooks[i].h->written != NULL)
			is->hooks[i].h->written(is->hooks[i].arg);
	}
	return 0;
}

/* Commit pending changes: all (budget 0) or a batch; time the stall. */
static int
incidents_flush_some(struct incidents *is, uint64_t budget_us)
{
	struct stall_clock t0;
	int rc;

	if (is == NULL || is->store == NULL)
		return -1;
	if (is->dhead == NULL && is->hhead == NULL && !is->meta_dirty &&
	    !is->hooks_more)
		return 0;
	stats_stall_start(&t0);
	rc = incidents_flush1(is, budget_us);
	stats_stall(LOOP_COMMIT, &t0);
	return rc;
}

/* The bound of active incidents in force. */
size_t
incidents_max_open(const struct incidents *is)
{
	return is->max_open;
}

/* Commit every pending change now, in one transaction. */
int
incidents_flush(struct incidents *is)
{
	return incidents_flush_some(is, 0);
}

/* Commit one batch written within budget_us; 1 when some is left. */
int
incidents_flush_batch(struct incidents *is, uint64_t budget_us)
{
	if (incidents_flush_some(is, budget_us) == -1)
		return -1;
	return is->dhead != NULL || is->hhead != NULL || is->hooks_more;
}

/* Fill the ring of a loaded incident from its samples text. */
static void
incidents_load_samples(struct inc *inc, const char *text)
{
	json_t *a, *v;
	const char *m;
	size_t i;
	char *s;

	if (text == NULL || (a = json_loads(text, 0, NULL)) == NULL)
		return;
	/* The cause is not stored: the oldest sample kept tells it. */
	if ((v = json_array_get(a, 0)) != NULL && inc->cause == NULL)
		inc->cause =
		    incidents_cause(json_string_value(
					json_object_get(v, "trap_oid")),
			json_string_value(json_object_get(v, "program")),
			json_string_value(json_object_get(v, "msgid")));
	json_array_foreach(a, i, v)
	{
		if ((s = json_dumps(v, JSON_COMPACT)) != NULL)
			incidents_sample_put(inc, s);
		m = json_string_value(json_object_get(v, "message"));
		if (m != NULL)
			incidents_last_msg(inc, m, strlen(m));
	}
	json_decref(a);
	inc->samples_dirty = 0;
}

/* Keep one loaded active incident in memory. */
static int
incidents_load_cb(const struct store_incident *r, void *arg)
{
	struct incidents *is = arg;
	struct inc *inc;
	int sev;

	inc = incidents_alloc(r->rule != NULL ? r->rule : "?", r->rule_file,
	    r->key != NULL ? r->key : "", r->host, r->title);
	inc->id = r->id;
	inc->stored_state = -1; /* the first write rewrites the whole row */
	inc->rule_line = r->rule_line;
	inc->hash = incidents_hash(inc->rule, inc->key);
	sev = r->severity != NULL ? severity_from_name(r->severity) : -1;
	inc->severity = sev >= 0 ? sev : SEV_INFO;
	inc->state = incident_state_from_name(r->state) == INC_ACKNOWLEDGED ?
	    INC_ACKNOWLEDGED :
	    INC_OPEN;
	snprintf(inc->level, sizeof(inc->level), "%s",
	    r->level != NULL ? r->level : "L1");
	incidents_setstr(&inc->owner, r->owner);
	incidents_setstr(&inc->in_window, r->in_window);
	incidents_setstr(&inc->impact, r->impact);
	incidents_setstr(&inc->workaround, r->workaround);
	inc->eta = r->eta;
	incidents_setstr(&inc->last_note, r->last_note);
	inc->count = r->count;
	inc->first_seen = r->first_seen;
	inc->last_seen = r->last_seen;
	inc->acked_at = r->acked_at;
	inc->next_escalation = r->next_escalation;
	inc->next_step = -1;
	incidents_sample_resize(inc, is->sample_events);
	incidents_load_samples(inc, r->samples);
	if (incidents_find(is, inc->rule, inc->key, inc->hash) != NULL) {
		log_warnx("incident %llu duplicates an active incident of "
			  "rule %s, key %s",
		    (unsigned long long)inc->id, inc->rule, inc->key);
	}
	incidents_index(is, inc);
	return 0;
}

/* Take the limits of a config (defaults for zeros). */
static void
incidents_limits(struct incidents *is, const struct config *cfg)
{
	is->sample_events = cfg->sample_events > 0 ? cfg->sample_events : 10;
	if (is->sample_events > 1000)
		is->sample_events = 1000;
	if (is->throwaway)
		is->sample_events = 0;
	is->max_open =
	    cfg->max_open_incidents > 0 ? cfg->max_open_incidents : 100000;
	is->max_per_rule =
	    cfg->max_open_per_rule > 0 ? cfg->max_open_per_rule : 10000;
	is->max_thr =
	    cfg->max_threshold_keys > 0 ? cfg->max_threshold_keys : 100000;
	is->commit_ms =
	    cfg->commit_interval_ms > 0 ? cfg->commit_interval_ms : 100;
	if (is->integ_interval != cfg->integrity_interval) {
		is->integ_interval = cfg->integrity_interval;
		is->integ_due = incidents_mono() + is->integ_interval;
	}
	is->integ_budget = INC_INTEGRITY_MS;
}

/* Load the active incidents and the id counter. */
static int
incidents_load(struct incidents *is, char **cause)
{
	int64_t next = 1, max;

	if (store_get_meta(is->store, "next_id", &next) == -1)
		next = 1;
	max = store_max_id(is->store);
	if (next <= max)
		next = max + 1;
	if (next < 1)
		next = 1;
	is->next_id = (uint64_t)next;
	if (store_get_meta(is->store, "dropped", &max) == 0 && max > 0)
		is->dropped = (uint64_t)max;
	if (store_load_active(is->store, incidents_load_cb, is) == -1) {
		xasprintf(cause, "%s: loading incidents: %s",
		    store_path(is->store), store_error(is->store));
		return -1;
	}
	is->version = 1;
	is->changed_us = clock_now_us();
	log_info("%s: %zu active incidents, next id %llu",
	    store_path(is->store), is->nactive,
	    (unsigned long long)is->next_id);
	return 0;
}

/* Open the store, load the active incidents and start the timers. */
struct incidents *
incidents_open(struct event_base *base, const struct config *cfg, char **cause)
{
	struct incidents *is;
	struct timeval tv = { INC_CHECKPOINT_S, 0 };

	is = xcalloc(1, sizeof(*is));
	is->base = base;
	is->integ_fd = -1;
	incidents_limits(is, cfg);
	is->nb = incidents_buckets(is->max_open);
	is->kb = xcalloc(is->nb, sizeof(*is->kb));
	is->ib = xcalloc(is->nb, sizeof(*is->ib));
	is->flaps = flaps_new(INC_FLAP_MAX);
	is->thr = keytab_new(is->max_thr, 0, incidents_thr_free_cb, NULL);
	is->store = store_open(cfg->state_dir, cfg->synchronous, cause);
	if (is->store == NULL || incidents_load(is, cause) == -1) {
		incidents_close(is);
		return NULL;
	}
	if (base != NULL) {
		is->commit_ev = evtimer_new(base, incidents_commit_cb, is);
		is->ckpt_ev = event_new(base, -1, EV_PERSIST,
		    incidents_checkpoint_cb, is);
		event_add(is->ckpt_ev, &tv);
		is->ckpt_due_ev = evtimer_new(base, incidents_ckpt_due_cb, is);
	}
	return is;
}

/* Keep incidents in memory only (a replay's); see incident.h. */
void
incidents_set_throwaway(struct incidents *is)
{
	is->throwaway = 1;
	is->sample_events = 0;
	store_set_no_incidents(is->store);
}

/* Apply a reloaded config's limits and sample size. */
void
incidents_reconfigure(struct incidents *is, const struct config *cfg)
{
	struct inc *inc;

	incidents_limits(is, cfg);
	for (inc = is->ahead; inc != NULL; inc = inc->next) {
		if (inc->scap != is->sample_events) {
			incidents_sample_resize(inc, is->sample_events);
			inc->samples_dirty = 1;
			incidents_dirty(is, inc);
		}
	}
	keytab_set_max(is->thr, is->max_thr);
}

/* Flush, free everything and close the store. */
void
incidents_close(struct incidents *is)
{
	struct inc *inc, *next;
	size_t i;
	struct rulecnt *rc, *rnext;

	if (is == NULL)
		return;
	if (is->store != NULL)
		incidents_flush(is);
	incidents_written(is); /* what could not be written is lost */
	for (inc = is->ahead; inc != NULL; inc = next) {
		next = inc->next;
		incidents_free_inc(inc);
	}
	keytab_free(is->thr);
	flaps_free(is->flaps);
	for (i = 0; i < INC_RULE_BUCKETS; i++) {
		for (rc = is->rb[i]; rc != NULL; rc = rnext) {
			rnext = rc->next;
			free(rc->name);
			free(rc);
		}
	}
	if (is->commit_ev != NULL)
		event_free(is->commit_ev);
	if (is->ckpt_ev != NULL)
		event_free(is->ckpt_ev);
	if (is->ckpt_due_ev != NULL)
		event_free(is->ckpt_due_ev);
	if (is->integ_pid > 0) { /* a check under way: stopped */
		kill(is->integ_pid, SIGKILL);
		while (waitpid(is->integ_pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	incidents_integrity_reset(is);
	store_close(is->store);
	free(is->kb);
	free(is->ib);
	free(is);
}

/* Set *err (if asked for). */
static int
incidents_err(char **err, const char *fmt, unsigned long long id,
    const char *what)
{
	if (err != NULL)
		xasprintf(err, fmt, id, what);
	return -1;
}

/* Remember the state of an incident found in the store. */
static int
incidents_state_cb(const struct store_incident *r, void *arg)
{
	*(int *)arg = incident_state_from_name(r->state);
	return 0;
}

/* The message for an id not in memory: resolved, closed or unknown. */
static int
incidents_missing(struct incidents *is, uint64_t id, char **err)
{
	const char *name;
	int state = -1;

	incidents_flush(is);
	if (store_get(is->store, id, incidents_state_cb, &state) != 0)
		return incidents_err(err, "no incident %llu%s", id, "");
	name = incident_state_name(state);
	return incidents_err(err, "incident %llu is %s", id,
	    name != NULL ? name : "not active");
}

/* Commit a person's change before answering; -1 if it is not on disk. */
static int
incidents_commit_now(struct incidents *is, uint64_t id, char **err)
{
	if (incidents_flush(is) == 0)
		return 0;
	return incidents_err(err, "incident %llu changed but not saved: %s", id,
	    store_error(is->store));
}

/* Acknowledge an open incident: the actor becomes its owner. */
int
incidents_ack(struct incidents *is, uint64_t id, const char *actor,
    const char *note, char **err)
{
	struct inc *inc;

	if ((inc = incidents_find_id(is, id)) == NULL)
		return incidents_missing(is, id, err);
	if (inc->state != INC_OPEN)
		return incidents_err(err, "incident %llu is already %s", id,
		    incident_state_name(inc->state));
	incidents_move(is, inc, INC_ACKNOWLEDGED, actor, "ack", note,
	    (int64_t)clock_now());
	return incidents_commit_now(is, id, err);
}

/* Resolve an open or acknowledged incident. */
int
incidents_resolve(struct incidents *is, uint64_t id, const char *actor,
    const char *note, char **err)
{
	struct inc *inc;

	if ((inc = incidents_find_id(is, id)) == NULL)
		return incidents_missing(is, id, err);
	incidents_move(is, inc, INC_RESOLVED, actor, "resolve", note,
	    (int64_t)clock_now());
	return incidents_commit_now(is, id, err);
}

/* Add a note to any incident, resolved ones included. */
int
incidents_note(struct incidents *is, uint64_t id, const char *actor,
    const char *note, char **err)
{
	struct inc *inc;
	int state = -1;

	if (note == NULL || *note == '\0')
		return incidents_err(err, "incident %llu: %s", id,
		    "empty note");
	if ((inc = incidents_find_id(is, id)) != NULL) {
		incidents_move(is, inc, inc->state, actor, "note", note,
		    (int64_t)clock_now());
		return incidents_commit_now(is, id, err);
	}
	incidents_flush(is);
	if (store_get(is->store, id, incidents_state_cb, &state) != 0)
		return incidents_err(err, "no incident %llu%s", id, "");
	incidents_history(is, id, (int64_t)clock_now(), actor, "note", state,
	    state, note);
	return incidents_commit_now(is, id, err);
}

/* Set one client field: NULL keeps it, "" clears it; 1 if it changed. */
static int
incidents_field(char **field, const char *v)
{
	if (v == NULL)
		return 0;
	if (*v == '\0') {
		if (*field == NULL)
			return 0;
		incidents_setstr(field, NULL);
		return 1;
	}
	if (*field != NULL && strcmp(*field, v) == 0)
		return 0;
	incidents_setstr(field, v);
	return 1;
}

/* Append "name: value" (or "name cleared") to a history note. */
static void
incidents_field_note(char **note, const char *name, const char *v)
{
	char *s;

	xasprintf(&s, "%s%s%s%s%s", *note != NULL ? *note : "",
	    *note != NULL ? "; " : "", name, v != NULL ? ": " : " cleared",
	    v != NULL ? v : "");
	free(*note);
	*note = s;
}

/*
 * Apply the client fields asked for to *imp, *work and *etap; the history
 * note telling what changed, NULL when nothing did.
 */
static char *
incidents_apply_fields(char **imp, char **work, int64_t *etap,
    const char *impact, const char *workaround, int64_t eta)
{
	char *note = NULL, ts[32];
	struct tm tm;
	time_t t;

	if (incidents_field(imp, impact))
		incidents_field_note(&note, "impact", *imp);
	if (incidents_field(work, workaround))
		incidents_field_note(&note, "workaround", *work);
	if (eta >= 0 && eta != *etap) {
		*etap = eta;
		t = (time_t)eta;
		if (eta > 0 && gmtime_r(&t, &tm) != NULL)
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		incidents_field_note(&note, "expected recovery",
		    eta > 0 ? ts : NULL);
	}
	return note;
}

/* The client fields and state of a stored incident. */
struct inc_stored {
	char *impact, *workaround;
	int64_t eta;
	int state;
};

static int
incidents_stored_cb(const struct store_incident *r, void *arg)
{
	struct inc_stored *sf = arg;

	incidents_setstr(&sf->impact, r->impact);
	incidents_setstr(&sf->workaround, r->workaround);
	sf->eta = r->eta;
	sf->state = incident_state_from_name(r->state);
	return 0;
}

/* The same for a resolved incident, in the store. */
static int
incidents_set_stored(struct incidents *is, uint64_t id, const char *actor,
    const char *impact, const char *workaround, int64_t eta, char **err)
{
	struct inc_stored sf = { NULL, NULL, 0, -1 };
	char *note;
	int rc = 0;

	incidents_flush(is);
	if (store_get(is->store, id, incidents_stored_cb, &sf) != 0)
		return incidents_err(err, "no incident %llu%s", id, "");
	note = incidents_apply_fields(&sf.impact, &sf.workaround, &sf.eta,
	    impact, workaround, eta);
	if (note != NULL) {
		if (store_set_client(is->store, id, sf.impact, sf.workaround,
			sf.eta) != 0)
			rc = incidents_err(err, "incident %llu: not saved: %s",
			    id, store_error(is->store));
		else {
			incidents_history(is, id, (int64_t)clock_now(), actor,
			    "set", sf.state, sf.state, note);
			rc = incidents_commit_now(is, id, err);
		}
	}
	free(note);
	free(sf.impact);
	free(sf.workaround);
	return rc;
}

/*
 * Impact, workaround and expected recovery of an incident: in memory while
 * it is active, else in the store (the client's report after recovery).
 */
int
incidents_set_fields(struct incidents *is, uint64_t id, const char *actor,
    const char *impact, const char *workaround, int64_t eta, char **err)
{
	struct inc *inc;
	char *note;

	if ((inc = incidents_find_id(is, id)) == NULL)
		return incidents_set_stored(is, id, actor, impact, workaround,
		    eta, err);
	note = incidents_apply_fields(&inc->impact, &inc->workaround, &inc->eta,
	    impact, workaround, eta);
	if (note == NULL)
		return 0; /* nothing changed */
	incidents_history(is, id, (int64_t)clock_now(), actor, "set",
	    inc->state, inc->state, note);
	free(note);
	incidents_dirty(is, inc);
	return incidents_commit_now(is, id, err);
}

/*
 * Give an active incident an owner (NULL or "": nobody); the history
 * records who assigned whom.
 */
int
incidents_assign(struct incidents *is, uint64_t id, const char *actor,
    const char *owner, char **err)
{
	struct inc *inc;

	if ((inc = incidents_find_id(is, id)) == NULL)
		return incidents_missing(is, id, err);
	if (owner != NULL && *owner == '\0')
		owner = NULL;
	incidents_setstr(&inc->owner, owner);
	incidents_history(is, inc->id, (int64_t)clock_now(), actor, "assign",
	    inc->state, inc->state, owner != NULL ? owner : "nobody");
	incidents_dirty(is, inc);
	return incidents_commit_now(is, id, err);
}

/* An RFC 3339 UTC time, or null for 0. */
static json_t *
incidents_time_json(int64_t t)
{
	char buf[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* A string or null. */
static json_t *
incidents_str_json(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* An incident's JSON fields (without events and history). */
static json_t *
incidents_row_json(const struct store_incident *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer((json_int_t)r->id));
	json_object_set_new(o, "rule", incidents_str_json(r->rule));
	json_object_set_new(o, "rule_file", incidents_str_json(r->rule_file));
	json_object_set_new(o, "rule_line", json_integer(r->rule_line));
	json_object_set_new(o, "key", incidents_str_json(r->key));
	json_object_set_new(o, "severity", incidents_str_json(r->severity));
	json_object_set_new(o, "state", incidents_str_json(r->state));
	json_object_set_new(o, "level", incidents_str_json(r->level));
	json_object_set_new(o, "host", incidents_str_json(r->host));
	json_object_set_new(o, "title", incidents_str_json(r->title));
	json_object_set_new(o, "count", json_integer((json_int_t)r->count));
	json_object_set_new(o, "first_seen",
	    incidents_time_json(r->first_seen));
	json_object_set_new(o, "last_seen", incidents_time_json(r->last_seen));
	json_object_set_new(o, "resolved_at",
	    incidents_time_json(r->resolved_at));
	json_object_set_new(o, "acked_at", incidents_time_json(r->acked_at));
	json_object_set_new(o, "owner", incidents_str_json(r->owner));
	json_object_set_new(o, "next_escalation",
	    incidents_time_json(r->next_escalation));
	json_object_set_new(o, "in_window", incidents_str_json(r->in_window));
	json_object_set_new(o, "impact", incidents_str_json(r->impact));
	json_object_set_new(o, "workaround", incidents_str_json(r->workaround));
	json_object_set_new(o, "eta", incidents_time_json(r->eta));
	json_object_set_new(o, "last_note", incidents_str_json(r->last_note));
	json_object_set_new(o, "next_step", json_null());
	json_object_set_new(o, "next_level", json_null());
	return o;
}

/* The JSON of an incident in memory, with its next escalation step. */
static json_t *
incidents_inc_json(const struct inc *inc)
{
	struct store_incident r;
	json_t *o;

	incidents_row(inc, &r);
	o = incidents_row_json(&r);
	if (inc->indexed && inc->next_step >= 0) {
		json_object_set_new(o, "next_step",
		    json_integer(inc->next_step));
		json_object_set_new(o, "next_level",
		    json_string(inc->next_level));
	}
	return o;
}

/* Append one listed incident, preferring the live copy in memory. */
static int
incidents_list_cb(const struct store_incident *r, void *arg)
{
	void **ctx = arg;
	struct incidents *is = ctx[0];
	struct inc *inc;

	if ((inc = incidents_find_id(is, r->id)) != NULL)
		json_array_append_new(ctx[1], incidents_inc_json(inc));
	else
		json_array_append_new(ctx[1], incidents_row_json(r));
	return 0;
}

/*
 * Before a read of the store: commit one timed batch, not everything
 * pending, so that listing incidents in a storm does not hold the loop; the
 * rest follows in the timed commits (a read may miss a few milliseconds of
 * the newest incidents then, never a person's change: those commit before
 * their answer).
 */
static void
incidents_read_commit(struct incidents *is)
{
	if (incidents_flush_batch(is, INC_BATCH_US) == 1)
		incidents_arm(is, 0);
}

/* GET /api/v1/incidents: newest first, filtered and paged. */
json_t *
incidents_list_json(struct incidents *is, const struct incident_filter *f)
{
	struct store_filter sf;
	json_t *arr;
	size_t total = 0;
	void *ctx[2];

	memset(&sf, 0, sizeof(sf));
	if (f != NULL) {
		if (f->state >= 0)
			sf.state = incident_state_name(f->state) != NULL ?
			    incident_state_name(f->state) :
			    "?";
		if (f->severity >= 0)
			sf.severity = severity_name(f->severity) != NULL ?
			    severity_name(f->severity) :
			    "?";
		sf.active = f->active == 1;
		sf.host = f->host;
		sf.rule = f->rule;
		sf.limit = f->limit;
		sf.offset = f->offset;
		sf.triage = f->triage;
		sf.text = f->text;
	}
	if (sf.limit == 0)
		sf.limit = 100;
	if (sf.limit > 1000)
		sf.limit = 1000;
	incidents_read_commit(is);
	arr = json_array();
	ctx[0] = is;
	ctx[1] = arr;
	store_list(is->store, &sf, incidents_list_cb, ctx, &total);
	return json_pack("{s:o, s:I, s:I, s:I}", "incidents", arr, "total",
	    (json_int_t)total, "limit", (json_int_t)sf.limit, "offset",
	    (json_int_t)sf.offset);
}

/* Parse a sample text back into JSON (null if it does not parse). */
static json_t *
incidents_sample_json(const char *s)
{
	json_t *v;

	v = json_loads(s, 0, NULL);
	return v != NULL ? v : json_null();
}

/* One history row as JSON. */
static int
incidents_history_cb(const struct store_history *h, void *arg)
{
	json_array_append_new(arg,
	    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "at",
		incidents_time_json(h->at), "actor",
		incidents_str_json(h->actor), "action",
		incidents_str_json(h->action), "from",
		incidents_str_json(h->from_state), "to",
		incidents_str_json(h->to_state), "note",
		incidents_str_json(h->note)));
	return 0;
}

/* A resolved incident read from the store, with its samples. */
static int
incidents_get_cb(const struct store_incident *r, void *arg)
{
	json_t **out = arg, *events;

	*out = incidents_row_json(r);
	events = r->samples != NULL ? json_loads(r->samples, 0, NULL) : NULL;
	if (!json_is_array(events)) {
		json_decref(events);
		events = json_array();
	}
	json_object_set_new(*out, "events", events);
	return 0;
}

/* GET /api/v1/incidents/{id}: fields, recent events and history. */
json_t *
incidents_get_json(struct incidents *is, uint64_t id)
{
	struct inc *inc;
	json_t *o = NULL, *events, *history;
	size_t i;

	incidents_read_commit(is);
	if ((inc = incidents_find_id(is, id)) != NULL) {
		o = incidents_inc_json(inc);
		events = json_array();
		for (i = 0; i < inc->sn; i++)
			json_array_append_new(events,
			    incidents_sample_json(
				inc->samples[(inc->shead + i) % inc->scap]));
		json_object_set_new(o, "events", events);
	} else if (store_get(is->store, id, incidents_get_cb, &o) != 0)
		return NULL;
	history = json_array();
	store_history(is->store, id, incidents_history_cb, history);
	json_object_set_new(o, "history", history);
	return o;
}

/* The report of an incident: fields, timeline, notes and events. */
json_t *
incidents_report_json(struct incidents *is, uint64_t id)
{
	json_t *inc, *timeline, *events, *notes, *h;
	size_t i;

	if ((inc = incidents_get_json(is, id)) == NULL)
		return NULL;
	timeline = json_incref(json_object_get(inc, "history"));
	events = json_incref(json_object_get(inc, "events"));
	json_object_del(inc, "history");
	json_object_del(inc, "events");
	notes = json_array();
	json_array_foreach(timeline, i, h)
	{
		if (json_is_string(json_object_get(h, "note")))
			json_array_append(notes, h);
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "incident", inc,
	    "timeline", timeline, "notes", notes, "events", events,
	    "generated_at", incidents_time_json((int64_t)clock_now()));
}

/* A member's string, or "-". */
static const char *
incidents_rs(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "-";
}

/* The report as plain text (caller frees). */
char *
incidents_report_text(const json_t *rep)
{
	static const char *fields[][2] = {
		{ "severity", "Severity" },
		{ "state", "State" },
		{ "host", "Host" },
		{ "level", "Level" },
		{ "owner", "Owner" },
		{ "first_seen", "Opened" },
		{ "acked_at", "Acknowledged" },
		{ "resolved_at", "Resolved" },
		{ "impact", "Impact" },
		{ "workaround", "Workaround" },
		{ "eta", "Expected recovery" },
		{ "last_note", "Latest note" },
		{ "rule", "Rule" },
	};
	const json_t *inc = json_object_get(rep, "incident"), *h, *ev;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	fprintf(f, "Incident %lld: %s\n",
	    (long long)json_integer_value(json_object_get(inc, "id")),
	    incidents_rs(inc, "title"));
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		fprintf(f, "%-18s %s\n", fields[i][1],
		    incidents_rs(inc, fields[i][0]));
	fprintf(f, "%-18s %lld\n", "Events",
	    (long long)json_integer_value(json_object_get(inc, "count")));
	fprintf(f, "\nTimeline (UTC):\n");
	json_array_foreach(json_object_get(rep, "timeline"), i, h)
	{
		fprintf(f, "  %s  %-8s %s -> %s by %s", incidents_rs(h, "at"),
		    incidents_rs(h, "action"), incidents_rs(h, "from"),
		    incidents_rs(h, "to"), incidents_rs(h, "actor"));
		if (json_is_string(json_object_get(h, "note")))
			fprintf(f, ": %s", incidents_rs(h, "note"));
		fputc('\n', f);
	}
	fprintf(f, "\nNotes:\n");
	json_array_foreach(json_object_get(rep, "notes"), i, h)
	    fprintf(f, "  %s  %s: %s\n", incidents_rs(h, "at"),
		incidents_rs(h, "actor"), incidents_rs(h, "note"));
	if (json_array_size(json_object_get(rep, "notes")) == 0)
		fprintf(f, "  (none)\n");
	fprintf(f, "\nRecent events:\n");
	json_array_foreach(json_object_get(rep, "events"), i, ev)
	    fprintf(f, "  %s  %s %s\n", incidents_rs(ev, "received"),
		incidents_rs(ev, "host"), incidents_rs(ev, "message"));
	if (json_array_size(json_object_get(rep, "events")) == 0)
		fprintf(f, "  (none kept)\n");
	fprintf(f, "\nReport generated %s\n",
	    incidents_rs(rep, "generated_at"));
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Counts of active incidents per state and severity. */
json_t *
incidents_stats_json(struct incidents *is)
{
	json_t *o, *sev;
	int64_t age = 0;
	int i;

	sev = json_object();
	for (i = 0; i < SEV_MAX; i++)
		json_object_set_new(sev, severity_name(i),
		    json_integer((json_int_t)is->nsev[i]));
	if (is->ahead != NULL) {
		age = (int64_t)time(NULL) - is->ahead->first_seen;
		if (age < 0)
			age = 0;
	}
	o = json_object();
	json_object_set_new(o, "active", json_integer((json_int_t)is->nactive));
	json_object_set_new(o, "open",
	    json_integer((json_int_t)is->nstate[INC_OPEN]));
	json_object_set_new(o, "acknowledged",
	    json_integer((json_int_t)is->nstate[INC_ACKNOWLEDGED]));
	json_object_set_new(o, "by_severity", sev);
	json_object_set_new(o, "oldest_active_age", json_integer(age));
	json_object_set_new(o, "dropped",
	    json_integer((json_int_t)is->dropped));
	json_object_set_new(o, "clear_unmatched",
	    json_integer((json_int_t)is->clear_unmatched));
	json_object_set_new(o, "threshold_keys",
	    json_integer((json_int_t)keytab_count(is->thr)));
	json_object_set_new(o, "threshold_evicted",
	    json_integer((json_int_t)keytab_evicted(is->thr)));
	json_object_set_new(o, "history_dropped",
	    json_integer((json_int_t)is->hist_dropped));
	json_object_set_new(o, "next_id",
	    json_integer((json_int_t)is->next_id));
	return o;
}

/* How many incidents are open or acknowledged. */
size_t
incidents_active_count(struct incidents *is)
{
	return is->nactive;
}

/* Call cb for every active incident, oldest id first. */
void
incidents_foreach_active(struct incidents *is,
    void (*cb)(const struct incident_info *, void *), void *arg)
{
	struct incident_info ii;
	struct inc *inc;

	for (inc = is->ahead; inc != NULL; inc = inc->next) {
		incidents_fill_info(inc, &ii);
		cb(&ii, arg);
	}
}

/* A number that changes whenever an active incident changes. */
uint64_t
incidents_version(struct incidents *is)
{
	return is->version;
}

/* When the active incidents last changed (or were loaded), in us. */
int64_t
incidents_changed_us(struct incidents *is)
{
	return is->changed_us;
}

/*
 * Open the incident (rule, key) for something no event raised (a missing
 * expected event, a silent host), or count one more on the active one.
 * Its id, 0 when the bounds did not allow it.
 */
uint64_t
incidents_raise(struct incidents *is, const struct rule *r, const char *key,
    const char *host, const char *title, int64_t at)
{
	struct rule_hit hit = { .rule = r };
	struct logevent ev;
	struct inc *inc;
	uint32_t h;

	memset(&ev, 0, sizeof(ev));
	ev.source = EVENT_SYSLOG;
	ev.transport = "sopd";
	ev.host = host;
	ev.facility = ev.severity = -1;
	ev.message = title;
	ev.message_len = strlen(title);
	ev.received_us = ev.timestamp_us = at * 1000000;
	h = incidents_hash(r->name, key);
	if ((inc = incidents_find(is, r->name, key, h)) != NULL) {
		incidents_update(is, inc, &ev);
		return inc->id;
	}
	if (!incidents_room(is, r->name))
		return 0;
	return incidents_new(is, &ev, &hit, r->name, key, h, 1, at, title)->id;
}

/* Resolve the active incident (rule, key) with a note; 1 if there was one. */
int
incidents_settle(struct incidents *is, const char *rule, const char *key,
    const char *note, int64_t at)
{
	struct inc *inc;
	char actor[256];

	if ((inc = incidents_find(is, rule, key, incidents_hash(rule, key))) ==
	    NULL)
		return 0;
	snprintf(actor, sizeof(actor), "rule:%s", rule);
	incidents_move(is, inc, INC_RESOLVED, actor, "resolve", note, at);
	return 1;
}

/* The id of the active incident (rule, key), 0 if none. */
uint64_t
incidents_active_id(struct incidents *is, const char *rule, const char *key)
{
	struct inc *inc;

	inc = incidents_find(is, rule, key, incidents_hash(rule, key));
	return inc != NULL ? inc->id : 0;
}

/* The store, for modules that keep a little state of their own in it. */
struct store *
incidents_store(struct incidents *is)
{
	return is->store;
}

/*
 * Use a deadline queue for the ends of flapping; flapping incidents loaded
 * from the store end flap_within (the default) after their last cycle.
 */
void
incidents_set_deadlines(struct incidents *is, struct deadlines *dq)
{
	struct inc *inc;

	is->dq = dq;
	for (inc = is->ahead; dq != NULL && inc != NULL; inc = inc->next)
		if (strncmp(inc->key, INC_FLAP_PREFIX,
			strlen(INC_FLAP_PREFIX)) == 0)
			incidents_flap_arm(is, inc,
			    inc->last_seen + RULE_FLAP_WITHIN);
}

/* Arm the quiet expiry of open incidents whose rule has "quiet:" (start). */
void
incidents_rearm_quiet(struct incidents *is, const struct ruleset *rs)
{
	struct inc *inc;
	const struct rule *r;
	size_t i;

	for (inc = is->ahead; rs != NULL && inc != NULL; inc = inc->next)
		for (i = 0; i < ruleset_count(rs); i++) {
			r = ruleset_rule(rs, i);
			if (r->quiet > 0 && strcmp(r->name, inc->rule) == 0) {
				incidents_quiet_arm(is, inc, r);
				break;
			}
		}
}

/* A deadline of the incidents fell due; 0 if the kind is not ours. */
int
incidents_fire(struct incidents *is, int kind, uint64_t id, time_t due)
{
	struct inc *inc;

	char note[64];

	if (kind == INCIDENTS_DL_QUIET) {
		if ((inc = incidents_find_id(is, id)) == NULL ||
		    inc->quiet <= 0)
			return 1;
		if (inc->last_seen + inc->quiet > (int64_t)due) {
			deadlines_schedule(is->dq, INCIDENTS_DL_QUIET, id,
			    (time_t)(inc->last_seen + inc->quiet));
			return 1;
		}
		snprintf(note, sizeof(note), "quiet for %llds", inc->quiet);
		incidents_move(is, inc, INC_RESOLVED, "sopd", "resolve", note,
		    (int64_t)due);
		return 1;
	}
	if (kind != INCIDENTS_DL_FLAP)
		return 0;
	if ((inc = incidents_find_id(is, id)) != NULL)
		incidents_move(is, inc, INC_RESOLVED, "sopd", "resolve",
		    "flapping ended", (int64_t)due);
	return 1;
}

/* Add an observer; called in the order added. */
void
incidents_add_hooks(struct incidents *is, const struct incident_hooks *h,
    void *arg)
{
	if (is->nhooks == INC_HOOKS_MAX)
		fatalx("incidents: more than %d observers", INC_HOOKS_MAX);
	is->hooks[is->nhooks].h = h;
	is->hooks[is->nhooks++].arg = arg;
}

/* Remove an observer added with the same hooks and argument. */
void
incidents_remove_hooks(struct incidents *is, const struct incident_hooks *h,
    void *arg)
{
	size_t i;

	for (i = 0; i < is->nhooks; i++) {
		if (is->hooks[i].h != h || is->hooks[i].arg != arg)
			continue;
		memmove(&is->hooks[i], &is->hooks[i + 1],
		    (is->nhooks - i - 1) * sizeof(is->hooks[i]));
		is->nhooks--;
		return;
	}
}

/*
 * Set an active incident's escalation fields, with a history row. Only a
 * change of a stored field (level, next escalation, window) or a history
 * row is written; the next step is shown from memory.
 */
int
incidents_set_escalation(struct incidents *is, uint64_t id,
    const struct incident_esc *ie)
{
	struct inc *inc;
	int stored = 0;

	if ((inc = incidents_find_id(is, id)) == NULL)
		return -1;
	if (ie->level != NULL && strcmp(inc->level, ie->level) != 0) {
		strcopy(inc->level, sizeof(inc->level), ie->level);
		stored = 1;
	}
	if (inc->next_escalation != ie->next_escalation) {
		inc->next_escalation = ie->next_escalation;
		stored = 1;
	}
	inc->next_step = ie->next_step;
	strcopy(inc->next_level, sizeof(inc->next_level),
	    ie->next_level != NULL ? ie->next_level : "");
	if ((inc->in_window == NULL) != (ie->in_window == NULL) ||
	    (ie->in_window != NULL &&
		strcmp(inc->in_window, ie->in_window) != 0)) {
		incidents_setstr(&inc->in_window, ie->in_window);
		stored = 1;
	}
	if (ie->action != NULL) {
		incidents_history(is, id, ie->at, "sopd", ie->action,
		    inc->state, inc->state, ie->note);
		stored = 1;
	}
	if (stored)
		incidents_dirty(is, inc);
	else {
		is->version++;
		is->changed_us = clock_now_us();
	}
	return 0;
}

/* An active incident's public fields. */
int
incidents_info(struct incidents *is, uint64_t id, struct incident_info *ii)
{
	struct inc *inc;

	if ((inc = incidents_find_id(is, id)) == NULL)
		return -1;
	incidents_fill_info(inc, ii);
	return 0;
}

/* Commit soon although no incident changed (the escalator's own rows). */
void
incidents_want_commit(struct incidents *is)
{
	is->meta_dirty = 1;
	incidents_arm(is, is->commit_ms);
}
