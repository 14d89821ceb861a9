/* walk.h: depth-first walk of a snapshot's directory tree, checked as it goes. */
#ifndef COFFRE_WALK_H
#define COFFRE_WALK_H

#include <stdint.h>

#include "coffre/tree.h"

struct cf_error;

#define WALK_MAX_DEPTH 256

struct walk_ops {
	/* Called for each entry, parents before children, with the entry's absolute path.
	 * Return 0 to go on, 1 to skip a directory's content, or a negative CF_E* to stop. */
	int (*entry)(void *ctx, const char *path, const struct tree_entry *e);
	/* Called after a directory's content (may be NULL). */
	int (*leave)(void *ctx, const char *path, const struct tree_entry *e);
	/* Called for a subtree that cannot be read or is refused (damage, a loop, depth);
	 * the walk goes on with its siblings. May be NULL. */
	void (*problem)(void *ctx, const char *path, int code, const char *msg);
	void *ctx;
};

/* walk_tree(load, lctx, root, ops, err): walk the directory tree ${root}. Returns 0, the
 * first negative value a callback returned, or CF_E* if the root itself cannot be read. */
int walk_tree(tree_load_fn load, void *lctx, const uint8_t root[32], const struct walk_ops *ops,
	struct cf_error *err);

/* walk_file_refs(load, lctx, e, fn, ctx, err): call ${fn} for each chunk ref of a file entry,
 * in order. Returns 0, what ${fn} returned if non-zero, or CF_E*. */
int walk_file_refs(tree_load_fn load, void *lctx, const struct tree_entry *e,
	int (*fn)(void *ctx, const uint8_t id[32], uint32_t len), void *ctx, struct cf_error *err);

#endif
