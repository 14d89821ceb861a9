/* cmd_drill.c: coffre drill: a restore drill of each destination (drill.h). */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "coffre/cfg.h"
#include "coffre/drill.h"
#include "coffre/repo.h"
#include "base/util.h"

static const char drill_usage[] =
	"usage: coffre drill [--to NAME|URL]... [--config FILE] [--budget BYTES] [--full]\n"
	"                    [--scratch DIR] [--state-dir DIR] [--list]\n"
	"Proves that a destination restores: opens it as a fresh machine would (no local cache,\n"
	"the keys from the destination), restores within a byte budget its latest snapshot's\n"
	"SQLite databases, the files changed since the last drill and a rotating sample of the\n"
	"rest (and a sample of its oldest snapshot) into a private scratch folder, checks them\n"
	"(content ids, the live files when unchanged, metadata, PRAGMA integrity_check; a\n"
	"database dump by its trailer, then loaded into a scratch database of its [database]\n"
	"server, counted and dropped, when the server answers), then removes the folder.\n"
	"Without --to: every destination of the configuration (--config,\n"
	"default " CFG_DEFAULT_PATH "), which also gives the password file and the state\n"
	"folder ([daemon] state-dir: the drill state is kept in its drill/ folder).\n"
	"  --budget BYTES  what a drill may fetch, as 512K, 64M, 1G (default: the smaller of\n"
	"                  256 MiB and 5% of the latest snapshot; drill-budget in the\n"
	"                  destination's section)\n"
	"  --full          restore the whole latest snapshot (a real measure of a full restore)\n"
	"  --scratch DIR   make the scratch folder in DIR (default: the state folder's drill/)\n"
	"  --state-dir DIR the state folder, over the configuration's\n"
	"  --list          name every file restored (with --json: \"drilled\")\n"
	"exit: 0 every destination drilled passed, 6 a drill failed (each problem named), 13 a\n"
	"destination unreachable, 12 wrong password, 11 locked (or a drill of it under way),\n"
	"1 another error\n";

/* The signal that asked the drill to stop (an int: what drill_opts.cancel reads). */
static volatile int stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* A test hook: with COFFRE_TEST_DRILL_STOP=FILE, at the restore's first progress the command
 * creates FILE and stops itself (SIGSTOP), so that a test can signal a drill caught in the
 * middle of its restore. */
static void test_stop(const char *phase)
{
	static int done;
	const char *file = getenv("COFFRE_TEST_DRILL_STOP");
	if (done || !file || !*file || strcmp(phase, "restore") != 0)
		return;
	done = 1;
	FILE *f = fopen(file, "we");
	if (f)
		fclose(f);
	raise(SIGSTOP);
}

static void show_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	const char *name = ctx;
	test_stop(phase);
	if (!g.progress)
		return;
	fprintf(stderr, "\r\033[K%s: %s", name, phase);
	if (done || total)
		fprintf(stderr, " %llu", (unsigned long long)done);
	if (total)
		fprintf(stderr, "/%llu", (unsigned long long)total);
	fflush(stderr);
}

/* How each database dump was proven (a failed one is named with the problems). */
static void print_dumps(const struct drill_report *R)
{
	for (size_t i = 0; i < R->ndumps; i++) {
		const struct drill_dump *d = &R->dumps[i];
		if (d->proof == DRILL_DUMP_LOADED)
			printf(_("drill %s: %s: loaded into a scratch database, %llu tables as the "
				 "dump creates, then dropped (%.1f s)\n"), R->destination, d->path,
				(unsigned long long)d->tables, d->load_seconds);
		else if (d->proof == DRILL_DUMP_TRAILER)
			printf(_("drill %s: %s: checked by its trailer; %s\n"), R->destination,
				d->path, d->note);
	}
}

static void print_report(const struct drill_report *R)
{
	char b1[32], b2[32], b3[32];
	const char *name = R->destination;
	for (size_t i = 0; i < R->nwarnings; i++)
		fprintf(stderr, _("coffre: drill %s: warning: %s\n"), name, R->warnings[i]);
	for (size_t i = 0; i < R->nlisted; i++) {
		const struct drill_failure *f = &R->failures[i];
		if (f->snapshot[0])
			fprintf(stderr, _("coffre: drill %s: snapshot %.8s: '%s': %s: %s\n"), name,
				f->snapshot, f->path, drill_failure_kind_str(f->kind), f->msg);
		else
			fprintf(stderr, _("coffre: drill %s: '%s': %s: %s\n"), name, f->path,
				drill_failure_kind_str(f->kind), f->msg);
	}
	if (R->nfailures > R->nlisted)
		fprintf(stderr, _("coffre: drill %s: and %llu more problems\n"), name,
			(unsigned long long)(R->nfailures - R->nlisted));
	if (g.quiet)
		return;
	print_dumps(R);
	for (size_t i = 0; i < R->ndrilled; i++)
		printf("%s: %s\n", name, R->drilled[i]);
	printf(_("drill %s: %s: %llu files (%s) of snapshot %.8s restored and checked in %.1f s; "
		 "%s fetched (%s/s)"), name, R->ok ? _("ok") : _("FAILED"),
		(unsigned long long)R->files, cli_bytes(R->bytes, b1), R->snapshot, R->seconds,
		cli_bytes(R->bytes_fetched, b2), cli_bytes((unsigned long long)R->throughput, b3));
	if (R->estimate_full_restore_seconds > 0)
		printf(_("; a full restore (%s) would take about %.0f s"),
			cli_bytes(R->snapshot_bytes, b1), R->estimate_full_restore_seconds);
	if (!R->ok)
		printf(_("; %llu problems"), (unsigned long long)R->nfailures);
	printf("\n");
}

/* The options besides --to; the --to values in ${tos}. */
struct drill_args {
	const char *config, *scratch, *state_dir;
	uint64_t budget;
	int full, list;
};

static int parse_args(int argc, char **argv, const char **tos, size_t *nto, struct drill_args *a)
{
	static const struct option opts[] = { { "to", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },
		{ "budget", required_argument, NULL, 'b' }, { "full", no_argument, NULL, 'f' },
		{ "scratch", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'S' }, { "list", no_argument, NULL, 'l' },
		{ 0 } };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': tos[(*nto)++] = optarg; break;
		case 'c': a->config = optarg; break;
		case 'f': a->full = 1; break;
		case 's': a->scratch = optarg; break;
		case 'S': a->state_dir = optarg; break;
		case 'l': a->list = 1; break;
		case 'b':
			if (util_parse_size(optarg, &a->budget) == 0 && a->budget > 0)
				break;
			cli_error(CF_EXIT_USAGE, _("cannot read the budget '%s' (bytes, for example "
				"64M or 1G)"), optarg);
			return CF_EXIT_USAGE;
		default: return cli_usage(drill_usage);
		}
	}
	return optind != argc ? cli_usage(drill_usage) : 0;
}

/* Drills target ${i}; its exit code (0 passed). */
static int drill_one(const struct targets *t, size_t i, const struct drill_args *a,
	const struct repo_cred *cred, const char *state_dir, json_t *out)
{
	const struct cfg_dest *cd = t->dest[i];
	struct drill_opts o = { .url = t->url[i], .dst_opt = &t->opt[i],
		.name = cd ? cd->name : NULL, .cred = cred, .state_dir = state_dir,
		.scratch_dir = a->scratch, .budget = a->budget ? a->budget : cd ? cd->drill_budget : 0,
		.full = a->full, .list = a->list, .cancel = &stop_sig, .progress = show_progress,
		.dbs = t->cfg ? t->cfg->dbs : NULL, .ndbs = t->cfg ? t->cfg->ndbs : 0 };
	o.ctx = (void *)(uintptr_t)(o.name ? o.name : o.url);
	struct drill_report *R = NULL;
	struct cf_error err = { 0 };
	int rc = drill_run(&o, &R, &err);
	if (g.progress)
		fprintf(stderr, "\r\033[K");
	if (!R)
		return cli_fail(&err);
	char *text = NULL;
	if (g.json && rc != CF_ECANCELED && drill_report_json(R, &text) == 0) {
		json_t *j = json_loads(text, 0, NULL);
		if (j)
			json_array_append_new(out, j);
	}
	free(text);
	int code = 0;
	if (rc == CF_ECANCELED)
		code = cli_error(CF_EXIT_ERROR, _("drill %s: stopped (signal %d); scratch folder "
			"removed"), R->destination, stop_sig);
	else if (rc)
		code = cli_error(cf_exit_code(rc), _("drill %s: %s"), R->destination, err.msg);
	else if (!g.json)
		print_report(R);
	if (rc == 0 && !R->ok)
		code = CF_EXIT_DRILL;
	drill_report_free(R);
	return code;
}

int cmd_drill(int argc, char **argv)
{
	if (cli_help(argc, argv, drill_usage))
		return 0;
	const char **tos = calloc((size_t)argc + 1, sizeof *tos);
	size_t nto = 0;
	struct drill_args a = { 0 };
	struct targets t = { 0 };
	char *secret = NULL, *fps = NULL;
	struct repo_cred cred = { 0 };
	json_t *out = json_array();
	int rc = !tos || !out ? cli_error(CF_EXIT_ERROR, "%s", _("out of memory")) :
		parse_args(argc, argv, tos, &nto, &a);
	if (rc == 0)
		rc = cli_targets(&t, tos, nto, a.config, CLI_TARGETS_CONFIG);
	if (rc == 0)
		rc = cli_credentials(&cred, &secret, &fps);
	const char *state_dir = a.state_dir ? a.state_dir :
		t.cfg && t.cfg->state_dir ? t.cfg->state_dir : CFG_DEFAULT_STATE_DIR;
	/* A signal ends the drill under way cleanly (scratch removed, lock released); then the
	 * process ends by that signal. */
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	int failed = 0, worst = 0;
	for (size_t i = 0; rc == 0 && i < t.n && !stop_sig; i++) {
		int code = drill_one(&t, i, &a, &cred, state_dir, out);
		if (code == CF_EXIT_DRILL)
			failed = 1;
		else if (code && (worst == 0 || code == CF_EXIT_UNREACH))
			worst = code;
	}
	if (rc == 0 && g.json && !stop_sig) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	if (rc == 0)
		rc = failed ? CF_EXIT_DRILL : worst;
	cli_secret_free(secret);
	free(fps);
	cli_targets_free(&t);
	free(tos);
	json_decref(out);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (stop_sig) {
		fflush(stdout);
		raise(stop_sig);
	}
	return rc;
}
