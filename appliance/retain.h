/* retain.h: resolved incidents are kept for store.retention, then pruned. */
#ifndef SOPD_RETAIN_H
#define SOPD_RETAIN_H

struct sopd;
struct retain;

/*
 * A pass a few seconds after start and every hour: resolved incidents
 * (with their events and history) and window records older than
 * store.retention are deleted, then the freed pages are given back to
 * the file system; each in small steps with the loop free in between.
 */
struct retain *retain_start(struct sopd *);
void retain_free(struct retain *);

#endif
