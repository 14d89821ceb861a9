/* test_fleet_status.c: a shop's status payload as the fleet view reads it
 * (agent/maint/fleet_status.c): a good one fills the shop; another shop's, a missing or bad
 * seq, malformed dates, lists too long and unknown states are refused; dates later than the
 * server's are cut to it; control bytes never reach what is shown; the judge's thresholds;
 * the escrow keys a shop reports, judged against the federation's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "coffre/error.h"
#include "coffre/repo.h"
#include "maint/fleet_internal.h"

#define NOW 1800000000LL
#define H 3600LL

static struct fleet_shop shop(void)
{
	struct fleet_shop s;
	memset(&s, 0, sizeof s);
	strcpy(s.id, "boul-1");
	return s;
}

static int apply(struct fleet_shop *s, const char *payload, long long stored)
{
	uint64_t seq = 0;
	int rc = fleet_status_apply(s, payload, stored, &seq);
	if (rc == 0)
		s->seq = seq, s->stored = stored;
	return rc;
}

static void test_good(void **state)
{
	(void)state;
	struct fleet_shop s = shop();
	char p[600];
	snprintf(p, sizeof p, "{\"shop\":\"boul-1\",\"seq\":7,\"written_at\":%lld,"
		"\"version\":\"coffre 1.0\",\"last_good_backup\":%lld,\"last_proven_restore\":%lld,"
		"\"destinations\":[{\"name\":\"cloud\",\"state\":\"ok\",\"last_complete\":%lld,"
		"\"lock_until\":%lld}],\"alerts\":[],\"alarm\":false,\"free_bytes\":null}",
		NOW, NOW - H, NOW - 24 * H, NOW - H, NOW + 30 * 24 * H);
	assert_int_equal(apply(&s, p, NOW), 0);
	assert_int_equal(s.seq, 7);
	assert_int_equal(s.last_good_backup, NOW - H);
	assert_int_equal(s.lock_until, NOW + 30 * 24 * H);
	assert_string_equal(s.version, "coffre 1.0");
	fleet_judge(&s, NOW + H, 0, NULL);
	assert_int_equal(s.problems, 0);
	fleet_judge(&s, NOW + 37 * H, 1, NULL);
	assert_true(s.problems & FLEET_SILENT);
	assert_true(s.problems & FLEET_NO_BACKUP);
	assert_false(s.problems & FLEET_NOT_LOCKED);
	s.problems = 0;
	fleet_judge(&s, NOW + 24 * 24 * H, 0, NULL);
	assert_true(s.problems & FLEET_LOCK_ENDING);
	assert_true(s.problems & FLEET_NO_RESTORE);
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "[]", "{\"shop\":\"other\",\"seq\":1}", "{\"shop\":\"boul-1\"}",
		"{\"shop\":\"boul-1\",\"seq\":0}", "{\"shop\":\"boul-1\",\"seq\":\"3\"}",
		"{\"shop\":\"boul-1\",\"seq\":1,\"last_good_backup\":-5,\"destinations\":[],"
		"\"alerts\":[]}",
		"{\"shop\":\"boul-1\",\"seq\":1,\"last_good_backup\":\"yesterday\","
		"\"destinations\":[],\"alerts\":[]}",
		"{\"shop\":\"boul-1\",\"seq\":1,\"destinations\":{},\"alerts\":[]}",
		"{\"shop\":\"boul-1\",\"seq\":1,\"destinations\":[{\"name\":\"a\","
		"\"state\":\"fine\"}],\"alerts\":[]}",
		"{\"shop\":\"boul-1\",\"seq\":1,\"destinations\":[],\"alerts\":[{\"since\":1}]}",
		"{\"shop\":\"boul-1\",\"seq\":1,\"destinations\":[],\"alerts\":[],\"alarm\":1}",
		"{\"shop\":\"boul-1\",\"seq\":1,\"seq\":2,\"destinations\":[],\"alerts\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct fleet_shop s = shop();
		assert_int_equal(apply(&s, bad[i], NOW), -1);
		assert_true(s.why[0] != 0);
	}
	/* 65 destinations: past the bound. */
	char p[8000] = "{\"shop\":\"boul-1\",\"seq\":1,\"alerts\":[],\"destinations\":[";
	for (int i = 0; i < 65; i++)
		strcat(p, i ? ",{\"name\":\"d\",\"state\":\"ok\"}" : "{\"name\":\"d\",\"state\":\"ok\"}");
	strcat(p, "]}");
	struct fleet_shop s = shop();
	assert_int_equal(apply(&s, p, NOW), -1);
}

static void test_clamped_and_clean(void **state)
{
	(void)state;
	struct fleet_shop s = shop();
	char p[600];
	/* A backup "after" the server stored the object: cut to the server's date. */
	snprintf(p, sizeof p, "{\"shop\":\"boul-1\",\"seq\":2,\"written_at\":%lld,"
		"\"version\":\"x\\u0007\\u001b[31m\",\"last_good_backup\":%lld,"
		"\"last_proven_restore\":null,\"destinations\":[{\"name\":\"c\",\"state\":"
		"\"failing\"}],\"alerts\":[{\"condition\":\"un\\nprot\",\"since\":1}],"
		"\"alarm\":true}", NOW + 100 * H, NOW + 100 * H);
	assert_int_equal(apply(&s, p, NOW - 40 * H), 0);
	assert_int_equal(s.last_good_backup, NOW - 40 * H);
	assert_int_equal(s.written_at, NOW - 40 * H);
	for (const char *c = s.version; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
	assert_string_equal(s.alerts, "un?prot");
	fleet_judge(&s, NOW, 0, NULL);
	assert_true(s.problems & FLEET_SILENT);
	assert_true(s.problems & FLEET_ALARM);
	assert_true(s.problems & FLEET_ALERTS);
	assert_true(s.problems & FLEET_FAILING);
	assert_true(s.problems & FLEET_NO_RESTORE);
}

/* A fresh, healthy status with ${escrow} as its "escrow_keys" (NULL: left out). */
static void escrow_status(struct fleet_shop *s, const char *escrow)
{
	char p[1200];
	snprintf(p, sizeof p, "{\"shop\":\"boul-1\",\"seq\":3,\"written_at\":%lld,"
		"\"last_good_backup\":%lld,\"last_proven_restore\":%lld,\"destinations\":[],"
		"\"alerts\":[],\"alarm\":false%s%s}", NOW, NOW, NOW,
		escrow ? ",\"escrow_keys\":" : "", escrow ? escrow : "");
	*s = shop();
	assert_int_equal(apply(s, p, NOW), 0);
}

static void test_escrow(void **state)
{
	(void)state;
	char fed[REPO_FINGERPRINT_TEXT], other[REPO_FINGERPRINT_TEXT], list[200];
	assert_int_equal(repo_escrow_key_id("11111111111111111111111111111111"
		"11111111111111111111111111111111", fed), 0);
	assert_int_equal(repo_escrow_key_id("22222222222222222222222222222222"
		"22222222222222222222222222222222", other), 0);
	assert_int_equal(strlen(fed), REPO_FINGERPRINT_TEXT - 1);
	assert_string_not_equal(fed, other);
	assert_int_equal(repo_escrow_key_id("1234", list), CF_EUSAGE);
	struct fleet_shop s;
	/* Sealed to the federation's key, among others: fine. */
	snprintf(list, sizeof list, "[\"%s\",\"%s\"]", other, fed);
	escrow_status(&s, list);
	assert_int_equal(s.nescrow, 2);
	fleet_judge(&s, NOW, 0, fed);
	assert_int_equal(s.problems, 0);
	/* Sealed to another key only, or to none: the federation cannot restore it. */
	snprintf(list, sizeof list, "[\"%s\"]", other);
	escrow_status(&s, list);
	fleet_judge(&s, NOW, 0, fed);
	assert_int_equal(s.problems, FLEET_ESCROW);
	assert_string_equal(fleet_problem_name(FLEET_ESCROW), "escrow");
	escrow_status(&s, "[]");
	fleet_judge(&s, NOW, 0, fed);
	assert_int_equal(s.problems, FLEET_ESCROW);
	assert_int_equal(s.nescrow, 0);
	/* A prefix of the federation's id is not the federation's id. */
	snprintf(list, sizeof list, "[\"%.20s\"]", fed);
	escrow_status(&s, list);
	fleet_judge(&s, NOW, 0, fed);
	assert_int_equal(s.problems, FLEET_ESCROW);
	/* Not reported (a repository that is not local), or no federation key: not judged. */
	escrow_status(&s, NULL);
	assert_false(s.escrow_reported);
	fleet_judge(&s, NOW, 0, fed);
	assert_int_equal(s.problems, 0);
	escrow_status(&s, "[]");
	fleet_judge(&s, NOW, 0, NULL);
	assert_int_equal(s.problems, 0);
	/* Malformed: refused. */
	static const char *const bad[] = { "{}", "[1]", "[\"a\",\"a\",\"a\",\"a\",\"a\","
		"\"a\",\"a\",\"a\",\"a\"]", "[\"0123456789012345678901234567890123456789\"]" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char p[600];
		snprintf(p, sizeof p, "{\"shop\":\"boul-1\",\"seq\":1,\"destinations\":[],"
			"\"alerts\":[],\"escrow_keys\":%s}", bad[i]);
		s = shop();
		assert_int_equal(apply(&s, p, NOW), -1);
	}
}

static void test_ids(void **state)
{
	(void)state;
	assert_true(fleet_shop_id_ok("boul-1"));
	assert_true(fleet_shop_id_ok("a.b_c"));
	assert_false(fleet_shop_id_ok(""));
	assert_false(fleet_shop_id_ok(".."));
	assert_false(fleet_shop_id_ok("a/b"));
	assert_false(fleet_shop_id_ok("a b"));
	char longid[70];
	memset(longid, 'a', 65);
	longid[65] = 0;
	assert_false(fleet_shop_id_ok(longid));
	assert_string_equal(fleet_problem_name(FLEET_ROLLBACK), "rollback");
	assert_null(fleet_problem_name(3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_escrow),
		cmocka_unit_test(test_clamped_and_clean),
		cmocka_unit_test(test_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
