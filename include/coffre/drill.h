/* drill.h: restore drills. A drill opens one destination as a fresh machine would (no local
 * cache, no spool: the index and trees come from the destination, the keys are unwrapped from
 * its own keys/), restores a part of its latest snapshot, chosen within a byte budget, into a
 * private scratch folder, checks what came back, and removes the folder. What it restores, in
 * this order, while the budget lasts:
 *   1. every SQLite database of the latest snapshot, chosen by name (*.db, *.sqlite,
 *      *.sqlite3: the content is not known before it is fetched); after the restore, every
 *      restored file that starts with the SQLite magic gets PRAGMA integrity_check, so a
 *      database under another name is checked whenever the rotation brings it;
 *   2. the files that changed since the snapshot the previous drill of that destination
 *      restored;
 *   3. a rotating sample of the rest: the snapshot's files ordered by a keyed hash of their
 *      path (a random key per destination, kept in the drill state), continued from where
 *      the previous drill stopped, wrapping round, so that successive drills cover every
 *      file;
 *   and a tenth of the budget for a sample of the oldest snapshot kept (its packs are the
 *   oldest, those that rot), rotating the same way.
 * The budget counts the sealed frames the chosen files need from the packs (a frame shared
 * by two files counts once), which is what the destination is asked for; the index, the
 * trees, the keys and the snapshots come on top (report: bytes_metadata).
 *
 * Database dumps (/databases/NAME/DB.sql, made by backups of [database NAME] sections) are
 * chosen with the SQLite databases, under the same rule for those too big for the budget.
 *
 * Checks: every restored file against the content ids of the snapshot (the restore's verify
 * pass); against the live file with SHA-256 when the live file still has the size and
 * modification time the snapshot recorded; its metadata (size, mode, modification time, and
 * owner when run as root); SQLite databases with PRAGMA integrity_check (read-only); each
 * database dump by its trailer (the client's last line: the dump is whole), then, when
 * opts.dbs has its server and the server answers, by a load into a scratch database of that
 * server (DBDUMP_SCRATCH_PREFIX..., never an existing one), whose tables are counted against
 * the dump's CREATE TABLE statements before it is dropped (also on a cancel). A dump with no
 * server to load it into is proven by its trailer alone: not a failure.
 *
 * State: STATE_DIR/drill/<name>-<hash of the URL>.json, one per destination, written temp +
 * fsync + rename; a damaged one is started afresh (a warning in the report).
 *
 * Contract. The engine prints nothing. drill_run returns 0 when the drill ran, whether it
 * passed or not (report->ok), CF_ECANCELED when *cancel was set (scratch removed, lock
 * released, state unchanged), or the CF_E* that kept it from running (the destination
 * unreachable, no repository, a wrong password, locked, CF_ELOCKED too when a drill of the
 * same destination is under way on this machine, ...): then report->code and
 * report->err say so. The report is written in every case but CF_ENOMEM. One thread; the
 * options are borrowed for the call. The destination is locked shared (as a restore), so a
 * backup or push beside it is safe. */
#ifndef COFFRE_DRILL_H
#define COFFRE_DRILL_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/error.h"

struct dbdump_source;
struct dst_options;
struct repo_cred;

/* The default budget: the smaller of DRILL_BUDGET_MAX and 1/DRILL_BUDGET_SHARE (5%) of the
 * latest snapshot's size. */
#define DRILL_BUDGET_MAX (256ull << 20)
#define DRILL_BUDGET_SHARE 20
/* The part of the budget (1/DRILL_OLDEST_SHARE) given to the oldest snapshot's sample. */
#define DRILL_OLDEST_SHARE 10
/* At most this many failures are listed in a report (all are counted). */
#define DRILL_MAX_FAILURES 1000

struct drill_opts {
	const char *url;			/* the destination (dst.h) */
	const struct dst_options *dst_opt;	/* its settings; NULL: none */
	const char *name;			/* its [destination NAME], or NULL */
	const struct repo_cred *cred;		/* password or recovery key (key_cache ignored:
						 * a drill always unwraps a key file) */
	const char *state_dir;			/* the drill state goes in STATE_DIR/drill */
	const char *scratch_dir;		/* where the scratch folder is made; NULL:
						 * STATE_DIR/drill */
	uint64_t budget;			/* bytes; 0: the default */
	int full;				/* restore the whole latest snapshot */
	int list;				/* report the paths restored (report->drilled) */
	int64_t now;				/* seconds since the epoch; 0: the clock */
	const struct dbdump_source *dbs;	/* the servers the dumps are loaded into (the
						 * [database NAME] sections); NULL: none */
	size_t ndbs;
	const volatile int *cancel;		/* stop, clean up and return CF_ECANCELED once
						 * non-zero (a signal handler may set it) */
	/* What the drill is doing ("open", "index", "select", "restore", "check",
	 * "load" (a dump into a scratch database), "oldest"), with a count where one
	 * helps (may be NULL). */
	void (*progress)(void *ctx, const char *phase, uint64_t done, uint64_t total);
	void *ctx;
};

/* What was wrong, for one failure. */
enum drill_failure_kind {
	DRILL_F_CONTENT = 1,	/* restored bytes are not those the content ids name */
	DRILL_F_MISSING_PACK,	/* a pack the index names is not on the destination */
	DRILL_F_DAMAGED_PACK,	/* a pack's frame is damaged: fails authentication, truncated */
	DRILL_F_INDEX,		/* an index object cannot be read, or names not a blob needed */
	DRILL_F_TREE,		/* a tree (directory or chunk list) is missing or unreadable */
	DRILL_F_SNAPSHOT,	/* no snapshot, or one that cannot be read */
	DRILL_F_SQLITE,		/* PRAGMA integrity_check did not say ok */
	DRILL_F_LIVE,		/* differs from the live file, which is unchanged since */
	DRILL_F_METADATA,	/* size, mode, modification time or owner differ */
	DRILL_F_REFUSED,	/* the restore refused the entry (an unsafe name) */
	DRILL_F_OTHER,
	DRILL_F_DUMP,		/* a database dump lacks its trailer, or does not load */
	_DRILL_F_MAX
};

struct drill_failure {
	int kind;		/* enum drill_failure_kind */
	char snapshot[65];	/* the snapshot's id, "" when it concerns the destination */
	char *path;		/* the path in the snapshot, or the object ("index/<id>") */
	char *msg;
};

/* How a database dump was proven. */
enum drill_dump_proof {
	DRILL_DUMP_TRAILER = 1,	/* by its trailer alone: no server to load it into (note) */
	DRILL_DUMP_LOADED,	/* loaded into a scratch database, its tables counted */
	DRILL_DUMP_FAILED	/* a failure (note; listed with the failures too) */
};

struct drill_dump {
	char *path;		/* in the snapshot: /databases/NAME/DB.sql */
	char snapshot[65];
	int proof;		/* enum drill_dump_proof */
	uint64_t bytes;
	uint64_t creates;	/* the dump's CREATE TABLE statements */
	uint64_t tables;	/* loaded: the tables of the scratch database */
	double load_seconds;	/* the scratch database made, loaded, counted, dropped */
	char *note;		/* why it was not loaded, or what failed; "" when none */
};

/* Files chosen, by reason. */
struct drill_counts {
	uint64_t databases, changed, rotation, oldest;
};

struct drill_report {
	char *destination;	/* the name, or the URL */
	char *url;
	int code;		/* 0 when the drill ran; else the CF_E* that stopped it (err) */
	struct cf_error err;
	int ok;			/* ran and found nothing wrong */
	int full;
	char snapshot[65];	/* the latest snapshot drilled ("" when none) */
	int64_t snapshot_time;
	char oldest[65];	/* the oldest snapshot sampled ("" when none or the latest) */
	int64_t started;	/* seconds since the epoch */
	double seconds;		/* wall time of the whole drill */
	uint64_t budget;
	uint64_t bytes_selected;	/* frames the chosen files need (what the budget counts) */
	uint64_t bytes_metadata;	/* fetched before the restore: keys, snapshots, index, trees */
	uint64_t bytes_fetched;		/* fetched in all */
	uint64_t files, bytes;		/* restored and checked */
	struct drill_counts chosen;
	uint64_t snapshot_files, snapshot_bytes;	/* the latest snapshot's regular files */
	uint64_t sqlite_checked, live_compared, metadata_checked;
	/* Files, and SQLite databases among them, that no part of the budget could ever hold:
	 * only a full drill restores them (coffred makes one a month while there are such
	 * databases). */
	uint64_t too_big, databases_too_big;
	double throughput;			/* bytes_fetched / seconds */
	double estimate_full_restore_seconds;	/* the metadata's time, then snapshot_bytes at
						 * the pace of this drill's restore */
	uint64_t nfailures;			/* all of them */
	struct drill_failure *failures;		/* the first DRILL_MAX_FAILURES */
	size_t nlisted;
	char **warnings;			/* budget skips, a state file started afresh */
	size_t nwarnings;
	char **drilled;				/* with opts.list: the paths restored */
	size_t ndrilled;
	struct drill_dump *dumps;		/* each database dump restored and checked */
	size_t ndumps;
	uint64_t dumps_loaded, dumps_trailer;	/* proven by a load, by the trailer alone */
	double load_seconds;			/* all the loads */
};

/* drill_run(o, ret, err): one drill of o->url (see the contract above). ${*ret} (the
 * caller's, drill_report_free) is set in every case but CF_ENOMEM; ${err} holds the message
 * of a non-zero result. */
int drill_run(const struct drill_opts *o, struct drill_report **ret, struct cf_error *err);

/* drill_report_json(r, ret_text): the report as JSON text (malloc'd, the caller's). Keys as
 * the fields above, "result" ("ok", "failed" or "error"), "failures" as a list of
 * {kind, snapshot, path, message}, "dumps" as a list of {path, snapshot, proof ("loaded",
 * "trailer" or "failed"), bytes, create_tables, tables, load_seconds, note}. Returns 0 or
 * CF_ENOMEM. */
int drill_report_json(const struct drill_report *r, char **ret_text);
/* drill_failure_kind_str(kind): "content", "missing_pack", "damaged_pack", "index", "tree",
 * "snapshot", "sqlite", "live", "metadata", "refused", "other", "dump". */
const char *drill_failure_kind_str(int kind);
void drill_report_free(struct drill_report *r);

/* What the state keeps of the last drill of a destination. */
enum drill_result { DRILL_RESULT_NONE = 0, DRILL_RESULT_OK, DRILL_RESULT_FAILED };
struct drill_last {
	int result;		/* enum drill_result */
	int64_t when;		/* end of the last drill */
	int64_t last_ok;	/* end of the last drill that passed, 0: none */
	char snapshot[65];	/* the snapshot it restored */
	int full;
	uint64_t files, bytes, bytes_fetched, failures;
	double seconds, throughput;
};

/* drill_last(state_dir, name, url, ret, err): what the state says of the last drill of the
 * destination ${url} (named ${name} or NULL). Returns 0; CF_ENOENT when none ran;
 * CF_ECORRUPT when the state file is damaged; CF_EIO. */
int drill_last(const char *state_dir, const char *name, const char *url, struct drill_last *ret,
	struct cf_error *err);

#endif
