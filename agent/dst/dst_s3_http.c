/* dst_s3_http.c: one S3 request through libcurl (SigV4 by CURLOPT_AWS_SIGV4, path-style
 * addressing) with retries, the mapping of refusals to CF codes, and the small helpers the S3
 * files share: URL encoding, SHA-256, XML fields, numbers, reading a file. */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	if (buf_append(&r->reply, p, n))
		return 0;
	dst_curl_pace(r->net, n);
	return n;
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

/* As s3_header_value, but a value that fills ${out} may have been cut: it is dropped. */
static void s3_header_whole(const char *p, size_t n, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(p, name, nl) != 0)
		return;
	s3_header_value(p, n, name, out, cap);
	if (strlen(out) + 1 >= cap)
		out[0] = 0;
}

static size_t s3_header_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct dst_s3_req *r = ud;
	size_t n = size * nmemb;
	s3_header_value(p, n, "etag:", r->etag, sizeof r->etag);
	s3_header_value(p, n, "x-amz-version-id:", r->version, sizeof r->version);
	s3_header_whole(p, n, "x-amz-object-lock-mode:", r->lock_mode, sizeof r->lock_mode);
	s3_header_whole(p, n, "x-amz-object-lock-retain-until-date:", r->lock_until,
		sizeof r->lock_until);
	return n;
}

/* Maps a finished reply to a CF code and sentence. */
int dst_s3_status_error(struct dst_s3 *s, const struct dst_s3_req *r, const char *what,
	struct cf_error *err)
{
	char code[128], msg[256];
	dst_s3_parse_error((const char *)r->reply.p, r->reply.len, code, sizeof code, msg,
		sizeof msg);
	/* The keys are right: the signature carries this computer's clock, and it is wrong. */
	if (r->status == 403 && strcmp(code, "RequestTimeTooSkewed") == 0)
		return cf_error_set(err, CF_EKEY, "%s: the server refuses the request because "
			"this computer's clock is too far from its own (RequestTimeTooSkewed): set "
			"the date and time right", s->d.url);
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

/* Sub-resource PUTs (?retention...) with a body up to this are sent without Expect. */
#define S3_SMALL_SUBPUT (1 << 20)

static int s3_has_header(const struct dst_s3_req *r, const char *name)
{
	for (size_t i = 0; i < sizeof r->headers / sizeof r->headers[0]; i++)
		if (r->headers[i] && strncasecmp(r->headers[i], name, strlen(name)) == 0)
			return 1;
	return 0;
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
	r->lock_mode[0] = 0;
	r->lock_until[0] = 0;
	r->too_big = 0;
	r->status = 0;
	r->curl = c;
	r->net = &s->net;
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
	/* Every request, GETs too: download-limit caps restores and drills. */
	dst_curl_rate_cap(&s->net, c);
	if (strcmp(r->method, "PUT") == 0 && r->query && r->body_len <= S3_SMALL_SUBPUT &&
	    s3_has_header(r, "Content-Type:")) {
		/* curl asks before any upload's body (Expect: 100-continue), and radosgw answers
		 * a sub-resource PUT (?retention) only once curl has waited its second out: each
		 * retention set took a second. Sent as a POST's body with the method PUT, a body
		 * this small goes at once, as curl sends POST bodies up to 1 MiB. (Removing the
		 * header instead would break the signature: curl 7.88 signs the empty header.)
		 * With its own Content-Type, so that curl adds no form type of its own. */
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, dst_curl_read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &t->up);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
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
	curl_off_t body = 0;
	long head = 0;
	curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &body);
	curl_easy_getinfo(c, CURLINFO_HEADER_SIZE, &head);
	dst_note_traffic(&s->d, (uint64_t)(body > 0 ? body : 0) + (uint64_t)(head > 0 ? head : 0));
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
