/* test_pack.c: writing and reading packs (agent/store/pack_write.c, pack_read.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/error.h"
#include "coffre/pack.h"
#include "coffre/repo.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"
#include "dst/dst_internal.h"

#include "fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
/* From the sanitizers' allocator interface (sanitizer/allocator_interface.h, which not every
 * compiler installs). */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
	void (*free_hook)(const volatile void *));
#endif

#define NBLOBS 6
/* LEB128 length of a value, as the frame list writes it. */

/* The file of pack ${id} in the local repository ${r} (malloc'd). */
static char *pack_file(const struct repo *r, const uint8_t id[32])
{
	char name[80];
	pack_name(name, id);
	return util_path("%s/%s", repo_path(r), name);
}

static size_t varint_len(uint32_t v)
{
	size_t n = 1;
	while (v >>= 7)
		n++;
	return n;
}

/* One repository and one pack for the whole file; tests that damage the pack work on a
 * copy. */
struct fx {
	char dir[256];
	char repo[300];
	struct repo *r;
	uint8_t *data[NBLOBS];
	size_t len[NBLOBS];
	int type[NBLOBS];
	uint8_t id[NBLOBS][32];
	uint8_t pack[32];
	struct pack_entry *e;
	size_t n;
	char *path;
};

static struct fx F;

static uint8_t *random_buf(size_t len, uint8_t v)
{
	uint8_t s[randombytes_SEEDBYTES];
	uint8_t *b = malloc(len ? len : 1);
	memset(s, v, sizeof s);
	randombytes_buf_deterministic(b, len, s);
	return b;
}

static uint8_t *text_buf(size_t len)
{
	static const char words[] = "the quick brown fox jumps over the lazy dog; ";
	uint8_t *b = malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)words[i % (sizeof words - 1)];
	return b;
}

static int group_setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(F.dir, sizeof F.dir, "pack"))
		return -1;
	char cache[300], rk[REPO_RECOVERY_TEXT], idhex[65];
	snprintf(cache, sizeof cache, "%s/cache", F.dir);
	setenv("XDG_CACHE_HOME", cache, 1);
	snprintf(F.repo, sizeof F.repo, "%s/repo", F.dir);
	struct cf_error err = { 0 };
	if (repo_init(F.repo, "pw", NULL, rk, idhex, &err))
		return -1;
	struct repo_cred c = { .recovery_key = rk };
	if (repo_open(F.repo, &c, &F.r, &err))
		return -1;
	/* Compressible text, random bytes, an empty blob, a tiny one, a tree blob, and a
	 * larger text one. */
	F.len[0] = 100000, F.data[0] = text_buf(F.len[0]), F.type[0] = BLOB_DATA;
	F.len[1] = 50000, F.data[1] = random_buf(F.len[1], 1), F.type[1] = BLOB_DATA;
	F.len[2] = 0, F.data[2] = malloc(1), F.type[2] = BLOB_DATA;
	F.len[3] = 10, F.data[3] = random_buf(F.len[3], 2), F.type[3] = BLOB_DATA;
	F.len[4] = 3000, F.data[4] = text_buf(F.len[4]), F.type[4] = BLOB_TREE;
	F.len[5] = 70000, F.data[5] = random_buf(F.len[5], 3), F.type[5] = BLOB_DATA;
	struct pack_writer *w = NULL;
	if (pack_writer_new(F.r, &w, &err))
		return -1;
	for (int i = 0; i < NBLOBS; i++) {
		repo_blob_id(F.r, F.data[i], F.len[i], F.id[i]);
		if (pack_writer_add(w, F.type[i], F.id[i], F.data[i], F.len[i], &err))
			return -1;
	}
	if (pack_writer_count(w) != NBLOBS)
		return -1;
	if (pack_writer_finish(w, F.pack, &F.e, &F.n, &err))
		return -1;
	pack_writer_free(w);
	F.path = pack_file(F.r, F.pack);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	repo_free(F.r);
	for (int i = 0; i < NBLOBS; i++)
		free(F.data[i]);
	free(F.e);
	free(F.path);
	fx_rm_rf(F.dir);
	return 0;
}

static uint8_t *read_all(const char *p, size_t *n)
{
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *b = malloc((size_t)st.st_size + 1);
	assert_non_null(b);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return b;
}

/* A scratch file holding ${n} bytes, opened read-only. */
static int scratch_fd(const void *p, size_t n)
{
	char path[400];
	snprintf(path, sizeof path, "%s/scratch", F.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	if (n)
		assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	return fd;
}

static void entries_equal(const struct pack_entry *a, const struct pack_entry *b)
{
	assert_memory_equal(a->id, b->id, 32);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->stored, b->stored);
	assert_int_equal(a->raw, b->raw);
}

static void test_writer_entries(void **state)
{
	(void)state;
	assert_int_equal(F.n, NBLOBS);
	uint32_t off = 0;
	for (int i = 0; i < NBLOBS; i++) {
		const struct pack_entry *e = &F.e[i];
		assert_memory_equal(e->id, F.id[i], 32);
		assert_int_equal(e->type, F.type[i]);
		assert_int_equal(e->raw, F.len[i]);
		assert_int_equal(e->offset, off);	/* frames back to back from 0 */
		assert_true(e->stored >= 40);
		off += e->stored;
	}
	/* Compressible text is compressed; random bytes, the empty and the tiny blob are not. */
	assert_int_equal(F.e[0].flags, PACK_FLAG_ZSTD);
	assert_true(F.e[0].stored < F.len[0] / 10);
	assert_int_equal(F.e[1].flags, 0);
	assert_int_equal(F.e[1].stored, F.len[1] + 40);
	assert_int_equal(F.e[2].flags, 0);
	assert_int_equal(F.e[2].stored, 40);
	assert_int_equal(F.e[3].flags, 0);
	assert_int_equal(F.e[3].stored, 50);
	assert_int_equal(F.e[4].flags, PACK_FLAG_ZSTD);
	assert_int_equal(F.e[5].flags, 0);
	/* Frames, then the sealed header, then an 8-byte trailer. */
	struct stat st;
	assert_int_equal(stat(F.path, &st), 0);
	/* Header: version, frame count, then per one-blob frame: type, flags, gap 0, stored,
	 * count 1, id, raw. */
	size_t hlen = 1 + 4;
	for (int i = 0; i < NBLOBS; i++)
		hlen += 1 + 1 + 1 + varint_len(F.e[i].stored) + 1 + 32 + varint_len(F.e[i].raw);
	assert_int_equal((uint64_t)st.st_size, off + hlen + 40 + 8);
	assert_int_equal(F.r->bytes_written >= (uint64_t)st.st_size, 1);
}

static void test_pack_name_is_hash(void **state)
{
	(void)state;
	size_t n;
	uint8_t *b = read_all(F.path, &n);
	uint8_t h[32];
	/* The hash of the sealed header and the trailer (FORMAT.md §6.2), not of the file. */
	assert_true(n >= 8);
	size_t tail = (size_t)le32_get(b + n - 8) + 8;
	assert_true(tail <= n);
	crypto_generichash(h, 32, b + n - tail, tail, NULL, 0);
	assert_memory_equal(h, F.pack, 32);
	crypto_generichash(h, 32, b, n, NULL, 0);
	assert_memory_not_equal(h, F.pack, 32);
	/* Stored as data/<first two hex>/<hex>, with no temp file left in data/. */
	char hex[65], want[600];
	util_hex(hex, F.pack, 32);
	snprintf(want, sizeof want, "%s/data/%.2s/%s", F.repo, hex, hex);
	assert_string_equal(F.path, want);
	char data[400];
	snprintf(data, sizeof data, "%s/data", F.repo);
	DIR *d = opendir(data);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		assert_null(strstr(e->d_name, ".tmp"));
	closedir(d);
	/* Plaintext does not appear in the pack. */
	assert_null(memmem(b, n, "quick brown fox", 15));
	assert_null(memmem(b, n, F.data[1] + 1000, 64));
	free(b);
}

static void test_read_header(void **state)
{
	(void)state;
	int fd = open(F.path, O_RDONLY);
	assert_true(fd >= 0);
	struct pack_entry *e = NULL;
	size_t n = 0;
	uint64_t hoff = 0;
	struct cf_error err = { 0 };
	assert_int_equal(pack_read_header(F.r, fd, &e, &n, &hoff, &err), 0);
	assert_int_equal(n, NBLOBS);
	for (size_t i = 0; i < n; i++)
		entries_equal(&e[i], &F.e[i]);
	assert_int_equal(hoff, F.e[NBLOBS - 1].offset + F.e[NBLOBS - 1].stored);
	free(e);
	/* ret_hdr_off is optional. */
	assert_int_equal(pack_read_header(F.r, fd, &e, &n, NULL, &err), 0);
	free(e);
	close(fd);
}

static void test_read_blobs(void **state)
{
	(void)state;
	int fd = open(F.path, O_RDONLY);
	assert_true(fd >= 0);
	struct cf_error err = { 0 };
	struct buf b = { 0 };
	/* Out of order, and twice into the same buffer. */
	for (int k = 0; k < 2 * NBLOBS; k++) {
		int i = (k * 5) % NBLOBS;
		int rc = pack_read_blob(F.r, fd, &F.e[i], &b, &err);
		if (rc)
			print_error("blob %d: %s\n", i, err.msg);
		assert_int_equal(rc, 0);
		assert_int_equal(b.len, F.len[i]);
		if (F.len[i])
			assert_memory_equal(b.p, F.data[i], F.len[i]);
	}
	buf_free(&b);
	/* pack_open_frame on a frame in memory. */
	size_t n;
	uint8_t *all = read_all(F.path, &n);
	for (int i = 0; i < NBLOBS; i++) {
		assert_int_equal(pack_open_frame(F.r, &F.e[i], all + F.e[i].offset, &b, &err), 0);
		assert_int_equal(b.len, F.len[i]);
		if (F.len[i])
			assert_memory_equal(b.p, F.data[i], F.len[i]);
	}
	buf_free(&b);
	free(all);
	close(fd);
}

static void test_flip_frame_byte(void **state)
{
	(void)state;
	size_t n;
	uint8_t *orig = read_all(F.path, &n);
	struct cf_error err = { 0 };
	struct buf b = { 0 };
	/* For each blob, flip bytes at several places of its frame: nonce, body, tag. */
	for (int victim = 0; victim < NBLOBS; victim++) {
		const struct pack_entry *v = &F.e[victim];
		uint32_t where[] = { 0, 23, 24, v->stored / 2, v->stored - 16, v->stored - 1 };
		for (size_t w = 0; w < sizeof where / sizeof *where; w++) {
			uint8_t *m = malloc(n);
			memcpy(m, orig, n);
			m[v->offset + where[w]] ^= 0x80;
			int fd = scratch_fd(m, n);
			for (int i = 0; i < NBLOBS; i++) {
				memset(&err, 0, sizeof err);
				int rc = pack_read_blob(F.r, fd, &F.e[i], &b, &err);
				if (i == victim) {
					if (rc != CF_ECORRUPT)
						print_error("blob %d byte %u: %d\n", i, where[w], rc);
					assert_int_equal(rc, CF_ECORRUPT);
					assert_int_equal(err.code, CF_ECORRUPT);
				} else {
					assert_int_equal(rc, 0);
					assert_int_equal(b.len, F.len[i]);
					if (F.len[i])
						assert_memory_equal(b.p, F.data[i], F.len[i]);
				}
			}
			/* The header is separate: still fine. */
			struct pack_entry *e = NULL;
			size_t ne = 0;
			assert_int_equal(pack_read_header(F.r, fd, &e, &ne, NULL, &err), 0);
			assert_int_equal(ne, NBLOBS);
			free(e);
			close(fd);
			free(m);
		}
	}
	buf_free(&b);
	free(orig);
}

/* A scratch copy of the pack open read-write, to damage in place. */
static int scratch_rw(const void *p, size_t n)
{
	int ro = scratch_fd(p, n);
	close(ro);
	char path[400];
	snprintf(path, sizeof path, "%s/scratch", F.dir);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	return fd;
}

static void test_flip_header_byte(void **state)
{
	(void)state;
	size_t n;
	uint8_t *orig = read_all(F.path, &n);
	uint64_t hoff = F.e[NBLOBS - 1].offset + F.e[NBLOBS - 1].stored;
	struct cf_error err = { 0 };
	int fd = scratch_rw(orig, n);
	/* Every byte of the sealed header and of the trailer. */
	for (uint64_t pos = hoff; pos < n; pos++) {
		uint8_t c = orig[pos] ^ 0x04;
		assert_int_equal(pwrite(fd, &c, 1, (off_t)pos), 1);
		struct pack_entry *e = NULL;
		size_t ne = 0;
		memset(&err, 0, sizeof err);
		int rc = pack_read_header(F.r, fd, &e, &ne, NULL, &err);
		if (rc != CF_ECORRUPT)
			print_error("header byte %llu: %d\n", (unsigned long long)(pos - hoff), rc);
		assert_int_equal(rc, CF_ECORRUPT);
		assert_int_equal(err.code, CF_ECORRUPT);
		assert_null(e);
		assert_int_equal(pwrite(fd, &orig[pos], 1, (off_t)pos), 1);
	}
	/* Control: put back, it reads. */
	struct pack_entry *e = NULL;
	size_t ne = 0;
	assert_int_equal(pack_read_header(F.r, fd, &e, &ne, NULL, &err), 0);
	free(e);
	close(fd);
	free(orig);
}

static int cmp_desc(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

static void test_truncated(void **state)
{
	(void)state;
	size_t n;
	uint8_t *orig = read_all(F.path, &n);
	struct cf_error err = { 0 };
	struct buf b = { 0 };
	uint64_t hoff = F.e[NBLOBS - 1].offset + F.e[NBLOBS - 1].stored;
	/* Lengths: 0, small ones, a spread through the frames, and every length near the
	 * header and trailer. */
	size_t cuts[1200], nc = 0;
	for (size_t l = 0; l < 64; l++)
		cuts[nc++] = l;
	for (size_t l = 64; l < hoff - 50; l += 2999)
		cuts[nc++] = l;
	for (size_t l = hoff - 50; l < n; l++)
		cuts[nc++] = l;
	assert_true(nc < sizeof cuts / sizeof *cuts);
	/* Longest first: the same file is cut shorter and shorter. */
	qsort(cuts, nc, sizeof *cuts, cmp_desc);
	int fd = scratch_rw(orig, n);
	for (size_t c = 0; c < nc; c++) {
		size_t len = cuts[c];
		assert_int_equal(ftruncate(fd, (off_t)len), 0);
		struct pack_entry *e = NULL;
		size_t ne = 0;
		memset(&err, 0, sizeof err);
		int rc = pack_read_header(F.r, fd, &e, &ne, NULL, &err);
		if (rc != CF_ECORRUPT)
			print_error("cut at %zu of %zu: %d %s\n", len, n, rc, err.msg);
		assert_int_equal(rc, CF_ECORRUPT);
		/* Reading frames by the (good) index entries: the ones cut off are damaged. */
		for (int i = 0; i < NBLOBS; i++) {
			memset(&err, 0, sizeof err);
			rc = pack_read_blob(F.r, fd, &F.e[i], &b, &err);
			if ((uint64_t)F.e[i].offset + F.e[i].stored <= len) {
				assert_int_equal(rc, 0);
				assert_int_equal(b.len, F.len[i]);
			} else {
				if (rc != CF_ECORRUPT)
					print_error("blob %d cut at %zu: %d\n", i, len, rc);
				assert_int_equal(rc, CF_ECORRUPT);
			}
		}
	}
	close(fd);
	buf_free(&b);
	free(orig);
}

static void test_entry_mismatch(void **state)
{
	(void)state;
	int fd = open(F.path, O_RDONLY);
	assert_true(fd >= 0);
	struct cf_error err = { 0 };
	struct buf b = { 0 };
	for (int i = 0; i < NBLOBS; i++) {
		struct pack_entry e;
		/* Another type. */
		e = F.e[i];
		e.type = e.type == BLOB_DATA ? BLOB_TREE : BLOB_DATA;
		assert_int_equal(pack_read_blob(F.r, fd, &e, &b, &err), CF_ECORRUPT);
		/* Another id (one bit). */
		e = F.e[i];
		e.id[31] ^= 1;
		assert_int_equal(pack_read_blob(F.r, fd, &e, &b, &err), CF_ECORRUPT);
		/* The id of another blob of the pack, at this blob's frame. */
		e = F.e[i];
		memcpy(e.id, F.e[(i + 1) % NBLOBS].id, 32);
		assert_int_equal(pack_read_blob(F.r, fd, &e, &b, &err), CF_ECORRUPT);
		/* Another blob's frame under this id: refused, unless the blob is the empty one,
		 * which every frame holds (and which is then read right). */
		e = F.e[i];
		e.offset = F.e[(i + 1) % NBLOBS].offset;
		e.stored = F.e[(i + 1) % NBLOBS].stored;
		e.flags = F.e[(i + 1) % NBLOBS].flags;
		int other = pack_read_blob(F.r, fd, &e, &b, &err);
		if (F.len[i] == 0 && e.type == F.e[(i + 1) % NBLOBS].type) {
			assert_int_equal(other, 0);
			assert_int_equal(b.len, 0);
		} else {
			assert_int_equal(other, CF_ECORRUPT);
		}
		/* Wrong lengths and flags. */
		e = F.e[i];
		e.stored -= 1;
		assert_int_equal(pack_read_blob(F.r, fd, &e, &b, &err), CF_ECORRUPT);
		e = F.e[i];
		e.raw += 1;
		assert_int_equal(pack_read_blob(F.r, fd, &e, &b, &err), CF_ECORRUPT);
		/* Flags are not sealed, but the plaintext is checked against the id: a flipped
		 * flag either fails or (the empty blob: no zstd frame is empty input) still
		 * yields exactly the right content. */
		e = F.e[i];
		e.flags ^= PACK_FLAG_ZSTD;
		int rc = pack_read_blob(F.r, fd, &e, &b, &err);
		if (F.len[i] == 0 && rc == 0) {
			assert_int_equal(b.len, 0);
		} else {
			if (rc != CF_ECORRUPT)
				print_error("blob %d with flags flipped: %d\n", i, rc);
			assert_int_equal(rc, CF_ECORRUPT);
		}
		e = F.e[i];
		e.stored = 39;
		assert_int_equal(pack_read_blob(F.r, fd, &e, &b, &err), CF_ECORRUPT);
		e = F.e[i];
		e.raw = (16u << 20) + 1;
		assert_int_equal(pack_read_blob(F.r, fd, &e, &b, &err), CF_ECORRUPT);
		/* Past the end of the file: damage, not an I/O error. */
		e = F.e[i];
		e.offset = 0xfffff000u;
		assert_int_equal(pack_read_blob(F.r, fd, &e, &b, &err), CF_ECORRUPT);
		/* The good entry still reads. */
		assert_int_equal(pack_read_blob(F.r, fd, &F.e[i], &b, &err), 0);
	}
	buf_free(&b);
	close(fd);
}

/* Builds a pack file from the real frames and a header of our own, sealed with the right
 * key: the header's content must still be checked. */
static int forged_fd(const uint8_t *frames, size_t flen, const struct buf *hdr)
{
	struct buf out = { 0 }, sealed = { 0 };
	assert_int_equal(buf_append(&out, frames, flen), 0);
	assert_int_equal(repo_seal(F.r, "CFH1", 4, hdr->p, hdr->len, &sealed), 0);
	assert_int_equal(buf_append(&out, sealed.p, sealed.len), 0);
	uint8_t trailer[8];
	le32_put(trailer, (uint32_t)sealed.len);
	memcpy(trailer + 4, "CFP1", 4);
	assert_int_equal(buf_append(&out, trailer, 8), 0);
	int fd = scratch_fd(out.p, out.len);
	buf_free(&out);
	buf_free(&sealed);
	return fd;
}

static void put_entry(struct buf *h, const struct pack_entry *e)
{
	buf_put_u8(h, e->type);
	buf_put_u8(h, e->flags);
	buf_append(h, e->id, 32);
	buf_put_u32(h, e->offset);
	buf_put_u32(h, e->stored);
	buf_put_u32(h, e->raw);
}

static void test_forged_header(void **state)
{
	(void)state;
	size_t n;
	uint8_t *orig = read_all(F.path, &n);
	uint64_t hoff = F.e[NBLOBS - 1].offset + F.e[NBLOBS - 1].stored;
	struct cf_error err = { 0 };
	struct pack_entry *e = NULL;
	size_t ne = 0;

	/* Control: a well-formed header of our own is accepted. */
	struct buf h = { 0 };
	buf_put_u8(&h, 1);
	buf_put_u32(&h, NBLOBS);
	for (int i = 0; i < NBLOBS; i++)
		put_entry(&h, &F.e[i]);
	int fd = forged_fd(orig, hoff, &h);
	assert_int_equal(pack_read_header(F.r, fd, &e, &ne, NULL, &err), 0);
	assert_int_equal(ne, NBLOBS);
	free(e);
	e = NULL;
	close(fd);
	buf_free(&h);

	for (int variant = 0; variant < 8; variant++) {
		struct pack_entry x = F.e[1];
		uint32_t count = 1;
		int extra = 0;
		uint8_t ver = 1;
		switch (variant) {
		case 0: x.offset = (uint32_t)hoff - x.stored + 1; break;	/* into the header */
		case 1: x.type = 2; break;
		case 2: x.flags = 2; break;
		case 3: x.stored = 10; break;
		case 4: x.raw = (16u << 20) + 1; break;
		case 5: count = 2; break;		/* count larger than the entries */
		case 6: extra = 1; break;		/* a trailing byte */
		case 7: ver = 2; break;
		}
		buf_put_u8(&h, ver);
		buf_put_u32(&h, count);
		put_entry(&h, &x);
		if (extra)
			buf_put_u8(&h, 0);
		fd = forged_fd(orig, hoff, &h);
		memset(&err, 0, sizeof err);
		int rc = pack_read_header(F.r, fd, &e, &ne, NULL, &err);
		if (rc != CF_ECORRUPT)
			print_error("forged header variant %d: %d\n", variant, rc);
		assert_int_equal(rc, CF_ECORRUPT);
		assert_null(e);
		close(fd);
		buf_free(&h);
	}
	/* A huge claimed count with no entries: refused before allocating. */
	buf_put_u8(&h, 1);
	buf_put_u32(&h, 0xffffffffu);
	fd = forged_fd(orig, hoff, &h);
	assert_int_equal(pack_read_header(F.r, fd, &e, &ne, NULL, &err), CF_ECORRUPT);
	close(fd);
	buf_free(&h);
	/* A header sealed under another associated data (a frame's) does not open. */
	buf_put_u8(&h, 1);
	buf_put_u32(&h, 0);
	struct buf sealed = { 0 }, out = { 0 };
	assert_int_equal(repo_seal(F.r, "CFB1", 4, h.p, h.len, &sealed), 0);
	buf_append(&out, orig, hoff);
	buf_append(&out, sealed.p, sealed.len);
	uint8_t trailer[8];
	le32_put(trailer, (uint32_t)sealed.len);
	memcpy(trailer + 4, "CFP1", 4);
	buf_append(&out, trailer, 8);
	fd = scratch_fd(out.p, out.len);
	assert_int_equal(pack_read_header(F.r, fd, &e, &ne, NULL, &err), CF_ECORRUPT);
	close(fd);
	buf_free(&sealed);
	buf_free(&out);
	buf_free(&h);
	/* Trailer claiming a header longer than the file. */
	uint8_t *m = malloc(n);
	memcpy(m, orig, n);
	le32_put(m + n - 8, (uint32_t)n);
	fd = scratch_fd(m, n);
	assert_int_equal(pack_read_header(F.r, fd, &e, &ne, NULL, &err), CF_ECORRUPT);
	close(fd);
	le32_put(m + n - 8, 0xffffffffu);
	fd = scratch_fd(m, n);
	assert_int_equal(pack_read_header(F.r, fd, &e, &ne, NULL, &err), CF_ECORRUPT);
	close(fd);
	free(m);
	free(orig);
}

/* Appends one frame holding the blobs ${idx} of the fixture (one type). */
static void add_frame(struct pack_writer *w, void *zctx, const int *idx, size_t k)
{
	struct buf plain = { 0 }, z = { 0 }, frame = { 0 };
	struct pack_blobref refs[NBLOBS];
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(buf_append(&plain, F.data[idx[i]], F.len[idx[i]]), 0);
		memcpy(refs[i].id, F.id[idx[i]], 32);
		refs[i].raw = (uint32_t)F.len[idx[i]];
	}
	uint8_t flags = 0;
	struct cf_error err = { 0 };
	assert_int_equal(pack_seal_frame(F.r, zctx, F.type[idx[0]], plain.p, plain.len, &z, &frame,
				 &flags), 0);
	assert_int_equal(pack_writer_add_frame(w, F.type[idx[0]], flags, refs, k, frame.p,
				 frame.len, &err), 0);
	buf_free(&plain);
	buf_free(&z);
	buf_free(&frame);
}

/* Several blobs in one frame: the header lists each with its place in the frame, and each
 * reads alone, or from the frame opened for the one before. */
static void test_multi_blob_frame(void **state)
{
	(void)state;
	struct cf_error err = { 0 };
	struct pack_writer *w = NULL;
	void *zctx = pack_zctx_new();
	assert_non_null(zctx);
	assert_int_equal(pack_writer_new(F.r, &w, &err), 0);
	static const int a[] = { 0, 2, 3 }, b[] = { 1, 5 }, c[] = { 4 };
	add_frame(w, zctx, a, 3);	/* text, empty, tiny: compressed */
	add_frame(w, zctx, b, 2);	/* random: stored as it is */
	add_frame(w, zctx, c, 1);
	pack_zctx_free(zctx);
	uint8_t id[32];
	struct pack_entry *e = NULL;
	size_t n = 0;
	assert_int_equal(pack_writer_finish(w, id, &e, &n, &err), 0);
	pack_writer_free(w);
	assert_int_equal(n, 6);
	static const int order[] = { 0, 2, 3, 1, 5, 4 };
	static const uint32_t pos[] = { 0, 100000, 100000, 0, 50000, 0 };
	for (size_t i = 0; i < n; i++) {
		assert_memory_equal(e[i].id, F.id[order[i]], 32);
		assert_int_equal(e[i].raw, F.len[order[i]]);
		assert_int_equal(e[i].pos, pos[i]);
	}
	assert_int_equal(e[0].offset, e[2].offset);
	assert_int_equal(e[3].offset, e[0].offset + e[0].stored);
	assert_int_equal(e[3].stored, 120000 + 40);
	assert_int_equal(e[0].flags, PACK_FLAG_ZSTD);
	assert_int_equal(e[3].flags, 0);
	char *path = pack_file(F.r, id);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	struct pack_entry *h = NULL;
	size_t hn = 0;
	assert_int_equal(pack_read_header(F.r, fd, &h, &hn, NULL, &err), 0);
	assert_int_equal(hn, n);
	for (size_t i = 0; i < n; i++) {
		entries_equal(&h[i], &e[i]);
		assert_int_equal(h[i].pos, e[i].pos);
	}
	struct buf out = { 0 };
	struct pack_frame fc = { 0 };
	struct pack_src src = { .fd = fd };
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			int rc = pass ? pack_read_blob(F.r, fd, &h[i], &out, &err)
				      : pack_read_blob_cached(F.r, &src, id, &h[i], &fc, &out, &err);
			assert_int_equal(rc, 0);
			assert_int_equal(out.len, F.len[order[i]]);
			if (out.len)
				assert_memory_equal(out.p, F.data[order[i]], out.len);
		}
	}
	/* A blob's place moved within its frame: the id check refuses it. */
	struct pack_entry x = h[2];
	x.pos -= 1;
	assert_int_equal(pack_read_blob_cached(F.r, &src, id, &x, &fc, &out, &err), CF_ECORRUPT);
	x = h[4];
	x.raw += 1;	/* past the end of the frame */
	assert_int_equal(pack_read_blob(F.r, fd, &x, &out, &err), CF_ECORRUPT);
	pack_frame_release(&fc);
	buf_free(&out);
	close(fd);
	unlink(path);
	free(path);
	free(h);
	free(e);
}

/* Forged format-2 headers, sealed with the right key: each is refused as damage. */
static void test_forged_header_v2(void **state)
{
	(void)state;
	size_t n;
	uint8_t *orig = read_all(F.path, &n);
	uint64_t hoff = F.e[NBLOBS - 1].offset + F.e[NBLOBS - 1].stored;
	struct cf_error err = { 0 };
	struct pack_entry *e = NULL;
	size_t ne = 0;
	for (int variant = -1; variant < 10; variant++) {
		struct pack_entry x[NBLOBS];
		memcpy(x, F.e, sizeof x);
		struct buf h = { 0 };
		buf_put_u8(&h, variant == 0 ? 3 : 2);
		switch (variant) {
		case 1: x[5].offset = (uint32_t)hoff - x[5].stored + 1; break;	/* into the header */
		case 2: x[1].type = 2; break;
		case 3: x[1].flags = 4; break;
		case 4: x[1].stored = 10; break;
		case 5: x[5].raw = (16u << 20) + 1; break;
		case 6: x[1].raw += 1; break;	/* stored as it is, yet not its blobs' length */
		case 7: x[0].flags |= PACK_FLAG_V1; x[1] = x[0]; break;	/* two blobs, format 1 */
		}
		assert_int_equal(pack_entries_encode(&h, x, NBLOBS), 0);
		if (variant == 8)
			le32_put(h.p + 1, NBLOBS + 1);	/* more frames than listed */
		if (variant == 9)
			buf_put_u8(&h, 0);		/* a trailing byte */
		int fd = forged_fd(orig, hoff, &h);
		memset(&err, 0, sizeof err);
		int rc = pack_read_header(F.r, fd, &e, &ne, NULL, &err);
		if (variant == -1) {
			/* Control: the writer's own header, sealed again, reads. */
			assert_int_equal(rc, 0);
			assert_int_equal(ne, NBLOBS);
			free(e);
			e = NULL;
		} else {
			if (rc != CF_ECORRUPT)
				print_error("forged v2 header variant %d: %d\n", variant, rc);
			assert_int_equal(rc, CF_ECORRUPT);
			assert_null(e);
		}
		close(fd);
		buf_free(&h);
	}
	free(orig);
}

static void test_empty_pack_and_unfinished(void **state)
{
	(void)state;
	struct cf_error err = { 0 };
	/* A pack with no blob is still a valid pack. */
	struct pack_writer *w = NULL;
	assert_int_equal(pack_writer_new(F.r, &w, &err), 0);
	assert_int_equal(pack_writer_count(w), 0);
	uint8_t id[32];
	struct pack_entry *e = NULL;
	size_t n = 99;
	assert_int_equal(pack_writer_finish(w, id, &e, &n, &err), 0);
	pack_writer_free(w);
	assert_int_equal(n, 0);
	free(e);
	char *p = pack_file(F.r, id);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pack_read_header(F.r, fd, &e, &n, NULL, &err), 0);
	assert_int_equal(n, 0);
	free(e);
	close(fd);
	unlink(p);
	free(p);
	/* An unfinished writer leaves no file behind. */
	char data[400];
	snprintf(data, sizeof data, "%s/data", F.repo);
	assert_int_equal(pack_writer_new(F.r, &w, &err), 0);
	assert_int_equal(pack_writer_add(w, BLOB_DATA, F.id[0], F.data[0], F.len[0], &err), 0);
	assert_int_equal(pack_writer_count(w), 1);
	assert_true(pack_writer_size(w) > 0);
	pack_writer_free(w);
	DIR *d = opendir(data);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		assert_null(strstr(de->d_name, ".tmp"));
	closedir(d);
	/* Too large a blob is refused. */
	assert_int_equal(pack_writer_new(F.r, &w, &err), 0);
	size_t big = (16u << 20) + 1;
	uint8_t *bb = calloc(big, 1);
	assert_int_equal(pack_writer_add(w, BLOB_DATA, F.id[0], bb, big, &err), CF_EUSAGE);
	free(bb);
	pack_writer_free(w);
}

/* A destination as a hostile server plays it: its listing says the pack is LIE_SIZE bytes,
 * it answers the range of the last 8 bytes with a forged trailer claiming a header of
 * LIE_HLEN bytes, and holds nothing else past its first bytes. */
#define LIE_SIZE (200ull << 20)
#define LIE_HLEN (180u << 20)
static int lie_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	(void)d;
	(void)name;
	if (off == LIE_SIZE - 8 && len == 8) {
		le32_put(out, LIE_HLEN);
		memcpy((uint8_t *)out + 4, PACK_TRAILER_MAGIC, 4);
		return 0;
	}
	if (off + len <= 4096) {
		memset(out, 0, len);
		return 0;
	}
	return cf_error_set(err, CF_ECORRUPT, "shorter than expected");
}

static const struct dst_ops lie_ops = { .name = "lie", .get_range = lie_get_range };

#ifdef TEST_ASAN
/* Under ASan an address-space limit cannot work (the shadow memory takes terabytes): watch
 * every allocation instead. */
static size_t largest_alloc;
static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	if (n > largest_alloc)
		largest_alloc = n;
}
static void on_free(const volatile void *p)
{
	(void)p;
}
#endif

/* A forged trailer may claim a header of up to PACK_HEADER_MAX bytes: the reader must
 * refuse it as damage, allocating no more than the bytes the pack really gives (here a
 * 64 MiB address-space margin, far below the claimed header). */
static void test_forged_trailer_length(void **state)
{
	(void)state;
	assert_true(LIE_HLEN > 64u << 20 && LIE_HLEN <= SEAL_OVERHEAD + PACK_HEADER_MAX &&
		LIE_HLEN <= LIE_SIZE - 8);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
#ifdef TEST_ASAN
		__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
#else
		/* What the process maps now, plus a margin. */
		FILE *f = fopen("/proc/self/statm", "r");
		unsigned long pages = 0;
		if (!f || fscanf(f, "%lu", &pages) != 1)
			_exit(3);
		fclose(f);
		struct rlimit rl;
		rl.rlim_cur = rl.rlim_max =
			(rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (64u << 20);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
#endif
		struct dst lie = { .ops = &lie_ops, .url = "lie:" };
		struct pack_src src = { .fd = -1, .d = &lie, .name = "data/00/x", .size = LIE_SIZE };
		struct pack_entry *e = NULL;
		size_t n = 0;
		struct cf_error err = { 0 };
		int rc = pack_read_header_src(F.r, &src, &e, &n, NULL, &err);
		if (rc != CF_ECORRUPT) {
			fprintf(stderr, "pack_read_header_src returned %d (%s)\n", rc, err.msg);
			_exit(1);
		}
#ifdef TEST_ASAN
		if (largest_alloc > (8u << 20)) {
			fprintf(stderr, "allocated %zu bytes in one piece\n", largest_alloc);
			_exit(2);
		}
#endif
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (getenv("CF_TEST_FILTER"))	/* run some tests only: a glob on their names */
		cmocka_set_test_filter(getenv("CF_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_entries),
		cmocka_unit_test(test_pack_name_is_hash),
		cmocka_unit_test(test_read_header),
		cmocka_unit_test(test_read_blobs),
		cmocka_unit_test(test_flip_frame_byte),
		cmocka_unit_test(test_flip_header_byte),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_entry_mismatch),
		cmocka_unit_test(test_forged_header),
		cmocka_unit_test(test_multi_blob_frame),
		cmocka_unit_test(test_forged_header_v2),
		cmocka_unit_test(test_empty_pack_and_unfinished),
		cmocka_unit_test(test_forged_trailer_length),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
