/* pack_usage REPO PASSWORD_FILE: how much of a repository's packs its snapshots still use, as
 * one JSON line: pack files and their bytes, the bytes of the frames the index lists, those a
 * snapshot reaches (a blob stored twice counts once, as prune counts it), and the rest:
 * unreached bytes in packs partly used (which prune keeps unless 20% or more is unused)
 * and in packs wholly unused. Read-only, under a shared lock. For the benchmarks of
 * retention (bench/retention-60d.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/blob.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/snap.h"
#include "base/idset.h"
#include "base/util.h"
#include "maint/mark.h"
#include "store/repo_internal.h"

static struct cf_error ERR;

static void die(const char *what)
{
	fprintf(stderr, "pack_usage: %s: %s\n", what, ERR.msg);
	exit(1);
}

struct files {
	uint64_t n, bytes;
};

static int count_pack(void *ctx, const char *name, uint64_t size)
{
	struct files *f = ctx;
	(void)name;
	f->n++;
	f->bytes += size;
	return 0;
}

static struct blob_reader *BR;

static int load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	(void)ctx;
	return blob_reader_get(BR, id, ret, err);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: pack_usage REPO PASSWORD_FILE\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	struct repo *r = NULL;
	struct blobidx *x = NULL;
	char *pw = util_read_first_line(argv[2]);
	if (!pw) {
		perror(argv[2]);
		return 1;
	}
	struct repo_cred cred = { .password = pw };
	if (repo_open(argv[1], &cred, &r, &ERR))
		die("repo_open");
	free(pw);
	if (repo_lock(r, 0, &ERR))
		die("repo_lock");
	if (blobidx_open(r, &x, &ERR) || blob_reader_new(r, x, &BR, &ERR))
		die("index");
	struct snap **list = NULL;
	size_t nsnap = 0, bad = 0;
	if (snap_list(r, &list, &nsnap, &bad, &ERR))
		die("snap_list");
	struct mark m = { .load = load, .min_chunk = r->cp.min };
	for (size_t i = 0; i < nsnap; i++)
		if (mark_tree(&m, list[i]->tree, &ERR))
			die("mark");
	struct files files = { 0 };
	if (dst_list(r->d, "data/", count_pack, &files, &ERR))
		die("list");
	uint8_t (*idx)[ID_LEN] = NULL;
	size_t nidx = 0;
	if (repo_list(r, REPO_INDEX, &idx, &nidx, &ERR))
		die("index list");
	struct idset packs = { 0 }, counted = { 0 };
	uint64_t frames = 0, live = 0, dead_partly = 0, dead_whole = 0, npartly = 0, nwhole = 0;
	for (size_t i = 0; i < nidx; i++) {
		struct blob_pack *bp = NULL;
		size_t nbp = 0;
		if (blob_index_read(r, idx[i], &bp, &nbp, &ERR))
			die("index read");
		for (size_t p = 0; p < nbp; p++) {
			if (idset_has(&packs, bp[p].id))
				continue;
			if (idset_add(&packs, bp[p].id))
				die("memory");
			uint64_t total = 0, used = 0;
			/* Counted as prune counts (maint/prune.c): a frame's bytes are shared by
			 * its blobs in proportion to their lengths. */
			for (size_t j = 0; j < bp[p].n;) {
				size_t k = j + 1;
				while (k < bp[p].n && bp[p].e[k].offset == bp[p].e[j].offset)
					k++;
				uint64_t raw = 0, liveraw = 0;
				for (size_t q = j; q < k; q++) {
					const struct pack_entry *e = &bp[p].e[q];
					raw += e->raw;
					if (idset_has(&m.used, e->id) && !idset_has(&counted, e->id)) {
						liveraw += e->raw ? e->raw : 1;
						if (idset_add(&counted, e->id))
							die("memory");
					}
				}
				uint64_t stored = bp[p].e[j].stored;
				total += stored;
				used += liveraw >= raw ? (liveraw ? stored : 0) : stored * liveraw / raw;
				j = k;
			}
			frames += total;
			live += used;
			if (used == 0) {
				dead_whole += total;
				nwhole++;
			} else if (used < total) {
				dead_partly += total - used;
				npartly++;
			}
		}
		blob_packs_free(bp, nbp);
	}
	printf("{\"snapshots\": %zu, \"pack_files\": %llu, \"pack_bytes\": %llu, "
	       "\"frame_bytes\": %llu, \"live_bytes\": %llu, \"unused_in_partly_used_packs\": %llu, "
	       "\"partly_used_packs\": %llu, \"unused_in_unused_packs\": %llu, "
	       "\"unused_packs\": %llu, \"damaged\": %zu}\n", nsnap,
		(unsigned long long)files.n, (unsigned long long)files.bytes,
		(unsigned long long)frames, (unsigned long long)live,
		(unsigned long long)dead_partly, (unsigned long long)npartly,
		(unsigned long long)dead_whole, (unsigned long long)nwhole, m.damaged);
	free(idx);
	idset_free(&packs);
	idset_free(&counted);
	mark_free(&m);
	snap_list_free(list, nsnap);
	blob_reader_free(BR);
	blobidx_free(x);
	repo_free(r);
	return 0;
}
