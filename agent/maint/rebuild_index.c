/* rebuild_index.c: a new index from the packs' own headers, when the index objects are lost
 * or damaged. */
#include "coffre/rebuild_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/blob.h"
#include "coffre/check.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"

int rebuild_index_run(struct repo *r, void (*rep)(void *ctx, const char *line), void *ctx,
	size_t *ret_packs, struct cf_error *err)
{
	uint8_t (*packs)[32] = NULL, (*old)[32] = NULL;
	uint64_t *sizes = NULL;
	size_t npacks = 0, nold = 0, good = 0;
	struct blob_pack *bp = NULL;
	int rc;
	if ((rc = repo_lock(r, 1, err)))
		return rc;
	if ((rc = check_list_packs(r, &packs, &sizes, &npacks, err)) ||
	    (rc = repo_list(r, REPO_INDEX, &old, &nold, err)))
		goto out;
	bp = calloc(npacks ? npacks : 1, sizeof *bp);
	if (!bp) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < npacks; i++) {
		char name[80];
		pack_name(name, packs[i]);
		struct pack_src src = { .fd = -1, .d = r->d, .name = name, .size = sizes[i] };
		struct cf_error e2 = { 0 };
		if (pack_read_header_src(r, &src, &bp[good].e, &bp[good].n, NULL, &e2) != 0) {
			char line[800];
			snprintf(line, sizeof line, "damaged pack %s: %s (its blobs are lost)", name,
				e2.msg);
			if (rep)
				rep(ctx, line);
		} else {
			memcpy(bp[good].id, packs[i], 32);
			good++;
		}
	}
	uint8_t (*nids)[32] = NULL;
	size_t nnids = 0;
	if ((rc = blob_index_write_all(r, bp, good, &nids, &nnids, err)))
		goto out;
	/* Only once the new index is durable do the old ones go. */
	for (size_t i = 0; i < nold; i++) {
		int fresh = 0;
		for (size_t j = 0; j < nnids; j++)
			fresh |= memcmp(old[i], nids[j], 32) == 0;
		if (!fresh)
			repo_delete_object(r, REPO_INDEX, old[i], NULL);
	}
	free(nids);
	if (ret_packs)
		*ret_packs = good;
out:
	blob_packs_free(bp, good);
	free(packs);
	free(sizes);
	free(old);
	repo_unlock(r);
	return rc;
}
