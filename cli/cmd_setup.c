/* cmd_setup.c: coffre setup, the install in one question: it finds the folders worth
 * protecting and the USB drive, asks for a passphrase, then creates the repository, writes the
 * configuration, starts coffred and makes the first backup. Every prompt has a default
 * (Enter alone gives a working setup) and ends with SETUP_MARK; --yes takes every default. */
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
#include "setup.h"
#include "base/util.h"
#include "coffre/cfg.h"
#include "coffre/dbdump.h"
#include "coffre/dst.h"
#include "coffre/repo.h"

#define SETUP_MARK " > "	/* every prompt ends so */
#define SETUP_MIN_PASS 12	/* characters */
#define SETUP_GROUP CFG_DEFAULT_SOCKET_GROUP

static const char setup_usage[] =
	"usage: coffre setup [--yes] [--folder DIR]... [--drive PATH | --no-drive]\n"
	"                    [--escrow-key HEX|FILE] [--config FILE] [--spool DIR]\n"
	"                    [--state-dir DIR] [--start-daemon] [--search-root DIR]\n"
	"                    [--smb-conf FILE]\n"
	"       coffre setup --add-drive [--drive PATH] [--yes] [--config FILE]\n"
	"Sets coffre up on this computer: finds the folders worth protecting (Documents and\n"
	"Desktop of each user, Samba shares, Dolibarr's documents) and a USB drive, asks for a\n"
	"passphrase, then creates the repository, writes the configuration, makes the first\n"
	"backup and starts coffred. Enter alone accepts what is proposed.\n"
	"  --yes            ask nothing, take every default (the passphrase comes from\n"
	"                   --password-file, COFFRE_PASSWORD_FILE or COFFRE_PASSWORD)\n"
	"  --folder DIR     protect DIR too (several)\n"
	"  --drive PATH     the drive: a device, its mount point, or a folder\n"
	"  --no-drive       no drive (backups stay on this computer)\n"
	"  --escrow-key K   the federation's escrow public key (hex, or a file holding it):\n"
	"                   no passphrase is asked, a random one is kept in the password file\n"
	"  --config FILE    the configuration to write (default " CFG_DEFAULT_PATH ")\n"
	"  --spool DIR      the local repository (default /var/spool/coffre)\n"
	"  --state-dir DIR  coffred's state folder (its socket goes there too)\n"
	"  --start-daemon   start coffred in the background where systemd does not run\n"
	"  --search-root DIR   look for folders under DIR instead of /\n"
	"  --smb-conf FILE  the Samba configuration (default /etc/samba/smb.conf)\n"
	"  --add-drive      add a drive to an existing configuration and copy the backups\n"
	"                   there (coffred, if running, reloads)\n";

struct setup {
	int yes, no_drive, start_daemon, add_drive;
	const char *config, *spool, *state_dir, *escrow, *drive_path;
	struct setup_where where;
	struct setup_folders folders;
	struct setup_dbs dbs;		/* databases found (Dolibarr's) */
	struct setup_drive drive;	/* url NULL: none */
	char *escrow_hex;
	char *pass;
	char *journal;		/* what this setup creates (setup_journal.c) */
	char rec[REPO_RECOVERY_TEXT];
};

/* ---- the terminal ---- */

/* One answer line (malloc'd, without its line end), or NULL at the end of the input. */
static char *ask(const char *prompt)
{
	printf("%s%s", prompt, SETUP_MARK);
	fflush(stdout);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = 0;
	return line;
}

/* A yes/no question whose default is yes; -1 at the end of the input. */
static int ask_yes(const char *prompt)
{
	for (;;) {
		char *a = ask(prompt);
		if (!a)
			return -1;
		int yes = !*a || strchr(_("yY"), a[0]) || strchr("yY", a[0]);
		int no = strchr(_("nN"), a[0]) || strchr("nN", a[0]);
		free(a);
		if (yes || no)
			return yes;
		printf("%s\n", _("Press Enter for yes, or type n for no."));
	}
}

/* A line typed without echo (malloc'd), or NULL. */
static char *ask_secret(const char *prompt)
{
	char *p = util_path("%s%s", prompt, SETUP_MARK);
	if (!p)
		return NULL;
	fflush(stdout);
	char *line = cli_prompt_tty(p);
	free(p);
	return line;
}

static void screen(const char *title)
{
	printf("\n== %s ==\n\n", title);
}

/* ---- the passphrase ---- */

/* Why ${pw} is too easy to guess, in a plain sentence; NULL when it is fine. */
static const char *weak(const char *pw)
{
	size_t chars = 0, distinct = 0;
	unsigned char seen[256] = { 0 };
	for (const unsigned char *c = (const unsigned char *)pw; *c; c++) {
		chars += (*c & 0xC0) != 0x80;
		distinct += !seen[*c];
		seen[*c] = 1;
	}
	if (chars < SETUP_MIN_PASS)
		return _("This passphrase is too short to be safe: use at least 12 characters, for "
			 "example four ordinary words separated by spaces.");
	if (distinct < 6)
		return _("This passphrase repeats the same few characters: use several different "
			 "words.");
	return NULL;
}

/* A random passphrase for the password file, when the escrow key stands in for one. */
static char *random_pass(void)
{
	unsigned char raw[24];
	char *s = malloc(2 * sizeof raw + 1);
	if (!s)
		return NULL;
	randombytes_buf(raw, sizeof raw);
	util_hex(s, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	return s;
}

static int choose_pass(struct setup *s)
{
	if (s->escrow_hex) {
		/* The federation's escrow key and the recovery key open the repository; the
		 * password only lets coffred work, and nobody has to remember it. */
		if (!(s->pass = random_pass()))
			return cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		return 0;
	}
	if (s->yes) {
		/* --yes asks nothing, not even on a terminal. */
		const char *env = getenv("COFFRE_PASSWORD_FILE");
		if (!g.password_file && !(env && *env) && !getenv("COFFRE_PASSWORD"))
			return cli_error(CF_EXIT_USAGE, "%s", _("with --yes, give the passphrase with "
				"--password-file FILE (or COFFRE_PASSWORD_FILE), or an escrow key"));
		int rc = cli_read_password(g.password_file, NULL, 0, &s->pass);
		if (rc)
			return rc;
		if (!*s->pass)
			return cli_error(CF_EXIT_USAGE, "%s", _("the password must not be empty"));
		const char *why = weak(s->pass);
		if (why)
			fprintf(stderr, _("coffre: warning: %s\n"), why);
		return 0;
	}
	screen(_("Passphrase"));
	printf("%s\n", _("Choose a passphrase. It protects the backups: without it (or the "
			 "recovery key shown next), nobody can read them. Nothing shows as you type."));
	for (;;) {
		char *pw = ask_secret(_("Passphrase"));
		if (!pw)
			return cli_error(CF_EXIT_USAGE, "%s", _("setup stopped: no passphrase given"));
		const char *why = weak(pw);
		if (why) {
			printf("%s\n", why);
			cli_secret_free(pw);
			continue;
		}
		char *again = ask_secret(_("The same passphrase again"));
		if (!again) {
			cli_secret_free(pw);
			return cli_error(CF_EXIT_USAGE, "%s", _("setup stopped: no passphrase given"));
		}
		int same = strcmp(pw, again) == 0;
		cli_secret_free(again);
		if (same) {
			s->pass = pw;
			return 0;
		}
		cli_secret_free(pw);
		printf("%s\n", _("The two passphrases differ: type it again, twice."));
	}
}

/* ---- the folders ---- */

static const char *why_text(const struct setup_folder *f, char *out, size_t n)
{
	switch (f->why) {
	case SETUP_DOCUMENTS:
		snprintf(out, n, _("documents of %s"), f->owner);
		break;
	case SETUP_DESKTOP:
		snprintf(out, n, _("desktop of %s"), f->owner);
		break;
	case SETUP_SAMBA:
		snprintf(out, n, _("shared folder \"%s\""), f->owner);
		break;
	case SETUP_DOLIBARR:
		snprintf(out, n, "%s", _("Dolibarr documents"));
		break;
	default:
		snprintf(out, n, "%s", _("added by you"));
	}
	return out;
}

static void show_folders(const struct setup_folders *l, const struct setup_dbs *dbs)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct setup_folder *f = &l->v[i];
		char why[160], b[32];
		printf("  %2zu [%c] %s  (%s, %s)\n", i + 1, f->ticked ? 'x' : ' ', f->path,
			why_text(f, why, sizeof why), cli_bytes(f->bytes, b));
	}
	for (size_t i = 0; i < dbs->n; i++) {
		const struct setup_db *d = &dbs->v[i];
		char b[32], what[64];
		const char *kind = d->kind == DBDUMP_POSTGRESQL ? "PostgreSQL" : "MariaDB";
		if (d->problem)
			snprintf(what, sizeof what, "%s", kind);
		else
			snprintf(what, sizeof what, "%s, %s%s", kind, d->more ? _("at least ") : "",
				cli_bytes(d->bytes, b));
		printf("  %2zu [%c] ", l->n + i + 1, d->ticked ? 'x' : ' ');
		if (!d->database)
			printf(_("the MariaDB databases of this computer (%s)"), d->list);
		else
			printf(_("the Dolibarr database %s (%s)"), d->database, what);
		printf("\n");
		if (d->problem)
			printf(_("         cannot be backed up as it is: %s\n"), d->problem);
	}
}

static size_t ticked(const struct setup_folders *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].ticked != 0;
	return n;
}

static int choose_folders(struct setup *s)
{
	struct setup_folders *l = &s->folders;
	size_t all = l->n + s->dbs.n;
	if (s->yes) {
		if (!ticked(l))
			return cli_error(CF_EXIT_USAGE, "%s", _("no folder to protect was found: name "
				"one with --folder DIR"));
		if (!g.quiet) {
			printf("%s\n", _("To protect ([x]):"));
			show_folders(l, &s->dbs);
		}
		return 0;
	}
	screen(_("Folders to protect"));
	for (;;) {
		if (all) {
			show_folders(l, &s->dbs);
			printf("\n%s\n", _("To change the list, type a number to tick or untick its "
					    "folder, or the full path of a folder to add."));
		} else {
			printf("%s\n", _("No folder was found by itself."));
		}
		char *a = ask(all ? _("Enter alone to keep this list") :
				     _("Type the folder to protect (for example /home/shop/Documents)"));
		if (!a)
			return cli_error(CF_EXIT_USAGE, "%s", _("setup stopped: no answer"));
		char *end;
		unsigned long k = strtoul(a, &end, 10);
		if (!*a) {
			free(a);
			if (ticked(l))
				return 0;
			printf("%s\n", _("Nothing is ticked: tick a folder or add one."));
		} else if (!*end && a[0] != '-' && k >= 1 && k <= l->n) {
			l->v[k - 1].ticked = !l->v[k - 1].ticked;
			free(a);
		} else if (!*end && a[0] != '-' && k > l->n && k <= all) {
			s->dbs.v[k - l->n - 1].ticked = !s->dbs.v[k - l->n - 1].ticked;
			free(a);
		} else {
			int rc = a[0] == '/' ? setup_folders_add(l, a, SETUP_GIVEN, NULL) : 0;
			if (rc < 0) {
				free(a);
				return cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
			}
			if (rc == 0)
				printf(_("'%s' is not a folder that can be added (give its full path, "
					 "starting with /).\n"), a);
			free(a);
		}
		printf("\n");
	}
}

/* ---- the drive ---- */

static const char *drive_text(const struct setup_drive *d, char *out, size_t n)
{
	char b[32];
	if (d->size >= 1000000000ull)
		snprintf(out, n, "%s (%.0f GB)", d->name, (double)d->size / 1e9);
	else if (d->size)
		snprintf(out, n, "%s (%s)", d->name, cli_bytes(d->size, b));
	else
		snprintf(out, n, "%s", d->name);
	return out;
}

static int choose_drive(struct setup *s, const struct cfg *existing)
{
	struct setup_drives found = { 0 };
	int rc = 0;
	if (s->no_drive)
		return 0;
	if (s->drive_path) {
		if (setup_drive_from_path(s->drive_path, &s->drive) != 0)
			return cli_error(CF_EXIT_USAGE, _("cannot use '%s' as the drive: %s"),
				s->drive_path, strerror(errno));
		found.v = &s->drive;
		found.n = 1;
	} else if (setup_find_drives(&found) != 0) {
		setup_drives_release(&found);
		return cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	}
	/* The first drive not in the configuration yet. */
	size_t pick = 0;
	while (existing && pick < found.n && cfg_find_dest(existing, found.v[pick].url))
		pick++;
	if (!s->yes && pick < found.n)
		screen(_("USB drive"));
	if (pick >= found.n) {
		if (existing && found.n)
			rc = cli_error(CF_EXIT_USAGE, _("the drive %s is already in the configuration"),
				found.v[0].name);
		else if (existing)
			rc = cli_error(CF_EXIT_UNREACH, "%s", _("no USB drive found: plug one in, or "
				"name it with --drive PATH"));
		else if (!g.quiet)
			printf("%s\n", _("No USB drive was found: the backups stay on this computer "
					 "until you add one with 'coffre setup --add-drive'."));
	} else {
		char what[200], q[300];
		drive_text(&found.v[pick], what, sizeof what);
		snprintf(q, sizeof q, _("Use the drive %s for backups? [Y/n]"), what);
		int yes = s->yes ? 1 : ask_yes(q);
		if (yes < 0)
			rc = cli_error(CF_EXIT_USAGE, "%s", _("setup stopped: no answer"));
		else if (!yes && existing)
			rc = cli_error(CF_EXIT_USAGE, "%s", _("no drive added"));
		if (yes > 0 && &found.v[pick] != &s->drive) {
			s->drive = found.v[pick];
			memset(&found.v[pick], 0, sizeof found.v[pick]);
		} else if (yes <= 0 && found.v == &s->drive) {
			setup_drive_release(&s->drive);
		}
	}
	if (found.v != &s->drive)
		setup_drives_release(&found);
	else if (rc)
		setup_drive_release(&s->drive);
	return rc;
}

/* ---- doing it ---- */

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

static int escrow_key(struct setup *s)
{
	if (!s->escrow)
		return 0;
	char *line = strlen(s->escrow) == 64 && strspn(s->escrow, "0123456789abcdefABCDEF") == 64 ?
			     strdup(s->escrow) : util_read_first_line(s->escrow);
	if (!line)
		return cli_error(CF_EXIT_USAGE, _("cannot read the escrow key '%s': %s"), s->escrow,
			strerror(errno));
	/* As 'coffre key escrow-keygen' prints it. */
	const char *h = strncmp(line, "public:", 7) == 0 ? line + 7 + strspn(line + 7, " \t") : line;
	uint8_t raw[32];
	if (util_unhex(raw, sizeof raw, h) != 0) {
		free(line);
		return cli_error(CF_EXIT_USAGE, "%s", _("the escrow key is not 64 hex digits"));
	}
	s->escrow_hex = strdup(h);
	free(line);
	return s->escrow_hex ? 0 : cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
}

static int write_files(struct setup *s, const char *pwfile)
{
	const char **paths = calloc(s->folders.n ? s->folders.n : 1, sizeof *paths);
	size_t n = 0;
	if (!paths)
		return cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	for (size_t i = 0; i < s->folders.n; i++)
		if (s->folders.v[i].ticked)
			paths[n++] = s->folders.v[i].path;
	char *sock = s->state_dir ? util_path("%s/coffred.sock", s->state_dir) : NULL;
	char what[200];
	struct setup_conf c = { .paths = paths, .npaths = n, .spool = s->spool,
		.password_file = pwfile, .drive_url = s->drive.url,
		.drive_name = s->drive.url ? drive_text(&s->drive, what, sizeof what) : NULL,
		.state_dir = s->state_dir, .socket = sock, .dbs = s->dbs.v, .ndbs = s->dbs.n };
	int rc = setup_dbs_write(&s->dbs, pwfile, s->journal);
	char *text = rc ? NULL : setup_conf_text(&c);
	char *pwline = rc ? NULL : util_path("%s\n", s->pass);
	if (rc)
		goto out;
	if (!text || !pwline)
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	else if (setup_write_file(pwfile, pwline, 0600, NULL) != 0)
		rc = cli_error(CF_EXIT_ERROR, _("cannot write '%s': %s"), pwfile, strerror(errno));
	else if (setup_write_file(s->config, text, 0640, SETUP_GROUP) != 0)
		rc = cli_error(CF_EXIT_ERROR, _("cannot write '%s': %s"), s->config, strerror(errno));
out:
	if (pwline)
		sodium_memzero(pwline, strlen(pwline));
	free(pwline);
	free(text);
	free(sock);
	free(paths);
	return rc;
}

/* The configuration just written, loaded as coffred will load it. */
static int check_config(const char *file, struct cfg **ret)
{
	char *problems = NULL;
	struct cf_error err = { 0 };
	int rc = cfg_load(file, ret, &problems, &err);
	if (rc == CF_EUSAGE && problems)
		fputs(problems, stderr);
	free(problems);
	return rc ? cli_error(CF_EXIT_ERROR, "%s", err.msg) : 0;
}

static void print_key(const char *rec)
{
	/* "Recovery key:" as coffre init prints it, untranslated, for scripts. */
	printf("\n%s\n\nRecovery key: %s\n\n%s\n", _("RECOVERY KEY: write it down on paper now, "
				   "or print it with 'coffre recovery-sheet', and keep it away from "
				   "this computer. With it alone, the backups can be restored even "
				   "if the passphrase is lost."), rec,
		_("It is shown only this once."));
}

static void print_protected(long when)
{
	char hm[16] = "";
	time_t t = (time_t)when;
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(hm, sizeof hm, "%H:%M", &tm);
	printf("\n");
	printf(_("Protected: last backup today %s\n"), hm);
}

/* Records what this setup is about to create, after removing what an unfinished one left. */
static int journal_start(struct setup *s, const char *pwfile)
{
	char *failed = NULL;
	if (setup_journal_exists(s->journal)) {
		if (!g.quiet)
			printf("%s\n", _("An earlier setup did not finish: what it made is replaced."));
		if (setup_journal_undo(s->journal, &failed) != 0) {
			int rc = cli_error(CF_EXIT_ERROR, _("cannot remove '%s', left by the setup that "
				"did not finish: %s"), failed ? failed : s->journal, strerror(errno));
			free(failed);
			return rc;
		}
	}
	/* The repository's folder is ours to remove if it is made now (or was empty). */
	DIR *dir = opendir(s->spool);
	int fresh = !dir && errno == ENOENT;
	if (dir) {
		size_t n = 0;
		while (n <= 2 && readdir(dir))
			n++;
		fresh = n <= 2;	/* . and .. only */
		closedir(dir);
	}
	if ((fresh && setup_journal_add(s->journal, 'd', s->spool) != 0) ||
	    setup_journal_add(s->journal, 'f', pwfile) != 0 ||
	    setup_journal_add(s->journal, 'f', s->config) != 0)
		return cli_error(CF_EXIT_ERROR, _("cannot write '%s': %s"), s->journal,
			strerror(errno));
	return 0;
}

static int do_setup(struct setup *s)
{
	char *confdir = dir_of(s->config);
	char *pwfile = confdir ? util_path("%s/password", confdir) : NULL;
	struct cfg *cfg = NULL;
	struct repo *r = NULL;
	struct cf_error err = { 0 };
	char id[65];
	int rc = 0;
	if (!pwfile) {
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		goto out;
	}
	if (!s->yes)
		screen(_("Setting up"));
	int grp = setup_group(SETUP_GROUP);
	if (grp < 0)
		fprintf(stderr, _("coffre: warning: cannot create the group '%s' (groupadd)\n"),
			SETUP_GROUP);
	if (util_mkdirs(confdir, 0755) != 0) {
		rc = cli_error(CF_EXIT_ERROR, _("cannot create '%s': %s"), confdir, strerror(errno));
		goto out;
	}
	if ((rc = journal_start(s, pwfile)))
		goto out;
	struct dst_options opt = { 0 };
	if (repo_init_at(s->spool, &opt, s->pass, repo_key_cache_wanted(), s->escrow_hex,
		    s->rec, id, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (!g.quiet)
		printf(_("Backups are kept in %s (encrypted).\n"), s->spool);
	if ((rc = write_files(s, pwfile)) || (rc = check_config(s->config, &cfg)))
		goto out;
	if (!g.quiet)
		printf(_("Configuration written to %s.\n"), s->config);
	print_key(s->rec);
	struct repo_cred cred = { .password = s->pass, .key_cache = repo_key_cache_wanted() };
	if (repo_open_at(s->spool, &opt, &cred, &r, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (s->escrow_hex) {
		/* The escrow holder records it: only a repository it recorded opens with its
		 * secret half. */
		char fp[REPO_FINGERPRINT_TEXT];
		repo_escrow_fingerprint(r, fp);
		printf(_("Escrow fingerprint (for the escrow holder's list): %s\n"), fp);
	}
	if (!g.quiet)
		printf("\n%s\n", _("First backup:"));
	struct setup_result res;
	rc = setup_first_backup(r, cfg, &res);
	if (rc) {
		/* Nothing protected yet: the next 'coffre setup' replaces what this one made. */
		repo_free(r);
		printf("\n%s\n", _("Not protected yet: once the problem above is solved, run "
				    "'coffre setup' again (it replaces what this one made)."));
		goto out;
	}
	if (setup_journal_done(s->journal) != 0)
		fprintf(stderr, _("coffre: warning: cannot remove '%s': %s\n"), s->journal,
			strerror(errno));
	int sent = s->drive.url ? setup_push(r, s->drive.url) : 0;
	repo_free(r);
	setup_record_run(cfg, &res, s->drive.url && sent == 0);
	/* The configuration is good and the first backup made: coffred takes over whatever
	 * happened to the drive (it copies there at its next backup). */
	int started = setup_start_daemon(s->config, s->start_daemon);
	if (sent == 0)
		print_protected((long)res.when);
	else
		printf("\n%s\n", _("Backed up on this computer, but not yet on the drive (see "
				    "above): coffred copies it there at its next backup."));
	rc = sent ? sent : started;
out:
	cfg_free(cfg);
	free(pwfile);
	free(confdir);
	return rc;
}

/* ---- coffre setup --add-drive ---- */

static int add_drive(struct setup *s)
{
	struct cfg *cfg = NULL;
	struct repo *r = NULL;
	char *text = NULL, *pw = NULL;
	int rc = check_config(s->config, &cfg);
	if (rc)
		return rc;
	if ((rc = choose_drive(s, cfg)))
		goto out;
	if (!s->drive.url) {
		rc = cli_error(CF_EXIT_USAGE, "%s", _("no drive added"));
		goto out;
	}
	char name[32];
	for (int i = 2; i < 1000; i++) {
		snprintf(name, sizeof name, "drive-%d", i);
		if (!cfg_find_dest(cfg, name))
			break;
	}
	struct buf old = { 0 };
	struct cf_error err = { 0 };
	char what[200];
	if (util_read_file(s->config, 1 << 20, &old, &err) != 0 || buf_put_u8(&old, 0) != 0) {
		buf_free(&old);
		rc = cli_error(CF_EXIT_ERROR, "%s", err.msg);
		goto out;
	}
	text = setup_conf_dest((const char *)old.p, name, s->drive.url,
		drive_text(&s->drive, what, sizeof what));
	buf_free(&old);
	if (!text) {
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		goto out;
	}
	if (setup_write_file(s->config, text, 0640, SETUP_GROUP) != 0) {
		rc = cli_error(CF_EXIT_ERROR, _("cannot write '%s': %s"), s->config, strerror(errno));
		goto out;
	}
	if (!g.quiet)
		printf(_("The drive %s is added to %s as [destination %s].\n"), what, s->config,
			name);
	/* coffred serves the drive from now on, even if the copy below fails. */
	if (setup_reload_daemon(cfg->socket ? cfg->socket : CFG_DEFAULT_SOCKET) && !g.quiet)
		printf("%s\n", _("coffred reads the new configuration."));
	/* A first copy now: the drive is protecting from the moment it is added. */
	if (cfg->password_file && cfg->repository) {
		if ((rc = cli_read_password(cfg->password_file, NULL, 0, &pw)))
			goto out;
		struct repo_cred cred = { .password = pw, .key_cache = cli_password_held() };
		struct dst_options opt = { 0 };
		if (repo_open_at(cfg->repository, &opt, &cred, &r, &err) != 0) {
			rc = cli_fail(&err);
			goto out;
		}
		rc = setup_push(r, s->drive.url);
	}
out:
	repo_free(r);
	cli_secret_free(pw);
	free(text);
	cfg_free(cfg);
	return rc;
}

/* ---- the command ---- */

static int parse(struct setup *s, int argc, char **argv)
{
	enum { O_YES = 1, O_FOLDER, O_DRIVE, O_NO_DRIVE, O_ESCROW, O_CONFIG, O_SPOOL, O_STATE,
		O_START, O_ROOT, O_SMB, O_ADD };
	static const struct option opts[] = { { "yes", no_argument, NULL, O_YES },
		{ "folder", required_argument, NULL, O_FOLDER },
		{ "drive", required_argument, NULL, O_DRIVE },
		{ "no-drive", no_argument, NULL, O_NO_DRIVE },
		{ "escrow-key", required_argument, NULL, O_ESCROW },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "spool", required_argument, NULL, O_SPOOL },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "start-daemon", no_argument, NULL, O_START },
		{ "search-root", required_argument, NULL, O_ROOT },
		{ "smb-conf", required_argument, NULL, O_SMB },
		{ "add-drive", no_argument, NULL, O_ADD }, { 0 } };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "y", opts, NULL)) != -1) {
		switch (c) {
		case 'y':
		case O_YES: s->yes = 1; break;
		case O_FOLDER:
			if (setup_folders_add(&s->folders, optarg, SETUP_GIVEN, NULL) <= 0)
				return cli_error(CF_EXIT_USAGE, _("'%s' is not a folder that can be "
								  "protected"), optarg);
			break;
		case O_DRIVE: s->drive_path = optarg; break;
		case O_NO_DRIVE: s->no_drive = 1; break;
		case O_ESCROW: s->escrow = optarg; break;
		case O_CONFIG: s->config = optarg; break;
		case O_SPOOL: s->spool = optarg; break;
		case O_STATE: s->state_dir = optarg; break;
		case O_START: s->start_daemon = 1; break;
		case O_ROOT: s->where.root = optarg; break;
		case O_SMB: s->where.smb_conf = optarg; break;
		case O_ADD: s->add_drive = 1; break;
		default: return cli_usage(setup_usage);
		}
	}
	if (optind != argc || (s->drive_path && s->no_drive))
		return cli_usage(setup_usage);
	const char *const abs[] = { s->config, s->spool, s->state_dir, s->where.root };
	for (size_t i = 0; i < sizeof abs / sizeof *abs; i++)
		if (abs[i] && *abs[i] && !setup_path_ok(abs[i]))
			return cli_error(CF_EXIT_USAGE, _("'%s' must be a full path (starting with /, "
							  "without ';' or '#')"), abs[i]);
	return 0;
}

int cmd_setup(int argc, char **argv)
{
	if (cli_help(argc, argv, setup_usage))
		return 0;
	struct setup s = { .config = CFG_DEFAULT_PATH, .spool = "/var/spool/coffre",
		.where = { .root = "" } };
	int rc = parse(&s, argc, argv);
	if (rc)
		goto out;
	if (!s.yes && !isatty(STDIN_FILENO)) {
		rc = cli_error(CF_EXIT_USAGE, "%s", _("setup asks questions: run it in a terminal, "
			"or give --yes to take every default"));
		goto out;
	}
	if (s.add_drive) {
		rc = add_drive(&s);
		goto out;
	}
	struct stat st;
	if (!(s.journal = setup_journal_path(s.config))) {
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		goto out;
	}
	/* A finished setup is never replaced; an unfinished one (its journal beside the
	 * configuration) is, by do_setup. */
	if (!setup_journal_exists(s.journal) && stat(s.config, &st) == 0) {
		rc = cli_error(CF_EXIT_USAGE, _("coffre is set up already (%s); to add a drive: "
						"coffre setup --add-drive"), s.config);
		goto out;
	}
	if (stat(s.spool, &st) == 0 && !S_ISDIR(st.st_mode)) {
		rc = cli_error(CF_EXIT_USAGE, _("'%s' is not a folder"), s.spool);
		goto out;
	}
	if ((rc = escrow_key(&s)))
		goto out;
	if (!s.yes)
		printf("%s\n", _("Welcome to coffre. It backs up this computer's important folders, "
				 "encrypted, every day, onto a USB drive. A few screens follow: Enter "
				 "alone accepts what is proposed."));
	if (setup_find_folders(&s.where, &s.folders) != 0 || setup_find_dbs(&s.where, &s.dbs) != 0) {
		rc = cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
		goto out;
	}
	if ((rc = choose_folders(&s)) || (rc = choose_drive(&s, NULL)) || (rc = choose_pass(&s)))
		goto out;
	rc = do_setup(&s);
out:
	setup_folders_release(&s.folders);
	setup_dbs_release(&s.dbs);
	setup_drive_release(&s.drive);
	cli_secret_free(s.pass);
	free(s.escrow_hex);
	free(s.journal);
	return rc;
}
