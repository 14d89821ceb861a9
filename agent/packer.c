/* packer.c: a small pool of workers that compress and seal blobs into packs. */
#include "coffre/packer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "pack_internal.h"
#include "repo_internal.h"

/* Bounds on what waits in the queue: memory stays flat whatever the data. */
#define QUEUE_BYTES (8u << 20)
#define QUEUE_JOBS 1024
#define MAX_WORKERS 8
/* Idle workers are woken for a batch, not for every small blob: a tree of tiny files would
 * otherwise cost a context switch per file. */
#define BATCH_JOBS 64
#define BATCH_BYTES (512u << 10)

struct job {
	uint8_t id[32];
	uint8_t type;
	size_t n;
	uint8_t *data;
};

struct packer {
	struct repo *r;
	pthread_mutex_t mu;
	pthread_cond_t can_take, can_put, idle;
	struct job q[QUEUE_JOBS];
	size_t head, count, bytes, busy, waiting;
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

/* Called with the lock held; releases it while the pack is synced and renamed. */
static void finish_locked(struct packer *p, int t)
{
	struct pack_writer *w = p->w[t];
	p->w[t] = NULL;
	pthread_mutex_unlock(&p->mu);
	struct cf_error e = { 0 };
	uint8_t id[32];
	struct pack_entry *ent = NULL;
	size_t n = 0;
	int rc = pack_writer_finish(w, id, &ent, &n, &e);
	pack_writer_free(w);
	pthread_mutex_lock(&p->mu);
	if (rc) {
		fail(p, &e);
		return;
	}
	if (p->ndone == p->capdone) {
		size_t cap = p->capdone ? 2 * p->capdone : 8;
		void *np = realloc(p->done, cap * sizeof *p->done);
		if (!np) {
			free(ent);
			cf_error_set(&e, CF_ENOMEM, "out of memory");
			fail(p, &e);
			return;
		}
		p->done = np;
		p->capdone = cap;
	}
	memcpy(p->done[p->ndone].id, id, 32);
	p->done[p->ndone].e = ent;
	p->done[p->ndone].n = n;
	p->ndone++;
}

static void *worker(void *arg)
{
	struct packer *p = arg;
	void *zctx = pack_zctx_new();
	struct buf z = { 0 }, frame = { 0 };
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->count == 0) {
			p->waiting++;
			pthread_cond_wait(&p->can_take, &p->mu);
			p->waiting--;
		}
		if (p->count == 0 && p->stop)
			break;
		struct job j = p->q[p->head];
		p->head = (p->head + 1) % QUEUE_JOBS;
		p->count--;
		p->busy++;
		pthread_mutex_unlock(&p->mu);
		uint8_t flags = 0;
		int rc = zctx ? pack_seal_blob(p->r, zctx, j.type, j.id, j.data, j.n, &z, &frame,
					&flags)
			      : CF_ENOMEM;
		pthread_mutex_lock(&p->mu);
		p->bytes -= j.n;
		free(j.data);
		struct cf_error e = { 0 };
		if (rc) {
			cf_error_set(&e, rc, "cannot seal a blob");
			fail(p, &e);
		} else if (!p->failed) {
			int t = j.type;
			if (!p->w[t] && pack_writer_new(p->r, &p->w[t], &e) != 0)
				fail(p, &e);
			else if (pack_writer_add_frame(p->w[t], j.type, j.id, flags, (uint32_t)j.n,
					 frame.p, frame.len, &e) != 0)
				fail(p, &e);
			else if (pack_writer_size(p->w[t]) >= p->r->pack_size)
				finish_locked(p, t);
		}
		p->busy--;
		pthread_cond_signal(&p->can_put);
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

int packer_add(struct packer *p, int type, const uint8_t id[32], const void *data, size_t n,
	struct cf_error *err)
{
	if (type < 0 || type >= _BLOB_TYPE_MAX)
		return cf_error_set(err, CF_EUSAGE, "bad blob type");
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	memcpy(copy, data, n);
	pthread_mutex_lock(&p->mu);
	while (!p->failed && (p->count == QUEUE_JOBS || (p->bytes + n > QUEUE_BYTES && p->count)))
		pthread_cond_wait(&p->can_put, &p->mu);
	if (p->failed) {
		if (err)
			*err = p->err;
		int rc = p->failed;
		pthread_mutex_unlock(&p->mu);
		free(copy);
		return rc;
	}
	struct job *j = &p->q[(p->head + p->count) % QUEUE_JOBS];
	memcpy(j->id, id, 32);
	j->type = (uint8_t)type;
	j->n = n;
	j->data = copy;
	p->count++;
	p->bytes += n;
	if (p->waiting && (p->count >= BATCH_JOBS || p->bytes >= BATCH_BYTES))
		pthread_cond_signal(&p->can_take);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int packer_flush(struct packer *p, struct blob_pack **ret_packs, size_t *ret_n,
	struct cf_error *err)
{
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->can_take);	/* the last, partial batch */
	while (p->count || p->busy)
		pthread_cond_wait(&p->idle, &p->mu);
	for (int t = 0; t < _BLOB_TYPE_MAX; t++)
		if (p->w[t] && !p->failed)
			finish_locked(p, t);
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
		free(p->q[p->head].data);
		p->head = (p->head + 1) % QUEUE_JOBS;
		p->count--;
	}
	for (int t = 0; t < _BLOB_TYPE_MAX; t++)
		pack_writer_free(p->w[t]);
	blob_packs_free(p->done, p->ndone);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->can_take);
	pthread_cond_destroy(&p->can_put);
	pthread_cond_destroy(&p->idle);
	free(p);
}
