/* fuzz_drillstate.c: a restore drill's state file (drill_state_parse, what drill_run and
 * drill_last read of STATE_DIR/drill/<destination>.json before they trust a cursor, a key or
 * a scratch folder to remove). */
#include <string.h>

#include "coffre/error.h"
#include "maint/drill_internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drill_state s, before;
	memset(&s, 0xa5, sizeof s);
	memcpy(&before, &s, sizeof before);
	int rc = drill_state_parse(data, size, &s);
	if (rc) {
		FUZZ_CHECK((rc == CF_ECORRUPT || rc == CF_ENOMEM) &&
			   memcmp(&s, &before, sizeof s) == 0);
		return 0;
	}
	/* What the drill trusts: terminated ids of 64 hex digits or none, a known result, an
	 * absolute scratch path without a NUL inside. */
	FUZZ_CHECK(strlen(s.last.snapshot) == 0 || strlen(s.last.snapshot) == 64);
	FUZZ_CHECK(strlen(s.baseline) == 0 || strlen(s.baseline) == 64);
	FUZZ_CHECK(strspn(s.last.snapshot, "0123456789abcdefABCDEF") == strlen(s.last.snapshot));
	FUZZ_CHECK(s.last.result >= DRILL_RESULT_NONE && s.last.result <= DRILL_RESULT_FAILED);
	FUZZ_CHECK(s.last.full == 0 || s.last.full == 1);
	FUZZ_CHECK(s.last.seconds >= 0 && s.last.throughput >= 0);
	FUZZ_CHECK(!s.scratch || (s.scratch[0] == '/' && strlen(s.scratch) < 4096));
	/* Written back as the drill writes it, it reads back the same. */
	char *text = NULL;
	FUZZ_CHECK(drill_state_encode(&s, "fuzz", "/fuzz", &text) == 0);
	struct drill_state again;
	FUZZ_CHECK(drill_state_parse((const uint8_t *)text, strlen(text), &again) == 0);
	FUZZ_CHECK(memcmp(again.key, s.key, 32) == 0 && again.cursor == s.cursor &&
		   again.oldest_cursor == s.oldest_cursor &&
		   again.snapshot_time == s.snapshot_time &&
		   again.baseline_time == s.baseline_time &&
		   strcmp(again.baseline, s.baseline) == 0 &&
		   strcmp(again.last.snapshot, s.last.snapshot) == 0 &&
		   again.last.result == s.last.result && again.last.when == s.last.when &&
		   again.last.last_ok == s.last.last_ok && again.last.files == s.last.files &&
		   again.last.bytes == s.last.bytes &&
		   again.last.bytes_fetched == s.last.bytes_fetched &&
		   again.last.failures == s.last.failures && again.last.full == s.last.full);
	FUZZ_CHECK((!again.scratch && !s.scratch) ||
		   (again.scratch && s.scratch && strcmp(again.scratch, s.scratch) == 0));
	free(text);
	drill_state_release(&again);
	drill_state_release(&s);
	return 0;
}
