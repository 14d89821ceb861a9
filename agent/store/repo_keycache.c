/* repo_keycache.c: the local key cache.
 * Argon2id costs every command 32 MiB and a fraction of a second. When the password is held on
 * this machine anyway (a password file or the environment), the master key is kept in the
 * local cache, sealed under a key derived from that password, the repository id and the exact
 * bytes of the key file it came from. Only the password opens it, a changed or removed key
 * file voids it, and a password typed at a terminal never leaves such a trace. */
#include "store/repo_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/dst.h"
#include "coffre/error.h"

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

int repo_key_cache_parse(const uint8_t *bytes, size_t len, struct repo_key_cache_file *ret)
{
	if (len > MAX_KEYFILE_BYTES)
		return CF_ECORRUPT;
	json_t *o = json_loadb((const char *)bytes, len, 0, NULL);
	if (!o)
		return CF_ECORRUPT;
	struct repo_key_cache_file c;
	const char *name = json_string_value(json_object_get(o, "keyfile"));
	int rc = CF_ECORRUPT;
	if (json_integer_value(json_object_get(o, "version")) != 1 || !name ||
	    strncmp(name, "keys/", 5) != 0 || strlen(name) != 5 + 32 ||
	    strspn(name + 5, "0123456789abcdef") != 32 ||
	    repo_json_get_hex(o, "salt", c.salt, sizeof c.salt) ||
	    repo_json_get_hex(o, "nonce", c.nonce, sizeof c.nonce) ||
	    repo_json_get_hex(o, "wrapped", c.wrapped, sizeof c.wrapped))
		goto out;
	memcpy(c.keyfile, name, sizeof c.keyfile);
	*ret = c;
	rc = 0;
out:
	json_decref(o);
	sodium_memzero(&c, sizeof c);
	return rc;
}

void repo_key_cache_save(struct repo *r, const char *password)
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
	repo_json_set_hex(o, "salt", salt, sizeof salt);
	repo_json_set_hex(o, "nonce", nonce, sizeof nonce);
	repo_json_set_hex(o, "wrapped", wrapped, sizeof wrapped);
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

int repo_key_cache_load(struct repo *r, const char *password)
{
	struct buf b = { 0 }, kf = { 0 };
	char *path = key_cache_path(r);
	struct repo_key_cache_file c;
	uint8_t *wk = sodium_malloc(32);
	int rc = CF_ENOENT;
	if (!wk || !path || util_read_file(path, MAX_KEYFILE_BYTES, &b, NULL) != 0 ||
	    repo_key_cache_parse(b.p, b.len, &c) != 0 ||
	    dst_get(r->d, c.keyfile, MAX_KEYFILE_BYTES, &kf, NULL) != 0)
		goto out;
	key_cache_wrap_key(wk, r, c.keyfile, &kf, password, c.salt);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(r->k->master, NULL, NULL, c.wrapped,
		    sizeof c.wrapped, r->id, ID_LEN, c.nonce, wk) != 0)
		goto out;
	if (!(r->opened_keyfile = strdup(c.keyfile)))
		goto out;
	r->key_from_cache = 1;
	rc = 0;
out:
	if (wk)
		sodium_free(wk);
	buf_free(&b);
	buf_free(&kf);
	free(path);
	return rc;
}

void repo_key_cache_drop(struct repo *r)
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
