/* test_fed.c: the federation's sealed secret files and its shops CSV reader
 * (agent/base/fed_seal.c, fed_csv.c): a seal opens with its passphrase only, a tampered or
 * greedy seal is refused, and bad CSV lines are each named by their number. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "coffre/fed.h"

static void test_seal(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	uint8_t secret[64], out[64];
	randombytes_buf(secret, sizeof secret);
	char *text = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(fed_seal("right horse", secret, sizeof secret, &text, &err), 0);
	assert_int_equal(fed_unseal("right horse", text, strlen(text), out, sizeof out, &err), 0);
	assert_memory_equal(out, secret, sizeof secret);
	assert_int_equal(fed_unseal("wrong horse", text, strlen(text), out, sizeof out, &err),
		CF_EPASSWORD);
	/* Another length than the one asked for. */
	assert_int_equal(fed_unseal("right horse", text, strlen(text), out, 32, &err),
		CF_ECORRUPT);
	/* A flipped byte of the box: the MAC refuses it as it refuses a wrong passphrase. */
	char *box = strstr(text, "\"box\":\"") + 7;
	box[3] = box[3] == 'A' ? 'B' : 'A';
	assert_int_equal(fed_unseal("right horse", text, strlen(text), out, sizeof out, &err),
		CF_EPASSWORD);
	free(text);
	/* A file asking for more work than we ever use is refused before hashing. */
	const char *greedy = "{\"v\":1,\"kdf\":\"argon2id13\",\"ops\":99999,\"mem\":67108864,"
			     "\"salt\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAA"
			     "AAAAAAAAAAAA\",\"box\":\"AAAA\"}";
	assert_int_equal(fed_unseal("x", greedy, strlen(greedy), out, sizeof out, &err),
		CF_ECORRUPT);
	assert_int_equal(fed_unseal("x", "not json", 8, out, sizeof out, &err), CF_ECORRUPT);
}

static void test_csv_good(void **state)
{
	(void)state;
	const char *csv = "shop_id,name,contact_email,s3_access_key,s3_secret_key,folders,schedule\r\n"
			  "s1,Shop One,a@b.c,AK1,SK1,/srv/a;/srv/b,daily 19:00\r\n"
			  "# a comment\n\n"
			  "shop.2,Shop Two,,AK2,SK2\n";
	struct fed_shops l = { 0 };
	char *problems = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(fed_csv_parse(csv, strlen(csv), &l, &problems, &err), 0);
	assert_null(problems);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].id, "s1");
	assert_int_equal(l.v[0].nfolders, 2);
	assert_string_equal(l.v[0].folders[1], "/srv/b");
	assert_string_equal(l.v[0].schedule, "daily 19:00");
	assert_int_equal(l.v[0].line, 2);
	assert_string_equal(l.v[1].id, "shop.2");
	assert_null(l.v[1].schedule);
	assert_int_equal(l.v[1].line, 5);
	fed_shops_release(&l);
}

static void test_csv_bad(void **state)
{
	(void)state;
	const char *csv = "s1,Shop,a@b.c,AK,SK\n"
			  "../x,Shop,,AK,SK\n"			/* line 2: bad id */
			  "s3,Shop,,AK\n"			/* line 3: too few fields */
			  "s1,Again,,AK,SK\n"			/* line 4: duplicate */
			  "s5,Shop,,AK,SK,relative/path\n"	/* line 5: bad folder */
			  "s6,Sh\"op,,AK,SK\n"			/* line 6: quote in name */
			  "s7,Shop,,A K,SK\n"			/* line 7: blank in a key */
			  "s8,Shop,,AK,SK,/a,daily,extra,x\n";	/* line 8: too many fields */
	struct fed_shops l = { 0 };
	char *problems = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(fed_csv_parse(csv, strlen(csv), &l, &problems, &err), CF_EUSAGE);
	assert_non_null(problems);
	assert_int_equal(l.n, 0);
	for (int i = 2; i <= 8; i++) {
		char want[16];
		snprintf(want, sizeof want, "line %d: ", i);
		assert_non_null(strstr(problems, want));
	}
	assert_null(strstr(problems, "line 1: "));
	free(problems);
	/* An overlong line and a NUL byte. */
	size_t n = FED_CSV_LINE_MAX + 10;
	char *big = malloc(n);
	memset(big, 'a', n);
	problems = NULL;
	assert_int_equal(fed_csv_parse(big, n, &l, &problems, &err), CF_EUSAGE);
	assert_non_null(strstr(problems, "line 1: line too long"));
	free(problems);
	free(big);
	problems = NULL;
	assert_int_equal(fed_csv_parse("s1,a\0b,,K,S\n", 12, &l, &problems, &err), CF_EUSAGE);
	assert_non_null(strstr(problems, "NUL"));
	free(problems);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_csv_good),
		cmocka_unit_test(test_csv_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
