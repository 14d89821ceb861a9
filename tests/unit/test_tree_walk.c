/* test_tree_walk.c: walking directory trees with bounds (agent/store/tree_walk.c), over an in-memory store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/error.h"
#include "coffre/tree.h"
#include "coffre/tree_walk.h"
#include "base/util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny id -> bytes store (linear: a few hundred blobs at most) ---- */

struct blob {
	uint8_t id[32];
	struct buf b;
};

static struct blob *blobs;
static size_t nblobs;

static void put_at(const uint8_t id[32], const void *p, size_t n)
{
	blobs = realloc(blobs, (nblobs + 1) * sizeof *blobs);
	assert_non_null(blobs);
	memcpy(blobs[nblobs].id, id, 32);
	memset(&blobs[nblobs].b, 0, sizeof blobs[nblobs].b);
	assert_int_equal(buf_append(&blobs[nblobs].b, p, n), 0);
	nblobs++;
}

static int store_fn(void *ctx, const uint8_t *data, size_t n, uint8_t ret_id[32],
	struct cf_error *err)
{
	(void)ctx;
	(void)err;
	crypto_generichash(ret_id, 32, data, n, NULL, 0);
	put_at(ret_id, data, n);
	return 0;
}

static int load_fn(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	(void)ctx;
	for (size_t i = nblobs; i-- > 0;) {
		if (memcmp(blobs[i].id, id, 32) == 0) {
			ret->len = 0;
			assert_int_equal(buf_append(ret, blobs[i].b.p, blobs[i].b.len), 0);
			return 0;
		}
	}
	return cf_error_set(err, CF_ENOENT, "no such blob");
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nblobs; i++)
		buf_free(&blobs[i].b);
	free(blobs);
	blobs = NULL;
	nblobs = 0;
	return 0;
}

static const uint8_t KEY[16] = "walk-split-key!!";

/* Entries for building: name, type, and for dirs the subtree id. */
struct spec {
	const char *name;
	uint8_t type;
	const uint8_t *id;
};

static void build(const struct spec *s, size_t n, uint8_t root[32])
{
	struct tree_builder *b = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(tree_builder_new(1, KEY, store_fn, NULL, &b), 0);
	for (size_t i = 0; i < n; i++) {
		struct tree_entry e = { .name = s[i].name, .namelen = strlen(s[i].name),
			.type = s[i].type, .mode = 0755 };
		if (s[i].type == TREE_DIR)
			memcpy(e.id, s[i].id, 32);
		if (s[i].type == TREE_SYMLINK) {
			e.target = "target";
			e.targetlen = 6;
		}
		assert_int_equal(tree_builder_add_entry(b, &e, &err), 0);
	}
	assert_int_equal(tree_builder_finish(b, root, &err), 0);
	tree_builder_free(b);
}

/* What the callbacks saw, as one string: "+path" on entry, "-path" on leave, "!path" on a
 * problem. */
struct log {
	char s[8192];
	int problems, last_code;
	const char *skip;	/* entry returns 1 here */
	const char *stop;	/* entry returns CF_EUSAGE here */
	size_t entries;
};

static void logf_(struct log *l, char c, const char *path)
{
	size_t n = strlen(l->s);
	if (n + strlen(path) + 3 < sizeof l->s)
		snprintf(l->s + n, sizeof l->s - n, "%c%s ", c, path);
}

static int on_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct log *l = ctx;
	(void)e;
	l->entries++;
	logf_(l, '+', path);
	if (l->skip && strcmp(path, l->skip) == 0)
		return 1;
	if (l->stop && strcmp(path, l->stop) == 0)
		return CF_EUSAGE;
	return 0;
}

static int on_leave(void *ctx, const char *path, const struct tree_entry *e)
{
	struct log *l = ctx;
	assert_int_equal(e->type, TREE_DIR);
	logf_(l, '-', path);
	return 0;
}

static void on_problem(void *ctx, const char *path, int code, const char *msg)
{
	struct log *l = ctx;
	assert_non_null(msg);
	l->problems++;
	l->last_code = code;
	logf_(l, '!', path);
}

static int walk(const uint8_t root[32], struct log *l)
{
	struct tree_walk_ops ops = { .entry = on_entry, .leave = on_leave, .problem = on_problem,
		.ctx = l };
	struct cf_error err = { 0 };
	return tree_walk(load_fn, NULL, root, &ops, &err);
}

/* root: a (file), d/ (x file, y symlink, e/ empty), z (fifo) */
static void sample(uint8_t root[32])
{
	uint8_t empty[32], d[32];
	build(NULL, 0, empty);
	const struct spec ds[] = { { "e", TREE_DIR, empty }, { "x", TREE_FILE, NULL },
		{ "y", TREE_SYMLINK, NULL } };
	build(ds, 3, d);
	const struct spec rs[] = { { "a", TREE_FILE, NULL }, { "d", TREE_DIR, d },
		{ "z", TREE_FIFO, NULL } };
	build(rs, 3, root);
}

static void test_order(void **state)
{
	(void)state;
	uint8_t root[32];
	sample(root);
	struct log l = { .s = "" };
	assert_int_equal(walk(root, &l), 0);
	assert_string_equal(l.s, "+/a +/d +/d/e -/d/e +/d/x +/d/y -/d +/z ");
	assert_int_equal(l.problems, 0);
}

static void test_skip_and_stop(void **state)
{
	(void)state;
	uint8_t root[32];
	sample(root);
	struct log l = { .s = "", .skip = "/d" };
	assert_int_equal(walk(root, &l), 0);
	assert_string_equal(l.s, "+/a +/d +/z ");
	struct log m = { .s = "", .stop = "/d/e" };
	assert_int_equal(walk(root, &m), CF_EUSAGE);
	assert_string_equal(m.s, "+/a +/d +/d/e ");
}

static void test_missing_subtree(void **state)
{
	(void)state;
	uint8_t ghost[32], root[32];
	memset(ghost, 0x66, 32);
	const struct spec rs[] = { { "a", TREE_FILE, NULL }, { "m", TREE_DIR, ghost },
		{ "z", TREE_FILE, NULL } };
	build(rs, 3, root);
	struct log l = { .s = "" };
	assert_int_equal(walk(root, &l), 0);
	/* Reported, and the walk goes on with the siblings. */
	assert_int_equal(l.problems, 1);
	assert_int_equal(l.last_code, CF_ENOENT);
	assert_int_equal(strncmp(l.s, "+/a +/m !/m ", 12), 0);
	assert_non_null(strstr(l.s, "+/z "));
	/* The root itself missing: an error to the caller, not only a problem. */
	struct log r = { .s = "" };
	int rc = walk(ghost, &r);
	assert_int_equal(rc, CF_ENOENT);
	assert_int_equal(r.entries, 0);
}

static void test_loop(void **state)
{
	(void)state;
	/* A node stored under an id of our choosing, whose entry points back at it. */
	uint8_t x[32], root[32];
	memset(x, 0x5a, 32);
	struct buf node = { 0 };
	buf_put_u8(&node, 1);
	buf_put_u8(&node, 0);
	buf_put_u32(&node, 2);
	struct tree_entry e = { .name = "again", .namelen = 5, .type = TREE_DIR };
	memcpy(e.id, x, 32);
	assert_int_equal(tree_entry_encode(&e, &node), 0);
	struct tree_entry f = { .name = "file", .namelen = 4, .type = TREE_FILE };
	assert_int_equal(tree_entry_encode(&f, &node), 0);
	put_at(x, node.p, node.len);
	buf_free(&node);
	const struct spec rs[] = { { "sub", TREE_DIR, x } };
	build(rs, 1, root);
	struct log l = { .s = "" };
	assert_int_equal(walk(root, &l), 0);
	assert_int_equal(l.problems, 1);
	assert_int_equal(l.last_code, CF_ECORRUPT);
	/* Whether "leave" is called for the refused directory is left open. */
	assert_int_equal(strncmp(l.s, "+/sub +/sub/again !/sub/again ", 30), 0);
	assert_non_null(strstr(l.s, "+/sub/file -/sub "));
	assert_int_equal(l.entries, 3);
	/* The root itself in the loop. */
	struct log m = { .s = "" };
	assert_int_equal(walk(x, &m), 0);
	assert_int_equal(m.problems, 1);
	assert_int_equal(strncmp(m.s, "+/again !/again ", 16), 0);
	assert_non_null(strstr(m.s, "+/file "));
	assert_int_equal(m.entries, 2);
}

static void test_depth(void **state)
{
	(void)state;
	/* 300 directories, each holding the next. */
	uint8_t id[32];
	build(NULL, 0, id);
	for (int i = 0; i < 300; i++) {
		uint8_t sub[32];
		memcpy(sub, id, 32);
		const struct spec s[] = { { "d", TREE_DIR, sub } };
		build(s, 1, id);
	}
	struct log l = { .s = "" };
	assert_int_equal(walk(id, &l), 0);
	assert_int_equal(l.problems, 1);
	assert_int_equal(l.last_code, CF_ECORRUPT);
	print_message("300 nested: %zu entries seen\n", l.entries);
	/* Entries down to the limit are seen, none far below it. */
	assert_true(l.entries >= TREE_WALK_MAX_DEPTH - 1);
	assert_true(l.entries <= TREE_WALK_MAX_DEPTH + 1);
}

static int collect(void *ctx, const uint8_t id[32], uint32_t len)
{
	struct buf *b = ctx;
	buf_append(b, id, 32);
	buf_put_u32(b, len);
	return len == 777 ? 42 : 0;
}

static void test_file_refs(void **state)
{
	(void)state;
	struct cf_error err = { 0 };
	/* Inline refs. */
	uint8_t refs[3 * TREE_REF_BYTES];
	for (int i = 0; i < 3; i++) {
		memset(refs + i * TREE_REF_BYTES, i + 1, 32);
		le32_put(refs + i * TREE_REF_BYTES + 32, 100u + (uint32_t)i);
	}
	struct tree_entry e = { .name = "f", .namelen = 1, .type = TREE_FILE,
		.content = TREE_CONTENT_INLINE, .nrefs = 3, .refs = refs };
	struct buf got = { 0 };
	assert_int_equal(tree_walk_refs(load_fn, NULL, &e, collect, &got, &err), 0);
	assert_int_equal(got.len, sizeof refs);
	assert_memory_equal(got.p, refs, sizeof refs);
	/* A list of 500 refs. */
	struct tree_builder *b = NULL;
	assert_int_equal(tree_builder_new(0, NULL, store_fn, NULL, &b), 0);
	struct buf want = { 0 };
	for (uint32_t i = 0; i < 500; i++) {
		uint8_t id[32];
		crypto_generichash(id, 32, (const uint8_t *)&i, sizeof i, NULL, 0);
		assert_int_equal(tree_builder_add_ref(b, id, 1000 + i, &err), 0);
		buf_append(&want, id, 32);
		buf_put_u32(&want, 1000 + i);
	}
	struct tree_entry l = { .name = "g", .namelen = 1, .type = TREE_FILE,
		.content = TREE_CONTENT_LIST };
	assert_int_equal(tree_builder_finish(b, l.id, &err), 0);
	tree_builder_free(b);
	got.len = 0;
	assert_int_equal(tree_walk_refs(load_fn, NULL, &l, collect, &got, &err), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, want.len);
	/* The callback's non-zero value stops the walk and is returned. */
	le32_put(refs + TREE_REF_BYTES + 32, 777);
	got.len = 0;
	assert_int_equal(tree_walk_refs(load_fn, NULL, &e, collect, &got, &err), 42);
	assert_int_equal(got.len, 2 * TREE_REF_BYTES);
	/* No content, or not a file: nothing. */
	struct tree_entry n = { .name = "h", .namelen = 1, .type = TREE_FILE };
	struct tree_entry d = { .name = "i", .namelen = 1, .type = TREE_DIR };
	got.len = 0;
	assert_int_equal(tree_walk_refs(load_fn, NULL, &n, collect, &got, &err), 0);
	assert_int_equal(tree_walk_refs(load_fn, NULL, &d, collect, &got, &err), 0);
	assert_int_equal(got.len, 0);
	/* A missing list: an error. */
	memset(l.id, 0x99, 32);
	assert_true(tree_walk_refs(load_fn, NULL, &l, collect, &got, &err) < 0);
	buf_free(&got);
	buf_free(&want);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (getenv("CF_TEST_FILTER"))	/* run some tests only: a glob on their names */
		cmocka_set_test_filter(getenv("CF_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_order, teardown),
		cmocka_unit_test_teardown(test_skip_and_stop, teardown),
		cmocka_unit_test_teardown(test_missing_subtree, teardown),
		cmocka_unit_test_teardown(test_loop, teardown),
		cmocka_unit_test_teardown(test_depth, teardown),
		cmocka_unit_test_teardown(test_file_refs, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
