/* push_retain.c: retention on a destination, carried by push. The destination keeps what its
 * own policy keeps of the spool's snapshots and of its own older ones; its data is the
 * spool's (every pack the spool's index names) plus the packs only its own older snapshots
 * still need. Deletions go in the order that keeps it consistent at every moment: its
 * snapshots first, then a new index for the packs that stay, then the old index objects,
 * then the packs, then the pins. Packs partly used stay as they are: nothing is downloaded
 * to be rewritten. */
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

/* ---- the plan ---- */

static struct snap *find_snap(struct snap **v, size_t n, const uint8_t id[32])
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i]->id, id, 32) == 0)
			return v[i];
	return NULL;
}

/* The destination's own time for ${s}: dates in the future are judged by its clock too. */
static void note_recorded(struct dst *d, struct snap *s, int64_t now)
{
	char name[80];
	int64_t t = 0;
	snprintf(name, sizeof name, "snapshots/%s", s->idhex);
	if (dst_mtime(d, name, &t, NULL) == 0 && t > 0)
		s->recorded = t;
	s->future = s->time > now + SNAP_FUTURE_SLACK ||
		(s->recorded && s->time > s->recorded + SNAP_FUTURE_SLACK);
}

static int add_pins(struct repo *r, struct retain *rt, struct cf_error *err)
{
	struct pin *v = NULL;
	size_t n = 0, bad = 0;
	int rc = pin_list(r, &v, &n, &bad, err);
	if (rc)
		return rc;
	rt->unreadable += bad;
	void *np = realloc(rt->pins, (rt->npins + n + 1) * sizeof *rt->pins);
	if (!np) {
		free(v);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	rt->pins = np;
	memcpy(rt->pins + rt->npins, v, n * sizeof *v);
	rt->npins += n;
	free(v);
	return 0;
}

int retain_plan(struct repo *spool, struct repo *there, const struct objs *theirs,
	const struct forget_policy *p, int64_t now, struct retain *ret, struct cf_error *err)
{
	struct retain rt = { .now = now };
	uint8_t *pinned = NULL;
	size_t ns = 0;
	int rc = snap_list(spool, &rt.spool_list, &ns, NULL, err);
	if (rc)
		return rc;
	rt.nspool = ns;
	if (!(rt.all = calloc(ns + theirs->n + 1, sizeof *rt.all))) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(rt.all, rt.spool_list, ns * sizeof *rt.all);
	rt.n = ns;
	rt.on_dst = calloc(ns + theirs->n + 1, 1);
	rt.why = calloc(ns + theirs->n + 1, 1);
	pinned = calloc(ns + theirs->n + 1, 1);
	if (!rt.on_dst || !rt.why || !pinned) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < theirs->n; i++) {
		uint8_t id[32];
		if (!push_id_of(theirs->v[i].name, "snapshots/", id))
			continue;
		struct snap *s = find_snap(rt.spool_list, ns, id);
		if (!s) {
			if (snap_load(there, id, &s, NULL) != 0) {
				rt.unreadable++;	/* left alone, and no pack goes while it is */
				continue;
			}
			rt.all[rt.n] = s;
			rt.on_dst[rt.n++] = 1;
		}
		note_recorded(repo_dst(there), s, now);
	}
	for (size_t i = 0; i < ns; i++) {
		char name[80];
		snprintf(name, sizeof name, "snapshots/%s", rt.all[i]->idhex);
		rt.on_dst[i] = push_find(theirs, name) != NULL;
	}
	if ((rc = add_pins(spool, &rt, err)) || (rc = add_pins(there, &rt, err)))
		goto out;
	for (size_t i = 0; i < rt.n; i++)
		pinned[i] = (uint8_t)pin_has(rt.pins, rt.npins, rt.all[i]->id);
	if ((rc = forget_decide(rt.all, rt.n, p, pinned, now, rt.why)) < 0) {
		rc = cf_error_set(err, rc, rc == CF_EUSAGE ? "no retention rule for %s" :
			"out of memory", dst_url(repo_dst(there)));
		goto out;
	}
	rc = 0;
out:
	free(pinned);
	if (rc)
		retain_free(&rt);
	else
		*ret = rt;
	return rc;
}

int retain_wants(const struct retain *rt, const char *name)
{
	uint8_t id[32];
	if (push_id_of(name, "snapshots/", id)) {
		for (size_t i = 0; i < rt->n; i++)
			if (memcmp(rt->all[i]->id, id, 32) == 0)
				return rt->why[i] != 0;
		return 1;	/* made since the plan: the next push decides */
	}
	if (push_id_of(name, "pins/", id)) {
		for (size_t i = 0; i < rt->npins; i++) {
			if (memcmp(rt->pins[i].id, id, 32) != 0)
				continue;
			for (size_t j = 0; j < rt->n; j++)
				if (memcmp(rt->all[j]->id, rt->pins[i].snap, 32) == 0)
					return rt->why[j] != 0;
			return 0;	/* its snapshot is gone */
		}
	}
	return 1;
}

int retain_thin_one(struct retain *rt, int64_t floor)
{
	size_t best = rt->n;
	for (size_t i = 0; i < rt->n; i++) {
		if (!rt->why[i] || (rt->why[i] & (FORGET_KEEP_PINNED | FORGET_KEEP_FUTURE)))
			continue;
		if (snap_time_eff(rt->all[i]) >= rt->now - floor)
			continue;
		if (best == rt->n || snap_time_eff(rt->all[i]) < snap_time_eff(rt->all[best]))
			best = i;
	}
	if (best == rt->n)
		return 0;
	rt->why[best] = 0;
	return 1;
}

void retain_free(struct retain *rt)
{
	for (size_t i = rt->nspool; i < rt->n; i++)
		snap_free(rt->all[i]);
	snap_list_free(rt->spool_list, rt->nspool);
	free(rt->all);
	free(rt->why);
	free(rt->on_dst);
	free(rt->pins);
	memset(rt, 0, sizeof *rt);
}
