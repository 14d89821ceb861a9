/* test_sched.c: schedule parsing and next due times (agent/daemon/sched.c), in UTC. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffre/sched.h"

/* 2024-03-10 12:00:00 UTC */
#define NOON ((time_t)1710072000)
#define H 3600
#define DAY 86400

static void test_parse(void **state)
{
	struct sched_spec s;
	char out[64];
	(void)state;
	assert_int_equal(sched_parse("daily 19:30", &s), 0);
	assert_int_equal(s.kind, SCHED_DAILY);
	assert_int_equal(s.hour, 19);
	assert_int_equal(s.minute, 30);
	assert_int_equal(sched_parse("  daily 7:05 ", &s), 0);
	assert_int_equal(s.hour, 7);
	assert_int_equal(s.minute, 5);
	sched_format(&s, out, sizeof out);
	assert_string_equal(out, "daily 07:05");
	assert_int_equal(sched_parse("every 4 h", &s), 0);
	assert_int_equal(s.kind, SCHED_EVERY);
	assert_int_equal(s.seconds, 4 * H);
	assert_int_equal(sched_parse("every 30min", &s), 0);
	assert_int_equal(s.seconds, 1800);
	assert_int_equal(sched_parse("after-change 2s", &s), 0);
	assert_int_equal(s.kind, SCHED_AFTER_CHANGE);
	assert_int_equal(s.seconds, 2);
	assert_int_equal(sched_parse("after-change 10 min", &s), 0);
	assert_int_equal(s.seconds, 600);
	static const char *bad[] = { "", "daily", "daily 24:00", "daily 19:60", "daily 19:5",
		"daily 19:30 extra", "every", "every 0 h", "every 5", "every 5 s", "every -1 h",
		"every 3 days", "after-change", "after-change 5 parsecs", "weekly", "hourly 3" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		s.kind = SCHED_DAILY;
		if (sched_parse(bad[i], &s) != -1)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void test_daily(void **state)
{
	struct sched_spec s;
	(void)state;
	assert_int_equal(sched_parse("daily 19:30", &s), 0);
	time_t today = NOON + 7 * H + 30 * 60;	/* 19:30 today */
	/* Ran yesterday at 19:30: next is today 19:30. */
	assert_int_equal(sched_next(&s, today - DAY, 0, NOON), today);
	/* Ran today already (after 19:30): tomorrow. */
	assert_int_equal(sched_next(&s, today + 60, 0, today + 2 * H), today + DAY);
	/* The PC was off at 19:30 yesterday, started today at noon: catch up soon. */
	assert_int_equal(sched_next(&s, today - 2 * DAY, 0, NOON), NOON + SCHED_CATCHUP);
	/* Started at 20:00 today, last run yesterday: today's slot was missed. */
	assert_int_equal(sched_next(&s, today - DAY, 0, today + 30 * 60),
		today + 30 * 60 + SCHED_CATCHUP);
	/* Never ran: soon. */
	assert_int_equal(sched_next(&s, 0, 0, NOON), NOON + SCHED_CATCHUP);
	/* Changes do not move a daily schedule. */
	assert_int_equal(sched_next(&s, today - DAY, NOON - 5, NOON), today);
}

static void test_every(void **state)
{
	struct sched_spec s;
	(void)state;
	assert_int_equal(sched_parse("every 2 h", &s), 0);
	assert_int_equal(sched_next(&s, NOON - H, 0, NOON), NOON + H);
	assert_int_equal(sched_next(&s, NOON - 5 * H, 0, NOON), NOON + SCHED_CATCHUP);
	assert_int_equal(sched_next(&s, 0, 0, NOON), NOON + SCHED_CATCHUP);
}

static void test_after_change(void **state)
{
	struct sched_spec s;
	(void)state;
	assert_int_equal(sched_parse("after-change 5 min", &s), 0);
	assert_int_equal(sched_next(&s, NOON - H, 0, NOON), 0);	/* nothing pending */
	assert_int_equal(sched_next(&s, NOON - H, NOON - 60, NOON), NOON + 240);
	/* A burst: each change pushes the run back. */
	assert_int_equal(sched_next(&s, NOON - H, NOON, NOON), NOON + 300);
	/* Long overdue (the PC slept): now. */
	assert_int_equal(sched_next(&s, NOON - H, NOON - 2 * H, NOON), NOON);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_daily),
		cmocka_unit_test(test_every),
		cmocka_unit_test(test_after_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
