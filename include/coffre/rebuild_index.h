/* rebuild_index.h: rebuilding a repository's index from its packs. *
 * Contract. 0 or a CF_E* code (include/coffre/error.h), with a message in ${err} when it is
 * not NULL. They take the repository's exclusive lock themselves (CF_ELOCKED when another
 * process holds one): the caller must not hold a lock on the same handle. Callbacks run on
 * the calling thread; one call at a time per repository handle. */
#ifndef COFFRE_REBUILD_INDEX_H
#define COFFRE_REBUILD_INDEX_H

#include <stddef.h>

struct cf_error;
struct repo;

/* rebuild_index_run(r, report, ctx, ret_packs, err): under the exclusive lock, read every
 * pack's header, write one index covering them, then remove the old index objects (only once
 * the new one is durable). A damaged pack is reported through ${report} (may be NULL) and
 * skipped; its blobs are lost. ${ret_packs} (may be NULL): packs indexed. 0 or a CF_E* code. */
int rebuild_index_run(struct repo *r, void (*report)(void *ctx, const char *line), void *ctx,
	size_t *ret_packs, struct cf_error *err);

#endif
