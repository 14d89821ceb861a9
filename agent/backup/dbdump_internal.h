/* dbdump_internal.h: what dbdump.c (the session, the clients' arguments) and dbdump_proc.c
 * (running a client, reading why it failed) share. */
#ifndef COFFRE_DBDUMP_INTERNAL_H
#define COFFRE_DBDUMP_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "coffre/dbdump.h"

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

/* dbproc_spawn(d, argv, in_fd, out_fd, p, err): run ${argv}[0] (from the source's client
 * folder, or PATH) with ${in_fd} as stdin and ${out_fd} as stdout (-1: /dev/null) and its
 * stderr kept aside. 0, or CF_EIO when it cannot be run (a missing client named so). */
int dbproc_spawn(struct dbdump *d, char *const *argv, int in_fd, int out_fd, struct dbproc *p,
	struct cf_error *err);
/* dbproc_wait(p, kill_first, ret_status): wait for ${p} (SIGTERM first when ${kill_first});
 * its wait status. */
int dbproc_wait(struct dbproc *p, int kill_first);
/* dbproc_failure(d, p, status, what, err): CF_EIO with a sentence for a client that ended
 * with ${status}: the reason read from its stderr (server down, password refused, connection
 * lost...), ${what} naming what was being done ("database 'shop'"). */
int dbproc_failure(const struct dbdump *d, const struct dbproc *p, int status,
	const char *what, struct cf_error *err);
/* dbproc_release(p): close what ${p} holds (after dbproc_wait). */
void dbproc_release(struct dbproc *p);

#endif
