/* check.c: structure and data verification. */
#include "coffre/check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/blob.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "coffre/pin.h"
#include "coffre/snap.h"
#include "coffre/tree_walk.h"
#include "base/idset.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"

/* Past this many, affected files are counted, not listed. */
#define MAX_AFFECTED_LINES 10000

/* What the indexes say: blob ${id} is in pack number ${pack} (of the listing), in the frame
 * at ${offset}, at ${pos} in its plaintext. Sorted by id, filled once, then only queried:
 * reading a pack marks the claims its own header confirms (${held}). */
struct claim {
	uint8_t id[32];
	uint32_t pack, offset, pos;
	uint8_t held;
};

struct claims {
	struct claim *v;
	size_t n, cap;
};

static int claims_add(struct claims *s, const uint8_t id[32], size_t pack,
	const struct pack_entry *e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		void *p = realloc(s->v, cap * sizeof *s->v);
		if (!p)
			return CF_ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	struct claim *c = &s->v[s->n++];
	memcpy(c->id, id, 32);
	c->pack = (uint32_t)pack;
	c->offset = e->offset;
	c->pos = e->pos;
	c->held = 0;
	return 0;
}

static int claim_cmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;
	int d = memcmp(x->id, y->id, 32);
	if (d)
		return d;
	return (x->pack > y->pack) - (x->pack < y->pack);
}

/* The first claim on ${id}, or NULL. */
static struct claim *claims_find(const struct claims *s, const uint8_t id[32])
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(s->v[mid].id, id, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && memcmp(s->v[lo].id, id, 32) == 0 ? &s->v[lo] : NULL;
}

struct ck {
	struct repo *r;
	const struct check_opts *o;
	struct check_result res;
	struct claims indexed;	/* blobs some index places in a pack that is present */
	struct idset bad;	/* blobs known damaged or missing */
	struct idset visited;	/* tree blobs already walked */
	struct blob_reader *br;
	const struct snap *s;
	int affected_walk;
	uint8_t *headed;	/* per pack: its header was read, its claims were confirmed */
	pthread_mutex_t mu;	/* the result, the sets and the reports, while packs are read */
	struct read_job *job;
	int oom;		/* a set could not grow: the verdict cannot be trusted */
};

static void report(struct ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct ck *c, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (c->o->report)
		c->o->report(c->o->ctx, line);
}

struct packlist {
	uint8_t (*ids)[32];
	uint64_t *sizes;
	size_t n, cap;
};

static int add_pack(void *ctx, const char *name, uint64_t size)
{
	struct packlist *l = ctx;
	/* "data/xx/<64 hex>", the two-digit folder matching the name */
	if (strlen(name) != 5 + 3 + 64 || strncmp(name + 5, name + 8, 2) != 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *p1 = realloc(l->ids, cap * 32);
		if (!p1)
			return CF_ENOMEM;
		l->ids = p1;
		void *p2 = realloc(l->sizes, cap * 8);
		if (!p2)
			return CF_ENOMEM;
		l->sizes = p2;
		l->cap = cap;
	}
	if (util_unhex(l->ids[l->n], 32, name + 8) == 0)
		l->sizes[l->n++] = size;
	return 0;
}

int check_list_packs(struct repo *r, uint8_t (**ret_ids)[32], uint64_t **ret_sizes, size_t *ret_n,
	struct cf_error *err)
{
	struct packlist l = { 0 };
	int rc = dst_list(r->d, "data/", add_pack, &l, err);
	if (rc) {
		free(l.ids);
		free(l.sizes);
		return rc == CF_ENOMEM ? cf_error_set(err, rc, "out of memory") : rc;
	}
	*ret_ids = l.ids;
	*ret_sizes = l.sizes;
	*ret_n = l.n;
	return 0;
}

static size_t find_pack(uint8_t (*ids)[32], size_t n, const uint8_t *id)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(ids[i], id, 32) == 0)
			return i;
	return (size_t)-1;
}

/* ---- reading every pack (--read-data) ----
 * Each reader streams whole packs through a window of about a megabyte, and opens each frame
 * from the window: memory stays flat whatever the pack size, and the readers share the packs
 * between the cores. Every byte of a pack is then authenticated: the frames (which must tile
 * the pack from its first byte to its header), the sealed header, and the trailer that points
 * at it. No hash of the whole file is needed for that, and the pack's header must list every
 * blob the indexes place in it, at the same place: a pack swapped for another fails there. */

#define READ_WINDOW (1u << 20)
#define MAX_READERS 4

struct pack_stream {
	struct dst *d;
	const char *name;
	uint64_t size, wstart, wend;	/* the window holds the pack's bytes [wstart, wend) */
	struct buf win;
	struct cf_error err;
	int failed;
};

static int stream_fill(struct pack_stream *s, size_t at, size_t n)
{
	s->win.len = at;
	if (buf_reserve(&s->win, n))
		return cf_error_set(&s->err, CF_ENOMEM, "out of memory");
	int rc = dst_get_range(s->d, s->name, s->wend, n, s->win.p + at, &s->err);
	if (rc)
		return rc;
	s->wend += n;
	s->win.len = at + n;
	return 0;
}

/* Makes the pack's bytes [off, off + len) readable at *ret. Returns 1 for a span behind the
 * stream or past the end (then read it apart), CF_E* when reading fails. */
static int stream_span(struct pack_stream *s, uint64_t off, size_t len, const uint8_t **ret)
{
	if (s->failed || off < s->wstart || off > s->size || len > s->size - off ||
	    len > PACK_FRAME_MAX + SEAL_OVERHEAD + 65536)
		return 1;
	if (off + len > s->wend) {
		if (off > s->wend)	/* bytes no frame covers: the tiling check reports them */
			s->wstart = s->wend = off;
		size_t keep = (size_t)(s->wend - off);
		if (keep)
			memmove(s->win.p, s->win.p + (off - s->wstart), keep);
		s->wstart = off;
		uint64_t n = off + len - s->wend;
		if (keep + n < READ_WINDOW)
			n = READ_WINDOW - keep;
		if (n > s->size - s->wend)
			n = s->size - s->wend;
		int rc = stream_fill(s, keep, (size_t)n);
		if (rc) {
			s->failed = rc;
			return rc;
		}
	}
	*ret = s->win.p + (off - s->wstart);
	return 0;
}

struct reader {
	struct ck *c;
	struct dst *d;		/* this reader's connection */
	int own_d;
	pthread_t th;
	struct pack_stream st;
	struct buf out;
	struct pack_frame fc;
};

static void note_bad_blob(struct ck *c, const char *name, const uint8_t id[32], const char *msg)
{
	char hex[65];
	util_hex(hex, id, 32);
	pthread_mutex_lock(&c->mu);
	report(c, "damaged pack data/%s: blob %.16s: %s", name, hex, msg);
	c->oom |= idset_add(&c->bad, id) != 0;
	c->res.damaged_blobs++;
	pthread_mutex_unlock(&c->mu);
}

static void note_bad_pack(struct ck *c, const char *name, const char *msg)
{
	pthread_mutex_lock(&c->mu);
	report(c, "damaged pack data/%s: %s", name, msg);
	pthread_mutex_unlock(&c->mu);
}

/* Marks the claims on pack ${k} that its header confirms. Each claim belongs to one pack, and
 * one reader reads a pack, so no two readers write the same claim. */
static void confirm_claims(struct ck *c, size_t k, const struct pack_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct claim *cl = claims_find(&c->indexed, e[i].id);
		for (; cl && cl < c->indexed.v + c->indexed.n && memcmp(cl->id, e[i].id, 32) == 0;
		     cl++)
			if (cl->pack == k && cl->offset == e[i].offset && cl->pos == e[i].pos)
				cl->held = 1;
	}
}

/* Reads a whole pack: the header opens, the frames tile the pack, every frame opens and
 * every blob matches its id. Returns 0, or -1 when damaged (reported). */
static int read_pack(struct reader *rd, size_t k, const uint8_t id[32], uint64_t size,
	const char *name)
{
	struct ck *c = rd->c;
	char obj[80];
	pack_name(obj, id);
	struct pack_src src = { .fd = -1, .d = rd->d, .name = obj, .size = size };
	struct pack_stream *st = &rd->st;
	st->d = rd->d;
	st->name = obj;
	st->size = size;
	st->wstart = st->wend = 0;
	st->win.len = 0;
	st->failed = 0;
	struct pack_entry *e = NULL;
	size_t n = 0;
	uint64_t bytes = 0, hoff = 0, expect = 0;
	int bad = 0, tiled = 1;
	struct cf_error e2 = { 0 };
	if (pack_read_header_src(c->r, &src, &e, &n, &hoff, &e2) != 0) {
		note_bad_pack(c, name, e2.msg);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *frame;
		struct pack_src fsrc = src;
		if (i == 0 || e[i].offset != e[i - 1].offset) {
			tiled &= e[i].offset == expect;
			expect = (uint64_t)e[i].offset + e[i].stored;
			bytes += e[i].stored;
		}
		if (stream_span(st, e[i].offset, e[i].stored, &frame) == 0)
			fsrc = (struct pack_src){ .fd = -1, .mem = frame, .base = e[i].offset,
				.size = e[i].stored };
		if (pack_read_blob_cached(c->r, &fsrc, id, &e[i], &rd->fc, &rd->out, &e2) != 0) {
			note_bad_blob(c, name, e[i].id, e2.msg);
			bad = 1;
		}
	}
	pack_frame_release(&rd->fc);
	if (!tiled || expect != hoff) {
		note_bad_pack(c, name, "its frames do not cover it from the start to the header");
		bad = 1;
	}
	confirm_claims(c, k, e, n);
	c->headed[k] = 1;
	pthread_mutex_lock(&c->mu);
	c->res.bytes_read += bytes + (size - hoff);
	pthread_mutex_unlock(&c->mu);
	free(e);
	return bad ? -1 : 0;
}

/* Blobs an index places in a pack whose header does not list them there: reading them as the
 * index says would fail. */
static void unconfirmed_claims(struct ck *c, uint8_t (*packs)[32], uint8_t *seen)
{
	for (size_t i = 0; i < c->indexed.n; i++) {
		const struct claim *cl = &c->indexed.v[i];
		if (cl->held || !c->headed[cl->pack])
			continue;
		char hex[65], ph[65];
		util_hex(hex, cl->id, 32);
		util_hex(ph, packs[cl->pack], 32);
		report(c, "damaged pack data/%.2s/%s: blob %.16s: the index places it there, the "
			  "pack does not hold it", ph, ph, hex);
		c->oom |= idset_add(&c->bad, cl->id) != 0;
		c->res.damaged_blobs++;
		if (seen[cl->pack] != 2) {
			c->res.damaged_packs++;
			seen[cl->pack] = 2;
		}
	}
}

struct read_job {
	uint8_t (*packs)[32];
	uint64_t *sizes;
	uint8_t *seen;	/* 1 present, 2 found damaged (counted) */
	size_t npacks, next, done;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct ck *c = rd->c;
	struct read_job *j = c->job;
	pthread_mutex_lock(&c->mu);
	while (j->next < j->npacks) {
		size_t k = j->next++;
		if (c->o->progress)
			c->o->progress(c->o->ctx, "read", j->done, j->npacks);
		pthread_mutex_unlock(&c->mu);
		char ph[65], name[70];
		util_hex(ph, j->packs[k], 32);
		snprintf(name, sizeof name, "%.2s/%s", ph, ph);
		int bad = read_pack(rd, k, j->packs[k], j->sizes[k], name) != 0;
		pthread_mutex_lock(&c->mu);
		if (bad && j->seen[k] != 2) {
			c->res.damaged_packs++;
			j->seen[k] = 2;
		}
		j->done++;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Every byte of every pack, with one reader per core (each with its own connection to a
 * remote repository). */
static void read_all_packs(struct ck *c, uint8_t (*packs)[32], uint64_t *sizes, size_t npacks,
	uint8_t *seen)
{
	struct read_job j = { .packs = packs, .sizes = sizes, .seen = seen, .npacks = npacks };
	struct reader rd[MAX_READERS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus < 1 ? 1 : cpus > MAX_READERS ? MAX_READERS : (size_t)cpus, nrd = 0;
	if (want > npacks)
		want = npacks ? npacks : 1;
	memset(rd, 0, sizeof rd);
	c->job = &j;
	for (size_t t = 0; t < want; t++) {
		rd[t].c = c;
		rd[t].d = c->r->d;
		/* A local folder reads safely from several threads; a connection does not. */
		if (t > 0 && !dst_is_local(c->r->d)) {
			if (dst_clone(c->r->d, &rd[t].d, NULL) != 0)
				break;
			rd[t].own_d = 1;
		}
		if (t > 0 && pthread_create(&rd[t].th, NULL, reader_main, &rd[t]) != 0) {
			if (rd[t].own_d)
				dst_free(rd[t].d);
			break;
		}
		nrd++;
	}
	reader_main(&rd[0]);
	for (size_t t = 0; t < nrd; t++) {
		if (t > 0)
			pthread_join(rd[t].th, NULL);
		if (rd[t].own_d)
			dst_free(rd[t].d);
		buf_free(&rd[t].st.win);
		buf_free(&rd[t].out);
	}
	c->job = NULL;
}

/* ---- walking snapshots ---- */

static int ref_ok(void *ctx, const uint8_t id[32], uint32_t len)
{
	struct ck *c = ctx;
	(void)len;
	if (!claims_find(&c->indexed, id) || idset_has(&c->bad, id))
		return 1;
	return 0;
}

static int load_and_mark(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	struct ck *c = ctx;
	if (idset_has(&c->bad, id))
		return cf_error_set(err, CF_ECORRUPT, "tree blob is damaged");
	int rc = blob_reader_get(c->br, id, ret, err);
	if (rc && rc != CF_ENOMEM && !c->affected_walk) {
		c->oom |= idset_add(&c->bad, id) != 0;
		c->res.damaged_trees++;
	}
	return rc;
}

static int on_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct ck *c = ctx;
	if (e->type == TREE_DIR) {
		if (!c->affected_walk) {
			if (idset_has(&c->visited, e->id))
				return 1;	/* shared subtree, checked already */
			c->oom |= idset_add(&c->visited, e->id) != 0;
		}
		return 0;
	}
	if (e->type != TREE_FILE)
		return 0;
	struct cf_error e2 = { 0 };
	int rc = tree_walk_refs_checked(load_and_mark, c, e, c->r->cp.min, ref_ok, c, &e2);
	if (rc == CF_ENOMEM)
		return rc;
	if (rc) {
		if (c->affected_walk) {
			if (c->res.affected_files < MAX_AFFECTED_LINES)
				report(c, "affected: %.8s %s", c->s->idhex, path);
			c->res.affected_files++;
		} else {
			c->res.missing_blobs++;
		}
	}
	return 0;
}

static void on_problem(void *ctx, const char *path, int code, const char *msg)
{
	struct ck *c = ctx;
	(void)code;
	if (c->affected_walk) {
		if (c->res.affected_files < MAX_AFFECTED_LINES)
			report(c, "affected: %.8s %s%s (%s)", c->s->idhex, path,
				strncmp(msg, "refused", 7) ? "/" : "", msg);
		c->res.affected_files++;
	} else {
		c->res.damaged_trees++;
	}
}

/* Snapshots dated in the future are flagged (an attacker's clock makes them); pins must
 * read (an unreadable one stops every forget) and should name a snapshot. */
static void check_pins_and_dates(struct ck *c, struct repo *r, struct snap **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!list[i]->future)
			continue;
		char t[40];
		snap_time_str(list[i], t);
		report(c, "warning: snapshot %.8s is dated %s, in the future of the clocks: a forged "
			"or wrong clock; it is never 'latest' and counts in no retention rule",
			list[i]->idhex, t);
		c->res.future_snapshots++;
	}
	struct pin *pins = NULL;
	size_t np = 0, bad = 0;
	if (pin_list(r, &pins, &np, &bad, NULL) != 0) {
		report(c, "damaged pins: they cannot be listed");
		c->res.damaged_pins++;
		return;
	}
	c->res.pins = np;
	c->res.damaged_pins += bad;
	if (bad)
		report(c, "damaged pins: %zu cannot be read (forget refuses to run until they are "
			"removed)", bad);
	for (size_t i = 0; i < np; i++) {
		int found = 0;
		for (size_t j = 0; j < n && !found; j++)
			found = memcmp(pins[i].snap, list[j]->id, 32) == 0;
		if (!found) {
			char hex[65];
			util_hex(hex, pins[i].snap, 32);
			report(c, "note: a pin names snapshot %.8s, which is not here", hex);
		}
	}
	free(pins);
}

int check_run(struct repo *r, const struct check_opts *o, struct check_result *ret,
	struct cf_error *err)
{
	struct ck c = { .r = r, .o = o, .mu = PTHREAD_MUTEX_INITIALIZER };
	struct blobidx *x = NULL;
	uint8_t (*idx)[32] = NULL, (*packs)[32] = NULL;
	uint64_t *sizes = NULL;
	size_t nidx = 0, npacks = 0;
	struct snap **list = NULL;
	size_t nsnap = 0, badsnap = 0;
	uint8_t *seen = NULL;
	int rc;
	if ((rc = repo_lock(r, 0, err)))
		return rc;
	if ((rc = check_list_packs(r, &packs, &sizes, &npacks, err)) ||
	    (rc = repo_list(r, REPO_INDEX, &idx, &nidx, err)))
		goto out;
	c.res.packs = npacks;
	c.res.indexes = nidx;
	seen = calloc(npacks ? npacks : 1, 1);
	if (!seen) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	/* 1. Every index opens, and every pack it names is there and long enough. */
	struct idset missing_packs = { 0 };
	int oom = 0;
	for (size_t i = 0; i < nidx; i++) {
		struct blob_pack *bp = NULL;
		size_t nbp = 0;
		struct cf_error e2 = { 0 };
		char ih[65];
		util_hex(ih, idx[i], 32);
		if (blob_index_read(r, idx[i], &bp, &nbp, &e2) != 0) {
			report(&c, "damaged index index/%s: %s", ih, e2.msg);
			c.res.damaged_indexes++;
			continue;
		}
		for (size_t j = 0; j < nbp; j++) {
			char ph[65];
			util_hex(ph, bp[j].id, 32);
			size_t k = find_pack(packs, npacks, bp[j].id);
			uint64_t end = 0;
			for (size_t m = 0; m < bp[j].n; m++) {
				uint64_t e = (uint64_t)bp[j].e[m].offset + bp[j].e[m].stored;
				if (e > end)
					end = e;
			}
			if (k == (size_t)-1) {
				if (!idset_has(&missing_packs, bp[j].id)) {
					report(&c, "damaged pack data/%.2s/%s: missing", ph, ph);
					c.res.missing_packs++;
					c.oom |= idset_add(&missing_packs, bp[j].id) != 0;
				}
				for (size_t m = 0; m < bp[j].n; m++)
					c.oom |= idset_add(&c.bad, bp[j].e[m].id) != 0;
				continue;
			}
			if (sizes[k] < end + 8 && !seen[k]) {
				report(&c, "damaged pack data/%.2s/%s: truncated (%llu bytes, index "
					   "needs more than %llu)", ph, ph,
					(unsigned long long)sizes[k], (unsigned long long)end);
				c.res.damaged_packs++;
				seen[k] = 2;
			}
			if (!seen[k])
				seen[k] = 1;
			for (size_t m = 0; m < bp[j].n; m++) {
				if (claims_add(&c.indexed, bp[j].e[m].id, k, &bp[j].e[m]) != 0)
					oom = 1;
				if (seen[k] == 2 && (uint64_t)bp[j].e[m].offset + bp[j].e[m].stored +
					8 > sizes[k])
					c.oom |= idset_add(&c.bad, bp[j].e[m].id) != 0;
			}
		}
		blob_packs_free(bp, nbp);
	}
	idset_free(&missing_packs);
	if (oom || c.oom) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (c.indexed.n)
		qsort(c.indexed.v, c.indexed.n, sizeof *c.indexed.v, claim_cmp);
	for (size_t k = 0; k < npacks; k++) {
		if (!seen[k]) {
			char ph[65];
			util_hex(ph, packs[k], 32);
			report(&c, "note: pack data/%.2s/%s is in no index (left by an interrupted "
				   "run; 'coffre prune' removes it)", ph, ph);
			c.res.unreferenced_packs++;
		}
	}
	/* 2. With --read-data, every byte of every pack. */
	if (o->read_data) {
		if (!(c.headed = calloc(npacks ? npacks : 1, 1))) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		read_all_packs(&c, packs, sizes, npacks, seen);
		unconfirmed_claims(&c, packs, seen);
	}
	/* 3. Every snapshot opens and every blob its trees name is indexed and sound. */
	if ((rc = blobidx_open(r, &x, err)) || (rc = blob_reader_new(r, x, &c.br, err)))
		goto out;
	if ((rc = snap_list(r, &list, &nsnap, &badsnap, err)))
		goto out;
	c.res.snapshots = nsnap;
	if (badsnap) {
		report(&c, "damaged snapshots: %zu cannot be read", badsnap);
		c.res.damaged_snapshots = badsnap;
	}
	check_pins_and_dates(&c, r, list, nsnap);
	for (size_t i = 0; i < nsnap; i++) {
		c.s = list[i];
		struct tree_walk_ops ops = { .entry = on_entry, .problem = on_problem, .ctx = &c };
		if (idset_has(&c.visited, list[i]->tree))
			continue;
		c.oom |= idset_add(&c.visited, list[i]->tree) != 0;
		struct cf_error e2 = { 0 };
		int r2 = tree_walk(load_and_mark, &c, list[i]->tree, &ops, &e2);
		if (r2 == CF_ENOMEM) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		if (r2) {
			report(&c, "damaged snapshot %.8s: its root tree cannot be read (%s)",
				list[i]->idhex, e2.msg);
			c.res.damaged_trees++;
		}
	}
	if (c.oom) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory: the check is incomplete");
		goto out;
	}
	int damaged = c.res.damaged_packs || c.res.missing_packs || c.res.damaged_indexes ||
		      c.res.damaged_snapshots || c.res.missing_blobs || c.res.damaged_trees ||
		      c.res.damaged_blobs || c.res.damaged_pins;
	/* 4. Name the files that the damage reaches, in every snapshot. */
	if (damaged) {
		c.affected_walk = 1;
		for (size_t i = 0; i < nsnap; i++) {
			c.s = list[i];
			struct tree_walk_ops ops = { .entry = on_entry, .problem = on_problem, .ctx = &c };
			struct cf_error e2 = { 0 };
			if (tree_walk(load_and_mark, &c, list[i]->tree, &ops, &e2) != 0) {
				report(&c, "affected: %.8s / (whole snapshot: %s)", list[i]->idhex,
					e2.msg);
				c.res.affected_files++;
			}
		}
		if (c.res.affected_files > MAX_AFFECTED_LINES)
			report(&c, "affected: ... and %zu more", c.res.affected_files - MAX_AFFECTED_LINES);
		rc = cf_error_set(err, CF_ECORRUPT, "the repository is damaged");
	}
out:
	if (ret)
		*ret = c.res;
	blob_reader_free(c.br);
	blobidx_free(x);
	snap_list_free(list, nsnap);
	free(c.indexed.v);
	free(c.headed);
	idset_free(&c.bad);
	idset_free(&c.visited);
	free(idx);
	free(packs);
	free(sizes);
	free(seen);
	repo_unlock(r);
	return rc;
}
