/* api_routes.h: the service's routes, one row per method + path, indexed by
 * enum api_route. The table (api_routes.c) holds no handler: fcgi/
 * route_handlers.c maps each route to its handlers, so the tests and the
 * fuzzers route over the real table without linking the application. */
#ifndef API_ROUTES_H
#define API_ROUTES_H

#include "route.h"

enum api_route {
	API_HEALTHZ,
	API_READYZ,
	API_METRICS,
	API_ACCOUNT_GET,
	API_PLANS_GET,
	API_SUBSCRIPTION_CANCEL,
	API_SUBSCRIPTION_RESUME,
	API_SUBSCRIPTION_DOWNGRADE,
	API_SCHEDULED_CHANGE_DELETE,
	API_INTERNAL_SUBSCRIPTION_CREATE,
	API_CHARGES_GET,
	API_REFUND_FORM_GET,
	API_REFUND_REQUESTS_GET,
	API_REFUND_REQUEST_CREATE,
	API_SUPPORT_REFUND_REQUESTS_GET,
	API_SUPPORT_REFUND_REQUEST_APPROVE,
	API_SUPPORT_REFUND_REQUEST_DENY,
	API_SUPPORT_USER_SUSPEND,
	API_INTERNAL_CHARGE_CREATE,
	API_INTERNAL_TASK_CREATE,
	API_INTERNAL_TASK_COMPLETE,
	API_INTERNAL_TASK_FAIL,
	API_ROUTE_COUNT
};

extern const struct route api_routes[API_ROUTE_COUNT];

#endif
