/* flap.c: a bounded table of recent open/clear cycle times per key. */
#include "flap.h"

#include <stdlib.h>

#include "keytab.h"
#include "xmalloc.h"

/* The recent cycles of one (rule, key). */
struct flap {
	struct keytab_entry ent;
	int64_t *ts; /* ring, oldest at head */
	unsigned cap;
	unsigned n;
	unsigned head;
};

struct flaps {
	struct keytab *kt;
};

/* Free one entry the table let go of. */
static void
flaps_free_cb(struct keytab_entry *e, void *arg)
{
	struct flap *f = keytab_item(e, struct flap, ent);

	free(f->ts);
	free(f);
}

/* A table for at most max keys (at least 1). */
struct flaps *
flaps_new(size_t max)
{
	struct flaps *fs = xcalloc(1, sizeof(*fs));

	fs->kt = keytab_new(max, 0, flaps_free_cb, NULL);
	return fs;
}

/* The entry of (rule, key), or NULL. */
static struct flap *
flaps_find(struct flaps *fs, const char *rule, const char *key)
{
	struct keytab_entry *e = keytab_find(fs->kt, rule, key);

	return e != NULL ? keytab_item(e, struct flap, ent) : NULL;
}

/* Free the table. */
void
flaps_free(struct flaps *fs)
{
	if (fs == NULL)
		return;
	keytab_free(fs->kt);
	free(fs);
}

/* Record the end of one cycle at t. */
void
flaps_cycle(struct flaps *fs, const char *rule, const char *key, int64_t t,
    unsigned keep)
{
	struct flap *f;

	keep = keep < 1 ? 1 : keep > FLAP_MAX_CYCLES ? FLAP_MAX_CYCLES : keep;
	if ((f = flaps_find(fs, rule, key)) == NULL) {
		f = xcalloc(1, sizeof(*f));
		keytab_insert(fs->kt, &f->ent, rule, key);
	} else
		keytab_touch(fs->kt, &f->ent);
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

	if ((f = flaps_find(fs, rule, key)) == NULL)
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

	if ((f = flaps_find(fs, rule, key)) != NULL)
		keytab_remove(fs->kt, &f->ent);
}

/* Keys tracked. */
size_t
flaps_count(const struct flaps *fs)
{
	return keytab_count(fs->kt);
}

/* Keys forgotten because the table was full. */
uint64_t
flaps_evicted(const struct flaps *fs)
{
	return keytab_evicted(fs->kt);
}
