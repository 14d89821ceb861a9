/* backup_internal.h: what the backup files share: the state of one run and the entries on
 * their way into their directory's tree. backup.c sets a run up and commits its snapshot;
 * scan.c walks the folders (scan_sqlite.c gives it consistent copies of databases);
 * backup_parent.c matches entries with the parent snapshot; backup_tree.c assembles the
 * directory trees; backup_store.c reads content, chunks it and hands it to the packer.
 * Calls go one way: backup.c -> scan.c -> backup_tree.c -> backup_store.c (which backup.c
 * and scan.c call too); backup_parent.c and scan_sqlite.c call none of the others. One
 * thread (the caller's) uses a struct run; the packer's workers and the index commit only
 * run beside it. */
#ifndef COFFRE_BACKUP_INTERNAL_H
#define COFFRE_BACKUP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "base/util.h"
#include "coffre/backup.h"
#include "coffre/error.h"
#include "coffre/tree.h"

struct blob_reader;
struct blobidx;
struct packer;
struct packer_batch;
struct repo;
struct snap;
struct sqlite3;
struct stat;
struct tree_iter;

/* A helper's result besides 0 and CF_E*: the entry could not be read, a warning says so and
 * it is left out of the snapshot (the run goes on, and ends partial). */
#define BACKUP_SKIPPED 1

struct run {
	struct repo *r;
	const struct backup_opts *o;
	struct blobidx *x;
	struct blob_reader *br;
	struct packer *pk;
	struct backup_stats st;
	uint64_t t0, last_progress;
	struct packer_batch *cur;	/* the batch being filled */
	size_t batch_cap, batch_slots;
	/* An index commit under way on a thread of its own (the caller's goes on reading). */
	pthread_t committer;
	int committing, commit_rc;
	struct cf_error commit_err;
	/* A run of zero bytes at a chunk start always cuts at the same length: sparse files and
	 * zeroed regions skip the chunker and the hash. */
	size_t zero_len;
	uint8_t zero_id[32];
	/* The parent snapshot's paths when they differ from this run's (NULL when the same):
	 * only below them does the parent hold whole folders. */
	char *const *parent_paths;
	size_t parent_npaths;
	/* The profile of the file being read (a changed one), fed by bstore_read; NULL when
	 * none is wanted. */
	struct detect_profile *prof;
	/* Shown every byte bstore_read reads when set (a database dump's trailer). */
	void (*tap)(void *ctx, const void *p, size_t n);
	void *tap_ctx;
	int dbs_done;		/* the databases folder is in the root tree */
	struct cf_error *err;
};

/* backup_detect.c: a changed file's previous version's profile (bdetect_before: 0, or -1
 * when it cannot be read, e.g. its packs were cleared from the spool), and the marks of a
 * read file (bdetect_after: counts them in R->st). bdetect_before also gives the packer's
 * second opinion on the file (${*ret_seal}, or NULL when its refs cannot be listed), which
 * hears of each of the file's chunks as the workers give them back (bdetect_seal_chunk) and
 * counts its mark once the file is whole (bdetect_seal_end). */
struct bseal;
struct detect_profile;
struct packer_chunk;
int bdetect_before(struct run *R, const struct tree_entry *pe, const char *path,
	struct detect_profile *ret, struct bseal **ret_seal);
void bdetect_after(struct run *R, const char *path, const struct detect_profile *before,
	struct detect_profile *after, struct bseal *seal);
void bdetect_seal_chunk(struct run *R, struct bseal *s, const struct packer_chunk *c);
void bdetect_seal_end(struct run *R, const struct bseal *s);
void bdetect_seal_free(struct bseal *s);
void bdetect_new(struct run *R, const char *path, const char *name);

/* Is ${p} equal to ${dir} or below it? ("/" holds everything.) */
static inline int backup_under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

/* backup_cancelled(R): non-zero once the caller asked the run to stop. */
static inline int backup_cancelled(const struct run *R)
{
	return R->o->cancel && atomic_load(R->o->cancel);
}

/* backup_warn(R, path, msg, e): count a warning and pass "${msg}: strerror(${e})" (just
 * ${msg} when ${e} is 0) to the caller's warn callback. */
static inline void backup_warn(struct run *R, const char *path, const char *msg, int e)
{
	R->st.warnings++;
	if (R->o->warn) {
		char line[1024];
		snprintf(line, sizeof line, "%s%s%s", msg, e ? ": " : "", e ? strerror(e) : "");
		R->o->warn(R->o->ctx, path, line);
	}
}

/* ---- scan.c: the folder walk ---- */

/* scan_root(R, paths, np, parent_tree, ret_tree): walk the ${np} sorted absolute ${paths}
 * (none inside another) into the snapshot's root tree, under their absolute names; the
 * folders on the way to them are taken from their own metadata. ${parent_tree} is the parent
 * snapshot's root, or NULL. Returns 0 with ${ret_tree} set, or CF_E* (a path given to back up
 * that cannot be read is an error; anything below it is a warning). */
int scan_root(struct run *R, char *const *paths, size_t np, const uint8_t *parent_tree,
	uint8_t ret_tree[32]);

/* ---- scan_sqlite.c: consistent reads of SQLite databases ---- */

/* scan_sqlite_is(fd): 1 when ${fd} starts with the SQLite header. */
int scan_sqlite_is(int fd);
/* scan_sqlite_hold(dirfd, name, fd, path): for a database in rollback-journal mode (${fd},
 * opened from ${name} in ${dirfd} and checked; ${path} names it), a connection holding
 * a read transaction on it (no writer can commit while it is open), or NULL (a WAL database,
 * or the transaction could not be had). Release it with scan_sqlite_release before closing
 * any descriptor on the file: closing one drops the process's locks. */
struct sqlite3 *scan_sqlite_hold(int dirfd, const char *name, int fd, const char *path);
/* scan_sqlite_release(db): end the transaction and close; NULL does nothing. */
void scan_sqlite_release(struct sqlite3 *db);
/* scan_sqlite_copy(r, dirfd, name, fd, path, ret_fd, err): a consistent copy of the database
 * open as ${fd} (as for scan_sqlite_hold) through SQLite's online backup API, in an unnamed
 * place in ${r}'s cache. SQLite reads the checked descriptor, never the file ${path} names
 * now (it may have been swapped for a link since). Returns 0 with ${*ret_fd}
 * an open descriptor on the copy (the caller closes it), or -1 when no copy could be made
 * (the file is then read as it is); or CF_ENOMEM. Takes SQLite's own locks: a writer may
 * wait on them a moment. */
int scan_sqlite_copy(struct repo *r, int dirfd, const char *name, int fd, const char *path,
	int *ret_fd, struct cf_error *err);
/* scan_sqlite_companion(dirfd, name): 1 when ${name} is the journal, WAL or shared-memory
 * file of an SQLite database in ${dirfd}: its consistent copy holds what they do, and a
 * stale journal restored beside the copy would be rolled back into it. */
int scan_sqlite_companion(int dirfd, const char *name);

/* ---- backup_parent.c: the parent snapshot ---- */

/* bparent_pick(list, nlist, host, paths, np): the parent among the ${nlist} snapshots (oldest
 * first): ${host}'s latest of the same ${paths}; failing that (a folder was added to or
 * removed from the set), its latest sharing the most of them, so that the folders still
 * backed up are not read again. NULL when none shares any. Borrowed from ${list}. */
const struct snap *bparent_pick(struct snap *const *list, size_t nlist, const char *host,
	char *const *paths, size_t np);
/* bparent_same_paths(s, paths, n): 1 when ${s} backed up exactly the sorted ${paths}. */
int bparent_same_paths(const struct snap *s, char *const *paths, size_t n);

/* The parent's entries of one directory, looked up in name order. */
struct bparent_dir {
	struct tree_iter *it;	/* NULL: no parent, or it could not be read */
	struct tree_entry e;
	int have, done;
};
/* bparent_open(R, pd, tree): iterate the parent's directory ${tree} (NULL: none). An
 * unreadable parent only costs reading again: no error. */
void bparent_open(struct run *R, struct bparent_dir *pd, const uint8_t *tree);
/* bparent_find(pd, name): the parent's entry ${name}, or NULL. Names must come in strictly
 * increasing order. The entry is borrowed until the next call. */
const struct tree_entry *bparent_find(struct bparent_dir *pd, const char *name);
void bparent_close(struct bparent_dir *pd);
/* bparent_reuse_file(e, pe, st): when the file ${st} is unchanged since its parent entry
 * ${pe} (size, mtime, ctime and inode equal), give ${e} the parent's content and xattrs and
 * return 1; else 0. */
int bparent_reuse_file(struct tree_entry *e, const struct tree_entry *pe, const struct stat *st);
/* bparent_reuse_dir(R, e, pe, st, path): when the caller's clean callback says nothing
 * changed at or below the folder ${path} since the parent, which holds it whole, give ${e}
 * the parent's subtree and xattrs and return 1; else 0. */
int bparent_reuse_dir(struct run *R, struct tree_entry *e, const struct tree_entry *pe,
	const struct stat *st, const char *path);

/* ---- backup_tree.c: directory trees ---- */

/* A file's content: the first refs stay inline; past TREE_INLINE_MAX they go to a list
 * tree. */
struct content {
	struct buf inl;
	uint32_t n;
	struct tree_builder *list;
};

/* An entry of a directory that cannot go into its tree yet: a file whose chunks are still
 * with the workers, or any entry after one. Owns copies of what it points to. */
struct pend {
	struct pend *next;
	struct tree_entry e;
	struct buf own;		/* name, target, xattrs, inline refs of a copied entry */
	struct buf xa;		/* a read file's extended attributes */
	struct content c;	/* a read file's refs so far */
	uint64_t nsub, ncons;	/* chunks submitted, and taken back in order */
	uint64_t ignore;	/* chunks of earlier reads of the file (it changed): dropped */
	int read;		/* the content comes from chunks */
	int reading;		/* more chunks may come */
	int skip;		/* the file could not be read: no entry */
	struct bseal *seal;	/* a changed file's second opinion, or NULL */
};

/* A directory's entries on their way into its tree, in name order. */
struct dirq {
	struct tree_builder *b;
	struct pend *head, **tail;
	size_t n;	/* entries in the queue */
};

/* btree_dirq_init(R, q): an empty queue for a directory; 0 or CF_ENOMEM. Release it with
 * btree_dirq_release whatever this returns. */
int btree_dirq_init(struct run *R, struct dirq *q);
/* btree_dirq_add(R, q, e): add the entry ${e} (borrowed for the call): straight into the
 * tree unless entries wait before it. 0 or CF_E*. */
int btree_dirq_add(struct run *R, struct dirq *q, const struct tree_entry *e);
/* btree_dirq_add_file(q, e): queue the file ${e}, whose content is about to be read (its
 * chunks name the returned entry as their owner); NULL when out of memory. */
struct pend *btree_dirq_add_file(struct dirq *q, const struct tree_entry *e);
/* btree_dirq_flush(R, q): move the complete entries at the head of ${q} into its tree. */
int btree_dirq_flush(struct run *R, struct dirq *q);
/* btree_dirq_finish(R, q, ret_tree): every entry in the tree (waiting for the workers),
 * which is stored; 0 with ${ret_tree} its id, or CF_E*. */
int btree_dirq_finish(struct run *R, struct dirq *q, uint8_t ret_tree[32]);
/* btree_dirq_release(q): free what the queue still holds. */
void btree_dirq_release(struct dirq *q);

/* ---- backup_store.c: content to the packer, blobs to the repository ---- */

/* bstore_init(R): batch sizes and the zero-run chunk for R->r; 0 or CF_ENOMEM. */
int bstore_init(struct run *R);
/* bstore_claim: the packer's claim function, on a struct blobidx (called from the workers). */
int bstore_claim(void *ctx, const uint8_t id[32]);
/* bstore_tree: store a tree node (a tree_store_fn on a struct run): 0 or CF_E*. */
int bstore_tree(void *ctx, const uint8_t *data, size_t n, uint8_t ret_id[32],
	struct cf_error *err);
/* bstore_read(R, fd, path, size, pf, ret_total): chunk everything ${fd} holds into batches
 * for the workers, on behalf of ${pf}. With ${size} not 0, the file is taken to end there:
 * the read that would find the end is saved (a file that grew meanwhile has a new size, and
 * the caller reads it again). Returns 0 with ${*ret_total} the bytes cut, BACKUP_SKIPPED (a
 * read error, warned) or CF_E*. */
int bstore_read(struct run *R, int fd, const char *path, uint64_t size, struct pend *pf,
	uint64_t *ret_total);
/* bstore_content_reset(c): forget the refs gathered so far (the file is read again). */
void bstore_content_reset(struct content *c);
/* bstore_drain(R): every chunk read so far hashed, stored and given to its file. */
int bstore_drain(struct run *R);
/* bstore_finish(R): every blob in a finished pack, every pack in a committed index object;
 * after it, what the run stored is durable. 0 or CF_E*. */
int bstore_finish(struct run *R);
/* bstore_release(R): wait for an index commit still under way (after a failure). */
void bstore_release(struct run *R);

/* ---- backup_db.c: database dumps ---- */

/* bdb_add(R, q): the folder DBDUMP_DIR of the snapshot's root, holding a dump of each
 * database of R->o->dbs, added to the root's queue ${q} (entries before it in name order
 * must be in already). A dump that cannot be made whole is left out with a warning. Returns
 * 0 or CF_E* (out of memory, the run cancelled, the repository failing). */
int bdb_add(struct run *R, struct dirq *q);

#endif
