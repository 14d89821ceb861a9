/* dst_s3_multipart.c: uploads larger than S3_SINGLE_MAX as a multipart upload of
 * S3_PART_SIZE parts that resumes: the upload id and the parts already stored are kept in
 * "<local file>.s3up" beside the source, and on the next attempt every part whose SHA-256 and
 * ETag still match what the server lists is not sent again. An upload from an fd with no
 * path keeps no state. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffre/error.h"
#include "dst/dst_s3_internal.h"

/* Resume state: "coffre-s3up 1\n<key>\n<size>\n<upload id>\n" then "<part> <sha256> <etag>\n". */
struct part_rec {
	char sha[65];
	char etag[128];
	uint64_t size;
	int listed;	/* the server lists it with the same etag and size */
};

struct parts {
	struct part_rec *p;
	int n;
};

/* A part the server lists counts as stored when its ETag and size are those recorded. */
static int mark_listed(void *ctx, int k, const char *etag, uint64_t size)
{
	struct parts *ps = ctx;
	if (k >= 1 && k <= ps->n && strcmp(ps->p[k - 1].etag, etag) == 0 &&
	    size == ps->p[k - 1].size)
		ps->p[k - 1].listed = 1;
	return 0;
}

static int s3_save_state(const char *path, const char *name, uint64_t size, const char *upload_id,
	const struct part_rec *parts, int nparts)
{
	if (!path)
		return 0;
	struct buf b = { 0 };
	char line[320];
	int n = snprintf(line, sizeof line, "coffre-s3up 1\n%s\n%llu\n", name,
		(unsigned long long)size);
	int rc = buf_append(&b, line, (size_t)n) || buf_append(&b, upload_id, strlen(upload_id)) ||
		buf_put_u8(&b, '\n');
	for (int i = 0; !rc && i < nparts; i++) {
		if (!parts[i].etag[0])
			continue;
		n = snprintf(line, sizeof line, "%d %s %s\n", i + 1, parts[i].sha, parts[i].etag);
		rc = buf_append(&b, line, (size_t)n);
	}
	if (!rc)
		rc = util_write_atomic(path, b.p, b.len, 0, NULL);
	buf_free(&b);
	return rc;
}

/* Loads the state if it is for the same key and size: fills ${upload_id} and parts' sha/etag. */
static int s3_load_state(const char *path, const char *name, uint64_t size, char *upload_id,
	size_t idcap, struct part_rec *parts, int nparts)
{
	if (!path)
		return -1;
	struct buf b = { 0 };
	if (util_read_file(path, 1 << 20, &b, NULL) != 0)
		return -1;
	if (buf_put_u8(&b, 0)) {
		buf_free(&b);
		return -1;
	}
	char *save = NULL, *l1 = strtok_r((char *)b.p, "\n", &save);
	char *l2 = strtok_r(NULL, "\n", &save), *l3 = strtok_r(NULL, "\n", &save);
	char *l4 = strtok_r(NULL, "\n", &save);
	int ok = l1 && l2 && l3 && l4 && strcmp(l1, "coffre-s3up 1") == 0 && strcmp(l2, name) == 0 &&
		strtoull(l3, NULL, 10) == size && strlen(l4) < idcap;
	if (ok) {
		strcpy(upload_id, l4);
		char *l;
		while ((l = strtok_r(NULL, "\n", &save))) {
			int k;
			char sha[65], etag[128];
			if (sscanf(l, "%d %64s %127s", &k, sha, etag) == 3 && k >= 1 && k <= nparts) {
				strcpy(parts[k - 1].sha, sha);
				strcpy(parts[k - 1].etag, etag);
			}
		}
	}
	buf_free(&b);
	return ok ? 0 : -1;
}

int dst_s3_put_multipart(struct dst_s3 *s, const char *name, int fd, uint64_t size,
	const char *src, struct cf_error *err)
{
	int nparts = (int)((size + S3_PART_SIZE - 1) / S3_PART_SIZE);
	struct part_rec *parts = calloc((size_t)nparts, sizeof *parts);
	char *state = src ? util_path("%s.s3up", src) : NULL;
	uint8_t *pb = malloc(S3_PART_SIZE);
	char upload_id[512] = "";
	struct buf q = { 0 }, body = { 0 };
	int rc = 0;
	if (!parts || (src && !state) || !pb) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	long stop_after = dst_curl_env_long("COFFRE_S3_STOP_AFTER_PARTS", -1);	/* test hook */
	int sent = 0;
	int lock = dst_s3_lock_wanted(s, name);
	char ts[32] = "";
	if (lock)
		dst_s3_lock_until(s, ts, sizeof ts);
	if (s3_load_state(state, name, size, upload_id, sizeof upload_id, parts, nparts) == 0) {
		int gone;
		for (int i = 0; i < nparts; i++) {
			uint64_t off = (uint64_t)i * S3_PART_SIZE;
			parts[i].size = size - off < S3_PART_SIZE ? size - off : S3_PART_SIZE;
		}
		struct parts ps = { parts, nparts };
		rc = dst_s3_list_parts(s, name, upload_id, mark_listed, &ps, &gone, err);
		if (rc)
			goto out;
		if (gone) {
			upload_id[0] = 0;
			memset(parts, 0, (size_t)nparts * sizeof *parts);
		}
	} else {
		memset(parts, 0, (size_t)nparts * sizeof *parts);
	}
	if (!upload_id[0]) {
		char mode[64], until[96];
		struct dst_s3_req r = { .method = "POST", .key = name, .query = "uploads=",
			.max = S3_MAX_REPLY };
		if (lock) {
			/* With a checksum algorithm named here, S3 wants each part's checksum in
			 * the parts and again in CompleteMultipartUpload. */
			snprintf(mode, sizeof mode, "x-amz-object-lock-mode: %s", s->lock_mode);
			snprintf(until, sizeof until, "x-amz-object-lock-retain-until-date: %s", ts);
			r.headers[0] = mode;
			r.headers[1] = until;
			r.headers[2] = "x-amz-checksum-algorithm: SHA256";
		}
		rc = dst_s3_perform(s, &r, err);
		if (rc == 0 && r.status != 200)
			rc = dst_s3_status_error(s, &r, name, err);
		if (rc == 0 && (!r.reply.p || !dst_s3_xml_get((const char *)r.reply.p,
					(const char *)r.reply.p + r.reply.len, "UploadId", upload_id,
					sizeof upload_id)))
			rc = cf_error_set(err, CF_EIO, "%s: no UploadId in the reply to '%s'", s->d.url,
				name);
		dst_s3_req_done(&r);
		if (rc)
			goto out;
		s3_save_state(state, name, size, upload_id, parts, nparts);
	}
	for (int i = 0; i < nparts; i++) {
		uint64_t off = (uint64_t)i * S3_PART_SIZE;
		size_t n = (size_t)(size - off < S3_PART_SIZE ? size - off : S3_PART_SIZE);
		if (dst_s3_read_full(fd, pb, n, off) != 0) {
			rc = cf_error_sys(err, CF_EIO, "cannot read '%s'", src ? src : name);
			goto out;
		}
		char sha[65];
		dst_s3_sha256_hex(sha, pb, n);
		if (parts[i].listed && strcmp(parts[i].sha, sha) == 0)
			continue;	/* stored by an earlier attempt */
		if (stop_after >= 0 && sent >= stop_after) {
			rc = cf_error_set(err, CF_EUNREACH, "%s: upload of '%s' interrupted (test hook)",
				s->d.url, name);
			goto out;
		}
		q.len = 0;
		char pn[32];
		snprintf(pn, sizeof pn, "partNumber=%d&uploadId=", i + 1);
		if (buf_append(&q, pn, strlen(pn)) || dst_s3_url_enc(&q, upload_id, 0) ||
		    buf_put_u8(&q, 0)) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		char cks[96];
		struct dst_s3_req r = { .method = "PUT", .key = name, .query = (char *)q.p, .body = pb,
			.body_len = n, .max = S3_MAX_REPLY };
		if (lock) {
			dst_s3_checksum_header(cks, sizeof cks, pb, n);
			r.headers[0] = cks;
		}
		rc = dst_s3_perform(s, &r, err);
		if (rc == 0 && r.status != 200)
			rc = dst_s3_status_error(s, &r, name, err);
		if (rc == 0 && !r.etag[0])
			rc = cf_error_set(err, CF_EIO, "%s: no ETag for part %d of '%s'", s->d.url, i + 1,
				name);
		if (rc == 0) {
			strcpy(parts[i].sha, sha);
			snprintf(parts[i].etag, sizeof parts[i].etag, "%s", r.etag);
			parts[i].size = n;
			s3_save_state(state, name, size, upload_id, parts, nparts);
			sent++;
		}
		dst_s3_req_done(&r);
		if (rc)
			goto out;
	}
	/* CompleteMultipartUpload. */
	if (buf_append(&body, "<CompleteMultipartUpload>", 25)) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < nparts; i++) {
		char line[384], cks[112] = "";
		uint8_t h[32];
		if (lock) {
			/* The part's SHA-256 as sent in its x-amz-checksum-sha256 header. */
			if (util_unhex(h, sizeof h, parts[i].sha) != 0) {
				rc = cf_error_set(err, CF_EIO, "%s: no checksum for part %d of '%s'",
					s->d.url, i + 1, name);
				goto out;
			}
			char b64[64];
			sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
			snprintf(cks, sizeof cks, "<ChecksumSHA256>%s</ChecksumSHA256>", b64);
		}
		int k = snprintf(line, sizeof line,
			"<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>%s</Part>", i + 1, parts[i].etag,
			cks);
		if (buf_append(&body, line, (size_t)k)) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (buf_append(&body, "</CompleteMultipartUpload>", 26)) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	q.len = 0;
	if (buf_append(&q, "uploadId=", 9) || dst_s3_url_enc(&q, upload_id, 0) || buf_put_u8(&q, 0)) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	{
		struct dst_s3_req r = { .method = "POST", .key = name, .query = (char *)q.p,
			.body = body.p, .body_len = body.len, .max = S3_MAX_REPLY,
			.headers = { "Content-Type: application/xml" } };
		rc = dst_s3_perform(s, &r, err);
		if (rc == 0 && r.status != 200)
			rc = dst_s3_status_error(s, &r, name, err);
		/* A 200 may still carry an <Error> (AWS documents this for Complete). */
		if (rc == 0 && r.reply.p && memmem(r.reply.p, r.reply.len, "<Error>", 7))
			rc = dst_s3_status_error(s, &(struct dst_s3_req){ .method = "POST", .status = 500,
				.reply = r.reply }, name, err);
		if (rc == 0 && lock)
			rc = dst_s3_keep_retention(s, name, r.version, ts, err);
		dst_s3_req_done(&r);
	}
	if (rc == 0 && state)
		unlink(state);
out:
	buf_free(&q);
	buf_free(&body);
	free(pb);
	free(state);
	free(parts);
	return rc;
}

