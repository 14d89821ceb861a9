/* forget.c: retention: which snapshots a policy keeps, and removing the others. */
#include "coffre/forget.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffre/error.h"
#include "coffre/pin.h"
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

static int has_rules(const struct forget_policy *p)
{
	return p->last > 0 || p->hourly > 0 || p->daily > 0 || p->weekly > 0 || p->monthly > 0 ||
		p->yearly > 0;
}

int forget_parse_within(const char *text, int64_t *ret)
{
	char *end;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	if (errno || end == text || n < 0 || n > 36500LL * 86400)
		return -1;
	while (*end == ' ')
		end++;
	long long unit = 0;
	if (!*end && n == 0)
		unit = 1;
	else if (strcmp(end, "d") == 0 || strcmp(end, "day") == 0 || strcmp(end, "days") == 0)
		unit = 86400;
	else if (strcmp(end, "h") == 0 || strcmp(end, "hours") == 0)
		unit = 3600;
	else if (strcmp(end, "min") == 0)
		unit = 60;
	else if (strcmp(end, "s") == 0)
		unit = 1;
	if (!unit || n * unit > 36500LL * 86400)
		return -1;
	*ret = (int64_t)(n * unit);
	return 0;
}

int forget_policy_empty(const struct forget_policy *p)
{
	return !has_rules(p) && p->within <= 0 && p->ntags == 0;
}

/* The keep-N rules over ${n} times, oldest first: ${keep}[i] 1 or 0; returns how many. */
static int select_rules(const int64_t *times, size_t n, const struct forget_policy *p,
	uint8_t *keep)
{
	int limit[6] = { p->last, p->hourly, p->daily, p->weekly, p->monthly, p->yearly };
	long last[6];
	int count[6] = { 0 };
	for (int k = 0; k < 6; k++)
		last[k] = -1;
	int kept = 0;
	/* Newest first: each rule keeps the newest snapshot of each of its last N periods. */
	for (size_t i = n; i-- > 0;) {
		keep[i] = 0;
		for (int k = 0; k < 6; k++) {
			if (limit[k] <= 0 || count[k] >= limit[k])
				continue;
			long b = k == 0 ? (long)i : bucket((time_t)times[i], k);
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

int forget_select(struct snap **list, size_t n, const struct forget_policy *p, uint8_t *keep)
{
	if (!has_rules(p))
		return CF_EUSAGE;
	int64_t *times = malloc((n ? n : 1) * sizeof *times);
	if (!times)
		return CF_ENOMEM;
	for (size_t i = 0; i < n; i++)
		times[i] = list[i]->time;
	int kept = select_rules(times, n, p, keep);
	free(times);
	return kept;
}

static int has_tag(const struct snap *s, const struct forget_policy *p)
{
	for (size_t i = 0; i < s->ntags; i++)
		for (size_t j = 0; j < p->ntags; j++)
			if (strcmp(s->tags[i], p->tags[j]) == 0)
				return 1;
	return 0;
}

struct ranked {
	int64_t t;
	size_t i;
	const struct snap *s;
};

/* By the effective time, then as snapshots are ordered (time, time_ns, id): two backups in
 * the same second are told apart by their nanoseconds, never by where the caller's list put
 * them (a destination's own snapshots come after the spool's). */
static int by_time(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->s->time != y->s->time)
		return x->s->time < y->s->time ? -1 : 1;
	if (x->s->time_ns != y->s->time_ns)
		return x->s->time_ns < y->s->time_ns ? -1 : 1;
	return memcmp(x->s->id, y->s->id, sizeof x->s->id);
}

int forget_decide(struct snap **list, size_t n, const struct forget_policy *p,
	const uint8_t *pinned, int64_t now, uint8_t *why)
{
	if (forget_policy_empty(p))
		return CF_EUSAGE;
	struct ranked *v = malloc((n ? n : 1) * sizeof *v);
	int64_t *times = malloc((n ? n : 1) * sizeof *times);
	uint8_t *keep = malloc(n ? n : 1);
	if (!v || !times || !keep) {
		free(v);
		free(times);
		free(keep);
		return CF_ENOMEM;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct snap *s = list[i];
		int64_t t = snap_time_eff(s);
		why[i] = 0;
		if (s->future || t > now + SNAP_FUTURE_SLACK)
			why[i] |= FORGET_KEEP_FUTURE;
		if (pinned && pinned[i])
			why[i] |= FORGET_KEEP_PINNED;
		if (p->ntags && has_tag(s, p))
			why[i] |= FORGET_KEEP_TAG;
		if (p->within > 0 && t >= now - p->within)
			why[i] |= FORGET_KEEP_WITHIN;
		/* A forged date counts in no rule, and what a pin or a tag keeps anyway takes no
		 * rule's slot. */
		if (!(why[i] & (FORGET_KEEP_FUTURE | FORGET_KEEP_PINNED | FORGET_KEEP_TAG)))
			v[m++] = (struct ranked){ t, i, s };
	}
	if (m > 1)
		qsort(v, m, sizeof *v, by_time);
	for (size_t k = 0; k < m; k++)
		times[k] = v[k].t;
	if (has_rules(p)) {
		select_rules(times, m, p, keep);
		for (size_t k = 0; k < m; k++)
			if (keep[k])
				why[v[k].i] |= FORGET_KEEP_RULE;
	}
	int kept = 0;
	for (size_t i = 0; i < n; i++)
		kept += why[i] != 0;
	free(v);
	free(times);
	free(keep);
	return kept;
}

int forget_run(struct repo *r, const struct forget_policy *p, int dry_run,
	void (*report)(void *ctx, const struct snap *s, int why), void *ctx,
	size_t *ret_removed, struct cf_error *err)
{
	struct snap **list = NULL;
	struct pin *pins = NULL;
	uint8_t *why = NULL, *pinned = NULL;
	size_t n = 0, npins = 0, badpins = 0, removed = 0;
	int rc;
	if (ret_removed)
		*ret_removed = 0;
	if (forget_policy_empty(p))
		return cf_error_set(err, CF_EUSAGE, "no retention rule");
	if ((rc = repo_lock(r, 1, err)))
		return rc;
	if ((rc = snap_list(r, &list, &n, NULL, err)) ||
	    (rc = pin_list(r, &pins, &npins, &badpins, err)))
		goto out;
	if (badpins) {
		rc = cf_error_set(err, CF_ECORRUPT, "%zu pins cannot be read: run 'coffre check'; "
			"no snapshot was removed", badpins);
		goto out;
	}
	why = calloc(n ? n : 1, 1);
	pinned = calloc(n ? n : 1, 1);
	if (!why || !pinned) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		pinned[i] = (uint8_t)pin_has(pins, npins, list[i]->id);
	if ((rc = forget_decide(list, n, p, pinned, (int64_t)time(NULL), why)) < 0) {
		rc = cf_error_set(err, rc, rc == CF_EUSAGE ? "no retention rule" : "out of memory");
		goto out;
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (report)
			report(ctx, list[i], why[i]);
		if (why[i])
			continue;
		if (!dry_run && (rc = snap_delete(r, list[i], err)))
			break;
		removed++;
	}
out:
	free(why);
	free(pinned);
	free(pins);
	snap_list_free(list, n);
	repo_unlock(r);
	if (ret_removed)
		*ret_removed = removed;
	return rc;
}
