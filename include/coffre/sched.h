/* sched.h: when the next backup is due, from a schedule and the last runs (pure functions
 * on time values; local time for "daily"). No state, no allocation: any thread may call
 * them. Parsers return 0 or -1 with a reason the caller prints. */
#ifndef COFFRE_SCHED_H
#define COFFRE_SCHED_H

#include <time.h>

enum sched_kind {
	SCHED_DAILY = 0,	/* daily HH:MM */
	SCHED_EVERY = 1,	/* every N h|min */
	SCHED_AFTER_CHANGE = 2,	/* after-change DELAY: DELAY after the last change of a burst */
	_SCHED_KIND_MAX,
	_SCHED_KIND_INVALID = -1,
};

struct sched_spec {
	enum sched_kind kind;
	int hour, minute;	/* daily */
	long seconds;		/* every: the period; after-change: the delay */
};

/* A missed run (the PC was off at backup time) is made this long after start. */
#define SCHED_CATCHUP 60

/* The default schedule: daily 19:30. */
#define SCHED_DEFAULT ((struct sched_spec){ SCHED_DAILY, 19, 30, 0 })

/* sched_parse(text, ret): "daily HH:MM", "every N h|min", "after-change N s|min|h".
 * Returns 0, or -1 when ${text} is not a schedule. */
int sched_parse(const char *text, struct sched_spec *ret);

/* sched_parse_duration(text, ret_seconds): "N s|min|h" (units as after-change). Returns 0,
 * or -1 when ${text} is not a duration. */
int sched_parse_duration(const char *text, long *ret_seconds);

/* sched_format(s, out, n): the schedule as sched_parse reads it. */
void sched_format(const struct sched_spec *s, char *out, size_t n);

/* sched_next(s, last_run, last_change, now): when the next backup is due.
 * ${last_run}: start of the last successful run, 0 for never. ${last_change}: time of the
 * last change not yet backed up, 0 for none. A run that was due while nobody ran it is due
 * SCHED_CATCHUP seconds after ${now}. Returns 0 when nothing is due (after-change with no
 * pending change). */
time_t sched_next(const struct sched_spec *s, time_t last_run, time_t last_change, time_t now);

#endif
