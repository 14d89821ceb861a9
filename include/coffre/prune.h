/* prune.h: removal of the data no snapshot references (forget.h chooses the snapshots). *
 * Contract. 0 or a CF_E* code (include/coffre/error.h), with a message in ${err} when it is
 * not NULL. They take the repository's exclusive lock themselves (CF_ELOCKED when another
 * process holds one): the caller must not hold a lock on the same handle. Callbacks run on
 * the calling thread; one call at a time per repository handle. */
#ifndef COFFRE_PRUNE_H
#define COFFRE_PRUNE_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct repo;
struct snap;

struct prune_stats {
	size_t packs_deleted, packs_repacked, packs_kept, indexes_replaced;
	uint64_t bytes_freed, bytes_repacked;
};

/* prune_run(r, report, ctx, ret, err): under an exclusive lock, keep every blob some snapshot
 * reaches; delete packs nothing needs, rewrite packs that are mostly unused, then replace the
 * index. Safe against a crash at any point: a pack is deleted only after an index that no
 * longer needs it is durable. Refuses to run when a snapshot cannot be read completely. */
int prune_run(struct repo *r, void (*report)(void *ctx, const char *line), void *ctx,
	struct prune_stats *ret, struct cf_error *err);

#endif
