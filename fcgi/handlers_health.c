/* handlers_health.c: GET /healthz (no auth): 200 when the database answers. */
#include "handler.h"
#include "sql_account.h"

enum pf_error
handle_healthz(struct handler_ctx *ctx)
{
	enum pf_error err = db_exec(ctx->db, &sql_account_catalog, SQL_HEALTH, NULL, NULL);

	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 200, json_pack("{s:s}", "status", "ok"));
}
