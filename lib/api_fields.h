/* api_fields.h: the body fields of every route that takes a body, one table
 * per route, each indexed by its enum (the handlers read ctx->fields[...] by
 * these names). The tables are in api_fields.c, which pulls in no handler,
 * so the unit tests and the fuzzers validate against the very tables the
 * service uses. */
#ifndef API_FIELDS_H
#define API_FIELDS_H

#include "json_fields.h"

enum cancel_field { CANCEL_REASON, CANCEL_COMMENT, CANCEL_FIELD_COUNT };
enum downgrade_field { DOWNGRADE_PLAN, DOWNGRADE_FIELD_COUNT };
enum internal_subscription_field {
	INTERNAL_SUBSCRIPTION_USER_ID, INTERNAL_SUBSCRIPTION_EMAIL, INTERNAL_SUBSCRIPTION_PLAN,
	INTERNAL_SUBSCRIPTION_PROVIDER_REF, INTERNAL_SUBSCRIPTION_STARTED_AT,
	INTERNAL_SUBSCRIPTION_FIELD_COUNT
};
enum refund_request_field {
	REFUND_REQUEST_CHARGE_ID, REFUND_REQUEST_TASK_ID, REFUND_REQUEST_REASON,
	REFUND_REQUEST_DESCRIPTION, REFUND_REQUEST_EMAIL, REFUND_REQUEST_FIELD_COUNT
};
enum approve_field { APPROVE_NOTE, APPROVE_AMOUNT, APPROVE_FIELD_COUNT };
enum deny_field { DENY_NOTE, DENY_FIELD_COUNT };
enum suspend_field { SUSPEND_NOTE, SUSPEND_FIELD_COUNT };
enum internal_charge_field {
	INTERNAL_CHARGE_USER_ID, INTERNAL_CHARGE_KIND, INTERNAL_CHARGE_AMOUNT,
	INTERNAL_CHARGE_CURRENCY, INTERNAL_CHARGE_PROVIDER_REF, INTERNAL_CHARGE_CHARGED_AT,
	INTERNAL_CHARGE_CREDITS, INTERNAL_CHARGE_PERIOD_START, INTERNAL_CHARGE_FIELD_COUNT
};
enum task_field { TASK_USER_ID, TASK_KIND, TASK_CREDITS, TASK_FIELD_COUNT };
enum task_fail_field { TASK_FAIL_CAUSE, TASK_FAIL_FIELD_COUNT };

extern const struct field_spec cancel_fields[CANCEL_FIELD_COUNT];
extern const struct field_spec downgrade_fields[DOWNGRADE_FIELD_COUNT];
extern const struct field_spec internal_subscription_fields[INTERNAL_SUBSCRIPTION_FIELD_COUNT];
extern const struct field_spec refund_request_fields[REFUND_REQUEST_FIELD_COUNT];
extern const struct field_spec approve_fields[APPROVE_FIELD_COUNT];
extern const struct field_spec deny_fields[DENY_FIELD_COUNT];
extern const struct field_spec suspend_fields[SUSPEND_FIELD_COUNT];
extern const struct field_spec internal_charge_fields[INTERNAL_CHARGE_FIELD_COUNT];
extern const struct field_spec task_fields[TASK_FIELD_COUNT];
extern const struct field_spec task_fail_fields[TASK_FAIL_FIELD_COUNT];

#endif
