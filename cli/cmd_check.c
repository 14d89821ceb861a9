/* cmd_check.c: coffre check, rebuild-index, forget, prune. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "coffre/check.h"
#include "coffre/prune.h"
#include "coffre/repo.h"
#include "coffre/snap.h"

static void print_line(void *ctx, const char *line)
{
	json_t *a = ctx;
	if (a)
		json_array_append_new(a, cli_json_path(line));
	else
		printf("%s\n", line);
}

static void check_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	(void)ctx;
	if (g.progress) {
		fprintf(stderr, "\r\033[K%s %llu/%llu", what, (unsigned long long)done,
			(unsigned long long)total);
		fflush(stderr);
	}
}

static const char check_usage[] =
	"usage: coffre check [--read-data]\n"
	"Checks that every index, pack and snapshot is present and sound. --read-data also reads\n"
	"every pack, decrypts every blob and recomputes its id. Damaged packs and the files they\n"
	"affect are named. exit: 0 sound, 4 damage found\n";

int cmd_check(int argc, char **argv)
{
	if (cli_help(argc, argv, check_usage))
		return 0;
	static const struct option opts[] = { { "read-data", no_argument, NULL, 'd' }, { 0 } };
	int read_data = 0, c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			read_data = 1;
		else
			return cli_usage(check_usage);
	}
	if (optind != argc)
		return cli_usage(check_usage);
	struct repo *r = NULL;
	if ((rc = cli_open_repo(&r)))
		return rc;
	json_t *lines = g.json ? json_array() : NULL;
	struct check_opts o = { .read_data = read_data, .report = print_line,
		.progress = check_progress, .ctx = lines };
	struct check_result res = { 0 };
	struct cf_error err = { 0 };
	rc = check_run(r, &o, &res, &err);
	if (g.progress)
		fprintf(stderr, "\r\033[K");
	if (g.json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			"ok", rc == 0, "packs", (json_int_t)res.packs, "snapshots",
			(json_int_t)res.snapshots, "damaged_packs", (json_int_t)res.damaged_packs,
			"missing_packs", (json_int_t)res.missing_packs, "damaged_blobs",
			(json_int_t)res.damaged_blobs, "affected_files", (json_int_t)res.affected_files,
			"unreferenced_packs", (json_int_t)res.unreferenced_packs, "bytes_read",
			(json_int_t)res.bytes_read, "findings", lines);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	}
	if (rc == 0) {
		if (!g.json && !g.quiet)
			printf(_("no errors: %zu snapshots, %zu packs%s\n"), res.snapshots, res.packs,
				read_data ? _(", all data read and verified") : "");
	} else {
		rc = cli_fail(&err);
	}
	repo_free(r);
	return rc;
}

static const char rebuild_usage[] = "usage: coffre rebuild-index\n"
				    "Reads every pack's header and writes a new index.\n";

int cmd_rebuild_index(int argc, char **argv)
{
	if (cli_help(argc, argv, rebuild_usage))
		return 0;
	if (argc != 1)
		return cli_usage(rebuild_usage);
	struct repo *r = NULL;
	int rc = cli_open_repo(&r);
	if (rc)
		return rc;
	struct cf_error err = { 0 };
	size_t n = 0;
	if (check_rebuild_index(r, print_line, NULL, &n, &err))
		rc = cli_fail(&err);
	else if (!g.quiet)
		printf(_("index rebuilt from %zu packs\n"), n);
	repo_free(r);
	return rc;
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
	repo_free(r);
	return rc;
}

static const char forget_usage[] =
	"usage: coffre forget [--keep-last N] [--keep-hourly N] [--keep-daily N]\n"
	"                     [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]\n"
	"                     [--dry-run] [--prune]\n"
	"Removes the snapshots the policy does not keep (at least one rule is required).\n";

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
		{ "prune", no_argument, NULL, 'p' }, { "dry-run", no_argument, NULL, 'n' }, { 0 } };
	struct forget_policy p = { 0 };
	int prune = 0, dry = 0, c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int *slot = c == 'l' ? &p.last : c == 'h' ? &p.hourly : c == 'd' ? &p.daily :
			    c == 'w' ? &p.weekly : c == 'm' ? &p.monthly : c == 'y' ? &p.yearly : NULL;
		if (slot) {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 100000)
				return cli_usage(forget_usage);
			*slot = (int)v;
		} else if (c == 'p') {
			prune = 1;
		} else if (c == 'n') {
			dry = 1;
		} else {
			return cli_usage(forget_usage);
		}
	}
	if (optind != argc)
		return cli_usage(forget_usage);
	struct repo *r = NULL;
	if ((rc = cli_open_repo(&r)))
		return rc;
	struct cf_error err = { 0 };
	struct snap **list = NULL;
	size_t n = 0;
	if ((rc = repo_lock(r, 1, &err)) || (rc = snap_list(r, &list, &n, NULL, &err))) {
		rc = cli_fail(&err);
		goto out;
	}
	uint8_t *keep = calloc(n ? n : 1, 1);
	if (!keep || forget_select(list, n, &p, keep) < 0) {
		free(keep);
		rc = cli_error(CF_EXIT_USAGE, "%s", _("give at least one --keep-* rule"));
		goto out;
	}
	size_t removed = 0;
	for (size_t i = 0; i < n; i++) {
		char t[40];
		snap_time_str(list[i], t);
		if (keep[i]) {
			if (!g.quiet)
				printf(_("keep   %.8s  %s\n"), list[i]->idhex, t);
			continue;
		}
		if (!g.quiet)
			printf(_("remove %.8s  %s\n"), list[i]->idhex, t);
		if (!dry && snap_delete(r, list[i], &err) != 0) {
			rc = cli_fail(&err);
			break;
		}
		removed++;
	}
	free(keep);
	repo_unlock(r);
	if (rc == 0 && !g.quiet)
		printf(_("%zu snapshots removed%s\n"), removed, dry ? _(" (dry run)") : "");
	if (rc == 0 && prune && !dry)
		rc = do_prune(r);
out:
	snap_list_free(list, n);
	repo_free(r);
	return rc;
}
