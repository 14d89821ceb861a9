/* fuzz_tree.c: tree nodes and chunk lists, as a restore reads them (tree_walk over the
 * directories, tree_walk_refs_checked over each file's chunks), with round trips through
 * tree_entry_encode and tree_builder.
 *
 * Input: a flag byte, then metadata blobs (tree nodes) separated by TREE_SEP. Blob i is
 * stored under the id {i, 0, ..., 0}; blob 0 is the root. Flag bit 0 clear: walk a
 * directory tree; set: read a chunk list. tests/fuzz/gen_corpus makes seeds in this shape
 * from a real repository. */
#include <string.h>

#include "base/util.h"
#include "coffre/error.h"
#include "coffre/tree.h"
#include "coffre/tree_walk.h"
#include "fuzz.h"

#define TREE_SEP "\x00\xffNODE\xff\x00"
#define TREE_SEP_LEN 8
#define MAX_NODES 256
#define MIN_CHUNK 2048	/* the repositories' default */
#define MAX_REFS 100000	/* a list round trip stops there */

struct nodes {
	const uint8_t *p[MAX_NODES];
	size_t n[MAX_NODES];
	size_t count;
};

/* The metadata blobs of a round trip, kept in memory under ids {counter, 0xee, ...}. */
struct memstore {
	struct buf *b;
	size_t n, cap;
};

/* A blob in an allocation of its exact size: reading past its end is an ASan report. */
static int give(struct buf *ret, const uint8_t *p, size_t n)
{
	buf_free(ret);
	ret->p = malloc(n ? n : 1);
	FUZZ_CHECK(ret->p);
	memcpy(ret->p, p, n);
	ret->len = ret->cap = n;
	return 0;
}

static int load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	const struct nodes *N = ctx;
	for (int i = 1; i < 32; i++)
		if (id[i])
			return cf_error_set(err, CF_ENOENT, "no such blob");
	if (id[0] >= N->count)
		return cf_error_set(err, CF_ENOENT, "no such blob");
	return give(ret, N->p[id[0]], N->n[id[0]]);
}

static int mem_store(void *ctx, const uint8_t *data, size_t n, uint8_t ret_id[32],
	struct cf_error *err)
{
	struct memstore *m = ctx;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->b = realloc(m->b, m->cap * sizeof *m->b);
		FUZZ_CHECK(m->b);
	}
	memset(&m->b[m->n], 0, sizeof m->b[m->n]);
	FUZZ_CHECK(buf_append(&m->b[m->n], data, n) == 0);
	memset(ret_id, 0xee, 32);
	le32_put(ret_id, (uint32_t)m->n);
	m->n++;
	return 0;
}

static int mem_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	const struct memstore *m = ctx;
	uint32_t i = le32_get(id);
	FUZZ_CHECK(i < m->n);
	return give(ret, m->b[i].p, m->b[i].len);
}

static void mem_free(struct memstore *m)
{
	for (size_t i = 0; i < m->n; i++)
		buf_free(&m->b[i]);
	free(m->b);
}

/* An entry read back from its own encoding is the same entry. */
static void entry_round_trip(const struct tree_entry *e)
{
	struct buf b1 = { 0 }, b2 = { 0 };
	uint8_t hdr[6] = { 1, 0, 1, 0, 0, 0 };	/* a directory leaf holding one record */
	FUZZ_CHECK(buf_append(&b1, hdr, sizeof hdr) == 0 && tree_entry_encode(e, &b1) == 0);
	struct memstore m = { 0 };
	uint8_t id[32];
	FUZZ_CHECK(mem_store(&m, b1.p, b1.len, id, NULL) == 0);
	struct tree_iter *it = NULL;
	struct tree_entry e2;
	FUZZ_CHECK(tree_iter_new(1, id, mem_load, &m, &it, NULL) == 0);
	FUZZ_CHECK(tree_iter_next_entry(it, &e2, NULL) == 1);
	FUZZ_CHECK(buf_append(&b2, hdr, sizeof hdr) == 0 && tree_entry_encode(&e2, &b2) == 0);
	FUZZ_CHECK(b1.len == b2.len && memcmp(b1.p, b2.p, b1.len) == 0);
	FUZZ_CHECK(tree_iter_next_entry(it, &e2, NULL) == 0);
	tree_iter_free(it);
	mem_free(&m);
	buf_free(&b1);
	buf_free(&b2);
}

static int on_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	uint64_t *sum = ctx;
	*sum += len;
	return 0;
}

static int on_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct nodes *N = ctx;
	/* What the walk hands out is safe to create under a restore target. */
	FUZZ_CHECK(tree_name_ok(e->name, e->namelen) && strlen(e->name) == e->namelen);
	FUZZ_CHECK(path[0] == '/' && !strstr(path, "//") && !strstr(path, "/../") &&
		   !strstr(path, "/./"));
	FUZZ_CHECK(e->type > 0 && e->type < _TREE_TYPE_MAX && (e->mode & ~07777u) == 0);
	FUZZ_CHECK(e->mtime_ns < 1000000000u && e->ctime_ns < 1000000000u);
	if (e->type == TREE_SYMLINK)
		FUZZ_CHECK(e->targetlen > 0 && strlen(e->target) == e->targetlen);
	entry_round_trip(e);
	if (e->type == TREE_FILE) {
		uint64_t sum = 0;
		int rc = tree_walk_refs_checked(load, N, e, MIN_CHUNK, on_ref, &sum, NULL);
		FUZZ_CHECK(rc != 0 || sum == e->size);
	}
	return 0;
}

static void on_problem(void *ctx, const char *path, int code, const char *msg)
{
	FUZZ_CHECK(code < 0 && msg);
}

/* The root directory, rebuilt by tree_builder from what was read, reads back the same. */
static void dir_round_trip(struct nodes *N, const uint8_t root[32])
{
	struct tree_iter *it = NULL;
	if (tree_iter_new(1, root, load, N, &it, NULL))
		return;
	struct memstore m = { 0 };
	struct tree_builder *b = NULL;
	static const uint8_t key[16] = { 7 };
	FUZZ_CHECK(tree_builder_new(1, key, mem_store, &m, &b) == 0);
	struct buf seen = { 0 };
	struct tree_entry e;
	int rc;
	while ((rc = tree_iter_next_entry(it, &e, NULL)) == 1) {
		FUZZ_CHECK(tree_entry_encode(&e, &seen) == 0);
		FUZZ_CHECK(tree_builder_add_entry(b, &e, NULL) == 0);
	}
	tree_iter_free(it);
	uint8_t nroot[32];
	if (rc == 0 && tree_builder_finish(b, nroot, NULL) == 0) {
		struct buf again = { 0 };
		FUZZ_CHECK(tree_iter_new(1, nroot, mem_load, &m, &it, NULL) == 0);
		while ((rc = tree_iter_next_entry(it, &e, NULL)) == 1)
			FUZZ_CHECK(tree_entry_encode(&e, &again) == 0);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(again.len == seen.len &&
			   (!seen.len || memcmp(again.p, seen.p, seen.len) == 0));
		tree_iter_free(it);
		buf_free(&again);
	}
	tree_builder_free(b);
	buf_free(&seen);
	mem_free(&m);
}

/* A chunk list read, rebuilt and read again gives the same refs. */
static void list_round_trip(struct nodes *N, const uint8_t root[32])
{
	struct tree_iter *it = NULL;
	if (tree_iter_new(0, root, load, N, &it, NULL))
		return;
	struct memstore m = { 0 };
	struct tree_builder *b = NULL;
	FUZZ_CHECK(tree_builder_new(0, NULL, mem_store, &m, &b) == 0);
	struct buf seen = { 0 };
	uint8_t id[32];
	uint32_t len;
	size_t k = 0;
	int rc;
	while (k < MAX_REFS && (rc = tree_iter_next_ref(it, id, &len, NULL)) == 1) {
		FUZZ_CHECK(buf_append(&seen, id, 32) == 0 && buf_put_u32(&seen, len) == 0);
		FUZZ_CHECK(tree_builder_add_ref(b, id, len, NULL) == 0);
		k++;
	}
	tree_iter_free(it);
	uint8_t nroot[32];
	if (k < MAX_REFS && rc == 0 && tree_builder_finish(b, nroot, NULL) == 0) {
		struct buf again = { 0 };
		FUZZ_CHECK(tree_iter_new(0, nroot, mem_load, &m, &it, NULL) == 0);
		while ((rc = tree_iter_next_ref(it, id, &len, NULL)) == 1)
			FUZZ_CHECK(buf_append(&again, id, 32) == 0 && buf_put_u32(&again, len) == 0);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(again.len == seen.len &&
			   (!seen.len || memcmp(again.p, seen.p, seen.len) == 0));
		tree_iter_free(it);
		buf_free(&again);
	}
	tree_builder_free(b);
	buf_free(&seen);
	mem_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct nodes N = { .count = 0 };
	const uint8_t *p = data + 1, *end = data + size;
	while (N.count < MAX_NODES) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), TREE_SEP, TREE_SEP_LEN);
		N.p[N.count] = p;
		N.n[N.count++] = (size_t)((sep ? sep : end) - p);
		if (!sep)
			break;
		p = sep + TREE_SEP_LEN;
	}
	static const uint8_t root[32] = { 0 };
	if (data[0] & 1) {
		list_round_trip(&N, root);
		return 0;
	}
	struct tree_walk_ops ops = { .entry = on_entry, .problem = on_problem, .ctx = &N };
	tree_walk(load, &N, root, &ops, NULL);
	dir_round_trip(&N, root);
	return 0;
}
