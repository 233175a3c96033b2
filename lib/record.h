/* record.h: small helpers shared by the stores of charges, tasks and refund
 * requests: id bounds, parameter text, times as JSON, prefixed columns, and
 * the one "rows into a JSON array" skeleton (record.c). */
#ifndef RECORD_H
#define RECORD_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "db.h"
#include "pf_time.h"

/* Ids the database makes ("ch_" + 32 hex); longer ones cannot exist. */
#define RECORD_ID_MAX 64
#define RECORD_COLUMN_MAX 48

/* Decimal text of value for a statement parameter. */
static inline void
record_int_text(char *buf, size_t len, long long value)
{
	snprintf(buf, len, "%lld", value);
}

/* RFC 3339 string, or JSON null when t cannot be formatted (new reference). */
static inline json_t *
record_time_json(pf_time t)
{
	char buf[PF_RFC3339_LEN];

	if (pf_time_format(t, buf) != 0)
		return json_null();
	return json_string(buf);
}

/* "<prefix><name>" in buf (RECORD_COLUMN_MAX bytes); returns buf. */
static inline const char *
record_column(char *buf, const char *prefix, const char *name)
{
	snprintf(buf, RECORD_COLUMN_MAX, "%s%s", prefix, name);
	return buf;
}

/* Copies a text column (prefixed) into dst, "" for NULL. */
static inline void
record_copy_text(const PGresult *res, int row, const char *prefix, const char *name,
    char *dst, size_t len)
{
	char col[RECORD_COLUMN_MAX];
	const char *v = db_text(res, row, record_column(col, prefix, name));

	snprintf(dst, len, "%s", v != NULL ? v : "");
}

static inline long long
record_int(const PGresult *res, int row, const char *prefix, const char *name)
{
	char col[RECORD_COLUMN_MAX];

	return db_int(res, row, record_column(col, prefix, name));
}

static inline bool
record_is_null(const PGresult *res, int row, const char *prefix, const char *name)
{
	char col[RECORD_COLUMN_MAX];

	return db_is_null(res, row, record_column(col, prefix, name));
}

/* One row of a listing as JSON (new reference). NULL leaves the row out
 * when it sets *skip, and is a failure (out of memory) when it does not. */
typedef json_t *(*record_row_json)(const PGresult *res, int row, const void *arg, bool *skip);

/* Runs the statement and turns its rows, in order, into a JSON array in
 * *out (new reference) with row_json(res, row, arg). PF_ERR_INTERNAL when
 * memory runs out; else db_exec's result. */
enum pf_error record_list_json(struct db *db, const struct db_catalog *catalog, int index,
    const char *const *params, record_row_json row_json, const void *arg, json_t **out);

static inline bool
record_bool(const PGresult *res, int row, const char *prefix, const char *name)
{
	char col[RECORD_COLUMN_MAX];

	return db_bool(res, row, record_column(col, prefix, name));
}

#endif
