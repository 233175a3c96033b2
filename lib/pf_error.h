/* pf_error.h: the one error enum of the service. lib/ returns these; pf_error.c
 * maps each to an HTTP status, a problem+json `code` and a title. */
#ifndef PF_ERROR_H
#define PF_ERROR_H

enum pf_error {
	PF_OK = 0,
	/* request shape */
	PF_ERR_NOT_FOUND,               /* 404 not_found (unknown path) */
	PF_ERR_METHOD_NOT_ALLOWED,      /* 405 method_not_allowed */
	PF_ERR_UNAUTHENTICATED,         /* 401 unauthenticated */
	PF_ERR_INVALID_TOKEN,           /* 401 invalid_token */
	PF_ERR_TOKEN_EXPIRED,           /* 401 token_expired */
	PF_ERR_FORBIDDEN,               /* 403 forbidden */
	PF_ERR_PAYLOAD_TOO_LARGE,       /* 413 payload_too_large */
	PF_ERR_UNSUPPORTED_MEDIA_TYPE,  /* 415 unsupported_media_type */
	PF_ERR_INVALID_JSON,            /* 400 invalid_json */
	PF_ERR_INVALID_REQUEST,         /* 400 invalid_request */
	PF_ERR_IDEMPOTENCY_KEY_REUSED,  /* 409 idempotency_key_reused */
	PF_ERR_IDEMPOTENCY_KEY_IN_USE,  /* 409 idempotency_key_in_use */
	/* subscription rules */
	PF_ERR_NO_ACTIVE_SUBSCRIPTION,  /* 409 no_active_subscription */
	PF_ERR_NOT_SCHEDULED_TO_CANCEL, /* 409 not_scheduled_to_cancel */
	PF_ERR_CANCELLATION_SCHEDULED,  /* 409 cancellation_scheduled */
	PF_ERR_NO_SCHEDULED_CHANGE,     /* 409 no_scheduled_change */
	PF_ERR_UNKNOWN_PLAN,            /* 422 unknown_plan */
	PF_ERR_NOT_A_DOWNGRADE,         /* 422 not_a_downgrade */
	PF_ERR_NOT_A_PAID_PLAN,         /* 422 not_a_paid_plan */
	PF_ERR_SUBSCRIPTION_EXISTS,     /* 409 subscription_exists */
	PF_ERR_ACCOUNT_SUSPENDED,       /* 403 account_suspended */
	PF_ERR_USER_NOT_FOUND,          /* 404 user_not_found */
	PF_ERR_PROVIDER_REF_REUSED,     /* 409 provider_ref_reused */
	PF_ERR_INVALID_PERIOD,          /* 422 invalid_period */
	/* credits and tasks */
	PF_ERR_INSUFFICIENT_CREDITS,    /* 402 insufficient_credits */
	PF_ERR_TASK_NOT_FOUND,          /* 404 task_not_found */
	PF_ERR_TASK_FINISHED,           /* 409 task_finished */
	/* refunds */
	PF_ERR_CHARGE_NOT_FOUND,        /* 404 charge_not_found */
	PF_ERR_REASON_NOT_ELIGIBLE,     /* 422 reason_not_eligible */
	PF_ERR_REASON_NOT_APPLICABLE,   /* 422 reason_not_applicable */
	PF_ERR_OUTSIDE_REFUND_WINDOW,   /* 422 outside_refund_window */
	PF_ERR_ALREADY_REFUNDED,        /* 409 already_refunded */
	PF_ERR_REFUND_ALREADY_REQUESTED,/* 409 refund_already_requested */
	PF_ERR_REFUND_REQUEST_NOT_FOUND,/* 404 refund_request_not_found */
	PF_ERR_ALREADY_DECIDED,         /* 409 already_decided */
	PF_ERR_INVALID_AMOUNT,          /* 422 invalid_amount */
	/* infrastructure */
	PF_ERR_UNAVAILABLE,             /* 503 unavailable (database unreachable, retries exhausted) */
	PF_ERR_INTERNAL,                /* 500 internal_error */
	PF_ERR__MAX
};

struct pf_error_info {
	int status;          /* HTTP status */
	const char *code;    /* problem+json code */
	const char *title;   /* short, constant title */
};

/* Returns the static description of err; never NULL. */
const struct pf_error_info *pf_error_info(enum pf_error err);

#endif
