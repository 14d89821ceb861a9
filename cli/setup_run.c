/* setup_run.c: what coffre setup does once the questions are answered and the files written:
 * the first backup (through the engine, as coffre backup) and its first copy on the drive (as
 * coffre push), the coffre group, and coffred started (systemd) or told to reload. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "setup.h"
#include "base/util.h"
#include "coffre/backup.h"
#include "coffre/cfg.h"
#include "coffre/ctl.h"
#include "coffre/dst.h"
#include "coffre/push.h"
#include "coffre/state.h"

static int on_tty(void)
{
	return !g.quiet && isatty(STDOUT_FILENO);
}

static void backup_progress(void *ctx, const struct backup_stats *st)
{
	char b1[32];
	(void)ctx;
	if (!on_tty())
		return;
	printf("\r\033[K");
	printf(_("  backing up: %llu files, %s read (%.0f s)"),
		(unsigned long long)(st->files_new + st->files_changed + st->files_unchanged),
		cli_bytes(st->bytes_read, b1), st->duration);
	fflush(stdout);
}

static void backup_warn(void *ctx, const char *path, const char *msg)
{
	(void)ctx;
	if (on_tty())
		printf("\r\033[K");
	fprintf(stderr, _("warning: '%s': %s\n"), path, msg);
}

static void push_progress(void *ctx, const char *name, uint64_t done, uint64_t total)
{
	(void)ctx;
	(void)name;
	if (!on_tty())
		return;
	printf("\r\033[K");
	printf(_("  copying to the drive: %llu of %llu"), (unsigned long long)done,
		(unsigned long long)total);
	fflush(stdout);
}

int setup_push(struct repo *r, const char *url)
{
	struct dst_options opt = { 0 };
	struct push_opts o = { .progress = push_progress };
	struct push_result res = { 0 };
	struct cf_error cerr = { 0 };
	uint64_t freed = 0;
	const char *const urls[] = { url };
	int rc = push_all(r, urls, &opt, NULL, 1, 0, &o, &res, &freed, &cerr);
	if (on_tty())
		printf("\r\033[K");
	if (rc)
		return cli_fail(&res.err);
	if (!g.quiet) {
		char b1[32];
		printf(_("  copied to the drive and read back: %s\n"),
			cli_bytes(res.st.sent_bytes, b1));
	}
	return 0;
}

int setup_first_backup(struct repo *r, const char *const *paths, size_t n, long *ret_when)
{
	struct backup_opts o = { .paths = paths, .npaths = n, .progress = backup_progress,
		.warn = backup_warn };
	struct backup_stats st = { 0 };
	uint8_t id[32], parent[32];
	int has_parent = 0;
	struct cf_error err = { 0 };
	int rc = backup_run(r, &o, &st, id, parent, &has_parent, &err);
	if (on_tty())
		printf("\r\033[K");
	if (rc && rc != CF_EPARTIAL)
		return cli_fail(&err);
	*ret_when = (long)time(NULL);
	if (!g.quiet) {
		char b1[32];
		printf(_("  backed up: %llu files, %s, in %.1f s\n"),
			(unsigned long long)(st.files_new + st.files_changed + st.files_unchanged),
			cli_bytes(st.bytes_read, b1), st.duration);
		if (rc == CF_EPARTIAL)
			printf(_("  %llu files could not be read: see the warnings above\n"),
				(unsigned long long)st.warnings);
	}
	fflush(stdout);
	return 0;
}

int setup_group(const char *name)
{
	if (getgrnam(name))
		return 0;
	if (geteuid() != 0)
		return 1;
	char prog[] = "groupadd", sys[] = "--system", grp[64];
	snprintf(grp, sizeof grp, "%s", name);
	char *const argv[] = { prog, sys, grp, NULL };
	return util_run(argv, 0) == 0 ? 0 : -1;
}

/* The pid of the coffred answering on ${socket}, or 0. */
static long daemon_pid(const char *socket)
{
	char *reply = NULL;
	struct cf_error err = { 0 };
	if (ctl_request(socket, CTL_STATUS, &reply, &err) != 0)
		return 0;
	struct state_status s;
	long pid = 0;
	if (state_status_parse(reply, strlen(reply), &s, &err) == 0) {
		pid = (long)s.pid;
		state_status_release(&s);
	}
	free(reply);
	return pid;
}

int setup_reload_daemon(const char *socket)
{
	long pid = daemon_pid(socket);
	if (pid <= 1 || kill((pid_t)pid, SIGHUP) != 0)
		return 0;
	return 1;
}

/* The socket named by ${config}, malloc'd. */
static char *config_socket(const char *config)
{
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	char *s = NULL;
	if (cfg_load(config, &c, &problems, &err) == 0)
		s = strdup(c->socket ? c->socket : CFG_DEFAULT_SOCKET);
	free(problems);
	cfg_free(c);
	return s;
}

static int spawn_daemon(const char *config)
{
	const char *prog = getenv("COFFRED");
	prog = prog && *prog ? prog : "coffred";
	char *sock = config_socket(config);
	if (!sock)
		return cli_error(CF_EXIT_ERROR, "%s", _("cannot read the configuration just written"));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		free(sock);
		return cli_error(CF_EXIT_ERROR, _("cannot start coffred: %s"), strerror(errno));
	}
	if (pid == 0) {
		/* Detached: it outlives this command and its terminal. */
		setsid();
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(prog, prog, "--config", config, (char *)NULL);
		_exit(127);
	}
	/* Started when it answers; a daemon that died at once says so by its exit status. */
	long answered = 0;
	int status, gone = 0;
	for (int i = 0; i < 200 && !answered && !gone; i++) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		answered = daemon_pid(sock);
		gone = waitpid(pid, &status, WNOHANG) == pid;
	}
	free(sock);
	if (!answered)
		return cli_error(CF_EXIT_ERROR, _("coffred did not start (run '%s --config %s' to "
						  "see why)"), prog, config);
	if (!g.quiet)
		printf(_("coffred is running (pid %ld).\n"), answered);
	return 0;
}

int setup_start_daemon(const char *config, int start)
{
	struct stat st;
	int systemd = stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
	if (systemd && strcmp(config, CFG_DEFAULT_PATH) == 0) {
		char prog[] = "systemctl", en[] = "enable", now[] = "--now", unit[] = "coffred";
		char *const argv[] = { prog, en, now, unit, NULL };
		if (util_run(argv, 0) != 0)
			return cli_error(CF_EXIT_ERROR, "%s", _("systemctl could not start coffred: "
				"see 'systemctl status coffred'"));
		if (!g.quiet)
			printf("%s\n", _("coffred is running, and starts with the computer."));
		return 0;
	}
	if (start)
		return spawn_daemon(config);
	if (!g.quiet)
		printf(_("To back up every day, coffred must run: start it with 'coffred --config %s' "
			 "(with systemd: systemctl enable --now coffred).\n"), config);
	return 0;
}
