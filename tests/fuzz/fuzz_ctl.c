/* fuzz_ctl.c: a request on the daemon's control socket, as coffred reads it
 * (ctl_read_request on a connected stream socket, into a buffer of coffred's size). */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coffre/ctl.h"
#include "fuzz.h"

#define REQ_BUF 256	/* coffred's request buffer (agent/daemon/main.c, on_ctl) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* More than a socket buffer would block the writer; a request is one short line. */
	if (size > 16384)
		return 0;
	int sv[2];
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	FUZZ_CHECK(size == 0 || write(sv[0], data, size) == (ssize_t)size);
	shutdown(sv[0], SHUT_WR);
	/* Bytes past the string must not matter: fill the buffer with a canary. */
	char buf[REQ_BUF + 1];
	memset(buf, 0xa5, sizeof buf);
	int rc = ctl_read_request(sv[1], buf, REQ_BUF);
	close(sv[0]);
	close(sv[1]);
	FUZZ_CHECK((unsigned char)buf[REQ_BUF] == 0xa5);
	if (size == 0) {
		FUZZ_CHECK(rc == -1);
		return 0;
	}
	FUZZ_CHECK(rc == 0);
	/* The request is the first line of what fits, as a C string. */
	size_t fit = size < REQ_BUF - 1 ? size : REQ_BUF - 1;
	size_t want = 0;
	while (want < fit && data[want] != '\n' && data[want] != 0)
		want++;
	FUZZ_CHECK(strlen(buf) == want && memcmp(buf, data, want) == 0);
	int known = strcmp(buf, CTL_STATUS) == 0 || strcmp(buf, CTL_BACKUP) == 0;
	FUZZ_CHECK(!known || want == 6);
	return 0;
}
