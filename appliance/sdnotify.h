/* sdnotify.h: tell systemd (Type=notify) readiness, status and liveness. */
#ifndef SOPD_SDNOTIFY_H
#define SOPD_SDNOTIFY_H

struct sopd;

/*
 * After every listener is bound and the store is open: READY=1 with a
 * STATUS= line, then a loop timer at half of WatchdogSec= sends
 * WATCHDOG=1 (and a fresh STATUS=).  Nothing happens without
 * NOTIFY_SOCKET.
 */
void sdnotify_ready(struct sopd *);
/* Around a SIGHUP reload: RELOADING=1, then READY=1 and the new status. */
void sdnotify_reloading(struct sopd *);
void sdnotify_reloaded(struct sopd *);
/* STOPPING=1; the watchdog timer is freed. */
void sdnotify_stopping(void);

#endif
