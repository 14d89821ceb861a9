/* repo.h: a coffre repository on a destination: config, keys, encrypted objects, locks.
 *
 * Results: 0 or a negative CF_E* code (error.h), with a message in ${err} when it is not
 * NULL. A credential that opens no key of the repository is CF_EPASSWORD (whatever its
 * kind); CF_EKEY is a recovery or escrow key that is not well formed.
 * Ownership: a struct repo is the caller's from repo_open* or repo_attach until repo_free;
 * strings returned by the accessors are borrowed from it. Keys live in sodium_malloc'd memory
 * and are wiped when the handle is freed.
 * Threads: one thread at a time calls the functions of this header on a handle (open, lock,
 * key changes, free); the engine's own threads share it only for sealing, blob ids, objects
 * and packs. While a lock is held, a thread of the handle's own rewrites it. */
#ifndef COFFRE_REPO_H
#define COFFRE_REPO_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct dst;
struct dst_options;
struct repo;

/* Credentials: exactly one is set. */
struct repo_cred {
	const char *password;
	const char *recovery_key;	/* text as printed by init (dashes and case ignored) */
	const char *escrow_secret;	/* 64 hex: the escrow key pair's secret half */
	/* With escrow_secret: the fingerprints the escrow holder recorded at enrollment (see
	 * repo_escrow_fingerprint), as text: words separated by blanks, commas or lines, '#'
	 * comments. A repository whose fingerprint is not listed is refused (CF_EKEY). */
	const char *escrow_fingerprints;
	/* With a password: keep the master key in the local cache, sealed under the password,
	 * so that later opens skip Argon2id. Only for a password this machine holds anyway
	 * (a file, the environment), never for one typed at a terminal. */
	int key_cache;
};

/* repo_escrow_keygen(ret_pub, ret_sec): a new escrow key pair as hex (for a federation). */
void repo_escrow_keygen(char ret_pub[65], char ret_sec[65]);

/* Size of the buffer that receives an escrow fingerprint ("xxxx-xxxx-...", 8 groups). */
#define REPO_FINGERPRINT_TEXT 40
/* repo_escrow_fingerprint(r, ret): what binds ${r} to the escrow holder: a keyed hash of the
 * repository id under the master key, so that only the repository the holder enrolled has
 * it. Printed by init --escrow-key; the holder keeps it. */
void repo_escrow_fingerprint(const struct repo *r, char ret[REPO_FINGERPRINT_TEXT]);

/* repo_escrow_key_id(pubhex, ret): what names an escrow public key (64 hex) in a shop's
 * status and the federation's fleet view: a hash of the key, as text like a fingerprint.
 * Returns 0, or CF_EUSAGE when ${pubhex} is not 64 hex digits. */
int repo_escrow_key_id(const char *pubhex, char ret[REPO_FINGERPRINT_TEXT]);
/* repo_escrow_keys_at(url, opt, ret, max, ret_n, err): the ids (repo_escrow_key_id) of the
 * escrow keys the key files of the repository at ${url} seal its master key to, read from
 * those files without unlocking the repository: at most ${max} of them in ${ret}, and how
 * many there are in ${*ret_n} (0: the repository has no escrow). What the key files say,
 * not proven: only the escrow holder can open a sealed key. Returns 0, CF_ENOREPO when
 * ${url} holds no key file, or what the destination returned. */
int repo_escrow_keys_at(const char *url, const struct dst_options *opt,
	char (*ret)[REPO_FINGERPRINT_TEXT], size_t max, size_t *ret_n, struct cf_error *err);

/* Size of the buffer that receives a recovery key's text. */
#define REPO_RECOVERY_TEXT 96

/* Kinds of whole objects stored under their own directory. */
enum repo_kind {
	REPO_SNAPSHOT = 1,
	REPO_INDEX = 2,
	REPO_PIN = 3,
};

/* repo_init(path, password, ret_recovery, ret_idhex, err): create a repository at ${path}
 * (missing or empty directory), its keys wrapped by ${password} and by a new recovery key
 * whose text is written to ${ret_recovery}. ${escrow_pub_hex}, when not NULL, is a
 * crypto_box public key (64 hex) to which the master key is also sealed. Returns 0;
 * CF_EIO when ${path} is not empty or cannot be made; CF_EUSAGE for a bad escrow key;
 * CF_ENOMEM; or what the destination returned. */
int repo_init(const char *path, const char *password, const char *escrow_pub_hex,
	char ret_recovery[REPO_RECOVERY_TEXT], char ret_idhex[65], struct cf_error *err);

/* repo_open(path, cred, ret, err): open and unlock; ${*ret} is written only on success.
 * Returns 0; CF_ENOREPO (no repository there, or its config is unreadable or of a format
 * this coffre does not read); CF_EPASSWORD (${cred} opens no key: wrong password, recovery
 * or escrow key); CF_EKEY (a recovery or escrow key that is not well formed); CF_ENOMEM; or
 * what the destination returned (CF_EIO, CF_EUNREACH, CF_EKEY for its credentials, ...). */
int repo_open(const char *path, const struct repo_cred *cred, struct repo **ret,
	struct cf_error *err);
/* repo_open_at / repo_init_at: the same on any destination URL (dst.h) with its options. */
int repo_open_at(const char *url, const struct dst_options *opt, const struct repo_cred *cred,
	struct repo **ret, struct cf_error *err);
int repo_init_at(const char *url, const struct dst_options *opt, const char *password,
	int key_cache, const char *escrow_pub_hex, char ret_recovery[REPO_RECOVERY_TEXT], char ret_idhex[65],
	struct cf_error *err);
/* repo_attach(src, d, ret, err): a handle on the copy of ${src}'s repository held by ${d}
 * (same id and keys, opened without a password); ${d} stays the caller's and must outlive
 * the handle. Returns 0 or CF_ENOMEM. */
int repo_attach(const struct repo *src, struct dst *d, struct repo **ret, struct cf_error *err);
/* repo_dst(r): the destination the repository lives on (borrowed). */
struct dst *repo_dst(struct repo *r);
/* repo_free(r): unlock, close, wipe the keys; repo_free(NULL) does nothing. */
void repo_free(struct repo *r);

/* repo_set_cache_dir(r, dir, err): from now on the local caches of ${r} (the blob index, packs
 * fetched whole or ahead) live under ${dir}/<repository id> instead of the user's cache;
 * ${dir} is the caller's to remove once ${r} is freed. With an empty ${dir}, every index and
 * pack is read from the destination, as on a machine that never saw it (restore drills).
 * The key cache is another matter: repo_cred.key_cache. 0 or CF_ENOMEM. */
int repo_set_cache_dir(struct repo *r, const char *dir, struct cf_error *err);
/* repo_set_exact_reads(r, on): with ${on}, a remote repository is read only where a wanted
 * blob lies: no pack fetched whole because many of its blobs are read, no span fetched
 * ahead unless every byte of it is wanted, so that the bytes fetched follow the blobs read
 * (a drill within a byte budget). Slower on many small reads; off by default. */
void repo_set_exact_reads(struct repo *r, int on);
/* repo_frames_read(r, ret_stored, ret_plain): the frames of file data that readers of ${r}
 * opened: their bytes as stored and as plaintext (the compression a restore meets). */
void repo_frames_read(const struct repo *r, uint64_t *ret_stored, uint64_t *ret_plain);

/* repo_path(r), repo_id_hex(r): the repository's place (for messages) and id, borrowed. */
const char *repo_path(const struct repo *r);
const char *repo_id_hex(const struct repo *r);
/* repo_key_cache_wanted(): 0 when COFFRE_KEY_CACHE is 0, no or off (the cache is then
 * neither read nor written), 1 otherwise. */
int repo_key_cache_wanted(void);
/* repo_key_from_cache(r): 1 when the local key cache unlocked ${r} (repo_cred.key_cache). */
int repo_key_from_cache(const struct repo *r);

/* repo_key_passwd(r, newpw, err): wrap the master key with ${newpw}, then remove the
 * password key that opened ${r}, and void the local key cache. Data is not re-encrypted.
 * Returns 0, CF_ENOMEM, or what the destination returned. */
int repo_key_passwd(struct repo *r, const char *newpw, struct cf_error *err);
/* repo_key_recovery_rotate(r, ret_text, err): a new recovery key replaces the old ones; its
 * text in ${ret_text}. Returns 0, CF_ENOMEM, or what the destination returned. */
int repo_key_recovery_rotate(struct repo *r, char ret_text[REPO_RECOVERY_TEXT],
	struct cf_error *err);

/* repo_lock(r, exclusive, err): take a shared (backup, restore) or exclusive (prune) lock,
 * clearing stale ones: a lock of this host whose process is gone, or another host's lock not
 * refreshed for 30 minutes. While held, a thread rewrites the lock every 5 minutes.
 * CF_ELOCKED if a conflicting lock is live. On a read-only destination (a view as of a date)
 * a shared lock is not taken (0) and an exclusive one is refused (CF_EUSAGE). */
int repo_lock(struct repo *r, int exclusive, struct cf_error *err);
/* repo_lock_mode(r, exclusive, err): turn the lock ${r} holds into a shared or exclusive one
 * by rewriting it in place (repo_lock when it holds none). Keys that may write but not delete
 * (docs/FEDERATION.md) cannot remove a released lock, and a process must not take that
 * leftover of its own for another holder. CF_ELOCKED (the lock stays shared) if another live
 * lock conflicts. */
int repo_lock_mode(struct repo *r, int exclusive, struct cf_error *err);
/* repo_unlock(r): stop refreshing and remove the lock, if any (repo_free does it too). */
void repo_unlock(struct repo *r);

#endif
