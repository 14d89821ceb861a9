/* repo_escrow.c: which escrow keys a repository is sealed to, read from its key files without
 * unlocking it, so that a shop can tell its federation whether the federation can restore it
 * (the status object's escrow_keys, the fleet view's "escrow" problem). */
#include "store/repo_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/dst.h"
#include "coffre/error.h"

#define KEY_ID_LABEL "coffre escrow key v1"
#define KEYFILES_MAX 1024	/* more is not a repository coffre made */

int repo_escrow_key_id(const char *pubhex, char ret[REPO_FINGERPRINT_TEXT])
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], id[16];
	if (!pubhex || strlen(pubhex) != 2 * sizeof pk || util_unhex(pk, sizeof pk, pubhex) != 0)
		return CF_EUSAGE;
	crypto_generichash(id, sizeof id, pk, sizeof pk, (const uint8_t *)KEY_ID_LABEL,
		sizeof KEY_ID_LABEL - 1);
	repo_fingerprint_text(id, ret);
	return 0;
}

struct keynames {
	char *v[KEYFILES_MAX];
	size_t n;
	int over;
};

static int on_name(void *ctx, const char *name, uint64_t size)
{
	struct keynames *k = ctx;
	const char *base = strncmp(name, "keys/", 5) == 0 ? name + 5 : "";
	if (strlen(base) != 32 || strspn(base, "0123456789abcdef") != 32 ||
	    size > MAX_KEYFILE_BYTES)
		return 0;
	if (k->n == KEYFILES_MAX) {
		k->over = 1;
		return 1;	/* stop */
	}
	return (k->v[k->n] = strdup(name)) ? (k->n++, 0) : -1;
}

int repo_escrow_keys_at(const char *url, const struct dst_options *opt,
	char (*ret)[REPO_FINGERPRINT_TEXT], size_t max, size_t *ret_n, struct cf_error *err)
{
	struct dst *d = NULL;
	struct keynames k = { .n = 0 };
	size_t n = 0;
	int rc = dst_open(url, opt, &d, err);
	if (rc == 0) {
		rc = dst_list(d, "keys/", on_name, &k, err);
		if (rc == 1 && k.over)
			rc = 0;
		else if (rc == -1)
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	if (rc == 0 && k.n == 0)
		rc = cf_error_set(err, CF_ENOREPO, "'%s' holds no key file", url);
	for (size_t i = 0; rc == 0 && i < k.n; i++) {
		struct buf b = { 0 };
		struct repo_keyfile f;
		char pubhex[2 * sizeof f.public_key + 1];
		/* A key file that cannot be read or parsed seals nothing this can name. */
		if (dst_get(d, k.v[i], MAX_KEYFILE_BYTES, &b, NULL) == 0 &&
		    repo_keyfile_parse(b.p, b.len, &f) == 0 && f.kind == REPO_KEYFILE_ESCROW) {
			util_hex(pubhex, f.public_key, sizeof f.public_key);
			if (n < max)
				repo_escrow_key_id(pubhex, ret[n]);
			n++;
		}
		buf_free(&b);
	}
	for (size_t i = 0; i < k.n; i++)
		free(k.v[i]);
	dst_free(d);
	if (rc == 0)
		*ret_n = n;
	return rc;
}
