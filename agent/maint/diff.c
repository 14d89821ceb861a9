/* diff.c: what changed between two snapshots: a merge of two sorted walks, done per
 * directory, that never reads a subtree both sides share. */
#include "coffre/diff.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "coffre/blob.h"
#include "coffre/tree.h"
#include "coffre/tree_walk.h"

struct dctx {
	struct blob_reader *br;
	void (*fn)(void *ctx, char op, const char *path);
	void *ctx;
	int problems;
};

static void diff_line(struct dctx *d, char op, const char *path)
{
	d->fn(d->ctx, op, path);
}

/* An added or removed directory: every entry below it, depth-first. */
static void walk_side(struct dctx *d, const uint8_t id[32], const char *path, char op)
{
	struct tree_iter *it = NULL;
	if (tree_iter_new(1, id, blob_reader_load, d->br, &it, NULL) != 0) {
		d->problems++;
		return;
	}
	struct tree_entry e;
	while (tree_iter_next_entry(it, &e, NULL) == 1) {
		char *p = util_path("%s/%s", path, e.name);
		if (!p)
			break;
		diff_line(d, op, p);
		if (e.type == TREE_DIR) {
			uint8_t sub[32];
			memcpy(sub, e.id, 32);
			walk_side(d, sub, p, op);
		}
		free(p);
	}
	tree_iter_free(it);
}

static int entries_differ(const struct tree_entry *a, const struct tree_entry *b)
{
	if (a->type != b->type || a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	    a->size != b->size || a->mtime_s != b->mtime_s || a->mtime_ns != b->mtime_ns)
		return 1;
	if (a->type == TREE_SYMLINK)
		return strcmp(a->target, b->target) != 0;
	if (a->type == TREE_FILE) {
		if (a->content != b->content)
			return 1;
		if (a->content == TREE_CONTENT_LIST)
			return memcmp(a->id, b->id, 32) != 0;
		return a->nrefs != b->nrefs || (a->nrefs &&
		       memcmp(a->refs, b->refs, (size_t)a->nrefs * TREE_REF_BYTES) != 0);
	}
	return 0;
}

static void diff_dirs(struct dctx *d, const uint8_t *ida, const uint8_t *idb, const char *path,
	int depth)
{
	if (depth > TREE_WALK_MAX_DEPTH || memcmp(ida, idb, 32) == 0)
		return;	/* same tree id: nothing below differs */
	struct tree_iter *ia = NULL, *ib = NULL;
	if (tree_iter_new(1, ida, blob_reader_load, d->br, &ia, NULL) ||
	    tree_iter_new(1, idb, blob_reader_load, d->br, &ib, NULL)) {
		d->problems++;
		tree_iter_free(ia);
		return;
	}
	struct tree_entry ea, eb;
	int ha = tree_iter_next_entry(ia, &ea, NULL), hb = tree_iter_next_entry(ib, &eb, NULL);
	while (ha == 1 || hb == 1) {
		int c = ha != 1 ? 1 : hb != 1 ? -1 : strcmp(ea.name, eb.name);
		const struct tree_entry *e = c <= 0 ? &ea : &eb;
		char *p = util_path("%s/%s", strcmp(path, "/") ? path : "", e->name);
		if (!p)
			break;
		if (c < 0) {
			diff_line(d, '-', p);
			if (ea.type == TREE_DIR)
				walk_side(d, ea.id, p, '-');
			ha = tree_iter_next_entry(ia, &ea, NULL);
		} else if (c > 0) {
			diff_line(d, '+', p);
			if (eb.type == TREE_DIR)
				walk_side(d, eb.id, p, '+');
			hb = tree_iter_next_entry(ib, &eb, NULL);
		} else {
			if (entries_differ(&ea, &eb))
				diff_line(d, 'M', p);
			if (ea.type == TREE_DIR && eb.type == TREE_DIR) {
				uint8_t a[32], b[32];
				memcpy(a, ea.id, 32);
				memcpy(b, eb.id, 32);
				diff_dirs(d, a, b, p, depth + 1);
			}
			ha = tree_iter_next_entry(ia, &ea, NULL);
			hb = tree_iter_next_entry(ib, &eb, NULL);
		}
		free(p);
	}
	if (ha < 0 || hb < 0)
		d->problems++;
	tree_iter_free(ia);
	tree_iter_free(ib);
}

int diff_trees(struct blob_reader *br, const uint8_t a[32], const uint8_t b[32],
	void (*fn)(void *ctx, char op, const char *path), void *ctx)
{
	struct dctx d = { .br = br, .fn = fn, .ctx = ctx };
	diff_dirs(&d, a, b, "/", 0);
	return d.problems;
}
