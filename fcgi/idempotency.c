/* idempotency.c: Idempotency-Key handling (the storing half arrives with
 * the reliability work; keys are validated now). */
#include <string.h>
#include "idempotency.h"

bool
idempotency_key_valid(const char *key)
{
	size_t n = strlen(key);
	size_t i;

	if (n < 1 || n > HTTP_IDEMPOTENCY_KEY_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
			return false;
	return true;
}

enum pf_error
idempotency_begin(struct handler_ctx *ctx, struct idempotency_state *state)
{
	(void)ctx;
	memset(state, 0, sizeof(*state));
	return PF_OK;
}

enum pf_error
idempotency_finish(struct handler_ctx *ctx, struct idempotency_state *state,
    enum pf_error outcome)
{
	(void)ctx;
	(void)state;
	(void)outcome;
	return PF_OK;
}
