/* billing_cycle.c: pf-billing-cycle, the billing-cycle command (run by a
 * systemd timer or cron). Finds every user whose paid period has ended and
 * brings the subscription up to date with account_bring_up_to_date, the
 * same rollover every request applies on access: scheduled cancellations
 * end, scheduled downgrades start, everything else renews, one period at a
 * time.
 *
 * Exactly once per subscription-period, with any number of copies running
 * on any number of hosts: each user is one transaction that holds the user
 * row lock (taken with SKIP LOCKED, so a runner never queues behind another
 * runner or a request; a locked user is retried later in the run or left
 * for the next one), and charges_one_renewal_per_period refuses a second
 * renewal charge for a period. A crash at any point leaves every user
 * either fully rolled over or untouched, so running again resumes.
 *
 * Exit status: 0 every due user handled (or left to the runner holding
 * it); 1 some user failed, or the run was interrupted; 2 usage error;
 * 3 the database is unreachable. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "account.h"
#include "auth_subject.h"
#include "command_line.h"
#include "db.h"
#include "json_memory.h"
#include "pf_time.h"
#include "policy_subscription.h"
#include "sql_billing.h"
#include "sql_idempotency.h"

#define CYCLE_DEFAULT_BATCH 500
#define CYCLE_BATCH_MAX 100000
#define CYCLE_DEFAULT_CONNINFO "dbname=personaforge"
#define CYCLE_DEFAULT_TIMEOUT_MS 30000
#define CYCLE_ATTEMPTS 4           /* per user: first try + retries on serialization failure/deadlock */
#define CYCLE_LOCK_ROUNDS 5        /* passes over users another runner held */
#define CYCLE_LOCK_PAUSE_MS 200    /* before the first such pass; doubles each pass */
#define CYCLE_STEPS_MAX 100000     /* a rollover loop longer than this is a corrupt row */
#define CYCLE_USERS_MAX 10000      /* --user arguments */
#define CYCLE_PATH_MAX 1024        /* --metrics-file */

enum exit_status {
	EXIT_DONE = 0,
	EXIT_USER_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_UNAVAILABLE = 3,
};

struct cycle_options {
	pf_time now;
	const char *conninfo;
	long batch;
	bool dry_run;
	bool verbose;
	char *only_users;          /* text[] literal of --user ids, or NULL for everyone */
	const char *metrics_file;  /* --metrics-file, or NULL */
};

struct step_counts {
	long renewed;
	long plans_changed;
	long ended;
};

struct cycle_summary {
	long examined;             /* due users seen */
	long up_to_date;           /* due when listed, already rolled over when locked */
	long skipped_locked;       /* still held by someone else at the end: left for the next run */
	long errors;
	struct step_counts steps;
};

/* ids of users another runner held, to try again at the end of the run */
struct user_list {
	char **ids;
	size_t count;
	size_t cap;
};

enum user_outcome {
	USER_DONE,
	USER_LOCKED,
	USER_FAILED,
	USER_UNAVAILABLE,
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pf-billing-cycle [--now RFC3339] [--database CONNINFO] [--batch N]\n"
	    "                        [--user ID]... [--dry-run] [--verbose]\n"
	    "       pf-billing-cycle --version | --help\n"
	    "Brings every subscription whose billing period has ended up to date:\n"
	    "scheduled cancellations end, scheduled downgrades start, the rest renew.\n"
	    "  --now T          act as if it were T (default: the current time)\n"
	    "  --database C     libpq conninfo (default: $PF_DATABASE, else %s);\n"
	    "                   with standbys: host=a,b port=p,q target_session_attrs=read-write\n"
	    "  --batch N        users listed per query (default %d)\n"
	    "  --user ID        only this user (repeatable)\n"
	    "  --dry-run        do everything, report it, then roll each user back\n"
	    "  --verbose        one line per user changed, on stderr\n"
	    "  --metrics-file P also write the summary to P in Prometheus' text format\n"
	    "                   (for node_exporter's textfile collector; replaced atomically)\n",
	    CYCLE_DEFAULT_CONNINFO, CYCLE_DEFAULT_BATCH);
}

/* Appends "id" to the text[] literal in *literal (a new string each time). */
static int
only_users_add(char **literal, const char *id)
{
	size_t old_len = *literal ? strlen(*literal) : 0;
	size_t len = old_len + strlen(id) + 4;
	char *next = malloc(len + 1);

	if (next == NULL)
		return -1;
	if (*literal == NULL)
		snprintf(next, len + 1, "{\"%s\"}", id);
	else
		snprintf(next, len + 1, "%.*s,\"%s\"}", (int)(old_len - 1), *literal, id);
	free(*literal);
	*literal = next;
	return 0;
}

static int
parse_long(const char *text, long min, long max, long *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
		return -1;
	*out = value;
	return 0;
}

/* Fills opt from argv. Returns 0, or an exit status (usage printed). */
static int
parse_options(int argc, char **argv, struct cycle_options *opt)
{
	struct timespec ts;
	const char *env = getenv("PF_DATABASE");
	long users = 0;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	opt->now = (pf_time)ts.tv_sec;
	opt->conninfo = env != NULL && env[0] != '\0' ? env : CYCLE_DEFAULT_CONNINFO;
	opt->batch = CYCLE_DEFAULT_BATCH;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (command_line_answered("pf-billing-cycle", arg, usage))
			return -1;
		if (strcmp(arg, "--dry-run") == 0) {
			opt->dry_run = true;
			continue;
		} else if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "-v") == 0) {
			opt->verbose = true;
			continue;
		}
		if (value == NULL)
			goto bad;
		i++;
		if (strcmp(arg, "--now") == 0) {
			if (pf_time_parse(value, &opt->now) != 0) {
				fprintf(stderr, "pf-billing-cycle: --now: not an RFC 3339 time: %s\n", value);
				return EXIT_USAGE;
			}
		} else if (strcmp(arg, "--database") == 0) {
			opt->conninfo = value;
		} else if (strcmp(arg, "--metrics-file") == 0) {
			if (value[0] == '\0' || strlen(value) > CYCLE_PATH_MAX) {
				fprintf(stderr, "pf-billing-cycle: --metrics-file: a path of 1 to %d bytes\n",
				    CYCLE_PATH_MAX);
				return EXIT_USAGE;
			}
			opt->metrics_file = value;
		} else if (strcmp(arg, "--batch") == 0) {
			if (parse_long(value, 1, CYCLE_BATCH_MAX, &opt->batch) != 0) {
				fprintf(stderr, "pf-billing-cycle: --batch: 1 to %d\n", CYCLE_BATCH_MAX);
				return EXIT_USAGE;
			}
		} else if (strcmp(arg, "--user") == 0) {
			if (!auth_subject_valid(value, strlen(value)) || ++users > CYCLE_USERS_MAX) {
				fprintf(stderr, "pf-billing-cycle: --user: not a user id (or too many): %.80s\n",
				    value);
				return EXIT_USAGE;
			}
			if (only_users_add(&opt->only_users, value) != 0) {
				fprintf(stderr, "pf-billing-cycle: out of memory\n");
				return EXIT_USAGE;
			}
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	command_line_bad_argument("pf-billing-cycle", argv[i], usage);
	return EXIT_USAGE;
}

/* What account_bring_up_to_date will do to s at now, step by step through
 * the same pure rules. Returns the number of steps, or -1 when the loop
 * does not end (a row whose periods do not advance). */
static long
count_due_steps(const struct subscription_state *start, pf_time now, struct step_counts *out)
{
	struct subscription_state s = *start;
	struct rollover_step step;
	long total = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		policy_rollover_next(&s, now, &step);
		if (step.kind == ROLLOVER_NONE)
			return total;
		if (++total > CYCLE_STEPS_MAX)
			return -1;
		if (step.kind == ROLLOVER_END)
			out->ended++;
		else if (step.kind == ROLLOVER_CHANGE_PLAN)
			out->plans_changed++;
		else
			out->renewed++;
		policy_rollover_apply(&s, &step, &s);
	}
}

static void
report_error(const struct db *db, const char *user_id, enum pf_error err)
{
	fprintf(stderr, "pf-billing-cycle: user %s: %s%s%s%s\n", user_id, pf_error_info(err)->code,
	    db->last_sqlstate[0] ? " (SQLSTATE " : "", db->last_sqlstate,
	    db->last_sqlstate[0] ? ")" : "");
}

/* One attempt at one user, inside one transaction. PF_OK with *locked false
 * when another session holds the user. */
static enum pf_error
cycle_user_once(struct db *db, const struct cycle_options *opt, const char *user_id,
    bool *locked, struct step_counts *counts)
{
	const struct actor system = {"system", NULL};
	const char *params[1] = {user_id};
	PGresult *res = NULL;
	struct account acct;
	long expected;
	int steps = 0;
	enum pf_error err;

	*locked = false;
	memset(counts, 0, sizeof(*counts));
	json_memory_reset();
	err = db_begin(db);
	if (err != PF_OK)
		goto out;
	err = db_exec(db, &sql_billing_catalog, SQL_BILLING_TRY_LOCK_USER, params, &res);
	if (err != PF_OK)
		goto out;
	if (PQntuples(res) != 1) {
		*locked = true;
		goto out;
	}
	err = account_lock(db, user_id, &acct);
	if (err != PF_OK)
		goto out;
	expected = count_due_steps(&acct.sub, opt->now, counts);
	if (expected < 0) {
		fprintf(stderr, "pf-billing-cycle: user %s: the billing periods do not advance\n",
		    user_id);
		err = PF_ERR_INTERNAL;
		goto out;
	}
	err = account_bring_up_to_date(db, &acct, opt->now, &system, &steps);
	if (err != PF_OK)
		goto out;
	if (steps != expected) {
		fprintf(stderr, "pf-billing-cycle: user %s: %d steps applied, %ld expected\n",
		    user_id, steps, expected);
		err = PF_ERR_INTERNAL;
		goto out;
	}
	/* a JSON value that could not be built may be missing from an audit row
	 * or a notification: nothing of this user is committed then */
	if (json_memory_ran_out()) {
		err = PF_ERR_INTERNAL;
		goto out;
	}
	if (!opt->dry_run)
		err = db_commit(db);
out:
	PQclear(res);
	if (err != PF_OK || *locked || opt->dry_run)
		db_rollback(db);
	return err;
}

/* Brings one user up to date, retrying what the database asks to retry and
 * reconnecting once after a lost connection. */
static enum user_outcome
cycle_user(struct db *db, const struct cycle_options *opt, const char *user_id,
    struct cycle_summary *sum)
{
	struct step_counts counts;
	enum pf_error err = PF_OK;
	bool locked;
	int attempt;

	for (attempt = 0; attempt < CYCLE_ATTEMPTS; attempt++) {
		db->last_sqlstate[0] = '\0';
		err = db_ensure(db);
		if (err != PF_OK)
			return USER_UNAVAILABLE;
		err = cycle_user_once(db, opt, user_id, &locked, &counts);
		if (err == PF_OK && locked)
			return USER_LOCKED;
		if (err == PF_OK)
			break;
		/* a lost connection is re-made by db_ensure on the next attempt;
		 * a serialization failure or deadlock is simply tried again */
		if (db->conn != NULL && !db_last_error_retryable(db))
			break;
	}
	if (err != PF_OK) {
		report_error(db, user_id, err);
		sum->errors++;
		return db->conn == NULL ? USER_UNAVAILABLE : USER_FAILED;
	}
	if (counts.renewed + counts.plans_changed + counts.ended == 0)
		sum->up_to_date++;
	sum->steps.renewed += counts.renewed;
	sum->steps.plans_changed += counts.plans_changed;
	sum->steps.ended += counts.ended;
	if (opt->verbose && counts.renewed + counts.plans_changed + counts.ended > 0)
		fprintf(stderr, "pf-billing-cycle: user %s: renewed=%ld plans_changed=%ld ended=%ld%s\n",
		    user_id, counts.renewed, counts.plans_changed, counts.ended,
		    opt->dry_run ? " (dry run)" : "");
	return USER_DONE;
}

static int
user_list_add(struct user_list *list, const char *id)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		char **ids = realloc(list->ids, cap * sizeof(*ids));
		if (ids == NULL)
			return -1;
		list->ids = ids;
		list->cap = cap;
	}
	list->ids[list->count] = strdup(id);
	if (list->ids[list->count] == NULL)
		return -1;
	list->count++;
	return 0;
}

static void
user_list_free(struct user_list *list)
{
	size_t i;
	for (i = 0; i < list->count; i++)
		free(list->ids[i]);
	free(list->ids);
	memset(list, 0, sizeof(*list));
}

static void
pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_requested)
		;
}

/* Handles outcome of one user; returns -1 when the run must stop. */
static int
record_outcome(enum user_outcome outcome, const char *user_id, struct user_list *locked)
{
	switch (outcome) {
	case USER_DONE:
	case USER_FAILED:
		return 0;
	case USER_LOCKED:
		if (user_list_add(locked, user_id) != 0) {
			fprintf(stderr, "pf-billing-cycle: out of memory\n");
			return -1;
		}
		return 0;
	case USER_UNAVAILABLE:
		break;
	}
	return -1;
}

/* One pass over every due user, batch by batch in user_id order. Returns
 * 0, or an exit status to stop with. */
static int
cycle_due_users(struct db *db, const struct cycle_options *opt, struct cycle_summary *sum,
    struct user_list *locked)
{
	char now_text[24], limit_text[24], after[AUTH_SUB_MAX + 1] = "";
	const char *params[4];
	PGresult *res = NULL;
	enum pf_error err;
	int ret = EXIT_UNAVAILABLE;
	int i, n;

	snprintf(now_text, sizeof(now_text), "%lld", (long long)opt->now);
	snprintf(limit_text, sizeof(limit_text), "%ld", opt->batch);
	params[0] = now_text;
	params[1] = after;
	params[2] = limit_text;
	params[3] = opt->only_users;
	while (!stop_requested) {
		PQclear(res);
		res = NULL;
		err = db_ensure(db);
		if (err == PF_OK)
			err = db_exec(db, &sql_billing_catalog, SQL_BILLING_DUE_USERS, params, &res);
		if (err != PF_OK) {
			fprintf(stderr, "pf-billing-cycle: listing due subscriptions failed: %s\n",
			    pf_error_info(err)->code);
			ret = err == PF_ERR_UNAVAILABLE ? EXIT_UNAVAILABLE : EXIT_USER_FAILED;
			goto out;
		}
		n = PQntuples(res);
		if (n == 0)
			break;
		for (i = 0; i < n && !stop_requested; i++) {
			const char *user_id = db_text(res, i, "user_id");
			sum->examined++;
			if (record_outcome(cycle_user(db, opt, user_id, sum), user_id, locked) != 0)
				goto out;
			snprintf(after, sizeof(after), "%s", user_id);
		}
		if (n < opt->batch)
			break;
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

/* Passes over the users another session held, with growing pauses; what
 * is still held at the end is left for the next run (whoever holds it is
 * bringing it up to date, or will on its next request). */
static int
cycle_locked_users(struct db *db, const struct cycle_options *opt, struct cycle_summary *sum,
    struct user_list *locked)
{
	long pause = CYCLE_LOCK_PAUSE_MS;
	int round;
	size_t i;

	for (round = 0; round < CYCLE_LOCK_ROUNDS && locked->count > 0 && !stop_requested; round++) {
		struct user_list again = {NULL, 0, 0};
		int ret = 0;

		pause_ms(pause);
		pause *= 2;
		for (i = 0; i < locked->count && !stop_requested; i++) {
			if (record_outcome(cycle_user(db, opt, locked->ids[i], sum), locked->ids[i],
			    &again) != 0) {
				ret = EXIT_UNAVAILABLE;
				break;
			}
		}
		/* interrupted: whatever was not tried stays counted as locked */
		for (; i < locked->count; i++)
			if (user_list_add(&again, locked->ids[i]) != 0)
				ret = EXIT_UNAVAILABLE;
		user_list_free(locked);
		*locked = again;
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* Idempotency keys live 24 hours; expired ones are deleted here, by the
 * wall clock (not --now, which only says which periods are due). */
static void
purge_idempotency_keys(struct db *db)
{
	char now_text[24];
	const char *params[1] = {now_text};
	PGresult *res = NULL;

	snprintf(now_text, sizeof(now_text), "%lld", (long long)time(NULL));
	if (db_exec(db, &sql_idempotency_catalog, SQL_IDEMPOTENCY_PURGE, params, &res) == PF_OK)
		printf("pf-billing-cycle: purged %s expired idempotency keys\n", PQcmdTuples(res));
	else
		fprintf(stderr, "pf-billing-cycle: purging idempotency keys failed\n");
	PQclear(res);
}

/* The summary for node_exporter's textfile collector: written to a
 * temporary file beside path, then renamed over it, so the collector never
 * reads half a file. Returns 0 or -1. */
static int
write_metrics_file(const struct cycle_options *opt, const struct cycle_summary *sum, int exit_status)
{
	char tmp[CYCLE_PATH_MAX + 16];
	struct timespec ts;
	FILE *f = NULL;
	int ret = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", opt->metrics_file) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (f == NULL)
		goto out;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(f,
	    "# HELP pf_billing_cycle_users Users of the last run, by outcome.\n"
	    "# TYPE pf_billing_cycle_users gauge\n"
	    "pf_billing_cycle_users{outcome=\"examined\"} %ld\n"
	    "pf_billing_cycle_users{outcome=\"up_to_date\"} %ld\n"
	    "pf_billing_cycle_users{outcome=\"skipped_locked\"} %ld\n"
	    "pf_billing_cycle_users{outcome=\"error\"} %ld\n"
	    "# HELP pf_billing_cycle_steps Period steps the last run applied, by kind.\n"
	    "# TYPE pf_billing_cycle_steps gauge\n"
	    "pf_billing_cycle_steps{kind=\"renewed\"} %ld\n"
	    "pf_billing_cycle_steps{kind=\"plan_changed\"} %ld\n"
	    "pf_billing_cycle_steps{kind=\"ended\"} %ld\n"
	    "# HELP pf_billing_cycle_dry_run Whether the last run was a dry run.\n"
	    "# TYPE pf_billing_cycle_dry_run gauge\n"
	    "pf_billing_cycle_dry_run %d\n"
	    "# HELP pf_billing_cycle_exit_status The last run's exit status (0: everything done).\n"
	    "# TYPE pf_billing_cycle_exit_status gauge\n"
	    "pf_billing_cycle_exit_status %d\n"
	    "# HELP pf_billing_cycle_last_run_timestamp_seconds When the last run ended.\n"
	    "# TYPE pf_billing_cycle_last_run_timestamp_seconds gauge\n"
	    "pf_billing_cycle_last_run_timestamp_seconds %lld\n",
	    sum->examined, sum->up_to_date, sum->skipped_locked, sum->errors,
	    sum->steps.renewed, sum->steps.plans_changed, sum->steps.ended,
	    opt->dry_run ? 1 : 0, exit_status, (long long)ts.tv_sec);
	if (ferror(f))
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (rename(tmp, opt->metrics_file) != 0)
		goto out;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	if (ret != 0) {
		fprintf(stderr, "pf-billing-cycle: cannot write %s\n", opt->metrics_file);
		unlink(tmp);
	}
	return ret;
}

static void
print_summary(const struct cycle_options *opt, const struct cycle_summary *sum)
{
	char now[PF_RFC3339_LEN];

	if (pf_time_format(opt->now, now) != 0)
		snprintf(now, sizeof(now), "%lld", (long long)opt->now);
	printf("pf-billing-cycle: now=%s%s examined=%ld renewed=%ld plans_changed=%ld ended=%ld"
	    " up_to_date=%ld skipped_locked=%ld errors=%ld\n",
	    now, opt->dry_run ? " dry_run=1" : "", sum->examined, sum->steps.renewed,
	    sum->steps.plans_changed, sum->steps.ended, sum->up_to_date, sum->skipped_locked,
	    sum->errors);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct cycle_options opt;
	struct cycle_summary sum;
	struct user_list locked = {NULL, 0, 0};
	struct db db;
	const char *timeout_env = getenv("PF_STATEMENT_TIMEOUT_MS");
	long timeout_ms = CYCLE_DEFAULT_TIMEOUT_MS;
	int ret;

	json_memory_watch();
	memset(&opt, 0, sizeof(opt));
	memset(&sum, 0, sizeof(sum));
	ret = parse_options(argc, argv, &opt);
	if (ret != 0) {
		ret = ret < 0 ? EXIT_DONE : ret;
		goto out_options;
	}
	if (timeout_env != NULL && parse_long(timeout_env, 1, 3600000, &timeout_ms) != 0) {
		fprintf(stderr, "pf-billing-cycle: PF_STATEMENT_TIMEOUT_MS: 1 to 3600000\n");
		ret = EXIT_USAGE;
		goto out_options;
	}
	/* SIGINT/SIGTERM: finish the current user's transaction, then stop */
	command_line_stop_on_signals();

	db_init(&db, opt.conninfo, (int)timeout_ms);
	if (db_ensure(&db) != PF_OK) {
		fprintf(stderr, "pf-billing-cycle: cannot reach the database\n");
		ret = EXIT_UNAVAILABLE;
		goto out;
	}
	ret = cycle_due_users(&db, &opt, &sum, &locked);
	if (ret == 0)
		ret = cycle_locked_users(&db, &opt, &sum, &locked);
	sum.skipped_locked = (long)locked.count;
	if (ret == 0 && !opt.dry_run && opt.only_users == NULL && !stop_requested)
		purge_idempotency_keys(&db);
	if (ret == 0 && (sum.errors > 0 || stop_requested))
		ret = EXIT_USER_FAILED;
	if (stop_requested)
		fprintf(stderr, "pf-billing-cycle: interrupted; the next run resumes\n");
	print_summary(&opt, &sum);
	if (opt.metrics_file != NULL && write_metrics_file(&opt, &sum, ret) != 0 && ret == 0)
		ret = EXIT_USAGE;
out:
	db_close(&db);
	user_list_free(&locked);
out_options:
	free(opt.only_users);
	return ret;
}
