/* dbdump_internal.h: what dbdump.c (the session, the clients' arguments) and dbdump_proc.c
 * (running a client, reading why it failed) share. */
#ifndef COFFRE_DBDUMP_INTERNAL_H
#define COFFRE_DBDUMP_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "coffre/dbdump.h"

struct buf;
struct cf_error;

/* The last bytes of a dump, for its trailer: pg_dump's ends with a line of 70-odd
 * characters (\unrestrict KEY) after its marker. */
#define DBDUMP_TAIL 512

/* A client program running. */
struct dbproc {
	pid_t pid;		/* 0: none */
	int errfd;		/* its stderr, a memfd; -1 when none */
	char prog[32];		/* its name, for messages */
};

struct dbdump {
	const struct dbdump_source *src;
	char *dir;		/* the private folder of the credentials, NULL if none */
	char *secret_file;	/* the password for the clients: a MariaDB option file
				 * ([client] password=) or a PostgreSQL PGPASSFILE */
	char **envp;		/* the clients' environment (PGPASSFILE set there) */
	struct dbproc run;	/* the dump or the load under way */
	char tail[DBDUMP_TAIL];
	size_t taillen;
	unsigned long long bytes;
};

/* A client's arguments. */
#define DBDUMP_ARGS_MAX 24
struct dbdump_args {
	char *v[DBDUMP_ARGS_MAX + 1];
	size_t n;
	int oom;		/* an argument was lost: the list must not be run */
};
/* dbdump_arg_take(a, s): takes ${s} (malloc'd, NULL when out of memory) as the next
 * argument; dbdump_arg(a, fmt, ...) formats it. */
void dbdump_arg_take(struct dbdump_args *a, char *s);
#define dbdump_arg(a, ...) dbdump_arg_take((a), util_path(__VA_ARGS__))
void dbdump_args_free(struct dbdump_args *a);
/* dbdump_args_connect(d, a, prog): ${prog} and how it reaches the server and as whom. */
void dbdump_args_connect(const struct dbdump *d, struct dbdump_args *a, const char *prog);
/* dbdump_args_load(d, a, db): the client that loads a dump read on its stdin into ${db}. */
void dbdump_args_load(const struct dbdump *d, struct dbdump_args *a, const char *db);
/* dbdump_capture(d, a, what, out, err): runs ${a} with its output read into ${out}
 * (NUL-ended, at most 1 MiB); 0 or CF_EIO (${what} names the work in the message). */
int dbdump_capture(struct dbdump *d, struct dbdump_args *a, const char *what, struct buf *out,
	struct cf_error *err);
/* dbdump_query(d, db, sql, what, out, err): runs ${sql} through mariadb or psql (in ${db};
 * NULL: the server's default, postgres for PostgreSQL), its rows, tab-separated without
 * headers, into ${out} (dbdump_capture). */
int dbdump_query(struct dbdump *d, const char *db, const char *sql, const char *what,
	struct buf *out, struct cf_error *err);
/* dbdump_quote_ident(kind, db): ${db} as a quoted identifier (malloc'd, NULL when out of
 * memory): `name` for MariaDB, "name" for PostgreSQL. */
char *dbdump_quote_ident(int kind, const char *db);

/* dbproc_spawn(d, argv, in_fd, out_fd, p, err): run ${argv}[0] (from the source's client
 * folder, or PATH) with ${in_fd} as stdin and ${out_fd} as stdout (-1: /dev/null) and its
 * stderr kept aside. 0, or CF_EIO when it cannot be run (a missing client named so). */
int dbproc_spawn(struct dbdump *d, char *const *argv, int in_fd, int out_fd, struct dbproc *p,
	struct cf_error *err);
/* dbproc_wait(p, kill_first, ret_status): wait for ${p} (SIGTERM first when ${kill_first});
 * its wait status. */
int dbproc_wait(struct dbproc *p, int kill_first);
/* dbproc_wait_cancel(p, cancel, ret_cancelled): dbproc_wait, the client ended (SIGTERM)
 * as soon as ${*cancel} is set (${cancel} may be NULL); ${*ret_cancelled} says so. */
int dbproc_wait_cancel(struct dbproc *p, const volatile int *cancel, int *ret_cancelled);
/* dbproc_failure(d, p, status, what, err): CF_EIO with a sentence for a client that ended
 * with ${status}: the reason read from its stderr (server down, password refused, connection
 * lost...), ${what} naming what was being done ("database 'shop'"). */
int dbproc_failure(const struct dbdump *d, const struct dbproc *p, int status,
	const char *what, struct cf_error *err);
/* dbproc_release(p): close what ${p} holds (after dbproc_wait). */
void dbproc_release(struct dbproc *p);

#endif
