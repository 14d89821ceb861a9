/* cmd_enroll.c: coffre enroll: join a federation with the signed bundle it made for this
 * shop: configure, create the spool with the federation's escrow key, back up, push, start
 * coffred. A newer bundle for the same shop later updates the settings only. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "enroll.h"
#include "setup.h"
#include "base/util.h"
#include "coffre/cfg.h"
#include "coffre/dst.h"
#include "coffre/push.h"
#include "coffre/repo.h"
#include "coffre/signdoc.h"

#define DEFAULT_FEDERATION_KEY "/etc/coffre/federation.pub"
#define MAX_FOLDERS 64

static const char enroll_usage[] =
	"usage: coffre enroll BUNDLE [--federation-key FILE|BASE64] [--config FILE]\n"
	"                    [--spool DIR] [--state-dir DIR] [--folder DIR]... [--sheet DIR]\n"
	"                    [--check]\n"
	"Checks the bundle your federation made for this shop (signature, date, shop), then\n"
	"sets everything up without a question: configuration, encrypted spool, first backup\n"
	"sent to the federation's storage, coffred started. With a newer bundle for the same\n"
	"shop, updates the settings only. --check shows what would be set up and writes nothing.\n";

struct enroll {
	const char *bundle, *fedkey, *config, *spool, *state_dir, *sheet;
	const char *folders[MAX_FOLDERS];
	char *abs[MAX_FOLDERS];
	size_t nfolders;
	int check;
	char *confdir;
	char fedkey_text[64];
	uint8_t pk[SIGNDOC_PK_BYTES];
	struct enroll_bundle b;
	struct cfg *old;	/* the configuration in place, when there is one */
	long long old_issued;
};

static char *dir_of(const char *path)
{
	char *s = strdup(path);
	if (!s)
		return NULL;
	char *slash = strrchr(s, '/');
	if (!slash) {
		free(s);
		return strdup(".");
	}
	if (slash == s)
		slash[1] = '\0';
	else
		*slash = '\0';
	return s;
}

static int federation_key(struct enroll *e)
{
	const char *src = e->fedkey ? e->fedkey : DEFAULT_FEDERATION_KEY;
	if (e->fedkey && signdoc_key_parse(e->fedkey, e->pk, sizeof e->pk) == 0)
		return signdoc_key_text(e->pk, sizeof e->pk, e->fedkey_text, sizeof e->fedkey_text);
	char *line = util_read_first_line(src);
	int bad = !line || signdoc_key_parse(line, e->pk, sizeof e->pk) != 0;
	free(line);
	if (bad)
		return cli_error(CF_EXIT_USAGE, _("cannot read the federation's public key '%s' "
			"(install your federation's package, or give --federation-key)"), src);
	signdoc_key_text(e->pk, sizeof e->pk, e->fedkey_text, sizeof e->fedkey_text);
	return 0;
}

static char *recorded_path(const struct enroll *e)
{
	return util_path("%s/enrolled", e->confdir);
}

/* The configuration in place: none, or one of the same shop from an older bundle. */
static int check_existing(struct enroll *e)
{
	if (access(e->config, F_OK) != 0)
		return 0;
	char *problems = NULL;
	struct cf_error err = { 0 };
	if (cfg_load(e->config, &e->old, &problems, &err) != 0) {
		free(problems);
		return cli_error(CF_EXIT_ERROR, _("refused: the configuration '%s' in place cannot "
			"be read (%s); nothing changed"), e->config, err.msg);
	}
	const char *id = e->old->fed.shop_id;
	if (!id)
		return cli_error(CF_EXIT_USAGE, _("refused: '%s' exists and is not a federation's "
			"configuration; nothing changed"), e->config);
	if (strcmp(id, e->b.shop) != 0)
		return cli_error(CF_EXIT_USAGE, _("refused: this computer is enrolled as shop '%s', "
			"the bundle is for shop '%s'; nothing changed"), id, e->b.shop);
	char *p = recorded_path(e), *line = p ? util_read_first_line(p) : NULL;
	if (line)
		sscanf(line, "%*s %lld", &e->old_issued);
	free(line);
	free(p);
	if (e->b.issued < e->old_issued)
		return cli_error(CF_EXIT_USAGE, _("refused: this bundle is older than the one in "
			"use; nothing changed"));
	return 0;
}

static int spool_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT;
	struct dirent *de;
	int empty = 1;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

static int folders(struct enroll *e)
{
	if (e->nfolders == 0 && e->old) {
		for (size_t i = 0; i < e->old->npaths && i < MAX_FOLDERS; i++)
			e->folders[e->nfolders++] = e->old->paths[i];
		return 0;
	}
	if (e->nfolders == 0) {
		for (size_t i = 0; i < e->b.nfolders; i++)
			e->folders[e->nfolders++] = e->b.folders[i];
		if (!e->nfolders)
			return cli_error(CF_EXIT_USAGE, "%s", _("the bundle names no folder to back "
				"up: give them with --folder DIR"));
		return 0;
	}
	for (size_t i = 0; i < e->nfolders; i++) {
		char *r = realpath(e->folders[i], NULL);
		if (!r || !setup_path_ok(r)) {
			free(r);
			return cli_error(CF_EXIT_USAGE, _("cannot back up '%s': not a folder that can "
				"be named in the configuration"), e->folders[i]);
		}
		e->abs[i] = r;
		e->folders[i] = r;
	}
	return 0;
}

static void show(const struct enroll *e)
{
	const struct enroll_bundle *b = &e->b;
	printf(_("Shop: %s (%s)\n"), b->name, b->shop);
	printf(_("Storage: %s at %s (bucket %s, prefix %s)\n"), b->s3_url, b->endpoint,
		b->bucket, b->prefix);
	if (b->lock_days)
		printf(_("Object Lock: %lld days, %s\n"), b->lock_days, b->lock_mode);
	else
		printf("%s\n", _("Object Lock: none"));
	for (size_t i = 0; i < b->nmail; i++)
		printf(_("Alert by mail: %s%s\n"), b->mail_to[i], b->smtp_url ? "" :
			_(" (no mail server in the bundle: not used)"));
	if (b->webhook_url)
		printf(_("Alert webhook: %s\n"), b->webhook_url);
	for (size_t i = 0; i < e->nfolders; i++)
		printf(_("Folder: %s\n"), e->folders[i]);
	printf(_("Schedule: %s\n"), b->schedule);
	printf(_("Configuration: %s; spool: %s\n"), e->config, e->old ? e->old->repository :
		e->spool);
	printf(_("Status reports to: %s\n"), b->status_url);
}

static int write_secret(const char *path, const char *a, const char *b)
{
	char *text = b ? util_path("%s\n%s\n", a, b) : util_path("%s\n", a);
	int r = text ? setup_write_file(path, text, 0600, NULL) : -1;
	if (text)
		sodium_memzero(text, strlen(text));
	free(text);
	if (r != 0)
		return cli_error(CF_EXIT_ERROR, _("cannot write '%s': %s"), path, strerror(errno));
	return 0;
}

/* Everything the bundle sets: keys, configuration, and the bundle's date. */
static int write_settings(struct enroll *e, const char *pwfile, struct enroll_files *f)
{
	char *s3 = util_path("%s/s3-keys", e->confdir);
	char *sts = util_path("%s/status-s3.keys", e->confdir);
	char *stk = util_path("%s/status.key", e->confdir);
	char *rec = recorded_path(e), *text = NULL, *line = NULL;
	int rc = s3 && sts && stk && rec ? 0 : cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	f->config = e->config;
	f->password = pwfile;
	f->s3_keys = s3;
	f->status_keys = sts;
	f->status_key = stk;
	f->folders = e->folders;
	f->nfolders = e->nfolders;
	f->federation_key = e->fedkey_text;
	if (rc == 0)
		rc = write_secret(s3, e->b.access_key, e->b.secret_key);
	if (rc == 0)
		rc = write_secret(sts, e->b.access_key, e->b.secret_key);
	if (rc == 0)
		rc = write_secret(stk, e->b.status_sk, NULL);
	if (rc == 0 && !(text = enroll_conf_text(&e->b, f)))
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	if (rc == 0 && setup_write_file(e->config, text, 0640, CFG_DEFAULT_SOCKET_GROUP) != 0)
		rc = cli_error(CF_EXIT_ERROR, _("cannot write '%s': %s"), e->config,
			strerror(errno));
	if (rc == 0 && (!(line = util_path("%s %lld\n", e->b.shop, e->b.issued)) ||
			       setup_write_file(rec, line, 0644, NULL) != 0))
		rc = cli_error(CF_EXIT_ERROR, _("cannot write '%s': %s"), rec, strerror(errno));
	free(s3);
	free(sts);
	free(stk);
	free(rec);
	free(text);
	free(line);
	f->s3_keys = f->status_keys = f->status_key = NULL;
	return rc;
}

static int push_cloud(struct repo *r, const char *config)
{
	struct targets t;
	int rc = cli_targets(&t, NULL, 0, config, 0);
	struct push_result *res = rc ? NULL : calloc(t.n, sizeof *res);
	if (rc == 0 && !res)
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	if (rc == 0) {
		struct push_opts o = { 0 };
		struct cf_error cerr = { 0 };
		uint64_t freed = 0;
		push_all(r, t.url, t.opt, t.keep, t.n, 0, &o, res, &freed, &cerr);
		for (size_t i = 0; i < t.n; i++) {
			char b1[32];
			if (res[i].code) {
				rc = cli_fail(&res[i].err);
			} else if (!g.quiet) {
				printf(_("  sent to %s and read back: %s\n"), t.url[i],
					cli_bytes(res[i].st.sent_bytes, b1));
			}
		}
	}
	free(res);
	cli_targets_free(&t);
	return rc;
}

static void print_key(const char *rec)
{
	printf("\n%s\n\nRecovery key: %s\n\n", _("RECOVERY KEY: write it down on paper now and "
		"keep it away from this computer. With it alone, the backups can be restored "
		"even if everything else is lost. It is shown only this once."), rec);
}

static int first_enroll(struct enroll *e)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *pwfile = util_path("%s/password", e->confdir);
	char *pw = sodium_malloc(65), rec[REPO_RECOVERY_TEXT], id[65];
	uint8_t raw[32];
	struct enroll_files f = { .spool = e->spool, .state_dir = e->state_dir };
	struct cfg *cfg = NULL;
	struct repo *r = NULL;
	struct cf_error err = { 0 };
	struct dst_options opt = { 0 };
	struct setup_result res;
	int rc = pwfile && pw ? 0 : cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	if (rc == 0 && util_mkdirs(e->confdir, 0755) != 0)
		rc = cli_error(CF_EXIT_ERROR, _("cannot create '%s': %s"), e->confdir,
			strerror(errno));
	if (rc == 0) {
		/* Nobody types it: the recovery key and the federation's escrow key stand in. */
		randombytes_buf(raw, sizeof raw);
		util_hex(pw, raw, sizeof raw);
		sodium_memzero(raw, sizeof raw);
		rc = write_secret(pwfile, pw, NULL);
	}
	if (rc == 0 && repo_init_at(e->spool, &opt, pw, repo_key_cache_wanted(),
			       e->b.escrow_pub, rec, id, &err) != 0)
		rc = cli_fail(&err);
	if (rc == 0 && !g.quiet)
		printf(_("Backups are kept in %s (encrypted).\n"), e->spool);
	if (rc == 0)
		rc = write_settings(e, pwfile, &f);
	if (rc == 0)
		rc = cli_read_config(e->config, &cfg);
	if (rc == 0 && !g.quiet)
		printf(_("Configuration written to %s.\n"), e->config);
	struct repo_cred cred = { .password = pw, .key_cache = repo_key_cache_wanted() };
	if (rc == 0 && repo_open_at(e->spool, &opt, &cred, &r, &err) != 0)
		rc = cli_fail(&err);
	if (rc == 0) {
		char fp[REPO_FINGERPRINT_TEXT];
		repo_escrow_fingerprint(r, fp);
		printf(_("Escrow fingerprint (for the escrow holder's list): %s\n"), fp);
		if (!g.quiet)
			printf("\n%s\n", _("First backup:"));
		rc = setup_first_backup(r, cfg, &res);
	}
	int sent = rc == 0 ? push_cloud(r, e->config) : 0;
	repo_free(r);
	if (rc == 0)
		rc = setup_start_daemon(e->config, 0);
	if (rc == 0) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (sent == 0)
			printf(_("Protected: backed up and copied to your federation's storage in "
				 "%.1f s.\n"), s);
		else
			printf("%s\n", _("Backed up on this computer, but not yet on your "
				"federation's storage (see above): coffred sends it at its next run."));
		struct cli_sheet_opts so = { .out = e->sheet, .shop = e->b.name, .cfg = cfg,
			.quiet = 1 };
		if (e->sheet && cli_sheet_write(rec, &so) == 0)
			printf(_("Recovery sheet written to %s: print it and keep it away from "
				 "this computer.\n"), e->sheet);
		else if (!e->sheet)
			print_key(rec);
	}
	sodium_memzero(rec, sizeof rec);
	cfg_free(cfg);
	sodium_free(pw);
	free(pwfile);
	return rc ? rc : sent;
}

static int update(struct enroll *e)
{
	struct enroll_files f = { .spool = e->old->repository,
		.state_dir = e->state_dir ? e->state_dir : e->old->state_dir };
	int rc = write_settings(e, e->old->password_file, &f);
	struct cfg *cfg = NULL;
	if (rc == 0)
		rc = cli_read_config(e->config, &cfg);
	if (rc == 0) {
		char day[32] = "?";
		time_t t = (time_t)e->b.issued;
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(day, sizeof day, "%Y-%m-%d %H:%M UTC", &tm);
		printf(_("Settings of shop %s updated from the bundle issued %s (the spool and "
			 "its password are unchanged).\n"), e->b.shop, day);
		if (cfg->socket && setup_reload_daemon(cfg->socket))
			printf("%s\n", _("coffred reads the new settings now."));
	}
	cfg_free(cfg);
	return rc;
}

int cmd_enroll(int argc, char **argv)
{
	if (cli_help(argc, argv, enroll_usage))
		return 0;
	if (sodium_init() < 0)
		return cli_error(CF_EXIT_ERROR, "%s", "libsodium cannot start");
	struct enroll e = { .config = CFG_DEFAULT_PATH, .spool = "/var/spool/coffre" };
	static const struct option opts[] = {
		{ "federation-key", required_argument, NULL, 'k' },
		{ "config", required_argument, NULL, 'c' },
		{ "spool", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "folder", required_argument, NULL, 'f' },
		{ "sheet", required_argument, NULL, 'h' },
		{ "check", no_argument, NULL, 'n' }, { 0 } };
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': e.fedkey = optarg; break;
		case 'c': e.config = optarg; break;
		case 's': e.spool = optarg; break;
		case 'S': e.state_dir = optarg; break;
		case 'h': e.sheet = optarg; break;
		case 'n': e.check = 1; break;
		case 'f':
			if (e.nfolders == MAX_FOLDERS)
				return cli_usage(enroll_usage);
			e.folders[e.nfolders++] = optarg;
			break;
		default: return cli_usage(enroll_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage(enroll_usage);
	e.bundle = argv[optind];
	/* The configuration names them: absolute, whatever folder enroll ran from. */
	char *own[3] = { NULL, NULL, NULL };
	const char **rel[3] = { &e.config, &e.spool, &e.state_dir };
	char cwd[PATH_MAX];
	for (int i = 0; i < 3; i++)
		if (*rel[i] && (*rel[i])[0] != '/' && getcwd(cwd, sizeof cwd) &&
		    (own[i] = util_path("%s/%s", cwd, *rel[i])))
			*rel[i] = own[i];
	if ((e.state_dir && !setup_path_ok(e.state_dir)) || !setup_path_ok(e.spool) ||
	    !(e.confdir = dir_of(e.config)))
		goto usage;
	/* Every check before the first write: a refused bundle leaves no trace. */
	if ((rc = federation_key(&e)) ||
	    (rc = enroll_bundle_open(e.bundle, e.pk, (long long)time(NULL), &e.b)) ||
	    (rc = check_existing(&e)) || (rc = folders(&e)))
		goto out;
	struct cli_sheet_opts so = { .out = e.sheet, .shop = e.b.name };
	if (e.sheet && !e.old && (rc = cli_sheet_check(&so)))
		goto out;
	if (!e.old && !spool_empty(e.spool)) {
		rc = cli_error(CF_EXIT_USAGE, _("refused: the spool '%s' is not empty; nothing "
			"changed"), e.spool);
		goto out;
	}
	if (e.check) {
		show(&e);
		printf("%s\n", _("(check only: nothing was written)"));
		goto out;
	}
	rc = e.old ? update(&e) : first_enroll(&e);
out:
	for (size_t i = 0; i < MAX_FOLDERS; i++)
		free(e.abs[i]);
	cfg_free(e.old);
	enroll_bundle_release(&e.b);
	free(e.confdir);
	for (int i = 0; i < 3; i++)
		free(own[i]);
	return rc ? rc : cli_finish_stdout();
usage:
	for (int i = 0; i < 3; i++)
		free(own[i]);
	return cli_usage(enroll_usage);
}
