/* restore.h: restoring a snapshot to disk through libarchive's secure disk writer, and
 * exporting it as a tar or zip archive.
 *
 * Contract. Results as each function says, CF_E* codes from include/coffre/error.h with a
 * message in ${err}. Both take a shared lock on the repository themselves, unless the handle
 * holds one already (repo_lock), which they leave held. A restore never
 * writes outside its target. Callbacks (progress, problem) run on the calling thread; the
 * restore's own reader thread never calls them. The options and the snapshot are borrowed
 * for the call. */
#ifndef COFFRE_RESTORE_H
#define COFFRE_RESTORE_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct repo;
struct snap;

struct restore_stats {
	uint64_t files, dirs, symlinks, hardlinks, bytes;
	uint64_t refused;	/* hostile or invalid entries not written */
	uint64_t damaged;	/* files whose data could not be read back from the repository */
	uint64_t collisions;	/* entries not written because the target's file system takes
				 * their name for one already there under another name (FAT and
				 * exFAT ignore case): never restored over it */
	uint64_t verified, verify_failed;
	uint64_t unprivileged;	/* entries restored without setuid/setgid bits or security.*
				 * and trusted.* attributes (see keep_privileges) */
	double duration;
	const char *current;
};

struct restore_opts {
	const char *target;
	const char *const *includes;	/* absolute snapshot paths; none means everything */
	size_t nincludes;
	int verify;			/* read restored files back and compare */
	/* 0 (default): setuid/setgid bits and security.* / trusted.* extended attributes (file
	 * capabilities, SELinux labels) are not restored, since a snapshot from another machine
	 * could plant them; 1: restore them as recorded. */
	int keep_privileges;
	/* Entries with one of these names are left out (the ransomware watch's control files,
	 * detect_canary_name). */
	const char *const *skip_names;
	size_t nskip_names;
	/* When set, it chooses instead of ${includes}: 0 restore the entry at ${path} and what is
	 * below it, 1 a directory only on the way to what is chosen (its entry, then a look
	 * inside), -1 neither. Called from the restore's reader thread and the verify pass
	 * with ${ctx}: it must only read what does not change during the restore. */
	int (*select)(void *ctx, const char *path);
	/* When set, the restore stops between entries once *${cancel} is non-zero
	 * (CF_ECANCELED); a signal handler may set it. */
	const volatile int *cancel;
	void (*progress)(void *ctx, const struct restore_stats *st);
	/* A refused entry, a damaged file or a name collision, with the reason. */
	void (*problem)(void *ctx, const char *path, const char *msg);
	void *ctx;
};

/* restore_run(r, s, o, ret_stats, err): 0; CF_ECORRUPT when some entries were refused or
 * damaged (everything else restored); else CF_EPARTIAL when some were not written for a name
 * collision (stats.collisions, each named to o->problem); CF_ECANCELED when o->cancel was
 * set; CF_E* on a failure that stopped the restore. */
int restore_run(struct repo *r, const struct snap *s, const struct restore_opts *o,
	struct restore_stats *ret_stats, struct cf_error *err);

enum dump_format { DUMP_TAR, DUMP_ZIP };

/* dump_run(r, s, path, format, fd, problem, ctx, err): write ${path} of ${s} to ${fd}: a
 * file's content as it is, a directory (or "/") as an archive. Entries that cannot be
 * exported are named through ${problem}. */
int dump_run(struct repo *r, const struct snap *s, const char *path, int format, int fd,
	void (*problem)(void *ctx, const char *path, const char *msg), void *ctx,
	struct cf_error *err);

#endif
