/* push_internal.h: what push.c and push_retain.c share: sorted object listings of a spool
 * and a destination, and a destination's retention plan. */
#ifndef COFFRE_PUSH_INTERNAL_H
#define COFFRE_PUSH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/idset.h"

struct blob_pack;
struct cf_error;
struct dst;
struct forget_policy;
struct pin;
struct push_names;
struct push_stats;
struct repo;
struct snap;

struct obj {
	char *name;
	uint64_t size;
	int rank;	/* upload order: config, keys, data, index, pins, snapshots */
};

struct objs {
	struct obj *v;
	size_t n, cap;
};

int push_rank_of(const char *name);
/* push_objs_add(l, name, size): appends to the list ${l} (a struct objs) an object of a kind
 * push sends (others are skipped). 0 or CF_ENOMEM. */
int push_objs_add(void *l, const char *name, uint64_t size);
/* push_list(d, l, by_rank, err): every repository object of ${d}, sorted by upload order
 * (${by_rank}) or by name (for push_find). */
int push_list(struct dst *d, struct objs *l, int by_rank, struct cf_error *err);
const struct obj *push_find(const struct objs *l, const char *name);
void push_objs_free(struct objs *l);
/* push_id_of(name, prefix, id): 1 when ${name} is ${prefix} and 64 hex digits (into ${id}). */
int push_id_of(const char *name, const char *prefix, uint8_t id[32]);

/* A destination's retention plan: every snapshot of the spool and of the destination, and
 * what the destination's policy keeps. */
struct retain {
	struct snap **all;
	size_t n;
	size_t nspool;		/* all[0..nspool) are the spool's (owned by spool_list) */
	struct snap **spool_list;
	uint8_t *why;		/* forget_decide, per snapshot */
	uint8_t *on_dst;
	struct pin *pins;	/* the spool's and the destination's */
	size_t npins;
	size_t unreadable;	/* snapshots or pins of the destination that cannot be read */
	int64_t now;
};

/* retain_plan(spool, there, mine, theirs, p, now, ret, err): the plan for the destination
 * ${there} (a repo_attach handle) by policy ${p}. */
int retain_plan(struct repo *spool, struct repo *there, const struct objs *theirs,
	const struct forget_policy *p, int64_t now, struct retain *ret, struct cf_error *err);
/* retain_wants(rt, name): 0 when the spool's object ${name} (a snapshot or a pin) is not to
 * be sent: the destination's policy does not keep that snapshot. */
int retain_wants(const struct retain *rt, const char *name);
/* retain_thin_one(rt, floor): drops from the plan the oldest snapshot the destination keeps
 * that is not pinned, not dated in the future, and older than ${floor} seconds; 1 if one was
 * found. */
int retain_thin_one(struct retain *rt, int64_t floor);
/* retain_apply(spool, there, rt, refused, st, err): carries the plan out on the destination: its
 * snapshots the plan drops, then (when anything changed) a new index for the packs only its
 * own snapshots need, the index objects no longer needed, the packs no snapshot there
 * needs, and the pins of snapshots it no longer holds. Takes the destination's exclusive
 * lock (the caller's shared one is given up). Deletions Object Lock refuses are counted
 * and their names added to ${refused} (may be NULL). */
int retain_apply(struct repo *spool, struct repo *there, struct retain *rt,
	struct push_names *refused, struct push_stats *st, struct cf_error *err);
void retain_free(struct retain *rt);

/* What a destination needs of the spool (push_select.c). */
struct push_own {	/* a spool index object written there as the destination's own */
	uint8_t idx[32];
	struct blob_pack *packs;	/* the packs it names that the destination holds or gets */
	size_t n, nall;			/* ${n} of them; ${nall} allocated */
};

struct push_sel {
	int active;		/* 0: no selection, everything is sent */
	struct idset send;	/* the spool packs to send */
	struct idset skip_index;	/* spool index objects whose every blob is there */
	struct push_own *own;
	size_t nown;
};

/* push_select(spool, there, mine, theirs, rt, ret, err): decides, from what the destination
 * ${there} holds (${theirs}, its index objects) and what its plan ${rt} keeps (NULL: no
 * retention there), which packs and index objects of the spool (${mine}) it needs. 0, or
 * CF_E* with ${ret} inactive (then everything is sent). */
int push_select(struct repo *spool, struct repo *there, const struct objs *mine,
	const struct objs *theirs, const struct retain *rt, struct push_sel *ret,
	struct cf_error *err);
/* push_sel_wants(s, name): 0 when the spool's object ${name} is not to be sent as it is (a
 * pack whose blobs are all there, an index object not needed or written as its own). */
int push_sel_wants(const struct push_sel *s, const char *name);
/* push_sel_own(s, name): the destination's own version of index object ${name}, or NULL. */
const struct push_own *push_sel_own(const struct push_sel *s, const char *name);
void push_sel_free(struct push_sel *s);

#endif
