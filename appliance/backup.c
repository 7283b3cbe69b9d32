/*
 * backup.c: an online backup of the running store, sent over HTTP.
 *
 * sqlite3_backup_step copies a bounded number of pages per loop turn; a
 * write by the daemon's own connection in between is carried into the
 * copy by SQLite, so the result is a consistent snapshot of the moment it
 * completes.  The copy is a file in state_dir (unlinked as soon as it is
 * open for sending), handed to libevent as a file segment.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "backup.h"
#include "config.h"
#include "daemon.h"
#include "incident.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define BACKUP_PAGES	256 /* pages copied per loop turn */
#define BACKUP_PAUSE_MS 1

struct backup_job {
	struct evhttp_request *req; /* NULL once the client left */
	struct evhttp_connection *evcon;
	struct store_backup *b;
	struct event *ev;
	char *path;
};

static struct backup_job *job;

/* Answer with the usual headers and a body (NULL: none). */
static void
backup_reply(struct evhttp_request *req, int code, const char *ctype,
    struct evbuffer *body)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	evhttp_add_header(out, "Content-Type", ctype);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, NULL, body);
}

/* Answer {"error": msg}. */
static void
backup_error(struct evhttp_request *req, int code, const char *msg)
{
	struct evbuffer *buf = evbuffer_new();
	json_t *doc = json_pack("{s:s}", "error", msg);
	char *s = json_dumps(doc, JSON_COMPACT);

	if (s != NULL)
		evbuffer_add_printf(buf, "%s\n", s);
	free(s);
	json_decref(doc);
	backup_reply(req, code, "application/json", buf);
	evbuffer_free(buf);
}

/* Forget the job: the copy, the file, the connection's callback. */
static void
backup_end(void)
{
	if (job == NULL)
		return;
	if (job->req != NULL)
		evhttp_connection_set_closecb(job->evcon, NULL, NULL);
	store_backup_free(job->b);
	unlink(job->path);
	event_free(job->ev);
	free(job->path);
	free(job);
	job = NULL;
}

/* The client went away: stop at the next step. */
static void
backup_closed(struct evhttp_connection *evcon, void *arg)
{
	if (job != NULL && job == arg)
		job->req = NULL;
}

/* The copy is complete: send it. */
static void
backup_send(void)
{
	struct evbuffer *buf;
	struct stat sb;
	int fd;

	if ((fd = open(job->path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		log_warnx("backup: %s: %s", job->path, strerror(errno));
		if (fd != -1)
			close(fd);
		backup_error(job->req, 500, "backup: cannot read the copy");
		return;
	}
	buf = evbuffer_new();
	if (sb.st_size == 0 ||
	    evbuffer_add_file(buf, fd, 0, sb.st_size) == -1) {
		close(fd);
		evbuffer_free(buf);
		backup_error(job->req, 500, "backup: empty copy");
		return;
	}
	log_info("backup: %lld bytes sent", (long long)sb.st_size);
	evhttp_connection_set_closecb(job->evcon, NULL, NULL);
	backup_reply(job->req, 200, "application/vnd.sqlite3", buf);
	job->req = NULL;
	evbuffer_free(buf);
}

/* One bounded step of the copy. */
static void
backup_step(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, BACKUP_PAUSE_MS * 1000 };
	char *cause = NULL;
	int rc;

	if (job->req == NULL) {
		log_warnx("backup: the client left before the copy was done");
		backup_end();
		return;
	}
	rc = store_backup_step(job->b, BACKUP_PAGES, &cause);
	if (rc == 0) {
		evtimer_add(job->ev, &tv);
		return;
	}
	if (rc == -1) {
		log_warnx("%s", cause);
		backup_error(job->req, 500, cause);
		free(cause);
		job->req = NULL;
	} else
		backup_send();
	backup_end();
}

void
backup_serve(struct sopd *sd, struct evhttp_request *req)
{
	static unsigned seq;
	struct timeval tv = { 0, 0 };
	char *cause = NULL;

	if (job != NULL) {
		backup_error(req, 503, "a backup is already running");
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->req = req;
	job->evcon = evhttp_request_get_connection(req);
	xasprintf(&job->path, "%s/.backup-%ld-%u.db", sd->cfg->state_dir,
	    (long)getpid(), seq++);
	unlink(job->path);
	if ((job->b = store_backup_start(incidents_store(sd->incidents),
		 job->path, &cause)) == NULL ||
	    (job->ev = evtimer_new(sd->base, backup_step, NULL)) == NULL) {
		log_warnx("backup: %s", cause != NULL ? cause : "no timer");
		backup_error(req, 500, "backup: cannot create the copy");
		free(cause);
		job->req = NULL;
		backup_end();
		return;
	}
	evhttp_connection_set_closecb(job->evcon, backup_closed, job);
	evtimer_add(job->ev, &tv);
}

void
backup_stop(void)
{
	if (job != NULL && job->req != NULL) {
		backup_error(job->req, 503, "sopd is stopping");
		job->req = NULL;
	}
	backup_end();
}
