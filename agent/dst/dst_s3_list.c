/* dst_s3_list.c: S3 listings: ListObjectsV2 (dst_list, page after page), ListObjectVersions
 * (every version and delete marker, for a view as of a date) and ListParts (the parts of a
 * multipart upload already stored, for resuming). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "dst/dst_s3_internal.h"

int dst_s3_parse_list(const char *x, size_t len, const char *where,
	int (*fn)(void *ctx, const struct dst_entry *e), void *ctx,
	struct dst_s3_page *ret, struct cf_error *err)
{
	if (!x)
		x = "", len = 0;
	const char *p = x, *xe = x + len, *c;
	while ((c = memmem(p, (size_t)(xe - p), "<Contents>", 10))) {
		const char *ce = memmem(c, (size_t)(xe - c), "</Contents>", 11);
		if (!ce)
			return cf_error_set(err, CF_EIO, "%s: malformed listing", where);
		char key[1100], size[32];
		uint64_t n;
		if (!dst_s3_xml_get(c, ce, "Key", key, sizeof key) ||
		    !dst_s3_xml_get(c, ce, "Size", size, sizeof size) || dst_s3_parse_u64(size, &n))
			return cf_error_set(err, CF_EIO, "%s: malformed listing entry", where);
		char when[64], etag[S3_ETAG_MAX] = "";
		int64_t ms;
		struct dst_entry e = { key, n, -1, etag };
		if (dst_s3_xml_get(c, ce, "LastModified", when, sizeof when) &&
		    util_parse_time(when, 0, &ms) == 0)
			e.mtime = ms / 1000;
		if (!dst_s3_xml_get(c, ce, "ETag", etag, sizeof etag))
			etag[0] = 0;
		int rc = fn(ctx, &e);
		if (rc)
			return rc;
		p = ce + 11;
	}
	char trunc[16] = "";
	dst_s3_xml_get(x, xe, "IsTruncated", trunc, sizeof trunc);
	ret->truncated = strcmp(trunc, "true") == 0;
	ret->token[0] = 0;
	if (ret->truncated &&
	    (!dst_s3_xml_get(x, xe, "NextContinuationToken", ret->token, sizeof ret->token) ||
		    !ret->token[0]))
		return cf_error_set(err, CF_EIO, "%s: truncated listing without a continuation token",
			where);
	return 0;
}

/* The next "<tag>" at or after ${p}, from ${*cache} when it is still ahead (each tag is looked
 * for again only once passed, so a page costs one scan per tag, not one per entry). */
static const char *next_tag(const char *p, const char *xe, const char *tag, size_t tl,
	const char **cache)
{
	if (*cache && *cache >= p)
		return *cache;
	*cache = memmem(p, (size_t)(xe - p), tag, tl);
	return *cache;
}

int dst_s3_parse_versions(const char *x, size_t len, const char *where,
	int (*fn)(void *ctx, const struct dst_s3_version *v), void *ctx,
	struct dst_s3_vpage *ret, struct cf_error *err)
{
	if (!x)
		x = "", len = 0;
	const char *p = x, *xe = x + len, *cv = NULL, *cd = NULL;
	/* A server that does not list versions answers with a plain listing (or anything): an
	 * empty view would then pass for a bucket that held nothing. */
	if (!memmem(x, len, "<ListVersionsResult", 19))
		return cf_error_set(err, CF_EIO, "%s: the server did not list versions (does it "
			"keep them?)", where);
	for (;;) {
		/* "<Version>" with its '>' is not the start of "<VersionId>". */
		const char *v = next_tag(p, xe, "<Version>", 9, &cv);
		const char *d = next_tag(p, xe, "<DeleteMarker>", 14, &cd);
		if (!v && !d)
			break;
		int del = !v || (d && d < v);
		const char *c = del ? d : v;
		const char *close = del ? "</DeleteMarker>" : "</Version>";
		size_t cl = strlen(close);
		const char *ce = memmem(c, (size_t)(xe - c), close, cl);
		if (!ce)
			return cf_error_set(err, CF_EIO, "%s: malformed version listing", where);
		char key[S3_KEY_MAX], vid[S3_VERSION_MAX], when[64], size[32] = "0";
		struct dst_s3_version e = { key, vid, 0, 0, del };
		if (!dst_s3_xml_get(c, ce, "Key", key, sizeof key) ||
		    !dst_s3_xml_get(c, ce, "VersionId", vid, sizeof vid) || !vid[0] ||
		    !dst_s3_xml_get(c, ce, "LastModified", when, sizeof when) ||
		    util_parse_time(when, 0, &e.mtime_ms) != 0 ||
		    (!del && !dst_s3_xml_get(c, ce, "Size", size, sizeof size)) ||
		    dst_s3_parse_u64(size, &e.size))
			return cf_error_set(err, CF_EIO, "%s: malformed version listing entry", where);
		int rc = fn(ctx, &e);
		if (rc)
			return rc;
		p = ce + cl;
	}
	char trunc[16] = "";
	dst_s3_xml_get(x, xe, "IsTruncated", trunc, sizeof trunc);
	ret->truncated = strcmp(trunc, "true") == 0;
	ret->key_marker[0] = ret->version_marker[0] = 0;
	if (!ret->truncated)
		return 0;
	if (!dst_s3_xml_get(x, xe, "NextKeyMarker", ret->key_marker, sizeof ret->key_marker) ||
	    !ret->key_marker[0])
		return cf_error_set(err, CF_EIO, "%s: truncated version listing without a next key",
			where);
	if (!dst_s3_xml_get(x, xe, "NextVersionIdMarker", ret->version_marker,
		    sizeof ret->version_marker))
		ret->version_marker[0] = 0;
	return 0;
}

int dst_s3_parse_parts(const char *x, size_t len,
	int (*fn)(void *ctx, int part, const char *etag, uint64_t size), void *ctx)
{
	if (!x)
		return 0;
	const char *p = x, *xe = x + len, *pp;
	while ((pp = memmem(p, (size_t)(xe - p), "<Part>", 6))) {
		const char *pe = memmem(pp, (size_t)(xe - pp), "</Part>", 7);
		if (!pe)
			break;
		char num[16], etag[128], size[32];
		uint64_t k, n;
		if (dst_s3_xml_get(pp, pe, "PartNumber", num, sizeof num) &&
		    dst_s3_xml_get(pp, pe, "ETag", etag, sizeof etag) &&
		    dst_s3_xml_get(pp, pe, "Size", size, sizeof size) &&
		    dst_s3_parse_u64(num, &k) == 0 && k >= 1 && k <= 10000 &&
		    dst_s3_parse_u64(size, &n) == 0) {
			int rc = fn(ctx, (int)k, etag, n);
			if (rc)
				return rc;
		}
		p = pe + 7;
	}
	return 0;
}

/* ---- ListObjectsV2 ---- */

/* Asks for page ${n} of a listing (${what}, for messages), whose query ${q} was built with
 * the result ${built} (-1: out of memory); frees ${q}. A listing is refused past
 * S3_LIST_MAX_PAGES pages: a server that keeps answering "truncated" cannot keep a client
 * listing for ever. On 0, ${r} holds a 200 reply; the caller releases it in any case. */
static int list_page(struct dst_s3 *s, int n, const char *what, int built, struct buf *q,
	struct dst_s3_req *r, struct cf_error *err)
{
	int rc = 0;
	if (n >= S3_LIST_MAX_PAGES)
		rc = cf_error_set(err, CF_EIO, "%s: %s longer than %d pages", s->d.url, what,
			S3_LIST_MAX_PAGES);
	else if (built)
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	if (rc == 0) {
		*r = (struct dst_s3_req){ .method = "GET", .query = (char *)q->p,
			.max = S3_MAX_LIST_REPLY };
		rc = dst_s3_perform(s, r, err);
		if (rc == 0 && r->status != 200)
			rc = dst_s3_status_error(s, r, what, err);
	}
	buf_free(q);
	return rc;
}

struct list_ctx {
	struct dst_s3 *s;
	size_t pl;	/* length of s->prefix */
	int (*fn)(void *ctx, const char *name, uint64_t size);
	int (*meta)(void *ctx, const struct dst_entry *e);	/* instead of fn when set */
	void *ctx;
	unsigned long entries;
	int capped;	/* past S3_LIST_MAX_ENTRIES */
};

static int list_one(void *ctx, const struct dst_entry *e)
{
	struct list_ctx *l = ctx;
	const char *key = e->name;
	if (++l->entries > S3_LIST_MAX_ENTRIES) {
		l->capped = 1;
		return CF_EIO;	/* the caller words the message */
	}
	if (strncmp(key, l->s->prefix, l->pl) != 0)
		return 0;
	size_t kl = strlen(key);
	if (kl > 4 && strcmp(key + kl - 4, ".tmp") == 0)
		return 0;
	if (l->meta) {
		struct dst_entry under = *e;
		under.name = key + l->pl;
		return l->meta(l->ctx, &under);
	}
	return l->fn(l->ctx, key + l->pl, e->size);
}

/* The query of one page. Parameters in sorted order: SigV4's canonical query wants them so. */
static int list_query(struct buf *q, const struct dst_s3 *s, const char *token, const char *full)
{
	char mk[48];
	snprintf(mk, sizeof mk, "list-type=2&max-keys=%d&prefix=", s->max_keys);
	int bad = 0;
	if (token[0])
		bad |= buf_append(q, "continuation-token=", 19) || dst_s3_url_enc(q, token, 0) ||
			buf_put_u8(q, '&');
	bad |= buf_append(q, mk, strlen(mk)) || dst_s3_url_enc(q, full, 0) || buf_put_u8(q, 0);
	return bad ? -1 : 0;
}

static int list_run(struct dst_s3 *s, const char *prefix, struct list_ctx *lp,
	struct cf_error *err);

int dst_s3_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	struct list_ctx l = { s, strlen(s->prefix), fn, NULL, ctx, 0, 0 };
	return list_run(s, prefix, &l, err);
}

int dst_s3_list_meta(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const struct dst_entry *e), void *ctx, struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	struct list_ctx l = { s, strlen(s->prefix), NULL, fn, ctx, 0, 0 };
	return list_run(s, prefix, &l, err);
}

static int list_run(struct dst_s3 *s, const char *prefix, struct list_ctx *lp,
	struct cf_error *err)
{
	struct list_ctx l = *lp;
	struct dst_s3_page page = { 0 };
	char token[S3_TOKEN_MAX] = "";
	char *full = util_path("%s%s", s->prefix, prefix);
	if (!full)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = 0;
	for (int n = 0;; n++) {
		struct buf q = { 0 };
		struct dst_s3_req r = { 0 };
		rc = list_page(s, n, "listing", list_query(&q, s, token, full), &q, &r, err);
		if (rc == 0)
			rc = dst_s3_parse_list((const char *)r.reply.p, r.reply.len, s->d.url, list_one,
				&l, &page, err);
		if (l.capped)
			rc = cf_error_set(err, CF_EIO, "%s: listing of more than %lu objects", s->d.url,
				S3_LIST_MAX_ENTRIES);
		dst_s3_req_done(&r);
		if (rc || !page.truncated)
			break;
		/* A server handing back the token it was given would have us loop. */
		if (strcmp(page.token, token) == 0) {
			rc = cf_error_set(err, CF_EIO, "%s: listing does not advance", s->d.url);
			break;
		}
		memcpy(token, page.token, sizeof token);
	}
	free(full);
	return rc;
}

/* ---- ListObjectVersions ---- */

/* The query of one page, parameters sorted for SigV4: key-marker, max-keys, prefix,
 * version-id-marker, versions. */
static int versions_query(struct buf *q, const struct dst_s3 *s, const struct dst_s3_vpage *at)
{
	char mk[48];
	int bad = 0;
	if (at->key_marker[0])
		bad |= buf_append(q, "key-marker=", 11) || dst_s3_url_enc(q, at->key_marker, 0) ||
			buf_put_u8(q, '&');
	snprintf(mk, sizeof mk, "max-keys=%d&prefix=", s->max_keys);
	bad |= buf_append(q, mk, strlen(mk)) || dst_s3_url_enc(q, s->prefix, 0);
	if (at->key_marker[0] && at->version_marker[0])
		bad |= buf_append(q, "&version-id-marker=", 19) ||
			dst_s3_url_enc(q, at->version_marker, 0);
	bad |= buf_append(q, "&versions=", 10) || buf_put_u8(q, 0);
	return bad ? -1 : 0;
}

struct versions_ctx {
	int (*fn)(void *ctx, const struct dst_s3_version *v);
	void *ctx;
	unsigned long entries;
	int capped;
};

static int versions_one(void *ctx, const struct dst_s3_version *v)
{
	struct versions_ctx *l = ctx;
	if (++l->entries > S3_LIST_MAX_ENTRIES) {
		l->capped = 1;
		return CF_EIO;
	}
	return l->fn(l->ctx, v);
}

int dst_s3_list_versions(struct dst_s3 *s,
	int (*fn)(void *ctx, const struct dst_s3_version *v), void *ctx, struct cf_error *err)
{
	struct versions_ctx l = { fn, ctx, 0, 0 };
	/* Two pages' places (the one asked for, the next): 2.5 KiB, off the stack. */
	struct dst_s3_vpage *at = calloc(2, sizeof *at);
	if (!at)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = 0;
	for (int n = 0;; n++) {
		struct buf q = { 0 };
		struct dst_s3_req r = { 0 };
		rc = list_page(s, n, "version listing", versions_query(&q, s, &at[0]), &q, &r, err);
		if (rc == 0)
			rc = dst_s3_parse_versions((const char *)r.reply.p, r.reply.len, s->d.url,
				versions_one, &l, &at[1], err);
		if (l.capped)
			rc = cf_error_set(err, CF_EIO, "%s: version listing of more than %lu entries",
				s->d.url, S3_LIST_MAX_ENTRIES);
		dst_s3_req_done(&r);
		if (rc || !at[1].truncated)
			break;
		/* A server handing back the place it was given would have us loop. */
		if (strcmp(at[1].key_marker, at[0].key_marker) == 0 &&
		    strcmp(at[1].version_marker, at[0].version_marker) == 0) {
			rc = cf_error_set(err, CF_EIO, "%s: version listing does not advance", s->d.url);
			break;
		}
		at[0] = at[1];
	}
	free(at);
	return rc;
}

/* ---- ListParts ---- */

int dst_s3_list_parts(struct dst_s3 *s, const char *name, const char *upload_id,
	int (*fn)(void *ctx, int part, const char *etag, uint64_t size), void *ctx, int *ret_gone,
	struct cf_error *err)
{
	/* One page holds up to 1000 parts; 8 MiB parts make that 8 GB, far past a pack. */
	struct buf q = { 0 };
	if (buf_append(&q, "uploadId=", 9) || dst_s3_url_enc(&q, upload_id, 0) ||
	    buf_put_u8(&q, 0)) {
		buf_free(&q);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	struct dst_s3_req r = { .method = "GET", .key = name, .query = (char *)q.p,
		.max = S3_MAX_REPLY };
	int rc = dst_s3_perform(s, &r, err);
	buf_free(&q);
	*ret_gone = 0;
	if (rc == 0 && (r.status == 404 || r.status == 405 || r.status == 501))
		*ret_gone = 1;	/* upload gone, or ListParts not implemented: start again */
	else if (rc == 0 && r.status != 200)
		rc = dst_s3_status_error(s, &r, name, err);
	else if (rc == 0)
		rc = dst_s3_parse_parts((const char *)r.reply.p, r.reply.len, fn, ctx);
	dst_s3_req_done(&r);
	return rc;
}
