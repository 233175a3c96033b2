/* handlers_health.c: GET /healthz (no auth), the readiness check: 200 when
 * the database answers and takes writes. A session on a server that does
 * not (a standby; a primary fenced with default_transaction_read_only for a
 * switchover) is not ready: the connection is dropped, so the dispatcher's
 * retry, and the next request, connect again and find the read-write
 * server (target_session_attrs=read-write in a multi-host PF_DATABASE). */
#include "handler.h"
#include "sql_account.h"

enum pf_error
handle_healthz(struct handler_ctx *ctx)
{
	PGresult *res = NULL;
	enum pf_error err = db_exec(ctx->db, &sql_account_catalog, SQL_HEALTH, NULL, &res);
	bool read_only;

	if (err != PF_OK)
		return err;
	read_only = db_bool(res, 0, "read_only");
	PQclear(res);
	if (read_only) {
		db_close(ctx->db);
		return PF_ERR_UNAVAILABLE;
	}
	return http_ok(ctx->res, 200, json_pack("{s:s}", "status", "ok"));
}
