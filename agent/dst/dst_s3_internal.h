/* dst_s3_internal.h: what the files of the S3 backend share. dst_s3.c: put/get/stat/delete,
 * opening; dst_s3_http.c: signing, one request with retries, errors, XML helpers;
 * dst_s3_multipart.c: resumable multipart uploads; dst_s3_lock.c: Object Lock;
 * dst_s3_asof.c: the read-only view of the bucket as it was at a given time;
 * dst_s3_list.c: ListObjectsV2, ListObjectVersions and ListParts. Each calls only the files
 * after it in dst_s3.c, dst_s3_multipart.c, dst_s3_asof.c, {dst_s3_list.c, dst_s3_lock.c},
 * dst_s3_http.c.
 *
 * The parsers of server replies (dst_s3_parse_*) take the reply's bytes as they came, need no
 * handle and no network, read nothing past ${len}, and allocate nothing: a fuzzer can call
 * them as they are. */
#ifndef COFFRE_DST_S3_INTERNAL_H
#define COFFRE_DST_S3_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "dst/dst_curl.h"
#include "dst/dst_internal.h"

#define S3_SINGLE_MAX (16u << 20)
#define S3_PART_SIZE (8u << 20)
#define S3_MAX_REPLY (1u << 20)	/* XML replies (lists, errors) */
#define S3_MAX_LIST_REPLY (16u << 20)	/* one page of ListObjectsV2 */
/* A listing follows at most this many pages and entries: a server that keeps answering
 * "truncated" cannot keep a client listing (and its callback collecting) for ever. 10 million
 * objects of a few MiB at least is far past a shop's repository. */
#define S3_LIST_MAX_PAGES 100000
#define S3_LIST_MAX_ENTRIES 10000000ul
#define S3_TOKEN_MAX 1024	/* continuation tokens, with their NUL */
#define S3_KEY_MAX 1100		/* an object's key (S3: 1024 bytes), with its NUL */
#define S3_ETAG_MAX 128		/* an ETag as listed, quotes included */
#define S3_VERSION_MAX 256	/* a version id, with its NUL */

struct dst_s3_view;
struct dst_s3_version;

struct dst_s3 {
	struct dst d;	/* first: dst_s3 is a dst */
	struct dst_curl net;
	char *base;	/* "http[s]://host[:port]/bucket" */
	char *host;	/* for messages */
	char *bucket;
	char *prefix;	/* "" or "some/prefix/" */
	char *access, *secret;
	char sigv4[96];
	int lock_days;
	int64_t lock_period;	/* seconds an upload is retained: lock_days, or the test setting */
	char lock_mode[16];
	int max_keys;
	/* Set for a read-only view as of a date (dst_s3_asof.c): reads go to the versions it
	 * chose; shared by clones, freed with the last of them. */
	struct dst_s3_view *view;
};

/* One HTTP request and its reply. */
struct dst_s3_req {
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
	char lock_mode[16];	/* x-amz-object-lock-mode of the reply, "" if none or too long */
	char lock_until[64];	/* x-amz-object-lock-retain-until-date, likewise */
	int too_big;
	CURL *curl;
	const struct dst_curl *net;	/* its download cap (dst_curl_pace) */
};

/* ---- dst_s3_http.c ---- */

/* dst_s3_perform(s, r, err): runs ${r} with retries on connection errors, timeouts and 5xx.
 * Returns 0 when an HTTP reply came (r->status set, any status), or CF_EUNREACH / CF_EIO /
 * CF_ECORRUPT (reply past r->max) / CF_ENOMEM. dst_s3_req_done() releases the reply. */
int dst_s3_perform(struct dst_s3 *s, struct dst_s3_req *r, struct cf_error *err);
void dst_s3_req_done(struct dst_s3_req *r);
/* dst_s3_status_error(s, r, what, err): the CF code and sentence for a refused request. */
int dst_s3_status_error(struct dst_s3 *s, const struct dst_s3_req *r, const char *what,
	struct cf_error *err);

/* dst_s3_url_enc(b, s, slash): appends ${s} percent-encoded as SigV4 wants (unreserved
 * kept; '/' kept when ${slash}). 0 or -1 (out of memory). */
int dst_s3_url_enc(struct buf *b, const char *s, int slash);
void dst_s3_sha256_hex(char out[65], const void *p, size_t n);
/* dst_s3_read_full(fd, p, n, off): exactly ${n} bytes at ${off}; 0 or -1. */
int dst_s3_read_full(int fd, uint8_t *p, size_t n, uint64_t off);

/* dst_s3_xml_get(p, end, tag, out, cap): the text of the first <tag>...</tag> in [p, end),
 * its five XML entities decoded, in ${out} (capacity ${cap}). Returns a pointer past the
 * closing tag, or NULL when absent, too long, holding a NUL byte or another entity. */
const char *dst_s3_xml_get(const char *p, const char *end, const char *tag, char *out,
	size_t cap);
/* dst_s3_parse_u64(s, ret): a decimal number of 1 to 20 digits that fits; 0 or -1. */
int dst_s3_parse_u64(const char *s, uint64_t *ret);

/* dst_s3_parse_error(x, len, code, ccap, msg, mcap): <Code> and <Message> of an error body,
 * "" where absent. Returns 0. */
int dst_s3_parse_error(const char *x, size_t len, char *code, size_t ccap, char *msg,
	size_t mcap);

/* ---- dst_s3_lock.c ---- */

/* dst_s3_parse_lock_config(x, len, ret_enabled): GetObjectLockConfiguration's reply; only a
 * document whose root element is ObjectLockConfiguration with ObjectLockEnabled = Enabled
 * sets *${ret_enabled} to 1 (Swift's s3api answers with a bucket listing). Returns 0. */
int dst_s3_parse_lock_config(const char *x, size_t len, int *ret_enabled);
/* dst_s3_parse_retention(x, len, mode, mcap, until, ucap): GetObjectRetention's reply; both
 * "" unless both <Mode> and <RetainUntilDate> are there. Returns 0. */
int dst_s3_parse_retention(const char *x, size_t len, char *mode, size_t mcap, char *until,
	size_t ucap);

/* dst_s3_parse_date(x, len, ret): an ISO 8601 UTC date as S3 writes retain-until dates,
 * "YYYY-MM-DDTHH:MM:SS" then an optional fraction of 1 to 9 digits (dropped: the date is read
 * as its second, never later than it is) then "Z", then only spaces or tabs; years 1970 to
 * 9999, every field within its range. Sets *${ret} (seconds since the epoch) and returns 0,
 * or returns -1 leaving it untouched. */
int dst_s3_parse_date(const char *x, size_t len, int64_t *ret);
/* dst_s3_parse_mode(x, len): DST_LOCK_GOVERNANCE or DST_LOCK_COMPLIANCE for exactly those
 * words, else -1. */
int dst_s3_parse_mode(const char *x, size_t len);

int dst_s3_probe_lock(struct dst_s3 *s, struct cf_error *err);
/* dst_s3_lock_get / dst_s3_lock_extend: the dst_ops of the same names (dst.h). */
int dst_s3_lock_get(struct dst *d, const char *name, int64_t *ret_until, int *ret_mode,
	struct cf_error *err);
int dst_s3_lock_extend(struct dst *d, const char *name, int64_t until, int mode_now,
	struct cf_error *err);
/* dst_s3_lock_wanted(s, name): 1 when an upload of ${name} gets a retention. */
int dst_s3_lock_wanted(const struct dst_s3 *s, const char *name);
/* dst_s3_lock_until(s, ts, cap): the retain-until date of an upload that starts now. */
void dst_s3_lock_until(const struct dst_s3 *s, char *ts, size_t cap);
/* dst_s3_checksum_header(out, cap, p, n): "x-amz-checksum-sha256: <base64>" of ${p}. */
void dst_s3_checksum_header(char *out, size_t cap, const void *p, size_t n);
int dst_s3_get_retention(struct dst_s3 *s, const char *name, const char *version, char *mode,
	size_t mcap, char *until, size_t ucap, struct cf_error *err);
/* dst_s3_until_covers(have, want): 1 when the date ${have} is not before ${want}. */
int dst_s3_until_covers(const char *have, const char *want);
int dst_s3_keep_retention(struct dst_s3 *s, const char *name, const char *version,
	const char *until, struct cf_error *err);

/* ---- dst_s3_asof.c ---- */

/* A view: for each key, the newest version whose LastModified is not after the view's time;
 * a key whose newest such entry is a delete marker, or that has none, is absent. Built by
 * adding the entries of a listing in its order, then sealed; sealed, it is only read, and may
 * be shared by threads. */

/* dst_s3_view_new(as_of_ms, ret): an empty view for the time ${as_of_ms}. 0 or CF_ENOMEM. */
int dst_s3_view_new(int64_t as_of_ms, struct dst_s3_view **ret);
/* dst_s3_view_add(v, e): one entry, named by ${e}->key (relative to the prefix), in the
 * order of the listing: of two entries of one key with the same date, the first listed is
 * the newer (S3 lists the newest first). 0 or CF_ENOMEM. */
int dst_s3_view_add(struct dst_s3_view *v, const struct dst_s3_version *e);
/* dst_s3_view_seal(v): chooses, sorts; no more adds. 0 or CF_ENOMEM. */
int dst_s3_view_seal(struct dst_s3_view *v);
/* dst_s3_view_find(v, name, ret_version, ret_size): the version chosen for ${name}
 * (borrowed from ${v}); 0, or CF_ENOENT when absent at the view's time. */
int dst_s3_view_find(const struct dst_s3_view *v, const char *name, const char **ret_version,
	uint64_t *ret_size);
/* dst_s3_view_list(v, prefix, fn, ctx): the present names starting with ${prefix}, in
 * order, with their sizes; ${fn} returning non-zero stops with that value. */
int dst_s3_view_list(const struct dst_s3_view *v, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx);
/* dst_s3_view_count(v): how many names are present. */
size_t dst_s3_view_count(const struct dst_s3_view *v);
/* dst_s3_view_ref(v) / dst_s3_view_unref(v): one more holder / one less (the last frees;
 * NULL does nothing). */
struct dst_s3_view *dst_s3_view_ref(struct dst_s3_view *v);
void dst_s3_view_unref(struct dst_s3_view *v);
/* dst_s3_view_load(s, as_of_ms, ret, err): the view of ${s}'s prefix at ${as_of_ms}, from
 * ListObjectVersions (names without the prefix, temp names left out). Returns 0, CF_EIO
 * (listing malformed, endless, or versions not listed by the server), CF_ENOMEM, or what the
 * request returned. */
int dst_s3_view_load(struct dst_s3 *s, int64_t as_of_ms, struct dst_s3_view **ret,
	struct cf_error *err);

/* ---- dst_s3_multipart.c ---- */

int dst_s3_put_multipart(struct dst_s3 *s, const char *name, int fd, uint64_t size,
	const char *src, struct cf_error *err);

/* ---- dst_s3_list.c ---- */

/* One page of ListObjectsV2, as far as the listing goes on. */
struct dst_s3_page {
	int truncated;			/* <IsTruncated>true</IsTruncated> */
	char token[S3_TOKEN_MAX];	/* <NextContinuationToken>, set when truncated */
};

/* dst_s3_parse_list(x, len, where, fn, ctx, ret, err): calls ${fn} with the key, size,
 * LastModified (-1 when absent or unreadable) and ETag ("" when absent) of each <Contents>
 * in turn; ${fn} returning non-zero stops with that value. Returns 0 (and
 * fills ${ret}), ${fn}'s value, or CF_EIO for a malformed page (${where} names the
 * destination in the message). */
int dst_s3_parse_list(const char *x, size_t len, const char *where,
	int (*fn)(void *ctx, const struct dst_entry *e), void *ctx,
	struct dst_s3_page *ret, struct cf_error *err);
/* dst_s3_parse_parts(x, len, fn, ctx): calls ${fn} with the number, ETag and size of each
 * well-formed <Part> of a ListParts reply (others are skipped: they are sent again). Returns 0
 * or ${fn}'s non-zero value. */
int dst_s3_parse_parts(const char *x, size_t len,
	int (*fn)(void *ctx, int part, const char *etag, uint64_t size), void *ctx);

/* One entry of a ListObjectVersions reply: a <Version> or a <DeleteMarker>. */
struct dst_s3_version {
	const char *key;
	const char *version;	/* <VersionId>: "null" for an object stored before versioning */
	uint64_t size;		/* 0 for a delete marker */
	int64_t mtime_ms;	/* <LastModified>, milliseconds since the epoch */
	int deleted;		/* a delete marker */
};

/* Where a truncated ListObjectVersions goes on. */
struct dst_s3_vpage {
	int truncated;
	char key_marker[S3_KEY_MAX];		/* <NextKeyMarker> */
	char version_marker[S3_VERSION_MAX];	/* <NextVersionIdMarker>, may be "" */
};

/* dst_s3_parse_versions(x, len, where, fn, ctx, ret, err): calls ${fn} with each <Version>
 * and <DeleteMarker> in the order of the reply (for each key, S3 lists the newest first);
 * ${fn} returning non-zero stops with that value. A reply that is no ListVersionsResult, or an
 * entry without a key, a version id or a date in RFC 3339 with a zone (and a size, for a
 * version) makes the page malformed. Returns
 * 0 (and fills ${ret}), ${fn}'s value, or CF_EIO for a malformed page (${where} names the
 * destination in the message). */
int dst_s3_parse_versions(const char *x, size_t len, const char *where,
	int (*fn)(void *ctx, const struct dst_s3_version *v), void *ctx,
	struct dst_s3_vpage *ret, struct cf_error *err);
/* dst_s3_list_versions(s, fn, ctx, err): every version and delete marker under the
 * destination's prefix, page after page (bounded as dst_s3_list is), the key given whole. */
int dst_s3_list_versions(struct dst_s3 *s,
	int (*fn)(void *ctx, const struct dst_s3_version *v), void *ctx, struct cf_error *err);

int dst_s3_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err);
int dst_s3_list_meta(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const struct dst_entry *e), void *ctx, struct cf_error *err);
/* dst_s3_list_parts(s, name, upload_id, fn, ctx, ret_gone, err): the parts the server holds
 * for ${upload_id}, through ${fn} as dst_s3_parse_parts gives them; *${ret_gone} = 1 when
 * the upload is gone or the server cannot list its parts. */
int dst_s3_list_parts(struct dst_s3 *s, const char *name, const char *upload_id,
	int (*fn)(void *ctx, int part, const char *etag, uint64_t size), void *ctx, int *ret_gone,
	struct cf_error *err);

#endif
