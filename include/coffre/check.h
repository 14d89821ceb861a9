/* check.h: verifying a repository. */
#ifndef COFFRE_CHECK_H
#define COFFRE_CHECK_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct repo;

struct check_result {
	size_t packs, indexes, snapshots;
	size_t damaged_packs, missing_packs, damaged_indexes, damaged_snapshots;
	size_t missing_blobs, damaged_blobs, damaged_trees, affected_files;
	size_t unreferenced_packs, leftovers;
	size_t future_snapshots;	/* dated in the future: a forged or wrong clock */
	size_t pins, damaged_pins;
	uint64_t bytes_read;
};

struct check_opts {
	int read_data;		/* read every pack, open every frame, recompute every id */
	/* One line per finding ("damaged pack data/xx/ID: why", "affected: SNAP PATH", and
	 * informational lines starting with "note:"). */
	void (*report)(void *ctx, const char *line);
	void (*progress)(void *ctx, const char *what, uint64_t done, uint64_t total);
	void *ctx;
};

/* check_run(r, o, ret, err): 0 if sound, CF_ECORRUPT if anything is damaged or missing. */
int check_run(struct repo *r, const struct check_opts *o, struct check_result *ret,
	struct cf_error *err);

/* Pack files on disk: ids (malloc'd) and sizes. */
int check_list_packs(struct repo *r, uint8_t (**ret_ids)[32], uint64_t **ret_sizes, size_t *ret_n,
	struct cf_error *err);

#endif
