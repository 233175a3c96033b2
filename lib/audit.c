/* audit.c: audit rows and outbox events. */
#include <stdio.h>
#include <stdlib.h>
#include "audit.h"
#include "json_text.h"
#include "sql_account.h"

enum pf_error
audit_write(struct db *db, pf_time at, const struct actor *actor, const char *action,
    const char *user_id, const json_t *before, const json_t *after)
{
	char at_text[24];
	char *before_text = NULL, *after_text = NULL;
	const char *params[7];
	enum pf_error err = PF_ERR_INTERNAL;

	snprintf(at_text, sizeof(at_text), "%lld", (long long)at);
	if (before != NULL)
		before_text = json_text_compact(before);
	if (after != NULL)
		after_text = json_text_compact(after);
	/* out of memory: an audit row without its before or after is no record */
	if ((before != NULL && before_text == NULL) || (after != NULL && after_text == NULL))
		goto out;
	params[0] = at_text;
	params[1] = actor->role;
	params[2] = actor->id;
	params[3] = action;
	params[4] = user_id;
	params[5] = before_text;
	params[6] = after_text;
	err = db_exec(db, &sql_account_catalog, SQL_AUDIT_INSERT, params, NULL);
out:
	free(before_text);
	free(after_text);
	return err;
}

enum pf_error
outbox_write(struct db *db, pf_time at, const char *user_id, const char *event,
    const json_t *payload)
{
	char at_text[24];
	char *payload_text;
	const char *params[4];
	enum pf_error err;

	snprintf(at_text, sizeof(at_text), "%lld", (long long)at);
	payload_text = json_text_compact(payload);
	if (payload_text == NULL)
		return PF_ERR_INTERNAL;
	params[0] = at_text;
	params[1] = user_id;
	params[2] = event;
	params[3] = payload_text;
	err = db_exec(db, &sql_account_catalog, SQL_OUTBOX_INSERT, params, NULL);
	free(payload_text);
	return err;
}
