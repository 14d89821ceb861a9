/* tree_walk.c: walking directory trees with bounds: depth, and no subtree inside itself. */
#include "coffre/tree_walk.h"

#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "base/util.h"

/* Real directories never share a non-empty tree (entries carry inode numbers and times), so a
 * subtree met again and again is a forged DAG that would expand without end: each non-empty
 * subtree is walked at most this many times in one walk. */
#define WALK_MAX_REPEAT 16

struct seen {
	uint8_t id[32];
	uint32_t count;
	uint8_t used;
};

struct walker {
	tree_load_fn load;
	void *lctx;
	const struct tree_walk_ops *ops;
	uint8_t stack[TREE_WALK_MAX_DEPTH + 1][32];
	int depth;
	struct seen *seen;	/* open addressing over non-empty subtree ids */
	size_t nseen, capseen;
	const char *dirpath;	/* for refusals reported by the iterator */
};

/* Counts one more walk of ${id}; returns the new count, or 0 when out of memory. */
static uint32_t seen_bump(struct walker *w, const uint8_t id[32])
{
	if ((w->nseen + 1) * 2 > w->capseen) {
		size_t cap = w->capseen ? 2 * w->capseen : 1024;
		struct seen *n = calloc(cap, sizeof *n);
		if (!n)
			return 0;
		for (size_t i = 0; i < w->capseen; i++) {
			if (!w->seen[i].used)
				continue;
			size_t j = le32_get(w->seen[i].id) & (cap - 1);
			while (n[j].used)
				j = (j + 1) & (cap - 1);
			n[j] = w->seen[i];
		}
		free(w->seen);
		w->seen = n;
		w->capseen = cap;
	}
	size_t j = le32_get(id) & (w->capseen - 1);
	while (w->seen[j].used && memcmp(w->seen[j].id, id, 32) != 0)
		j = (j + 1) & (w->capseen - 1);
	if (!w->seen[j].used) {
		memcpy(w->seen[j].id, id, 32);
		w->seen[j].used = 1;
		w->nseen++;
	}
	return ++w->seen[j].count;
}

static void problem(struct walker *w, const char *path, int code, const char *msg)
{
	if (w->ops->problem)
		w->ops->problem(w->ops->ctx, path, code, msg);
}

static void on_refused(void *ctx, const char *shown, const char *reason)
{
	struct walker *w = ctx;
	char *p = util_path("%s/%s", strcmp(w->dirpath, "/") ? w->dirpath : "", shown);
	problem(w, p ? p : w->dirpath, CF_ECORRUPT, reason);
	free(p);
}

static int walk_dir(struct walker *w, const uint8_t id[32], const char *path)
{
	/* A tree that contains itself would never end: ids are hashes, so only a forged tree
	 * can repeat an ancestor. */
	for (int i = 0; i < w->depth; i++) {
		if (memcmp(w->stack[i], id, 32) == 0) {
			problem(w, path, CF_ECORRUPT, "refused: directory contains itself");
			return 0;
		}
	}
	if (w->depth >= TREE_WALK_MAX_DEPTH) {
		problem(w, path, CF_ECORRUPT, "refused: directories nested too deep");
		return 0;
	}
	memcpy(w->stack[w->depth++], id, 32);
	struct tree_iter *it = NULL;
	struct cf_error e2 = { 0 };
	int rc = tree_iter_new(1, id, w->load, w->lctx, &it, &e2);
	if (rc) {
		problem(w, path, rc, e2.msg);
		w->depth--;
		return rc == CF_ENOMEM ? rc : 0;
	}
	tree_iter_on_refused(it, on_refused, w);
	struct tree_entry e;
	int first = 1;
	for (;;) {
		w->dirpath = path;
		if ((rc = tree_iter_next_entry(it, &e, &e2)) != 1)
			break;
		if (first) {
			first = 0;
			uint32_t n = seen_bump(w, id);
			if (n == 0) {
				rc = CF_ENOMEM;
				break;
			}
			if (n > WALK_MAX_REPEAT) {
				problem(w, path, CF_ECORRUPT,
					"refused: the same folder content repeats too often (forged tree)");
				rc = 0;
				break;
			}
		}
		char *p = util_path("%s/%s", strcmp(path, "/") ? path : "", e.name);
		if (!p) {
			rc = CF_ENOMEM;
			break;
		}
		int r2 = w->ops->entry(w->ops->ctx, p, &e);
		if (r2 < 0) {
			free(p);
			rc = r2;
			break;
		}
		if (r2 == 0 && e.type == TREE_DIR) {
			/* The iterator's entry is reused by the next call: keep what we need. */
			struct tree_entry copy = e;
			uint8_t sub[32];
			memcpy(sub, e.id, 32);
			r2 = walk_dir(w, sub, p);
			if (r2 == 0 && w->ops->leave)
				r2 = w->ops->leave(w->ops->ctx, p, &copy);
			if (r2 < 0) {
				free(p);
				rc = r2;
				break;
			}
		}
		free(p);
	}
	if (rc < 0 && rc != CF_ENOMEM && e2.msg[0]) {
		problem(w, path, rc, e2.msg);
		rc = 0;
	}
	tree_iter_free(it);
	w->depth--;
	return rc < 0 ? rc : 0;
}

int tree_walk(tree_load_fn load, void *lctx, const uint8_t root[32], const struct tree_walk_ops *ops,
	struct cf_error *err)
{
	struct walker *w = calloc(1, sizeof *w);
	if (!w)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	/* The root is loaded once up front so that its failure reaches the caller. */
	struct tree_iter *probe = NULL;
	int r0 = tree_iter_new(1, root, load, lctx, &probe, err);
	tree_iter_free(probe);
	if (r0) {
		free(w);
		return r0;
	}
	w->load = load;
	w->lctx = lctx;
	w->ops = ops;
	int rc = walk_dir(w, root, "/");
	free(w->seen);
	free(w);
	if (rc == CF_ENOMEM)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	return rc;
}

struct checked {
	uint64_t size, sum;
	uint32_t min, short_seen;
	int (*fn)(void *ctx, const uint8_t id[32], uint32_t len);
	void *ctx;
};

static int checked_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	struct checked *c = ctx;
	if (len == 0 || c->short_seen || len > c->size - c->sum)
		return TREE_WALK_REFS_MISMATCH;
	c->sum += len;
	if (len < c->min)
		c->short_seen = 1;	/* only the last chunk may be short */
	return c->fn ? c->fn(c->ctx, id, len) : 0;
}

int tree_walk_refs_checked(tree_load_fn load, void *lctx, const struct tree_entry *e,
	uint32_t min_chunk, int (*fn)(void *ctx, const uint8_t id[32], uint32_t len), void *ctx,
	struct cf_error *err)
{
	struct checked c = { .size = e->size, .min = min_chunk, .fn = fn, .ctx = ctx };
	int rc = tree_walk_refs(load, lctx, e, checked_ref, &c, err);
	if (rc == 0 && c.sum != e->size)
		rc = TREE_WALK_REFS_MISMATCH;
	return rc;
}

int tree_walk_refs(tree_load_fn load, void *lctx, const struct tree_entry *e,
	int (*fn)(void *ctx, const uint8_t id[32], uint32_t len), void *ctx, struct cf_error *err)
{
	if (e->type != TREE_FILE)
		return 0;
	if (e->content == TREE_CONTENT_INLINE) {
		for (uint32_t i = 0; i < e->nrefs; i++) {
			const uint8_t *rec = e->refs + (size_t)i * TREE_REF_BYTES;
			int rc = fn(ctx, rec, le32_get(rec + 32));
			if (rc)
				return rc;
		}
		return 0;
	}
	if (e->content != TREE_CONTENT_LIST)
		return 0;
	struct tree_iter *it = NULL;
	int rc = tree_iter_new(0, e->id, load, lctx, &it, err);
	if (rc)
		return rc;
	uint8_t id[32];
	uint32_t len;
	while ((rc = tree_iter_next_ref(it, id, &len, err)) == 1) {
		rc = fn(ctx, id, len);
		if (rc)
			break;
	}
	tree_iter_free(it);
	return rc;
}
