/* test_signdoc.c: signed documents (agent/base/signdoc.c): what is made opens to the same
 * bytes with the right key and kind only; a changed payload, signature, kind, version or key,
 * and garbage, are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/signdoc.h"

static uint8_t pk[SIGNDOC_PK_BYTES], sk[SIGNDOC_SK_BYTES];
static uint8_t pk2[SIGNDOC_PK_BYTES], sk2[SIGNDOC_SK_BYTES];
static const char payload[] = "{\"shop\":\"0042\",\"seq\":7}";

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	signdoc_keypair(pk, sk);
	signdoc_keypair(pk2, sk2);
	return 0;
}

static char *make(const char *kind, const uint8_t *key)
{
	char *t = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(signdoc_make(kind, key, payload, strlen(payload), &t, &err), 0);
	return t;
}

static int open_rc(const char *kind, const uint8_t *key, const char *t)
{
	uint8_t *p = NULL;
	size_t n = 0;
	struct cf_error err = { 0 };
	int rc = signdoc_open(kind, key, t, strlen(t), &p, &n, &err);
	if (rc == 0) {
		assert_int_equal(n, strlen(payload));
		assert_memory_equal(p, payload, n);
		assert_int_equal(p[n], 0);
	} else {
		assert_null(p);
		assert_true(err.msg[0] != 0);
	}
	free(p);
	return rc;
}

/* ${t} with the string field ${key} replaced by ${v}, or the number "v" by ${num}. */
static char *with(const char *t, const char *key, const char *v, int num)
{
	json_t *o = json_loads(t, 0, NULL);
	assert_non_null(o);
	json_object_set_new(o, key, v ? json_string(v) : json_integer(num));
	char *r = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return r;
}

static void test_round_trip(void **state)
{
	(void)state;
	char *t = make("status", sk);
	assert_int_equal(open_rc("status", pk, t), 0);
	assert_int_equal(open_rc("status", pk2, t), CF_ECORRUPT);	/* another key */
	assert_int_equal(open_rc("bundle", pk, t), CF_ECORRUPT);	/* another kind */
	free(t);
}

static void test_tampered(void **state)
{
	(void)state;
	char *t = make("bundle", sk);
	/* The payload of another document, under this one's signature. */
	char *other = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(signdoc_make("bundle", sk, "{}", 2, &other, &err), 0);
	json_t *o = json_loads(other, 0, NULL);
	char *swapped = with(t, "payload", json_string_value(json_object_get(o, "payload")), 0);
	assert_int_equal(open_rc("bundle", pk, swapped), CF_ECORRUPT);
	/* The kind changed, with the signature made for the first. */
	char *kind = with(t, "kind", "status", 0);
	assert_int_equal(open_rc("status", pk, kind), CF_ECORRUPT);
	char *v2 = with(t, "v", NULL, 2);
	assert_int_equal(open_rc("bundle", pk, v2), CF_ECORRUPT);
	char *badsig = with(t, "sig", "AAAA", 0);
	assert_int_equal(open_rc("bundle", pk, badsig), CF_ECORRUPT);
	char *nob64 = with(t, "payload", "not base64!", 0);
	assert_int_equal(open_rc("bundle", pk, nob64), CF_ECORRUPT);
	/* Every single byte flipped: refused (or, where the JSON still parses the same, the
	 * same payload). */
	size_t n = strlen(t);
	for (size_t i = 0; i < n; i++) {
		char *c = strdup(t);
		c[i] ^= 0x01;
		uint8_t *p = NULL;
		size_t pn = 0;
		if (signdoc_open("bundle", pk, c, n, &p, &pn, &err) == 0) {
			assert_int_equal(pn, strlen(payload));
			assert_memory_equal(p, payload, pn);
		}
		free(p);
		free(c);
	}
	json_decref(o);
	free(other);
	free(swapped);
	free(kind);
	free(v2);
	free(badsig);
	free(nob64);
	free(t);
}

static void test_garbage(void **state)
{
	(void)state;
	const char *bad[] = { "", "{", "[]", "{\"v\":1}", "null",
		"{\"v\":1,\"kind\":\"bundle\",\"payload\":\"\",\"sig\":\"\",\"extra\":1}" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(open_rc("bundle", pk, bad[i]), CF_ECORRUPT);
	uint8_t *p = NULL;
	size_t n = 0;
	struct cf_error err = { 0 };
	assert_int_equal(signdoc_open("Bad Kind", pk, "{}", 2, &p, &n, &err), CF_EUSAGE);
	assert_int_equal(signdoc_open("bundle", pk, "{}", SIGNDOC_MAX + 1, &p, &n, &err),
		CF_ECORRUPT);
}

static void test_key_text(void **state)
{
	(void)state;
	char text[64];
	uint8_t back[SIGNDOC_PK_BYTES];
	assert_int_equal(signdoc_key_text(pk, sizeof pk, text, sizeof text), 0);
	assert_int_equal(signdoc_key_text(pk, sizeof pk, text, 10), -1);
	char padded[80];
	snprintf(padded, sizeof padded, "  %s\n", text);
	assert_int_equal(signdoc_key_parse(padded, back, sizeof back), 0);
	assert_memory_equal(back, pk, sizeof pk);
	assert_int_equal(signdoc_key_parse("AAAA", back, sizeof back), -1);	/* too short */
	assert_int_equal(signdoc_key_parse("@@@@", back, sizeof back), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_key_text),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
