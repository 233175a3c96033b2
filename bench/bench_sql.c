/* bench_sql.c: writes the benchmark's pgbench scripts from the service's own
 * statement catalogue, so pgbench runs exactly the SQL text the handlers
 * prepare. Reads a template on stdin and copies it to stdout, replacing
 * each line
 *     @SQL_NAME var1 var2 ...@ rest
 * with that statement's text, $n becoming :varn (pgbench -M prepared sends
 * them as parameters), followed by rest, or ";" when rest is empty. The
 * variable '' stands for the empty string (pgbench -D cannot define one).
 * Exit 1 on an unknown name or a wrong variable count. Not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sql_account.h"

#define NAMED(x) {#x, x}
static const struct {
	const char *name;
	int index;
} statement_names[] = {
	NAMED(SQL_USER_PROVISION), NAMED(SQL_USER_UPDATE_EMAIL), NAMED(SQL_ACCOUNT_LOCK),
	NAMED(SQL_ACCOUNT_READ), NAMED(SQL_AUDIT_INSERT), NAMED(SQL_OUTBOX_INSERT),
	NAMED(SQL_PLAN_BY_NAME), NAMED(SQL_SUBSCRIPTION_UPDATE),
	NAMED(SQL_CANCELLATION_FEEDBACK_INSERT), NAMED(SQL_SUBSCRIPTION_CHANGE),
};
#define NAMES_COUNT (sizeof(statement_names) / sizeof(statement_names[0]))
#define VARS_MAX 16

static int
expand(char *spec, const char *rest, int lineno)
{
	char *vars[VARS_MAX];
	char *name = strtok(spec, " \t");
	const struct db_statement *st = NULL;
	const char *p;
	size_t i;
	int nvars = 0;
	char *v;

	for (i = 0; name != NULL && i < NAMES_COUNT; i++)
		if (strcmp(name, statement_names[i].name) == 0)
			st = &sql_account_catalog.statements[statement_names[i].index];
	while ((v = strtok(NULL, " \t")) != NULL && nvars < VARS_MAX)
		vars[nvars++] = v;
	if (st == NULL || nvars != st->nparams) {
		fprintf(stderr, "bench_sql: line %d: unknown statement or %d variables for %s\n",
		    lineno, nvars, name ? name : "(none)");
		return -1;
	}
	for (p = st->sql; *p != '\0'; p++) {
		if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
			char *end;
			long n = strtol(p + 1, &end, 10);
			if (n < 1 || n > nvars)
				return -1;
			if (strcmp(vars[n - 1], "''") == 0)
				printf("''");
			else
				printf(":%s", vars[n - 1]);
			p = end - 1;
		} else {
			putchar(*p);
		}
	}
	printf("%s%s\n", rest[0] != '\0' ? " " : "", rest[0] != '\0' ? rest : ";");
	return 0;
}

int
main(void)
{
	char line[4096];
	int lineno = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *close;
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '@' || (close = strchr(line + 1, '@')) == NULL) {
			puts(line);
			continue;
		}
		*close = '\0';
		if (expand(line + 1, close[1] == ' ' ? close + 2 : close + 1, lineno) != 0)
			return 1;
	}
	return 0;
}
