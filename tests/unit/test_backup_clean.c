/* test_backup_clean.c: backup_run with a clean() predicate (agent/backup/backup.c) reuses the parent's
 * subtrees unread: a change deep in one folder costs a few entries, not a full walk, and the
 * snapshot still restores identical to the tree. The same with the watcher (agent/daemon/watch.c)
 * supplying the predicate from real inotify events. When the set of folders changes, the
 * parent is the snapshot sharing the most of them: only the new folder is read. */
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

#include "coffre/backup.h"
#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/restore.h"
#include "coffre/snap.h"
#include "coffre/watch.h"

#include "fixture.h"

#define NDIRS 20
#define NFILES 10

static char dir[256], repo[300], src[300], target[300], changed_dir[400];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* NDIRS folders a/dNN/sub/deep, each with NFILES files at every level. */
static void make_tree(void)
{
	char p[600];
	assert_int_equal(mkdir(src, 0700), 0);
	for (int d = 0; d < NDIRS; d++) {
		snprintf(p, sizeof p, "%s/d%02d", src, d);
		assert_int_equal(mkdir(p, 0700), 0);
		snprintf(p, sizeof p, "%s/d%02d/sub", src, d);
		assert_int_equal(mkdir(p, 0700), 0);
		snprintf(p, sizeof p, "%s/d%02d/sub/deep", src, d);
		assert_int_equal(mkdir(p, 0700), 0);
		for (int k = 0; k < NFILES; k++) {
			char f[700], text[64];
			snprintf(text, sizeof text, "folder %d file %d\n", d, k);
			snprintf(f, sizeof f, "%s/d%02d/f%d.txt", src, d, k);
			put(f, text);
			snprintf(f, sizeof f, "%s/d%02d/sub/deep/g%d.txt", src, d, k);
			put(f, text);
		}
	}
}

static int setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir, sizeof dir, "backup_clean"))
		return -1;
	snprintf(repo, sizeof repo, "%s/repo", dir);
	snprintf(src, sizeof src, "%s/src", dir);
	snprintf(target, sizeof target, "%s/restore", dir);
	snprintf(changed_dir, sizeof changed_dir, "%s/d07/sub/deep", src);
	char rk[REPO_RECOVERY_TEXT], id[65];
	struct cf_error err = { 0 };
	return repo_init(repo, "pw", NULL, rk, id, &err);
}

static int teardown(void **state)
{
	(void)state;
	fx_rm_rf(dir);
	return 0;
}

/* Dirty: the changed folder and its ancestors; every other folder is clean. */
static int clean_but_changed(void *ctx, const char *path)
{
	(void)ctx;
	size_t n = strlen(path);
	return !(strncmp(changed_dir, path, n) == 0 &&
		(changed_dir[n] == 0 || changed_dir[n] == '/'));
}

static void backup(struct repo *r, int (*clean)(void *, const char *), void *ctx,
	struct backup_stats *st, uint8_t id[32])
{
	const char *paths[] = { src };
	struct backup_opts o = { .paths = paths, .npaths = 1, .clean = clean, .ctx = ctx };
	uint8_t parent[32];
	int has_parent;
	struct cf_error err = { 0 };
	memset(st, 0, sizeof *st);
	int rc = backup_run(r, &o, st, id, parent, &has_parent, &err);
	if (rc)
		print_error("backup_run: %d %s\n", rc, err.msg);
	assert_int_equal(rc, 0);
}

/* Restores ${id} and compares every file with the tree (diff -r). */
static void restore_matches(struct repo *r, const uint8_t id[32])
{
	struct snap *s = NULL;
	struct cf_error err = { 0 };
	struct restore_stats rs;
	fx_rm_rf(target);
	assert_int_equal(snap_load(r, id, &s, &err), 0);
	struct restore_opts o = { .target = target, .verify = 1 };
	assert_int_equal(restore_run(r, s, &o, &rs, &err), 0);
	snap_free(s);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "diff -r '%s' '%s%s' >&2", src, target, src);
	assert_int_equal(system(cmd), 0);
}

static struct repo *open_repo(void)
{
	struct repo *r = NULL;
	struct repo_cred cred = { .password = "pw" };
	struct cf_error err = { 0 };
	assert_int_equal(repo_open(repo, &cred, &r, &err), 0);
	return r;
}

static void test_clean_predicate(void **state)
{
	(void)state;
	make_tree();
	struct repo *r = open_repo();
	struct backup_stats full, inc;
	uint8_t id1[32], id2[32];
	backup(r, NULL, NULL, &full, id1);
	/* A change deep in one folder (the mtime moves on for sure). */
	char f[700];
	snprintf(f, sizeof f, "%s/g3.txt", changed_dir);
	put(f, "changed, and longer than before\n");
	struct timespec ts[2] = { { 2000000000, 0 }, { 2000000000, 0 } };
	utimensat(AT_FDCWD, f, ts, 0);
	backup(r, clean_but_changed, NULL, &inc, id2);
	print_message("full walk: %llu entries; with clean(): %llu entries, %llu folders reused\n",
		(unsigned long long)full.entries, (unsigned long long)inc.entries,
		(unsigned long long)inc.dirs_reused);
	assert_int_equal(inc.files_changed, 1);
	assert_int_equal(inc.dirs_reused, NDIRS - 1);
	assert_true(inc.entries * 5 < full.entries);
	restore_matches(r, id2);
	repo_free(r);
}

static void test_watch_predicate(void **state)
{
	(void)state;
	struct repo *r = open_repo();
	struct watch *w = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(watch_new(NULL, NULL, &w, &err), 0);
	assert_int_equal(watch_add_root(w, src, &err), 0);
	/* A new watcher wants a full scan first. */
	assert_int_equal(watch_clean(w, src), 0);
	struct backup_stats st;
	uint8_t id[32];
	uint64_t mark = watch_mark(w);
	backup(r, watch_clean, w, &st, id);
	watch_clear(w, mark);
	assert_int_equal(st.dirs_reused, 0);
	assert_int_equal(watch_clean(w, src), 1);
	/* Changes: a file modified in d03/sub/deep, a folder created with a file in d11. */
	char p[700];
	snprintf(p, sizeof p, "%s/d03/sub/deep/g1.txt", src);
	put(p, "modified through the watcher\n");
	snprintf(p, sizeof p, "%s/d11/new", src);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/d11/new/n.txt", src);
	put(p, "new\n");
	assert_true(watch_process(w) > 0);
	snprintf(p, sizeof p, "%s/d03", src);
	assert_int_equal(watch_clean(w, p), 0);
	snprintf(p, sizeof p, "%s/d04", src);
	assert_int_equal(watch_clean(w, p), 1);
	struct watch_info wi;
	watch_info(w, &wi);
	assert_int_equal(wi.watches, 1 + 3 * NDIRS + 1);
	mark = watch_mark(w);
	backup(r, watch_clean, w, &st, id);
	/* A change during the run stays dirty after clearing. */
	snprintf(p, sizeof p, "%s/d15/late.txt", src);
	put(p, "late\n");
	assert_true(watch_process(w) > 0);
	watch_clear(w, mark);
	snprintf(p, sizeof p, "%s/d15", src);
	assert_int_equal(watch_clean(w, p), 0);
	snprintf(p, sizeof p, "%s/d03", src);
	assert_int_equal(watch_clean(w, p), 1);
	/* Every top folder but d03 and d11, plus d11/sub (clean inside a dirty folder). */
	assert_int_equal(st.dirs_reused, NDIRS - 2 + 1);
	snprintf(p, sizeof p, "%s/d15/late.txt", src);
	unlink(p);
	restore_matches(r, id);
	watch_free(w);
	repo_free(r);
}

static uint64_t bytes_under;

static int add_size(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		bytes_under += (uint64_t)st->st_size;
	return 0;
}

static uint64_t tree_bytes(const char *path)
{
	bytes_under = 0;
	assert_int_equal(nftw(path, add_size, 16, FTW_PHYS), 0);
	return bytes_under;
}

static int clean_all(void *ctx, const char *path)
{
	(void)ctx;
	(void)path;
	return 1;
}

/* Backs up src/dNN for each NN of ${ds} (as another host, so that only these runs count). */
static void backup_some(struct repo *r, const int *ds, size_t n, int (*clean)(void *, const char *),
	struct backup_stats *st, uint8_t id[32], int *has_parent)
{
	char names[8][400];
	const char *paths[8];
	for (size_t i = 0; i < n; i++) {
		if (ds[i] < 0)
			snprintf(names[i], sizeof names[i], "%s", src);
		else
			snprintf(names[i], sizeof names[i], "%s/d%02d", src, ds[i]);
		paths[i] = names[i];
	}
	struct backup_opts o = { .paths = paths, .npaths = n, .clean = clean,
		.hostname = "paths-change" };
	uint8_t parent[32];
	struct cf_error err = { 0 };
	memset(st, 0, sizeof *st);
	int rc = backup_run(r, &o, st, id, parent, has_parent, &err);
	if (rc)
		print_error("backup_run: %d %s\n", rc, err.msg);
	assert_int_equal(rc, 0);
}

static void test_paths_change(void **state)
{
	(void)state;
	struct repo *r = open_repo();
	struct backup_stats st;
	uint8_t id[32];
	int hp;
	char d02[400];
	snprintf(d02, sizeof d02, "%s/d02", src);
	backup_some(r, (const int[]){ 0, 1 }, 2, NULL, &st, id, &hp);
	assert_int_equal(hp, 0);
	/* A folder added: only it is read. */
	backup_some(r, (const int[]){ 0, 1, 2 }, 3, NULL, &st, id, &hp);
	print_message("folder added: read %llu bytes (the new folder holds %llu)\n",
		(unsigned long long)st.bytes_read, (unsigned long long)tree_bytes(d02));
	assert_int_equal(hp, 1);
	assert_int_equal(st.bytes_read, tree_bytes(d02));
	assert_int_equal(st.files_new, 2 * NFILES);
	/* A folder removed: nothing is read. */
	backup_some(r, (const int[]){ 0, 2 }, 2, NULL, &st, id, &hp);
	assert_int_equal(hp, 1);
	assert_int_equal(st.bytes_read, 0);
	assert_int_equal(st.files_new, 0);
	/* The folder above them: the parent holds src only as the way to d00 and d02, so even
	 * a clean() saying "nothing changed" must not take that partial folder for the whole. */
	backup_some(r, (const int[]){ -1 }, 1, clean_all, &st, id, &hp);
	assert_int_equal(hp, 1);
	assert_true(st.files_new > 0);
	restore_matches(r, id);
	repo_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_predicate),
		cmocka_unit_test(test_watch_predicate),
		cmocka_unit_test(test_paths_change),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
