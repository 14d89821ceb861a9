/* error.h: engine result codes and the error record passed out to fronts. */
#ifndef COFFRE_ERROR_H
#define COFFRE_ERROR_H

/* Engine functions return 0 or a negative CF_E* code. */
enum cf_code {
	CF_OK = 0,
	CF_EIO = -1,		/* I/O or system error (errno saved) */
	CF_EUSAGE = -2,		/* bad argument from the caller */
	CF_EPARTIAL = -3,	/* done, but some files could not be read */
	CF_ECORRUPT = -4,	/* damaged or tampered data */
	CF_ENOREPO = -10,	/* no repository at that place */
	CF_ELOCKED = -11,	/* repository locked by another process */
	CF_EKEY = -12,		/* credentials refused or not well formed (destination keys, host
				 * key, a recovery or escrow key that is not well formed) */
	CF_EUNREACH = -13,	/* destination unreachable */
	CF_ENOSPC = -14,	/* no space left on the target */
	CF_ENOENT = -15,	/* object or snapshot not found */
	CF_ENOMEM = -16,
	CF_EPASSWORD = -17,	/* wrong password or key: it unseals no key of the repository */
	CF_EPROTECTED = -18,	/* the destination refuses to delete: Object Lock until a date */
	CF_ECANCELED = -19,	/* stopped on request (a signal), after cleaning up */
	CF_EDENIED = -20,	/* the destination refuses deletions with these keys (they may
				 * write and read there, not delete: docs/FEDERATION.md) */
};

/* Process exit codes, one table (documented in coffre(1)). */
enum cf_exit {
	CF_EXIT_OK = 0,
	CF_EXIT_ERROR = 1,
	CF_EXIT_USAGE = 2,
	CF_EXIT_PARTIAL = 3,
	CF_EXIT_INTEGRITY = 4,
	CF_EXIT_SUSPECT = 5,	/* a ransomware alarm holds, or a backup saw an attack's marks */
	CF_EXIT_DRILL = 6,	/* a restore drill failed: a destination did not give back what its
				 * snapshots promise */
	CF_EXIT_NOREPO = 10,
	CF_EXIT_LOCKED = 11,
	CF_EXIT_KEY = 12,
	CF_EXIT_UNREACH = 13,
};

struct cf_error {
	int code;		/* CF_E* */
	int sys_errno;		/* errno at the failure, or 0 */
	char msg[512];		/* one line, no trailing newline */
};

/* cf_error_set(err, code, fmt, ...): record ${code} and a message in ${err} (may be NULL);
 * returns ${code} so callers can write "return cf_error_set(...)". */
int cf_error_set(struct cf_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* cf_error_sys(err, code, fmt, ...): like cf_error_set, appending strerror(errno); maps
 * ENOSPC/EDQUOT to CF_ENOSPC. */
int cf_error_sys(struct cf_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* cf_exit_code(code): the process exit code for an engine result (CF_EKEY and CF_EPASSWORD
 * both give CF_EXIT_KEY). */
int cf_exit_code(int code);

/* cf_code_str(code): what ${code} means, in a few English words ("wrong password or key");
 * a static string, "unknown error" for a value that is no CF_E* code. */
const char *cf_code_str(int code);

#endif
