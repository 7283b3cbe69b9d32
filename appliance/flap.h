/* flap.h: recent open/clear cycles per (rule, key), to detect flapping. */
#ifndef SOPD_FLAP_H
#define SOPD_FLAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * A cycle is one incident of (rule, key) opened and then resolved by its
 * clear condition.  The table keeps the times of the last cycles of each
 * key (at most FLAP_MAX_CYCLES) for at most max keys; beyond that the
 * least recently cycled key is forgotten (counted in flaps_evicted).
 */
#define FLAP_MAX_CYCLES 1000

struct flaps;

struct flaps *flaps_new(size_t max);
void flaps_free(struct flaps *);
/* Record that a cycle of (rule, key) ended at t; keep the last keep. */
void flaps_cycle(struct flaps *, const char *rule, const char *key, int64_t t,
    unsigned keep);
/* How many recorded cycles of (rule, key) ended within (t - within, t]. */
unsigned flaps_recent(struct flaps *, const char *rule, const char *key,
    int64_t t, long long within);
/* Forget (rule, key). */
void flaps_forget(struct flaps *, const char *rule, const char *key);
size_t flaps_count(const struct flaps *);
uint64_t flaps_evicted(const struct flaps *);

#endif
