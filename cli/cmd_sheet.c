/* cmd_sheet.c: coffre recovery-sheet: a new recovery key, written on a sheet to print (PDF
 * and HTML), with where the backups are and how to restore them on a new computer. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "sheet.h"
#include "base/cfg_alert.h"
#include "base/util.h"
#include "coffre/cfg.h"
#include "coffre/dst.h"
#include "coffre/repo.h"

static const char sheet_usage[] =
	"usage: coffre recovery-sheet [--out DIR] [--language fr|en] [--shop-name NAME]\n"
	"                             [--config FILE]\n"
	"Makes a new recovery key (the previous one stops working) and writes the recovery\n"
	"sheet with it, " SHEET_PDF " and " SHEET_HTML ",\n"
	"into DIR (default: the current folder): the shop's name, the key and its QR code, where\n"
	"the backups are and how to restore them. Print it, keep it away from the computer, then\n"
	"delete both files.\n"
	"  --language    the sheet's language (default: [alert] language, else the locale)\n"
	"  --shop-name   (default: [alert] shop-name, else the host name)\n"
	"  --config FILE coffred's configuration, for the destinations (default\n"
	"                " CFG_DEFAULT_PATH ", when it is there and names this repository)\n";

int cli_sheet_check(const struct cli_sheet_opts *o)
{
	const char *dir = o->out ? o->out : ".";
	struct stat st;
	if (o->language && !sheet_words_for(o->language))
		return cli_error(CF_EXIT_USAGE, _("--language wants fr or en, not '%s'"), o->language);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return cli_error(CF_EXIT_USAGE, _("'%s' is not a folder"), dir);
	if (access(dir, W_OK) != 0)
		return cli_error(CF_EXIT_ERROR, _("cannot write in '%s': %s"), dir, strerror(errno));
	return 0;
}

/* The shop's name: --shop-name, [alert] shop-name (the configuration's default is the host
 * name), else the host name. */
static const char *shop_name(const struct cli_sheet_opts *o, char host[256])
{
	if (o->shop && *o->shop)
		return o->shop;
	if (o->cfg && o->cfg->alert.shop_name)
		return o->cfg->alert.shop_name;
	if (gethostname(host, 255) != 0 || !host[0])
		strcpy(host, "coffre");
	host[255] = 0;
	return host;
}

static const char *language(const struct cli_sheet_opts *o)
{
	if (o->language)
		return o->language;
	if (o->cfg && o->cfg->alert.language[0])
		return o->cfg->alert.language;
	return cfg_alert_locale_language(cfg_alert_locale_files);
}

/* The places of the sheet: the repository, then each configured destination, their URLs
 * without secrets (malloc'd, also in ${urls}, which places_free frees). */
static int places(const struct cli_sheet_opts *o, struct sheet_place **ret, char ***urls,
	size_t *ret_n)
{
	size_t n = 1 + (o->cfg ? o->cfg->ndests : 0);
	struct sheet_place *p = calloc(n, sizeof *p);
	char **u = calloc(n, sizeof *u);
	*ret = p;
	*urls = u;
	*ret_n = p && u ? n : 0;
	if (!p || !u)
		return -1;
	p[0].kind = dst_url_kind(g.repo);
	p[0].where = u[0] = sheet_safe_url(g.repo);
	for (size_t i = 1; i < n; i++) {
		const struct cfg_dest *d = &o->cfg->dests[i - 1];
		p[i].name = d->name;
		p[i].kind = dst_url_kind(d->url);
		p[i].where = u[i] = sheet_safe_url(d->url);
		p[i].host_key = d->sftp_host_key;
		p[i].region = d->s3_region;
	}
	for (size_t i = 0; i < n; i++)
		if (!u[i])
			return -1;
	return 0;
}

static void places_free(struct sheet_place *p, char **urls, size_t n)
{
	for (size_t i = 0; urls && i < n; i++)
		free(urls[i]);
	free(urls);
	free(p);
}

int cli_sheet_write(const char *key, const struct cli_sheet_opts *o)
{
	const char *dir = o->out ? o->out : ".";
	char host[256], date[64];
	time_t now = time(NULL);
	struct tm tm;
	struct sheet s = { .language = language(o), .shop = shop_name(o, host), .date = date,
		.key = key };
	struct sheet_place *pl = NULL;
	char **urls = NULL;
	struct cf_error err = { 0 };
	int rc;
	strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime_r(&now, &tm));
	if (places(o, &pl, &urls, &s.nplaces) != 0) {
		rc = cf_error_set(&err, CF_ENOMEM, "out of memory");
	} else {
		s.places = pl;
		rc = sheet_write(&s, dir, &err);
	}
	places_free(pl, urls, s.nplaces);
	if (rc && !o->quiet) {
		/* The key exists now and the previous one is retired: it must not be lost. */
		printf("%s\n", _("The recovery sheet could not be written. Write the new recovery key "
				 "down by hand:"));
		printf("Recovery key: %s\n", key);
	}
	if (rc)
		return cli_error(cf_exit_code(rc), _("cannot write the recovery sheet in '%s': %s"),
			dir, err.msg);
	if (!o->quiet && g.json) {
		json_t *j = json_pack("{s:s++, s:s++, s:s}", "pdf", dir, "/", SHEET_PDF, "html", dir,
			"/", SHEET_HTML, "language", s.language);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else if (!o->quiet) {
		printf(_("recovery sheet written: %s/%s and %s/%s\n"), dir, SHEET_PDF, dir,
			SHEET_HTML);
	}
	fprintf(stderr, "%s\n", _("Print the recovery sheet now, then keep it locked away from this "
				  "computer. Delete both files once it is printed: anyone who reads them "
				  "can read all the backups. Do not copy, mail or save them anywhere "
				  "else."));
	return 0;
}

int cmd_recovery_sheet(int argc, char **argv)
{
	if (cli_help(argc, argv, sheet_usage))
		return 0;
	static const struct option opts[] = { { "out", required_argument, NULL, 'o' },
		{ "language", required_argument, NULL, 'l' },
		{ "shop-name", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' }, { 0 } };
	struct cli_sheet_opts o = { 0 };
	const char *config = NULL;
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'o')
			o.out = optarg;
		else if (c == 'l')
			o.language = optarg;
		else if (c == 's')
			o.shop = optarg;
		else if (c == 'c')
			config = optarg;
		else
			return cli_usage(sheet_usage);
	}
	if (optind != argc)
		return cli_usage(sheet_usage);
	if ((rc = cli_sheet_check(&o)))
		return rc;
	struct cfg *cfg = NULL;
	if ((rc = cli_repo_config(config, 0, &cfg)))
		return rc;
	o.cfg = cfg;
	struct repo *r = NULL;
	char rec[REPO_RECOVERY_TEXT];
	struct cf_error err = { 0 };
	if ((rc = cli_open_repo(&r)))
		goto out;
	if (repo_key_recovery_rotate(r, rec, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	fprintf(stderr, "%s\n", _("A new recovery key was made; the previous one no longer works: "
				  "destroy any sheet or note that holds it."));
	rc = cli_sheet_write(rec, &o);
	sodium_memzero(rec, sizeof rec);
out:
	cfg_free(cfg);
	return rc;
}
