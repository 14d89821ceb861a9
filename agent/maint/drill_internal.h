/* drill_internal.h: what the drill's files share: drill.c (the run), drill_select.c (a
 * snapshot's files and the choice within the budget), drill_state.c (the state file),
 * drill_check.c (the checks of restored files, the scratch folder), drill_report.c (the
 * report and its JSON). The choice and the state parser are pure, for the unit tests and the
 * fuzz target. */
#ifndef COFFRE_DRILL_INTERNAL_H
#define COFFRE_DRILL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/drill.h"
#include "coffre/tree.h"

struct cf_error;

/* ---- the state file (drill_state.c) ---- */

#define DRILL_STATE_MAX (64u << 10)	/* a state file larger than this is damaged */
#define DRILL_STATE_VERSION 1

struct drill_state {
	uint8_t key[32];		/* the rotation key */
	uint64_t cursor;		/* keyed hash of the last file the rotation took */
	uint64_t oldest_cursor;		/* the same in the oldest snapshot */
	int64_t snapshot_time;		/* of last.snapshot */
	/* The snapshot of the last drill that passed: what "changed since" counts from (a
	 * failed drill leaves it, so that the next drill restores those files again). */
	char baseline[65];
	int64_t baseline_time;
	struct drill_last last;
	/* Seconds per byte of the files that the last full drill that passed took: a restore
	 * of everything fetches whole packs side by side, which a budgeted drill's frame by
	 * frame reads cannot measure; 0 until one has run. */
	double full_pace;
	char *scratch;			/* the scratch folder of a drill under way (malloc'd) */
};

/* drill_state_fresh(s): a new state with a random key (s->scratch NULL). */
void drill_state_fresh(struct drill_state *s);
/* drill_state_parse(bytes, len, ret): an untrusted state file (JSON, at most
 * DRILL_STATE_MAX bytes). Reads no byte past ${len}; ${ret} is written only on success.
 * Returns 0, CF_ECORRUPT (not JSON, another version, a field missing, of the wrong type or
 * out of range) or CF_ENOMEM. */
int drill_state_parse(const uint8_t *bytes, size_t len, struct drill_state *ret);
/* drill_state_encode(s, name, url, ret_text): the state as JSON text (malloc'd). 0 or
 * CF_ENOMEM. */
int drill_state_encode(const struct drill_state *s, const char *name, const char *url,
	char **ret_text);
void drill_state_release(struct drill_state *s);
/* drill_state_id(name, url): "<name or URL, as letters, digits, '-' and '_'>-<16 hex of a
 * hash of the URL>" (malloc'd): the name of a destination's state file and scratch folder,
 * safe as one path component. NULL when out of memory. */
char *drill_state_id(const char *name, const char *url);
/* drill_state_load(path, ret, err): read and parse; 0, CF_ENOENT, CF_ECORRUPT, CF_EIO. */
int drill_state_load(const char *path, struct drill_state *ret, struct cf_error *err);
/* drill_state_save(path, s, name, url, err): temp + fsync + rename. 0 or CF_E*. */
int drill_state_save(const char *path, const struct drill_state *s, const char *name,
	const char *url, struct cf_error *err);

/* ---- a snapshot's files and the choice (drill_select.c) ---- */

/* Why a file was chosen. */
enum drill_why { DRILL_WHY_NONE = 0, DRILL_WHY_DB, DRILL_WHY_CHANGED, DRILL_WHY_ROTATION,
	DRILL_WHY_FULL };

/* A regular file of a snapshot, as its tree records it. */
struct drill_file {
	char *path;
	uint64_t size;
	int64_t mtime_s;
	uint32_t mtime_ns, mode, uid, gid;
	uint64_t hash;		/* keyed hash of the path: the rotation's order */
	uint8_t content;	/* enum tree_content */
	uint8_t id[32];		/* chunk-list root (TREE_CONTENT_LIST) */
	uint32_t nrefs;		/* inline chunk refs (TREE_CONTENT_INLINE) */
	uint8_t *refs;
	uint8_t why;		/* enum drill_why */
	uint8_t changed;	/* changed since the previous drill's snapshot */
	uint8_t too_big;	/* costs more than the budget: told once, never taken */
};

struct drill_files {
	struct drill_file *v;
	size_t n, cap;
	uint64_t bytes;
	struct drill_file **byname;	/* drill_files_index */
};

/* drill_files_add(fs, path, e, key): append the file entry ${e} at ${path}, its hash keyed
 * by ${key}. 0 or CF_ENOMEM. */
int drill_files_add(struct drill_files *fs, const char *path, const struct tree_entry *e,
	const uint8_t key[32]);
/* drill_files_walk(load, lctx, root, key, problem, pctx, ret, err): every regular file of the
 * tree ${root}; a subtree that cannot be read is told to ${problem} and left out. Returns 0,
 * or CF_E* when the root itself cannot be read. */
int drill_files_walk(tree_load_fn load, void *lctx, const uint8_t root[32], const uint8_t key[32],
	void (*problem)(void *ctx, const char *path, int code, const char *msg), void *pctx,
	struct drill_files *ret, struct cf_error *err);
/* drill_files_index(fs): sort a view by path for drill_files_find (again after adding);
 * 0 or CF_ENOMEM. drill_files_find(fs, path): the file at ${path}, or NULL. */
int drill_files_index(struct drill_files *fs);
struct drill_file *drill_files_find(const struct drill_files *fs, const char *path);
/* drill_file_entry(f, ret): the tree entry of ${f} for tree_walk_refs (borrows f). */
void drill_file_entry(const struct drill_file *f, struct tree_entry *ret);
void drill_files_free(struct drill_files *fs);

/* drill_is_db_name(path): 1 when the name ends in .db, .sqlite or .sqlite3 (any case). */
int drill_is_db_name(const char *path);
/* drill_is_dump_path(path): 1 for a database dump of a backup, /databases/NAME/DB.sql. */
int drill_is_dump_path(const char *path);

/* The choice within a budget. ${cost} says what a file would add (its frames not charged
 * yet), ${charge} charges them once it is taken; ${skipped} is told of a file that alone
 * exceeds the whole limit (it is never taken within it). */
struct drill_chooser {
	int (*cost)(void *ctx, const struct drill_file *f, uint64_t *ret);
	int (*charge)(void *ctx, const struct drill_file *f);
	void (*skipped)(void *ctx, const struct drill_file *f, uint64_t cost);
	void *ctx;
	uint64_t limit, used;
};
/* drill_take(c, f, why): take ${f} if it fits. 1 taken (or taken already), 0 it does not fit
 * what is left, 2 it exceeds the whole limit (skipped told the first time only), or CF_E*
 * from cost or charge. */
int drill_take(struct drill_chooser *c, struct drill_file *f, int why);
/* drill_choose(c, fs, ret_counts): the databases (by name, and the dumps), then the files
 * marked changed, in the order of ${fs}, each while it fits. Returns 0 or CF_E*. */
int drill_choose(struct drill_chooser *c, struct drill_files *fs, struct drill_counts *ret_counts);
/* drill_rotate(c, fs, cursor, ret_n): the files in the order of their hash, from the first
 * after *${cursor} round to it, taking each that fits, until one does not; *${cursor} ends
 * at the last file passed (taken, chosen already, or skipped as too large). Returns 0 or
 * CF_E*. */
int drill_rotate(struct drill_chooser *c, struct drill_files *fs, uint64_t *cursor, uint64_t *ret_n);

/* ---- checks of restored files and the scratch folder (drill_check.c) ---- */

/* drill_sqlite_magic(path): 1 when the file starts with "SQLite format 3\0". */
int drill_sqlite_magic(const char *path);
/* drill_sqlite_check(path, ret_msg): PRAGMA integrity_check on ${path}, opened read-only.
 * 0 when it says ok; else 1 and ${ret_msg} (malloc'd) its first lines, or why it could not
 * run. */
int drill_sqlite_check(const char *path, char **ret_msg);
/* drill_check_meta(path, f, as_root, ret_msg, cap): 0 when the restored file ${path} has the
 * size, mode (setuid/setgid aside: a restore leaves them out), modification time and, with
 * ${as_root}, owner of ${f}; else 1 and what differs in ${ret_msg}. */
int drill_check_meta(const char *path, const struct drill_file *f, int as_root, char *ret_msg,
	size_t cap);
/* drill_check_live(restored, f, ret_msg, cap): the live file ${f}->path, when it still has the
 * size and modification time the snapshot recorded, against the restored copy, by SHA-256:
 * 1 compared and equal, 0 not compared (changed since, gone, unreadable), -1 they differ
 * (${ret_msg} says how). */
int drill_check_live(const char *restored, const struct drill_file *f, char *ret_msg, size_t cap);
/* drill_scratch_remove(path): remove the folder ${path} and all below it, never following a
 * link, making folders writable on the way (a restore may leave some read-only). 0, or -1
 * with errno (ENOENT when there is nothing to remove). */
int drill_scratch_remove(const char *path);

/* ---- database dumps (drill_dump.c) ---- */

/* drill_dump_check(r, o, tag, snapshot, restored, path, load, ret_msg): proves the dump
 * ${path} of ${snapshot}, restored at ${restored}: its trailer, then, with ${load}, a load
 * into a scratch database of its server in o->dbs (dbdump_scratch_load, scratch names tagged
 * ${tag}); the outcome added to r->dumps. 0 proven; 1 it is not (${*ret_msg} says why,
 * malloc'd); CF_ECANCELED (the scratch database dropped), CF_ENOMEM. */
int drill_dump_check(struct drill_report *r, const struct drill_opts *o, const char *tag,
	const char *snapshot, const char *restored, const char *path, int load, char **ret_msg);

/* ---- the report (drill_report.c) ---- */

/* drill_classify(msg): the kind of a restore's problem message. */
int drill_classify(const char *msg);
/* drill_fail(r, kind, snapshot, path, msg): add a failure (counted always, listed up to
 * DRILL_MAX_FAILURES); 0 or CF_ENOMEM. */
int drill_fail(struct drill_report *r, int kind, const char *snapshot, const char *path,
	const char *msg);
/* drill_warn(r, fmt, ...): add a warning; 0 or CF_ENOMEM. */
int drill_warn(struct drill_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* drill_dump_add(r, d): add a copy of ${d} to r->dumps, counted by its proof; 0 or
 * CF_ENOMEM. */
int drill_dump_add(struct drill_report *r, const struct drill_dump *d);
/* drill_list(r, path): add a path to r->drilled; 0 or CF_ENOMEM. */
int drill_list(struct drill_report *r, const char *path);

#endif
