/* fuzz_status.c: the daemon's status (state_status_parse: status.json read back at start,
 * and the control socket's reply read by coffre status), and the round trip through
 * state_status_format, which writes both. */
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "coffre/state.h"
#include "fuzz.h"

static void terminated(const char *s, size_t cap)
{
	FUZZ_CHECK(memchr(s, 0, cap) != NULL);
}

static void check(const struct state_status *s)
{
	terminated(s->state, sizeof s->state);
	terminated(s->schedule, sizeof s->schedule);
	terminated(s->next_backup_time, sizeof s->next_backup_time);
	terminated(s->progress.current, sizeof s->progress.current);
	const struct state_run *r = &s->last;
	terminated(r->time, sizeof r->time);
	terminated(r->result, sizeof r->result);
	terminated(r->snapshot, sizeof r->snapshot);
	terminated(r->error, sizeof r->error);
	terminated(r->missing, sizeof r->missing);
	terminated(r->retention_error, sizeof r->retention_error);
	terminated(r->spool_clear_error, sizeof r->spool_clear_error);
	FUZZ_CHECK(r->nwarn >= 0 && r->nwarn <= STATE_WARN_KEPT);
	for (int i = 0; i < r->nwarn; i++)
		terminated(r->warn[i], sizeof r->warn[i]);
	FUZZ_CHECK(s->ndests <= STATE_MAX_DESTS && (s->ndests == 0 || s->dests));
	for (size_t i = 0; i < s->ndests; i++) {
		const struct state_dest *d = &s->dests[i];
		terminated(d->name, sizeof d->name);
		terminated(d->url, sizeof d->url);
		terminated(d->result, sizeof d->result);
		terminated(d->lock_note, sizeof d->lock_note);
		terminated(d->error, sizeof d->error);
	}
	FUZZ_CHECK(s->nwatched == 0 || s->watched);
	/* A path may be NULL (absent reads as null): coffre status prints "(null)". */
	for (size_t i = 0; i < s->nwatched; i++) {
		FUZZ_CHECK(!s->watched[i].path || strlen(s->watched[i].path) < STATE_STATUS_MAX);
		terminated(s->watched[i].state, sizeof s->watched[i].state);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Times are also written in local time: one zone for every run. */
	setenv("TZ", "Europe/Paris", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_error err = { 0 };
	struct state_status s, s2 = { 0 }, before;
	memset(&s, 0xa5, sizeof s);
	memcpy(&before, &s, sizeof before);
	int rc = state_status_parse((const char *)data, size, &s, &err);
	if (rc) {
		FUZZ_CHECK(rc == CF_ECORRUPT || rc == CF_ENOMEM);
		FUZZ_CHECK(memcmp(&s, &before, sizeof s) == 0);
		return 0;
	}
	check(&s);
	/* What the daemon writes of what it read reads back, and is written the same. */
	char *text = NULL, *text2 = NULL, *last = NULL;
	FUZZ_CHECK(state_status_format(&s, &text, &err) == 0);
	FUZZ_CHECK(state_status_parse(text, strlen(text), &s2, &err) == 0);
	check(&s2);
	FUZZ_CHECK(state_status_format(&s2, &text2, &err) == 0);
	FUZZ_CHECK(strcmp(text, text2) == 0);
	rc = state_status_format_last(&s, &last, &err);
	FUZZ_CHECK(rc == 0 ? s.has_last && last : rc == CF_ENOENT && !s.has_last);
	free(last);
	free(text);
	free(text2);
	state_status_release(&s);
	state_status_release(&s2);
	return 0;
}
