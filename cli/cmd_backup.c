/* cmd_backup.c: coffre backup. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "coffre/backup.h"
#include "coffre/cfg.h"
#include "coffre/detect.h"
#include "coffre/repo.h"
#include "base/util.h"

static const char backup_usage[] =
	"usage: coffre backup PATH... [--exclude GLOB]... [--tag TAG]... [--host NAME]\n"
	"                             [--config FILE]\n"
	"       coffre backup --now [--socket PATH | --config FILE]  (ask coffred; see --now --help)\n"
	"Backs the paths up into a new snapshot. Files whose size, times and inode match the\n"
	"previous snapshot of the same paths are not read again.\n"
	"  --exclude GLOB  skip names matching GLOB (the full path when GLOB has a '/')\n"
	"  --tag TAG       label the snapshot\n"
	"  --config FILE   also dump the database servers of its [database NAME] sections\n"
	"                  into /databases/NAME/DB.sql; without PATH, back up its folders\n"
	"Changed files are compared with their previous version: a format that broke (a PDF\n"
	"that is no longer one) or content that turned random are a ransomware's marks.\n"
	"exit: 0 ok, 3 snapshot made but some files or database dumps could not be read, 5\n"
	"snapshot made but it holds a ransomware's marks on several files (said on stderr and in --json)\n";

static atomic_int stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

static void show_progress(void *ctx, const struct backup_stats *st)
{
	char b1[32], b2[32];
	(void)ctx;
	if (!g.progress)
		return;
	fprintf(stderr, "\r\033[K%s", "");
	fprintf(stderr, _("[%.0fs] %llu files, read %s, added %s"), st->duration,
		(unsigned long long)(st->files_new + st->files_changed + st->files_unchanged),
		cli_bytes(st->bytes_read, b1), cli_bytes(st->bytes_added, b2));
	fflush(stderr);
}

static void show_warning(void *ctx, const char *path, const char *msg)
{
	json_t *w = ctx;
	if (g.progress)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, _("warning: '%s': %s\n"), path, msg);
	char line[4200];
	snprintf(line, sizeof line, "%s: %s", path, msg);
	json_array_append_new(w, cli_json_path(line));
}

int cmd_backup_now(int argc, char **argv);	/* cmd_status.c */

/* Any kind of mark over its threshold (detect.h's defaults): unlike coffred, a lone backup
 * has no watch to confirm with, so one kind suffices to say so. */
static int suspicious(const struct backup_stats *st)
{
	struct detect_policy p;
	detect_policy_default(&p);
	return st->suspect_format >= p.threshold[DETECT_FORMAT] ||
	       st->suspect_random >= p.threshold[DETECT_RANDOM] ||
	       st->suspect_notes >= p.threshold[DETECT_NOTE];
}

int cmd_backup(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--now") == 0)
			return cmd_backup_now(argc, argv);
	if (cli_help(argc, argv, backup_usage))
		return 0;
	static const struct option opts[] = { { "exclude", required_argument, NULL, 'e' },
		{ "tag", required_argument, NULL, 't' }, { "host", required_argument, NULL, 'H' },
		{ "config", required_argument, NULL, 'c' }, { 0 } };
	const char **ex = calloc((size_t)argc, sizeof *ex);
	const char **tags = calloc((size_t)argc, sizeof *tags);
	size_t nex = 0, ntags = 0;
	const char *host = NULL, *config = NULL;
	struct cfg *cfg = NULL;
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "e:t:", opts, NULL)) != -1) {
		if (c == 'e')
			ex[nex++] = optarg;
		else if (c == 't')
			tags[ntags++] = optarg;
		else if (c == 'H')
			host = optarg;
		else if (c == 'c')
			config = optarg;
		else {
			free(ex);
			free(tags);
			return cli_usage(backup_usage);
		}
	}
	if (optind >= argc && !config) {
		free(ex);
		free(tags);
		return cli_usage(backup_usage);
	}
	struct repo *r = NULL;
	if ((config && (rc = cli_read_config(config, &cfg))) || (rc = cli_open_repo(&r))) {
		cfg_free(cfg);
		free(ex);
		free(tags);
		return rc;
	}
	json_t *warnings = json_array();
	int own_paths = optind < argc;
	struct backup_opts o = {
		.paths = own_paths ? (const char *const *)(argv + optind) :
				     (const char *const *)cfg->paths,
		.npaths = own_paths ? (size_t)(argc - optind) : cfg->npaths,
		.dbs = cfg ? cfg->dbs : NULL, .ndbs = cfg ? cfg->ndbs : 0,
		.excludes = ex, .nexcludes = nex, .tags = tags, .ntags = ntags,
		.hostname = host, .progress = show_progress, .warn = show_warning,
		.ctx = warnings, .cancel = &stop,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct backup_stats st = { 0 };
	uint8_t id[32], parent[32];
	int has_parent = 0;
	struct cf_error err = { 0 };
	rc = backup_run(r, &o, &st, id, parent, &has_parent, &err);
	if (g.progress)
		fprintf(stderr, "\r\033[K");
	if (rc && rc != CF_EPARTIAL) {
		rc = cli_fail(&err);
		goto out;
	}
	char hex[65], phex[65], b1[32], b2[32], b3[32];
	util_hex(hex, id, 32);
	util_hex(phex, parent, 32);
	if (g.json) {
		json_t *j = json_object();
		json_object_set_new(j, "snapshot", json_string(hex));
		json_object_set_new(j, "parent", has_parent ? json_string(phex) : json_null());
		json_object_set_new(j, "files_new", json_integer((json_int_t)st.files_new));
		json_object_set_new(j, "files_changed", json_integer((json_int_t)st.files_changed));
		json_object_set_new(j, "files_unchanged", json_integer((json_int_t)st.files_unchanged));
		json_object_set_new(j, "dirs", json_integer((json_int_t)st.dirs));
		json_object_set_new(j, "entries", json_integer((json_int_t)st.entries));
		json_object_set_new(j, "bytes_read", json_integer((json_int_t)st.bytes_read));
		json_object_set_new(j, "bytes_added", json_integer((json_int_t)st.bytes_added));
		json_object_set_new(j, "bytes_stored", json_integer((json_int_t)st.bytes_stored));
		json_object_set_new(j, "data_blobs_added", json_integer((json_int_t)st.data_blobs));
		json_object_set_new(j, "tree_blobs_added", json_integer((json_int_t)st.tree_blobs));
		json_object_set_new(j, "duration", json_real(st.duration));
		json_object_set_new(j, "warnings", json_incref(warnings));
		json_object_set_new(j, "partial", json_boolean(rc == CF_EPARTIAL));
		json_t *sus = json_object();
		json_object_set_new(sus, "format_broken", json_integer((json_int_t)st.suspect_format));
		json_object_set_new(sus, "turned_random", json_integer((json_int_t)st.suspect_random));
		json_object_set_new(sus, "turned_incompressible",
			json_integer((json_int_t)st.suspect_sealed));
		json_object_set_new(sus, "ransom_notes", json_integer((json_int_t)st.suspect_notes));
		json_object_set_new(sus, "first", st.suspect_path[0] ? json_string(st.suspect_path) :
			json_null());
		json_object_set_new(j, "suspicious", json_boolean(suspicious(&st)));
		json_object_set_new(j, "suspect", sus);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else if (!g.quiet) {
		printf(_("files: %llu new, %llu changed, %llu unchanged; %llu folders\n"),
			(unsigned long long)st.files_new, (unsigned long long)st.files_changed,
			(unsigned long long)st.files_unchanged, (unsigned long long)st.dirs);
		printf(_("read %s, added %s (%s stored) in %.1f s\n"), cli_bytes(st.bytes_read, b1),
			cli_bytes(st.bytes_added, b2), cli_bytes(st.bytes_stored, b3), st.duration);
		printf(_("snapshot %.8s saved\n"), hex);
		if (rc == CF_EPARTIAL)
			printf(_("%llu files or database dumps could not be read completely: see the "
				 "warnings above\n"),
				(unsigned long long)st.warnings);
	}
	if (suspicious(&st)) {
		fprintf(stderr, _("coffre: WARNING: this backup saw files changed the way ransomware "
				  "changes them (%llu whose format broke, %llu turned random, %llu "
				  "ransom notes; first: %s): check them before trusting this snapshot\n"),
			(unsigned long long)st.suspect_format, (unsigned long long)st.suspect_random,
			(unsigned long long)st.suspect_notes, st.suspect_path);
		rc = CF_EXIT_SUSPECT;
	} else {
		rc = rc == CF_EPARTIAL ? CF_EXIT_PARTIAL : 0;
	}
out:
	json_decref(warnings);
	cfg_free(cfg);
	free(ex);
	free(tags);
	return rc;
}
