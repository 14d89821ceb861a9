/* push.h: copying a repository from the local spool to a destination, in an order that keeps
 * the destination consistent at every moment (packs, then index, then snapshots: the
 * snapshot is the commit point there too), reading back what was sent. */
#ifndef COFFRE_PUSH_H
#define COFFRE_PUSH_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct dst;
struct repo;

struct push_stats {
	uint64_t sent, sent_bytes;	/* objects uploaded by this run */
	uint64_t present;		/* objects the destination had already */
	uint64_t verified;		/* objects read back and found sound */
	uint64_t pending, pending_bytes;	/* still missing there after the run */
	uint64_t missing_locally;	/* the destination lacks objects the spool no longer has */
	double duration;
};

struct push_opts {
	void (*progress)(void *ctx, const char *name, uint64_t done, uint64_t total);
	void *ctx;
};

/* push_run(spool, to, o, ret, err): send every object of the local repository ${spool} that
 * ${to} lacks (borrowed), each read back after upload: size, pack headers and one frame per
 * pack opened with the key, small objects compared whole. Returns 0 when ${to} holds
 * everything the spool holds; CF_E* otherwise (what was sent stays sent; a later run sends
 * only the rest). */
int push_run(struct repo *spool, struct dst *to, const struct push_opts *o,
	struct push_stats *ret, struct cf_error *err);

/* push_pending(spool, to, ret, err): what ${to} lacks, by listing both (nothing sent). */
int push_pending(struct repo *spool, struct dst *to, struct push_stats *ret, struct cf_error *err);

/* push_clear(spool, to, n, ret_bytes, err): remove from the spool the data packs that every
 * destination in ${to} holds (each listed now, so all must be reachable); metadata (config,
 * keys, index, snapshots and tree packs) stays, so backups remain incremental. */
int push_clear(struct repo *spool, struct dst *const *to, size_t n, uint64_t *ret_bytes,
	struct cf_error *err);

#endif
