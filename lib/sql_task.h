/* sql_task.h: statements on AI tasks and the credit balances they move. */
#ifndef SQL_TASK_H
#define SQL_TASK_H

#include "db.h"

enum sql_task {
	SQL_TASK_GET,
	SQL_TASKS_FAILED_UNRETURNED,
	SQL_TASK_INSERT,
	SQL_TASK_FINISH,
	SQL_TASK_MARK_RETURNED,
	SQL_BALANCES_ADD,
	SQL_TASK__MAX
};

extern const struct db_catalog sql_task_catalog;

#endif
