/* flap.c: a bounded table of recent open/clear cycle times per key. */
#include "flap.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define FLAP_BUCKETS	1024

/* The recent cycles of one (rule, key). */
struct flap {
	char		*rule;
	char		*key;
	uint32_t	 hash;
	int64_t		*ts;		/* ring, oldest at head */
	unsigned	 cap;
	unsigned	 n;
	unsigned	 head;
	struct flap	*hnext;
	struct flap	*lprev;		/* least recently cycled first */
	struct flap	*lnext;
};

struct flaps {
	struct flap	*b[FLAP_BUCKETS];
	struct flap	*lhead;
	struct flap	*ltail;
	size_t		 n;
	size_t		 max;
	uint64_t	 evicted;
};

/* FNV-1a over rule, a NUL and key. */
static uint32_t
flaps_hash(const char *rule, const char *key)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)rule; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	h *= 16777619u;
	for (p = (const unsigned char *)key; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

/* A table for at most max keys (at least 1). */
struct flaps *
flaps_new(size_t max)
{
	struct flaps *fs = xcalloc(1, sizeof(*fs));

	fs->max = max > 0 ? max : 1;
	return fs;
}

/* The entry of (rule, key), or NULL. */
static struct flap *
flaps_find(struct flaps *fs, const char *rule, const char *key, uint32_t h)
{
	struct flap *f;

	for (f = fs->b[h % FLAP_BUCKETS]; f != NULL; f = f->hnext)
		if (f->hash == h && strcmp(f->key, key) == 0 &&
		    strcmp(f->rule, rule) == 0)
			return f;
	return NULL;
}

/* Take an entry out of the LRU list. */
static void
flaps_unlink(struct flaps *fs, struct flap *f)
{
	if (f->lprev != NULL)
		f->lprev->lnext = f->lnext;
	else
		fs->lhead = f->lnext;
	if (f->lnext != NULL)
		f->lnext->lprev = f->lprev;
	else
		fs->ltail = f->lprev;
	f->lprev = f->lnext = NULL;
}

/* Put an entry at the recent end of the LRU list. */
static void
flaps_link(struct flaps *fs, struct flap *f)
{
	f->lprev = fs->ltail;
	if (fs->ltail != NULL)
		fs->ltail->lnext = f;
	else
		fs->lhead = f;
	fs->ltail = f;
}

/* Free one entry. */
static void
flaps_drop(struct flaps *fs, struct flap *f)
{
	struct flap **pp;

	for (pp = &fs->b[f->hash % FLAP_BUCKETS]; *pp != f; pp = &(*pp)->hnext)
		;
	*pp = f->hnext;
	flaps_unlink(fs, f);
	fs->n--;
	free(f->rule);
	free(f->key);
	free(f->ts);
	free(f);
}

/* Free the table. */
void
flaps_free(struct flaps *fs)
{
	if (fs == NULL)
		return;
	while (fs->lhead != NULL)
		flaps_drop(fs, fs->lhead);
	free(fs);
}

/* A new entry, evicting the least recently cycled key when full. */
static struct flap *
flaps_add(struct flaps *fs, const char *rule, const char *key, uint32_t h)
{
	struct flap *f;

	while (fs->n >= fs->max && fs->lhead != NULL) {
		flaps_drop(fs, fs->lhead);
		fs->evicted++;
	}
	f = xcalloc(1, sizeof(*f));
	f->rule = xstrdup(rule);
	f->key = xstrdup(key);
	f->hash = h;
	f->hnext = fs->b[h % FLAP_BUCKETS];
	fs->b[h % FLAP_BUCKETS] = f;
	flaps_link(fs, f);
	fs->n++;
	return f;
}

/* Record the end of one cycle at t. */
void
flaps_cycle(struct flaps *fs, const char *rule, const char *key, int64_t t,
    unsigned keep)
{
	uint32_t h = flaps_hash(rule, key);
	struct flap *f;

	keep = keep < 1 ? 1 : keep > FLAP_MAX_CYCLES ? FLAP_MAX_CYCLES : keep;
	if ((f = flaps_find(fs, rule, key, h)) == NULL)
		f = flaps_add(fs, rule, key, h);
	else {
		flaps_unlink(fs, f);
		flaps_link(fs, f);
	}
	if (f->cap != keep) {
		free(f->ts);
		f->ts = xcalloc(keep, sizeof(*f->ts));
		f->cap = keep;
		f->n = f->head = 0;
	}
	if (f->n < f->cap)
		f->ts[(f->head + f->n++) % f->cap] = t;
	else {
		f->ts[f->head] = t;
		f->head = (f->head + 1) % f->cap;
	}
}

/* Cycles of (rule, key) that ended in (t - within, t]. */
unsigned
flaps_recent(struct flaps *fs, const char *rule, const char *key, int64_t t,
    long long within)
{
	struct flap *f;
	unsigned i, n = 0;
	int64_t c;

	if ((f = flaps_find(fs, rule, key, flaps_hash(rule, key))) == NULL)
		return 0;
	for (i = 0; i < f->n; i++) {
		c = f->ts[(f->head + i) % f->cap];
		if (c > t - within && c <= t)
			n++;
	}
	return n;
}

/* Forget a key. */
void
flaps_forget(struct flaps *fs, const char *rule, const char *key)
{
	struct flap *f;

	if ((f = flaps_find(fs, rule, key, flaps_hash(rule, key))) != NULL)
		flaps_drop(fs, f);
}

/* Keys tracked. */
size_t
flaps_count(const struct flaps *fs)
{
	return fs->n;
}

/* Keys forgotten because the table was full. */
uint64_t
flaps_evicted(const struct flaps *fs)
{
	return fs->evicted;
}
