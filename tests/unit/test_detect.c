/* test_detect.c: the decision that turns signals into an alarm: a canary alone raises it,
 * one kind alone does not, two kinds within the window do and outside it do not; the usual
 * rate is learnt, never from a minute that fired; the first event that counted is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coffre/detect.h"

#define T0 INT64_C(1764672000)	/* 2025-12-02 10:40 UTC */

static struct detect *new_default(void)
{
	struct detect *d = NULL;
	assert_int_equal(detect_new(NULL, &d), 0);
	assert_non_null(d);
	return d;
}

static void test_names_and_defaults(void **state)
{
	static const char *const want[DETECT_NKINDS] = { "canary", "format", "random", "rename",
		"note", "delete", "rate", "overflow", "mass" };
	for (int k = 0; k < DETECT_NKINDS; k++)
		assert_string_equal(detect_kind_name((enum detect_kind)k), want[k]);
	assert_string_equal(detect_kind_name(DETECT_NKINDS), "?");
	struct detect_policy p;
	detect_policy_default(&p);
	assert_int_equal(p.window, 600);
	assert_int_equal(p.threshold[DETECT_CANARY], 1);
	assert_int_equal(p.threshold[DETECT_FORMAT], 3);
	assert_int_equal(p.threshold[DETECT_RANDOM], 3);
	assert_int_equal(p.threshold[DETECT_RENAME], 10);
	assert_int_equal(p.threshold[DETECT_NOTE], 2);
	assert_int_equal(p.threshold[DETECT_DELETE], 50);
	assert_int_equal(p.threshold[DETECT_RATE], 1);
	assert_int_equal(p.threshold[DETECT_OVERFLOW], 1);
	assert_true(p.rate_factor == 10);
	assert_int_equal(p.rate_floor, 30);
	assert_int_equal(p.threshold[DETECT_MASS], 1);
	assert_true(p.mass_factor == 50);
	assert_int_equal(p.mass_floor, 500);
}

static void test_canary_alone(void **state)
{
	struct detect *d = new_default();
	assert_int_equal(detect_first(d), 0);
	assert_int_equal(detect_event(d, DETECT_CANARY, T0 + 5, 1), 1);
	assert_int_equal(detect_fired(d, T0 + 5), 1u << DETECT_CANARY);
	assert_int_equal(detect_first(d), T0 + 5);
	/* It stays up for the window, then falls. */
	assert_int_equal(detect_event(d, DETECT_DELETE, T0 + 604, 1), 1);
	assert_int_equal(detect_event(d, DETECT_DELETE, T0 + 605, 1), 0);
	assert_int_equal(detect_fired(d, T0 + 605), 0);
	detect_free(d);
}

static void test_one_kind_alone(void **state)
{
	/* Far over its threshold, any kind but the canary and the mass rewrite alone stays
	 * quiet. */
	for (int k = DETECT_FORMAT; k < DETECT_MASS; k++) {
		struct detect *d = new_default();
		for (int i = 0; i < 5; i++)
			assert_int_equal(detect_event(d, (enum detect_kind)k, T0 + i, 100), 0);
		assert_int_equal(detect_fired(d, T0 + 10), 1u << k);
		assert_int_equal(detect_first(d), 0);
		detect_free(d);
	}
	struct detect *d = new_default();
	assert_int_equal(detect_event(d, DETECT_OVERFLOW, T0, 1), 0);
	assert_int_equal(detect_event(d, DETECT_DELETE, T0, 49), 0);
	assert_int_equal(detect_fired(d, T0), 1u << DETECT_OVERFLOW);
	assert_int_equal(detect_event(d, DETECT_DELETE, T0 + 1, 1), 1);
	detect_free(d);
}

static void test_two_kinds_in_window(void **state)
{
	struct detect *d = new_default();
	/* Two format breaks, then renames: below both thresholds. */
	assert_int_equal(detect_event(d, DETECT_FORMAT, T0 + 10, 1), 0);
	assert_int_equal(detect_event(d, DETECT_FORMAT, T0 + 20, 1), 0);
	assert_int_equal(detect_event(d, DETECT_RENAME, T0 + 30, 9), 0);
	assert_int_equal(detect_fired(d, T0 + 30), 0);
	/* The third break fires its kind, the tenth rename the alarm. */
	assert_int_equal(detect_event(d, DETECT_FORMAT, T0 + 100, 1), 0);
	assert_int_equal(detect_fired(d, T0 + 100), 1u << DETECT_FORMAT);
	assert_int_equal(detect_first(d), 0);
	assert_int_equal(detect_event(d, DETECT_RENAME, T0 + 400, 1), 1);
	assert_int_equal(detect_fired(d, T0 + 400), 1u << DETECT_FORMAT | 1u << DETECT_RENAME);
	/* The first event that counted: the first format break. */
	assert_int_equal(detect_first(d), T0 + 10);
	detect_free(d);
}

static void test_outside_window(void **state)
{
	struct detect *d = new_default();
	assert_int_equal(detect_event(d, DETECT_RANDOM, T0, 3), 0);
	assert_int_equal(detect_fired(d, T0 + 599), 1u << DETECT_RANDOM);
	assert_int_equal(detect_fired(d, T0 + 600), 0);
	/* 600 s later the random files are out of the window: notes alone do not alarm. */
	assert_int_equal(detect_event(d, DETECT_NOTE, T0 + 600, 2), 0);
	assert_int_equal(detect_first(d), 0);
	/* Events spread one by one: only those within 600 s count. */
	assert_int_equal(detect_event(d, DETECT_RANDOM, T0 + 700, 1), 0);
	assert_int_equal(detect_event(d, DETECT_RANDOM, T0 + 1250, 1), 0);
	assert_int_equal(detect_event(d, DETECT_RANDOM, T0 + 1310, 1), 0);	/* 700 left */
	assert_int_equal(detect_event(d, DETECT_RANDOM, T0 + 1320, 1), 0);
	assert_int_equal(detect_fired(d, T0 + 1320), 1u << DETECT_RANDOM);	/* notes out */
	assert_int_equal(detect_event(d, DETECT_NOTE, T0 + 1330, 2), 1);
	assert_int_equal(detect_first(d), T0 + 1250);
	detect_free(d);
}

static void test_policy(void **state)
{
	struct detect_policy p;
	detect_policy_default(&p);
	p.window = 3 * 3600;			/* buckets of 11 s: counted whole */
	p.threshold[DETECT_RENAME] = 0;		/* off */
	struct detect *d = NULL;
	assert_int_equal(detect_new(&p, &d), 0);
	assert_int_equal(detect_event(d, DETECT_RENAME, T0, 1000), 0);
	assert_int_equal(detect_event(d, DETECT_FORMAT, T0 + 3, 3), 0);
	assert_int_equal(detect_event(d, DETECT_NOTE, T0 + 2 * 3600, 2), 1);
	assert_int_equal(detect_first(d), T0 + 3);
	assert_int_equal(detect_fired(d, T0 + 3 * 3600 + 60), 1u << DETECT_NOTE);
	detect_free(d);
}

static void test_rate(void **state)
{
	struct detect *d = new_default();
	assert_true(detect_usual(d) == 0);
	/* A working day: 5 changes a minute teach the usual rate. */
	int64_t t = T0;
	for (int m = 0; m < 200; m++, t += 60)
		assert_int_equal(detect_changed(d, t, 5), 0);
	assert_true(detect_usual(d) > 4.9 && detect_usual(d) <= 5);
	assert_int_equal(detect_fired(d, t), 0);
	/* 40 changes in a minute: over the floor but not 10 × usual: quiet, and learnt. */
	for (int i = 0; i < 40; i++)
		assert_int_equal(detect_changed(d, t + i, 1), 0);
	t += 60;
	assert_int_equal(detect_changed(d, t, 5), 0);	/* closes that minute */
	double usual = detect_usual(d);
	assert_true(usual > 6);
	assert_int_equal(detect_fired(d, t), 0);
	/* A burst of 200: fires DETECT_RATE once, past 10 × usual, and is not learnt. */
	t += 60;
	int fired_at = -1;
	for (int i = 0; i < 200; i++) {
		detect_changed(d, t + i / 4, 1);
		if (i == 0)
			usual = detect_usual(d);	/* the minute before was closed */
		if (fired_at < 0 && (detect_fired(d, t + i / 4) & 1u << DETECT_RATE))
			fired_at = i + 1;
	}
	assert_int_equal(fired_at, (int)(10 * usual) + 1);
	t += 60;
	assert_int_equal(detect_changed(d, t, 5), 0);
	assert_true(detect_usual(d) == usual);
	/* Rate and format breaks together: the alarm, first the burst's minute. */
	assert_int_equal(detect_event(d, DETECT_FORMAT, t + 1, 3), 1);
	assert_true(detect_first(d) >= t - 60 && detect_first(d) < t - 60 + 50);
	detect_free(d);

	/* Under the floor: quiet whatever the usual rate. */
	d = new_default();
	detect_set_usual(d, 0.5);
	assert_true(detect_usual(d) == 0.5);
	assert_int_equal(detect_changed(d, T0, 30), 0);
	assert_int_equal(detect_fired(d, T0), 0);
	assert_int_equal(detect_changed(d, T0 + 1, 1), 0);
	assert_int_equal(detect_fired(d, T0 + 1), 1u << DETECT_RATE);
	detect_set_usual(d, -3);
	assert_true(detect_usual(d) == 0);
	detect_free(d);
}

/* Hundreds of existing files rewritten in a minute, far over the usual: an alarm alone
 * (intermittent encryption that leaves each file's content looking as it did). */
static void test_mass_rewrite(void **state)
{
	struct detect *d = new_default();
	int64_t t = T0;
	for (int m = 0; m < 200; m++, t += 60)
		assert_int_equal(detect_changed(d, t, 5), 0);
	/* A software update rewriting 120 files: the rate fires, nothing more. */
	assert_int_equal(detect_changed(d, t, 120), 0);
	assert_int_equal(detect_fired(d, t), 1u << DETECT_RATE);
	detect_free(d);
	d = new_default();
	t = T0;
	for (int m = 0; m < 200; m++, t += 60)
		assert_int_equal(detect_changed(d, t, 5), 0);
	/* One by one: the alarm at the 501st, the first of them the attack's start. */
	int at = -1;
	for (int i = 0; i < 600 && at < 0; i++)
		if (detect_changed(d, t, 1) == 1)
			at = i + 1;
	assert_int_equal(at, 501);
	assert_int_equal(detect_fired(d, t), 1u << DETECT_RATE | 1u << DETECT_MASS);
	assert_int_equal(detect_first(d), t);
	detect_free(d);
	/* A shop whose usual rate is high needs 50 times that. */
	d = new_default();
	detect_set_usual(d, 20);
	assert_int_equal(detect_changed(d, T0, 999), 0);
	assert_int_equal(detect_changed(d, T0, 2), 1);
	detect_free(d);
}

static void test_first_moves_earlier(void **state)
{
	struct detect *d = new_default();
	assert_int_equal(detect_event(d, DETECT_DELETE, T0 + 1, 30), 0);
	assert_int_equal(detect_event(d, DETECT_CANARY, T0 + 100, 1), 1);
	assert_int_equal(detect_first(d), T0 + 100);
	/* Deletions reach their threshold while the alarm is up: they counted from T0+1. */
	assert_int_equal(detect_event(d, DETECT_DELETE, T0 + 200, 20), 1);
	assert_int_equal(detect_first(d), T0 + 1);
	/* Time going back is taken as the latest time seen. */
	assert_int_equal(detect_event(d, DETECT_NOTE, T0 + 50, 1), 1);
	detect_free(d);
	detect_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_defaults),
		cmocka_unit_test(test_canary_alone),
		cmocka_unit_test(test_one_kind_alone),
		cmocka_unit_test(test_two_kinds_in_window),
		cmocka_unit_test(test_outside_window),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_mass_rewrite),
		cmocka_unit_test(test_first_moves_earlier),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
