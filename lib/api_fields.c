/* api_fields.c: the field tables. Rows are designated by their enum, so
 * reordering them changes nothing. */
#include <stdint.h>
#include "api_fields.h"
#include "auth_jwt.h"
#include "policy_refund.h"
#include "policy_subscription.h"
#include "record.h"
#include "refund_request.h"

#define CANCEL_COMMENT_MAX 2000
#define PROVIDER_REF_MAX 255
#define EMAIL_MIN 3                          /* "a@b" */
#define CURRENCY_LEN 3                       /* ISO 4217 */
#define CHARGE_AMOUNT_MAX 100000000000LL     /* a billion in major units */
#define CHARGE_CREDITS_MAX 1000000000LL
#define TASK_CREDITS_MAX 1000000000LL

static const char *const cancel_reasons[] = {
	"too_expensive", "not_using", "missing_feature", "quality", "other", NULL
};
static const char *const charge_kinds[] = {"subscription", "credit_pack", NULL};
static const char *const task_kinds[] = {"image", "video", "try_on", "training", NULL};
static const char *const failure_causes[] = {"platform", "provider", "user", NULL};

const struct field_spec cancel_fields[CANCEL_FIELD_COUNT] = {
	[CANCEL_REASON] = {"reason", FIELD_ENUM, false, 0, 0, cancel_reasons},
	[CANCEL_COMMENT] = {"comment", FIELD_TEXT, false, 0, CANCEL_COMMENT_MAX, NULL},
};

const struct field_spec downgrade_fields[DOWNGRADE_FIELD_COUNT] = {
	[DOWNGRADE_PLAN] = {"plan", FIELD_STRING, true, 1, PLAN_NAME_MAX, NULL},
};

const struct field_spec internal_subscription_fields[INTERNAL_SUBSCRIPTION_FIELD_COUNT] = {
	[INTERNAL_SUBSCRIPTION_USER_ID] = {"user_id", FIELD_STRING, true, 1, AUTH_SUB_MAX, NULL},
	[INTERNAL_SUBSCRIPTION_EMAIL] = {"email", FIELD_STRING, true, EMAIL_MIN, AUTH_EMAIL_MAX, NULL},
	[INTERNAL_SUBSCRIPTION_PLAN] = {"plan", FIELD_STRING, true, 1, PLAN_NAME_MAX, NULL},
	[INTERNAL_SUBSCRIPTION_PROVIDER_REF] =
	    {"provider_ref", FIELD_STRING, true, 1, PROVIDER_REF_MAX, NULL},
	[INTERNAL_SUBSCRIPTION_STARTED_AT] = {"started_at", FIELD_TIME, false, 0, 0, NULL},
};

/* The refund form's "fields" are generated from this table, in this order. */
const struct field_spec refund_request_fields[REFUND_REQUEST_FIELD_COUNT] = {
	[REFUND_REQUEST_CHARGE_ID] = {"charge_id", FIELD_STRING, false, 1, RECORD_ID_MAX, NULL},
	[REFUND_REQUEST_TASK_ID] = {"task_id", FIELD_STRING, false, 1, RECORD_ID_MAX, NULL},
	[REFUND_REQUEST_REASON] = {"reason", FIELD_ENUM, true, 0, 0, refund_reason_codes},
	[REFUND_REQUEST_DESCRIPTION] =
	    {"description", FIELD_TEXT, true, 1, REFUND_DESCRIPTION_MAX, NULL},
	[REFUND_REQUEST_EMAIL] = {"email", FIELD_STRING, false, EMAIL_MIN, AUTH_EMAIL_MAX, NULL},
};

const struct field_spec approve_fields[APPROVE_FIELD_COUNT] = {
	[APPROVE_NOTE] = {"note", FIELD_TEXT, false, 1, REFUND_NOTE_MAX, NULL},
	/* any integer: 1..unrefunded is a rule (422 invalid_amount), not a shape */
	[APPROVE_AMOUNT] = {"amount_cents", FIELD_INTEGER, false, INT64_MIN, INT64_MAX, NULL},
};

const struct field_spec deny_fields[DENY_FIELD_COUNT] = {
	[DENY_NOTE] = {"note", FIELD_TEXT, true, 1, REFUND_NOTE_MAX, NULL},
};

const struct field_spec suspend_fields[SUSPEND_FIELD_COUNT] = {
	[SUSPEND_NOTE] = {"note", FIELD_TEXT, true, 1, REFUND_NOTE_MAX, NULL},
};

const struct field_spec internal_charge_fields[INTERNAL_CHARGE_FIELD_COUNT] = {
	[INTERNAL_CHARGE_USER_ID] = {"user_id", FIELD_STRING, true, 1, AUTH_SUB_MAX, NULL},
	[INTERNAL_CHARGE_KIND] = {"kind", FIELD_ENUM, true, 0, 0, charge_kinds},
	[INTERNAL_CHARGE_AMOUNT] =
	    {"amount_cents", FIELD_INTEGER, true, 1, CHARGE_AMOUNT_MAX, NULL},
	[INTERNAL_CHARGE_CURRENCY] =
	    {"currency", FIELD_STRING, true, CURRENCY_LEN, CURRENCY_LEN, NULL},
	[INTERNAL_CHARGE_PROVIDER_REF] =
	    {"provider_ref", FIELD_STRING, true, 1, PROVIDER_REF_MAX, NULL},
	[INTERNAL_CHARGE_CHARGED_AT] = {"charged_at", FIELD_TIME, false, 0, 0, NULL},
	[INTERNAL_CHARGE_CREDITS] = {"credits", FIELD_INTEGER, false, 1, CHARGE_CREDITS_MAX, NULL},
	[INTERNAL_CHARGE_PERIOD_START] = {"period_start", FIELD_TIME, false, 0, 0, NULL},
};

const struct field_spec task_fields[TASK_FIELD_COUNT] = {
	[TASK_USER_ID] = {"user_id", FIELD_STRING, true, 1, AUTH_SUB_MAX, NULL},
	[TASK_KIND] = {"kind", FIELD_ENUM, true, 0, 0, task_kinds},
	[TASK_CREDITS] = {"credits", FIELD_INTEGER, true, 1, TASK_CREDITS_MAX, NULL},
};

const struct field_spec task_fail_fields[TASK_FAIL_FIELD_COUNT] = {
	[TASK_FAIL_CAUSE] = {"cause", FIELD_ENUM, true, 0, 0, failure_causes},
};
