/* dst_s3.c: S3-compatible object storage through libcurl (SigV4 by CURLOPT_AWS_SIGV4,
 * path-style addressing). Objects of up to 16 MiB go up in one PUT; larger ones as a
 * multipart upload of 8 MiB parts that resumes: the upload id and the parts already stored
 * are kept in "<local file>.s3up" beside the source, and on the next attempt every part whose
 * SHA-256 and ETag still match what the server lists is not sent again.
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
#include "dst/dl_curl.h"
#include "dst/dst_internal.h"
#include "base/util.h"

#define S3_SINGLE_MAX (16u << 20)
#define S3_PART_SIZE (8u << 20)
#define S3_MAX_REPLY (1u << 20)	/* XML replies (lists, errors) */
#define S3_EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct dst_s3 {
	struct dst d;	/* first: dst_s3 is a dst */
	CURL *curl;
	char *base;	/* "http[s]://host[:port]/bucket" */
	char *host;	/* for messages */
	char *bucket;
	char *prefix;	/* "" or "some/prefix/" */
	char *access, *secret;
	char sigv4[96];
	int retries;
	long base_ms;
	uint64_t upload_limit;
	int lock_days;
	char lock_mode[16];
	int max_keys;
};

static int s3_init_once(struct cf_error *err)
{
	if (dl_curl_load(err))
		return -1;
	if (sodium_init() < 0) {
		cf_error_set(err, CF_EIO, "cannot initialise libsodium");
		return -1;
	}
	return 0;
}

/* ---- small helpers ---- */

/* Appends ${s} percent-encoded as SigV4 wants (unreserved kept; '/' kept when ${slash}). */
static int url_enc(struct buf *b, const char *s, int slash)
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

static void sha256_hex(char out[65], const void *p, size_t n)
{
	uint8_t h[32];
	crypto_hash_sha256(h, p, n);
	util_hex(out, h, 32);
}

/* Finds the text of the first <tag>...</tag> in [p, end); decodes the five XML entities
 * into ${out} (capacity ${cap}). Returns a pointer past the closing tag, or NULL. */
static const char *xml_get(const char *p, const char *end, const char *tag, char *out,
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

/* ---- one HTTP request, with retries ---- */

struct s3_req {
	const char *method;	/* GET PUT HEAD DELETE POST */
	const char *key;	/* object name under the prefix, or NULL for the bucket */
	const char *query;	/* encoded, sorted, without '?' */
	const void *body;
	size_t body_len;
	const char *range;	/* "a-b" */
	const char *headers[6];
	uint64_t max;		/* reply bodies past this are refused */
	/* results */
	long status;
	struct buf reply;
	char etag[128];
	char version[256];	/* x-amz-version-id of the reply, "" if none */
	int too_big;
	CURL *curl;
};

struct s3_upload {
	const uint8_t *p;
	size_t n, off;
};

static size_t s3_read_cb(char *dst, size_t size, size_t nmemb, void *ud)
{
	struct s3_upload *u = ud;
	size_t n = size * nmemb, left = u->n - u->off;
	if (n > left)
		n = left;
	memcpy(dst, u->p + u->off, n);
	u->off += n;
	return n;
}

static size_t s3_write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct s3_req *r = ud;
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
	struct s3_req *r = ud;
	size_t n = size * nmemb;
	s3_header_value(p, n, "etag:", r->etag, sizeof r->etag);
	s3_header_value(p, n, "x-amz-version-id:", r->version, sizeof r->version);
	return n;
}

static long s3_env_long(const char *name, long def)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return def;
	char *e;
	long x = strtol(v, &e, 10);
	return (*e || x < 0) ? def : x;
}

static void s3_backoff(long base_ms, int attempt)
{
	double ms = (double)base_ms * (double)(1u << (attempt < 10 ? attempt : 10));
	if (ms > 30000)
		ms = 30000;
	ms = ms * (0.5 + randombytes_uniform(1000) / 1000.0);	/* jitter: 50%..150% */
	struct timespec ts = { (time_t)(ms / 1000), (long)((long)ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Maps a finished reply to a CF code and sentence. */
static int s3_status_error(struct dst_s3 *s, struct s3_req *r, const char *what,
	struct cf_error *err)
{
	char code[128] = "", msg[256] = "";
	const char *x = (const char *)r->reply.p, *xe = x ? x + r->reply.len : NULL;
	if (x) {
		xml_get(x, xe, "Code", code, sizeof code);
		xml_get(x, xe, "Message", msg, sizeof msg);
	}
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

/* Runs ${r} with retries on connection errors, timeouts and 5xx. Returns 0 when an HTTP
 * reply came (r->status set, any status), or CF_EUNREACH / CF_EIO. */
static int s3_perform(struct dst_s3 *s, struct s3_req *r, struct cf_error *err)
{
	struct buf url = { 0 };
	if (buf_append(&url, s->base, strlen(s->base)))
		goto nomem;
	if (r->key) {
		if (buf_put_u8(&url, '/') || url_enc(&url, s->prefix, 1) || url_enc(&url, r->key, 1))
			goto nomem;
	} else if (buf_put_u8(&url, '/')) {
		goto nomem;
	}
	if (r->query && (buf_put_u8(&url, '?') || buf_append(&url, r->query, strlen(r->query))))
		goto nomem;
	if (buf_put_u8(&url, 0))
		goto nomem;

	char sha[65 + 40];
	if (r->body)
		sha256_hex(sha + 22, r->body, r->body_len);
	else
		strcpy(sha + 22, S3_EMPTY_SHA);
	memcpy(sha, "x-amz-content-sha256: ", 22);

	CURLcode cc = CURLE_OK;
	int rc = 0;
	for (int attempt = 0;; attempt++) {
		CURL *c = s->curl;
		curl_easy_reset(c);
		struct curl_slist *h = curl_slist_append(NULL, sha);
		for (size_t i = 0; h && i < sizeof r->headers / sizeof r->headers[0]; i++)
			if (r->headers[i])
				h = curl_slist_append(h, r->headers[i]);
		/* No "Expect:" override here: curl 7.88 would sign the empty header and the server
		 * would not see it, so the signature would not match. */
		if (!h) {
			buf_free(&url);
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		}
		struct s3_upload up = { r->body, r->body_len, 0 };
		buf_free(&r->reply);
		r->etag[0] = 0;
		r->version[0] = 0;
		r->too_big = 0;
		r->status = 0;
		r->curl = c;
		curl_easy_setopt(c, CURLOPT_URL, (char *)url.p);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(c, CURLOPT_USERNAME, s->access);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		if (getenv("COFFRE_CURL_VERBOSE"))
			curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);	/* never logs the secret */
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 512L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s3_env_long("COFFRE_LOW_SPEED_TIME", 60));
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s3_write_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s3_header_cb);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
		if (r->range)
			curl_easy_setopt(c, CURLOPT_RANGE, r->range);
		if (strcmp(r->method, "PUT") == 0) {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, s3_read_cb);
			curl_easy_setopt(c, CURLOPT_READDATA, &up);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
			if (s->upload_limit)
				curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE,
					(curl_off_t)s->upload_limit);
		} else if (strcmp(r->method, "POST") == 0) {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		} else if (strcmp(r->method, "HEAD") == 0) {
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		} else if (strcmp(r->method, "DELETE") == 0) {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
		}
		cc = curl_easy_perform(c);
		curl_slist_free_all(h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		if (cc == CURLE_WRITE_ERROR && r->too_big) {
			rc = cf_error_set(err, CF_ECORRUPT, "%s: reply for '%s' is larger than %llu bytes",
				s->d.url, r->key ? r->key : "/", (unsigned long long)r->max);
			break;
		}
		int transient = (cc != CURLE_OK && cc != CURLE_WRITE_ERROR &&
				 cc != CURLE_OUT_OF_MEMORY && cc != CURLE_URL_MALFORMAT) ||
			(cc == CURLE_OK && r->status >= 500);
		if (!transient) {
			if (cc != CURLE_OK)
				rc = cf_error_set(err, CF_EIO, "%s: %s", s->d.url, curl_easy_strerror(cc));
			break;
		}
		if (attempt + 1 >= s->retries) {
			if (cc != CURLE_OK)
				rc = cf_error_set(err, CF_EUNREACH, "%s: unreachable after %d attempts: %s",
					s->d.url, attempt + 1, curl_easy_strerror(cc));
			break;	/* a 5xx after the last attempt: the caller reports the status */
		}
		s3_backoff(s->base_ms, attempt);
	}
	buf_free(&url);
	return rc;
nomem:
	buf_free(&url);
	return cf_error_set(err, CF_ENOMEM, "out of memory");
}

static void s3_req_done(struct s3_req *r)
{
	buf_free(&r->reply);
}

/* ---- object lock ---- */

/* "x-amz-checksum-sha256: <base64>" of ${n} bytes at ${p}: S3 refuses a PUT that carries lock
 * headers without Content-MD5 or an x-amz-checksum-* header, and so an upload part. */
static void s3_checksum_header(char *out, size_t cap, const void *p, size_t n)
{
	uint8_t h[32];
	crypto_hash_sha256(h, p, n);
	char b64[64];
	sodium_bin2base64(b64, sizeof b64, h, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, cap, "x-amz-checksum-sha256: %s", b64);
}

/* The retain-until date of an upload that starts now, as S3 writes it. */
static void s3_lock_until(const struct dst_s3 *s, char *ts, size_t cap)
{
	time_t t = time(NULL) + (time_t)s->lock_days * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Repository locks (locks/) are rewritten every few minutes and deleted when released: a
 * retention on them would only keep a released lock from being deleted. */
static int s3_lock_wanted(const struct dst_s3 *s, const char *name)
{
	return s->d.object_lock && strncmp(name, "locks/", 6) != 0;
}

/* Query "retention=[&versionId=V]" (parameters sorted for SigV4). */
static int s3_retention_query(struct buf *q, const char *version)
{
	if (buf_append(q, "retention=", 10))
		return -1;
	if (version && *version &&
	    (buf_append(q, "&versionId=", 11) || url_enc(q, version, 0)))
		return -1;
	return buf_put_u8(q, 0);
}

/* GetObjectRetention of ${name} (the version ${version} if not ""). ${mode} and ${until}
 * are left "" when the object has no retention. */
static int s3_get_retention(struct dst_s3 *s, const char *name, const char *version, char *mode,
	size_t mcap, char *until, size_t ucap, struct cf_error *err)
{
	mode[0] = until[0] = 0;
	struct buf q = { 0 };
	if (s3_retention_query(&q, version)) {
		buf_free(&q);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	struct s3_req r = { .method = "GET", .key = name, .query = (char *)q.p,
		.max = S3_MAX_REPLY };
	int rc = s3_perform(s, &r, err);
	buf_free(&q);
	if (rc == 0 && r.status == 200 && r.reply.p) {
		const char *x = (const char *)r.reply.p, *xe = x + r.reply.len;
		if (!xml_get(x, xe, "Mode", mode, mcap) || !xml_get(x, xe, "RetainUntilDate", until, ucap))
			mode[0] = until[0] = 0;
	} else if (rc == 0 && r.status != 404 && r.status != 400) {
		/* 404 NoSuchObjectLockConfiguration (or 400 on some servers): no retention. */
		rc = s3_status_error(s, &r, name, err);
	}
	s3_req_done(&r);
	return rc;
}

/* Dates compare as text down to the second ("2026-12-01T08:33:57" + fraction + "Z"). */
static int s3_until_covers(const char *have, const char *want)
{
	return strlen(have) >= 19 && strlen(want) >= 19 && strncmp(have, want, 19) >= 0;
}

/* Makes sure ${name} (version ${version}) is retained until ${until}: some servers (Ceph
 * radosgw 16) store a multipart upload without the retention its CreateMultipartUpload asked
 * for. Sets it with PutObjectRetention when missing. Only called once the probe has found a
 * real Object Lock configuration (Swift's s3api would take that PUT as an overwrite). */
static int s3_keep_retention(struct dst_s3 *s, const char *name, const char *version,
	const char *until, struct cf_error *err)
{
	char have_mode[16], have_until[64];
	int rc = s3_get_retention(s, name, version, have_mode, sizeof have_mode, have_until,
		sizeof have_until, err);
	if (rc || (strcmp(have_mode, s->lock_mode) == 0 && s3_until_covers(have_until, until)))
		return rc;
	char body[256], cks[96];
	int n = snprintf(body, sizeof body,
		"<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>%s</Mode>"
		"<RetainUntilDate>%s</RetainUntilDate></Retention>", s->lock_mode, until);
	s3_checksum_header(cks, sizeof cks, body, (size_t)n);
	struct buf q = { 0 };
	if (s3_retention_query(&q, version)) {
		buf_free(&q);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	struct s3_req r = { .method = "PUT", .key = name, .query = (char *)q.p, .body = body,
		.body_len = (size_t)n, .max = S3_MAX_REPLY,
		.headers = { cks, "Content-Type: application/xml" } };
	rc = s3_perform(s, &r, err);
	if (rc == 0 && r.status != 200)
		rc = s3_status_error(s, &r, name, err);
	buf_free(&q);
	s3_req_done(&r);
	if (rc == 0) {
		rc = s3_get_retention(s, name, version, have_mode, sizeof have_mode, have_until,
			sizeof have_until, err);
		if (rc == 0 && !(strcmp(have_mode, s->lock_mode) == 0 &&
				 s3_until_covers(have_until, until)))
			rc = cf_error_set(err, CF_EIO, "%s: the server did not keep the Object Lock "
				"retention of '%s'", s->d.url, name);
	}
	return rc;
}

/* GetObjectLockConfiguration; only a reply whose root element is ObjectLockConfiguration
 * with ObjectLockEnabled = Enabled counts (Swift's s3api answers with a bucket listing). */
static int s3_probe_lock(struct dst_s3 *s, struct cf_error *err)
{
	struct s3_req r = { .method = "GET", .query = "object-lock=", .max = S3_MAX_REPLY };
	int rc = s3_perform(s, &r, err);
	if (rc) {
		s3_req_done(&r);
		return rc;
	}
	int ok = 0;
	if (r.status == 200 && r.reply.len) {
		const char *x = (const char *)r.reply.p, *xe = x + r.reply.len;
		/* Skip the XML declaration and whitespace; the first element must be ours. */
		const char *q = x;
		while (q < xe) {
			while (q < xe && isspace((unsigned char)*q))
				q++;
			if (xe - q >= 2 && q[0] == '<' && (q[1] == '?' || q[1] == '!')) {
				const char *gt = memchr(q, '>', (size_t)(xe - q));
				if (!gt)
					break;
				q = gt + 1;
				continue;
			}
			break;
		}
		static const char root[] = "<ObjectLockConfiguration";
		char en[32];
		if ((size_t)(xe - q) > sizeof root - 1 && memcmp(q, root, sizeof root - 1) == 0 &&
		    (q[sizeof root - 1] == '>' || q[sizeof root - 1] == ' ') &&
		    xml_get(q, xe, "ObjectLockEnabled", en, sizeof en) && strcmp(en, "Enabled") == 0)
			ok = 1;
	} else if (r.status == 403) {
		rc = s3_status_error(s, &r, "?object-lock", err);
	}
	s3_req_done(&r);
	if (rc)
		return rc;
	s->d.object_lock = ok;
	s->d.lock_note = ok ? "object lock verified: uploads are retained by the server"
			    : "object lock NOT supported by this server: backups can be deleted "
			      "with the shop's credentials";
	return 0;
}

/* ---- operations ---- */

static int s3_put_buf(struct dst *d, const char *name, const void *p, size_t n,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	char mode[64], until[96], ts[32], cks[96];
	struct s3_req r = { .method = "PUT", .key = name, .body = p ? p : "", .body_len = n,
		.max = S3_MAX_REPLY };
	if (s3_lock_wanted(s, name)) {
		s3_lock_until(s, ts, sizeof ts);
		snprintf(mode, sizeof mode, "x-amz-object-lock-mode: %s", s->lock_mode);
		snprintf(until, sizeof until, "x-amz-object-lock-retain-until-date: %s", ts);
		s3_checksum_header(cks, sizeof cks, r.body, n);
		r.headers[0] = mode;
		r.headers[1] = until;
		r.headers[2] = cks;
	}
	int rc = s3_perform(s, &r, err);
	if (rc == 0 && r.status != 200)
		rc = s3_status_error(s, &r, name, err);
	s3_req_done(&r);
	return rc;
}

static int read_full(int fd, uint8_t *p, size_t n, uint64_t off)
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

/* Resume state: "coffre-s3up 1\n<key>\n<size>\n<upload id>\n" then "<part> <sha256> <etag>\n". */
struct part_rec {
	char sha[65];
	char etag[128];
	uint64_t size;
	int listed;	/* the server lists it with the same etag and size */
};

static int s3_list_parts(struct dst_s3 *s, const char *name, const char *upload_id,
	struct part_rec *parts, int nparts, int *ret_gone, struct cf_error *err)
{
	/* One page holds up to 1000 parts; 8 MiB parts make that 8 GB, far past a pack. */
	struct buf q = { 0 };
	if (buf_append(&q, "uploadId=", 9) || url_enc(&q, upload_id, 0) || buf_put_u8(&q, 0)) {
		buf_free(&q);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	struct s3_req r = { .method = "GET", .key = name, .query = (char *)q.p, .max = S3_MAX_REPLY };
	int rc = s3_perform(s, &r, err);
	buf_free(&q);
	*ret_gone = 0;
	if (rc == 0 && (r.status == 404 || r.status == 405 || r.status == 501)) {
		*ret_gone = 1;	/* upload gone, or ListParts not implemented: start again */
	} else if (rc == 0 && r.status != 200) {
		rc = s3_status_error(s, &r, name, err);
	} else if (rc == 0) {
		const char *x = (const char *)r.reply.p, *xe = x + r.reply.len;
		const char *pp;
		while (x && (pp = memmem(x, (size_t)(xe - x), "<Part>", 6))) {
			const char *pe = memmem(pp, (size_t)(xe - pp), "</Part>", 7);
			if (!pe)
				break;
			char num[16], etag[128], size[32];
			if (xml_get(pp, pe, "PartNumber", num, sizeof num) &&
			    xml_get(pp, pe, "ETag", etag, sizeof etag) &&
			    xml_get(pp, pe, "Size", size, sizeof size)) {
				long k = strtol(num, NULL, 10);
				if (k >= 1 && k <= nparts && strcmp(parts[k - 1].etag, etag) == 0 &&
				    strtoull(size, NULL, 10) == parts[k - 1].size)
					parts[k - 1].listed = 1;
			}
			x = pe + 7;
		}
	}
	s3_req_done(&r);
	return rc;
}

static int s3_save_state(const char *path, const char *name, uint64_t size, const char *upload_id,
	const struct part_rec *parts, int nparts)
{
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

static int s3_put_multipart(struct dst_s3 *s, const char *name, int fd, uint64_t size,
	const char *src, struct cf_error *err)
{
	int nparts = (int)((size + S3_PART_SIZE - 1) / S3_PART_SIZE);
	struct part_rec *parts = calloc((size_t)nparts, sizeof *parts);
	char *state = util_path("%s.s3up", src);
	uint8_t *pb = malloc(S3_PART_SIZE);
	char upload_id[512] = "";
	struct buf q = { 0 }, body = { 0 };
	int rc = 0;
	if (!parts || !state || !pb) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	long stop_after = s3_env_long("COFFRE_S3_STOP_AFTER_PARTS", -1);	/* test hook */
	int sent = 0;
	int lock = s3_lock_wanted(s, name);
	char ts[32] = "";
	if (lock)
		s3_lock_until(s, ts, sizeof ts);
	if (s3_load_state(state, name, size, upload_id, sizeof upload_id, parts, nparts) == 0) {
		int gone;
		for (int i = 0; i < nparts; i++) {
			uint64_t off = (uint64_t)i * S3_PART_SIZE;
			parts[i].size = size - off < S3_PART_SIZE ? size - off : S3_PART_SIZE;
		}
		rc = s3_list_parts(s, name, upload_id, parts, nparts, &gone, err);
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
		struct s3_req r = { .method = "POST", .key = name, .query = "uploads=",
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
		rc = s3_perform(s, &r, err);
		if (rc == 0 && r.status != 200)
			rc = s3_status_error(s, &r, name, err);
		if (rc == 0 && (!r.reply.p || !xml_get((const char *)r.reply.p,
					(const char *)r.reply.p + r.reply.len, "UploadId", upload_id,
					sizeof upload_id)))
			rc = cf_error_set(err, CF_EIO, "%s: no UploadId in the reply to '%s'", s->d.url,
				name);
		s3_req_done(&r);
		if (rc)
			goto out;
		s3_save_state(state, name, size, upload_id, parts, nparts);
	}
	for (int i = 0; i < nparts; i++) {
		uint64_t off = (uint64_t)i * S3_PART_SIZE;
		size_t n = (size_t)(size - off < S3_PART_SIZE ? size - off : S3_PART_SIZE);
		if (read_full(fd, pb, n, off) != 0) {
			rc = cf_error_sys(err, CF_EIO, "cannot read '%s'", src);
			goto out;
		}
		char sha[65];
		sha256_hex(sha, pb, n);
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
		if (buf_append(&q, pn, strlen(pn)) || url_enc(&q, upload_id, 0) || buf_put_u8(&q, 0)) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		char cks[96];
		struct s3_req r = { .method = "PUT", .key = name, .query = (char *)q.p, .body = pb,
			.body_len = n, .max = S3_MAX_REPLY };
		if (lock) {
			s3_checksum_header(cks, sizeof cks, pb, n);
			r.headers[0] = cks;
		}
		rc = s3_perform(s, &r, err);
		if (rc == 0 && r.status != 200)
			rc = s3_status_error(s, &r, name, err);
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
		s3_req_done(&r);
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
	if (buf_append(&q, "uploadId=", 9) || url_enc(&q, upload_id, 0) || buf_put_u8(&q, 0)) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	{
		struct s3_req r = { .method = "POST", .key = name, .query = (char *)q.p,
			.body = body.p, .body_len = body.len, .max = S3_MAX_REPLY,
			.headers = { "Content-Type: application/xml" } };
		rc = s3_perform(s, &r, err);
		if (rc == 0 && r.status != 200)
			rc = s3_status_error(s, &r, name, err);
		/* A 200 may still carry an <Error> (AWS documents this for Complete). */
		if (rc == 0 && r.reply.p && memmem(r.reply.p, r.reply.len, "<Error>", 7))
			rc = s3_status_error(s, &(struct s3_req){ .method = "POST", .status = 500,
				.reply = r.reply }, name, err);
		if (rc == 0 && lock)
			rc = s3_keep_retention(s, name, r.version, ts, err);
		s3_req_done(&r);
	}
	if (rc == 0)
		unlink(state);
out:
	buf_free(&q);
	buf_free(&body);
	free(pb);
	free(state);
	free(parts);
	return rc;
}

static int s3_put_file(struct dst *d, const char *name, const char *src, struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int rc = cf_error_sys(err, CF_EIO, "cannot open '%s'", src);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	uint64_t size = (uint64_t)st.st_size;
	int rc;
	if (size > S3_SINGLE_MAX) {
		rc = s3_put_multipart(s, name, fd, size, src, err);
	} else {
		uint8_t *p = malloc(size ? size : 1);
		if (!p)
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		else if (read_full(fd, p, size, 0) != 0)
			rc = cf_error_sys(err, CF_EIO, "cannot read '%s'", src);
		else
			rc = s3_put_buf(d, name, p, size, err);
		free(p);
	}
	close(fd);
	return rc;
}

static int s3_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	struct s3_req r = { .method = "GET", .key = name, .max = max };
	int rc = s3_perform(s, &r, err);
	if (rc == 0 && r.status != 200) {
		/* Error bodies are small; re-read the message only if it fitted. */
		rc = s3_status_error(s, &r, name, err);
	}
	if (rc == 0) {
		*ret = r.reply;
		memset(&r.reply, 0, sizeof r.reply);
	}
	s3_req_done(&r);
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
	struct s3_req r = { .method = "GET", .key = name, .range = range,
		.max = len > S3_MAX_REPLY ? len : S3_MAX_REPLY };
	int rc = s3_perform(s, &r, err);
	if (rc == 0 && r.status == 416)
		rc = cf_error_set(err, CF_ECORRUPT, "%s: '%s' is shorter than expected", s->d.url, name);
	else if (rc == 0 && r.status == 200)
		rc = cf_error_set(err, CF_EIO, "%s: the server ignored the byte range for '%s'",
			s->d.url, name);
	else if (rc == 0 && r.status != 206)
		rc = s3_status_error(s, &r, name, err);
	else if (rc == 0 && r.reply.len != len)
		rc = cf_error_set(err, CF_ECORRUPT, "%s: '%s' is shorter than expected", s->d.url, name);
	if (rc == 0)
		memcpy(out, r.reply.p, len);
	s3_req_done(&r);
	return rc;
}

/* HeadObject: size, and the version id ("" when the bucket keeps no versions). */
static int s3_head(struct dst_s3 *s, const char *name, uint64_t *ret_size, char *version,
	size_t vcap, struct cf_error *err)
{
	struct s3_req r = { .method = "HEAD", .key = name, .max = S3_MAX_REPLY };
	int rc = s3_perform(s, &r, err);
	if (rc == 0 && r.status == 404)
		rc = CF_ENOENT;
	else if (rc == 0 && r.status != 200)
		rc = s3_status_error(s, &r, name, err);
	if (rc == 0 && ret_size) {
		curl_off_t cl = -1;
		curl_easy_getinfo(s->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (cl < 0)
			rc = cf_error_set(err, CF_EIO, "%s: no size for '%s'", s->d.url, name);
		else
			*ret_size = (uint64_t)cl;
	}
	if (rc == 0 && version)
		snprintf(version, vcap, "%s", strcmp(r.version, "null") == 0 ? "" : r.version);
	s3_req_done(&r);
	return rc;
}

static int s3_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err)
{
	return s3_head((struct dst_s3 *)d, name, ret_size, NULL, 0, err);
}

static int s3_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	char token[1024] = "";
	size_t pl = strlen(s->prefix);
	char *full = util_path("%s%s", s->prefix, prefix);
	if (!full)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = 0;
	for (int page = 0; rc == 0; page++) {
		/* Parameters in sorted order: SigV4's canonical query wants them so. */
		struct buf q = { 0 };
		char mk[48];
		snprintf(mk, sizeof mk, "list-type=2&max-keys=%d&prefix=", s->max_keys);
		int bad = 0;
		if (token[0])
			bad |= buf_append(&q, "continuation-token=", 19) || url_enc(&q, token, 0) ||
				buf_put_u8(&q, '&');
		bad |= buf_append(&q, mk, strlen(mk)) || url_enc(&q, full, 0) || buf_put_u8(&q, 0);
		if (bad) {
			buf_free(&q);
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			break;
		}
		struct s3_req r = { .method = "GET", .query = (char *)q.p, .max = 16u << 20 };
		rc = s3_perform(s, &r, err);
		buf_free(&q);
		if (rc == 0 && r.status != 200)
			rc = s3_status_error(s, &r, "list", err);
		if (rc) {
			s3_req_done(&r);
			break;
		}
		const char *x = r.reply.p ? (const char *)r.reply.p : "", *xe = x + r.reply.len;
		const char *c;
		while (rc == 0 && (c = memmem(x, (size_t)(xe - x), "<Contents>", 10))) {
			const char *ce = memmem(c, (size_t)(xe - c), "</Contents>", 11);
			if (!ce) {
				rc = cf_error_set(err, CF_EIO, "%s: malformed listing", s->d.url);
				break;
			}
			char key[1100], size[32];
			if (!xml_get(c, ce, "Key", key, sizeof key) ||
			    !xml_get(c, ce, "Size", size, sizeof size)) {
				rc = cf_error_set(err, CF_EIO, "%s: malformed listing entry", s->d.url);
				break;
			}
			if (strncmp(key, s->prefix, pl) == 0) {
				size_t kl = strlen(key);
				int tmp = kl > 4 && strcmp(key + kl - 4, ".tmp") == 0;
				if (!tmp)
					rc = fn(ctx, key + pl, strtoull(size, NULL, 10));
			}
			x = ce + 11;
		}
		char trunc[16] = "";
		xml_get((const char *)(r.reply.p ? r.reply.p : (uint8_t *)""),
			(const char *)(r.reply.p ? r.reply.p : (uint8_t *)"") + r.reply.len,
			"IsTruncated", trunc, sizeof trunc);
		int more = strcmp(trunc, "true") == 0;
		if (rc == 0 && more) {
			token[0] = 0;
			if (!r.reply.p || !xml_get((const char *)r.reply.p,
					(const char *)r.reply.p + r.reply.len, "NextContinuationToken",
					token, sizeof token) || !token[0])
				rc = cf_error_set(err, CF_EIO,
					"%s: truncated listing without a continuation token", s->d.url);
		}
		s3_req_done(&r);
		if (!more)
			break;
	}
	free(full);
	return rc;
}

/* A refused DELETE of a version: say so plainly when Object Lock is the reason. */
static int s3_del_refused(struct dst_s3 *s, struct s3_req *r, const char *name,
	const char *version, struct cf_error *err)
{
	char mode[16], until[64];
	struct cf_error e2 = { 0 };
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (s3_get_retention(s, name, version, mode, sizeof mode, until, sizeof until, &e2) == 0 &&
	    mode[0] && s3_until_covers(until, ts))
		return cf_error_set(err, CF_EIO, "%s: '%s' is protected by Object Lock (%s) until %.19s "
			"UTC: the server refuses to delete it before then", s->d.url, name, mode, until);
	return s3_status_error(s, r, name, err);
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
		if (version[0] && (buf_append(&q, "versionId=", 10) || url_enc(&q, version, 0) ||
				   buf_put_u8(&q, 0))) {
			buf_free(&q);
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		}
		struct s3_req r = { .method = "DELETE", .key = name, .query = (char *)q.p,
			.max = S3_MAX_REPLY };
		rc = s3_perform(s, &r, err);
		if (rc == 0 && r.status == 404)
			rc = round > 0 ? 0 : CF_ENOENT;
		else if (rc == 0 && r.status == 403 && version[0])
			rc = s3_del_refused(s, &r, name, version, err);
		else if (rc == 0 && r.status != 204 && r.status != 200)
			rc = s3_status_error(s, &r, name, err);
		s3_req_done(&r);
		buf_free(&q);
		if (rc || !version[0])
			return rc;
	}
}

static void s3_free(struct dst *d)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	if (s->curl)
		curl_easy_cleanup(s->curl);
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
	c->curl = curl_easy_init();
	if (!c->base || !c->host || !c->bucket || !c->prefix || !c->access || !c->secret ||
	    !c->d.url || !c->curl) {
		s3_free(&c->d);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	*ret = &c->d;
	return 0;
}

const struct dst_ops dst_ops_s3 = {
	.name = "s3",
	.put_file = s3_put_file,
	.put_buf = s3_put_buf,
	.get = s3_get,
	.get_range = s3_get_range,
	.stat = s3_stat,
	.list = s3_list,
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
	if (s3_init_once(err) != 0)
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
		s->retries = opt->retries > 0 ? opt->retries : 5;
		s->base_ms = s3_env_long("COFFRE_RETRY_BASE_MS", 500);
		s->upload_limit = opt->upload_limit;
		s->max_keys = (int)s3_env_long("COFFRE_S3_MAX_KEYS", 1000);
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
	if (!rc && !(s->curl = curl_easy_init()))
		rc = cf_error_set(err, CF_ENOMEM, "cannot create a libcurl handle");
	if (!rc && s->lock_days > 0)
		rc = s3_probe_lock(s, err);
	if (rc) {
		s3_free(&s->d);
		return rc;
	}
	*ret = &s->d;
	return 0;
}
