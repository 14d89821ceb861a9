/* cmd_fleet.c: coffre fleet, the federation's view of its shops from their status objects. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "coffre/fleet.h"
#include "base/util.h"
#include "fleet_out.h"

static const char fleet_usage[] =
	"usage: coffre fleet --dir FEDE --bucket s3://HOST[:PORT]/BUCKET[/PREFIX]\n"
	"                    [--keys-file F] [--cache F] [--require-lock] [--json]\n"
	"                    [--csv FILE] [--html FILE] [--now UNIX]\n"
	"Reads the shops' signed status objects (PREFIX/status/SHOP.json), checks each against\n"
	"the shop's key in the federation's signed registry (FEDE/registry.json), and prints one\n"
	"line per shop that needs attention, then a summary.\n"
	"  --dir FEDE      the federation folder (federation.pub, registry.json; with an\n"
	"                  escrow.pub, every shop must be sealed to that escrow key)\n"
	"  --bucket URL    where the shops put their status objects\n"
	"  --keys-file F   the bucket's S3 keys (default FEDE/fleet-s3.keys)\n"
	"  --cache F       what the last run saw (default FEDE/fleet-cache.json)\n"
	"  --require-lock  every shop must have a destination under Object Lock\n"
	"  --csv FILE      every shop as CSV;  --html FILE  one page to read on a phone\n"
	"  --now UNIX      judge as at this time (tests)\n"
	"exit: 0 every shop is protected, 1 some need attention, 4 the registry is not signed\n"
	"by the federation, 13 the bucket cannot be reached, 2 usage\n";

static json_t *when(long long t)
{
	return t ? json_integer(t) : json_null();
}

static int print_json(const struct fleet_report *r)
{
	json_t *list = json_array();
	for (size_t i = 0; i < r->nshops; i++) {
		const struct fleet_shop *s = &r->shops[i];
		json_t *probs = json_array();
		for (int k = 0; k < _FLEET_PROBLEMS; k++)
			if (s->problems & (1u << k))
				json_array_append_new(probs, json_string(fleet_problem_name(1u << k)));
		char detail[1024];
		fleet_out_problems(s, r->now, detail, sizeof detail);
		/* The escrow keys its repository is sealed to, as it says; null: not said. */
		json_t *escrow = json_null();
		if (s->escrow_reported) {
			escrow = json_array();
			for (const char *k = s->escrow, *end; *k; k = *end ? end + 2 : end) {
				end = strchr(k, ',');
				end = end ? end : k + strlen(k);
				json_array_append_new(escrow, json_stringn(k, (size_t)(end - k)));
			}
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:o, s:s, s:o, s:I, s:o, s:o, "
							 "s:o, s:o, s:s, s:s, s:o}",
			"id", s->id, "name", s->name, "protected", !s->problems, "problems", probs,
			"detail", detail, "last_report", when(s->stored), "seq", (json_int_t)s->seq,
			"written_at", when(s->written_at), "last_good_backup",
			when(s->last_good_backup), "last_proven_restore",
			when(s->last_proven_restore), "lock_until", when(s->lock_until), "alerts",
			s->alerts, "version", s->version, "escrow_keys", escrow));
	}
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I, s:f}}", "now",
		(json_int_t)r->now, "shops", (json_int_t)r->nshops, "protected",
		(json_int_t)(r->nshops - r->attention), "attention", (json_int_t)r->attention,
		"list", list, "traffic", "listed", (json_int_t)r->listed, "fetched",
		(json_int_t)r->fetched, "requests", (json_int_t)r->requests, "bytes_in",
		(json_int_t)r->bytes_in, "seconds", r->seconds);
	int rc = o ? json_dumpf(o, stdout, JSON_INDENT(2)) : -1;
	putchar('\n');
	json_decref(o);
	return rc;
}

static int write_out(const char *path, const struct fleet_report *r,
	int (*fn)(const struct fleet_report *, struct buf *))
{
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	int rc = fn(r, &b) ? cf_error_set(&err, CF_ENOMEM, "out of memory") :
			     util_write_atomic(path, b.p, b.len, 0, &err);
	buf_free(&b);
	return rc ? cli_fail(&err) : 0;
}

int cmd_fleet(int argc, char **argv)
{
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
		{ "bucket", required_argument, NULL, 'b' },
		{ "keys-file", required_argument, NULL, 'k' },
		{ "cache", required_argument, NULL, 'C' }, { "json", no_argument, NULL, 'j' },
		{ "csv", required_argument, NULL, 'c' }, { "html", required_argument, NULL, 'H' },
		{ "now", required_argument, NULL, 'n' },
		{ "require-lock", no_argument, NULL, 'L' }, { "help", no_argument, NULL, 'h' },
		{ 0 } };
	struct fleet_options o = { 0 };
	const char *csv = NULL, *html = NULL;
	int json = g.json, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 'b': o.bucket = optarg; break;
		case 'k': o.keys_file = optarg; break;
		case 'C': o.cache_file = optarg; break;
		case 'j': json = 1; break;
		case 'c': csv = optarg; break;
		case 'H': html = optarg; break;
		case 'L': o.require_lock = 1; break;
		case 'n':
			o.now = strtoll(optarg, &end, 10);
			if (*end || o.now <= 0)
				return cli_usage(fleet_usage);
			break;
		case 'h': fputs(fleet_usage, stdout); return 0;
		default: return cli_usage(fleet_usage);
		}
	}
	if (optind != argc || !o.dir || !o.bucket)
		return cli_usage(fleet_usage);
	struct fleet_report r = { 0 };
	struct cf_error err = { 0 };
	if (fleet_run(&o, &r, &err))
		return cli_fail(&err);
	int rc = 0;
	if (json) {
		if (print_json(&r))
			rc = cli_error(CF_EXIT_ERROR, _("cannot write the report"));
	} else {
		char line[1200];
		for (size_t i = 0; i < r.nshops; i++) {
			const struct fleet_shop *s = &r.shops[i];
			if (!s->problems)
				continue;
			fleet_out_problems(s, r.now, line, sizeof line);
			printf("%s%s%s%s: %s\n", s->id, s->name[0] ? " (" : "", s->name,
				s->name[0] ? ")" : "", line);
		}
		fleet_out_summary(&r, line, sizeof line);
		printf("%s\n", line);
	}
	if (!rc && csv)
		rc = write_out(csv, &r, fleet_out_csv);
	if (!rc && html)
		rc = write_out(html, &r, fleet_out_html);
	if (!rc && r.attention)
		rc = CF_EXIT_ERROR;
	fleet_report_release(&r);
	return rc;
}
