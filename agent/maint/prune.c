/* prune.c: removing the data no snapshot reaches: unused packs deleted, mostly unused
 * packs rewritten, then the index replaced. */
#include "coffre/prune.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coffre/blob.h"
#include "coffre/check.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "coffre/snap.h"
#include "coffre/tree_walk.h"
#include "base/idset.h"
#include "maint/mark.h"
#include "store/repo_internal.h"

/* Repack a pack when at least this share of its bytes is unused. */
#define REPACK_PERCENT 20

struct pr {
	struct repo *r;
	struct blob_reader *br;
	struct mark m;
};

static int pr_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	struct pr *p = ctx;
	return blob_reader_get(p->br, id, ret, err);
}

static int remove_pack(struct repo *r, const uint8_t id[32], struct cf_error *err)
{
	char name[80];
	pack_name(name, id);
	int rc = dst_delete(r->d, name, err);
	return rc == CF_ENOENT ? 0 : rc;
}

int prune_run(struct repo *r, void (*report)(void *ctx, const char *line), void *ctx,
	struct prune_stats *ret, struct cf_error *err)
{
	struct pr P = { .r = r };
	P.m = (struct mark){ .load = pr_load, .lctx = &P, .min_chunk = r->cp.min,
		.report = report, .rctx = ctx };
	struct prune_stats st = { 0 };
	struct blobidx *x = NULL;
	struct snap **list = NULL;
	size_t nsnap = 0, badsnap = 0;
	uint8_t (*idx)[32] = NULL, (*disk)[32] = NULL;
	uint64_t *sizes = NULL;
	size_t nidx = 0, ndisk = 0;
	struct blob_pack *all = NULL, *keep = NULL;
	size_t nall = 0, nkeep = 0;
	struct idset inpacks = { 0 }, kept_blobs = { 0 }, keep_packs = { 0 }, present = { 0 };
	struct pack_writer *pw = NULL;
	struct buf frame = { 0 };
	struct pack_frame fc = { 0 };
	int oom = 0;	/* a set that could not grow: nothing may be removed on its word */
	int rc;
	if ((rc = repo_lock(r, 1, err)))
		return rc;
	if ((rc = blobidx_open(r, &x, err)) || (rc = blob_reader_new(r, x, &P.br, err)) ||
	    (rc = snap_list(r, &list, &nsnap, &badsnap, err)))
		goto out;
	if (badsnap) {
		rc = cf_error_set(err, CF_ECORRUPT, "%zu snapshots cannot be read: run 'coffre "
			"check' first; nothing was removed", badsnap);
		goto out;
	}
	/* 1. Mark everything the snapshots reach. */
	for (size_t i = 0; i < nsnap; i++)
		if ((rc = mark_tree(&P.m, list[i]->tree, err)))
			goto out;
	if (P.m.damaged) {
		rc = cf_error_set(err, CF_ECORRUPT, "some snapshots reach damaged or missing data: "
			"run 'coffre check --read-data'; nothing was removed");
		goto out;
	}
	/* 2. Gather every index entry, one copy of each pack. */
	if ((rc = repo_list(r, REPO_INDEX, &idx, &nidx, err)) ||
	    (rc = check_list_packs(r, &disk, &sizes, &ndisk, err)))
		goto out;
	for (size_t k = 0; k < ndisk; k++)
		if (idset_add(&present, disk[k])) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
	for (size_t i = 0; i < nidx; i++) {
		struct blob_pack *bp = NULL;
		size_t nbp = 0;
		if ((rc = blob_index_read(r, idx[i], &bp, &nbp, err)))
			goto out;	/* a damaged index: refuse, check first */
		void *np = realloc(all, (nall + nbp) * sizeof *all + 1);
		if (!np) {
			blob_packs_free(bp, nbp);
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		all = np;
		for (size_t j = 0; j < nbp; j++) {
			if (idset_has(&inpacks, bp[j].id)) {
				free(bp[j].e);
				continue;
			}
			oom |= idset_add(&inpacks, bp[j].id) != 0;
			all[nall++] = bp[j];
		}
		free(bp);
	}
	keep = calloc(nall + 16, sizeof *keep);
	if (!keep) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	/* 3. Decide per pack; the live blobs of mostly-dead packs are read (and so verified),
	 * then sealed again into new packs. */
	for (size_t i = 0; i < nall; i++) {
		uint64_t live = 0, total = 0;
		/* A frame's bytes are shared by its blobs in proportion to their lengths. */
		for (size_t j = 0; j < all[i].n;) {
			size_t k = j + 1;
			while (k < all[i].n && all[i].e[k].offset == all[i].e[j].offset)
				k++;
			uint64_t raw = 0, liveraw = 0;
			for (size_t m = j; m < k; m++) {
				raw += all[i].e[m].raw;
				if (idset_has(&P.m.used, all[i].e[m].id) &&
				    !idset_has(&kept_blobs, all[i].e[m].id))
					liveraw += all[i].e[m].raw ? all[i].e[m].raw : 1;
			}
			uint64_t stored = all[i].e[j].stored;
			total += stored;
			live += liveraw >= raw ? (liveraw ? stored : 0) : stored * liveraw / raw;
			j = k;
		}
		/* Wholly live, or mostly: kept as it is (dead blobs stay indexed, harmlessly). */
		int whole = live == total || (live > 0 && (total - live) * 100 < total * REPACK_PERCENT);
		/* A spool cleared after a push holds no data packs: one still needed is kept as
		 * it is (its copies live on the destinations), never repacked. */
		if (live > 0 && !idset_has(&present, all[i].id))
			whole = 1;
		if (whole) {
			keep[nkeep] = all[i];
			all[i].e = NULL;	/* moved */
			nkeep++;
			oom |= idset_add(&keep_packs, keep[nkeep - 1].id) != 0;
			for (size_t j = 0; j < keep[nkeep - 1].n; j++)
				oom |= idset_add(&kept_blobs, keep[nkeep - 1].e[j].id) != 0;
			st.packs_kept++;
			continue;
		}
		if (live == 0) {
			st.packs_deleted++;
			st.bytes_freed += total;
			continue;
		}
		char pname[80];
		pack_name(pname, all[i].id);
		struct pack_src src = { .fd = -1, .d = r->d, .name = pname };
		for (size_t j = 0; j < all[i].n && rc == 0; j++) {
			const struct pack_entry *e = &all[i].e[j];
			if (!idset_has(&P.m.used, e->id) || idset_has(&kept_blobs, e->id))
				continue;
			/* Verify while copying: a damaged frame must not be carried on silently. */
			if ((rc = pack_read_blob_cached(r, &src, all[i].id, e, &fc, &frame, err)))
				break;
			if (!pw && (rc = pack_writer_new(r, &pw, err)))
				break;
			if ((rc = pack_writer_add(pw, e->type, e->id, frame.p, frame.len, err)))
				break;
			oom |= idset_add(&kept_blobs, e->id) != 0;
			st.bytes_repacked += e->raw;
			if (pack_writer_size(pw) >= r->pack_size) {
				rc = pack_writer_finish(pw, keep[nkeep].id, &keep[nkeep].e,
					&keep[nkeep].n, err);
				pack_writer_free(pw);
				pw = NULL;
				if (rc == 0) {
					oom |= idset_add(&keep_packs, keep[nkeep].id) != 0;
					nkeep++;
					void *np = realloc(keep, (nkeep + 16 + nall) * sizeof *keep);
					if (!np) {
						rc = cf_error_set(err, CF_ENOMEM, "out of memory");
						break;
					}
					keep = np;
				}
			}
		}
		if (rc)
			goto out;
		st.packs_repacked++;
		st.bytes_freed += total - live;
	}
	if (pw) {
		rc = pack_writer_finish(pw, keep[nkeep].id, &keep[nkeep].e, &keep[nkeep].n, err);
		pack_writer_free(pw);
		pw = NULL;
		if (rc)
			goto out;
		oom |= idset_add(&keep_packs, keep[nkeep].id) != 0;
		nkeep++;
	}
	if (oom) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory; nothing was removed");
		goto out;
	}
	/* 4. A new index for everything kept, durable before anything is removed. */
	uint8_t (*nids)[32] = NULL;
	size_t nnids = 0;
	if ((rc = blob_index_write_all(r, keep, nkeep, &nids, &nnids, err)))
		goto out;
	struct idset fresh = { 0 };
	for (size_t i = 0; i < nnids; i++)
		oom |= idset_add(&fresh, nids[i]) != 0;
	free(nids);
	if (oom) {
		idset_free(&fresh);
		rc = cf_error_set(err, CF_ENOMEM, "out of memory; the new index is written, "
			"nothing was removed");
		goto out;
	}
	for (size_t i = 0; i < nidx && rc == 0; i++) {
		if (idset_has(&fresh, idx[i]))
			continue;
		/* An old index that survives would still point at the packs about to go. */
		if ((rc = repo_delete_object(r, REPO_INDEX, idx[i], err)) == 0)
			st.indexes_replaced++;
	}
	idset_free(&fresh);
	if (rc)
		goto out;
	/* 5. Packs no index needs any more, including leftovers of interrupted backups. A pack
	 * the destination refuses to delete (Object Lock, permissions) fails the prune once the
	 * others are gone: it must not be reported as freed. */
	size_t undeleted = 0;
	int drc = 0;
	for (size_t k = 0; k < ndisk; k++) {
		if (idset_has(&keep_packs, disk[k]))
			continue;
		int one = remove_pack(r, disk[k], undeleted ? NULL : err);
		if (one) {
			if (!undeleted++)
				drc = one;
		} else if (!idset_has(&inpacks, disk[k])) {
			st.bytes_freed += sizes[k];
			st.packs_deleted++;
		}
	}
	if (undeleted) {
		if (undeleted > 1 && err) {
			char first[sizeof err->msg];
			snprintf(first, sizeof first, "%s", err->msg);
			cf_error_set(err, drc, "%s (and %zu more packs not deleted)", first, undeleted - 1);
		}
		rc = drc;
		goto out;
	}
	/* Leftover temp files of interrupted runs (we hold the exclusive lock: none is live). */
	dst_cleanup(r->d, NULL);
out:
	if (ret)
		*ret = st;
	pack_writer_free(pw);
	buf_free(&frame);
	pack_frame_release(&fc);
	blob_reader_free(P.br);
	blobidx_free(x);
	snap_list_free(list, nsnap);
	mark_free(&P.m);
	idset_free(&inpacks);
	idset_free(&kept_blobs);
	idset_free(&keep_packs);
	idset_free(&present);
	blob_packs_free(all, nall);
	blob_packs_free(keep, nkeep);
	free(idx);
	free(disk);
	free(sizes);
	repo_unlock(r);
	return rc;
}
