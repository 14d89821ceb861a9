/* repo_internal.h: what the engine's modules share about an open repository. */
#ifndef COFFRE_REPO_INTERNAL_H
#define COFFRE_REPO_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "coffre/chunk.h"
#include "coffre/repo.h"
#include "base/util.h"

#define REPO_FORMAT_VERSION 2
#define ID_LEN 32
#define ID_HEX 65

/* Upper bounds on untrusted objects, checked before anything is allocated for them. */
#define MAX_SNAPSHOT_BYTES (4u << 20)
#define MAX_INDEX_BYTES (512u << 20)
#define MAX_KEYFILE_BYTES (64u << 10)
#define MAX_BLOB_BYTES (16u << 20)
#define MAX_CHUNK_BYTES (1u << 20)	/* the backup's read buffer holds several */

/* Secrets, in one sodium_malloc'd block. */
struct repo_keys {
	uint8_t master[32];
	uint8_t enc[32];	/* XChaCha20-Poly1305 key for frames, headers and objects */
	uint8_t blobid[32];	/* BLAKE2b key for blob ids */
	uint8_t chunk[32];	/* chunker gear-table seed */
	uint8_t split[16];	/* SipHash key for tree split points */
};

struct dst;

struct repo {
	char *path;		/* local root, or the destination's URL (for messages) */
	struct dst *d;		/* where every object is read and written */
	int d_borrowed;		/* d belongs to the caller (repo_attach) */
	uint8_t id[ID_LEN];
	char idhex[ID_HEX];
	struct repo_keys *k;
	struct chunk_params cp;
	struct chunker chunker;
	uint32_t pack_size;
	char *opened_keyfile;	/* the key file that unlocked this handle */
	int key_from_cache;	/* unlocked by the local key cache, not by Argon2id */
	char *lock_path;
	int lock_exclusive;
	time_t lock_time;
	/* The lock is rewritten by a thread every few minutes while held, so that other
	 * hosts never take a long prune or backup for a crashed one. */
	pthread_t lock_thread;
	pthread_mutex_t lock_mu;
	pthread_cond_t lock_cv;
	int lock_thread_on, lock_stop;
	uint64_t bytes_written;	/* bytes this handle added to the repository */
};

/* repo_blob_id(r, data, n, out): keyed BLAKE2b-256 of plaintext. */
void repo_blob_id(const struct repo *r, const void *data, size_t n, uint8_t out[ID_LEN]);


/* repo_put_object(r, kind, plain, n, ret_id, err): compress, seal, store under its hash. */
int repo_put_object(struct repo *r, int kind, const void *plain, size_t n, uint8_t ret_id[ID_LEN],
	struct cf_error *err);
/* repo_get_object(r, kind, id, ret, err): read, check the name against the hash, open.
 * Returns 0, CF_ENOENT, CF_ECORRUPT or CF_EIO. */
int repo_get_object(struct repo *r, int kind, const uint8_t id[ID_LEN], struct buf *ret,
	struct cf_error *err);
/* repo_list(r, kind, ret_ids, ret_n, err): ids of all objects of ${kind} (malloc'd array). */
int repo_list(struct repo *r, int kind, uint8_t (**ret_ids)[ID_LEN], size_t *ret_n,
	struct cf_error *err);
int repo_delete_object(struct repo *r, int kind, const uint8_t id[ID_LEN], struct cf_error *err);

/* Sealing: XChaCha20-Poly1305 with 24-byte random nonce in front and the 16-byte tag after.
 * repo_seal appends nonce||ciphertext to ${out}; repo_unseal writes plaintext to ${out}
 * (capacity ${n} - SEAL_OVERHEAD) and returns 0, or CF_ECORRUPT. */
#define SEAL_OVERHEAD (24 + 16)
int repo_seal(const struct repo *r, const void *ad, size_t adlen, const void *plain, size_t n,
	struct buf *out);
int repo_unseal(const struct repo *r, const void *ad, size_t adlen, const uint8_t *sealed, size_t n,
	uint8_t *out);

/* repo_cache_dir(r): $XDG_CACHE_HOME/coffre/<repo id> (created; malloc'd) or NULL. */
char *repo_cache_dir(const struct repo *r);

#endif
