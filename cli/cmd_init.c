/* cmd_init.c: coffre init, coffre key. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "sheet.h"
#include "coffre/cfg.h"
#include "coffre/dst.h"
#include "coffre/repo.h"

static const char init_usage[] =
	"usage: coffre init [--escrow-key HEX] [--sheet DIR [--language fr|en] [--shop-name NAME]]\n"
	"Creates the repository given by --repo. Prints the recovery key once: write it down\n"
	"and keep it apart from the computer; with it alone the data can be restored.\n"
	"  --sheet DIR  also write the recovery sheet to print (as 'coffre recovery-sheet')\n";

static void print_recovery(const char *text)
{
	printf("%s\n", _("Recovery key (shown only now; write it down and keep it safe, away "
			 "from this computer):"));
	printf("Recovery key: %s\n", text);
	printf("%s\n", _("Without the password or this key, nobody can restore the data, not "
			 "even us."));
}

int cmd_init(int argc, char **argv)
{
	if (cli_help(argc, argv, init_usage))
		return 0;
	const char *escrow = NULL;
	static const struct option opts[] = { { "escrow-key", required_argument, NULL, 'e' },
		{ "sheet", required_argument, NULL, 's' },
		{ "language", required_argument, NULL, 'l' },
		{ "shop-name", required_argument, NULL, 'n' }, { 0 } };
	struct cli_sheet_opts sheet = { 0 };
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'e')
			escrow = optarg;
		else if (c == 's')
			sheet.out = optarg;
		else if (c == 'l')
			sheet.language = optarg;
		else if (c == 'n')
			sheet.shop = optarg;
		else
			return cli_usage(init_usage);
	}
	if (optind != argc || ((sheet.language || sheet.shop) && !sheet.out))
		return cli_usage(init_usage);
	if (!g.repo || !*g.repo)
		return cli_error(CF_EXIT_USAGE, "%s", _("no repository given (--repo or COFFRE_REPOSITORY)"));
	if (sheet.out && (rc = cli_sheet_check(&sheet)))
		return rc;
	char *pw = NULL;
	if ((rc = cli_read_password(g.password_file, _("new password: "), 1, &pw)))
		return rc;
	if (!*pw) {
		cli_secret_free(pw);
		return cli_error(CF_EXIT_USAGE, "%s", _("the password must not be empty"));
	}
	char rec[REPO_RECOVERY_TEXT], id[65];
	struct cf_error err = { 0 };
	struct dst_options opt;
	if ((rc = cli_dst_options(&opt))) {
		cli_secret_free(pw);
		return rc;
	}
	rc = repo_init_at(g.repo, &opt, pw, cli_password_held(), escrow, rec, id, &err);
	/* The escrow holder records the new repository's fingerprint: only a repository it
	 * recorded opens with its secret half. */
	char fp[REPO_FINGERPRINT_TEXT] = "";
	if (rc == 0 && escrow) {
		struct repo_cred cred = { .password = pw, .key_cache = cli_password_held() };
		struct repo *r = NULL;
		if ((rc = repo_open_at(g.repo, &opt, &cred, &r, &err)) == 0)
			repo_escrow_fingerprint(r, fp);
		repo_free(r);
	}
	cli_secret_free(pw);
	if (rc)
		return cli_fail(&err);
	int sheet_rc = 0;
	if (sheet.out) {
		/* The destinations come from coffred's configuration when it is for this
		 * repository; a sheet without them still restores from the repository. */
		struct cfg *cfg = NULL;
		if (cli_repo_config(NULL, 0, &cfg) == 0)
			sheet.cfg = cfg;
		sheet.quiet = 1;
		sheet_rc = cli_sheet_write(rec, &sheet);
		cfg_free(cfg);
	}
	if (g.json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", id, "recovery_key", rec, "repository",
			g.repo);
		if (fp[0])
			json_object_set_new(o, "escrow_fingerprint", json_string(fp));
		if (sheet.out && !sheet_rc)
			json_object_set_new(o, "sheet", json_pack("{s:s++, s:s++}", "pdf", sheet.out,
				"/", SHEET_PDF, "html", sheet.out, "/", SHEET_HTML));
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		printf(_("created repository %.8s at %s\n"), id, g.repo);
		print_recovery(rec);
		if (fp[0])
			printf(_("Escrow fingerprint (for the escrow holder's list): %s\n"), fp);
		if (sheet.out && !sheet_rc)
			printf(_("recovery sheet written: %s/%s and %s/%s\n"), sheet.out, SHEET_PDF,
				sheet.out, SHEET_HTML);
	}
	sodium_memzero(rec, sizeof rec);
	return sheet_rc;
}

static const char key_usage[] =
	"usage: coffre key passwd [--new-password-file F]\n"
	"       coffre key recovery-rotate\n"
	"       coffre key escrow-keygen\n"
	"       coffre key escrow-fingerprint\n"
	"passwd wraps the master key with a new password (the old one stops working);\n"
	"recovery-rotate makes a new recovery key and retires the old one; escrow-keygen makes a\n"
	"key pair for 'coffre init --escrow-key PUBLIC' and '--escrow-key-file SECRET_FILE';\n"
	"escrow-fingerprint prints what the escrow holder records to tell this repository from a\n"
	"forged one ('--escrow-fingerprints FILE' when opening with the escrow key).\n";

int cmd_key(int argc, char **argv)
{
	if (cli_help(argc, argv, key_usage))
		return 0;
	if (argc < 2)
		return cli_usage(key_usage);
	const char *sub = argv[1];
	const char *newfile = NULL;
	static const struct option opts[] = {
		{ "new-password-file", required_argument, NULL, 'n' }, { 0 } };
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			newfile = optarg;
		else
			return cli_usage(key_usage);
	}
	if (strcmp(sub, "escrow-keygen") == 0) {
		/* Needs no repository: the federation keeps the secret half, ships the public. */
		char pub[65], sec[65];
		repo_escrow_keygen(pub, sec);
		printf("public: %s\nsecret: %s\n", pub, sec);
		return 0;
	}
	if (optind != argc || (strcmp(sub, "passwd") && strcmp(sub, "recovery-rotate") &&
				 strcmp(sub, "escrow-fingerprint")))
		return cli_usage(key_usage);
	struct repo *r = NULL;
	int rc = cli_open_repo(&r);
	if (rc)
		return rc;
	if (strcmp(sub, "escrow-fingerprint") == 0) {
		char fp[REPO_FINGERPRINT_TEXT];
		repo_escrow_fingerprint(r, fp);
		printf("%s\n", fp);
		return 0;
	}
	struct cf_error err = { 0 };
	if (strcmp(sub, "passwd") == 0) {
		char *pw = NULL;
		if (newfile) {
			rc = cli_read_password(newfile, NULL, 0, &pw);
		} else if (isatty(0)) {
			rc = cli_prompt_password(_("new password: "), 1, &pw);
		} else {
			rc = cli_error(CF_EXIT_USAGE, "%s", _("give the new password with --new-password-file"));
		}
		if (rc == 0 && !*pw)
			rc = cli_error(CF_EXIT_USAGE, "%s", _("the password must not be empty"));
		if (rc == 0 && repo_key_passwd(r, pw, &err) != 0)
			rc = cli_fail(&err);
		if (rc == 0 && !g.quiet)
			printf("%s\n", _("password changed"));
		cli_secret_free(pw);
	} else {
		char rec[REPO_RECOVERY_TEXT];
		if (repo_key_recovery_rotate(r, rec, &err) != 0) {
			rc = cli_fail(&err);
		} else if (g.json) {
			json_t *o = json_pack("{s:s}", "recovery_key", rec);
			json_dumpf(o, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(o);
		} else {
			print_recovery(rec);
		}
	}
	return rc;
}
