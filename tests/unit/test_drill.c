/* test_drill.c: the pure parts of restore drills (agent/maint/drill_*.c): the state file
 * read back as written and hostile bytes refused, the choice within a budget and the
 * rotation covering every file, the names derived for state files, the kinds of failure,
 * sizes, and the removal of a scratch folder that never follows a link out of it. */
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
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/error.h"
#include "base/util.h"
#include "fixture.h"
#include "maint/drill_internal.h"

/* ---- the state file ---- */

static void fill_state(struct drill_state *s)
{
	drill_state_fresh(s);
	s->cursor = 0x8000000000000001ull;
	s->oldest_cursor = 42;
	s->snapshot_time = 1796236828;
	memset(s->baseline, 'b', 64);
	s->baseline_time = 1796000000;
	s->last.result = DRILL_RESULT_FAILED;
	s->last.when = 1796236900;
	s->last.last_ok = 1796000100;
	memset(s->last.snapshot, 'a', 64);
	s->last.full = 1;
	s->last.files = 1899;
	s->last.bytes = 75000000;
	s->last.bytes_fetched = 44000000;
	s->last.failures = 3;
	s->last.seconds = 12.5;
	s->last.throughput = 3520000.25;
	s->scratch = strdup("/var/lib/coffre/drill/drill-scratch-nas-0123456789abcdef");
}

static void test_state_round_trip(void **state)
{
	(void)state;
	struct drill_state s, back;
	fill_state(&s);
	char *text = NULL;
	assert_int_equal(drill_state_encode(&s, "nas", "/srv/nas", &text), 0);
	assert_int_equal(drill_state_parse((const uint8_t *)text, strlen(text), &back), 0);
	assert_memory_equal(back.key, s.key, 32);
	assert_true(back.cursor == s.cursor);
	assert_true(back.oldest_cursor == s.oldest_cursor);
	assert_true(back.snapshot_time == s.snapshot_time);
	assert_string_equal(back.baseline, s.baseline);
	assert_true(back.baseline_time == s.baseline_time);
	assert_int_equal(back.last.result, DRILL_RESULT_FAILED);
	assert_true(back.last.when == s.last.when && back.last.last_ok == s.last.last_ok);
	assert_string_equal(back.last.snapshot, s.last.snapshot);
	assert_int_equal(back.last.full, 1);
	assert_true(back.last.files == 1899 && back.last.bytes == 75000000 &&
		    back.last.bytes_fetched == 44000000 && back.last.failures == 3);
	assert_true(back.last.seconds == 12.5 && back.last.throughput == 3520000.25);
	assert_string_equal(back.scratch, s.scratch);
	/* Without a scratch folder, and a fresh state, too. */
	free(text);
	drill_state_release(&back);
	drill_state_release(&s);
	drill_state_fresh(&s);
	assert_int_equal(drill_state_encode(&s, NULL, "s3://h/b", &text), 0);
	assert_int_equal(drill_state_parse((const uint8_t *)text, strlen(text), &back), 0);
	assert_null(back.scratch);
	assert_int_equal(back.last.result, DRILL_RESULT_NONE);
	assert_string_equal(back.last.snapshot, "");
	free(text);
	drill_state_release(&back);
	drill_state_release(&s);
}

/* A valid state's text with ${key} set to the JSON ${value} (NULL: removed). */
static char *with_field(const char *key, const char *value)
{
	struct drill_state s;
	fill_state(&s);
	char *text = NULL;
	assert_int_equal(drill_state_encode(&s, "nas", "/srv/nas", &text), 0);
	drill_state_release(&s);
	json_t *o = json_loads(text, 0, NULL);
	assert_non_null(o);
	free(text);
	if (value) {
		json_t *v = json_loads(value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		assert_non_null(v);
		json_object_set_new(o, key, v);
	} else {
		assert_int_equal(json_object_del(o, key), 0);
	}
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_non_null(text);
	return text;
}

static void assert_refused(const char *text, size_t len)
{
	struct drill_state out;
	memset(&out, 0xa5, sizeof out);
	struct drill_state before = out;
	assert_int_equal(drill_state_parse((const uint8_t *)text, len, &out), CF_ECORRUPT);
	assert_memory_equal(&out, &before, sizeof out);
}

static void test_state_hostile(void **state)
{
	(void)state;
	static const struct {
		const char *key, *value;
	} bad[] = {
		{ "version", "2" }, { "version", "\"1\"" }, { "version", NULL },
		{ "key", "\"00\"" }, { "key", "\"zz" "0000000000000000000000000000000000000000000000000000000000000000\"" },
		{ "key", NULL }, { "key", "7" },
		{ "cursor", "\"123\"" }, { "cursor", "12" }, { "cursor", NULL },
		{ "oldest_cursor", "\"0000000000000000x\"" },
		{ "snapshot", "\"abc\"" }, { "snapshot", "null" },
		{ "baseline", "\"a\\u0000\"" },
		{ "result", "\"maybe\"" }, { "result", "1" }, { "result", NULL },
		{ "files", "-1" }, { "files", "1.5" }, { "files", "9223372036854775807" },
		{ "bytes", "\"12\"" }, { "bytes_fetched", NULL }, { "failures", "true" },
		{ "when", "-5" }, { "last_ok", "null" }, { "snapshot_time", "1e3" },
		{ "seconds", "-0.5" }, { "seconds", "1e300" }, { "throughput", "\"fast\"" },
		{ "full", "1" }, { "full", NULL },
		{ "scratch", "\"relative/path\"" }, { "scratch", "\"/a\\u0000b\"" },
		{ "scratch", "42" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *t = with_field(bad[i].key, bad[i].value);
		struct drill_state out;
		int rc = drill_state_parse((const uint8_t *)t, strlen(t), &out);
		if (rc != CF_ECORRUPT)
			fail_msg("accepted %s = %s:\n%s", bad[i].key, bad[i].value ? bad[i].value : "(none)",
				t);
		assert_refused(t, strlen(t));
		free(t);
	}
	/* Not JSON, not an object, a duplicate key, too large. */
	static const char *const others[] = { "", "{", "[]", "null", "\"x\"", "{\"version\": 1}" };
	for (size_t i = 0; i < sizeof others / sizeof *others; i++)
		assert_refused(others[i], strlen(others[i]));
	char *t = with_field("cursor", "\"0000000000000001\"");
	char *dup = util_path("{\"cursor\": \"0000000000000002\", %s", t + 1);
	assert_refused(dup, strlen(dup));
	free(dup);
	free(t);
	size_t big = DRILL_STATE_MAX + 1;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	assert_refused(huge, big);
	free(huge);
	/* Every shorter prefix of a valid state is refused, and nothing is read past it. */
	struct drill_state s;
	fill_state(&s);
	char *text = NULL;
	assert_int_equal(drill_state_encode(&s, "nas", "/srv/nas", &text), 0);
	drill_state_release(&s);
	size_t n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	for (size_t k = 0; k < n; k++) {
		char *copy = malloc(k ? k : 1);
		memcpy(copy, text, k);
		assert_refused(copy, k);
		free(copy);
	}
	free(text);
}

static void test_state_id(void **state)
{
	(void)state;
	char *a = drill_state_id("nas", "/srv/nas");
	char *b = drill_state_id("nas", "/srv/nas2");
	char *c = drill_state_id(NULL, "s3://127.0.0.1:9000/coffre/shop 1/../x");
	char *d = drill_state_id("../..", "/x");
	assert_non_null(a);
	assert_string_not_equal(a, b);
	assert_int_equal(strncmp(a, "nas-", 4), 0);
	assert_int_equal(strlen(a), 4 + 16);
	assert_int_equal(strncmp(c, "s3_127_0_0_1_9000_coffre_shop_1_x-", 34), 0);
	for (const char *p = c; *p; p++)
		assert_true(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
			*p));
	assert_null(strchr(d, '.'));
	assert_null(strchr(d, '/'));
	char *a2 = drill_state_id("nas", "/srv/nas");
	assert_string_equal(a, a2);
	free(a);
	free(a2);
	free(b);
	free(c);
	free(d);
}

/* ---- the choice ---- */

/* Files of ${n} bytes each named /shop/fileNNN, and their database. */
static void make_files(struct drill_files *fs, size_t n, uint64_t size, const uint8_t key[32])
{
	memset(fs, 0, sizeof *fs);
	for (size_t i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof path, "/shop/%s%03zu%s", i == 7 ? "compta" : "file", i,
			i == 7 ? ".SQLite3" : ".pdf");
		struct tree_entry e = { .type = TREE_FILE, .size = size, .content = TREE_CONTENT_NONE };
		assert_int_equal(drill_files_add(fs, path, &e, key), 0);
	}
	assert_int_equal(drill_files_index(fs), 0);
}

/* Each file costs its size, except those listed "big". */
struct fake {
	uint64_t charged;
	size_t skipped;
};

static int fake_cost(void *ctx, const struct drill_file *f, uint64_t *ret)
{
	(void)ctx;
	*ret = strstr(f->path, "big") ? 1000000 : f->size;
	return 0;
}

static int fake_charge(void *ctx, const struct drill_file *f)
{
	struct fake *k = ctx;
	k->charged += f->size;
	return 0;
}

static void fake_skipped(void *ctx, const struct drill_file *f, uint64_t cost)
{
	struct fake *k = ctx;
	(void)f;
	(void)cost;
	k->skipped++;
}

static void test_choose(void **state)
{
	(void)state;
	uint8_t key[32] = { 1 };
	struct drill_files fs;
	make_files(&fs, 20, 100, key);
	struct fake k = { 0 };
	struct drill_chooser c = { .cost = fake_cost, .charge = fake_charge, .skipped = fake_skipped,
		.ctx = &k, .limit = 450 };
	drill_files_find(&fs, "/shop/file003.pdf")->changed = 1;
	drill_files_find(&fs, "/shop/file011.pdf")->changed = 1;
	struct drill_counts n = { 0 };
	assert_int_equal(drill_choose(&c, &fs, &n), 0);
	/* The database first, then the changed files. */
	assert_true(n.databases == 1 && n.changed == 2);
	assert_int_equal(drill_files_find(&fs, "/shop/compta007.SQLite3")->why, DRILL_WHY_DB);
	assert_int_equal(drill_files_find(&fs, "/shop/file011.pdf")->why, DRILL_WHY_CHANGED);
	assert_true(c.used == 300 && k.charged == 300);
	uint64_t cursor = 0, taken = 0;
	assert_int_equal(drill_rotate(&c, &fs, &cursor, &taken), 0);
	assert_true(taken == 1 && c.used == 400);
	assert_null(drill_files_find(&fs, "/shop/nothing"));
	drill_files_free(&fs);
}

/* Successive drills of ${limit} over ${n} files cover every one, in about n*size/limit. */
static void test_rotation_covers(void **state)
{
	(void)state;
	uint8_t key[32];
	randombytes_buf(key, sizeof key);
	struct drill_files fs;
	make_files(&fs, 97, 100, key);
	uint64_t cursor = 0;
	int seen[97] = { 0 };
	size_t covered = 0, drills = 0;
	while (covered < 97 && drills < 100) {
		drills++;
		for (size_t i = 0; i < fs.n; i++)
			fs.v[i].why = 0;
		struct fake k = { 0 };
		struct drill_chooser c = { .cost = fake_cost, .charge = fake_charge, .ctx = &k,
			.limit = 1000 };
		uint64_t taken = 0, before = cursor;
		assert_int_equal(drill_rotate(&c, &fs, &cursor, &taken), 0);
		assert_true(taken == 10 && c.used == 1000);
		assert_true(cursor != before);
		for (size_t i = 0; i < fs.n; i++)
			if (fs.v[i].why && !seen[i]++)
				covered++;
	}
	/* Ten a drill: ten drills, the last one wrapping round. */
	assert_int_equal(covered, 97);
	assert_int_equal(drills, 10);
	drill_files_free(&fs);
}

static void test_rotation_skips_big(void **state)
{
	(void)state;
	uint8_t key[32] = { 9 };
	struct drill_files fs = { 0 };
	struct tree_entry e = { .type = TREE_FILE, .size = 10 };
	assert_int_equal(drill_files_add(&fs, "/a", &e, key), 0);
	assert_int_equal(drill_files_add(&fs, "/big", &e, key), 0);
	assert_int_equal(drill_files_add(&fs, "/c", &e, key), 0);
	struct fake k = { 0 };
	struct drill_chooser c = { .cost = fake_cost, .charge = fake_charge, .skipped = fake_skipped,
		.ctx = &k, .limit = 100 };
	uint64_t cursor = 0, taken = 0;
	assert_int_equal(drill_rotate(&c, &fs, &cursor, &taken), 0);
	/* The big one is passed, told, never taken; the rest are. */
	assert_true(taken == 2 && k.skipped == 1);
	for (size_t i = 0; i < fs.n; i++)
		assert_int_equal(fs.v[i].why != 0, strcmp(fs.v[i].path, "/big") != 0);
	/* Nothing fits a zero budget but what costs nothing. */
	struct drill_chooser z = c;
	z.limit = 0;
	z.used = 0;
	for (size_t i = 0; i < fs.n; i++)
		fs.v[i].why = 0;
	assert_int_equal(drill_take(&z, &fs.v[0], DRILL_WHY_ROTATION), 2);
	drill_files_free(&fs);
}

/* A file too big for the budget is told once, however many passes meet it (a database that
 * changed, then the rotation): the report counts the files a full drill would prove. */
static void test_too_big_told_once(void **state)
{
	(void)state;
	uint8_t key[32] = { 3 };
	struct drill_files fs = { 0 };
	struct tree_entry e = { .type = TREE_FILE, .size = 10 };
	assert_int_equal(drill_files_add(&fs, "/a", &e, key), 0);
	assert_int_equal(drill_files_add(&fs, "/big-compta.db", &e, key), 0);
	assert_int_equal(drill_files_add(&fs, "/c", &e, key), 0);
	assert_int_equal(drill_files_index(&fs), 0);
	drill_files_find(&fs, "/big-compta.db")->changed = 1;
	struct fake k = { 0 };
	struct drill_chooser c = { .cost = fake_cost, .charge = fake_charge, .skipped = fake_skipped,
		.ctx = &k, .limit = 100 };
	struct drill_counts n = { 0 };
	uint64_t cursor = 0, taken = 0;
	assert_int_equal(drill_choose(&c, &fs, &n), 0);
	assert_int_equal(drill_rotate(&c, &fs, &cursor, &taken), 0);
	assert_true(n.databases == 0 && n.changed == 0 && taken == 2);
	assert_int_equal(k.skipped, 1);
	drill_files_free(&fs);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(drill_is_dump_path("/databases/shop/shop.sql"));
	assert_true(drill_is_dump_path("/databases/s/a b.sql"));
	assert_false(drill_is_dump_path("/databases/shop/.sql"));
	assert_false(drill_is_dump_path("/databases//a.sql"));
	assert_false(drill_is_dump_path("/databases/shop/x/a.sql"));
	assert_false(drill_is_dump_path("/databases/a.sql"));
	assert_false(drill_is_dump_path("/home/databases/shop/a.sql"));
	assert_false(drill_is_dump_path("/databases/shop/a.sql.gz"));
	assert_true(drill_is_db_name("/x/compta.db"));
	assert_true(drill_is_db_name("/x/Compta.SQLITE"));
	assert_true(drill_is_db_name("/x/a.sqlite3"));
	assert_false(drill_is_db_name("/x/.db"));
	assert_false(drill_is_db_name("/x.db/readme"));
	assert_false(drill_is_db_name("/x/a.dbx"));
	assert_int_equal(drill_classify("verify: restored file differs from the snapshot"),
		DRILL_F_CONTENT);
	assert_int_equal(drill_classify("cannot restore: damaged data (pack data/ab/x: pack "
		"'/n/data/ab/x' is missing)"), DRILL_F_MISSING_PACK);
	assert_int_equal(drill_classify("cannot restore: damaged data (blob 00 is not in the "
		"index)"), DRILL_F_INDEX);
	assert_int_equal(drill_classify("cannot restore: damaged data (pack data/ab/x: frame fails "
		"authentication)"), DRILL_F_DAMAGED_PACK);
	assert_int_equal(drill_classify("refused: name"), DRILL_F_REFUSED);
	assert_int_equal(drill_classify("something else"), DRILL_F_OTHER);
	assert_string_equal(drill_failure_kind_str(DRILL_F_LIVE), "live");
	assert_string_equal(drill_failure_kind_str(999), "other");
	uint64_t v = 0;
	assert_int_equal(util_parse_size("512K", &v), 0);
	assert_true(v == 512 << 10);
	assert_int_equal(util_parse_size("64MiB", &v), 0);
	assert_true(v == 64ull << 20);
	assert_int_equal(util_parse_size("2G", &v), 0);
	assert_true(v == 2ull << 30);
	assert_int_equal(util_parse_size("1000B", &v), 0);
	assert_true(v == 1000);
	static const char *const badsz[] = { "", "K", "-1", "1X", "1 M", "99999999999999999999",
		"17179869184G", "1Mi" };
	for (size_t i = 0; i < sizeof badsz / sizeof *badsz; i++)
		assert_int_equal(util_parse_size(badsz[i], &v), -1);
}

/* ---- the scratch folder ---- */

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_scratch_remove(void **state)
{
	(void)state;
	char dir[512], p[700], outside[512];
	assert_int_equal(fx_mkdtemp(dir, sizeof dir, "drill"), 0);
	assert_int_equal(fx_mkdtemp(outside, sizeof outside, "drill-outside"), 0);
	snprintf(p, sizeof p, "%s/keep.txt", outside);
	put(p, "must stay");
	char s[600];
	snprintf(s, sizeof s, "%s/drill-scratch-x", dir);
	assert_int_equal(mkdir(s, 0700), 0);
	/* Folders left read-only by a restore, many files, a link out of the folder. */
	snprintf(p, sizeof p, "%s/a", s);
	assert_int_equal(mkdir(p, 0700), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(p, sizeof p, "%s/a/f%03d", s, i);
		put(p, "x");
	}
	snprintf(p, sizeof p, "%s/a/b", s);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/a/b/out", s);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(p, sizeof p, "%s/a/b", s);
	assert_int_equal(chmod(p, 0500), 0);
	snprintf(p, sizeof p, "%s/a", s);
	assert_int_equal(chmod(p, 0000), 0);
	assert_int_equal(drill_scratch_remove(s), 0);
	struct stat st;
	assert_int_not_equal(lstat(s, &st), 0);
	snprintf(p, sizeof p, "%s/keep.txt", outside);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(drill_scratch_remove(s), -1);
	/* A link in the scratch folder's place is not followed. */
	assert_int_equal(symlink(outside, s), 0);
	assert_int_equal(drill_scratch_remove(s), -1);
	assert_int_equal(lstat(p, &st), 0);
	fx_rm_rf(dir);
	fx_rm_rf(outside);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_hostile),
		cmocka_unit_test(test_state_id),
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_rotation_covers),
		cmocka_unit_test(test_rotation_skips_big),
		cmocka_unit_test(test_too_big_told_once),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_scratch_remove),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
