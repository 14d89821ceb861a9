/* test_alert.c: the alert messages (every condition, every state, French and English: there,
 * non-empty, every {word} filled in) and the queue on disk (bounded, backoff, order, it
 * survives being reopened, hostile entries refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "coffre/alert.h"
#include "coffre/alert_watch.h"
#include "coffre/alertq.h"
#include "coffre/cfg.h"
#include "coffre/error.h"
#include "fixture.h"

#define NOW INT64_C(1764672000)	/* 2025-12-02 10:40 UTC */

static void test_texts(void **state)
{
	static const char *const langs[] = { "fr", "en" };
	for (int c = 0; c < _ALERT_COND_MAX; c++) {
		assert_non_null(alert_cond_name((enum alert_cond)c));
		assert_int_equal(alert_cond_parse(alert_cond_name((enum alert_cond)c)), c);
		for (int s = 0; s < _ALERT_STATE_MAX; s++)
			for (int l = 0; l < 2; l++)
				for (int last = 0; last < 2; last++) {
					struct alert_event ev;
					alert_event_init(&ev, (enum alert_cond)c, (enum alert_state)s,
						NOW - 40 * 3600, NOW);
					ev.last_ok = last ? NOW - 50 * 3600 : 0;
					snprintf(ev.dest, sizeof ev.dest, "COFFRE-B");
					struct alert_text t = { 0 };
					assert_int_equal(alert_render(&ev, langs[l], "Boulangerie",
						"caisse-1", &t, NULL), 0);
					assert_true(strlen(t.subject) > 10);
					assert_true(strlen(t.body) > 40);
					assert_null(strchr(t.subject, '\n'));
					assert_null(strchr(t.subject, '{'));
					assert_null(strchr(t.body, '{'));
					assert_non_null(strstr(t.subject, "[Boulangerie]"));
					if (s == ALERT_REMINDER)
						assert_ptr_equal(strstr(t.subject, l == 0 ?
							"Rappel : " : "Reminder: "), t.subject + 14);
					alert_text_release(&t);
				}
	}
	/* The two languages differ, and French reads as French. */
	struct alert_event ev;
	alert_event_init(&ev, ALERT_UNPROTECTED, ALERT_START, NOW - 40 * 3600, NOW);
	ev.last_ok = NOW - 40 * 3600;
	struct alert_text fr = { 0 }, en = { 0 };
	assert_int_equal(alert_render(&ev, "fr", "B", "h", &fr, NULL), 0);
	assert_int_equal(alert_render(&ev, "en", "B", "h", &en, NULL), 0);
	assert_string_not_equal(fr.body, en.body);
	assert_non_null(strstr(fr.body, "Que faire"));
	assert_non_null(strstr(fr.body, "il y a 1 jour et 16 heures"));
	assert_non_null(strstr(en.body, "What to do"));
	assert_non_null(strstr(en.body, "1 day and 16 hours ago"));
	alert_text_release(&fr);
	alert_text_release(&en);
	ev.cond = _ALERT_COND_MAX;
	assert_int_equal(alert_render(&ev, "fr", "B", "h", &fr, NULL), CF_EUSAGE);
}

static void test_backoff(void **state)
{
	assert_int_equal(alertq_backoff(1), 30);
	assert_int_equal(alertq_backoff(2), 60);
	assert_int_equal(alertq_backoff(3), 120);
	assert_int_equal(alertq_backoff(8), 3600);
	assert_int_equal(alertq_backoff(1000000), ALERTQ_BACKOFF_MAX);
	struct alertq_entry e = { 0 };
	alertq_failed(&e, NOW, "connection refused");
	assert_int_equal(e.attempts, 1);
	assert_int_equal(e.next_try, NOW + 30);
	alertq_failed(&e, NOW + 30, "timeout");
	assert_int_equal(e.next_try, NOW + 90);
	assert_string_equal(e.last_error, "timeout");
}

static struct alert_event ev_of(enum alert_cond c, enum alert_state s, int64_t at)
{
	struct alert_event ev;
	alert_event_init(&ev, c, s, NOW, at);
	return ev;
}

static void test_queue(void **state)
{
	char dir[256];
	assert_int_equal(fx_mkdtemp(dir, sizeof dir, "alertq"), 0);
	struct alertq *q = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(alertq_open(dir, 4, &q, &err), 0);
	size_t dropped = 9, n = 0, bad = 9;
	struct alert_event start = ev_of(ALERT_UNPROTECTED, ALERT_START, NOW);
	assert_int_equal(alertq_push(q, &start, NOW, &dropped, &err), 0);
	assert_int_equal(dropped, 0);
	struct alert_event r1 = ev_of(ALERT_UNPROTECTED, ALERT_REMINDER, NOW + 1);
	struct alert_event r2 = ev_of(ALERT_UNPROTECTED, ALERT_REMINDER, NOW + 2);
	assert_int_equal(alertq_push(q, &r1, NOW, &dropped, &err), 0);
	/* A second reminder of the same condition supersedes the first. */
	assert_int_equal(alertq_push(q, &r2, NOW, &dropped, &err), 0);
	assert_int_equal(dropped, 1);
	struct alert_event b1 = ev_of(ALERT_BEHIND, ALERT_START, NOW + 3);
	struct alert_event b2 = ev_of(ALERT_BEHIND, ALERT_REMINDER, NOW + 4);
	snprintf(b1.dest, sizeof b1.dest, "usb1");
	snprintf(b2.dest, sizeof b2.dest, "usb2");
	assert_int_equal(alertq_push(q, &b1, NOW, &dropped, &err), 0);
	assert_int_equal(alertq_push(q, &b2, NOW, &dropped, &err), 0);
	assert_int_equal(dropped, 0);
	/* Full (4): the oldest reminder (r2) makes room, not a start. */
	struct alert_event e1 = ev_of(ALERT_UNPROTECTED, ALERT_END, NOW + 5);
	assert_int_equal(alertq_push(q, &e1, NOW, &dropped, &err), 0);
	assert_int_equal(dropped, 1);
	alertq_free(q);

	/* Reopened: the same entries, in the order they were pushed. */
	assert_int_equal(alertq_open(dir, 4, &q, &err), 0);
	struct alertq_entry *v = NULL;
	assert_int_equal(alertq_list(q, &v, &n, &bad, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(bad, 0);
	assert_string_equal(v[0].ev.id, start.id);
	assert_string_equal(v[1].ev.id, b1.id);
	assert_string_equal(v[1].ev.dest, "usb1");
	assert_string_equal(v[2].ev.id, b2.id);
	assert_string_equal(v[3].ev.id, e1.id);
	assert_int_equal(v[3].ev.state, ALERT_END);
	assert_int_equal(v[0].next_try, NOW);
	/* An update is kept; a removal too. */
	alertq_failed(&v[0], NOW, "login refused");
	v[0].done = ALERTQ_WEBHOOK;
	assert_int_equal(alertq_update(q, &v[0], &err), 0);
	assert_int_equal(alertq_remove(q, v[1].name, &err), 0);
	assert_int_equal(alertq_update(q, &v[1], &err), CF_ENOENT);
	free(v);
	/* Full of starts and ends: the oldest goes. */
	struct alert_event s2 = ev_of(ALERT_BEHIND, ALERT_START, NOW + 6);
	struct alert_event s3 = ev_of(ALERT_TEST, ALERT_START, NOW + 7);
	assert_int_equal(alertq_push(q, &s2, NOW, &dropped, &err), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(alertq_push(q, &s3, NOW, &dropped, &err), 1 - 1);
	assert_int_equal(dropped, 1);	/* b2, the only reminder */
	/* A hostile file among the entries is removed and counted; a stranger is left. */
	char path[512];
	snprintf(path, sizeof path, "%s/%016x-%032x.json", dir, 1, 7);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"v\":1,\"id\":\"zz\"}", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/notes.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(alertq_list(q, &v, &n, &bad, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(bad, 1);
	assert_int_equal(v[0].attempts, 1);
	assert_int_equal(v[0].done, ALERTQ_WEBHOOK);
	assert_string_equal(v[0].last_error, "login refused");
	free(v);
	assert_int_equal(access(path, F_OK), 0);
	alertq_free(q);
	fx_rm_rf(dir);
}

static void test_parse(void **state)
{
	struct alertq_entry e = { 0 }, back;
	alert_event_init(&e.ev, ALERT_BEHIND, ALERT_REMINDER, NOW, NOW + 10);
	snprintf(e.ev.dest, sizeof e.ev.dest, "clé-B");
	e.attempts = 3;
	e.next_try = NOW + 99;
	char *s = NULL;
	assert_int_equal(alertq_format(&e, &s, NULL), 0);
	assert_int_equal(alertq_parse((const uint8_t *)s, strlen(s), &back), 0);
	assert_string_equal(back.ev.dest, "clé-B");
	assert_int_equal(back.ev.cond, ALERT_BEHIND);
	assert_int_equal(back.ev.state, ALERT_REMINDER);
	assert_int_equal(back.attempts, 3);
	assert_int_equal(back.next_try, NOW + 99);
	free(s);
	static const char *const hostile[] = { "", "[]", "{}", "{\"v\":2}",
		"{\"v\":1,\"id\":\"00000000000000000000000000000000\",\"condition\":\"x\","
		"\"state\":\"start\"}",
		"{\"v\":1,\"id\":\"00000000000000000000000000000000\",\"condition\":\"test\","
		"\"state\":\"start\",\"since\":-1}",
		"{\"v\":1,\"id\":\"00000000000000000000000000000000\",\"condition\":\"test\","
		"\"state\":\"start\",\"dest\":\"a\\u0000b\"}",
		"{\"v\":1,\"id\":\"00000000000000000000000000000000\",\"condition\":\"test\","
		"\"state\":\"start\",\"done\":4}",
		"{\"v\":1,\"v\":1}" };
	for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++)
		assert_int_equal(alertq_parse((const uint8_t *)hostile[i], strlen(hostile[i]),
			&back), CF_ECORRUPT);
}

static void test_cfg(void **state)
{
	char dir[256], text[2048];
	assert_int_equal(fx_mkdtemp(dir, sizeof dir, "alertcfg"), 0);
	snprintf(text, sizeof text, "[backup]\npath = %s\nrepository = /r\npassword-file = %s/pw\n"
		"[alert]\nmail-to = a@b.c\nmail-to = bad\nsmtp-url = ftp://x\nreminder = 2 s\n"
		"unprotected-after = 1 h\nbehind-after = 3 d\nlanguage = de\nwebhook-url = "
		"http://example.com/\nsmtp-user = u\nsmtp-password-file = %s/nope\n", dir, dir, dir);
	char path[300];
	snprintf(path, sizeof path, "%s/pw", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	chmod(path, 0600);
	struct cfg *c = NULL;
	char *problems = NULL;
	assert_int_equal(cfg_parse(text, strlen(text), "t.conf", &c, &problems, NULL), CF_EUSAGE);
	assert_non_null(strstr(problems, "t.conf:7: mail-to 'bad' is not a mail address"));
	assert_non_null(strstr(problems, "smtp-url 'ftp://x' must be"));
	assert_non_null(strstr(problems, "language must be fr or en"));
	assert_non_null(strstr(problems, "webhook-url 'http://example.com/' must be https"));
	assert_non_null(strstr(problems, "SMTP password file"));
	assert_non_null(strstr(problems, "mail-to without smtp-url"));
	free(problems);
	snprintf(text, sizeof text, "[backup]\npath = %s\nrepository = /r\npassword-file = %s/pw\n"
		"[alert]\nmail-to = a@b.c\nsmtp-url = smtps://mail.example.com\nreminder = 2 s\n"
		"behind-after = 3 d\nlanguage = fr\nwebhook-url = http://127.0.0.1:9/h\n", dir, dir);
	assert_int_equal(cfg_parse(text, strlen(text), "t.conf", &c, &problems, NULL), 0);
	assert_int_equal(c->alert.reminder, 2);
	assert_int_equal(c->alert.unprotected_after, 36 * 3600);
	assert_int_equal(c->alert.behind_after, 3 * 86400);
	assert_string_equal(c->alert.language, "fr");
	assert_non_null(c->alert.shop_name);
	assert_true(cfg_alert_mail(&c->alert) && cfg_alert_webhook(&c->alert));
	cfg_free(c);
	fx_rm_rf(dir);
}

/* One start, a reminder every ${reminder}, one end; nothing in between, nothing twice. */
static void test_watch(void **state)
{
	struct alert_open o = { 0 };
	int64_t next = 0, last = NOW - 100;
	const long after = 36 * 3600, rem = 24 * 3600;
	assert_int_equal(alert_watch_step(&o, NOW, last, after, rem, &next), _ALERT_STATE_INVALID);
	assert_int_equal(next, last + after);
	int64_t t = last + after;
	assert_int_equal(alert_watch_step(&o, t, last, after, rem, &next), ALERT_START);
	assert_int_equal(o.since, last + after);
	assert_int_equal(next, t + rem);
	assert_int_equal(alert_watch_step(&o, t + 10, last, after, rem, &next), _ALERT_STATE_INVALID);
	assert_int_equal(next, t + rem);
	assert_int_equal(alert_watch_step(&o, t + rem, last, after, rem, &next), ALERT_REMINDER);
	assert_int_equal(alert_watch_step(&o, t + rem + 1, last, after, rem, &next),
		_ALERT_STATE_INVALID);
	/* A clock set back does not silence it for longer than it went back. */
	assert_int_equal(alert_watch_step(&o, t, last, after, rem, &next), ALERT_REMINDER);
	/* A good backup ends it, once. */
	int64_t good = t + rem + 50;
	assert_int_equal(alert_watch_step(&o, good + 1, good, after, rem, &next), ALERT_END);
	assert_int_equal(next, good + after);
	assert_int_equal(alert_watch_step(&o, good + 2, good, after, rem, &next),
		_ALERT_STATE_INVALID);
	assert_false(o.open);

	/* Kept across a restart; a damaged file is said. */
	char dir[256];
	assert_int_equal(fx_mkdtemp(dir, sizeof dir, "alertwatch"), 0);
	struct alert_watch w = { .first_seen = NOW }, back;
	struct cf_error err = { 0 };
	assert_int_equal(alert_watch_load(dir, &back, &err), 0);
	assert_int_equal(back.first_seen, 0);
	w.c[ALERT_UNPROTECTED] = (struct alert_open){ 1, NOW + 5, NOW + 9 };
	assert_int_equal(alert_watch_save(dir, &w, &err), 0);
	assert_int_equal(alert_watch_load(dir, &back, &err), 0);
	assert_int_equal(back.first_seen, NOW);
	assert_true(back.c[ALERT_UNPROTECTED].open);
	assert_int_equal(back.c[ALERT_UNPROTECTED].since, NOW + 5);
	assert_int_equal(back.c[ALERT_UNPROTECTED].last_sent, NOW + 9);
	assert_false(back.c[ALERT_BEHIND].open);
	static const char *const hostile[] = { "", "{}", "{\"v\":1,\"first_seen\":-3}",
		"{\"v\":1,\"conditions\":[]}", "{\"v\":1,\"conditions\":{\"unprotected\":7}}" };
	for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++)
		assert_int_equal(alert_watch_parse((const uint8_t *)hostile[i], strlen(hostile[i]),
			&back), CF_ECORRUPT);
	const char *later = "{\"v\":1,\"conditions\":{\"ransomware\":{\"since\":1}}}";
	assert_int_equal(alert_watch_parse((const uint8_t *)later, strlen(later), &back), 0);
	fx_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_cfg),
		cmocka_unit_test(test_watch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
