/* test_s3_asof.c: the view of a versioned bucket as of a date (agent/dst/dst_s3_asof.c): for
 * each key the newest version not after the date; delete markers hide; keys made after the
 * date are absent; of equal dates the one listed first is the newer. Also the ListObjectVersions
 * parser it is fed from (dst_s3_list.c) and the RFC 3339 dates of --as-of (base/util.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "dst/dst_s3_internal.h"
#include "base/util.h"

#define T0 1796148000000LL	/* 2026-12-01T18:00:00Z */

static int64_t at(const char *s)
{
	int64_t ms = 0;
	assert_int_equal(util_parse_time(s, 0, &ms), 0);
	return ms;
}

static void add(struct dst_s3_view *v, const char *key, const char *vid, uint64_t size,
	int64_t ms, int deleted)
{
	struct dst_s3_version e = { key, vid, size, ms, deleted };
	assert_int_equal(dst_s3_view_add(v, &e), 0);
}

/* ${name} is present in ${v} as version ${vid} of ${size} bytes, or absent when vid is NULL. */
static void expect(const struct dst_s3_view *v, const char *name, const char *vid, uint64_t size)
{
	const char *got = NULL;
	uint64_t n = 0;
	int rc = dst_s3_view_find(v, name, &got, &n);
	if (!vid) {
		assert_int_equal(rc, CF_ENOENT);
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(got, vid);
	assert_int_equal(n, size);
}

static void test_newest_not_after(void **state)
{
	(void)state;
	struct dst_s3_view *v;
	assert_int_equal(dst_s3_view_new(T0, &v), 0);
	/* As S3 lists them: by key, the newest version first. */
	add(v, "config", "c3", 30, T0 + 1, 0);		/* the attacker's overwrite */
	add(v, "config", "c2", 20, T0, 0);		/* exactly at the date: kept */
	add(v, "config", "c1", 10, T0 - 86400000, 0);
	add(v, "data/ab/p1", "p2", 9, T0 + 3600000, 0);	/* junk after the date */
	add(v, "data/ab/p1", "p1", 1000, T0 - 1000, 0);
	add(v, "index/i1", "dm", 0, T0 + 5, 1);		/* deleted after the date */
	add(v, "index/i1", "i1", 500, T0 - 5, 0);
	add(v, "snapshots/s0", "dm0", 0, T0 - 10, 1);	/* deleted before the date */
	add(v, "snapshots/s0", "s0", 70, T0 - 20, 0);
	add(v, "snapshots/s1", "s1", 80, T0 - 1, 0);
	add(v, "snapshots/s9", "s9", 90, T0 + 1, 0);	/* made after the date */
	assert_int_equal(dst_s3_view_seal(v), 0);
	expect(v, "config", "c2", 20);
	expect(v, "data/ab/p1", "p1", 1000);
	expect(v, "index/i1", "i1", 500);
	expect(v, "snapshots/s0", NULL, 0);
	expect(v, "snapshots/s1", "s1", 80);
	expect(v, "snapshots/s9", NULL, 0);
	expect(v, "nothing", NULL, 0);
	assert_int_equal(dst_s3_view_count(v), 4);
	dst_s3_view_unref(v);
}

static void test_equal_dates(void **state)
{
	(void)state;
	struct dst_s3_view *v;
	assert_int_equal(dst_s3_view_new(T0, &v), 0);
	/* Two writes within one millisecond: the listing's order says which is newer. */
	add(v, "a", "a2", 2, T0 - 7, 0);
	add(v, "a", "a1", 1, T0 - 7, 0);
	/* A delete marker and a version of the same millisecond: the first listed wins. */
	add(v, "b", "bdm", 0, T0 - 7, 1);
	add(v, "b", "b1", 1, T0 - 7, 0);
	add(v, "c", "c2", 2, T0 - 7, 0);
	add(v, "c", "cdm", 0, T0 - 7, 1);
	assert_int_equal(dst_s3_view_seal(v), 0);
	expect(v, "a", "a2", 2);
	expect(v, "b", NULL, 0);
	expect(v, "c", "c2", 2);
	dst_s3_view_unref(v);
}

/* A server listing versions out of order, keys interleaved: the same choice. */
static void test_any_order(void **state)
{
	(void)state;
	struct dst_s3_view *v;
	assert_int_equal(dst_s3_view_new(T0, &v), 0);
	add(v, "k", "old", 1, T0 - 3000, 0);
	add(v, "j", "j1", 5, T0 - 100, 0);
	add(v, "k", "new", 2, T0 - 1000, 0);
	add(v, "k", "after", 3, T0 + 1000, 0);
	add(v, "j", "jdm", 0, T0 - 50, 1);
	add(v, "k", "older", 4, T0 - 2000, 0);
	assert_int_equal(dst_s3_view_seal(v), 0);
	expect(v, "k", "new", 2);
	expect(v, "j", NULL, 0);
	assert_int_equal(dst_s3_view_count(v), 1);
	dst_s3_view_unref(v);
}

struct names {
	char got[512];
	int stop_after, calls;
};

static int collect(void *ctx, const char *name, uint64_t size)
{
	struct names *n = ctx;
	char one[64];
	snprintf(one, sizeof one, "%s=%llu ", name, (unsigned long long)size);
	strncat(n->got, one, sizeof n->got - strlen(n->got) - 1);
	return ++n->calls == n->stop_after ? 42 : 0;
}

static void test_list_prefix(void **state)
{
	(void)state;
	struct dst_s3_view *v;
	assert_int_equal(dst_s3_view_new(T0, &v), 0);
	add(v, "snapshots/b", "1", 2, T0 - 1, 0);
	add(v, "snapshots/a", "1", 1, T0 - 1, 0);
	add(v, "snapshots/c", "1", 3, T0 - 1, 1);
	add(v, "snapshotsX", "1", 4, T0 - 1, 0);
	add(v, "keys/k", "1", 5, T0 - 1, 0);
	assert_int_equal(dst_s3_view_seal(v), 0);
	struct names n = { "", 0, 0 };
	assert_int_equal(dst_s3_view_list(v, "snapshots/", collect, &n), 0);
	assert_string_equal(n.got, "snapshots/a=1 snapshots/b=2 ");
	struct names all = { "", 0, 0 };
	assert_int_equal(dst_s3_view_list(v, "", collect, &all), 0);
	assert_string_equal(all.got, "keys/k=5 snapshots/a=1 snapshots/b=2 snapshotsX=4 ");
	struct names stop = { "", 2, 0 };
	assert_int_equal(dst_s3_view_list(v, "", collect, &stop), 42);
	assert_int_equal(stop.calls, 2);
	/* Shared by clones: the last holder frees it. */
	struct dst_s3_view *w = dst_s3_view_ref(v);
	dst_s3_view_unref(v);
	expect(w, "keys/k", "1", 5);
	dst_s3_view_unref(w);
}

/* A ListObjectVersions page as radosgw writes it, through the parser into a view. */
static const char page[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListVersionsResult "
	"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix>shop/</Prefix>"
	"<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>"
	"<NextKeyMarker>shop/snapshots/s1</NextKeyMarker>"
	"<NextVersionIdMarker>v.s1</NextVersionIdMarker><MaxKeys>5</MaxKeys>"
	"<IsTruncated>true</IsTruncated>"
	"<DeleteMarker><Key>shop/config</Key><VersionId>dm.1</VersionId><IsLatest>true</IsLatest>"
	"<LastModified>2026-12-01T19:00:00.000Z</LastModified><Owner><ID>o</ID></Owner>"
	"</DeleteMarker>"
	"<Version><Key>shop/config</Key><VersionId>v.c</VersionId><IsLatest>false</IsLatest>"
	"<LastModified>2026-12-01T17:59:59.999Z</LastModified><ETag>&quot;e&quot;</ETag>"
	"<Size>178</Size><StorageClass>STANDARD</StorageClass><Owner><ID>o</ID></Owner></Version>"
	"<Version><Key>shop/data/ab/p&amp;1</Key><VersionId>v.p</VersionId>"
	"<LastModified>2026-12-01T18:00:00.001Z</LastModified><Size>9</Size></Version>"
	"<Version><Key>shop/snapshots/s1</Key><VersionId>null</VersionId>"
	"<LastModified>2026-12-01T19:00:00+01:00</LastModified><Size>80</Size></Version>"
	"</ListVersionsResult>";

static int to_view(void *ctx, const struct dst_s3_version *e)
{
	assert_int_equal(dst_s3_view_add(ctx, e), 0);
	return 0;
}

static void test_parse_versions(void **state)
{
	(void)state;
	struct dst_s3_view *v;
	struct dst_s3_vpage pg;
	struct cf_error err = { 0 };
	assert_int_equal(dst_s3_view_new(at("2026-12-01T18:00:00Z"), &v), 0);
	assert_int_equal(dst_s3_parse_versions(page, strlen(page), "t", to_view, v, &pg, &err), 0);
	assert_int_equal(dst_s3_view_seal(v), 0);
	assert_true(pg.truncated);
	assert_string_equal(pg.key_marker, "shop/snapshots/s1");
	assert_string_equal(pg.version_marker, "v.s1");
	expect(v, "shop/config", "v.c", 178);
	expect(v, "shop/data/ab/p&1", NULL, 0);	/* one millisecond too late */
	expect(v, "shop/snapshots/s1", "null", 80);
	dst_s3_view_unref(v);

	/* Malformed: no date, a date without a zone, a version without a size, an unclosed
	 * element, a plain listing, a truncated page that says not where to go on. */
	static const char *const bad[] = {
		"<ListVersionsResult><Version><Key>k</Key><VersionId>1</VersionId><Size>1</Size>"
		"</Version></ListVersionsResult>",
		"<ListVersionsResult><Version><Key>k</Key><VersionId>1</VersionId><Size>1</Size>"
		"<LastModified>2026-12-01T18:00:00</LastModified></Version></ListVersionsResult>",
		"<ListVersionsResult><Version><Key>k</Key><VersionId>1</VersionId>"
		"<LastModified>2026-12-01T18:00:00Z</LastModified></Version></ListVersionsResult>",
		"<ListVersionsResult><DeleteMarker><Key>k</Key><VersionId>1</VersionId>"
		"<LastModified>2026-12-01T18:00:00Z</LastModified></ListVersionsResult>",
		"<ListBucketResult><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListVersionsResult><IsTruncated>true</IsTruncated></ListVersionsResult>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(dst_s3_view_new(T0, &v), 0);
		assert_int_equal(dst_s3_parse_versions(bad[i], strlen(bad[i]), "t", to_view, v, &pg,
					 &err), CF_EIO);
		dst_s3_view_unref(v);
	}
}

static void test_parse_time(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(at("2026-12-01T18:00:00Z"), T0);
	assert_int_equal(at("2026-12-01T18:00Z"), T0);
	assert_int_equal(at("2026-12-01 19:00+01:00"), T0);
	assert_int_equal(at("2026-12-01t12:30:00.5-05:30"), T0 + 500);
	assert_int_equal(at("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(at("2024-02-29T00:00:00.123456Z"), 1709164800123LL);
	/* Local time when no zone is given, and only then. */
	setenv("TZ", "Europe/Paris", 1);
	assert_int_equal(util_parse_time("2026-12-01T19:00", 1, &ms), 0);
	assert_int_equal(ms, T0);
	assert_int_equal(util_parse_time("2026-07-01T20:00:00", 1, &ms), 0);
	assert_int_equal(ms, at("2026-07-01T18:00:00Z"));
	assert_int_equal(util_parse_time("2026-12-01T19:00", 0, &ms), -1);
	static const char *const bad[] = { "", "2026-12-01", "2026-12-01T18", "2026-13-01T18:00",
		"2026-02-29T18:00Z", "2026-12-01T24:00Z", "2026-12-01T18:60Z", "2026-12-01T18:00:61Z",
		"2026-12-01T18:00:00.Z", "2026-12-01T18:00+1:00", "2026-12-01T18:00Zjunk",
		"1969-12-31T23:59Z", "2026/12/01T18:00Z", "2026-12-01T18:00:00.1234567890Z",
		"20x6-12-01T18:00Z" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(util_parse_time(bad[i], 1, &ms), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newest_not_after),
		cmocka_unit_test(test_equal_dates),
		cmocka_unit_test(test_any_order),
		cmocka_unit_test(test_list_prefix),
		cmocka_unit_test(test_parse_versions),
		cmocka_unit_test(test_parse_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
