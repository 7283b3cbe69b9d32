/* privdrop.c: leave root for the configured user once every port is bound. */
#include "privdrop.h"

#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

/* Who to become: filled from the passwd and group databases. */
struct privdrop_id {
	char name[256];
	uid_t uid;
	gid_t gid;
};

/* The files sopd keeps directly under state_dir (store.c's database). */
static const char *const privdrop_state_files[] = { "sopd.db", "sopd.db-wal",
	"sopd.db-shm", "sopd.db-journal", "sopd.db-walsalt", NULL };

/* The user switched to; NULL until privdrop_drop switched. */
static char *privdrop_name;

/* Look the config's user and group up; -1 with cause when unknown. */
static int
privdrop_lookup(const struct config *cfg, struct privdrop_id *id, char **cause)
{
	struct passwd *pw;
	struct group *gr;

	errno = 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		xasprintf(cause, "unknown user \"%s\"%s%s", cfg->user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	snprintf(id->name, sizeof(id->name), "%s", pw->pw_name);
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	if (cfg->group == NULL)
		return 0;
	errno = 0;
	if ((gr = getgrnam(cfg->group)) == NULL) {
		xasprintf(cause, "unknown group \"%s\"%s%s", cfg->group,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	id->gid = gr->gr_gid;
	return 0;
}

/* Whether this process already is that user (and group, if one is named). */
static int
privdrop_is_self(const struct config *cfg, const struct privdrop_id *id)
{
	if (id->uid != getuid() || id->uid != geteuid())
		return 0;
	if (cfg->group != NULL && (id->gid != getgid() || id->gid != getegid()))
		return 0;
	return 1;
}

/* Check that user: and group: can be taken; see privdrop.h. */
int
privdrop_check(const struct config *cfg, char **cause)
{
	struct privdrop_id id;

	if (cfg->user == NULL)
		return 0;
	if (privdrop_lookup(cfg, &id, cause) == -1)
		return -1;
	if (geteuid() == 0 || privdrop_is_self(cfg, &id))
		return 0;
	if (id.uid != getuid() || id.uid != geteuid())
		xasprintf(cause,
		    "cannot switch to user %s: not running as root", cfg->user);
	else
		xasprintf(cause,
		    "cannot switch to group %s: not running as "
		    "root",
		    cfg->group);
	return -1;
}

/*
 * Give one entry of an open directory to the user. Only regular files with
 * a single link are changed: never follow a symlink or a hard link that the
 * unprivileged user may have planted to reach a file of root's.
 */
static int
privdrop_chown_at(int dfd, const char *dir, const char *name,
    const struct privdrop_id *id, char **cause)
{
	struct stat sb;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "%s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
		xasprintf(cause,
		    "%s/%s: not a plain file; not handing it to "
		    "user %s",
		    dir, name, id->name);
		return -1;
	}
	if (sb.st_uid == id->uid && sb.st_gid == id->gid)
		return 0;
	if (fchownat(dfd, name, id->uid, id->gid, AT_SYMLINK_NOFOLLOW) == -1) {
		xasprintf(cause, "chown %s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Open a directory and give it to the user. state_dir itself may be a
 * symlink the administrator made; inside it (the user's) none is followed.
 */
static int
privdrop_chown_dir(int at, const char *path, const struct privdrop_id *id,
    char **cause)
{
	int fd, nofollow = at == AT_FDCWD ? 0 : O_NOFOLLOW;

	fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | nofollow);
	if (fd == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fchown(fd, id->uid, id->gid) == -1) {
		xasprintf(cause, "chown %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Give <state_dir>/snmp/NAME, a directory net-snmp made, to the user. */
static int
privdrop_chown_subdir(int sfd, const char *name, const struct privdrop_id *id,
    char **cause)
{
	int fd;

	if (faccessat(sfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if ((fd = privdrop_chown_dir(sfd, name, id, cause)) == -1)
		return -1;
	close(fd);
	return 0;
}

/*
 * Hand state_dir, the database files and the SNMP engine file to the user,
 * so that what sopd creates there later (-wal, -shm, engine) is its own.
 */
static int
privdrop_chown_state(const struct config *cfg, const struct privdrop_id *id,
    char **cause)
{
	const char *dir = cfg->state_dir;
	char *sub = NULL;
	int dfd, sfd = -1, rc = -1;
	size_t i;

	if ((dfd = privdrop_chown_dir(AT_FDCWD, dir, id, cause)) == -1)
		return -1;
	for (i = 0; privdrop_state_files[i] != NULL; i++) {
		if (privdrop_chown_at(dfd, dir, privdrop_state_files[i], id,
			cause) == -1)
			goto out;
	}
	xasprintf(&sub, "%s/snmp", dir);
	if (faccessat(dfd, "snmp", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if ((sfd = privdrop_chown_dir(dfd, "snmp", id, cause)) == -1)
			goto out;
		if (privdrop_chown_at(sfd, sub, "engine", id, cause) == -1 ||
		    privdrop_chown_subdir(sfd, "cert_indexes", id, cause) == -1)
			goto out;
	}
	rc = 0;
out:
	if (sfd != -1)
		close(sfd);
	close(dfd);
	free(sub);
	return rc;
}

/* Take the user's groups, gid and uid (real, effective, saved and fs). */
static int
privdrop_switch(const struct privdrop_id *id, char **cause)
{
	if (initgroups(id->name, id->gid) == -1) {
		xasprintf(cause, "initgroups %s: %s", id->name,
		    strerror(errno));
		return -1;
	}
	if (setresgid(id->gid, id->gid, id->gid) == -1) {
		xasprintf(cause, "setresgid %u: %s", (unsigned)id->gid,
		    strerror(errno));
		return -1;
	}
	if (setresuid(id->uid, id->uid, id->uid) == -1) {
		xasprintf(cause, "setresuid %u: %s", (unsigned)id->uid,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Check one "Uid:" or "Gid:" line of /proc/self/status: all four ids. */
static int
privdrop_status_ids(const char *line, unsigned want)
{
	unsigned r, e, s, f;

	if (sscanf(line, "%*s %u %u %u %u", &r, &e, &s, &f) != 4)
		return 0;
	return r == want && e == want && s == want && f == want;
}

/* What the kernel says: every uid and gid switched, no capability left. */
static int
privdrop_status(const struct privdrop_id *id, char **cause)
{
	char line[256];
	FILE *f;
	int seen = 0, bad = 0;
	unsigned long long caps;

	if ((f = fopen("/proc/self/status", "re")) == NULL) {
		log_warn("privdrop: /proc/self/status (capabilities not "
			 "checked)");
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Uid:", 4) == 0) {
			seen++;
			bad |= !privdrop_status_ids(line, id->uid);
		} else if (strncmp(line, "Gid:", 4) == 0) {
			seen++;
			bad |= !privdrop_status_ids(line, id->gid);
		} else if (strncmp(line, "CapEff:", 7) == 0 ||
		    strncmp(line, "CapPrm:", 7) == 0) {
			seen++;
			bad |=
			    sscanf(line + 7, "%llx", &caps) != 1 || caps != 0;
		}
	}
	fclose(f);
	if (seen == 4 && !bad)
		return 0;
	xasprintf(cause,
	    "still privileged after switching to %s "
	    "(/proc/self/status)",
	    id->name);
	return -1;
}

/* Make sure root cannot be regained. */
static int
privdrop_verify(const struct privdrop_id *id, char **cause)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != id->uid || eu != id->uid || su != id->uid || rg != id->gid ||
	    eg != id->gid || sg != id->gid) {
		xasprintf(cause, "ids did not change to %s", id->name);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 ||
	    (id->gid != 0 && setgid(0) != -1)) {
		xasprintf(cause, "root can be regained after switching to %s",
		    id->name);
		return -1;
	}
	return privdrop_status(id, cause);
}

/*
 * After the switch the kernel marks the process not dumpable; the leak
 * checker of sanitizer builds needs to ptrace its own threads at exit.
 */
static void
privdrop_sanitizer(void)
{
#if defined(__SANITIZE_ADDRESS__)
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
}

/* Warn when a file a reload reads is out of the user's reach. */
static void
privdrop_readable(const struct config *cfg)
{
	size_t i;

	if (access(cfg->file, R_OK) == -1)
		log_warn("%s: not readable by user %s: SIGHUP reloads will "
			 "fail",
		    cfg->file, privdrop_name);
	for (i = 0; i < cfg->nrule_paths; i++) {
		if (access(cfg->rule_paths[i], R_OK) == -1)
			log_warn("%s: not readable by user %s: SIGHUP reloads "
				 "will fail",
			    cfg->rule_paths[i], privdrop_name);
	}
}

/* Switch to the configured user for good; see privdrop.h. */
int
privdrop_drop(const struct config *cfg, char **cause)
{
	struct privdrop_id id;

	if (cfg->user == NULL)
		return 0;
	if (privdrop_lookup(cfg, &id, cause) == -1)
		return -1;
	if (privdrop_is_self(cfg, &id))
		return 0;
	if (geteuid() != 0) {
		xasprintf(cause,
		    "cannot switch to user %s: not running as root", cfg->user);
		return -1;
	}
	if (privdrop_chown_state(cfg, &id, cause) == -1 ||
	    privdrop_switch(&id, cause) == -1 ||
	    privdrop_verify(&id, cause) == -1)
		return -1;
	privdrop_sanitizer();
	privdrop_name = xstrdup(id.name);
	if (access(cfg->state_dir, R_OK | W_OK | X_OK) == -1) {
		xasprintf(cause, "%s: not reachable by user %s: %s",
		    cfg->state_dir, id.name, strerror(errno));
		return -1;
	}
	privdrop_readable(cfg);
	log_info("running as user %s (uid %u, gid %u)", id.name,
	    (unsigned)id.uid, (unsigned)id.gid);
	return 0;
}

/* The user sopd switched to, or NULL. */
const char *
privdrop_user(void)
{
	return privdrop_name;
}
