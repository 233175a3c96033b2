/* pf_error.c: the single mapping from enum pf_error to HTTP status and code. */
#include <stddef.h>
#include "pf_error.h"

static const struct pf_error_info error_table[PF_ERR__MAX] = {
	[PF_OK] = {200, "ok", "OK"},
	[PF_ERR_NOT_FOUND] = {404, "not_found", "Not found"},
	[PF_ERR_METHOD_NOT_ALLOWED] = {405, "method_not_allowed", "Method not allowed"},
	[PF_ERR_UNAUTHENTICATED] = {401, "unauthenticated", "Authentication required"},
	[PF_ERR_INVALID_TOKEN] = {401, "invalid_token", "Invalid token"},
	[PF_ERR_TOKEN_EXPIRED] = {401, "token_expired", "Token expired"},
	[PF_ERR_FORBIDDEN] = {403, "forbidden", "Forbidden"},
	[PF_ERR_PAYLOAD_TOO_LARGE] = {413, "payload_too_large", "Payload too large"},
	[PF_ERR_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported_media_type", "Unsupported media type"},
	[PF_ERR_INVALID_JSON] = {400, "invalid_json", "Malformed JSON"},
	[PF_ERR_INVALID_REQUEST] = {400, "invalid_request", "Invalid request"},
	[PF_ERR_IDEMPOTENCY_KEY_REUSED] = {409, "idempotency_key_reused", "Idempotency key reused"},
	[PF_ERR_IDEMPOTENCY_KEY_IN_USE] = {409, "idempotency_key_in_use", "Idempotency key in use"},
	[PF_ERR_NO_ACTIVE_SUBSCRIPTION] = {409, "no_active_subscription", "No active subscription"},
	[PF_ERR_NOT_SCHEDULED_TO_CANCEL] = {409, "not_scheduled_to_cancel", "Not scheduled to cancel"},
	[PF_ERR_CANCELLATION_SCHEDULED] = {409, "cancellation_scheduled", "Cancellation scheduled"},
	[PF_ERR_NO_SCHEDULED_CHANGE] = {409, "no_scheduled_change", "No scheduled change"},
	[PF_ERR_UNKNOWN_PLAN] = {422, "unknown_plan", "Unknown plan"},
	[PF_ERR_NOT_A_DOWNGRADE] = {422, "not_a_downgrade", "Not a downgrade"},
	[PF_ERR_NOT_A_PAID_PLAN] = {422, "not_a_paid_plan", "Not a paid plan"},
	[PF_ERR_SUBSCRIPTION_EXISTS] = {409, "subscription_exists", "Subscription exists"},
	[PF_ERR_ACCOUNT_SUSPENDED] = {403, "account_suspended", "Account suspended"},
	[PF_ERR_USER_NOT_FOUND] = {404, "user_not_found", "User not found"},
	[PF_ERR_PROVIDER_REF_REUSED] = {409, "provider_ref_reused", "Provider reference reused"},
	[PF_ERR_INVALID_PERIOD] = {422, "invalid_period", "Invalid period"},
	[PF_ERR_INSUFFICIENT_CREDITS] = {402, "insufficient_credits", "Insufficient credits"},
	[PF_ERR_TASK_NOT_FOUND] = {404, "task_not_found", "Task not found"},
	[PF_ERR_TASK_FINISHED] = {409, "task_finished", "Task finished"},
	[PF_ERR_CHARGE_NOT_FOUND] = {404, "charge_not_found", "Charge not found"},
	[PF_ERR_REASON_NOT_ELIGIBLE] = {422, "reason_not_eligible", "Reason not eligible"},
	[PF_ERR_REASON_NOT_APPLICABLE] = {422, "reason_not_applicable", "Reason not applicable"},
	[PF_ERR_OUTSIDE_REFUND_WINDOW] = {422, "outside_refund_window", "Outside refund window"},
	[PF_ERR_ALREADY_REFUNDED] = {409, "already_refunded", "Already refunded"},
	[PF_ERR_REFUND_ALREADY_REQUESTED] = {409, "refund_already_requested", "Refund already requested"},
	[PF_ERR_REFUND_REQUEST_NOT_FOUND] = {404, "refund_request_not_found", "Refund request not found"},
	[PF_ERR_ALREADY_DECIDED] = {409, "already_decided", "Already decided"},
	[PF_ERR_INVALID_AMOUNT] = {422, "invalid_amount", "Invalid amount"},
	[PF_ERR_UNAVAILABLE] = {503, "unavailable", "Service unavailable"},
	[PF_ERR_INTERNAL] = {500, "internal_error", "Internal error"},
};

const struct pf_error_info *
pf_error_info(enum pf_error err)
{
	if ((int)err < 0 || err >= PF_ERR__MAX || error_table[err].code == NULL)
		return &error_table[PF_ERR_INTERNAL];
	return &error_table[err];
}
