/* dst_s3.c: S3-compatible object storage: put/get/stat/delete, opening. Objects of up to
 * 16 MiB go up in one PUT; larger ones as a resumable multipart upload (dst_s3_multipart.c).
 * Requests in dst_s3_http.c, Object Lock in dst_s3_lock.c, listings in dst_s3_list.c. With
 * dst_options.as_of_ms, a read-only view of the bucket as it was then (dst_s3_asof.c).
 *
 * URL: s3://host[:port]/bucket[/prefix][?http|?https]. https by default; http when the host
 * is 127.0.0.1, ::1 or localhost, or with "?http". */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coffre/error.h"
#include "dst/dst_s3_internal.h"

/* ---- operations ---- */

static int s3_put_buf(struct dst *d, const char *name, const void *p, size_t n,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	char mode[64], until[96], ts[32], cks[96];
	struct dst_s3_req r = { .method = "PUT", .key = name, .body = p ? p : "", .body_len = n,
		.max = S3_MAX_REPLY };
	if (dst_s3_lock_wanted(s, name)) {
		dst_s3_lock_until(s, ts, sizeof ts);
		snprintf(mode, sizeof mode, "x-amz-object-lock-mode: %s", s->lock_mode);
		snprintf(until, sizeof until, "x-amz-object-lock-retain-until-date: %s", ts);
		dst_s3_checksum_header(cks, sizeof cks, r.body, n);
		r.headers[0] = mode;
		r.headers[1] = until;
		r.headers[2] = cks;
	}
	int rc = dst_s3_perform(s, &r, err);
	if (rc == 0 && r.status != 200)
		rc = dst_s3_status_error(s, &r, name, err);
	dst_s3_req_done(&r);
	return rc;
}

/* Uploads ${fd} from its start; ${src}, its path, keeps the resume state of a multipart
 * upload beside it (NULL: no resume after an interruption). */
static int s3_put_from(struct dst *d, const char *name, int fd, const char *src,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return cf_error_sys(err, CF_EIO, "cannot stat '%s'", src ? src : name);
	uint64_t size = (uint64_t)st.st_size;
	int rc;
	if (size > S3_SINGLE_MAX) {
		rc = dst_s3_put_multipart(s, name, fd, size, src, err);
	} else {
		uint8_t *p = malloc(size ? size : 1);
		if (!p)
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		else if (dst_s3_read_full(fd, p, size, 0) != 0)
			rc = cf_error_sys(err, CF_EIO, "cannot read '%s'", src ? src : name);
		else
			rc = s3_put_buf(d, name, p, size, err);
		free(p);
	}
	return rc;
}

static int s3_put_file(struct dst *d, const char *name, const char *src, struct cf_error *err)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cf_error_sys(err, CF_EIO, "cannot open '%s'", src);
	int rc = s3_put_from(d, name, fd, src, err);
	close(fd);
	return rc;
}

static int s3_put_fd(struct dst *d, const char *name, int fd, struct cf_error *err)
{
	return s3_put_from(d, name, fd, NULL, err);
}

/* Query "versionId=V" in ${q}, or nothing when ${version} is NULL. 0 or CF_ENOMEM. */
static int version_query(struct buf *q, const char *version, struct cf_error *err)
{
	if (version && (buf_append(q, "versionId=", 10) || dst_s3_url_enc(q, version, 0) ||
			   buf_put_u8(q, 0))) {
		buf_free(q);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	return 0;
}

/* GetObject of ${name}, of its version ${version} unless NULL. */
static int s3_get_version(struct dst_s3 *s, const char *name, const char *version,
	uint64_t max, struct buf *ret, struct cf_error *err)
{
	struct buf q = { 0 };
	if (version_query(&q, version, err))
		return CF_ENOMEM;
	struct dst_s3_req r = { .method = "GET", .key = name, .query = (char *)q.p, .max = max };
	int rc = dst_s3_perform(s, &r, err);
	buf_free(&q);
	if (rc == 0 && r.status != 200) {
		/* Error bodies are small; re-read the message only if it fitted. */
		rc = dst_s3_status_error(s, &r, name, err);
	}
	if (rc == 0) {
		*ret = r.reply;
		memset(&r.reply, 0, sizeof r.reply);
	}
	dst_s3_req_done(&r);
	return rc;
}

static int s3_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	return s3_get_version((struct dst_s3 *)d, name, NULL, max, ret, err);
}

/* A byte range of ${name}, of its version ${version} unless NULL. */
static int s3_get_range_version(struct dst_s3 *s, const char *name, const char *version,
	uint64_t off, size_t len, void *out, struct cf_error *err)
{
	if (len == 0)
		return 0;
	char range[64];
	snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
		(unsigned long long)(off + len - 1));
	struct buf q = { 0 };
	if (version_query(&q, version, err))
		return CF_ENOMEM;
	struct dst_s3_req r = { .method = "GET", .key = name, .query = (char *)q.p,
		.range = range, .max = len > S3_MAX_REPLY ? len : S3_MAX_REPLY };
	int rc = dst_s3_perform(s, &r, err);
	buf_free(&q);
	if (rc == 0 && r.status == 416)
		rc = cf_error_set(err, CF_ECORRUPT, "%s: '%s' is shorter than expected", s->d.url, name);
	else if (rc == 0 && r.status == 200)
		rc = cf_error_set(err, CF_EIO, "%s: the server ignored the byte range for '%s'",
			s->d.url, name);
	else if (rc == 0 && r.status != 206)
		rc = dst_s3_status_error(s, &r, name, err);
	else if (rc == 0 && r.reply.len != len)
		rc = cf_error_set(err, CF_ECORRUPT, "%s: '%s' is shorter than expected", s->d.url, name);
	if (rc == 0)
		memcpy(out, r.reply.p, len);
	dst_s3_req_done(&r);
	return rc;
}

static int s3_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	return s3_get_range_version((struct dst_s3 *)d, name, NULL, off, len, out, err);
}

/* HeadObject: size, and the version id ("" when the bucket keeps no versions). */
static int s3_head(struct dst_s3 *s, const char *name, uint64_t *ret_size, char *version,
	size_t vcap, struct cf_error *err)
{
	struct dst_s3_req r = { .method = "HEAD", .key = name, .max = S3_MAX_REPLY };
	int rc = dst_s3_perform(s, &r, err);
	if (rc == 0 && r.status == 404)
		rc = CF_ENOENT;
	else if (rc == 0 && r.status != 200)
		rc = dst_s3_status_error(s, &r, name, err);
	if (rc == 0 && ret_size) {
		curl_off_t cl = -1;
		curl_easy_getinfo(s->net.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (cl < 0)
			rc = cf_error_set(err, CF_EIO, "%s: no size for '%s'", s->d.url, name);
		else
			*ret_size = (uint64_t)cl;
	}
	if (rc == 0 && version)
		snprintf(version, vcap, "%s", strcmp(r.version, "null") == 0 ? "" : r.version);
	dst_s3_req_done(&r);
	return rc;
}

static int s3_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err)
{
	return s3_head((struct dst_s3 *)d, name, ret_size, NULL, 0, err);
}

/* Last-Modified of the HEAD reply (curl parses it: CURLOPT_FILETIME is on for HEAD). */
static int s3_mtime(struct dst *d, const char *name, int64_t *ret, struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	int rc = s3_head(s, name, NULL, NULL, 0, err);
	curl_off_t t = -1;
	if (rc == 0 && (curl_easy_getinfo(s->net.curl, CURLINFO_FILETIME_T, &t) != CURLE_OK ||
	    t < 0))
		rc = cf_error_set(err, CF_EIO, "%s: no Last-Modified for '%s'", s->d.url, name);
	if (rc == 0)
		*ret = (int64_t)t;
	return rc;
}


/* A refused DELETE of a version: say so plainly when Object Lock is the reason, and when
 * the keys may not delete there (a bucket policy that grants writes, not deletions). */
static int s3_del_refused(struct dst_s3 *s, struct dst_s3_req *r, const char *name,
	const char *version, struct cf_error *err)
{
	char mode[16], until[64];
	struct cf_error e2 = { 0 };
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (dst_s3_get_retention(s, name, version, mode, sizeof mode, until, sizeof until, &e2) == 0 &&
	    mode[0] && dst_s3_until_covers(until, ts))
		return cf_error_set(err, CF_EPROTECTED, "%s: '%s' is protected by Object Lock (%s) until %.19s "
			"UTC: the server refuses to delete it before then", s->d.url, name, mode, until);
	char code[128], msg[256];
	dst_s3_parse_error((const char *)r->reply.p, r->reply.len, code, sizeof code, msg,
		sizeof msg);
	/* The HEAD just before was allowed: the keys are good, deleting is not theirs. */
	if (strcmp(code, "AccessDenied") == 0)
		return cf_error_set(err, CF_EDENIED, "%s: the destination refuses deletions with "
			"these keys: retention there is left to its owner ('%s' stays)", s->d.url,
			name);
	return dst_s3_status_error(s, r, name, err);
}

/* In a bucket that keeps versions (always so with Object Lock), a plain DELETE only hides the
 * object behind a delete marker: nothing is freed and a lock's refusal goes unseen. So each
 * version is deleted by its id, newest first, until the name is gone. */
static int s3_del(struct dst *d, const char *name, struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	for (int round = 0;; round++) {
		/* S3 answers 204 for absent keys too: look first so callers can tell. */
		char version[256];
		int rc = s3_head(s, name, NULL, version, sizeof version, err);
		if (rc == CF_ENOENT && round > 0)
			return 0;
		if (rc)
			return rc;
		if (round >= 10000)
			return cf_error_set(err, CF_EIO, "%s: '%s' still has versions after %d deletions",
				s->d.url, name, round);
		struct buf q = { 0 };
		if (version[0] && (buf_append(&q, "versionId=", 10) || dst_s3_url_enc(&q, version, 0) ||
				   buf_put_u8(&q, 0))) {
			buf_free(&q);
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		}
		struct dst_s3_req r = { .method = "DELETE", .key = name, .query = (char *)q.p,
			.max = S3_MAX_REPLY };
		rc = dst_s3_perform(s, &r, err);
		if (rc == 0 && r.status == 404)
			rc = round > 0 ? 0 : CF_ENOENT;
		else if (rc == 0 && r.status == 403 && version[0])
			rc = s3_del_refused(s, &r, name, version, err);
		else if (rc == 0 && r.status != 204 && r.status != 200)
			rc = dst_s3_status_error(s, &r, name, err);
		dst_s3_req_done(&r);
		buf_free(&q);
		if (rc || !version[0])
			return rc;
	}
}

static void s3_free(struct dst *d)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	dst_s3_view_unref(s->view);
	dst_curl_release(&s->net);
	if (s->secret)
		sodium_memzero(s->secret, strlen(s->secret));
	free(s->secret);
	free(s->access);
	free(s->base);
	free(s->host);
	free(s->bucket);
	free(s->prefix);
	free(s->d.url);
	free(s);
}

static int s3_clone(struct dst *d, struct dst **ret, struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d, *c = malloc(sizeof *c);
	if (!c)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	*c = *s;
	c->base = strdup(s->base);
	c->host = strdup(s->host);
	c->bucket = strdup(s->bucket);
	c->prefix = strdup(s->prefix);
	c->access = strdup(s->access);
	c->secret = strdup(s->secret);
	c->d.url = strdup(s->d.url);
	c->view = dst_s3_view_ref(s->view);
	int nocurl = dst_curl_clone(&c->net, &s->net);
	if (!c->base || !c->host || !c->bucket || !c->prefix || !c->access || !c->secret ||
	    !c->d.url || nocurl) {
		s3_free(&c->d);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	*ret = &c->d;
	return 0;
}

const struct dst_ops dst_ops_s3 = {
	.name = "s3",
	.put_file = s3_put_file,
	.put_fd = s3_put_fd,
	.put_buf = s3_put_buf,
	.get = s3_get,
	.get_range = s3_get_range,
	.stat = s3_stat,
	.mtime = s3_mtime,
	.list = dst_s3_list,
	.list_meta = dst_s3_list_meta,
	.del = s3_del,
	.free = s3_free,
	.clone = s3_clone,
	.lock_get = dst_s3_lock_get,
	.lock_extend = dst_s3_lock_extend,
};

/* ---- the view as of a date (dst_s3_asof.c): reads of the versions it chose, no writes ---- */

static int asof_put_file(struct dst *d, const char *name, const char *src, struct cf_error *err)
{
	(void)name, (void)src;
	return dst_refuse_write(d, err);
}

static int asof_put_fd(struct dst *d, const char *name, int fd, struct cf_error *err)
{
	(void)name, (void)fd;
	return dst_refuse_write(d, err);
}

static int asof_put_buf(struct dst *d, const char *name, const void *p, size_t n,
	struct cf_error *err)
{
	(void)name, (void)p, (void)n;
	return dst_refuse_write(d, err);
}

static int asof_del(struct dst *d, const char *name, struct cf_error *err)
{
	(void)name;
	return dst_refuse_write(d, err);
}

/* The version chosen for ${name}, or CF_ENOENT (with a message) when it had none then. */
static int asof_find(struct dst_s3 *s, const char *name, const char **ret_version,
	uint64_t *ret_size, struct cf_error *err)
{
	if (dst_s3_view_find(s->view, name, ret_version, ret_size) != 0)
		return cf_error_set(err, CF_ENOENT, "%s: '%s' did not exist at that date", s->d.url,
			name);
	return 0;
}

static int asof_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	const char *version;
	int rc = asof_find(s, name, &version, NULL, err);
	return rc ? rc : s3_get_version(s, name, version, max, ret, err);
}

static int asof_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	const char *version;
	int rc = asof_find(s, name, &version, NULL, err);
	return rc ? rc : s3_get_range_version(s, name, version, off, len, out, err);
}

static int asof_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err)
{
	return asof_find((struct dst_s3 *)d, name, NULL, ret_size, err);
}

static int asof_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	(void)err;
	return dst_s3_view_list(((struct dst_s3 *)d)->view, prefix, fn, ctx);
}

static const struct dst_ops dst_ops_s3_asof = {
	.name = "s3",
	.put_file = asof_put_file,
	.put_fd = asof_put_fd,
	.put_buf = asof_put_buf,
	.get = asof_get,
	.get_range = asof_get_range,
	.stat = asof_stat,
	.list = asof_list,
	.del = asof_del,
	.free = s3_free,
	.clone = s3_clone,
};

/* Reads "ACCESS\nSECRET\n", refusing a file that group or others can read. */
static int s3_read_keys(struct dst_s3 *s, const char *path, struct cf_error *err)
{
	if (!path || !*path)
		return cf_error_set(err, CF_EKEY, "%s: no keys file given (two lines: access key id, "
			"secret access key; mode 0600)", s->d.url);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int rc = cf_error_sys(err, CF_EKEY, "cannot read the keys file '%s'", path);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (st.st_mode & 077) {
		close(fd);
		return cf_error_set(err, CF_EKEY, "keys file '%s' can be read by others: "
			"run chmod 600 on it", path);
	}
	char b[4096];
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n < 0)
		return cf_error_sys(err, CF_EKEY, "cannot read the keys file '%s'", path);
	b[n] = 0;
	char *save = NULL, *a = strtok_r(b, "\r\n", &save), *sec = strtok_r(NULL, "\r\n", &save);
	int rc = 0;
	if (!a || !sec || !*a || !*sec)
		rc = cf_error_set(err, CF_EKEY, "keys file '%s' must hold two lines: access key id, "
			"secret access key", path);
	else if (!(s->access = strdup(a)) || !(s->secret = strdup(sec)))
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	sodium_memzero(b, sizeof b);
	return rc;
}

int dst_s3_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err)
{
	if (dst_curl_load(err) != 0)
		return CF_EIO;
	struct dst_s3 *s = calloc(1, sizeof *s);
	if (!s)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	s->d.ops = &dst_ops_s3;
	int rc = 0;
	/* s3://host[:port]/bucket[/prefix][?http|?https] */
	char *u = strdup(url + 5), *qs;
	if (!u) {
		free(s);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	int force = 0;	/* 1 http, 2 https */
	if ((qs = strchr(u, '?'))) {
		*qs++ = 0;
		if (strcmp(qs, "http") == 0)
			force = 1;
		else if (strcmp(qs, "https") == 0)
			force = 2;
		else
			rc = cf_error_set(err, CF_EUSAGE, "'%s': unknown option '?%s' (use ?http or ?https)",
				url, qs);
	}
	char *slash = strchr(u, '/');
	if (!rc && (!slash || slash == u || strchr(u, '@')))
		rc = cf_error_set(err, CF_EUSAGE, "'%s': expected s3://host[:port]/bucket[/prefix] "
			"(keys go in the keys file, not the URL)", url);
	if (!rc) {
		*slash = 0;
		char *bucket = slash + 1, *pre = strchr(bucket, '/');
		if (pre)
			*pre++ = 0;
		size_t bl = strlen(bucket);
		if (bl < 3 || bl > 63 || strspn(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != bl)
			rc = cf_error_set(err, CF_EUSAGE, "'%s': bad bucket name '%s'", url, bucket);
		char *host = u, *colon = strrchr(u, ':');
		int port = 0;
		if (!rc && colon && !strchr(host, ']')) {
			port = atoi(colon + 1);
		}
		char hostonly[256];
		snprintf(hostonly, sizeof hostonly, "%.*s", (int)(colon ? colon - host : (long)strlen(host)),
			host);
		int local = strcmp(hostonly, "127.0.0.1") == 0 || strcmp(hostonly, "localhost") == 0 ||
			strcmp(hostonly, "[::1]") == 0;
		int https = force ? force == 2 : (port == 443 || !local);
		if (!rc) {
			while (pre && *pre == '/')
				pre++;
			size_t plen = pre ? strlen(pre) : 0;
			while (plen && pre[plen - 1] == '/')
				pre[--plen] = 0;
			s->prefix = plen ? util_path("%s/", pre) : strdup("");
			s->bucket = strdup(bucket);
			s->host = strdup(host);
			s->base = util_path("%s://%s/%s", https ? "https" : "http", host, bucket);
			s->d.url = util_path("s3://%s/%s%s%s", host, bucket, plen ? "/" : "",
				plen ? pre : "");
			if (!s->prefix || !s->bucket || !s->host || !s->base || !s->d.url)
				rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		}
	}
	free(u);
	if (!rc)
		rc = s3_read_keys(s, opt->s3_keys_file, err);
	if (!rc) {
		const char *region = opt->s3_region && *opt->s3_region ? opt->s3_region : "us-east-1";
		if (strlen(region) > 40 || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
						  strlen(region))
			rc = cf_error_set(err, CF_EUSAGE, "bad region '%s'", region);
		else
			snprintf(s->sigv4, sizeof s->sigv4, "aws:amz:%s:s3", region);
	}
	if (!rc) {
		s->max_keys = (int)dst_curl_env_long("COFFRE_S3_MAX_KEYS", 1000);
		if (s->max_keys < 1 || s->max_keys > 1000)
			s->max_keys = 1000;
		s->lock_days = opt->s3_lock_days;
		s->lock_period = (int64_t)s->lock_days * 86400;
		/* Test setting: the lock period in seconds, so that tests see it lapse. */
		long secs = dst_curl_env_long("COFFRE_TEST_LOCK_SECONDS", 0);
		if (s->lock_days > 0 && secs > 0 && secs <= 36500L * 86400)
			s->lock_period = secs;
		snprintf(s->lock_mode, sizeof s->lock_mode, "%s",
			opt->s3_lock_mode && *opt->s3_lock_mode ? opt->s3_lock_mode : "COMPLIANCE");
		if (strcmp(s->lock_mode, "GOVERNANCE") != 0 && strcmp(s->lock_mode, "COMPLIANCE") != 0)
			rc = cf_error_set(err, CF_EUSAGE, "bad object lock mode '%s' (GOVERNANCE or "
				"COMPLIANCE)", s->lock_mode);
		s->d.lock_note = "object lock not requested: backups can be deleted with the shop's "
				 "credentials";
	}
	if (!rc)
		rc = dst_curl_open(&s->net, opt, err);
	if (!rc && s->lock_days > 0 && opt->as_of_ms <= 0)
		rc = dst_s3_probe_lock(s, err);
	if (!rc && opt->as_of_ms > 0) {
		rc = dst_s3_view_load(s, opt->as_of_ms, &s->view, err);
		s->d.ops = &dst_ops_s3_asof;
		s->d.read_only = 1;
	}
	if (rc) {
		s3_free(&s->d);
		return rc;
	}
	*ret = &s->d;
	return 0;
}
