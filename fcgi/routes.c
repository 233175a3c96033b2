/* routes.c: the one table mapping method + path to handler and role. nginx
 * (nginx/) routes the same paths to this application. */
#include "handler.h"

const struct field_spec no_fields[] = {{NULL, 0, false, 0, 0, NULL}};

const struct route app_routes[] = {
	{"GET", "/healthz", ROUTE_ROLE_PUBLIC, handle_healthz, NULL, NULL},
	/* nginx serves these two on the internal listener only */
	{"GET", "/readyz", ROUTE_ROLE_PUBLIC, handle_readyz, NULL, NULL},
	{"GET", "/metrics", ROUTE_ROLE_PUBLIC, handle_metrics, NULL, NULL},
	{"GET", "/api/v1/account", AUTH_ROLE_USER, handle_account_get, NULL,
	    handle_account_get_unlocked},
	/* not in the contract: the plans, for the account page's downgrade
	 * choices; one read that needs no transaction */
	{"GET", "/api/v1/plans", AUTH_ROLE_USER, handle_plans_get, NULL, handle_plans_get},
	{"POST", "/api/v1/subscription/cancel", AUTH_ROLE_USER, handle_subscription_cancel,
	    cancel_fields, NULL},
	{"POST", "/api/v1/subscription/resume", AUTH_ROLE_USER, handle_subscription_resume,
	    no_fields, NULL},
	{"POST", "/api/v1/subscription/downgrade", AUTH_ROLE_USER, handle_subscription_downgrade,
	    downgrade_fields, NULL},
	{"DELETE", "/api/v1/subscription/scheduled-change", AUTH_ROLE_USER,
	    handle_scheduled_change_delete, NULL, NULL},
	{"POST", "/api/v1/internal/subscriptions", AUTH_ROLE_SERVICE,
	    handle_internal_subscription_create, internal_subscription_fields, NULL},
	{"GET", "/api/v1/charges", AUTH_ROLE_USER, handle_charges_get, NULL, NULL},
	{"GET", "/api/v1/refund-form", AUTH_ROLE_USER, handle_refund_form_get, NULL, NULL},
	{"GET", "/api/v1/refund-requests", AUTH_ROLE_USER, handle_refund_requests_get, NULL, NULL},
	{"POST", "/api/v1/refund-requests", AUTH_ROLE_USER, handle_refund_request_create,
	    refund_request_fields, NULL},
	{"GET", "/api/v1/support/refund-requests", AUTH_ROLE_SUPPORT,
	    handle_support_refund_requests_get, NULL, NULL},
	{"POST", "/api/v1/support/refund-requests/{id}/approve", AUTH_ROLE_SUPPORT,
	    handle_support_refund_request_approve, approve_fields, NULL},
	{"POST", "/api/v1/support/refund-requests/{id}/deny", AUTH_ROLE_SUPPORT,
	    handle_support_refund_request_deny, deny_fields, NULL},
	{"POST", "/api/v1/support/users/{id}/suspend", AUTH_ROLE_SUPPORT,
	    handle_support_user_suspend, suspend_fields, NULL},
	{"POST", "/api/v1/internal/charges", AUTH_ROLE_SERVICE, handle_internal_charge_create,
	    internal_charge_fields, NULL},
	{"POST", "/api/v1/internal/tasks", AUTH_ROLE_SERVICE, handle_internal_task_create,
	    task_fields, NULL},
	{"POST", "/api/v1/internal/tasks/{id}/complete", AUTH_ROLE_SERVICE,
	    handle_internal_task_complete, no_fields, NULL},
	{"POST", "/api/v1/internal/tasks/{id}/fail", AUTH_ROLE_SERVICE, handle_internal_task_fail,
	    task_fail_fields, NULL},
};

const size_t app_route_count = sizeof(app_routes) / sizeof(app_routes[0]);
