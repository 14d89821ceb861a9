/* test_tree.c: directory trees and chunk lists (agent/store/tree.c), over an in-memory store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/error.h"
#include "coffre/tree.h"
#include "base/util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Node format (agent/store/tree.c): u8 kind (1 dir, 2 list), u8 level, u32 count LE, records.
 * Inner records: 32-byte child id, u64 weight. */
#define K_DIR 1
#define K_LIST 2

/* ---- an in-memory blob store: id -> bytes ---- */

struct blob {
	uint8_t id[32];
	uint8_t *p;
	size_t n;
	int used;
};

struct store {
	struct blob *v;
	size_t n, cap;
	size_t stores;		/* calls to the store function */
	size_t fresh;		/* of which stored a blob not seen before */
	size_t loads;
};

static uint64_t h64(const uint8_t *id)
{
	uint64_t h;
	memcpy(&h, id, 8);
	return h;
}

static struct blob *slot(struct store *s, const uint8_t id[32])
{
	size_t j = h64(id) & (s->cap - 1);
	while (s->v[j].used && memcmp(s->v[j].id, id, 32) != 0)
		j = (j + 1) & (s->cap - 1);
	return &s->v[j];
}

static void grow(struct store *s)
{
	struct store t = *s;
	t.cap = s->cap ? s->cap * 2 : 1024;
	t.v = calloc(t.cap, sizeof *t.v);
	assert_non_null(t.v);
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i].used)
			*slot(&t, s->v[i].id) = s->v[i];
	free(s->v);
	*s = t;
}

/* Puts ${p} under ${id} (any id: hostile tests make nodes that point at themselves);
 * returns 1 if it was new. */
static int put_raw(struct store *s, const uint8_t id[32], const void *p, size_t n)
{
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	struct blob *b = slot(s, id);
	if (b->used)
		return 0;
	b->used = 1;
	memcpy(b->id, id, 32);
	b->p = malloc(n ? n : 1);
	assert_non_null(b->p);
	memcpy(b->p, p, n);
	b->n = n;
	s->n++;
	return 1;
}

static void store_free(struct store *s)
{
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i].used)
			free(s->v[i].p);
	free(s->v);
	memset(s, 0, sizeof *s);
}

static int store_fn(void *ctx, const uint8_t *data, size_t n, uint8_t ret_id[32],
	struct cf_error *err)
{
	(void)err;
	struct store *s = ctx;
	crypto_generichash(ret_id, 32, data, n, NULL, 0);
	s->stores++;
	s->fresh += (size_t)put_raw(s, ret_id, data, n);
	return 0;
}

static int load_fn(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	struct store *s = ctx;
	s->loads++;
	if (!s->cap || !slot(s, id)->used)
		return cf_error_set(err, CF_ENOENT, "no such blob");
	struct blob *b = slot(s, id);
	ret->len = 0;
	assert_int_equal(buf_append(ret, b->p, b->n), 0);
	return 0;
}

static const uint8_t SPLITKEY[16] = "0123456789abcdef";

/* ---- deterministic entries ---- */

struct ent {
	struct tree_entry e;
	char name[64];
	char target[64];
	uint8_t refs[3 * TREE_REF_BYTES];
	uint8_t xattrs[64];
};

static void hash_u64(uint8_t out[32], uint64_t v, uint8_t salt)
{
	uint8_t in[9];
	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(v >> (8 * i));
	in[8] = salt;
	crypto_generichash(out, 32, in, sizeof in, NULL, 0);
}

/* Entry ${i} of a test directory, of every kind and with every field set. */
static void make_entry(struct ent *x, uint32_t i, const char *name)
{
	memset(x, 0, sizeof *x);
	struct tree_entry *e = &x->e;
	if (name)
		snprintf(x->name, sizeof x->name, "%s", name);
	else
		snprintf(x->name, sizeof x->name, "entry-%06u", i);
	e->name = x->name;
	e->namelen = strlen(x->name);
	e->mode = 0600 | (i % 0100) | (i % 2 ? 04000 : 0);
	e->uid = 1000 + i;
	e->gid = 3 * i;
	e->nlink = 1 + i % 4;
	e->mtime_s = 1700000000 + (int64_t)i;
	e->mtime_ns = (i * 1000003u) % 1000000000u;
	e->ctime_s = i % 11 == 0 ? -(int64_t)i - 1 : 1600000000 + (int64_t)i * 7;
	e->ctime_ns = (i * 7919u) % 1000000000u;
	e->ino = (uint64_t)i << 33 | 5;
	e->dev = 0xfeedbeefcafe0000ull + i % 3;
	switch (i % 6) {
	case 0:	/* file, inline refs */
		e->type = TREE_FILE;
		e->content = TREE_CONTENT_INLINE;
		e->nrefs = 1 + i % 3;
		for (uint32_t k = 0; k < e->nrefs; k++) {
			hash_u64(x->refs + k * TREE_REF_BYTES, i * 4 + k, 1);
			le32_put(x->refs + k * TREE_REF_BYTES + 32, 1000 + k);
		}
		e->refs = x->refs;
		e->size = 1000ull * e->nrefs;
		break;
	case 1:	/* file, list */
		e->type = TREE_FILE;
		e->content = TREE_CONTENT_LIST;
		hash_u64(e->id, i, 2);
		e->size = (uint64_t)i * 100000;
		break;
	case 2:
		e->type = TREE_DIR;
		hash_u64(e->id, i, 3);
		break;
	case 3:
		e->type = TREE_SYMLINK;
		snprintf(x->target, sizeof x->target, "../target/%u", i);
		e->target = x->target;
		e->targetlen = strlen(x->target);
		break;
	case 4:
		e->type = TREE_FIFO;
		break;
	case 5:	/* empty file */
		e->type = TREE_FILE;
		e->content = TREE_CONTENT_NONE;
		break;
	}
	if (i % 13 == 0) {
		struct buf b = { 0 };
		buf_put_u16(&b, 6);
		buf_append(&b, "user.k", 6);
		char v[16];
		int vl = snprintf(v, sizeof v, "v%u", i);
		buf_put_u32(&b, (uint32_t)vl);
		buf_append(&b, v, (size_t)vl);
		memcpy(x->xattrs, b.p, b.len);
		e->xattrs = x->xattrs;
		e->xattrslen = b.len;
		e->nxattrs = 1;
		buf_free(&b);
	}
}

static void assert_entry_equal(const struct tree_entry *a, const struct tree_entry *b)
{
	assert_int_equal(a->namelen, b->namelen);
	assert_memory_equal(a->name, b->name, a->namelen);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->mode, b->mode & 07777);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_int_equal(a->nlink, b->nlink);
	assert_true(a->mtime_s == b->mtime_s);
	assert_int_equal(a->mtime_ns, b->mtime_ns);
	assert_true(a->ctime_s == b->ctime_s);
	assert_int_equal(a->ctime_ns, b->ctime_ns);
	assert_true(a->ino == b->ino);
	assert_true(a->dev == b->dev);
	assert_true(a->size == b->size);
	assert_int_equal(a->nxattrs, b->nxattrs);
	assert_int_equal(a->xattrslen, b->xattrslen);
	if (a->xattrslen)
		assert_memory_equal(a->xattrs, b->xattrs, a->xattrslen);
	switch (a->type) {
	case TREE_FILE:
		assert_int_equal(a->content, b->content);
		if (a->content == TREE_CONTENT_INLINE) {
			assert_int_equal(a->nrefs, b->nrefs);
			assert_memory_equal(a->refs, b->refs, (size_t)a->nrefs * TREE_REF_BYTES);
		} else if (a->content == TREE_CONTENT_LIST) {
			assert_memory_equal(a->id, b->id, 32);
		}
		break;
	case TREE_DIR:
		assert_memory_equal(a->id, b->id, 32);
		break;
	case TREE_SYMLINK:
		assert_int_equal(a->targetlen, b->targetlen);
		assert_memory_equal(a->target, b->target, a->targetlen);
		assert_int_equal(a->target[a->targetlen], 0);
		break;
	}
	assert_int_equal(a->name[a->namelen], 0);
}

/* Builds a directory of ${n} entries (entry ${changed} with its mtime moved by one second
 * when ${changed} < n). */
static void build_dir(struct store *s, uint32_t n, uint32_t changed, uint8_t root[32])
{
	struct tree_builder *b = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(tree_builder_new(1, SPLITKEY, store_fn, s, &b), 0);
	struct ent x;
	for (uint32_t i = 0; i < n; i++) {
		make_entry(&x, i, NULL);
		if (i == changed)
			x.e.mtime_s += 1;
		assert_int_equal(tree_builder_add_entry(b, &x.e, &err), 0);
	}
	assert_int_equal(tree_builder_count(b), n);
	assert_int_equal(tree_builder_finish(b, root, &err), 0);
	tree_builder_free(b);
}

static void check_dir(struct store *s, const uint8_t root[32], uint32_t n, uint32_t changed)
{
	struct tree_iter *it = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(tree_iter_new(1, root, load_fn, s, &it, &err), 0);
	struct tree_entry got;
	struct ent x;
	uint32_t i = 0;
	int rc;
	while ((rc = tree_iter_next_entry(it, &got, &err)) == 1) {
		assert_true(i < n);
		make_entry(&x, i, NULL);
		if (i == changed)
			x.e.mtime_s += 1;
		assert_entry_equal(&got, &x.e);
		i++;
	}
	if (rc)
		print_error("iteration: %d %s\n", rc, err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(i, n);
	/* At the end it stays at the end. */
	assert_int_equal(tree_iter_next_entry(it, &got, &err), 0);
	/* A directory iterator is not a list iterator. */
	uint8_t id[32];
	uint32_t len;
	assert_int_equal(tree_iter_next_ref(it, id, &len, &err), CF_EUSAGE);
	tree_iter_free(it);
}

/* ---- tests ---- */

static void test_dir_small(void **state)
{
	(void)state;
	struct store s = { 0 };
	struct cf_error err = { 0 };
	/* Names in byte order, with bytes a file system allows. */
	static const char *const names[] = { "a", "b c", "line\nbreak", "z:\\x", "\xff\xfe" };
	struct ent x[5];
	struct tree_builder *b = NULL;
	assert_int_equal(tree_builder_new(1, SPLITKEY, store_fn, &s, &b), 0);
	for (uint32_t i = 0; i < 5; i++) {
		make_entry(&x[i], i, names[i]);
		assert_int_equal(tree_builder_add_entry(b, &x[i].e, &err), 0);
	}
	uint8_t root[32];
	assert_int_equal(tree_builder_finish(b, root, &err), 0);
	tree_builder_free(b);
	assert_int_equal(s.stores, 1);	/* one node */
	struct tree_iter *it = NULL;
	assert_int_equal(tree_iter_new(1, root, load_fn, &s, &it, &err), 0);
	struct tree_entry got;
	for (uint32_t i = 0; i < 5; i++) {
		assert_int_equal(tree_iter_next_entry(it, &got, &err), 1);
		assert_entry_equal(&got, &x[i].e);
	}
	assert_int_equal(tree_iter_next_entry(it, &got, &err), 0);
	tree_iter_free(it);
	/* The root is the hash of the one node, which has the documented header. */
	struct buf node = { 0 };
	assert_int_equal(load_fn(&s, root, &node, &err), 0);
	assert_true(node.len > 6);
	assert_int_equal(node.p[0], K_DIR);
	assert_int_equal(node.p[1], 0);
	assert_int_equal(le32_get(node.p + 2), 5);
	buf_free(&node);
	/* Building the same again gives the same root and stores nothing new. */
	size_t fresh = s.fresh;
	assert_int_equal(tree_builder_new(1, SPLITKEY, store_fn, &s, &b), 0);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(tree_builder_add_entry(b, &x[i].e, &err), 0);
	uint8_t root2[32];
	assert_int_equal(tree_builder_finish(b, root2, &err), 0);
	tree_builder_free(b);
	assert_memory_equal(root, root2, 32);
	assert_int_equal(s.fresh, fresh);
	store_free(&s);
}

static void test_empty(void **state)
{
	(void)state;
	struct store s = { 0 };
	struct cf_error err = { 0 };
	struct tree_builder *b = NULL;
	uint8_t root[32];
	assert_int_equal(tree_builder_new(1, SPLITKEY, store_fn, &s, &b), 0);
	assert_int_equal(tree_builder_finish(b, root, &err), 0);
	tree_builder_free(b);
	struct tree_iter *it = NULL;
	struct tree_entry e;
	assert_int_equal(tree_iter_new(1, root, load_fn, &s, &it, &err), 0);
	assert_int_equal(tree_iter_next_entry(it, &e, &err), 0);
	tree_iter_free(it);
	assert_int_equal(tree_builder_new(0, NULL, store_fn, &s, &b), 0);
	assert_int_equal(tree_builder_finish(b, root, &err), 0);
	tree_builder_free(b);
	uint8_t id[32];
	uint32_t len;
	assert_int_equal(tree_iter_new(0, root, load_fn, &s, &it, &err), 0);
	assert_int_equal(tree_iter_next_ref(it, id, &len, &err), 0);
	tree_iter_free(it);
	store_free(&s);
}

static void test_dir_large(void **state)
{
	(void)state;
	struct store s = { 0 };
	uint8_t root[32];
	build_dir(&s, 10000, UINT32_MAX, root);
	print_message("10000 entries: %zu nodes\n", s.stores);
	assert_true(s.stores > 1);
	assert_int_equal(s.fresh, s.stores);
	check_dir(&s, root, 10000, UINT32_MAX);
	/* The root is an inner node. */
	struct buf node = { 0 };
	struct cf_error err = { 0 };
	assert_int_equal(load_fn(&s, root, &node, &err), 0);
	assert_int_equal(node.p[0], K_DIR);
	assert_true(node.p[1] >= 1);
	buf_free(&node);
	store_free(&s);
}

static void test_dir_change_shares(void **state)
{
	(void)state;
	struct store s = { 0 };
	uint8_t root[32], root2[32], root3[32];
	build_dir(&s, 10000, UINT32_MAX, root);
	size_t before = s.fresh;
	build_dir(&s, 10000, 5000, root2);
	size_t added = s.fresh - before;
	print_message("one mtime changed in 10000 entries: %zu new nodes of %zu\n", added,
		before);
	assert_memory_not_equal(root, root2, 32);
	assert_true(added >= 1);
	assert_true(added <= 4);
	check_dir(&s, root2, 10000, 5000);
	check_dir(&s, root, 10000, UINT32_MAX);
	/* Changing it back gives the first root, with nothing new. */
	before = s.fresh;
	build_dir(&s, 10000, UINT32_MAX, root3);
	assert_memory_equal(root, root3, 32);
	assert_int_equal(s.fresh, before);
	store_free(&s);
}

static void ref_of(uint32_t i, uint8_t id[32], uint32_t *len)
{
	hash_u64(id, i, 7);
	*len = 1 + (i * 7919u) % 65536u;
}

static void build_list(struct store *s, uint32_t n, uint32_t changed, uint8_t root[32])
{
	struct tree_builder *b = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(tree_builder_new(0, NULL, store_fn, s, &b), 0);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t id[32];
		uint32_t len;
		ref_of(i, id, &len);
		if (i == changed)
			hash_u64(id, i, 8);	/* another chunk of the same length */
		assert_int_equal(tree_builder_add_ref(b, id, len, &err), 0);
	}
	assert_int_equal(tree_builder_count(b), n);
	assert_int_equal(tree_builder_finish(b, root, &err), 0);
	tree_builder_free(b);
}

static void check_list(struct store *s, const uint8_t root[32], uint32_t n, uint32_t changed)
{
	struct tree_iter *it = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(tree_iter_new(0, root, load_fn, s, &it, &err), 0);
	uint8_t id[32], want[32];
	uint32_t len, wlen, i = 0;
	int rc;
	while ((rc = tree_iter_next_ref(it, id, &len, &err)) == 1) {
		assert_true(i < n);
		ref_of(i, want, &wlen);
		if (i == changed)
			hash_u64(want, i, 8);
		assert_memory_equal(id, want, 32);
		assert_int_equal(len, wlen);
		i++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(i, n);
	struct tree_entry e;
	assert_int_equal(tree_iter_next_entry(it, &e, &err), CF_EUSAGE);
	tree_iter_free(it);
}

static void test_list_roundtrip(void **state)
{
	(void)state;
	struct store s = { 0 };
	uint8_t root[32];
	build_list(&s, 100000, UINT32_MAX, root);
	print_message("100000 refs: %zu nodes\n", s.stores);
	assert_true(s.stores > 100);
	check_list(&s, root, 100000, UINT32_MAX);
	/* Small lists too: one ref, and a few. */
	uint8_t r1[32], r2[32];
	build_list(&s, 1, UINT32_MAX, r1);
	check_list(&s, r1, 1, UINT32_MAX);
	build_list(&s, 40, UINT32_MAX, r2);
	check_list(&s, r2, 40, UINT32_MAX);
	assert_memory_not_equal(r1, r2, 32);
	store_free(&s);
}

static void test_list_change_shares(void **state)
{
	(void)state;
	struct store s = { 0 };
	uint8_t root[32], root2[32];
	build_list(&s, 100000, UINT32_MAX, root);
	size_t before = s.fresh;
	build_list(&s, 100000, 50000, root2);
	size_t added = s.fresh - before;
	print_message("one ref changed in 100000: %zu new nodes of %zu\n", added, before);
	assert_memory_not_equal(root, root2, 32);
	assert_true(added >= 1);
	assert_true(added <= 4);
	check_list(&s, root2, 100000, 50000);
	store_free(&s);
}

static void test_name_ok(void **state)
{
	(void)state;
	char n255[256], n256[257];
	memset(n255, 'x', sizeof n255);
	memset(n256, 'x', sizeof n256);
	assert_int_equal(tree_name_ok("", 0), 0);
	assert_int_equal(tree_name_ok(".", 1), 0);
	assert_int_equal(tree_name_ok("..", 2), 0);
	assert_int_equal(tree_name_ok("a/b", 3), 0);
	assert_int_equal(tree_name_ok("/", 1), 0);
	assert_int_equal(tree_name_ok("a/", 2), 0);
	assert_int_equal(tree_name_ok("a\0b", 3), 0);
	assert_int_equal(tree_name_ok("\0", 1), 0);
	assert_int_equal(tree_name_ok(n256, 256), 0);
	assert_int_equal(tree_name_ok(n255, 255), 1);
	assert_int_equal(tree_name_ok("a", 1), 1);
	assert_int_equal(tree_name_ok("...", 3), 1);
	assert_int_equal(tree_name_ok(".a", 2), 1);
	assert_int_equal(tree_name_ok("..a", 3), 1);
	assert_int_equal(tree_name_ok("\xff\xfe\x80", 3), 1);	/* not UTF-8 */
	assert_int_equal(tree_name_ok("new\nline", 8), 1);
	assert_int_equal(tree_name_ok("c:", 2), 1);
	assert_int_equal(tree_name_ok("a\\b", 3), 1);
	assert_int_equal(tree_name_ok("\\..\\..", 6), 1);
	assert_int_equal(tree_name_ok(" ", 1), 1);
	/* The length given is what counts, not a NUL further on. */
	assert_int_equal(tree_name_ok("ab/c", 2), 1);
	assert_int_equal(tree_name_ok("..x", 2), 0);
}

static void test_builder_rejects(void **state)
{
	(void)state;
	struct store s = { 0 };
	struct cf_error err = { 0 };
	struct tree_builder *b = NULL;
	struct ent x;
	static const char *const bad[] = { "", ".", "..", "a/b" };
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		assert_int_equal(tree_builder_new(1, SPLITKEY, store_fn, &s, &b), 0);
		make_entry(&x, 4, "x");
		x.e.name = bad[k];
		x.e.namelen = strlen(bad[k]);
		memset(&err, 0, sizeof err);
		assert_int_equal(tree_builder_add_entry(b, &x.e, &err), CF_EUSAGE);
		assert_int_equal(err.code, CF_EUSAGE);
		tree_builder_free(b);
	}
	/* Out of order, duplicate, and a prefix after the longer name. */
	static const char *const seq[][2] = { { "b", "a" }, { "a", "a" }, { "ab", "a" },
		{ "\xff", "z" } };
	for (size_t k = 0; k < sizeof seq / sizeof *seq; k++) {
		assert_int_equal(tree_builder_new(1, SPLITKEY, store_fn, &s, &b), 0);
		make_entry(&x, 4, seq[k][0]);
		assert_int_equal(tree_builder_add_entry(b, &x.e, &err), 0);
		make_entry(&x, 4, seq[k][1]);
		memset(&err, 0, sizeof err);
		assert_int_equal(tree_builder_add_entry(b, &x.e, &err), CF_EUSAGE);
		assert_int_equal(err.code, CF_EUSAGE);
		tree_builder_free(b);
	}
	/* In order, with a prefix first: fine. */
	assert_int_equal(tree_builder_new(1, SPLITKEY, store_fn, &s, &b), 0);
	make_entry(&x, 4, "a");
	assert_int_equal(tree_builder_add_entry(b, &x.e, &err), 0);
	make_entry(&x, 4, "ab");
	assert_int_equal(tree_builder_add_entry(b, &x.e, &err), 0);
	make_entry(&x, 4, "b");
	assert_int_equal(tree_builder_add_entry(b, &x.e, &err), 0);
	tree_builder_free(b);
	store_free(&s);
}

/* ---- hostile nodes ---- */

static void node_start(struct buf *b, uint8_t kind, uint8_t level, uint32_t count)
{
	b->len = 0;
	buf_put_u8(b, kind);
	buf_put_u8(b, level);
	buf_put_u32(b, count);
}

static void node_entry(struct buf *b, const char *name, size_t namelen, uint32_t i)
{
	struct ent x;
	make_entry(&x, i, "x");
	x.e.name = name;
	x.e.namelen = namelen;
	assert_int_equal(tree_entry_encode(&x.e, b), 0);
}

static void node_child(struct buf *b, const uint8_t id[32], uint64_t weight)
{
	buf_append(b, id, 32);
	buf_put_u64(b, weight);
}

static void put_node(struct store *s, const struct buf *b, uint8_t id[32])
{
	crypto_generichash(id, 32, b->p, b->len, NULL, 0);
	put_raw(s, id, b->p, b->len);
}

/* Iterates a directory (or list) to its end; returns the final code. */
static int drain(struct store *s, int is_dir, const uint8_t root[32], int *ret_items)
{
	struct tree_iter *it = NULL;
	struct cf_error err = { 0 };
	*ret_items = 0;
	int rc = tree_iter_new(is_dir, root, load_fn, s, &it, &err);
	if (rc) {
		assert_null(it);
		assert_int_equal(err.code, rc);
		return rc;
	}
	struct tree_entry e;
	uint8_t id[32];
	uint32_t len;
	for (int guard = 0; guard < 100000; guard++) {
		memset(&err, 0, sizeof err);
		rc = is_dir ? tree_iter_next_entry(it, &e, &err) : tree_iter_next_ref(it, id, &len,
			&err);
		if (rc != 1)
			break;
		(*ret_items)++;
	}
	assert_true(rc != 1);	/* no endless iteration */
	if (rc < 0) {
		assert_int_equal(err.code, rc);
		/* The failure sticks. */
		int again = is_dir ? tree_iter_next_entry(it, &e, &err)
				   : tree_iter_next_ref(it, id, &len, &err);
		assert_int_equal(again, rc);
	}
	tree_iter_free(it);
	return rc;
}

static void expect_corrupt(struct store *s, int is_dir, const uint8_t root[32], const char *what)
{
	int items;
	int rc = drain(s, is_dir, root, &items);
	if (rc != CF_ECORRUPT)
		print_error("%s: %d (after %d items)\n", what, rc, items);
	assert_int_equal(rc, CF_ECORRUPT);
}

/* A leaf holding the given names (entry i gets type i % 6). */
static void leaf_of(struct store *s, const char *const *names, const size_t *lens, size_t n,
	uint32_t count, uint8_t id[32])
{
	struct buf b = { 0 };
	node_start(&b, K_DIR, 0, count);
	for (size_t i = 0; i < n; i++)
		node_entry(&b, names[i], lens ? lens[i] : strlen(names[i]), (uint32_t)i);
	put_node(s, &b, id);
	buf_free(&b);
}

/* Unsafe or misordered entries are skipped, each reported, and the rest still read. */
static void count_refused(void *ctx, const char *shown, const char *reason)
{
	(void)shown;
	assert_non_null(strstr(reason, "refused"));
	(*(int *)ctx)++;
}

static void expect_refused(struct store *s, const uint8_t root[32], int want_items,
	int want_refused)
{
	struct tree_iter *it = NULL;
	struct cf_error err = { 0 };
	int refused = 0, items = 0, rc;
	assert_int_equal(tree_iter_new(1, root, load_fn, s, &it, &err), 0);
	tree_iter_on_refused(it, count_refused, &refused);
	struct tree_entry e;
	while ((rc = tree_iter_next_entry(it, &e, &err)) == 1) {
		assert_true(tree_name_ok(e.name, e.namelen));
		items++;
	}
	tree_iter_free(it);
	assert_int_equal(rc, 0);
	assert_int_equal(items, want_items);
	assert_int_equal(refused, want_refused);
}

static void test_hostile_names_and_order(void **state)
{
	(void)state;
	struct store s = { 0 };
	uint8_t id[32];
	int items;
	/* Control: a sound hand-made leaf reads fine. */
	static const char *const good[] = { "a", "b", "c" };
	leaf_of(&s, good, NULL, 3, 3, id);
	assert_int_equal(drain(&s, 1, id, &items), 0);
	assert_int_equal(items, 3);

	static const char *const slash[] = { "a", "b/c" };
	leaf_of(&s, slash, NULL, 2, 2, id);
	expect_refused(&s, id, 1, 1);
	static const char *const dots[] = { ".." };
	leaf_of(&s, dots, NULL, 1, 1, id);
	expect_refused(&s, id, 0, 1);
	static const char *const dot[] = { "." };
	leaf_of(&s, dot, NULL, 1, 1, id);
	expect_refused(&s, id, 0, 1);
	static const char *const empty[] = { "" };
	leaf_of(&s, empty, NULL, 1, 1, id);
	expect_refused(&s, id, 0, 1);
	static const char *const nul[] = { "a\0b" };
	static const size_t nullen[] = { 3 };
	leaf_of(&s, nul, nullen, 1, 1, id);
	expect_refused(&s, id, 0, 1);
	char longname[257];
	memset(longname, 'n', sizeof longname);
	const char *const lng[] = { longname };
	static const size_t lnglen[] = { 256 };
	leaf_of(&s, lng, lnglen, 1, 1, id);
	expect_refused(&s, id, 0, 1);
	static const char *const order[] = { "b", "a" };
	leaf_of(&s, order, NULL, 2, 2, id);
	expect_refused(&s, id, 1, 1);
	static const char *const dup[] = { "a", "a" };
	leaf_of(&s, dup, NULL, 2, 2, id);
	expect_refused(&s, id, 1, 1);
	static const char *const prefix[] = { "ab", "a" };
	leaf_of(&s, prefix, NULL, 2, 2, id);
	expect_refused(&s, id, 1, 1);

	/* Order across nodes: two sound leaves whose ranges overlap. */
	uint8_t l1[32], l2[32], root[32];
	static const char *const r1[] = { "m", "n" };
	static const char *const r2[] = { "a", "b" };
	leaf_of(&s, r1, NULL, 2, 2, l1);
	leaf_of(&s, r2, NULL, 2, 2, l2);
	struct buf b = { 0 };
	node_start(&b, K_DIR, 1, 2);
	node_child(&b, l1, 2);
	node_child(&b, l2, 2);
	put_node(&s, &b, root);
	expect_refused(&s, root, 2, 2);
	/* The same leaf twice: duplicates across nodes. */
	node_start(&b, K_DIR, 1, 2);
	node_child(&b, l1, 2);
	node_child(&b, l1, 2);
	put_node(&s, &b, root);
	expect_refused(&s, root, 2, 2);
	/* In order: fine. */
	node_start(&b, K_DIR, 1, 2);
	node_child(&b, l2, 2);
	node_child(&b, l1, 2);
	put_node(&s, &b, root);
	assert_int_equal(drain(&s, 1, root, &items), 0);
	assert_int_equal(items, 4);
	buf_free(&b);
	store_free(&s);
}

static void test_hostile_structure(void **state)
{
	(void)state;
	struct store s = { 0 };
	struct buf b = { 0 };
	uint8_t id[32], leaf[32];
	static const char *const one[] = { "a" };
	leaf_of(&s, one, NULL, 1, 1, leaf);

	/* An inner node pointing at itself, at each level. */
	for (uint8_t level = 1; level < 8; level++) {
		memset(id, 0xa0 + level, 32);
		node_start(&b, K_DIR, level, 1);
		node_child(&b, id, 1);
		put_raw(&s, id, b.p, b.len);
		expect_corrupt(&s, 1, id, "inner node pointing at itself");
	}
	/* Two inner nodes pointing at each other. */
	uint8_t x[32], y[32];
	memset(x, 0x11, 32);
	memset(y, 0x22, 32);
	node_start(&b, K_DIR, 1, 1);
	node_child(&b, y, 1);
	put_raw(&s, x, b.p, b.len);
	node_start(&b, K_DIR, 1, 1);
	node_child(&b, x, 1);
	put_raw(&s, y, b.p, b.len);
	expect_corrupt(&s, 1, x, "two inner nodes in a loop");
	/* A level-2 node whose child is at level 0 (levels must step by one). */
	node_start(&b, K_DIR, 2, 1);
	node_child(&b, leaf, 1);
	put_node(&s, &b, id);
	expect_corrupt(&s, 1, id, "level skipped");
	/* Level 8 and beyond. */
	node_start(&b, K_DIR, 8, 0);
	put_node(&s, &b, id);
	expect_corrupt(&s, 1, id, "level 8");
	node_start(&b, K_DIR, 255, 0);
	put_node(&s, &b, id);
	expect_corrupt(&s, 1, id, "level 255");

	/* Wrong kinds. */
	static const uint8_t kinds[] = { 0, K_LIST, 3, 255 };
	for (size_t k = 0; k < sizeof kinds; k++) {
		node_start(&b, kinds[k], 0, 0);
		put_node(&s, &b, id);
		expect_corrupt(&s, 1, id, "wrong kind for a directory");
	}
	node_start(&b, K_DIR, 0, 0);
	put_node(&s, &b, id);
	expect_corrupt(&s, 0, id, "directory node read as a list");
	/* A list inner node pointing at a directory leaf. */
	node_start(&b, K_LIST, 1, 1);
	node_child(&b, leaf, 1);
	put_node(&s, &b, id);
	expect_corrupt(&s, 0, id, "directory leaf under a list");
	/* A directory inner node pointing at a list leaf. */
	uint8_t lleaf[32];
	node_start(&b, K_LIST, 0, 1);
	uint8_t ref[36] = { 1 };
	buf_append(&b, ref, sizeof ref);
	put_node(&s, &b, lleaf);
	node_start(&b, K_DIR, 1, 1);
	node_child(&b, lleaf, 1);
	put_node(&s, &b, id);
	expect_corrupt(&s, 1, id, "list leaf under a directory");

	/* Headers too short. */
	for (size_t len = 0; len < 6; len++) {
		uint8_t h[6] = { K_DIR, 0, 0, 0, 0, 0 };
		uint8_t hid[32];
		crypto_generichash(hid, 32, h, len, NULL, 0);
		put_raw(&s, hid, h, len);
		expect_corrupt(&s, 1, hid, "short header");
	}

	/* Counts larger than the data: leaf, list leaf, inner. */
	static const char *const two[] = { "a", "b" };
	leaf_of(&s, two, NULL, 2, 3, id);
	expect_corrupt(&s, 1, id, "leaf count too large");
	leaf_of(&s, two, NULL, 2, 0xffffffffu, id);
	expect_corrupt(&s, 1, id, "leaf count huge");
	node_start(&b, K_LIST, 0, 2);
	buf_append(&b, ref, sizeof ref);
	put_node(&s, &b, id);
	expect_corrupt(&s, 0, id, "list count too large");
	node_start(&b, K_DIR, 1, 2);
	node_child(&b, leaf, 1);
	put_node(&s, &b, id);
	expect_corrupt(&s, 1, id, "inner count too large");

	/* Trailing bytes: leaf, list leaf, inner (part of a record). */
	leaf_of(&s, two, NULL, 2, 1, id);
	expect_corrupt(&s, 1, id, "count smaller than the entries");
	leaf_of(&s, one, NULL, 1, 1, id);
	assert_int_equal(load_fn(&s, id, &b, NULL), 0);
	buf_put_u8(&b, 0);
	put_node(&s, &b, id);
	expect_corrupt(&s, 1, id, "trailing byte in a leaf");
	node_start(&b, K_LIST, 0, 1);
	buf_append(&b, ref, sizeof ref);
	buf_append(&b, ref, 5);
	put_node(&s, &b, id);
	expect_corrupt(&s, 0, id, "trailing bytes in a list leaf");
	node_start(&b, K_DIR, 1, 1);
	node_child(&b, leaf, 1);
	buf_append(&b, ref, 3);
	put_node(&s, &b, id);
	expect_corrupt(&s, 1, id, "trailing bytes in an inner node");
	node_start(&b, K_DIR, 0, 0);
	buf_put_u8(&b, 0);
	put_node(&s, &b, id);
	expect_corrupt(&s, 1, id, "empty leaf with a trailing byte");

	/* A child that is missing: an error, not a crash. */
	uint8_t ghost[32];
	memset(ghost, 0x77, 32);
	node_start(&b, K_DIR, 1, 1);
	node_child(&b, ghost, 1);
	put_node(&s, &b, id);
	int items;
	assert_true(drain(&s, 1, id, &items) < 0);
	assert_true(drain(&s, 1, ghost, &items) < 0);
	buf_free(&b);
	store_free(&s);
}

/* A leaf holding the one encoded entry ${rec}. */
static void leaf_raw(struct store *s, const struct buf *rec, uint8_t id[32])
{
	struct buf b = { 0 };
	node_start(&b, K_DIR, 0, 1);
	buf_append(&b, rec->p, rec->len);
	put_node(s, &b, id);
	buf_free(&b);
}

static void test_hostile_entries(void **state)
{
	(void)state;
	struct store s = { 0 };
	struct buf rec = { 0 };
	uint8_t id[32];
	struct ent x;
	int items;
	/* Offsets in an encoded entry with a one-byte name. */
	enum { O_TYPE = 3, O_MTIME_NS = 3 + 1 + 16 + 8, O_CTIME_NS = O_MTIME_NS + 4 + 8,
		O_XATTRLEN = O_CTIME_NS + 4 + 24 + 2, O_TAIL = O_XATTRLEN + 4 };

	/* Control: every kind of sound entry, one by one. */
	for (uint32_t i = 0; i < 6; i++) {
		make_entry(&x, i, "a");
		rec.len = 0;
		assert_int_equal(tree_entry_encode(&x.e, &rec), 0);
		leaf_raw(&s, &rec, id);
		assert_int_equal(drain(&s, 1, id, &items), 0);
		assert_int_equal(items, 1);
	}

	/* Symlink targets: with a NUL, empty, too long. */
	make_entry(&x, 3, "a");
	x.e.target = "ab\0cd";
	x.e.targetlen = 5;
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "symlink target with a NUL");
	x.e.target = "";
	x.e.targetlen = 0;
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "empty symlink target");
	char *big = malloc(5000);
	memset(big, 't', 5000);
	x.e.target = big;
	x.e.targetlen = 4096;
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "symlink target of 4096 bytes");
	free(big);

	/* Types out of range. */
	static const uint8_t types[] = { 0, 5, 200 };
	for (size_t k = 0; k < sizeof types; k++) {
		make_entry(&x, 4, "a");	/* a fifo: no type-specific tail */
		rec.len = 0;
		tree_entry_encode(&x.e, &rec);
		rec.p[O_TYPE] = types[k];
		leaf_raw(&s, &rec, id);
		expect_corrupt(&s, 1, id, "bad type");
	}
	/* Nanoseconds out of range. */
	make_entry(&x, 4, "a");
	x.e.mtime_ns = 1000000000u;
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "mtime_ns = 1e9");
	make_entry(&x, 4, "a");
	x.e.ctime_ns = 0xffffffffu;
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "ctime_ns huge");
	/* xattrs: length over the bound, length past the data. */
	make_entry(&x, 4, "a");
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	assert_int_equal(rec.len, O_TAIL);
	le32_put(rec.p + O_XATTRLEN, (64u << 10) + 1);
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "xattrs over 64 KiB");
	le32_put(rec.p + O_XATTRLEN, 100);
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "xattrs past the end");
	/* File content: unknown kind, huge inline count, truncated list id. */
	make_entry(&x, 5, "a");	/* empty file: content byte last */
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	rec.p[rec.len - 1] = 3;
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "unknown content kind");
	make_entry(&x, 0, "a");
	x.e.nrefs = 1;
	x.e.nxattrs = 0;
	x.e.xattrs = NULL;
	x.e.xattrslen = 0;
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	le32_put(rec.p + O_TAIL + 1, 0x10000000u);
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "inline ref count past the data");
	make_entry(&x, 1, "a");
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	rec.len -= 1;
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "list id cut short");
	make_entry(&x, 2, "a");
	rec.len = 0;
	tree_entry_encode(&x.e, &rec);
	rec.len -= 20;
	leaf_raw(&s, &rec, id);
	expect_corrupt(&s, 1, id, "dir id cut short");
	/* An entry cut at every length. */
	make_entry(&x, 3, "a");
	struct buf full = { 0 };
	tree_entry_encode(&x.e, &full);
	for (size_t cut = 0; cut < full.len; cut++) {
		rec.len = 0;
		buf_append(&rec, full.p, cut);
		leaf_raw(&s, &rec, id);
		expect_corrupt(&s, 1, id, "entry cut short");
	}
	buf_free(&full);
	buf_free(&rec);
	store_free(&s);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (getenv("CF_TEST_FILTER"))	/* run some tests only: a glob on their names */
		cmocka_set_test_filter(getenv("CF_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_small),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_dir_large),
		cmocka_unit_test(test_dir_change_shares),
		cmocka_unit_test(test_list_roundtrip),
		cmocka_unit_test(test_list_change_shares),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_builder_rejects),
		cmocka_unit_test(test_hostile_names_and_order),
		cmocka_unit_test(test_hostile_structure),
		cmocka_unit_test(test_hostile_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
