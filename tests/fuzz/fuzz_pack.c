/* fuzz_pack.c: a pack's header, after the envelope is opened (pack_header_parse on the
 * plaintext: the version byte and the frame list that follow repo_unseal in
 * pack_read_header_src), and the round trip through pack_entries_encode, which wrote it.
 * Input: le32 where the header starts in the pack (its frames must end there), then the
 * header's plaintext. */
#include <string.h>

#include "base/util.h"
#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"
#include "fuzz.h"

static void same(const struct pack_entry *a, size_t na, const struct pack_entry *b, size_t nb)
{
	FUZZ_CHECK(na == nb);
	for (size_t i = 0; i < na; i++)
		FUZZ_CHECK(memcmp(a[i].id, b[i].id, 32) == 0 && a[i].type == b[i].type &&
			   a[i].flags == b[i].flags && a[i].offset == b[i].offset &&
			   a[i].stored == b[i].stored && a[i].pos == b[i].pos && a[i].raw == b[i].raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint64_t end = (uint64_t)data[0] | (uint64_t)data[1] << 8 | (uint64_t)data[2] << 16 |
		       (uint64_t)data[3] << 24;
	const uint8_t *plain = data + 4;
	size_t len = size - 4;
	struct pack_entry *e = NULL, *e2 = NULL;
	size_t n = 0, n2 = 0;
	int rc = pack_header_parse(plain, len, end, &e, &n);
	if (rc) {
		FUZZ_CHECK(rc == CF_ECORRUPT || rc == CF_ENOMEM);
		FUZZ_CHECK(!e && !n);
		return 0;
	}
	FUZZ_CHECK(e && n <= PACK_MAX_BLOBS && n <= len / PACK_ENTRY_BYTES_MIN);
	for (size_t i = 0; i < n; i++) {
		/* What the readers rely on before they fetch a frame. */
		FUZZ_CHECK(e[i].type < _BLOB_TYPE_MAX && e[i].raw <= MAX_BLOB_BYTES);
		FUZZ_CHECK(e[i].stored >= SEAL_OVERHEAD && (uint64_t)e[i].offset + e[i].stored <= end);
		FUZZ_CHECK((uint64_t)e[i].pos + e[i].raw <= PACK_FRAME_MAX);
		FUZZ_CHECK(plain[0] == PACK_HEADER_VERSION || (e[i].flags & PACK_FLAG_V1));
	}
	struct buf y = { 0 };
	buf_put_u8(&y, PACK_HEADER_VERSION);
	rc = pack_entries_encode(&y, e, n);
	if (plain[0] == PACK_HEADER_VERSION) {
		/* Format 2 has one spelling: what is read is written back byte for byte. */
		FUZZ_CHECK(rc == 0 && y.len == len && memcmp(y.p, plain, len) == 0);
	} else if (rc == 0 && pack_header_parse(y.p, y.len, end, &e2, &n2) == 0) {
		/* A format-1 list written in format 2 (as a repack would) holds the same blobs. */
		same(e, n, e2, n2);
		free(e2);
	}
	buf_free(&y);
	free(e);
	return 0;
}
