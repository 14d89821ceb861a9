/* dst_s3_list.c: S3 listings: ListObjectsV2 (dst_list, page after page) and ListParts (the
 * parts of a multipart upload already stored, for resuming). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "dst/dst_s3_internal.h"

int dst_s3_parse_list(const char *x, size_t len, const char *where,
	int (*fn)(void *ctx, const char *key, uint64_t size), void *ctx,
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
		int rc = fn(ctx, key, n);
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

struct list_ctx {
	struct dst_s3 *s;
	size_t pl;	/* length of s->prefix */
	int (*fn)(void *ctx, const char *name, uint64_t size);
	void *ctx;
	unsigned long entries;
	int capped;	/* past S3_LIST_MAX_ENTRIES */
};

static int list_one(void *ctx, const char *key, uint64_t size)
{
	struct list_ctx *l = ctx;
	if (++l->entries > S3_LIST_MAX_ENTRIES) {
		l->capped = 1;
		return CF_EIO;	/* the caller words the message */
	}
	if (strncmp(key, l->s->prefix, l->pl) != 0)
		return 0;
	size_t kl = strlen(key);
	if (kl > 4 && strcmp(key + kl - 4, ".tmp") == 0)
		return 0;
	return l->fn(l->ctx, key + l->pl, size);
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

int dst_s3_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	struct list_ctx l = { s, strlen(s->prefix), fn, ctx, 0, 0 };
	struct dst_s3_page page = { 0 };
	char token[S3_TOKEN_MAX] = "";
	char *full = util_path("%s%s", s->prefix, prefix);
	if (!full)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = 0;
	for (int n = 0;; n++) {
		if (n >= S3_LIST_MAX_PAGES) {
			rc = cf_error_set(err, CF_EIO, "%s: listing longer than %d pages", s->d.url,
				S3_LIST_MAX_PAGES);
			break;
		}
		struct buf q = { 0 };
		if (list_query(&q, s, token, full)) {
			buf_free(&q);
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			break;
		}
		struct dst_s3_req r = { .method = "GET", .query = (char *)q.p,
			.max = S3_MAX_LIST_REPLY };
		rc = dst_s3_perform(s, &r, err);
		buf_free(&q);
		if (rc == 0 && r.status != 200)
			rc = dst_s3_status_error(s, &r, "list", err);
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
