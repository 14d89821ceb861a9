/* state.h: the daemon's state, the one owner of its schema: status.json (also the reply of
 * the control socket's status request), the acknowledgement of a backup request, and the
 * run history (history.db). coffred writes them; coffre status, coffre log and coffre backup
 * --now read them. No other code spells their JSON keys or their SQL.
 *
 * Threads: no function keeps global state; a struct is not shared between threads without
 * a lock. Each history call opens and closes its own SQLite connection (nothing is cached
 * across a fork, a reload or a replaced file).
 *
 * Bytes read back (the status file, a socket reply, history rows) are untrusted: the parsers
 * are bounded (STATE_STATUS_MAX, the fixed string sizes below) and refuse wrong types with
 * CF_ECORRUPT; absent keys and nulls read as zero, "" or false. */
#ifndef COFFRE_STATE_H
#define COFFRE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/alarm.h"
#include <time.h>

struct backup_stats;
struct cf_error;

#define STATE_WARN_KEPT 5		/* warning messages a run keeps */
#define STATE_MAX_DESTS 64		/* destinations a status may list */
#define STATE_STATUS_MAX (16u << 20)	/* largest status accepted, in bytes */

/* The result of one run: the status's "last_backup", a history row. */
struct state_run {
	uint64_t run;		/* the daemon's run number (0: read back from the status file) */
	time_t start;
	char time[40];		/* ${start} in the daemon's local time; "": made from ${start} */
	double duration;	/* seconds */
	char result[16];	/* ok, partial, failed, cancelled */
	char snapshot[65];	/* hex id; "": none */
	uint64_t files, files_new, files_changed;
	uint64_t bytes_read, bytes_added, entries, dirs_reused, warnings;
	uint64_t suspect_format, suspect_random, suspect_notes;	/* backup_stats' */
	char suspect_path[256];
	int full_scan;
	char error[600];	/* "": none */
	char missing[600];	/* protected folders left out because missing; "": none */
	int nwarn;
	char warn[STATE_WARN_KEPT][300];	/* the first warnings */
	int retention;		/* retention ran */
	char retention_error[600];
	uint64_t spool_cleared;	/* bytes of data packs removed from the spool */
	char spool_clear_error[600];
};

/* Where a destination stands, kept across runs and restarts. Times: 0 means never. */
struct state_dest {
	char name[65];
	char url[600];
	char result[16];	/* "" (never tried), complete, unreachable, refused, full, failed,
				 * cancelled */
	time_t last_attempt, last_complete;
	time_t pending_since;	/* the oldest backup it lacks; 0: none */
	uint64_t sent, sent_bytes, pending, pending_bytes;
	int object_lock;
	char lock_note[160];
	char error[600];
	/* Its retention, as the last push carried it out: */
	uint64_t removed_snapshots;	/* by the last push */
	uint64_t lock_waiting;		/* deletions Object Lock refused: retried later */
	uint64_t denied;		/* deletions its keys may not make (CF_EDENIED): its
					 * retention is left to its owner */
	uint64_t thinned;		/* snapshots removed early because it was full */
	int too_small;			/* full even with only the floor's snapshots */
	time_t lock_until;		/* the earliest retain-until of what it needs, 0: unknown */
	int lock_failed;		/* the last push could not extend the locks */
	/* Its last restore drill (drill.h), as coffred ran it: */
	char drill_result[16];		/* "" (none yet), ok, failed, error (it could not run) */
	time_t drill_time, drill_last_ok;	/* when it ended; the last one that passed */
	uint64_t drill_files, drill_bytes, drill_failures;
	double drill_seconds, drill_throughput;	/* bytes fetched per second */
	double drill_estimate;		/* seconds a full restore from it would take */
	char drill_error[300];		/* the first problem, or why it could not run */
	time_t drill_full_time;		/* the last full drill coffred made of it */
	uint64_t drill_db_too_big;	/* databases its last budgeted drill could not hold */
};

/* The run going on. */
struct state_progress {
	uint64_t run;
	time_t start;
	int full_scan;
	uint64_t files, entries, bytes_read, bytes_added;
	double duration;
	char current[512];	/* the file being read */
};

/* A protected folder and whether it is watched ("watched", "missing", "not watched"). */
struct state_watched {
	char *path;
	char state[16];
};

#define STATE_ALERTS_MAX 16

/* The whole status. A struct state_status owns ${config}, ${repository}, ${watched} (and
 * each path) and ${dests}: zero it, fill it with malloc'd memory, state_status_release()
 * it. Times: 0 means none. */
struct state_status {
	char state[16];		/* idle, running */
	int64_t pid;
	uint64_t runs;		/* runs started since the daemon started */
	int running;		/* ${progress} is set */
	struct state_progress progress;
	int backup_requested;
	char *config, *repository;
	char schedule[64];
	int has_last;		/* ${last} is set */
	struct state_run last;
	time_t last_success, next_backup;
	int retry;		/* the next backup retries a failed one */
	char next_backup_time[40];	/* ${next_backup} in the daemon's local time; "": made
					 * from ${next_backup} */
	uint64_t dirty_folders;
	int full_scan_due;
	time_t last_change;
	struct state_watched *watched;
	size_t nwatched;
	uint64_t watches;
	int watch_incomplete;
	uint64_t unwatched_folders, overflows;
	time_t last_full_scan;
	int next_is_push_retry, clear_spool;
	struct state_dest *dests;
	size_t ndests;
	time_t last_retention;
	struct alarm alarm;	/* the ransomware alarm; alarm.active 0: none */
	/* The alert conditions open now ([alert] configured), each with its message's subject
	 * in the configured language. */
	size_t nalerts;
	struct state_alert {
		char cond[16];
		time_t since;
		char message[300];
	} alerts[STATE_ALERTS_MAX];
	/* Their delivery: events waiting in the queue, and why the last try of one failed. */
	uint64_t alerts_waiting;
	char alerts_error[512];	/* "": none */
	/* The status page (page.c): its port on 127.0.0.1, 0 when off, and the file holding
	 * the token of its actions (the token itself is never in the status). */
	int page_port;
	char page_token_file[600];
};

/* state_run_set_stats(s, st): the counts of a backup's ${st} into the run ${s}. */
void state_run_set_stats(struct state_run *s, const struct backup_stats *st);

/* state_status_release(s): free what ${s} owns and zero it. */
void state_status_release(struct state_status *s);

/* state_status_path(state_dir), state_history_path(state_dir): the files in ${state_dir}
 * (malloc'd), or NULL when out of memory. */
char *state_status_path(const char *state_dir);
char *state_history_path(const char *state_dir);

/* state_status_format(s, ret_text, err): ${s} as JSON text (malloc'd, indented, no final
 * newline), the bytes of status.json and of the control socket's reply. Returns 0 or
 * CF_ENOMEM. */
int state_status_format(const struct state_status *s, char **ret_text, struct cf_error *err);

/* state_status_format_last(s, ret_text, err): the last run of ${s} with its destinations
 * added, as coffre backup --now --json shows it. 0, CF_ENOENT (no last run) or CF_ENOMEM. */
int state_status_format_last(const struct state_status *s, char **ret_text,
	struct cf_error *err);

/* state_status_parse(bytes, len, ret, err): read a status from ${len} untrusted ${bytes}
 * (no NUL needed). On success ${*ret} is filled (the caller releases it). Returns 0;
 * CF_ECORRUPT (not a status: bad JSON, a wrong type, a string too long for its field, too
 * many items, over STATE_STATUS_MAX bytes) or CF_ENOMEM; then ${*ret} is untouched. */
int state_status_parse(const char *bytes, size_t len, struct state_status *ret,
	struct cf_error *err);

#define STATE_NOSYNC 1	/* atomic, not durable: no fsync */
/* state_status_write(path, s, flags, err): format ${s} and replace the file ${path}
 * atomically (durably unless STATE_NOSYNC). Returns 0 or CF_E*. */
int state_status_write(const char *path, const struct state_status *s, int flags,
	struct cf_error *err);

/* state_status_read(path, ret, err): read and parse the file ${path}. 0 (${*ret} filled, the
 * caller releases it), CF_ENOENT, CF_EIO, CF_ECORRUPT or CF_ENOMEM. */
int state_status_read(const char *path, struct state_status *ret, struct cf_error *err);

/* The reply to a backup request. */
struct state_ack {
	int ok;
	uint64_t run;		/* the run to wait for */
	int after_running;	/* it starts when the running one ends */
	char error[200];	/* when not ${ok} */
};

/* state_ack_format(a, ret_text, err): ${a} as one line of JSON (malloc'd). 0 or CF_ENOMEM. */
int state_ack_format(const struct state_ack *a, char **ret_text, struct cf_error *err);

/* state_ack_parse(bytes, len, ret, err): as state_status_parse, for a backup reply.
 * Returns 0 or CF_ECORRUPT; ${*ret} is written only on success. */
int state_ack_parse(const char *bytes, size_t len, struct state_ack *ret,
	struct cf_error *err);

/* One row of the history. */
struct state_history_row {
	time_t start;
	double duration;
	char result[16];	/* "": none recorded */
	char snapshot[65];	/* "": none */
	uint64_t files, bytes_read, bytes_added, entries, dirs_reused;
	int full_scan;
	char message[600];	/* the run's error; "": none (longer ones are cut) */
};

/* The history calls below open the database ${path} for the call alone, with a busy timeout,
 * and close it before they return; they work whatever its journal mode (rollback or WAL).
 * Their ${err} message is SQLite's explanation alone, for the caller to put in a sentence
 * that names the file: CF_EIO means the file could not be opened, CF_ECORRUPT that it could
 * not be read or written as a history. */

/* state_history_append(path, r, err): record ${r}, creating the database if needed, and keep
 * only the last 1000 runs or so. Returns 0, CF_EIO, CF_ECORRUPT or CF_ENOMEM. */
int state_history_append(const char *path, const struct state_run *r, struct cf_error *err);

/* state_history_read(path, limit, ret_rows, ret_n, err): the last ${limit} runs, oldest
 * first, read only (never created). ${*ret_rows} is malloc'd (free() it; NULL when none).
 * Returns 0, CF_EIO, CF_ECORRUPT or CF_ENOMEM. */
int state_history_read(const char *path, size_t limit, struct state_history_row **ret_rows,
	size_t *ret_n, struct cf_error *err);

/* state_history_format(rows, n, ret_text, err): ${rows} as a JSON array (malloc'd, indented,
 * no final newline), as coffre log --json shows them. 0 or CF_ENOMEM. */
int state_history_format(const struct state_history_row *rows, size_t n, char **ret_text,
	struct cf_error *err);

/* The history by day (a table of history.db kept beside the runs, STATE_DAYS_KEPT days):
 * how many backups made a snapshot, how many failed, and the bytes they added. */
#define STATE_DAYS_KEPT 62
struct state_day {
	time_t day;		/* local midnight that starts it */
	uint64_t backups, failed, bytes_added;
};

/* state_days_add(path, r, err): count the run ${r} in its day (local time). Returns 0,
 * CF_EIO, CF_ECORRUPT or CF_ENOMEM. */
int state_days_add(const char *path, const struct state_run *r, struct cf_error *err);

/* state_days_read(path, now, n, ret, err): the ${n} days up to the one of ${now}, oldest
 * first, in ${ret} (n entries; days without runs are zero). A history that does not exist
 * reads as empty. Returns 0, CF_EIO or CF_ECORRUPT. */
int state_days_read(const char *path, time_t now, size_t n, struct state_day *ret,
	struct cf_error *err);

#endif
