/* push.h: copying a repository from the local spool to a destination, in an order that keeps
 * the destination consistent at every moment (packs, then index, then snapshots: the
 * snapshot is the commit point there too), reading back what was sent. */
#ifndef COFFRE_PUSH_H
#define COFFRE_PUSH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "coffre/error.h"
#include "coffre/lock_extend.h"

struct cf_error;
struct dst;
struct dst_options;
struct forget_policy;
struct repo;

struct push_stats {
	uint64_t sent, sent_bytes;	/* objects uploaded by this run */
	uint64_t present;		/* objects the destination had already */
	uint64_t skipped;		/* spool packs and index objects not sent: their blobs
					 * are there already (in packs the spool repacked) */
	uint64_t own_indexes;		/* index objects written there instead of the spool's */
	uint64_t verified;		/* objects read back and found sound */
	uint64_t pending, pending_bytes;	/* still missing there after the run */
	uint64_t missing_locally;	/* the destination lacks objects the spool no longer has */
	int64_t pending_since;	/* time of the oldest snapshot still missing there, 0: none */
	double duration;
	/* Retention there (push_opts.keep): */
	uint64_t removed_snapshots, removed_indexes, removed_packs, removed_bytes;
	uint64_t thinned;		/* snapshots removed early because it was full */
	uint64_t protected_waiting;	/* deletions Object Lock refused: a later push retries */
	uint64_t denied;		/* deletions not made: the keys may not delete there
					 * (tried once per push; its owner's retention rules) */
	int too_small;			/* full even with only the floor's snapshots */
	int retain_deferred;		/* another process (a drill, a restore) was reading it:
					 * its retention waits for the next push */
};

/* Object names, malloc'd (push_names_free). */
struct push_names {
	char **v;
	size_t n;
};
void push_names_free(struct push_names *l);

struct push_opts {
	void (*progress)(void *ctx, const char *name, uint64_t done, uint64_t total);
	void *ctx;
	const atomic_int *cancel;	/* set: stop between two objects (CF_EIO, "cancelled") */
	/* The destination's retention policy (NULL: none, it keeps everything it gets). */
	const struct forget_policy *keep;
	/* When it is full, snapshots younger than this (seconds; 0: PUSH_FLOOR_DEFAULT) and
	 * pinned ones are never thinned out to make room. */
	int64_t floor;
	/* When not NULL, receives the names whose deletion Object Lock refused (to be left to
	 * expire, never extended). */
	struct push_names *refused;
};

#define PUSH_FLOOR_DEFAULT (14 * 86400)

/* push_run(spool, to, o, ret, err): send every object of the local repository ${spool} that
 * ${to} lacks (borrowed), each read back after upload: size, pack headers and one frame per
 * pack opened with the key, small objects compared whole. Returns 0 when ${to} holds
 * everything the spool holds; CF_E* otherwise (what was sent stays sent; a later run sends
 * only the rest). */
int push_run(struct repo *spool, struct dst *to, const struct push_opts *o,
	struct push_stats *ret, struct cf_error *err);

/* push_pending(spool, to, keep, ret, err): what ${to} lacks, by listing both (nothing sent);
 * with a policy ${keep}, not counting what that policy would not keep there. */
int push_pending(struct repo *spool, struct dst *to, const struct forget_policy *keep,
	struct push_stats *ret, struct cf_error *err);

/* push_clear(spool, to, n, ret_bytes, err): remove from the spool the data packs that every
 * destination in ${to} holds (each listed now, so all must be reachable); metadata (config,
 * keys, index, snapshots and tree packs) stays, so backups remain incremental. */
int push_clear(struct repo *spool, struct dst *const *to, size_t n, uint64_t *ret_bytes,
	struct cf_error *err);

/* One destination's outcome in push_all. */
struct push_result {
	int code;		/* 0: complete there; CF_EUNREACH, CF_EKEY, CF_ENOSPC, ... */
	int reached;		/* opened and listed (the stats are then from this run) */
	struct push_stats st;
	int object_lock;
	char lock_note[160];
	struct cf_error err;
	/* Object Lock extension after a complete push (lock_extend_present over every object
	 * of the repository there): lock_code 0 and lock.checked 0 when there was none. */
	int lock_code;
	struct lock_extend_stats lock;
	struct cf_error lock_err;
};

/* push_all(spool, urls, opts, keep, n, clear, o, res, ret_cleared, clear_err): push_run to
 * each of the ${n} destinations in turn, with the retention ${keep}[i] (${keep} or its
 * entries may be NULL: none), each opened for its turn only (a USB drive is unmounted
 * as soon as it is served); ${res}[i] says how each went. With ${clear}, when every one is
 * complete, the data packs they all hold are removed from the spool (push_clear, each
 * destination listed again), ${ret_cleared} bytes; a failure of that step goes in
 * ${clear_err} and the spool stays as it was. On a destination with a verified Object Lock,
 * a complete push is followed by the extension of the retention of what it holds
 * (lock_extend.h); its outcome is in lock_code, lock and lock_err, apart from code. Returns 0 when every destination is complete,
 * otherwise the code of the first that is not, CF_EUNREACH ahead of any other. */
int push_all(struct repo *spool, const char *const *urls, const struct dst_options *opts,
	const struct forget_policy *const *keep, size_t n, int clear, const struct push_opts *o, struct push_result *res,
	uint64_t *ret_cleared, struct cf_error *clear_err);

#endif
