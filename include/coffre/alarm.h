/* alarm.h: a ransomware alarm and what it keeps. The alarm itself (when the attack began,
 * which signals fired, how many files were touched, the clean snapshot) is the daemon's state,
 * kept in the state folder across restarts until a person clears it; the clean snapshot is
 * pinned in the repository with a reason that names the alarm, so that the way back works from
 * the repository alone (`coffre restore --before-attack`), also once the daemon is gone.
 *
 * Contract. 0 or a CF_E* code (error.h), with a message in ${err} when it is not NULL. The
 * alarm file is the daemon's own but read back as untrusted: bounded and checked. */
#ifndef COFFRE_ALARM_H
#define COFFRE_ALARM_H

#include <stdint.h>

struct cf_error;
struct repo;

/* A pin made by an alarm has a reason starting with this. */
#define ALARM_PIN_REASON "ransomware alarm"

struct alarm {
	int active;
	int64_t since;		/* the first suspicious event */
	int64_t raised;		/* when the alarm was raised */
	int64_t raised_ms;	/* the same in ms: when the events decided it */
	unsigned kinds;		/* bit k: detect kind k fired (detect.h) */
	uint64_t touched;	/* files changed, renamed or deleted since ${since} */
	char first_path[512];	/* the first file a signal named, "" if none */
	char clean[65];		/* the pinned clean snapshot (hex id), "" until pinned */
	int64_t clean_time;	/* its time */
};

/* alarm_load(dir, ret, err): ${dir}/alarm.json; no file: an inactive alarm. A damaged file
 * gives an active alarm with what could be read (an alarm is never lost to a bad file). */
int alarm_load(const char *dir, struct alarm *ret, struct cf_error *err);
/* alarm_save(dir, a, err): durably (temp, fsync, rename, folder fsync); an inactive alarm
 * removes the file. */
int alarm_save(const char *dir, const struct alarm *a, struct cf_error *err);

/* alarm_pin(r, a, err): pin the last snapshot made before ${a->since} that is not dated in
 * the future, with a reason naming the alarm; fills ${a->clean} and ${a->clean_time}.
 * CF_ENOENT when there is none (the alarm stays; nothing to pin yet). */
int alarm_pin(struct repo *r, struct alarm *a, struct cf_error *err);

/* alarm_find_pin(r, ret_snap, ret_time, err): the snapshot of the most recent alarm's pin
 * (the pin's own time decides); CF_ENOENT when no alarm ever pinned one. */
int alarm_find_pin(struct repo *r, uint8_t ret_snap[32], int64_t *ret_time,
	struct cf_error *err);

#endif
