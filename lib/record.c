/* record.c: the listing skeleton shared by charges, tasks and refund
 * requests. */
#include "record.h"

enum pf_error
record_list_json(struct db *db, const struct db_catalog *catalog, int index,
    const char *const *params, record_row_json row_json, const void *arg, json_t **out)
{
	PGresult *res = NULL;
	json_t *list = NULL;
	enum pf_error err;
	int i, n;

	*out = NULL;
	err = db_exec(db, catalog, index, params, &res);
	if (err != PF_OK)
		goto out;
	err = PF_ERR_INTERNAL;
	list = json_array();
	if (list == NULL)
		goto out;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		bool skip = false;
		json_t *item = row_json(res, i, arg, &skip);

		if (item == NULL && skip)
			continue;
		if (json_array_append_new(list, item) != 0)
			goto out;
	}
	*out = list;
	list = NULL;
	err = PF_OK;
out:
	json_decref(list);
	PQclear(res);
	return err;
}
