/* fuzz_fedcsv.c: the federation's shops CSV (fed_csv_parse): whatever the bytes, either
 * every shop read holds only checked fields, or the bad lines are named and nothing is
 * returned. */
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "coffre/fed.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fed_shops l = { 0 };
	char *problems = NULL;
	struct cf_error err = { 0 };
	int rc = fed_csv_parse((const char *)data, size, &l, &problems, &err);
	if (rc) {
		FUZZ_CHECK(rc == CF_EUSAGE || rc == CF_ENOMEM);
		FUZZ_CHECK(l.n == 0 && l.v == NULL);
		FUZZ_CHECK(rc != CF_EUSAGE || size > FED_CSV_MAX ||
			(problems && strncmp(problems, "line ", 5) == 0));
		free(problems);
		return 0;
	}
	FUZZ_CHECK(problems == NULL);
	for (size_t i = 0; i < l.n; i++) {
		const struct fed_shop *s = &l.v[i];
		FUZZ_CHECK(fed_id_ok(s->id) && fed_value_ok(s->name, 128));
		FUZZ_CHECK(fed_secret_ok(s->access_key) && fed_secret_ok(s->secret_key));
		FUZZ_CHECK(!s->schedule || fed_value_ok(s->schedule, 64));
		for (size_t j = 0; j < s->nfolders; j++)
			FUZZ_CHECK(s->folders[j][0] == '/' && fed_value_ok(s->folders[j], 1024));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(l.v[j].id, s->id) != 0);
	}
	fed_shops_release(&l);
	return 0;
}
