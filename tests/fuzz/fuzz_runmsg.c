/* fuzz_runmsg.c: the lines a run's process sends coffred (runmsg_parse, and runmsg_buf_take
 * as the daemon's loop reads its pipe), and the round trip through runmsg_format, which the
 * run's process writes them with.
 * Input: the bytes of the pipe: one or more lines. */
#include <string.h>

#include "coffre/error.h"
#include "coffre/runmsg.h"
#include "coffre/state.h"
#include "fuzz.h"

/* Every string of a parsed message is terminated within its field. */
#define TERMINATED(s) (memchr((s), 0, sizeof(s)) != NULL)

static void check_message(const struct runmsg *m)
{
	FUZZ_CHECK(m->kind >= 0 && m->kind < _RUNMSG_KIND_MAX);
	switch (m->kind) {
	case RUNMSG_PROGRESS:
		FUZZ_CHECK(TERMINATED(m->u.progress.current));
		break;
	case RUNMSG_PHASE:
		FUZZ_CHECK(TERMINATED(m->u.phase));
		break;
	case RUNMSG_DEST: {
		const struct state_dest *d = &m->u.dest.d;
		FUZZ_CHECK(TERMINATED(d->name) && TERMINATED(d->url) && TERMINATED(d->result) &&
			   TERMINATED(d->lock_note) && TERMINATED(d->error));
		break;
	}
	case RUNMSG_RESULT: {
		const struct state_run *s = &m->u.result.s;
		FUZZ_CHECK(TERMINATED(s->time) && TERMINATED(s->result) &&
			   TERMINATED(s->snapshot) && TERMINATED(s->error) &&
			   TERMINATED(s->missing) && TERMINATED(s->retention_error) &&
			   TERMINATED(s->spool_clear_error));
		FUZZ_CHECK(s->nwarn >= 0 && s->nwarn <= STATE_WARN_KEPT);
		for (int i = 0; i < STATE_WARN_KEPT; i++)
			FUZZ_CHECK(TERMINATED(s->warn[i]) && (i < s->nwarn || !s->warn[i][0]));
		break;
	}
	default:
		break;
	}
}

/* Parses one line, held in an allocation of its exact size (ASan sees a read past it); a
 * refusal leaves the result untouched. Returns the result of runmsg_parse. */
static int parse_line(const char *p, size_t n, struct runmsg *ret)
{
	static struct runmsg canary;
	memset(&canary, 0xa5, sizeof canary);
	char *copy = malloc(n ? n : 1);
	FUZZ_CHECK(copy);
	if (n)
		memcpy(copy, p, n);
	memcpy(ret, &canary, sizeof *ret);
	struct cf_error err = { 0 };
	int rc = runmsg_parse(copy, n, ret, &err);
	free(copy);
	if (rc) {
		FUZZ_CHECK(rc == CF_ECORRUPT || rc == CF_ENOMEM);
		FUZZ_CHECK(err.code == rc && err.msg[0]);
		FUZZ_CHECK(memcmp(ret, &canary, sizeof *ret) == 0);
	}
	return rc;
}

static char line[RUNMSG_MAX], again[RUNMSG_MAX];
static struct runmsg m2;

/* What runmsg_format writes reads back as the same message, and writes again the same. */
static void round_trip(const struct runmsg *m)
{
	size_t n = 0, n2 = 0;
	struct cf_error err = { 0 };
	int rc = runmsg_format(m, line, sizeof line, &n, &err);
	/* Escapes and the hex form of strings may make the line longer than what was read. */
	FUZZ_CHECK(rc == 0 || rc == CF_EUSAGE || rc == CF_ENOMEM);
	if (rc)
		return;
	FUZZ_CHECK(n > 0 && n <= RUNMSG_MAX && line[n - 1] == '\n' && !memchr(line, '\n', n - 1));
	FUZZ_CHECK(parse_line(line, n, &m2) == 0);
	check_message(&m2);
	FUZZ_CHECK(runmsg_format(&m2, again, sizeof again, &n2, &err) == 0);
	FUZZ_CHECK(n2 == n && memcmp(again, line, n) == 0);
	FUZZ_CHECK(memcmp(&m2, m, sizeof *m) == 0);
	/* Without its newline, the same message. */
	FUZZ_CHECK(parse_line(line, n - 1, &m2) == 0 && memcmp(&m2, m, sizeof *m) == 0);
}

static struct runmsg one, taken;
static struct runmsg_buf pipebuf;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The whole input as one message. */
	if (parse_line((const char *)data, size, &one) == 0) {
		check_message(&one);
		round_trip(&one);
	}
	/* The input as the daemon reads its pipe: in pieces (here of 1, 2, 3... bytes), each
	 * whole line parsed as runmsg_parse parses it alone. */
	memset(&pipebuf, 0, sizeof pipebuf);
	size_t at = 0, piece = 1, start = 0;
	while (at < size) {
		size_t room = 0;
		char *space = runmsg_buf_space(&pipebuf, &room);
		size_t k = size - at < piece ? size - at : piece;
		if (k > room)
			k = room;
		if (k) {
			memcpy(space, data + at, k);
			runmsg_buf_fill(&pipebuf, k);
			at += k;
		}
		piece++;
		for (;;) {
			struct cf_error err = { 0 };
			const char *nl = memchr(data + start, '\n', at - start);
			size_t before = pipebuf.n;
			int rc = runmsg_buf_take(&pipebuf, &taken, &err);
			if (rc == 0) {
				FUZZ_CHECK(!nl && pipebuf.n == before && pipebuf.n < sizeof pipebuf.b);
				break;
			}
			if (!nl) {
				/* A full buffer without a newline is refused and dropped. */
				FUZZ_CHECK(rc == CF_ECORRUPT && before == sizeof pipebuf.b &&
					   pipebuf.n == 0);
				start = at;
				continue;
			}
			size_t len = (size_t)(nl - (const char *)data) + 1 - start;
			FUZZ_CHECK(pipebuf.n == before - len);
			int want = parse_line((const char *)data + start, len, &one);
			FUZZ_CHECK(want == 0 ? rc == 1 && memcmp(&taken, &one, sizeof one) == 0
					     : rc == want);
			start += len;
		}
	}
	return 0;
}
