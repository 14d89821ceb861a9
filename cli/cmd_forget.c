/* cmd_forget.c: coffre forget, prune. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "coffre/forget.h"
#include "coffre/prune.h"
#include "coffre/repo.h"
#include "coffre/snap.h"

static void print_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

static const char prune_usage[] = "usage: coffre prune\n"
				  "Removes data that no snapshot references.\n";

static int do_prune(struct repo *r)
{
	struct prune_stats st = { 0 };
	struct cf_error err = { 0 };
	if (prune_run(r, print_line, NULL, &st, &err))
		return cli_fail(&err);
	char b1[32], b2[32];
	if (!g.quiet)
		printf(_("prune: %zu packs removed, %zu rewritten, %zu kept; %s freed, %s moved\n"),
			st.packs_deleted, st.packs_repacked, st.packs_kept,
			cli_bytes(st.bytes_freed, b1), cli_bytes(st.bytes_repacked, b2));
	return 0;
}

int cmd_prune(int argc, char **argv)
{
	if (cli_help(argc, argv, prune_usage))
		return 0;
	if (argc != 1)
		return cli_usage(prune_usage);
	struct repo *r = NULL;
	int rc = cli_open_repo(&r);
	if (rc)
		return rc;
	rc = do_prune(r);
	return rc;
}

static const char forget_usage[] =
	"usage: coffre forget [--keep-last N] [--keep-hourly N] [--keep-daily N]\n"
	"                     [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]\n"
	"                     [--keep-within DURATION] [--keep-tag TAG]... [--dry-run] [--prune]\n"
	"Removes the snapshots the policy does not keep (at least one --keep-N rule is\n"
	"required). Whatever the rules say, it keeps pinned snapshots, those younger than\n"
	"--keep-within (default 14 d; 0 to turn it off) and those dated in the future (a\n"
	"wrong or forged clock: they count in no rule).\n";

static void print_decision(void *ctx, const struct snap *s, int why)
{
	(void)ctx;
	if (g.quiet)
		return;
	char t[40];
	snap_time_str(s, t);
	if (!why) {
		printf(_("remove %.8s  %s\n"), s->idhex, t);
		return;
	}
	printf(_("keep   %.8s  %s"), s->idhex, t);
	if (why & FORGET_KEEP_PINNED)
		printf("  %s", _("(pinned)"));
	if (why & FORGET_KEEP_WITHIN)
		printf("  %s", _("(recent)"));
	if (why & FORGET_KEEP_TAG)
		printf("  %s", _("(tag)"));
	if (why & FORGET_KEEP_FUTURE)
		printf("  %s", _("(dated in the future: forged or wrong clock)"));
	putchar('\n');
}

int cmd_forget(int argc, char **argv)
{
	if (cli_help(argc, argv, forget_usage))
		return 0;
	static const struct option opts[] = { { "keep-last", required_argument, NULL, 'l' },
		{ "keep-hourly", required_argument, NULL, 'h' },
		{ "keep-daily", required_argument, NULL, 'd' },
		{ "keep-weekly", required_argument, NULL, 'w' },
		{ "keep-monthly", required_argument, NULL, 'm' },
		{ "keep-yearly", required_argument, NULL, 'y' },
		{ "keep-within", required_argument, NULL, 'W' },
		{ "keep-tag", required_argument, NULL, 't' },
		{ "prune", no_argument, NULL, 'p' }, { "dry-run", no_argument, NULL, 'n' }, { 0 } };
	struct forget_policy p = { .within = FORGET_WITHIN_DEFAULT };
	char **tags = calloc((size_t)argc + 1, sizeof *tags);
	if (!tags)
		return cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	int prune = 0, dry = 0, c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int *slot = c == 'l' ? &p.last : c == 'h' ? &p.hourly : c == 'd' ? &p.daily :
			    c == 'w' ? &p.weekly : c == 'm' ? &p.monthly : c == 'y' ? &p.yearly : NULL;
		if (slot) {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 100000) {
				free(tags);
				return cli_usage(forget_usage);
			}
			*slot = (int)v;
		} else if (c == 'W') {
			if (forget_parse_within(optarg, &p.within)) {
				free(tags);
				return cli_usage(forget_usage);
			}
		} else if (c == 't') {
			tags[p.ntags++] = optarg;
		} else if (c == 'p') {
			prune = 1;
		} else if (c == 'n') {
			dry = 1;
		} else {
			free(tags);
			return cli_usage(forget_usage);
		}
	}
	p.tags = tags;
	/* keep-within alone is no policy a user asked for: a rule is required. */
	struct forget_policy rules = p;
	rules.within = 0;
	rules.ntags = 0;
	if (optind != argc || forget_policy_empty(&rules)) {
		free(tags);
		if (optind == argc)
			return cli_error(CF_EXIT_USAGE, "%s", _("give at least one --keep-* rule"));
		return cli_usage(forget_usage);
	}
	struct repo *r = NULL;
	if ((rc = cli_open_repo(&r))) {
		free(tags);
		return rc;
	}
	struct cf_error err = { 0 };
	size_t removed = 0;
	rc = forget_run(r, &p, dry, print_decision, NULL, &removed, &err);
	free(tags);
	if (rc == CF_EUSAGE)
		rc = cli_error(CF_EXIT_USAGE, "%s", _("give at least one --keep-* rule"));
	else if (rc)
		rc = cli_fail(&err);
	if (rc == 0 && !g.quiet)
		printf(_("%zu snapshots removed%s\n"), removed, dry ? _(" (dry run)") : "");
	if (rc == 0 && prune && !dry)
		rc = do_prune(r);
	return rc;
}
