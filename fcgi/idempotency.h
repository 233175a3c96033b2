/* idempotency.h: the Idempotency-Key of a POST, scoped to the caller (role +
 * sub). A retry within 24 h replays the first answer byte for byte; the
 * stored answer is written in the same transaction as the effect. */
#ifndef IDEMPOTENCY_H
#define IDEMPOTENCY_H

#include <stdbool.h>
#include "handler.h"

struct idempotency_state {
	bool active;     /* the request carries a key */
	bool answered;   /* res already holds the answer (a replay or a 409) */
	bool stored;     /* the handler's outcome was stored: commit it */
};

/* 1-255 printable ASCII characters. */
bool idempotency_key_valid(const char *key);

/* Inside the request's transaction, before the handler: takes the key's
 * lock and replays a stored answer, or answers 409 idempotency_key_reused /
 * idempotency_key_in_use (answered = true). */
enum pf_error idempotency_begin(struct handler_ctx *ctx, struct idempotency_state *state);

/* After the handler returned outcome (PF_OK or a business rule's error):
 * stores the answer with the key. For a refusal it first undoes what the
 * handler wrote, so only the answer is kept. */
enum pf_error idempotency_finish(struct handler_ctx *ctx, struct idempotency_state *state,
    enum pf_error outcome);

#endif
