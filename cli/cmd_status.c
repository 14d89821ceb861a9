/* cmd_status.c: coffre status, coffre log, coffre config check (the daemon's side). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "coffre/cfg.h"
#include "coffre/ctl.h"
#include "coffre/dbdump.h"
#include "coffre/state.h"
#include "base/util.h"

static const char status_usage[] =
	"usage: coffre status [--json | --page] [--socket PATH | --config FILE]\n"
	"Asks coffred how the backups go: the last one, the next one, pending changes and the\n"
	"watched folders.\n"
	"  --page         print the address of the status page, with the token that lets it\n"
	"                 start a backup (status-page in [daemon])\n"
	"  --socket PATH  the daemon's control socket (default " CFG_DEFAULT_SOCKET ")\n"
	"  --config FILE  take the socket from this configuration\n"
	"exit: 0 ok, 1 the last backup failed or an alert condition is open (shown first), 5 the\n"
	"ransomware alarm holds, 13 coffred is not answering\n";

static const char now_usage[] =
	"usage: coffre backup --now [--json] [--socket PATH | --config FILE]\n"
	"Asks coffred to back up now, shows its progress and its result. When a backup is\n"
	"already running, another one follows it (changes made meanwhile are included).\n"
	"  --socket PATH  the daemon's control socket (default " CFG_DEFAULT_SOCKET ")\n"
	"  --config FILE  take the socket from this configuration\n"
	"exit: 0 ok, 3 partial (some files or folders could not be read), 1 failed,\n"
	"13 coffred is not answering\n";

static const char log_usage[] =
	"usage: coffre log [--json] [-n N] [--state-dir DIR | --config FILE]\n"
	"Lists the daemon's recent backup runs (newest last).\n";

static const char config_usage[] =
	"usage: coffre config check [--config FILE]\n"
	"Checks the daemon's configuration (default " CFG_DEFAULT_PATH ") and says, line by\n"
	"line, what is wrong.\nexit: 0 valid, 1 problems found\n";

/* The socket or state dir from --config, without failing on an otherwise invalid file. */
static int from_config(const char *file, char **ret_socket, char **ret_state)
{
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	if (cfg_load(file, &c, &problems, &err)) {
		free(problems);
		return cli_error(CF_EXIT_ERROR, _("cannot use the configuration '%s': %s"), file,
			err.msg);
	}
	if (ret_socket)
		*ret_socket = strdup(c->socket);
	if (ret_state)
		*ret_state = strdup(c->state_dir);
	cfg_free(c);
	return 0;
}

static void when(time_t t, char out[40])
{
	struct tm tm;
	if (t <= 0) {
		snprintf(out, 40, "%s", _("never"));
		return;
	}
	localtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%d %H:%M:%S", &tm);
}

/* "3 min 10 s", "2 h 40 min", "45 s". */
static void span(double secs, char out[40])
{
	long s = secs < 0 ? 0 : (long)(secs + 0.5);
	if (s >= 3600)
		snprintf(out, 40, "%ld h %ld min", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, 40, "%ld min %ld s", s / 60, s % 60);
	else
		snprintf(out, 40, "%ld s", s);
}

/* The last restore drill of ${e}: proven when, how much, how fresh; and the time a full
 * restore from it would take at the speed it measured. */
static void print_drill(const struct state_dest *e)
{
	char t[40], b[32], d[40];
	if (!e->drill_result[0]) {
		printf("    %s\n", _("restore not proven yet (a drill follows the first complete "
			"push)"));
		return;
	}
	when(e->drill_time, t);
	if (strcmp(e->drill_result, "failed") == 0)
		printf(_("    RESTORE DRILL FAILED (%s), %llu problems: %s\n"), t,
			(unsigned long long)e->drill_failures, e->drill_error);
	else if (strcmp(e->drill_result, "error") == 0)
		printf(_("    the restore drill could not run (%s): %s\n"), t, e->drill_error);
	if (e->drill_last_ok) {
		time_t age = time(NULL) - e->drill_last_ok;
		when(e->drill_last_ok, t);
		span(e->drill_seconds, d);
		if (strcmp(e->drill_result, "ok") == 0)
			printf(_("    last proven restore: %s, %llu files, %s, in %s"), t,
				(unsigned long long)e->drill_files, cli_bytes(e->drill_bytes, b), d);
		else
			printf(_("    last proven restore: %s"), t);
		printf("%s\n", age > 15 * 86400 ? _(" (RED: more than 15 days ago)") :
			age > 8 * 86400 ? _(" (amber: more than 8 days ago)") : "");
	}
	if (e->drill_estimate > 0 && e->drill_last_ok) {
		span(e->drill_estimate, d);
		when(e->drill_last_ok, t);
		printf(_("    full restore from %s: about %s at the speed measured on %s\n"),
			e->name, d, t);
	}
}

static void print_destinations(const struct state_dest *v, size_t n)
{
	if (n)
		printf("%s\n", _("destinations:"));
	for (size_t i = 0; i < n; i++) {
		const struct state_dest *e = &v[i];
		char t[40], b[32];
		printf("  %s (%s): ", e->name, e->url);
		if (!e->result[0]) {
			printf("%s\n", _("not sent to yet"));
			continue;
		}
		if (strcmp(e->result, "complete") == 0) {
			when(e->last_complete, t);
			printf(_("up to date, every backup read back (%s)\n"), t);
		} else {
			when(e->pending_since, t);
			printf(_("behind since %s (%s)"), t, e->result);
			if (e->pending)
				printf(_(", %lld objects (%s) pending"), (long long)e->pending,
					cli_bytes(e->pending_bytes, b));
			printf("\n");
			if (e->error[0])
				printf("    %s\n", e->error);
		}
		if (e->lock_note[0])
			printf("    %s\n", e->lock_note);
		if (e->lock_until > 0) {
			when(e->lock_until, t);
			printf(_("    every object it needs is locked until %s at least\n"), t);
		}
		if (e->lock_waiting)
			printf(_("    %lld objects waiting for their lock to expire before they can be "
				 "deleted\n"), (long long)e->lock_waiting);
		if (e->denied)
			printf(_("    it refuses deletions with these keys: retention there is left to "
				 "its owner (%lld objects its policy drops stay)\n"), (long long)e->denied);
		if (e->too_small)
			printf("    %s\n", _("too small: full even with only the last 14 days; its "
				"copy is kept as it is: use a larger drive"));
		else if (e->thinned)
			printf(_("    was full: its %lld oldest snapshots were removed to make room\n"),
				(long long)e->thinned);
		print_drill(e);
	}
}

/* "today 19:02", "yesterday 19:02" or "2026-11-28 19:02". */
static void day_time(time_t t, char out[64])
{
	struct tm tm, now;
	time_t n = time(NULL);
	localtime_r(&t, &tm);
	localtime_r(&n, &now);
	char hm[16];
	strftime(hm, sizeof hm, "%H:%M", &tm);
	time_t y = n - 86400;
	struct tm yt;
	localtime_r(&y, &yt);
	if (tm.tm_year == now.tm_year && tm.tm_yday == now.tm_yday)
		snprintf(out, 64, _("today %s"), hm);
	else if (tm.tm_year == yt.tm_year && tm.tm_yday == yt.tm_yday)
		snprintf(out, 64, _("yesterday %s"), hm);
	else
		strftime(out, 64, "%Y-%m-%d %H:%M", &tm);
}

static int last_failed(const struct state_status *s)
{
	return s->has_last && strcmp(s->last.result, "failed") == 0;
}

/* One line in plain words first, for the shopkeeper: when the last good backup was made and
 * where it is safe, then what is wrong if anything. */
static void print_summary(const struct state_status *s)
{
	char t[64], names[512] = "", behind[512] = "";
	/* The open conditions first, in the words of their alerts. */
	for (size_t i = 0; i < s->nalerts; i++) {
		day_time(s->alerts[i].since, t);
		printf(_("ALERT (%s, since %s): %s\n"), s->alerts[i].cond, t, s->alerts[i].message);
	}
	if (s->alerts_waiting && s->alerts_error[0])
		printf(_("Alerts not delivered yet (%llu waiting, tried again later): %s\n"),
			(unsigned long long)s->alerts_waiting, s->alerts_error);
	if (s->alarm.active) {
		day_time((time_t)s->alarm.since, t);
		printf(_("RANSOMWARE ALARM: files changed like an attack does, since %s (%llu files "
			 "touched, first: %s).\n"), t, (unsigned long long)s->alarm.touched,
			s->alarm.first_path[0] ? s->alarm.first_path : "?");
		if (s->alarm.clean[0]) {
			day_time((time_t)s->alarm.clean_time, t);
			printf(_("The last clean snapshot, %.8s of %s, is pinned. To get it back: "
				 "coffre restore --before-attack\n"), s->alarm.clean, t);
		} else {
			printf("%s\n", _("The last clean snapshot is being pinned; then, to get it "
					 "back: coffre restore --before-attack"));
		}
		printf("%s\n", _("Once the computer is safe: coffre alarm clear"));
	}
	if (s->last_success <= 0) {
		printf("%s\n", _("No backup yet."));
	} else {
		day_time(s->last_success, t);
		for (size_t i = 0; i < s->ndests; i++) {
			const struct state_dest *e = &s->dests[i];
			char *dst = strcmp(e->result, "complete") == 0 ? names : behind;
			size_t n = strlen(dst);
			snprintf(dst + n, 512 - n, "%s%s", n ? ", " : "", e->name);
		}
		if (names[0])
			printf(_("Last backup: %s, also on %s.\n"), t, names);
		else
			printf(_("Last backup: %s.\n"), t);
	}
	if (last_failed(s)) {
		day_time(s->last.start, t);
		printf(_("WARNING: the backup of %s failed: %s\n"), t,
			s->last.error[0] ? s->last.error : "?");
	}
	if (behind[0])
		printf(_("WARNING: not up to date on %s (see below).\n"), behind);
}

static void print_warnings(const struct state_run *r)
{
	for (int k = 0; k < r->nwarn; k++)
		printf(_("  warning: %s\n"), r->warn[k]);
}

static void print_status(const struct state_status *s)
{
	char t[40], b1[32], b2[32];
	const struct state_run *lb = &s->last;
	print_summary(s);
	printf(_("coffred: %s (schedule: %s)\n"), s->state, s->schedule);
	if (s->has_last) {
		when(lb->start, t);
		printf(_("last backup: %s, %s"), t, lb->result);
		if (lb->error[0])
			printf(" (%s)", lb->error);
		printf("\n");
		printf(_("  %lld files, read %s, added %s in %.1f s; %lld entries examined, %lld "
			 "folders reused%s\n"),
			(long long)lb->files, cli_bytes(lb->bytes_read, b1),
			cli_bytes(lb->bytes_added, b2), lb->duration, (long long)lb->entries,
			(long long)lb->dirs_reused, lb->full_scan ? _(", full scan") : "");
		print_warnings(lb);
	} else {
		printf("%s\n", _("last backup: none yet"));
	}
	if (s->running)
		printf(_("running: backup #%lld, %lld files, read %s so far (%.0f s)\n"),
			(long long)s->progress.run, (long long)s->progress.files,
			cli_bytes(s->progress.bytes_read, b1), s->progress.duration);
	when(s->next_backup, t);
	if (s->next_backup > 0)
		printf(_("next backup: %s%s\n"), t, s->retry ?
			_(" (retry of the failed one)") : "");
	else
		printf("%s\n", _("next backup: after the next change"));
	printf(_("pending: %lld folders with changes%s\n"), (long long)s->dirty_folders,
		s->full_scan_due ? _(", full scan due") : "");
	printf(_("watched: %lld folders%s\n"), (long long)s->watches,
		s->watch_incomplete ? _(" (incomplete: see the daemon's log)") : "");
	for (size_t i = 0; i < s->nwatched; i++)
		printf("  %s: %s\n", s->watched[i].path ? s->watched[i].path : "(null)",
			s->watched[i].state);
	print_destinations(s->dests, s->ndests);
}

/* A failed request to coffred: a refused caller is told who may ask. */
static int ctl_fail(const struct cf_error *err, const char *sock)
{
	if (err->code == CF_EUNREACH && (err->sys_errno == EACCES || err->sys_errno == EPERM))
		return cli_error(CF_EXIT_UNREACH, _("permission denied on '%s': only root and "
			"members of the socket's group (socket-group, default '%s') may ask "
			"coffred"), sock, CFG_DEFAULT_SOCKET_GROUP);
	return cli_fail(err);
}

/* The status page's address with its token (read with O_NOFOLLOW: the file is the
 * daemon's, in a folder root owns). */
static int print_page(const struct state_status *s)
{
	if (s->page_port <= 0)
		return cli_error(CF_EXIT_ERROR, "%s", _("the status page is off (set "
			"status-page = PORT in the [daemon] section of the configuration)"));
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	int fd = open(s->page_token_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc = fd < 0 ? cf_error_sys(&err, CF_EIO, "cannot open '%s'", s->page_token_file) :
		util_read_fd(fd, s->page_token_file, 256, &b, &err);
	if (fd >= 0)
		close(fd);
	size_t len = 0;
	while (rc == 0 && len < b.len && isxdigit(b.p[len]))
		len++;
	if (rc == 0 && len == 0)
		rc = cf_error_set(&err, CF_ECORRUPT, "'%s' holds no token", s->page_token_file);
	if (rc) {
		buf_free(&b);
		return cli_error(CF_EXIT_ERROR, _("cannot read the status page's token: %s (only "
			"root and the members of the socket's group may)"), err.msg);
	}
	printf("http://127.0.0.1:%d/?token=%.*s\n", s->page_port, (int)len, (const char *)b.p);
	sodium_memzero(b.p, b.len);
	buf_free(&b);
	return cli_finish_stdout();
}

/* Prints ${text} and a newline; frees it. */
static void put_text(char *text)
{
	fputs(text, stdout);
	putchar('\n');
	free(text);
}

int cmd_status(int argc, char **argv)
{
	if (cli_help(argc, argv, status_usage))
		return 0;
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ "page", no_argument, NULL, 'p' }, { 0 } };
	char *sock = NULL;
	const char *config = NULL;
	int c, rc, page = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:c:", opts, NULL)) != -1) {
		if (c == 's') {
			free(sock);
			sock = strdup(optarg);
		} else if (c == 'c')
			config = optarg;
		else if (c == 'j')
			g.json = 1;
		else if (c == 'p')
			page = 1;
		else {
			free(sock);
			return cli_usage(status_usage);
		}
	}
	if (optind != argc) {
		free(sock);
		return cli_usage(status_usage);
	}
	if (!sock && config && (rc = from_config(config, &sock, NULL)))
		return rc;
	char *reply = NULL;
	struct cf_error err = { 0 };
	rc = ctl_request(sock ? sock : CFG_DEFAULT_SOCKET, CTL_STATUS, &reply, &err);
	if (rc)
		rc = ctl_fail(&err, sock ? sock : CFG_DEFAULT_SOCKET);
	free(sock);
	if (rc)
		return rc;
	struct state_status s;
	rc = state_status_parse(reply, strlen(reply), &s, &err);
	free(reply);
	if (rc == CF_ENOMEM)
		return cli_fail(&err);
	if (rc)
		return cli_error(CF_EXIT_ERROR, "%s", _("coffred sent an unreadable status"));
	char *text = NULL;
	if (page) {
		rc = print_page(&s);
		state_status_release(&s);
		return rc;
	}
	if (!g.json)
		print_status(&s);
	else if ((rc = state_status_format(&s, &text, &err)) == 0)
		put_text(text);
	if (rc == 0)
		rc = s.alarm.active ? CF_EXIT_SUSPECT : last_failed(&s) || s.nalerts ? CF_EXIT_ERROR :
			0;
	else
		rc = cli_fail(&err);
	state_status_release(&s);
	return rc;
}

/* The daemon's status (${ret} filled) or its reply to a backup request (${ret_ack}). */
static int ask(const char *sock, const char *req, struct state_status *ret,
	struct state_ack *ret_ack, struct cf_error *err)
{
	char *reply = NULL;
	int rc = ctl_request(sock, req, &reply, err);
	if (rc)
		return rc;
	rc = ret ? state_status_parse(reply, strlen(reply), ret, err) :
		state_ack_parse(reply, strlen(reply), ret_ack, err);
	free(reply);
	if (rc == CF_ECORRUPT)
		cf_error_set(err, CF_EIO, "%s", _("coffred sent an unreadable reply"));
	return rc ? err->code : 0;
}

static void print_run(const struct state_status *s)
{
	const struct state_run *lb = &s->last;
	char b1[32], b2[32];
	printf(_("backup #%lld %s: snapshot %.8s, %lld files, read %s, added %s in %.1f s; "
		 "%lld entries examined, %lld folders reused%s\n"),
		(long long)lb->run, lb->result, lb->snapshot[0] ? lb->snapshot : "-",
		(long long)lb->files, cli_bytes(lb->bytes_read, b1), cli_bytes(lb->bytes_added, b2),
		lb->duration, (long long)lb->entries, (long long)lb->dirs_reused,
		lb->full_scan ? _(", full scan") : "");
	print_warnings(lb);
	print_destinations(s->dests, s->ndests);
}

/* Waits for run ${run} of the daemon ${pid} to end; ${ret} then holds the status that shows
 * it. Returns 0 or an exit code (said). */
static int wait_run(const char *path, int64_t pid, uint64_t run, struct state_status *ret)
{
	struct cf_error err = { 0 };
	for (;;) {
		struct timespec ts = { 0, 300 * 1000000L };
		struct state_status st;
		nanosleep(&ts, NULL);
		int rc = ask(path, CTL_STATUS, &st, NULL, &err);
		if (rc || st.pid != pid) {
			if (rc == 0)
				state_status_release(&st);
			if (g.progress)
				fprintf(stderr, "\r\033[K");
			return cli_error(CF_EXIT_ERROR,
				_("coffred stopped before backup #%lld ended%s%s"), (long long)run,
				rc ? ": " : "", rc ? err.msg : "");
		}
		if (st.has_last && st.last.run >= run) {
			*ret = st;
			return 0;
		}
		const struct state_progress *cur = &st.progress;
		if (g.progress && st.running && cur->run == run) {
			char b1[32], b2[32];
			fprintf(stderr, "\r\033[K");
			fprintf(stderr, _("[%.0fs] %lld files, read %s, added %s"), cur->duration,
				(long long)cur->files, cli_bytes(cur->bytes_read, b1),
				cli_bytes(cur->bytes_added, b2));
			fflush(stderr);
		}
		state_status_release(&st);
	}
}

/* coffre backup --now (called from cmd_backup). */
int cmd_backup_now(int argc, char **argv);
int cmd_backup_now(int argc, char **argv)
{
	if (cli_help(argc, argv, now_usage))
		return 0;
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ "now", no_argument, NULL, 'n' }, { 0 } };
	char *sock = NULL;
	const char *config = NULL;
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:c:", opts, NULL)) != -1) {
		if (c == 's') {
			free(sock);
			sock = strdup(optarg);
		} else if (c == 'c')
			config = optarg;
		else if (c == 'j')
			g.json = 1, g.progress = 0;
		else if (c != 'n') {
			free(sock);
			return cli_usage(now_usage);
		}
	}
	if (optind != argc) {
		free(sock);
		return cli_usage(now_usage);
	}
	if (!sock && config && (rc = from_config(config, &sock, NULL)))
		return rc;
	const char *path = sock ? sock : CFG_DEFAULT_SOCKET;
	struct cf_error err = { 0 };
	struct state_status st;
	struct state_ack ack;
	int64_t pid = 0;
	if ((rc = ask(path, CTL_STATUS, &st, NULL, &err)) == 0) {
		pid = st.pid;
		rc = ask(path, CTL_BACKUP, NULL, &ack, &err);
		state_status_release(&st);
	}
	if (rc) {
		rc = ctl_fail(&err, path);
		free(sock);
		return rc;
	}
	if (!ack.ok) {
		free(sock);
		return cli_error(CF_EXIT_ERROR, _("coffred cannot back up now: %s"),
			ack.error[0] ? ack.error : "?");
	}
	if (!g.quiet && !g.json)
		fprintf(stderr, ack.after_running ?
			_("coffred: backup #%lld will start when the running one ends\n") :
			_("coffred: backup #%lld started\n"), (long long)ack.run);
	rc = wait_run(path, pid, ack.run, &st);
	free(sock);
	if (rc)
		return rc;
	if (g.progress)
		fprintf(stderr, "\r\033[K");
	const struct state_run *lb = &st.last;
	const char *res = lb->result[0] ? lb->result : "?";
	rc = strcmp(res, "ok") == 0 ? CF_EXIT_OK : strcmp(res, "partial") == 0 ? CF_EXIT_PARTIAL :
		CF_EXIT_ERROR;
	char *text = NULL;
	if (g.json) {
		if (state_status_format_last(&st, &text, &err) == 0)
			put_text(text);
		else
			rc = cli_fail(&err);
	} else if (rc == CF_EXIT_ERROR) {
		fprintf(stderr, _("coffre: backup #%lld %s: %s\n"), (long long)lb->run, res,
			lb->error[0] ? lb->error : "?");
	} else if (!g.quiet) {
		print_run(&st);
	}
	state_status_release(&st);
	return rc;
}

static void print_row(const struct state_history_row *r)
{
	char t[40], b[32];
	struct tm tm;
	localtime_r(&r->start, &tm);
	strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s  %-9s %.8s  %lld files  +%s  %.1f s  %lld entries%s%s%s\n", t,
		r->result[0] ? r->result : "?", r->snapshot[0] ? r->snapshot : "-",
		(long long)r->files, cli_bytes(r->bytes_added, b), r->duration,
		(long long)r->entries, r->full_scan ? _(" (full scan)") : "",
		r->message[0] ? ": " : "", r->message);
}

int cmd_log(int argc, char **argv)
{
	if (cli_help(argc, argv, log_usage))
		return 0;
	static const struct option opts[] = { { "state-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ 0 } };
	char *dir = NULL;
	const char *config = NULL;
	long limit = 20;
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:c:n:", opts, NULL)) != -1) {
		if (c == 'd') {
			free(dir);
			dir = strdup(optarg);
		} else if (c == 'c')
			config = optarg;
		else if (c == 'n')
			limit = strtol(optarg, NULL, 10);
		else if (c == 'j')
			g.json = 1;
		else {
			free(dir);
			return cli_usage(log_usage);
		}
	}
	if (optind != argc || limit <= 0) {
		free(dir);
		return cli_usage(log_usage);
	}
	if (!dir && config && (rc = from_config(config, NULL, &dir)))
		return rc;
	char *path = state_history_path(dir ? dir : CFG_DEFAULT_STATE_DIR);
	free(dir);
	struct cf_error err = { 0 };
	struct state_history_row *rows = NULL;
	size_t n = 0;
	rc = path ? state_history_read(path, (size_t)limit, &rows, &n, &err) :
		cf_error_set(&err, CF_ENOMEM, "out of memory");
	if (rc == CF_EIO)
		rc = cli_error(CF_EXIT_ERROR, _("cannot open the history '%s': %s"), path, err.msg);
	else if (rc == CF_ECORRUPT)
		rc = cli_error(CF_EXIT_ERROR, _("cannot read the history '%s': %s"), path, err.msg);
	else if (rc)
		rc = cli_fail(&err);
	free(path);
	if (rc)
		return rc;
	char *text = NULL;
	if (!g.json)
		for (size_t i = 0; i < n; i++)
			print_row(&rows[i]);
	else if (state_history_format(rows, n, &text, &err) == 0)
		put_text(text);
	else
		rc = cli_fail(&err);
	free(rows);
	return rc;
}

/* The [database NAME] sections: what each dumps and how it is reached (nothing is run). */
static void print_databases(const struct cfg *cf)
{
	for (size_t i = 0; i < cf->ndbs; i++) {
		const struct dbdump_source *s = &cf->dbs[i];
		char port[16] = "";
		if (s->port)
			snprintf(port, sizeof port, ":%d", s->port);
		printf(_("  database %s: %s, "), s->name, dbdump_kind_name(s->kind));
		if (s->socket)
			printf(_("socket %s"), s->socket);
		else if (s->host)
			printf(_("TCP %s%s"), s->host, port);
		else
			printf("%s", _("the client's default connection"));
		if (s->user)
			printf(_(", user %s"), s->user);
		if (s->password_file)
			printf(_(", password in %s"), s->password_file);
		if (s->ndatabases) {
			printf("%s", _(", databases:"));
			for (size_t k = 0; k < s->ndatabases; k++)
				printf(" %s", s->databases[k]);
		} else {
			printf("%s", _(", every database but the server's own"));
		}
		putchar('\n');
	}
}

int cmd_config(int argc, char **argv)
{
	if (cli_help(argc, argv, config_usage))
		return 0;
	if (argc < 2 || strcmp(argv[1], "check") != 0)
		return cli_usage(config_usage);
	const char *file = NULL;
	struct cfg *cf = NULL;
	int rc = cli_load_config(argc - 1, argv + 1, config_usage, &file, &cf);
	if (rc)
		return rc;
	if (!g.quiet) {
		printf(_("%s: valid (%zu folders, repository %s)\n"), file, cf->npaths,
			cf->repository);
		print_databases(cf);
	}
	cfg_free(cf);
	return 0;
}

static const char alarm_usage[] =
	"usage: coffre alarm [clear] [--socket PATH] [--config FILE]\n"
	"  show the ransomware alarm (exit 5 while it holds), or clear it once the computer\n"
	"  is safe: watching starts afresh, the control files are put back, retention and\n"
	"  USB drives resume; the pinned clean snapshot stays pinned (coffre unpin)\n";

int cmd_alarm(int argc, char **argv)
{
	if (cli_help(argc, argv, alarm_usage))
		return 0;
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' }, { 0 } };
	char *sock = NULL;
	const char *config = NULL;
	int c, rc, clear = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:c:", opts, NULL)) != -1) {
		if (c == 's') {
			free(sock);
			sock = strdup(optarg);
		} else if (c == 'c') {
			config = optarg;
		} else {
			free(sock);
			return cli_usage(alarm_usage);
		}
	}
	if (optind < argc && strcmp(argv[optind], "clear") == 0) {
		clear = 1;
		optind++;
	}
	if (optind != argc) {
		free(sock);
		return cli_usage(alarm_usage);
	}
	if (!sock && config && (rc = from_config(config, &sock, NULL)))
		return rc;
	const char *path = sock ? sock : CFG_DEFAULT_SOCKET;
	struct cf_error err = { 0 };
	struct state_status s;
	struct state_ack ack = { 0 };
	rc = clear ? ask(path, CTL_ALARM_CLEAR, NULL, &ack, &err) : ask(path, CTL_STATUS, &s, NULL,
		&err);
	if (rc) {
		rc = ctl_fail(&err, path);
		free(sock);
		return rc;
	}
	free(sock);
	if (clear) {
		if (!ack.ok)
			return cli_error(CF_EXIT_ERROR, "%s", ack.error[0] ? ack.error : "?");
		printf("%s\n", _("The ransomware alarm is cleared: watching starts afresh."));
		return cli_finish_stdout();
	}
	if (!s.alarm.active)
		printf("%s\n", _("No ransomware alarm."));
	else
		print_summary(&s);
	rc = s.alarm.active ? CF_EXIT_SUSPECT : 0;
	state_status_release(&s);
	int out = cli_finish_stdout();
	return out ? out : rc;
}
