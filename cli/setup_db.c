/* setup_db.c: the databases coffre setup proposes to dump into each snapshot: those of the
 * Dolibarr installations it finds (setup_dolibarr.c reads their conf.php). Each is tried
 * with a real dump through the engine's clients (dbdump.h), which measures it and proves
 * that the address, the user and the password work; one that fails is shown with why,
 * unticked. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "setup.h"
#include "base/util.h"
#include "coffre/dbdump.h"
#include "coffre/error.h"

#define PROBE_MS 10000		/* a dump longer than this is stopped: its size is "at least" */
#define PROBE_BUF (64 * 1024)

/* Characters a value may hold to go into the configuration as one word. */
static int plain(const char *v, const char *extra)
{
	if (!*v || v[0] == '-')
		return 0;
	for (const char *c = v; *c; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
		    !(*c >= '0' && *c <= '9') && !strchr(extra, *c))
			return 0;
	return 1;
}

/* The server's usual socket under ${root}, when "localhost" names it (malloc'd), or NULL:
 * the client's default. */
static char *local_socket(const char *root, int kind, int port)
{
	static const char *const mariadb[] = { "/run/mysqld/mysqld.sock",
		"/var/run/mysqld/mysqld.sock", "/var/lib/mysql/mysql.sock", "/tmp/mysql.sock",
		NULL };
	static const char *const postgresql[] = { "/run/postgresql", "/var/run/postgresql",
		"/tmp", NULL };
	const char *const *v = kind == DBDUMP_MARIADB ? mariadb : postgresql;
	for (size_t i = 0; v[i]; i++) {
		char *p = kind == DBDUMP_MARIADB ? util_path("%s%s", root, v[i]) :
			util_path("%s%s/.s.PGSQL.%d", root, v[i], port ? port : 5432);
		struct stat st;
		if (p && stat(p, &st) == 0 && S_ISSOCK(st.st_mode)) {
			if (kind == DBDUMP_POSTGRESQL)
				*strrchr(p, '/') = 0;	/* its folder, as psql takes it */
			return p;
		}
		free(p);
	}
	return NULL;
}

/* A dump of ${db}, counted and thrown away: its size, or why it fails. */
static void probe(struct setup_db *db)
{
	char dir[] = "/tmp/coffre-setup-XXXXXX";
	char *pwfile = NULL;
	struct dbdump *d = NULL;
	struct cf_error err = { 0 };
	int fd = -1, late = 0;
	if (!mkdtemp(dir))
		goto fail_sys;
	if (db->password) {
		pwfile = util_path("%s/password", dir);
		char *line = util_path("%s\n", db->password);
		int ok = pwfile && line && setup_write_file(pwfile, line, 0600, NULL) == 0;
		free(line);
		if (!ok)
			goto fail_sys;
	}
	struct dbdump_source src = { .name = db->name, .kind = db->kind, .socket = db->socket,
		.host = db->host, .port = db->port, .user = db->user, .password_file = pwfile,
		.databases = &db->database, .ndatabases = 1 };
	if (dbdump_open(&src, &d, &err) || dbdump_start(d, db->database, &fd, &err))
		goto fail;
	char *buf = malloc(PROBE_BUF);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = PROBE_MS - (long)((t.tv_sec - t0.tv_sec) * 1000 +
			(t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (!buf || left <= 0 || poll(&p, 1, (int)left) == 0) {
			late = 1;
			break;
		}
		ssize_t n = read(fd, buf, PROBE_BUF);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		dbdump_feed(d, buf, (size_t)n);
		db->bytes += (uint64_t)n;
	}
	free(buf);
	close(fd);
	/* Stopped for taking long: it works, and is at least that big. */
	if (dbdump_finish(d, late, &err) && !late)
		goto fail;
	db->more = late;
	goto out;
fail_sys:
	cf_error_sys(&err, CF_EIO, "cannot make a private file for the password");
fail:
	db->problem = strdup(err.msg[0] ? err.msg : "?");
	db->ticked = 0;
out:
	dbdump_free(d);
	if (pwfile)
		unlink(pwfile);
	free(pwfile);
	rmdir(dir);
}

static int same(const struct setup_db *a, const struct setup_db *b)
{
	return a->kind == b->kind && a->port == b->port &&
	       !strcmp(a->database ? a->database : "", b->database ? b->database : "") &&
	       !strcmp(a->socket ? a->socket : "", b->socket ? b->socket : "") &&
	       !strcmp(a->host ? a->host : "", b->host ? b->host : "");
}

static void db_release(struct setup_db *db)
{
	free(db->name);
	free(db->socket);
	free(db->host);
	free(db->user);
	if (db->password)
		sodium_memzero(db->password, strlen(db->password));
	free(db->password);
	free(db->database);
	free(db->list);
	free(db->from);
	free(db->problem);
	free(db->password_file);
	memset(db, 0, sizeof *db);
}

/* The database of the conf.php at ${from} added to ${l}, unless it cannot be written in the
 * configuration or is there already. 0, or -1 when out of memory. */
static int add(const char *root, const char *from, const struct setup_dolibarr *c,
	struct setup_dbs *l)
{
	struct setup_db db = { .kind = strcmp(c->type, "pgsql") == 0 ? DBDUMP_POSTGRESQL :
		DBDUMP_MARIADB, .ticked = 1 };
	char *end;
	long port = c->port[0] ? strtol(c->port, &end, 10) : 0;
	if ((c->port[0] && (*end || port < 1 || port > 65535)) ||
	    !dbdump_name_ok(db.kind, c->name) || !plain(c->name, "_-.$") ||
	    (c->user[0] && !plain(c->user, "_-.@")) || (c->host[0] && !plain(c->host, "-.:")) ||
	    !setup_path_ok(from))
		return 0;	/* nothing that can be said in the configuration */
	db.port = (int)port;
	int local = !c->host[0] || strcmp(c->host, "localhost") == 0;
	if (local) {
		db.socket = local_socket(root, db.kind, db.port);
		db.port = 0;	/* the port of a socket's name only */
	} else if (!(db.host = strdup(c->host))) {
		return -1;
	}
	int oom = !(db.database = strdup(c->name)) || !(db.from = strdup(from)) ||
		  (c->user[0] && !(db.user = strdup(c->user))) ||
		  (c->pass[0] && !(db.password = strdup(c->pass)));
	for (size_t i = 0; !oom && i < l->n; i++) {
		if (same(&l->v[i], &db)) {
			db_release(&db);
			return 0;
		}
	}
	db.name = oom ? NULL : l->n ? util_path("dolibarr-%zu", l->n + 1) : strdup("dolibarr");
	struct setup_db *v = db.name ? realloc(l->v, (l->n + 1) * sizeof *v) : NULL;
	if (!v) {
		db_release(&db);
		return -1;
	}
	probe(&db);
	l->v = v;
	l->v[l->n++] = db;
	return 0;
}

/* A local MariaDB server no Dolibarr found uses, whose databases root may list without a
 * password: all of them (listing is cheap; they are not measured). 0, or -1 (memory). */
static int add_local(const char *root, struct setup_dbs *l)
{
	struct setup_db db = { .kind = DBDUMP_MARIADB, .ticked = 1 };
	struct dbdump *d = NULL;
	struct cf_error err = { 0 };
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	if (!(db.socket = local_socket(root, DBDUMP_MARIADB, 0)))
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].socket && strcmp(l->v[i].socket, db.socket) == 0)
			goto out;	/* Dolibarr's server: its database is proposed already */
	struct dbdump_source src = { .name = "mariadb", .kind = DBDUMP_MARIADB,
		.socket = db.socket };
	if (dbdump_open(&src, &d, &err) || dbdump_list(d, 0, &names, &n, &err) || !n)
		goto out;	/* nothing to propose: it asks for a password, or holds nothing */
	struct buf b = { 0 };
	for (size_t i = 0; i < n && b.len < 120; i++)
		buf_appendf(&b, "%s%s", i ? ", " : "", names[i]);
	if (buf_put_u8(&b, 0) != 0 || !(db.name = strdup("mariadb"))) {
		buf_free(&b);
		rc = -1;
		goto out;
	}
	db.list = (char *)b.p;
	struct setup_db *v = realloc(l->v, (l->n + 1) * sizeof *v);
	if (!v) {
		rc = -1;
		goto out;
	}
	l->v = v;
	l->v[l->n++] = db;
	memset(&db, 0, sizeof db);
out:
	dbdump_names_free(names, n);
	dbdump_free(d);
	db_release(&db);
	return rc;
}

int setup_find_dbs(const struct setup_where *w, struct setup_dbs *l)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && setup_dolibarr_confs[i]; i++) {
		char *pattern = util_path("%s%s", w->root, setup_dolibarr_confs[i]);
		glob_t gl;
		if (!pattern)
			return -1;
		if (glob(pattern, 0, NULL, &gl) == 0) {
			for (size_t k = 0; rc == 0 && k < gl.gl_pathc; k++) {
				char *text = setup_read_text(gl.gl_pathv[k]);
				struct setup_dolibarr c;
				if (text && setup_dolibarr_db(text, &c) == 0)
					rc = add(w->root, gl.gl_pathv[k], &c, l);
				sodium_memzero(&c, sizeof c);
				if (text)
					sodium_memzero(text, strlen(text));
				free(text);
			}
			globfree(&gl);
		}
		free(pattern);
	}
	return rc ? rc : add_local(w->root, l);
}

void setup_dbs_release(struct setup_dbs *l)
{
	for (size_t i = 0; i < l->n; i++)
		db_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

int setup_dbs_write(struct setup_dbs *l, const char *pwfile, const char *journal)
{
	const char *slash = strrchr(pwfile, '/');
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct setup_db *d = &l->v[i];
		if (!d->ticked)
			continue;
		/* Named in the order kept: the first one is [database dolibarr]. */
		free(d->name);
		if (!d->database)
			d->name = strdup("mariadb");	/* the local server: one at most */
		else
			d->name = ++k == 1 ? strdup("dolibarr") : util_path("dolibarr-%zu", k);
		if (!d->name)
			return cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		if (!d->password)
			continue;
		d->password_file = util_path("%.*s/database-%s.password",
			(int)(slash ? slash - pwfile : 1), slash ? pwfile : ".", d->name);
		char *line = util_path("%s\n", d->password);
		int rc = 0;
		if (!d->password_file || !line)
			rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		else if (setup_journal_add(journal, 'f', d->password_file) != 0 ||
			 setup_write_file(d->password_file, line, 0600, NULL) != 0)
			rc = cli_error(CF_EXIT_ERROR, _("cannot write '%s': %s"), d->password_file,
				strerror(errno));
		if (line)
			sodium_memzero(line, strlen(line));
		free(line);
		if (rc)
			return rc;
	}
	return 0;
}
