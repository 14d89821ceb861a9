/* fuzz_desktop.c: a process's environment as coffred reads it from /proc to find the
 * graphical sessions (desktop_env_parse).
 * Input: the bytes of /proc/PID/environ. */
#include <string.h>

#include "coffre/desktop.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct desktop_env e;
	int display = desktop_env_parse(data, size, &e);
	FUZZ_CHECK(display == 0 || display == 1);
	FUZZ_CHECK(display == (e.v[DESKTOP_DISPLAY][0] || e.v[DESKTOP_WAYLAND][0]));
	for (int k = 0; k < _DESKTOP_VARS; k++) {
		/* Each value kept is one printable line that fits, and was in the input. */
		size_t n = strnlen(e.v[k], sizeof e.v[k]);
		FUZZ_CHECK(n < sizeof e.v[k]);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(e.v[k][i] >= 0x20 && e.v[k][i] <= 0x7e);
		FUZZ_CHECK(n == 0 || memmem(data, size, e.v[k], n) != NULL);
	}
	return 0;
}
