/* cmd_snapshots.c: coffre snapshots, ls, find, diff. */
#include <fnmatch.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "coffre/blob.h"
#include "coffre/diff.h"
#include "coffre/repo.h"
#include "coffre/pin.h"
#include "coffre/snap.h"
#include "coffre/tree_walk.h"
#include "base/util.h"

static json_t *strv(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, cli_json_path(v[i]));
	return a;
}

static const char snapshots_usage[] = "usage: coffre snapshots [--json]\n";

int cmd_snapshots(int argc, char **argv)
{
	if (cli_help(argc, argv, snapshots_usage))
		return 0;
	if (argc != 1)
		return cli_usage(snapshots_usage);
	struct repo *r = NULL;
	int rc = cli_open_repo(&r);
	if (rc)
		return rc;
	struct snap **list = NULL;
	size_t n = 0, bad = 0;
	struct cf_error err = { 0 };
	if ((rc = snap_list(r, &list, &n, &bad, &err))) {
		return cli_fail(&err);
	}
	/* Pins are shown, not required: an unreadable one is check's business. */
	struct pin *pins = NULL;
	size_t npins = 0, future = 0;
	if (pin_list(r, &pins, &npins, NULL, NULL) != 0)
		npins = 0;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct snap *s = list[i];
		int pinned = pin_has(pins, npins, s->id);
		future += s->future != 0;
		char t[40], tree[65];
		snap_time_str(s, t);
		util_hex(tree, s->tree, 32);
		if (g.json) {
			json_t *o = json_object();
			json_object_set_new(o, "id", json_string(s->idhex));
			json_object_set_new(o, "short_id", json_stringn(s->idhex, 8));
			json_object_set_new(o, "time", json_string(t));
			json_object_set_new(o, "hostname", json_string(s->hostname));
			json_object_set_new(o, "username", json_string(s->username));
			json_object_set_new(o, "paths", strv(s->paths, s->npaths));
			json_object_set_new(o, "tags", strv(s->tags, s->ntags));
			json_object_set_new(o, "tree", json_string(tree));
			json_object_set_new(o, "pinned", json_boolean(pinned));
			json_object_set_new(o, "future", json_boolean(s->future));
			if (s->summary)
				json_object_set_new(o, "summary", json_loads(s->summary, 0, NULL));
			json_array_append_new(a, o);
		} else {
			printf("%.8s  %s  %-12s ", s->idhex, t, s->hostname);
			for (size_t j = 0; j < s->npaths; j++)
				printf("%s%s", j ? "," : "", s->paths[j]);
			for (size_t j = 0; j < s->ntags; j++)
				printf("%s%s", j ? "," : "  [", s->tags[j]);
			printf("%s", s->ntags ? "]" : "");
			if (pinned)
				printf("  %s", _("(pinned)"));
			if (s->future)
				printf("  %s", _("(DATED IN THE FUTURE: forged or wrong clock)"));
			putchar('\n');
		}
	}
	if (g.json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (!g.quiet) {
		printf(_("%zu snapshots\n"), n);
	}
	if (bad)
		fprintf(stderr, _("coffre: %zu snapshots could not be read (run 'coffre check')\n"),
			bad);
	if (future)
		fprintf(stderr, _("coffre: %zu snapshots are dated more than 10 minutes in the future: "
			"a forged or wrong clock; they are never 'latest' and count in no retention "
			"rule\n"), future);
	free(pins);
	json_decref(a);
	snap_list_free(list, n);
	return bad ? CF_EXIT_INTEGRITY : 0;
}

/* ---- ls and find share a walker over one snapshot ---- */

struct lsctx {
	const char *prefix;
	const char *pattern;
	const struct snap *s;
	json_t *out;
	unsigned long long count;
	int problems;
};

static const char *type_name(int t)
{
	switch (t) {
	case TREE_FILE: return "file";
	case TREE_DIR: return "dir";
	case TREE_SYMLINK: return "symlink";
	default: return "other";
	}
}

static int below(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

static void print_entry(struct lsctx *c, const char *path, const struct tree_entry *e)
{
	if (g.json) {
		char mode[16], t[40];
		snprintf(mode, sizeof mode, "%04o", e->mode);
		time_t mt = (time_t)e->mtime_s;
		struct tm tm;
		localtime_r(&mt, &tm);
		strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S%z", &tm);
		json_t *o = json_object();
		if (c->pattern) {
			json_object_set_new(o, "snapshot", json_string(c->s->idhex));
			char st[40];
			snap_time_str(c->s, st);
			json_object_set_new(o, "time", json_string(st));
		}
		cli_json_set_path(o, "path", path);
		json_object_set_new(o, "type", json_string(type_name(e->type)));
		json_object_set_new(o, "size", json_integer((json_int_t)e->size));
		json_object_set_new(o, "mode", json_string(mode));
		json_object_set_new(o, "mtime", json_string(t));
		if (e->type == TREE_SYMLINK)
			cli_json_set_path(o, "target", e->target);
		json_array_append_new(c->out, o);
	} else if (c->pattern) {
		char st[40];
		snap_time_str(c->s, st);
		printf("%.8s %s %10llu %s\n", c->s->idhex, st, (unsigned long long)e->size, path);
	} else {
		printf("%s\n", path);
	}
	c->count++;
}

static int ls_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct lsctx *c = ctx;
	if (c->pattern) {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (fnmatch(c->pattern, strchr(c->pattern, '/') ? path : base, 0) == 0)
			print_entry(c, path, e);
		return 0;
	}
	if (below(path, c->prefix)) {
		print_entry(c, path, e);
		return 0;
	}
	return below(c->prefix, path) ? 0 : 1;
}

static void ls_problem(void *ctx, const char *path, int code, const char *msg)
{
	struct lsctx *c = ctx;
	(void)code;
	c->problems++;
	fprintf(stderr, "coffre: '%s': %s\n", path, msg);
}

static int open_reader(struct repo *r, struct blobidx **x, struct blob_reader **br)
{
	struct cf_error err = { 0 };
	if (blobidx_open(r, x, &err) || blob_reader_new(r, *x, br, &err))
		return cli_fail(&err);
	return 0;
}

static const char ls_usage[] = "usage: coffre ls SNAPSHOT|latest [PATH] [--json]\n";

int cmd_ls(int argc, char **argv)
{
	if (cli_help(argc, argv, ls_usage))
		return 0;
	if (argc < 2 || argc > 3)
		return cli_usage(ls_usage);
	struct repo *r = NULL;
	struct snap **list = NULL, *s = NULL;
	size_t n = 0;
	struct blobidx *x = NULL;
	struct blob_reader *br = NULL;
	int rc = cli_open_repo(&r);
	if (rc)
		return rc;
	if ((rc = cli_snapshot(r, argv[1], &list, &n, &s)) || (rc = open_reader(r, &x, &br)))
		goto out;
	struct lsctx c = { .prefix = argc == 3 ? argv[2] : "/", .s = s, .out = json_array() };
	struct tree_walk_ops ops = { .entry = ls_entry, .problem = ls_problem, .ctx = &c };
	struct cf_error err = { 0 };
	rc = tree_walk(blob_reader_load, br, s->tree, &ops, &err);
	if (rc)
		rc = cli_fail(&err);
	else if (c.problems)
		rc = CF_EXIT_INTEGRITY;
	if (g.json) {
		json_dumpf(c.out, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(c.out);
out:
	blob_reader_free(br);
	blobidx_free(x);
	snap_list_free(list, n);
	return rc;
}

static const char find_usage[] =
	"usage: coffre find PATTERN [--json]\n"
	"Lists every version of the files whose name matches PATTERN (a glob; matched against\n"
	"the full path when it contains a '/'), in every snapshot.\n";

int cmd_find(int argc, char **argv)
{
	if (cli_help(argc, argv, find_usage))
		return 0;
	if (argc != 2)
		return cli_usage(find_usage);
	struct repo *r = NULL;
	struct snap **list = NULL;
	size_t n = 0;
	struct blobidx *x = NULL;
	struct blob_reader *br = NULL;
	struct cf_error err = { 0 };
	int rc = cli_open_repo(&r);
	if (rc)
		return rc;
	if ((rc = open_reader(r, &x, &br)))
		goto out;
	if (snap_list(r, &list, &n, NULL, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	struct lsctx c = { .pattern = argv[1], .out = json_array() };
	for (size_t i = 0; i < n && rc == 0; i++) {
		c.s = list[i];
		struct tree_walk_ops ops = { .entry = ls_entry, .problem = ls_problem, .ctx = &c };
		if (tree_walk(blob_reader_load, br, list[i]->tree, &ops, &err))
			rc = cli_fail(&err);
	}
	if (g.json) {
		json_dumpf(c.out, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(c.out);
	if (rc == 0 && c.problems)
		rc = CF_EXIT_INTEGRITY;
out:
	blob_reader_free(br);
	blobidx_free(x);
	snap_list_free(list, n);
	return rc;
}

static void diff_line(void *ctx, char op, const char *path)
{
	if (g.json) {
		char o[2] = { op, 0 };
		json_t *j = json_pack("{s:s}", "op", o);
		cli_json_set_path(j, "path", path);
		json_array_append_new(ctx, j);
	} else {
		printf("%c %s\n", op, path);
	}
}

static const char diff_usage[] = "usage: coffre diff SNAPSHOT1 SNAPSHOT2 [--json]\n"
				 "Lines: '+ PATH' added, '- PATH' removed, 'M PATH' changed.\n";

int cmd_diff(int argc, char **argv)
{
	if (cli_help(argc, argv, diff_usage))
		return 0;
	if (argc != 3)
		return cli_usage(diff_usage);
	struct repo *r = NULL;
	struct snap **list = NULL, *a = NULL, *b = NULL;
	size_t n = 0;
	struct blobidx *x = NULL;
	struct blob_reader *br = NULL;
	struct cf_error err = { 0 };
	int rc = cli_open_repo(&r);
	if (rc)
		return rc;
	if ((rc = cli_snapshot(r, argv[1], &list, &n, &a)))
		goto out;
	if (snap_find(list, n, argv[2], &b, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if ((rc = open_reader(r, &x, &br)))
		goto out;
	json_t *out = json_array();
	int problems = diff_trees(br, a->tree, b->tree, diff_line, out);
	if (g.json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(out);
	if (problems)
		rc = cli_error(CF_EXIT_INTEGRITY, "%s", _("some trees could not be read"));
out:
	blob_reader_free(br);
	blobidx_free(x);
	snap_list_free(list, n);
	return rc;
}
