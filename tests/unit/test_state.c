/* test_state.c: the daemon's status and history (agent/daemon/state.c): what is written reads
 * back the same, hostile bytes are refused, the history survives WAL and reopening; the
 * history by day (state_days.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "coffre/error.h"
#include "coffre/state.h"

static void fill_run(struct state_run *r, uint64_t run)
{
	r->run = run;
	r->start = 1710072000 + (time_t)run;
	r->duration = 1.25 * (double)run;
	snprintf(r->result, sizeof r->result, "%s", run % 2 ? "ok" : "failed");
	if (run % 2)
		memset(r->snapshot, 'a', 64);
	else
		snprintf(r->error, sizeof r->error, "run %llu: «écrit» \"quoted\"",
			(unsigned long long)run);
	r->files = 10 * run;
	r->files_new = run;
	r->bytes_read = 1000 * run;
	r->bytes_added = 100 * run;
	r->entries = 12 * run;
	r->dirs_reused = 3;
	r->full_scan = (int)(run % 2);
}

/* A status with every field set, owned (release it). */
static void fill_status(struct state_status *s)
{
	snprintf(s->state, sizeof s->state, "running");
	s->pid = 4242;
	s->runs = 7;
	s->running = 1;
	s->progress.run = 7;
	s->progress.start = 1710072100;
	s->progress.files = 99;
	s->progress.duration = 3.5;
	snprintf(s->progress.current, sizeof s->progress.current, "/srv/facture.pdf");
	s->config = strdup("/etc/coffre/coffre.conf");
	s->repository = strdup("/var/spool/coffre");
	snprintf(s->schedule, sizeof s->schedule, "daily 19:30");
	s->has_last = 1;
	fill_run(&s->last, 6);
	s->last.nwarn = 2;
	snprintf(s->last.warn[0], sizeof s->last.warn[0], "/a: unreadable");
	snprintf(s->last.warn[1], sizeof s->last.warn[1], "/b: changed while read");
	snprintf(s->last.retention_error, sizeof s->last.retention_error, "locked");
	s->last_success = 1710000000;
	s->next_backup = 1710090000;
	s->retry = 1;
	s->dirty_folders = 2;
	s->last_change = 1710072050;
	s->nwatched = 2;
	s->watched = calloc(2, sizeof *s->watched);
	assert_non_null(s->watched);
	s->watched[0].path = strdup("/srv/compta");
	snprintf(s->watched[0].state, sizeof s->watched[0].state, "watched");
	s->watched[1].path = strdup("/srv/paie");
	snprintf(s->watched[1].state, sizeof s->watched[1].state, "missing");
	s->watches = 31;
	s->clear_spool = 1;
	s->ndests = 2;
	s->dests = calloc(2, sizeof *s->dests);
	assert_non_null(s->dests);
	snprintf(s->dests[0].name, sizeof s->dests[0].name, "usb");
	snprintf(s->dests[0].url, sizeof s->dests[0].url, "usb://COFFRE");
	snprintf(s->dests[0].result, sizeof s->dests[0].result, "complete");
	s->dests[0].last_attempt = s->dests[0].last_complete = 1710072000;
	snprintf(s->dests[1].name, sizeof s->dests[1].name, "s3");
	snprintf(s->dests[1].url, sizeof s->dests[1].url, "s3://host/bucket");
	s->last_retention = 1709000000;
	s->page_port = 8419;
	snprintf(s->page_token_file, sizeof s->page_token_file, "/var/lib/coffre/page-token");
}

static void test_round_trip(void **state)
{
	(void)state;
	struct state_status s = { 0 }, back;
	char *a = NULL, *b = NULL;
	fill_status(&s);
	assert_int_equal(state_status_format(&s, &a, NULL), 0);
	/* Parsed from bytes that are not NUL-terminated. */
	size_t n = strlen(a);
	char *copy = malloc(n);
	assert_non_null(copy);
	memcpy(copy, a, n);
	assert_int_equal(state_status_parse(copy, n, &back, NULL), 0);
	free(copy);
	assert_string_equal(back.repository, s.repository);
	assert_int_equal(back.nwatched, 2);
	assert_string_equal(back.watched[1].state, "missing");
	assert_int_equal(back.ndests, 2);
	assert_string_equal(back.dests[0].result, "complete");
	assert_int_equal(back.last.nwarn, 2);
	assert_string_equal(back.last.error, s.last.error);
	assert_true(back.running);
	assert_int_equal(back.progress.files, 99);
	assert_int_equal(back.page_port, 8419);
	assert_string_equal(back.page_token_file, "/var/lib/coffre/page-token");
	assert_int_equal(state_status_format(&back, &b, NULL), 0);
	assert_string_equal(a, b);
	free(b);
	b = NULL;
	assert_int_equal(state_status_format_last(&back, &b, NULL), 0);
	assert_non_null(strstr(b, "\"destinations\""));
	assert_null(strstr(b, "\"last_retention\""));
	free(a);
	free(b);
	state_status_release(&back);
	state_status_release(&s);
	/* An idle daemon without a run: nulls read back as nothing. */
	struct state_status e = { 0 };
	snprintf(e.state, sizeof e.state, "idle");
	assert_int_equal(state_status_format(&e, &a, NULL), 0);
	assert_int_equal(state_status_parse(a, strlen(a), &back, NULL), 0);
	assert_false(back.has_last);
	assert_false(back.running);
	assert_null(back.config);
	assert_int_equal(state_status_format(&back, &b, NULL), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	state_status_release(&back);
}

static void expect_refused(const char *text)
{
	struct state_status s;
	struct cf_error err = { 0 };
	memset(&s, 0x5a, sizeof s);
	assert_int_equal(state_status_parse(text, strlen(text), &s, &err), CF_ECORRUPT);
	assert_true(err.msg[0] != 0);
	/* Untouched on failure. */
	assert_int_equal(((unsigned char *)&s)[0], 0x5a);
}

static void test_hostile(void **state)
{
	(void)state;
	expect_refused("");
	expect_refused("[]");
	expect_refused("{\"state\":");
	expect_refused("{} trailing");
	expect_refused("{\"state\":\"idle\",\"state\":\"running\"}");
	expect_refused("{\"pid\":\"12\"}");
	expect_refused("{\"runs\":-1}");
	expect_refused("{\"retry\":1}");
	expect_refused("{\"state\":\"a state far too long\"}");
	expect_refused("{\"running\":[]}");
	expect_refused("{\"last_backup\":{\"warning_messages\":"
		"[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\"]}}");
	expect_refused("{\"last_backup\":{\"warning_messages\":[1]}}");
	expect_refused("{\"last_backup\":{\"duration\":\"long\"}}");
	expect_refused("{\"watched\":[\"/srv\"]}");
	expect_refused("{\"watched\":[{\"path\":7}]}");
	expect_refused("{\"destinations\":{}}");
	expect_refused("{\"destinations\":[1]}");
	expect_refused("{\"config\":\"a\\u0000b\"}");
	/* Too many destinations. */
	char big[STATE_MAX_DESTS * 4 + 64];
	size_t n = (size_t)snprintf(big, sizeof big, "{\"destinations\":[");
	for (int i = 0; i <= STATE_MAX_DESTS; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "%s{}", i ? "," : "");
	snprintf(big + n, sizeof big - n, "]}");
	expect_refused(big);
	/* A string one byte over its field. */
	char name[200];
	memset(name, 'x', 65);
	name[65] = 0;
	char text[300];
	snprintf(text, sizeof text, "{\"destinations\":[{\"name\":\"%s\"}]}", name);
	expect_refused(text);
	name[64] = 0;
	snprintf(text, sizeof text, "{\"destinations\":[{\"name\":\"%s\"}]}", name);
	struct state_status s;
	assert_int_equal(state_status_parse(text, strlen(text), &s, NULL), 0);
	assert_int_equal(strlen(s.dests[0].name), 64);
	state_status_release(&s);
	/* Over the size bound, whatever the bytes. */
	assert_int_equal(state_status_parse("{}", (size_t)STATE_STATUS_MAX + 1, &s, NULL),
		CF_ECORRUPT);
	/* Unknown keys are left for newer daemons. */
	assert_int_equal(state_status_parse("{\"new\":[1,{}]}", 14, &s, NULL), 0);
	state_status_release(&s);
}

static void test_ack(void **state)
{
	(void)state;
	struct state_ack a = { .ok = 1, .run = 3, .after_running = 1 }, b;
	char *text = NULL;
	assert_int_equal(state_ack_format(&a, &text, NULL), 0);
	assert_string_equal(text, "{\"ok\":true,\"run\":3,\"after_running\":true}");
	assert_int_equal(state_ack_parse(text, strlen(text), &b, NULL), 0);
	assert_true(b.ok && b.run == 3 && b.after_running);
	free(text);
	struct state_ack f = { .ok = 0 };
	snprintf(f.error, sizeof f.error, "unknown request");
	assert_int_equal(state_ack_format(&f, &text, NULL), 0);
	assert_string_equal(text, "{\"ok\":false,\"error\":\"unknown request\"}");
	free(text);
	assert_int_equal(state_ack_parse("{\"ok\":\"yes\"}", 12, &b, NULL), CF_ECORRUPT);
}

static char *tmp_dir(void)
{
	const char *t = getenv("TMPDIR");
	char *d = NULL;
	assert_true(asprintf(&d, "%s/test_state.XXXXXX", t && *t ? t : "/tmp") > 0);
	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_dir(const char *dir)
{
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void append(const char *path, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i <= to; i++) {
		struct state_run r = { 0 };
		fill_run(&r, i);
		assert_int_equal(state_history_append(path, &r, NULL), 0);
	}
}

static void expect_rows(const char *path, size_t limit, size_t want, uint64_t last)
{
	struct state_history_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(state_history_read(path, limit, &rows, &n, NULL), 0);
	assert_int_equal(n, want);
	assert_int_equal(rows[n - 1].files, 10 * last);
	assert_int_equal(rows[n - 1].start, 1710072000 + (time_t)last);
	for (size_t i = 1; i < n; i++)
		assert_true(rows[i - 1].start < rows[i].start);
	free(rows);
}

static void test_history(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *path = state_history_path(dir);
	struct state_history_row *rows = NULL;
	size_t n = 0;
	struct cf_error err = { 0 };
	/* Reading never creates it. */
	assert_int_equal(state_history_read(path, 20, &rows, &n, &err), CF_EIO);
	assert_int_not_equal(access(path, F_OK), 0);
	append(path, 1, 4);
	expect_rows(path, 20, 4, 4);
	expect_rows(path, 2, 2, 4);
	assert_int_equal(state_history_read(path, 20, &rows, &n, NULL), 0);
	assert_string_equal(rows[1].message, "run 2: «écrit» \"quoted\"");
	assert_string_equal(rows[0].result, "ok");
	char *text = NULL;
	assert_int_equal(state_history_format(rows, n, &text, NULL), 0);
	assert_non_null(strstr(text, "\"message\": null"));
	free(text);
	free(rows);
	/* Someone turns WAL on and keeps a connection open (so the -wal file stays): each call
	 * opens the file afresh and sees every row. */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
	append(path, 5, 6);
	expect_rows(path, 20, 6, 6);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO runs (start, result, files) VALUES "
		"(1710072007, 'ok', 70)", NULL, NULL, NULL), SQLITE_OK);
	expect_rows(path, 20, 7, 7);
	sqlite3_close(db);
	append(path, 8, 8);
	expect_rows(path, 20, 8, 8);
	/* Not a history. */
	char *junk = NULL;
	assert_true(asprintf(&junk, "%s/junk.db", dir) > 0);
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	fputs("not a database, not at all, but long enough to have a header........", f);
	fclose(f);
	assert_int_equal(state_history_read(junk, 20, &rows, &n, &err), CF_ECORRUPT);
	assert_int_not_equal(state_history_append(junk, &(struct state_run){ 0 }, &err), 0);
	rm_dir(dir);
	free(junk);
	free(path);
	free(dir);
}

/* The history by day: runs land in their local day, failures apart, bytes of good backups
 * only; empty days read as zero; only STATE_DAYS_KEPT days stay. */
static void test_days(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *path = state_history_path(dir);
	struct state_day d[30];
	struct cf_error err = { 0 };
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	/* No history yet: 30 empty days, each a local midnight, the last today's. */
	time_t now = 1764759600;	/* 2025-12-03 12:00 in Paris */
	assert_int_equal(state_days_read(path, now, 30, d, &err), 0);
	assert_int_equal(d[29].day, 1764716400);	/* 2025-12-03 00:00 */
	assert_int_equal(d[0].day, 1764716400 - 29 * 86400);
	assert_int_equal(d[29].backups + d[0].backups, 0);
	struct state_run r = { .start = now - 3600, .bytes_added = 1000 };
	snprintf(r.result, sizeof r.result, "ok");
	snprintf(r.snapshot, sizeof r.snapshot, "ab");
	assert_int_equal(state_days_add(path, &r, NULL), 0);
	r.bytes_added = 500;
	snprintf(r.result, sizeof r.result, "partial");
	assert_int_equal(state_days_add(path, &r, NULL), 0);
	snprintf(r.result, sizeof r.result, "failed");
	r.snapshot[0] = 0;
	assert_int_equal(state_days_add(path, &r, NULL), 0);
	r.start = now - 86400;	/* yesterday */
	snprintf(r.result, sizeof r.result, "ok");
	snprintf(r.snapshot, sizeof r.snapshot, "cd");
	r.bytes_added = 7;
	assert_int_equal(state_days_add(path, &r, NULL), 0);
	assert_int_equal(state_days_read(path, now, 30, d, &err), 0);
	assert_int_equal(d[29].backups, 2);
	assert_int_equal(d[29].failed, 1);
	assert_int_equal(d[29].bytes_added, 1500);
	assert_int_equal(d[28].backups, 1);
	assert_int_equal(d[28].bytes_added, 7);
	assert_int_equal(d[27].backups, 0);
	/* 100 days of backups: the oldest go. */
	for (int i = 0; i < 100; i++) {
		r.start = now - (time_t)i * 86400;
		assert_int_equal(state_days_add(path, &r, NULL), 0);
	}
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM days", -1, &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), STATE_DAYS_KEPT);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(state_days_read(path, now, 30, d, &err), 0);
	assert_int_equal(d[29].backups, 3);
	assert_int_equal(d[0].backups, 1);
	rm_dir(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_ack),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_days),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
