/* backup_store.c: a changed file's content on its way into the repository. It is read into
 * batches and cut into chunks here; the packer's workers hash the chunks, and compress, seal
 * and pack those no index knows; their ids come back in order to the file they belong to.
 * The packs finished are recorded in index objects as the run goes. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "coffre/blob.h"
#include "coffre/chunk.h"
#include "coffre/detect.h"
#include "coffre/packer.h"
#include "store/repo_internal.h"

/* Content goes to the workers in batches of 1 MiB, or of four maximal chunks when they are
 * larger: a batch must hold a whole chunk window, and more only costs memory. Small files
 * share a batch; a batch holds at most one chunk per BATCH_SLOT_BYTES. */
#define READ_BUF_MIN (1u << 20)
#define BATCH_SLOT_BYTES 512

int bstore_init(struct run *R)
{
	const struct chunker *ck = &R->r->chunker;
	R->batch_cap = (size_t)ck->max * 4 > READ_BUF_MIN ? (size_t)ck->max * 4 : READ_BUF_MIN;
	R->batch_slots = R->batch_cap / BATCH_SLOT_BYTES;
	uint8_t *zeros = calloc(1, ck->max);
	if (!zeros)
		return cf_error_set(R->err, CF_ENOMEM, "out of memory");
	R->zero_len = chunk_cut(ck, zeros, ck->max);
	repo_blob_id(R->r, zeros, R->zero_len, R->zero_id);
	free(zeros);
	return 0;
}

/* Tells the caller how the run goes, at most four times a second. */
static void progress(struct run *R)
{
	if (!R->o->progress)
		return;
	uint64_t now = util_now_ns();
	if (now - R->last_progress < 250000000u)
		return;
	R->last_progress = now;
	R->st.duration = (double)(now - R->t0) / 1e9;
	R->o->progress(R->o->ctx, &R->st);
}

/* ---- packs into index objects ---- */

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

int bstore_finish(struct run *R)
{
	int rc = take_packs(R, 1);
	if (rc == 0)
		rc = commit_wait(R);
	return rc ? rc : blobidx_commit(R->x, R->err);
}

void bstore_release(struct run *R)
{
	if (R->committing)	/* only after an error: keep that one */
		pthread_join(R->committer, NULL);
	R->committing = 0;
}

/* ---- blobs ---- */

int bstore_claim(void *ctx, const uint8_t id[32])
{
	return blobidx_claim(ctx, id);
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

int bstore_tree(void *ctx, const uint8_t *data, size_t n, uint8_t ret_id[32],
	struct cf_error *err)
{
	struct run *R = ctx;
	repo_blob_id(R->r, data, n, ret_id);
	return store_blob(R, BLOB_TREE, ret_id, data, n);
}

/* ---- a file's refs ---- */

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
		if (tree_builder_new(0, NULL, bstore_tree, R, &c->list))
			return cf_error_set(R->err, CF_ENOMEM, "out of memory");
		for (uint32_t i = 0; i < c->n; i++) {
			const uint8_t *rec = c->inl.p + (size_t)i * TREE_REF_BYTES;
			if ((rc = tree_builder_add_ref(c->list, rec, le32_get(rec + 32), R->err)))
				return rc;
		}
	}
	return tree_builder_add_ref(c->list, id, len, R->err);
}

void bstore_content_reset(struct content *c)
{
	c->inl.len = 0;
	c->n = 0;
	tree_builder_free(c->list);
	c->list = NULL;
}

/* ---- batches to the workers and back ---- */

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
			if (++p->ncons > p->ignore && !p->skip) {
				rc = content_add(R, &p->c, c->id, c->len);
				if (p->seal)
					bdetect_seal_chunk(R, p->seal, c);
			}
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

int bstore_drain(struct run *R)
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

static int zero_run(const uint8_t *p, size_t n)
{
	static const uint8_t z[4096];
	for (; n >= sizeof z; p += sizeof z, n -= sizeof z)
		if (memcmp(p, z, sizeof z))
			return 0;
	return memcmp(p, z, n) == 0;
}

int bstore_read(struct run *R, int fd, const char *path, uint64_t size, struct pend *pf,
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
				backup_warn(R, path, "cannot read", errno);
				b->len = start;
				return BACKUP_SKIPPED;
			}
			if (n == 0)
				eof = 1;
			if (R->prof && n > 0)
				detect_profile_feed(R->prof, b->data + b->len, (size_t)n);
			if (R->tap && n > 0)
				R->tap(R->tap_ctx, b->data + b->len, (size_t)n);
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
		progress(R);
		if (backup_cancelled(R))
			return cf_error_set(R->err, CF_EIO, "interrupted");
	}
	*ret_total = total;
	return 0;
}
