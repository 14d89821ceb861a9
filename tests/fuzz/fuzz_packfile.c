/* fuzz_packfile.c: a whole pack file, sealed, as the readers meet it: the trailer, the header
 * read and opened with the repository's key (pack_read_header on a file,
 * pack_read_header_src on memory and on a destination), then every frame opened and every
 * blob taken out and checked (pack_read_blob, pack_read_blob_cached and
 * pack_append_blob_unverified on a source, pack_open_frame on the frame's bytes).
 * Input: the pack's bytes. The handle's key is FUZZ_MASTER_KEY, which gen_corpus writes the
 * seeds' packs with; fuzz_pack covers the header's plaintext alone. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "base/util.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "dst/dst_mem.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"
#include "fuzz.h"

/* Blobs read from one pack at the most: a seed's packs hold fewer. */
#define MAX_READS 64

static struct repo *R;
static struct dst *D;
static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct cf_error err = { 0 };
	FUZZ_CHECK(dst_mem_open(&D, &err) == 0);
	FUZZ_CHECK(repo_new_keyed(D, FUZZ_MASTER_KEY, &R, &err) == 0);
	memfd = memfd_create("fuzz-pack", 0);
	FUZZ_CHECK(memfd >= 0);
	return 0;
}

static void same_entries(const struct pack_entry *a, size_t na, const struct pack_entry *b,
	size_t nb)
{
	FUZZ_CHECK(na == nb);
	for (size_t i = 0; i < na; i++)
		FUZZ_CHECK(memcmp(a[i].id, b[i].id, 32) == 0 && a[i].type == b[i].type &&
			   a[i].flags == b[i].flags && a[i].offset == b[i].offset &&
			   a[i].stored == b[i].stored && a[i].pos == b[i].pos && a[i].raw == b[i].raw);
}

static void check_refusal(int rc, const struct pack_entry *e, size_t n)
{
	FUZZ_CHECK(rc == CF_ECORRUPT || rc == CF_ENOMEM);
	FUZZ_CHECK(!e && !n);
}

/* Every way of reading the blob ${e} names gives one verdict and the same bytes. */
static void read_blob(const struct pack_src *src, const uint8_t *pack, size_t size,
	const struct pack_entry *e, struct pack_frame *fc)
{
	static const uint8_t name[32];
	struct buf a = { 0 }, b = { 0 }, c = { 0 }, u = { 0 };
	struct cf_error err = { 0 };
	int ra = pack_read_blob_cached(R, src, name, e, fc, &a, &err);
	int rb = pack_read_blob(R, memfd, e, &b, &err);
	FUZZ_CHECK(ra == 0 || ra == CF_ECORRUPT || ra == CF_ENOMEM);
	FUZZ_CHECK(rb == ra);
	/* The entry's frame lies before the header: within the bytes. */
	FUZZ_CHECK((uint64_t)e->offset + e->stored <= size);
	int rc = pack_open_frame(R, e, pack + e->offset, &c, &err);
	FUZZ_CHECK(rc == ra);
	struct pack_frame fu = { 0 };
	int ru = pack_append_blob_unverified(R, src, name, e, &fu, &u, &err);
	pack_frame_release(&fu);
	if (ra == 0) {
		FUZZ_CHECK(a.len == e->raw && b.len == a.len && c.len == a.len);
		FUZZ_CHECK(a.len == 0 || (memcmp(a.p, b.p, a.len) == 0 &&
					  memcmp(a.p, c.p, a.len) == 0));
		uint8_t id[32];
		repo_blob_id(R, a.p, a.len, id);
		FUZZ_CHECK(memcmp(id, e->id, 32) == 0);
		/* Unchecked, the same bytes. */
		FUZZ_CHECK(ru == 0 && u.len == a.len && (a.len == 0 || !memcmp(u.p, a.p, a.len)));
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	buf_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The pack in an allocation of its exact size, so that ASan sees a read past it. */
	uint8_t *pack = malloc(size ? size : 1);
	FUZZ_CHECK(pack);
	if (size)
		memcpy(pack, data, size);
	struct cf_error err = { 0 };
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, pack, size, 0) == (ssize_t)size);
	FUZZ_CHECK(dst_put_buf(D, "data/00/p", pack, size, &err) == 0);

	struct pack_src msrc = { .fd = -1, .mem = pack, .size = size };
	struct pack_src dsrc = { .fd = -1, .d = D, .name = "data/00/p", .size = size };
	struct pack_entry *e = NULL, *ef = NULL, *ed = NULL;
	size_t n = 0, nf = 0, nd = 0;
	uint64_t hoff = 0, hofff = 0;
	int rc = pack_read_header_src(R, &msrc, &e, &n, &hoff, &err);
	int rf = pack_read_header(R, memfd, &ef, &nf, &hofff, &err);
	int rd = pack_read_header_src(R, &dsrc, &ed, &nd, NULL, &err);
	/* A file, memory and a destination: one verdict. */
	FUZZ_CHECK(rf == rc && rd == rc);
	if (rc) {
		check_refusal(rc, e, n);
		check_refusal(rf, ef, nf);
		check_refusal(rd, ed, nd);
		FUZZ_CHECK(err.msg[0]);
		free(pack);
		return 0;
	}
	same_entries(e, n, ef, nf);
	same_entries(e, n, ed, nd);
	FUZZ_CHECK(hofff == hoff);
	/* The header ends where the trailer starts; every frame ends before the header. */
	FUZZ_CHECK(size >= 8 && hoff + le32_get(pack + size - 8) == size - 8);
	FUZZ_CHECK(n <= PACK_MAX_BLOBS);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(e[i].type < _BLOB_TYPE_MAX && e[i].stored >= SEAL_OVERHEAD &&
			   (uint64_t)e[i].offset + e[i].stored <= hoff && e[i].raw <= MAX_BLOB_BYTES);
	/* The blobs in order (a frame's blobs one after the other, as a restore reads them),
	 * through one frame cache on memory and one on the destination. */
	struct pack_frame fm = { 0 }, fd = { 0 };
	for (size_t i = 0; i < n && i < MAX_READS; i++) {
		read_blob(&msrc, pack, size, &e[i], &fm);
		read_blob(&dsrc, pack, size, &e[i], &fd);
	}
	pack_frame_release(&fm);
	pack_frame_release(&fd);
	free(e);
	free(ef);
	free(ed);
	free(pack);
	return 0;
}
