/* repo_internal.h: what the engine's modules share about an open repository, and what the
 * repository's own files (repo.c, repo_key.c, repo_keycache.c, repo_object.c, repo_lock.c,
 * repo_util.c) share with each other.
 *
 * Threads: a handle's lifecycle, keys and lock (repo.h) belong to one thread at a time. The
 * key material is read-only once the handle is open: repo_seal, repo_unseal and repo_blob_id
 * may run on any number of threads at once (the packer's workers, the readers of restore and
 * check). repo_put_object may run on one thread while packs are written on others (the index
 * commit during a backup): bytes_written is counted atomically. */
#ifndef COFFRE_REPO_INTERNAL_H
#define COFFRE_REPO_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
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
#define MAX_KEYFILE_BYTES (64u << 10)	/* also bounds the config, a lock, the key cache */
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

struct cf_error;
struct dst;
struct json_t;

struct repo {
	char *path;		/* the destination's URL (for messages) */
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
	char *cache_base;	/* repo_set_cache_dir: local caches go here, not the user's */
	int exact_reads;	/* repo_set_exact_reads */
	struct blob_memo *memo;	/* with exact reads: metadata nodes read once */
	_Atomic uint64_t frames_stored, frames_plain;	/* repo_frames_read */
};

/* ---- objects and sealing (repo_object.c) ---- */

/* repo_blob_id(r, data, n, out): keyed BLAKE2b-256 of plaintext. */
void repo_blob_id(const struct repo *r, const void *data, size_t n, uint8_t out[ID_LEN]);

/* repo_put_object(r, kind, plain, n, ret_id, err): compress, seal, store under its hash.
 * Returns 0, CF_ENOMEM, or what the destination returned (CF_EIO, CF_ENOSPC, ...). */
int repo_put_object(struct repo *r, int kind, const void *plain, size_t n, uint8_t ret_id[ID_LEN],
	struct cf_error *err);
/* repo_get_object(r, kind, id, ret, err): read, check the name against the hash, open.
 * ${ret} receives a malloc'd plaintext followed by a NUL (not counted in its len); the caller
 * frees it. Returns 0, CF_ENOENT, CF_ECORRUPT, CF_ENOMEM or CF_EIO. */
int repo_get_object(struct repo *r, int kind, const uint8_t id[ID_LEN], struct buf *ret,
	struct cf_error *err);
/* repo_list(r, kind, ret_ids, ret_n, err): ids of all objects of ${kind} (malloc'd array,
 * the caller's). Names that are no id are skipped. */
int repo_list(struct repo *r, int kind, uint8_t (**ret_ids)[ID_LEN], size_t *ret_n,
	struct cf_error *err);
/* repo_delete_object(r, kind, id, err): 0 also when the object was gone already. */
int repo_delete_object(struct repo *r, int kind, const uint8_t id[ID_LEN], struct cf_error *err);

/* Sealing: XChaCha20-Poly1305 with 24-byte random nonce in front and the 16-byte tag after.
 * repo_seal appends nonce||ciphertext to ${out} and returns 0 or CF_ENOMEM; repo_unseal
 * writes plaintext to ${out} (capacity ${n} - SEAL_OVERHEAD; it may be ${sealed} + 24, the
 * ciphertext itself, to open in place) and returns 0, or CF_ECORRUPT. */
#define SEAL_OVERHEAD (24 + 16)
int repo_seal(const struct repo *r, const void *ad, size_t adlen, const void *plain, size_t n,
	struct buf *out);
int repo_unseal(const struct repo *r, const void *ad, size_t adlen, const uint8_t *sealed, size_t n,
	uint8_t *out);

/* ---- the handle (repo.c) ---- */

/* The repository's config, as repo_config_parse reads it. */
/* The largest pack size a config may set (coffre writes 16 MiB). */
#define REPO_PACK_SIZE_MAX (256u << 20)
/* What a whole-pack download of ${r} may hold: its target size, one more frame, and its
 * header, with room to spare. */
#define REPO_PACK_FILE_MAX(r) (2 * (uint64_t)(r)->pack_size + (32u << 20))

struct repo_config {
	long long format;		/* 1 or REPO_FORMAT_VERSION */
	uint8_t id[ID_LEN];
	char idhex[ID_HEX];
	struct chunk_params cp;		/* checked by chunk_init, max <= MAX_CHUNK_BYTES */
	uint32_t pack_size;		/* the default when absent or out of range */
};
/* repo_config_parse(bytes, len, name, ret, err): parse an untrusted config (JSON, at most
 * MAX_KEYFILE_BYTES); ${name} names the repository in messages. Reads no byte past ${len};
 * ${ret} is written only on success. Returns 0, or CF_ENOREPO with the reason in ${err} (not
 * JSON, a format this coffre does not read, a bad id, bad chunker parameters). */
int repo_config_parse(const uint8_t *bytes, size_t len, const char *name,
	struct repo_config *ret, struct cf_error *err);

/* ---- helpers of the repository files (repo_util.c) ---- */

/* repo_cache_dir(r): $XDG_CACHE_HOME/coffre/<repo id>, or the folder repo_set_cache_dir
 * gave (created; malloc'd) or NULL. */
char *repo_cache_dir(const struct repo *r);

/* Object names under a prefix of the destination (repo_names_list): a malloc'd array of
 * malloc'd names, released by repo_names_free. */
struct repo_names {
	char **v;
	size_t n, cap;
};
/* repo_names_list(r, prefix, ret, err): append the names under ${prefix} to ${ret} (zeroed
 * by the caller, freed by the caller even on failure). Returns 0, CF_ENOMEM or what the
 * destination returned. */
int repo_names_list(struct repo *r, const char *prefix, struct repo_names *ret,
	struct cf_error *err);
void repo_names_free(struct repo_names *l);

/* repo_json_set_hex(o, key, p, n): o[key] = hex of ${n} bytes. 0 or CF_ENOMEM. */
int repo_json_set_hex(struct json_t *o, const char *key, const uint8_t *p, size_t n);
/* repo_json_get_hex(o, key, out, n): exactly ${n} bytes from the hex string o[key]. Returns
 * 0, or CF_ECORRUPT when absent, not a string or not 2n hex digits. */
int repo_json_get_hex(const struct json_t *o, const char *key, uint8_t *out, size_t n);

/* ---- keys (repo_key.c) ---- */

/* repo_new_keyed(d, master, ret, err): a handle on ${d} (borrowed: the caller frees it after
 * repo_free) whose keys derive from ${master}, with the default parameters and an id made
 * from the key; it reads no config and no key file. For the programs that must seal and
 * open bytes under a key they know (the fuzz targets and their corpus generator). Returns
 * 0, CF_ENOMEM or CF_EIO (libsodium cannot start). */
int repo_new_keyed(struct dst *d, const uint8_t master[32], struct repo **ret,
	struct cf_error *err);

/* repo_keys_derive(k): the subkeys, from k->master. */
void repo_keys_derive(struct repo_keys *k);

/* repo_key_add_password(r, password, ret_name, err): a new key file wrapping the master key
 * under Argon2id of ${password}; its name (malloc'd) in ${ret_name} when not NULL.
 * repo_key_add_recovery(r, ret_text, ret_name, err): a new recovery key; its text in
 * ${ret_text}. repo_key_add_escrow(r, pubhex, err): the master key sealed to an escrow public
 * key (64 hex, else CF_EUSAGE). Return 0, CF_ENOMEM or what the destination returned. */
int repo_key_add_password(struct repo *r, const char *password, char **ret_name,
	struct cf_error *err);
int repo_key_add_recovery(struct repo *r, char ret_text[REPO_RECOVERY_TEXT], char **ret_name,
	struct cf_error *err);
int repo_key_add_escrow(struct repo *r, const char *pubhex, struct cf_error *err);

/* repo_key_unlock(r, cred, err): put the master key into r->k, from the local key cache
 * (cred->key_cache) or from the first key file that ${cred} opens, and set
 * r->opened_keyfile. Returns 0; CF_EPASSWORD when no key file opens with ${cred}; CF_EKEY
 * when the recovery or escrow key given is not well formed; CF_ENOMEM; or what the
 * destination returned. */
int repo_key_unlock(struct repo *r, const struct repo_cred *cred, struct cf_error *err);

enum repo_keyfile_kind {
	REPO_KEYFILE_OTHER = 0,	/* a kind this coffre does not know */
	REPO_KEYFILE_PASSWORD,
	REPO_KEYFILE_RECOVERY,
	REPO_KEYFILE_ESCROW,
};
/* A key file, as repo_keyfile_parse reads it. Which fields hold depends on ${kind}. */
struct repo_keyfile {
	int kind;			/* enum repo_keyfile_kind */
	uint8_t nonce[24];		/* password, recovery: the master key wrapped by */
	uint8_t wrapped[32 + 16];	/* XChaCha20-Poly1305 */
	uint8_t salt[16];		/* password (Argon2id), recovery (BLAKE2b) */
	unsigned long long opslimit;	/* password: 1 to 64 */
	size_t memlimit;		/* password: 8 KiB to 4 GiB */
	uint8_t public_key[32];		/* escrow: crypto_box_seal to this key */
	uint8_t sealed[32 + 48];
};
/* repo_fingerprint_text(fp, ret): 16 bytes as text, "xxxx-xxxx-..." (8 groups). */
void repo_fingerprint_text(const uint8_t fp[16], char ret[REPO_FINGERPRINT_TEXT]);

/* repo_keyfile_parse(bytes, len, ret): parse an untrusted key file (JSON, at most
 * MAX_KEYFILE_BYTES). Reads no byte past ${len}; ${ret} is written only on success. Returns
 * 0; or CF_ECORRUPT: not JSON, no kind, or a known kind whose fields are missing or out of
 * range. */
int repo_keyfile_parse(const uint8_t *bytes, size_t len, struct repo_keyfile *ret);

/* ---- the local key cache (repo_keycache.c) ---- */

/* repo_key_cache_load(r, password): unlock ${r} from the cache. Returns 0 (r->opened_keyfile
 * and r->key_from_cache set), or CF_ENOENT when there is no usable entry (absent, damaged,
 * voided by a key file change, or another password): then derive from the password. */
int repo_key_cache_load(struct repo *r, const char *password);
/* repo_key_cache_save(r, password): best effort (a cache that cannot be written only means
 * the next run derives again). */
void repo_key_cache_save(struct repo *r, const char *password);
void repo_key_cache_drop(struct repo *r);

/* The key cache file, as repo_key_cache_parse reads it. */
struct repo_key_cache_file {
	char keyfile[5 + 32 + 1];	/* "keys/" and 32 lower-case hex digits */
	uint8_t salt[16];
	uint8_t nonce[24];
	uint8_t wrapped[32 + 16];
};
/* repo_key_cache_parse(bytes, len, ret): parse an untrusted key cache file (JSON, at most
 * MAX_KEYFILE_BYTES). Reads no byte past ${len}; ${ret} is written only on success. Returns 0,
 * or CF_ECORRUPT (not JSON, not version 1, a key file name not of the form above, bad hex). */
int repo_key_cache_parse(const uint8_t *bytes, size_t len, struct repo_key_cache_file *ret);

/* ---- locks (repo_lock.c) ---- */

/* A lock file, as repo_lock_parse reads it. Absent fields read as 0. */
struct repo_lock_info {
	char host[256];
	int host_known;		/* host holds the lock's hostname (present and < 256 bytes) */
	long long pid;
	long long time;		/* seconds since the epoch */
	int exclusive;
};
/* repo_lock_parse(bytes, len, ret): parse an untrusted lock file (JSON, at most
 * MAX_KEYFILE_BYTES). Reads no byte past ${len}; ${ret} is written only on success. Returns
 * 0, or CF_ECORRUPT when it is not JSON (a half-written lock, a crash leftover). */
int repo_lock_parse(const uint8_t *bytes, size_t len, struct repo_lock_info *ret);

#endif
