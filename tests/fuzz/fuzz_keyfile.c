/* fuzz_keyfile.c: a key file under keys/ (repo_keyfile_parse, the JSON half of unlocking,
 * before Argon2id or the unwrapping run on what it read). */
#include <string.h>

#include "coffre/error.h"
#include "store/repo_internal.h"
#include "fuzz.h"

static int zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_keyfile f, before;
	memset(&f, 0xa5, sizeof f);
	memcpy(&before, &f, sizeof before);
	int rc = repo_keyfile_parse(data, size, &f);
	if (rc) {
		FUZZ_CHECK(rc == CF_ECORRUPT && memcmp(&f, &before, sizeof f) == 0);
		return 0;
	}
	FUZZ_CHECK(f.kind >= REPO_KEYFILE_OTHER && f.kind <= REPO_KEYFILE_ESCROW);
	if (f.kind == REPO_KEYFILE_PASSWORD) {
		/* Argon2id would run with these: bounded, whatever the file says. */
		FUZZ_CHECK(f.opslimit >= 1 && f.opslimit <= 16);
		FUZZ_CHECK(f.memlimit >= (8u << 10) && f.memlimit <= (512u << 20));
	} else {
		FUZZ_CHECK(f.opslimit == 0 && f.memlimit == 0);
	}
	/* Only the fields of its kind are read; the rest stays zero. */
	if (f.kind != REPO_KEYFILE_ESCROW)
		FUZZ_CHECK(zero(f.public_key, sizeof f.public_key) && zero(f.sealed, sizeof f.sealed));
	if (f.kind == REPO_KEYFILE_ESCROW || f.kind == REPO_KEYFILE_OTHER)
		FUZZ_CHECK(zero(f.nonce, sizeof f.nonce) && zero(f.wrapped, sizeof f.wrapped) &&
			   zero(f.salt, sizeof f.salt));
	return 0;
}
