/* forget.c: retention: which snapshots a policy keeps, and removing the others. */
#include "coffre/forget.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/snap.h"

static long bucket(time_t t, int rule)
{
	struct tm tm;
	localtime_r(&t, &tm);
	switch (rule) {
	case 1: return ((long)tm.tm_year * 400 + tm.tm_yday) * 24 + tm.tm_hour;
	case 2: return (long)tm.tm_year * 400 + tm.tm_yday;
	case 3: {
		/* ISO-like week: year and week number with Monday first. */
		char w[16];
		strftime(w, sizeof w, "%G%V", &tm);
		return atol(w);
	}
	case 4: return (long)tm.tm_year * 12 + tm.tm_mon;
	default: return tm.tm_year;
	}
}

int forget_select(struct snap **list, size_t n, const struct forget_policy *p, uint8_t *keep)
{
	int limit[6] = { p->last, p->hourly, p->daily, p->weekly, p->monthly, p->yearly };
	long last[6];
	int count[6] = { 0 };
	int any = 0;
	for (int k = 0; k < 6; k++) {
		if (limit[k] > 0)
			any = 1;
		last[k] = -1;
	}
	if (!any)
		return CF_EUSAGE;
	int kept = 0;
	/* Newest first: each rule keeps the newest snapshot of each of its last N periods. */
	for (size_t i = n; i-- > 0;) {
		keep[i] = 0;
		for (int k = 0; k < 6; k++) {
			if (limit[k] <= 0 || count[k] >= limit[k])
				continue;
			long b = k == 0 ? (long)i : bucket((time_t)list[i]->time, k);
			if (k == 0 || b != last[k]) {
				last[k] = b;
				count[k]++;
				keep[i] = 1;
			}
		}
		kept += keep[i];
	}
	return kept;
}

int forget_run(struct repo *r, const struct forget_policy *p, int dry_run,
	void (*report)(void *ctx, const struct snap *s, int kept), void *ctx,
	size_t *ret_removed, struct cf_error *err)
{
	struct snap **list = NULL;
	size_t n = 0, removed = 0;
	int rc;
	if (ret_removed)
		*ret_removed = 0;
	if ((rc = repo_lock(r, 1, err)))
		return rc;
	if ((rc = snap_list(r, &list, &n, NULL, err)))
		goto out;
	uint8_t *keep = calloc(n ? n : 1, 1);
	if (!keep) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (forget_select(list, n, p, keep) < 0) {
		rc = cf_error_set(err, CF_EUSAGE, "no retention rule");
	} else {
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (report)
				report(ctx, list[i], keep[i]);
			if (keep[i])
				continue;
			if (!dry_run && (rc = snap_delete(r, list[i], err)))
				break;
			removed++;
		}
	}
	free(keep);
out:
	snap_list_free(list, n);
	repo_unlock(r);
	if (ret_removed)
		*ret_removed = removed;
	return rc;
}
