/* repo.c: repository config, keys, whole objects (snapshots, index) and locks. */
#include "store/repo_internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <zstd.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "store/pack_internal.h"

#define KDF_CONTEXT "coffre01"
#define OBJ_MAGIC "CFO1"
#define KEY_AD "coffre-key-v1"
/* Argon2id cost for password keys: modest memory so that a backup's peak stays small. */
#define PW_OPSLIMIT 4
#define PW_MEMLIMIT (32u << 20)
#define LOCK_STALE_SECONDS (30 * 60)
#define LOCK_REFRESH_SECONDS (5 * 60)

static const struct chunk_params default_chunk_params = { 2048, 8192, 32768 };
#define DEFAULT_PACK_SIZE (16u << 20)

static const char *const repo_dirs[] = { "keys", "data", "index", "snapshots", "locks" };

const char *repo_path(const struct repo *r)
{
	return r->path;
}

struct dst *repo_dst(struct repo *r)
{
	return r->d;
}

const char *repo_id_hex(const struct repo *r)
{
	return r->idhex;
}

void repo_blob_id(const struct repo *r, const void *data, size_t n, uint8_t out[ID_LEN])
{
	crypto_generichash(out, ID_LEN, data, n, r->k->blobid, sizeof r->k->blobid);
}

/* XChaCha20-Poly1305 (IETF) is HChaCha20 of the key and the nonce's first 16 bytes, then
 * ChaCha20-Poly1305 (IETF) under that subkey with the nonce 0^4 || nonce[16..24]. Built from
 * those two calls because libsodium 1.0.18's own xchacha20poly1305 runs the portable ChaCha20
 * (about ten times slower here); the bytes are the same. */
static void xchacha_subkey(uint8_t k2[32], uint8_t n2[12], const uint8_t nonce[24],
	const uint8_t key[32])
{
	crypto_core_hchacha20(k2, nonce, key, NULL);
	memset(n2, 0, 4);
	memcpy(n2 + 4, nonce + 16, 8);
}

int repo_seal(const struct repo *r, const void *ad, size_t adlen, const void *plain, size_t n,
	struct buf *out)
{
	if (buf_reserve(out, n + SEAL_OVERHEAD))
		return CF_ENOMEM;
	uint8_t *nonce = out->p + out->len;
	randombytes_buf(nonce, 24);
	uint8_t k2[32], n2[12];
	xchacha_subkey(k2, n2, nonce, r->k->enc);
	unsigned long long clen = 0;
	crypto_aead_chacha20poly1305_ietf_encrypt(nonce + 24, &clen, plain, n, ad, adlen, NULL, n2,
		k2);
	sodium_memzero(k2, sizeof k2);
	out->len += 24 + (size_t)clen;
	return 0;
}

int repo_unseal(const struct repo *r, const void *ad, size_t adlen, const uint8_t *sealed, size_t n,
	uint8_t *out)
{
	if (n < SEAL_OVERHEAD)
		return CF_ECORRUPT;
	uint8_t k2[32], n2[12];
	xchacha_subkey(k2, n2, sealed, r->k->enc);
	unsigned long long mlen = 0;
	int bad = crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, sealed + 24, n - 24,
		ad, adlen, n2, k2);
	sodium_memzero(k2, sizeof k2);
	return bad ? CF_ECORRUPT : 0;
}

static void derive_keys(struct repo_keys *k)
{
	crypto_kdf_derive_from_key(k->enc, sizeof k->enc, 1, KDF_CONTEXT, k->master);
	crypto_kdf_derive_from_key(k->blobid, sizeof k->blobid, 2, KDF_CONTEXT, k->master);
	crypto_kdf_derive_from_key(k->chunk, sizeof k->chunk, 3, KDF_CONTEXT, k->master);
	crypto_kdf_derive_from_key(k->split, sizeof k->split, 4, KDF_CONTEXT, k->master);
}

/* ---- key files ---- */

/* The wrapping key for a recovery key: the key text carries 256 bits, so no stretching. */
static void recovery_wrap_key(uint8_t out[32], const uint8_t rk[32], const uint8_t salt[16])
{
	static const uint8_t personal[16] = "coffre-recovery";
	crypto_generichash_blake2b_salt_personal(out, 32, rk, 32, NULL, 0, salt, personal);
}

static int parse_recovery_text(const char *text, uint8_t rk[32])
{
	size_t got = 0;
	const char *end = NULL;
	if (sodium_hex2bin(rk, 32, text, strlen(text), "- \t\n\r", &got, &end) != 0 || got != 32)
		return -1;
	while (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t' || *end == '-')
		end++;
	return *end ? -1 : 0;
}

static void format_recovery_text(char out[REPO_RECOVERY_TEXT], const uint8_t rk[32])
{
	char hex[65];
	util_hex(hex, rk, 32);
	size_t o = 0;
	for (int i = 0; i < 64; i += 4) {
		if (i)
			out[o++] = '-';
		memcpy(out + o, hex + i, 4);
		o += 4;
	}
	out[o] = 0;
	sodium_memzero(hex, sizeof hex);
}

static char *hexdup(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (s)
		util_hex(s, p, n);
	return s;
}

static int json_set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char *s = hexdup(p, n);
	if (!s)
		return -1;
	int r = json_object_set_new(o, key, json_string(s));
	free(s);
	return r;
}

/* Writes keys/<random> holding the master key wrapped by ${wrapkey}. */
static int write_keyfile(struct repo *r, const char *kind, json_t *extra, const uint8_t wrapkey[32],
	char **ret_path, struct cf_error *err)
{
	uint8_t nonce[24], wrapped[32 + 16], name[16];
	uint8_t ad[sizeof KEY_AD - 1 + ID_LEN];
	memcpy(ad, KEY_AD, sizeof KEY_AD - 1);
	memcpy(ad + sizeof KEY_AD - 1, r->id, ID_LEN);
	randombytes_buf(nonce, sizeof nonce);
	crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped, NULL, r->k->master, 32, ad, sizeof ad,
		NULL, nonce, wrapkey);
	json_t *o = extra ? extra : json_object();
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "kind", json_string(kind));
	json_set_hex(o, "nonce", nonce, sizeof nonce);
	json_set_hex(o, "wrapped", wrapped, sizeof wrapped);
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	randombytes_buf(name, sizeof name);
	char hex[33];
	util_hex(hex, name, sizeof name);
	char *obj = util_path("keys/%s", hex);
	int rc = obj ? dst_put_buf(r->d, obj, text, strlen(text), err) : CF_ENOMEM;
	free(text);
	if (rc == 0 && ret_path)
		*ret_path = obj;
	else
		free(obj);
	return rc;
}

static int add_password_key(struct repo *r, const char *password, char **ret_path,
	struct cf_error *err)
{
	uint8_t salt[crypto_pwhash_SALTBYTES];
	uint8_t *wk = sodium_malloc(32);
	if (!wk)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	randombytes_buf(salt, sizeof salt);
	if (crypto_pwhash(wk, 32, password, strlen(password), salt, PW_OPSLIMIT, PW_MEMLIMIT,
		    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_free(wk);
		return cf_error_set(err, CF_ENOMEM, "not enough memory to derive the key");
	}
	json_t *o = json_object();
	json_object_set_new(o, "kdf", json_string("argon2id13"));
	json_object_set_new(o, "opslimit", json_integer(PW_OPSLIMIT));
	json_object_set_new(o, "memlimit", json_integer(PW_MEMLIMIT));
	json_set_hex(o, "salt", salt, sizeof salt);
	int rc = write_keyfile(r, "password", o, wk, ret_path, err);
	sodium_free(wk);
	return rc;
}

static int add_recovery_key(struct repo *r, char text[REPO_RECOVERY_TEXT], char **ret_path,
	struct cf_error *err)
{
	uint8_t salt[16];
	uint8_t *rk = sodium_malloc(64);
	if (!rk)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	randombytes_buf(rk, 32);
	randombytes_buf(salt, sizeof salt);
	recovery_wrap_key(rk + 32, rk, salt);
	json_t *o = json_object();
	json_object_set_new(o, "kdf", json_string("blake2b-recovery"));
	json_set_hex(o, "salt", salt, sizeof salt);
	int rc = write_keyfile(r, "recovery", o, rk + 32, ret_path, err);
	if (rc == 0)
		format_recovery_text(text, rk);
	sodium_free(rk);
	return rc;
}

static int add_escrow_key(struct repo *r, const char *pubhex, struct cf_error *err)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sealed[32 + crypto_box_SEALBYTES], name[16];
	if (util_unhex(pk, sizeof pk, pubhex) != 0)
		return cf_error_set(err, CF_EUSAGE, "escrow key must be 64 hex digits");
	crypto_box_seal(sealed, r->k->master, 32, pk);
	json_t *o = json_object();
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "kind", json_string("escrow"));
	json_set_hex(o, "public_key", pk, sizeof pk);
	json_set_hex(o, "sealed", sealed, sizeof sealed);
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	randombytes_buf(name, sizeof name);
	char hex[33];
	util_hex(hex, name, sizeof name);
	char *obj = util_path("keys/%s", hex);
	int rc = (obj && text) ? dst_put_buf(r->d, obj, text, strlen(text), err) : CF_ENOMEM;
	free(obj);
	free(text);
	return rc;
}

static int get_hex(json_t *o, const char *key, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? util_unhex(out, n, s) : -1;
}

/* Tries one key file; returns 0 when it unwrapped the master key, 1 when it does not match
 * the credential, CF_E* on error. */
static int try_keyfile(struct repo *r, const char *name, const struct repo_cred *cred,
	struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = dst_get(r->d, name, MAX_KEYFILE_BYTES, &b, err);
	if (rc)
		return rc;
	json_error_t je;
	json_t *o = json_loadb((const char *)b.p, b.len, 0, &je);
	buf_free(&b);
	if (!o)
		return 1;
	const char *kind = json_string_value(json_object_get(o, "kind"));
	uint8_t nonce[24], wrapped[48], salt[16];
	uint8_t *wk = sodium_malloc(32 + 32);
	rc = 1;
	if (!wk) {
		json_decref(o);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	if (cred->escrow_secret && kind && strcmp(kind, "escrow") == 0) {
		uint8_t pk[crypto_box_PUBLICKEYBYTES], sealed[32 + crypto_box_SEALBYTES];
		if (get_hex(o, "public_key", pk, sizeof pk) || get_hex(o, "sealed", sealed, sizeof sealed))
			goto out;
		if (util_unhex(wk, 32, cred->escrow_secret) != 0) {
			rc = cf_error_set(err, CF_EKEY, "the escrow secret key must be 64 hex digits");
			goto out;
		}
		if (crypto_box_seal_open(r->k->master, sealed, sizeof sealed, pk, wk) == 0)
			rc = 0;
		goto out;
	}
	if (!kind || get_hex(o, "nonce", nonce, 24) || get_hex(o, "wrapped", wrapped, 48))
		goto out;
	if (cred->password && strcmp(kind, "password") == 0) {
		json_int_t ops = json_integer_value(json_object_get(o, "opslimit"));
		json_int_t mem = json_integer_value(json_object_get(o, "memlimit"));
		const char *alg = json_string_value(json_object_get(o, "kdf"));
		if (!alg || strcmp(alg, "argon2id13") || get_hex(o, "salt", salt, 16) || ops < 1 ||
		    ops > 64 || mem < 8192 || mem > (json_int_t)(4ull << 30))
			goto out;
		if (crypto_pwhash(wk, 32, cred->password, strlen(cred->password), salt,
			    (unsigned long long)ops, (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
			rc = cf_error_set(err, CF_ENOMEM, "not enough memory to derive the key");
			goto out;
		}
	} else if (cred->recovery_key && strcmp(kind, "recovery") == 0) {
		if (get_hex(o, "salt", salt, 16))
			goto out;
		if (parse_recovery_text(cred->recovery_key, wk + 32) != 0) {
			rc = cf_error_set(err, CF_EKEY, "the recovery key is not well formed");
			goto out;
		}
		recovery_wrap_key(wk, wk + 32, salt);
	} else {
		goto out;
	}
	uint8_t ad[sizeof KEY_AD - 1 + ID_LEN];
	memcpy(ad, KEY_AD, sizeof KEY_AD - 1);
	memcpy(ad + sizeof KEY_AD - 1, r->id, ID_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(r->k->master, NULL, NULL, wrapped, 48, ad,
		    sizeof ad, nonce, wk) == 0)
		rc = 0;
out:
	sodium_free(wk);
	json_decref(o);
	return rc;
}

/* ---- local key cache ----
 * Argon2id costs every command 32 MiB and a fraction of a second. When the password is held on
 * this machine anyway (a password file or the environment), the master key is kept in the
 * local cache, sealed under a key derived from that password, the repository id and the exact
 * bytes of the key file it came from. Only the password opens it, a changed or removed key
 * file voids it, and a password typed at a terminal never leaves such a trace. */

#define KEY_CACHE_AD "coffre-key-cache-v1"

static char *key_cache_path(const struct repo *r)
{
	char *dir = repo_cache_dir(r);
	char *p = dir ? util_path("%s/key", dir) : NULL;
	free(dir);
	return p;
}

static void key_cache_wrap_key(uint8_t out[32], const struct repo *r, const char *keyfile,
	const struct buf *kf, const char *password, const uint8_t salt[16])
{
	crypto_generichash_state st;
	uint8_t kfsum[32];
	crypto_generichash(kfsum, sizeof kfsum, kf->p, kf->len, NULL, 0);
	crypto_generichash_init(&st, salt, 16, 32);
	crypto_generichash_update(&st, (const uint8_t *)KEY_CACHE_AD, sizeof KEY_CACHE_AD);
	crypto_generichash_update(&st, r->id, ID_LEN);
	crypto_generichash_update(&st, (const uint8_t *)keyfile, strlen(keyfile) + 1);
	crypto_generichash_update(&st, kfsum, sizeof kfsum);
	crypto_generichash_update(&st, (const uint8_t *)password, strlen(password));
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof st);
}

/* Best effort: a cache that cannot be written only means the next run derives again. */
static void key_cache_save(struct repo *r, const char *password)
{
	struct buf kf = { 0 };
	char *path = NULL;
	uint8_t *wk = sodium_malloc(32);
	if (!wk || !r->opened_keyfile || !(path = key_cache_path(r)) ||
	    dst_get(r->d, r->opened_keyfile, MAX_KEYFILE_BYTES, &kf, NULL) != 0)
		goto out;
	uint8_t salt[16], nonce[24], wrapped[48];
	randombytes_buf(salt, sizeof salt);
	randombytes_buf(nonce, sizeof nonce);
	key_cache_wrap_key(wk, r, r->opened_keyfile, &kf, password, salt);
	crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped, NULL, r->k->master, 32, r->id, ID_LEN,
		NULL, nonce, wk);
	json_t *o = json_object();
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "keyfile", json_string(r->opened_keyfile));
	json_set_hex(o, "salt", salt, sizeof salt);
	json_set_hex(o, "nonce", nonce, sizeof nonce);
	json_set_hex(o, "wrapped", wrapped, sizeof wrapped);
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	if (text)
		util_write_atomic(path, text, strlen(text), 0, NULL);
	free(text);
out:
	if (wk)
		sodium_free(wk);
	buf_free(&kf);
	free(path);
}

/* Returns 0 when the cache unlocked ${r}, anything else to derive from the password. */
static int key_cache_load(struct repo *r, const char *password)
{
	struct buf b = { 0 }, kf = { 0 };
	char *path = key_cache_path(r);
	json_t *o = NULL;
	uint8_t *wk = sodium_malloc(32);
	int rc = -1;
	if (!wk || !path || util_read_file(path, MAX_KEYFILE_BYTES, &b, NULL) != 0 ||
	    !(o = json_loadb((const char *)b.p, b.len, 0, NULL)))
		goto out;
	const char *name = json_string_value(json_object_get(o, "keyfile"));
	uint8_t salt[16], nonce[24], wrapped[48];
	if (json_integer_value(json_object_get(o, "version")) != 1 || !name ||
	    strncmp(name, "keys/", 5) != 0 || strlen(name) != 5 + 32 ||
	    strspn(name + 5, "0123456789abcdef") != 32 || get_hex(o, "salt", salt, 16) ||
	    get_hex(o, "nonce", nonce, 24) || get_hex(o, "wrapped", wrapped, 48) ||
	    dst_get(r->d, name, MAX_KEYFILE_BYTES, &kf, NULL) != 0)
		goto out;
	key_cache_wrap_key(wk, r, name, &kf, password, salt);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(r->k->master, NULL, NULL, wrapped, 48, r->id,
		    ID_LEN, nonce, wk) != 0)
		goto out;
	if (!(r->opened_keyfile = strdup(name)))
		goto out;
	r->key_from_cache = 1;
	rc = 0;
out:
	if (wk)
		sodium_free(wk);
	json_decref(o);
	buf_free(&b);
	buf_free(&kf);
	free(path);
	return rc;
}

static void key_cache_drop(struct repo *r)
{
	char *path = key_cache_path(r);
	if (path)
		unlink(path);
	free(path);
}

int repo_key_cache_wanted(void)
{
	const char *v = getenv("COFFRE_KEY_CACHE");
	return !(v && (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "off")));
}

int repo_key_from_cache(const struct repo *r)
{
	return r->key_from_cache;
}

/* ---- config ---- */

static int write_config(struct repo *r, struct cf_error *err)
{
	json_t *o = json_object();
	json_t *c = json_object();
	json_object_set_new(o, "format", json_integer(REPO_FORMAT_VERSION));
	json_object_set_new(o, "id", json_string(r->idhex));
	json_object_set_new(c, "min", json_integer(r->cp.min));
	json_object_set_new(c, "avg", json_integer(r->cp.avg));
	json_object_set_new(c, "max", json_integer(r->cp.max));
	json_object_set_new(o, "chunker", c);
	json_object_set_new(o, "pack_size", json_integer(r->pack_size));
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	int rc = text ? dst_put_buf(r->d, "config", text, strlen(text), err) : CF_ENOMEM;
	free(text);
	return rc;
}

static int read_config(struct repo *r, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = dst_get(r->d, "config", MAX_KEYFILE_BYTES, &b, err);
	if (rc == CF_ENOENT)
		return cf_error_set(err, CF_ENOREPO, "'%s' is not a coffre repository", r->path);
	if (rc)
		return rc;
	json_error_t je;
	json_t *o = json_loadb((const char *)b.p, b.len, 0, &je);
	buf_free(&b);
	if (!o)
		return cf_error_set(err, CF_ENOREPO, "'%s' is not a coffre repository", r->path);
	json_int_t fmt = json_integer_value(json_object_get(o, "format"));
	const char *id = json_string_value(json_object_get(o, "id"));
	json_t *c = json_object_get(o, "chunker");
	rc = 0;
	/* Format 1 differs only in its packs and indexes, which are still read. */
	if (fmt != REPO_FORMAT_VERSION && fmt != 1) {
		rc = cf_error_set(err, CF_ENOREPO,
			"'%s' uses repository format %lld, this coffre reads formats 1 and %d",
			r->path, (long long)fmt, REPO_FORMAT_VERSION);
	} else if (!id || util_unhex(r->id, ID_LEN, id) != 0 || !json_is_object(c)) {
		rc = cf_error_set(err, CF_ENOREPO, "'%s' has a damaged config", r->path);
	} else {
		memcpy(r->idhex, id, ID_HEX);
		r->cp.min = (uint32_t)json_integer_value(json_object_get(c, "min"));
		r->cp.avg = (uint32_t)json_integer_value(json_object_get(c, "avg"));
		r->cp.max = (uint32_t)json_integer_value(json_object_get(c, "max"));
		json_int_t ps = json_integer_value(json_object_get(o, "pack_size"));
		r->pack_size = (ps >= (1 << 20) && ps <= (1 << 30)) ? (uint32_t)ps : DEFAULT_PACK_SIZE;
		struct chunker probe;
		static const uint8_t zero[32];
		if (r->cp.max > MAX_CHUNK_BYTES || chunk_init(&probe, &r->cp, zero) != 0)
			rc = cf_error_set(err, CF_ENOREPO, "'%s' has invalid chunker parameters",
				r->path);
	}
	json_decref(o);
	return rc;
}

/* Names of the objects under ${prefix}, collected (malloc'd array of malloc'd names). */
struct names {
	char **v;
	size_t n, cap;
};

static int collect_name(void *ctx, const char *name, uint64_t size)
{
	struct names *l = ctx;
	(void)size;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *p = realloc(l->v, cap * sizeof *l->v);
		if (!p)
			return CF_ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(name)))
		return CF_ENOMEM;
	l->n++;
	return 0;
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int list_names(struct repo *r, const char *prefix, struct names *ret, struct cf_error *err)
{
	int rc = dst_list(r->d, prefix, collect_name, ret, err);
	if (rc == CF_ENOMEM)
		cf_error_set(err, rc, "out of memory");
	return rc;
}

static int repo_alloc(const char *path, const struct dst_options *opt, struct repo **ret,
	struct cf_error *err)
{
	if (sodium_init() < 0)
		return cf_error_set(err, CF_EIO, "libsodium cannot start");
	struct repo *r = calloc(1, sizeof *r);
	if (!r)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	r->k = sodium_malloc(sizeof *r->k);
	int rc = r->k ? dst_open(path, opt, &r->d, err) : cf_error_set(err, CF_ENOMEM, "out of memory");
	if (rc) {
		repo_free(r);
		return rc;
	}
	/* Local repositories are named by their absolute path (a restore changes directory). */
	r->path = strdup(r->d->local_root ? r->d->local_root : r->d->url);
	if (!r->path) {
		repo_free(r);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	*ret = r;
	return 0;
}

void repo_free(struct repo *r)
{
	if (!r)
		return;
	repo_unlock(r);
	if (!r->d_borrowed)
		dst_free(r->d);
	if (r->k)
		sodium_free(r->k);
	free(r->opened_keyfile);
	free(r->path);
	free(r);
}

void repo_escrow_keygen(char ret_pub[65], char ret_sec[65])
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	if (sodium_init() < 0)
		abort();
	crypto_box_keypair(pk, sk);
	util_hex(ret_pub, pk, sizeof pk);
	util_hex(ret_sec, sk, sizeof sk);
	sodium_memzero(sk, sizeof sk);
}

int repo_init(const char *path, const char *password, const char *escrow_pub_hex,
	char ret_recovery[REPO_RECOVERY_TEXT], char ret_idhex[65], struct cf_error *err)
{
	return repo_init_at(path, NULL, password, 0, escrow_pub_hex, ret_recovery, ret_idhex, err);
}

int repo_init_at(const char *path, const struct dst_options *opt, const char *password,
	int key_cache, const char *escrow_pub_hex, char ret_recovery[REPO_RECOVERY_TEXT], char ret_idhex[65],
	struct cf_error *err)
{
	struct repo *r = NULL;
	struct names l = { 0 };
	int rc = repo_alloc(path, opt, &r, err);
	if (rc)
		return rc;
	if (r->d->local_root) {
		struct stat st;
		if (stat(r->path, &st) == 0) {
			DIR *d = opendir(r->path);
			struct dirent *e;
			int empty = 1;
			while (d && (e = readdir(d)))
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
					empty = 0;
			if (d)
				closedir(d);
			if (!d || !empty) {
				rc = cf_error_set(err, CF_EIO,
					"'%s' exists and is not an empty directory", r->path);
				goto out;
			}
		} else if (util_mkdirs(r->path, 0700) != 0) {
			rc = cf_error_sys(err, CF_EIO, "cannot create '%s'", r->path);
			goto out;
		}
		for (size_t i = 0; i < sizeof repo_dirs / sizeof *repo_dirs; i++) {
			char *d = util_path("%s/%s", r->path, repo_dirs[i]);
			int ok = d && mkdir(d, 0700) == 0;
			free(d);
			if (!ok) {
				rc = cf_error_sys(err, CF_EIO, "cannot create '%s/%s'", r->path,
					repo_dirs[i]);
				goto out;
			}
		}
	} else {
		if ((rc = list_names(r, "", &l, err)))
			goto out;
		if (l.n) {
			rc = cf_error_set(err, CF_EIO, "'%s' is not empty", r->path);
			goto out;
		}
	}
	randombytes_buf(r->id, ID_LEN);
	util_hex(r->idhex, r->id, ID_LEN);
	randombytes_buf(r->k->master, sizeof r->k->master);
	derive_keys(r->k);
	r->cp = default_chunk_params;
	r->pack_size = DEFAULT_PACK_SIZE;
	if ((rc = add_password_key(r, password, &r->opened_keyfile, err)) ||
	    (rc = add_recovery_key(r, ret_recovery, NULL, err)))
		goto out;
	if (escrow_pub_hex && (rc = add_escrow_key(r, escrow_pub_hex, err)))
		goto out;
	/* The config comes last: a repository without one is an unfinished init. */
	if ((rc = write_config(r, err)))
		goto out;
	if (key_cache)
		key_cache_save(r, password);
	memcpy(ret_idhex, r->idhex, ID_HEX);
out:
	names_free(&l);
	repo_free(r);
	return rc;
}

int repo_open(const char *path, const struct repo_cred *cred, struct repo **ret,
	struct cf_error *err)
{
	return repo_open_at(path, NULL, cred, ret, err);
}

int repo_open_at(const char *path, const struct dst_options *opt, const struct repo_cred *cred,
	struct repo **ret, struct cf_error *err)
{
	struct repo *r = NULL;
	struct names l = { 0 };
	int rc = repo_alloc(path, opt, &r, err);
	if (rc)
		return rc == CF_EUSAGE ? rc : rc;
	struct stat st;
	if (r->d->local_root && (stat(r->path, &st) != 0 || !S_ISDIR(st.st_mode))) {
		rc = cf_error_set(err, CF_ENOREPO, "no repository at '%s'", r->path);
		goto fail;
	}
	if ((rc = read_config(r, err)))
		goto fail;
	if (cred->password && cred->key_cache && key_cache_load(r, cred->password) == 0)
		goto unlocked;
	if ((rc = list_names(r, "keys/", &l, err)))
		goto fail;
	rc = 1;
	for (size_t i = 0; rc == 1 && i < l.n; i++) {
		const char *base = l.v[i] + 5;
		if (strlen(base) != 32 || strspn(base, "0123456789abcdef") != 32)
			continue;
		rc = try_keyfile(r, l.v[i], cred, err);
		if (rc == 0) {
			r->opened_keyfile = l.v[i];
			l.v[i] = strdup("");
		}
	}
	if (rc == 1)
		rc = cf_error_set(err, CF_EKEY, cred->recovery_key ? "wrong recovery key" :
						 cred->escrow_secret ? "wrong escrow key" : "wrong password");
	if (rc)
		goto fail;
	if (cred->password && cred->key_cache)
		key_cache_save(r, cred->password);
unlocked:
	names_free(&l);
	derive_keys(r->k);
	chunk_init(&r->chunker, &r->cp, r->k->chunk);
	*ret = r;
	return 0;
fail:
	names_free(&l);
	repo_free(r);
	return rc;
}

static const char *key_kind(struct repo *r, const char *name)
{
	static _Thread_local char kind[32];
	struct buf b = { 0 };
	kind[0] = 0;
	if (dst_get(r->d, name, MAX_KEYFILE_BYTES, &b, NULL) == 0) {
		json_t *o = json_loadb((const char *)b.p, b.len, 0, NULL);
		const char *k = o ? json_string_value(json_object_get(o, "kind")) : NULL;
		snprintf(kind, sizeof kind, "%s", k ? k : "");
		json_decref(o);
	}
	buf_free(&b);
	return kind;
}

int repo_key_passwd(struct repo *r, const char *newpw, struct cf_error *err)
{
	char *newname = NULL;
	int rc = add_password_key(r, newpw, &newname, err);
	if (rc)
		return rc;
	key_cache_drop(r);
	/* Drop the old password key only once the new one is durable. */
	if (r->opened_keyfile && strcmp(key_kind(r, r->opened_keyfile), "password") == 0) {
		dst_delete(r->d, r->opened_keyfile, NULL);
		free(r->opened_keyfile);
		r->opened_keyfile = newname;
		newname = NULL;
	}
	free(newname);
	return 0;
}

int repo_key_recovery_rotate(struct repo *r, char ret_text[REPO_RECOVERY_TEXT],
	struct cf_error *err)
{
	char *newname = NULL;
	struct names l = { 0 };
	int rc = add_recovery_key(r, ret_text, &newname, err);
	if (rc)
		return rc;
	if ((rc = list_names(r, "keys/", &l, err)) == 0) {
		for (size_t i = 0; i < l.n; i++)
			if (strcmp(l.v[i], newname) && strcmp(key_kind(r, l.v[i]), "recovery") == 0)
				dst_delete(r->d, l.v[i], NULL);
	}
	names_free(&l);
	free(newname);
	return rc;
}

/* ---- whole objects ---- */

/* The object name of ${id} of ${kind}: "snapshots/<hex>" or "index/<hex>". */
static void object_name(char out[80], int kind, const uint8_t id[ID_LEN])
{
	char hex[ID_HEX];
	util_hex(hex, id, ID_LEN);
	snprintf(out, 80, "%s/%s", kind == REPO_SNAPSHOT ? "snapshots" : "index", hex);
}

static void object_ad(uint8_t ad[5], int kind)
{
	memcpy(ad, OBJ_MAGIC, 4);
	ad[4] = (uint8_t)kind;
}

int repo_put_object(struct repo *r, int kind, const void *plain, size_t n, uint8_t ret_id[ID_LEN],
	struct cf_error *err)
{
	size_t bound = ZSTD_compressBound(n);
	uint8_t *z = malloc(bound);
	if (!z)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	size_t zn = ZSTD_compress(z, bound, plain, n, 3);
	if (ZSTD_isError(zn)) {
		free(z);
		return cf_error_set(err, CF_EIO, "compression failed: %s", ZSTD_getErrorName(zn));
	}
	uint8_t ad[5];
	object_ad(ad, kind);
	struct buf out = { 0 };
	int rc = buf_append(&out, ad, 5) ? CF_ENOMEM : repo_seal(r, ad, 5, z, zn, &out);
	free(z);
	if (rc) {
		buf_free(&out);
		return cf_error_set(err, rc, "out of memory");
	}
	uint8_t id[ID_LEN];
	char hex[ID_HEX];
	crypto_generichash(id, ID_LEN, out.p, out.len, NULL, 0);
	util_hex(hex, id, ID_LEN);
	(void)hex;
	char name[80];
	object_name(name, kind, id);
	rc = dst_put_buf(r->d, name, out.p, out.len, err);
	if (rc == 0) {
		memcpy(ret_id, id, ID_LEN);
		__atomic_fetch_add(&r->bytes_written, out.len, __ATOMIC_RELAXED);
	}
	buf_free(&out);
	return rc;
}

int repo_get_object(struct repo *r, int kind, const uint8_t id[ID_LEN], struct buf *ret,
	struct cf_error *err)
{
	char path[80];
	object_name(path, kind, id);
	size_t limit = kind == REPO_SNAPSHOT ? MAX_SNAPSHOT_BYTES : MAX_INDEX_BYTES;
	struct buf b = { 0 };
	int rc = dst_get(r->d, path, limit, &b, err);
	if (rc)
		goto out;
	uint8_t sum[ID_LEN], ad[5];
	crypto_generichash(sum, ID_LEN, b.p, b.len, NULL, 0);
	object_ad(ad, kind);
	if (sodium_memcmp(sum, id, ID_LEN) != 0 || b.len < 5 + SEAL_OVERHEAD ||
	    memcmp(b.p, ad, 5) != 0) {
		rc = cf_error_set(err, CF_ECORRUPT, "'%s' is damaged (content does not match its name)",
			path);
		goto out;
	}
	size_t zn = b.len - 5 - SEAL_OVERHEAD;
	uint8_t *z = malloc(zn ? zn : 1);
	if (!z) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (repo_unseal(r, ad, 5, b.p + 5, b.len - 5, z) != 0) {
		free(z);
		rc = cf_error_set(err, CF_ECORRUPT, "'%s' does not authenticate", path);
		goto out;
	}
	unsigned long long plen = ZSTD_getFrameContentSize(z, zn);
	if (plen == ZSTD_CONTENTSIZE_ERROR || plen == ZSTD_CONTENTSIZE_UNKNOWN || plen > limit * 64) {
		free(z);
		rc = cf_error_set(err, CF_ECORRUPT, "'%s' has a bad payload", path);
		goto out;
	}
	struct buf p = { 0 };
	if (buf_reserve(&p, (size_t)plen + 1)) {
		free(z);
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	size_t got = pack_decompress(p.p, (size_t)plen, z, zn);
	free(z);
	if (ZSTD_isError(got) || got != plen) {
		buf_free(&p);
		rc = cf_error_set(err, CF_ECORRUPT, "'%s' has a bad payload", path);
		goto out;
	}
	p.len = got;
	p.p[got] = 0; /* JSON payloads can be parsed in place */
	*ret = p;
out:
	buf_free(&b);
	return rc;
}

int repo_list(struct repo *r, int kind, uint8_t (**ret_ids)[ID_LEN], size_t *ret_n,
	struct cf_error *err)
{
	struct names l = { 0 };
	const char *prefix = kind == REPO_SNAPSHOT ? "snapshots/" : "index/";
	int rc = list_names(r, prefix, &l, err);
	if (rc) {
		names_free(&l);
		return rc;
	}
	uint8_t (*ids)[ID_LEN] = malloc((l.n ? l.n : 1) * ID_LEN);
	size_t n = 0;
	if (!ids) {
		names_free(&l);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *base = l.v[i] + strlen(prefix);
		if (strlen(base) == 64 && util_unhex(ids[n], ID_LEN, base) == 0)
			n++;
	}
	names_free(&l);
	*ret_ids = ids;
	*ret_n = n;
	return 0;
}

int repo_delete_object(struct repo *r, int kind, const uint8_t id[ID_LEN], struct cf_error *err)
{
	char name[80];
	object_name(name, kind, id);
	int rc = dst_delete(r->d, name, err);
	return rc == CF_ENOENT ? 0 : rc;
}

/* ---- cache location ---- */

char *repo_cache_dir(const struct repo *r)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char *base;
	if (xdg && *xdg)
		base = util_path("%s/coffre", xdg);
	else if (geteuid() == 0)
		base = strdup("/var/cache/coffre");
	else if (home && *home)
		base = util_path("%s/.cache/coffre", home);
	else
		return NULL;
	char *dir = base ? util_path("%s/%s", base, r->idhex) : NULL;
	free(base);
	if (dir && util_mkdirs(dir, 0700) != 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* ---- locks ---- */

static int write_lock(struct repo *r, struct cf_error *err)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	json_t *o = json_object();
	json_object_set_new(o, "hostname", json_string(host));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "time", json_integer((json_int_t)time(NULL)));
	json_object_set_new(o, "exclusive", json_boolean(r->lock_exclusive));
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = dst_put_buf(r->d, r->lock_path, text, strlen(text), err);
	free(text);
	if (rc == 0)
		r->lock_time = time(NULL);
	return rc;
}

/* Returns 1 if the lock at ${path} is live and conflicts, 0 otherwise (stale ones removed). */
static int lock_conflicts(struct repo *r, const char *path, int want_exclusive)
{
	struct buf b = { 0 };
	if (dst_get(r->d, path, MAX_KEYFILE_BYTES, &b, NULL) != 0)
		return 0;
	json_t *o = json_loadb((const char *)b.p, b.len, 0, NULL);
	buf_free(&b);
	if (!o) {
		/* A half-written lock is a crash leftover (locks are written atomically). */
		return 0;
	}
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	const char *h = json_string_value(json_object_get(o, "hostname"));
	json_int_t pid = json_integer_value(json_object_get(o, "pid"));
	json_int_t t = json_integer_value(json_object_get(o, "time"));
	int excl = json_is_true(json_object_get(o, "exclusive"));
	int stale;
	if (h && strcmp(h, host) == 0 && pid > 0 && pid <= INT_MAX)
		/* On this host the process table is the truth, whatever the lock's age. */
		stale = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
	else
		stale = time(NULL) - (time_t)t > LOCK_STALE_SECONDS;
	json_decref(o);
	if (stale) {
		dst_delete(r->d, path, NULL);
		return 0;
	}
	return want_exclusive || excl;
}

static void *lock_refresher(void *arg)
{
	struct repo *r = arg;
	pthread_mutex_lock(&r->lock_mu);
	while (!r->lock_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += LOCK_REFRESH_SECONDS;
		pthread_cond_timedwait(&r->lock_cv, &r->lock_mu, &ts);
		if (!r->lock_stop)
			write_lock(r, NULL);
	}
	pthread_mutex_unlock(&r->lock_mu);
	return NULL;
}

int repo_lock(struct repo *r, int exclusive, struct cf_error *err)
{
	uint8_t rnd[16];
	char hex[33];
	if (r->lock_path)
		return cf_error_set(err, CF_EUSAGE, "this repository handle is locked already");
	randombytes_buf(rnd, sizeof rnd);
	util_hex(hex, rnd, sizeof rnd);
	r->lock_path = util_path("locks/%s", hex);
	if (!r->lock_path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	r->lock_exclusive = exclusive;
	int rc = write_lock(r, err);
	if (rc) {
		free(r->lock_path);
		r->lock_path = NULL;
		return rc;
	}
	/* Write first, then look: two processes racing both see each other and both back off. */
	struct names l = { 0 };
	int conflict = 0;
	if (list_names(r, "locks/", &l, NULL) == 0) {
		for (size_t i = 0; i < l.n; i++) {
			const char *base = l.v[i] + 6;
			if (strlen(base) != 32 || strcmp(base, hex) == 0)
				continue;
			if (lock_conflicts(r, l.v[i], exclusive))
				conflict = 1;
		}
	}
	names_free(&l);
	if (conflict) {
		repo_unlock(r);
		return cf_error_set(err, CF_ELOCKED,
			"repository is locked by another coffre process (try again later)");
	}
	r->lock_stop = 0;
	pthread_mutex_init(&r->lock_mu, NULL);
	pthread_cond_init(&r->lock_cv, NULL);
	if (pthread_create(&r->lock_thread, NULL, lock_refresher, r) == 0) {
		r->lock_thread_on = 1;
	} else {
		pthread_mutex_destroy(&r->lock_mu);
		pthread_cond_destroy(&r->lock_cv);
	}
	return 0;
}

void repo_unlock(struct repo *r)
{
	if (r->lock_thread_on) {
		pthread_mutex_lock(&r->lock_mu);
		r->lock_stop = 1;
		pthread_cond_signal(&r->lock_cv);
		pthread_mutex_unlock(&r->lock_mu);
		pthread_join(r->lock_thread, NULL);
		pthread_mutex_destroy(&r->lock_mu);
		pthread_cond_destroy(&r->lock_cv);
		r->lock_thread_on = 0;
	}
	if (!r->lock_path)
		return;
	dst_delete(r->d, r->lock_path, NULL);
	free(r->lock_path);
	r->lock_path = NULL;
}

int repo_attach(const struct repo *src, struct dst *d, struct repo **ret, struct cf_error *err)
{
	struct repo *r = calloc(1, sizeof *r);
	if (!r)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	r->d_borrowed = 1;
	r->k = sodium_malloc(sizeof *r->k);
	r->path = strdup(d->local_root ? d->local_root : d->url);
	r->d = d;
	if (!r->k || !r->path) {
		repo_free(r);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	memcpy(r->k, src->k, sizeof *r->k);
	memcpy(r->id, src->id, ID_LEN);
	memcpy(r->idhex, src->idhex, ID_HEX);
	r->cp = src->cp;
	r->chunker = src->chunker;
	r->pack_size = src->pack_size;
	*ret = r;
	return 0;
}
