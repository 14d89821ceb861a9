/* cli.h: what the coffre command's subcommands share. */
#ifndef COFFRE_CLI_H
#define COFFRE_CLI_H

#include <libintl.h>
#include <stdio.h>

#include "coffre/error.h"

#define _(s) gettext(s)
#define N_(s) (s)

struct repo;
struct snap;

/* Global options, parsed before the subcommand's own. */
struct cli {
	const char *repo;
	const char *password_file;
	const char *recovery_file;
	const char *escrow_file;
	const char *escrow_fingerprints;	/* file: the escrow holder's list */
	/* Destination settings for --repo s3://... and sftp://... */
	const char *s3_keys_file;
	const char *s3_region;
	const char *s3_lock_days;
	const char *s3_lock_mode;
	const char *sftp_key_file;
	const char *sftp_host_key;
	const char *upload_limit, *download_limit;
	const char *as_of;	/* --as-of DATE: the repository as it was then (S3, read-only) */
	int json;
	int quiet;
	int progress;		/* stderr is a terminal and not quiet */
};

extern struct cli g;

/* Every command: argc/argv hold the command name then its own arguments. */
int cmd_setup(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_rebuild_index(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_destinations(int argc, char **argv);
int cmd_pin(int argc, char **argv);
int cmd_unpin(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_alert(int argc, char **argv);
int cmd_alarm(int argc, char **argv);
int cmd_drill(int argc, char **argv);
int cmd_recovery_sheet(int argc, char **argv);
int cmd_restore_db(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_federation(int argc, char **argv);
int cmd_enroll(int argc, char **argv);

/* cli_fail(err): print "coffre: <message>" and return the exit code for ${err}. */
int cli_fail(const struct cf_error *err);
/* cli_error(code, fmt, ...): print "coffre: <message>", return ${code}. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_usage(usage): print the command's usage to stderr, return CF_EXIT_USAGE. */
int cli_usage(const char *usage);
struct cfg;
/* cli_load_config(argc, argv, usage, ret_file, ret): the options after a command's verb
 * (--config FILE, nothing else), then the configuration loaded into ${ret} (problems printed).
 * Returns 0 or the exit code. */
int cli_load_config(int argc, char **argv, const char *usage, const char **ret_file,
	struct cfg **ret);
/* cli_read_config(file, ret): the configuration ${file} loaded into ${ret} (problems
 * printed). Returns 0 or the exit code. */
int cli_read_config(const char *file, struct cfg **ret);
/* cli_help(argc, argv, usage): if --help or -h is among the args, print usage and return 1. */
int cli_help(int argc, char **argv, const char *usage);

struct dst_options;
/* cli_dst_options(ret): the destination settings from the options and environment. */
int cli_dst_options(struct dst_options *ret);
/* cli_open_repo(ret): open --repo with the password or recovery key, once per run: the
 * handle belongs to main, which frees it after the command (the command's table entry says
 * NEED_REPO). Exit code or 0. */
int cli_open_repo(struct repo **ret);
struct repo_cred;
/* cli_credentials(ret, ret_secret, ret_fingerprints): the password, recovery key or escrow
 * key the options and environment give (read or asked for once). ${ret} points into
 * ${*ret_secret} and ${*ret_fingerprints}, the caller's (cli_secret_free, free). Exit code or
 * 0. */
int cli_credentials(struct repo_cred *ret, char **ret_secret, char **ret_fingerprints);
/* cli_read_password(prompt, confirm, ret): from file, env or terminal (malloc'd). */
int cli_read_password(const char *file, const char *prompt, int confirm, char **ret);
/* cli_password_held(): the last cli_read_password came from a file or the environment, so
 * the key may be cached (repo_cred.key_cache) unless COFFRE_KEY_CACHE says no. */
int cli_password_held(void);
/* cli_secret_free(s): wipe a password or key string, then free it (NULL is fine). */
void cli_secret_free(char *s);
/* cli_prompt_tty(prompt): one line typed on the terminal without echo (malloc'd, for
 * cli_secret_free), or NULL when there is none. */
char *cli_prompt_tty(const char *prompt);
/* cli_prompt_password(prompt, confirm, ret): ask on the terminal only. */
int cli_prompt_password(const char *prompt, int confirm, char **ret);

/* cli_snapshot(r, spec, ret_list, ret_n, ret): resolve a snapshot; exit code or 0. */
int cli_snapshot(struct repo *r, const char *spec, struct snap ***ret_list, size_t *ret_n,
	struct snap **ret);

/* cli_bytes(n, out): "12.3 MiB". */
const char *cli_bytes(unsigned long long n, char out[32]);
struct json_t;
/* cli_json_set_path(o, key, path): set ${key} to ${path}; a name that is not valid UTF-8 gets
 * U+FFFD for each bad byte, and "<key>_hex" with the exact bytes. */
void cli_json_set_path(struct json_t *o, const char *key, const char *path);
/* cli_json_path(path): a JSON string for ${path}, bad bytes as U+FFFD. */
struct json_t *cli_json_path(const char *path);

/* The destinations of one command: URLs with their settings, and the configured
 * destination each is (NULL for a URL given alone). */
struct cfg;
struct cfg_dest;
struct forget_policy;
struct targets {
	const char **url;
	struct dst_options *opt;
	const struct forget_policy **keep;	/* a configured destination's retention */
	const struct cfg_dest **dest;
	size_t n;
	struct cfg *cfg;	/* coffred's configuration when it was read */
};
#define CLI_TARGETS_ALL 1	/* every configured destination, besides those given */
#define CLI_TARGETS_CONFIG 2	/* read the configuration when present, even with --to */
/* cli_targets(t, tos, nto, config, flags): the destinations ${tos} (URLs or names of
 * [destination NAME] sections of ${config}, default CFG_DEFAULT_PATH), or without any the
 * configuration's; a configuration read also gives the repository and its password file
 * when not set otherwise. Exit code or 0; ${t} is released by cli_targets_free in any case. */
int cli_targets(struct targets *t, const char *const *tos, size_t nto, const char *config,
	int flags);
void cli_targets_free(struct targets *t);
/* cli_repo_config(file, required, ret): coffred's configuration ${file} (NULL: the default,
 * which may be missing) when it names the repository given (or none is given: then the
 * repository and its password file come from it); ${*ret} is NULL when it was not read.
 * ${required}: a failure is an error. Exit code or 0. */
int cli_repo_config(const char *file, int required, struct cfg **ret);

/* The recovery sheet (cmd_sheet.c): where, in which language, for which shop (NULL: from
 * the configuration, else the locale and the host name). */
struct cli_sheet_opts {
	const char *out;	/* folder, default "." */
	const char *language;	/* "fr" or "en" */
	const char *shop;
	const struct cfg *cfg;	/* coffred's configuration for this repository, or NULL */
	int quiet;		/* nothing on stdout: the caller prints the key and the paths */
};
/* cli_sheet_check(o): the options are usable (a language we write, a folder we can write
 * in), checked before a key is made. Exit code or 0. */
int cli_sheet_check(const struct cli_sheet_opts *o);
/* cli_sheet_write(key, o): write the sheet for the recovery key ${key} and say what to do
 * with it; when it cannot be written, the key is printed (unless ${o}->quiet) so that it is
 * not lost. Exit code or 0. */
int cli_sheet_write(const char *key, const struct cli_sheet_opts *o);

/* cli_finish_stdout(): flush and check stdout; an exit code (0 when fine). */
int cli_finish_stdout(void);

#endif
