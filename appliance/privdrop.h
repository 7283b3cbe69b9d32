/* privdrop.h: leave root for the configured user once every port is bound. */
#ifndef SOPD_PRIVDROP_H
#define SOPD_PRIVDROP_H

struct config;

/*
 * Whether the config's user: and group: can be taken by this process:
 * root can switch to anyone, anybody else only to itself.  -1 with cause.
 */
int privdrop_check(const struct config *, char **cause);
/*
 * Give the state directory and the files sopd keeps there to the user, then
 * switch to it for good (groups, gid, uid) and verify that root cannot come
 * back.  A no-op without user: or when already running as that user.
 */
int privdrop_drop(const struct config *, char **cause);
/* The user sopd switched to, or NULL when it did not switch. */
const char *privdrop_user(void);

#endif
