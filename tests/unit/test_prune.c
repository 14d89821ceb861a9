/* test_prune.c: retention policy (forget_select, agent/maint/forget.c) and prune
 * (agent/maint/prune.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/backup.h"
#include "coffre/blob.h"
#include "coffre/check.h"
#include "coffre/error.h"
#include "coffre/forget.h"
#include "coffre/prune.h"
#include "coffre/repo.h"
#include "coffre/restore.h"
#include "coffre/snap.h"
#include "store/repo_internal.h"

#include "fixture.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- forget_select over hand-made snapshots ---- */

struct set {
	struct snap *v;
	struct snap **list;
	uint8_t *keep;
	size_t n;
};

static int64_t utc(int y, int mon, int d, int h, int mi)
{
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm);
}

static void set_new(struct set *s, size_t n)
{
	s->n = n;
	s->v = calloc(n ? n : 1, sizeof *s->v);
	s->list = calloc(n ? n : 1, sizeof *s->list);
	s->keep = malloc(n ? n : 1);
	assert_true(s->v && s->list && s->keep);
	for (size_t i = 0; i < n; i++)
		s->list[i] = &s->v[i];
	memset(s->keep, 0xee, n ? n : 1);	/* every entry must be written */
}

static void set_free(struct set *s)
{
	free(s->v);
	free(s->list);
	free(s->keep);
}

/* Daily snapshots at noon from a date, oldest first. */
static void daily(struct set *s, size_t n, int y, int mon, int d)
{
	set_new(s, n);
	int64_t t0 = utc(y, mon, d, 12, 0);
	for (size_t i = 0; i < n; i++)
		s->v[i].time = t0 + (int64_t)i * 86400;
}

static int run(struct set *s, int last, int hourly, int dly, int weekly, int monthly, int yearly)
{
	struct forget_policy p = { .last = last, .hourly = hourly, .daily = dly, .weekly = weekly,
		.monthly = monthly, .yearly = yearly };
	int k = forget_select(s->list, s->n, &p, s->keep);
	if (k >= 0) {
		int sum = 0;
		for (size_t i = 0; i < s->n; i++) {
			assert_true(s->keep[i] == 0 || s->keep[i] == 1);
			sum += s->keep[i];
		}
		assert_int_equal(sum, k);
	}
	return k;
}

/* Exactly the indices in ${want} (terminated by -1) are kept. */
static void expect_kept(const struct set *s, const int *want)
{
	uint8_t *w = calloc(s->n ? s->n : 1, 1);
	for (size_t i = 0; want[i] >= 0; i++)
		w[want[i]] = 1;
	for (size_t i = 0; i < s->n; i++) {
		if (s->keep[i] != w[i])
			print_error("snapshot %zu: kept %d, expected %d\n", i, s->keep[i], w[i]);
		assert_int_equal(s->keep[i], w[i]);
	}
	free(w);
}

static void test_no_rule(void **state)
{
	(void)state;
	struct set s;
	daily(&s, 10, 2024, 3, 1);
	assert_int_equal(run(&s, 0, 0, 0, 0, 0, 0), CF_EUSAGE);
	assert_int_equal(run(&s, -1, -5, 0, 0, 0, -2), CF_EUSAGE);	/* negative: unused too */
	set_free(&s);
	/* An empty list with a rule: nothing kept, no error. */
	set_new(&s, 0);
	assert_int_equal(run(&s, 3, 0, 0, 0, 0, 0), 0);
	set_free(&s);
}

static void test_keep_last(void **state)
{
	(void)state;
	struct set s;
	daily(&s, 10, 2024, 3, 1);
	assert_int_equal(run(&s, 3, 0, 0, 0, 0, 0), 3);
	expect_kept(&s, (const int[]){ 7, 8, 9, -1 });
	/* Same-second snapshots are still distinct for keep-last. */
	for (size_t i = 0; i < s.n; i++)
		s.v[i].time = 1000;
	assert_int_equal(run(&s, 2, 0, 0, 0, 0, 0), 2);
	expect_kept(&s, (const int[]){ 8, 9, -1 });
	/* More than there are: all. */
	assert_int_equal(run(&s, 50, 0, 0, 0, 0, 0), 10);
	set_free(&s);
}

static void test_keep_daily(void **state)
{
	(void)state;
	/* 20 days, two snapshots a day (08:00 and 20:00). */
	struct set s;
	set_new(&s, 40);
	for (size_t d = 0; d < 20; d++) {
		s.v[2 * d].time = utc(2024, 1, 1 + (int)d, 8, 0);
		s.v[2 * d + 1].time = utc(2024, 1, 1 + (int)d, 20, 0);
	}
	assert_int_equal(run(&s, 0, 0, 7, 0, 0, 0), 7);
	/* The evening one of each of the last 7 days. */
	expect_kept(&s, (const int[]){ 27, 29, 31, 33, 35, 37, 39, -1 });
	/* Just before and after midnight are different days. */
	s.v[39].time = utc(2024, 1, 21, 0, 0);
	s.v[38].time = utc(2024, 1, 20, 23, 59);
	assert_int_equal(run(&s, 0, 0, 2, 0, 0, 0), 2);
	expect_kept(&s, (const int[]){ 38, 39, -1 });
	/* Days with gaps: the last N days that have a snapshot, not the last N calendar days. */
	set_free(&s);
	set_new(&s, 4);
	s.v[0].time = utc(2023, 12, 1, 10, 0);
	s.v[1].time = utc(2024, 1, 5, 10, 0);
	s.v[2].time = utc(2024, 1, 5, 11, 0);
	s.v[3].time = utc(2024, 2, 1, 10, 0);
	assert_int_equal(run(&s, 0, 0, 3, 0, 0, 0), 3);
	expect_kept(&s, (const int[]){ 0, 2, 3, -1 });
	set_free(&s);
}

static void test_keep_hourly(void **state)
{
	(void)state;
	struct set s;
	set_new(&s, 12);
	/* Every 20 minutes from 10:00: hours 10, 11, 12, 13. */
	for (size_t i = 0; i < 12; i++)
		s.v[i].time = utc(2024, 5, 5, 10, 0) + (int64_t)i * 1200;
	assert_int_equal(run(&s, 0, 3, 0, 0, 0, 0), 3);
	expect_kept(&s, (const int[]){ 5, 8, 11, -1 });
	set_free(&s);
}

static void test_keep_weekly(void **state)
{
	(void)state;
	/* Daily from Monday 2024-01-01 for 60 days (to Thursday 2024-02-29). */
	struct set s;
	daily(&s, 60, 2024, 1, 1);
	assert_int_equal(run(&s, 0, 0, 0, 4, 0, 0), 4);
	/* Thu Feb 29, and the Sundays Feb 25, Feb 18, Feb 11. */
	expect_kept(&s, (const int[]){ 41, 48, 55, 59, -1 });
	set_free(&s);

	/* Weeks straddle the new year: Mon 2024-12-30 and Thu 2025-01-02 are one ISO week. */
	set_new(&s, 4);
	s.v[0].time = utc(2024, 12, 27, 12, 0);	/* Fri, week 52 of 2024 */
	s.v[1].time = utc(2024, 12, 30, 12, 0);	/* Mon, week 1 of 2025 */
	s.v[2].time = utc(2024, 12, 31, 12, 0);	/* Tue, week 1 of 2025 */
	s.v[3].time = utc(2025, 1, 2, 12, 0);	/* Thu, week 1 of 2025 */
	assert_int_equal(run(&s, 0, 0, 0, 2, 0, 0), 2);
	expect_kept(&s, (const int[]){ 0, 3, -1 });
	set_free(&s);
	/* Sunday and the following Monday are different weeks. */
	set_new(&s, 3);
	s.v[0].time = utc(2024, 3, 9, 12, 0);	/* Sat */
	s.v[1].time = utc(2024, 3, 10, 23, 0);	/* Sun */
	s.v[2].time = utc(2024, 3, 11, 1, 0);	/* Mon */
	assert_int_equal(run(&s, 0, 0, 0, 2, 0, 0), 2);
	expect_kept(&s, (const int[]){ 1, 2, -1 });
	set_free(&s);
}

static void test_keep_monthly_yearly(void **state)
{
	(void)state;
	/* Daily from 2023-01-01 for 400 days (to 2024-02-04). 2024-01-01 is index 365. */
	struct set s;
	daily(&s, 400, 2023, 1, 1);
	assert_int_equal(run(&s, 0, 0, 0, 0, 3, 0), 3);
	expect_kept(&s, (const int[]){ 364, 395, 399, -1 });	/* Dec 31, Jan 31, Feb 4 */
	assert_int_equal(run(&s, 0, 0, 0, 0, 0, 2), 2);
	expect_kept(&s, (const int[]){ 364, 399, -1 });
	assert_int_equal(run(&s, 0, 0, 0, 0, 0, 10), 2);	/* only two years exist */
	/* Rules combine: a snapshot kept by several counts once. */
	assert_int_equal(run(&s, 2, 0, 3, 0, 2, 1), 4);
	expect_kept(&s, (const int[]){ 395, 397, 398, 399, -1 });
	/* Same December in two years are two months. */
	set_free(&s);
	set_new(&s, 2);
	s.v[0].time = utc(2022, 12, 15, 0, 0);
	s.v[1].time = utc(2023, 12, 15, 0, 0);
	assert_int_equal(run(&s, 0, 0, 0, 0, 5, 0), 2);
	set_free(&s);
}

/* ---- prune over a real repository ---- */

static char dir_[256];

static void write_file(const char *p, const uint8_t *data, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static uint8_t *random_buf(size_t len, uint8_t v)
{
	uint8_t s[randombytes_SEEDBYTES];
	uint8_t *b = malloc(len);
	memset(s, v, sizeof s);
	randombytes_buf_deterministic(b, len, s);
	return b;
}

static int same_file(const char *p, const uint8_t *data, size_t n)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return 0;
	uint8_t *b = malloc(n + 1);
	ssize_t got = read(fd, b, n + 1);
	close(fd);
	int ok = got == (ssize_t)n && memcmp(b, data, n) == 0;
	free(b);
	return ok;
}

static void test_prune_run(void **state)
{
	(void)state;
	assert_int_equal(fx_mkdtemp(dir_, sizeof dir_, "prune"), 0);
	char *cache = util_path("%s/cache", dir_), *repo = util_path("%s/repo", dir_);
	char *src = util_path("%s/src", dir_);
	char *pa = util_path("%s/a.bin", src), *pb = util_path("%s/b.bin", src);
	char *pc = util_path("%s/c.bin", src);
	setenv("XDG_CACHE_HOME", cache, 1);
	char rk[REPO_RECOVERY_TEXT], idhex[65];
	struct cf_error err = { 0 };
	assert_int_equal(repo_init(repo, "pw", NULL, rk, idhex, &err), 0);
	struct repo *r = NULL;
	struct repo_cred cred = { .recovery_key = rk };
	assert_int_equal(repo_open(repo, &cred, &r, &err), 0);
	assert_int_equal(mkdir(src, 0755), 0);

	/* Snapshot 1: a (kept on) and b (1 MiB, dropped later). */
	size_t na = 200000, nb = 1u << 20, nc = 150000;
	uint8_t *a = random_buf(na, 1), *b = random_buf(nb, 2), *c = random_buf(nc, 3);
	write_file(pa, a, na);
	write_file(pb, b, nb);
	const char *paths[] = { src };
	struct backup_opts o = { .paths = paths, .npaths = 1, .hostname = "h" };
	struct backup_stats st;
	uint8_t s1[32], s2[32], par[32];
	int hp;
	assert_int_equal(backup_run(r, &o, &st, s1, par, &hp, &err), 0);
	/* Snapshot 2: b gone, c added. */
	assert_int_equal(unlink(pb), 0);
	write_file(pc, c, nc);
	assert_int_equal(backup_run(r, &o, &st, s2, par, &hp, &err), 0);
	assert_int_equal(hp, 1);

	/* Which blobs b was made of (not shared with a or c: random data). */
	struct blobidx *x = NULL;
	assert_int_equal(blobidx_open(r, &x, &err), 0);
	size_t bchunks = 0;
	uint8_t (*bids)[32] = malloc(2048 * 32);
	for (size_t off = 0; off < nb;) {
		size_t len = chunk_cut(&r->chunker, b + off, nb - off);
		repo_blob_id(r, b + off, len, bids[bchunks]);
		assert_int_equal(blobidx_has(x, bids[bchunks]), 1);
		bchunks++;
		off += len;
	}
	blobidx_free(x);
	assert_true(bchunks > 10);

	/* Prune with both snapshots: nothing to free. */
	struct prune_stats ps;
	memset(&ps, 0xff, sizeof ps);
	int rc = prune_run(r, NULL, NULL, &ps, &err);
	if (rc)
		print_error("prune: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(ps.packs_deleted, 0);
	assert_int_equal(ps.packs_repacked, 0);
	assert_true(ps.bytes_freed == 0);

	/* Forget snapshot 1, prune: b's data goes, a's and c's stay. */
	struct snap *sn = NULL;
	assert_int_equal(snap_load(r, s1, &sn, &err), 0);
	assert_int_equal(snap_delete(r, sn, &err), 0);
	snap_free(sn);
	memset(&ps, 0, sizeof ps);
	rc = prune_run(r, NULL, NULL, &ps, &err);
	if (rc)
		print_error("prune: %s\n", err.msg);
	assert_int_equal(rc, 0);
	print_message("prune: %zu packs deleted, %zu repacked, %zu kept, %llu bytes freed\n",
		ps.packs_deleted, ps.packs_repacked, ps.packs_kept,
		(unsigned long long)ps.bytes_freed);
	assert_true(ps.packs_deleted + ps.packs_repacked >= 1);
	assert_true(ps.bytes_freed >= nb / 2);
	assert_int_equal(ps.indexes_replaced, 1);	/* the first prune left one index */
	uint8_t (*iids)[32] = NULL;
	size_t nidx = 0;
	assert_int_equal(repo_list(r, REPO_INDEX, &iids, &nidx, &err), 0);
	assert_int_equal(nidx, 1);
	free(iids);
	assert_int_equal(blobidx_open(r, &x, &err), 0);
	for (size_t i = 0; i < bchunks; i++)
		assert_int_equal(blobidx_has(x, bids[i]), 0);
	blobidx_free(x);

	/* The repository checks clean, every byte read back. */
	struct check_opts co = { .read_data = 1 };
	struct check_result cr;
	memset(&err, 0, sizeof err);
	rc = check_run(r, &co, &cr, &err);
	if (rc)
		print_error("check: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(cr.snapshots, 1);
	assert_int_equal(cr.missing_blobs + cr.damaged_blobs + cr.damaged_packs, 0);

	/* And snapshot 2 restores exactly. */
	assert_int_equal(snap_load(r, s2, &sn, &err), 0);
	char *target = util_path("%s/restore", dir_);
	struct restore_opts ro = { .target = target, .verify = 1 };
	struct restore_stats rs;
	rc = restore_run(r, sn, &ro, &rs, &err);
	if (rc)
		print_error("restore: %s\n", err.msg);
	assert_int_equal(rc, 0);
	snap_free(sn);
	char *ra = util_path("%s%s", target, pa), *rb = util_path("%s%s", target, pb);
	char *rc_ = util_path("%s%s", target, pc);
	assert_true(same_file(ra, a, na));
	assert_true(same_file(rc_, c, nc));
	struct stat sb;
	assert_int_not_equal(lstat(rb, &sb), 0);
	assert_int_equal(rs.verified, 2);

	free(ra);
	free(rb);
	free(rc_);
	free(target);
	free(bids);
	free(a);
	free(b);
	free(c);
	repo_free(r);
	free(cache);
	free(repo);
	free(src);
	free(pa);
	free(pb);
	free(pc);
	fx_rm_rf(dir_);
}

static int group_setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

/* ---- forget_decide: forged dates, keep-within, pins and tags ---- */

/* The attack: five genuine daily snapshots, then three made with the clock 30 days ahead.
 * Before, keep-daily 3 kept the three forged ones and removed all five genuine ones. */
static void test_decide_future(void **state)
{
	(void)state;
	struct set s;
	daily(&s, 8, 2024, 3, 1);
	int64_t now = s.v[4].time + 3600;
	for (size_t i = 5; i < 8; i++)
		s.v[i].time = now + 30 * 86400 + (int64_t)i * 60;
	struct forget_policy p = { .daily = 3 };
	uint8_t why[8];
	assert_int_equal(forget_decide(s.list, s.n, &p, NULL, now, why), 6);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(why[i], 0);
	for (size_t i = 2; i < 5; i++)
		assert_int_equal(why[i], FORGET_KEEP_RULE);
	for (size_t i = 5; i < 8; i++)
		assert_int_equal(why[i], FORGET_KEEP_FUTURE);
	/* Dated ahead of when the storage recorded them: the same, whatever the clock says. */
	for (size_t i = 5; i < 8; i++) {
		s.v[i].recorded = now - 60;
		s.v[i].future = 1;
	}
	assert_int_equal(forget_decide(s.list, s.n, &p, NULL, now + 40 * 86400, why), 6);
	assert_int_equal(why[7], FORGET_KEEP_FUTURE);
	assert_int_equal(why[2], FORGET_KEEP_RULE);
	set_free(&s);
}

/* A snapshot sent late counts at its own (earlier) time; one recorded before its date counts
 * at the recorded time. */
static void test_decide_recorded(void **state)
{
	(void)state;
	struct set s;
	daily(&s, 4, 2024, 3, 1);
	for (size_t i = 0; i < 4; i++)
		s.v[i].recorded = s.v[3].time + 86400;	/* all pushed on one later day */
	struct forget_policy p = { .daily = 4 };
	uint8_t why[4];
	assert_int_equal(forget_decide(s.list, s.n, &p, NULL, s.v[3].time + 86400, why), 4);
	set_free(&s);
}

/* Two backups in the same second, listed newest first (a destination's own snapshots come
 * after the spool's): keep-last 1 keeps the later one by its nanoseconds. Before, the list's
 * order decided, and a push removed the newer one from the destination. */
static void test_decide_same_second(void **state)
{
	(void)state;
	struct set s;
	daily(&s, 3, 2024, 3, 1);
	s.v[0].time = s.v[1].time = s.v[2].time;
	s.v[0].time_ns = 900000000;
	s.v[1].time_ns = 100000000;
	s.v[2].time_ns = 500000000;
	struct forget_policy p = { .last = 1 };
	uint8_t why[3];
	assert_int_equal(forget_decide(s.list, s.n, &p, NULL, s.v[2].time + 60, why), 1);
	assert_int_equal(why[0], FORGET_KEEP_RULE);
	assert_int_equal(why[1], 0);
	assert_int_equal(why[2], 0);
	set_free(&s);
}

static void test_decide_within_pins_tags(void **state)
{
	(void)state;
	struct set s;
	daily(&s, 30, 2024, 3, 1);
	int64_t now = s.v[29].time;
	uint8_t why[30], pinned[30] = { 0 };
	/* A flood: keep-last 2 alone would keep 2; keep-within 14 days keeps the last 15. */
	struct forget_policy p = { .last = 2, .within = 14 * 86400 };
	assert_int_equal(forget_decide(s.list, s.n, &p, NULL, now, why), 15);
	assert_int_equal(why[14], 0);
	assert_int_equal(why[15], FORGET_KEEP_WITHIN);
	assert_int_equal(why[29], FORGET_KEEP_WITHIN | FORGET_KEEP_RULE);
	/* A pin keeps an old one and takes no rule's slot. */
	pinned[3] = 1;
	pinned[29] = 1;
	assert_int_equal(forget_decide(s.list, s.n, &p, pinned, now, why), 16);
	assert_int_equal(why[3], FORGET_KEEP_PINNED);
	assert_int_equal(why[29], FORGET_KEEP_PINNED | FORGET_KEEP_WITHIN);
	assert_int_equal(why[28], FORGET_KEEP_WITHIN | FORGET_KEEP_RULE);
	assert_int_equal(why[27], FORGET_KEEP_WITHIN | FORGET_KEEP_RULE);
	/* Tags, as restic's --keep-tag. */
	char *tag = "monthly-close", *other = "x";
	char *tags[] = { other, tag };
	s.v[5].tags = tags;
	s.v[5].ntags = 2;
	char *want[] = { tag };
	struct forget_policy q = { .last = 1, .tags = want, .ntags = 1 };
	assert_int_equal(forget_decide(s.list, s.n, &q, NULL, now, why), 2);
	assert_int_equal(why[5], FORGET_KEEP_TAG);
	s.v[5].tags = NULL;
	s.v[5].ntags = 0;
	/* No rule at all. */
	struct forget_policy none = { 0 };
	assert_int_equal(forget_decide(s.list, s.n, &none, NULL, now, why), CF_EUSAGE);
	set_free(&s);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (getenv("CF_TEST_FILTER"))	/* run some tests only: a glob on their names */
		cmocka_set_test_filter(getenv("CF_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_rule),
		cmocka_unit_test(test_keep_last),
		cmocka_unit_test(test_keep_daily),
		cmocka_unit_test(test_keep_hourly),
		cmocka_unit_test(test_keep_weekly),
		cmocka_unit_test(test_keep_monthly_yearly),
		cmocka_unit_test(test_decide_future),
		cmocka_unit_test(test_decide_recorded),
		cmocka_unit_test(test_decide_same_second),
		cmocka_unit_test(test_decide_within_pins_tags),
		cmocka_unit_test(test_prune_run),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
