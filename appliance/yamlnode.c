/* yamlnode.c: load YAML with libyaml into a tree that remembers positions. */
#include "yamlnode.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "xmalloc.h"

#define YNODE_MAX_DEPTH 64
#define YNODE_MAX_FILE	(16 * 1024 * 1024)


/* A new node positioned at a libyaml mark. */
static struct ynode *
ynode_new(enum ynode_type type, const yaml_mark_t *m)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

/* Free a tree. */
void
ynode_free(struct ynode *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++) {
		if (n->keys != NULL)
			ynode_free(n->keys[i]);
		ynode_free(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n->value);
	free(n);
}

/* Add a child (and key for maps). */
static void
ynode_push(struct ynode *parent, struct ynode *key, struct ynode *item)
{
	parent->items =
	    xreallocarray(parent->items, parent->n + 1, sizeof(*parent->items));
	if (parent->type == YNODE_MAP) {
		parent->keys = xreallocarray(parent->keys, parent->n + 1,
		    sizeof(*parent->keys));
		parent->keys[parent->n] = key;
	}
	parent->items[parent->n++] = item;
}

struct yparse {
	yaml_parser_t p;
	const char *file;
	struct errlist *errs;
};

static struct ynode *ynode_parse(struct yparse *, yaml_event_t *, int);

/* Report the parser's own error. */
static void
ynode_parser_error(struct yparse *yp)
{
	errlist_add(yp->errs, yp->file, (int)yp->p.problem_mark.line + 1,
	    (int)yp->p.problem_mark.column + 1, "YAML syntax error: %s%s%s",
	    yp->p.problem ? yp->p.problem : "invalid document",
	    yp->p.context ? " " : "", yp->p.context ? yp->p.context : "");
}

/* Parse a map or sequence body until its end event. */
static struct ynode *
ynode_parse_collection(struct yparse *yp, struct ynode *n, int depth)
{
	yaml_event_t ev;
	struct ynode *key = NULL, *item;

	for (;;) {
		if (!yaml_parser_parse(&yp->p, &ev)) {
			ynode_parser_error(yp);
			goto fail;
		}
		if (ev.type == YAML_MAPPING_END_EVENT ||
		    ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return n;
		}
		item = ynode_parse(yp, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (item == NULL)
			goto fail;
		if (n->type == YNODE_SEQ) {
			ynode_push(n, NULL, item);
			continue;
		}
		if (key == NULL) {
			if (item->type != YNODE_SCALAR) {
				errlist_add(yp->errs, yp->file, item->line,
				    item->col, "a map key must be a scalar");
				ynode_free(item);
				goto fail;
			}
			key = item;
			continue;
		}
		if (ynode_get(n, key->value) != NULL)
			errlist_add(yp->errs, yp->file, key->line, key->col,
			    "duplicate key \"%s\"", key->value);
		ynode_push(n, key, item);
		key = NULL;
	}
fail:
	ynode_free(key);
	ynode_free(n);
	return NULL;
}

/* Turn one event (and what follows it) into a node. */
static struct ynode *
ynode_parse(struct yparse *yp, yaml_event_t *ev, int depth)
{
	struct ynode *n;

	if (depth > YNODE_MAX_DEPTH) {
		errlist_add(yp->errs, yp->file, (int)ev->start_mark.line + 1,
		    (int)ev->start_mark.column + 1, "nesting too deep");
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = ynode_new(YNODE_SCALAR, &ev->start_mark);
		n->value = xstrndup((const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return n;
	case YAML_MAPPING_START_EVENT:
		n = ynode_new(YNODE_MAP, &ev->start_mark);
		return ynode_parse_collection(yp, n, depth);
	case YAML_SEQUENCE_START_EVENT:
		n = ynode_new(YNODE_SEQ, &ev->start_mark);
		return ynode_parse_collection(yp, n, depth);
	case YAML_ALIAS_EVENT:
		errlist_add(yp->errs, yp->file, (int)ev->start_mark.line + 1,
		    (int)ev->start_mark.column + 1,
		    "YAML aliases are not supported");
		return NULL;
	default:
		errlist_add(yp->errs, yp->file, (int)ev->start_mark.line + 1,
		    (int)ev->start_mark.column + 1, "unexpected YAML event");
		return NULL;
	}
}

/*
 * Open a configuration file: only a regular file, which nobody but its
 * owner and group may write (a FIFO or a device never blocks nor feeds an
 * endless read; a world-writable file would let any local user change what
 * sopd alerts on and runs).  The open never blocks (O_NONBLOCK).
 */
static int
ynode_open(const char *file, struct errlist *errs)
{
	struct stat st;
	int fd;

	if ((fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		errlist_add(errs, file, 0, 0, "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		errlist_add(errs, file, 0, 0, "cannot stat: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errlist_add(errs, file, 0, 0, "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		errlist_add(errs, file, 0, 0,
		    "writable by anyone (mode %04o): "
		    "refused",
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

/* Read a whole file into memory, bounded. */
static char *
ynode_read_file(const char *file, size_t *len, struct errlist *errs)
{
	FILE *fp;
	char *buf;
	long sz;
	int fd;

	if ((fd = ynode_open(file, errs)) == -1)
		return NULL;
	if ((fp = fdopen(fd, "rb")) == NULL) {
		errlist_add(errs, file, 0, 0, "cannot open: %s",
		    strerror(errno));
		close(fd);
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 ||
	    sz > YNODE_MAX_FILE || fseek(fp, 0, SEEK_SET) != 0) {
		errlist_add(errs, file, 0, 0,
		    "cannot read (or larger than "
		    "%d bytes)",
		    YNODE_MAX_FILE);
		fclose(fp);
		return NULL;
	}
	buf = xmalloc((size_t)sz + 1);
	*len = fread(buf, 1, (size_t)sz, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

/* Load a YAML file (or text) as one document; an empty one is an empty map. */
struct ynode *
ynode_load(const char *file, const char *text, size_t len, struct errlist *errs)
{
	struct yparse yp = { .file = file, .errs = errs };
	yaml_event_t ev;
	struct ynode *root = NULL;
	char *buf = NULL;
	size_t nerr = errs->n;
	yaml_mark_t zero = { 0, 0, 0 };

	if (text == NULL) {
		if ((buf = ynode_read_file(file, &len, errs)) == NULL)
			return NULL;
		text = buf;
	}
	yaml_parser_initialize(&yp.p);
	yaml_parser_set_input_string(&yp.p, (const unsigned char *)text, len);
	for (;;) {
		if (!yaml_parser_parse(&yp.p, &ev)) {
			ynode_parser_error(&yp);
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT ||
		    ev.type == YAML_DOCUMENT_START_EVENT ||
		    ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (root != NULL) {
			errlist_add(errs, file, (int)ev.start_mark.line + 1,
			    (int)ev.start_mark.column + 1,
			    "only one YAML document is allowed");
			yaml_event_delete(&ev);
			break;
		}
		root = ynode_parse(&yp, &ev, 0);
		yaml_event_delete(&ev);
		if (root == NULL)
			break;
	}
	yaml_parser_delete(&yp.p);
	free(buf);
	if (errs->n != nerr) {
		ynode_free(root);
		return NULL;
	}
	if (root == NULL)
		root = ynode_new(YNODE_MAP, &zero);
	return root;
}

/* The value of key in a map, or NULL. */
struct ynode *
ynode_get(const struct ynode *map, const char *key)
{
	size_t i;

	if (map == NULL || map->type != YNODE_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->value, key) == 0)
			return map->items[i];
	return NULL;
}

/* The scalar text of key in a map, or NULL. */
const char *
ynode_str(const struct ynode *map, const char *key)
{
	struct ynode *n = ynode_get(map, key);

	if (n == NULL || n->type != YNODE_SCALAR)
		return NULL;
	return n->value;
}

/* A scalar as an integer within [min, max]. */
int
ynode_int(const struct ynode *n, const char *file, long long min, long long max,
    long long *out, struct errlist *errs)
{
	char *end;
	long long v;

	if (n == NULL || n->type != YNODE_SCALAR) {
		if (n != NULL)
			errlist_add(errs, file, n->line, n->col,
			    "expected an integer");
		return -1;
	}
	errno = 0;
	v = strtoll(n->value, &end, 10);
	if (errno != 0 || end == n->value || *end != '\0' || v < min ||
	    v > max) {
		errlist_add(errs, file, n->line, n->col,
		    "expected an integer between %lld and %lld, not \"%s\"",
		    min, max, n->value);
		return -1;
	}
	*out = v;
	return 0;
}

/* A scalar as a boolean (true/false/yes/no/on/off). */
int
ynode_bool(const struct ynode *n, const char *file, int *out,
    struct errlist *errs)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };
	size_t i;

	if (n != NULL && n->type == YNODE_SCALAR) {
		for (i = 0; i < 4; i++) {
			if (strcasecmp(n->value, yes[i]) == 0) {
				*out = 1;
				return 0;
			}
			if (strcasecmp(n->value, no[i]) == 0) {
				*out = 0;
				return 0;
			}
		}
	}
	if (n != NULL)
		errlist_add(errs, file, n->line, n->col,
		    "expected true or false");
	return -1;
}

/* A scalar as a duration in seconds: plain number or with s/m/h/d. */
int
ynode_duration(const struct ynode *n, const char *file, long long *secs,
    struct errlist *errs)
{
	char *end;
	long long v, mul = 1;

	if (n == NULL || n->type != YNODE_SCALAR)
		goto bad;
	errno = 0;
	v = strtoll(n->value, &end, 10);
	if (errno != 0 || end == n->value || v < 0)
		goto bad;
	if (*end == 's')
		mul = 1, end++;
	else if (*end == 'm')
		mul = 60, end++;
	else if (*end == 'h')
		mul = 3600, end++;
	else if (*end == 'd')
		mul = 86400, end++;
	if (*end != '\0' || v > 100LL * 365 * 86400 / mul)
		goto bad;
	*secs = v * mul;
	return 0;
bad:
	if (n != NULL)
		errlist_add(errs, file, n->line, n->col,
		    "expected a duration such as 30s, 5m, 1h or 2d");
	return -1;
}

/* A node as JSON (see yamlnode.h). */
json_t *
ynode_json(const struct ynode *n)
{
	json_t *v;
	size_t i;

	if (n == NULL)
		return json_null();
	switch (n->type) {
	case YNODE_SCALAR:
		v = json_string(n->value != NULL ? n->value : "");
		return v != NULL ? v : json_string("?");
	case YNODE_MAP:
		v = json_object();
		for (i = 0; i < n->n; i++)
			json_object_set_new(v,
			    n->keys[i]->value != NULL ? n->keys[i]->value : "",
			    ynode_json(n->items[i]));
		return v;
	case YNODE_SEQ:
		v = json_array();
		for (i = 0; i < n->n; i++)
			json_array_append_new(v, ynode_json(n->items[i]));
		return v;
	}
	return json_null();
}

char *
ynode_json_text(const struct ynode *n)
{
	json_t *v;
	char *s;

	if (n == NULL)
		return NULL;
	v = ynode_json(n);
	s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	return s;
}
