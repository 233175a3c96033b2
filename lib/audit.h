/* audit.h: the audit trail and the notification outbox, both written inside
 * the caller's transaction so they commit or vanish with the change. */
#ifndef AUDIT_H
#define AUDIT_H

#include <jansson.h>
#include "db.h"
#include "pf_time.h"

struct actor {
	const char *role;   /* "user", "support", "service", "system" */
	const char *id;     /* the token's sub; NULL for system */
};

/* Records action on user_id; before/after are borrowed (may be NULL). */
enum pf_error audit_write(struct db *db, pf_time at, const struct actor *actor,
    const char *action, const char *user_id, const json_t *before, const json_t *after);

/* Queues a customer notification; payload is borrowed. */
enum pf_error outbox_write(struct db *db, pf_time at, const char *user_id,
    const char *event, const json_t *payload);

#endif
