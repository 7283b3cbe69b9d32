/* relp.c: syslog over RELP; librelp's thread waits for each commit. */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <dirent.h>

#include <errno.h>
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
#include "xmalloc.h"

/*
 * librelp cannot join the event loop: relpEngineRun blocks in its own
 * epoll loop and sends "200 OK" as soon as the receive callback returns,
 * whatever the callback says.  So the callback copies the message into a
 * bounded queue, wakes the loop through an eventfd and waits until the
 * loop has run it through the pipeline and committed the store.  The
 * thread touches nothing but this queue.
 *
 * One message at a time means each costs a round trip and (when it changed
 * an incident) a commit, and librelp processes every frame of one read
 * before it turns to the next session: with 32 KiB reads a busy session
 * held the others (and the `open` of new ones) for seconds.  The listening
 * socket's receive buffer (inherited by each session) is kept small, so
 * that one read, and the share of one session in each round of librelp's
 * loop, is a few KiB: sessions are served in turn.
 *
 * librelp 1.11 tells its callback neither the session nor the txnr, so
 * sessions are counted by looking at the process's sockets on the RELP
 * port (once a second), and a resend is recognised by its bytes: a message
 * equal to one of the last RELP_SEEN_MAX messages from the same address
 * is counted "resent" (it is still processed: at least once).
 */

#define RELP_QUEUE_MAX		64		/* messages queued */
#define RELP_QUEUE_BYTES	(4 << 20)	/* and their bytes */
#define RELP_RETRY_MS		1000		/* after a failed commit */
#define RELP_WAKE_SIG		SIGUSR2		/* interrupts librelp's epoll */
#define RELP_STOP_POLL_MS	10		/* stopping: re-signal period */
#define RELP_STOP_GIVEUP	300		/* polls, then no ack */
#define RELP_ERR_LOG_SECS	10		/* seconds between log lines */
#define RELP_KA_IDLE		120		/* keepalive: seconds idle */
#define RELP_KA_INTVL		30		/* seconds between probes */
#define RELP_KA_PROBES		5
#define RELP_RCVBUF		2048		/* per session (kernel doubles) */
#define RELP_MAX_LISTEN		8		/* listening sockets (v4, v6) */
#define RELP_SESS_POLL_MS	1000		/* sessions counted every */
#define RELP_SEEN_MAX		65536		/* messages remembered (2^n) */
#define RELP_SEEN_BUCKETS	65536		/* their hash chains (2^n) */

/* A message handed from the RELP thread to the loop (on its stack). */
struct relp_msg {
	struct relp_msg	*next;
	char		*buf;		/* len + 1 bytes; the parser writes */
	size_t		 len;
	char		 peer[64];
	unsigned	 flags;		/* EVENT_F_TRUNCATED: librelp cut it */
	int		 done;		/* processed and committed: ack */
};

/* The last messages' hashes: a ring with hash chains (loop side only). */
struct relp_seen {
	uint64_t	 hash[RELP_SEEN_MAX];
	int32_t		 next[RELP_SEEN_MAX];	/* chain; -1 ends */
	int32_t		 bucket[RELP_SEEN_BUCKETS];
	size_t		 n, pos;
};

struct listener {
	struct sopd	*sd;
	relpEngine_t	*engine;
	pthread_t	 thread;
	int		 started;	/* the thread runs (or ran) */
	int		 efd;		/* eventfd: the thread wakes the loop */
	struct event	*ev;
	struct event	*retry;		/* commit retry after a failure */
	size_t		 max;		/* bytes copied per message */
	pthread_mutex_t	 mtx;		/* guards what follows */
	pthread_cond_t	 cond;
	struct relp_msg	*head, **tail;	/* queued, not yet taken by the loop */
	size_t		 nqueued, qbytes;
	int		 stop;		/* librelp's stop flag (unlocked) */
	int		 exited;	/* the thread left relpEngineRun */
	uint64_t	 errors;	/* librelp error callbacks */
	char		 last_error[256];
	/* Loop side only. */
	struct relp_msg	*held;		/* processed, waiting for a commit */
	uint64_t	 errors_logged;
	uint64_t	 errors_counted;
	time_t		 error_logged_at;
	unsigned	 port;		/* the RELP port (host order) */
	struct event	*poll;		/* counts the sessions */
	struct relp_seen *seen;
};

/* The error callbacks without a user pointer need the one RELP listener. */
static struct listener *relp_self;

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
	(void)n;	/* fails only with a full counter: the loop is awake */
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
	while (l->nqueued > 0 && (l->nqueued >= RELP_QUEUE_MAX ||
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
	relp_enqueue(l, &m);
	pthread_mutex_lock(&l->mtx);
	while (!m.done)
		pthread_cond_wait(&l->cond, &l->mtx);
	pthread_mutex_unlock(&l->mtx);
	free(m.buf);
	return RELP_RET_OK;
}

/* The RELP thread: librelp's own loop until relp_close stops it. */
static void *
relp_thread(void *arg)
{
	struct listener *l = arg;

	relpEngineRun(l->engine);
	pthread_mutex_lock(&l->mtx);
	l->exited = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mtx);
	relp_wake(l);
	return NULL;
}

/* FNV-1a of the sender's address and the message. */
static uint64_t
relp_hash(const char *peer, const char *buf, size_t len)
{
	return hash_bytes(hash_byte(hash_str(HASH_INIT, peer), 0xff), buf,
	    len);
}

/* A new, empty memory of messages. */
static struct relp_seen *
relp_seen_new(void)
{
	struct relp_seen *s;

	s = xcalloc(1, sizeof(*s));
	memset(s->bucket, 0xff, sizeof(s->bucket));	/* every chain empty */
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

/*
 * The process's stream sockets on the RELP port: returns how many are
 * sessions; with shape set, gives the listening ones their small receive
 * buffer.  librelp's thread owns them; a socket it closes meanwhile only
 * makes one count off by one.
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
		if (!listening)
			n++;
		else if (shape && setsockopt(fd, SOL_SOCKET, SO_RCVBUF,
		    &rcvbuf, sizeof(rcvbuf)) == -1)
			log_warnx("relp: SO_RCVBUF: %s", strerror(errno));
	}
	closedir(d);
	return n;
}

/* Count the sessions open now. */
static void
relp_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	stats.in[INPUT_RELP].sessions = relp_scan(l, 0);
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

/* Mark every held message committed and let their callbacks return. */
static void
relp_release(struct listener *l)
{
	struct relp_msg *m, *next;

	pthread_mutex_lock(&l->mtx);
	for (m = l->held; m != NULL; m = next) {
		next = m->next;		/* m is gone once its waiter runs */
		m->done = 1;
	}
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mtx);
	l->held = NULL;
}

/*
 * Commit what the held messages changed; on failure they stay held (not
 * acknowledged: the senders wait) and the commit is retried.
 */
static int
relp_commit(struct listener *l)
{
	struct timeval tv = { RELP_RETRY_MS / 1000,
	    (RELP_RETRY_MS % 1000) * 1000 };

	if (l->held == NULL)
		return 0;
	if (incidents_flush(l->sd->incidents) == -1) {
		if (!evtimer_pending(l->retry, NULL))
			evtimer_add(l->retry, &tv);
		return -1;
	}
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
	pthread_cond_broadcast(&l->cond);	/* room in the queue */
	pthread_mutex_unlock(&l->mtx);
	relp_log_errors(l, errors, err);
	if (errors > l->errors_counted) {	/* kept nothing from: no drop */
		stats.in[INPUT_RELP].reason[REASON_SESSION_ERROR] +=
		    errors - l->errors_counted;
		l->errors_counted = errors;
	}
	now = pipeline_now_us();
	for (m = batch; m != NULL; m = m->next) {
		if (relp_seen(l->seen, relp_hash(m->peer, m->buf, m->len)))
			stats_count(INPUT_RELP, REASON_RESENT);
		pipeline_syslog(l->sd, INPUT_RELP, m->buf, m->len, m->flags,
		    m->peer, now);
		last = m;
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

/* Set up librelp's engine and its one listener on addr. */
static int
relp_engine(struct listener *l, const char *addr, char **cause)
{
	relpSrv_t *srv;
	char host[256], port[16];

	if (config_split_addr(addr, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		xasprintf(cause, "bad address %s", addr);
		return -1;
	}
	if (relpEngineConstruct(&l->engine) != RELP_RET_OK) {
		xasprintf(cause, "cannot create the engine");
		return -1;
	}
	relpEngineSetDbgprint(l->engine, NULL);
	relpEngineSetShutdownImmdtPtr(l->engine, &l->stop);
	relpEngineSetDnsLookupMode(l->engine, 0);
	relpEngineSetEnableCmd(l->engine, (unsigned char *)"syslog",
	    eRelpCmdState_Required);
	relpEngineSetSyslogRcv2(l->engine, relp_rcv_cb);
	relpEngineSetOnErr(l->engine, relp_err_cb);
	relpEngineSetOnAuthErr(l->engine, relp_auth_err_cb);
	relpEngineSetOnGenericErr(l->engine, relp_generic_err_cb);
	if (relpEngineListnerConstruct(l->engine, &srv) != RELP_RET_OK) {
		xasprintf(cause, "cannot create the listener");
		return -1;
	}
	relpSrvSetUsrPtr(srv, l);
	relpSrvSetLstnAddr(srv, (unsigned char *)host);
	relpSrvSetLstnPort(srv, (unsigned char *)port);
	/* A byte over max_message_size: a frame that long was cut (counted). */
	relpSrvSetMaxDataSize(srv, l->max);
	relpSrvSetOversizeMode(srv, RELP_OVERSIZE_TRUNCATE);
	relpSrvSetKeepAlive(srv, 1, RELP_KA_INTVL, RELP_KA_PROBES,
	    RELP_KA_IDLE);
	if (relpEngineListnerConstructFinalize(l->engine, srv) != RELP_RET_OK) {
		xasprintf(cause, "cannot listen on %s: %s", addr,
		    l->last_error[0] ? l->last_error : "bind failed");
		return -1;
	}
	l->port = (unsigned)atoi(port);
	relp_scan(l, 1);
	return 0;
}

/* Start the RELP thread with only the wake-up signal unblocked. */
static int
relp_start_thread(struct listener *l, char **cause)
{
	struct sigaction sa;
	sigset_t all, old;
	int error;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = relp_wake_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(RELP_WAKE_SIG, &sa, NULL);
	sigfillset(&all);
	sigdelset(&all, RELP_WAKE_SIG);
	sigdelset(&all, SIGSEGV);	/* faults still reach their handlers */
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&l->thread, NULL, relp_thread, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		xasprintf(cause, "pthread_create: %s", strerror(error));
		return -1;
	}
	l->started = 1;
	return 0;
}

/* Free a listener whose thread is not running (or has been joined). */
static void
relp_free(struct listener *l)
{
	if (l->engine != NULL)
		relpEngineDestruct(&l->engine);
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->retry != NULL)
		event_free(l->retry);
	if (l->poll != NULL)
		event_free(l->poll);
	stats.in[INPUT_RELP].sessions = 0;
	free(l->seen);
	if (l->efd != -1)
		close(l->efd);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->mtx);
	relp_self = NULL;
	free(l);
}

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
	l->ev = event_new(sd->base, l->efd, EV_READ | EV_PERSIST,
	    relp_event_cb, l);
	l->retry = evtimer_new(sd->base, relp_retry_cb, l);
	l->poll = event_new(sd->base, -1, EV_PERSIST, relp_poll_cb, l);
	l->seen = relp_seen_new();
	event_add(l->ev, NULL);
	evtimer_add(l->poll, &poll_tv);
	if (relp_engine(l, addr, cause) == -1 ||
	    relp_start_thread(l, cause) == -1)
		goto fail;
	log_info("syslog relp on %s", addr);
	return l;
fail:
	relp_free(l);
	return NULL;
}

/* Whether the RELP thread has left librelp's loop. */
static int
relp_exited(struct listener *l)
{
	int exited;

	pthread_mutex_lock(&l->mtx);
	exited = l->exited;
	pthread_mutex_unlock(&l->mtx);
	return exited;
}

/* Wait a little for the RELP thread to queue something or leave. */
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
	if (l->head == NULL && !l->exited)
		pthread_cond_timedwait(&l->cond, &l->mtx, &ts);
	pthread_mutex_unlock(&l->mtx);
}

/*
 * Close the RELP input: stop librelp's loop while serving it, so that a
 * message received before the stop is processed and committed before its
 * acknowledgement; one received after is not acknowledged and the sender
 * sends it again.  Returns 0 when the thread was joined; -1 when commits
 * kept failing, in which case the waiting messages are never acknowledged
 * (the thread is left blocked until the process exits).
 */
static int
relp_stop(struct listener *l)
{
	int polls = 0;

	pthread_mutex_lock(&l->mtx);
	l->stop = 1;
	pthread_mutex_unlock(&l->mtx);
	relpEngineSetStop(l->engine);
	while (!relp_exited(l)) {
		relp_drain(l);
		if (l->held != NULL && ++polls > RELP_STOP_GIVEUP)
			return -1;
		pthread_kill(l->thread, RELP_WAKE_SIG);
		relp_wait(l);
	}
	pthread_join(l->thread, NULL);
	relp_drain(l);
	return 0;
}

/* Close the RELP input (before the store closes). */
static void
relp_close(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->started && relp_stop(l) == -1) {
		log_warnx("relp: the store cannot commit; messages received "
		    "are left unacknowledged for their senders to resend");
		return;
	}
	relp_free(l);
}

const struct listener_ops relp_ops = { "relp", relp_open, relp_close };
