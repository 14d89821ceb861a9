/* test_packer.c: the worker pool that compresses and seals blobs into packs (agent/backup/packer.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "coffre/packer.h"
#include "coffre/repo.h"
#include "store/repo_internal.h"
#include "base/util.h"

#include "fixture.h"

#include <dirent.h>
#include <pthread.h>
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

static char dir_[256], repo_[300];
static struct repo *R;

static int group_setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir_, sizeof dir_, "packer"))
		return -1;
	char cache[300], rk[REPO_RECOVERY_TEXT], idhex[65];
	snprintf(cache, sizeof cache, "%s/cache", dir_);
	setenv("XDG_CACHE_HOME", cache, 1);
	snprintf(repo_, sizeof repo_, "%s/repo", dir_);
	struct cf_error err = { 0 };
	if (repo_init(repo_, "pw", NULL, rk, idhex, &err))
		return -1;
	struct repo_cred c = { .recovery_key = rk };
	return repo_open(repo_, &c, &R, &err) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	repo_free(R);
	fx_rm_rf(dir_);
	return 0;
}

struct blobs {
	size_t n;
	uint8_t **data;
	size_t *len;
	int *type;
	uint8_t (*id)[32];
	int *seen;
};

static void blobs_make(struct blobs *b, size_t n, uint8_t seed)
{
	b->n = n;
	b->data = calloc(n, sizeof *b->data);
	b->len = calloc(n, sizeof *b->len);
	b->type = calloc(n, sizeof *b->type);
	b->id = calloc(n, 32);
	b->seen = calloc(n, sizeof *b->seen);
	uint8_t s[randombytes_SEEDBYTES] = { seed };
	for (size_t i = 0; i < n; i++) {
		b->len[i] = i == 0 ? 0 : 10 + (i * 7919) % 40000;	/* one empty blob */
		b->data[i] = malloc(b->len[i] + 1);
		s[1] = (uint8_t)i;
		s[2] = (uint8_t)(i >> 8);
		randombytes_buf_deterministic(b->data[i], b->len[i], s);
		if (i % 3 == 0)	/* compressible */
			memset(b->data[i], 'a', b->len[i] / 2);
		b->type[i] = i % 4 == 1 ? BLOB_TREE : BLOB_DATA;
		repo_blob_id(R, b->data[i], b->len[i], b->id[i]);
	}
}

static void blobs_free(struct blobs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->data[i]);
	free(b->data);
	free(b->len);
	free(b->type);
	free(b->id);
	free(b->seen);
}

static size_t find(const struct blobs *b, const uint8_t id[32])
{
	for (size_t i = 0; i < b->n; i++)
		if (memcmp(b->id[i], id, 32) == 0)
			return i;
	fail_msg("a pack lists a blob never added");
	return 0;
}

/* Every pack: one type only, its header matches what the packer returned, every blob reads
 * back to its bytes; every blob added is in exactly one pack. */
static void check_packs(struct blobs *b, const struct blob_pack *p, size_t np)
{
	struct cf_error err = { 0 };
	struct buf out = { 0 };
	for (size_t k = 0; k < np; k++) {
		char *path = pack_file(R, p[k].id);
		int fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		free(path);
		/* Its name: the hash of the sealed header and the trailer (FORMAT.md §6.2). */
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		uint8_t tr[8], id[32];
		assert_int_equal(pread(fd, tr, 8, st.st_size - 8), 8);
		size_t tail = (size_t)le32_get(tr) + 8;
		assert_true(tail <= (size_t)st.st_size);
		uint8_t *tb = malloc(tail);
		assert_int_equal(pread(fd, tb, tail, st.st_size - (off_t)tail), (ssize_t)tail);
		crypto_generichash(id, 32, tb, tail, NULL, 0);
		free(tb);
		assert_memory_equal(id, p[k].id, 32);
		struct pack_entry *e = NULL;
		size_t ne = 0;
		assert_int_equal(pack_read_header(R, fd, &e, &ne, NULL, &err), 0);
		assert_int_equal(ne, p[k].n);
		assert_true(ne > 0);
		for (size_t j = 0; j < ne; j++) {
			assert_memory_equal(e[j].id, p[k].e[j].id, 32);
			assert_int_equal(e[j].type, p[k].e[j].type);
			assert_int_equal(e[j].flags, p[k].e[j].flags);
			assert_int_equal(e[j].offset, p[k].e[j].offset);
			assert_int_equal(e[j].stored, p[k].e[j].stored);
			assert_int_equal(e[j].raw, p[k].e[j].raw);
			assert_int_equal(e[j].type, e[0].type);	/* data and trees apart */
			size_t i = find(b, e[j].id);
			assert_int_equal(e[j].type, b->type[i]);
			assert_int_equal(e[j].raw, b->len[i]);
			b->seen[i]++;
			assert_int_equal(pack_read_blob(R, fd, &e[j], &out, &err), 0);
			assert_int_equal(out.len, b->len[i]);
			if (b->len[i])
				assert_memory_equal(out.p, b->data[i], b->len[i]);
		}
		free(e);
		close(fd);
	}
	for (size_t i = 0; i < b->n; i++) {
		if (b->seen[i] != 1)
			print_error("blob %zu in %d packs\n", i, b->seen[i]);
		assert_int_equal(b->seen[i], 1);
	}
	buf_free(&out);
}

static void test_all_blobs_packed(void **state)
{
	(void)state;
	struct blobs b;
	blobs_make(&b, 400, 1);
	struct cf_error err = { 0 };
	struct packer *p = NULL;
	assert_int_equal(packer_new(R, 4, &p, &err), 0);
	for (size_t i = 0; i < b.n; i++)
		assert_int_equal(packer_add(p, b.type[i], b.id[i], b.data[i], b.len[i], &err), 0);
	struct blob_pack *packs = NULL;
	size_t np = 0;
	assert_int_equal(packer_flush(p, &packs, &np, &err), 0);
	assert_int_equal(np, 2);	/* one data pack, one tree pack */
	check_packs(&b, packs, np);
	blob_packs_free(packs, np);
	/* Nothing more queued: an empty flush. */
	packs = NULL;
	np = 9;
	assert_int_equal(packer_flush(p, &packs, &np, &err), 0);
	assert_int_equal(np, 0);
	blob_packs_free(packs, np);
	packer_free(p);
	blobs_free(&b);
}

static void test_pack_size_splits(void **state)
{
	(void)state;
	uint32_t saved = R->pack_size;
	R->pack_size = 1u << 20;
	struct blobs b;
	blobs_make(&b, 300, 2);	/* about 6 MB */
	struct cf_error err = { 0 };
	struct packer *p = NULL;
	assert_int_equal(packer_new(R, 3, &p, &err), 0);
	/* In two batches, with a flush between. */
	for (size_t i = 0; i < 150; i++)
		assert_int_equal(packer_add(p, b.type[i], b.id[i], b.data[i], b.len[i], &err), 0);
	struct blob_pack *p1 = NULL, *p2 = NULL;
	size_t n1 = 0, n2 = 0;
	assert_int_equal(packer_flush(p, &p1, &n1, &err), 0);
	for (size_t i = 150; i < b.n; i++)
		assert_int_equal(packer_add(p, b.type[i], b.id[i], b.data[i], b.len[i], &err), 0);
	assert_int_equal(packer_flush(p, &p2, &n2, &err), 0);
	packer_free(p);
	print_message("%zu + %zu packs\n", n1, n2);
	assert_true(n1 >= 3);
	assert_true(n2 >= 3);
	struct blob_pack *all = calloc(n1 + n2, sizeof *all);
	memcpy(all, p1, n1 * sizeof *all);
	memcpy(all + n1, p2, n2 * sizeof *all);
	check_packs(&b, all, n1 + n2);
	/* No pack much over the limit (one blob past it at most). */
	for (size_t k = 0; k < n1 + n2; k++) {
		char *path = pack_file(R, all[k].id);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_size < (1 << 20) + 64 * 1024);
		free(path);
	}
	free(p1);	/* entries moved into all[] */
	free(p2);
	blob_packs_free(all, n1 + n2);
	R->pack_size = saved;
	blobs_free(&b);
}

static void test_free_without_flush(void **state)
{
	(void)state;
	struct blobs b;
	blobs_make(&b, 50, 3);
	struct cf_error err = { 0 };
	struct packer *p = NULL;
	assert_int_equal(packer_new(R, 2, &p, &err), 0);
	for (size_t i = 0; i < b.n; i++)
		assert_int_equal(packer_add(p, b.type[i], b.id[i], b.data[i], b.len[i], &err), 0);
	packer_free(p);
	/* Unfinished packs are discarded: no temp file left in data/. */
	char *data = util_path("%s/data", repo_);
	DIR *d = opendir(data);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		assert_null(strstr(e->d_name, ".tmp"));
	closedir(d);
	free(data);
	/* Bad type refused. */
	assert_int_equal(packer_new(R, 1, &p, &err), 0);
	assert_int_equal(packer_add(p, 7, b.id[0], b.data[0], b.len[0], &err), CF_EUSAGE);
	packer_free(p);
	blobs_free(&b);
}

/* A claim function as a backup's: a set of ids under a lock, and the number of yes. */
struct claims {
	pthread_mutex_t mu;
	uint8_t (*ids)[32];
	size_t n, cap, yes;
};

static int claim_once(void *ctx, const uint8_t id[32])
{
	struct claims *c = ctx;
	int rc = 1;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n && rc; i++)
		if (memcmp(c->ids[i], id, 32) == 0)
			rc = 0;
	if (rc) {
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 64;
			c->ids = realloc(c->ids, c->cap * 32);
		}
		memcpy(c->ids[c->n++], id, 32);
		c->yes++;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* Appends blob ${i} of ${b} to the batch ${bt} as a chunk owned by ${owner}. */
static void batch_add(struct packer_batch *bt, const struct blobs *b, size_t i, uintptr_t owner)
{
	struct packer_chunk *c = &bt->c[bt->n++];
	c->off = (uint32_t)bt->len;
	c->len = (uint32_t)b->len[i];
	c->flags = 0;
	c->owner = (void *)owner;
	memcpy(bt->data + bt->len, b->data[i], b->len[i]);
	bt->len += b->len[i];
}

/* Batches of chunks, most of them repeated within and across batches that the workers
 * have in hand at the same time: each distinct blob is stored once, every chunk gets its
 * id, and batches come back in the order they went. */
static void test_batches_store_each_blob_once(void **state)
{
	(void)state;
	struct blobs b;
	blobs_make(&b, 40, 4);
	for (size_t i = 0; i < b.n; i++)
		b.type[i] = BLOB_DATA;
	struct claims cl = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct cf_error err = { 0 };
	struct packer *p = NULL;
	assert_int_equal(packer_new(R, 3, &p, &err), 0);
	packer_set_claim(p, claim_once, &cl);
	const size_t nbatches = 24, per = 30, cap = 2u << 20;	/* 30 blobs of at most 40 KB */
	size_t sent = 0, back = 0, stored = 0;
	while (back < nbatches) {
		struct packer_batch *bt = sent < nbatches ? packer_batch_get(p, cap, per) : NULL;
		if (bt) {
			for (size_t k = 0; k < per; k++)	/* repeats everywhere */
				batch_add(bt, &b, (sent * 7 + k * 13) % b.n, sent * per + k);
			assert_int_equal(packer_batch_submit(p, bt, &err), 0);
			sent++;
			continue;
		}
		assert_int_equal(packer_batch_next(p, 1, &bt, &err), 0);
		assert_non_null(bt);
		for (size_t k = 0; k < bt->n; k++) {
			const struct packer_chunk *c = &bt->c[k];
			assert_int_equal((uintptr_t)c->owner, back * per + k);
			size_t i = (back * 7 + k * 13) % b.n;
			assert_memory_equal(c->id, b.id[i], 32);
			stored += (c->flags & PACKER_STORED) != 0;
		}
		packer_batch_put(p, bt);
		back++;
	}
	struct packer_batch *none = (void *)1;
	assert_int_equal(packer_batch_next(p, 1, &none, &err), 0);
	assert_null(none);
	struct blob_pack *packs = NULL;
	size_t np = 0;
	assert_int_equal(packer_flush(p, &packs, &np, &err), 0);
	assert_int_equal(stored, b.n);
	assert_int_equal(cl.yes, b.n);
	check_packs(&b, packs, np);
	blob_packs_free(packs, np);
	packer_free(p);
	free(cl.ids);
	blobs_free(&b);
}

/* Distinct chunks in many batches, three workers, packs of 256 KiB: every pack holds a run
 * of consecutive chunks in the order they were read, whichever thread sealed them, and runs
 * of packs follow each other (a file read back in order reads forward). A chunk whose frame
 * did not compress says so (PACKER_RAW); a compressible one does not. */
static void test_batches_appended_in_order(void **state)
{
	(void)state;
	uint32_t saved = R->pack_size;
	R->pack_size = 256u << 10;
	struct blobs b;
	blobs_make(&b, 360, 9);	/* about 7 MB, a third compressible */
	for (size_t i = 0; i < b.n; i++)
		b.type[i] = BLOB_DATA;
	struct claims cl = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct cf_error err = { 0 };
	struct packer *p = NULL;
	assert_int_equal(packer_new(R, 3, &p, &err), 0);
	packer_set_claim(p, claim_once, &cl);
	const size_t per = 12, nbatches = b.n / per, cap = 1u << 20;
	size_t sent = 0, back = 0, raw = 0, zipped = 0;
	while (back < nbatches) {
		struct packer_batch *bt = sent < nbatches ? packer_batch_get(p, cap, per) : NULL;
		if (bt) {
			for (size_t k = 0; k < per; k++)
				batch_add(bt, &b, sent * per + k, 0);
			assert_int_equal(packer_batch_submit(p, bt, &err), 0);
			sent++;
			continue;
		}
		assert_int_equal(packer_batch_next(p, 1, &bt, &err), 0);
		assert_non_null(bt);
		for (size_t k = 0; k < bt->n; k++) {
			size_t i = back * per + k;
			if (b.len[i] < 4096)
				continue;	/* may share a frame with another */
			if (i % 3 == 0) {
				assert_false(bt->c[k].flags & PACKER_RAW);
				zipped++;
			} else {
				raw += (bt->c[k].flags & PACKER_RAW) != 0;
			}
		}
		packer_batch_put(p, bt);
		back++;
	}
	struct blob_pack *packs = NULL;
	size_t np = 0;
	assert_int_equal(packer_flush(p, &packs, &np, &err), 0);
	assert_true(np >= 4);
	assert_true(zipped > 0);
	assert_true(raw > 0);
	size_t *lo = calloc(np, sizeof *lo), *hi = calloc(np, sizeof *hi);
	for (size_t k = 0; k < np; k++) {
		lo[k] = SIZE_MAX;
		size_t prev = 0;
		for (size_t j = 0; j < packs[k].n; j++) {
			size_t i = find(&b, packs[k].e[j].id);
			if (j)
				assert_true(i > prev);	/* in read order within the pack */
			prev = i;
			lo[k] = i < lo[k] ? i : lo[k];
			hi[k] = i > hi[k] ? i : hi[k];
		}
	}
	for (size_t k = 0; k < np; k++)	/* no two packs' runs interleave */
		for (size_t m = 0; m < np; m++)
			if (m != k)
				assert_true(hi[k] < lo[m] || hi[m] < lo[k]);
	free(lo);
	free(hi);
	check_packs(&b, packs, np);
	blob_packs_free(packs, np);
	packer_free(p);
	free(cl.ids);
	R->pack_size = saved;
	blobs_free(&b);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (getenv("CF_TEST_FILTER"))	/* run some tests only: a glob on their names */
		cmocka_set_test_filter(getenv("CF_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_blobs_packed),
		cmocka_unit_test(test_pack_size_splits),
		cmocka_unit_test(test_batches_store_each_blob_once),
		cmocka_unit_test(test_batches_appended_in_order),
		cmocka_unit_test(test_free_without_flush),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
