/* push_apply.c: carrying a destination's retention plan out (push_retain.c makes it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/blob.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/forget.h"
#include "coffre/pack.h"
#include "coffre/pin.h"
#include "coffre/push.h"
#include "coffre/snap.h"
#include "base/idset.h"
#include "maint/mark.h"
#include "maint/push_internal.h"
#include "store/repo_internal.h"

/* A pack the destination or an index object knows. */
struct pk {
	uint8_t id[32];
	uint64_t size;			/* on the destination */
	uint8_t on_dst, local;		/* present there; present in the spool */
	uint8_t covered;		/* named by a spool index object present there */
	uint8_t keep, extra;		/* stays; needed by the destination's own snapshots only */
	uint8_t in_f;			/* named by an index object the spool does not have */
	const struct blob_pack *entries;	/* as an index object lists it (NULL: none) */
};

/* Where a blob is: an entry of a pack of ${pk}. */
struct loc {
	const struct pack_entry *e;
	size_t pack;
};

struct ap {
	struct repo *spool, *there;
	struct push_names *refused;
	int denied;			/* the keys may not delete there: no more attempts */
	struct pk *pk;
	size_t npk, cappk;
	struct loc *loc;
	size_t nloc, caploc;
	struct blob_pack **bps;	/* every index object read, kept for the entries */
	size_t *nbps, nidx;
	uint8_t (*bpid)[32];	/* the id of each */
	uint8_t *isf;		/* it is the destination's own (the spool has no such object) */
	struct idset si;	/* the spool's index objects */
};

static int by_pk(const void *a, const void *b)
{
	return memcmp(((const struct pk *)a)->id, ((const struct pk *)b)->id, 32);
}

static struct pk *pk_find(struct ap *A, const uint8_t id[32])
{
	struct pk key;
	memcpy(key.id, id, 32);
	return A->npk ? bsearch(&key, A->pk, A->npk, sizeof *A->pk, by_pk) : NULL;
}

/* Adds a pack (unsorted: pk_sort merges the duplicates). */
static struct pk *pk_add(struct ap *A, const uint8_t id[32])
{
	if (A->npk == A->cappk) {
		size_t cap = A->cappk ? 2 * A->cappk : 256;
		void *np = realloc(A->pk, cap * sizeof *A->pk);
		if (!np)
			return NULL;
		A->pk = np;
		A->cappk = cap;
	}
	struct pk *p = &A->pk[A->npk++];
	memset(p, 0, sizeof *p);
	memcpy(p->id, id, 32);
	return p;
}

/* Merges duplicates of the unsorted pack list, keeping every flag. */
static void pk_sort(struct ap *A)
{
	if (A->npk > 1)
		qsort(A->pk, A->npk, sizeof *A->pk, by_pk);
	size_t m = 0;
	for (size_t i = 0; i < A->npk; i++) {
		if (m && memcmp(A->pk[m - 1].id, A->pk[i].id, 32) == 0) {
			struct pk *d = &A->pk[m - 1], *s = &A->pk[i];
			d->on_dst |= s->on_dst;
			d->local |= s->local;
			d->covered |= s->covered;
			d->in_f |= s->in_f;
			if (s->on_dst)
				d->size = s->size;
			if (!d->entries)
				d->entries = s->entries;
			continue;
		}
		A->pk[m++] = A->pk[i];
	}
	A->npk = m;
}

static int collect_packs(void *ctx, const char *name, uint64_t size, int on_dst)
{
	struct ap *A = ctx;
	uint8_t id[32];
	if (strncmp(name, "data/", 5) != 0 || strlen(name) != 5 + 3 + 64 ||
	    util_unhex(id, 32, name + 8) != 0)
		return 0;
	struct pk *p = pk_add(A, id);
	if (!p)
		return CF_ENOMEM;
	p->on_dst = (uint8_t)on_dst;
	p->local = (uint8_t)!on_dst;
	p->size = on_dst ? size : 0;
	return 0;
}

static int dst_pack(void *ctx, const char *name, uint64_t size)
{
	return collect_packs(ctx, name, size, 1);
}

static int spool_pack(void *ctx, const char *name, uint64_t size)
{
	return collect_packs(ctx, name, size, 0);
}

/* Reads index object ${id} (from the spool when it is one of the spool's, else from the
 * destination) and notes its packs; ${covers}: it is on the destination and the spool's. */
static int read_index(struct ap *A, const uint8_t id[32], int from_spool, int covers,
	struct cf_error *err)
{
	struct blob_pack *bp = NULL;
	size_t n = 0;
	int rc = blob_index_read(from_spool ? A->spool : A->there, id, &bp, &n, err);
	if (rc)
		return rc;
	void *a = realloc(A->bps, (A->nidx + 1) * sizeof *A->bps);
	void *b = a ? realloc(A->nbps, (A->nidx + 1) * sizeof *A->nbps) : NULL;
	void *c = b ? realloc(A->bpid, (A->nidx + 1) * sizeof *A->bpid) : NULL;
	void *f = c ? realloc(A->isf, A->nidx + 1) : NULL;
	if (a)
		A->bps = a;
	if (b)
		A->nbps = b;
	if (c)
		A->bpid = c;
	if (f)
		A->isf = f;
	if (!a || !b || !c || !f) {
		blob_packs_free(bp, n);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	A->bps[A->nidx] = bp;
	memcpy(A->bpid[A->nidx], id, 32);
	A->isf[A->nidx] = (uint8_t)!from_spool;
	A->nbps[A->nidx++] = n;
	for (size_t i = 0; i < n; i++) {
		struct pk *p = pk_add(A, bp[i].id);
		if (!p)
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		p->covered = (uint8_t)covers;
		p->in_f = (uint8_t)!from_spool;
		p->entries = &bp[i];
	}
	return 0;
}

static int by_blob(const void *a, const void *b)
{
	return memcmp(((const struct loc *)a)->e->id, ((const struct loc *)b)->e->id, 32);
}

/* Every blob of every pack an index object names, sorted by blob id. */
static int build_locs(struct ap *A, struct cf_error *err)
{
	for (size_t i = 0; i < A->npk; i++) {
		const struct blob_pack *bp = A->pk[i].entries;
		for (size_t j = 0; bp && j < bp->n; j++) {
			if (A->nloc == A->caploc) {
				size_t cap = A->caploc ? 2 * A->caploc : 4096;
				void *np = realloc(A->loc, cap * sizeof *A->loc);
				if (!np)
					return cf_error_set(err, CF_ENOMEM, "out of memory");
				A->loc = np;
				A->caploc = cap;
			}
			A->loc[A->nloc++] = (struct loc){ &bp->e[j], i };
		}
	}
	if (A->nloc > 1)
		qsort(A->loc, A->nloc, sizeof *A->loc, by_blob);
	return 0;
}

/* The best place of blob ${id}: a pack the destination holds under the spool's index first,
 * then one the spool holds too (compact: repacked by the spool's prune), then any it holds;
 * NULL when it holds none. */
static const struct loc *best_loc(struct ap *A, const uint8_t id[32])
{
	struct pack_entry ke;
	memcpy(ke.id, id, 32);
	struct loc key = { &ke, 0 };
	const struct loc *l = A->nloc ? bsearch(&key, A->loc, A->nloc, sizeof *A->loc, by_blob)
				      : NULL;
	if (!l)
		return NULL;
	while (l > A->loc && memcmp(l[-1].e->id, id, 32) == 0)
		l--;
	const struct loc *best = NULL;
	for (; l < A->loc + A->nloc && memcmp(l->e->id, id, 32) == 0; l++) {
		const struct pk *p = &A->pk[l->pack];
		if (!p->on_dst)
			continue;
		if (p->covered)
			return l;
		if (!best || (p->local && !A->pk[best->pack].local))
			best = l;
	}
	return best;
}

static int ap_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	struct ap *A = ctx;
	const struct loc *l = best_loc(A, id);
	if (!l)
		return cf_error_set(err, CF_ENOENT, "no pack of %s holds a blob its snapshots need",
			dst_url(repo_dst(A->there)));
	const struct pk *p = &A->pk[l->pack];
	char name[80];
	pack_name(name, p->id);
	/* The spool's copy when it has one: same name, same bytes, no download. */
	struct pack_src src = { .fd = -1, .d = p->local ? repo_dst(A->spool) : repo_dst(A->there),
		.name = name, .size = p->size };
	if (p->local && dst_stat(src.d, name, &src.size, NULL) != 0)
		src.d = repo_dst(A->there);
	return pack_read_blob_src(A->spool, &src, l->e, ret, err);
}

/* Notes ${name} as left there (never extended again: it is not needed). */
static void note_refused(struct ap *A, const char *name)
{
	struct push_names *l = A->refused;
	char *copy = l ? strdup(name) : NULL;
	void *np = copy ? realloc(l->v, (l->n + 1) * sizeof *l->v) : NULL;
	if (np) {
		l->v = np;
		l->v[l->n++] = copy;
	} else {
		free(copy);	/* then it is extended again: kept longer, never lost */
	}
}

/* Deletes ${name}; a refusal by Object Lock is counted, not fatal: a later push retries.
 * So is a refusal of the keys themselves: after the first, this push tries no more (each
 * would be refused the same way), and a later push tries again. */
static int del_obj(struct ap *A, const char *name, struct push_stats *st, struct cf_error *err)
{
	struct cf_error e2 = { 0 };
	int rc = A->denied ? CF_EDENIED : dst_delete(repo_dst(A->there), name, &e2);
	if (rc == 0 || rc == CF_ENOENT)
		return 0;
	if (rc == CF_EPROTECTED || rc == CF_EDENIED) {
		if (rc == CF_EPROTECTED)
			st->protected_waiting++;
		else
			st->denied++;
		A->denied |= rc == CF_EDENIED;
		note_refused(A, name);
		return 1;
	}
	if (err)
		*err = e2;
	return rc;
}

static void ap_free(struct ap *A)
{
	for (size_t i = 0; i < A->nidx; i++)
		blob_packs_free(A->bps[i], A->nbps[i]);
	free(A->bps);
	free(A->nbps);
	free(A->bpid);
	free(A->isf);
	free(A->pk);
	free(A->loc);
	idset_free(&A->si);
}

/* Which packs stay: those the spool's index names (the destination holds what the spool
 * holds) and those its own snapshots alone need. Fails, removing nothing, when a snapshot
 * kept there cannot be read whole. */
static int decide_packs(struct ap *A, const struct retain *rt, struct cf_error *err)
{
	struct mark M = { .load = ap_load, .lctx = A, .min_chunk = A->spool->cp.min };
	int rc = build_locs(A, err);
	/* Every snapshot still there, kept or not: one whose deletion Object Lock refused keeps
	 * its data until it goes. */
	for (size_t i = 0; rc == 0 && i < rt->n; i++)
		if (rt->on_dst[i])
			rc = mark_tree(&M, rt->all[i]->tree, err);
	size_t missing = 0;
	for (size_t i = 0; i < A->npk; i++)
		A->pk[i].keep = A->pk[i].on_dst && A->pk[i].covered;
	for (size_t i = 0; rc == 0 && i < M.used.cap; i++) {
		if (!M.used.used[i])
			continue;
		const struct loc *l = best_loc(A, M.used.k[i]);
		if (!l) {
			missing++;
			continue;
		}
		struct pk *p = &A->pk[l->pack];
		if (!p->covered)
			p->keep = p->extra = 1;
	}
	if (rc == 0 && (M.damaged || missing))
		rc = cf_error_set(err, CF_ECORRUPT, "%s: snapshots kept there reach data that cannot "
			"be read (%zu blobs missing, %zu damaged places); nothing was removed there: "
			"run 'coffre check' on it", dst_url(repo_dst(A->there)), missing, M.damaged);
	mark_free(&M);
	return rc;
}

/* Marks the packs index object ${x} names as staying (its deletion was refused). */
static void keep_named(struct ap *A, size_t x)
{
	for (size_t j = 0; j < A->nbps[x]; j++) {
		struct pk *p = pk_find(A, A->bps[x][j].id);
		if (p)
			p->keep = 1;
	}
}

/* The destination's own index objects: one is stale when it names a pack that goes (or that
 * is not there), useful when it names a pack only the destination's snapshots need. A new
 * index object for those packs is written when the useful ones that are not stale do not
 * name them all, or when several would stay; then every own index object not needed goes. */
static int replace_index(struct ap *A, struct push_stats *st, struct cf_error *err)
{
	uint8_t *useful = calloc(A->nidx + 1, 1), *stale = calloc(A->nidx + 1, 1);
	uint8_t (*nids)[32] = NULL;
	size_t nn = 0, nextra = 0;
	int rc = 0, need_new = 0;
	if (!useful || !stale) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < A->npk; i++)
		A->pk[i].in_f = 0;	/* from here: named by an own index object that stays */
	for (size_t x = 0; x < A->nidx; x++) {
		if (!A->isf[x])
			continue;
		for (size_t j = 0; j < A->nbps[x]; j++) {
			const struct pk *p = pk_find(A, A->bps[x][j].id);
			if (!p || !p->keep)
				stale[x] = 1;
			else if (p->extra)
				useful[x] = 1;
		}
		for (size_t j = 0; useful[x] && !stale[x] && j < A->nbps[x]; j++)
			pk_find(A, A->bps[x][j].id)->in_f = 1;
	}
	size_t nuseful = 0;
	for (size_t x = 0; x < A->nidx; x++)
		nuseful += A->isf[x] && useful[x] && !stale[x];
	for (size_t i = 0; i < A->npk; i++) {
		nextra += A->pk[i].extra;
		need_new |= A->pk[i].extra && !A->pk[i].in_f;
	}
	/* Several of its own are folded into one: they would pile up, one for each index the
	 * spool replaced. */
	need_new |= nuseful > 1;
	if (need_new) {
		struct blob_pack *v = calloc(nextra + 1, sizeof *v);
		size_t k = 0;
		if (!v) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < A->npk; i++)
			if (A->pk[i].extra)
				v[k++] = *A->pk[i].entries;	/* borrowed entries */
		rc = blob_index_write_all(A->there, v, nextra, &nids, &nn, err);
		free(v);
		if (rc)
			goto out;
	}
	for (size_t x = 0; x < A->nidx; x++) {
		if (!A->isf[x] || (!need_new && useful[x] && !stale[x]))
			continue;
		int mine = 0;
		for (size_t j = 0; j < nn; j++)
			mine |= memcmp(nids[j], A->bpid[x], 32) == 0;
		if (mine)
			continue;
		char name[80] = "index/";
		util_hex(name + 6, A->bpid[x], 32);
		int one = del_obj(A, name, st, err);
		if (one < 0) {
			rc = one;
			goto out;
		}
		if (one == 0)
			st->removed_indexes++;
		else
			keep_named(A, x);	/* still there (Object Lock): what it names stays */
	}
out:
	free(useful);
	free(stale);
	free(nids);
	return rc;
}

/* Packs no index object there names: what an interrupted or full push left. No snapshot there
 * can need them (a snapshot is sent after its index), so they go first, making room for the
 * index objects that come next. */
static int remove_unindexed(struct ap *A, struct push_stats *st, struct cf_error *err)
{
	for (size_t i = 0; i < A->npk; i++) {
		struct pk *p = &A->pk[i];
		if (!p->on_dst || p->covered || p->in_f)
			continue;
		char name[80];
		pack_name(name, p->id);
		int one = del_obj(A, name, st, err);
		if (one < 0)
			return one;
		if (one == 0) {
			st->removed_packs++;
			st->removed_bytes += p->size;
			p->on_dst = 0;
		}
	}
	return 0;
}

/* 1 when the pin ${id} (as the plan read it) names a snapshot the spool holds. */
static int pin_of_spool_snapshot(const struct retain *rt, const uint8_t id[32])
{
	for (size_t i = 0; i < rt->npins; i++) {
		if (memcmp(rt->pins[i].id, id, 32) != 0)
			continue;
		for (size_t j = 0; j < rt->nspool; j++)
			if (memcmp(rt->all[j]->id, rt->pins[i].snap, 32) == 0)
				return 1;
		return 0;
	}
	return 0;
}

int retain_apply(struct repo *spool, struct repo *there, struct retain *rt,
	struct push_names *refused, struct push_stats *st, struct cf_error *err)
{
	struct dst *to = repo_dst(there);
	struct ap A = { .spool = spool, .there = there, .refused = refused };
	struct objs theirs = { 0 };
	uint8_t (*sidx)[32] = NULL;
	size_t nsidx = 0, changed = 0, foreign = 0;
	int rc = repo_lock_mode(there, 1, err);
	if (rc)
		return rc;
	/* 1. Its snapshots the plan drops: nothing else depends on them. */
	for (size_t i = 0; i < rt->n; i++) {
		if (!rt->on_dst[i] || rt->why[i])
			continue;
		char name[80];
		snprintf(name, sizeof name, "snapshots/%s", rt->all[i]->idhex);
		int one = del_obj(&A, name, st, err);
		if (one < 0) {
			rc = one;
			goto out;
		}
		if (one == 0) {
			rt->on_dst[i] = 0;
			st->removed_snapshots++;
			changed++;
		}
	}
	/* 2. What is there now, and what the index objects say. */
	if ((rc = push_list(to, &theirs, 0, err)) ||
	    (rc = repo_list(spool, REPO_INDEX, &sidx, &nsidx, err)))
		goto out;
	/* The snapshots there now: with those this push sent (the plan was made before). Their
	 * data is not always under the spool's index there (push_select.c). */
	for (size_t i = 0; i < rt->n; i++) {
		char name[80];
		snprintf(name, sizeof name, "snapshots/%s", rt->all[i]->idhex);
		rt->on_dst[i] = push_find(&theirs, name) != NULL;
	}
	for (size_t i = 0; i < nsidx; i++)
		if (idset_add(&A.si, sidx[i])) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
	for (size_t i = 0; rc == 0 && i < nsidx; i++) {
		char name[80];
		snprintf(name, sizeof name, "index/%s", "");
		util_hex(name + 6, sidx[i], 32);
		rc = read_index(&A, sidx[i], 1, push_find(&theirs, name) != NULL, err);
	}
	for (size_t i = 0; rc == 0 && i < theirs.n; i++) {
		uint8_t id[32];
		if (push_id_of(theirs.v[i].name, "index/", id) && !idset_has(&A.si, id)) {
			foreign++;
			rc = read_index(&A, id, 0, 0, err);
		} else if (strncmp(theirs.v[i].name, "data/", 5) == 0) {
			rc = dst_pack(&A, theirs.v[i].name, theirs.v[i].size);
			rc = rc == CF_ENOMEM ? cf_error_set(err, rc, "out of memory") : rc;
		}
	}
	if (rc || (rc = dst_list(repo_dst(spool), "data/", spool_pack, &A, err)))
		goto out;
	pk_sort(&A);
	int need = changed || foreign;
	for (size_t i = 0; i < A.npk; i++)
		need |= A.pk[i].on_dst && !A.pk[i].covered;
	if (need && rt->unreadable) {
		rc = cf_error_set(err, CF_ECORRUPT, "%s: %zu snapshots or pins there cannot be read; "
			"no data was removed there: run 'coffre check' on it", dst_url(to),
			rt->unreadable);
		goto out;
	}
	/* 3. Packs: those no index names, a new index, the old index objects, then the packs
	 * nothing needs. */
	if (need && ((rc = remove_unindexed(&A, st, err)) || (rc = decide_packs(&A, rt, err)) ||
	    (rc = replace_index(&A, st, err))))
		goto out;
	for (size_t i = 0; need && i < A.npk; i++) {
		const struct pk *p = &A.pk[i];
		if (!p->on_dst || p->keep)
			continue;
		char name[80];
		pack_name(name, p->id);
		int one = del_obj(&A, name, st, err);
		if (one < 0) {
			rc = one;
			goto out;
		}
		if (one == 0) {
			st->removed_packs++;
			st->removed_bytes += p->size;
		}
	}
	/* 4. Pins unpinned on the spool: those of snapshots the spool still has. A pin of a
	 * snapshot only the destination holds was set there, and stays. */
	for (size_t i = 0; i < theirs.n; i++) {
		uint8_t id[32];
		if (!push_id_of(theirs.v[i].name, "pins/", id) ||
		    dst_stat(repo_dst(spool), theirs.v[i].name, NULL, NULL) != CF_ENOENT ||
		    !pin_of_spool_snapshot(rt, id))
			continue;
		if ((rc = del_obj(&A, theirs.v[i].name, st, err)) < 0)
			goto out;
		rc = 0;
	}
out:
	free(sidx);
	push_objs_free(&theirs);
	ap_free(&A);
	return rc;
}
