/* main.c: the coffre command: global options, then one subcommand from the table. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "base/util.h"
#include "coffre/cfg.h"
#include "coffre/dst.h"
#include "coffre/repo.h"
#include "coffre/snap.h"

struct cli g;

/* What a command may use beyond its arguments; main owns what it opens and frees it after
 * the command, whatever path the command returns by. */
enum { NEED_NOTHING = 0, NEED_REPO = 1, AS_OF_OK = 2 };

static const struct command {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
	int needs;
} commands[] = {
	{ "setup", cmd_setup, N_("set coffre up on this computer: folders, drive, passphrase, "
		"first backup"), NEED_NOTHING },
	{ "init", cmd_init, N_("create a repository"), NEED_NOTHING },
	{ "enroll", cmd_enroll, N_("join a federation with its signed bundle: configure, back up, "
		"push"), NEED_NOTHING },
	{ "federation", cmd_federation, N_("a federation's keys, its shops' bundles and its "
		"escrow key"), NEED_NOTHING },
	{ "backup", cmd_backup, N_("back up folders into a new snapshot"), NEED_REPO },
	{ "snapshots", cmd_snapshots, N_("list snapshots"), NEED_REPO | AS_OF_OK },
	{ "ls", cmd_ls, N_("list the files of a snapshot"), NEED_REPO | AS_OF_OK },
	{ "find", cmd_find, N_("find which snapshots hold a file"), NEED_REPO | AS_OF_OK },
	{ "diff", cmd_diff, N_("show what changed between two snapshots"), NEED_REPO | AS_OF_OK },
	{ "restore", cmd_restore, N_("restore a snapshot into a folder"), NEED_REPO | AS_OF_OK },
	{ "dump", cmd_dump, N_("write a file or a tar/zip archive of a snapshot to stdout"),
		NEED_REPO | AS_OF_OK },
	{ "restore-db", cmd_restore_db, N_("load a database dump of a snapshot into its server"),
		NEED_REPO | AS_OF_OK },
	{ "check", cmd_check, N_("verify the repository (--read-data: every byte)"),
		NEED_REPO | AS_OF_OK },
	{ "forget", cmd_forget, N_("remove snapshots by a retention policy"), NEED_REPO },
	{ "pin", cmd_pin, N_("keep a snapshot whatever retention says"), NEED_REPO },
	{ "unpin", cmd_unpin, N_("let retention apply to a pinned snapshot again"), NEED_REPO },
	{ "prune", cmd_prune, N_("remove data no snapshot needs"), NEED_REPO },
	{ "rebuild-index", cmd_rebuild_index, N_("rebuild the index from the packs"), NEED_REPO },
	{ "key", cmd_key, N_("change the password or the recovery key"), NEED_REPO },
	{ "recovery-sheet", cmd_recovery_sheet,
		N_("make a new recovery key and its sheet to print (PDF, HTML)"), NEED_REPO },
	{ "push", cmd_push, N_("send the spool's new objects to USB drives and remote storage"), NEED_REPO },
	{ "drill", cmd_drill, N_("prove that each destination restores (a restore drill)"),
		NEED_NOTHING },
	{ "destinations", cmd_destinations, N_("show what each destination still lacks"), NEED_REPO },
	{ "status", cmd_status, N_("ask coffred how the backups go"), NEED_NOTHING },
	{ "log", cmd_log, N_("list coffred's recent backup runs"), NEED_NOTHING },
	{ "config", cmd_config, N_("check coffred's configuration (config check)"), NEED_NOTHING },
	{ "alarm", cmd_alarm, N_("show or clear the ransomware alarm (alarm clear)"),
		NEED_NOTHING },
	{ "alert", cmd_alert, N_("send a test alert through every channel (alert test)"),
		NEED_NOTHING },
	{ "fleet", cmd_fleet, N_("show which shops of a federation need attention"),
		NEED_NOTHING },
};

static void usage(FILE *f)
{
	fprintf(f, _("usage: coffre [--repo DIR] [--password-file F | --recovery-key-file F |\n"
		     "              --escrow-key-file F --escrow-fingerprints F] [--json] [-q]\n"
		     "              [--as-of DATE] COMMAND [ARGS]\n\ncommands:\n"));
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, _(commands[i].help));
	fprintf(f, _("\nrepositories: a folder, usb:LABEL, s3://host[:port]/bucket[/prefix] "
		     "(--s3-keys-file F, --s3-region R),\n  sftp://user@host[:port]/path "
		     "(--sftp-key-file F, --sftp-host-key SHA256:...), --upload-limit 200KiB/s\n"));
	fprintf(f, _("\n--as-of 2026-11-30T18:00[:00][Z|+01:00]: an S3 repository as it was then\n"
		     "  (a versioned bucket keeps the old versions), read-only: snapshots, ls, find,\n"
		     "  diff, restore, dump, check; local time when no zone is given\n"));
	fprintf(f, _("\nenvironment: COFFRE_REPOSITORY, COFFRE_PASSWORD_FILE, COFFRE_PASSWORD,\n"
		     "  COFFRE_ESCROW_FINGERPRINTS, COFFRE_S3_KEYS_FILE, COFFRE_S3_REGION,\n"
		     "  COFFRE_S3_LOCK_DAYS, COFFRE_S3_LOCK_MODE,\n"
		     "  COFFRE_SFTP_KEY_FILE, COFFRE_SFTP_HOST_KEY, COFFRE_UPLOAD_LIMIT\n"
		     "exit codes: 0 ok, 1 error, 2 usage, 3 partial backup, 4 damaged data,\n"
		     "            5 ransomware alarm, 6 restore drill failed,\n"
		     "            10 no repository, 11 locked, 12 wrong password or key,\n"
		     "            13 destination unreachable\n"));
}

int cli_error(int code, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("coffre: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_fail(const struct cf_error *err)
{
	/* The engine's words for a credential that opens no key, translated here. */
	static const char *const wrong[] = { N_("wrong password"), N_("wrong recovery key"),
		N_("wrong escrow key") };
	(void)wrong;
	if (err->code == CF_EPASSWORD)
		return cli_error(CF_EXIT_KEY, "%s", _(err->msg));
	if (err->code == CF_ENOSPC)
		return cli_error(CF_EXIT_ERROR, "%s (%s)", err->msg, _("no space left on the target"));
	return cli_error(cf_exit_code(err->code), "%s", err->msg);
}

void cli_secret_free(char *s)
{
	if (!s)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

int cli_load_config(int argc, char **argv, const char *usage, const char **ret_file,
	struct cfg **ret)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' }, { 0 } };
	const char *file = CFG_DEFAULT_PATH;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			file = optarg;
		else
			return cli_usage(usage);
	}
	if (optind != argc)
		return cli_usage(usage);
	int rc = cli_read_config(file, ret);
	if (rc == 0)
		*ret_file = file;
	return rc;
}

int cli_read_config(const char *file, struct cfg **ret)
{
	char *problems = NULL;
	struct cf_error err = { 0 };
	int rc = cfg_load(file, ret, &problems, &err);
	if (rc == CF_EUSAGE) {
		fflush(stdout);
		fputs(problems, stderr);
		free(problems);
		return cli_error(CF_EXIT_ERROR, "%s", err.msg);
	}
	if (rc)
		return cli_error(CF_EXIT_ERROR, "%s", err.msg);
	return 0;
}

int cli_usage(const char *u)
{
	fprintf(stderr, "%s", u);
	return CF_EXIT_USAGE;
}

int cli_help(int argc, char **argv, const char *u)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(u, stdout);
			return 1;
		}
	}
	return 0;
}

const char *cli_bytes(unsigned long long n, char out[32])
{
	static const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, 32, "%llu B", n);
	else
		snprintf(out, 32, "%.1f %s", v, u[i]);
	return out;
}

json_t *cli_json_path(const char *path)
{
	json_t *j = json_string(path);
	if (j)
		return j;
	/* Replace each byte that breaks UTF-8 by U+FFFD, keeping valid sequences. */
	size_t n = strlen(path);
	char *out = malloc(3 * n + 1);
	size_t o = 0;
	if (!out)
		return json_string("?");
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)path[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		json_t *t = NULL;
		if (len && i + len <= n && (t = json_stringn(path + i, len))) {
			memcpy(out + o, path + i, len);
			o += len;
			i += len;
			json_decref(t);
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	out[o] = 0;
	j = json_string(out);
	free(out);
	return j ? j : json_string("?");
}

void cli_json_set_path(json_t *o, const char *key, const char *path)
{
	json_t *j = json_string(path);
	if (j) {
		json_object_set_new(o, key, j);
		return;
	}
	json_object_set_new(o, key, cli_json_path(path));
	size_t n = strlen(path);
	char *hex = malloc(2 * n + 1);
	char k[64];
	if (hex) {
		for (size_t i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", (unsigned char)path[i]);
		snprintf(k, sizeof k, "%s_hex", key);
		json_object_set_new(o, k, json_string(hex));
		free(hex);
	}
}

int cli_finish_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_error(CF_EXIT_ERROR, "cannot write the output: %s", strerror(errno));
	return 0;
}

/* A whole small text file (at most 1 MiB), NUL-terminated, or NULL with errno set. */
static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *text = malloc((1 << 20) + 1);
	size_t n = text ? fread(text, 1, 1 << 20, f) : 0;
	int bad = !text || ferror(f);
	fclose(f);
	if (bad) {
		free(text);
		errno = errno ? errno : ENOMEM;
		return NULL;
	}
	text[n] = 0;
	return text;
}

char *cli_prompt_tty(const char *prompt)
{
	FILE *tty = fopen("/dev/tty", "r+e");
	if (!tty)
		return NULL;
	setvbuf(tty, NULL, _IONBF, 0);
	struct termios old, raw;
	int fd = fileno(tty);
	int restore = tcgetattr(fd, &old) == 0;
	/* Echo off before the prompt shows: what is typed as soon as it shows is neither
	 * echoed nor flushed away. */
	if (restore) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &raw);
	}
	fputs(prompt, tty);
	fflush(tty);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, tty);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	return line;
}

int cli_prompt_password(const char *prompt, int confirm, char **ret)
{
	char *pw = cli_prompt_tty(prompt);
	if (pw && confirm) {
		char *again = cli_prompt_tty(_("repeat the password: "));
		if (!again || strcmp(again, pw) != 0) {
			cli_secret_free(again);
			cli_secret_free(pw);
			return cli_error(CF_EXIT_USAGE, "%s", _("the passwords differ"));
		}
		cli_secret_free(again);
	}
	if (!pw)
		return cli_error(CF_EXIT_USAGE, "%s", _("no password given"));
	*ret = pw;
	return 0;
}

static int password_held;

int cli_password_held(void)
{
	return password_held && repo_key_cache_wanted();
}

int cli_read_password(const char *file, const char *prompt, int confirm, char **ret)
{
	char *pw = NULL;
	password_held = 0;
	const char *f = file ? file : getenv("COFFRE_PASSWORD_FILE");
	if (f && *f) {
		pw = util_read_first_line(f);
		if (!pw)
			return cli_error(CF_EXIT_ERROR, _("cannot read the password file '%s': %s"), f,
				strerror(errno));
	} else if (getenv("COFFRE_PASSWORD")) {
		pw = strdup(getenv("COFFRE_PASSWORD"));
	} else if (isatty(STDIN_FILENO)) {
		return cli_prompt_password(prompt, confirm, ret);
	}
	if (!pw)
		return cli_error(CF_EXIT_USAGE, "%s",
			_("no password given (--password-file, COFFRE_PASSWORD_FILE or a terminal)"));
	password_held = 1;
	*ret = pw;
	return 0;
}

static const char *opt_env(const char *v, const char *env)
{
	return v ? v : getenv(env);
}

int cli_dst_options(struct dst_options *o)
{
	memset(o, 0, sizeof *o);
	o->s3_keys_file = opt_env(g.s3_keys_file, "COFFRE_S3_KEYS_FILE");
	o->s3_region = opt_env(g.s3_region, "COFFRE_S3_REGION");
	o->sftp_key_file = opt_env(g.sftp_key_file, "COFFRE_SFTP_KEY_FILE");
	o->sftp_host_sha256 = opt_env(g.sftp_host_key, "COFFRE_SFTP_HOST_KEY");
	const char *days = opt_env(g.s3_lock_days, "COFFRE_S3_LOCK_DAYS");
	if (days && *days) {
		char *end;
		long d = strtol(days, &end, 10);
		if (*end || d < 1 || d > 36500)
			return cli_error(CF_EXIT_USAGE, _("--s3-lock-days wants a number of days, not "
							  "'%s'"), days);
		o->s3_lock_days = (int)d;
	}
	o->s3_lock_mode = opt_env(g.s3_lock_mode, "COFFRE_S3_LOCK_MODE");
	if (g.as_of && util_parse_time(g.as_of, 1, &o->as_of_ms) != 0)
		return cli_error(CF_EXIT_USAGE, _("cannot read the date '%s' of --as-of (for example "
						  "2026-11-30T18:00, 2026-11-30T18:00:00Z or "
						  "2026-11-30T18:00+01:00)"), g.as_of);
	const char *lim = opt_env(g.upload_limit, "COFFRE_UPLOAD_LIMIT");
	if (lim && *lim && dst_parse_rate(lim, &o->upload_limit))
		return cli_error(CF_EXIT_USAGE, _("cannot read the upload limit '%s' (for example "
						  "200KiB/s)"), lim);
	lim = opt_env(g.download_limit, "COFFRE_DOWNLOAD_LIMIT");
	if (lim && *lim && dst_parse_rate(lim, &o->download_limit))
		return cli_error(CF_EXIT_USAGE, _("cannot read the download limit '%s' (for "
						  "example 2MiB/s)"), lim);
	return 0;
}

int cli_credentials(struct repo_cred *ret, char **ret_secret, char **ret_fingerprints)
{
	struct repo_cred cred = { 0 };
	char *secret = NULL, *fingerprints = NULL;
	int rc;
	if (g.escrow_file) {
		secret = util_read_first_line(g.escrow_file);
		if (!secret)
			return cli_error(CF_EXIT_ERROR, _("cannot read the escrow key file '%s': %s"),
				g.escrow_file, strerror(errno));
		/* Accept the line as 'coffre key escrow-keygen' prints it. */
		if (strncmp(secret, "secret:", 7) == 0) {
			size_t skip = 7 + strspn(secret + 7, " \t");
			memmove(secret, secret + skip, strlen(secret + skip) + 1);
		}
		cred.escrow_secret = secret;
		const char *fpf = g.escrow_fingerprints ? g.escrow_fingerprints
							: getenv("COFFRE_ESCROW_FINGERPRINTS");
		if (!fpf || !*fpf) {
			cli_secret_free(secret);
			return cli_error(CF_EXIT_USAGE, "%s", _("opening with the escrow key needs the "
				"fingerprints recorded at enrollment (--escrow-fingerprints FILE)"));
		}
		if (!(fingerprints = read_small_file(fpf))) {
			cli_secret_free(secret);
			return cli_error(CF_EXIT_ERROR, _("cannot read the escrow fingerprints file "
				"'%s': %s"), fpf, strerror(errno));
		}
		cred.escrow_fingerprints = fingerprints;
	} else if (g.recovery_file) {
		secret = util_read_first_line(g.recovery_file);
		if (!secret)
			return cli_error(CF_EXIT_ERROR, _("cannot read the recovery key file '%s': %s"),
				g.recovery_file, strerror(errno));
		cred.recovery_key = secret;
	} else {
		if ((rc = cli_read_password(g.password_file, _("password: "), 0, &secret)))
			return rc;
		cred.password = secret;
		cred.key_cache = cli_password_held();
	}
	*ret = cred;
	*ret_secret = secret;
	*ret_fingerprints = fingerprints;
	return 0;
}

static const struct command *running;
static struct repo *opened;

int cli_open_repo(struct repo **ret)
{
	if (!running || !(running->needs & NEED_REPO))
		return cli_error(CF_EXIT_ERROR, "internal error: '%s' does not declare NEED_REPO",
			running ? running->name : "?");
	if (opened) {
		*ret = opened;
		return 0;
	}
	if (!g.repo || !*g.repo)
		return cli_error(CF_EXIT_NOREPO, "%s",
			_("no repository given (--repo or COFFRE_REPOSITORY)"));
	struct repo_cred cred = { 0 };
	char *secret = NULL, *fingerprints = NULL;
	int rc;
	struct stat st;
	/* A local folder that is not there: say so before asking for a password. */
	if (!strstr(g.repo, "://") && strncmp(g.repo, "usb:", 4) != 0 && stat(g.repo, &st) != 0)
		return cli_error(CF_EXIT_NOREPO, _("no repository at '%s'"), g.repo);
	if ((rc = cli_credentials(&cred, &secret, &fingerprints)))
		return rc;
	struct cf_error err = { 0 };
	struct dst_options opt;
	if ((rc = cli_dst_options(&opt))) {
		cli_secret_free(secret);
		free(fingerprints);
		return rc;
	}
	rc = repo_open_at(g.repo, &opt, &cred, &opened, &err);
	cli_secret_free(secret);
	free(fingerprints);
	if (rc == CF_ENOREPO && g.as_of)
		return cli_error(CF_EXIT_NOREPO, _("%s at %s (--as-of)"), err.msg, g.as_of);
	if (rc)
		return cli_fail(&err);
	*ret = opened;
	return 0;
}

int cli_snapshot(struct repo *r, const char *spec, struct snap ***ret_list, size_t *ret_n,
	struct snap **ret)
{
	struct cf_error err = { 0 };
	int rc = snap_list(r, ret_list, ret_n, NULL, &err);
	if (rc)
		return cli_fail(&err);
	if ((rc = snap_find(*ret_list, *ret_n, spec, ret, &err))) {
		snap_list_free(*ret_list, *ret_n);
		*ret_list = NULL;
		return cli_fail(&err);
	}
	return 0;
}

/* Global options that take a value, as "--opt VALUE" or "--opt=VALUE". */
static const struct {
	const char *name, *alias;
	const char **slot;
} value_opts[] = {
	{ "--repo", "-r", &g.repo },
	{ "--password-file", "-p", &g.password_file },
	{ "--recovery-key-file", NULL, &g.recovery_file },
	{ "--escrow-key-file", NULL, &g.escrow_file },
	{ "--escrow-fingerprints", NULL, &g.escrow_fingerprints },
	{ "--s3-keys-file", NULL, &g.s3_keys_file },
	{ "--s3-region", NULL, &g.s3_region },
	{ "--s3-lock-days", NULL, &g.s3_lock_days },
	{ "--s3-lock-mode", NULL, &g.s3_lock_mode },
	{ "--sftp-key-file", NULL, &g.sftp_key_file },
	{ "--sftp-host-key", NULL, &g.sftp_host_key },
	{ "--upload-limit", NULL, &g.upload_limit },
	{ "--download-limit", NULL, &g.download_limit },
	{ "--as-of", NULL, &g.as_of },
};

/* Takes the global options out of argv wherever they are; returns the new argc. */
static int parse_globals(int argc, char **argv, int *bad)
{
	int out = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		const char *val = NULL;
		for (size_t k = 0; k < sizeof value_opts / sizeof *value_opts; k++) {
			const char *o = value_opts[k].name;
			size_t ol = strlen(o);
			const char *al = value_opts[k].alias;
			if (strcmp(a, o) == 0 || (al && strcmp(a, al) == 0)) {
				slot = value_opts[k].slot;
			} else if (strncmp(a, o, ol) == 0 && a[ol] == '=') {
				slot = value_opts[k].slot;
				val = a + ol + 1;
			}
			if (slot)
				break;
		}
		if (slot && val) {
			*slot = val;
			continue;
		}
		if (slot) {
			if (i + 1 >= argc) {
				cli_error(CF_EXIT_USAGE, _("option '%s' needs a value"), a);
				*bad = 1;
				return out;
			}
			*slot = argv[++i];
			continue;
		}
		if (strcmp(a, "--json") == 0)
			g.json = 1;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			g.quiet = 1;
		else
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

/* --as-of: only for commands that only read, on an S3 repository, with a date we read. */
static int check_as_of(const struct command *c)
{
	if (!(c->needs & AS_OF_OK))
		return cli_error(CF_EXIT_USAGE, _("--as-of only reads: it works with snapshots, ls, "
						  "find, diff, restore, dump and check, not '%s'"),
			c->name);
	const char *kind = g.repo && *g.repo ? dst_url_kind(g.repo) : NULL;
	if (kind && strcmp(kind, "s3") != 0)
		return cli_error(CF_EXIT_USAGE, _("--as-of works only with an S3 repository "
						  "(s3://...): '%s' keeps no past versions"), g.repo);
	int64_t ms;
	if (util_parse_time(g.as_of, 1, &ms) != 0)
		return cli_error(CF_EXIT_USAGE, _("cannot read the date '%s' of --as-of (for example "
						  "2026-11-30T18:00, 2026-11-30T18:00:00Z or "
						  "2026-11-30T18:00+01:00)"), g.as_of);
	return 0;
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	const char *ld = getenv("COFFRE_LOCALEDIR");
	bindtextdomain("coffre", ld && *ld ? ld : COFFRE_LOCALEDIR);
	textdomain("coffre");
	g.repo = getenv("COFFRE_REPOSITORY");
	int bad = 0, rc;
	argc = parse_globals(argc, argv, &bad);
	if (bad)
		return CF_EXIT_USAGE;
	g.progress = !g.quiet && !g.json && isatty(STDERR_FILENO);
	if (argc < 2) {
		usage(stderr);
		return CF_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return cli_finish_stdout();
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("coffre %s\n", COFFRE_VERSION);
		return cli_finish_stdout();
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			if (g.as_of && (rc = check_as_of(&commands[i])))
				return rc;
			running = &commands[i];
			rc = commands[i].fn(argc - 1, argv + 1);
			repo_free(opened);
			opened = NULL;
			int out = cli_finish_stdout();
			return rc ? rc : out;
		}
	}
	cli_error(CF_EXIT_USAGE, _("unknown command '%s'"), argv[1]);
	usage(stderr);
	return CF_EXIT_USAGE;
}
