/* backup.h: one backup run: walk, compare with the parent snapshot, store what changed,
 * commit a snapshot. */
#ifndef COFFRE_BACKUP_H
#define COFFRE_BACKUP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct repo;

struct backup_stats {
	uint64_t files_new, files_changed, files_unchanged, dirs;
	uint64_t entries;		/* directory entries examined */
	uint64_t bytes_read;		/* file content read */
	uint64_t bytes_added;		/* plaintext of new blobs */
	uint64_t bytes_stored;		/* bytes added to the repository */
	uint64_t data_blobs, tree_blobs;
	uint64_t warnings;
	uint64_t dirs_reused;		/* folders taken whole from the parent (clean) */
	double duration;
	const char *current;		/* file being read, for progress (borrowed) */
};

struct backup_opts {
	const char *const *paths;
	size_t npaths;
	const char *const *excludes;	/* fnmatch globs on the base name, or on the full
					 * path when they contain a '/' */
	size_t nexcludes;
	const char *const *tags;
	size_t ntags;
	const char *hostname;		/* NULL: this host */
	/* Called about four times a second while the run goes on. */
	void (*progress)(void *ctx, const struct backup_stats *st);
	/* When set, a folder for which it returns 1 had no change at or below it since the
	 * parent snapshot (the daemon's watcher knows): its subtree is reused unread. */
	int (*clean)(void *ctx, const char *path);
	/* Called for each file that could not be read or changed while it was read. */
	void (*warn)(void *ctx, const char *path, const char *msg);
	void *ctx;
	const atomic_int *cancel;	/* set non-zero to stop early (nothing is committed) */
};

/* backup_run(r, o, ret_stats, ret_snap, ret_parent, err): returns 0, CF_EPARTIAL (snapshot
 * made but some files were skipped or changed while read), or an error (no snapshot).
 * ${ret_parent} is set to the parent's id, or zeros when there was none (${ret_has_parent}). */
int backup_run(struct repo *r, const struct backup_opts *o, struct backup_stats *ret_stats,
	uint8_t ret_snap[32], uint8_t ret_parent[32], int *ret_has_parent, struct cf_error *err);

#endif
