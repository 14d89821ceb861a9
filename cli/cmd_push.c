/* cmd_push.c: coffre push (spool to destinations) and coffre destinations (what is pending). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "coffre/dst.h"
#include "coffre/push.h"
#include "coffre/repo.h"

static const char push_usage[] =
	"usage: coffre push --to URL [--to URL]... [--clear-spool]\n"
	"Sends what the local repository (--repo, the spool) holds and a destination lacks:\n"
	"packs first, then the index, the snapshots last; each object is read back. A\n"
	"destination that cannot be reached keeps its objects pending for the next push; the\n"
	"others are served all the same. --clear-spool then removes from the spool the data\n"
	"packs that every destination holds (only when all were reached).\n"
	"exit: 0 every destination complete, 13 one unreachable, 1 another failure\n";

static const char dest_usage[] =
	"usage: coffre destinations --to URL [--to URL]...\n"
	"Says, for each destination, what it lacks of the spool, and whether uploads there are\n"
	"protected by Object Lock.\n";

static void show_progress(void *ctx, const char *name, uint64_t done, uint64_t total)
{
	(void)ctx;
	if (g.progress) {
		fprintf(stderr, "\r\033[K%llu/%llu %s", (unsigned long long)done,
			(unsigned long long)total, name);
		fflush(stderr);
	}
}

static int parse_to(int argc, char **argv, const char ***ret, size_t *ret_n, int *clear,
	const char *usage)
{
	static const struct option opts[] = { { "to", required_argument, NULL, 't' },
		{ "clear-spool", no_argument, NULL, 'c' }, { 0 } };
	const char **to = calloc((size_t)argc + 1, sizeof *to);
	size_t n = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't')
			to[n++] = optarg;
		else if (c == 'c' && clear)
			*clear = 1;
		else {
			free(to);
			return cli_usage(usage);
		}
	}
	if (optind != argc || n == 0) {
		free(to);
		return cli_usage(usage);
	}
	*ret = to;
	*ret_n = n;
	return 0;
}

/* Opens every destination that can be opened; the others are reported and left NULL. */
static int open_all(const char **to, size_t n, struct dst **d, int *worst)
{
	struct dst_options opt;
	int rc = cli_dst_options(&opt);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct cf_error err = { 0 };
		if (dst_open(to[i], &opt, &d[i], &err) != 0) {
			d[i] = NULL;
			int code = cli_fail(&err);
			if (*worst == 0 || code == CF_EXIT_UNREACH)
				*worst = code;
		}
	}
	return 0;
}

int cmd_push(int argc, char **argv)
{
	if (cli_help(argc, argv, push_usage))
		return 0;
	const char **to = NULL;
	size_t n = 0;
	int clear = 0, rc, worst = 0;
	if ((rc = parse_to(argc, argv, &to, &n, &clear, push_usage)))
		return rc;
	struct repo *r = NULL;
	struct dst **d = calloc(n, sizeof *d);
	json_t *out = json_array();
	if (!d || (rc = cli_open_repo(&r)) || (rc = open_all(to, n, d, &worst)))
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (!d[i])
			continue;
		struct push_opts o = { .progress = show_progress };
		struct push_stats st = { 0 };
		struct cf_error err = { 0 };
		int prc = push_run(r, d[i], &o, &st, &err);
		if (g.progress)
			fprintf(stderr, "\r\033[K");
		char b1[32], b2[32];
		if (g.json) {
			json_t *j = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "to",
				d[i]->url, "complete", prc == 0, "sent", (json_int_t)st.sent,
				"sent_bytes", (json_int_t)st.sent_bytes, "present",
				(json_int_t)st.present, "verified", (json_int_t)st.verified, "pending",
				(json_int_t)st.pending, "pending_bytes", (json_int_t)st.pending_bytes,
				"object_lock", d[i]->lock_note ? d[i]->lock_note : "");
			if (prc)
				json_object_set_new(j, "error", cli_json_path(err.msg));
			json_array_append_new(out, j);
		}
		if (prc) {
			int code = cli_fail(&err);
			if (!g.quiet && !g.json)
				printf(_("%s: %llu objects (%s) still pending\n"), d[i]->url,
					(unsigned long long)st.pending, cli_bytes(st.pending_bytes, b1));
			if (worst == 0 || code == CF_EXIT_UNREACH)
				worst = code;
		} else if (!g.quiet && !g.json) {
			printf(_("%s: sent %llu objects (%s), %llu were there already; all read back "
				 "and verified in %.1f s\n"), d[i]->url, (unsigned long long)st.sent,
				cli_bytes(st.sent_bytes, b2), (unsigned long long)st.present,
				st.duration);
		}
	}
	if (clear) {
		if (worst) {
			fprintf(stderr, "%s\n", _("coffre: the spool is kept: not every destination "
						  "is complete"));
		} else {
			uint64_t freed = 0;
			struct cf_error err = { 0 };
			if (push_clear(r, (struct dst *const *)d, n, &freed, &err))
				worst = cli_fail(&err);
			else if (!g.quiet && !g.json) {
				char b[32];
				printf(_("spool: %s of data packs removed (every destination holds "
					 "them)\n"), cli_bytes(freed, b));
			}
		}
	}
	if (g.json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	rc = worst;
done:
	for (size_t i = 0; d && i < n; i++)
		dst_free(d[i]);
	free(d);
	free(to);
	json_decref(out);
	repo_free(r);
	return rc;
}

int cmd_destinations(int argc, char **argv)
{
	if (cli_help(argc, argv, dest_usage))
		return 0;
	const char **to = NULL;
	size_t n = 0;
	int rc, worst = 0;
	if ((rc = parse_to(argc, argv, &to, &n, NULL, dest_usage)))
		return rc;
	struct repo *r = NULL;
	struct dst **d = calloc(n, sizeof *d);
	json_t *out = json_array();
	if (!d || (rc = cli_open_repo(&r)) || (rc = open_all(to, n, d, &worst)))
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (!d[i]) {
			if (g.json)
				json_array_append_new(out, json_pack("{s:s, s:b}", "to", to[i],
					"reachable", 0));
			continue;
		}
		struct push_stats st = { 0 };
		struct cf_error err = { 0 };
		if (push_pending(r, d[i], &st, &err)) {
			int code = cli_fail(&err);
			if (worst == 0 || code == CF_EXIT_UNREACH)
				worst = code;
			continue;
		}
		char b[32];
		if (g.json) {
			json_array_append_new(out, json_pack("{s:s, s:b, s:I, s:I, s:I, s:s}", "to",
				d[i]->url, "reachable", 1, "present", (json_int_t)st.present,
				"pending", (json_int_t)st.pending, "pending_bytes",
				(json_int_t)st.pending_bytes, "object_lock",
				d[i]->lock_note ? d[i]->lock_note : ""));
		} else {
			printf(_("%s: %llu objects pending (%s), %llu present; %s\n"), d[i]->url,
				(unsigned long long)st.pending, cli_bytes(st.pending_bytes, b),
				(unsigned long long)st.present,
				d[i]->lock_note ? d[i]->lock_note : "");
		}
	}
	if (g.json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	rc = worst;
done:
	for (size_t i = 0; d && i < n; i++)
		dst_free(d[i]);
	free(d);
	free(to);
	json_decref(out);
	repo_free(r);
	return rc;
}
