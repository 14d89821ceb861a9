/* test_scan_sqlite.c: the consistent copy of an SQLite database (agent/backup/scan_sqlite.c)
 * reads the file the scan opened and checked, not whatever its path names by the time SQLite
 * opens it: a user who swaps their database for a link to another one during a root backup
 * must not get that other database stored under their name. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "backup/backup_internal.h"
#include "coffre/error.h"
#include "coffre/repo.h"

static char dir[256], repo[300], data[300];
static sqlite3 *writers[4];	/* WAL databases kept open, as a running program would */
static size_t nwriters;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void make_db(const char *path, const char *journal_mode, const char *value)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char sql[300];
	snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s; CREATE TABLE t(v TEXT); "
		"INSERT INTO t VALUES('%s');", journal_mode, value);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	/* Left open: a WAL database keeps its newest rows in the -wal file meanwhile. */
	if (strcmp(journal_mode, "wal") != 0 || nwriters == sizeof writers / sizeof *writers)
		sqlite3_close(db);
	else
		writers[nwriters++] = db;
}

/* The value stored in the database copy open as ${fd}. */
static void copy_value(int fd, char *out, size_t n)
{
	char path[400];
	snprintf(path, sizeof path, "%s/readback.db", dir);
	int o = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(o >= 0);
	char b[65536];
	ssize_t k;
	while ((k = read(fd, b, sizeof b)) > 0)
		assert_int_equal(write(o, b, (size_t)k), k);
	close(o);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT v FROM t", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	unlink(path);
}

static void test_copy_reads_checked_fd(void **state)
{
	(void)state;
	char a[400], other[400];
	snprintf(a, sizeof a, "%s/caisse.db", data);
	snprintf(other, sizeof other, "%s/root-secret.db", data);
	make_db(a, "wal", "genuine");
	make_db(other, "wal", "secret");
	char rec[REPO_RECOVERY_TEXT], id[65];
	struct cf_error err = { 0 };
	assert_int_equal(repo_init(repo, "pw", NULL, rec, id, &err), 0);
	struct repo_cred cred = { .password = "pw" };
	struct repo *r = NULL;
	assert_int_equal(repo_open(repo, &cred, &r, &err), 0);

	int dirfd = open(data, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	int fd = openat(dirfd, "caisse.db", O_RDONLY | O_NOFOLLOW);
	assert_true(fd >= 0);
	/* Between the scan's open and SQLite's, the path came to name another database. */
	int copy = -1;
	assert_int_equal(scan_sqlite_copy(r, dirfd, "caisse.db", fd, other, &copy, &err), 0);
	assert_true(copy >= 0);
	char v[64];
	copy_value(copy, v, sizeof v);
	close(copy);
	print_message("copy holds '%s'\n", v);
	assert_string_equal(v, "genuine");

	/* The same through a symbolic link put in the file's place. */
	assert_int_equal(unlink(a), 0);
	assert_int_equal(symlink(other, a), 0);
	copy = -1;
	assert_int_equal(scan_sqlite_copy(r, dirfd, "caisse.db", fd, a, &copy, &err), 0);
	if (copy >= 0) {
		copy_value(copy, v, sizeof v);
		close(copy);
		print_message("after the swap, copy holds '%s'\n", v);
		assert_string_not_equal(v, "secret");
	}
	close(fd);
	close(dirfd);
	repo_free(r);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s/test_scan_sqlite.XXXXXX",
		getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(repo, sizeof repo, "%s/repo", dir);
	snprintf(data, sizeof data, "%s/data", dir);
	char cache[400];
	snprintf(cache, sizeof cache, "%s/cache", dir);
	setenv("XDG_CACHE_HOME", cache, 1);
	setenv("COFFRE_KEY_CACHE", "0", 1);
	return mkdir(data, 0700);
}

static int teardown(void **state)
{
	(void)state;
	while (nwriters)
		sqlite3_close(writers[--nwriters]);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_reads_checked_fd, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
