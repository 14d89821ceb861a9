/* mark.h: what a set of snapshots reaches: every tree and data blob, walked and checked as
 * prune needs it (prune on a repository, push when it thins a destination). */
#ifndef COFFRE_MARK_H
#define COFFRE_MARK_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/tree.h"
#include "base/idset.h"

struct cf_error;

struct mark {
	tree_load_fn load;	/* reads a tree blob (checked against its id) */
	void *lctx;
	uint32_t min_chunk;	/* the repository's smallest chunk: bounds forged chunk lists */
	void (*report)(void *ctx, const char *line);	/* damage, one line each (may be NULL) */
	void *rctx;
	struct idset used;	/* out: every blob reached */
	size_t damaged;		/* out: subtrees or chunk lists that could not be read */
};

/* mark_tree(m, root, err): add what the tree ${root} reaches to ${m}->used; a tree marked
 * already is not walked again. 0, CF_ENOMEM, or CF_E* when ${root} itself cannot be read
 * (damage below it only counts in ${m}->damaged). */
int mark_tree(struct mark *m, const uint8_t root[32], struct cf_error *err);
void mark_free(struct mark *m);

#endif
