/* test_blob.c: index objects and the blob index cache (agent/store/blob_index.c, agent/store/blob_reader.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "coffre/repo.h"
#include "base/idset.h"
#include "store/repo_internal.h"

#include "fixture.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* The file of pack ${id} in the local repository ${r} (malloc'd). */
static char *pack_file(const struct repo *r, const uint8_t id[32])
{
	char name[80];
	pack_name(name, id);
	return util_path("%s/%s", repo_path(r), name);
}

struct fx {
	char dir[256];
	char repo[300];
	char cache[300];
	struct repo *r;
};

static int group_setup(void **state)
{
	(void)state;
	return fx_template_init("blob");
}

static int group_teardown(void **state)
{
	(void)state;
	fx_template_free();
	return 0;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(fx_mkdtemp(f->dir, sizeof f->dir, "blob"), 0);
	snprintf(f->cache, sizeof f->cache, "%s/cache", f->dir);
	assert_int_equal(setenv("XDG_CACHE_HOME", f->cache, 1), 0);
	snprintf(f->repo, sizeof f->repo, "%s/repo", f->dir);
	fx_template_copy(f->repo);
	struct cf_error err = { 0 };
	struct repo_cred c = { .recovery_key = fx_template_recovery() };
	assert_int_equal(repo_open(f->repo, &c, &f->r, &err), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	repo_free(f->r);
	fx_rm_rf(f->dir);
	free(f);
	return 0;
}

static void entry_of(struct pack_entry *e, uint32_t i)
{
	memset(e, 0, sizeof *e);
	uint8_t in[4];
	le32_put(in, i);
	crypto_generichash(e->id, 32, in, 4, NULL, 0);
	e->type = (uint8_t)(i % 2);
	e->flags = (uint8_t)(i % 3 == 0);
	e->offset = i * 5000;
	e->raw = i * 13;
	/* A frame stored as it is holds exactly its blob. */
	e->stored = e->flags ? 40 + i * 7 : 40 + e->raw;
}

static void entries_equal(const struct pack_entry *a, const struct pack_entry *b)
{
	assert_memory_equal(a->id, b->id, 32);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->stored, b->stored);
	assert_int_equal(a->pos, b->pos);
	assert_int_equal(a->raw, b->raw);
}

/* ---- the run's id set ---- */

/* Removing ids keeps every other one findable, whatever the collisions (ids that share
 * their first bytes land in one run of slots). */
static void test_idset_del(void **state)
{
	(void)state;
	struct idset s = { 0 };
	enum { N = 5000 };
	static uint8_t ids[N][32];
	for (uint32_t i = 0; i < N; i++) {
		randombytes_buf(ids[i], 32);
		if (i % 3 == 0)	/* many in the same few slots */
			memset(ids[i], (int)(i % 7), 8);
		assert_int_equal(idset_add(&s, ids[i]), 0);
	}
	assert_int_equal(s.n, N);
	for (uint32_t i = 0; i < N; i += 2)
		assert_int_equal(idset_del(&s, ids[i]), 1);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(idset_has(&s, ids[i]), i % 2);
	assert_int_equal(idset_del(&s, ids[0]), 0);
	assert_int_equal(s.n, N / 2);
	for (uint32_t i = 0; i < N; i += 2)
		assert_int_equal(idset_add(&s, ids[i]), 0);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(idset_has(&s, ids[i]), 1);
	idset_free(&s);
}

/* ---- index objects ---- */

static void test_index_roundtrip(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	/* Packs with 0, 1 and 300 entries, and one of frames holding several blobs. */
	static const size_t counts[] = { 0, 1, 300, 40 };
	struct blob_pack packs[4];
	uint32_t k = 0;
	for (size_t i = 0; i < 4; i++) {
		memset(packs[i].id, 0x10 + (int)i, 32);
		packs[i].n = counts[i];
		packs[i].e = calloc(counts[i] ? counts[i] : 1, sizeof *packs[i].e);
		for (size_t j = 0; j < counts[i]; j++)
			entry_of(&packs[i].e[j], k++);
	}
	/* Frames of 1 to 8 compressed blobs, back to back. */
	for (size_t j = 0, off = 0; j < counts[3];) {
		size_t m = 1 + j % 8, pos = 0;
		for (size_t q = j; q < j + m && q < counts[3]; q++) {
			struct pack_entry *e = &packs[3].e[q];
			e->flags = PACK_FLAG_ZSTD;
			e->type = packs[3].e[j].type;	/* a frame holds one type */
			e->offset = (uint32_t)off;
			e->stored = 4000;
			e->pos = (uint32_t)pos;
			pos += e->raw;
		}
		off += 4000;
		j += m;
	}
	uint8_t id[32];
	assert_int_equal(blob_index_write(f->r, packs, 4, id, &err), 0);
	struct blob_pack *got = NULL;
	size_t n = 0;
	assert_int_equal(blob_index_read(f->r, id, &got, &n, &err), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_memory_equal(got[i].id, packs[i].id, 32);
		assert_int_equal(got[i].n, counts[i]);
		for (size_t j = 0; j < counts[i]; j++)
			entries_equal(&got[i].e[j], &packs[i].e[j]);
	}
	blob_packs_free(got, n);
	/* An index of no pack at all. */
	assert_int_equal(blob_index_write(f->r, NULL, 0, id, &err), 0);
	assert_int_equal(blob_index_read(f->r, id, &got, &n, &err), 0);
	assert_int_equal(n, 0);
	blob_packs_free(got, n);
	/* A missing index. */
	uint8_t none[32] = { 9 };
	assert_int_equal(blob_index_read(f->r, none, &got, &n, &err), CF_ENOENT);
	for (size_t i = 0; i < 4; i++)
		free(packs[i].e);
}

static void expect_bad_index(struct repo *r, const void *p, size_t n, const char *what)
{
	uint8_t id[32];
	struct cf_error err = { 0 };
	assert_int_equal(repo_put_object(r, REPO_INDEX, p, n, id, &err), 0);
	struct blob_pack *got = NULL;
	size_t np = 0;
	int rc = blob_index_read(r, id, &got, &np, &err);
	if (rc != CF_ECORRUPT)
		print_error("%s: %d\n", what, rc);
	assert_int_equal(rc, CF_ECORRUPT);
	assert_int_equal(err.code, CF_ECORRUPT);
	assert_null(got);
}

static void test_index_garbage(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	/* A sound payload to cut and tamper with: one pack of three one-blob frames. */
	struct blob_pack p;
	memset(p.id, 0x42, 32);
	p.n = 3;
	p.e = calloc(3, sizeof *p.e);
	for (uint32_t i = 0; i < 3; i++)
		entry_of(&p.e[i], i + 1);
	uint8_t id[32];
	assert_int_equal(blob_index_write(f->r, &p, 1, id, &err), 0);
	struct buf good = { 0 };
	assert_int_equal(repo_get_object(f->r, REPO_INDEX, id, &good, &err), 0);
	/* version, pack count, pack id, frame count; then the first frame at 41: type,
	 * flags, gap 5000 (2 bytes), stored 53, count 1, id, raw 13. */
	assert_int_equal(good.len, 1 + 4 + 32 + 4 + 3 * (1 + 1 + 2 + 1 + 1 + 32 + 1));
	assert_int_equal(good.p[45], 53);

	/* Every truncation. */
	for (size_t len = 0; len < good.len; len++)
		expect_bad_index(f->r, good.p, len, "truncated");
	/* A trailing byte. */
	uint8_t *m = malloc(good.len + 1);
	memcpy(m, good.p, good.len);
	m[good.len] = 0;
	expect_bad_index(f->r, m, good.len + 1, "trailing byte");
	/* Version. */
	memcpy(m, good.p, good.len);
	m[0] = 3;
	expect_bad_index(f->r, m, good.len, "version 3");
	m[0] = 1;
	expect_bad_index(f->r, m, good.len, "version 1 over a version 2 payload");
	/* Pack count: one more, and huge. */
	memcpy(m, good.p, good.len);
	le32_put(m + 1, 2);
	expect_bad_index(f->r, m, good.len, "pack count + 1");
	le32_put(m + 1, 0xffffffffu);
	expect_bad_index(f->r, m, good.len, "pack count huge");
	le32_put(m + 1, 0);
	expect_bad_index(f->r, m, good.len, "pack count 0 with data");
	/* Frame count: one more, huge, one less. */
	memcpy(m, good.p, good.len);
	le32_put(m + 37, 4);
	expect_bad_index(f->r, m, good.len, "frame count + 1");
	le32_put(m + 37, 0x7fffffffu);
	expect_bad_index(f->r, m, good.len, "frame count huge");
	le32_put(m + 37, 2);
	expect_bad_index(f->r, m, good.len, "frame count - 1");
	/* Frame fields out of range. */
	memcpy(m, good.p, good.len);
	m[41] = 2;
	expect_bad_index(f->r, m, good.len, "frame type 2");
	memcpy(m, good.p, good.len);
	m[42] = 4;
	expect_bad_index(f->r, m, good.len, "frame flags 4");
	memcpy(m, good.p, good.len);
	m[45] = 39;
	expect_bad_index(f->r, m, good.len, "stored < 40");
	memcpy(m, good.p, good.len);
	m[45] = 54;
	expect_bad_index(f->r, m, good.len, "stored as it is, not its blob's length");
	memcpy(m, good.p, good.len);
	m[46] = 0;
	expect_bad_index(f->r, m, good.len, "a frame of no blob");
	memcpy(m, good.p, good.len);
	m[46] = 2;
	expect_bad_index(f->r, m, good.len, "blob count + 1");
	memcpy(m, good.p, good.len);
	m[44] = 0x87;	/* the gap's last byte continued: lengths run into the id */
	expect_bad_index(f->r, m, good.len, "gap not ended");
	/* Plain garbage. */
	expect_bad_index(f->r, "hello, I am not an index", 24, "text");
	uint8_t rnd[1000];
	randombytes_buf(rnd, sizeof rnd);
	rnd[0] = 2;
	expect_bad_index(f->r, rnd, sizeof rnd, "random");
	/* Control: the untouched copy stored again reads fine. */
	uint8_t id2[32];
	assert_int_equal(repo_put_object(f->r, REPO_INDEX, good.p, good.len, id2, &err), 0);
	struct blob_pack *got = NULL;
	size_t n = 0;
	assert_int_equal(blob_index_read(f->r, id2, &got, &n, &err), 0);
	assert_int_equal(n, 1);
	blob_packs_free(got, n);
	free(m);
	buf_free(&good);
	free(p.e);
}

/* A format-1 index (46 bytes a blob, one blob a frame) still reads, its blobs marked as
 * format-1 frames; and it is checked as strictly. */
static void test_index_v1(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	struct buf b = { 0 };
	struct pack_entry e[3];
	buf_put_u8(&b, 1);
	buf_put_u32(&b, 1);
	uint8_t pid[32];
	memset(pid, 0x42, 32);
	buf_append(&b, pid, 32);
	buf_put_u32(&b, 3);
	for (uint32_t i = 0; i < 3; i++) {
		entry_of(&e[i], i + 1);
		buf_put_u8(&b, e[i].type);
		buf_put_u8(&b, e[i].flags);
		buf_append(&b, e[i].id, 32);
		buf_put_u32(&b, e[i].offset);
		buf_put_u32(&b, e[i].stored);
		buf_put_u32(&b, e[i].raw);
		e[i].flags |= PACK_FLAG_V1;
	}
	uint8_t id[32];
	assert_int_equal(repo_put_object(f->r, REPO_INDEX, b.p, b.len, id, &err), 0);
	struct blob_pack *got = NULL;
	size_t n = 0;
	assert_int_equal(blob_index_read(f->r, id, &got, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].n, 3);
	for (size_t i = 0; i < 3; i++)
		entries_equal(&got[0].e[i], &e[i]);
	blob_packs_free(got, n);
	uint8_t *m = malloc(b.len);
	memcpy(m, b.p, b.len);
	m[41] = 2;
	expect_bad_index(f->r, m, b.len, "v1 entry type 2");
	memcpy(m, b.p, b.len);
	m[42] = 2;
	expect_bad_index(f->r, m, b.len, "v1 entry flags 2");
	memcpy(m, b.p, b.len);
	le32_put(m + 37, 4);
	expect_bad_index(f->r, m, b.len, "v1 entry count + 1");
	free(m);
	buf_free(&b);
}

/* ---- the cache ---- */

struct packed {
	uint8_t pack[32];
	struct pack_entry *e;	/* a copy, for comparison */
	size_t n;
	uint8_t **data;
	size_t *len;
};

/* Writes a pack of ${n} blobs through pack_writer and hands it to ${x}. */
static void make_pack(struct repo *r, struct blobidx *x, size_t n, uint8_t seed, struct packed *p)
{
	struct cf_error err = { 0 };
	struct pack_writer *w = NULL;
	assert_int_equal(pack_writer_new(r, &w, &err), 0);
	p->n = n;
	p->data = calloc(n, sizeof *p->data);
	p->len = calloc(n, sizeof *p->len);
	uint8_t s[randombytes_SEEDBYTES];
	for (size_t i = 0; i < n; i++) {
		p->len[i] = 100 + i * 37;
		p->data[i] = malloc(p->len[i]);
		memset(s, 0, sizeof s);
		s[0] = seed;
		s[1] = (uint8_t)i;
		randombytes_buf_deterministic(p->data[i], p->len[i], s);
		uint8_t id[32];
		repo_blob_id(r, p->data[i], p->len[i], id);
		assert_int_equal(pack_writer_add(w, (int)(i % 2), id, p->data[i], p->len[i], &err),
			0);
		assert_int_equal(blobidx_note(x, id), 0);
	}
	struct pack_entry *e = NULL;
	size_t ne = 0;
	assert_int_equal(pack_writer_finish(w, p->pack, &e, &ne, &err), 0);
	pack_writer_free(w);
	assert_int_equal(ne, n);
	p->e = malloc(n * sizeof *e);
	memcpy(p->e, e, n * sizeof *e);
	assert_int_equal(blobidx_add_pack(x, p->pack, e, ne, &err), 0);
}

static void packed_free(struct packed *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->data[i]);
	free(p->data);
	free(p->len);
	free(p->e);
}

static void expect_found(struct blobidx *x, const struct packed *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct blob_loc l;
		memset(&l, 0, sizeof l);
		assert_int_equal(blobidx_get(x, p->e[i].id, &l), 0);
		assert_memory_equal(l.pack, p->pack, 32);
		entries_equal(&l.e, &p->e[i]);
		assert_int_equal(blobidx_has(x, p->e[i].id), 1);
	}
}

static void expect_absent(struct blobidx *x, const struct packed *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct blob_loc l;
		assert_int_equal(blobidx_get(x, p->e[i].id, &l), CF_ENOENT);
		assert_int_equal(blobidx_has(x, p->e[i].id), 0);
	}
}

static size_t count_indexes(struct repo *r)
{
	uint8_t (*ids)[32] = NULL;
	size_t n = 0;
	struct cf_error err = { 0 };
	assert_int_equal(repo_list(r, REPO_INDEX, &ids, &n, &err), 0);
	free(ids);
	return n;
}

static void test_cache_sees_committed(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	struct blobidx *x = NULL;
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	assert_int_equal(blobidx_bad_indexes(x), 0);
	/* Nothing to commit: no index written. */
	assert_int_equal(blobidx_commit(x, &err), 0);
	assert_int_equal(count_indexes(f->r), 0);
	struct packed a, b;
	make_pack(f->r, x, 20, 1, &a);
	make_pack(f->r, x, 7, 2, &b);
	/* Noted in this run, but not committed: "has" yes, "get" no. */
	struct blob_loc l;
	assert_int_equal(blobidx_has(x, a.e[0].id), 1);
	assert_int_equal(blobidx_get(x, a.e[0].id, &l), CF_ENOENT);
	/* A fresh cache before the commit knows nothing. */
	struct blobidx *y = NULL;
	assert_int_equal(blobidx_open(f->r, &y, &err), 0);
	expect_absent(y, &a);
	blobidx_free(y);
	assert_int_equal(blobidx_commit(x, &err), 0);
	assert_int_equal(count_indexes(f->r), 1);
	expect_found(x, &a);
	expect_found(x, &b);
	blobidx_free(x);

	/* A fresh open sees every blob, and the reader returns each one's bytes. */
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	expect_found(x, &a);
	expect_found(x, &b);
	struct blob_reader *br = NULL;
	assert_int_equal(blob_reader_new(f->r, x, &br, &err), 0);
	struct buf out = { 0 };
	for (size_t i = 0; i < a.n; i++) {
		assert_int_equal(blob_reader_get(br, a.e[i].id, &out, &err), 0);
		assert_int_equal(out.len, a.len[i]);
		assert_memory_equal(out.p, a.data[i], a.len[i]);
	}
	assert_int_equal(blob_reader_load(br, b.e[3].id, &out, &err), 0);
	assert_memory_equal(out.p, b.data[3], b.len[3]);
	uint8_t none[32] = { 5 };
	assert_int_equal(blob_reader_get(br, none, &out, &err), CF_ENOENT);
	assert_int_equal(blobidx_has(x, none), 0);
	/* A pack gone from disk: that blob cannot be read (not found), not a crash. */
	char *pp = pack_file(f->r, b.pack);
	assert_int_equal(unlink(pp), 0);
	free(pp);
	blob_reader_free(br);
	assert_int_equal(blob_reader_new(f->r, x, &br, &err), 0);
	assert_int_equal(blob_reader_get(br, b.e[0].id, &out, &err), CF_ENOENT);
	assert_int_equal(blob_reader_get(br, a.e[0].id, &out, &err), 0);
	buf_free(&out);
	blob_reader_free(br);
	blobidx_free(x);
	packed_free(&a);
	packed_free(&b);
}

static void test_cache_rebuilt(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	struct blobidx *x = NULL;
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	struct packed a;
	make_pack(f->r, x, 12, 3, &a);
	assert_int_equal(blobidx_commit(x, &err), 0);
	blobidx_free(x);
	/* The cache lives under $XDG_CACHE_HOME/coffre/<repo id>. */
	char *cdir = util_path("%s/coffre/%s", f->cache, repo_id_hex(f->r));
	char *db = util_path("%s/index.sqlite", cdir);
	struct stat st;
	assert_int_equal(stat(db, &st), 0);
	/* Gone: rebuilt from index/. */
	fx_rm_rf(cdir);
	assert_int_not_equal(stat(cdir, &st), 0);
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	expect_found(x, &a);
	blobidx_free(x);
	assert_int_equal(stat(db, &st), 0);
	/* Damaged (garbage instead of a database): rebuilt as well. */
	fx_rm_rf(cdir);
	assert_int_equal(mkdir(cdir, 0700), 0);
	int fd = open(db, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	char junk[8192];
	memset(junk, 'J', sizeof junk);
	assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	close(fd);
	memset(&err, 0, sizeof err);
	int rc = blobidx_open(f->r, &x, &err);
	if (rc)
		print_error("open over a damaged cache: %s\n", err.msg);
	assert_int_equal(rc, 0);
	expect_found(x, &a);
	blobidx_free(x);
	free(db);
	free(cdir);
	packed_free(&a);
}

static void test_cache_stale_index(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	struct blobidx *x = NULL;
	struct packed a, b;
	/* Two runs, two index objects. */
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	make_pack(f->r, x, 10, 4, &a);
	assert_int_equal(blobidx_commit(x, &err), 0);
	blobidx_free(x);
	uint8_t (*ids)[32] = NULL;
	size_t n = 0;
	assert_int_equal(repo_list(f->r, REPO_INDEX, &ids, &n, &err), 0);
	assert_int_equal(n, 1);
	uint8_t ia[32];
	memcpy(ia, ids[0], 32);
	free(ids);
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	make_pack(f->r, x, 5, 5, &b);
	assert_int_equal(blobidx_commit(x, &err), 0);
	blobidx_free(x);
	assert_int_equal(count_indexes(f->r), 2);
	/* The cache is warm and knows both. */
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	expect_found(x, &a);
	expect_found(x, &b);
	blobidx_free(x);
	/* The first index disappears (as after prune): its blobs must not be claimed. */
	assert_int_equal(repo_delete_object(f->r, REPO_INDEX, ia, &err), 0);
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	expect_absent(x, &a);
	expect_found(x, &b);
	assert_int_equal(blobidx_bad_indexes(x), 0);
	blobidx_free(x);
	packed_free(&a);
	packed_free(&b);
}

static void test_cache_damaged_index(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	struct blobidx *x = NULL;
	struct packed a;
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	make_pack(f->r, x, 6, 6, &a);
	assert_int_equal(blobidx_commit(x, &err), 0);
	blobidx_free(x);
	/* A garbage index beside the good one: counted, skipped, the rest still works. */
	uint8_t gid[32];
	assert_int_equal(repo_put_object(f->r, REPO_INDEX, "junk", 4, gid, &err), 0);
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	assert_int_equal(blobidx_bad_indexes(x), 1);
	expect_found(x, &a);
	blobidx_free(x);
	/* A flipped byte in the good index file (cache deleted so it must be read again):
	 * its blobs are not claimed. */
	uint8_t (*ids)[32] = NULL;
	size_t n = 0;
	assert_int_equal(repo_list(f->r, REPO_INDEX, &ids, &n, &err), 0);
	assert_int_equal(n, 2);
	char *cdir = util_path("%s/coffre/%s", f->cache, repo_id_hex(f->r));
	fx_rm_rf(cdir);
	for (size_t i = 0; i < n; i++) {
		if (memcmp(ids[i], gid, 32) == 0)
			continue;
		char hex[65];
		util_hex(hex, ids[i], 32);
		char *p = util_path("%s/index/%s", f->repo, hex);
		int fd = open(p, O_RDWR);
		assert_true(fd >= 0);
		uint8_t c;
		assert_int_equal(pread(fd, &c, 1, 60), 1);
		c ^= 1;
		assert_int_equal(pwrite(fd, &c, 1, 60), 1);
		close(fd);
		free(p);
	}
	free(ids);
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	assert_int_equal(blobidx_bad_indexes(x), 2);
	expect_absent(x, &a);
	blobidx_free(x);
	free(cdir);
	packed_free(&a);
}

static void test_cache_unwritable(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	/* No place for a cache ($XDG_CACHE_HOME is a file): the index still works, in memory. */
	char *file = util_path("%s/not-a-dir", f->dir);
	int fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(setenv("XDG_CACHE_HOME", file, 1), 0);
	struct blobidx *x = NULL;
	struct packed a;
	int rc = blobidx_open(f->r, &x, &err);
	if (rc)
		print_error("blobidx_open: %s\n", err.msg);
	assert_int_equal(rc, 0);
	make_pack(f->r, x, 8, 7, &a);
	assert_int_equal(blobidx_commit(x, &err), 0);
	expect_found(x, &a);
	blobidx_free(x);
	assert_int_equal(blobidx_open(f->r, &x, &err), 0);
	expect_found(x, &a);
	blobidx_free(x);
	assert_int_equal(setenv("XDG_CACHE_HOME", f->cache, 1), 0);
	packed_free(&a);
	free(file);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (getenv("CF_TEST_FILTER"))	/* run some tests only: a glob on their names */
		cmocka_set_test_filter(getenv("CF_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idset_del),
		cmocka_unit_test_setup_teardown(test_index_roundtrip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_index_v1, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_index_garbage, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cache_sees_committed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cache_rebuilt, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cache_stale_index, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cache_damaged_index, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cache_unwritable, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
