/* repo.h: a coffre repository in a directory: config, keys, encrypted objects, locks. */
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
	/* With a password: keep the master key in the local cache, sealed under the password,
	 * so that later opens skip Argon2id. Only for a password this machine holds anyway
	 * (a file, the environment), never for one typed at a terminal. */
	int key_cache;
};

/* repo_escrow_keygen(ret_pub, ret_sec): a new escrow key pair as hex (for a federation). */
void repo_escrow_keygen(char ret_pub[65], char ret_sec[65]);

/* Size of the buffer that receives a recovery key's text. */
#define REPO_RECOVERY_TEXT 96

/* Kinds of whole objects stored under their own directory. */
enum repo_kind {
	REPO_SNAPSHOT = 1,
	REPO_INDEX = 2,
};

/* repo_init(path, password, ret_recovery, ret_idhex, err): create a repository at ${path}
 * (missing or empty directory), its keys wrapped by ${password} and by a new recovery key
 * whose text is written to ${ret_recovery}. ${escrow_pub_hex}, when not NULL, is a
 * crypto_box public key (64 hex) to which the master key is also sealed. */
int repo_init(const char *path, const char *password, const char *escrow_pub_hex,
	char ret_recovery[REPO_RECOVERY_TEXT], char ret_idhex[65], struct cf_error *err);

/* repo_open(path, cred, ret, err): open and unlock. Returns 0, CF_ENOREPO, CF_EKEY, ... */
int repo_open(const char *path, const struct repo_cred *cred, struct repo **ret,
	struct cf_error *err);
/* repo_open_at / repo_init_at: the same on any destination URL (dst.h) with its options. */
int repo_open_at(const char *url, const struct dst_options *opt, const struct repo_cred *cred,
	struct repo **ret, struct cf_error *err);
int repo_init_at(const char *url, const struct dst_options *opt, const char *password,
	int key_cache, const char *escrow_pub_hex, char ret_recovery[REPO_RECOVERY_TEXT], char ret_idhex[65],
	struct cf_error *err);
/* repo_attach(src, d, ret, err): a handle on the copy of ${src}'s repository held by ${d}
 * (same id and keys, opened without a password); ${d} stays the caller's. */
int repo_attach(const struct repo *src, struct dst *d, struct repo **ret, struct cf_error *err);
/* repo_dst(r): the destination the repository lives on (borrowed). */
struct dst *repo_dst(struct repo *r);
void repo_free(struct repo *r);

const char *repo_path(const struct repo *r);
const char *repo_id_hex(const struct repo *r);
/* repo_key_cache_wanted(): 0 when COFFRE_KEY_CACHE is 0, no or off (the cache is then
 * neither read nor written), 1 otherwise. */
int repo_key_cache_wanted(void);
/* repo_key_from_cache(r): 1 when the local key cache unlocked ${r} (repo_cred.key_cache). */
int repo_key_from_cache(const struct repo *r);

/* repo_key_passwd(r, newpw, err): wrap the master key with ${newpw}, then remove the
 * password key that opened ${r}. Data is not re-encrypted. */
int repo_key_passwd(struct repo *r, const char *newpw, struct cf_error *err);
/* repo_key_recovery_rotate(r, ret_text, err): a new recovery key replaces the old ones. */
int repo_key_recovery_rotate(struct repo *r, char ret_text[REPO_RECOVERY_TEXT],
	struct cf_error *err);

/* repo_lock(r, exclusive, err): take a shared (backup, restore) or exclusive (prune) lock,
 * clearing stale ones: a lock of this host whose process is gone, or another host's lock not
 * refreshed for 30 minutes. While held, a thread rewrites the lock every 5 minutes.
 * CF_ELOCKED if a conflicting lock is live. */
int repo_lock(struct repo *r, int exclusive, struct cf_error *err);
void repo_unlock(struct repo *r);

#endif
