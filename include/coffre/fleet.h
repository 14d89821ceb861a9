/* fleet.h: the federation's view of its shops, with no server of its own. Each shop's coffred
 * puts a signed status object (signdoc kind "status") at PREFIX/status/SHOP.json of the
 * federation's bucket; fleet_run lists them, fetches those that changed since the last run,
 * checks each against the shop's key in the signed registry, and judges what needs
 * attention. Everything fetched is hostile: bounded, verified, dates checked against the
 * server's own clock (Last-Modified), which the shop cannot set. */
#ifndef COFFRE_FLEET_H
#define COFFRE_FLEET_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;

#define FLEET_STATUS_MAX (64 * 1024)	/* a status object larger than this is refused */
#define FLEET_SILENT_AFTER (36 * 3600)	/* no status stored for this long */
#define FLEET_BACKUP_AFTER (36 * 3600)	/* no good backup for this long */
#define FLEET_RESTORE_AFTER (8 * 86400)	/* no proven restore for this long */
#define FLEET_LOCK_SOON (7 * 86400)	/* Object Lock ending within this */

/* What needs attention, one bit each (fleet_problem_name gives their names). */
enum {
	FLEET_NEVER = 1 << 0,		/* in the registry, no status object */
	FLEET_SILENT = 1 << 1,		/* the last one was stored over 36 h ago */
	FLEET_NO_BACKUP = 1 << 2,	/* no good backup in 36 h */
	FLEET_NO_RESTORE = 1 << 3,	/* no proven restore in 8 days */
	FLEET_NOT_LOCKED = 1 << 4,	/* a lock is asked for and no destination has one */
	FLEET_LOCK_ENDING = 1 << 5,	/* the lock of its destinations ends within 7 days */
	FLEET_ALARM = 1 << 6,		/* the ransomware alarm holds */
	FLEET_ALERTS = 1 << 7,		/* alert conditions are open */
	FLEET_BAD_SIG = 1 << 8,		/* not signed by the shop's key, or not readable */
	FLEET_ROLLBACK = 1 << 9,	/* seq lower than one seen before: a replay */
	FLEET_UNKNOWN = 1 << 10,	/* an object for a shop the registry does not hold */
	FLEET_FAILING = 1 << 11,	/* a destination fails */
	FLEET_ESCROW = 1 << 12,		/* its repository is not sealed to the federation's escrow
					 * key (FEDE/escrow.pub): the federation cannot restore it */
	_FLEET_PROBLEMS = 13
};

struct fleet_options {
	const char *dir;		/* FEDE/: federation.pub, registry.json, escrow.pub
					 * (when there: every shop must be sealed to it) */
	const char *bucket;		/* s3://HOST:PORT/BUCKET[/PREFIX] */
	const char *keys_file;		/* the bucket's S3 keys (NULL: FEDE/status-s3.keys) */
	const char *cache_file;		/* NULL: FEDE/fleet-cache.json */
	int64_t now;			/* the time judged at (0: the clock) */
	int require_lock;		/* every shop must have a locked destination */
};

/* One shop, as its last status object says (times in seconds since the epoch, 0: none). */
struct fleet_shop {
	char id[65];
	char name[129];
	unsigned problems;		/* FLEET_* */
	int64_t stored;			/* Last-Modified of its status object, 0: none */
	uint64_t seq;
	int64_t written_at, last_good_backup, last_proven_restore, lock_until;
	char version[40];
	size_t ndests, nalerts;
	char alerts[200];		/* the open conditions, ", " between them */
	/* The escrow keys its repository is sealed to (their ids, repo_escrow_key_id), as its
	 * status says: ${nescrow} of them, the first ones in ${escrow} (", " between them);
	 * ${escrow_reported} 0 when the status does not say (a repository that is not local). */
	int escrow_reported;
	size_t nescrow;
	char escrow[8 * 42];
	char why[200];			/* FLEET_BAD_SIG: what was wrong */
};

struct fleet_report {
	int64_t now;
	struct fleet_shop *shops;	/* registry order, then the unknown ones */
	size_t nshops;
	size_t attention;		/* shops with problems */
	/* what it cost */
	uint64_t listed, fetched, requests, bytes_in;
	double seconds;
};

/* fleet_run(o, ret, err): the fleet as it stands. 0 and ${ret} filled (fleet_report_release);
 * CF_ECORRUPT when the registry is not signed by FEDE/federation.pub or unreadable;
 * CF_EUSAGE, CF_EUNREACH, CF_EKEY, CF_EIO as the bucket answers. The cache is written
 * back (temp, fsync, rename). */
int fleet_run(const struct fleet_options *o, struct fleet_report *ret, struct cf_error *err);
void fleet_report_release(struct fleet_report *r);

/* fleet_problem_name(bit): "never", "silent", ... for FLEET_*, NULL for others. */
const char *fleet_problem_name(unsigned bit);

#endif
