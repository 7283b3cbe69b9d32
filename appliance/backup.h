/* backup.h: GET /api/v1/backup, a consistent copy of the running store. */
#ifndef SOPD_BACKUP_H
#define SOPD_BACKUP_H

struct sopd;
struct evhttp_request;

/*
 * Copy the store with SQLite's online backup API into a file in
 * state_dir, BACKUP_PAGES pages per loop turn (writes go on meanwhile),
 * then send it as the answer (application/vnd.sqlite3).  One at a time:
 * 503 while another runs.
 */
void backup_serve(struct sopd *, struct evhttp_request *);
/* Abandon a backup in progress (at stop). */
void backup_stop(void);

#endif
