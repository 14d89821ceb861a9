/* repo_object.c: sealing, blob ids, and whole objects (snapshots, index) read and written
 * sealed under their hash. */
#include "store/repo_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "base/codec.h"

#define OBJ_MAGIC "CFO1"
/* Whole objects are small and written once: a stronger level than the packs'. */
#define OBJ_ZSTD_LEVEL 3

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

static const char *kind_dir(int kind)
{
	return kind == REPO_SNAPSHOT ? "snapshots" : kind == REPO_PIN ? "pins" : "index";
}

/* The object name of ${id} of ${kind}: "snapshots/<hex>", "index/<hex>" or "pins/<hex>". */
static void object_name(char out[80], int kind, const uint8_t id[ID_LEN])
{
	char hex[ID_HEX];
	util_hex(hex, id, ID_LEN);
	snprintf(out, 80, "%s/%s", kind_dir(kind), hex);
}

static void object_ad(uint8_t ad[5], int kind)
{
	memcpy(ad, OBJ_MAGIC, 4);
	ad[4] = (uint8_t)kind;
}

int repo_put_object(struct repo *r, int kind, const void *plain, size_t n, uint8_t ret_id[ID_LEN],
	struct cf_error *err)
{
	size_t bound = codec_bound(n), zn = 0;
	uint8_t *z = malloc(bound);
	if (!z)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = codec_compress_level(OBJ_ZSTD_LEVEL, z, bound, plain, n, &zn, err);
	if (rc) {
		free(z);
		return rc;
	}
	uint8_t ad[5];
	object_ad(ad, kind);
	struct buf out = { 0 };
	rc = buf_append(&out, ad, 5) ? CF_ENOMEM : repo_seal(r, ad, 5, z, zn, &out);
	free(z);
	if (rc) {
		buf_free(&out);
		return cf_error_set(err, rc, "out of memory");
	}
	uint8_t id[ID_LEN];
	crypto_generichash(id, ID_LEN, out.p, out.len, NULL, 0);
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
	size_t limit = kind == REPO_SNAPSHOT ? MAX_SNAPSHOT_BYTES : kind == REPO_PIN ?
		MAX_KEYFILE_BYTES : MAX_INDEX_BYTES;
	struct buf b = { 0 }, p = { 0 };
	uint8_t *z = NULL;
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
	if (!(z = malloc(zn ? zn : 1))) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (repo_unseal(r, ad, 5, b.p + 5, b.len - 5, z) != 0) {
		rc = cf_error_set(err, CF_ECORRUPT, "'%s' does not authenticate", path);
		goto out;
	}
	unsigned long long plen = 0;
	if (codec_content_size(z, zn, &plen) != 0 || plen > (unsigned long long)limit * 64) {
		rc = cf_error_set(err, CF_ECORRUPT, "'%s' has a bad payload", path);
		goto out;
	}
	if (buf_reserve(&p, (size_t)plen + 1)) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	size_t got = 0;
	if (codec_decompress(p.p, (size_t)plen, z, zn, &got) != 0 || got != plen) {
		rc = cf_error_set(err, CF_ECORRUPT, "'%s' has a bad payload", path);
		goto out;
	}
	p.len = got;
	p.p[got] = 0; /* JSON payloads can be parsed in place */
	*ret = p;
	p = (struct buf){ 0 };
out:
	free(z);
	buf_free(&p);
	buf_free(&b);
	return rc;
}

int repo_list(struct repo *r, int kind, uint8_t (**ret_ids)[ID_LEN], size_t *ret_n,
	struct cf_error *err)
{
	struct repo_names l = { 0 };
	char prefix[16];
	snprintf(prefix, sizeof prefix, "%s/", kind_dir(kind));
	int rc = repo_names_list(r, prefix, &l, err);
	if (rc) {
		repo_names_free(&l);
		return rc;
	}
	uint8_t (*ids)[ID_LEN] = malloc((l.n ? l.n : 1) * ID_LEN);
	size_t n = 0;
	if (!ids) {
		repo_names_free(&l);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *base = l.v[i] + strlen(prefix);
		if (strlen(base) == 64 && util_unhex(ids[n], ID_LEN, base) == 0)
			n++;
	}
	repo_names_free(&l);
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
