/* test_blob_memo.c: the memo of metadata blobs a drill keeps (agent/store/blob_memo.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "store/blob_memo.h"

static void id_of(unsigned i, uint8_t id[32])
{
	/* Ids are keyed hashes; these collide on their first bytes on purpose, to probe. */
	memset(id, 0, 32);
	id[0] = (uint8_t)(i & 7);
	memcpy(id + 8, &i, sizeof i);
}

static void test_kept_and_returned(void **state)
{
	(void)state;
	struct blob_memo *m = blob_memo_new(1u << 20);
	assert_non_null(m);
	struct buf b = { 0 };
	uint8_t id[32];
	id_of(1, id);
	assert_int_equal(blob_memo_get(m, id, &b), 0);
	blob_memo_put(m, id, "folder node", 11);
	assert_int_equal(buf_append(&b, "something before", 16), 0);
	assert_int_equal(blob_memo_get(m, id, &b), 1);
	assert_int_equal(b.len, 11);	/* replaced, not appended */
	assert_memory_equal(b.p, "folder node", 11);
	/* A second put of the same id keeps the first. */
	blob_memo_put(m, id, "other", 5);
	assert_int_equal(blob_memo_get(m, id, &b), 1);
	assert_int_equal(b.len, 11);
	/* An empty blob is a blob. */
	id_of(2, id);
	blob_memo_put(m, id, "", 0);
	assert_int_equal(blob_memo_get(m, id, &b), 1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	blob_memo_free(m);
}

static void test_many_through_growth(void **state)
{
	(void)state;
	struct blob_memo *m = blob_memo_new(64u << 20);
	assert_non_null(m);
	uint8_t id[32];
	char v[32];
	for (unsigned i = 0; i < 5000; i++) {
		id_of(i, id);
		int n = snprintf(v, sizeof v, "node %u", i);
		blob_memo_put(m, id, v, (size_t)n);
	}
	struct buf b = { 0 };
	for (unsigned i = 0; i < 5000; i++) {
		id_of(i, id);
		int n = snprintf(v, sizeof v, "node %u", i);
		assert_int_equal(blob_memo_get(m, id, &b), 1);
		assert_int_equal(b.len, (size_t)n);
		assert_memory_equal(b.p, v, (size_t)n);
	}
	id_of(5000, id);
	assert_int_equal(blob_memo_get(m, id, &b), 0);
	buf_free(&b);
	blob_memo_free(m);
}

static void test_bounded(void **state)
{
	(void)state;
	struct blob_memo *m = blob_memo_new(100);
	assert_non_null(m);
	uint8_t id[32], big[101] = { 0 };
	struct buf b = { 0 };
	id_of(1, id);
	blob_memo_put(m, id, big, sizeof big);	/* alone over the bound */
	assert_int_equal(blob_memo_get(m, id, &b), 0);
	id_of(2, id);
	blob_memo_put(m, id, big, 60);
	id_of(3, id);
	blob_memo_put(m, id, big, 60);		/* 120 in all: not kept */
	id_of(4, id);
	blob_memo_put(m, id, big, 40);		/* exactly 100: kept */
	id_of(2, id);
	assert_int_equal(blob_memo_get(m, id, &b), 1);
	id_of(3, id);
	assert_int_equal(blob_memo_get(m, id, &b), 0);
	id_of(4, id);
	assert_int_equal(blob_memo_get(m, id, &b), 1);
	assert_int_equal(b.len, 40);
	buf_free(&b);
	blob_memo_free(m);
	blob_memo_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_and_returned),
		cmocka_unit_test(test_many_through_growth),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
