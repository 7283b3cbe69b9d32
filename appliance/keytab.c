/* keytab.c: a bounded (rule, key) hash table with a least-recently-used list. */
#include "keytab.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "xmalloc.h"

#define KEYTAB_MIN_BUCKETS 64

struct keytab {
	struct keytab_entry **b; /* power-of-two buckets */
	size_t nb;
	struct keytab_entry *lhead; /* least recently used */
	struct keytab_entry *ltail; /* most recently used */
	size_t n;
	size_t max;
	int flags;
	uint64_t evicted;
	keytab_free_cb free_cb;
	void *arg;
};

/* A table of at most max entries (at least 1). */
struct keytab *
keytab_new(size_t max, int flags, keytab_free_cb cb, void *arg)
{
	struct keytab *kt = xcalloc(1, sizeof(*kt));

	kt->max = max > 0 ? max : 1;
	kt->flags = flags;
	kt->free_cb = cb;
	kt->arg = arg;
	return kt;
}

/* FNV-1a 64 over rule, a NUL and key (key lowercased when folding case). */
uint64_t
keytab_hash(const struct keytab *kt, const char *rule, const char *key)
{
	uint64_t h;

	h = hash_byte(hash_str(HASH_INIT, rule), 0);
	if (kt->flags & KEYTAB_CASEFOLD)
		return hash_str_lower(h, key);
	return hash_str(h, key);
}

/* Whether e is (rule, key). */
static int
keytab_equal(const struct keytab *kt, const struct keytab_entry *e,
    const char *rule, const char *key)
{
	if (strcmp(e->rule, rule) != 0)
		return 0;
	if (kt->flags & KEYTAB_CASEFOLD)
		return strcasecmp(e->key, key) == 0;
	return strcmp(e->key, key) == 0;
}

/* The entry of (rule, key), or NULL. */
struct keytab_entry *
keytab_find(struct keytab *kt, const char *rule, const char *key)
{
	struct keytab_entry *e;
	uint64_t h;

	if (kt->b == NULL)
		return NULL;
	h = keytab_hash(kt, rule, key);
	for (e = kt->b[h & (kt->nb - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && keytab_equal(kt, e, rule, key))
			return e;
	return NULL;
}

/* The first entry with this hash, or NULL. */
struct keytab_entry *
keytab_find_hash(struct keytab *kt, uint64_t h)
{
	struct keytab_entry *e;

	if (kt->b == NULL)
		return NULL;
	for (e = kt->b[h & (kt->nb - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h)
			return e;
	return NULL;
}

/* Take an entry out of the list. */
static void
keytab_unlink(struct keytab *kt, struct keytab_entry *e)
{
	if (e->lprev != NULL)
		e->lprev->lnext = e->lnext;
	else
		kt->lhead = e->lnext;
	if (e->lnext != NULL)
		e->lnext->lprev = e->lprev;
	else
		kt->ltail = e->lprev;
	e->lprev = e->lnext = NULL;
}

/* Put an entry at the most recently used end of the list. */
static void
keytab_link(struct keytab *kt, struct keytab_entry *e)
{
	e->lprev = kt->ltail;
	e->lnext = NULL;
	if (kt->ltail != NULL)
		kt->ltail->lnext = e;
	else
		kt->lhead = e;
	kt->ltail = e;
}

/* Double the buckets (or make the first ones) and rehash every entry. */
static void
keytab_grow(struct keytab *kt)
{
	struct keytab_entry *e;
	size_t nb;

	nb = kt->nb == 0 ? KEYTAB_MIN_BUCKETS : kt->nb * 2;
	free(kt->b);
	kt->b = xcalloc(nb, sizeof(*kt->b));
	kt->nb = nb;
	for (e = kt->lhead; e != NULL; e = e->lnext) {
		e->hnext = kt->b[e->hash & (nb - 1)];
		kt->b[e->hash & (nb - 1)] = e;
	}
}

/* Take an entry out of the table and hand it to the free callback. */
void
keytab_remove(struct keytab *kt, struct keytab_entry *e)
{
	struct keytab_entry **pp;

	for (pp = &kt->b[e->hash & (kt->nb - 1)]; *pp != e; pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
	e->hnext = NULL;
	keytab_unlink(kt, e);
	kt->n--;
	free(e->rule);
	free(e->key);
	e->rule = e->key = NULL;
	if (kt->free_cb != NULL)
		kt->free_cb(e, kt->arg);
}

/* Evict the least recently used entries until fewer than limit are left. */
static void
keytab_evict(struct keytab *kt, size_t limit)
{
	while (kt->n > 0 && kt->n >= limit) {
		keytab_remove(kt, kt->lhead);
		kt->evicted++;
	}
}

/* Add an entry as the most recently used, evicting at the bound. */
void
keytab_insert(struct keytab *kt, struct keytab_entry *e, const char *rule,
    const char *key)
{
	keytab_evict(kt, kt->max);
	if (kt->n + 1 > kt->nb)
		keytab_grow(kt);
	e->rule = xstrdup(rule);
	e->key = xstrdup(key);
	e->hash = keytab_hash(kt, rule, key);
	e->hnext = kt->b[e->hash & (kt->nb - 1)];
	kt->b[e->hash & (kt->nb - 1)] = e;
	keytab_link(kt, e);
	kt->n++;
}

/* Mark an entry the most recently used. */
void
keytab_touch(struct keytab *kt, struct keytab_entry *e)
{
	if (kt->ltail == e)
		return;
	keytab_unlink(kt, e);
	keytab_link(kt, e);
}

/* Change the bound; entries beyond it are evicted, oldest first. */
void
keytab_set_max(struct keytab *kt, size_t max)
{
	kt->max = max > 0 ? max : 1;
	keytab_evict(kt, kt->max + 1);
}

/* The bound. */
size_t
keytab_max(const struct keytab *kt)
{
	return kt->max;
}

/* Free every entry (through the callback) and the table. */
void
keytab_free(struct keytab *kt)
{
	if (kt == NULL)
		return;
	while (kt->lhead != NULL)
		keytab_remove(kt, kt->lhead);
	free(kt->b);
	free(kt);
}

/* The least recently used entry, or NULL. */
struct keytab_entry *
keytab_first(const struct keytab *kt)
{
	return kt->lhead;
}

/* The entry used next after e, or NULL. */
struct keytab_entry *
keytab_next(const struct keytab_entry *e)
{
	return e->lnext;
}

/* Entries in the table. */
size_t
keytab_count(const struct keytab *kt)
{
	return kt->n;
}

/* Entries evicted because the table was full. */
uint64_t
keytab_evicted(const struct keytab *kt)
{
	return kt->evicted;
}
