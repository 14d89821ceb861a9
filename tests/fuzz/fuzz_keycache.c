/* fuzz_keycache.c: the local key cache file (repo_key_cache_parse, the JSON half of
 * unlocking from the cache). */
#include <string.h>

#include "coffre/error.h"
#include "store/repo_internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_key_cache_file c, before;
	memset(&c, 0xa5, sizeof c);
	memcpy(&before, &c, sizeof before);
	int rc = repo_key_cache_parse(data, size, &c);
	if (rc) {
		FUZZ_CHECK(rc == CF_ECORRUPT && memcmp(&c, &before, sizeof c) == 0);
		return 0;
	}
	/* The name is joined to the repository's path to read the key file: "keys/" and 32
	 * lower-case hex digits, terminated, nothing else. */
	FUZZ_CHECK(memchr(c.keyfile, 0, sizeof c.keyfile) && strlen(c.keyfile) == 37);
	FUZZ_CHECK(strncmp(c.keyfile, "keys/", 5) == 0);
	FUZZ_CHECK(strspn(c.keyfile + 5, "0123456789abcdef") == 32);
	return 0;
}
