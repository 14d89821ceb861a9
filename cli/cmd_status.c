/* cmd_status.c: coffre status, coffre log, coffre config check (the daemon's side). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cli.h"
#include "coffre/cfg.h"
#include "coffre/ctl.h"
#include "base/util.h"

static const char status_usage[] =
	"usage: coffre status [--json] [--socket PATH | --config FILE]\n"
	"Asks coffred how the backups go: the last one, the next one, pending changes and the\n"
	"watched folders.\n"
	"  --socket PATH  the daemon's control socket (default " CFG_DEFAULT_SOCKET ")\n"
	"  --config FILE  take the socket from this configuration\n"
	"exit: 0 ok, 1 the last backup failed, 13 coffred is not answering\n";

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

static void when(json_t *v, char out[40])
{
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;
	if (!json_is_integer(v) || t <= 0) {
		snprintf(out, 40, "%s", _("never"));
		return;
	}
	localtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_destinations(json_t *list)
{
	size_t i;
	json_t *e;
	if (json_array_size(list))
		printf("%s\n", _("destinations:"));
	json_array_foreach(list, i, e) {
		char t[40], b[32];
		const char *res = json_string_value(json_object_get(e, "result"));
		printf("  %s (%s): ", json_string_value(json_object_get(e, "name")),
			json_string_value(json_object_get(e, "url")));
		if (!res) {
			printf("%s\n", _("not sent to yet"));
			continue;
		}
		if (strcmp(res, "complete") == 0) {
			when(json_object_get(e, "last_complete"), t);
			printf(_("up to date, every backup read back (%s)\n"), t);
		} else {
			when(json_object_get(e, "pending_since"), t);
			printf(_("behind since %s (%s)"), t, res);
			if (json_integer_value(json_object_get(e, "pending_objects")))
				printf(_(", %lld objects (%s) pending"),
					(long long)json_integer_value(json_object_get(e, "pending_objects")),
					cli_bytes((unsigned long long)json_integer_value(
						json_object_get(e, "pending_bytes")), b));
			printf("\n");
			if (json_is_string(json_object_get(e, "error")))
				printf("    %s\n", json_string_value(json_object_get(e, "error")));
		}
		if (json_is_string(json_object_get(e, "lock_note")))
			printf("    %s\n", json_string_value(json_object_get(e, "lock_note")));
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

/* One line in plain words first, for the shopkeeper: when the last good backup was made and
 * where it is safe, then what is wrong if anything. */
static void print_summary(json_t *j)
{
	char t[64], names[512] = "", behind[512] = "";
	json_t *lb = json_object_get(j, "last_backup");
	json_t *ok = json_object_get(j, "last_success");
	if (!json_is_integer(ok) || json_integer_value(ok) <= 0) {
		printf("%s\n", _("No backup yet."));
	} else {
		day_time((time_t)json_integer_value(ok), t);
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(j, "destinations"), i, e) {
			const char *res = json_string_value(json_object_get(e, "result"));
			char *dst = res && strcmp(res, "complete") == 0 ? names : behind;
			size_t n = strlen(dst);
			snprintf(dst + n, 512 - n, "%s%s", n ? ", " : "",
				json_string_value(json_object_get(e, "name")));
		}
		if (names[0])
			printf(_("Last backup: %s, also on %s.\n"), t, names);
		else
			printf(_("Last backup: %s.\n"), t);
	}
	const char *res = json_is_object(lb) ? json_string_value(json_object_get(lb, "result")) : NULL;
	if (res && strcmp(res, "failed") == 0) {
		day_time((time_t)json_integer_value(json_object_get(lb, "start")), t);
		printf(_("WARNING: the backup of %s failed: %s\n"), t,
			json_string_value(json_object_get(lb, "error")) ?: "?");
	}
	if (behind[0])
		printf(_("WARNING: not up to date on %s (see below).\n"), behind);
}

static void print_status(json_t *j)
{
	char t[40], b1[32], b2[32];
	json_t *lb = json_object_get(j, "last_backup");
	print_summary(j);
	printf(_("coffred: %s (schedule: %s)\n"), json_string_value(json_object_get(j, "state")),
		json_string_value(json_object_get(j, "schedule")));
	if (json_is_object(lb)) {
		when(json_object_get(lb, "start"), t);
		printf(_("last backup: %s, %s"), t, json_string_value(json_object_get(lb, "result")));
		if (json_is_string(json_object_get(lb, "error")))
			printf(" (%s)", json_string_value(json_object_get(lb, "error")));
		printf("\n");
		printf(_("  %lld files, read %s, added %s in %.1f s; %lld entries examined, %lld "
			 "folders reused%s\n"),
			(long long)json_integer_value(json_object_get(lb, "files")),
			cli_bytes((unsigned long long)json_integer_value(json_object_get(lb, "bytes_read")), b1),
			cli_bytes((unsigned long long)json_integer_value(json_object_get(lb, "bytes_added")), b2),
			json_number_value(json_object_get(lb, "duration")),
			(long long)json_integer_value(json_object_get(lb, "entries")),
			(long long)json_integer_value(json_object_get(lb, "dirs_reused")),
			json_is_true(json_object_get(lb, "full_scan")) ? _(", full scan") : "");
	} else {
		printf("%s\n", _("last backup: none yet"));
	}
	size_t k;
	json_t *w;
	json_array_foreach(json_object_get(lb, "warning_messages"), k, w)
		printf(_("  warning: %s\n"), json_string_value(w));
	json_t *cur = json_object_get(j, "running");
	if (json_is_object(cur))
		printf(_("running: backup #%lld, %lld files, read %s so far (%.0f s)\n"),
			(long long)json_integer_value(json_object_get(cur, "run")),
			(long long)json_integer_value(json_object_get(cur, "files")),
			cli_bytes((unsigned long long)json_integer_value(json_object_get(cur, "bytes_read")), b1),
			json_number_value(json_object_get(cur, "duration")));
	when(json_object_get(j, "next_backup"), t);
	if (json_is_integer(json_object_get(j, "next_backup")))
		printf(_("next backup: %s%s\n"), t, json_is_true(json_object_get(j, "retry")) ?
			_(" (retry of the failed one)") : "");
	else
		printf("%s\n", _("next backup: after the next change"));
	json_t *p = json_object_get(j, "pending");
	printf(_("pending: %lld folders with changes%s\n"),
		(long long)json_integer_value(json_object_get(p, "dirty_folders")),
		json_is_true(json_object_get(p, "full_scan")) ? _(", full scan due") : "");
	printf(_("watched: %lld folders%s\n"), (long long)json_integer_value(json_object_get(j, "watches")),
		json_is_true(json_object_get(j, "watch_incomplete")) ?
		_(" (incomplete: see the daemon's log)") : "");
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "watched"), i, e)
		printf("  %s: %s\n", json_string_value(json_object_get(e, "path")),
			json_string_value(json_object_get(e, "state")));
	print_destinations(json_object_get(j, "destinations"));
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

int cmd_status(int argc, char **argv)
{
	if (cli_help(argc, argv, status_usage))
		return 0;
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ 0 } };
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
			g.json = 1;
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
	json_error_t jerr;
	json_t *j = json_loads(reply, 0, &jerr);
	free(reply);
	if (!json_is_object(j)) {
		json_decref(j);
		return cli_error(CF_EXIT_ERROR, "%s", _("coffred sent an unreadable status"));
	}
	if (g.json) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_status(j);
	}
	json_t *lb = json_object_get(j, "last_backup");
	const char *res = json_is_object(lb) ? json_string_value(json_object_get(lb, "result")) : NULL;
	rc = res && (strcmp(res, "failed") == 0) ? CF_EXIT_ERROR : 0;
	json_decref(j);
	return rc;
}

static json_t *ask(const char *sock, const char *req, struct cf_error *err)
{
	char *reply = NULL;
	if (ctl_request(sock, req, &reply, err))
		return NULL;
	json_t *j = json_loads(reply, 0, NULL);
	free(reply);
	if (!json_is_object(j)) {
		json_decref(j);
		cf_error_set(err, CF_EIO, "coffred sent an unreadable reply");
		return NULL;
	}
	return j;
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
	json_t *st = ask(path, CTL_STATUS, &err);
	json_t *rep = st ? ask(path, CTL_BACKUP, &err) : NULL;
	if (!rep) {
		json_decref(st);
		rc = ctl_fail(&err, path);
		free(sock);
		return rc;
	}
	json_int_t pid = json_integer_value(json_object_get(st, "pid"));
	json_decref(st);
	if (!json_is_true(json_object_get(rep, "ok"))) {
		rc = cli_error(CF_EXIT_ERROR, _("coffred cannot back up now: %s"),
			json_string_value(json_object_get(rep, "error")) ?: "?");
		json_decref(rep);
		free(sock);
		return rc;
	}
	json_int_t run = json_integer_value(json_object_get(rep, "run"));
	if (!g.quiet && !g.json)
		fprintf(stderr, json_is_true(json_object_get(rep, "after_running")) ?
			_("coffred: backup #%lld will start when the running one ends\n") :
			_("coffred: backup #%lld started\n"), (long long)run);
	json_decref(rep);
	json_t *lb = NULL;
	for (;;) {
		struct timespec ts = { 0, 300 * 1000000L };
		nanosleep(&ts, NULL);
		st = ask(path, CTL_STATUS, &err);
		if (!st || json_integer_value(json_object_get(st, "pid")) != pid) {
			json_decref(st);
			if (g.progress)
				fprintf(stderr, "\r\033[K");
			free(sock);
			return cli_error(CF_EXIT_ERROR, _("coffred stopped before backup #%lld ended%s%s"),
				(long long)run, st ? "" : ": ", st ? "" : err.msg);
		}
		json_t *l = json_object_get(st, "last_backup");
		if (json_is_object(l) && json_integer_value(json_object_get(l, "run")) >= run) {
			lb = json_incref(l);
			json_object_set(lb, "destinations", json_object_get(st, "destinations"));
			json_decref(st);
			break;
		}
		json_t *cur = json_object_get(st, "running");
		if (g.progress && json_is_object(cur) &&
		    json_integer_value(json_object_get(cur, "run")) == run) {
			char b1[32], b2[32];
			fprintf(stderr, "\r\033[K");
			fprintf(stderr, _("[%.0fs] %lld files, read %s, added %s"),
				json_number_value(json_object_get(cur, "duration")),
				(long long)json_integer_value(json_object_get(cur, "files")),
				cli_bytes((unsigned long long)json_integer_value(json_object_get(cur, "bytes_read")), b1),
				cli_bytes((unsigned long long)json_integer_value(json_object_get(cur, "bytes_added")), b2));
			fflush(stderr);
		}
		json_decref(st);
	}
	free(sock);
	if (g.progress)
		fprintf(stderr, "\r\033[K");
	const char *res = json_string_value(json_object_get(lb, "result")) ?: "?";
	rc = strcmp(res, "ok") == 0 ? CF_EXIT_OK : strcmp(res, "partial") == 0 ? CF_EXIT_PARTIAL :
		CF_EXIT_ERROR;
	if (g.json) {
		json_dumpf(lb, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (rc == CF_EXIT_ERROR) {
		fprintf(stderr, _("coffre: backup #%lld %s: %s\n"),
			(long long)json_integer_value(json_object_get(lb, "run")), res,
			json_string_value(json_object_get(lb, "error")) ?: "?");
	} else if (!g.quiet) {
		char b1[32], b2[32];
		printf(_("backup #%lld %s: snapshot %.8s, %lld files, read %s, added %s in %.1f s; "
			 "%lld entries examined, %lld folders reused%s\n"),
			(long long)json_integer_value(json_object_get(lb, "run")), res,
			json_string_value(json_object_get(lb, "snapshot")) ?: "-",
			(long long)json_integer_value(json_object_get(lb, "files")),
			cli_bytes((unsigned long long)json_integer_value(json_object_get(lb, "bytes_read")), b1),
			cli_bytes((unsigned long long)json_integer_value(json_object_get(lb, "bytes_added")), b2),
			json_number_value(json_object_get(lb, "duration")),
			(long long)json_integer_value(json_object_get(lb, "entries")),
			(long long)json_integer_value(json_object_get(lb, "dirs_reused")),
			json_is_true(json_object_get(lb, "full_scan")) ? _(", full scan") : "");
		size_t k;
		json_t *w;
		json_array_foreach(json_object_get(lb, "warning_messages"), k, w)
			printf(_("  warning: %s\n"), json_string_value(w));
		print_destinations(json_object_get(lb, "destinations"));
	}
	json_decref(lb);
	return rc;
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
	char *path = util_path("%s/history.db", dir ? dir : CFG_DEFAULT_STATE_DIR);
	free(dir);
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = cli_error(CF_EXIT_ERROR, _("cannot open the history '%s': %s"), path,
			db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		free(path);
		return rc;
	}
	sqlite3_busy_timeout(db, 2000);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, "SELECT start, duration, result, snapshot, files, bytes_read, "
		"bytes_added, entries, dirs_reused, full_scan, message FROM (SELECT * FROM runs "
		"ORDER BY id DESC LIMIT ?) ORDER BY start, id", -1, &s, NULL) != SQLITE_OK) {
		rc = cli_error(CF_EXIT_ERROR, _("cannot read the history '%s': %s"), path,
			sqlite3_errmsg(db));
		sqlite3_close(db);
		free(path);
		return rc;
	}
	free(path);
	sqlite3_bind_int64(s, 1, limit);
	json_t *arr = json_array();
	while (sqlite3_step(s) == SQLITE_ROW) {
		time_t start = (time_t)sqlite3_column_int64(s, 0);
		const char *res = (const char *)sqlite3_column_text(s, 2);
		const char *snap = (const char *)sqlite3_column_text(s, 3);
		const char *msg = (const char *)sqlite3_column_text(s, 10);
		if (g.json) {
			json_t *o = json_object();
			json_object_set_new(o, "start", json_integer(start));
			json_object_set_new(o, "duration", json_real(sqlite3_column_double(s, 1)));
			json_object_set_new(o, "result", json_string(res ? res : ""));
			json_object_set_new(o, "snapshot", snap && *snap ? json_string(snap) : json_null());
			json_object_set_new(o, "files", json_integer(sqlite3_column_int64(s, 4)));
			json_object_set_new(o, "bytes_read", json_integer(sqlite3_column_int64(s, 5)));
			json_object_set_new(o, "bytes_added", json_integer(sqlite3_column_int64(s, 6)));
			json_object_set_new(o, "entries", json_integer(sqlite3_column_int64(s, 7)));
			json_object_set_new(o, "dirs_reused", json_integer(sqlite3_column_int64(s, 8)));
			json_object_set_new(o, "full_scan", json_boolean(sqlite3_column_int(s, 9)));
			json_object_set_new(o, "message", msg && *msg ? json_string(msg) : json_null());
			json_array_append_new(arr, o);
		} else {
			char t[40], b[32];
			struct tm tm;
			localtime_r(&start, &tm);
			strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S", &tm);
			printf("%s  %-9s %.8s  %lld files  +%s  %.1f s  %lld entries%s%s%s\n", t,
				res ? res : "?", snap && *snap ? snap : "-",
				(long long)sqlite3_column_int64(s, 4),
				cli_bytes((unsigned long long)sqlite3_column_int64(s, 6), b),
				sqlite3_column_double(s, 1), (long long)sqlite3_column_int64(s, 7),
				sqlite3_column_int(s, 9) ? _(" (full scan)") : "",
				msg && *msg ? ": " : "", msg && *msg ? msg : "");
		}
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	if (g.json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(arr);
	return 0;
}

int cmd_config(int argc, char **argv)
{
	if (cli_help(argc, argv, config_usage))
		return 0;
	if (argc < 2 || strcmp(argv[1], "check") != 0)
		return cli_usage(config_usage);
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' }, { 0 } };
	const char *file = CFG_DEFAULT_PATH;
	int c;
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			file = optarg;
		else
			return cli_usage(config_usage);
	}
	if (optind != argc)
		return cli_usage(config_usage);
	struct cfg *cf = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	int rc = cfg_load(file, &cf, &problems, &err);
	if (rc == CF_EUSAGE) {
		fflush(stdout);
		fputs(problems, stderr);
		free(problems);
		return cli_error(CF_EXIT_ERROR, "%s", err.msg);
	}
	if (rc)
		return cli_error(CF_EXIT_ERROR, "%s", err.msg);
	if (!g.quiet)
		printf(_("%s: valid (%zu folders, repository %s)\n"), file, cf->npaths,
			cf->repository);
	cfg_free(cf);
	return 0;
}
