/* event_json.h: a normalized event rendered as a JSON object (jansson). */
#ifndef SOPD_EVENT_JSON_H
#define SOPD_EVENT_JSON_H

#include <jansson.h>

#include "event.h"

/*
 * A new JSON object for the event. Every key is always present; an absent
 * field is JSON null (structured_data is null when the message had none,
 * varbinds null for syslog, repairs always an array). Times are RFC 3339
 * with microseconds: "received" in UTC ("Z"), "timestamp" with the
 * message's own offset. Strings that are not valid UTF-8 are rendered with
 * each bad byte replaced by '?'. Never returns NULL.
 */
json_t *event_to_json(const struct logevent *);

/*
 * The same object as compact JSON text (json_dumps with JSON_COMPACT, byte
 * for byte), with "sample_truncated":true last if truncated; built without
 * jansson for a syslog event without structured data, NULL (nothing
 * built) for any other. Free it.
 */
char *event_json_text(const struct logevent *, int truncated);

/* The JSON name of one EVENT_F_* flag ("truncated", "nul", ...) or NULL. */
const char *event_json_repair_name(unsigned flag);

#endif
