/* packer.c: a small pool of workers that compress and seal frames of blobs into packs. The
 * caller's thread gathers consecutive blobs of one type into a frame (PACK_FRAME_TARGET
 * bytes); the workers compress, seal and append whole frames. Batches of file content go to
 * the workers whole: they hash each chunk, claim the new ones and gather those into frames
 * of their own, so that hashing, the heaviest step after compression, uses every core. */
#include "coffre/packer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"

/* Bounds on what waits in the queue: memory stays flat whatever the data. A few frames per
 * worker keep them busy; more would only hold memory. */
#define QUEUE_BYTES (1u << 20)
#define QUEUE_JOBS 64
#define MAX_WORKERS 8
/* Batches in flight (being filled, queued, worked on, sealed and waiting for their turn to
 * be appended, or done and not yet taken back), within BATCH_POOL_BYTES; the caller, rather
 * than wait for one, works on a queued batch itself. Each holds its input and its sealed
 * output: about 1 MiB of peak RSS more per batch. The initial backup of the medium tree on
 * 2 cores: 3 batches 3.8-4.0 s wall and 34-35 MiB; 6 batches 3.4-3.6 s and 40-42 MiB; 8 no
 * faster than 6. Fewer leave a core idle while a sealed batch waits for the one before it. */
#define BATCH_POOL_BYTES (6u << 20)
#define BATCH_POOL_MAX 6

/* A frame: its blobs' ids and lengths, and their bytes one after the other; or a batch. */
struct job {
	uint8_t type;
	size_t k;
	struct pack_blobref *refs;
	struct buf data;
	struct packer_batch *batch;
};

/* A sealed frame waiting in a batch's output. */
struct out_frame {
	uint8_t flags;
	size_t k, ref0;		/* its blobs: refs[ref0 .. ref0 + k) */
	size_t off, len;	/* its bytes in the output */
};

/* The sealed frames of a batch, appended to the pack together once the batches before it
 * are, so that they lie side by side in the order they were read: a file read back in order
 * reads them once. The output is the batch's, not the thread's: a thread done sealing moves
 * on to the next batch instead of waiting for its turn to append. */
struct packer_out {
	struct buf bytes;
	struct out_frame *of;
	size_t nof, capof;
	struct pack_blobref *refs;
	size_t nrefs, caprefs;
	int sealed;		/* ready to append */
};

/* What a thread needs to seal frames, and the frame of new content it is gathering. */
struct wstate {
	void *zctx;
	struct buf z, frame;
	struct job stage;
	size_t capstage;
	size_t stage_from;	/* the batch's first chunk the stage may hold */
};

struct packer {
	struct repo *r;
	pthread_mutex_t mu;	/* the queue, the counters, the batches, the finished packs */
	pthread_mutex_t wmu;	/* the packs being filled */
	pthread_cond_t can_take, can_put, idle, batch_done;
	struct job q[QUEUE_JOBS];
	size_t head, count, bytes, busy;
	/* The frame being gathered for each type (the caller's thread only). */
	struct job stage[_BLOB_TYPE_MAX];
	size_t capstage[_BLOB_TYPE_MAX];
	int stop;
	int failed;
	struct cf_error err;
	/* The packs being filled: data and trees apart, so that damage to content never takes
	 * the directory structure with it, and trees load from small packs. */
	struct pack_writer *w[_BLOB_TYPE_MAX];
	struct blob_pack *done;		/* finished packs not yet handed out */
	size_t ndone, capdone;
	packer_claim_fn claim;
	void *claim_ctx;
	/* Batches: every one allocated, the free ones, and the submitted ones in order. */
	struct packer_batch *batches[BATCH_POOL_MAX];
	size_t nbatches;
	struct packer_batch *free_batches, *sub_head, *sub_tail;
	int appending;		/* a thread is appending sealed batches in order */
	/* One state a worker, and the last for the caller's thread when it helps. */
	struct wstate ws[MAX_WORKERS + 1];
	int nws;	/* states taken by workers */
	pthread_t th[MAX_WORKERS];
	int nth;
};

static void fail(struct packer *p, const struct cf_error *e)
{
	if (!p->failed) {
		p->failed = e->code ? e->code : CF_EIO;
		p->err = *e;
	}
	pthread_cond_broadcast(&p->batch_done);
	pthread_cond_broadcast(&p->can_put);
}

/* Finishes a full pack (sync and rename, no lock held) and records it for the caller. */
static void finish_pack(struct packer *p, struct pack_writer *w)
{
	struct cf_error e = { 0 };
	uint8_t id[32];
	struct pack_entry *ent = NULL;
	size_t n = 0;
	int rc = pack_writer_finish(w, id, &ent, &n, &e);
	pack_writer_free(w);
	pthread_mutex_lock(&p->mu);
	if (rc == 0 && p->ndone == p->capdone) {
		size_t cap = p->capdone ? 2 * p->capdone : 8;
		void *np = realloc(p->done, cap * sizeof *p->done);
		if (np) {
			p->done = np;
			p->capdone = cap;
		} else {
			free(ent);
			rc = cf_error_set(&e, CF_ENOMEM, "out of memory");
		}
	}
	if (rc) {
		fail(p, &e);
	} else {
		memcpy(p->done[p->ndone].id, id, 32);
		p->done[p->ndone].e = ent;
		p->done[p->ndone].n = n;
		p->ndone++;
	}
	pthread_mutex_unlock(&p->mu);
}

/* Appends ${nf} sealed frames of type ${t}, one after the other, to the pack of their type.
 * The packs that fill meanwhile go to ${full} (FULL_MAX at most: more are finished here),
 * for the caller to finish with no lock held and no turn taken, so that the other threads go
 * on sealing and appending while it hashes and syncs them. */
#define FULL_MAX 4
static int append_frames(struct packer *p, int t, const struct out_frame *f, size_t nf,
	const struct pack_blobref *refs, const uint8_t *bytes, struct pack_writer **full,
	size_t *ret_nfull, struct cf_error *e)
{
	int rc = 0;
	size_t nfull = 0;
	pthread_mutex_lock(&p->wmu);
	for (size_t i = 0; rc == 0 && i < nf; i++) {
		if (!p->w[t])
			rc = pack_writer_new(p->r, &p->w[t], e);
		if (rc == 0)
			rc = pack_writer_add_frame(p->w[t], t, f[i].flags, refs + f[i].ref0, f[i].k,
				bytes + f[i].off, f[i].len, e);
		if (rc == 0 && pack_writer_size(p->w[t]) >= p->r->pack_size) {
			full[nfull++] = p->w[t];
			p->w[t] = NULL;
			if (nfull == FULL_MAX) {
				/* Many small packs: finish them now rather than hold more. */
				pthread_mutex_unlock(&p->wmu);
				for (size_t k = 0; k < nfull; k++)
					finish_pack(p, full[k]);
				nfull = 0;
				pthread_mutex_lock(&p->wmu);
			}
		}
	}
	pthread_mutex_unlock(&p->wmu);
	*ret_nfull = nfull;
	return rc;
}

static int append_frame(struct packer *p, const struct job *j, uint8_t flags, const struct buf *frame,
	struct cf_error *e)
{
	struct out_frame f = { .flags = flags, .k = j->k, .len = frame->len };
	struct pack_writer *full[FULL_MAX];
	size_t nfull = 0;
	int rc = append_frames(p, j->type, &f, 1, j->refs, frame->p, full, &nfull, e);
	for (size_t k = 0; k < nfull; k++)
		finish_pack(p, full[k]);
	return rc;
}

/* Adds a copy of a blob to the frame ${st} gathers (its refs' capacity in ${cap}). */
static int stage_put(struct job *st, size_t *cap, int type, const uint8_t id[32],
	const void *data, size_t n)
{
	if (st->k == *cap) {
		size_t nc = st->k ? 2 * st->k : 16;
		void *np = realloc(st->refs, nc * sizeof *st->refs);
		if (!np)
			return CF_ENOMEM;
		st->refs = np;
		*cap = nc;
	}
	if (!st->data.p && buf_reserve(&st->data, n > PACK_FRAME_TARGET ? n : PACK_FRAME_TARGET))
		return CF_ENOMEM;
	if (buf_append(&st->data, data, n))
		return CF_ENOMEM;
	st->type = (uint8_t)type;
	memcpy(st->refs[st->k].id, id, 32);
	st->refs[st->k].raw = (uint32_t)n;
	st->k++;
	return 0;
}

/* Compresses and seals the frame ${j} with ${ws}'s context and appends it to its pack. */
static int seal_job(struct packer *p, struct wstate *ws, const struct job *j, struct cf_error *e)
{
	uint8_t flags = 0;
	int rc = ws->zctx ? pack_seal_frame(p->r, ws->zctx, j->type, j->data.p, j->data.len, &ws->z,
				    &ws->frame, &flags)
			  : CF_ENOMEM;
	if (rc)
		return cf_error_set(e, rc, "cannot seal a blob");
	pthread_mutex_lock(&p->mu);
	int failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	return failed ? failed : append_frame(p, j, flags, &ws->frame, e);
}

/* Seals the frame of new content ${ws} gathered, if any, into its batch output, and starts
 * an empty one. The chunks of ${b} from ws->stage_from to ${end} that it holds learn
 * whether it was stored as it is (PACKER_RAW: the compressor saved nothing). */
static int seal_stage(struct packer *p, struct wstate *ws, struct packer_batch *b, size_t end,
	struct cf_error *e)
{
	struct job *st = &ws->stage;
	if (st->k == 0) {
		ws->stage_from = end;
		return 0;
	}
	uint8_t flags = 0;
	int rc = ws->zctx ? pack_seal_frame(p->r, ws->zctx, st->type, st->data.p, st->data.len,
				    &ws->z, &ws->frame, &flags)
			  : CF_ENOMEM;
	if (rc)
		return cf_error_set(e, rc, "cannot seal a blob");
	if (!(flags & PACK_FLAG_ZSTD))
		for (size_t i = ws->stage_from; i < end; i++)
			if (b->c[i].flags & PACKER_STORED)
				b->c[i].flags |= PACKER_RAW;
	ws->stage_from = end;
	struct packer_out *o = b->out;
	if (o->nof == o->capof) {
		size_t cap = o->capof ? 2 * o->capof : 32;
		void *np = realloc(o->of, cap * sizeof *o->of);
		if (!np)
			return cf_error_set(e, CF_ENOMEM, "out of memory");
		o->of = np;
		o->capof = cap;
	}
	if (o->nrefs + st->k > o->caprefs) {
		size_t cap = o->caprefs ? o->caprefs : 256;
		while (cap < o->nrefs + st->k)
			cap *= 2;
		void *np = realloc(o->refs, cap * sizeof *o->refs);
		if (!np)
			return cf_error_set(e, CF_ENOMEM, "out of memory");
		o->refs = np;
		o->caprefs = cap;
	}
	struct out_frame *f = &o->of[o->nof];
	f->flags = flags;
	f->k = st->k;
	f->ref0 = o->nrefs;
	f->off = o->bytes.len;
	f->len = ws->frame.len;
	if (buf_append(&o->bytes, ws->frame.p, ws->frame.len))
		return cf_error_set(e, CF_ENOMEM, "out of memory");
	memcpy(o->refs + o->nrefs, st->refs, st->k * sizeof *st->refs);
	o->nrefs += st->k;
	o->nof++;
	st->k = 0;
	st->data.len = 0;
	return 0;
}

/* ${b} is sealed (or failed: ${rc}, ${e}): appends it, and the sealed batches after it, once
 * every batch before it is. A thread finding another one appending leaves them to it: that
 * one looks again, under the lock, before it stops. Batches are done once appended. The packs
 * they filled are finished after the turn is given up. */
static void settle(struct packer *p, struct packer_batch *b, int rc, struct cf_error *e)
{
	pthread_mutex_lock(&p->mu);
	if (rc)
		fail(p, e);
	b->out->sealed = 1;
	if (p->appending) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	p->appending = 1;
	for (;;) {
		struct packer_batch *x = p->sub_head;
		while (x && x->done)
			x = x->next;
		if (p->failed || !x || !x->out->sealed)
			break;
		pthread_mutex_unlock(&p->mu);
		struct packer_out *o = x->out;
		struct cf_error ae = { 0 };
		struct pack_writer *full[FULL_MAX];
		size_t nfull = 0;
		int arc = o->nof ? append_frames(p, BLOB_DATA, o->of, o->nof, o->refs, o->bytes.p,
					   full, &nfull, &ae)
				 : 0;
		o->nof = o->nrefs = 0;
		o->bytes.len = 0;
		pthread_mutex_lock(&p->mu);
		if (arc)
			fail(p, &ae);
		x->done = 1;
		pthread_cond_broadcast(&p->batch_done);
		pthread_cond_signal(&p->can_put);
		if (nfull) {
			p->appending = 0;
			pthread_mutex_unlock(&p->mu);
			for (size_t k = 0; k < nfull; k++)
				finish_pack(p, full[k]);
			pthread_mutex_lock(&p->mu);
			if (p->appending) {
				pthread_mutex_unlock(&p->mu);
				return;	/* another took the turn: it looks on */
			}
			p->appending = 1;
		}
	}
	p->appending = 0;
	pthread_mutex_unlock(&p->mu);
}

/* Hashes each chunk of ${b}, and gathers those nobody stored yet into ${ws}'s frame. */
static int run_batch(struct packer *p, struct wstate *ws, struct packer_batch *b,
	struct cf_error *e)
{
	ws->stage.k = ws->stage_from = 0;	/* nothing left by a failed batch */
	ws->stage.data.len = 0;
	b->out->nof = b->out->nrefs = 0;
	b->out->bytes.len = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct packer_chunk *c = &b->c[i];
		const uint8_t *data = b->data + c->off;
		if (!(c->flags & PACKER_HASHED))
			repo_blob_id(p->r, data, c->len, c->id);
		int rc = p->claim(p->claim_ctx, c->id);
		if (rc < 0)
			return cf_error_set(e, rc, "out of memory");
		if (rc == 0)
			continue;
		c->flags |= PACKER_STORED;
		if (ws->stage.k && ws->stage.data.len + c->len > PACK_FRAME_TARGET &&
		    (rc = seal_stage(p, ws, b, i, e)))
			return rc;
		if (stage_put(&ws->stage, &ws->capstage, BLOB_DATA, c->id, data, c->len))
			return cf_error_set(e, CF_ENOMEM, "out of memory");
		if (ws->stage.data.len >= PACK_FRAME_TARGET && (rc = seal_stage(p, ws, b, i + 1, e)))
			return rc;
	}
	/* A frame holds blobs of one batch only, and a batch's frames are appended together:
	 * a file's blobs, read back in order, come from frames side by side, each read once. */
	return seal_stage(p, ws, b, b->n, e);
}

/* Runs the job ${j} taken from the queue (p->busy counted); called without the lock. */
static void run_job(struct packer *p, struct wstate *ws, struct job *j)
{
	struct cf_error e = { 0 };
	int rc;
	if (j->batch) {
		settle(p, j->batch, run_batch(p, ws, j->batch, &e), &e);
		rc = 0;
		pthread_mutex_lock(&p->mu);
	} else {
		rc = seal_job(p, ws, j, &e);
		pthread_mutex_lock(&p->mu);
		p->bytes -= j->data.len;
		pthread_cond_signal(&p->can_put);
		pthread_mutex_unlock(&p->mu);
		buf_free(&j->data);
		free(j->refs);
		pthread_mutex_lock(&p->mu);
	}
	if (rc)
		fail(p, &e);
	p->busy--;
	if (p->count == 0 && p->busy == 0)
		pthread_cond_broadcast(&p->idle);
}

/* Takes the next job off the queue (lock held, queue not empty). */
static struct job take_job(struct packer *p)
{
	struct job j = p->q[p->head];
	p->head = (p->head + 1) % QUEUE_JOBS;
	p->count--;
	p->busy++;
	return j;
}

/* The caller's thread, rather than wait, runs a queued job itself (lock held; it is
 * released meanwhile). Returns 1 if it did. */
static int help(struct packer *p)
{
	if (p->count == 0)
		return 0;
	struct wstate *ws = &p->ws[MAX_WORKERS];
	if (!ws->zctx)
		ws->zctx = pack_zctx_new();
	struct job j = take_job(p);
	pthread_mutex_unlock(&p->mu);
	run_job(p, ws, &j);
	return 1;
}

static void *worker(void *arg)
{
	struct packer *p = arg;
	pthread_mutex_lock(&p->mu);
	struct wstate *ws = &p->ws[p->nws++];
	pthread_mutex_unlock(&p->mu);
	ws->zctx = pack_zctx_new();
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->count == 0)
			pthread_cond_wait(&p->can_take, &p->mu);
		if (p->count == 0 && p->stop)
			break;
		struct job j = take_job(p);
		pthread_mutex_unlock(&p->mu);
		run_job(p, ws, &j);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void wstate_release(struct wstate *ws)
{
	pack_zctx_free(ws->zctx);
	buf_free(&ws->z);
	buf_free(&ws->frame);
	buf_free(&ws->stage.data);
	free(ws->stage.refs);
	memset(ws, 0, sizeof *ws);
}

int packer_new(struct repo *r, int workers, struct packer **ret, struct cf_error *err)
{
	struct packer *p = calloc(1, sizeof *p);
	if (!p)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	p->r = r;
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->wmu, NULL);
	pthread_cond_init(&p->can_take, NULL);
	pthread_cond_init(&p->can_put, NULL);
	pthread_cond_init(&p->idle, NULL);
	pthread_cond_init(&p->batch_done, NULL);
	if (workers < 1)
		workers = 1;
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	for (int i = 0; i < workers; i++) {
		if (pthread_create(&p->th[i], NULL, worker, p) != 0)
			break;
		p->nth++;
	}
	if (p->nth == 0) {
		packer_free(p);
		return cf_error_set(err, CF_ENOMEM, "cannot start a worker thread");
	}
	*ret = p;
	return 0;
}

/* Puts ${j} on the queue; blocks while it is full (lock held). */
static int put_job(struct packer *p, const struct job *j, struct cf_error *err)
{
	/* A batch's memory is bounded by the batches' pool: only frames count in bytes. */
	size_t len = j->batch ? 0 : j->data.len;
	while (!p->failed && (p->count == QUEUE_JOBS || (p->bytes && p->bytes + len > QUEUE_BYTES)))
		pthread_cond_wait(&p->can_put, &p->mu);
	if (p->failed) {
		if (err)
			*err = p->err;
		return p->failed;
	}
	p->q[(p->head + p->count) % QUEUE_JOBS] = *j;
	p->count++;
	p->bytes += len;
	pthread_cond_signal(&p->can_take);
	return 0;
}

/* Hands the gathered frame of ${type} to the workers; blocks while the queue is full. */
static int enqueue(struct packer *p, int type, struct cf_error *err)
{
	struct job *st = &p->stage[type];
	if (st->k == 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	int rc = put_job(p, st, err);
	pthread_mutex_unlock(&p->mu);
	if (rc)
		return rc;
	memset(st, 0, sizeof *st);
	st->type = (uint8_t)type;
	p->capstage[type] = 0;
	return 0;
}

int packer_add(struct packer *p, int type, const uint8_t id[32], const void *data, size_t n,
	struct cf_error *err)
{
	if (type < 0 || type >= _BLOB_TYPE_MAX)
		return cf_error_set(err, CF_EUSAGE, "bad blob type");
	if (n > MAX_BLOB_BYTES)
		return cf_error_set(err, CF_EUSAGE, "blob too large");
	struct job *st = &p->stage[type];
	int rc;
	if (st->k && st->data.len + n > PACK_FRAME_TARGET && (rc = enqueue(p, type, err)))
		return rc;
	if (stage_put(st, &p->capstage[type], type, id, data, n))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	return st->data.len >= PACK_FRAME_TARGET ? enqueue(p, type, err) : 0;
}

void packer_set_claim(struct packer *p, packer_claim_fn claim, void *ctx)
{
	p->claim = claim;
	p->claim_ctx = ctx;
}

struct packer_batch *packer_batch_get(struct packer *p, size_t cap, size_t capn)
{
	struct packer_batch *b = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->free_batches) {
		b = p->free_batches;
		p->free_batches = b->next;
	}
	size_t limit = BATCH_POOL_BYTES / (cap ? cap : 1);
	limit = limit < 3 ? 3 : limit > BATCH_POOL_MAX ? BATCH_POOL_MAX : limit;
	if (!b && p->nbatches < limit && (b = calloc(1, sizeof *b))) {
		b->data = malloc(cap);
		b->c = malloc(capn * sizeof *b->c);
		b->out = calloc(1, sizeof *b->out);
		if (!b->data || !b->c || !b->out) {
			free(b->data);
			free(b->c);
			free(b->out);
			free(b);
			b = NULL;
		} else {
			b->cap = cap;
			b->capn = capn;
			p->batches[p->nbatches++] = b;
		}
	}
	pthread_mutex_unlock(&p->mu);
	if (b) {
		b->len = b->n = 0;
		b->done = b->out->sealed = 0;
		b->next = NULL;
	}
	return b;
}

void packer_batch_put(struct packer *p, struct packer_batch *b)
{
	pthread_mutex_lock(&p->mu);
	b->next = p->free_batches;
	p->free_batches = b;
	pthread_mutex_unlock(&p->mu);
}

int packer_batch_submit(struct packer *p, struct packer_batch *b, struct cf_error *err)
{
	if (!p->claim)
		return cf_error_set(err, CF_EUSAGE, "no claim function");
	struct job j = { .batch = b };
	pthread_mutex_lock(&p->mu);
	b->done = b->out->sealed = 0;
	b->next = NULL;
	int rc = put_job(p, &j, err);
	if (rc == 0) {
		if (p->sub_tail)
			p->sub_tail->next = b;
		else
			p->sub_head = b;
		p->sub_tail = b;
	}
	pthread_mutex_unlock(&p->mu);
	if (rc)
		packer_batch_put(p, b);
	return rc;
}

int packer_batch_next(struct packer *p, int wait, struct packer_batch **ret, struct cf_error *err)
{
	int rc = 0;
	*ret = NULL;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct packer_batch *b = p->sub_head;
		if (p->failed) {
			if (err)
				*err = p->err;
			rc = p->failed;
			break;
		}
		if (!b)
			break;
		if (b->done) {
			p->sub_head = b->next;
			if (!p->sub_head)
				p->sub_tail = NULL;
			b->next = NULL;
			*ret = b;
			break;
		}
		if (!wait)
			break;
		if (!help(p))
			pthread_cond_wait(&p->batch_done, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int packer_flush(struct packer *p, struct blob_pack **ret_packs, size_t *ret_n,
	struct cf_error *err)
{
	for (int t = 0; t < _BLOB_TYPE_MAX; t++) {
		int rc = enqueue(p, t, err);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&p->mu);
	while (p->count || p->busy)
		if (!help(p))
			pthread_cond_wait(&p->idle, &p->mu);
	int failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	/* The workers are idle (and seal their frames at the end of each batch): the partly
	 * filled packs are the caller's to finish. */
	for (int t = 0; t < _BLOB_TYPE_MAX && !failed; t++) {
		struct pack_writer *w = p->w[t];
		p->w[t] = NULL;
		if (w)
			finish_pack(p, w);
	}
	return packer_take(p, ret_packs, ret_n, err);
}

int packer_take(struct packer *p, struct blob_pack **ret_packs, size_t *ret_n,
	struct cf_error *err)
{
	pthread_mutex_lock(&p->mu);
	int rc = p->failed;
	if (rc) {
		if (err)
			*err = p->err;
	} else {
		*ret_packs = p->done;
		*ret_n = p->ndone;
		p->done = NULL;
		p->ndone = p->capdone = 0;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void packer_free(struct packer *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->can_take);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	/* Jobs left by an early stop: drop them (batches are freed below). */
	while (p->count) {
		if (!p->q[p->head].batch) {
			buf_free(&p->q[p->head].data);
			free(p->q[p->head].refs);
		}
		p->head = (p->head + 1) % QUEUE_JOBS;
		p->count--;
	}
	for (int t = 0; t < _BLOB_TYPE_MAX; t++) {
		buf_free(&p->stage[t].data);
		free(p->stage[t].refs);
	}
	for (int i = 0; i <= MAX_WORKERS; i++)
		wstate_release(&p->ws[i]);
	for (size_t i = 0; i < p->nbatches; i++) {
		struct packer_out *o = p->batches[i]->out;
		buf_free(&o->bytes);
		free(o->of);
		free(o->refs);
		free(o);
		free(p->batches[i]->data);
		free(p->batches[i]->c);
		free(p->batches[i]);
	}
	for (int t = 0; t < _BLOB_TYPE_MAX; t++)
		pack_writer_free(p->w[t]);
	blob_packs_free(p->done, p->ndone);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->wmu);
	pthread_cond_destroy(&p->can_take);
	pthread_cond_destroy(&p->can_put);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->batch_done);
	free(p);
}
