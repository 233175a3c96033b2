/* provider_event.h: payment-provider webhooks are delivered more than once.
 * One provider_ref namespace covers /internal/subscriptions and
 * /internal/charges: the same ref with the same body replays the first
 * result with 200; with another body it is 409 provider_ref_reused. */
#ifndef PROVIDER_EVENT_H
#define PROVIDER_EVENT_H

#include <stdbool.h>
#include "handler.h"

/* Takes the ref's lock and looks it up. Sets *answered when ctx->res now
 * holds the answer (a replay, or the 409). */
enum pf_error provider_event_begin(struct handler_ctx *ctx, const char *provider_ref,
    const char *endpoint, bool *answered);

/* Records the first result (ctx->res, a success) under the ref. */
enum pf_error provider_event_record(struct handler_ctx *ctx, const char *provider_ref,
    const char *endpoint);

#endif
