/* packer.h: compress and seal new blobs on worker threads and append them to packs, so that
 * reading, chunking and hashing on the caller's thread overlap with the heavy work. */
#ifndef COFFRE_PACKER_H
#define COFFRE_PACKER_H

#include <stddef.h>
#include <stdint.h>

struct blob_pack;
struct cf_error;
struct repo;
struct packer;

/* packer_new(r, workers, ret, err): ${workers} threads (at least 1). */
int packer_new(struct repo *r, int workers, struct packer **ret, struct cf_error *err);
/* packer_add(p, type, id, data, n, err): add a copy of the blob to the frame being gathered
 * for its type, and queue that frame once it is full; blocks while the queue is full. One
 * thread adds and flushes. Returns 0, or the first error any worker met. */
int packer_add(struct packer *p, int type, const uint8_t id[32], const void *data, size_t n,
	struct cf_error *err);
/* packer_flush(p, ret_packs, ret_n, err): queue the frames being gathered, wait until every
 * blob (of submitted batches too) is in a finished pack; the packs finished since the last
 * call (malloc'd, entries owned by the caller). */
int packer_flush(struct packer *p, struct blob_pack **ret_packs, size_t *ret_n,
	struct cf_error *err);
/* packer_take(p, ret_packs, ret_n, err): the packs finished since the last call, without
 * waiting (possibly none). */
int packer_take(struct packer *p, struct blob_pack **ret_packs, size_t *ret_n,
	struct cf_error *err);
/* Content read by the caller, cut into chunks: the workers hash each chunk (unless its id is
 * given), ask the claim function whether to store it, and pack those they must. */
#define PACKER_HASHED 1u	/* the id is given: do not hash */
#define PACKER_STORED 2u	/* set by the workers: this chunk was new and is being stored */
#define PACKER_RAW 4u		/* set by the workers: ... and did not compress (stored as it is) */
struct packer_chunk {
	uint8_t id[32];
	uint32_t off, len;	/* in the batch's data */
	uint8_t flags;
	void *owner;		/* the caller's, untouched */
};
struct packer_batch {
	uint8_t *data;
	size_t len, cap;	/* bytes in data, and room */
	struct packer_chunk *c;
	size_t n, capn;		/* chunks, and room */
	/* The packer's. */
	int done;
	struct packer_batch *next;
	struct packer_out *out;
};
/* Says whether a chunk must be stored: 1 (yes, and nobody else will be told 1 for that id),
 * 0 (stored already or on its way) or a negative CF_E*. Called from the workers. */
typedef int (*packer_claim_fn)(void *ctx, const uint8_t id[32]);
void packer_set_claim(struct packer *p, packer_claim_fn claim, void *ctx);
/* packer_batch_get(p, cap, capn): an empty batch with room for ${cap} bytes and ${capn}
 * chunks (the same every call), or NULL when every batch is in flight: take some back with
 * packer_batch_next first. */
struct packer_batch *packer_batch_get(struct packer *p, size_t cap, size_t capn);
/* packer_batch_submit(p, b, err): hand ${b} to the workers. Batches complete in the order
 * they are submitted. Returns 0, or the first error any worker met (${b} is taken back). */
int packer_batch_submit(struct packer *p, struct packer_batch *b, struct cf_error *err);
/* packer_batch_next(p, wait, ret, err): the oldest submitted batch once its chunks are
 * hashed and the new ones packed (ids and PACKER_STORED filled in), or NULL when none is
 * submitted, or (without ${wait}) none is done yet. Waiting, the caller's thread does queued
 * work itself. Hand the batch back with packer_batch_put. Returns 0 or the first error. */
int packer_batch_next(struct packer *p, int wait, struct packer_batch **ret,
	struct cf_error *err);
void packer_batch_put(struct packer *p, struct packer_batch *b);
/* packer_free(p): stop the workers; an unfinished pack is discarded. */
void packer_free(struct packer *p);

#endif
