/* fuzz_repoconfig.c: a repository's config (repo_config_parse, what repo_open reads first),
 * and the round trip through the fields coffre writes (format, id, chunker, pack_size). */
#include <jansson.h>
#include <string.h>

#include "base/util.h"
#include "coffre/chunk.h"
#include "coffre/error.h"
#include "store/repo_internal.h"
#include "fuzz.h"

static int parse(const uint8_t *data, size_t size, struct repo_config *c)
{
	struct cf_error err = { 0 };
	struct repo_config before;
	memset(c, 0xa5, sizeof *c);
	memcpy(&before, c, sizeof before);
	int rc = repo_config_parse(data, size, "fuzz", c, &err);
	if (rc) {
		FUZZ_CHECK(rc == CF_ENOREPO && err.code == CF_ENOREPO && err.msg[0]);
		FUZZ_CHECK(memcmp(c, &before, sizeof before) == 0);
	}
	return rc;
}

/* The config as coffre writes it (repo.c, write_config). */
static char *encode(const struct repo_config *c)
{
	json_t *o = json_object(), *ch = json_object();
	json_object_set_new(o, "format", json_integer(c->format));
	json_object_set_new(o, "id", json_string(c->idhex));
	json_object_set_new(ch, "min", json_integer(c->cp.min));
	json_object_set_new(ch, "avg", json_integer(c->cp.avg));
	json_object_set_new(ch, "max", json_integer(c->cp.max));
	json_object_set_new(o, "chunker", ch);
	json_object_set_new(o, "pack_size", json_integer(c->pack_size));
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	FUZZ_CHECK(text);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_config c, c2;
	if (parse(data, size, &c) != 0)
		return 0;
	FUZZ_CHECK(c.format == 1 || c.format == REPO_FORMAT_VERSION);
	FUZZ_CHECK(strlen(c.idhex) == 64);
	uint8_t id[ID_LEN];
	FUZZ_CHECK(util_unhex(id, ID_LEN, c.idhex) == 0 && memcmp(id, c.id, ID_LEN) == 0);
	/* What the chunker is built from passed its checks. */
	struct chunker probe;
	static const uint8_t zero[32];
	FUZZ_CHECK(c.cp.max <= MAX_CHUNK_BYTES && chunk_init(&probe, &c.cp, zero) == 0);
	FUZZ_CHECK(c.pack_size >= (1u << 20) && c.pack_size <= REPO_PACK_SIZE_MAX);
	char *text = encode(&c);
	FUZZ_CHECK(parse((const uint8_t *)text, strlen(text), &c2) == 0);
	FUZZ_CHECK(c2.format == c.format && memcmp(c2.id, c.id, ID_LEN) == 0);
	FUZZ_CHECK(strcmp(c2.idhex, c.idhex) == 0 && c2.pack_size == c.pack_size);
	FUZZ_CHECK(c2.cp.min == c.cp.min && c2.cp.avg == c.cp.avg && c2.cp.max == c.cp.max);
	free(text);
	return 0;
}
