/* winapi.h: the window and change API: views, requests, moves, storage. */
#ifndef SOPD_WINAPI_H
#define SOPD_WINAPI_H

#include <jansson.h>

struct calendar;
struct config;
struct escalator;
struct store;
struct winset;

/*
 * Windows and changes created through the API are stored as documents
 * (winset_win_doc) and read back at start, before the escalator syncs the
 * windows.  The views and changes below work on the windows the escalator
 * runs on; a change's steps are recorded and told by the escalator.
 */

/* Add the stored API windows to ws; -1 if the store fails. */
int winapi_load(struct winset *ws, const struct config *,
    const struct calendar *, struct store *);

/* Views for the API (JSON; caller decrefs). */
json_t *winapi_windows_json(struct escalator *);
json_t *winapi_window_json(struct escalator *, const char *id);
json_t *winapi_changes_json(struct escalator *);
/* Create a change window from a JSON body; -1 and *err (a 400/409). */
int winapi_window_add(struct escalator *, const json_t *, char **err,
    int *status);
int winapi_window_cancel(struct escalator *, const char *id, const char *actor,
    char **err, int *status);
/*
 * Move a change: action approve, start, verified, failed, rollback, close
 * or cancel; the body's actor and note are recorded in its history and
 * told to its owner and L1.  -1, *err and *status (400, 404, 409, 500).
 */
int winapi_change_action(struct escalator *, const char *id, const char *action,
    const json_t *body, char **err, int *status);

#endif
