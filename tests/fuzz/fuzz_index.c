/* fuzz_index.c: index objects, after the envelope is opened (blob_index_parse on the
 * plaintext), and the round trip through blob_index_encode, which prune and check use to
 * write back what they read. */
#include <string.h>

#include "base/util.h"
#include "coffre/blob.h"
#include "coffre/error.h"
#include "fuzz.h"

static void same(const struct blob_pack *a, size_t na, const struct blob_pack *b, size_t nb)
{
	FUZZ_CHECK(na == nb);
	for (size_t i = 0; i < na; i++) {
		FUZZ_CHECK(memcmp(a[i].id, b[i].id, 32) == 0 && a[i].n == b[i].n);
		for (size_t j = 0; j < a[i].n; j++) {
			const struct pack_entry *x = &a[i].e[j], *y = &b[i].e[j];
			FUZZ_CHECK(memcmp(x->id, y->id, 32) == 0 && x->type == y->type &&
				   x->flags == y->flags && x->offset == y->offset &&
				   x->stored == y->stored && x->pos == y->pos && x->raw == y->raw);
		}
	}
}

/* Entries as the format-1 writer made them: one blob a frame, frames in pack order, a frame
 * stored as is holding exactly its blob. Prune and check write those back in format 2. */
static int v1_writer_shaped(const struct blob_pack *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t end = 0;
		for (size_t j = 0; j < p[i].n; j++) {
			const struct pack_entry *e = &p[i].e[j];
			if (e->offset < end || e->stored > (16u << 20) + 65536 ||
			    (!(e->flags & PACK_FLAG_ZSTD) && e->stored != (uint64_t)e->raw + 40))
				return 0;
			end = (uint64_t)e->offset + e->stored;
		}
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t id[32] = { 0x1d };
	struct cf_error err = { 0 };
	struct blob_pack *p = NULL, *p2 = NULL;
	size_t n = 0, n2 = 0;
	if (blob_index_parse(data, size, id, &p, &n, &err) != 0) {
		FUZZ_CHECK(err.code == CF_ECORRUPT || err.code == CF_ENOMEM);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < p[i].n; j++) {
			const struct pack_entry *e = &p[i].e[j];
			FUZZ_CHECK(e->type < _BLOB_TYPE_MAX);
			FUZZ_CHECK((uint64_t)e->offset + e->stored <= UINT32_MAX);
		}
	struct buf y = { 0 }, y2 = { 0 };
	int rc = blob_index_encode(p, n, &y);
	if (size > 0 && data[0] == 2) {
		/* Format 2 has one spelling: what is read is written back byte for byte. */
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(y.len == size && !memcmp(y.p, data, size));
	}
	int must = size > 0 && data[0] == 1 && v1_writer_shaped(p, n);
	if (must)
		FUZZ_CHECK(rc == 0);
	if (rc == 0 && blob_index_parse(y.p, y.len, id, &p2, &n2, &err) == 0) {
		/* A format-1 index written again in format 2 lists the same blobs. */
		same(p, n, p2, n2);
		FUZZ_CHECK(blob_index_encode(p2, n2, &y2) == 0);
		FUZZ_CHECK(y2.len == y.len && memcmp(y2.p, y.p, y.len) == 0);
		blob_packs_free(p2, n2);
	} else {
		FUZZ_CHECK(!must);
	}
	buf_free(&y);
	buf_free(&y2);
	blob_packs_free(p, n);
	return 0;
}
