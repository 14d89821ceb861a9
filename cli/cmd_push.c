/* cmd_push.c: coffre push (spool to destinations) and coffre destinations (what is pending). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "coffre/cfg.h"
#include "coffre/dst.h"
#include "coffre/lock_extend.h"
#include "coffre/push.h"
#include "coffre/repo.h"

static const char push_usage[] =
	"usage: coffre push [--to URL]... [--config FILE] [--clear-spool]\n"
	"Sends what the local repository (--repo, the spool) holds and a destination lacks:\n"
	"packs first, then the index, the snapshots last; each object is read back. A\n"
	"destination that cannot be reached keeps its objects pending for the next push; the\n"
	"others are served all the same. Without --to, the destinations are those of coffred's\n"
	"configuration (--config, default " CFG_DEFAULT_PATH "), which also gives the\n"
	"repository and its password file when they are not set otherwise. --clear-spool then\n"
	"removes from the spool the data packs that every destination holds (only when all\n"
	"were reached), counting every destination of the configuration too.\n"
	"exit: 0 every destination complete, 13 one unreachable, 1 another failure\n";

static const char dest_usage[] =
	"usage: coffre destinations [--to URL]... [--config FILE]\n"
	"Says, for each destination (those given, or those of the configuration), what it lacks\n"
	"of the spool and since when, and whether uploads there are protected by Object Lock:\n"
	"then the lock's mode and the earliest date until which every object there is retained\n"
	"(a push extends the retention of objects that come within half the lock period of it).\n";

static void show_progress(void *ctx, const char *name, uint64_t done, uint64_t total)
{
	(void)ctx;
	if (g.progress) {
		fprintf(stderr, "\r\033[K%llu/%llu %s", (unsigned long long)done,
			(unsigned long long)total, name);
		fflush(stderr);
	}
}

/* --to URL (with the options of the command line), else the configuration's; with
 * --clear-spool, the configuration's are added to those given. */
static int parse_targets(int argc, char **argv, struct targets *t, int *clear, const char *usage)
{
	static const struct option opts[] = { { "to", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },
		{ "clear-spool", no_argument, NULL, 'x' }, { 0 } };
	const char *config = NULL;
	const char **tos = calloc((size_t)argc + 1, sizeof *tos);
	size_t nto = 0;
	int c;
	memset(t, 0, sizeof *t);
	if (!tos)
		return cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't')
			tos[nto++] = optarg;
		else if (c == 'c')
			config = optarg;
		else if (c == 'x' && clear)
			*clear = 1;
		else
			break;
	}
	int rc = c != -1 || optind != argc ? cli_usage(usage) :
		cli_targets(t, tos, nto, config, clear && *clear ? CLI_TARGETS_ALL : 0);
	free(tos);
	return rc;
}

static void print_since(int64_t since)
{
	if (since > 0) {
		char t[40];
		struct tm tm;
		time_t tt = (time_t)since;
		localtime_r(&tt, &tm);
		strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S", &tm);
		printf(_(", behind since %s"), t);
	}
}

static const char *mode_name(int mode)
{
	return mode == DST_LOCK_COMPLIANCE ? "COMPLIANCE" : mode == DST_LOCK_GOVERNANCE ?
		"GOVERNANCE" : "none";
}

static void utc_date(int64_t t, char *out, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The Object Lock state of a destination's needed objects, in JSON. */
static json_t *lock_json(const struct lock_extend_stats *ls)
{
	char d[40] = "";
	if (ls->earliest)
		utc_date(ls->earliest, d, sizeof d);
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "mode", mode_name(ls->mode),
		"checked", (json_int_t)ls->checked, "read", (json_int_t)ls->read, "extended",
		(json_int_t)ls->extended, "missing", (json_int_t)ls->missing, "failed",
		(json_int_t)ls->failed, "unretained", (json_int_t)ls->unretained);
	json_object_set_new(j, "earliest_until", ls->earliest ? json_integer(ls->earliest) :
								json_null());
	return j;
}

/* "; COMPLIANCE, every object retained until at least DATE" and what GOVERNANCE lets by. */
static void print_lock(const struct lock_extend_stats *ls)
{
	char d[40];
	printf("; %s", mode_name(ls->mode));
	if (ls->earliest) {
		utc_date(ls->earliest, d, sizeof d);
		printf(_(", every object retained until %s at least"), d);
	}
	if (ls->unretained)
		printf(_(", %llu objects NOT retained"), (unsigned long long)ls->unretained);
	if (ls->mode == DST_LOCK_GOVERNANCE)
		printf("%s", _(" (GOVERNANCE: whoever holds the s3:BypassGovernanceRetention "
			       "permission can still delete the backups)"));
}

int cmd_push(int argc, char **argv)
{
	if (cli_help(argc, argv, push_usage))
		return 0;
	struct targets t;
	int clear = 0, rc;
	struct repo *r = NULL;
	struct push_result *res = NULL;
	json_t *out = json_array();
	if ((rc = parse_targets(argc, argv, &t, &clear, push_usage)) || (rc = cli_open_repo(&r)))
		goto done;
	if (!(res = calloc(t.n, sizeof *res))) {
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		goto done;
	}
	struct push_opts o = { .progress = show_progress };
	uint64_t freed = 0;
	struct cf_error cerr = { 0 };
	rc = push_all(r, t.url, t.opt, t.keep, t.n, clear, &o, res, &freed, &cerr);
	if (g.progress)
		fprintf(stderr, "\r\033[K");
	int worst = 0;
	for (size_t i = 0; i < t.n; i++) {
		const struct push_result *p = &res[i];
		const struct push_stats *st = &p->st;
		char b1[32];
		if (g.json) {
			json_t *j = json_pack("{s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
				"to", t.url[i], "complete", p->code == 0, "reached", p->reached,
				"sent", (json_int_t)st->sent, "sent_bytes", (json_int_t)st->sent_bytes,
				"present", (json_int_t)st->present, "verified", (json_int_t)st->verified,
				"pending", (json_int_t)st->pending, "pending_bytes",
				(json_int_t)st->pending_bytes, "object_lock", p->lock_note);
			json_object_set_new(j, "pending_since", st->pending_since ?
				json_integer(st->pending_since) : json_null());
			/* Not sent: their blobs are there already (push_select.c). */
			json_object_set_new(j, "skipped", json_integer((json_int_t)st->skipped));
			json_object_set_new(j, "own_indexes",
				json_integer((json_int_t)st->own_indexes));
			json_t *rj = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
				"removed_snapshots", (json_int_t)st->removed_snapshots,
				"removed_indexes", (json_int_t)st->removed_indexes,
				"removed_packs", (json_int_t)st->removed_packs,
				"removed_bytes", (json_int_t)st->removed_bytes,
				"thinned", (json_int_t)st->thinned,
				"lock_waiting", (json_int_t)st->protected_waiting,
				"too_small", st->too_small);
			json_object_set_new(rj, "deferred", json_boolean(st->retain_deferred));
			json_object_set_new(rj, "denied", json_integer((json_int_t)st->denied));
			json_object_set_new(j, "retention", rj);
			if (p->code)
				json_object_set_new(j, "error", cli_json_path(p->err.msg));
			if (p->lock.checked || p->lock_code)
				json_object_set_new(j, "lock", lock_json(&p->lock));
			if (p->lock_code)
				json_object_set_new(j, "lock_error", cli_json_path(p->lock_err.msg));
			json_array_append_new(out, j);
		}
		if (p->code) {
			int code = cli_fail(&p->err);
			if (!g.quiet && !g.json && p->reached) {
				printf(_("%s: %llu objects (%s) still pending"), t.url[i],
					(unsigned long long)st->pending, cli_bytes(st->pending_bytes, b1));
				print_since(st->pending_since);
				printf("\n");
			}
			if (worst == 0 || code == CF_EXIT_UNREACH)
				worst = code;
		} else if (!g.quiet && !g.json) {
			printf(_("%s: sent %llu objects (%s), %llu were there already; all read back "
				 "and verified in %.1f s\n"), t.url[i], (unsigned long long)st->sent,
				cli_bytes(st->sent_bytes, b1), (unsigned long long)st->present,
				st->duration);
		}
		if (!g.quiet && !g.json && (st->removed_snapshots || st->removed_packs))
			printf(_("%s: retention removed %llu snapshots and %llu packs (%s)\n"),
				t.url[i], (unsigned long long)st->removed_snapshots,
				(unsigned long long)st->removed_packs, cli_bytes(st->removed_bytes, b1));
		if (!g.quiet && !g.json && st->retain_deferred)
			printf(_("%s: another process (a restore drill or a restore) is reading it: "
				 "its retention waits for the next push\n"), t.url[i]);
		if (!g.quiet && !g.json && st->thinned)
			printf(_("%s: it was full: its %llu oldest snapshots were removed to make "
				 "room\n"), t.url[i], (unsigned long long)st->thinned);
		if (!g.quiet && !g.json && st->protected_waiting)
			printf(_("%s: %llu objects waiting for their lock to expire before they can "
				 "be deleted\n"), t.url[i], (unsigned long long)st->protected_waiting);
		if (!g.quiet && !g.json && st->denied)
			printf(_("%s: the destination refuses deletions with these keys: retention "
				 "there is left to its owner (%llu objects its policy drops stay; the "
				 "next push tries again)\n"), t.url[i],
				(unsigned long long)st->denied);
		if (p->code == 0 && (p->lock.checked || p->lock_code)) {
			if (!g.quiet && !g.json) {
				printf(_("%s: Object Lock: %llu objects checked, %llu retentions read, "
					 "%llu extended"), t.url[i],
					(unsigned long long)p->lock.checked,
					(unsigned long long)p->lock.read,
					(unsigned long long)p->lock.extended);
				print_lock(&p->lock);
				printf("\n");
			}
			if (p->lock_code) {
				/* The copy is complete but its protection may lapse: say so. */
				int code = cli_fail(&p->lock_err);
				if (worst == 0)
					worst = code;
			}
		}
	}
	if (clear && worst) {
		fprintf(stderr, "%s\n", _("coffre: the spool is kept: not every destination "
					  "is complete"));
	} else if (clear && cerr.code) {
		worst = cli_fail(&cerr);
	} else if (clear && !g.quiet && !g.json) {
		char b[32];
		printf(_("spool: %s of data packs removed (every destination holds them)\n"),
			cli_bytes(freed, b));
	}
	if (g.json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	rc = worst;
done:
	free(res);
	cli_targets_free(&t);
	json_decref(out);
	return rc;
}

int cmd_destinations(int argc, char **argv)
{
	if (cli_help(argc, argv, dest_usage))
		return 0;
	struct targets t;
	int rc, worst = 0;
	struct repo *r = NULL;
	json_t *out = json_array();
	if ((rc = parse_targets(argc, argv, &t, NULL, dest_usage)) || (rc = cli_open_repo(&r)))
		goto done;
	for (size_t i = 0; i < t.n; i++) {
		struct dst *d = NULL;
		struct push_stats st = { 0 };
		struct cf_error err = { 0 };
		int prc = dst_open(t.url[i], &t.opt[i], &d, &err);
		if (prc == 0)
			prc = push_pending(r, d, t.keep[i], &st, &err);
		if (prc) {
			int code = cli_fail(&err);
			if (worst == 0 || code == CF_EXIT_UNREACH)
				worst = code;
			if (g.json) {
				json_t *j = json_pack("{s:s, s:b}", "to", t.url[i], "reachable", 0);
				json_object_set_new(j, "error", cli_json_path(err.msg));
				json_array_append_new(out, j);
			}
			dst_free(d);
			continue;
		}
		char b[32];
		const char *lock = dst_lock_note(d) ? dst_lock_note(d) : "";
		struct lock_extend_stats ls = { 0 };
		int lrc = 0;
		if (dst_object_lock(d)) {
			/* The dates as they are: read (cache, then the server), nothing extended. */
			struct cf_error lerr = { 0 };
			lrc = lock_extend_present(r, d, NULL, 0, (int64_t)time(NULL), LOCK_EXTEND_DRY, &ls,
				&lerr);
			if (lrc) {
				int code = cli_fail(&lerr);
				if (worst == 0)
					worst = code;
			}
		}
		if (g.json) {
			json_t *j = json_pack("{s:s, s:b, s:I, s:I, s:I, s:b, s:s}", "to", t.url[i],
				"reachable", 1, "present", (json_int_t)st.present, "pending",
				(json_int_t)st.pending, "pending_bytes", (json_int_t)st.pending_bytes,
				"object_locked", dst_object_lock(d), "object_lock", lock);
			json_object_set_new(j, "pending_since", st.pending_since ?
				json_integer(st.pending_since) : json_null());
			if (dst_object_lock(d))
				json_object_set_new(j, "lock", lock_json(&ls));
			json_array_append_new(out, j);
		} else {
			printf(_("%s: %llu objects pending (%s), %llu present"), t.url[i],
				(unsigned long long)st.pending, cli_bytes(st.pending_bytes, b),
				(unsigned long long)st.present);
			print_since(st.pending_since);
			printf("; %s", lock);
			if (dst_object_lock(d) && (ls.checked || lrc))
				print_lock(&ls);
			printf("\n");
		}
		dst_free(d);
	}
	if (g.json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	rc = worst;
done:
	cli_targets_free(&t);
	json_decref(out);
	return rc;
}
