/* fuzz_alertq.c: an entry of the alert queue as read back from STATE_DIR/alerts
 * (alertq_parse), and the round trip through alertq_format, which the queue writes with; the
 * same bytes as the conditions' file STATE_DIR/alert-watch.json (alert_watch_parse).
 * Input: the bytes of one entry's file. */
#include <stdlib.h>
#include <string.h>

#include "coffre/alert_watch.h"
#include "coffre/alertq.h"
#include "coffre/error.h"
#include "fuzz.h"

#define TERMINATED(s) (memchr((s), 0, sizeof(s)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* In an allocation of its exact size: ASan sees any read past it. */
	uint8_t *copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy);
	if (size)
		memcpy(copy, data, size);
	struct alert_watch w;
	if (alert_watch_parse(copy, size, &w) == 0)
		for (int i = 0; i < _ALERT_COND_MAX; i++)
			FUZZ_CHECK(w.c[i].since >= 0 && w.c[i].last_sent >= 0 && w.first_seen >= 0);
	struct alertq_entry e, back;
	memset(&e, 0xa5, sizeof e);
	int rc = alertq_parse(copy, size, &e);
	free(copy);
	if (rc) {
		FUZZ_CHECK(rc == CF_ECORRUPT);
		return 0;
	}
	FUZZ_CHECK(e.ev.cond >= 0 && e.ev.cond < _ALERT_COND_MAX);
	FUZZ_CHECK(e.ev.state >= 0 && e.ev.state < _ALERT_STATE_MAX);
	FUZZ_CHECK(TERMINATED(e.ev.id) && strlen(e.ev.id) == ALERT_ID_LEN);
	FUZZ_CHECK(TERMINATED(e.ev.dest) && TERMINATED(e.last_error) && TERMINATED(e.name));
	FUZZ_CHECK(e.ev.since >= 0 && e.ev.at >= 0 && e.ev.last_ok >= 0 && e.next_try >= 0);
	FUZZ_CHECK((e.done & ~(ALERTQ_MAIL | ALERTQ_WEBHOOK)) == 0);
	/* What the queue writes reads back the same. */
	char *text = NULL;
	struct cf_error err = { 0 };
	if (alertq_format(&e, &text, &err) != 0)
		return 0;	/* a string that is not UTF-8 cannot be written back */
	FUZZ_CHECK(alertq_parse((const uint8_t *)text, strlen(text), &back) == 0);
	FUZZ_CHECK(back.attempts == e.attempts && back.next_try == e.next_try &&
		   back.done == e.done && strcmp(back.last_error, e.last_error) == 0 &&
		   strcmp(back.ev.dest, e.ev.dest) == 0 && back.ev.since == e.ev.since &&
		   strcmp(back.ev.id, e.ev.id) == 0 && back.ev.cond == e.ev.cond &&
		   back.ev.state == e.ev.state && back.ev.at == e.ev.at &&
		   back.ev.last_ok == e.ev.last_ok);
	free(text);
	return 0;
}
