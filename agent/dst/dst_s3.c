/* dst_s3.c: S3-compatible object storage through libcurl (SigV4 by CURLOPT_AWS_SIGV4,
 * path-style addressing): one request with retries, put/get/stat/delete, opening. Objects of
 * up to 16 MiB go up in one PUT; larger ones as a resumable multipart upload
 * (dst_s3_multipart.c). Object Lock in dst_s3_lock.c, listings in dst_s3_list.c.
 *
 * URL: s3://host[:port]/bucket[/prefix][?http|?https]. https by default; http when the host
 * is 127.0.0.1, ::1 or localhost, or with "?http". */
#include <ctype.h>
#include <errno.h>
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

#define S3_EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- small helpers ---- */

int dst_s3_url_enc(struct buf *b, const char *s, int slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (slash && c == '/')) {
			if (buf_put_u8(b, c))
				return -1;
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			if (buf_append(b, e, 3))
				return -1;
		}
	}
	return 0;
}

void dst_s3_sha256_hex(char out[65], const void *p, size_t n)
{
	uint8_t h[32];
	crypto_hash_sha256(h, p, n);
	util_hex(out, h, 32);
}

const char *dst_s3_xml_get(const char *p, const char *end, const char *tag, char *out,
	size_t cap)
{
	char open[64], close[64];
	int ol = snprintf(open, sizeof open, "<%s>", tag);
	int cl = snprintf(close, sizeof close, "</%s>", tag);
	if (ol <= 0 || cl <= 0 || (size_t)ol >= sizeof open || (size_t)cl >= sizeof close)
		return NULL;
	const char *s = memmem(p, (size_t)(end - p), open, (size_t)ol);
	if (!s)
		return NULL;
	s += ol;
	const char *e = memmem(s, (size_t)(end - s), close, (size_t)cl);
	if (!e)
		return NULL;
	size_t o = 0;
	for (const char *q = s; q < e;) {
		char c = *q;
		if (c == '&') {
			static const struct { const char *ent; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
				{ "&quot;", '"' }, { "&apos;", '\'' },
			};
			size_t i;
			for (i = 0; i < sizeof ents / sizeof ents[0]; i++) {
				size_t n = strlen(ents[i].ent);
				if ((size_t)(e - q) >= n && memcmp(q, ents[i].ent, n) == 0) {
					c = ents[i].c;
					q += n;
					break;
				}
			}
			if (i == sizeof ents / sizeof ents[0])
				return NULL;	/* numeric or unknown entity: refuse */
		} else if (c == 0) {
			return NULL;
		} else {
			q++;
		}
		if (o + 1 >= cap)
			return NULL;
		out[o++] = c;
	}
	out[o] = 0;
	return e + cl;
}

int dst_s3_parse_u64(const char *s, uint64_t *ret)
{
	size_t n = strlen(s);
	if (n < 1 || n > 20 || strspn(s, "0123456789") != n)
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno)
		return -1;
	*ret = (uint64_t)v;
	return 0;
}

int dst_s3_parse_error(const char *x, size_t len, char *code, size_t ccap, char *msg,
	size_t mcap)
{
	code[0] = msg[0] = 0;
	if (!x)
		return 0;
	if (!dst_s3_xml_get(x, x + len, "Code", code, ccap))
		code[0] = 0;
	if (!dst_s3_xml_get(x, x + len, "Message", msg, mcap))
		msg[0] = 0;
	return 0;
}

int dst_s3_read_full(int fd, uint8_t *p, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, p + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* ---- one HTTP request, with retries ---- */

static size_t s3_write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct dst_s3_req *r = ud;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	uint64_t max = status >= 300 && r->max < S3_MAX_REPLY ? S3_MAX_REPLY : r->max;
	if (r->reply.len + n > max) {
		r->too_big = 1;
		return 0;
	}
	return buf_append(&r->reply, p, n) ? 0 : n;
}

/* Copies the value of header line ${p} (${n} bytes) into ${out} if its name is ${name}. */
static void s3_header_value(const char *p, size_t n, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(p, name, nl) != 0)
		return;
	size_t i = nl, j = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	while (i < n && p[i] != '\r' && p[i] != '\n' && j + 1 < cap)
		out[j++] = p[i++];
	out[j] = 0;
}

static size_t s3_header_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct dst_s3_req *r = ud;
	size_t n = size * nmemb;
	s3_header_value(p, n, "etag:", r->etag, sizeof r->etag);
	s3_header_value(p, n, "x-amz-version-id:", r->version, sizeof r->version);
	return n;
}

/* Maps a finished reply to a CF code and sentence. */
int dst_s3_status_error(struct dst_s3 *s, const struct dst_s3_req *r, const char *what,
	struct cf_error *err)
{
	char code[128], msg[256];
	dst_s3_parse_error((const char *)r->reply.p, r->reply.len, code, sizeof code, msg,
		sizeof msg);
	if (r->status == 403)
		return cf_error_set(err, CF_EKEY,
			"%s: access denied by the server (check the keys)%s%s%s", s->d.url,
			code[0] ? " (" : "", code, code[0] ? ")" : "");
	if (r->status == 404)
		return cf_error_set(err, CF_ENOENT, "%s: '%s' not found%s%s%s", s->d.url, what,
			code[0] ? " (" : "", code, code[0] ? ")" : "");
	if (strcmp(code, "QuotaExceeded") == 0 || r->status == 507)
		return cf_error_set(err, CF_ENOSPC, "%s: no space left on the server (%s)",
			s->d.url, code[0] ? code : "507");
	return cf_error_set(err, CF_EIO, "%s: %s '%s' failed: HTTP %ld%s%s%s%s", s->d.url,
		r->method, what, r->status, code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
}

/* One request (dst_curl_run calls back for each attempt). */
struct s3_call {
	struct dst_s3 *s;
	struct dst_s3_req *r;
	const char *url;
	const char *sha;	/* the x-amz-content-sha256 header */
	struct curl_slist *h;	/* this attempt's headers */
	struct dst_curl_src up;
};

static int s3_setup(void *ctx, CURL *c, struct cf_error *err)
{
	struct s3_call *t = ctx;
	struct dst_s3 *s = t->s;
	struct dst_s3_req *r = t->r;
	struct curl_slist *h = curl_slist_append(NULL, t->sha);
	for (size_t i = 0; h && i < sizeof r->headers / sizeof r->headers[0]; i++)
		if (r->headers[i])
			h = curl_slist_append(h, r->headers[i]);
	/* No "Expect:" override here: curl 7.88 would sign the empty header and the server
	 * would not see it, so the signature would not match. */
	if (!h)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	t->h = h;
	t->up = (struct dst_curl_src){ r->body, r->body_len, 0 };
	buf_free(&r->reply);
	r->etag[0] = 0;
	r->version[0] = 0;
	r->too_big = 0;
	r->status = 0;
	r->curl = c;
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s->access);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s3_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s3_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (r->range)
		curl_easy_setopt(c, CURLOPT_RANGE, r->range);
	if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, dst_curl_read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &t->up);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
		dst_curl_rate_cap(&s->net, c);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	return 0;
}

static int s3_done(void *ctx, CURL *c, CURLcode cc, struct cf_error *err)
{
	struct s3_call *t = ctx;
	struct dst_s3 *s = t->s;
	struct dst_s3_req *r = t->r;
	curl_slist_free_all(t->h);
	t->h = NULL;
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (cc == CURLE_WRITE_ERROR && r->too_big)
		return cf_error_set(err, CF_ECORRUPT, "%s: reply for '%s' is larger than %llu bytes",
			s->d.url, r->key ? r->key : "/", (unsigned long long)r->max);
	int transient = (cc != CURLE_OK && cc != CURLE_WRITE_ERROR &&
			 cc != CURLE_OUT_OF_MEMORY && cc != CURLE_URL_MALFORMAT) ||
		(cc == CURLE_OK && r->status >= 500);
	if (transient)
		return DST_CURL_RETRY;
	if (cc != CURLE_OK)
		return cf_error_set(err, CF_EIO, "%s: %s", s->d.url, curl_easy_strerror(cc));
	return 0;
}

int dst_s3_perform(struct dst_s3 *s, struct dst_s3_req *r, struct cf_error *err)
{
	struct buf url = { 0 };
	int bad = buf_append(&url, s->base, strlen(s->base)) || buf_put_u8(&url, '/');
	if (!bad && r->key)
		bad = dst_s3_url_enc(&url, s->prefix, 1) || dst_s3_url_enc(&url, r->key, 1);
	if (!bad && r->query)
		bad = buf_put_u8(&url, '?') || buf_append(&url, r->query, strlen(r->query));
	if (bad || buf_put_u8(&url, 0)) {
		buf_free(&url);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	char sha[65 + 40];
	if (r->body)
		dst_s3_sha256_hex(sha + 22, r->body, r->body_len);
	else
		strcpy(sha + 22, S3_EMPTY_SHA);
	memcpy(sha, "x-amz-content-sha256: ", 22);

	struct s3_call t = { .s = s, .r = r, .url = (const char *)url.p, .sha = sha };
	struct dst_curl_call call = { s3_setup, s3_done, &t };
	int rc = dst_curl_run(&s->net, s->d.url, &call, err);
	buf_free(&url);
	return rc;
}

void dst_s3_req_done(struct dst_s3_req *r)
{
	buf_free(&r->reply);
}

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

static int s3_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	struct dst_s3_req r = { .method = "GET", .key = name, .max = max };
	int rc = dst_s3_perform(s, &r, err);
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

static int s3_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	if (len == 0)
		return 0;
	char range[64];
	snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
		(unsigned long long)(off + len - 1));
	struct dst_s3_req r = { .method = "GET", .key = name, .range = range,
		.max = len > S3_MAX_REPLY ? len : S3_MAX_REPLY };
	int rc = dst_s3_perform(s, &r, err);
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


/* A refused DELETE of a version: say so plainly when Object Lock is the reason. */
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
		return cf_error_set(err, CF_EIO, "%s: '%s' is protected by Object Lock (%s) until %.19s "
			"UTC: the server refuses to delete it before then", s->d.url, name, mode, until);
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
	.list = dst_s3_list,
	.del = s3_del,
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
		snprintf(s->lock_mode, sizeof s->lock_mode, "%s",
			opt->s3_lock_mode && *opt->s3_lock_mode ? opt->s3_lock_mode : "GOVERNANCE");
		if (strcmp(s->lock_mode, "GOVERNANCE") != 0 && strcmp(s->lock_mode, "COMPLIANCE") != 0)
			rc = cf_error_set(err, CF_EUSAGE, "bad object lock mode '%s' (GOVERNANCE or "
				"COMPLIANCE)", s->lock_mode);
		s->d.lock_note = "object lock not requested: backups can be deleted with the shop's "
				 "credentials";
	}
	if (!rc)
		rc = dst_curl_open(&s->net, opt, err);
	if (!rc && s->lock_days > 0)
		rc = dst_s3_probe_lock(s, err);
	if (rc) {
		s3_free(&s->d);
		return rc;
	}
	*ret = &s->d;
	return 0;
}
