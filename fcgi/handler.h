/* handler.h: what a handler gets. The dispatcher has already matched the
 * route, verified the token and role, read and validated the body, and
 * opened the request's transaction; a handler calls the rules, writes and
 * fills ctx->res. Returning an error rolls the transaction back. */
#ifndef HANDLER_H
#define HANDLER_H

#include "account.h"
#include "api_fields.h"
#include "api_routes.h"
#include "app_config.h"
#include "db.h"
#include "http.h"
#include "route.h"

struct handler_ctx {
	struct db *db;
	const struct app_config *cfg;
	struct http_request *req;
	struct http_response *res;
	const struct field_value *fields;  /* indexed like the route's field table */
	struct actor actor;                /* the caller, for the audit trail */
};

typedef enum pf_error (*route_handler)(struct handler_ctx *ctx);

/* A route's handlers. */
struct route_handlers {
	route_handler handler;            /* in the request's transaction */
	/* Optional read that answers without a transaction (one statement) when
	 * nothing needs changing: PF_OK means it answered; anything else sends
	 * the request to `handler` in its transaction, as if never tried. */
	route_handler without_transaction;
};

/* Each api_routes row's handlers, indexed by enum api_route
 * (route_handlers.c). */
extern const struct route_handlers api_route_handlers[API_ROUTE_COUNT];

/* handlers_health.c */
enum pf_error handle_healthz(struct handler_ctx *ctx);
/* handlers_metrics.c */
enum pf_error handle_metrics(struct handler_ctx *ctx);
enum pf_error handle_readyz(struct handler_ctx *ctx);
/* handlers_account.c */
enum pf_error handle_account_get(struct handler_ctx *ctx);
enum pf_error handle_account_get_without_transaction(struct handler_ctx *ctx);
enum pf_error handle_plans_get(struct handler_ctx *ctx);
/* handlers_subscription.c */
enum pf_error handle_subscription_cancel(struct handler_ctx *ctx);
enum pf_error handle_subscription_resume(struct handler_ctx *ctx);
enum pf_error handle_subscription_downgrade(struct handler_ctx *ctx);
enum pf_error handle_scheduled_change_delete(struct handler_ctx *ctx);
/* handlers_internal_subscriptions.c */
enum pf_error handle_internal_subscription_create(struct handler_ctx *ctx);
/* handlers_charges.c */
enum pf_error handle_charges_get(struct handler_ctx *ctx);
/* handlers_refunds.c */
enum pf_error handle_refund_form_get(struct handler_ctx *ctx);
enum pf_error handle_refund_requests_get(struct handler_ctx *ctx);
enum pf_error handle_refund_request_create(struct handler_ctx *ctx);
/* handlers_support.c */
enum pf_error handle_support_refund_requests_get(struct handler_ctx *ctx);
enum pf_error handle_support_refund_request_approve(struct handler_ctx *ctx);
enum pf_error handle_support_refund_request_deny(struct handler_ctx *ctx);
enum pf_error handle_support_user_suspend(struct handler_ctx *ctx);
/* handlers_internal_charges.c */
enum pf_error handle_internal_charge_create(struct handler_ctx *ctx);
/* handlers_tasks.c */
enum pf_error handle_internal_task_create(struct handler_ctx *ctx);
enum pf_error handle_internal_task_complete(struct handler_ctx *ctx);
enum pf_error handle_internal_task_fail(struct handler_ctx *ctx);

#endif
