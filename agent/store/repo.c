/* repo.c: a repository handle: create, open, attach, free; the config. */
#include "store/repo_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "store/blob_memo.h"

static const struct chunk_params default_chunk_params = { 2048, 8192, 32768 };
#define DEFAULT_PACK_SIZE (16u << 20)

static const char *const repo_dirs[] = { "keys", "data", "index", "snapshots", "pins", "locks" };

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
	int rc = text ? dst_put_buf(r->d, "config", text, strlen(text), err)
		      : cf_error_set(err, CF_ENOMEM, "out of memory");
	free(text);
	return rc;
}

int repo_config_parse(const uint8_t *bytes, size_t len, const char *name,
	struct repo_config *ret, struct cf_error *err)
{
	json_t *o = NULL;
	if (len <= MAX_KEYFILE_BYTES)
		o = json_loadb((const char *)bytes, len, 0, NULL);
	if (!o)
		return cf_error_set(err, CF_ENOREPO, "'%s' is not a coffre repository", name);
	struct repo_config c = { 0 };
	c.format = json_integer_value(json_object_get(o, "format"));
	const char *id = json_string_value(json_object_get(o, "id"));
	json_t *ch = json_object_get(o, "chunker");
	int rc = 0;
	/* Format 1 differs only in its packs and indexes, which are still read. */
	if (c.format != REPO_FORMAT_VERSION && c.format != 1) {
		rc = cf_error_set(err, CF_ENOREPO,
			"'%s' uses repository format %lld, this coffre reads formats 1 and %d",
			name, c.format, REPO_FORMAT_VERSION);
	} else if (!id || util_unhex(c.id, ID_LEN, id) != 0 || !json_is_object(ch)) {
		rc = cf_error_set(err, CF_ENOREPO, "'%s' has a damaged config", name);
	} else {
		memcpy(c.idhex, id, ID_HEX);
		c.cp.min = (uint32_t)json_integer_value(json_object_get(ch, "min"));
		c.cp.avg = (uint32_t)json_integer_value(json_object_get(ch, "avg"));
		c.cp.max = (uint32_t)json_integer_value(json_object_get(ch, "max"));
		json_int_t ps = json_integer_value(json_object_get(o, "pack_size"));
		c.pack_size = DEFAULT_PACK_SIZE;
		/* The config is not authenticated: its pack size sizes buffers (a whole pack
		 * fetched at once), so only what coffre could have written is believed. */
		if (ps >= (1 << 20) && ps <= REPO_PACK_SIZE_MAX)
			c.pack_size = (uint32_t)ps;
		struct chunker probe;
		static const uint8_t zero[32];
		if (c.cp.max > MAX_CHUNK_BYTES || chunk_init(&probe, &c.cp, zero) != 0)
			rc = cf_error_set(err, CF_ENOREPO, "'%s' has invalid chunker parameters",
				name);
	}
	json_decref(o);
	if (rc == 0)
		*ret = c;
	return rc;
}

static int read_config(struct repo *r, struct cf_error *err)
{
	struct buf b = { 0 };
	struct repo_config c;
	int rc = dst_get(r->d, "config", MAX_KEYFILE_BYTES, &b, err);
	if (rc == CF_ENOENT)
		return cf_error_set(err, CF_ENOREPO, "'%s' is not a coffre repository", r->path);
	if (rc)
		return rc;
	rc = repo_config_parse(b.p, b.len, r->path, &c, err);
	buf_free(&b);
	if (rc)
		return rc;
	memcpy(r->id, c.id, ID_LEN);
	memcpy(r->idhex, c.idhex, ID_HEX);
	r->cp = c.cp;
	r->pack_size = c.pack_size;
	return 0;
}

/* ---- the handle ---- */

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
	r->path = strdup(dst_url(r->d));
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
	free(r->cache_base);
	blob_memo_free(r->memo);
	free(r);
}

int repo_set_cache_dir(struct repo *r, const char *dir, struct cf_error *err)
{
	char *c = strdup(dir);
	if (!c)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	free(r->cache_base);
	r->cache_base = c;
	return 0;
}

/* What a drill keeps of the folder and chunk-list nodes it reads: a medium shop's (19,891
 * files) come to 6 MiB. Beyond it, a node read again is fetched again (and counted). */
#define MEMO_MAX (64u << 20)

void repo_set_exact_reads(struct repo *r, int on)
{
	r->exact_reads = on != 0;
	if (on && !r->memo)
		r->memo = blob_memo_new(MEMO_MAX);	/* NULL: nodes are fetched again */
}

void repo_frames_read(const struct repo *r, uint64_t *ret_stored, uint64_t *ret_plain)
{
	*ret_stored = atomic_load(&r->frames_stored);
	*ret_plain = atomic_load(&r->frames_plain);
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
	struct repo_names l = { 0 };
	int rc = repo_alloc(path, opt, &r, err);
	if (rc)
		return rc;
	if (dst_is_local(r->d)) {
		if ((rc = dst_prepare(r->d, repo_dirs, sizeof repo_dirs / sizeof *repo_dirs, err)))
			goto out;
	} else {
		if ((rc = repo_names_list(r, "", &l, err)))
			goto out;
		if (l.n) {
			rc = cf_error_set(err, CF_EIO, "'%s' is not empty", r->path);
			goto out;
		}
	}
	randombytes_buf(r->id, ID_LEN);
	util_hex(r->idhex, r->id, ID_LEN);
	randombytes_buf(r->k->master, sizeof r->k->master);
	repo_keys_derive(r->k);
	r->cp = default_chunk_params;
	r->pack_size = DEFAULT_PACK_SIZE;
	if ((rc = repo_key_add_password(r, password, &r->opened_keyfile, err)) ||
	    (rc = repo_key_add_recovery(r, ret_recovery, NULL, err)))
		goto out;
	if (escrow_pub_hex && (rc = repo_key_add_escrow(r, escrow_pub_hex, err)))
		goto out;
	/* The config comes last: a repository without one is an unfinished init. */
	if ((rc = write_config(r, err)))
		goto out;
	if (key_cache)
		repo_key_cache_save(r, password);
	memcpy(ret_idhex, r->idhex, ID_HEX);
out:
	repo_names_free(&l);
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
	int rc = repo_alloc(path, opt, &r, err);
	if (rc)
		return rc;
	if (dst_is_local(r->d) && dst_stat(r->d, "config", NULL, NULL) == CF_ENOENT) {
		rc = cf_error_set(err, CF_ENOREPO, "no repository at '%s'", r->path);
		goto fail;
	}
	if ((rc = read_config(r, err)) || (rc = repo_key_unlock(r, cred, err)))
		goto fail;
	repo_keys_derive(r->k);
	chunk_init(&r->chunker, &r->cp, r->k->chunk);
	*ret = r;
	return 0;
fail:
	repo_free(r);
	return rc;
}

/* A handle on ${d}, borrowed, with room for keys and nothing else set. */
static int repo_borrow(struct dst *d, struct repo **ret, struct cf_error *err)
{
	struct repo *r = calloc(1, sizeof *r);
	if (!r)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	r->d_borrowed = 1;
	r->k = sodium_malloc(sizeof *r->k);
	r->path = strdup(dst_url(d));
	r->d = d;
	if (!r->k || !r->path) {
		repo_free(r);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	*ret = r;
	return 0;
}

int repo_attach(const struct repo *src, struct dst *d, struct repo **ret, struct cf_error *err)
{
	struct repo *r = NULL;
	int rc = repo_borrow(d, &r, err);
	if (rc)
		return rc;
	memcpy(r->k, src->k, sizeof *r->k);
	memcpy(r->id, src->id, ID_LEN);
	memcpy(r->idhex, src->idhex, ID_HEX);
	r->cp = src->cp;
	r->chunker = src->chunker;
	r->pack_size = src->pack_size;
	*ret = r;
	return 0;
}

int repo_new_keyed(struct dst *d, const uint8_t master[32], struct repo **ret,
	struct cf_error *err)
{
	if (sodium_init() < 0)
		return cf_error_set(err, CF_EIO, "libsodium cannot start");
	struct repo *r = NULL;
	int rc = repo_borrow(d, &r, err);
	if (rc)
		return rc;
	memcpy(r->k->master, master, sizeof r->k->master);
	repo_keys_derive(r->k);
	/* The id is the key's: two handles on one key share an index cache. */
	crypto_generichash(r->id, ID_LEN, r->k->blobid, sizeof r->k->blobid, NULL, 0);
	util_hex(r->idhex, r->id, ID_LEN);
	r->cp = default_chunk_params;
	r->pack_size = DEFAULT_PACK_SIZE;
	if ((rc = chunk_init(&r->chunker, &r->cp, r->k->chunk))) {
		repo_free(r);
		return cf_error_set(err, rc, "bad chunker parameters");
	}
	*ret = r;
	return 0;
}
