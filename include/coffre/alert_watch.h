/* alert_watch.h: the life of the daemon's conditions (start, reminders, end), decided from the
 * clock and what the state says, and kept in STATE_DIR/alert-watch.json so that a restart (or
 * a crash loop) neither repeats a start nor forgets one.
 *
 * Threads: no global state. The file is untrusted when read back: bounded, checked. */
#ifndef COFFRE_ALERT_WATCH_H
#define COFFRE_ALERT_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/alert.h"

struct cf_error;

#define ALERT_WATCH_FILE "alert-watch.json"
#define ALERT_WATCH_MAX 65536	/* bytes of the file */

/* One condition (times in seconds since the epoch; 0: never). */
struct alert_open {
	int open;
	int64_t since;		/* when it began */
	int64_t last_sent;	/* its start or its last reminder */
};

/* A condition of one destination (behind, full, refused, lock). */
struct alert_dest_open {
	enum alert_cond cond;
	char dest[ALERT_DEST_MAX];
	struct alert_open o;
};

#define ALERT_WATCH_DESTS 256	/* destination conditions kept (64 destinations, 4 each) */

struct alert_watch {
	int64_t first_seen;	/* when coffred first watched: "since" while no backup ever
				 * succeeded */
	struct alert_open c[_ALERT_COND_MAX];	/* the conditions of the whole shop */
	struct alert_dest_open d[ALERT_WATCH_DESTS];	/* open ones first, ${nd} of them */
	size_t nd;
	int fail_streak;	/* backups in a row that failed or left files out... */
	int64_t fail_since;	/* ...since the first of them: a crash loop does not reset it */
};

/* alert_watch_dest(w, cond, dest, create): the entry of ${cond} on ${dest}; when there is
 * none, a new closed one if ${create} (NULL when full or not ${create}). */
struct alert_open *alert_watch_dest(struct alert_watch *w, enum alert_cond cond,
	const char *dest, int create);
/* alert_watch_tidy(w): drops the closed destination entries. */
void alert_watch_tidy(struct alert_watch *w);

/* alert_watch_step(o, now, ref, after, reminder, ret_next): where condition ${o} stands at
 * ${now}, when the last good thing happened at ${ref} (a backup, a push) and the condition
 * holds from ${ref} + ${after} on: starts it (ALERT_START), recalls it every ${reminder}
 * (ALERT_REMINDER), ends it (ALERT_END) once ${ref} is recent again, and updates ${o}.
 * Returns the state of the event to send, or _ALERT_STATE_INVALID when none; ${ret_next}
 * gets when to look again (nothing changes before, whatever the clock does meanwhile). */
enum alert_state alert_watch_step(struct alert_open *o, int64_t now, int64_t ref, long after,
	long reminder, int64_t *ret_next);

/* alert_watch_load(dir, ret, err): the file in ${dir}; a missing file gives an empty watch.
 * Returns 0, CF_ECORRUPT (out of shape: the caller starts afresh) or CF_EIO.
 * alert_watch_save(dir, w, err): written durably (temp, fsync, rename). */
int alert_watch_load(const char *dir, struct alert_watch *ret, struct cf_error *err);
int alert_watch_save(const char *dir, const struct alert_watch *w, struct cf_error *err);
/* alert_watch_parse(p, len, ret): the file's bytes (untrusted). 0 or CF_ECORRUPT. */
int alert_watch_parse(const uint8_t *p, size_t len, struct alert_watch *ret);

#endif
