/* lock_extend.h: Object Lock that never lapses. An upload is retained for the lock period
 * from the day it went up; an object still needed long after would lose its protection. This
 * module extends the retention of every needed object whose retain-until date comes within
 * half the period, to now + the period, and asks only for those: the dates it has read or set
 * are kept in a local cache (SQLite, in the repository's cache folder, one table per
 * destination URL), read again from the destination (HEAD) when missing or lost. */
#ifndef COFFRE_LOCK_EXTEND_H
#define COFFRE_LOCK_EXTEND_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct dst;
struct lock_extend;
struct repo;

struct lock_extend_stats {
	uint64_t checked;	/* needed objects looked at */
	uint64_t read;		/* retentions read from the destination (not in the cache) */
	uint64_t extended;	/* extension requests sent (PutObjectRetention) */
	uint64_t missing;	/* needed objects the destination does not hold */
	uint64_t failed;	/* objects whose retention could not be read or extended */
	uint64_t unretained;	/* needed objects left with no retention at all (dry runs) */
	int64_t earliest;	/* earliest retain-until date of a needed object there, 0: none */
	int mode;		/* the destination's DST_LOCK_* mode */
};

/* What one object needs (lock_extend_decide). */
#define LOCK_EXTEND_KEEP 0	/* retained long enough */
#define LOCK_EXTEND_READ 1	/* its date is not known here: read it from the destination */
#define LOCK_EXTEND_SET 2	/* extend it to now + the period */

/* lock_extend_decide(known, until, now, period): the decision for an object whose
 * retain-until date is ${until} (0: no retention) if ${known}: READ when not ${known}; SET when
 * ${until} falls before now + ${period} / 2 (or there is no retention); KEEP otherwise. */
int lock_extend_decide(int known, int64_t until, int64_t now, int64_t period);

/* Flags of lock_extend_run. */
#define LOCK_EXTEND_DRY 1	/* read dates (cache, then destination) but extend nothing */

/* lock_extend_open(r, d, ret, err): the cache of ${d}'s dates (${d} borrowed; ${r} gives
 * the cache folder, as the blob index cache). A cache that cannot be opened or is damaged is
 * made anew, or, failing that, kept in memory for this run. CF_EUSAGE when ${d} has no
 * verified Object Lock. */
int lock_extend_open(struct repo *r, struct dst *d, struct lock_extend **ret,
	struct cf_error *err);

/* lock_extend_run(x, names, n, now, flags, ret, err): for each of the ${n} needed objects
 * ${names}, decide (lock_extend_decide, the time being ${now}) and read or extend. Objects
 * the destination lacks are counted as missing and dropped from the cache, as are the cached
 * names not in ${names}. Goes on past an object that fails (counted in failed); returns 0,
 * or the code of the first failure (CF_EUNREACH stops the run at once), with ${ret} filled
 * either way. */
int lock_extend_run(struct lock_extend *x, const char *const *names, size_t n, int64_t now,
	int flags, struct lock_extend_stats *ret, struct cf_error *err);

void lock_extend_free(struct lock_extend *x);

/* lock_extend_present(r, d, except, nexcept, now, flags, ret, err): lock_extend_run over
 * every object of the repository's kinds that ${d} holds (config, keys/, data/, index/,
 * pins/, snapshots/), but the ${nexcept} names of ${except}: objects no snapshot needs any
 * more, whose deletion the lock refused, are left to expire. */
int lock_extend_present(struct repo *r, struct dst *d, char *const *except, size_t nexcept,
	int64_t now, int flags, struct lock_extend_stats *ret, struct cf_error *err);

#endif
