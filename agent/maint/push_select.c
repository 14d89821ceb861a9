/* push_select.c: which of the spool's packs and index objects a destination needs.
 *
 * The spool's prune repacks the packs its snapshots use only in part. A destination that
 * keeps more generations than the spool still holds the old packs (its older snapshots need
 * them), so the repacked copy would store the same blobs a second time: a drive kept 8
 * weeks grew to 1.75 times what its snapshots reach. So a pack the destination lacks is not
 * sent when every blob of it is there already and at least half of its bytes are in packs
 * the destination keeps whatever happens: those holding a blob that its own snapshots (the
 * ones the spool no longer has) need and no pack of the spool holds. A repacked pack whose
 * blobs sit mostly in packs it could replace is sent: retention there then keeps the
 * spool's compact copy and drops the old ones (a destination that keeps fewer generations
 * than the spool mirrors its packs).
 * An index object of the spool that names a pack not sent is replaced there by an index
 * object of the destination's own, naming only what it holds; one whose every blob is
 * there already is not sent at all.
 *
 * Any failure to read what the destination holds leaves the selection empty: everything is
 * sent, as before (correct, only larger). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/dst.h"
#include "coffre/pack.h"
#include "coffre/snap.h"
#include "maint/mark.h"
#include "base/idset.h"
#include "maint/push_internal.h"
#include "store/repo_internal.h"

/* The packs ${l} lists, by id. */
static int packs_of(const struct objs *l, struct idset *ret, struct cf_error *err)
{
	for (size_t i = 0; i < l->n; i++) {
		uint8_t id[32];
		const char *n = l->v[i].name;
		if (strncmp(n, "data/", 5) != 0 || strlen(n) != 8 + 64 ||
		    util_unhex(id, 32, n + 8) != 0)
			continue;
		if (idset_add(ret, id))
			return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	return 0;
}

/* The destination's packs and their blobs, to walk the trees of its own snapshots. */
struct held {
	struct idset packs;		/* packs there */
	struct idset local;		/* packs the spool has too (read from it) */
	struct idset have;		/* blobs in them */
	struct idset keep;		/* blobs in packs it keeps whatever happens */
	struct blob_pack **bps;		/* index objects read, for the entries */
	size_t *nbps, nidx;
	struct hloc { const uint8_t *id; const uint8_t *pack; const struct pack_entry *e; } *loc;
	size_t nloc;
	struct repo *spool, *there;
};

static int by_hloc(const void *a, const void *b)
{
	return memcmp(((const struct hloc *)a)->id, ((const struct hloc *)b)->id, 32);
}

static int held_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	struct held *H = ctx;
	struct hloc key = { .id = id };
	const struct hloc *l = H->nloc ? bsearch(&key, H->loc, H->nloc, sizeof *H->loc, by_hloc)
				       : NULL;
	if (!l)
		return cf_error_set(err, CF_ENOENT, "blob not at the destination");
	char name[80];
	pack_name(name, l->pack);
	int local = idset_has(&H->local, l->pack);
	struct pack_src src = { .fd = -1, .d = repo_dst(local ? H->spool : H->there),
		.name = name };
	int rc = dst_stat(src.d, name, &src.size, err);
	return rc ? rc : pack_read_blob_src(H->spool, &src, l->e, ret, err);
}

static void held_free(struct held *H)
{
	for (size_t i = 0; i < H->nidx; i++)
		blob_packs_free(H->bps[i], H->nbps[i]);
	free(H->bps);
	free(H->nbps);
	free(H->loc);
	idset_free(&H->packs);
	idset_free(&H->local);
	idset_free(&H->have);
	idset_free(&H->keep);
}

/* Reads what the destination's index objects say of the packs it holds (from the spool when
 * it has the same object: same name, same bytes). */
static int read_held(struct held *H, const struct objs *mine, const struct objs *theirs,
	struct cf_error *err)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < theirs->n; i++) {
		uint8_t id[32];
		if (!push_id_of(theirs->v[i].name, "index/", id))
			continue;
		struct blob_pack *bp = NULL;
		size_t n = 0;
		rc = blob_index_read(push_find(mine, theirs->v[i].name) ? H->spool : H->there, id,
			&bp, &n, err);
		void *a = rc ? NULL : realloc(H->bps, (H->nidx + 1) * sizeof *H->bps);
		void *b = a ? realloc(H->nbps, (H->nidx + 1) * sizeof *H->nbps) : NULL;
		if (a)
			H->bps = a;
		if (b)
			H->nbps = b;
		if (!rc && (!a || !b))
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		if (rc) {
			blob_packs_free(bp, n);
			break;
		}
		H->bps[H->nidx] = bp;
		H->nbps[H->nidx++] = n;
		for (size_t j = 0; j < n; j++) {
			if (!idset_has(&H->packs, bp[j].id))
				continue;
			void *np = realloc(H->loc, (H->nloc + bp[j].n) * sizeof *H->loc);
			if (!np)
				return cf_error_set(err, CF_ENOMEM, "out of memory");
			H->loc = np;
			for (size_t k = 0; k < bp[j].n; k++) {
				H->loc[H->nloc++] = (struct hloc){ bp[j].e[k].id, bp[j].id,
					&bp[j].e[k] };
				if (idset_add(&H->have, bp[j].e[k].id))
					return cf_error_set(err, CF_ENOMEM, "out of memory");
			}
		}
	}
	if (rc == 0 && H->nloc > 1)
		qsort(H->loc, H->nloc, sizeof *H->loc, by_hloc);
	return rc;
}

/* The blobs of the packs the destination keeps whatever happens: without a retention plan,
 * all (nothing is ever removed there); with one, those of each pack that holds a blob the
 * snapshots it keeps and the spool does not have reach, when no pack of the spool holds it. */
static int mandatory(struct held *H, const struct objs *mine, const struct retain *rt,
	struct cf_error *err)
{
	struct idset spool_blobs = { 0 }, mpacks = { 0 };
	struct mark M = { .load = held_load, .lctx = H, .min_chunk = H->spool->cp.min };
	int rc = 0;
	for (size_t i = 0; rt && rc == 0 && i < mine->n; i++) {
		uint8_t id[32];
		struct blob_pack *bp = NULL;
		size_t n = 0;
		if (!push_id_of(mine->v[i].name, "index/", id))
			continue;
		rc = blob_index_read(H->spool, id, &bp, &n, err);
		for (size_t j = 0; rc == 0 && j < n; j++)
			for (size_t k = 0; rc == 0 && k < bp[j].n; k++)
				if (idset_add(&spool_blobs, bp[j].e[k].id))
					rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		blob_packs_free(bp, n);
	}
	for (size_t i = rt ? rt->nspool : 0; rt && rc == 0 && i < rt->n; i++)
		if (rt->on_dst[i] && rt->why[i])
			rc = mark_tree(&M, rt->all[i]->tree, err);
	for (size_t i = 0; rc == 0 && i < H->nloc; i++) {
		const struct hloc *l = &H->loc[i];
		if (!rt || (idset_has(&M.used, l->id) && !idset_has(&spool_blobs, l->id)))
			if (idset_add(&mpacks, l->pack))
				rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	for (size_t i = 0; rc == 0 && i < H->nloc; i++)
		if (idset_has(&mpacks, H->loc[i].pack) && idset_add(&H->keep, H->loc[i].id))
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	mark_free(&M);
	idset_free(&spool_blobs);
	idset_free(&mpacks);
	return rc;
}

static int keep_entries(struct push_sel *s, const uint8_t idx[32], struct blob_pack *bp,
	size_t n, struct cf_error *err)
{
	void *np = realloc(s->own, (s->nown + 1) * sizeof *s->own);
	if (!np)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	s->own = np;
	struct push_own *o = &s->own[s->nown++];
	memcpy(o->idx, idx, 32);
	o->packs = bp;
	o->n = n;
	return 0;
}

/* One index object of the spool that the destination lacks. Each pack it names is there
 * already, or redundant (not there, every blob in packs kept there for good), or to send.
 * Nothing to send and every blob indexed there: the object is not needed. Something
 * redundant: the destination's own version of it, without those packs. Else: as it is. */
static int select_index(struct push_sel *s, const struct held *H, const uint8_t idx[32],
	struct cf_error *err)
{
	struct blob_pack *bp = NULL;
	size_t n = 0, nsend = 0, redundant = 0;
	int rc = blob_index_read(H->spool, idx, &bp, &n, err);
	if (rc)
		return rc;
	uint8_t *send = calloc(n + 1, 1);
	if (!send) {
		blob_packs_free(bp, n);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	int indexed = 1;
	for (size_t i = 0; i < n; i++) {
		int there = 1;
		uint64_t all = 0, kept = 0;
		for (size_t j = 0; j < bp[i].n; j++) {
			int has = idset_has(&H->have, bp[i].e[j].id);
			there &= has;
			all += bp[i].e[j].stored;
			kept += idset_has(&H->keep, bp[i].e[j].id) ? bp[i].e[j].stored : 0;
		}
		indexed &= there;
		if (idset_has(&H->packs, bp[i].id))
			continue;
		/* Mostly a copy of what stays there anyway: not worth its room. */
		int dup = there && kept * 2 >= all;
		send[i] = !dup;
		nsend += send[i];
		redundant += dup;
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (send[i] && idset_add(&s->send, bp[i].id))
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	if (rc == 0 && !nsend && indexed) {
		rc = idset_add(&s->skip_index, idx) ? cf_error_set(err, CF_ENOMEM,
			"out of memory") : 0;
	} else if (rc == 0 && redundant) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (send[i] || idset_has(&H->packs, bp[i].id)) {
				struct blob_pack t = bp[i];
				bp[i] = bp[m];
				bp[m++] = t;
			}
		}
		rc = keep_entries(s, idx, bp, n, err);
		if (rc == 0) {
			s->own[s->nown - 1].n = m;
			s->own[s->nown - 1].nall = n;
			bp = NULL;
		}
	}
	free(send);
	blob_packs_free(bp, n);
	return rc;
}

int push_select(struct repo *spool, struct repo *there, const struct objs *mine,
	const struct objs *theirs, const struct retain *rt, struct push_sel *ret,
	struct cf_error *err)
{
	struct held H = { .spool = spool, .there = there };
	struct objs spool_packs = { .v = mine->v, .n = mine->n };
	memset(ret, 0, sizeof *ret);
	int rc = packs_of(theirs, &H.packs, err);
	if (rc == 0)
		rc = packs_of(&spool_packs, &H.local, err);
	if (rc == 0)
		rc = read_held(&H, mine, theirs, err);
	if (rc == 0)
		rc = mandatory(&H, mine, rt, err);
	for (size_t i = 0; rc == 0 && i < mine->n; i++) {
		uint8_t id[32];
		if (push_id_of(mine->v[i].name, "index/", id) && !push_find(theirs, mine->v[i].name))
			rc = select_index(ret, &H, id, err);
	}
	/* A pack the spool's index objects there name (an earlier push stopped between the two)
	 * is sent whatever its blobs. */
	for (size_t i = 0; rc == 0 && i < theirs->n; i++) {
		uint8_t id[32];
		struct blob_pack *bp = NULL;
		size_t n = 0;
		if (!push_id_of(theirs->v[i].name, "index/", id) || !push_find(mine, theirs->v[i].name))
			continue;
		rc = blob_index_read(spool, id, &bp, &n, err);
		for (size_t j = 0; rc == 0 && j < n; j++)
			if (!idset_has(&H.packs, bp[j].id) && idset_add(&ret->send, bp[j].id))
				rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		blob_packs_free(bp, n);
	}
	held_free(&H);
	if (rc)
		push_sel_free(ret);
	else
		ret->active = 1;
	return rc;
}

int push_sel_wants(const struct push_sel *s, const char *name)
{
	uint8_t id[32];
	if (!s->active)
		return 1;
	if (strncmp(name, "data/", 5) == 0 && strlen(name) == 8 + 64 &&
	    util_unhex(id, 32, name + 8) == 0)
		return idset_has(&s->send, id);
	if (push_id_of(name, "index/", id))
		return !idset_has(&s->skip_index, id) && !push_sel_own(s, name);
	return 1;
}

const struct push_own *push_sel_own(const struct push_sel *s, const char *name)
{
	uint8_t id[32];
	if (!s->active || !push_id_of(name, "index/", id))
		return NULL;
	for (size_t i = 0; i < s->nown; i++)
		if (memcmp(s->own[i].idx, id, 32) == 0)
			return &s->own[i];
	return NULL;
}

void push_sel_free(struct push_sel *s)
{
	for (size_t i = 0; i < s->nown; i++)
		blob_packs_free(s->own[i].packs, s->own[i].nall);
	free(s->own);
	idset_free(&s->send);
	idset_free(&s->skip_index);
	memset(s, 0, sizeof *s);
}
