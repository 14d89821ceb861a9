/* signdoc.c: Ed25519-signed documents (signdoc.h), through libsodium and jansson. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/signdoc.h"

#define B64 sodium_base64_VARIANT_ORIGINAL
#define KIND_MAX 32

static int kind_ok(const char *kind)
{
	size_t n = kind ? strlen(kind) : 0;
	if (n == 0 || n > KIND_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)kind[i]) || isdigit((unsigned char)kind[i]) ||
		      kind[i] == '-'))
			return 0;
	return 1;
}

/* The signed bytes: "coffre-KIND-v1", NUL, the payload. */
static uint8_t *message(const char *kind, const uint8_t *payload, size_t len, size_t *ret_n)
{
	char head[64];
	int h = snprintf(head, sizeof head, "coffre-%s-v1", kind);
	uint8_t *m = malloc((size_t)h + 1 + len + 1);
	if (!m)
		return NULL;
	memcpy(m, head, (size_t)h + 1);
	if (len)
		memcpy(m + h + 1, payload, len);
	*ret_n = (size_t)h + 1 + len;
	return m;
}

void signdoc_keypair(uint8_t pk[SIGNDOC_PK_BYTES], uint8_t sk[SIGNDOC_SK_BYTES])
{
	crypto_sign_keypair(pk, sk);
}

int signdoc_make(const char *kind, const uint8_t sk[SIGNDOC_SK_BYTES], const void *payload,
	size_t len, char **ret_text, struct cf_error *err)
{
	*ret_text = NULL;
	if (!kind_ok(kind) || len > SIGNDOC_MAX / 2)
		return cf_error_set(err, CF_EUSAGE, "signdoc: bad kind or payload too large");
	size_t mn = 0;
	uint8_t *m = message(kind, payload, len, &mn);
	uint8_t sig[crypto_sign_BYTES];
	size_t plen = sodium_base64_ENCODED_LEN(len, B64);
	char *p64 = malloc(plen);
	char s64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, B64)];
	if (!m || !p64) {
		free(m);
		free(p64);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	crypto_sign_detached(sig, NULL, m, mn, sk);
	free(m);
	sodium_bin2base64(p64, plen, payload, len, B64);
	sodium_bin2base64(s64, sizeof s64, sig, sizeof sig, B64);
	json_t *o = json_pack("{s:i, s:s, s:s, s:s}", "v", 1, "kind", kind, "payload", p64, "sig",
		s64);
	free(p64);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	*ret_text = text;
	return 0;
}

/* ${s} (hostile base64) decoded into a new buffer of *ret_n bytes, NUL after them. */
static uint8_t *unbase64(const char *s, size_t *ret_n)
{
	size_t n = strlen(s);
	uint8_t *b = malloc(n / 4 * 3 + 4);
	size_t out = 0;
	const char *end = NULL;
	if (!b)
		return NULL;
	if (sodium_base642bin(b, n / 4 * 3 + 3, s, n, NULL, &out, &end, B64) != 0 ||
	    end != s + n) {
		free(b);
		return NULL;
	}
	b[out] = 0;
	*ret_n = out;
	return b;
}

int signdoc_open(const char *kind, const uint8_t pk[SIGNDOC_PK_BYTES], const char *text,
	size_t len, uint8_t **ret_payload, size_t *ret_len, struct cf_error *err)
{
	*ret_payload = NULL;
	*ret_len = 0;
	if (!kind_ok(kind))
		return cf_error_set(err, CF_EUSAGE, "signdoc: bad kind");
	if (len > SIGNDOC_MAX)
		return cf_error_set(err, CF_ECORRUPT, "larger than %u bytes", SIGNDOC_MAX);
	json_error_t je;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	json_int_t v = 0;
	const char *k = NULL, *p64 = NULL, *s64 = NULL;
	if (!o || json_unpack(o, "{s:I, s:s, s:s, s:s !}", "v", &v, "kind", &k, "payload", &p64,
			"sig", &s64) != 0) {
		json_decref(o);
		return cf_error_set(err, CF_ECORRUPT, "not a signed document");
	}
	int rc = 0;
	uint8_t *payload = NULL, *sig = NULL, *m = NULL;
	size_t plen = 0, slen = 0, mn = 0;
	if (v != 1)
		rc = cf_error_set(err, CF_ECORRUPT, "signed document of version %lld, not 1",
			(long long)v);
	else if (strcmp(k, kind) != 0)
		rc = cf_error_set(err, CF_ECORRUPT, "a signed %.32s, not a %s", k, kind);
	else if (!(payload = unbase64(p64, &plen)) || !(sig = unbase64(s64, &slen)) ||
		 slen != crypto_sign_BYTES)
		rc = cf_error_set(err, CF_ECORRUPT, "its payload or signature is not base64");
	else if (!(m = message(kind, payload, plen, &mn)))
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	else if (crypto_sign_verify_detached(sig, m, mn, pk) != 0)
		rc = cf_error_set(err, CF_ECORRUPT, "its signature does not verify with the key "
			"it should be signed with");
	json_decref(o);
	free(sig);
	free(m);
	if (rc) {
		free(payload);
		return rc;
	}
	*ret_payload = payload;
	*ret_len = plen;
	return 0;
}

int signdoc_key_text(const uint8_t *key, size_t n, char *out, size_t outlen)
{
	if (outlen < sodium_base64_ENCODED_LEN(n, B64))
		return -1;
	sodium_bin2base64(out, outlen, key, n, B64);
	return 0;
}

int signdoc_key_parse(const char *text, uint8_t *key, size_t n)
{
	while (*text && isspace((unsigned char)*text))
		text++;
	size_t len = strlen(text);
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	size_t out = 0;
	const char *end = NULL;
	if (sodium_base642bin(key, n, text, len, NULL, &out, &end, B64) != 0 ||
	    end != text + len || out != n)
		return -1;
	return 0;
}
