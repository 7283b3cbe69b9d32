/* relp.c: syslog over RELP; librelp's threads wait for each commit. */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <librelp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "event.h"
#include "hash.h"
#include "incident.h"
#include "listen.h"
#include "log.h"
#include "pipeline.h"
#include "store.h"
#include "xmalloc.h"

/*
 * librelp cannot join the event loop: relpEngineRun blocks in its own
 * epoll loop and sends "200 OK" as soon as the receive callback returns,
 * whatever the callback says.  So the callback copies the message into a
 * bounded queue, wakes the loop through an eventfd and waits until the
 * loop has run it through the pipeline and committed the store.  The
 * threads touch nothing but this queue.
 *
 * One message at a time means each costs a round trip and (when it changed
 * an incident) a commit, and librelp processes every frame of one read
 * before it turns to the next session: with 32 KiB reads a busy session
 * held the others (and the `open` of new ones) for seconds.  The listening
 * socket's receive buffer (inherited by each session) is kept small, so
 * that one read, and the share of one session in each round of librelp's
 * loop, is a few KiB: sessions are served in turn.
 *
 * Each librelp engine has one message in flight at a time, so sopd runs
 * RELP_ENGINES engines in as many threads on one listening socket: the
 * first engine binds the configured address, each other one binds an
 * ephemeral port and has its listening descriptor replaced (dup3, before
 * its thread starts) by the first one's.  Whichever engine is waiting when
 * a connection arrives accepts it (the others find nothing and go on), so
 * new sessions are taken by the least busy engine; up to RELP_ENGINES
 * messages wait together and are committed in one transaction.
 *
 * librelp 1.11 tells its callback neither the session nor the txnr, so
 * sessions are counted by looking at the process's sockets on the RELP
 * port (four times a second), and a resend is recognised by its bytes: a
 * message equal to one of the last RELP_SEEN_MAX messages from the same
 * address is counted "resent" and acknowledged without being processed
 * again.
 * The hashes of committed messages are kept in the store (their own
 * transaction, after the commit and before the acknowledgement), so a
 * resend after a restart (the sender missed the ack of a committed
 * message) is recognised too; a crash between the two commits can only
 * let one be stored twice, never lose one.
 */

#define RELP_QUEUE_MAX	  64	    /* messages queued */
#define RELP_QUEUE_BYTES  (4 << 20) /* and their bytes */
#define RELP_RETRY_MS	  1000	    /* after a failed commit */
#define RELP_WAKE_SIG	  SIGUSR2   /* interrupts librelp's epoll */
#define RELP_STOP_POLL_MS 10	    /* stopping: re-signal period */
#define RELP_STOP_GIVEUP  300	    /* polls, then no ack */
#define RELP_ERR_LOG_SECS 10	    /* seconds between log lines */
#define RELP_KA_IDLE	  120	    /* keepalive: seconds idle */
#define RELP_KA_INTVL	  30	    /* seconds between probes */
#define RELP_KA_PROBES	  5
#define RELP_RCVBUF	  2048	/* per session (kernel doubles) */
#define RELP_MAX_LISTEN	  8	/* listening sockets (v4, v6) */
#define RELP_SESS_POLL_MS 250	/* sessions counted every */
#define RELP_SEEN_MAX	  65536 /* messages remembered (2^n) */
#define RELP_SEEN_BUCKETS 65536 /* their hash chains (2^n) */
#define RELP_ENGINES	  8	/* librelp engines (threads) */
#define RELP_FD_MAX	  4096	/* descriptors looked at */
#define RELP_ACTIVE_MS \
	50 /* an engine is busy if it sent
						   a message this recently */

/* A message handed from the RELP thread to the loop (on its stack). */
struct relp_msg {
	struct relp_msg *next;
	char *buf; /* len + 1 bytes; the parser writes */
	size_t len;
	char peer[64];
	unsigned flags; /* EVENT_F_TRUNCATED: librelp cut it */
	int engine;	/* the engine (thread) it came from */
	uint64_t hash;	/* of sender and bytes (loop side) */
	int done;	/* processed and committed: ack */
};

/* The last messages' hashes: a ring with hash chains (loop side only). */
struct relp_seen {
	uint64_t hash[RELP_SEEN_MAX];
	int32_t next[RELP_SEEN_MAX]; /* chain; -1 ends */
	int32_t bucket[RELP_SEEN_BUCKETS];
	size_t n, pos;
};

struct listener {
	struct sopd *sd;
	relpEngine_t *engine[RELP_ENGINES];
	pthread_t thread[RELP_ENGINES];
	int nengines; /* engines constructed */
	int started;  /* threads started */
	int efd;      /* eventfd: the thread wakes the loop */
	struct event *ev;
	struct event *retry; /* commit retry after a failure */
	size_t max;	     /* bytes copied per message */
	pthread_mutex_t mtx; /* guards what follows */
	pthread_cond_t cond;
	struct relp_msg *head, **tail; /* queued, not yet taken by the loop */
	size_t nqueued, qbytes;
	int stop;	 /* librelp's stop flag (unlocked) */
	int exited;	 /* threads that left relpEngineRun */
	uint64_t errors; /* librelp error callbacks */
	char last_error[256];
	/* Loop side only. */
	struct relp_msg *held;	       /* processed, waiting for a commit */
	struct relp_msg *ready;	       /* committed, waiting for their turn */
	int lfd[RELP_ENGINES];	       /* a listening fd of each engine */
	size_t nsess[RELP_ENGINES];    /* the sessions of each */
	double vt[RELP_ENGINES];       /* service per session so far */
	int64_t last_us[RELP_ENGINES]; /* its last message */
	int stopping;		       /* release everything at once */
	struct event *turn;	       /* re-evaluates the ready messages */
	uint64_t errors_logged;
	uint64_t errors_counted;
	time_t error_logged_at;
	unsigned port;	    /* the RELP port (host order) */
	struct event *poll; /* counts the sessions */
	struct relp_seen *seen;
	int64_t seen_seq;      /* number of the next one stored */
	uint64_t held_commits; /* store commits before the held */
	time_t seen_logged_at;
};

/* The error callbacks without a user pointer need the one RELP listener. */
static struct listener *relp_self;

/* The engine a RELP thread runs (set by each thread). */
static _Thread_local int relp_engine_ix;

/* A no-op handler: the signal only interrupts librelp's epoll_wait. */
static void
relp_wake_sig(int sig)
{
}

/* Wake the loop (from any thread). */
static void
relp_wake(struct listener *l)
{
	uint64_t one = 1;
	ssize_t n;

	n = write(l->efd, &one, sizeof(one));
	(void)n; /* fails only with a full counter: the loop is awake */
}

/* Record a librelp error for the loop to count and log (any thread). */
static void
relp_note_error(const char *obj, const char *msg, int code)
{
	struct listener *l = relp_self;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mtx);
	l->errors++;
	snprintf(l->last_error, sizeof(l->last_error), "%s: %s (%d)",
	    obj ? obj : "librelp", msg ? msg : "error", code);
	pthread_mutex_unlock(&l->mtx);
	relp_wake(l);
}

/* librelp's error callback (a session or listener failed). */
static void
relp_err_cb(void *usr, char *obj, char *msg, relpRetVal code)
{
	relp_note_error(obj, msg, code);
}

/* librelp's authentication error callback (TLS only, which is off). */
static void
relp_auth_err_cb(void *usr, char *info, char *msg, relpRetVal code)
{
	relp_note_error(info, msg, code);
}

/* librelp's error callback for errors of no particular session. */
static void
relp_generic_err_cb(char *obj, char *msg, relpRetVal code)
{
	relp_note_error(obj, msg, code);
}

/* Queue a message for the loop, waiting while the queue is full. */
static void
relp_enqueue(struct listener *l, struct relp_msg *m)
{
	pthread_mutex_lock(&l->mtx);
	while (l->nqueued > 0 &&
	    (l->nqueued >= RELP_QUEUE_MAX ||
		l->qbytes + m->len > RELP_QUEUE_BYTES))
		pthread_cond_wait(&l->cond, &l->mtx);
	*l->tail = m;
	l->tail = &m->next;
	l->nqueued++;
	l->qbytes += m->len;
	pthread_mutex_unlock(&l->mtx);
	relp_wake(l);
}

/*
 * librelp received a syslog frame (RELP thread): hand it to the loop and
 * return only once it is processed and committed, since librelp sends
 * the acknowledgement when this returns.
 */
static relpRetVal
relp_rcv_cb(void *usr, unsigned char *host, unsigned char *ip,
    unsigned char *data, size_t len)
{
	struct listener *l = usr;
	struct relp_msg m;

	memset(&m, 0, sizeof(m));
	m.len = len < l->max ? len : l->max;
	m.flags = len >= l->max ? EVENT_F_TRUNCATED : 0;
	m.buf = xmalloc(m.len + 1);
	memcpy(m.buf, data, m.len);
	m.buf[m.len] = '\0';
	snprintf(m.peer, sizeof(m.peer), "%s", ip ? (char *)ip : "");
	m.engine = relp_engine_ix;
	relp_enqueue(l, &m);
	pthread_mutex_lock(&l->mtx);
	while (!m.done)
		pthread_cond_wait(&l->cond, &l->mtx);
	pthread_mutex_unlock(&l->mtx);
	free(m.buf);
	return RELP_RET_OK;
}

/* A RELP thread: one engine's loop until relp_close stops it. */
static void *
relp_thread(void *arg)
{
	struct listener *l = relp_self;

	relp_engine_ix = (int)(intptr_t)arg;
	relpEngineRun(l->engine[relp_engine_ix]);
	pthread_mutex_lock(&l->mtx);
	l->exited++;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mtx);
	relp_wake(l);
	return NULL;
}

/* FNV-1a of the sender's address and the message. */
static uint64_t
relp_hash(const char *peer, const char *buf, size_t len)
{
	return hash_bytes(hash_byte(hash_str(HASH_INIT, peer), 0xff), buf, len);
}

/* A new, empty memory of messages. */
static struct relp_seen *
relp_seen_new(void)
{
	struct relp_seen *s;

	s = xcalloc(1, sizeof(*s));
	memset(s->bucket, 0xff, sizeof(s->bucket)); /* every chain empty */
	return s;
}

/* Whether h is among the last messages; remember it in place of the oldest. */
static int
relp_seen(struct relp_seen *s, uint64_t h)
{
	size_t b = h & (RELP_SEEN_BUCKETS - 1);
	int32_t i, *pp;
	int found = 0;

	for (i = s->bucket[b]; i != -1; i = s->next[i]) {
		if (s->hash[i] == h) {
			found = 1;
			break;
		}
	}
	if (s->n == RELP_SEEN_MAX) {
		pp = &s->bucket[s->hash[s->pos] & (RELP_SEEN_BUCKETS - 1)];
		while (*pp != (int32_t)s->pos)
			pp = &s->next[*pp];
		*pp = s->next[s->pos];
	} else
		s->n++;
	s->hash[s->pos] = h;
	s->next[s->pos] = s->bucket[b];
	s->bucket[b] = (int32_t)s->pos;
	s->pos = (s->pos + 1) & (RELP_SEEN_MAX - 1);
	return found;
}

/* A stream socket's local port (0 if fd is none); *listening if it listens. */
static unsigned
relp_sock_port(int fd, int *listening)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), vlen = sizeof(int);
	int type, acc;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &vlen) == -1 ||
	    type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &vlen) == -1)
		return 0;
	*listening = acc;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* No child inherits fd (librelp opens its sockets without SOCK_CLOEXEC). */
static void
relp_cloexec(int fd)
{
	int flags;

	if ((flags = fcntl(fd, F_GETFD)) != -1 && !(flags & FD_CLOEXEC))
		fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/*
 * The process's stream sockets on the RELP port (each made close-on-exec
 * on the way): returns how many are sessions; with shape set, gives the
 * listening ones their small receive buffer.  librelp's threads own them;
 * a socket one closes meanwhile only makes one count off by one.
 */
static size_t
relp_scan(struct listener *l, int shape)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;
	int fd, listening = 0, rcvbuf = RELP_RCVBUF;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd == dirfd(d) || relp_sock_port(fd, &listening) != l->port)
			continue;
		relp_cloexec(fd);
		if (!listening)
			n++;
		else if (shape &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			sizeof(rcvbuf)) == -1)
			log_warnx("relp: SO_RCVBUF: %s", strerror(errno));
	}
	closedir(d);
	return n;
}

/* The engine whose epoll descriptor fd is, or -1; its sessions in *n. */
static int
relp_epoll_engine(struct listener *l, int fd, size_t *n)
{
	char path[64], line[256];
	FILE *f;
	int e = -1, i, tfd, listening;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	*n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "tfd: %d", &tfd) != 1)
			continue;
		for (i = 0; i < l->nengines; i++)
			if (l->lfd[i] == tfd)
				e = i;
		if (relp_sock_port(tfd, &listening) == l->port && !listening)
			(*n)++;
	}
	fclose(f);
	return e;
}

/*
 * Count each engine's sessions: those in its epoll set (the one holding
 * its listening descriptor), as /proc/self/fdinfo shows them.
 */
static void
relp_count_engines(struct listener *l)
{
	DIR *d;
	struct dirent *de;
	char path[64], link[64];
	ssize_t len;
	size_t n;
	int e;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d",
		    atoi(de->d_name));
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]") != 0)
			continue;
		if ((e = relp_epoll_engine(l, atoi(de->d_name), &n)) != -1)
			l->nsess[e] = n;
	}
	closedir(d);
}

/* Count the sessions open now, in all and per engine. */
static void
relp_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	stats.in[INPUT_RELP].sessions = relp_scan(l, 0);
	if (l->nengines > 1)
		relp_count_engines(l);
}

/* Log librelp's errors with their count, at most every few seconds (loop). */
static void
relp_log_errors(struct listener *l, uint64_t errors, const char *last)
{
	time_t now = time(NULL);

	if (errors == l->errors_logged ||
	    now - l->error_logged_at < RELP_ERR_LOG_SECS)
		return;
	log_warnx("relp: %s (%llu librelp errors so far)", last,
	    (unsigned long long)errors);
	l->errors_logged = errors;
	l->error_logged_at = now;
}

/*
 * The least service per session among the busy engines: those with a
 * message waiting or one sent in the last RELP_ACTIVE_MS.
 */
static double
relp_vmin(struct listener *l, int64_t now)
{
	struct relp_msg *m;
	double v = -1;
	int i;

	for (i = 0; i < l->nengines; i++)
		if (now - l->last_us[i] < RELP_ACTIVE_MS * 1000 &&
		    (v < 0 || l->vt[i] < v))
			v = l->vt[i];
	for (m = l->ready; m != NULL; m = m->next)
		if (v < 0 || l->vt[m->engine] < v)
			v = l->vt[m->engine];
	return v;
}

/*
 * Let the callbacks of committed messages return, in turn: each engine
 * serves its sessions in rounds, one message in flight, so an engine with
 * few sessions would give each of them many times the share of a busy
 * engine's.  A message is released when its engine's service per session
 * (vt) is the least among the busy engines; the others wait (committed)
 * until the busy ones catch up or go quiet (re-evaluated after
 * RELP_ACTIVE_MS).  Stopping releases everything.
 */
static void
relp_release(struct listener *l)
{
	struct timeval tv = { 0, RELP_ACTIVE_MS * 1000 };
	struct relp_msg *m, *next, *keep = NULL;
	int64_t now = pipeline_now_us();
	double vmin;

	if (l->held != NULL) {
		for (m = l->held; m->next != NULL; m = m->next)
			;
		m->next = l->ready;
		l->ready = l->held;
		l->held = NULL;
	}
	vmin = relp_vmin(l, now);
	pthread_mutex_lock(&l->mtx);
	for (m = l->ready; m != NULL; m = next) {
		next = m->next; /* m is gone once its waiter runs */
		if (!l->stopping && l->vt[m->engine] > vmin) {
			m->next = keep;
			keep = m;
			continue;
		}
		l->vt[m->engine] +=
		    1.0 / (l->nsess[m->engine] ? l->nsess[m->engine] : 1);
		m->done = 1;
	}
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mtx);
	l->ready = keep;
	if (keep != NULL && !evtimer_pending(l->turn, NULL))
		evtimer_add(l->turn, &tv);
}

/* Messages waited for their turn: busy engines may have gone quiet. */
static void
relp_turn_cb(evutil_socket_t fd, short what, void *arg)
{
	relp_release(arg);
}

/* Note a message from engine e: a newly busy engine starts level. */
static void
relp_note_engine(struct listener *l, int e, int64_t now)
{
	double v;

	if (now - l->last_us[e] >= RELP_ACTIVE_MS * 1000 &&
	    (v = relp_vmin(l, now)) > l->vt[e])
		l->vt[e] = v;
	l->last_us[e] = now;
}

/*
 * Commit what the held messages changed; on failure they stay held (not
 * acknowledged: the senders wait) and the commit is retried.
 */
/* Remember the held messages' hashes in the store (they were committed). */
static void
relp_persist(struct listener *l)
{
	struct store *st = incidents_store(l->sd->incidents);
	struct relp_msg *m;
	uint64_t *hash;
	size_t n = 0;
	time_t now;

	for (m = l->held; m != NULL; m = m->next)
		n++;
	if (st == NULL || n == 0)
		return;
	hash = xreallocarray(NULL, n, sizeof(*hash));
	n = 0;
	for (m = l->held; m != NULL; m = m->next)
		hash[n++] = m->hash;
	if (store_relp_seen_put(st, l->seen_seq, hash, n, RELP_SEEN_MAX) == 0)
		l->seen_seq += (int64_t)n;
	else if ((now = time(NULL)) - l->seen_logged_at >= RELP_ERR_LOG_SECS) {
		log_warnx("relp: cannot remember committed messages: %s",
		    store_error(st));
		l->seen_logged_at = now;
	}
	free(hash);
}

/* A remembered message (store): known again (oldest first). */
static void
relp_seen_load_cb(int64_t seq, uint64_t hash, void *arg)
{
	struct listener *l = arg;

	relp_seen(l->seen, hash);
	l->seen_seq = seq + 1;
}

static int
relp_commit(struct listener *l)
{
	struct timeval tv = { RELP_RETRY_MS / 1000,
		(RELP_RETRY_MS % 1000) * 1000 };

	if (l->held == NULL) {
		if (l->ready != NULL)
			relp_release(l);
		return 0;
	}
	if (incidents_flush(l->sd->incidents) == -1) {
		if (!evtimer_pending(l->retry, NULL))
			evtimer_add(l->retry, &tv);
		return -1;
	}
	if (stats.store_commits != l->held_commits) /* something stored */
		relp_persist(l);
	relp_release(l);
	return 0;
}

/* Take the queue, run each message through the pipeline, commit once. */
static void
relp_drain(struct listener *l)
{
	struct relp_msg *batch, *m, *last = NULL;
	uint64_t errors;
	char err[sizeof(l->last_error)];
	int64_t now;

	pthread_mutex_lock(&l->mtx);
	batch = l->head;
	l->head = NULL;
	l->tail = &l->head;
	l->nqueued = l->qbytes = 0;
	errors = l->errors;
	memcpy(err, l->last_error, sizeof(err));
	pthread_cond_broadcast(&l->cond); /* room in the queue */
	pthread_mutex_unlock(&l->mtx);
	relp_log_errors(l, errors, err);
	if (errors > l->errors_counted) { /* kept nothing from: no drop */
		stats.in[INPUT_RELP].reason[REASON_SESSION_ERROR] +=
		    errors - l->errors_counted;
		l->errors_counted = errors;
	}
	now = pipeline_now_us();
	if (l->held == NULL)
		l->held_commits = stats.store_commits;
	for (m = batch; m != NULL; m = m->next) {
		relp_note_engine(l, m->engine, now);
		last = m;
		m->hash = relp_hash(m->peer, m->buf, m->len);
		if (relp_seen(l->seen, m->hash)) {
			stats_count(INPUT_RELP, REASON_RESENT);
			continue; /* processed (and committed) before */
		}
		pipeline_syslog(l->sd, INPUT_RELP, m->buf, m->len, m->flags,
		    m->peer, now);
	}
	if (last != NULL) {
		last->next = l->held;
		l->held = batch;
	}
	relp_commit(l);
}

/* The RELP thread queued messages or noted an error. */
static void
relp_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	uint64_t n;

	while (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	relp_drain(l);
}

/* A commit failed earlier: try again. */
static void
relp_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	relp_commit(arg);
}

/* Set up librelp engine i and its listener on host, port. */
static int
relp_engine(struct listener *l, int i, const char *host, const char *port)
{
	relpEngine_t *e;
	relpSrv_t *srv;

	if (relpEngineConstruct(&l->engine[i]) != RELP_RET_OK)
		return -1;
	l->nengines = i + 1;
	e = l->engine[i];
	relpEngineSetDbgprint(e, NULL);
	relpEngineSetShutdownImmdtPtr(e, &l->stop);
	relpEngineSetDnsLookupMode(e, 0);
	relpEngineSetEnableCmd(e, (unsigned char *)"syslog",
	    eRelpCmdState_Required);
	relpEngineSetSyslogRcv2(e, relp_rcv_cb);
	relpEngineSetOnErr(e, relp_err_cb);
	relpEngineSetOnAuthErr(e, relp_auth_err_cb);
	relpEngineSetOnGenericErr(e, relp_generic_err_cb);
	if (relpEngineListnerConstruct(e, &srv) != RELP_RET_OK)
		return -1;
	relpSrvSetUsrPtr(srv, l);
	relpSrvSetLstnAddr(srv, (unsigned char *)host);
	relpSrvSetLstnPort(srv, (unsigned char *)port);
	/* A byte over max_message_size: a frame that long was cut (counted). */
	relpSrvSetMaxDataSize(srv, l->max);
	relpSrvSetOversizeMode(srv, RELP_OVERSIZE_TRUNCATE);
	relpSrvSetKeepAlive(srv, 1, RELP_KA_INTVL, RELP_KA_PROBES,
	    RELP_KA_IDLE);
	if (relpEngineListnerConstructFinalize(e, srv) != RELP_RET_OK)
		return -1;
	return 0;
}

/* A descriptor's socket family if it is a listening stream socket, or 0. */
static int
relp_listening(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int listening = 0;

	if (relp_sock_port(fd, &listening) == 0 || !listening ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	return ss.ss_family;
}

/* Note the process's listening stream sockets (their families) in fam. */
static void
relp_listeners(int *fam)
{
	int fd;

	for (fd = 0; fd < RELP_FD_MAX; fd++)
		fam[fd] = fcntl(fd, F_GETFD) == -1 ? 0 : relp_listening(fd);
}

/*
 * Give the sockets engine i listens on (those in now and not in before)
 * the first engine's socket of the same family instead (first: the first
 * engine's, on the RELP port).  -1 if one has no counterpart.
 */
static int
relp_share(struct listener *l, int i, const int *before, const int *now)
{
	int fd, fd0, listening;

	for (fd = 0; fd < RELP_FD_MAX; fd++) {
		if (now[fd] == 0 || before[fd] != 0)
			continue;
		for (fd0 = 0; fd0 < RELP_FD_MAX; fd0++)
			if (before[fd0] == now[fd] &&
			    relp_sock_port(fd0, &listening) == l->port)
				break;
		if (fd0 == RELP_FD_MAX || dup3(fd0, fd, O_CLOEXEC) == -1)
			return -1;
		l->lfd[i] = fd;
		if (l->lfd[0] == -1)
			l->lfd[0] = fd0;
	}
	return 0;
}

/* Set up the engines, all on the one listening socket of addr. */
static int
relp_engines(struct listener *l, const char *addr, char **cause)
{
	char host[256], port[16];
	int *before, *now, i;

	if (config_split_addr(addr, host, sizeof(host), port, sizeof(port)) ==
	    -1) {
		xasprintf(cause, "bad address %s", addr);
		return -1;
	}
	if (relp_engine(l, 0, host, port) == -1) {
		xasprintf(cause, "cannot listen on %s: %s", addr,
		    l->last_error[0] ? l->last_error : "bind failed");
		return -1;
	}
	l->port = (unsigned)atoi(port);
	relp_scan(l, 1);
	memset(l->lfd, 0xff, sizeof(l->lfd)); /* -1: none */
	before = xcalloc(RELP_FD_MAX, sizeof(*before));
	now = xcalloc(RELP_FD_MAX, sizeof(*now));
	for (i = 1; i < RELP_ENGINES; i++) {
		relp_listeners(before);
		if (relp_engine(l, i, host, "0") == -1)
			break;
		relp_listeners(now);
		if (relp_share(l, i, before, now) == -1)
			break;
	}
	free(before);
	free(now);
	if (i < RELP_ENGINES) {
		log_warnx("relp: %d of %d librelp engines", i, RELP_ENGINES);
		if (l->engine[i] != NULL) /* made, not shared: closed */
			relpEngineDestruct(&l->engine[i]);
		l->nengines = i;
	}
	return 0;
}

/* Start the RELP threads with only the wake-up signal unblocked. */
static int
relp_start_threads(struct listener *l, char **cause)
{
	struct sigaction sa;
	sigset_t all, old;
	int error = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = relp_wake_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(RELP_WAKE_SIG, &sa, NULL);
	sigfillset(&all);
	sigdelset(&all, RELP_WAKE_SIG);
	sigdelset(&all, SIGSEGV); /* faults still reach their handlers */
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (l->started < l->nengines && error == 0) {
		error = pthread_create(&l->thread[l->started], NULL,
		    relp_thread, (void *)(intptr_t)l->started);
		if (error == 0)
			l->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		xasprintf(cause, "pthread_create: %s", strerror(error));
		return -1;
	}
	return 0;
}

/* Free a listener whose threads are not running (or have been joined). */
static void
relp_free(struct listener *l)
{
	int i;

	for (i = 0; i < l->nengines; i++)
		relpEngineDestruct(&l->engine[i]);
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->retry != NULL)
		event_free(l->retry);
	if (l->poll != NULL)
		event_free(l->poll);
	if (l->turn != NULL)
		event_free(l->turn);
	stats.in[INPUT_RELP].sessions = 0;
	free(l->seen);
	if (l->efd != -1)
		close(l->efd);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->mtx);
	relp_self = NULL;
	free(l);
}

static int relp_stop(struct listener *);

/* Open the RELP input on addr. */
static struct listener *
relp_open(struct sopd *sd, const char *addr, char **cause)
{
	struct timeval poll_tv = { RELP_SESS_POLL_MS / 1000,
		(RELP_SESS_POLL_MS % 1000) * 1000 };
	struct listener *l;

	l = xcalloc(1, sizeof(*l));
	l->sd = sd;
	l->max = sd->cfg->max_message_size + 1;
	l->tail = &l->head;
	pthread_mutex_init(&l->mtx, NULL);
	pthread_cond_init(&l->cond, NULL);
	relp_self = l;
	if ((l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		xasprintf(cause, "eventfd: %s", strerror(errno));
		goto fail;
	}
	l->ev =
	    event_new(sd->base, l->efd, EV_READ | EV_PERSIST, relp_event_cb, l);
	l->retry = evtimer_new(sd->base, relp_retry_cb, l);
	l->poll = event_new(sd->base, -1, EV_PERSIST, relp_poll_cb, l);
	l->turn = evtimer_new(sd->base, relp_turn_cb, l);
	l->seen = relp_seen_new();
	if (incidents_store(sd->incidents) != NULL &&
	    store_relp_seen_load(incidents_store(sd->incidents), RELP_SEEN_MAX,
		relp_seen_load_cb, l) == -1)
		log_warnx("relp: cannot read the messages committed lately");
	event_add(l->ev, NULL);
	evtimer_add(l->poll, &poll_tv);
	if (relp_engines(l, addr, cause) == -1)
		goto fail;
	if (relp_start_threads(l, cause) == -1) {
		relp_stop(l);
		goto fail;
	}
	log_info("syslog relp on %s (%d engines)", addr, l->nengines);
	return l;
fail:
	relp_free(l);
	return NULL;
}

/* Whether every RELP thread has left librelp's loop. */
static int
relp_exited(struct listener *l)
{
	int exited;

	pthread_mutex_lock(&l->mtx);
	exited = l->exited == l->started;
	pthread_mutex_unlock(&l->mtx);
	return exited;
}

/* Wait a little for a RELP thread to queue something or leave. */
static void
relp_wait(struct listener *l)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += RELP_STOP_POLL_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->mtx);
	if (l->head == NULL && l->exited < l->started)
		pthread_cond_timedwait(&l->cond, &l->mtx, &ts);
	pthread_mutex_unlock(&l->mtx);
}

/*
 * Close the RELP input: stop librelp's loops while serving them, so that a
 * message received before the stop is processed and committed before its
 * acknowledgement; one received after is not acknowledged and the sender
 * sends it again.  Returns 0 when the threads were joined; -1 when commits
 * kept failing, in which case the waiting messages are never acknowledged
 * (the threads are left blocked until the process exits).
 */
static int
relp_stop(struct listener *l)
{
	int i, polls = 0;

	pthread_mutex_lock(&l->mtx);
	l->stop = 1;
	pthread_mutex_unlock(&l->mtx);
	l->stopping = 1;
	relp_release(l);
	for (i = 0; i < l->nengines; i++)
		relpEngineSetStop(l->engine[i]);
	while (!relp_exited(l)) {
		relp_drain(l);
		if (l->held != NULL && ++polls > RELP_STOP_GIVEUP)
			return -1;
		for (i = 0; i < l->started; i++)
			pthread_kill(l->thread[i], RELP_WAKE_SIG);
		relp_wait(l);
	}
	for (i = 0; i < l->started; i++)
		pthread_join(l->thread[i], NULL);
	relp_drain(l);
	return 0;
}

/* Close the RELP input (before the store closes). */
static void
relp_close(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->started > 0 && relp_stop(l) == -1) {
		log_warnx(
		    "relp: the store cannot commit; messages received "
		    "are left unacknowledged for their senders to resend");
		return;
	}
	relp_free(l);
}

const struct listener_ops relp_ops = { "relp", relp_open, relp_close };
