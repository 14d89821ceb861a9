/* dbdump_proc.c: running a database client without a shell, and telling why one failed
 * from its exit and its stderr; the trailer a complete dump ends with. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup/dbdump_internal.h"
#include "base/util.h"
#include "coffre/error.h"

int dbproc_spawn(struct dbdump *d, char *const *argv, int in_fd, int out_fd, struct dbproc *p,
	struct cf_error *err)
{
	const char *cdir = d->src->client_dir;
	char *path = cdir ? util_path("%s/%s", cdir, argv[0]) : NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int rc = 0, e;
	if (cdir && !path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	*p = (struct dbproc){ .errfd = memfd_create("coffre-db-stderr", MFD_CLOEXEC) };
	snprintf(p->prog, sizeof p->prog, "%s", argv[0]);
	if (p->errfd < 0) {
		free(path);
		return cf_error_sys(err, CF_EIO, "cannot run '%s'", argv[0]);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p->errfd, 2);
	/* The client gets the default dispositions, whatever its caller ignores (SIGPIPE). */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	e = path ? posix_spawn(&p->pid, path, &fa, &at, argv, d->envp)
		 : posix_spawnp(&p->pid, argv[0], &fa, &at, argv, d->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e) {
		p->pid = 0;
		errno = e;
		if (e == ENOENT || e == EACCES)
			rc = cf_error_set(err, CF_EIO, "the database client '%s' is missing (not "
				"found in %s%s)", argv[0], cdir ? "client-dir " : "PATH",
				cdir ? cdir : "");
		else
			rc = cf_error_sys(err, CF_EIO, "cannot run the database client '%s'",
				argv[0]);
		dbproc_release(p);
	}
	free(path);
	return rc;
}

int dbproc_wait(struct dbproc *p, int kill_first)
{
	int st = 0;
	if (!p->pid)
		return 0;
	if (kill_first)
		kill(p->pid, SIGTERM);
	while (waitpid(p->pid, &st, 0) < 0) {
		if (errno != EINTR) {
			st = 255 << 8;	/* not known to have succeeded: a failure */
			break;
		}
	}
	p->pid = 0;
	return st;
}

int dbproc_wait_cancel(struct dbproc *p, const volatile int *cancel, int *ret_cancelled)
{
	int stop = 0;
	/* Without a pidfd (a kernel before 5.3), the client is waited for to its end. */
	int pfd = p->pid && cancel ? (int)syscall(SYS_pidfd_open, p->pid, 0) : -1;
	while (pfd >= 0) {
		if (*cancel) {
			stop = 1;
			break;
		}
		/* A signal handler sets *cancel; SA_RESTART would hide it from a plain wait. */
		struct pollfd q = { .fd = pfd, .events = POLLIN };
		int n = poll(&q, 1, 100);
		if (n > 0 || (n < 0 && errno != EINTR))
			break;
	}
	if (pfd >= 0)
		close(pfd);
	*ret_cancelled = stop;
	return dbproc_wait(p, stop);
}

void dbproc_release(struct dbproc *p)
{
	if (p->pid)
		dbproc_wait(p, 1);
	if (p->errfd >= 0)
		close(p->errfd);
	p->errfd = -1;
}

static const char *reason_of(const char *text);

/* The line of the client's stderr that says what went wrong (the first naming an error,
 * else the last), printable, into ${out}; what it means for the shop in ${*ret_why} (NULL
 * when no line of it is recognised). */
static void stderr_line(const struct dbproc *p, char *out, size_t n, const char **ret_why)
{
	char text[2048];
	struct stat st;
	out[0] = 0;
	*ret_why = NULL;
	if (p->errfd < 0 || fstat(p->errfd, &st) != 0)
		return;
	off_t from = st.st_size > (off_t)sizeof text - 1 ? st.st_size - (off_t)sizeof text + 1 : 0;
	ssize_t got = pread(p->errfd, text, sizeof text - 1, from);
	if (got <= 0)
		return;
	text[got] = 0;
	*ret_why = reason_of(text);
	const char *pick = NULL, *last = NULL;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!*l || strspn(l, " \t\r") == strlen(l))
			continue;
		last = l;
		if (!pick && (strstr(l, "rror") || strstr(l, "FATAL") || strstr(l, "failed") ||
			      strstr(l, "denied")))
			pick = l;
	}
	if (!pick)
		pick = last;
	if (!pick)
		return;
	size_t o = 0;
	for (const unsigned char *c = (const unsigned char *)pick; *c && o + 1 < n && o < 300;
	     c++)
		out[o++] = *c < ' ' || *c == 0x7f ? ' ' : (char)*c;
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = 0;
}

/* What the client's words mean, in the shop's terms; NULL when not recognised. */
static const char *reason_of(const char *text)
{
	static const struct {
		const char *pat, *reason;
	} known[] = {
		{ "Access denied", "the server refused the user or password" },
		{ "password authentication failed", "the server refused the user or password" },
		{ "no password supplied", "the server wants a password (password-file)" },
		{ "authentication failed", "the server refused the user or password" },
		{ "role \"", "the server does not know the user" },
		{ "Lost connection", "the connection to the server was lost during the dump" },
		{ "server closed the connection", "the connection to the server was lost" },
		{ "terminating connection", "the server stopped during the dump" },
		{ "server has gone away", "the connection to the server was lost" },
		{ "Can't connect", "the server cannot be reached (is it running?)" },
		{ "connection to server", "the server cannot be reached (is it running?)" },
		{ "Connection refused", "the server cannot be reached (is it running?)" },
		{ "Unknown database", "the server has no such database" },
		{ "does not exist", "the server has no such database" },
	};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (strstr(text, known[i].pat))
			return known[i].reason;
	return NULL;
}

int dbproc_failure(const struct dbdump *d, const struct dbproc *p, int status,
	const char *what, struct cf_error *err)
{
	char line[320];
	const char *why;
	(void)d;
	stderr_line(p, line, sizeof line, &why);
	if (WIFSIGNALED(status))
		return cf_error_set(err, CF_EIO,
			"%s: %s was killed by signal %d before the end%s%s", what, p->prog,
			WTERMSIG(status), line[0] ? ": " : "", line);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return cf_error_set(err, CF_EIO, "%s: %s (%s exited with status %d%s%s)", what,
		why ? why : "the database client failed", p->prog, code, line[0] ? ": " : "",
		line);
}

/* ---- the trailer ---- */

/* After its marker line, a complete dump has only blank lines, "--" comment lines and
 * (pg_dump since 15.14) its "\unrestrict KEY" line. */
static int only_closing_lines(const char *p, const char *end)
{
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - p);
		if (n && p[n - 1] == '\r')
			n--;
		int ok = n == 0 || (n >= 2 && p[0] == '-' && p[1] == '-') ||
			 (n > 12 && memcmp(p, "\\unrestrict ", 12) == 0);
		if (!ok)
			return 0;
		p = nl ? nl + 1 : end;
	}
	return 1;
}

int dbdump_trailer_ok(int kind, const char *tail, size_t n)
{
	const char *mark = NULL;
	if (kind == DBDUMP_MARIADB)
		mark = "-- Dump completed";
	else if (kind == DBDUMP_POSTGRESQL)
		mark = "-- PostgreSQL database dump complete";
	if (!mark || !tail)
		return 0;
	size_t ml = strlen(mark);
	/* The last marker that starts a line. */
	for (size_t i = n >= ml ? n - ml + 1 : 0; i-- > 0;) {
		if (memcmp(tail + i, mark, ml) != 0 || (i > 0 && tail[i - 1] != '\n'))
			continue;
		const char *nl = memchr(tail + i + ml, '\n', n - i - ml);
		if (!nl)
			return 0;	/* the marker's line itself is cut */
		return only_closing_lines(nl + 1, tail + n);
	}
	return 0;
}
