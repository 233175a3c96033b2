/* api_routes.c: the one table mapping method + path to role and body.
 * nginx (nginx/) routes the same paths to this application. */
#include "api_fields.h"
#include "api_routes.h"
#include "auth_jwt.h"

/* A route whose body is validated against table; a table longer than
 * ROUTE_FIELDS_MAX (the dispatcher's value array) does not compile. */
#define BODY_FIELDS(table)                                                   \
	.body = ROUTE_BODY_FIELDS, .fields = (table),                        \
	.field_count = sizeof(table) / sizeof((table)[0]) +                  \
	    0 * sizeof(char[sizeof(table) / sizeof((table)[0]) <= ROUTE_FIELDS_MAX ? 1 : -1])

const struct route api_routes[API_ROUTE_COUNT] = {
	[API_HEALTHZ] = {.method = "GET", .pattern = "/healthz",
	    .role = ROUTE_ROLE_PUBLIC, .body = ROUTE_BODY_NONE},
	/* nginx serves these two on the internal listener only */
	[API_READYZ] = {.method = "GET", .pattern = "/readyz",
	    .role = ROUTE_ROLE_PUBLIC, .body = ROUTE_BODY_NONE},
	[API_METRICS] = {.method = "GET", .pattern = "/metrics",
	    .role = ROUTE_ROLE_PUBLIC, .body = ROUTE_BODY_NONE},
	[API_ACCOUNT_GET] = {.method = "GET", .pattern = "/api/v1/account",
	    .role = AUTH_ROLE_USER, .body = ROUTE_BODY_NONE},
	/* not in the shared contract: the account page's list of plans */
	[API_PLANS_GET] = {.method = "GET", .pattern = "/api/v1/plans",
	    .role = AUTH_ROLE_USER, .body = ROUTE_BODY_NONE},
	[API_SUBSCRIPTION_CANCEL] = {.method = "POST", .pattern = "/api/v1/subscription/cancel",
	    .role = AUTH_ROLE_USER, BODY_FIELDS(cancel_fields)},
	[API_SUBSCRIPTION_RESUME] = {.method = "POST", .pattern = "/api/v1/subscription/resume",
	    .role = AUTH_ROLE_USER, .body = ROUTE_BODY_EMPTY},
	[API_SUBSCRIPTION_DOWNGRADE] = {.method = "POST",
	    .pattern = "/api/v1/subscription/downgrade",
	    .role = AUTH_ROLE_USER, BODY_FIELDS(downgrade_fields)},
	[API_SCHEDULED_CHANGE_DELETE] = {.method = "DELETE",
	    .pattern = "/api/v1/subscription/scheduled-change",
	    .role = AUTH_ROLE_USER, .body = ROUTE_BODY_NONE},
	[API_INTERNAL_SUBSCRIPTION_CREATE] = {.method = "POST",
	    .pattern = "/api/v1/internal/subscriptions",
	    .role = AUTH_ROLE_SERVICE, BODY_FIELDS(internal_subscription_fields)},
	[API_CHARGES_GET] = {.method = "GET", .pattern = "/api/v1/charges",
	    .role = AUTH_ROLE_USER, .body = ROUTE_BODY_NONE},
	[API_REFUND_FORM_GET] = {.method = "GET", .pattern = "/api/v1/refund-form",
	    .role = AUTH_ROLE_USER, .body = ROUTE_BODY_NONE},
	[API_REFUND_REQUESTS_GET] = {.method = "GET", .pattern = "/api/v1/refund-requests",
	    .role = AUTH_ROLE_USER, .body = ROUTE_BODY_NONE},
	[API_REFUND_REQUEST_CREATE] = {.method = "POST", .pattern = "/api/v1/refund-requests",
	    .role = AUTH_ROLE_USER, BODY_FIELDS(refund_request_fields)},
	[API_SUPPORT_REFUND_REQUESTS_GET] = {.method = "GET",
	    .pattern = "/api/v1/support/refund-requests",
	    .role = AUTH_ROLE_SUPPORT, .body = ROUTE_BODY_NONE},
	[API_SUPPORT_REFUND_REQUEST_APPROVE] = {.method = "POST",
	    .pattern = "/api/v1/support/refund-requests/{id}/approve",
	    .role = AUTH_ROLE_SUPPORT, BODY_FIELDS(approve_fields)},
	[API_SUPPORT_REFUND_REQUEST_DENY] = {.method = "POST",
	    .pattern = "/api/v1/support/refund-requests/{id}/deny",
	    .role = AUTH_ROLE_SUPPORT, BODY_FIELDS(deny_fields)},
	[API_SUPPORT_USER_SUSPEND] = {.method = "POST",
	    .pattern = "/api/v1/support/users/{id}/suspend",
	    .role = AUTH_ROLE_SUPPORT, BODY_FIELDS(suspend_fields)},
	[API_INTERNAL_CHARGE_CREATE] = {.method = "POST", .pattern = "/api/v1/internal/charges",
	    .role = AUTH_ROLE_SERVICE, BODY_FIELDS(internal_charge_fields)},
	[API_INTERNAL_TASK_CREATE] = {.method = "POST", .pattern = "/api/v1/internal/tasks",
	    .role = AUTH_ROLE_SERVICE, BODY_FIELDS(task_fields)},
	[API_INTERNAL_TASK_COMPLETE] = {.method = "POST",
	    .pattern = "/api/v1/internal/tasks/{id}/complete",
	    .role = AUTH_ROLE_SERVICE, .body = ROUTE_BODY_EMPTY},
	[API_INTERNAL_TASK_FAIL] = {.method = "POST", .pattern = "/api/v1/internal/tasks/{id}/fail",
	    .role = AUTH_ROLE_SERVICE, BODY_FIELDS(task_fail_fields)},
};
