/* backup.h: one backup run: walk, compare with the parent snapshot, store what changed,
 * commit a snapshot.
 *
 * Threads: backup_run may be called from any thread, one run at a time on a struct repo
 * (other handles and processes may back up the same repository meanwhile: the run takes a
 * shared lock). It starts worker threads of its own and joins them all before it returns.
 * The callbacks of struct backup_opts are called on the caller's thread, inside backup_run
 * only; they must not use ${r}. */
#ifndef COFFRE_BACKUP_H
#define COFFRE_BACKUP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct dbdump_source;
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
	/* A ransomware's marks on changed files, against their previous version (detect.h):
	 * a format that broke, content that turned random; and new ransom-note files. */
	uint64_t suspect_format, suspect_random, suspect_notes;
	/* Of suspect_random, the files the packer's second opinion told: their previous
	 * version compressed, none of their new chunks did, and no chunk is shared with it. */
	uint64_t suspect_sealed;
	char suspect_path[256];		/* the first file so marked, "" if none */
	double duration;
	const char *current;		/* file being read, for progress (borrowed: valid during
					 * the progress call only; NULL once the run is over) */
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
	/* Database servers dumped into the snapshot's /databases/NAME/DB.sql (dbdump.h); a
	 * dump that fails or is incomplete is left out with a warning (the run is partial). */
	const struct dbdump_source *dbs;
	size_t ndbs;
	/* Called about four times a second while the run goes on. */
	void (*progress)(void *ctx, const struct backup_stats *st);
	/* When set, a folder for which it returns 1 had no change at or below it since the
	 * parent snapshot (the daemon's watcher knows): its subtree is reused unread. */
	int (*clean)(void *ctx, const char *path);
	/* Called for each file that could not be read or changed while it was read. */
	void (*warn)(void *ctx, const char *path, const char *msg);
	void *ctx;
	/* Set non-zero (from any thread) to stop early: no snapshot is written; blobs stored
	 * before stay, unreferenced until a later run uses them or prune removes them. */
	const atomic_int *cancel;
};

/* backup_run(r, o, ret_stats, ret_snap, ret_parent, ret_has_parent, err): back up the
 * paths of ${o} into ${r} and write a snapshot of them. ${o} and all it points to are
 * borrowed for the call. Returns
 *   0            the snapshot is written;
 *   CF_EPARTIAL  the snapshot is written, but some entries were left out or hold the last of
 *                several reads (each counted in warnings, and named to ${o}->warn);
 *   CF_EUSAGE    no paths, a path that does not exist, or one nested too deep;
 *   CF_ELOCKED   the repository is locked exclusively (forget, prune, check);
 *   CF_EIO       an I/O or system failure, a given path that cannot be read, or the run was
 *                cancelled (the message says "interrupted");
 *   CF_ENOMEM, or another CF_E* of the repository (CF_ENOSPC, CF_EUNREACH, CF_ECORRUPT...).
 * On any error no snapshot is written (blobs stored by then may stay, for a later run to
 * reuse or prune to remove) and ${err} holds the code and a message. ${ret_stats}, unless
 * NULL, gets the run's counts whatever the result (but for CF_EUSAGE with no paths:
 * untouched). Only when a snapshot is written: ${ret_snap} gets its id, ${ret_has_parent}
 * says whether it has a parent, and ${ret_parent} gets the parent's id, or zeros when there
 * was none. */
int backup_run(struct repo *r, const struct backup_opts *o, struct backup_stats *ret_stats,
	uint8_t ret_snap[32], uint8_t ret_parent[32], int *ret_has_parent, struct cf_error *err);

#endif
