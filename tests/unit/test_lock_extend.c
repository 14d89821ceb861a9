/* test_lock_extend.c: which objects get their Object Lock retention extended, given the dates
 * known (cached) and the time (maint/lock_extend.c), the retain-until dates read from a
 * server (dst_s3_parse_date), and the kinds without Object Lock refusing the calls. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/lock_extend.h"
#include "dst/dst_mem.h"
#include "dst/dst_s3_internal.h"

#define DAY 86400

static void test_decide(void **state)
{
	(void)state;
	const int64_t now = 1800000000, p = 30 * DAY;
	/* Unknown dates are read first, whatever the time. */
	assert_int_equal(lock_extend_decide(0, 0, now, p), LOCK_EXTEND_READ);
	assert_int_equal(lock_extend_decide(0, now + 100 * DAY, now, p), LOCK_EXTEND_READ);
	/* No retention at all, or lapsed: extend. */
	assert_int_equal(lock_extend_decide(1, 0, now, p), LOCK_EXTEND_SET);
	assert_int_equal(lock_extend_decide(1, now - DAY, now, p), LOCK_EXTEND_SET);
	/* Within half the period (15 days), the boundary included: extend. */
	assert_int_equal(lock_extend_decide(1, now + DAY, now, p), LOCK_EXTEND_SET);
	assert_int_equal(lock_extend_decide(1, now + 15 * DAY, now, p), LOCK_EXTEND_SET);
	/* Past it: keep, nothing asked. */
	assert_int_equal(lock_extend_decide(1, now + 15 * DAY + 1, now, p), LOCK_EXTEND_KEEP);
	assert_int_equal(lock_extend_decide(1, now + 29 * DAY, now, p), LOCK_EXTEND_KEEP);
	/* Longer than the period (a period made shorter since): keep. */
	assert_int_equal(lock_extend_decide(1, now + 300 * DAY, now, p), LOCK_EXTEND_KEEP);
}

/* A repository's life with a 30-day lock: pushes every day, each object's date as the cache
 * holds it; only objects within 15 days are extended, and a needed object never lapses. */
static void test_cycles(void **state)
{
	(void)state;
	const int64_t p = 30 * DAY, t0 = 1800000000;
	enum { N = 5 };
	int64_t until[N];
	int known[N] = { 0 };
	int sets_total = 0, reads_total = 0;
	/* Object i is uploaded on day 10 * i, retained for the period from then. */
	for (int day = 0; day <= 400; day++) {
		int64_t now = t0 + (int64_t)day * DAY;
		int sets = 0;
		for (int i = 0; i < N; i++) {
			if (day < 10 * i)
				continue;
			if (day == 10 * i) {
				until[i] = now + p;	/* the upload's own retention */
				known[i] = 0;		/* not in the cache yet */
			}
			int what = lock_extend_decide(known[i], until[i], now, p);
			if (what == LOCK_EXTEND_READ) {
				reads_total++;
				known[i] = 1;
				what = lock_extend_decide(1, until[i], now, p);
			}
			if (what == LOCK_EXTEND_SET) {
				until[i] = now + p;
				sets++;
			}
			/* Never lapsed, never less than half a period ahead after the push. */
			assert_true(until[i] > now + p / 2);
		}
		/* Right after a push, the next one asks nothing. */
		for (int i = 0; i < N; i++)
			if (day >= 10 * i)
				assert_int_equal(lock_extend_decide(known[i], until[i], now, p),
					LOCK_EXTEND_KEEP);
		sets_total += sets;
	}
	/* Each object is read once, and extended about every 15 days: 5 objects over at most
	 * 400 days is at most 5 * (400 / 15 + 1) requests, not one a day each. */
	assert_int_equal(reads_total, N);
	assert_true(sets_total <= N * (400 / 15 + 1));
	assert_true(sets_total >= (N - 1) * (360 / 16));
}

static void test_parse_date(void **state)
{
	(void)state;
	int64_t t = -1;
	assert_int_equal(dst_s3_parse_date("1970-01-01T00:00:00Z", 20, &t), 0);
	assert_int_equal(t, 0);
	const char *rgw = "2026-12-02T10:33:33.000000000Z";
	assert_int_equal(dst_s3_parse_date(rgw, strlen(rgw), &t), 0);
	assert_int_equal(t, 1796207613);
	/* A fraction is dropped: the date is never read as later than it is. */
	assert_int_equal(dst_s3_parse_date("2026-12-02T10:33:33.999Z ", 25, &t), 0);
	assert_int_equal(t, 1796207613);
	assert_int_equal(dst_s3_parse_date("2028-02-29T23:59:59Z", 20, &t), 0);
	assert_int_equal(dst_s3_parse_date("9999-12-31T23:59:59Z", 20, &t), 0);
	assert_int_equal(t, 253402300799);
	static const char *const bad[] = { "", "2026-12-02T10:33:33", "2026-12-02 10:33:33Z",
		"2027-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-12-02T24:00:00Z", "2026-12-02T10:60:00Z", "2026-12-02T10:33:60Z",
		"1969-12-31T23:59:59Z", "2026-12-02T10:33:33.Z", "2026-12-02T10:33:33.0123456789Z",
		"2026-12-02T10:33:33+00:00", "2026-12-02T10:33:33Zx", "+026-12-02T10:33:33Z",
		"2026-12-02T10:33:3 Z" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		t = 7;
		assert_int_equal(dst_s3_parse_date(bad[i], strlen(bad[i]), &t), -1);
		assert_int_equal(t, 7);
	}
	/* Bounded by ${len}, not by a NUL. */
	assert_int_equal(dst_s3_parse_date("2026-12-02T10:33:33Z", 19, &t), -1);
	assert_int_equal(dst_s3_parse_mode("COMPLIANCE", 10), DST_LOCK_COMPLIANCE);
	assert_int_equal(dst_s3_parse_mode("GOVERNANCE", 10), DST_LOCK_GOVERNANCE);
	assert_int_equal(dst_s3_parse_mode("COMPLIANC", 9), -1);
	assert_int_equal(dst_s3_parse_mode("compliance", 10), -1);
}

/* Kinds without Object Lock refuse to be asked, and lock_extend_open with them. */
static void test_no_lock(void **state)
{
	(void)state;
	struct dst *d = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(dst_mem_open(&d, &err), 0);
	int64_t until = 5;
	int mode = 5;
	assert_int_equal(dst_lock_mode(d), DST_LOCK_NONE);
	assert_int_equal(dst_lock_period(d), 0);
	assert_int_equal(dst_lock_get(d, "config", &until, &mode, &err), CF_EUSAGE);
	assert_int_equal(dst_lock_extend(d, "config", 1LL << 40, DST_LOCK_NONE, &err), CF_EUSAGE);
	struct lock_extend *x = (struct lock_extend *)&err;
	assert_int_equal(lock_extend_open(NULL, d, &x, &err), CF_EUSAGE);
	assert_null(x);
	lock_extend_free(NULL);
	dst_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_no_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
