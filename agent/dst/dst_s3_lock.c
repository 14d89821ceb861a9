/* dst_s3_lock.c: S3 Object Lock: the probe of the bucket's configuration at open, the
 * retention headers of uploads, and reading and setting an object's retention. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coffre/error.h"
#include "dst/dst_s3_internal.h"

int dst_s3_parse_lock_config(const char *x, size_t len, int *ret_enabled)
{
	*ret_enabled = 0;
	if (!x)
		return 0;
	const char *xe = x + len, *q = x;
	/* Skip the XML declaration and whitespace; the first element must be ours. */
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
	    dst_s3_xml_get(q, xe, "ObjectLockEnabled", en, sizeof en) && strcmp(en, "Enabled") == 0)
		*ret_enabled = 1;
	return 0;
}

int dst_s3_parse_retention(const char *x, size_t len, char *mode, size_t mcap, char *until,
	size_t ucap)
{
	mode[0] = until[0] = 0;
	if (!x)
		return 0;
	if (!dst_s3_xml_get(x, x + len, "Mode", mode, mcap) ||
	    !dst_s3_xml_get(x, x + len, "RetainUntilDate", until, ucap))
		mode[0] = until[0] = 0;
	return 0;
}

/* Days from 1970-01-01 to the date (proleptic Gregorian; Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* ${n} decimal digits at ${p}; -1 if any is not one. */
static int digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int dst_s3_parse_date(const char *x, size_t len, int64_t *ret)
{
	/* YYYY-MM-DDTHH:MM:SS */
	if (!x || len < 20 || x[4] != '-' || x[7] != '-' || x[10] != 'T' || x[13] != ':' ||
	    x[16] != ':')
		return -1;
	int y = digits(x, 4), mo = digits(x + 5, 2), d = digits(x + 8, 2), h = digits(x + 11, 2),
	    mi = digits(x + 14, 2), se = digits(x + 17, 2);
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || se < 0 || se > 59)
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return -1;
	size_t i = 19;
	if (x[i] == '.') {
		size_t f = ++i;
		while (i < len && i - f < 10 && x[i] >= '0' && x[i] <= '9')
			i++;
		if (i == f || i - f > 9)
			return -1;
	}
	if (i >= len || x[i++] != 'Z')
		return -1;
	while (i < len && (x[i] == ' ' || x[i] == '\t'))
		i++;
	if (i != len)
		return -1;
	*ret = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

int dst_s3_parse_mode(const char *x, size_t len)
{
	if (len == 10 && memcmp(x, "GOVERNANCE", 10) == 0)
		return DST_LOCK_GOVERNANCE;
	if (len == 10 && memcmp(x, "COMPLIANCE", 10) == 0)
		return DST_LOCK_COMPLIANCE;
	return -1;
}

/* "x-amz-checksum-sha256: <base64>" of ${n} bytes at ${p}: S3 refuses a PUT that carries lock
 * headers without Content-MD5 or an x-amz-checksum-* header, and so an upload part. */
void dst_s3_checksum_header(char *out, size_t cap, const void *p, size_t n)
{
	uint8_t h[32];
	crypto_hash_sha256(h, p, n);
	char b64[64];
	sodium_bin2base64(b64, sizeof b64, h, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, cap, "x-amz-checksum-sha256: %s", b64);
}

/* The retain-until date of an upload that starts now, as S3 writes it. */
static void s3_date(int64_t when, char *ts, size_t cap)
{
	time_t t = (time_t)when;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void dst_s3_lock_until(const struct dst_s3 *s, char *ts, size_t cap)
{
	time_t t = time(NULL) + (time_t)s->lock_period;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Repository locks (locks/) are rewritten every few minutes and deleted when released: a
 * retention on them would only keep a released lock from being deleted. */
int dst_s3_lock_wanted(const struct dst_s3 *s, const char *name)
{
	return s->d.object_lock && strncmp(name, "locks/", 6) != 0;
}

/* Query "retention=[&versionId=V]" (parameters sorted for SigV4). */
static int s3_retention_query(struct buf *q, const char *version)
{
	if (buf_append(q, "retention=", 10))
		return -1;
	if (version && *version &&
	    (buf_append(q, "&versionId=", 11) || dst_s3_url_enc(q, version, 0)))
		return -1;
	return buf_put_u8(q, 0);
}

/* GetObjectRetention of ${name} (the version ${version} if not ""). ${mode} and ${until}
 * are left "" when the object has no retention. */
int dst_s3_get_retention(struct dst_s3 *s, const char *name, const char *version,
	char *mode, size_t mcap, char *until, size_t ucap, struct cf_error *err)
{
	mode[0] = until[0] = 0;
	struct buf q = { 0 };
	if (s3_retention_query(&q, version)) {
		buf_free(&q);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	struct dst_s3_req r = { .method = "GET", .key = name, .query = (char *)q.p,
		.max = S3_MAX_REPLY };
	int rc = dst_s3_perform(s, &r, err);
	buf_free(&q);
	if (rc == 0 && r.status == 200) {
		dst_s3_parse_retention((const char *)r.reply.p, r.reply.len, mode, mcap, until, ucap);
	} else if (rc == 0 && r.status != 404 && r.status != 400) {
		/* 404 NoSuchObjectLockConfiguration (or 400 on some servers): no retention. */
		rc = dst_s3_status_error(s, &r, name, err);
	}
	dst_s3_req_done(&r);
	return rc;
}

/* Dates compare as text down to the second ("2026-12-01T08:33:57" + fraction + "Z"). */
int dst_s3_until_covers(const char *have, const char *want)
{
	return strlen(have) >= 19 && strlen(want) >= 19 && strncmp(have, want, 19) >= 0;
}

/* PutObjectRetention of ${name} (the version ${version} if not ""): ${mode} until ${until}.
 * Never with x-amz-bypass-governance-retention: a date before the present one is refused. */
static int s3_put_retention(struct dst_s3 *s, const char *name, const char *version,
	const char *mode, const char *until, struct cf_error *err)
{
	int rc;
	char body[256], cks[96];
	int n = snprintf(body, sizeof body,
		"<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>%s</Mode>"
		"<RetainUntilDate>%s</RetainUntilDate></Retention>", mode, until);
	dst_s3_checksum_header(cks, sizeof cks, body, (size_t)n);
	struct buf q = { 0 };
	if (s3_retention_query(&q, version)) {
		buf_free(&q);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	struct dst_s3_req r = { .method = "PUT", .key = name, .query = (char *)q.p, .body = body,
		.body_len = (size_t)n, .max = S3_MAX_REPLY,
		.headers = { cks, "Content-Type: application/xml" } };
	rc = dst_s3_perform(s, &r, err);
	if (rc == 0 && r.status != 200)
		rc = dst_s3_status_error(s, &r, name, err);
	buf_free(&q);
	dst_s3_req_done(&r);
	return rc;
}

/* Makes sure ${name} (version ${version}) is retained until ${until}: some servers (Ceph
 * radosgw 16) store a multipart upload without the retention its CreateMultipartUpload asked
 * for. Sets it with PutObjectRetention when missing. Only called once the probe has found a
 * real Object Lock configuration (Swift's s3api would take that PUT as an overwrite). */
int dst_s3_keep_retention(struct dst_s3 *s, const char *name, const char *version,
	const char *until, struct cf_error *err)
{
	char have_mode[16], have_until[64];
	int rc = dst_s3_get_retention(s, name, version, have_mode, sizeof have_mode, have_until,
		sizeof have_until, err);
	if (rc || (strcmp(have_mode, s->lock_mode) == 0 && dst_s3_until_covers(have_until, until)))
		return rc;
	rc = s3_put_retention(s, name, version, s->lock_mode, until, err);
	if (rc == 0) {
		rc = dst_s3_get_retention(s, name, version, have_mode, sizeof have_mode, have_until,
			sizeof have_until, err);
		if (rc == 0 && !(strcmp(have_mode, s->lock_mode) == 0 &&
				 dst_s3_until_covers(have_until, until)))
			rc = cf_error_set(err, CF_EIO, "%s: the server did not keep the Object Lock "
				"retention of '%s'", s->d.url, name);
	}
	return rc;
}

/* GetObjectLockConfiguration: Object Lock counts only when the bucket says it is enabled. */
int dst_s3_probe_lock(struct dst_s3 *s, struct cf_error *err)
{
	struct dst_s3_req r = { .method = "GET", .query = "object-lock=", .max = S3_MAX_REPLY };
	int rc = dst_s3_perform(s, &r, err);
	if (rc) {
		dst_s3_req_done(&r);
		return rc;
	}
	int ok = 0;
	if (r.status == 200)
		dst_s3_parse_lock_config((const char *)r.reply.p, r.reply.len, &ok);
	else if (r.status == 403)
		rc = dst_s3_status_error(s, &r, "?object-lock", err);
	dst_s3_req_done(&r);
	if (rc)
		return rc;
	s->d.object_lock = ok;
	s->d.lock_mode = strcmp(s->lock_mode, "COMPLIANCE") == 0 ? DST_LOCK_COMPLIANCE :
								    DST_LOCK_GOVERNANCE;
	s->d.lock_period = s->lock_period;
	s->d.lock_note = ok ? "object lock verified: uploads are retained by the server"
			    : "object lock NOT supported by this server: backups can be deleted "
			      "with the shop's credentials";
	return 0;
}

int dst_s3_lock_get(struct dst *d, const char *name, int64_t *ret_until, int *ret_mode,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	struct dst_s3_req r = { .method = "HEAD", .key = name, .max = S3_MAX_REPLY };
	int rc = dst_s3_perform(s, &r, err);
	if (rc == 0 && r.status == 404)
		rc = CF_ENOENT;
	else if (rc == 0 && r.status != 200)
		rc = dst_s3_status_error(s, &r, name, err);
	char mode[16], until[64];
	snprintf(mode, sizeof mode, "%s", r.lock_mode);
	snprintf(until, sizeof until, "%s", r.lock_until);
	dst_s3_req_done(&r);
	/* A HEAD shows the lock only to keys that may read it (s3:GetObjectRetention): ask. */
	if (rc == 0 && !mode[0] && !until[0])
		rc = dst_s3_get_retention(s, name, "", mode, sizeof mode, until, sizeof until, err);
	if (rc)
		return rc;
	*ret_until = 0;
	*ret_mode = DST_LOCK_NONE;
	if (!mode[0] && !until[0])
		return 0;
	int m = dst_s3_parse_mode(mode, strlen(mode));
	if (m < 0 || dst_s3_parse_date(until, strlen(until), ret_until) != 0) {
		*ret_until = 0;
		return cf_error_set(err, CF_ECORRUPT, "%s: unreadable Object Lock retention of '%s'",
			s->d.url, name);
	}
	*ret_mode = m;
	return 0;
}

int dst_s3_lock_extend(struct dst *d, const char *name, int64_t until, int mode_now,
	struct cf_error *err)
{
	struct dst_s3 *s = (struct dst_s3 *)d;
	char ts[32];
	s3_date(until, ts, sizeof ts);
	/* COMPLIANCE cannot become GOVERNANCE: keep the stronger of the two. */
	const char *mode = mode_now == DST_LOCK_COMPLIANCE ? "COMPLIANCE" : s->lock_mode;
	return s3_put_retention(s, name, "", mode, ts, err);
}
