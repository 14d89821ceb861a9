/* fed_seal.c: a federation's secret keys sealed under its passphrase (Argon2id, secretbox). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/error.h"
#include "coffre/fed.h"

#define KDF_NAME "argon2id13"

static char *b64(const uint8_t *p, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);
	if (s)
		sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* Exactly ${n} bytes from the base64 string ${key} of ${o}. */
static int unb64(json_t *o, const char *key, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));
	size_t got = 0;
	if (!s || strlen(s) > 2 * n + 8)
		return -1;
	if (sodium_base642bin(out, n, s, strlen(s), NULL, &got, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0 || got != n)
		return -1;
	return 0;
}

static int derive(uint8_t key[crypto_secretbox_KEYBYTES], const char *pass, const uint8_t *salt,
	unsigned long long ops, size_t mem)
{
	return crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, strlen(pass), salt, ops, mem,
		crypto_pwhash_ALG_ARGON2ID13);
}

int fed_seal(const char *pass, const uint8_t *secret, size_t n, char **ret_text,
	struct cf_error *err)
{
	if (n > FED_SECRET_MAX)
		return cf_error_set(err, CF_EUSAGE, "secret too large to seal");
	unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
	uint8_t box[FED_SECRET_MAX + crypto_secretbox_MACBYTES];
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	if (!key)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	randombytes_buf(salt, sizeof salt);
	randombytes_buf(nonce, sizeof nonce);
	if (derive(key, pass, salt, ops, mem) != 0) {
		sodium_free(key);
		return cf_error_set(err, CF_ENOMEM, "out of memory for the passphrase hash");
	}
	crypto_secretbox_easy(box, secret, n, nonce, key);
	sodium_free(key);
	char *s1 = b64(salt, sizeof salt), *s2 = b64(nonce, sizeof nonce),
	     *s3 = b64(box, n + crypto_secretbox_MACBYTES);
	json_t *o = s1 && s2 && s3 ? json_pack("{s:i, s:s, s:I, s:I, s:s, s:s, s:s}", "v", 1,
		"kdf", KDF_NAME, "ops", (json_int_t)ops, "mem", (json_int_t)mem, "salt", s1,
		"nonce", s2, "box", s3) : NULL;
	free(s1);
	free(s2);
	free(s3);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	*ret_text = text;
	return 0;
}

int fed_unseal(const char *pass, const char *text, size_t len, uint8_t *out, size_t n,
	struct cf_error *err)
{
	if (len > FED_SEALED_MAX || n > FED_SECRET_MAX)
		return cf_error_set(err, CF_ECORRUPT, "sealed key file too large");
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *jops = json_object_get(o, "ops"), *jmem = json_object_get(o, "mem");
	const char *kdf = json_string_value(json_object_get(o, "kdf"));
	uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
	uint8_t box[FED_SECRET_MAX + crypto_secretbox_MACBYTES];
	int rc = 0;
	/* Hostile limits: never more than a seal of ours asks (a file could demand hours). */
	if (!json_is_object(o) || json_integer_value(json_object_get(o, "v")) != 1 || !kdf ||
	    strcmp(kdf, KDF_NAME) || !json_is_integer(jops) || !json_is_integer(jmem) ||
	    json_integer_value(jops) < (json_int_t)crypto_pwhash_OPSLIMIT_MIN ||
	    json_integer_value(jops) > (json_int_t)crypto_pwhash_OPSLIMIT_MODERATE ||
	    json_integer_value(jmem) < (json_int_t)crypto_pwhash_MEMLIMIT_MIN ||
	    json_integer_value(jmem) > (json_int_t)crypto_pwhash_MEMLIMIT_MODERATE ||
	    unb64(o, "salt", salt, sizeof salt) || unb64(o, "nonce", nonce, sizeof nonce) ||
	    unb64(o, "box", box, n + crypto_secretbox_MACBYTES)) {
		json_decref(o);
		return cf_error_set(err, CF_ECORRUPT, "sealed key file not well formed");
	}
	unsigned long long ops = (unsigned long long)json_integer_value(jops);
	size_t mem = (size_t)json_integer_value(jmem);
	json_decref(o);
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	if (!key)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (derive(key, pass, salt, ops, mem) != 0)
		rc = cf_error_set(err, CF_ENOMEM, "out of memory for the passphrase hash");
	else if (crypto_secretbox_open_easy(out, box, n + crypto_secretbox_MACBYTES, nonce, key))
		rc = cf_error_set(err, CF_EPASSWORD, "wrong passphrase");
	sodium_free(key);
	return rc;
}
