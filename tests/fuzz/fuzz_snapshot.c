/* fuzz_snapshot.c: snapshot objects, after the envelope is opened (snap_parse on the
 * plaintext JSON), and the round trip through snap_encode. */
#include <string.h>

#include "coffre/error.h"
#include "coffre/snap.h"
#include "fuzz.h"

static void same_strs(char **a, size_t na, char **b, size_t nb)
{
	FUZZ_CHECK(na == nb);
	for (size_t i = 0; i < na; i++)
		FUZZ_CHECK(strcmp(a[i], b[i]) == 0);
}

static void same(const struct snap *a, const struct snap *b)
{
	FUZZ_CHECK(a->time == b->time && a->time_ns == b->time_ns);
	FUZZ_CHECK(strcmp(a->hostname, b->hostname) == 0);
	FUZZ_CHECK(strcmp(a->username, b->username) == 0);
	same_strs(a->paths, a->npaths, b->paths, b->npaths);
	same_strs(a->tags, a->ntags, b->tags, b->ntags);
	FUZZ_CHECK(memcmp(a->tree, b->tree, 32) == 0);
	FUZZ_CHECK(a->has_parent == b->has_parent);
	FUZZ_CHECK(!a->has_parent || memcmp(a->parent, b->parent, 32) == 0);
	FUZZ_CHECK((a->summary == NULL) == (b->summary == NULL));
	FUZZ_CHECK(!a->summary || strcmp(a->summary, b->summary) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* snap_time_str prints local time: one zone for every run. */
	setenv("TZ", "Europe/Paris", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t id[32] = { 0x5a };
	struct cf_error err = { 0 };
	struct snap *s = NULL, *s2 = NULL;
	if (snap_parse(data, size, id, &s, &err) != 0) {
		FUZZ_CHECK(err.code == CF_ECORRUPT || err.code == CF_ENOMEM);
		return 0;
	}
	FUZZ_CHECK(s->time_ns < 1000000000u);
	FUZZ_CHECK(memcmp(s->id, id, 32) == 0 && strlen(s->idhex) == 64);
	char when[40];
	snap_time_str(s, when);
	FUZZ_CHECK(when[0] && memchr(when, 0, sizeof when) != NULL);
	/* What snap_write would store reads back as the same snapshot, and is stable. */
	char *text = NULL, *text2 = NULL;
	FUZZ_CHECK(snap_encode(s, &text) == 0);
	FUZZ_CHECK(snap_parse(text, strlen(text), id, &s2, &err) == 0);
	same(s, s2);
	FUZZ_CHECK(snap_encode(s2, &text2) == 0);
	FUZZ_CHECK(strcmp(text, text2) == 0);
	free(text);
	free(text2);
	snap_free(s);
	snap_free(s2);
	return 0;
}
