/* dbdump.c: a session with a database server: its credentials in a private folder, the
 * clients' arguments, the list of its databases, a dump streamed out, a dump loaded in. */
#include "coffre/dbdump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "backup/dbdump_internal.h"
#include "base/util.h"
#include "coffre/error.h"

extern char **environ;

#define LIST_MAX (1u << 20)	/* a server's list of databases, at most */
#define PASSWORD_MAX 1024

int dbdump_kind_parse(const char *s)
{
	if (strcmp(s, "mariadb") == 0 || strcmp(s, "mysql") == 0)
		return DBDUMP_MARIADB;
	if (strcmp(s, "postgresql") == 0 || strcmp(s, "postgres") == 0)
		return DBDUMP_POSTGRESQL;
	return _DBDUMP_KIND_INVALID;
}

const char *dbdump_kind_name(int kind)
{
	return kind == DBDUMP_POSTGRESQL ? "postgresql" : "mariadb";
}

int dbdump_name_ok(int kind, const char *db)
{
	size_t n = strlen(db);
	if (n == 0 || n > 200 || db[0] == '-' || db[0] == '.')
		return 0;
	/* pg_dump would take a name with '=' for a connection string. */
	if (kind == DBDUMP_POSTGRESQL && strchr(db, '='))
		return 0;
	for (const unsigned char *c = (const unsigned char *)db; *c; c++)
		if (*c < ' ' || *c == 0x7f || *c == '/' || *c == '\\')
			return 0;
	return 1;
}

/* ---- the credentials ---- */

/* The first line of the password file, opened without following a link and private as
 * the configuration checked (malloc'd, wiped by the caller), or NULL with ${err} set. */
static char *read_password(const char *file, struct cf_error *err)
{
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char buf[PASSWORD_MAX + 2];
	if (fd < 0) {
		cf_error_sys(err, CF_EIO, "cannot read the database password file '%s'", file);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		close(fd);
		cf_error_set(err, CF_EIO, "the database password file '%s' must be a regular "
			"file of mode 600", file);
		return NULL;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		cf_error_sys(err, CF_EIO, "cannot read the database password file '%s'", file);
		return NULL;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	char *pw = strlen(buf) <= PASSWORD_MAX ? strdup(buf) : NULL;
	sodium_memzero(buf, sizeof buf);
	if (!pw)
		cf_error_set(err, CF_EIO, "the database password in '%s' is too long", file);
	return pw;
}

/* Writes ${pw} into the new private file ${path}, escaped for ${kind}: a MariaDB option
 * file ([client] password="...") or a PostgreSQL password file (*:*:*:*:pw). */
static int write_secret(const char *path, int kind, const char *pw, struct cf_error *err)
{
	size_t n = strlen(pw);
	char *t = malloc(2 * n + 64);
	if (!t)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	size_t o = (size_t)sprintf(t, "%s", kind == DBDUMP_MARIADB ? "[client]\npassword=\"" :
							       "*:*:*:*:");
	for (size_t i = 0; i < n; i++) {
		char c = pw[i];
		if (c == '\\' || (kind == DBDUMP_MARIADB ? c == '"' : c == ':'))
			t[o++] = '\\';
		t[o++] = c;
	}
	o += (size_t)sprintf(t + o, "%s", kind == DBDUMP_MARIADB ? "\"\n" : "\n");
	int rc = 0, fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, t, o) != (ssize_t)o)
		rc = cf_error_sys(err, CF_EIO, "cannot write '%s'", path);
	if (fd >= 0)
		close(fd);
	sodium_memzero(t, 2 * n + 64);
	free(t);
	return rc;
}

/* The clients' environment: ours, without the passwords a caller's environment may hold
 * (they would be tried instead of the configured one), with PGPASSFILE when set. */
static int make_env(struct dbdump *d, const char *pgpass)
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	if (!(d->envp = calloc(n + 3, sizeof *d->envp)))
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		const char *v = environ[i];
		if (strncmp(v, "MYSQL_PWD=", 10) == 0 || strncmp(v, "PGPASSWORD=", 11) == 0 ||
		    strncmp(v, "PGPASSFILE=", 11) == 0)
			continue;
		if (!(d->envp[o++] = strdup(v)))
			return -1;
	}
	if (pgpass && !(d->envp[o++] = util_path("PGPASSFILE=%s", pgpass)))
		return -1;
	if (!getenv("PGCONNECT_TIMEOUT") && !(d->envp[o++] = strdup("PGCONNECT_TIMEOUT=20")))
		return -1;
	return 0;
}

int dbdump_open(const struct dbdump_source *src, struct dbdump **ret, struct cf_error *err)
{
	struct dbdump *d = calloc(1, sizeof *d);
	char *pw = NULL;
	const char *pgpass = NULL;
	int rc = 0;
	if (!d)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	d->src = src;
	d->run.errfd = -1;
	if (src->password_file) {
		if (!(pw = read_password(src->password_file, err))) {
			rc = err ? err->code : CF_EIO;
			goto out;
		}
		const char *tmp = getenv("TMPDIR");
		char *tpl = util_path("%s/coffre-db.XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
		if (!tpl) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		if (!mkdtemp(tpl)) {	/* mode 700 */
			rc = cf_error_sys(err, CF_EIO, "cannot create a private folder '%s'", tpl);
			free(tpl);
			goto out;
		}
		d->dir = tpl;
		char *f = util_path("%s/%s", d->dir,
			src->kind == DBDUMP_MARIADB ? "client.cnf" : "pgpass");
		if (!f) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		d->secret_file = f;
		if (src->kind == DBDUMP_POSTGRESQL)
			pgpass = f;
		if ((rc = write_secret(f, src->kind, pw, err)))
			goto out;
	}
	if (make_env(d, pgpass))
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
out:
	if (pw) {
		sodium_memzero(pw, strlen(pw));
		free(pw);
	}
	if (rc) {
		dbdump_free(d);
		return rc;
	}
	*ret = d;
	return 0;
}

void dbdump_free(struct dbdump *d)
{
	if (!d)
		return;
	dbproc_release(&d->run);
	if (d->secret_file)
		unlink(d->secret_file);
	if (d->dir)
		rmdir(d->dir);
	free(d->secret_file);
	free(d->dir);
	for (size_t i = 0; d->envp && d->envp[i]; i++)
		free(d->envp[i]);
	free(d->envp);
	free(d);
}

/* ---- the clients' arguments ---- */

void dbdump_arg_take(struct dbdump_args *a, char *s)
{
	if (!s || a->n == DBDUMP_ARGS_MAX) {
		free(s);
		a->oom = 1;
		return;
	}
	a->v[a->n++] = s;
}
#define arg dbdump_arg

void dbdump_args_free(struct dbdump_args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

void dbdump_args_connect(const struct dbdump *d, struct dbdump_args *a, const char *prog)
{
	const struct dbdump_source *s = d->src;
	arg(a, "%s", prog);
	if (s->kind == DBDUMP_MARIADB) {
		if (d->secret_file)	/* must come first */
			arg(a, "--defaults-extra-file=%s", d->secret_file);
		if (s->socket) {
			arg(a, "--socket=%s", s->socket);
		} else if (s->host) {
			arg(a, "--host=%s", s->host);
			arg(a, "--protocol=TCP");
			if (s->port)
				arg(a, "--port=%d", s->port);
		}
		if (s->user)
			arg(a, "--user=%s", s->user);
		return;
	}
	/* psql and pg_dump take the socket's folder as a host, its port as the port. */
	const char *sock = s->socket, *base = sock ? strrchr(sock, '/') : NULL;
	int port = s->port;
	if (base && strncmp(base + 1, ".s.PGSQL.", 9) == 0) {
		arg(a, "--host=%.*s", (int)(base - sock), sock);
		port = atoi(base + 10);
	} else if (sock) {
		arg(a, "--host=%s", sock);
	} else if (s->host) {
		arg(a, "--host=%s", s->host);
	}
	if (port)
		arg(a, "--port=%d", port);
	if (s->user)
		arg(a, "--username=%s", s->user);
	arg(a, "--no-password");	/* never a prompt: a missing password is an error */
}

int dbdump_capture(struct dbdump *d, struct dbdump_args *a, const char *what, struct buf *out,
	struct cf_error *err)
{
	int fds[2], rc;
	struct dbproc p;
	if (a->oom)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (pipe2(fds, O_CLOEXEC) != 0)
		return cf_error_sys(err, CF_EIO, "cannot make a pipe");
	rc = dbproc_spawn(d, a->v, -1, fds[1], &p, err);
	close(fds[1]);
	for (;;) {
		char b[4096];
		ssize_t n = rc ? 0 : read(fds[0], b, sizeof b);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->len + (size_t)n > LIST_MAX || buf_append(out, b, (size_t)n)) {
			rc = cf_error_set(err, CF_EIO, "%s: too much output", what);
			break;
		}
	}
	close(fds[0]);
	if (p.pid) {
		int st = dbproc_wait(&p, rc != 0);
		if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			rc = dbproc_failure(d, &p, st, what, err);
		dbproc_release(&p);
	}
	if (rc == 0 && buf_append(out, "", 1))
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	return rc;
}

int dbdump_query(struct dbdump *d, const char *db, const char *sql, const char *what,
	struct buf *out, struct cf_error *err)
{
	struct dbdump_args a = { 0 };
	if (d->src->kind == DBDUMP_MARIADB) {
		dbdump_args_connect(d, &a, "mariadb");
		arg(&a, "--batch");
		arg(&a, "--skip-column-names");
		arg(&a, "--execute=%s", sql);
	} else {
		dbdump_args_connect(d, &a, "psql");
		arg(&a, "--no-psqlrc");
		arg(&a, "--quiet");
		arg(&a, "--no-align");
		arg(&a, "--tuples-only");
		arg(&a, "--dbname=%s", db ? db : "postgres");
		arg(&a, "--command=%s", sql);
	}
	int rc = dbdump_capture(d, &a, what, out, err);
	dbdump_args_free(&a);
	return rc;
}

/* ---- the list ---- */

static const char *const system_dbs[_DBDUMP_KIND_MAX][5] = {
	[DBDUMP_MARIADB] = { "information_schema", "performance_schema", "mysql", "sys", NULL },
	[DBDUMP_POSTGRESQL] = { "template0", "template1", "postgres", NULL },
};

static int is_system(int kind, const char *db)
{
	for (size_t i = 0; system_dbs[kind][i]; i++)
		if (strcmp(db, system_dbs[kind][i]) == 0)
			return 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void dbdump_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static int names_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof **v);
	if (!nv)
		return -1;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

int dbdump_list(struct dbdump *d, int all, char ***ret, size_t *ret_n, struct cf_error *err)
{
	const struct dbdump_source *s = d->src;
	char **v = NULL;
	size_t n = 0;
	int rc = 0;
	if (s->ndatabases && !all) {
		for (size_t i = 0; rc == 0 && i < s->ndatabases; i++)
			if (names_push(&v, &n, s->databases[i]))
				rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	struct buf out = { 0 };
	rc = dbdump_query(d, NULL, s->kind == DBDUMP_MARIADB ? "SHOW DATABASES" :
		"SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn",
		"cannot list the databases", &out, err);
	for (char *save = NULL, *l = rc ? NULL : strtok_r((char *)out.p, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (!*l || (!all && is_system(s->kind, l)))
			continue;
		if (names_push(&v, &n, l)) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			break;
		}
	}
	buf_free(&out);
out:
	if (rc) {
		dbdump_names_free(v, n);
		return rc;
	}
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Runs ${a} (freed) as d->run, a pipe on its stdin (${to_client}) or its stdout; the
 * caller's end of it in ${*ret_fd}. 0 or CF_E*. */
static int start_piped(struct dbdump *d, struct dbdump_args *a, int to_client, int *ret_fd,
	struct cf_error *err)
{
	int fds[2], rc;
	if (a->oom) {
		dbdump_args_free(a);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		dbdump_args_free(a);
		return cf_error_sys(err, CF_EIO, "cannot make a pipe");
	}
	rc = to_client ? dbproc_spawn(d, a->v, fds[0], -1, &d->run, err)
		       : dbproc_spawn(d, a->v, -1, fds[1], &d->run, err);
	dbdump_args_free(a);
	close(fds[to_client ? 0 : 1]);
	if (rc) {
		close(fds[to_client ? 1 : 0]);
		return rc;
	}
	*ret_fd = fds[to_client ? 1 : 0];
	return 0;
}

/* ---- a dump ---- */

int dbdump_start(struct dbdump *d, const char *db, int *ret_fd, struct cf_error *err)
{
	struct dbdump_args a = { 0 };
	int rc;
	if (d->run.pid)
		return cf_error_set(err, CF_EUSAGE, "a dump is already under way");
	if (d->src->kind == DBDUMP_MARIADB) {
		/* One consistent read view (InnoDB), with the code stored in the database. The
		 * database is named alone, without --databases: the dump then holds no CREATE
		 * DATABASE or USE line and loads into any name (restore-db's new database). */
		dbdump_args_connect(d, &a, "mariadb-dump");
		arg(&a, "--single-transaction");
		arg(&a, "--routines");
		arg(&a, "--events");
		arg(&a, "--triggers");
		arg(&a, "--hex-blob");
		arg(&a, "--");
		arg(&a, "%s", db);
	} else {
		/* pg_dump reads one snapshot of the database (repeatable read). */
		dbdump_args_connect(d, &a, "pg_dump");
		arg(&a, "--format=plain");
		arg(&a, "--dbname=%s", db);
	}
	if ((rc = start_piped(d, &a, 0, ret_fd, err)))
		return rc;
	d->taillen = 0;
	d->bytes = 0;
	return 0;
}

void dbdump_feed(void *ctx, const void *p, size_t n)
{
	struct dbdump *d = ctx;
	d->bytes += n;
	if (n >= DBDUMP_TAIL) {
		memcpy(d->tail, (const char *)p + n - DBDUMP_TAIL, DBDUMP_TAIL);
		d->taillen = DBDUMP_TAIL;
		return;
	}
	if (d->taillen + n > DBDUMP_TAIL) {
		size_t drop = d->taillen + n - DBDUMP_TAIL;
		memmove(d->tail, d->tail + drop, d->taillen - drop);
		d->taillen -= drop;
	}
	memcpy(d->tail + d->taillen, p, n);
	d->taillen += n;
}

int dbdump_finish(struct dbdump *d, int abort, struct cf_error *err)
{
	if (!d->run.pid)
		return cf_error_set(err, CF_EUSAGE, "no dump under way");
	int st = dbproc_wait(&d->run, abort), rc = 0;
	if (abort)
		rc = cf_error_set(err, CF_EIO, "the dump was stopped");
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		rc = dbproc_failure(d, &d->run, st, "the dump failed", err);
	else if (!dbdump_trailer_ok(d->src->kind, d->tail, d->taillen))
		rc = cf_error_set(err, CF_EIO, "the dump is incomplete: its %llu bytes lack the "
			"final '%s' line", d->bytes, d->src->kind == DBDUMP_MARIADB ?
			"-- Dump completed" : "-- PostgreSQL database dump complete");
	dbproc_release(&d->run);
	return rc;
}

/* ---- a load ---- */

char *dbdump_quote_ident(int kind, const char *db)
{
	char q = kind == DBDUMP_MARIADB ? '`' : '"';
	char *s = malloc(2 * strlen(db) + 3), *o = s;
	if (!s)
		return NULL;
	*o++ = q;
	for (const char *c = db; *c; c++) {
		if (*c == q)
			*o++ = q;
		*o++ = *c;
	}
	*o++ = q;
	*o = 0;
	return s;
}

int dbdump_create(struct dbdump *d, const char *db, struct cf_error *err)
{
	struct buf out = { 0 };
	char *q = dbdump_quote_ident(d->src->kind, db);
	char *sql = q ? util_path("CREATE DATABASE %s", q) : NULL;
	int rc = sql ? dbdump_query(d, NULL, sql, "cannot create the database", &out, err) :
		       cf_error_set(err, CF_ENOMEM, "out of memory");
	free(sql);
	free(q);
	buf_free(&out);
	return rc;
}

void dbdump_args_load(const struct dbdump *d, struct dbdump_args *a, const char *db)
{
	if (d->src->kind == DBDUMP_MARIADB) {
		dbdump_args_connect(d, a, "mariadb");
		arg(a, "--binary-mode");
		arg(a, "--database=%s", db);
	} else {
		/* One transaction: a load that fails leaves the new database empty. */
		dbdump_args_connect(d, a, "psql");
		arg(a, "--no-psqlrc");
		arg(a, "--quiet");
		arg(a, "--single-transaction");
		arg(a, "--set=ON_ERROR_STOP=1");
		arg(a, "--dbname=%s", db);
	}
}

int dbdump_load_start(struct dbdump *d, const char *db, int *ret_fd, struct cf_error *err)
{
	struct dbdump_args a = { 0 };
	if (d->run.pid)
		return cf_error_set(err, CF_EUSAGE, "a client is already under way");
	dbdump_args_load(d, &a, db);
	return start_piped(d, &a, 1, ret_fd, err);
}

int dbdump_load_finish(struct dbdump *d, struct cf_error *err)
{
	if (!d->run.pid)
		return cf_error_set(err, CF_EUSAGE, "no load under way");
	int st = dbproc_wait(&d->run, 0), rc = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		rc = dbproc_failure(d, &d->run, st, "the load failed", err);
	dbproc_release(&d->run);
	return rc;
}
