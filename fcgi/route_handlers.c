/* route_handlers.c: each route of api_routes.c paired with its handlers. */
#include "handler.h"

const struct route_handlers api_route_handlers[API_ROUTE_COUNT] = {
	[API_HEALTHZ] = {.handler = handle_healthz},
	[API_READYZ] = {.handler = handle_readyz},
	[API_METRICS] = {.handler = handle_metrics},
	[API_ACCOUNT_GET] = {.handler = handle_account_get,
	    .without_transaction = handle_account_get_without_transaction},
	[API_PLANS_GET] = {.handler = handle_plans_get,
	    .without_transaction = handle_plans_get},
	[API_SUBSCRIPTION_CANCEL] = {.handler = handle_subscription_cancel},
	[API_SUBSCRIPTION_RESUME] = {.handler = handle_subscription_resume},
	[API_SUBSCRIPTION_DOWNGRADE] = {.handler = handle_subscription_downgrade},
	[API_SCHEDULED_CHANGE_DELETE] = {.handler = handle_scheduled_change_delete},
	[API_INTERNAL_SUBSCRIPTION_CREATE] = {.handler = handle_internal_subscription_create},
	[API_CHARGES_GET] = {.handler = handle_charges_get},
	[API_REFUND_FORM_GET] = {.handler = handle_refund_form_get},
	[API_REFUND_REQUESTS_GET] = {.handler = handle_refund_requests_get},
	[API_REFUND_REQUEST_CREATE] = {.handler = handle_refund_request_create},
	[API_SUPPORT_REFUND_REQUESTS_GET] = {.handler = handle_support_refund_requests_get},
	[API_SUPPORT_REFUND_REQUEST_APPROVE] = {.handler = handle_support_refund_request_approve},
	[API_SUPPORT_REFUND_REQUEST_DENY] = {.handler = handle_support_refund_request_deny},
	[API_SUPPORT_USER_SUSPEND] = {.handler = handle_support_user_suspend},
	[API_INTERNAL_CHARGE_CREATE] = {.handler = handle_internal_charge_create},
	[API_INTERNAL_TASK_CREATE] = {.handler = handle_internal_task_create},
	[API_INTERNAL_TASK_COMPLETE] = {.handler = handle_internal_task_complete},
	[API_INTERNAL_TASK_FAIL] = {.handler = handle_internal_task_fail},
};
