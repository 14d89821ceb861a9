/* fuzz_fleet: a shop's status payload as `coffre fleet` reads it once its signature passed
 * (fleet_status_apply: a shop's stolen key signs anything), then judged (fleet_judge).
 * Input: 4 bytes of the server's date offset, then the payload. Properties: a refusal says
 * why; an accepted payload has seq >= 1, no date past the server's, at most 64 destinations
 * and 32 alerts, and only printable text in what is shown. */
#include <string.h>

#include "maint/fleet_internal.h"
#include "fuzz.h"

static void printable(const char *s)
{
	for (; *s; s++)
		FUZZ_CHECK(*s >= 0x20 && *s < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	int64_t stored = 1700000000 + (int64_t)(data[0] | data[1] << 8 | data[2] << 16);
	int lock = data[3] & 1;
	char *p = malloc(size - 4 + 1);
	FUZZ_CHECK(p);
	memcpy(p, data + 4, size - 4);
	p[size - 4] = 0;
	struct fleet_shop s;
	memset(&s, 0, sizeof s);
	strcpy(s.id, "boul-1");
	uint64_t seq = 0;
	int rc = fleet_status_apply(&s, p, stored, &seq);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc) {
		FUZZ_CHECK(s.why[0] && memchr(s.why, 0, sizeof s.why));
	} else {
		FUZZ_CHECK(seq >= 1);
		FUZZ_CHECK(s.written_at <= stored && s.last_good_backup <= stored &&
			s.last_proven_restore <= stored);
		FUZZ_CHECK(s.ndests <= 64 && s.nalerts <= 32);
		printable(s.version);
		printable(s.alerts);
		printable(s.escrow);
		FUZZ_CHECK(s.nescrow <= 8 && (s.escrow_reported || !s.nescrow));
		s.stored = stored;
		fleet_judge(&s, stored + (data[3] >> 1) * 3600, lock,
			data[0] & 1 ? "0123-4567-89ab-cdef-0123-4567-89ab-cdef" : NULL);
		FUZZ_CHECK(!(s.problems & ~((1u << _FLEET_PROBLEMS) - 1)));
	}
	free(p);
	return 0;
}
