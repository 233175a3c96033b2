/* sql_task.c: the SQL text of enum sql_task. */
#include "sql_task.h"

#define TASK_COLUMNS \
	"t.id, t.user_id, t.kind, t.credits, t.included_spent, t.purchased_spent," \
	" t.included_epoch, t.status, t.failure_cause, t.credits_returned," \
	" extract(epoch FROM t.created_at)::bigint AS created_at," \
	" extract(epoch FROM t.finished_at)::bigint AS finished_at," \
	" EXISTS (SELECT 1 FROM refund_requests o WHERE o.task_id = t.id AND o.status = 'pending')" \
	" AS open_request"

static const struct db_statement statements[SQL_TASK__MAX] = {
	[SQL_TASK_GET] = {"SELECT " TASK_COLUMNS " FROM tasks t WHERE t.id = $1", 1},
	/* $2: the earliest failure still inside the refund window */
	[SQL_TASKS_FAILED_UNRETURNED] = {
	    "SELECT " TASK_COLUMNS " FROM tasks t WHERE t.user_id = $1 AND t.status = 'failed'"
	    " AND NOT t.credits_returned AND t.finished_at >= to_timestamp($2)"
	    " ORDER BY t.finished_at DESC, t.id", 2},
	[SQL_TASK_INSERT] = {
	    "INSERT INTO tasks (id, user_id, kind, credits, included_spent, purchased_spent,"
	    " included_epoch, created_at)"
	    " VALUES ('tk_' || replace(gen_random_uuid()::text, '-', ''), $1, $2, $3, $4, $5, $6,"
	    " to_timestamp($7)) RETURNING id", 7},
	[SQL_TASK_FINISH] = {
	    "UPDATE tasks SET status = $2, failure_cause = $3, credits_returned = $4,"
	    " finished_at = to_timestamp($5) WHERE id = $1 AND status = 'running'", 5},
	[SQL_TASK_MARK_RETURNED] = {
	    "UPDATE tasks SET credits_returned = true WHERE id = $1 AND status = 'failed'", 1},
	/* the CHECKs on users refuse a negative balance */
	[SQL_BALANCES_ADD] = {
	    "UPDATE users SET included_remaining = included_remaining + $2,"
	    " purchased_remaining = purchased_remaining + $3 WHERE id = $1"
	    " RETURNING included_remaining, purchased_remaining", 3},
};

const struct db_catalog sql_task_catalog = {"t", statements, SQL_TASK__MAX};
