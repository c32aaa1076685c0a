/* the admin commands' listings (accounts, ledger, anon-payments, ...): one
 * query printed as a tab-separated table or as a JSON array of objects */
#include "iss_db.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

static void
print_json(const iss_res *r, const char *const *names, const bool *numeric)
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
	json_dumpf(a, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(a);
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
		print_json(r, names, numeric);
	else
		print_table(r, names);
	iss_res_free(&r);
	return 0;
}
