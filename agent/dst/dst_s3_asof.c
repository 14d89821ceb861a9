/* dst_s3_asof.c: a versioned bucket as it was at a given time, for recovery after an attacker
 * who held the shop's own keys overwrote or deleted objects (a versioned bucket keeps the old
 * versions; a delete only adds a marker). For each key the view holds the newest version
 * whose LastModified is not after the view's time, found with ListObjectVersions; reads then
 * ask for that version by its id (dst_s3.c).
 *
 * Memory: one entry per key (its name, its version id, its size), not per version: entries
 * after the view's time are not kept, and S3 lists the versions of a key together, newest
 * first, so that a later entry of the same key replaces or is dropped at once. A server that
 * lists otherwise costs more memory (bounded by the listing's caps) and gets the same
 * answer: the choice is made again when the view is sealed. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "dst/dst_s3_internal.h"

struct view_entry {
	union {
		size_t off;		/* in names, while adding */
		const char *p;		/* once sealed */
	} name, version;
	uint64_t size;
	int64_t mtime_ms;
	size_t seq;	/* order in the listing: the first of two equal dates is the newer */
	int deleted;
};

struct dst_s3_view {
	atomic_int refs;
	int64_t as_of_ms;
	int sealed;
	struct buf names;	/* "name\0version\0" of each entry */
	struct view_entry *e;
	size_t n, cap, seq;
};

int dst_s3_view_new(int64_t as_of_ms, struct dst_s3_view **ret)
{
	struct dst_s3_view *v = calloc(1, sizeof *v);
	if (!v)
		return CF_ENOMEM;
	atomic_init(&v->refs, 1);
	v->as_of_ms = as_of_ms;
	*ret = v;
	return 0;
}

/* Whether ${b} is newer than ${a}, both of one key: a later date, or the same date listed
 * first. */
static int newer(const struct view_entry *a, const struct view_entry *b)
{
	return b->mtime_ms > a->mtime_ms || (b->mtime_ms == a->mtime_ms && b->seq < a->seq);
}

int dst_s3_view_add(struct dst_s3_view *v, const struct dst_s3_version *e)
{
	size_t seq = v->seq++;
	if (v->sealed || e->mtime_ms > v->as_of_ms)
		return 0;
	struct view_entry ne = { .size = e->deleted ? 0 : e->size, .mtime_ms = e->mtime_ms,
		.seq = seq, .deleted = e->deleted };
	/* The same key as the last entry kept: keep the newer of the two. */
	if (v->n) {
		struct view_entry *last = &v->e[v->n - 1];
		if (strcmp((const char *)v->names.p + last->name.off, e->key) == 0) {
			if (!newer(last, &ne))
				return 0;
			ne.name.off = last->name.off;
			ne.version.off = v->names.len;
			if (buf_append(&v->names, e->version, strlen(e->version) + 1))
				return CF_ENOMEM;
			*last = ne;
			return 0;
		}
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 1024;
		struct view_entry *p = realloc(v->e, cap * sizeof *p);
		if (!p)
			return CF_ENOMEM;
		v->e = p;
		v->cap = cap;
	}
	ne.name.off = v->names.len;
	if (buf_append(&v->names, e->key, strlen(e->key) + 1))
		return CF_ENOMEM;
	ne.version.off = v->names.len;
	if (buf_append(&v->names, e->version, strlen(e->version) + 1))
		return CF_ENOMEM;
	v->e[v->n++] = ne;
	return 0;
}

/* By name, then the newest first. */
static int by_name_newest(const void *pa, const void *pb)
{
	const struct view_entry *a = pa, *b = pb;
	int c = strcmp(a->name.p, b->name.p);
	if (c)
		return c;
	return newer(a, b) ? 1 : newer(b, a) ? -1 : 0;
}

int dst_s3_view_seal(struct dst_s3_view *v)
{
	if (v->sealed)
		return 0;
	const char *base = (const char *)v->names.p;
	for (size_t i = 0; i < v->n; i++) {
		v->e[i].name.p = base + v->e[i].name.off;
		v->e[i].version.p = base + v->e[i].version.off;
	}
	if (v->n > 1)
		qsort(v->e, v->n, sizeof *v->e, by_name_newest);
	/* The first entry of each name is its newest; a delete marker there hides the name. */
	size_t o = 0;
	for (size_t i = 0; i < v->n; i++) {
		if (i > 0 && strcmp(v->e[i].name.p, v->e[i - 1].name.p) == 0)
			continue;
		if (!v->e[i].deleted)
			v->e[o++] = v->e[i];
	}
	v->n = o;
	if (o < v->cap) {
		struct view_entry *p = realloc(v->e, (o ? o : 1) * sizeof *p);
		if (p) {
			v->e = p;
			v->cap = o ? o : 1;
		}
	}
	v->sealed = 1;
	return 0;
}

/* The first entry whose name is not before ${name}. */
static size_t lower_bound(const struct dst_s3_view *v, const char *name)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v->e[mid].name.p, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int dst_s3_view_find(const struct dst_s3_view *v, const char *name, const char **ret_version,
	uint64_t *ret_size)
{
	if (!v->sealed)
		return CF_ENOENT;
	size_t i = lower_bound(v, name);
	if (i >= v->n || strcmp(v->e[i].name.p, name) != 0)
		return CF_ENOENT;
	if (ret_version)
		*ret_version = v->e[i].version.p;
	if (ret_size)
		*ret_size = v->e[i].size;
	return 0;
}

int dst_s3_view_list(const struct dst_s3_view *v, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx)
{
	if (!v->sealed)
		return 0;
	size_t pl = strlen(prefix);
	for (size_t i = lower_bound(v, prefix); i < v->n; i++) {
		if (strncmp(v->e[i].name.p, prefix, pl) != 0)
			break;
		int rc = fn(ctx, v->e[i].name.p, v->e[i].size);
		if (rc)
			return rc;
	}
	return 0;
}

size_t dst_s3_view_count(const struct dst_s3_view *v)
{
	return v->sealed ? v->n : 0;
}

struct dst_s3_view *dst_s3_view_ref(struct dst_s3_view *v)
{
	if (v)
		atomic_fetch_add(&v->refs, 1);
	return v;
}

void dst_s3_view_unref(struct dst_s3_view *v)
{
	if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
		return;
	buf_free(&v->names);
	free(v->e);
	free(v);
}

/* ---- the view of a destination ---- */

struct load_ctx {
	struct dst_s3_view *v;
	const char *prefix;
	size_t pl;
};

static int load_one(void *ctx, const struct dst_s3_version *e)
{
	struct load_ctx *l = ctx;
	if (strncmp(e->key, l->prefix, l->pl) != 0)
		return 0;
	size_t kl = strlen(e->key);
	if (kl > 4 && strcmp(e->key + kl - 4, ".tmp") == 0)
		return 0;
	struct dst_s3_version rel = *e;
	rel.key = e->key + l->pl;
	return dst_s3_view_add(l->v, &rel);
}

int dst_s3_view_load(struct dst_s3 *s, int64_t as_of_ms, struct dst_s3_view **ret,
	struct cf_error *err)
{
	struct dst_s3_view *v;
	if (dst_s3_view_new(as_of_ms, &v))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	struct load_ctx l = { v, s->prefix, strlen(s->prefix) };
	int rc = dst_s3_list_versions(s, load_one, &l, err);
	if (rc == CF_ENOMEM)
		cf_error_set(err, CF_ENOMEM, "out of memory");
	if (rc == 0 && dst_s3_view_seal(v))
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	if (rc) {
		dst_s3_view_unref(v);
		return rc;
	}
	*ret = v;
	return 0;
}
