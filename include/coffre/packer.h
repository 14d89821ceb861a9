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
 * blob is in a finished
 * pack; the packs finished since the last call (malloc'd, entries owned by the caller). */
int packer_flush(struct packer *p, struct blob_pack **ret_packs, size_t *ret_n,
	struct cf_error *err);
/* packer_take(p, ret_packs, ret_n, err): the packs finished since the last call, without
 * waiting (possibly none). */
int packer_take(struct packer *p, struct blob_pack **ret_packs, size_t *ret_n,
	struct cf_error *err);
/* packer_free(p): stop the workers; an unfinished pack is discarded. */
void packer_free(struct packer *p);

#endif
