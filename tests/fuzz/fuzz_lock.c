/* fuzz_lock.c: a lock file under locks/ (repo_lock_parse, what repo_lock reads of every
 * other lock before it judges it live or stale). */
#include <string.h>

#include "coffre/error.h"
#include "store/repo_internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_lock_info l, before;
	memset(&l, 0xa5, sizeof l);
	memcpy(&before, &l, sizeof before);
	int rc = repo_lock_parse(data, size, &l);
	if (rc) {
		FUZZ_CHECK(rc == CF_ECORRUPT && memcmp(&l, &before, sizeof l) == 0);
		return 0;
	}
	/* The host name is compared with this host's: a terminated string in every case. */
	FUZZ_CHECK(l.host_known == 0 || l.host_known == 1);
	FUZZ_CHECK(memchr(l.host, 0, sizeof l.host) != NULL);
	FUZZ_CHECK(l.host_known || l.host[0] == 0);
	FUZZ_CHECK(l.exclusive == 0 || l.exclusive == 1);
	return 0;
}
