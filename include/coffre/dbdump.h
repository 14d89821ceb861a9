/* dbdump.h: database servers (MariaDB, PostgreSQL) dumped and restored through their own
 * clients (mariadb, mariadb-dump; psql, pg_dump), run without a shell, the password passed
 * in a private file (never on the command line or in MYSQL_PWD).
 *
 * A dump's bytes are read by the caller from a pipe (dbdump_start), so nothing is written
 * to disk on the way into the snapshot; the caller shows every byte it reads to
 * dbdump_feed, and dbdump_finish says whether the dump is complete: the client exited 0
 * and the text ends with the client's trailer. Threads: one thread a struct dbdump. */
#ifndef COFFRE_DBDUMP_H
#define COFFRE_DBDUMP_H

#include <stddef.h>

struct cf_error;

enum dbdump_kind {
	_DBDUMP_KIND_INVALID = -1,
	DBDUMP_MARIADB = 0,
	DBDUMP_POSTGRESQL = 1,
	_DBDUMP_KIND_MAX
};

/* A [database NAME] section of the configuration (a value record; cfg owns the strings). */
struct dbdump_source {
	char *name;		/* the section's name: the snapshot's folder databases/NAME */
	int kind;		/* enum dbdump_kind */
	char *socket;		/* MariaDB: the socket file; PostgreSQL: its folder, or the
				 * socket file .s.PGSQL.PORT itself */
	char *host;		/* or a host name, with port (0: the client's default) */
	int port;
	char *user;		/* NULL: the client's default (peer authentication) */
	char *password_file;	/* first line is the password; NULL: none */
	char **databases;	/* NULL: every database but the server's own */
	size_t ndatabases;
	char *client_dir;	/* the folder of the client programs; NULL: PATH */
};

/* The dump file of each database is DB DBDUMP_SUFFIX in the snapshot's databases/NAME/. */
#define DBDUMP_DIR "databases"
#define DBDUMP_SUFFIX ".sql"

struct dbdump;

/* dbdump_kind_parse(s): the kind named "mariadb" (or "mysql") or "postgresql" (or
 * "postgres"), or _DBDUMP_KIND_INVALID. */
int dbdump_kind_parse(const char *s);
/* dbdump_kind_name(kind): "mariadb" or "postgresql". */
const char *dbdump_kind_name(int kind);

/* dbdump_open(src, ret, err): a session with the server of ${src} (borrowed until
 * dbdump_free): its password, if any, copied into a private file for the clients. Nothing
 * is run yet. 0, or CF_EIO / CF_ENOMEM (the password file cannot be read). */
int dbdump_open(const struct dbdump_source *src, struct dbdump **ret, struct cf_error *err);
/* dbdump_free(d): ends any client still running, removes the private files. NULL is fine. */
void dbdump_free(struct dbdump *d);

/* dbdump_list(d, all, ret, ret_n, err): the databases to dump: the configured ones, or
 * (none configured, or ${all}) those the server lists, but for its own (information_schema,
 * performance_schema, mysql, sys; template0, template1, postgres) unless ${all}. Sorted;
 * ${*ret} is a malloc'd array of malloc'd names (dbdump_names_free). 0, or CF_EIO with the
 * reason in ${err} (server down, password refused, client missing). */
int dbdump_list(struct dbdump *d, int all, char ***ret, size_t *ret_n, struct cf_error *err);
void dbdump_names_free(char **names, size_t n);
/* dbdump_name_ok(kind, db): 1 when ${db} can be dumped and stored as a file name (no '/',
 * not starting with '-', printable, at most 200 bytes). */
int dbdump_name_ok(int kind, const char *db);

/* dbdump_start(d, db, ret_fd, err): start the dump of ${db}; ${*ret_fd} is the read end of
 * its output, the caller's to read to its end and close. Returns 0, or CF_EIO (the client
 * cannot be run: the reason in ${err}). One dump at a time per session. */
int dbdump_start(struct dbdump *d, const char *db, int *ret_fd, struct cf_error *err);
/* dbdump_feed(ctx, p, n): the caller read these ${n} bytes of the dump (${ctx} is the
 * struct dbdump; the signature fits a read callback). */
void dbdump_feed(void *ctx, const void *p, size_t n);
/* dbdump_finish(d, abort, err): wait for the dump's client (ended first when ${abort}).
 * Returns 0 when the dump is complete; CF_EIO when it is not, the reason in ${err} (the
 * server was down, refused the password, the client is missing, was killed, or the text
 * lacks its trailer). */
int dbdump_finish(struct dbdump *d, int abort, struct cf_error *err);

/* dbdump_trailer_ok(kind, tail, n): 1 when the last ${n} bytes of a dump end the way a
 * complete dump of ${kind} ends ("-- Dump completed" for mariadb-dump, "-- PostgreSQL
 * database dump complete" for pg_dump, then only comment or blank lines). */
int dbdump_trailer_ok(int kind, const char *tail, size_t n);

/* dbdump_create(d, db, err): create the empty database ${db}. 0 or CF_EIO. */
int dbdump_create(struct dbdump *d, const char *db, struct cf_error *err);
/* dbdump_load_start(d, db, ret_fd, err): start the client that loads a dump into ${db}
 * (in one transaction where the server can); ${*ret_fd} is the write end of its input, the
 * caller's to write the dump to and close. Then dbdump_load_finish. */
int dbdump_load_start(struct dbdump *d, const char *db, int *ret_fd, struct cf_error *err);
/* dbdump_load_finish(d, err): wait for the loading client; 0 when it exited 0, else CF_EIO
 * with its error in ${err}. */
int dbdump_load_finish(struct dbdump *d, struct cf_error *err);

/* ---- proving a dump (restore drills) ---- */

/* dbdump_file_scan(kind, fd, ret_tables): reads the dump file ${fd} from its current offset
 * to its end: 1 when it ends with the trailer of ${kind} (dbdump_trailer_ok; either kind's
 * when ${kind} is _DBDUMP_KIND_INVALID), 0 when it does not, CF_EIO when it cannot be read.
 * ${*ret_tables}: the CREATE TABLE statements that start a line (what a load creates). */
int dbdump_file_scan(int kind, int fd, unsigned long long *ret_tables);

/* Scratch databases are named DBDUMP_SCRATCH_PREFIX TAG "_" 8 random hex digits. */
#define DBDUMP_SCRATCH_PREFIX "coffre_drill_"
#define DBDUMP_NOT_TRIED 1

struct dbdump_scratch {
	char name[64];			/* the scratch database ("" when none was made) */
	unsigned long long tables;	/* loaded: the tables it held */
	int drop_failed;		/* it could not be dropped: drop_msg says why */
	char drop_msg[256];
};

/* dbdump_scratch_load(d, tag, fd, cancel, ret, err): proves that the dump read from ${fd}
 * loads into the server of ${d}: creates a new scratch database (never an existing one),
 * loads the dump into it, counts its tables, and drops it, whatever happened once it was
 * made. ${tag} (letters and digits, at most 16) names whose scratch databases they are:
 * those a killed run left behind under the same tag are dropped first. ${cancel} (may be
 * NULL): once non-zero, the client is ended and the database dropped. Returns 0 loaded
 * (ret->tables); DBDUMP_NOT_TRIED when no scratch database could be made (the server does
 * not answer, a client is missing, the user may not create a database: why in ${err});
 * CF_EIO when the load or the count failed (why in ${err}); CF_ECANCELED; CF_ENOMEM. */
int dbdump_scratch_load(struct dbdump *d, const char *tag, int fd, const volatile int *cancel,
	struct dbdump_scratch *ret, struct cf_error *err);

#endif
