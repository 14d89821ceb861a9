/* test_runmsg.c: the messages of a run's process (agent/daemon/runmsg.c): what is formatted
 * parses back the same, byte for byte; truncated, oversize, foreign and garbage lines are
 * refused; the daemon's buffer splits lines read in pieces. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "coffre/runmsg.h"

static char line[RUNMSG_MAX + 16];

static void fill_result(struct runmsg *m)
{
	struct state_run *s = &m->u.result.s;
	memset(m, 0, sizeof *m);
	m->kind = RUNMSG_RESULT;
	m->u.result.code = -3;
	s->run = 42;
	s->start = 1710072000;
	snprintf(s->time, sizeof s->time, "2024-03-10T12:00:00+0100");
	s->duration = 12.375;
	snprintf(s->result, sizeof s->result, "partial");
	memset(s->snapshot, 'a', 64);
	s->files = UINT64_MAX;
	s->files_new = 3;
	s->files_changed = 4;
	s->bytes_read = 1ull << 40;
	s->bytes_added = 5;
	s->entries = 6;
	s->dirs_reused = 7;
	s->warnings = 2;
	s->full_scan = 1;
	snprintf(s->error, sizeof s->error, "«écrit» \"quoted\"\n\ttab");
	snprintf(s->missing, sizeof s->missing, "'/srv/gone' is missing");
	s->nwarn = 2;
	snprintf(s->warn[0], sizeof s->warn[0], "/srv/a: cannot read");
	/* Not UTF-8: a file name may be any bytes. */
	snprintf(s->warn[1], sizeof s->warn[1], "/srv/\xff\xfe\x01name: changed");
	s->retention = 1;
	snprintf(s->retention_error, sizeof s->retention_error, "none");
	s->spool_cleared = 99;
	memset(s->spool_clear_error, 'x', sizeof s->spool_clear_error - 1);
}

static void round_trip(const struct runmsg *m)
{
	size_t n = 0;
	assert_int_equal(runmsg_format(m, line, sizeof line, &n, NULL), 0);
	assert_true(n > 0 && line[n - 1] == '\n');
	assert_null(memchr(line, '\n', n - 1));
	assert_memory_equal(line, "v1 ", 3);
	struct runmsg *back = calloc(1, sizeof *back);
	assert_non_null(back);
	assert_int_equal(runmsg_parse(line, n, back, NULL), 0);
	assert_memory_equal(back, m, sizeof *m);
	/* Without its newline too. */
	memset(back, 0, sizeof *back);
	assert_int_equal(runmsg_parse(line, n - 1, back, NULL), 0);
	assert_memory_equal(back, m, sizeof *m);
	free(back);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct runmsg *m = calloc(1, sizeof *m);
	assert_non_null(m);
	fill_result(m);
	round_trip(m);

	memset(m, 0, sizeof *m);
	m->kind = RUNMSG_PROGRESS;
	m->u.progress.files_new = 1;
	m->u.progress.files_unchanged = 1000;
	m->u.progress.entries = 2000;
	m->u.progress.bytes_read = 123456789;
	m->u.progress.duration = 0.5;
	snprintf(m->u.progress.current, sizeof m->u.progress.current, "/srv/\x1b[31mred\nline");
	round_trip(m);

	memset(m, 0, sizeof *m);
	m->kind = RUNMSG_PHASE;
	snprintf(m->u.phase, sizeof m->u.phase, "push");
	round_trip(m);

	memset(m, 0, sizeof *m);
	m->kind = RUNMSG_DEST;
	m->u.dest.index = 63;
	struct state_dest *d = &m->u.dest.d;
	snprintf(d->name, sizeof d->name, "cloud");
	snprintf(d->url, sizeof d->url, "s3://127.0.0.1:9000/coffre/shop");
	snprintf(d->result, sizeof d->result, "unreachable");
	d->last_attempt = 1710072100;
	d->pending_since = 1710072000;
	d->sent = 3;
	d->sent_bytes = 4096;
	d->pending = 2;
	d->pending_bytes = 1 << 20;
	d->object_lock = 1;
	snprintf(d->lock_note, sizeof d->lock_note, "GOVERNANCE 30 days");
	snprintf(d->error, sizeof d->error, "connection refused");
	round_trip(m);
	free(m);
}

static int parse(const char *text, struct runmsg *m)
{
	return runmsg_parse(text, strlen(text), m, NULL);
}

static void test_refused(void **state)
{
	(void)state;
	struct runmsg *m = calloc(1, sizeof *m), *good = calloc(1, sizeof *good);
	assert_non_null(m);
	assert_non_null(good);
	fill_result(good);
	size_t n = 0;
	assert_int_equal(runmsg_format(good, line, sizeof line, &n, NULL), 0);
	/* Every truncation is refused (the JSON object is cut) and leaves ${m} alone. */
	for (size_t cut = 0; cut < n - 1; cut++) {
		memset(m, 0x5a, sizeof *m);
		assert_int_equal(runmsg_parse(line, cut, m, NULL), CF_ECORRUPT);
		for (size_t i = 0; i < sizeof *m; i++)
			assert_int_equal(((unsigned char *)m)[i], 0x5a);
	}
	/* Another version. */
	line[1] = '2';
	assert_int_equal(runmsg_parse(line, n, m, NULL), CF_ECORRUPT);
	assert_int_equal(parse("v12 progress {}", m), CF_ECORRUPT);
	assert_int_equal(parse("v progress {}", m), CF_ECORRUPT);
	/* Garbage. */
	assert_int_equal(parse("", m), CF_ECORRUPT);
	assert_int_equal(parse("\n", m), CF_ECORRUPT);
	assert_int_equal(parse("v1", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress ", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 nonsense {}", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress []", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress {} trailing", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress {\"files_new\":\"1\"}", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress {\"files_new\":1,\"files_new\":2}", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress {\"current\":{\"hex\":\"zz\"}}", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress {\"current\":{\"hex\":\"610\"}}", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress {\"current\":{\"hex\":\"6100\"}}", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 progress {\"current\":\"a\\u0000b\"}", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 result {\"result\":\"much too long a result\"}", m),
		CF_ECORRUPT);
	assert_int_equal(parse("v1 result {\"warn\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}", m),
		CF_ECORRUPT);
	assert_int_equal(parse("v1 result {\"code\":4294967296}", m), CF_ECORRUPT);
	assert_int_equal(parse("v1 dest {\"index\":-1}", m), CF_ECORRUPT);
	/* Absent fields read as zero. */
	assert_int_equal(parse("v1 phase {}", m), 0);
	assert_int_equal(m->kind, RUNMSG_PHASE);
	assert_string_equal(m->u.phase, "");
	/* Oversize: a line over RUNMSG_MAX is refused before it is read. */
	char *big = malloc(RUNMSG_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', RUNMSG_MAX + 1);
	memcpy(big, "v1 phase {", 10);
	big[RUNMSG_MAX] = '}';
	assert_int_equal(runmsg_parse(big, RUNMSG_MAX + 1, m, NULL), CF_ECORRUPT);
	free(big);
	/* What cannot fit a line is not formatted. */
	assert_int_equal(runmsg_format(good, line, 100, &n, NULL), CF_EUSAGE);
	good->kind = _RUNMSG_KIND_MAX;
	assert_int_equal(runmsg_format(good, line, sizeof line, &n, NULL), CF_EUSAGE);
	free(m);
	free(good);
}

/* Random bytes never crash the parser; what it accepts formats again. */
static void test_garbage(void **state)
{
	(void)state;
	struct runmsg *m = calloc(1, sizeof *m);
	assert_non_null(m);
	static const char *const seeds[] = { "v1 progress {\"current\":\"x\",\"entries\":3}",
		"v1 result {\"warn\":[\"a\",{\"hex\":\"ff\"}],\"code\":0}",
		"v1 dest {\"index\":2,\"name\":\"n\"}", "v1 phase {\"phase\":\"push\"}" };
	srand(7);
	char buf[256];
	for (int round = 0; round < 20000; round++) {
		const char *s = seeds[round % 4];
		size_t n = strlen(s);
		memcpy(buf, s, n);
		for (int k = 0; k < 1 + round % 4; k++)
			buf[(size_t)rand() % n] = (char)(rand() & 0xff);
		if (runmsg_parse(buf, n, m, NULL) == 0) {
			size_t len;
			assert_int_equal(runmsg_format(m, line, sizeof line, &len, NULL), 0);
		}
	}
	free(m);
}

static void test_buf(void **state)
{
	(void)state;
	struct runmsg_buf *b = calloc(1, sizeof *b);
	struct runmsg *m = calloc(1, sizeof *m);
	assert_non_null(b);
	assert_non_null(m);
	const char *text = "v1 phase {\"phase\":\"retention\"}\nv1 garbage\nv1 phase {\"phase\":\"push\"}\n";
	/* Fed a byte at a time. */
	int got = 0, bad = 0;
	for (const char *p = text; *p; p++) {
		size_t room;
		char *at = runmsg_buf_space(b, &room);
		assert_true(room > 0);
		*at = *p;
		runmsg_buf_fill(b, 1);
		int rc;
		while ((rc = runmsg_buf_take(b, m, NULL)) != 0) {
			if (rc == 1) {
				assert_string_equal(m->u.phase, got ? "push" : "retention");
				got++;
			} else {
				assert_int_equal(rc, CF_ECORRUPT);
				bad++;
			}
		}
	}
	assert_int_equal(got, 2);
	assert_int_equal(bad, 1);
	assert_int_equal(b->n, 0);
	/* A line that fills the buffer without a newline. */
	size_t room;
	char *at = runmsg_buf_space(b, &room);
	assert_int_equal(room, RUNMSG_MAX);
	memset(at, 'a', room);
	runmsg_buf_fill(b, room);
	runmsg_buf_space(b, &room);
	assert_int_equal(room, 0);
	assert_int_equal(runmsg_buf_take(b, m, NULL), CF_ECORRUPT);
	assert_int_equal(b->n, 0);
	free(b);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
