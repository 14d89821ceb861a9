/* cmd_check.c: coffre check, rebuild-index. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "coffre/check.h"
#include "coffre/rebuild_index.h"
#include "coffre/repo.h"

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
	if (rebuild_index_run(r, print_line, NULL, &n, &err))
		rc = cli_fail(&err);
	else if (!g.quiet)
		printf(_("index rebuilt from %zu packs\n"), n);
	return rc;
}
