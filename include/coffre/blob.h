/* blob.h: the blob index: index objects in the repository, and the local cache that makes
 * dedup lookups cheap without holding the whole index in memory.
 *
 * Contract. Functions return 0 or a CF_E* code (include/coffre/error.h) and fill ${err} when
 * given one; blobidx_has and blobidx_claim return a truth value as said below.
 * Threads: a struct blobidx may be shared by several threads: every blobidx_ call takes the
 * handle's lock. A struct blob_reader belongs to one thread at a time (the prefetch threads it
 * starts are its own business); blob_reader_free joins them. */
#ifndef COFFRE_BLOB_H
#define COFFRE_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/pack.h"

struct cf_error;
struct repo;
struct blobidx;

struct blob_loc {
	uint8_t pack[32];
	struct pack_entry e;
};

/* A pack and its entries, as an index object lists them. */
struct blob_pack {
	uint8_t id[32];
	struct pack_entry *e;
	size_t n;
};

/* blobidx_open(r, ret, err): open the cache for ${r} and bring it up to date with index/.
 * A missing or unreadable cache is rebuilt. */
int blobidx_open(struct repo *r, struct blobidx **ret, struct cf_error *err);
void blobidx_free(struct blobidx *x);

/* blobidx_get(x, id, ret): 0 and ${ret} filled when the blob is in a committed index,
 * CF_ENOENT otherwise. */
int blobidx_get(struct blobidx *x, const uint8_t id[32], struct blob_loc *ret);
/* blobidx_read_begin(x): many blobidx_get calls follow and nothing is added meanwhile: one
 * read transaction for all (each lookup would otherwise take and drop the cache's locks);
 * blobidx_read_end(x) closes it (so does blobidx_free). Begin and end come from the same
 * thread; other threads' lookups meanwhile share the transaction. 0 or CF_EIO (the lookups
 * then work as without it). */
int blobidx_read_begin(struct blobidx *x);
void blobidx_read_end(struct blobidx *x);
/* blobidx_has(x, id): 1 if the blob is stored, committed or written in this run. */
int blobidx_has(struct blobidx *x, const uint8_t id[32]);
/* blobidx_note(x, id): a blob went into the open pack of this run. */
int blobidx_note(struct blobidx *x, const uint8_t id[32]);
/* blobidx_claim(x, id): blobidx_has and blobidx_note in one step: 1 when the blob is new
 * (the caller must store it; nobody else will), 0 when it is stored or on its way, or
 * CF_ENOMEM. Two threads claiming the same id: exactly one gets 1. */
int blobidx_claim(struct blobidx *x, const uint8_t id[32]);
/* blobidx_add_pack(x, id, e, n, err): a pack of this run is stored; takes ${e} (malloc'd). */
int blobidx_add_pack(struct blobidx *x, const uint8_t id[32], struct pack_entry *e, size_t n,
	struct cf_error *err);
/* blobidx_commit(x, err): write an index object for the packs added since the last commit,
 * then record them in the cache. Until then the cache never claims a blob no index holds. */
int blobidx_commit(struct blobidx *x, struct cf_error *err);
/* Packs added and not yet committed. */
size_t blobidx_pending_packs(struct blobidx *x);
/* Number of index objects that could not be read while syncing (damaged or missing). */
size_t blobidx_bad_indexes(const struct blobidx *x);

/* blob_index_write(r, packs, n, ret_id, err): store one index object listing ${packs}. */
int blob_index_write(struct repo *r, const struct blob_pack *packs, size_t n, uint8_t ret_id[32],
	struct cf_error *err);
/* blob_index_write_all(r, packs, n, ret_ids, ret_nids, err): store ${packs} in as many index
 * objects as keep each well under the reader's size limit; their ids (malloc'd). */
int blob_index_write_all(struct repo *r, const struct blob_pack *packs, size_t n,
	uint8_t (**ret_ids)[32], size_t *ret_nids, struct cf_error *err);
/* blob_index_read(r, id, ret_packs, ret_n, err): parse an index object (checked). */
int blob_index_read(struct repo *r, const uint8_t id[32], struct blob_pack **ret_packs,
	size_t *ret_n, struct cf_error *err);
/* blob_index_parse(data, len, id, ret_packs, ret_n, err): the same on an index object's
 * plaintext, stored under ${id} (named in messages). */
int blob_index_parse(const uint8_t *data, size_t len, const uint8_t id[32],
	struct blob_pack **ret_packs, size_t *ret_n, struct cf_error *err);
/* blob_index_encode(packs, n, out): append the plaintext of an index object listing ${packs}
 * to ${out}. Returns 0, or -1 (out of memory, or a pack's entries overlap). */
int blob_index_encode(const struct blob_pack *packs, size_t n, struct buf *out);
void blob_packs_free(struct blob_pack *p, size_t n);


/* A reader of blobs by id, keeping a few pack files open. */
struct blob_reader;
int blob_reader_new(struct repo *r, struct blobidx *x, struct blob_reader **ret,
	struct cf_error *err);
/* blob_reader_get(br, id, ret, err): 0, CF_ENOENT (no index knows it, or its pack is
 * missing), CF_ECORRUPT (damaged), CF_EIO. */
int blob_reader_get(struct blob_reader *br, const uint8_t id[32], struct buf *ret,
	struct cf_error *err);
/* blob_reader_append_unverified(br, id, ret, err): the same, but the blob goes after what
 * ${ret} holds and is not checked against its id (its frame is authenticated): the caller
 * must compare repo_blob_id with ${id} before trusting it. Lets a reader gather blobs without
 * a copy and spread that hashing over threads. */
int blob_reader_append_unverified(struct blob_reader *br, const uint8_t id[32], struct buf *ret,
	struct cf_error *err);
/* blob_reader_plan(br, id): a remote restore will read blob ${id}: called for each blob in
 * the order they will be read, before blob_reader_prefetch(br, err) starts fetching their
 * packs ahead, on connections of their own, while blob_reader_get reads. Nothing is
 * planned for a local repository. Returns 0 or CF_ENOMEM. */
int blob_reader_plan(struct blob_reader *br, const uint8_t id[32]);
int blob_reader_prefetch(struct blob_reader *br, struct cf_error *err);
/* The same, as a tree_load_fn (ctx is the reader). */
int blob_reader_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err);
void blob_reader_free(struct blob_reader *br);

#endif
