/* backup.c: the backup data path. Unchanged files (size, mtime, ctime, inode equal to the
 * parent snapshot's entry) reuse their content references without being read; changed ones
 * are chunked, and only chunks no index knows are compressed, sealed and packed. */
#include "coffre/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "coffre/blob.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "coffre/packer.h"
#include "coffre/snap.h"
#include "coffre/tree.h"
#include "coffre/tree_walk.h"
#include "store/repo_internal.h"

/* Content goes to the workers in batches of 1 MiB, or of four maximal chunks when they are
 * larger: a batch must hold a whole chunk window, and more only costs memory. Small files
 * share a batch; a batch holds at most one chunk per BATCH_SLOT_BYTES. */
#define READ_BUF_MIN (1u << 20)
#define BATCH_SLOT_BYTES 512
/* Restore walks at most TREE_WALK_MAX_DEPTH levels: deeper folders are refused at backup time. */
#define MAX_DEPTH (TREE_WALK_MAX_DEPTH - 2)

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
	dev_t repo_dev;
	ino_t repo_ino;
	/* The parent snapshot's paths when they differ from this run's (NULL when the same):
	 * only below them does the parent hold whole folders. */
	char *const *parent_paths;
	size_t parent_npaths;
	struct cf_error *err;
};

static int cancelled(struct run *R)
{
	return R->o->cancel && atomic_load(R->o->cancel);
}

static void progress(struct run *R, int force)
{
	if (!R->o->progress)
		return;
	uint64_t now = util_now_ns();
	if (!force && now - R->last_progress < 250000000u)
		return;
	R->last_progress = now;
	R->st.duration = (double)(now - R->t0) / 1e9;
	R->o->progress(R->o->ctx, &R->st);
}

static void warn(struct run *R, const char *path, const char *fmt, int e)
{
	R->st.warnings++;
	if (R->o->warn) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s%s%s", fmt, e ? ": " : "", e ? strerror(e) : "");
		R->o->warn(R->o->ctx, path, msg);
	}
}

static void *commit_main(void *arg)
{
	struct run *R = arg;
	R->commit_rc = blobidx_commit(R->x, &R->commit_err);
	return NULL;
}

/* Waits for the index commit under way, if any. */
static int commit_wait(struct run *R)
{
	if (!R->committing)
		return 0;
	pthread_join(R->committer, NULL);
	R->committing = 0;
	if (R->commit_rc && R->err)
		*R->err = R->commit_err;
	return R->commit_rc;
}

/* Records the packs the workers finished (all of them, waiting, when ${wait}) for the
 * index; every INDEX_PACKS packs an index object is written, so that what the run holds in
 * memory for it stays bounded however large the backup. It is written and recorded in the
 * cache (a few tenths of a second) on a thread of its own, one at a time: meanwhile this
 * thread goes on feeding the workers. The entries, the object and its compressed and sealed
 * copies are what a commit holds, on top of the batches in flight: 16 packs put the initial
 * backup of the medium tree at 38-48 MiB peak, 8 at 31-33 MiB, for the same CPU time. */
#define INDEX_PACKS 8
static int take_packs(struct run *R, int wait)
{
	struct blob_pack *packs = NULL;
	size_t n = 0;
	int rc = wait ? packer_flush(R->pk, &packs, &n, R->err)
		      : packer_take(R->pk, &packs, &n, R->err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = blobidx_add_pack(R->x, packs[i].id, packs[i].e, packs[i].n, R->err);
		packs[i].e = NULL;
	}
	blob_packs_free(packs, n);
	if (rc == 0 && blobidx_pending_packs(R->x) >= INDEX_PACKS && (rc = commit_wait(R)) == 0) {
		if (pthread_create(&R->committer, NULL, commit_main, R) == 0)
			R->committing = 1;
		else
			rc = blobidx_commit(R->x, R->err);
	}
	return rc;
}

/* Whether a worker must store the chunk ${id} (packer_claim_fn). */
static int claim_blob(void *ctx, const uint8_t id[32])
{
	return blobidx_claim(ctx, id);
}

static int finish_pack(struct run *R)
{
	return take_packs(R, 1);
}

/* Queues a blob for the workers unless some index (or this run) already has it. */
static int store_blob(struct run *R, int type, const uint8_t id[32], const void *p, size_t n)
{
	int rc = blobidx_claim(R->x, id);
	if (rc <= 0)
		return rc ? cf_error_set(R->err, rc, "out of memory") : 0;
	if ((rc = packer_add(R->pk, type, id, p, n, R->err)))
		return rc;
	R->st.bytes_added += n;
	if (type == BLOB_DATA)
		R->st.data_blobs++;
	else
		R->st.tree_blobs++;
	/* A pack holds about 2,000 blobs: looking every 256 finds each soon enough. */
	if ((R->st.data_blobs + R->st.tree_blobs) % 256 == 0)
		return take_packs(R, 0);
	return 0;
}

static int store_tree(void *ctx, const uint8_t *data, size_t n, uint8_t ret_id[32],
	struct cf_error *err)
{
	struct run *R = ctx;
	repo_blob_id(R->r, data, n, ret_id);
	return store_blob(R, BLOB_TREE, ret_id, data, n);
}

/* File content: the first refs stay inline; past TREE_INLINE_MAX they go to a list tree. */
struct content {
	struct buf inl;
	uint32_t n;
	struct tree_builder *list;
};

static int content_add(struct run *R, struct content *c, const uint8_t id[32], uint32_t len)
{
	if (!c->list && c->n < TREE_INLINE_MAX) {
		uint8_t rec[TREE_REF_BYTES];
		memcpy(rec, id, 32);
		le32_put(rec + 32, len);
		if (buf_append(&c->inl, rec, sizeof rec))
			return cf_error_set(R->err, CF_ENOMEM, "out of memory");
		c->n++;
		return 0;
	}
	int rc;
	if (!c->list) {
		if (tree_builder_new(0, NULL, store_tree, R, &c->list))
			return cf_error_set(R->err, CF_ENOMEM, "out of memory");
		for (uint32_t i = 0; i < c->n; i++) {
			const uint8_t *rec = c->inl.p + (size_t)i * TREE_REF_BYTES;
			if ((rc = tree_builder_add_ref(c->list, rec, le32_get(rec + 32), R->err)))
				return rc;
		}
	}
	return tree_builder_add_ref(c->list, id, len, R->err);
}

static int open_nofollow(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)	/* O_NOATIME needs ownership */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* Reads extended attributes as "u16 klen, key, u32 vlen, value" records, through ${fd} when
 * one is open (no path walk), else by ${path}. */
static void read_xattrs(int fd, const char *path, struct buf *out, uint16_t *ret_n)
{
	*ret_n = 0;
	char list[8192];
	ssize_t ln = fd >= 0 ? flistxattr(fd, list, sizeof list) : llistxattr(path, list, sizeof list);
	if (ln <= 0)
		return;
	static _Thread_local uint8_t val[TREE_XATTR_MAX];
	for (ssize_t i = 0; i < ln; i += (ssize_t)strlen(list + i) + 1) {
		const char *k = list + i;
		ssize_t vn = fd >= 0 ? fgetxattr(fd, k, val, sizeof val)
				     : lgetxattr(path, k, val, sizeof val);
		if (vn < 0 || out->len + strlen(k) + (size_t)vn + 6 > TREE_XATTR_MAX)
			continue;
		buf_put_u16(out, (uint16_t)strlen(k));
		buf_append(out, k, strlen(k));
		buf_put_u32(out, (uint32_t)vn);
		buf_append(out, val, (size_t)vn);
		(*ret_n)++;
	}
}

static int zero_run(const uint8_t *p, size_t n)
{
	static const uint8_t z[4096];
	for (; n >= sizeof z; p += sizeof z, n -= sizeof z)
		if (memcmp(p, z, sizeof z))
			return 0;
	return memcmp(p, z, n) == 0;
}

static void content_reset(struct content *c)
{
	c->inl.len = 0;
	c->n = 0;
	tree_builder_free(c->list);
	c->list = NULL;
}

/* ---- entries in order while their content is hashed on the workers ---- */

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
};

/* A directory's entries on their way into its tree, in name order. */
struct dirq {
	struct tree_builder *b;
	struct pend *head, **tail;
	size_t n;	/* entries in the queue */
};

/* Beyond this many waiting entries, the directory waits for the workers: its queue stays
 * small whatever its size. */
#define DIRQ_MAX 4096

static void pend_free(struct pend *p)
{
	if (!p)
		return;
	buf_free(&p->own);
	buf_free(&p->xa);
	buf_free(&p->c.inl);
	tree_builder_free(p->c.list);
	free(p);
}

static int pend_ready(const struct pend *p)
{
	return !p->reading && p->ncons == p->nsub;
}

/* A copy of ${e} (and of the bytes it borrows), at the tail of ${q}. */
static struct pend *pend_push(struct dirq *q, const struct tree_entry *e)
{
	struct pend *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->e = *e;
	size_t nrefs = e->type == TREE_FILE && e->content == TREE_CONTENT_INLINE ? e->nrefs : 0;
	if (buf_reserve(&p->own, e->namelen + 1 + e->targetlen + 1 + e->xattrslen +
					 nrefs * TREE_REF_BYTES + 1)) {
		free(p);
		return NULL;
	}
	uint8_t *o = p->own.p;
	memcpy(o, e->name, e->namelen);
	o[e->namelen] = 0;
	p->e.name = (const char *)o;
	o += e->namelen + 1;
	if (e->target) {
		memcpy(o, e->target, e->targetlen);
		o[e->targetlen] = 0;
		p->e.target = (const char *)o;
		o += e->targetlen + 1;
	}
	if (e->xattrslen) {
		memcpy(o, e->xattrs, e->xattrslen);
		p->e.xattrs = o;
		o += e->xattrslen;
	}
	if (nrefs) {
		memcpy(o, e->refs, nrefs * TREE_REF_BYTES);
		p->e.refs = o;
	}
	*q->tail = p;
	q->tail = &p->next;
	return p;
}

/* Moves the entries at the head of ${q} that are complete into its tree. */
static int dirq_flush(struct run *R, struct dirq *q)
{
	int rc = 0;
	while (rc == 0 && q->head && pend_ready(q->head)) {
		struct pend *p = q->head;
		if (!p->skip && p->read) {
			struct content *c = &p->c;
			if (c->list) {
				rc = tree_builder_finish(c->list, p->e.id, R->err);
				p->e.content = TREE_CONTENT_LIST;
			} else {
				p->e.content = c->n ? TREE_CONTENT_INLINE : TREE_CONTENT_NONE;
				p->e.nrefs = c->n;
				p->e.refs = c->inl.p;
			}
		}
		if (rc == 0 && !p->skip)
			rc = tree_builder_add_entry(q->b, &p->e, R->err);
		q->head = p->next;
		if (!q->head)
			q->tail = &q->head;
		q->n--;
		pend_free(p);
	}
	return rc;
}

static int drain(struct run *R);

/* Adds ${e} to the directory: straight into its tree unless entries wait before it. */
static int dirq_add(struct run *R, struct dirq *q, const struct tree_entry *e)
{
	int rc;
	if (q->n >= DIRQ_MAX && ((rc = drain(R)) || (rc = dirq_flush(R, q))))
		return rc;
	if (!q->head)
		return tree_builder_add_entry(q->b, e, R->err);
	if (!pend_push(q, e))
		return cf_error_set(R->err, CF_ENOMEM, "out of memory");
	q->n++;
	return 0;
}

/* Every entry of the directory in its tree (the workers done with its files). */
static int dirq_finish(struct run *R, struct dirq *q, uint8_t ret_tree[32])
{
	int rc = drain(R);
	if (rc == 0)
		rc = dirq_flush(R, q);
	if (rc == 0 && q->head)
		rc = cf_error_set(R->err, CF_EIO, "internal error: entries left behind");
	return rc ? rc : tree_builder_finish(q->b, ret_tree, R->err);
}

static void dirq_release(struct dirq *q)
{
	while (q->head) {
		struct pend *p = q->head;
		q->head = p->next;
		pend_free(p);
	}
	q->tail = &q->head;
	q->n = 0;
	tree_builder_free(q->b);
	q->b = NULL;
}

/* Takes back the batches the workers are done with, in order, and gives each file its
 * refs: with ${wait} 0 only those done already, 1 at least one if any is out, 2 all. */
static int take_batches(struct run *R, int wait)
{
	struct packer_batch *b;
	int rc;
	while ((rc = packer_batch_next(R->pk, wait != 0, &b, R->err)) == 0 && b) {
		for (size_t i = 0; rc == 0 && i < b->n; i++) {
			const struct packer_chunk *c = &b->c[i];
			struct pend *p = c->owner;
			if (c->flags & PACKER_STORED) {
				R->st.bytes_added += c->len;
				R->st.data_blobs++;
			}
			if (++p->ncons > p->ignore && !p->skip)
				rc = content_add(R, &p->c, c->id, c->len);
		}
		packer_batch_put(R->pk, b);
		if (rc == 0)
			rc = take_packs(R, 0);
		if (rc || wait == 1)
			break;
	}
	return rc;
}

/* Hands the batch being filled to the workers. */
static int submit_batch(struct run *R)
{
	struct packer_batch *b = R->cur;
	R->cur = NULL;
	if (!b)
		return 0;
	if (b->n == 0) {
		packer_batch_put(R->pk, b);
		return 0;
	}
	return packer_batch_submit(R->pk, b, R->err);
}

/* Every chunk read so far hashed, stored and given to its file. */
static int drain(struct run *R)
{
	int rc = submit_batch(R);
	return rc ? rc : take_batches(R, 2);
}

/* A batch to fill (R->cur), taking done ones back to make room. */
static int need_batch(struct run *R)
{
	int rc = take_batches(R, 0);
	while (rc == 0 && !R->cur) {
		R->cur = packer_batch_get(R->pk, R->batch_cap, R->batch_slots);
		if (!R->cur)
			rc = take_batches(R, 1);
	}
	return rc;
}

/* Chunks everything ${fd} holds into batches for the workers, on behalf of ${pf}. With
 * ${size} not 0, the file is taken to end there: the read that would find the end is saved
 * (a file that grew meanwhile has a new size, and the caller reads it again). Returns 0,
 * 1 (read error, warned) or CF_E*. */
static int read_stream(struct run *R, int fd, const char *path, uint64_t size, struct pend *pf,
	uint64_t *ret_total)
{
	const struct chunker *ck = &R->r->chunker;
	uint64_t total = 0;
	int eof = 0, rc;
	if ((rc = need_batch(R)))
		return rc;
	struct packer_batch *b = R->cur;
	size_t start = b->len;	/* the first byte not cut yet */
	for (;;) {
		while (!eof && b->len < b->cap) {
			ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				warn(R, path, "cannot read", errno);
				b->len = start;
				return 1;
			}
			if (n == 0)
				eof = 1;
			b->len += (size_t)n;
			R->st.bytes_read += (uint64_t)n;
			if (size && total + (b->len - start) >= size)
				eof = 1;
		}
		/* Cut while a full max-size window is available, or to the end at EOF. */
		while (b->len > start && (eof || b->len - start >= ck->max) && b->n < b->capn) {
			struct packer_chunk *c = &b->c[b->n++];
			size_t len;
			c->flags = 0;
			if (b->len - start >= ck->max && zero_run(b->data + start, R->zero_len)) {
				len = R->zero_len;
				memcpy(c->id, R->zero_id, 32);
				c->flags = PACKER_HASHED;
			} else {
				len = chunk_cut(ck, b->data + start, b->len - start);
			}
			c->off = (uint32_t)start;
			c->len = (uint32_t)len;
			c->owner = pf;
			pf->nsub++;
			start += len;
			total += len;
		}
		if (eof && start == b->len)
			break;
		if (b->len < b->cap && b->n < b->capn)
			continue;
		/* Full: the bytes not cut yet start the next batch. */
		struct packer_batch *full = b;
		R->cur = NULL;
		if ((rc = need_batch(R))) {
			packer_batch_put(R->pk, full);
			return rc;
		}
		b = R->cur;
		memcpy(b->data, full->data + start, full->len - start);
		b->len = full->len - start;
		full->len = start;
		start = 0;
		R->cur = full;
		if ((rc = submit_batch(R)))
			return rc;
		R->cur = b;
		progress(R, 0);
		if (cancelled(R))
			return cf_error_set(R->err, CF_EIO, "interrupted");
	}
	*ret_total = total;
	return 0;
}

static int is_sqlite(int fd)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	return pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
	       memcmp(head, magic, sizeof head) == 0;
}

/* A database in rollback-journal mode is read in place under a read transaction: no writer
 * can commit while it is open, so its bytes are consistent without the cost of a copy. Not a
 * WAL database (header byte 18 is 2): its newest pages may be in the -wal file. Returns the
 * connection holding the transaction (close it before any descriptor on the file: closing
 * one drops the process's locks), or NULL. */
static sqlite3 *sqlite_hold(int fd, const char *path)
{
	uint8_t head[100];
	if (pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head || head[18] != 1)
		return NULL;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "BEGIN; SELECT count(*) FROM sqlite_master;", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void sqlite_release(sqlite3 *db)
{
	if (!db)
		return;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
}

/* A consistent copy of an SQLite database through SQLite's online backup API (it reads
 * under the database's own locks, WAL included), in an unnamed place in the cache.
 * Returns an open descriptor on the copy, or -1 (then the file is read as it is). */
static int sqlite_snapshot(struct run *R, const char *path)
{
	char *cache = repo_cache_dir(R->r);
	uint8_t rnd[8];
	char hex[17];
	randombytes_buf(rnd, sizeof rnd);
	util_hex(hex, rnd, sizeof rnd);
	char *tmp = cache ? util_path("%s/sqlite-copy-%s.db", cache, hex) : NULL;
	free(cache);
	if (!tmp)
		return -1;
	sqlite3 *src = NULL, *dst = NULL;
	int fd = -1;
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) ==
		    SQLITE_OK) {
		sqlite3_busy_timeout(src, 10000);
		sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
		int rc = SQLITE_ERROR;
		if (b) {
			do {
				rc = sqlite3_backup_step(b, -1);
			} while (rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
			sqlite3_backup_finish(b);
		}
		if (rc == SQLITE_DONE)
			fd = open(tmp, O_RDONLY | O_CLOEXEC);
	}
	sqlite3_close(src);
	sqlite3_close(dst);
	unlink(tmp);
	char *j = util_path("%s-journal", tmp);
	if (j)
		unlink(j);
	free(j);
	free(tmp);
	return fd;
}

/* Reads a changed file into batches for the workers and fills ${pf}'s entry but its
 * content (its refs come as the batches are taken back). A file that changes while it is
 * read is read again (a few tries); an SQLite database is read from a consistent copy.
 * Returns 0, 1 (skipped with a warning) or CF_E*. */
static int read_file(struct run *R, int dirfd, const char *name, const char *path,
	struct pend *pf)
{
	struct tree_entry *e = &pf->e;
	struct buf *xa = &pf->xa;
	for (int attempt = 0;; attempt++) {
		int fd = open_nofollow(dirfd, name);
		if (fd < 0) {
			warn(R, path, "cannot open", errno);
			return 1;
		}
		struct stat st;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			warn(R, path, "changed type while being read", 0);
			return 1;
		}
		R->st.current = path;
		sqlite3 *hold = NULL;
		int copy = -1;
		if (is_sqlite(fd) && !(hold = sqlite_hold(fd, path)))
			copy = sqlite_snapshot(R, path);
		int held = hold != NULL;
		uint64_t total = 0;
		/* A database is read to its end as it is under the lock (it may have grown
		 * since the fstat), or as its copy is. */
		int rc = read_stream(R, copy >= 0 ? copy : fd, path,
			copy >= 0 || held ? 0 : (uint64_t)st.st_size, pf, &total);
		if (copy >= 0)
			close(copy);
		if (rc) {
			sqlite_release(hold);
			close(fd);
			return rc;
		}
		read_xattrs(fd, path, xa, &e->nxattrs);
		struct stat st2;
		int changed = fstat(fd, &st2) != 0 || st2.st_size != st.st_size ||
			      st2.st_mtim.tv_sec != st.st_mtim.tv_sec ||
			      st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec ||
			      (copy < 0 && (off_t)total != st.st_size);
		sqlite_release(hold);
		close(fd);
		/* A database copy, or one read under its lock, is consistent whatever happened to
		 * the file's times meanwhile. */
		if (copy >= 0 || held)
			changed = 0;
		if (changed && attempt < 2 && !cancelled(R)) {
			pf->ignore = pf->nsub;
			content_reset(&pf->c);
			xa->len = 0;
			continue;
		}
		if (changed)
			warn(R, path, "changed while being read, three times (the snapshot holds "
				      "the last read)", 0);
		/* Metadata from before the read: if the file changed, the next run reads it
		 * again. */
		e->mode = st.st_mode & 07777;
		e->uid = st.st_uid;
		e->gid = st.st_gid;
		e->nlink = (uint32_t)st.st_nlink;
		e->mtime_s = st.st_mtim.tv_sec;
		e->mtime_ns = (uint32_t)st.st_mtim.tv_nsec;
		e->ctime_s = changed ? 0 : st.st_ctim.tv_sec;
		e->ctime_ns = changed ? 0 : (uint32_t)st.st_ctim.tv_nsec;
		e->ino = st.st_ino;
		e->dev = st.st_dev;
		e->size = total;
		e->xattrs = xa->p;
		e->xattrslen = xa->len;
		return 0;
	}
}

static void fill_stat(struct tree_entry *e, const struct stat *st)
{
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->nlink = (uint32_t)st->st_nlink;
	e->mtime_s = st->st_mtim.tv_sec;
	e->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	e->ctime_s = st->st_ctim.tv_sec;
	e->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
	e->ino = st->st_ino;
	e->dev = st->st_dev;
	e->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
}

static int excluded(struct run *R, const char *name, const char *path)
{
	for (size_t i = 0; i < R->o->nexcludes; i++) {
		const char *g = R->o->excludes[i];
		if (fnmatch(g, strchr(g, '/') ? path : name, 0) == 0)
			return 1;
	}
	return 0;
}

/* The journal, WAL and shared-memory files of an SQLite database: its consistent copy holds
 * what they do, and a stale journal restored beside the copy would be rolled back into it. */
static int sqlite_companion(int dirfd, const char *name)
{
	static const char *const suffix[] = { "-journal", "-wal", "-shm" };
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
		size_t k = strlen(suffix[i]);
		if (n <= k || strcmp(name + n - k, suffix[i]) != 0)
			continue;
		char base[TREE_NAME_MAX + 1];
		memcpy(base, name, n - k);
		base[n - k] = 0;
		int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return 0;
		struct stat st;
		int yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && is_sqlite(fd);
		close(fd);
		return yes;
	}
	return 0;
}

/* Is ${p} equal to ${dir} or below it? */
static int under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

/* Does the parent snapshot hold the folder ${path} whole? Not where it only holds the way
 * to some of its paths (it had /a/b, this run backs up /a). */
static int parent_whole(const struct run *R, const char *path)
{
	if (!R->parent_paths)
		return 1;
	for (size_t i = 0; i < R->parent_npaths; i++)
		if (under(path, R->parent_paths[i]))
			return 1;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scan_dir(struct run *R, int dirfd, const char *path, const uint8_t *parent_tree,
	int depth, uint8_t ret_tree[32]);

/* Looks the parent's entry named ${name} up, advancing the parent iterator (both sorted). */
static int parent_match(struct tree_iter *pit, struct tree_entry *pe, int *have, int *done,
	const char *name, struct cf_error *err)
{
	while (pit && !*done) {
		if (!*have) {
			int rc = tree_iter_next_entry(pit, pe, err);
			if (rc < 0)
				return rc;
			if (rc == 0) {
				*done = 1;
				break;
			}
			*have = 1;
		}
		int c = strcmp(pe->name, name);
		if (c == 0)
			return 1;
		if (c > 0)
			return 0;
		*have = 0;
	}
	return 0;
}

/* Adds the entry for ${name} in ${dirfd} to ${b}. */
static int scan_entry(struct run *R, struct dirq *q, int dirfd, const char *name,
	const char *path, const struct tree_entry *pe, int depth)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)	/* vanished since listed: not a problem */
			warn(R, path, "cannot stat", errno);
		return 0;
	}
	R->st.entries++;
	struct tree_entry e = { .name = name, .namelen = strlen(name) };
	struct buf xa = { 0 };
	char target[TREE_TARGET_MAX + 2];
	int rc = 0;
	fill_stat(&e, &st);
	if (S_ISREG(st.st_mode)) {
		e.type = TREE_FILE;
		if (pe && pe->type == TREE_FILE && pe->size == (uint64_t)st.st_size &&
		    pe->mtime_s == st.st_mtim.tv_sec && pe->mtime_ns == st.st_mtim.tv_nsec &&
		    pe->ctime_s == st.st_ctim.tv_sec && pe->ctime_ns == st.st_ctim.tv_nsec &&
		    pe->ino == st.st_ino) {
			/* Unchanged: same content and, ctime being equal, same xattrs. */
			e.content = pe->content;
			e.nrefs = pe->nrefs;
			e.refs = pe->refs;
			memcpy(e.id, pe->id, 32);
			e.nxattrs = pe->nxattrs;
			e.xattrs = pe->xattrs;
			e.xattrslen = pe->xattrslen;
			R->st.files_unchanged++;
			return dirq_add(R, q, &e);
		}
		struct pend *pf = pend_push(q, &e);
		if (!pf)
			return cf_error_set(R->err, CF_ENOMEM, "out of memory");
		q->n++;
		pf->read = pf->reading = 1;
		rc = read_file(R, dirfd, name, path, pf);
		pf->reading = 0;
		if (rc == 1)
			pf->skip = 1;
		else if (rc)
			return rc;
		else if (pe)
			R->st.files_changed++;
		else
			R->st.files_new++;
		return dirq_flush(R, q);
	} else if (S_ISDIR(st.st_mode)) {
		e.type = TREE_DIR;
		if (st.st_dev == R->repo_dev && st.st_ino == R->repo_ino)
			return 0;	/* never back the repository up into itself */
		if (pe && pe->type == TREE_DIR && R->o->clean && pe->mtime_s == st.st_mtim.tv_sec &&
		    pe->mtime_ns == st.st_mtim.tv_nsec && parent_whole(R, path) &&
		    R->o->clean(R->o->ctx, path)) {
			/* Nothing changed at or below (the watcher says so): the parent's
			 * subtree is this one, without reading it. */
			memcpy(e.id, pe->id, 32);
			e.nxattrs = pe->nxattrs;
			e.xattrs = pe->xattrs;
			e.xattrslen = pe->xattrslen;
			R->st.dirs_reused++;
			return dirq_add(R, q, &e);
		}
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			warn(R, path, "cannot open directory", errno);
			return 0;
		}
		rc = scan_dir(R, fd, path, pe && pe->type == TREE_DIR ? pe->id : NULL, depth + 1,
			e.id);
		read_xattrs(fd, path, &xa, &e.nxattrs);
		close(fd);
		if (rc == 1) {
			rc = 0;
			goto out;
		}
		if (rc)
			goto out;
	} else if (S_ISLNK(st.st_mode)) {
		e.type = TREE_SYMLINK;
		ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
		if (n <= 0 || n > TREE_TARGET_MAX) {
			warn(R, path, "cannot read symbolic link", n < 0 ? errno : ENAMETOOLONG);
			return 0;
		}
		target[n] = 0;
		e.target = target;
		e.targetlen = (size_t)n;
	} else if (S_ISFIFO(st.st_mode)) {
		e.type = TREE_FIFO;
	} else {
		return 0;	/* sockets and devices are not business data */
	}
	if (e.type == TREE_FIFO)
		read_xattrs(-1, path, &xa, &e.nxattrs);
	e.xattrs = xa.p;
	e.xattrslen = xa.len;
	rc = dirq_add(R, q, &e);
out:
	buf_free(&xa);
	return rc;
}

/* Returns 0 with ${ret_tree} set, 1 if the directory could not be read (warned), or CF_E*. */
static int scan_dir(struct run *R, int dirfd, const char *path, const uint8_t *parent_tree,
	int depth, uint8_t ret_tree[32])
{
	if (depth > MAX_DEPTH) {
		warn(R, path, "directory nesting too deep, skipped", 0);
		return 1;
	}
	int dfd = dup(dirfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		warn(R, path, "cannot read directory", errno);
		return 1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int rc = 0;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			void *p = realloc(names, cap * sizeof *names);
			if (!p) {
				rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
				break;
			}
			names = p;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	R->st.dirs++;
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	struct dirq q = { .tail = &q.head };
	struct tree_iter *pit = NULL;
	struct tree_entry pe;
	int have = 0, done = 0;
	if (rc == 0 && tree_builder_new(1, R->r->k->split, store_tree, R, &q.b))
		rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
	if (rc == 0 && parent_tree &&
	    tree_iter_new(1, parent_tree, blob_reader_load, R->br, &pit, NULL) != 0)
		pit = NULL;	/* an unreadable parent only costs re-reading */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *p = util_path("%s%s%s", path, strcmp(path, "/") ? "/" : "", names[i]);
		if (!p) {
			rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
			break;
		}
		if (!excluded(R, names[i], p) && !sqlite_companion(dirfd, names[i])) {
			int m = parent_match(pit, &pe, &have, &done, names[i], NULL);
			if (m < 0) {
				tree_iter_free(pit);
				pit = NULL;
				m = 0;
			}
			rc = scan_entry(R, &q, dirfd, names[i], p, m ? &pe : NULL, depth);
		}
		free(p);
		if (rc == 0 && cancelled(R))
			rc = cf_error_set(R->err, CF_EIO, "interrupted");
	}
	if (rc == 0)
		rc = dirq_finish(R, &q, ret_tree);
	dirq_release(&q);
	tree_iter_free(pit);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* ---- the snapshot root: the backed-up paths under their absolute names ---- */

static char *clean_abs(const char *p)
{
	char *cwd = NULL, *joined;
	if (p[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return NULL;
		joined = util_path("%s/%s", cwd, p);
		free(cwd);
	} else {
		joined = strdup(p);
	}
	if (!joined)
		return NULL;
	/* Lexical clean-up: collapse "//", "." and "..". */
	char *out = malloc(strlen(joined) + 2);
	size_t o = 0;
	if (!out) {
		free(joined);
		return NULL;
	}
	char *save = NULL;
	for (char *t = strtok_r(joined, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, t, strlen(t));
		o += strlen(t);
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	free(joined);
	return out;
}


/* Builds the tree of the virtual directory ${dir} that leads to the paths below it. */
static int build_virtual(struct run *R, const char *dir, char **paths, size_t np,
	const uint8_t *parent_tree, int depth, uint8_t ret_tree[32])
{
	struct dirq q = { .tail = &q.head };
	struct tree_iter *pit = NULL;
	struct tree_entry pe;
	int have = 0, done = 0, rc = 0;
	if (depth > MAX_DEPTH)
		return cf_error_set(R->err, CF_EUSAGE, "path too deep");
	if (tree_builder_new(1, R->r->k->split, store_tree, R, &q.b))
		return cf_error_set(R->err, CF_ENOMEM, "out of memory");
	if (parent_tree && tree_iter_new(1, parent_tree, blob_reader_load, R->br, &pit, NULL))
		pit = NULL;
	size_t dl = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
	/* paths are sorted; group them by their next component below dir. */
	for (size_t i = 0; rc == 0 && i < np;) {
		const char *rest = paths[i] + dl + 1;
		size_t cl = strcspn(rest, "/");
		char *name = strndup(rest, cl);
		char *full = util_path("%.*s", (int)(dl + 1 + cl), paths[i]);
		size_t j = i;
		while (j < np && strncmp(paths[j], full, strlen(full)) == 0 &&
		       (paths[j][strlen(full)] == 0 || paths[j][strlen(full)] == '/'))
			j++;
		if (!name || !full) {
			rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
		} else {
			int m = parent_match(pit, &pe, &have, &done, name, NULL);
			const struct tree_entry *pp = m > 0 ? &pe : NULL;
			char *pdir = util_path("%.*s", dl ? (int)dl : 1, dl ? dir : "/");
			int dfd = pdir ? open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
			free(pdir);
			if (dfd < 0) {
				rc = cf_error_sys(R->err, CF_EIO, "cannot open '%s'", dir);
			} else if (strcmp(paths[i], full) == 0) {
				/* A path given to back up: the real thing, wholly. */
				struct stat st;
				if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
					rc = cf_error_sys(R->err, CF_EIO, "cannot back up '%s'", full);
				else
					rc = scan_entry(R, &q, dfd, name, full, pp, depth);
			} else {
				/* A directory on the way to the given paths. */
				struct stat st;
				if (fstatat(dfd, name, &st, 0) != 0 || !S_ISDIR(st.st_mode)) {
					rc = cf_error_sys(R->err, CF_EIO, "cannot back up '%s'", full);
				} else {
					struct tree_entry e = { .name = name, .namelen = cl,
						.type = TREE_DIR };
					fill_stat(&e, &st);
					rc = build_virtual(R, full, paths + i, j - i,
						pp && pp->type == TREE_DIR ? pp->id : NULL, depth + 1,
						e.id);
					if (rc == 0)
						rc = dirq_add(R, &q, &e);
				}
			}
			if (dfd >= 0)
				close(dfd);
		}
		free(name);
		free(full);
		i = j;
	}
	if (rc == 0)
		rc = dirq_finish(R, &q, ret_tree);
	dirq_release(&q);
	tree_iter_free(pit);
	return rc;
}

static int cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int same_paths(const struct snap *s, char **paths, size_t n)
{
	if (s->npaths != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->paths[i], paths[i]) != 0)
			return 0;
	return 1;
}

/* How many of ${paths} a snapshot's tree has something of (the path, a folder above it,
 * or one below it). */
static size_t overlap(const struct snap *s, char **paths, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < s->npaths; j++)
			if (under(paths[i], s->paths[j]) || under(s->paths[j], paths[i])) {
				k++;
				break;
			}
	return k;
}

/* The parent: this host's latest snapshot of the same paths; failing that (a folder was
 * added to or removed from the set), its latest snapshot sharing the most of them, so
 * that the folders still backed up are not read again. */
static const struct snap *pick_parent(struct snap **list, size_t nlist, const char *host,
	char **paths, size_t np)
{
	const struct snap *best = NULL;
	size_t best_k = 0;
	for (size_t i = nlist; i-- > 0;) {
		if (strcmp(list[i]->hostname, host) != 0)
			continue;
		if (same_paths(list[i], paths, np))
			return list[i];
		size_t k = overlap(list[i], paths, np);
		if (k > best_k) {
			best = list[i];
			best_k = k;
		}
	}
	return best;
}

static char *summary_json(const struct backup_stats *st)
{
	json_t *o = json_object();
	json_object_set_new(o, "files_new", json_integer((json_int_t)st->files_new));
	json_object_set_new(o, "files_changed", json_integer((json_int_t)st->files_changed));
	json_object_set_new(o, "files_unchanged", json_integer((json_int_t)st->files_unchanged));
	json_object_set_new(o, "dirs", json_integer((json_int_t)st->dirs));
	json_object_set_new(o, "bytes_read", json_integer((json_int_t)st->bytes_read));
	json_object_set_new(o, "bytes_added", json_integer((json_int_t)st->bytes_added));
	json_object_set_new(o, "bytes_stored", json_integer((json_int_t)st->bytes_stored));
	json_object_set_new(o, "warnings", json_integer((json_int_t)st->warnings));
	json_object_set_new(o, "duration", json_real(st->duration));
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

int backup_run(struct repo *r, const struct backup_opts *o, struct backup_stats *ret_stats,
	uint8_t ret_snap[32], uint8_t ret_parent[32], int *ret_has_parent, struct cf_error *err)
{
	struct run R = { .r = r, .o = o, .err = err };
	struct snap s = { 0 };
	struct snap **list = NULL;
	size_t nlist = 0;
	char **paths = NULL;
	size_t np = 0;
	char host[256] = "";
	int rc;
	R.t0 = util_now_ns();
	uint64_t written0 = r->bytes_written;
	if (o->npaths == 0)
		return cf_error_set(err, CF_EUSAGE, "nothing to back up");
	struct stat rst;
	if (r->d->local_root && stat(r->path, &rst) == 0) {
		R.repo_dev = rst.st_dev;
		R.repo_ino = rst.st_ino;
	}
	paths = calloc(o->npaths, sizeof *paths);
	R.batch_cap = (size_t)r->chunker.max * 4 > READ_BUF_MIN ? (size_t)r->chunker.max * 4
								 : READ_BUF_MIN;
	R.batch_slots = R.batch_cap / BATCH_SLOT_BYTES;
	uint8_t *zeros = calloc(1, r->chunker.max);
	if (!paths || !zeros) {
		free(zeros);
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	R.zero_len = chunk_cut(&r->chunker, zeros, r->chunker.max);
	repo_blob_id(r, zeros, R.zero_len, R.zero_id);
	free(zeros);
	for (size_t i = 0; i < o->npaths; i++) {
		char *p = clean_abs(o->paths[i]);
		struct stat st;
		if (!p) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		if (lstat(p, &st) != 0) {
			rc = cf_error_sys(err, CF_EUSAGE, "cannot back up '%s'", o->paths[i]);
			free(p);
			goto out;
		}
		paths[np++] = p;
	}
	qsort(paths, np, sizeof *paths, cmp_paths);
	/* Drop duplicates and paths inside another given path. */
	size_t m = 0;
	for (size_t i = 0; i < np; i++) {
		if (m > 0 && under(paths[i], paths[m - 1])) {
			free(paths[i]);
			continue;
		}
		paths[m++] = paths[i];
	}
	np = m;
	if ((rc = repo_lock(r, 0, err)))
		goto out;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if ((rc = blobidx_open(r, &R.x, err)) || (rc = blob_reader_new(r, R.x, &R.br, err)) ||
	    (rc = packer_new(r, cpus > 1 ? (int)(cpus < 4 ? cpus : 4) : 1, &R.pk, err)))
		goto out;
	packer_set_claim(R.pk, claim_blob, R.x);
	if (o->hostname)
		snprintf(host, sizeof host, "%s", o->hostname);
	else
		gethostname(host, sizeof host - 1);
	if ((rc = snap_list(r, &list, &nlist, NULL, err)))
		goto out;
	const struct snap *parent = pick_parent(list, nlist, host, paths, np);
	if (parent && !same_paths(parent, paths, np)) {
		R.parent_paths = parent->paths;
		R.parent_npaths = parent->npaths;
	}
	if (strcmp(paths[0], "/") == 0) {
		int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = fd < 0 ? cf_error_sys(err, CF_EIO, "cannot open '/'")
			    : scan_dir(&R, fd, "/", parent ? parent->tree : NULL, 0, s.tree);
		if (fd >= 0)
			close(fd);
		if (rc == 1)
			rc = cf_error_set(err, CF_EIO, "cannot read '/'");
	} else {
		rc = build_virtual(&R, "/", paths, np, parent ? parent->tree : NULL, 0, s.tree);
	}
	if (rc)
		goto out;
	if ((rc = finish_pack(&R)) || (rc = commit_wait(&R)) || (rc = blobidx_commit(R.x, err)))
		goto out;
	/* The snapshot is the commit point: everything it names is durable by now. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	s.time = now.tv_sec;
	s.time_ns = (uint32_t)now.tv_nsec;
	s.hostname = host;
	struct passwd *pw = getpwuid(getuid());
	s.username = pw ? pw->pw_name : (char *)"";
	s.paths = paths;
	s.npaths = np;
	/* snap_write only reads the tags: share the caller's strings. */
	char **tags = calloc(o->ntags ? o->ntags : 1, sizeof *tags);
	if (!tags) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (o->ntags)
		memcpy(tags, o->tags, o->ntags * sizeof *tags);
	s.tags = tags;
	s.ntags = o->ntags;
	if (parent) {
		s.has_parent = 1;
		memcpy(s.parent, parent->id, 32);
	}
	R.st.duration = (double)(util_now_ns() - R.t0) / 1e9;
	R.st.bytes_stored = r->bytes_written - written0;
	s.summary = summary_json(&R.st);
	rc = snap_write(r, &s, err);
	free(s.summary);
	free(tags);
	if (rc)
		goto out;
	R.st.bytes_stored = r->bytes_written - written0;
	R.st.duration = (double)(util_now_ns() - R.t0) / 1e9;
	R.st.current = NULL;
	memcpy(ret_snap, s.id, 32);
	*ret_has_parent = parent != NULL;
	if (parent)
		memcpy(ret_parent, parent->id, 32);
	else
		memset(ret_parent, 0, 32);
	rc = R.st.warnings ? CF_EPARTIAL : 0;
out:
	R.st.current = NULL;
	if (ret_stats)
		*ret_stats = R.st;
	if (R.committing)	/* only after an error: keep that one */
		pthread_join(R.committer, NULL);
	packer_free(R.pk);
	blob_reader_free(R.br);
	blobidx_free(R.x);
	repo_unlock(r);
	snap_list_free(list, nlist);
	for (size_t i = 0; paths && i < np; i++)
		free(paths[i]);
	free(paths);
	return rc;
}
