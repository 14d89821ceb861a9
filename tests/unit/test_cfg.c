/* test_cfg.c: the configuration file (agent/base/cfg.c): defaults, every key, and the problems
 * reported line by line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coffre/cfg.h"
#include "coffre/error.h"

#include "fixture.h"

static char dir[256], conf[300], pw[300], src1[300], src2[300];

static int setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir, sizeof dir, "cfg"))
		return -1;
	snprintf(conf, sizeof conf, "%s/coffre.conf", dir);
	snprintf(pw, sizeof pw, "%s/password", dir);
	snprintf(src1, sizeof src1, "%s/docs", dir);
	snprintf(src2, sizeof src2, "%s/compta", dir);
	FILE *f = fopen(pw, "w");
	if (!f)
		return -1;
	fputs("secret\n", f);
	fclose(f);
	chmod(pw, 0600);
	mkdir(src1, 0700);
	mkdir(src2, 0700);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_rm_rf(dir);
	return 0;
}

static void write_conf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void write_conf(const char *fmt, ...)
{
	char text[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof text);
	fx_write(conf, "%s", text);
}

static void test_minimal_defaults(void **state)
{
	(void)state;
	write_conf("[backup]\npath = %s\nrepository = /media/usb/coffre\npassword-file = %s\n",
		src1, pw);
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(cfg_load(conf, &c, &problems, &err), 0);
	assert_null(problems);
	assert_int_equal(c->npaths, 1);
	assert_string_equal(c->paths[0], src1);
	assert_string_equal(c->repository, "/media/usb/coffre");
	assert_int_equal(c->schedule.kind, SCHED_DAILY);
	assert_int_equal(c->schedule.hour, 19);
	assert_int_equal(c->schedule.minute, 30);
	assert_int_equal(c->keep.daily, 14);
	assert_int_equal(c->keep.weekly, 8);
	assert_int_equal(c->keep.monthly, 24);
	assert_int_equal(c->nexcludes, 4);
	assert_string_equal(c->excludes[0], "~$*");
	assert_string_equal(c->excludes[1], "*.tmp");
	assert_string_equal(c->excludes[2], "Thumbs.db");
	assert_string_equal(c->excludes[3], ".~lock.*#");
	assert_string_equal(c->socket, CFG_DEFAULT_SOCKET);
	assert_string_equal(c->socket_group, "coffre");
	assert_string_equal(c->state_dir, CFG_DEFAULT_STATE_DIR);
	assert_int_equal(c->run_timeout, 30 * 60);
	assert_int_equal(c->run_idle, 1);
	assert_int_equal(c->status_page, 0);
	cfg_free(c);
}

static void test_every_key(void **state)
{
	(void)state;
	write_conf("# shop\n[backup]\npath = %s\npath = %s//\nexclude = *.bak\n"
		"repository = /srv/coffre\npassword-file = %s\nschedule = every 2 h\n"
		"keep-daily = 7\nkeep-weekly = 4\nkeep-monthly = 0\n\n[daemon]\n"
		"socket = /tmp/x.sock\nsocket-group = staff\nstate-dir = /tmp/state\n"
		"run-timeout = 5s\nrun-priority = normal\nstatus-page = 8419\n", src1, src2,
		pw);
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(cfg_load(conf, &c, &problems, &err), 0);
	assert_int_equal(c->npaths, 2);
	assert_string_equal(c->paths[1], src2);
	assert_int_equal(c->nexcludes, 5);
	assert_string_equal(c->excludes[4], "*.bak");
	assert_int_equal(c->schedule.kind, SCHED_EVERY);
	assert_int_equal(c->schedule.seconds, 7200);
	assert_int_equal(c->keep.daily, 7);
	assert_int_equal(c->keep.weekly, 4);
	assert_int_equal(c->keep.monthly, 0);
	assert_string_equal(c->socket, "/tmp/x.sock");
	assert_string_equal(c->socket_group, "staff");
	assert_string_equal(c->state_dir, "/tmp/state");
	assert_int_equal(c->run_timeout, 5);
	assert_int_equal(c->run_idle, 0);
	assert_int_equal(c->status_page, 8419);
	cfg_free(c);
}

static int has_line(const char *problems, const char *needle)
{
	return problems && strstr(problems, needle) != NULL;
}

static void test_problems_line_by_line(void **state)
{
	(void)state;
	chmod(pw, 0640);
	write_conf("[backup]\n"			/* 1 */
		"path = %s\n"			/* 2 */
		"path = %s/missing\n"		/* 3 */
		"repository = /srv/coffre\n"	/* 4 */
		"password-file = %s\n"		/* 5 */
		"schedule = twice a day\n"	/* 6 */
		"colour = blue\n"		/* 7 */
		"keep-daily = many\n"		/* 8 */
		"path = relative/dir\n"		/* 9 */
		"[alarms]\n"			/* 10 */
		"mail = a@b\n"			/* 11 */
		"[daemon]\n"			/* 12 */
		"socket-group = a b\n"		/* 13 */
		"run-timeout = soon\n"		/* 14 */
		"run-priority = low\n"		/* 15 */
		"status-page = 80000\n",	/* 16 */
		src1, dir, pw);
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(cfg_load(conf, &c, &problems, &err), CF_EUSAGE);
	assert_null(c);
	assert_non_null(problems);
	char want[700];
	snprintf(want, sizeof want, "%s:3: folder '%s/missing' is missing", conf, dir);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:5: password file '%s' is readable by group or others", conf, pw);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:6: schedule 'twice a day' not understood", conf);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:7: unknown key 'colour' in section [backup]", conf);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:8: 'keep-daily' must be a whole number", conf);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:9: folder 'relative/dir' is not an absolute path", conf);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:11: unknown section [alarms]", conf);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:13: socket-group 'a b' is not a group name", conf);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:14: run-timeout 'soon' not understood", conf);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:15: 'run-priority' must be idle or normal", conf);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:16: status-page must be off or a port number", conf);
	assert_true(has_line(problems, want));
	assert_true(strstr(err.msg, "11 problems") != NULL);
	free(problems);
	chmod(pw, 0600);
}

static void test_missing_essentials_and_syntax(void **state)
{
	(void)state;
	write_conf("[backup]\nthis line has no equals sign\n");
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(cfg_load(conf, &c, &problems, &err), CF_EUSAGE);
	char want[400];
	snprintf(want, sizeof want, "%s:2: syntax error", conf);
	assert_true(has_line(problems, want));
	assert_true(has_line(problems, "no folder to protect"));
	assert_true(has_line(problems, "no repository"));
	assert_true(has_line(problems, "no password file"));
	free(problems);
	problems = NULL;
	assert_int_equal(cfg_load("/nonexistent/coffre.conf", &c, &problems, &err), CF_ENOENT);
	assert_null(problems);
	assert_true(strstr(err.msg, "/nonexistent/coffre.conf") != NULL);
}

/* A folder under ${dir} whose name makes the line "path = <folder>" ${len} characters long. */
static void long_path(char *out, size_t cap, size_t len)
{
	size_t n = (size_t)snprintf(out, cap, "%s/", dir);
	size_t want = len - strlen("path = ");
	assert_true(want > n && want < cap);
	/* Components of at most 100 characters. */
	while (n < want) {
		out[n] = (n - strlen(dir)) % 101 == 0 ? '/' : 'x';
		n++;
	}
	out[n] = 0;
	if (out[n - 1] == '/')
		out[n - 1] = 'x';
	for (char *s = out + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(out, 0700);
		*s = '/';
	}
	mkdir(out, 0700);
}

static void test_long_lines(void **state)
{
	(void)state;
	/* inih reads a line in a buffer of 200 bytes: 199 characters still fit, whole. */
	char path[400];
	long_path(path, sizeof path, 199);
	write_conf("[backup]\npath = %s\nrepository = /srv/coffre\npassword-file = %s\n", path, pw);
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(cfg_load(conf, &c, &problems, &err), 0);
	assert_int_equal(c->npaths, 1);
	assert_string_equal(c->paths[0], path);
	cfg_free(c);
	c = NULL;
	/* ... and the lines after it keep their numbers. */
	write_conf("[backup]\npath = %s\ncolour = blue\n", path);
	assert_int_equal(cfg_load(conf, &c, &problems, &err), CF_EUSAGE);
	char want[700];
	snprintf(want, sizeof want, "%s:3: unknown key 'colour' in section [backup]", conf);
	assert_true(has_line(problems, want));
	free(problems);
	problems = NULL;
	/* A longer line would be cut in two, the rest read as a line of its own: refused. */
	long_path(path, sizeof path, 307);
	write_conf("[backup]\npath = %s\nrepository = /srv/coffre\npassword-file = %s\n"
		"# %0200d\r\n", path, pw, 0);
	assert_int_equal(cfg_load(conf, &c, &problems, &err), CF_EUSAGE);
	assert_null(c);
	snprintf(want, sizeof want, "%s:2: line too long (307 characters; at most 199)\n", conf);
	assert_true(has_line(problems, want));
	snprintf(want, sizeof want, "%s:5: line too long (203 characters; at most 199)\n", conf);
	assert_true(has_line(problems, want));
	assert_true(strstr(err.msg, "2 problems") != NULL);
	free(problems);
}

static void test_load_from_pipe(void **state)
{
	(void)state;
	/* The file is read whole before it is parsed: a pipe does as well as a file. */
	char fifo[300];
	snprintf(fifo, sizeof fifo, "%s/fifo.conf", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *f = fopen(fifo, "w");
		if (!f)
			_exit(1);
		fprintf(f, "[backup]\npath = %s\nrepository = /srv/coffre\npassword-file = %s\n",
			src1, pw);
		_exit(fclose(f) == 0 ? 0 : 1);
	}
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(cfg_load(fifo, &c, &problems, &err), 0);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(c->paths[0], src1);
	cfg_free(c);
	unlink(fifo);
}

static void test_destinations(void **state)
{
	(void)state;
	char keys[320];
	snprintf(keys, sizeof keys, "%s/s3keys", dir);
	FILE *f = fopen(keys, "w");
	assert_non_null(f);
	fputs("id\nsecret\n", f);
	fclose(f);
	chmod(keys, 0600);
	write_conf("[backup]\npath = %s\nrepository = /srv/spool\npassword-file = %s\n"
		"clear-spool = yes\n[destination drive-A]\nurl = usb:COFFRE-A\n"
		"[destination cloud]\nurl = s3://s3.example.net/bk/shop\ns3-keys-file = %s\n"
		"s3-region = eu-west-3\ns3-lock-days = 30\ns3-lock-mode = COMPLIANCE\n"
		"upload-limit = 200KiB/s\ndrill-budget = 64M\n", src1, pw, keys);
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(cfg_load(conf, &c, &problems, &err), 0);
	assert_int_equal(c->clear_spool, 1);
	assert_int_equal(c->ndests, 2);
	assert_string_equal(c->dests[0].name, "drive-A");
	assert_string_equal(c->dests[0].url, "usb:COFFRE-A");
	struct dst_options o;
	cfg_dest_options(&c->dests[1], &o);
	assert_string_equal(o.s3_keys_file, keys);
	assert_string_equal(o.s3_region, "eu-west-3");
	assert_string_equal(o.s3_lock_mode, "COMPLIANCE");
	assert_int_equal(o.s3_lock_days, 30);
	assert_int_equal(o.upload_limit, 200 * 1024);
	assert_true(c->dests[1].drill_budget == 64u << 20 && c->dests[0].drill_budget == 0);
	assert_ptr_equal(cfg_find_dest(c, "cloud"), &c->dests[1]);
	assert_ptr_equal(cfg_find_dest(c, "usb:COFFRE-A"), &c->dests[0]);
	assert_null(cfg_find_dest(c, "nowhere"));
	cfg_free(c);

	chmod(keys, 0644);
	write_conf("[backup]\n"				/* 1 */
		"path = %s\n"					/* 2 */
		"repository = s3://h/b/spool\n"		/* 3 */
		"password-file = %s\n"				/* 4 */
		"[destination cloud]\n"			/* 5 */
		"url = s3://h/b/x\n"				/* 6 */
		"s3-keys-file = %s\n"				/* 7 */
		"s3-lock-days = forever\n"			/* 8 */
		"[destination nas]\n"				/* 9 */
		"url = relative/nas\n"				/* 10 */
		"colour = red\n"				/* 11 */
		"[destination bad name]\n"			/* 12 */
		"url = /srv/x\n"				/* 13 */
		"[destination ftp]\n"				/* 14 */
		"url = ftp://h/x\n"				/* 15 */
		"[destination box]\n"				/* 16 */
		"url = sftp://u@h/x\n"				/* 17 */
		"upload-limit = fast\n"			/* 18 */
		"drill-budget = 0\n"				/* 19 */
		"drill-budget = lots\n",			/* 20 */
		src1, pw, keys);
	assert_int_equal(cfg_load(conf, &c, &problems, &err), CF_EUSAGE);
	const char *want[] = {
		":3: with destinations, the repository is the local spool",
		":6: S3 keys file '", "is readable by group or others",
		":8: destination 'cloud': s3-lock-days must be a number of days",
		":10: destination 'nas': folder 'relative/nas' is not an absolute path",
		":11: unknown key 'colour' in section [destination nas]",
		":13: destination name 'bad name' is not valid",
		":15: destination 'ftp': unknown kind of URL 'ftp://h/x'",
		":17: destination 'box' needs 'sftp-key-file'",
		":17: destination 'box' needs 'sftp-host-key'",
		":18: destination 'box': cannot read the upload limit 'fast'",
		":19: destination 'box': cannot read the drill budget '0'",
		":20: destination 'box': cannot read the drill budget 'lots'",
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		if (!has_line(problems, want[i]))
			fail_msg("missing \"%s\" in:\n%s", want[i], problems);
	}
	free(problems);
	unlink(keys);
}

/* [federation]: all keys read; a section missing a key, a bad shop id or key, a non-S3 status
 * URL, or a secret file readable by others are each a problem. */
static void test_detect(void **state)
{
	(void)state;
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	/* Nothing said: the defaults of detect.h. */
	write_conf("[backup]\npath = %s\nrepository = /srv/spool\npassword-file = %s\n", src1, pw);
	assert_int_equal(cfg_load(conf, &c, &problems, &err), 0);
	struct detect_policy d;
	detect_policy_default(&d);
	assert_memory_equal(&c->detect_policy, &d, sizeof d);
	assert_true(c->detect_enabled && c->detect_canaries);
	cfg_free(c);
	write_conf("[backup]\npath = %s\nrepository = /srv/spool\npassword-file = %s\n"
		"[detect]\ncanaries = no\nwindow = 20 min\nformat-breaks = 5\nturned-random = 4\n"
		"renames = 20\nnotes = 1\ndeletions = 80\nrate-factor = 12.5\nrate-floor = 40\n"
		"mass-factor = 100\nmass-floor = 2000\n", src1, pw);
	assert_int_equal(cfg_load(conf, &c, &problems, &err), 0);
	const struct detect_policy *p = &c->detect_policy;
	assert_false(c->detect_canaries);
	assert_int_equal(p->window, 1200);
	assert_int_equal(p->threshold[DETECT_FORMAT], 5);
	assert_int_equal(p->threshold[DETECT_RANDOM], 4);
	assert_int_equal(p->threshold[DETECT_RENAME], 20);
	assert_int_equal(p->threshold[DETECT_NOTE], 1);
	assert_int_equal(p->threshold[DETECT_DELETE], 80);
	assert_true(p->rate_factor == 12.5 && p->mass_factor == 100);
	assert_int_equal(p->rate_floor, 40);
	assert_int_equal(p->mass_floor, 2000);
	assert_int_equal(p->threshold[DETECT_CANARY], 1);	/* not to be changed */
	cfg_free(c);
	const char *bad[][2] = {
		{ "format-breaks = 0", "from 1 to" }, { "renames = -3", "from 1 to" },
		{ "notes = 2x", "from 1 to" }, { "window = 10 s", "from 1 min to 24 h" },
		{ "rate-factor = 0.5", "from 1 to 1000" }, { "mass-factor = nan", "from 1 to 1000" },
		{ "mass-floor = 0", "a minute" }, { "canaries = maybe", "yes or no" },
		{ "canary = yes", "unknown key 'canary'" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		write_conf("[backup]\npath = %s\nrepository = /srv/spool\npassword-file = %s\n"
			"[detect]\n%s\n", src1, pw, bad[i][0]);
		problems = NULL;
		assert_int_not_equal(cfg_load(conf, &c, &problems, &err), 0);
		assert_non_null(problems);
		assert_non_null(strstr(problems, bad[i][1]));
		free(problems);
	}
}

static void test_federation(void **state)
{
	(void)state;
	const char *key = "CHRAXWqzWO4Dm3LP8BdRFHpS5wQEVUQmTn4NWOSXO0E=";
	char sk[300];
	snprintf(sk, sizeof sk, "%s/status.key", dir);
	fx_write(sk, "x\n");
	chmod(sk, 0600);
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	write_conf("[backup]\npath = %s\nrepository = /srv/spool\npassword-file = %s\n"
		"[federation]\nshop-id = shop-0042\nfederation-key = %s\n"
		"status-url = s3://127.0.0.1:9000/fede\nstatus-keys-file = %s\n"
		"status-key-file = %s\n", src1, pw, key, sk, sk);
	assert_int_equal(cfg_load(conf, &c, &problems, &err), 0);
	assert_string_equal(c->fed.shop_id, "shop-0042");
	assert_string_equal(c->fed.federation_key, key);
	assert_string_equal(c->fed.status_url, "s3://127.0.0.1:9000/fede");
	assert_string_equal(c->fed.status_key_file, sk);
	cfg_free(c);
	const char *bad[][2] = {
		{ "shop-id = ../x\n", "shop-id '../x' must be" },
		{ "shop-id = a\nshop-id = b\n", "given twice" },
		{ "federation-key = AAAA\n", "not a public key" },
		{ "status-url = https://x/y\n", "must be an s3:// URL" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int id = strncmp(bad[i][0], "shop-id", 7) == 0;
		int fk = strncmp(bad[i][0], "federation-key", 14) == 0;
		int su = strncmp(bad[i][0], "status-url", 10) == 0;
		write_conf("[backup]\npath = %s\nrepository = /srv/spool\npassword-file = %s\n"
			"[federation]\n%s%s%s%s%s%s%s%sstatus-keys-file = %s\nstatus-key-file = %s\n",
			src1, pw, bad[i][0], id ? "" : "shop-id = s1\n", fk ? "" : "federation-key = ",
			fk ? "" : key, fk ? "" : "\n", su ? "" : "status-url = s3://h/b", su ? "" : "\n",
			"", sk, sk);
		problems = NULL;
		assert_int_not_equal(cfg_load(conf, &c, &problems, &err), 0);
		assert_non_null(problems);
		assert_non_null(strstr(problems, bad[i][1]));
		free(problems);
	}
	write_conf("[backup]\npath = %s\nrepository = /srv/spool\npassword-file = %s\n"
		"[federation]\nshop-id = s1\n", src1, pw);
	problems = NULL;
	assert_int_not_equal(cfg_load(conf, &c, &problems, &err), 0);
	assert_non_null(strstr(problems, "[federation] needs shop-id"));
	free(problems);
	chmod(sk, 0644);
	write_conf("[backup]\npath = %s\nrepository = /srv/spool\npassword-file = %s\n"
		"[federation]\nshop-id = s1\nfederation-key = %s\nstatus-url = s3://h/b\n"
		"status-keys-file = %s\nstatus-key-file = %s\n", src1, pw, key, sk, sk);
	problems = NULL;
	assert_int_not_equal(cfg_load(conf, &c, &problems, &err), 0);
	assert_non_null(strstr(problems, "status key"));
	free(problems);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_problems_line_by_line),
		cmocka_unit_test(test_missing_essentials_and_syntax),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_load_from_pipe),
		cmocka_unit_test(test_destinations),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_federation),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
