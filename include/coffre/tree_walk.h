/* tree_walk.h: depth-first walk of a snapshot's directory tree, checked as it goes.
 *
 * Contract. Trees come from storage and are hostile: depth is bounded (TREE_WALK_MAX_DEPTH),
 * a subtree inside itself is refused, unsafe names are refused through ${problem}. Paths and
 * entries handed to callbacks are borrowed for the call. Callbacks run on the calling thread;
 * the walk keeps no state between calls, so several threads may walk at once, each with a
 * loader (tree_load_fn) it may use from its thread. */
#ifndef COFFRE_TREE_WALK_H
#define COFFRE_TREE_WALK_H

#include <stdint.h>

#include "coffre/tree.h"

struct cf_error;

#define TREE_WALK_MAX_DEPTH 256

struct tree_walk_ops {
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

/* tree_walk(load, lctx, root, ops, err): walk the directory tree ${root}. Returns 0, the
 * first negative value a callback returned, or CF_E* if the root itself cannot be read. */
int tree_walk(tree_load_fn load, void *lctx, const uint8_t root[32], const struct tree_walk_ops *ops,
	struct cf_error *err);

/* tree_walk_refs(load, lctx, e, fn, ctx, err): call ${fn} for each chunk ref of a file entry,
 * in order. Returns 0, what ${fn} returned if non-zero, or CF_E*. */
int tree_walk_refs(tree_load_fn load, void *lctx, const struct tree_entry *e,
	int (*fn)(void *ctx, const uint8_t id[32], uint32_t len), void *ctx, struct cf_error *err);

/* tree_walk_refs_checked(load, lctx, e, min_chunk, fn, ctx, err): as tree_walk_refs, but
 * stops and returns TREE_WALK_REFS_MISMATCH as soon as the refs cannot match the entry: their
 * lengths would add up past the declared size, or a ref other than the last is shorter than
 * ${min_chunk} (no chunker cuts there). The work is so bounded by size / min_chunk, whatever
 * a forged list holds. CF_E* when the list cannot be read. ${fn} may be NULL. */
#define TREE_WALK_REFS_MISMATCH 2
int tree_walk_refs_checked(tree_load_fn load, void *lctx, const struct tree_entry *e,
	uint32_t min_chunk, int (*fn)(void *ctx, const uint8_t id[32], uint32_t len), void *ctx,
	struct cf_error *err);

#endif
