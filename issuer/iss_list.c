/* the admin commands' listings (accounts, ledger, anon-payments, ...): one
 * query printed as a tab-separated table or as a JSON array of objects */
#include "iss_db.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

static json_t *
rows_json(const iss_res *r, const char *const *names, const bool *numeric)
{
	json_t *a = json_array();
	size_t cols = iss_res_cols(r);

	for (size_t i = 0; i < iss_res_rows(r); i++) {
		json_t *row = json_object();

		for (size_t j = 0; j < cols; j++) {
			const char *t = iss_res_text(r, i, j);

			json_object_set_new(row, names[j], t == NULL ? json_null() :
			    numeric[j] ? json_integer(strtoll(t, NULL, 10)) :
			    json_string(t));
		}
		json_array_append_new(a, row);
	}
	return a;
}

static void
print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(j);
}

static void
print_table(const iss_res *r, const char *const *names)
{
	size_t cols = iss_res_cols(r);

	for (size_t j = 0; j < cols; j++)
		printf("%s%s", j ? "\t" : "", names[j]);
	putchar('\n');
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		for (size_t j = 0; j < cols; j++) {
			const char *t = iss_res_text(r, i, j);

			printf("%s%s", j ? "\t" : "", t ? t : "-");
		}
		putchar('\n');
	}
}

int
iss_db_print(iss_db *db, const char *sql, const char *const *names,
    const bool *numeric, bool json)
{
	iss_res *r = NULL;

	if (iss_db_exec(db, sql, NULL, 0, &r) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: %s\n", iss_db_errmsg(db));
		return 1;
	}
	if (json)
		print_json(rows_json(r, names, numeric));
	else
		print_table(r, names);
	iss_res_free(&r);
	return 0;
}

int
iss_db_print_many(iss_db *db, const iss_query *q, size_t n, bool json)
{
	json_t *all = json_object();
	iss_res **r = calloc(n, sizeof(*r));
	int rc = 1;
	size_t i;

	/* a read transaction (deferred on SQLite: its snapshot is taken at
	 * the first read; no write lock is held against the server) */
	if (r == NULL || iss_db_script(db, iss_db_is_pg(db) ?
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN") !=
	    ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: %s\n", r == NULL ?
		    "out of memory" : iss_db_errmsg(db));
		goto out;
	}
	for (i = 0; i < n; i++)
		if (iss_db_exec(db, q[i].sql, NULL, 0, &r[i]) != ISS_DB_OK) {
			fprintf(stderr, "walletkey-issuer: %s\n",
			    iss_db_errmsg(db));
			iss_db_script(db, "ROLLBACK");
			goto out;
		}
	if (iss_db_script(db, "COMMIT") != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: %s\n", iss_db_errmsg(db));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (json) {
			json_object_set_new(all, q[i].name,
			    rows_json(r[i], q[i].names, q[i].numeric));
			continue;
		}
		printf("%s# %s\n", i ? "\n" : "", q[i].name);
		print_table(r[i], q[i].names);
	}
	if (json) {
		print_json(all);
		all = NULL;
	}
	rc = 0;
out:
	for (i = 0; r != NULL && i < n; i++)
		iss_res_free(&r[i]);
	free(r);
	json_decref(all);
	return rc;
}
