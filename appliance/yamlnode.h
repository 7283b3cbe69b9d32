/* yamlnode.h: a YAML document as a tree of nodes that know their file:line:col. */
#ifndef SOPD_YAMLNODE_H
#define SOPD_YAMLNODE_H

#include <stddef.h>

#include <jansson.h>

#include "errlist.h"

enum ynode_type {
	YNODE_SCALAR,
	YNODE_MAP,
	YNODE_SEQ
};

struct ynode {
	enum ynode_type type;
	int line;    /* 1-based */
	int col;     /* 1-based */
	int plain;   /* scalar was unquoted */
	char *value; /* scalar text */
	/* MAP: keys[i] -> items[i]; SEQ: items[i]. */
	struct ynode **keys;
	struct ynode **items;
	size_t n;
};


/* Parse a file (or a string when text != NULL) into a tree; NULL on error. */
struct ynode *ynode_load(const char *file, const char *text, size_t len,
    struct errlist *);
void ynode_free(struct ynode *);

/* Lookup helpers; NULL when absent or not of the wanted type. */
struct ynode *ynode_get(const struct ynode *map, const char *key);
const char *ynode_str(const struct ynode *map, const char *key);

/* Scalar conversions; return -1 and add an error on failure. */
int ynode_int(const struct ynode *, const char *file, long long min,
    long long max, long long *out, struct errlist *);
int ynode_bool(const struct ynode *, const char *file, int *out,
    struct errlist *);
/* Parse a duration such as "90", "30s", "5m", "1h", "2d"; -1 on error. */
int ynode_duration(const struct ynode *, const char *file, long long *secs,
    struct errlist *);

/*
 * A node as JSON (scalars strings, maps objects in their order, sequences
 * arrays); ynode_json_text gives it as compact text (NULL for NULL).
 */
json_t *ynode_json(const struct ynode *);
char *ynode_json_text(const struct ynode *);

#endif
