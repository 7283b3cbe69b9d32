/* keytab.h: a bounded table keyed by (rule, key) that forgets the least recently used. */
#ifndef SOPD_KEYTAB_H
#define SOPD_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

/*
 * The caller's struct embeds a struct keytab_entry and gets back to itself
 * with keytab_item().  The table copies rule and key, keeps the entries in
 * a hash (growing with them) and in a list from least to most recently
 * used, and never holds more than max: inserting at the bound first
 * evicts the least recently used entry (counted in keytab_evicted).  The
 * free callback is called for every entry the table lets go of (removed,
 * evicted, or at keytab_free), after its rule and key were freed.
 */
struct keytab_entry {
	char *rule;
	char *key;
	uint64_t hash;
	struct keytab_entry *hnext;
	struct keytab_entry *lprev; /* less recently used */
	struct keytab_entry *lnext; /* more recently used */
};

#define keytab_item(e, type, member) \
	((type *)(void *)((char *)(e)-offsetof(type, member)))

/* Flags of keytab_new. */
#define KEYTAB_CASEFOLD 0x1 /* keys compare ignoring ASCII case (hosts) */

struct keytab;
typedef void (*keytab_free_cb)(struct keytab_entry *, void *arg);

struct keytab *keytab_new(size_t max, int flags, keytab_free_cb, void *arg);
void keytab_free(struct keytab *);
/* Change the bound, evicting the least recently used down to it. */
void keytab_set_max(struct keytab *, size_t max);
size_t keytab_max(const struct keytab *);
/* The 64-bit hash the table gives (rule, key); stable across runs. */
uint64_t keytab_hash(const struct keytab *, const char *rule, const char *key);
struct keytab_entry *keytab_find(struct keytab *, const char *rule,
    const char *key);
/* An entry with this hash (for ids kept elsewhere), or NULL. */
struct keytab_entry *keytab_find_hash(struct keytab *, uint64_t hash);
/* Add e (not in the table) as the most recently used, evicting at the bound. */
void keytab_insert(struct keytab *, struct keytab_entry *e, const char *rule,
    const char *key);
/* Mark e the most recently used. */
void keytab_touch(struct keytab *, struct keytab_entry *);
/* Take e out of the table and hand it to the free callback. */
void keytab_remove(struct keytab *, struct keytab_entry *);
/* Iterate from the least recently used: first, then next until NULL. */
struct keytab_entry *keytab_first(const struct keytab *);
struct keytab_entry *keytab_next(const struct keytab_entry *);
size_t keytab_count(const struct keytab *);
uint64_t keytab_evicted(const struct keytab *);

#endif
