/* walk.c: walking directory trees with bounds: depth, and no subtree inside itself. */
#include "coffre/walk.h"

#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "util.h"

struct walker {
	tree_load_fn load;
	void *lctx;
	const struct walk_ops *ops;
	uint8_t stack[WALK_MAX_DEPTH + 1][32];
	int depth;
};

static void problem(struct walker *w, const char *path, int code, const char *msg)
{
	if (w->ops->problem)
		w->ops->problem(w->ops->ctx, path, code, msg);
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
	if (w->depth >= WALK_MAX_DEPTH) {
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
	struct tree_entry e;
	while ((rc = tree_iter_next_entry(it, &e, &e2)) == 1) {
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

int walk_tree(tree_load_fn load, void *lctx, const uint8_t root[32], const struct walk_ops *ops,
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
	free(w);
	if (rc == CF_ENOMEM)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	return rc;
}

int walk_file_refs(tree_load_fn load, void *lctx, const struct tree_entry *e,
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
