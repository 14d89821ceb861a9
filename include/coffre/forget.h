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
};

/* forget_select(list, n, p, keep): ${keep}[i] set to 1 for each snapshot the policy keeps
 * (list sorted oldest first, as snap_list gives it). Returns the number kept, or CF_EUSAGE if
 * the policy has no rule (forgetting everything is never implied). */
int forget_select(struct snap **list, size_t n, const struct forget_policy *p, uint8_t *keep);

/* forget_run(r, p, dry_run, report, ctx, ret_removed, err): under an exclusive lock, list the
 * snapshots (oldest first), call ${report} (may be NULL) for each with whether ${p} keeps it,
 * and delete those it does not keep unless ${dry_run}. ${*ret_removed}: how many were (or
 * would be) removed, also on failure. 0; CF_EUSAGE when ${p} has no rule; CF_E* from the
 * lock, the listing or a deletion (the run stops at the first failed deletion). */
int forget_run(struct repo *r, const struct forget_policy *p, int dry_run,
	void (*report)(void *ctx, const struct snap *s, int kept), void *ctx,
	size_t *ret_removed, struct cf_error *err);

#endif
