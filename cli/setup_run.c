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

int setup_first_backup(struct repo *r, const struct cfg *c, struct setup_result *ret)
{
	struct backup_opts o = { .paths = (const char *const *)c->paths, .npaths = c->npaths,
		.excludes = (const char *const *)c->excludes, .nexcludes = c->nexcludes,
		.dbs = c->dbs, .ndbs = c->ndbs, .progress = backup_progress, .warn = backup_warn };
	struct backup_stats st = { 0 };
	uint8_t id[32], parent[32];
	int has_parent = 0;
	struct cf_error err = { 0 };
	time_t start = time(NULL);
	int rc = backup_run(r, &o, &st, id, parent, &has_parent, &err);
	if (on_tty())
		printf("\r\033[K");
	if (rc && rc != CF_EPARTIAL)
		return cli_fail(&err);
	*ret = (struct setup_result){ .start = start, .when = time(NULL), .stats = st,
		.partial = rc == CF_EPARTIAL };
	util_hex(ret->snapshot, id, sizeof id);
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

int setup_record_run(const struct cfg *c, const struct setup_result *res, int pushed)
{
	struct state_status s = { 0 };
	struct state_run *r = &s.last;
	const struct backup_stats *st = &res->stats;
	struct state_dest d[1];
	struct cf_error err = { 0 };
	/* As coffred records a run of its own (job.c): it reads this file when it starts, and
	 * coffre status shows the first backup from then on. */
	snprintf(s.state, sizeof s.state, "idle");
	s.has_last = 1;
	r->start = res->start;
	r->duration = st->duration;
	snprintf(r->result, sizeof r->result, "%s", res->partial ? "partial" : "ok");
	memcpy(r->snapshot, res->snapshot, sizeof r->snapshot);
	state_run_set_stats(r, st);
	r->full_scan = 1;
	s.last_success = res->start;
	s.last_full_scan = res->start;
	if (pushed && c->ndests == 1) {
		memset(d, 0, sizeof d);
		snprintf(d->name, sizeof d->name, "%s", c->dests[0].name);
		snprintf(d->url, sizeof d->url, "%s", c->dests[0].url);
		snprintf(d->result, sizeof d->result, "complete");
		d->last_attempt = d->last_complete = (time_t)res->when;
		s.dests = d;
		s.ndests = 1;
	}
	char *path = state_status_path(c->state_dir);
	int rc = !path ? CF_ENOMEM : util_mkdirs(c->state_dir, 0750) != 0 ?
		cf_error_sys(&err, CF_EIO, "cannot create '%s'", c->state_dir) :
		state_status_write(path, &s, 0, &err);
	free(path);
	if (rc)
		fprintf(stderr, _("coffre: warning: cannot record the first backup for coffre "
				  "status: %s\n"), err.msg[0] ? err.msg : strerror(ENOMEM));
	return rc ? -1 : 0;
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
