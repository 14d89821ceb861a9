/* test_snap.c: snapshot objects (agent/store/snap.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/snap.h"
#include "store/repo_internal.h"

#include "fixture.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir_[256], repo_[300], rk_[REPO_RECOVERY_TEXT];

static int group_setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir_, sizeof dir_, "snap"))
		return -1;
	char cache[300], idhex[65];
	snprintf(cache, sizeof cache, "%s/cache", dir_);
	setenv("XDG_CACHE_HOME", cache, 1);
	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(repo_, sizeof repo_, "%s/repo", dir_);
	struct cf_error err = { 0 };
	return repo_init(repo_, "pw", NULL, rk_, idhex, &err) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	fx_rm_rf(dir_);
	return 0;
}

/* Each test gets an open handle on the shared repository, with no snapshot in it. */
static int fx_setup(void **state)
{
	struct repo *r = NULL;
	struct cf_error err = { 0 };
	struct repo_cred c = { .recovery_key = rk_ };
	assert_int_equal(repo_open(repo_, &c, &r, &err), 0);
	uint8_t (*ids)[32] = NULL;
	size_t n = 0;
	assert_int_equal(repo_list(r, REPO_SNAPSHOT, &ids, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(repo_delete_object(r, REPO_SNAPSHOT, ids[i], &err), 0);
	free(ids);
	*state = r;
	return 0;
}

static int fx_teardown(void **state)
{
	repo_free(*state);
	return 0;
}

/* A snapshot value with the given time; strings are static. */
static void fill(struct snap *s, int64_t t, uint32_t ns, uint8_t tree_byte)
{
	static char *paths[] = { "/home/alice", "/etc", "/srv/dir with space/ü" };
	static char *tags[] = { "daily", "db" };
	memset(s, 0, sizeof *s);
	s->time = t;
	s->time_ns = ns;
	s->hostname = "host-1.example";
	s->username = "alice";
	s->paths = paths;
	s->npaths = 3;
	s->tags = tags;
	s->ntags = 2;
	memset(s->tree, tree_byte, 32);
}

static void test_write_load(void **state)
{
	struct repo *r = *state;
	struct cf_error err = { 0 };
	struct snap s;
	fill(&s, 1700000000, 123456789, 0xab);
	s.has_parent = 1;
	memset(s.parent, 0xcd, 32);
	s.summary = "{\"bytes_added\":12345,\"files_new\":3}";
	assert_int_equal(snap_write(r, &s, &err), 0);
	/* The id is filled in, in both forms. */
	char hex[65];
	util_hex(hex, s.id, 32);
	assert_string_equal(s.idhex, hex);

	struct snap *g = NULL;
	assert_int_equal(snap_load(r, s.id, &g, &err), 0);
	assert_memory_equal(g->id, s.id, 32);
	assert_string_equal(g->idhex, s.idhex);
	assert_true(g->time == 1700000000);
	assert_int_equal(g->time_ns, 123456789);
	assert_string_equal(g->hostname, "host-1.example");
	assert_string_equal(g->username, "alice");
	assert_int_equal(g->npaths, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(g->paths[i], s.paths[i]);
	assert_int_equal(g->ntags, 2);
	assert_string_equal(g->tags[0], "daily");
	assert_string_equal(g->tags[1], "db");
	assert_memory_equal(g->tree, s.tree, 32);
	assert_int_equal(g->has_parent, 1);
	assert_memory_equal(g->parent, s.parent, 32);
	assert_non_null(g->summary);
	assert_string_equal(g->summary, s.summary);
	snap_free(g);

	/* No parent, no tags, no summary, no paths. */
	struct snap t;
	fill(&t, 5, 0, 0x01);
	t.ntags = 0;
	t.npaths = 0;
	assert_int_equal(snap_write(r, &t, &err), 0);
	assert_memory_not_equal(t.id, s.id, 32);
	assert_int_equal(snap_load(r, t.id, &g, &err), 0);
	assert_int_equal(g->has_parent, 0);
	assert_int_equal(g->ntags, 0);
	assert_int_equal(g->npaths, 0);
	assert_null(g->summary);
	assert_true(g->time == 5);
	assert_memory_equal(g->tree, t.tree, 32);
	snap_free(g);

	/* Time as text: RFC 3339 in local time (the offset with a colon). */
	char ts[40];
	snap_time_str(&s, ts);
	assert_string_equal(ts, "2023-11-14T22:13:20+00:00");
	setenv("TZ", "XXX-1", 1);	/* POSIX TZ: one hour east of UTC */
	tzset();
	snap_time_str(&s, ts);
	assert_string_equal(ts, "2023-11-14T23:13:20+01:00");
	setenv("TZ", "YYY+5:30", 1);
	tzset();
	snap_time_str(&s, ts);
	assert_string_equal(ts, "2023-11-14T16:43:20-05:30");
	setenv("TZ", "UTC", 1);
	tzset();

	/* A missing one. */
	uint8_t none[32] = { 7 };
	assert_int_equal(snap_load(r, none, &g, &err), CF_ENOENT);
	/* Delete. */
	assert_int_equal(snap_delete(r, &t, &err), 0);
	assert_int_equal(snap_load(r, t.id, &g, &err), CF_ENOENT);
}

static void expect_malformed(struct repo *r, const char *json)
{
	uint8_t id[32];
	struct cf_error err = { 0 };
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, json, strlen(json), id, &err), 0);
	struct snap *g = NULL;
	int rc = snap_load(r, id, &g, &err);
	if (rc != CF_ECORRUPT)
		print_error("'%s': %d\n", json, rc);
	assert_int_equal(rc, CF_ECORRUPT);
	assert_null(g);
	assert_int_equal(repo_delete_object(r, REPO_SNAPSHOT, id, &err), 0);
}

static void test_load_malformed(void **state)
{
	struct repo *r = *state;
	static const char tree[] =
		"0101010101010101010101010101010101010101010101010101010101010101";
	char buf[512];
	expect_malformed(r, "");
	expect_malformed(r, "not json");
	expect_malformed(r, "[]");
	expect_malformed(r, "{}");
	snprintf(buf, sizeof buf, "{\"version\":2,\"tree\":\"%s\"}", tree);
	expect_malformed(r, buf);
	expect_malformed(r, "{\"version\":1}");
	expect_malformed(r, "{\"version\":1,\"tree\":\"0101\"}");
	expect_malformed(r, "{\"version\":1,\"tree\":42}");
	snprintf(buf, sizeof buf, "{\"version\":1,\"tree\":\"%.63sz\"}", tree);
	expect_malformed(r, buf);
	snprintf(buf, sizeof buf, "{\"version\":1,\"tree\":\"%s\",\"parent\":\"abc\"}", tree);
	expect_malformed(r, buf);
	/* Control: the minimal sound one. */
	snprintf(buf, sizeof buf, "{\"version\":1,\"tree\":\"%s\"}", tree);
	uint8_t id[32];
	struct cf_error err = { 0 };
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, buf, strlen(buf), id, &err), 0);
	struct snap *g = NULL;
	assert_int_equal(snap_load(r, id, &g, &err), 0);
	assert_int_equal(g->tree[0], 1);
	assert_string_equal(g->hostname, "");
	snap_free(g);
}

static void test_list_sorted(void **state)
{
	struct repo *r = *state;
	struct cf_error err = { 0 };
	/* Written out of order; two share a second and differ in nanoseconds. */
	static const int64_t times[] = { 300, 100, 200, 200, 50 };
	static const uint32_t ns[] = { 0, 0, 900, 100, 5 };
	uint8_t ids[5][32];
	for (int i = 0; i < 5; i++) {
		struct snap s;
		fill(&s, times[i], ns[i], (uint8_t)i);
		assert_int_equal(snap_write(r, &s, &err), 0);
		memcpy(ids[i], s.id, 32);
	}
	/* And a damaged one: skipped and counted. */
	uint8_t bad[32];
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, "{oops", 5, bad, &err), 0);
	struct snap **list = NULL;
	size_t n = 0, nbad = 99;
	assert_int_equal(snap_list(r, &list, &n, &nbad, &err), 0);
	assert_int_equal(n, 5);
	assert_int_equal(nbad, 1);
	static const int order[] = { 4, 1, 3, 2, 0 };
	for (int k = 0; k < 5; k++) {
		assert_memory_equal(list[k]->id, ids[order[k]], 32);
		assert_true(list[k]->time == times[order[k]]);
		assert_int_equal(list[k]->time_ns, ns[order[k]]);
		assert_int_equal(list[k]->tree[0], order[k]);
	}
	snap_list_free(list, n);
	/* ret_bad is optional. */
	assert_int_equal(snap_list(r, &list, &n, NULL, &err), 0);
	assert_int_equal(n, 5);
	snap_list_free(list, n);
}

static void test_list_empty(void **state)
{
	struct repo *r = *state;
	struct cf_error err = { 0 };
	struct snap **list = NULL;
	size_t n = 9, nbad = 9;
	assert_int_equal(snap_list(r, &list, &n, &nbad, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(nbad, 0);
	struct snap *f = NULL;
	assert_int_equal(snap_find(list, n, "latest", &f, &err), CF_ENOENT);
	snap_list_free(list, n);
}

/* A list of hand-made snapshots with chosen ids: snap_find only looks at ids and order. */
static struct snap *fake(const char *hex, int64_t t)
{
	struct snap *s = calloc(1, sizeof *s);
	snprintf(s->idhex, sizeof s->idhex, "%s", hex);
	assert_int_equal(util_unhex(s->id, 32, s->idhex), 0);
	s->time = t;
	return s;
}

static void test_find(void **state)
{
	(void)state;
	struct cf_error err = { 0 };
	struct snap *list[4];
	list[0] = fake("abcd000000000000000000000000000000000000000000000000000000000001", 1);
	list[1] = fake("abcd100000000000000000000000000000000000000000000000000000000002", 2);
	list[2] = fake("1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef", 3);
	list[3] = fake("ffff000000000000000000000000000000000000000000000000000000000004", 4);
	struct snap *got = NULL;
	assert_int_equal(snap_find(list, 4, "latest", &got, &err), 0);
	assert_ptr_equal(got, list[3]);
	/* Full id, unique prefixes. */
	assert_int_equal(snap_find(list, 4, list[2]->idhex, &got, &err), 0);
	assert_ptr_equal(got, list[2]);
	assert_int_equal(snap_find(list, 4, "1234", &got, &err), 0);
	assert_ptr_equal(got, list[2]);
	assert_int_equal(snap_find(list, 4, "abcd0", &got, &err), 0);
	assert_ptr_equal(got, list[0]);
	assert_int_equal(snap_find(list, 4, "abcd1", &got, &err), 0);
	assert_ptr_equal(got, list[1]);
	/* Ambiguous. */
	got = NULL;
	memset(&err, 0, sizeof err);
	assert_int_equal(snap_find(list, 4, "abcd", &got, &err), CF_EUSAGE);
	assert_int_equal(err.code, CF_EUSAGE);
	assert_null(got);
	/* Too short, not hex, too long. */
	assert_int_equal(snap_find(list, 4, "abc", &got, &err), CF_EUSAGE);
	assert_int_equal(snap_find(list, 4, "", &got, &err), CF_EUSAGE);
	assert_int_equal(snap_find(list, 4, "ffzz", &got, &err), CF_EUSAGE);
	assert_int_equal(snap_find(list, 4, "../../etc", &got, &err), CF_EUSAGE);
	char longer[80];
	snprintf(longer, sizeof longer, "%s0", list[2]->idhex);
	assert_int_equal(snap_find(list, 4, longer, &got, &err), CF_EUSAGE);
	/* Unknown. */
	assert_int_equal(snap_find(list, 4, "9999", &got, &err), CF_ENOENT);
	assert_int_equal(snap_find(list, 4, "ffff1", &got, &err), CF_ENOENT);
	assert_null(got);
	for (int i = 0; i < 4; i++)
		free(list[i]);
}

static void test_find_written(void **state)
{
	struct repo *r = *state;
	struct cf_error err = { 0 };
	struct snap a, b;
	fill(&a, 1000, 0, 1);
	fill(&b, 2000, 0, 2);
	assert_int_equal(snap_write(r, &b, &err), 0);
	assert_int_equal(snap_write(r, &a, &err), 0);
	struct snap **list = NULL;
	size_t n = 0;
	assert_int_equal(snap_list(r, &list, &n, NULL, &err), 0);
	assert_int_equal(n, 2);
	struct snap *got = NULL;
	/* "latest" is the newest by time, not the last written. */
	assert_int_equal(snap_find(list, n, "latest", &got, &err), 0);
	assert_memory_equal(got->id, b.id, 32);
	char pre[9];
	snprintf(pre, sizeof pre, "%.8s", a.idhex);
	assert_int_equal(snap_find(list, n, pre, &got, &err), 0);
	assert_memory_equal(got->id, a.id, 32);
	snap_list_free(list, n);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (getenv("CF_TEST_FILTER"))	/* run some tests only: a glob on their names */
		cmocka_set_test_filter(getenv("CF_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_load, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_load_malformed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_list_sorted, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_list_empty, fx_setup, fx_teardown),
		cmocka_unit_test(test_find),
		cmocka_unit_test_setup_teardown(test_find_written, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
