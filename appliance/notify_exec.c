/* notify_exec.c: run a hook command (no shell) with the notice in its environment. */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "incident.h"
#include "log.h"
#include "notify_int.h"
#include "rules.h"
#include "xmalloc.h"

#define NOTIFY_EXEC_LINE_MAX 1024
#define NOTIFY_EXEC_OUTPUT_MAX \
	65536 /* logged per run; the rest is read and dropped */
#define NOTIFY_EXEC_ENV_MAX 48

/* The running hook of a target. */
struct notify_exec {
	pid_t pid; /* -1: none */
	int pidfd;
	int outfd; /* its stdout and stderr */
	struct event *exit_ev, *out_ev, *timer;
	struct evbuffer *line;
	size_t logged;
	int timed_out;
};

/* Add NAME=value to an environment under construction. */
static void
notify_exec_env(char **env, size_t *n, const char *name, const char *value)
{
	if (*n < NOTIFY_EXEC_ENV_MAX)
		xasprintf(&env[(*n)++], "%s=%s", name, value);
}

/* The hook's environment: a fixed PATH and the notice's fields. */
static char **
notify_exec_envp(const struct notify_target *t, const struct notify_msg *m)
{
	char **env = xcalloc(NOTIFY_EXEC_ENV_MAX + 1, sizeof(*env));
	char num[32], ts[40];
	size_t n = 0;

	notify_exec_env(env, &n, "PATH", "/usr/local/bin:/usr/bin:/bin");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)m->id);
	notify_exec_env(env, &n, "SOPD_INCIDENT_ID", num);
	notify_exec_env(env, &n, "SOPD_SEVERITY", severity_name(m->severity));
	notify_exec_env(env, &n, "SOPD_STATE", incident_state_name(m->state));
	notify_exec_env(env, &n, "SOPD_LEVEL", m->level);
	notify_exec_env(env, &n, "SOPD_INCIDENT_LEVEL", m->inc_level);
	notify_exec_env(env, &n, "SOPD_KIND", notify_kind_name(m->kind));
	notify_exec_env(env, &n, "SOPD_NOTIFICATION",
	    notify_notif_name(m->kind));
	snprintf(num, sizeof(num), "%d", m->step);
	notify_exec_env(env, &n, "SOPD_STEP", num);
	notify_exec_env(env, &n, "SOPD_HOST", m->host);
	notify_exec_env(env, &n, "SOPD_TITLE", m->title);
	notify_exec_env(env, &n, "SOPD_RULE", m->rule);
	notify_exec_env(env, &n, "SOPD_KEY", m->key);
	notify_exec_env(env, &n, "SOPD_WINDOW", m->in_window);
	notify_exec_env(env, &n, "SOPD_OWNER", m->owner);
	notify_exec_env(env, &n, "SOPD_IMPACT", m->impact);
	notify_exec_env(env, &n, "SOPD_WORKAROUND", m->workaround);
	notify_time(m->eta_us, ts, sizeof(ts));
	notify_exec_env(env, &n, "SOPD_ETA", ts);
	notify_exec_env(env, &n, "SOPD_LAST_NOTE", m->last_note);
	notify_exec_env(env, &n, "SOPD_LAST_EVENT", m->last_event);
	notify_exec_env(env, &n, "SOPD_LINK", m->link);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)m->count);
	notify_exec_env(env, &n, "SOPD_COUNT", num);
	notify_time(m->first_seen_us, ts, sizeof(ts));
	notify_exec_env(env, &n, "SOPD_FIRST_SEEN", ts);
	notify_time(m->last_seen_us, ts, sizeof(ts));
	notify_exec_env(env, &n, "SOPD_LAST_SEEN", ts);
	notify_time(m->next_escalation_us, ts, sizeof(ts));
	notify_exec_env(env, &n, "SOPD_NEXT_ESCALATION", ts);
	notify_time(m->at_us, ts, sizeof(ts));
	notify_exec_env(env, &n, "SOPD_AT", ts);
	notify_exec_env(env, &n, "SOPD_NOTE", m->note != NULL ? m->note : "");
	notify_exec_env(env, &n, "SOPD_IDEMPOTENCY_KEY", m->idem);
	notify_exec_env(env, &n, "SOPD_TARGET", t->c.name);
	if (m->kind == NOTICE_REPORT)
		notify_exec_env(env, &n, "SOPD_SUBJECT", m->title);
	return env;
}

/* Free a NULL-terminated string vector. */
static void
notify_exec_freev(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Log the complete lines of the hook's output (bounded per run). */
static void
notify_exec_lines(struct notify_target *t, struct notify_exec *x, int all)
{
	char *l;
	size_t len;

	while ((l = evbuffer_readln(x->line, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (x->logged < NOTIFY_EXEC_OUTPUT_MAX)
			log_info("notify %s: %.*s", t->c.name,
			    (int)(len > NOTIFY_EXEC_LINE_MAX ?
				    NOTIFY_EXEC_LINE_MAX :
				    len),
			    l);
		x->logged += len + 1;
		free(l);
	}
	len = evbuffer_get_length(x->line);
	if (len > 0 && (all || len > NOTIFY_EXEC_LINE_MAX)) {
		evbuffer_add(x->line, "\n", 1);
		notify_exec_lines(t, x, 0);
	}
}

/* Read what the hook printed. */
static void
notify_exec_out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify_target *t = arg;
	struct notify_exec *x = t->state;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		evbuffer_add(x->line, buf, (size_t)n);
		notify_exec_lines(t, x, 0);
	}
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		notify_exec_lines(t, x, 1);
		event_del(x->out_ev);
	}
}

/* Forget the finished hook's descriptors and events. */
static void
notify_exec_reset(struct notify_exec *x)
{
	if (x->exit_ev != NULL)
		event_free(x->exit_ev);
	if (x->out_ev != NULL)
		event_free(x->out_ev);
	if (x->timer != NULL)
		event_free(x->timer);
	x->exit_ev = x->out_ev = x->timer = NULL;
	if (x->pidfd != -1)
		close(x->pidfd);
	if (x->outfd != -1)
		close(x->outfd);
	x->pidfd = x->outfd = -1;
	x->pid = -1;
	evbuffer_drain(x->line, evbuffer_get_length(x->line));
}

/* The hook exited (or was killed): reap it and judge its status. */
static void
notify_exec_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify_target *t = arg;
	struct notify_exec *x = t->state;
	int status;
	char why[64];

	if (waitpid(x->pid, &status, WNOHANG) != x->pid)
		return;
	notify_exec_out_cb(x->outfd, EV_READ, t);
	notify_exec_lines(t, x, 1);
	if (x->timed_out)
		snprintf(why, sizeof(why), "timed out after %llds, killed",
		    t->c.timeout);
	else if (WIFEXITED(status))
		snprintf(why, sizeof(why), "exit status %d",
		    WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "killed by signal %d",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	notify_exec_reset(x);
	if (!x->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		notify_done(t, 1, NULL);
	else
		notify_done(t, 0, why);
}

/* The hook ran too long: kill its whole process group. */
static void
notify_exec_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify_target *t = arg;
	struct notify_exec *x = t->state;

	log_warnx("notify %s: %s timed out, killing it", t->c.name,
	    t->c.command);
	x->timed_out = 1;
	kill(-x->pid, SIGKILL);
}

/*
 * The hook's stdin: a report's text in an anonymous memory file (written
 * at once, never blocking on a reader), else /dev/null; -1 for /dev/null.
 */
static int
notify_exec_stdin(const struct notify_target *t, const struct notify_msg *m)
{
	size_t off, len;
	ssize_t w;
	int fd;

	if (m->body == NULL)
		return -1;
	if ((fd = memfd_create("sopd-report", MFD_CLOEXEC)) == -1) {
		log_warn("notify %s: memfd_create", t->c.name);
		return -1;
	}
	len = strlen(m->body);
	for (off = 0; off < len; off += (size_t)w) {
		if ((w = write(fd, m->body + off, len - off)) <= 0) {
			log_warn("notify %s: report text", t->c.name);
			close(fd);
			return -1;
		}
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* posix_spawn the hook in its own process group, output into a pipe. */
static int
notify_exec_spawn(struct notify_target *t, struct notify_exec *x, char **argv,
    char **envp, int out[2], int in)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int r;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	if (in != -1)
		posix_spawn_file_actions_adddup2(&fa, in, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
		    0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	/* Only stdin, stdout and stderr: no listener, database or pipe. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at,
	    POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
		POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	r = posix_spawn(&x->pid, t->c.command, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		log_warnx("notify %s: cannot run %s: %s", t->c.name,
		    t->c.command, strerror(r));
		x->pid = -1;
		return -1;
	}
	return 0;
}

/* Watch the child: exit through a pidfd, output, and the timeout. */
static int
notify_exec_watch(struct notify_target *t, struct notify_exec *x)
{
	struct timeval tv = { (time_t)t->c.timeout, 0 };

	if ((x->pidfd = pidfd_open(x->pid, 0)) == -1) {
		log_warn("notify %s: pidfd_open", t->c.name);
		kill(-x->pid, SIGKILL);
		waitpid(x->pid, NULL, 0);
		notify_exec_reset(x);
		return -1;
	}
	x->exit_ev = event_new(t->base, x->pidfd, EV_READ | EV_PERSIST,
	    notify_exec_exit_cb, t);
	x->out_ev = event_new(t->base, x->outfd, EV_READ | EV_PERSIST,
	    notify_exec_out_cb, t);
	x->timer = evtimer_new(t->base, notify_exec_timeout_cb, t);
	if (x->exit_ev == NULL || x->out_ev == NULL || x->timer == NULL)
		fatalx("notify: event_new failed");
	event_add(x->exit_ev, NULL);
	event_add(x->out_ev, NULL);
	evtimer_add(x->timer, &tv);
	return 0;
}

/* Start the hook for one notice. */
static int
notify_exec_start(struct notify_target *t, struct notify_msg *m)
{
	struct notify_exec *x = t->state;
	char **argv, **envp;
	int out[2], in, r;
	size_t i;

	if (x == NULL) {
		x = t->state = xcalloc(1, sizeof(*x));
		x->pid = -1;
		x->pidfd = x->outfd = -1;
		x->line = evbuffer_new();
	}
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("notify %s: pipe", t->c.name);
		return -1;
	}
	argv = xcalloc(t->c.nargs + 2, sizeof(*argv));
	argv[0] = xstrdup(t->c.command);
	for (i = 0; i < t->c.nargs; i++)
		argv[i + 1] = xstrdup(t->c.args[i]);
	envp = notify_exec_envp(t, m);
	in = notify_exec_stdin(t, m);
	r = notify_exec_spawn(t, x, argv, envp, out, in);
	if (in != -1)
		close(in);
	notify_exec_freev(argv);
	notify_exec_freev(envp);
	close(out[1]);
	x->outfd = out[0];
	x->timed_out = 0;
	x->logged = 0;
	if (r == -1) {
		notify_exec_reset(x);
		return -1;
	}
	return notify_exec_watch(t, x);
}

/* Kill a hook still running and free the state. */
static void
notify_exec_free(struct notify_target *t)
{
	struct notify_exec *x = t->state;

	if (x == NULL)
		return;
	if (x->pid != -1) {
		kill(-x->pid, SIGKILL);
		waitpid(x->pid, NULL, 0);
	}
	notify_exec_reset(x);
	evbuffer_free(x->line);
	free(x);
	t->state = NULL;
}

const struct notify_ops notify_exec_ops = {
	notify_exec_start,
	notify_exec_free,
};
