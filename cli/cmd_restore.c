/* cmd_restore.c: coffre restore, coffre dump. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "coffre/alarm.h"
#include "coffre/detect.h"
#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/restore.h"
#include "coffre/snap.h"
#include "base/util.h"

static const char restore_usage[] =
	"usage: coffre restore SNAPSHOT|latest --target DIR [--include PATH]... [--verify]\n"
	"       coffre restore --before-attack [--target DIR] [--yes] [--include PATH]...\n"
	"Restores the snapshot under DIR (a backed-up /home/shop/Documents comes back as\n"
	"DIR/home/shop/Documents). Entries that would leave DIR are refused and named.\n"
	"  --include PATH  restore only PATH (a path as 'coffre ls' shows it) and what is below\n"
	"  --verify        read the restored files back and compare them with the snapshot\n"
	"  --keep-privileges  also restore setuid/setgid bits and security.* / trusted.*\n"
	"                  attributes (left out by default, and counted)\n"
	"  --before-attack the snapshot the last ransomware alarm pinned (the last one made\n"
	"                  before the attack), from the repository alone; without --target,\n"
	"                  into the original place (/), over the files there, once confirmed\n"
	"  --yes           no confirmation\n"
	"  --with-canaries also restore the ransomware watch's control files (left out)\n"
	"exit: 0 ok, 4 some entries refused or damaged (all others restored), 3 some entries\n"
	"not restored because the target's file system takes their names for others already\n"
	"there (FAT and exFAT ignore case: Facture.pdf and facture.pdf), each named\n";

static void show_progress(void *ctx, const struct restore_stats *st)
{
	char b[32];
	(void)ctx;
	if (!g.progress)
		return;
	fprintf(stderr, "\r\033[K");
	fprintf(stderr, _("[%.0fs] %llu files, %s"), st->duration,
		(unsigned long long)st->files, cli_bytes(st->bytes, b));
	fflush(stderr);
}

static void show_problem(void *ctx, const char *path, const char *msg)
{
	(void)ctx;
	if (g.progress)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "coffre: '%s': %s\n", path, msg);
}

/* --before-attack: the snapshot of the last alarm's pin (${spec}, hex), and the original
 * place as the target unless one was given, once confirmed. */
static int before_attack(struct repo *r, char spec[65], const char **target, int yes)
{
	uint8_t id[32];
	int64_t when = 0;
	struct cf_error err = { 0 };
	int rc = alarm_find_pin(r, id, &when, &err);
	if (rc == CF_ENOENT)
		return cli_error(CF_EXIT_ERROR, "%s", _("no ransomware alarm has pinned a snapshot "
			"in this repository: choose one with 'coffre snapshots'"));
	if (rc)
		return cli_fail(&err);
	util_hex(spec, id, 32);
	if (*target)
		return 0;
	*target = "/";
	if (yes)
		return 0;
	fprintf(stderr, _("coffre: restoring snapshot %.8s (the last before the attack) into its "
			  "original place, over the files there. Type yes to go on: "), spec);
	char line[16] = "";
	if (!isatty(STDIN_FILENO) || !fgets(line, sizeof line, stdin) ||
	    (strcmp(line, "yes\n") != 0 && strcmp(line, "oui\n") != 0))
		return cli_error(CF_EXIT_USAGE, "%s", _("not confirmed: nothing was restored (--yes "
			"confirms, --target DIR restores elsewhere)"));
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	if (cli_help(argc, argv, restore_usage))
		return 0;
	static const struct option opts[] = { { "target", required_argument, NULL, 't' },
		{ "include", required_argument, NULL, 'i' }, { "verify", no_argument, NULL, 'v' },
		{ "keep-privileges", no_argument, NULL, 'P' },
		{ "before-attack", no_argument, NULL, 'B' }, { "yes", no_argument, NULL, 'y' },
		{ "with-canaries", no_argument, NULL, 'C' }, { 0 } };
	const char **inc = calloc((size_t)argc, sizeof *inc);
	size_t ninc = 0;
	const char *target = NULL;
	int verify = 0, keep_priv = 0, before = 0, yes = 0, canaries = 0, c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:i:", opts, NULL)) != -1) {
		if (c == 't')
			target = optarg;
		else if (c == 'i')
			inc[ninc++] = optarg;
		else if (c == 'v')
			verify = 1;
		else if (c == 'P')
			keep_priv = 1;
		else if (c == 'B')
			before = 1;
		else if (c == 'y')
			yes = 1;
		else if (c == 'C')
			canaries = 1;
		else {
			free(inc);
			return cli_usage(restore_usage);
		}
	}
	if (before ? optind != argc : (optind != argc - 1 || !target)) {
		free(inc);
		return cli_usage(restore_usage);
	}
	struct repo *r = NULL;
	struct snap **list = NULL, *s = NULL;
	size_t n = 0;
	char spec[65];
	if ((rc = cli_open_repo(&r))) {
		free(inc);
		return rc;
	}
	if (before && (rc = before_attack(r, spec, &target, yes))) {
		free(inc);
		return rc;
	}
	if ((rc = cli_snapshot(r, before ? spec : argv[optind], &list, &n, &s))) {
		free(inc);
		return rc;
	}
	const char *skip[3];
	for (int k = 0; k < 3; k++)
		skip[k] = detect_canary_name((enum detect_canary_kind)k);
	struct restore_opts o = { .target = target, .includes = inc, .nincludes = ninc,
		.verify = verify, .keep_privileges = keep_priv, .skip_names = canaries ? NULL : skip,
		.nskip_names = canaries ? 0 : 3, .progress = show_progress, .problem = show_problem };
	struct restore_stats st = { 0 };
	struct cf_error err = { 0 };
	rc = restore_run(r, s, &o, &st, &err);
	if (g.progress)
		fprintf(stderr, "\r\033[K");
	char b[32];
	if (rc == 0 || rc == CF_ECORRUPT || rc == CF_EPARTIAL) {
		if (!g.json && !g.quiet) {
			printf(_("restored %llu files, %llu folders, %llu links, %s from snapshot %.8s "
				 "to %s in %.1f s"),
				(unsigned long long)st.files, (unsigned long long)st.dirs,
				(unsigned long long)(st.symlinks + st.hardlinks), cli_bytes(st.bytes, b),
				s->idhex, target, st.duration);
			if (verify)
				printf(_("; %llu files verified"), (unsigned long long)st.verified);
			printf("\n");
			if (st.unprivileged)
				fprintf(stderr, _("coffre: note: %llu entries restored without their "
						  "setuid/setgid bits or security attributes "
						  "(--keep-privileges restores them)\n"),
					(unsigned long long)st.unprivileged);
		} else if (g.json) {
			printf("{\"snapshot\": \"%s\", \"files\": %llu, \"dirs\": %llu, \"links\": %llu, "
			       "\"bytes\": %llu, \"refused\": %llu, \"damaged\": %llu, \"collisions\": %llu, "
			       "\"verified\": %llu, \"verify_failed\": %llu, \"unprivileged\": %llu, "
			       "\"duration\": %.3f}\n",
				s->idhex, (unsigned long long)st.files, (unsigned long long)st.dirs,
				(unsigned long long)(st.symlinks + st.hardlinks),
				(unsigned long long)st.bytes, (unsigned long long)st.refused,
				(unsigned long long)st.damaged, (unsigned long long)st.collisions,
				(unsigned long long)st.verified,
				(unsigned long long)st.verify_failed,
				(unsigned long long)st.unprivileged, st.duration);
		}
	}
	if (rc)
		rc = cli_fail(&err);
	snap_list_free(list, n);
	free(inc);
	return rc;
}

static const char dump_usage[] =
	"usage: coffre dump SNAPSHOT|latest PATH [--format tar|zip]\n"
	"Writes a file's content, or a folder (or / for everything) as a tar or zip archive, to\n"
	"standard output.\n";

int cmd_dump(int argc, char **argv)
{
	if (cli_help(argc, argv, dump_usage))
		return 0;
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { 0 } };
	int format = DUMP_TAR, c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (c == 'f' && strcmp(optarg, "tar") == 0)
			format = DUMP_TAR;
		else if (c == 'f' && strcmp(optarg, "zip") == 0)
			format = DUMP_ZIP;
		else
			return cli_usage(dump_usage);
	}
	if (optind != argc - 2)
		return cli_usage(dump_usage);
	if (isatty(STDOUT_FILENO))
		return cli_error(CF_EXIT_USAGE, "%s", _("refusing to write an archive to a terminal: "
			"redirect the output to a file"));
	struct repo *r = NULL;
	struct snap **list = NULL, *s = NULL;
	size_t n = 0;
	if ((rc = cli_open_repo(&r)) || (rc = cli_snapshot(r, argv[optind], &list, &n, &s))) {
		return rc;
	}
	struct cf_error err = { 0 };
	fflush(stdout);
	if (dump_run(r, s, argv[optind + 1], format, STDOUT_FILENO, show_problem, NULL, &err))
		rc = cli_fail(&err);
	snap_list_free(list, n);
	return rc;
}
