/* forget.h: retention: which snapshots a policy keeps, and forgetting the others. Forgetting
 * removes snapshot objects only; prune.h removes the data they alone used. *
 * Contract. 0 or a CF_E* code (include/coffre/error.h), with a message in ${err} when it is
 * not NULL. They take the repository's exclusive lock themselves (CF_ELOCKED when another
 * process holds one): the caller must not hold a lock on the same handle. Callbacks run on
 * the calling thread; one call at a time per repository handle. */
#ifndef COFFRE_FORGET_H
#define COFFRE_FORGET_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct repo;
struct snap;

struct forget_policy {
	int last, hourly, daily, weekly, monthly, yearly;	/* 0: rule unused */
	int64_t within;		/* seconds: every snapshot younger than this is kept; 0: unused */
	char *const *tags;	/* a snapshot carrying one of these ${ntags} tags is kept */
	size_t ntags;
};

/* The default of keep-within: no flood of new snapshots can push out the last two weeks. */
#define FORGET_WITHIN_DEFAULT (14 * 86400)

/* Why a snapshot is kept (bits of forget_decide's ${why}; 0: removed). */
enum {
	FORGET_KEEP_RULE = 1,	/* a keep-last/hourly/daily/weekly/monthly/yearly rule */
	FORGET_KEEP_WITHIN = 2,
	FORGET_KEEP_PINNED = 4,
	FORGET_KEEP_TAG = 8,
	FORGET_KEEP_FUTURE = 16,	/* dated in the future: kept as evidence, counted by no rule */
};

/* forget_select(list, n, p, keep): the keep-N rules alone, on the snapshots' own times:
 * ${keep}[i] set to 1 for each snapshot they keep (list sorted oldest first, as snap_list
 * gives it). Returns the number kept, or CF_EUSAGE if the policy has no rule (forgetting
 * everything is never implied). */
int forget_select(struct snap **list, size_t n, const struct forget_policy *p, uint8_t *keep);

/* forget_decide(list, n, p, pinned, now, why): the whole policy: the keep-N rules count the
 * snapshots not dated in the future, each at snap_time_eff, and never those kept for another
 * reason only; keep-within counts from ${now}; ${pinned}[i] (may be NULL) keeps list[i].
 * ${why}[i] gets the FORGET_KEEP_* bits (0: not kept). Returns the number kept, or CF_EUSAGE
 * if the policy has no rule at all. */
int forget_decide(struct snap **list, size_t n, const struct forget_policy *p,
	const uint8_t *pinned, int64_t now, uint8_t *why);

/* forget_parse_within(text, ret): "14 d", "14d", "2 days", "36 h", "90 min", "0" (unused)
 * into seconds. 0, or -1 when ${text} is no such duration. */
int forget_parse_within(const char *text, int64_t *ret);

/* forget_policy_empty(p): 1 when ${p} has no rule at all. */
int forget_policy_empty(const struct forget_policy *p);

/* forget_run(r, p, dry_run, report, ctx, ret_removed, err): under an exclusive lock, list the
 * snapshots (oldest first) and the pins, call ${report} (may be NULL) for each snapshot with
 * why forget_decide keeps it (0: removed), and delete those it does not keep unless
 * ${dry_run}. ${*ret_removed}: how many were (or would be) removed, also on failure. 0;
 * CF_EUSAGE when ${p} has no rule; CF_ECORRUPT when a pin cannot be read (it might keep any
 * snapshot: nothing is removed); CF_E* from the lock, the listing or a deletion (the run stops
 * at the first failed deletion). */
int forget_run(struct repo *r, const struct forget_policy *p, int dry_run,
	void (*report)(void *ctx, const struct snap *s, int why), void *ctx,
	size_t *ret_removed, struct cf_error *err);

#endif
