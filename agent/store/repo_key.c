/* repo_key.c: the master key and its key files: wrapped by a password (Argon2id), by a
 * recovery key, or sealed to an escrow public key; unlocking a repository with one of them. */
#include "store/repo_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/dst.h"
#include "coffre/error.h"

#define KDF_CONTEXT "coffre01"
#define KEY_AD "coffre-key-v1"
/* Argon2id cost for password keys: modest memory so that a backup's peak stays small. */
#define PW_OPSLIMIT 4
#define PW_MEMLIMIT (32u << 20)
/* What a key file from storage may ask for: a few times what coffre writes, never enough to
 * stall or exhaust a shop PC (a hostile drive could otherwise ask for 64 passes over 4 GiB). */
#define PW_OPSLIMIT_MIN 1
#define PW_OPSLIMIT_MAX 16
#define PW_MEMLIMIT_MIN (8 << 10)
#define PW_MEMLIMIT_MAX (512 << 20)

_Static_assert(sizeof ((struct repo_keyfile *)0)->public_key == crypto_box_PUBLICKEYBYTES,
	"escrow public key size");
_Static_assert(sizeof ((struct repo_keyfile *)0)->sealed == 32 + crypto_box_SEALBYTES,
	"escrow sealed key size");
_Static_assert(sizeof ((struct repo_keyfile *)0)->salt == crypto_pwhash_SALTBYTES,
	"password salt size");

void repo_keys_derive(struct repo_keys *k)
{
	crypto_kdf_derive_from_key(k->enc, sizeof k->enc, 1, KDF_CONTEXT, k->master);
	crypto_kdf_derive_from_key(k->blobid, sizeof k->blobid, 2, KDF_CONTEXT, k->master);
	crypto_kdf_derive_from_key(k->chunk, sizeof k->chunk, 3, KDF_CONTEXT, k->master);
	crypto_kdf_derive_from_key(k->split, sizeof k->split, 4, KDF_CONTEXT, k->master);
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

/* The wrapping key for a recovery key: the key text carries 256 bits, so no stretching. */
static void recovery_wrap_key(uint8_t out[32], const uint8_t rk[32], const uint8_t salt[16])
{
	static const uint8_t personal[16] = "coffre-recovery";
	crypto_generichash_blake2b_salt_personal(out, 32, rk, 32, NULL, 0, salt, personal);
}

/* Returns 0, or CF_EKEY when ${text} is not 64 hex digits (dashes and spaces ignored). */
static int parse_recovery_text(const char *text, uint8_t rk[32])
{
	size_t got = 0;
	const char *end = NULL;
	if (sodium_hex2bin(rk, 32, text, strlen(text), "- \t\n\r", &got, &end) != 0 || got != 32)
		return CF_EKEY;
	while (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t' || *end == '-')
		end++;
	return *end ? CF_EKEY : 0;
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

/* The associated data of a wrapped master key: KEY_AD || repository id. */
static void key_ad(uint8_t ad[sizeof KEY_AD - 1 + ID_LEN], const struct repo *r)
{
	memcpy(ad, KEY_AD, sizeof KEY_AD - 1);
	memcpy(ad + sizeof KEY_AD - 1, r->id, ID_LEN);
}

/* Stores ${text} under a new random name keys/<32 hex>; the name in ${ret_name} (malloc'd)
 * when not NULL. */
static int put_keyfile(struct repo *r, const char *text, char **ret_name, struct cf_error *err)
{
	uint8_t name[16];
	char hex[33];
	randombytes_buf(name, sizeof name);
	util_hex(hex, name, sizeof name);
	char *obj = util_path("keys/%s", hex);
	int rc = obj ? dst_put_buf(r->d, obj, text, strlen(text), err)
		     : cf_error_set(err, CF_ENOMEM, "out of memory");
	if (rc == 0 && ret_name)
		*ret_name = obj;
	else
		free(obj);
	return rc;
}

/* Writes keys/<random> holding the master key wrapped by ${wrapkey}. */
static int write_keyfile(struct repo *r, const char *kind, json_t *extra, const uint8_t wrapkey[32],
	char **ret_name, struct cf_error *err)
{
	uint8_t nonce[24], wrapped[32 + 16];
	uint8_t ad[sizeof KEY_AD - 1 + ID_LEN];
	key_ad(ad, r);
	randombytes_buf(nonce, sizeof nonce);
	crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped, NULL, r->k->master, 32, ad, sizeof ad,
		NULL, nonce, wrapkey);
	json_t *o = extra ? extra : json_object();
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "kind", json_string(kind));
	repo_json_set_hex(o, "nonce", nonce, sizeof nonce);
	repo_json_set_hex(o, "wrapped", wrapped, sizeof wrapped);
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = put_keyfile(r, text, ret_name, err);
	free(text);
	return rc;
}

int repo_key_add_password(struct repo *r, const char *password, char **ret_name,
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
	repo_json_set_hex(o, "salt", salt, sizeof salt);
	int rc = write_keyfile(r, "password", o, wk, ret_name, err);
	sodium_free(wk);
	return rc;
}

int repo_key_add_recovery(struct repo *r, char ret_text[REPO_RECOVERY_TEXT], char **ret_name,
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
	repo_json_set_hex(o, "salt", salt, sizeof salt);
	int rc = write_keyfile(r, "recovery", o, rk + 32, ret_name, err);
	if (rc == 0)
		format_recovery_text(ret_text, rk);
	sodium_free(rk);
	return rc;
}

int repo_key_add_escrow(struct repo *r, const char *pubhex, struct cf_error *err)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sealed[32 + crypto_box_SEALBYTES];
	if (util_unhex(pk, sizeof pk, pubhex) != 0)
		return cf_error_set(err, CF_EUSAGE, "escrow key must be 64 hex digits");
	crypto_box_seal(sealed, r->k->master, 32, pk);
	json_t *o = json_object();
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "kind", json_string("escrow"));
	repo_json_set_hex(o, "public_key", pk, sizeof pk);
	repo_json_set_hex(o, "sealed", sealed, sizeof sealed);
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	int rc = text ? put_keyfile(r, text, NULL, err)
		      : cf_error_set(err, CF_ENOMEM, "out of memory");
	free(text);
	return rc;
}

int repo_keyfile_parse(const uint8_t *bytes, size_t len, struct repo_keyfile *ret)
{
	if (len > MAX_KEYFILE_BYTES)
		return CF_ECORRUPT;
	json_t *o = json_loadb((const char *)bytes, len, 0, NULL);
	if (!o)
		return CF_ECORRUPT;
	struct repo_keyfile f = { 0 };
	const char *kind = json_string_value(json_object_get(o, "kind"));
	int rc = CF_ECORRUPT;
	if (!kind)
		goto out;
	if (strcmp(kind, "escrow") == 0) {
		f.kind = REPO_KEYFILE_ESCROW;
		if (repo_json_get_hex(o, "public_key", f.public_key, sizeof f.public_key) ||
		    repo_json_get_hex(o, "sealed", f.sealed, sizeof f.sealed))
			goto out;
	} else if (strcmp(kind, "password") == 0 || strcmp(kind, "recovery") == 0) {
		f.kind = kind[0] == 'p' ? REPO_KEYFILE_PASSWORD : REPO_KEYFILE_RECOVERY;
		if (repo_json_get_hex(o, "nonce", f.nonce, sizeof f.nonce) ||
		    repo_json_get_hex(o, "wrapped", f.wrapped, sizeof f.wrapped) ||
		    repo_json_get_hex(o, "salt", f.salt, sizeof f.salt))
			goto out;
	}
	if (f.kind == REPO_KEYFILE_PASSWORD) {
		json_int_t ops = json_integer_value(json_object_get(o, "opslimit"));
		json_int_t mem = json_integer_value(json_object_get(o, "memlimit"));
		const char *alg = json_string_value(json_object_get(o, "kdf"));
		if (!alg || strcmp(alg, "argon2id13") || ops < PW_OPSLIMIT_MIN ||
		    ops > PW_OPSLIMIT_MAX || mem < PW_MEMLIMIT_MIN || mem > PW_MEMLIMIT_MAX)
			goto out;
		f.opslimit = (unsigned long long)ops;
		f.memlimit = (size_t)mem;
	}
	*ret = f;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

void repo_escrow_fingerprint(const struct repo *r, char ret[REPO_FINGERPRINT_TEXT])
{
	static const char label[] = "coffre escrow fingerprint v1";
	uint8_t msg[sizeof label - 1 + ID_LEN], fp[16];
	memcpy(msg, label, sizeof label - 1);
	memcpy(msg + sizeof label - 1, r->id, ID_LEN);
	crypto_generichash(fp, sizeof fp, msg, sizeof msg, r->k->master, sizeof r->k->master);
	repo_fingerprint_text(fp, ret);
}

void repo_fingerprint_text(const uint8_t fp[16], char ret[REPO_FINGERPRINT_TEXT])
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i && i % 2 == 0)
			ret[o++] = '-';
		ret[o++] = digits[fp[i] >> 4];
		ret[o++] = digits[fp[i] & 15];
	}
	ret[o] = 0;
}

/* Is ${fp} among the fingerprints of ${list} (words separated by blanks, commas or lines;
 * '#' starts a comment; dashes and case ignored)? */
static int fingerprint_listed(const char *list, const char *fp)
{
	char want[33], got[33];
	size_t n = 0;
	for (const char *p = fp; *p && n < 32; p++)
		if (*p != '-')
			want[n++] = *p;
	want[n] = 0;
	if (!list)
		return 0;
	for (const char *p = list; *p;) {
		if (*p == '#') {
			p += strcspn(p, "\n");
			continue;
		}
		if (strchr(" \t\r\n,", *p)) {
			p++;
			continue;
		}
		size_t k = 0, len = strcspn(p, " \t\r\n,#");
		for (size_t i = 0; i < len; i++)
			if (p[i] != '-' && k < 32)
				got[k++] = (char)tolower((unsigned char)p[i]);
		got[k] = 0;
		if (k == 32 && sodium_memcmp(got, want, 32) == 0)
			return 1;
		p += len;
	}
	return 0;
}

/* Tries one key file; returns 0 when it unwrapped the master key, 1 when it does not match
 * the credential, 2 when the key could not be derived (memory), CF_E* on error. */
static int try_keyfile(struct repo *r, const char *name, const struct repo_cred *cred,
	struct cf_error *err)
{
	struct buf b = { 0 };
	struct repo_keyfile f;
	int rc = dst_get(r->d, name, MAX_KEYFILE_BYTES, &b, err);
	if (rc)
		return rc;
	rc = repo_keyfile_parse(b.p, b.len, &f);
	buf_free(&b);
	if (rc)
		return 1;
	uint8_t *wk = sodium_malloc(32 + 32);
	if (!wk)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	rc = 1;
	if (cred->escrow_secret && f.kind == REPO_KEYFILE_ESCROW) {
		if (util_unhex(wk, 32, cred->escrow_secret) != 0) {
			rc = cf_error_set(err, CF_EKEY,
				"the escrow secret key must be 64 hex digits");
			goto out;
		}
		if (crypto_box_seal_open(r->k->master, f.sealed, sizeof f.sealed, f.public_key,
			    wk) != 0)
			goto out;
		/* Anyone holding the public half can seal a key of their own to it: only a
		 * repository whose fingerprint the escrow holder recorded is genuine. */
		char fp[REPO_FINGERPRINT_TEXT];
		repo_escrow_fingerprint(r, fp);
		if (!fingerprint_listed(cred->escrow_fingerprints, fp)) {
			sodium_memzero(r->k->master, sizeof r->k->master);
			rc = cf_error_set(err, CF_EKEY, "this repository's escrow fingerprint %s is "
				"not among those recorded at enrollment (--escrow-fingerprints): it may "
				"be forged; nothing was read", fp);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (cred->password && f.kind == REPO_KEYFILE_PASSWORD) {
		if (crypto_pwhash(wk, 32, cred->password, strlen(cred->password), f.salt,
			    f.opslimit, f.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
			/* Out of memory for this file's parameters: the next key file may do. */
			rc = 2;
			goto out;
		}
	} else if (cred->recovery_key && f.kind == REPO_KEYFILE_RECOVERY) {
		if (parse_recovery_text(cred->recovery_key, wk + 32) != 0) {
			rc = cf_error_set(err, CF_EKEY, "the recovery key is not well formed");
			goto out;
		}
		recovery_wrap_key(wk, wk + 32, f.salt);
	} else {
		goto out;
	}
	uint8_t ad[sizeof KEY_AD - 1 + ID_LEN];
	key_ad(ad, r);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(r->k->master, NULL, NULL, f.wrapped,
		    sizeof f.wrapped, ad, sizeof ad, f.nonce, wk) == 0)
		rc = 0;
out:
	sodium_free(wk);
	return rc;
}

int repo_key_unlock(struct repo *r, const struct repo_cred *cred, struct cf_error *err)
{
	if (cred->password && cred->key_cache && repo_key_cache_load(r, cred->password) == 0)
		return 0;
	struct repo_names l = { 0 };
	int rc = repo_names_list(r, "keys/", &l, err);
	if (rc)
		goto out;
	rc = 1;
	int starved = 0;
	for (size_t i = 0; rc == 1 && i < l.n; i++) {
		const char *base = l.v[i] + 5;
		if (strlen(base) != 32 || strspn(base, "0123456789abcdef") != 32)
			continue;
		rc = try_keyfile(r, l.v[i], cred, err);
		if (rc == 2) {
			starved = 1;
			rc = 1;
		}
		if (rc == 0) {
			r->opened_keyfile = l.v[i];
			l.v[i] = strdup("");
		}
	}
	if (rc == 1 && starved)
		rc = cf_error_set(err, CF_ENOMEM, "not enough memory to derive the key from the "
			"password");
	/* No key file opens with this credential: the key cannot be unsealed. */
	if (rc == 1)
		rc = cf_error_set(err, CF_EPASSWORD, "%s",
			cred->recovery_key ? "wrong recovery key" :
			cred->escrow_secret ? "wrong escrow key" : "wrong password");
	if (rc == 0 && cred->password && cred->key_cache)
		repo_key_cache_save(r, cred->password);
out:
	repo_names_free(&l);
	return rc;
}

/* The kind a key file names ("" when it cannot be read): only its "kind" is looked at. */
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
	int rc = repo_key_add_password(r, newpw, &newname, err);
	if (rc)
		return rc;
	repo_key_cache_drop(r);
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
	struct repo_names l = { 0 };
	int rc = repo_key_add_recovery(r, ret_text, &newname, err);
	if (rc)
		return rc;
	if ((rc = repo_names_list(r, "keys/", &l, err)) == 0) {
		for (size_t i = 0; i < l.n; i++)
			if (strcmp(l.v[i], newname) && strcmp(key_kind(r, l.v[i]), "recovery") == 0)
				dst_delete(r->d, l.v[i], NULL);
	}
	repo_names_free(&l);
	free(newname);
	return rc;
}
