/* restore_feed.c: a thread that walks a snapshot and opens file content ahead of the writer. */
#include "restore/restore_feed.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/blob.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/tree_walk.h"
#include "store/repo_internal.h"

/* The queue: at most this many items, and this many bytes of file data, wait for the writer.
 * A few MiB keep both sides busy; more only grows the memory of a restore. */
#define QCAP 1024
#define QBYTES (2u << 20)
#define RESTORE_FEED_HOLE_ITEM 100	/* internal kind: a chunk of zeros, by its length only */
/* Consecutive chunks of a file travel, and are written, together in batches of about this
 * size: chunks are ~8 KiB, and a write per chunk costs a syscall and, on ext4, the zeroing of
 * the partial block each unaligned write leaves behind. */
#define BATCH (256u << 10)
#define WAKE_ITEMS 32
#define WAKE_BYTES (512u << 10)
#define SPARE_BUFS 8		/* data buffers kept for reuse: no malloc and page faults per
				 * chunk, and no heap trimming (madvise) between the threads */

/* A data item's chunks are read unchecked and hashed against their ids (keyed BLAKE2b, a
 * good part of a restore's work) by whichever thread is free: the writer as it takes the
 * item, or the reader while the queue is full and it would only wait. */
enum { CHECK_TODO, CHECK_BUSY, CHECK_DONE };
#define IDREC (32 + 4)		/* a chunk of a data item: id, length */

struct qitem {
	int kind, code;
	char *path;
	struct tree_entry e;
	struct buf own;		/* entry: symlink target and xattrs; data: the bytes; msg */
	size_t msglen;		/* also a hole's length */
	struct buf ids;		/* data: its chunks, IDREC each */
	int check;		/* data: CHECK_* */
	size_t good;		/* data, once checked: bytes before the first chunk that does
				 * not match its id */
};

struct restore_feed {
	struct repo *r;
	struct blob_reader *br;
	uint8_t root[32];
	feed_select_fn select;
	void *sctx;

	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_take;
	struct qitem q[QCAP];
	size_t head, count, bytes;
	int done, stop, rc;
	int put_waits, take_waits;	/* a side is waiting: the other signals */
	struct buf spare[SPARE_BUFS];
	size_t nspare;
	struct cf_error err;	/* the walk's, read by the consumer once done */

	/* producer side */
	uint8_t zero_id[32];	/* the last chunk of zeros */
	uint32_t zero_len;
	int have_zero;
	struct qitem batch;	/* data of the current file not yet queued */
	struct cf_error ferr;	/* why the current file's data stopped */

	/* consumer side */
	struct qitem cur;	/* the item last returned */
	int file_bad;		/* the current file's data stopped at a chunk that failed */
	struct cf_error bad;	/* why */
};

static void qitem_clear(struct qitem *it)
{
	free(it->path);
	buf_free(&it->own);
	buf_free(&it->ids);
	memset(it, 0, sizeof *it);
}

/* The length of the prefix of data item ${it} whose chunks match their ids. */
static size_t check_data(const struct restore_feed *f, const struct qitem *it)
{
	size_t off = 0;
	for (size_t i = 0; i + IDREC <= it->ids.len; i += IDREC) {
		uint32_t len = le32_get(it->ids.p + i + 32);
		uint8_t id[32];
		if (len > it->own.len - off)
			return off;
		repo_blob_id(f->r, it->own.p + off, len, id);
		if (sodium_memcmp(id, it->ids.p + i, 32) != 0)
			return off;
		off += len;
	}
	return off;
}

/* A data item in the queue that nobody checks yet, the newest first (the writer takes the
 * oldest), or NULL. Called locked. */
static struct qitem *unchecked(struct restore_feed *f)
{
	for (size_t k = f->count; k-- > 0;) {
		struct qitem *q = &f->q[(f->head + k) % QCAP];
		if (q->kind == RESTORE_FEED_DATA && q->check == CHECK_TODO)
			return q;
	}
	return NULL;
}

/* Moves ${it} into the queue (the queue owns its buffers from then on, even on failure).
 * Returns 0, or CF_EIO when the consumer has stopped. */
static int push(struct restore_feed *f, struct qitem *it)
{
	size_t n = it->kind == RESTORE_FEED_DATA ? it->own.len : 0;
	pthread_mutex_lock(&f->mu);
	while (!f->stop && (f->count == QCAP || (f->count > 0 && f->bytes + n > QBYTES))) {
		struct qitem *q = unchecked(f);
		if (q) {
			/* The writer is behind: take some of its work. The item stays in place
			 * until done (the writer waits for a busy one). */
			q->check = CHECK_BUSY;
			pthread_mutex_unlock(&f->mu);
			size_t good = check_data(f, q);
			pthread_mutex_lock(&f->mu);
			q->good = good;
			q->check = CHECK_DONE;
			if (f->take_waits) {
				f->take_waits = 0;
				pthread_cond_signal(&f->can_take);
			}
			continue;
		}
		f->put_waits = 1;
		pthread_cond_wait(&f->can_put, &f->mu);
	}
	if (f->stop) {
		pthread_mutex_unlock(&f->mu);
		qitem_clear(it);
		return CF_EIO;
	}
	f->q[(f->head + f->count) % QCAP] = *it;
	f->count++;
	f->bytes += n;
	/* Wake the writer for a batch, not for each chunk: fewer switches. */
	if (f->take_waits && (f->count >= WAKE_ITEMS || f->bytes >= WAKE_BYTES)) {
		f->take_waits = 0;
		pthread_cond_signal(&f->can_take);
	}
	pthread_mutex_unlock(&f->mu);
	memset(it, 0, sizeof *it);
	return 0;
}

static int push_msg(struct restore_feed *f, int kind, int code, const char *path, const char *msg)
{
	struct qitem it = { .kind = kind, .code = code };
	if ((path && !(it.path = strdup(path))) ||
	    (msg && buf_append(&it.own, msg, strlen(msg) + 1))) {
		qitem_clear(&it);
		return CF_ENOMEM;
	}
	it.msglen = msg ? strlen(msg) : 0;
	return push(f, &it);
}

static void on_problem(void *ctx, const char *path, int code, const char *msg)
{
	push_msg(ctx, RESTORE_FEED_PROBLEM, code, path, msg);
}

static int all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t z[4096];
	while (n >= sizeof z) {
		if (memcmp(p, z, sizeof z))
			return 0;
		p += sizeof z;
		n -= sizeof z;
	}
	return memcmp(p, z, n) == 0;
}

/* Queues the data gathered for the current file, if any. */
static int flush_batch(struct restore_feed *f)
{
	if (!f->batch.own.len)
		return 0;
	return push(f, &f->batch);
}

/* A chunk of zeros: checked here, as holes carry no bytes to check later, and queued as its
 * length (the writer leaves a hole, and no batch is ever all zeros). */
static int push_hole(struct restore_feed *f, const uint8_t id[32], const uint8_t *p, uint32_t len)
{
	if (p) {
		uint8_t h[32];
		repo_blob_id(f->r, p, len, h);
		if (sodium_memcmp(h, id, 32) != 0) {
			cf_error_set(&f->ferr, CF_ECORRUPT, "blob content does not match its id");
			return 1;
		}
		memcpy(f->zero_id, id, 32);
		f->zero_len = len;
		f->have_zero = 1;
	}
	struct qitem it = { .kind = RESTORE_FEED_HOLE_ITEM, .msglen = len };
	int rc = flush_batch(f);
	return rc ? rc : push(f, &it);
}

static int on_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	struct restore_feed *f = ctx;
	/* A run of zeros (a sparse file) is one chunk, read once. */
	if (f->have_zero && memcmp(f->zero_id, id, 32) == 0) {
		if (len != f->zero_len) {
			cf_error_set(&f->ferr, CF_ECORRUPT, "chunk length differs from the tree");
			return 1;
		}
		return push_hole(f, id, NULL, len);
	}
	struct buf *b = &f->batch.own;
	if (!b->p) {
		f->batch.kind = RESTORE_FEED_DATA;
		pthread_mutex_lock(&f->mu);
		if (f->nspare)
			*b = f->spare[--f->nspare];
		pthread_mutex_unlock(&f->mu);
		b->len = 0;
	}
	/* Read straight into the batch, checked against its id later (check_data). */
	size_t at = b->len;
	int rc = blob_reader_append_unverified(f->br, id, b, &f->ferr);
	if (rc == 0 && b->len - at != len)
		rc = cf_error_set(&f->ferr, CF_ECORRUPT, "chunk length differs from the tree");
	if (rc) {
		b->len = at;
		return 1;	/* the file is damaged; the walk goes on */
	}
	if (all_zero(b->p + at, len)) {
		b->len = at;
		return push_hole(f, id, b->p + at, len);
	}
	uint8_t rec[IDREC];
	memcpy(rec, id, 32);
	le32_put(rec + 32, len);
	if (buf_append(&f->batch.ids, rec, IDREC)) {
		b->len = at;
		cf_error_set(&f->ferr, CF_ENOMEM, "out of memory");
		return 1;
	}
	return b->len >= BATCH ? flush_batch(f) : 0;
}

static int on_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct restore_feed *f = ctx;
	int sel = f->select(f->sctx, path, e);
	if (sel == RESTORE_FEED_SKIP)
		return 1;
	if (sel == RESTORE_FEED_PASS || (sel == RESTORE_FEED_WAY && e->type != TREE_DIR))
		return 0;
	struct qitem it = { .kind = RESTORE_FEED_ENTRY, .code = RESTORE_FEED_OK, .e = *e };
	struct cf_error e2 = { 0 };
	if (e->type == TREE_FILE) {
		int rc = tree_walk_refs_checked(blob_reader_load, f->br, e, f->r->cp.min, NULL,
			NULL, &e2);
		if (rc == TREE_WALK_REFS_MISMATCH)
			it.code = RESTORE_FEED_MISMATCH;
		else if (rc)
			it.code = RESTORE_FEED_DAMAGED;
	}
	/* Keep what the entry borrows from the tree node. */
	it.e.name = NULL;
	it.e.refs = NULL;
	it.e.nrefs = 0;
	size_t tl = e->type == TREE_SYMLINK ? e->targetlen : 0;
	size_t ml = it.code == RESTORE_FEED_DAMAGED ? strlen(e2.msg) : 0;
	if (!(it.path = strdup(path)) || buf_reserve(&it.own, tl + 1 + e->xattrslen + ml + 1)) {
		qitem_clear(&it);
		return CF_ENOMEM;
	}
	buf_append(&it.own, e->xattrs, e->xattrslen);
	buf_append(&it.own, e2.msg, ml);
	buf_put_u8(&it.own, 0);
	if (tl)
		buf_append(&it.own, e->target, tl);
	buf_put_u8(&it.own, 0);
	it.msglen = ml;
	int verdict = it.code;
	int rc = push(f, &it);	/* ${it} is the queue's from here */
	if (rc || e->type != TREE_FILE || sel != RESTORE_FEED_ALL || verdict != RESTORE_FEED_OK)
		return rc;
	memset(&f->ferr, 0, sizeof f->ferr);
	rc = tree_walk_refs(blob_reader_load, f->br, e, on_ref, f, &f->ferr);
	if (rc < 0 && f->stop) {
		qitem_clear(&f->batch);
		return rc;
	}
	int brc = flush_batch(f);
	if (brc)
		return brc;
	return push_msg(f, RESTORE_FEED_FILE_END, rc ? CF_ECORRUPT : 0, NULL, rc ? f->ferr.msg : NULL);
}

static int stopped(struct restore_feed *f)
{
	pthread_mutex_lock(&f->mu);
	int stop = f->stop;
	pthread_mutex_unlock(&f->mu);
	return stop;
}

static int plan_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	struct restore_feed *f = ctx;
	(void)len;
	return blob_reader_plan(f->br, id);
}

static int plan_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct restore_feed *f = ctx;
	if (stopped(f))
		return CF_EIO;
	int sel = f->select(f->sctx, path, e);
	if (sel == RESTORE_FEED_SKIP)
		return 1;
	if (e->type == TREE_FILE && sel == RESTORE_FEED_ALL) {
		struct cf_error e2 = { 0 };
		int rc = tree_walk_refs_checked(blob_reader_load, f->br, e, f->r->cp.min, plan_ref,
			f, &e2);
		if (rc == CF_ENOMEM)
			return rc;
	}
	return 0;
}

/* A remote repository: a first walk lists the packs the restore will read, in order, so that
 * they can be fetched ahead. Its trouble (damage, refusals) is met and told by the second. */
static void plan(struct restore_feed *f)
{
	struct tree_walk_ops ops = { .entry = plan_entry, .ctx = f };
	if (tree_walk(blob_reader_load, f->br, f->root, &ops, NULL) == 0)
		blob_reader_prefetch(f->br, NULL);
}

static void *feed_main(void *arg)
{
	struct restore_feed *f = arg;
	if (!dst_is_local(f->r->d))
		plan(f);
	struct tree_walk_ops ops = { .entry = on_entry, .problem = on_problem, .ctx = f };
	struct cf_error err = { 0 };
	int rc = tree_walk(blob_reader_load, f->br, f->root, &ops, &err);
	pthread_mutex_lock(&f->mu);
	f->done = 1;
	f->rc = rc;
	f->err = err;
	f->take_waits = 0;
	pthread_cond_signal(&f->can_take);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

int restore_feed_start(struct repo *r, struct blob_reader *br, const uint8_t root[32],
	feed_select_fn select, void *ctx, struct restore_feed **ret, struct cf_error *err)
{
	struct restore_feed *f = calloc(1, sizeof *f);
	if (!f)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	f->r = r;
	f->br = br;
	memcpy(f->root, root, 32);
	f->select = select;
	f->sctx = ctx;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->can_put, NULL);
	pthread_cond_init(&f->can_take, NULL);
	if (pthread_create(&f->th, NULL, feed_main, f) != 0) {
		restore_feed_free(f);
		return cf_error_set(err, CF_ENOMEM, "cannot start the reading thread");
	}
	f->started = 1;
	*ret = f;
	return 0;
}

/* Takes the next item of the queue into f->cur, recycling the previous one's buffer: 1, or 0
 * at the end of the walk. */
static int take(struct restore_feed *f)
{
	struct buf old = { 0 };
	if (f->cur.kind == RESTORE_FEED_DATA) {
		old = f->cur.own;
		memset(&f->cur.own, 0, sizeof f->cur.own);
	}
	qitem_clear(&f->cur);
	pthread_mutex_lock(&f->mu);
	if (old.p && f->nspare < SPARE_BUFS && old.cap <= (1u << 20)) {
		f->spare[f->nspare++] = old;
		memset(&old, 0, sizeof old);
	}
	while (f->count == 0 && !f->done) {
		f->take_waits = 1;
		pthread_cond_wait(&f->can_take, &f->mu);
	}
	if (f->count == 0) {
		pthread_mutex_unlock(&f->mu);
		buf_free(&old);
		return 0;
	}
	while (f->q[f->head].check == CHECK_BUSY) {
		f->take_waits = 1;
		pthread_cond_wait(&f->can_take, &f->mu);
	}
	f->cur = f->q[f->head];
	memset(&f->q[f->head], 0, sizeof f->q[f->head]);
	f->head = (f->head + 1) % QCAP;
	f->count--;
	if (f->cur.kind == RESTORE_FEED_DATA)
		f->bytes -= f->cur.own.len;
	/* Wake the reader only once there is room for a good batch: fewer switches. */
	if (f->put_waits && (f->count < QCAP / 2 && f->bytes < QBYTES / 2)) {
		f->put_waits = 0;
		pthread_cond_signal(&f->can_put);
	}
	pthread_mutex_unlock(&f->mu);
	buf_free(&old);
	if (f->cur.kind == RESTORE_FEED_DATA && f->cur.check == CHECK_TODO)
		f->cur.good = check_data(f, &f->cur);
	return 1;
}

/* A chunk of the current file does not match its id: the rest of its data is dropped and
 * its RESTORE_FEED_FILE_END says why. */
static void data_bad(struct restore_feed *f)
{
	const uint8_t *id = NULL;
	for (size_t i = 0, off = 0; i + IDREC <= f->cur.ids.len && !id; i += IDREC) {
		if (off == f->cur.good)
			id = f->cur.ids.p + i;
		off += le32_get(f->cur.ids.p + i + 32);
	}
	char hex[65];
	util_hex(hex, id ? id : (const uint8_t *)"", id ? 32 : 0);
	cf_error_set(&f->bad, CF_ECORRUPT, "blob %.16s: content does not match its id", hex);
	f->file_bad = 1;
}

int restore_feed_next(struct restore_feed *f, struct restore_feed_item *ret, struct cf_error *err)
{
	for (;;) {
		if (!take(f)) {
			pthread_mutex_lock(&f->mu);
			int rc = f->rc;
			if (rc && err)
				*err = f->err;
			pthread_mutex_unlock(&f->mu);
			return rc ? rc : 0;
		}
		int kind = f->cur.kind;
		if (kind == RESTORE_FEED_DATA && !f->file_bad && f->cur.good < f->cur.own.len) {
			data_bad(f);
			if (f->cur.good == 0)
				continue;
			f->cur.own.len = f->cur.good;	/* what is sound goes out first */
			break;
		}
		if ((kind == RESTORE_FEED_DATA || kind == RESTORE_FEED_HOLE_ITEM) && f->file_bad)
			continue;
		break;
	}
	struct qitem *it = &f->cur;
	memset(ret, 0, sizeof *ret);
	ret->kind = it->kind;
	ret->code = it->code;
	ret->path = it->path;
	switch (it->kind) {
	case RESTORE_FEED_ENTRY:
		ret->e = it->e;
		ret->e.xattrs = it->e.xattrslen ? it->own.p : NULL;
		ret->msg = (const char *)it->own.p + it->e.xattrslen;
		ret->e.target = ret->msg + it->msglen + 1;
		break;
	case RESTORE_FEED_DATA:
		ret->data = it->own.p;
		ret->len = it->own.len;
		break;
	case RESTORE_FEED_HOLE_ITEM:
		ret->kind = RESTORE_FEED_DATA;
		ret->len = it->msglen;
		break;
	case RESTORE_FEED_FILE_END:
		if (f->file_bad) {
			/* The first fault in the file's order is the one told. */
			ret->code = CF_ECORRUPT;
			ret->msg = f->bad.msg;
			f->file_bad = 0;
			break;
		}
		ret->msg = it->own.len ? (const char *)it->own.p : "";
		break;
	default:
		ret->msg = it->own.len ? (const char *)it->own.p : "";
		break;
	}
	return 1;
}

void restore_feed_free(struct restore_feed *f)
{
	if (!f)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->mu);
		f->stop = 1;
		pthread_cond_broadcast(&f->can_put);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->th, NULL);
	}
	while (f->count) {
		qitem_clear(&f->q[f->head]);
		f->head = (f->head + 1) % QCAP;
		f->count--;
	}
	qitem_clear(&f->cur);
	qitem_clear(&f->batch);
	while (f->nspare)
		buf_free(&f->spare[--f->nspare]);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->can_put);
	pthread_cond_destroy(&f->can_take);
	free(f);
}
