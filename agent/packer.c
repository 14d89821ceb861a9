/* packer.c: a small pool of workers that compress and seal frames of blobs into packs. The
 * caller's thread gathers consecutive blobs of one type into a frame (PACK_FRAME_TARGET
 * bytes); the workers compress, seal and append whole frames. */
#include "coffre/packer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "pack_internal.h"
#include "repo_internal.h"

/* Bounds on what waits in the queue: memory stays flat whatever the data. A few frames per
 * worker keep them busy; more would only hold memory. */
#define QUEUE_BYTES (1u << 20)
#define QUEUE_JOBS 64
#define MAX_WORKERS 8

/* A frame: its blobs' ids and lengths, and their bytes one after the other. */
struct job {
	uint8_t type;
	size_t k;
	struct pack_blobref *refs;
	struct buf data;
};

struct packer {
	struct repo *r;
	pthread_mutex_t mu;	/* the queue, the counters, the finished packs */
	pthread_mutex_t wmu;	/* the packs being filled */
	pthread_cond_t can_take, can_put, idle;
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
	pthread_t th[MAX_WORKERS];
	int nth;
};

static void fail(struct packer *p, const struct cf_error *e)
{
	if (!p->failed) {
		p->failed = e->code ? e->code : CF_EIO;
		p->err = *e;
	}
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

/* Appends a sealed frame to the pack of its type; the pack, once full, is finished with no
 * lock held, so that the other workers go on sealing and writing meanwhile. */
static int append_frame(struct packer *p, const struct job *j, uint8_t flags, const struct buf *frame,
	struct cf_error *e)
{
	int t = j->type, rc = 0;
	struct pack_writer *full = NULL;
	pthread_mutex_lock(&p->wmu);
	if (!p->w[t])
		rc = pack_writer_new(p->r, &p->w[t], e);
	if (rc == 0)
		rc = pack_writer_add_frame(p->w[t], t, flags, j->refs, j->k, frame->p, frame->len, e);
	if (rc == 0 && pack_writer_size(p->w[t]) >= p->r->pack_size) {
		full = p->w[t];
		p->w[t] = NULL;
	}
	pthread_mutex_unlock(&p->wmu);
	if (full)
		finish_pack(p, full);
	return rc;
}

static void *worker(void *arg)
{
	struct packer *p = arg;
	void *zctx = pack_zctx_new();
	struct buf z = { 0 }, frame = { 0 };
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->count == 0)
			pthread_cond_wait(&p->can_take, &p->mu);
		if (p->count == 0 && p->stop)
			break;
		struct job j = p->q[p->head];
		p->head = (p->head + 1) % QUEUE_JOBS;
		p->count--;
		p->busy++;
		pthread_mutex_unlock(&p->mu);
		uint8_t flags = 0;
		int rc = zctx ? pack_seal_frame(p->r, zctx, j.type, j.data.p, j.data.len, &z,
					&frame, &flags)
			      : CF_ENOMEM;
		pthread_mutex_lock(&p->mu);
		p->bytes -= j.data.len;
		pthread_cond_signal(&p->can_put);
		int failed = p->failed;
		pthread_mutex_unlock(&p->mu);
		buf_free(&j.data);
		struct cf_error e = { 0 };
		if (rc)
			cf_error_set(&e, rc, "cannot seal a blob");
		else if (!failed)
			rc = append_frame(p, &j, flags, &frame, &e);
		free(j.refs);
		pthread_mutex_lock(&p->mu);
		if (rc)
			fail(p, &e);
		p->busy--;
		if (p->count == 0 && p->busy == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	pack_zctx_free(zctx);
	buf_free(&z);
	buf_free(&frame);
	return NULL;
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

/* Hands the gathered frame of ${type} to the workers; blocks while the queue is full. */
static int enqueue(struct packer *p, int type, struct cf_error *err)
{
	struct job *st = &p->stage[type];
	if (st->k == 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	while (!p->failed && (p->count == QUEUE_JOBS ||
				     (p->bytes + st->data.len > QUEUE_BYTES && p->count)))
		pthread_cond_wait(&p->can_put, &p->mu);
	if (p->failed) {
		if (err)
			*err = p->err;
		int rc = p->failed;
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	p->q[(p->head + p->count) % QUEUE_JOBS] = *st;
	p->count++;
	p->bytes += st->data.len;
	pthread_cond_signal(&p->can_take);
	pthread_mutex_unlock(&p->mu);
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
	if (st->k == p->capstage[type]) {
		size_t cap = st->k ? 2 * st->k : 16;
		void *np = realloc(st->refs, cap * sizeof *st->refs);
		if (!np)
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		st->refs = np;
		p->capstage[type] = cap;
	}
	if (!st->data.p && buf_reserve(&st->data, n > PACK_FRAME_TARGET ? n : PACK_FRAME_TARGET))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (buf_append(&st->data, data, n))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	st->type = (uint8_t)type;
	memcpy(st->refs[st->k].id, id, 32);
	st->refs[st->k].raw = (uint32_t)n;
	st->k++;
	return st->data.len >= PACK_FRAME_TARGET ? enqueue(p, type, err) : 0;
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
		pthread_cond_wait(&p->idle, &p->mu);
	int failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	/* The workers are idle: the partly filled packs are the caller's to finish. */
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
	/* Jobs left by an early stop: drop them. */
	while (p->count) {
		buf_free(&p->q[p->head].data);
		free(p->q[p->head].refs);
		p->head = (p->head + 1) % QUEUE_JOBS;
		p->count--;
	}
	for (int t = 0; t < _BLOB_TYPE_MAX; t++) {
		buf_free(&p->stage[t].data);
		free(p->stage[t].refs);
	}
	for (int t = 0; t < _BLOB_TYPE_MAX; t++)
		pack_writer_free(p->w[t]);
	blob_packs_free(p->done, p->ndone);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->wmu);
	pthread_cond_destroy(&p->can_take);
	pthread_cond_destroy(&p->can_put);
	pthread_cond_destroy(&p->idle);
	free(p);
}
