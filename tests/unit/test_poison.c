/* test_poison.c: the files a run's process died on (agent/daemon/poison.c): skipped at the
 * second crash in a row on the same file, forgotten when it changes, remembered across a
 * reload of the state folder; a hostile record is not obeyed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coffre/error.h"
#include "coffre/poison.h"
#include "fixture.h"

static char dir[256], a[300], b[300], odd[300];

static void touch(const char *path, long long mtime)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("data", f);
	fclose(f);
	struct timespec t[2] = { { (time_t)mtime, 0 }, { (time_t)mtime, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static int setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir, sizeof dir, "poison"))
		return -1;
	snprintf(a, sizeof a, "%s/a.bin", dir);
	snprintf(b, sizeof b, "%s/b.bin", dir);
	snprintf(odd, sizeof odd, "%s/\xff*?[odd]\n", dir);
	touch(a, 1000);
	touch(b, 2000);
	touch(odd, 3000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_rm_rf(dir);
	return 0;
}

static int ndropped;

static void on_dropped(void *ctx, const char *path)
{
	(void)path;
	(void)ctx;
	ndropped++;
}

static struct poison *load(void)
{
	struct poison *p = NULL;
	assert_int_equal(poison_load(dir, &p, NULL), 0);
	assert_non_null(p);
	return p;
}

static void test_two_in_a_row(void **state)
{
	(void)state;
	struct poison *p = load();
	assert_int_equal(poison_count(p), 0);
	assert_false(poison_changed(p));
	/* Once on a, then on b, then on a: never twice in a row. */
	assert_int_equal(poison_crashed(p, a), 0);
	assert_int_equal(poison_crashed(p, b), 0);
	assert_int_equal(poison_crashed(p, a), 0);
	assert_int_equal(poison_count(p), 0);
	/* A run that ended between two crashes on a. */
	poison_run_ended(p);
	assert_int_equal(poison_crashed(p, a), 0);
	assert_int_equal(poison_count(p), 0);
	/* The second in a row: a is skipped. */
	assert_int_equal(poison_crashed(p, a), 1);
	assert_int_equal(poison_count(p), 1);
	assert_string_equal(poison_path(p, 0), a);
	assert_null(poison_path(p, 1));
	assert_true(poison_changed(p));
	/* A crash with nothing being read counts for nothing. */
	assert_int_equal(poison_crashed(p, ""), 0);
	/* The name byte for byte, glob characters and all. */
	assert_int_equal(poison_crashed(p, odd), 0);
	assert_int_equal(poison_crashed(p, odd), 1);
	assert_int_equal(poison_count(p), 2);
	/* Remembered through the state folder; a suspect too. */
	assert_int_equal(poison_crashed(p, b), 0);
	assert_int_equal(poison_save(p, dir, NULL), 0);
	assert_false(poison_changed(p));
	poison_free(p);
	p = load();
	assert_int_equal(poison_count(p), 2);
	assert_true(strcmp(poison_path(p, 0), a) == 0 || strcmp(poison_path(p, 1), a) == 0);
	assert_true(strcmp(poison_path(p, 0), odd) == 0 || strcmp(poison_path(p, 1), odd) == 0);
	assert_int_equal(poison_crashed(p, b), 1);
	assert_int_equal(poison_count(p), 3);
	/* Unchanged files stay skipped; a changed one (mtime) and a removed one are dropped. */
	ndropped = 0;
	poison_refresh(p, on_dropped, NULL);
	assert_int_equal(ndropped, 0);
	assert_int_equal(poison_count(p), 3);
	touch(a, 1001);
	unlink(odd);
	poison_refresh(p, on_dropped, NULL);
	assert_int_equal(ndropped, 2);
	assert_int_equal(poison_count(p), 1);
	assert_string_equal(poison_path(p, 0), b);
	assert_int_equal(poison_save(p, dir, NULL), 0);
	poison_free(p);
	poison_free(NULL);
}

static void write_file(const char *text)
{
	char path[400];
	snprintf(path, sizeof path, "%s/poison.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_hostile(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"", "not json", "[]", "{\"skipped\": 3}", "{\"skipped\": [1, \"x\", {}]}",
		"{\"skipped\": [{\"path_hex\": \"2f\", \"mtime\": \"1\", \"mtime_ns\": 0, \"ino\": 1}]}",
		"{\"skipped\": [{\"path_hex\": \"2f00\", \"mtime\": 1, \"mtime_ns\": 0, \"ino\": 1}]}",
		"{\"skipped\": [{\"path_hex\": \"612f\", \"mtime\": 1, \"mtime_ns\": 0, \"ino\": 1}]}",
		"{\"skipped\": [{\"path_hex\": \"2fz\", \"mtime\": 1, \"mtime_ns\": 0, \"ino\": 1}]}",
		"{\"suspect\": {\"path_hex\": \"2f61\", \"crashes\": 7}}",
	};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		write_file(texts[i]);
		struct poison *p = load();
		assert_int_equal(poison_count(p), 0);
		/* No suspect was believed either: one crash does not skip. */
		assert_int_equal(poison_crashed(p, "/a"), 0);
		assert_int_equal(poison_count(p), 0);
		poison_free(p);
	}
	/* The most it keeps. */
	struct poison *p = load();
	char path[400];
	for (int i = 0; i < POISON_MAX + 3; i++) {
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		touch(path, i);
		assert_int_equal(poison_crashed(p, path), 0);
		assert_int_equal(poison_crashed(p, path), 1);
	}
	assert_int_equal(poison_count(p), POISON_MAX);
	assert_int_equal(poison_save(p, dir, NULL), 0);
	poison_free(p);
	p = load();
	assert_int_equal(poison_count(p), POISON_MAX);
	poison_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_in_a_row),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
