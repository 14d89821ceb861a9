/* cmd_db.c: coffre restore-db: a database dump of a snapshot loaded back into its server,
 * through the server's own client, into a new database unless told otherwise. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/util.h"
#include "cli.h"
#include "coffre/blob.h"
#include "coffre/cfg.h"
#include "coffre/dbdump.h"
#include "coffre/restore.h"
#include "coffre/snap.h"
#include "coffre/tree_walk.h"

static const char restore_db_usage[] =
	"usage: coffre restore-db NAME [--snapshot ID] [--db DB] [--into NEWDB [--yes]]\n"
	"                         [--config FILE]\n"
	"Loads a database dump of a snapshot (/databases/NAME/DB.sql) back into the server of\n"
	"the [database NAME] section of the configuration, through its client (mariadb or\n"
	"psql). By default into a new database, DB_restored_YYYYMMDD: nothing is overwritten.\n"
	"  --snapshot ID  the snapshot (default: the latest that holds the dump)\n"
	"  --db DB        the database of NAME to restore (needed when NAME holds several)\n"
	"  --into NEWDB   the database to create and load; an existing one only with --yes\n"
	"  --yes          load into the existing database --into names\n"
	"  --config FILE  the configuration (default " CFG_DEFAULT_PATH ")\n"
	"exit: 0 restored, 1 error (the server's message is shown), 2 usage\n";

/* The dumps found in a snapshot's /databases/NAME/. */
struct found {
	const char *dir;	/* "/databases/NAME" */
	char **dbs;
	size_t n;
	int oom;
};

static int find_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct found *f = ctx;
	size_t dl = strlen(f->dir);
	/* Only the folders on the way to the server's folder are opened. */
	if (e->type == TREE_DIR)
		return strncmp(f->dir, path, strlen(path)) == 0 &&
		       (f->dir[strlen(path)] == '/' || f->dir[strlen(path)] == 0) ? 0 : 1;
	size_t sl = strlen(DBDUMP_SUFFIX), n = strlen(path);
	if (e->type != TREE_FILE || strncmp(path, f->dir, dl) != 0 || path[dl] != '/' ||
	    strchr(path + dl + 1, '/') || n < dl + 1 + sl + 1 ||
	    strcmp(path + n - sl, DBDUMP_SUFFIX) != 0)
		return 0;
	char **v = realloc(f->dbs, (f->n + 1) * sizeof *v);
	if (!v || !(v[f->n] = strndup(path + dl + 1, n - dl - 1 - sl))) {
		if (v)
			f->dbs = v;
		f->oom = 1;
		return CF_ENOMEM;
	}
	f->dbs = v;
	f->n++;
	return 0;
}

static void found_clear(struct found *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->dbs[i]);
	free(f->dbs);
	f->dbs = NULL;
	f->n = 0;
}

static int found_has(const struct found *f, const char *db)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->dbs[i], db) == 0)
			return 1;
	return 0;
}

/* The snapshot to restore from (borrowed from ${list}), with its dumps of ${f}->dir in ${f}:
 * ${spec}'s, or the latest holding ${db} (any dump when ${db} is NULL). Exit code or 0. */
static int pick_snapshot(struct repo *r, struct snap **list, size_t n, const char *spec,
	const char *db, struct found *f, struct snap **ret)
{
	struct cf_error err = { 0 };
	struct blobidx *x = NULL;
	struct blob_reader *br = NULL;
	struct snap *one = NULL;
	int rc = 0;
	if (spec && (rc = snap_find(list, n, spec, &one, &err)))
		return cli_fail(&err);
	if (blobidx_open(r, &x, &err) || blob_reader_new(r, x, &br, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	struct tree_walk_ops ops = { .entry = find_entry, .ctx = f };
	for (size_t i = n; i-- > 0;) {
		struct snap *s = one ? one : list[i];
		if (!one && s->future)
			continue;
		found_clear(f);
		if (tree_walk(blob_reader_load, br, s->tree, &ops, &err)) {
			rc = f->oom ? cli_error(CF_EXIT_ERROR, "%s", _("out of memory")) :
				      cli_fail(&err);
			goto out;
		}
		if (f->n && (!db || found_has(f, db))) {
			*ret = s;
			goto out;
		}
		if (one)
			break;
	}
	if (one)
		rc = cli_error(CF_EXIT_ERROR, _("snapshot %.8s holds no dump of %s%s%s in '%s'"),
			one->idhex, db ? "'" : "", db ? db : _("any database"), db ? "'" : "",
			f->dir);
	else
		rc = cli_error(CF_EXIT_ERROR, _("no snapshot holds a dump of %s%s%s in '%s'"),
			db ? "'" : "", db ? db : _("any database"), db ? "'" : "", f->dir);
out:
	blob_reader_free(br);
	blobidx_free(x);
	return rc;
}

/* Creates ${into} unless it exists; loading into an existing one needs ${named} (--into)
 * and ${yes}. Exit code or 0. */
static int prepare_target(struct dbdump *d, const char *name, const char *into, int named,
	int yes)
{
	struct cf_error err = { 0 };
	char **all = NULL;
	size_t n = 0;
	int exists = 0;
	if (dbdump_list(d, 1, &all, &n, &err))
		return cli_error(CF_EXIT_ERROR, _("server '%s': %s"), name, err.msg);
	for (size_t i = 0; i < n; i++)
		exists |= strcmp(all[i], into) == 0;
	dbdump_names_free(all, n);
	if (exists && !(named && yes))
		return cli_error(CF_EXIT_ERROR, _("database '%s' exists already on server '%s': "
			"nothing was changed (to load the dump into it, give --into %s --yes; "
			"or choose another --into)"), into, name, into);
	if (!exists && dbdump_create(d, into, &err))
		return cli_error(CF_EXIT_ERROR, _("server '%s': %s"), name, err.msg);
	return 0;
}

struct load_ctx {
	int problems;
};

static void load_problem(void *ctx, const char *path, const char *msg)
{
	struct load_ctx *l = ctx;
	l->problems++;
	fprintf(stderr, "coffre: '%s': %s\n", path, msg);
}

/* Streams ${path} of ${s} into ${into} through the server's client. Exit code or 0. */
static int load(struct repo *r, struct dbdump *d, const struct snap *s, const char *path,
	const char *name, const char *into)
{
	struct cf_error err = { 0 }, lerr = { 0 };
	struct load_ctx l = { 0 };
	int fd = -1;
	if (dbdump_load_start(d, into, &fd, &err))
		return cli_error(CF_EXIT_ERROR, _("server '%s': %s"), name, err.msg);
	/* A client that stops reading makes our writes fail (EPIPE), not kill us. */
	signal(SIGPIPE, SIG_IGN);
	int rc = dump_run(r, s, path, DUMP_TAR, fd, load_problem, &l, &err);
	close(fd);
	int lrc = dbdump_load_finish(d, &lerr);
	/* The client's own words first: a write that failed is its consequence. */
	if (lrc)
		return cli_error(CF_EXIT_ERROR, _("the dump was not loaded completely into '%s' "
			"on server '%s' (drop that database before trying again): %s"), into, name,
			lerr.msg);
	if (rc)
		return cli_error(cf_exit_code(rc), _("cannot read '%s' of snapshot %.8s: %s "
			"('%s' on server '%s' holds part of it: drop it)"), path, s->idhex, err.msg,
			into, name);
	return 0;
}

int cmd_restore_db(int argc, char **argv)
{
	if (cli_help(argc, argv, restore_db_usage))
		return 0;
	static const struct option opts[] = { { "snapshot", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' }, { "into", required_argument, NULL, 'i' },
		{ "yes", no_argument, NULL, 'y' }, { "config", required_argument, NULL, 'c' },
		{ 0 } };
	const char *spec = NULL, *db = NULL, *into = NULL, *config = CFG_DEFAULT_PATH;
	int yes = 0, c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:d:i:yc:", opts, NULL)) != -1) {
		if (c == 's')
			spec = optarg;
		else if (c == 'd')
			db = optarg;
		else if (c == 'i')
			into = optarg;
		else if (c == 'y')
			yes = 1;
		else if (c == 'c')
			config = optarg;
		else
			return cli_usage(restore_db_usage);
	}
	if (optind != argc - 1)
		return cli_usage(restore_db_usage);
	const char *name = argv[optind];
	struct cfg *cfg = NULL;
	struct repo *r = NULL;
	struct snap **list = NULL, *s = NULL;
	size_t n = 0;
	struct found f = { 0 };
	struct dbdump *d = NULL;
	char *dir = NULL, *path = NULL, *newname = NULL;
	struct cf_error err = { 0 };
	if ((rc = cli_read_config(config, &cfg)))
		return rc;
	const struct dbdump_source *src = NULL;
	for (size_t i = 0; i < cfg->ndbs; i++)
		if (strcmp(cfg->dbs[i].name, name) == 0)
			src = &cfg->dbs[i];
	if (!src) {
		rc = cli_error(CF_EXIT_USAGE, _("no [database %s] section in '%s'"), name, config);
		goto out;
	}
	if ((db && !dbdump_name_ok(src->kind, db)) || (into && !dbdump_name_ok(src->kind, into))) {
		rc = cli_error(CF_EXIT_USAGE, "%s", _("not a database name that can be restored"));
		goto out;
	}
	if ((rc = cli_open_repo(&r)))
		goto out;
	if (snap_list(r, &list, &n, NULL, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (!(dir = util_path("/" DBDUMP_DIR "/%s", name))) {
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		goto out;
	}
	f.dir = dir;
	if ((rc = pick_snapshot(r, list, n, spec, db, &f, &s)))
		goto out;
	if (!db && f.n > 1) {
		fprintf(stderr, _("coffre: snapshot %.8s holds several databases of '%s': "
				  "choose one with --db:"), s->idhex, name);
		for (size_t i = 0; i < f.n; i++)
			fprintf(stderr, " %s", f.dbs[i]);
		fputc('\n', stderr);
		rc = CF_EXIT_USAGE;
		goto out;
	}
	if (!db)
		db = f.dbs[0];
	if (!into) {
		char day[16];
		time_t now = time(NULL);
		struct tm tm;
		strftime(day, sizeof day, "%Y%m%d", localtime_r(&now, &tm));
		if (!(newname = util_path("%s_restored_%s", db, day))) {
			rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
			goto out;
		}
	}
	path = util_path("%s/%s" DBDUMP_SUFFIX, dir, db);
	if (!path) {
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		goto out;
	}
	if (dbdump_open(src, &d, &err)) {
		rc = cli_error(CF_EXIT_ERROR, _("server '%s': %s"), name, err.msg);
		goto out;
	}
	const char *target = into ? into : newname;
	if ((rc = prepare_target(d, name, target, into != NULL, yes)) ||
	    (rc = load(r, d, s, path, name, target)))
		goto out;
	char when[64];
	time_t t = (time_t)s->time;
	struct tm tm;
	strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
	if (g.json) {
		json_t *j = json_object();
		json_object_set_new(j, "server", json_string(name));
		json_object_set_new(j, "database", json_string(db));
		json_object_set_new(j, "into", json_string(target));
		json_object_set_new(j, "snapshot", json_string(s->idhex));
		json_object_set_new(j, "time", json_integer((json_int_t)s->time));
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else if (!g.quiet) {
		printf(_("database '%s' of snapshot %.8s (%s) restored into '%s' on server '%s'\n"),
			db, s->idhex, when, target, name);
	}
out:
	dbdump_free(d);
	found_clear(&f);
	free(dir);
	free(path);
	free(newname);
	snap_list_free(list, n);
	cfg_free(cfg);
	return rc;
}
