/* test_dst_mem.c: the in-memory destination (agent/dst/dst_mem.c), driven through the public
 * dst_* calls: it keeps the contract the other backends keep, and its faults (failed calls,
 * short reads, a hook before each call) and counts do what tests built on it expect. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "dst/dst_mem.h"
#include "base/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct dst *open_mem(void)
{
	struct dst *d = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(dst_mem_open(&d, &err), 0);
	assert_non_null(d);
	return d;
}

static void put(struct dst *d, const char *name, const char *text)
{
	struct cf_error err = { 0 };
	assert_int_equal(dst_put_buf(d, name, text, strlen(text), &err), 0);
}

/* The object ${name} holds exactly ${text}. */
static void expect(struct dst *d, const char *name, const char *text)
{
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	assert_int_equal(dst_get(d, name, 1 << 20, &b, &err), 0);
	assert_int_equal(b.len, strlen(text));
	assert_memory_equal(b.p, text, b.len);
	buf_free(&b);
}

struct seen {
	int n;
	uint64_t bytes;
	char names[8][64];
	int stop_at;	/* fn returns 7 at this entry (1-based), 0: never */
};

static int collect(void *ctx, const char *name, uint64_t size)
{
	struct seen *s = ctx;
	if (s->n < 8)
		snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
	s->n++;
	s->bytes += size;
	return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

static void test_contract(void **state)
{
	(void)state;
	struct dst *d = open_mem();
	struct cf_error err = { 0 };
	struct buf b = { 0 };
	uint64_t size = 0;
	int fd = -1;
	assert_string_equal(dst_kind(d), "mem");
	assert_int_equal(dst_is_local(d), 0);
	assert_int_equal(dst_object_lock(d), 0);
	assert_int_equal(dst_open_read(d, "config", &fd, &err), CF_EUSAGE);

	put(d, "config", "cfg");
	put(d, "data/ab/0001", "first pack");
	put(d, "data/ab/0002", "second pack!");
	put(d, "data/cd/0003", "x");
	put(d, "config", "config v2");	/* replaces */
	expect(d, "config", "config v2");

	/* put_file reads a local file. */
	char path[4096];
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/test_dst_mem.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	assert_int_equal(util_write_atomic(path, "from a file", 11, 0, &err), 0);
	assert_int_equal(dst_put_file(d, "keys/k1", path, &err), 0);
	unlink(path);
	expect(d, "keys/k1", "from a file");
	assert_int_equal(dst_put_file(d, "keys/k2", path, &err), CF_ENOENT);
	assert_int_equal(dst_stat(d, "keys/k2", NULL, &err), CF_ENOENT);

	/* get: bounded, absent objects told apart. */
	assert_int_equal(dst_get(d, "data/ab/0002", 11, &b, &err), CF_ECORRUPT);
	assert_int_equal(dst_get(d, "data/ab/0002", 12, &b, &err), 0);
	buf_free(&b);
	assert_int_equal(dst_get(d, "nothing", 100, &b, &err), CF_ENOENT);
	assert_non_null(strstr(err.msg, "nothing"));

	/* get_range: exactly len bytes, or CF_ECORRUPT. */
	char out[16] = "";
	assert_int_equal(dst_get_range(d, "data/ab/0002", 7, 5, out, &err), 0);
	assert_memory_equal(out, "pack!", 5);
	assert_int_equal(dst_get_range(d, "data/ab/0002", 8, 5, out, &err), CF_ECORRUPT);
	assert_int_equal(dst_get_range(d, "data/ab/0002", 100, 1, out, &err), CF_ECORRUPT);
	assert_int_equal(dst_get_range(d, "data/ab/0002", 12, 0, out, &err), 0);
	assert_int_equal(dst_get_range(d, "nothing", 0, 1, out, &err), CF_ENOENT);

	assert_int_equal(dst_stat(d, "data/ab/0001", &size, &err), 0);
	assert_int_equal(size, 10);

	/* list: every name under the prefix with its size; fn's value stops it. */
	struct seen s = { 0 };
	assert_int_equal(dst_list(d, "data/", collect, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.bytes, 10 + 12 + 1);
	assert_string_equal(s.names[0], "data/ab/0001");
	memset(&s, 0, sizeof s);
	assert_int_equal(dst_list(d, "data/ab/", collect, &s, &err), 0);
	assert_int_equal(s.n, 2);
	memset(&s, 0, sizeof s);
	assert_int_equal(dst_list(d, "", collect, &s, &err), 0);
	assert_int_equal(s.n, 5);
	memset(&s, 0, sizeof s);
	s.stop_at = 2;
	assert_int_equal(dst_list(d, "", collect, &s, &err), 7);
	assert_int_equal(s.n, 2);

	/* delete: CF_ENOENT for absent objects. */
	assert_int_equal(dst_delete(d, "data/cd/0003", &err), 0);
	assert_int_equal(dst_delete(d, "data/cd/0003", &err), CF_ENOENT);
	assert_int_equal(dst_stat(d, "data/cd/0003", &size, &err), CF_ENOENT);

	/* An empty object is an object. */
	assert_int_equal(dst_put_buf(d, "empty", "", 0, &err), 0);
	assert_int_equal(dst_get(d, "empty", 0, &b, &err), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);

	dst_free(d);
	dst_free(NULL);
}

static void test_fail_nth(void **state)
{
	(void)state;
	struct dst *d = open_mem();
	struct cf_error err = { 0 };
	uint64_t size;
	put(d, "a", "1");
	/* The second put from now fails, once, and stores nothing. */
	dst_mem_fail(d, DST_MEM_PUT, 2, 1, CF_ENOSPC);
	put(d, "b", "2");
	assert_int_equal(dst_put_buf(d, "c", "3", 1, &err), CF_ENOSPC);
	assert_int_equal(err.code, CF_ENOSPC);
	assert_non_null(strstr(err.msg, "'c'"));
	assert_int_equal(dst_stat(d, "c", &size, &err), CF_ENOENT);
	put(d, "c", "3");
	assert_int_equal(dst_mem_calls(d, DST_MEM_PUT), 4);

	/* Every get from the next on: a dropped connection, until the rule is removed. */
	dst_mem_fail(d, DST_MEM_GET, 1, 0, CF_EUNREACH);
	struct buf b = { 0 };
	for (int i = 0; i < 3; i++)
		assert_int_equal(dst_get(d, "a", 10, &b, &err), CF_EUNREACH);
	/* Other kinds of calls go on. */
	char out[1];
	assert_int_equal(dst_get_range(d, "a", 0, 1, out, &err), 0);
	dst_mem_fail(d, DST_MEM_GET, 0, 0, 0);
	expect(d, "a", "1");
	assert_int_equal(dst_mem_calls(d, DST_MEM_GET), 4);
	assert_int_equal(dst_mem_calls(d, DST_MEM_GET_RANGE), 1);

	/* Calls 2 and 3 of stat fail with EIO; a failed delete removes nothing. */
	dst_mem_fail(d, DST_MEM_STAT, 2, 2, CF_EIO);
	assert_int_equal(dst_stat(d, "a", &size, &err), 0);
	assert_int_equal(dst_stat(d, "a", &size, &err), CF_EIO);
	assert_int_equal(dst_stat(d, "a", &size, &err), CF_EIO);
	assert_int_equal(dst_stat(d, "a", &size, &err), 0);
	dst_mem_fail(d, DST_MEM_DEL, 1, 1, CF_EIO);
	assert_int_equal(dst_delete(d, "a", &err), CF_EIO);
	expect(d, "a", "1");
	assert_int_equal(dst_delete(d, "a", &err), 0);
	dst_mem_fail(d, DST_MEM_LIST, 1, 1, CF_EUNREACH);
	struct seen s = { 0 };
	assert_int_equal(dst_list(d, "", collect, &s, &err), CF_EUNREACH);
	assert_int_equal(s.n, 0);
	assert_int_equal(dst_list(d, "", collect, &s, &err), 0);
	assert_int_equal(s.n, 2);
	dst_free(d);
}

static void test_short_reads(void **state)
{
	(void)state;
	struct dst *d = open_mem();
	struct cf_error err = { 0 };
	put(d, "data/p", "0123456789abcdef");
	dst_mem_short_reads(d, 10);
	expect(d, "data/p", "0123456789");
	char out[16];
	assert_int_equal(dst_get_range(d, "data/p", 2, 8, out, &err), 0);
	assert_int_equal(dst_get_range(d, "data/p", 2, 9, out, &err), CF_ECORRUPT);
	/* stat and list still tell the true size: the caller can see the read was short. */
	uint64_t size = 0;
	assert_int_equal(dst_stat(d, "data/p", &size, &err), 0);
	assert_int_equal(size, 16);
	struct seen s = { 0 };
	assert_int_equal(dst_list(d, "data/", collect, &s, &err), 0);
	assert_int_equal(s.bytes, 16);
	dst_mem_short_reads(d, UINT64_MAX);
	expect(d, "data/p", "0123456789abcdef");
	dst_free(d);
}

struct watch {
	int reads;
	char last[64];
	enum dst_mem_op last_op;
};

static void slow_reads(void *ctx, enum dst_mem_op op, const char *name)
{
	struct watch *w = ctx;
	w->last_op = op;
	snprintf(w->last, sizeof w->last, "%s", name);
	if (op == DST_MEM_GET || op == DST_MEM_GET_RANGE) {
		w->reads++;
		usleep(2000);
	}
}

static void test_hook(void **state)
{
	(void)state;
	struct dst *d = open_mem();
	struct cf_error err = { 0 };
	struct watch w = { 0 };
	put(d, "index/1", "idx");
	dst_mem_on_call(d, slow_reads, &w);
	/* The hook runs before the faults: a failed call is seen and counted. */
	dst_mem_fail(d, DST_MEM_GET_RANGE, 1, 1, CF_EIO);
	char out[3];
	assert_int_equal(dst_get_range(d, "index/1", 0, 3, out, &err), CF_EIO);
	assert_int_equal(dst_get_range(d, "index/1", 0, 3, out, &err), 0);
	expect(d, "index/1", "idx");
	assert_int_equal(w.reads, 3);
	assert_string_equal(w.last, "index/1");
	assert_int_equal(dst_delete(d, "index/1", &err), 0);
	assert_int_equal(w.last_op, DST_MEM_DEL);
	dst_mem_on_call(d, NULL, NULL);
	put(d, "index/2", "x");
	assert_int_equal(w.last_op, DST_MEM_DEL);
	dst_free(d);
}

struct writer {
	struct dst *d;
	int id;
	int rc;
};

static void *write_many(void *arg)
{
	struct writer *w = arg;
	for (int i = 0; i < 200 && w->rc == 0; i++) {
		char name[64];
		snprintf(name, sizeof name, "data/%02d/%04d", w->id, i);
		w->rc = dst_put_buf(w->d, name, name, strlen(name), NULL);
	}
	return NULL;
}

static void test_clone_threads(void **state)
{
	(void)state;
	struct dst *d = open_mem(), *c = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(dst_clone(d, &c, &err), 0);
	assert_true(c != d);
	/* A clone sees the same objects, faults and counts. */
	put(d, "config", "shared");
	expect(c, "config", "shared");
	dst_mem_fail(c, DST_MEM_PUT, 1, 1, CF_EIO);
	assert_int_equal(dst_put_buf(d, "x", "x", 1, &err), CF_EIO);
	assert_int_equal(dst_mem_calls(d, DST_MEM_PUT), 2);

	struct writer w[2] = { { d, 1, 0 }, { c, 2, 0 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
	struct seen s = { 0 };
	assert_int_equal(dst_list(c, "data/", collect, &s, &err), 0);
	assert_int_equal(s.n, 400);
	/* Freeing the first handle leaves the store to the clone. */
	dst_free(d);
	expect(c, "data/01/0199", "data/01/0199");
	dst_free(c);
}

/* A kind without local files stages in the spill folder and uploads on commit; a stage
 * freed uncommitted leaves nothing. put_fd reads the fd from its start. */
static void test_stage_spill(void **state)
{
	(void)state;
	struct dst *d = open_mem();
	struct cf_error err = { 0 };
	const char *t = getenv("TMPDIR");
	char dir[256];
	snprintf(dir, sizeof dir, "%s/cf-test-stage-XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	struct dst_stage *s = NULL;
	assert_int_equal(dst_stage_open(d, NULL, &s, &err), CF_EUSAGE);
	assert_int_equal(dst_stage_open(d, dir, &s, &err), 0);
	assert_int_equal(dst_stage_write(s, "staged ", 7, &err), 0);
	assert_int_equal(dst_stage_write(s, "object", 6, &err), 0);
	assert_int_equal(dst_stage_commit(s, "data/ab/staged", &err), 0);
	dst_stage_free(s);
	expect(d, "data/ab/staged", "staged object");
	assert_int_equal(dst_stage_open(d, dir, &s, &err), 0);
	assert_int_equal(dst_stage_write(s, "dropped", 7, &err), 0);
	dst_stage_free(s);
	assert_int_equal(dst_stat(d, "dropped", NULL, &err), CF_ENOENT);
	assert_int_equal(rmdir(dir), 0);	/* no spill file left */

	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fputs("from an fd", f) >= 0, 1);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(dst_put_fd(d, "index/fd", fileno(f), &err), 0);
	fclose(f);
	expect(d, "index/fd", "from an fd");
	dst_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contract),
		cmocka_unit_test(test_fail_nth),
		cmocka_unit_test(test_short_reads),
		cmocka_unit_test(test_hook),
		cmocka_unit_test(test_clone_threads),
		cmocka_unit_test(test_stage_spill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
