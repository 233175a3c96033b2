/* test_api_tables.c: the service's own route and field tables
 * (lib/api_routes.c, lib/api_fields.c), as the dispatcher walks them: every
 * route is reachable, its body rule is consistent with its fields, and the
 * fields the handlers rely on are declared with their bounds. */
#include <stdio.h>
#include <stdlib.h>
#include "api_fields.h"
#include "api_routes.h"
#include "auth_jwt.h"
#include "http.h"
#include "policy_subscription.h"
#include "unit.h"

/* The route's pattern with {id} filled in: the path a client sends. */
static void
sample_path(const struct route *r, char *buf, size_t len)
{
	const char *brace = strstr(r->pattern, "{id}");

	if (brace == NULL)
		snprintf(buf, len, "%s", r->pattern);
	else
		snprintf(buf, len, "%.*srr_1%s", (int)(brace - r->pattern), r->pattern, brace + 4);
}

static void
test_every_route_is_reachable(void)
{
	for (size_t i = 0; i < API_ROUTE_COUNT; i++) {
		const struct route *r = &api_routes[i], *m = NULL;
		char path[HTTP_PATH_MAX], param[HTTP_PARAM_MAX + 1], allow[64];

		UNIT_CHECK(r->method != NULL && r->pattern != NULL);
		if (r->method == NULL || r->pattern == NULL)
			continue;
		sample_path(r, path, sizeof(path));
		UNIT_EQ_INT(route_match(api_routes, API_ROUTE_COUNT, r->method, path, &m, param,
		    sizeof(param), allow, sizeof(allow)), ROUTE_FOUND);
		if (m != r)
			fprintf(stderr, "%s %s is shadowed by an earlier row\n", r->method, r->pattern);
		UNIT_CHECK(m == r);
		UNIT_CHECK(r->role == ROUTE_ROLE_PUBLIC || (r->role >= 0 && r->role < AUTH_ROLE__MAX));
	}
}

static void
test_body_rules_match_fields(void)
{
	for (size_t i = 0; i < API_ROUTE_COUNT; i++) {
		const struct route *r = &api_routes[i];

		switch (r->body) {
		case ROUTE_BODY_NONE:
		case ROUTE_BODY_EMPTY:
			UNIT_CHECK(r->fields == NULL && r->field_count == 0);
			break;
		case ROUTE_BODY_FIELDS:
			UNIT_CHECK(r->fields != NULL);
			UNIT_CHECK(r->field_count >= 1 && r->field_count <= ROUTE_FIELDS_MAX);
			for (size_t f = 0; r->fields != NULL && f < r->field_count; f++) {
				const struct field_spec *spec = &r->fields[f];

				UNIT_CHECK(spec->name != NULL);
				if (spec->name == NULL)
					continue;
				for (size_t g = 0; g < f; g++)
					UNIT_CHECK(strcmp(r->fields[g].name, spec->name) != 0);
				if (spec->type == FIELD_ENUM)
					UNIT_CHECK(spec->values != NULL && spec->values[0] != NULL);
				if (spec->type != FIELD_ENUM && spec->type != FIELD_TIME)
					UNIT_CHECK(spec->min <= spec->max);
			}
			break;
		}
		/* only POST reads a body */
		UNIT_EQ_INT(r->body != ROUTE_BODY_NONE, strcmp(r->method, "POST") == 0);
	}
}

/* The values borrow from the document, which lives until the next call. */
static json_t *validated;

static enum pf_error
validate(const struct field_spec *fields, size_t count, const char *text,
    struct field_value *values)
{
	char detail[HTTP_DETAIL_MAX];

	json_decref(validated);
	validated = json_loads(text, 0, NULL);
	return json_fields_validate(validated, fields, count, values, detail, sizeof(detail));
}

/* The rows are found by their enum, whatever their order in the source. */
static void
test_fields_by_index(void)
{
	struct field_value v[ROUTE_FIELDS_MAX];

	UNIT_EQ_STR(task_fields[TASK_USER_ID].name, "user_id");
	UNIT_EQ_STR(task_fields[TASK_CREDITS].name, "credits");
	UNIT_EQ_STR(internal_charge_fields[INTERNAL_CHARGE_PERIOD_START].name, "period_start");
	UNIT_EQ_STR(refund_request_fields[REFUND_REQUEST_EMAIL].name, "email");
	UNIT_EQ_INT(validate(task_fields, TASK_FIELD_COUNT,
	    "{\"credits\": 5, \"kind\": \"image\", \"user_id\": \"u1\"}", v), PF_OK);
	UNIT_EQ_INT(v[TASK_CREDITS].integer, 5);
	UNIT_EQ_STR(v[TASK_KIND].string, "image");
	UNIT_EQ_STR(v[TASK_USER_ID].string, "u1");
	/* the refund reasons are the policy table's codes */
	UNIT_EQ_INT(validate(refund_request_fields, REFUND_REQUEST_FIELD_COUNT,
	    "{\"reason\": \"price_change\", \"description\": \"x\"}", v), PF_OK);
	UNIT_EQ_INT(validate(refund_request_fields, REFUND_REQUEST_FIELD_COUNT,
	    "{\"reason\": \"other\", \"description\": \"x\"}", v), PF_ERR_INVALID_REQUEST);
	/* deny, suspend and task_fail: the three tables the fuzzer's copies missed */
	UNIT_EQ_INT(validate(deny_fields, DENY_FIELD_COUNT, "{}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate(suspend_fields, SUSPEND_FIELD_COUNT, "{\"note\": \"tos\"}", v), PF_OK);
	UNIT_EQ_INT(validate(task_fail_fields, TASK_FAIL_FIELD_COUNT, "{\"cause\": \"platform\"}", v),
	    PF_OK);
	UNIT_EQ_INT(validate(task_fail_fields, TASK_FAIL_FIELD_COUNT, "{\"cause\": \"cosmic\"}", v),
	    PF_ERR_INVALID_REQUEST);
}

/* Named bounds: a plan field takes what plans.name and the rules' buffers
 * hold, PLAN_NAME_MAX characters (it took 64 where the rules kept 31). */
static void
test_plan_bound(void)
{
	struct field_value v[ROUTE_FIELDS_MAX];
	char body[128];

	snprintf(body, sizeof(body), "{\"plan\": \"%.*s\"}", PLAN_NAME_MAX,
	    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp");
	UNIT_EQ_INT(validate(downgrade_fields, DOWNGRADE_FIELD_COUNT, body, v), PF_OK);
	snprintf(body, sizeof(body), "{\"plan\": \"%.*s\"}", PLAN_NAME_MAX + 1,
	    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp");
	UNIT_EQ_INT(validate(downgrade_fields, DOWNGRADE_FIELD_COUNT, body, v),
	    PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(internal_subscription_fields[INTERNAL_SUBSCRIPTION_PLAN].max, PLAN_NAME_MAX);
}

int
main(void)
{
	test_every_route_is_reachable();
	test_body_rules_match_fields();
	test_fields_by_index();
	test_plan_bound();
	json_decref(validated);
	return UNIT_REPORT("test_api_tables");
}
