/* fuzz_s3xml.c: the S3 server's replies (dst_s3_internal.h): a ListObjectsV2 page, a
 * ListParts reply, an error body, the Object Lock configuration, an object's retention
 * (with its date and mode, read as from the reply's XML and as from HEAD's headers) and a
 * ListObjectVersions page (through the parser into an as-of view, as dst_s3_view_load does).
 * The first byte picks the parser (low 3 bits) and, for some, an output capacity or where
 * the callback stops (the other bits); the rest is the reply's body. Output buffers are
 * allocated at their exact capacity, so that ASan reports a write past them. */
#include <string.h>
#include <time.h>

#include "coffre/error.h"
#include "dst/dst_s3_internal.h"
#include "fuzz.h"

#define STOP 77	/* what the callback returns to stop a listing */

struct seen {
	size_t calls, stop_at;
};

static int on_key(void *ctx, const struct dst_entry *e)
{
	struct seen *s = ctx;
	/* dst_s3_parse_list decodes into buffers of 1100 and 128 bytes. */
	FUZZ_CHECK(strlen(e->name) < 1100 && strlen(e->etag) < 128);
	FUZZ_CHECK(e->mtime >= -1);
	return ++s->calls == s->stop_at ? STOP : 0;
}

static int on_part(void *ctx, int part, const char *etag, uint64_t size)
{
	struct seen *s = ctx;
	FUZZ_CHECK(part >= 1 && part <= 10000 && strlen(etag) < 128);
	return ++s->calls == s->stop_at ? STOP : 0;
}

/* A date that reads lies between 1970 and the end of 9999, and its first 19 bytes say it. */
static void check_date(const char *p, size_t len)
{
	int64_t t = -7;
	if (dst_s3_parse_date(p, len, &t) != 0) {
		FUZZ_CHECK(t == -7);
		return;
	}
	FUZZ_CHECK(t >= 0 && t <= 253402300799);
	FUZZ_CHECK(len >= 20 && memchr(p, 'Z', len));
	time_t tt = (time_t)t;
	struct tm tm;
	char back[32];
	FUZZ_CHECK(gmtime_r(&tt, &tm) != NULL);
	strftime(back, sizeof back, "%Y-%m-%dT%H:%M:%S", &tm);
	FUZZ_CHECK(memcmp(back, p, 19) == 0);
}

/* The view's time: 2026-12-01T18:00:00Z. */
#define AS_OF_MS 1796148000000LL

struct vseen {
	struct seen s;
	struct dst_s3_view *v;
	size_t kept;	/* entries not after the view's time, delete markers or not */
};

static int on_version(void *ctx, const struct dst_s3_version *e)
{
	struct vseen *vs = ctx;
	FUZZ_CHECK(strlen(e->key) < S3_KEY_MAX && e->version[0] &&
		   strlen(e->version) < S3_VERSION_MAX);
	FUZZ_CHECK(e->deleted == 0 || e->deleted == 1);
	FUZZ_CHECK(!e->deleted || e->size == 0);
	FUZZ_CHECK(e->mtime_ms >= 0);
	FUZZ_CHECK(dst_s3_view_add(vs->v, e) == 0);
	vs->kept += e->mtime_ms <= AS_OF_MS;
	return ++vs->s.calls == vs->s.stop_at ? STOP : 0;
}

/* The sealed view: names in strict order, each one found again with its version. */
static int on_view_name(void *ctx, const char *name, uint64_t size)
{
	struct vseen *vs = ctx;
	static char last[S3_KEY_MAX];
	if (vs->s.calls++)
		FUZZ_CHECK(strcmp(last, name) < 0);
	FUZZ_CHECK(strlen(name) < sizeof last);
	strcpy(last, name);
	const char *vid = NULL;
	uint64_t n = 1;
	FUZZ_CHECK(dst_s3_view_find(vs->v, name, &vid, &n) == 0 && vid && vid[0] && n == size);
	return 0;
}

static char *exact(size_t cap)
{
	char *p = malloc(cap);
	FUZZ_CHECK(p);
	memset(p, 'Z', cap);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned sel = data[0] & 7, arg = data[0] >> 3;
	/* The body in its own allocation: data + 1 would be followed by nothing either. */
	size_t n = size - 1;
	char *x = malloc(n ? n : 1);
	FUZZ_CHECK(x);
	memcpy(x, data + 1, n);
	struct seen s = { .stop_at = arg ? arg : (size_t)-1 };
	struct cf_error err = { 0 };
	switch (sel) {
	case 0: {
		struct dst_s3_page page;
		memset(&page, 0xa5, sizeof page);
		int rc = dst_s3_parse_list(x, n, "fuzz", on_key, &s, &page, &err);
		FUZZ_CHECK(rc == 0 || rc == CF_EIO || rc == STOP);
		FUZZ_CHECK(rc == STOP ? s.calls == s.stop_at : s.calls < s.stop_at);
		/* A <Contents> element takes 21 bytes at least. */
		FUZZ_CHECK(s.calls <= n / 21);
		if (rc == 0) {
			FUZZ_CHECK(page.truncated == 0 || page.truncated == 1);
			FUZZ_CHECK(memchr(page.token, 0, sizeof page.token) != NULL);
			FUZZ_CHECK(!page.truncated || page.token[0]);
		}
		break;
	}
	case 1: {
		int rc = dst_s3_parse_parts(x, n, on_part, &s);
		FUZZ_CHECK(rc == 0 || rc == STOP);
		FUZZ_CHECK(rc == STOP ? s.calls == s.stop_at : s.calls < s.stop_at);
		FUZZ_CHECK(s.calls <= n / 13);
		break;
	}
	case 2:
	case 4: {
		/* Small capacities too: a value longer than its buffer is refused, not cut. */
		size_t c1 = arg ? arg : 256, c2 = arg ? 33 - arg : 512;
		char *a = exact(c1), *b = exact(c2);
		if (sel == 2) {
			FUZZ_CHECK(dst_s3_parse_error(x, n, a, c1, b, c2) == 0);
		} else {
			FUZZ_CHECK(dst_s3_parse_retention(x, n, a, c1, b, c2) == 0);
			/* Both "" unless both elements are there (either may be empty: callers
			 * want the mode they set and a date that covers theirs). */
			FUZZ_CHECK((!a[0] && !b[0]) || (memmem(x, n, "<Mode>", 6) &&
				   memmem(x, n, "<RetainUntilDate>", 17)));
			/* What dst_s3_lock_get makes of them, and of the same bytes as header
			 * values (x-amz-object-lock-mode, x-amz-object-lock-retain-until-date). */
			check_date(b, strlen(b));
			check_date(x, n);
			int m = dst_s3_parse_mode(a, strlen(a));
			FUZZ_CHECK(m == -1 || m == DST_LOCK_GOVERNANCE || m == DST_LOCK_COMPLIANCE);
			m = dst_s3_parse_mode(x, n);
			FUZZ_CHECK(m == -1 || n == 10);
		}
		FUZZ_CHECK(memchr(a, 0, c1) && memchr(b, 0, c2));
		FUZZ_CHECK(strlen(a) <= n && strlen(b) <= n);
		free(a);
		free(b);
		break;
	}
	case 3: {
		int on = 7;
		FUZZ_CHECK(dst_s3_parse_lock_config(x, n, &on) == 0);
		FUZZ_CHECK(on == 0 || (on == 1 && memmem(x, n, "Enabled", 7)));
		break;
	}
	case 7: {
		struct dst_s3_vpage page;
		memset(&page, 0xa5, sizeof page);
		struct vseen vs = { s, NULL, 0 };
		FUZZ_CHECK(dst_s3_view_new(AS_OF_MS, &vs.v) == 0);
		int rc = dst_s3_parse_versions(x, n, "fuzz", on_version, &vs, &page, &err);
		FUZZ_CHECK(rc == 0 || rc == CF_EIO || rc == STOP);
		FUZZ_CHECK(rc == STOP ? vs.s.calls == vs.s.stop_at : vs.s.calls < vs.s.stop_at);
		/* A <DeleteMarker> with its key, version id and date takes 100 bytes at least,
		 * a <Version> more; and the reply names its root. */
		FUZZ_CHECK(vs.s.calls <= n / 90);
		FUZZ_CHECK(rc != 0 || memmem(x, n, "<ListVersionsResult", 19));
		if (rc == 0) {
			FUZZ_CHECK(page.truncated == 0 || page.truncated == 1);
			FUZZ_CHECK(memchr(page.key_marker, 0, sizeof page.key_marker) != NULL);
			FUZZ_CHECK(memchr(page.version_marker, 0, sizeof page.version_marker) != NULL);
			FUZZ_CHECK(!page.truncated || page.key_marker[0]);
		}
		FUZZ_CHECK(dst_s3_view_seal(vs.v) == 0);
		FUZZ_CHECK(dst_s3_view_count(vs.v) <= vs.kept);
		vs.s.calls = 0;
		FUZZ_CHECK(dst_s3_view_list(vs.v, "", on_view_name, &vs) == 0);
		FUZZ_CHECK(vs.s.calls == dst_s3_view_count(vs.v));
		dst_s3_view_unref(vs.v);
		break;
	}
	default: {
		/* One element, as the parsers above look for theirs: 5 and an even ${arg} Key,
		 * odd Code; 6 and an even ${arg} ETag, odd Size. */
		static const char *const tags[] = { "Key", "Code", "ETag", "Size" };
		size_t cap = arg ? arg : 1100;
		char *v = exact(cap);
		const char *end = dst_s3_xml_get(x, x + n, tags[(sel & 1 ? 0 : 2) + (arg & 1)], v,
			cap);
		if (end) {
			FUZZ_CHECK(end > x && end <= x + n);
			FUZZ_CHECK(memchr(v, 0, cap) && strlen(v) < (size_t)(end - x));
			uint64_t u;
			if (dst_s3_parse_u64(v, &u) == 0)
				FUZZ_CHECK(strlen(v) >= 1 && strlen(v) <= 20);
		}
		free(v);
		break;
	}
	}
	free(x);
	return 0;
}
