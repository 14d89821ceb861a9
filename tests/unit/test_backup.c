/* test_backup.c: backup_run and restore_run end to end through the engine API
 * (agent/backup/backup.c, agent/restore/restore.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/backup.h"
#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/restore.h"
#include "coffre/snap.h"
#include "store/repo_internal.h"

#include "fixture.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define KiB 1024u
#define MiB (1024u * 1024u)

struct fx {
	char dir[256];
	char *repo, *src, *target;
	struct repo *r;
};

static int group_setup(void **state)
{
	(void)state;
	return fx_template_init("backup");
}

static int group_teardown(void **state)
{
	(void)state;
	fx_template_free();
	return 0;
}

/* Layout: dir/cache, dir/tree/repo, dir/tree/src, dir/out (restore target). */
static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(fx_mkdtemp(f->dir, sizeof f->dir, "backup"), 0);
	char *cache = util_path("%s/cache", f->dir), *tree = util_path("%s/tree", f->dir);
	assert_int_equal(setenv("XDG_CACHE_HOME", cache, 1), 0);
	assert_int_equal(mkdir(tree, 0755), 0);
	f->repo = util_path("%s/repo", tree);
	f->src = util_path("%s/src", tree);
	f->target = util_path("%s/out", f->dir);
	free(cache);
	free(tree);
	fx_template_copy(f->repo);
	assert_int_equal(mkdir(f->src, 0755), 0);
	struct cf_error err = { 0 };
	struct repo_cred c = { .recovery_key = fx_template_recovery() };
	assert_int_equal(repo_open(f->repo, &c, &f->r, &err), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	repo_free(f->r);
	fx_rm_rf(f->dir);
	free(f->repo);
	free(f->src);
	free(f->target);
	free(f);
	return 0;
}

static uint8_t *random_buf(size_t len, uint8_t v)
{
	uint8_t s[randombytes_SEEDBYTES];
	uint8_t *b = malloc(len ? len : 1);
	assert_non_null(b);
	memset(s, v, sizeof s);
	randombytes_buf_deterministic(b, len, s);
	return b;
}

static char *at(const char *base, const char *rel)
{
	char *p = util_path("%s/%s", base, rel);
	assert_non_null(p);
	return p;
}

static void put(const char *base, const char *rel, const void *data, size_t n, unsigned mode)
{
	char *p = at(base, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	const uint8_t *q = data;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, q + off, n - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(p);
}

static void mkd(const char *base, const char *rel)
{
	char *p = at(base, rel);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

/* Where ${rel} under the source lands in the restore target. */
static char *restored(struct fx *f, const char *rel)
{
	char *p = util_path("%s%s/%s", f->target, f->src, rel);
	assert_non_null(p);
	return p;
}

static void expect_content(const char *p, const uint8_t *data, size_t n)
{
	int fd = open(p, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		print_error("cannot open '%s'\n", p);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	if ((size_t)st.st_size != n)
		print_error("'%s': %lld bytes, expected %zu\n", p, (long long)st.st_size, n);
	assert_int_equal((size_t)st.st_size, n);
	uint8_t *b = malloc(n ? n : 1);
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, b + got, n - got);
		assert_true(k > 0);
		got += (size_t)k;
	}
	close(fd);
	if (n)
		assert_memory_equal(b, data, n);
	free(b);
}

static int do_backup(struct fx *f, const char *const *paths, size_t np, struct backup_stats *st,
	uint8_t snap[32], int *has_parent, uint8_t parent[32])
{
	static const char *const excludes[] = { "*.tmp" };
	static const char *const tags[] = { "unit", "t2" };
	struct backup_opts o = { .paths = paths, .npaths = np, .excludes = excludes,
		.nexcludes = 1, .tags = tags, .ntags = 2, .hostname = "testhost" };
	struct cf_error err = { 0 };
	uint8_t par[32];
	int hp = -1;
	memset(st, 0xff, sizeof *st);
	int rc = backup_run(f->r, &o, st, snap, parent ? parent : par, has_parent ? has_parent : &hp,
		&err);
	if (rc)
		print_error("backup_run: %d %s\n", rc, err.msg);
	return rc;
}

static void do_restore_v(struct fx *f, const uint8_t id[32], const char *const *inc,
	size_t ninc, struct restore_stats *rs, int verify)
{
	struct snap *s = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(snap_load(f->r, id, &s, &err), 0);
	fx_rm_rf(f->target);
	struct restore_opts o = { .target = f->target, .includes = inc, .nincludes = ninc,
		.verify = verify };
	memset(rs, 0, sizeof *rs);
	int rc = restore_run(f->r, s, &o, rs, &err);
	if (rc)
		print_error("restore_run: %d %s\n", rc, err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(rs->refused + rs->damaged + rs->verify_failed, 0);
	snap_free(s);
}

static void do_restore(struct fx *f, const uint8_t id[32], const char *const *inc, size_t ninc,
	struct restore_stats *rs)
{
	do_restore_v(f, id, inc, ninc, rs, 1);
}

struct tree_data {
	uint8_t *b, *big, *zeros;
	size_t nb, nbig, nzeros;
	char *text;
	size_t ntext;
};

/* A small tree of every kind of entry. */
static void make_tree(struct fx *f, struct tree_data *d)
{
	d->nb = 300 * KiB;
	d->b = random_buf(d->nb, 1);
	d->nbig = 1536 * KiB;	/* more than 32 chunks: a chunk-list tree */
	d->big = random_buf(d->nbig, 2);
	d->nzeros = 200000;	/* all zeros, ending in a hole when restored */
	d->zeros = calloc(d->nzeros, 1);
	d->ntext = 100 * KiB;
	d->text = malloc(d->ntext);
	for (size_t i = 0; i < d->ntext; i++)
		d->text[i] = "lorem ipsum dolor sit amet\n"[i % 27];
	put(f->src, "a.txt", "hello world\n", 12, 0640);
	mkd(f->src, "sub");
	mkd(f->src, "sub/deep");
	put(f->src, "sub/b.bin", d->b, d->nb, 0600);
	put(f->src, "sub/empty", "", 0, 0644);
	put(f->src, "sub/deep/c.txt", d->text, d->ntext, 0644);
	put(f->src, "big.bin", d->big, d->nbig, 0644);
	put(f->src, "zeros.bin", d->zeros, d->nzeros, 0644);
	put(f->src, "sub/skip.tmp", "excluded", 8, 0644);
	char *l = at(f->src, "link"), *h = at(f->src, "sub/hard"), *a = at(f->src, "a.txt");
	char *fifo = at(f->src, "pipe");
	assert_int_equal(symlink("a.txt", l), 0);
	assert_int_equal(link(a, h), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* A fixed mtime on a.txt (and its hard link). */
	struct timespec ts[2] = { { 1600000000, 123456789 }, { 1600000000, 123456789 } };
	assert_int_equal(utimensat(AT_FDCWD, a, ts, 0), 0);
	free(l);
	free(h);
	free(a);
	free(fifo);
}

static void tree_data_free(struct tree_data *d)
{
	free(d->b);
	free(d->big);
	free(d->zeros);
	free(d->text);
}

static void check_restored_tree(struct fx *f, const struct tree_data *d)
{
	char *p = restored(f, "a.txt");
	expect_content(p, (const uint8_t *)"hello world\n", 12);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_true(st.st_mtim.tv_sec == 1600000000);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	ino_t ino = st.st_ino;
	free(p);
	p = restored(f, "sub/hard");
	expect_content(p, (const uint8_t *)"hello world\n", 12);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(st.st_ino == ino);	/* still one file */
	free(p);
	p = restored(f, "sub/b.bin");
	expect_content(p, d->b, d->nb);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(p);
	p = restored(f, "sub/empty");
	expect_content(p, NULL, 0);
	free(p);
	p = restored(f, "sub/deep/c.txt");
	expect_content(p, (const uint8_t *)d->text, d->ntext);
	free(p);
	p = restored(f, "big.bin");
	expect_content(p, d->big, d->nbig);
	free(p);
	p = restored(f, "zeros.bin");
	expect_content(p, d->zeros, d->nzeros);
	free(p);
	p = restored(f, "link");
	char tgt[64] = "";
	assert_int_equal(readlink(p, tgt, sizeof tgt - 1), 5);
	assert_string_equal(tgt, "a.txt");
	free(p);
	p = restored(f, "pipe");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	free(p);
	p = restored(f, "sub/skip.tmp");
	assert_int_not_equal(lstat(p, &st), 0);
	free(p);
}

static void test_roundtrip_and_unchanged(void **state)
{
	struct fx *f = *state;
	struct tree_data d;
	make_tree(f, &d);
	const char *paths[] = { f->src };
	struct backup_stats st;
	uint8_t s1[32], s2[32], par[32];
	int hp = -1;
	assert_int_equal(do_backup(f, paths, 1, &st, s1, &hp, par), 0);
	print_message("first: %llu new, %llu dirs, %llu read, %llu added, %llu data blobs\n",
		(unsigned long long)st.files_new, (unsigned long long)st.dirs,
		(unsigned long long)st.bytes_read, (unsigned long long)st.bytes_added,
		(unsigned long long)st.data_blobs);
	assert_int_equal(hp, 0);
	/* a.txt, hard, b.bin, empty, c.txt, big.bin, zeros.bin */
	assert_int_equal(st.files_new, 7);
	assert_int_equal(st.files_changed, 0);
	assert_int_equal(st.files_unchanged, 0);
	assert_int_equal(st.dirs, 3);
	assert_int_equal(st.warnings, 0);
	assert_int_equal(st.bytes_read, 2 * 12 + d.nb + d.ntext + d.nbig + d.nzeros);
	assert_true(st.data_blobs > 32);
	assert_true(st.tree_blobs >= 2);
	assert_true(st.bytes_added >= d.nb + d.nbig);
	assert_true(st.bytes_stored > 0);

	/* The snapshot records what was asked. */
	struct snap *s = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(snap_load(f->r, s1, &s, &err), 0);
	assert_int_equal(s->npaths, 1);
	assert_string_equal(s->paths[0], f->src);
	assert_string_equal(s->hostname, "testhost");
	assert_int_equal(s->ntags, 2);
	assert_string_equal(s->tags[0], "unit");
	assert_int_equal(s->has_parent, 0);
	snap_free(s);

	struct restore_stats rs;
	do_restore(f, s1, NULL, 0, &rs);
	assert_int_equal(rs.files, 6);
	assert_int_equal(rs.hardlinks, 1);
	assert_int_equal(rs.symlinks, 1);
	assert_int_equal(rs.verified, 7);
	check_restored_tree(f, &d);

	/* Nothing changed: nothing read, no data stored, the first is the parent. */
	assert_int_equal(do_backup(f, paths, 1, &st, s2, &hp, par), 0);
	print_message("second: %llu unchanged, %llu read, %llu added, %llu data / %llu tree "
		"blobs\n", (unsigned long long)st.files_unchanged,
		(unsigned long long)st.bytes_read, (unsigned long long)st.bytes_added,
		(unsigned long long)st.data_blobs, (unsigned long long)st.tree_blobs);
	assert_int_equal(st.bytes_read, 0);
	assert_int_equal(st.data_blobs, 0);
	assert_int_equal(st.files_unchanged, 7);
	assert_int_equal(st.files_new + st.files_changed, 0);
	assert_int_equal(hp, 1);
	assert_memory_equal(par, s1, 32);
	assert_memory_not_equal(s1, s2, 32);
	/* And the second snapshot restores the same tree. */
	do_restore(f, s2, NULL, 0, &rs);
	check_restored_tree(f, &d);
	tree_data_free(&d);
}

static void test_changed_same_size_and_mtime(void **state)
{
	struct fx *f = *state;
	put(f->src, "f.txt", "version one\n", 12, 0644);
	char *p = at(f->src, "f.txt");
	struct timespec ts[2] = { { 1500000000, 0 }, { 1500000000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	const char *paths[] = { f->src };
	struct backup_stats st;
	uint8_t s1[32], s2[32];
	assert_int_equal(do_backup(f, paths, 1, &st, s1, NULL, NULL), 0);
	assert_int_equal(st.files_new, 1);
	/* Same size, mtime put back: the ctime still tells. */
	usleep(20000);
	put(f->src, "f.txt", "version two\n", 12, 0644);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_int_equal(do_backup(f, paths, 1, &st, s2, NULL, NULL), 0);
	assert_int_equal(st.files_changed, 1);
	assert_int_equal(st.bytes_read, 12);
	assert_int_equal(st.data_blobs, 1);
	struct restore_stats rs;
	do_restore(f, s2, NULL, 0, &rs);
	char *q = restored(f, "f.txt");
	expect_content(q, (const uint8_t *)"version two\n", 12);
	free(q);
	do_restore(f, s1, NULL, 0, &rs);
	q = restored(f, "f.txt");
	expect_content(q, (const uint8_t *)"version one\n", 12);
	free(q);
	free(p);
}

static void test_big_file_one_page(void **state)
{
	struct fx *f = *state;
	size_t n = 20 * MiB;
	uint8_t *data = random_buf(n, 9);
	put(f->src, "big20", data, n, 0644);
	const char *paths[] = { f->src };
	struct backup_stats st;
	uint8_t s1[32], s2[32];
	assert_int_equal(do_backup(f, paths, 1, &st, s1, NULL, NULL), 0);
	assert_int_equal(st.bytes_read, n);
	assert_true(st.bytes_added >= n);
	/* One 4 KiB page in the middle rewritten. */
	uint8_t page[4096];
	randombytes_buf(page, sizeof page);
	size_t off = 10 * MiB;
	memcpy(data + off, page, sizeof page);
	char *p = at(f->src, "big20");
	int fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, page, sizeof page, (off_t)off), (ssize_t)sizeof page);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	struct timespec ts[2] = { sb.st_atim, sb.st_mtim };
	ts[1].tv_sec += 1;	/* a clock too coarse must not hide the change */
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
	free(p);
	assert_int_equal(do_backup(f, paths, 1, &st, s2, NULL, NULL), 0);
	print_message("one page of 20 MiB: %llu bytes added, %llu data and %llu tree blobs, "
		"%llu stored\n", (unsigned long long)st.bytes_added,
		(unsigned long long)st.data_blobs, (unsigned long long)st.tree_blobs,
		(unsigned long long)st.bytes_stored);
	assert_int_equal(st.files_changed, 1);
	assert_int_equal(st.bytes_read, n);
	/* The chunker key is random per repository: new random bytes can add a few cut points
	 * around the page, never more than a handful of chunks. */
	assert_true(st.data_blobs >= 1 && st.data_blobs <= 8);
	assert_true(st.bytes_added < 160 * KiB);
	/* The new version restores with the new page (compared below, not verified twice). */
	struct restore_stats rs;
	do_restore_v(f, s2, NULL, 0, &rs, 0);
	char *q = restored(f, "big20");
	expect_content(q, data, n);
	free(q);
	free(data);
}

static void test_restore_includes(void **state)
{
	struct fx *f = *state;
	struct tree_data d;
	make_tree(f, &d);
	const char *paths[] = { f->src };
	struct backup_stats st;
	uint8_t s1[32];
	assert_int_equal(do_backup(f, paths, 1, &st, s1, NULL, NULL), 0);
	char *inc = util_path("%s/sub/deep", f->src);
	const char *incs[] = { inc };
	struct restore_stats rs;
	do_restore(f, s1, incs, 1, &rs);
	assert_int_equal(rs.files, 1);
	char *p = restored(f, "sub/deep/c.txt");
	expect_content(p, (const uint8_t *)d.text, d.ntext);
	free(p);
	struct stat sb;
	p = restored(f, "sub/b.bin");
	assert_int_not_equal(lstat(p, &sb), 0);
	free(p);
	p = restored(f, "a.txt");
	assert_int_not_equal(lstat(p, &sb), 0);
	free(p);
	free(inc);
	tree_data_free(&d);
}

static void test_repo_not_backed_up(void **state)
{
	struct fx *f = *state;
	put(f->src, "a.txt", "hello world\n", 12, 0644);
	/* The directory holding both the source and the repository. */
	char *tree = util_path("%s/tree", f->dir);
	const char *paths[] = { tree };
	struct backup_stats st;
	uint8_t s1[32];
	assert_int_equal(do_backup(f, paths, 1, &st, s1, NULL, NULL), 0);
	assert_int_equal(st.files_new, 1);
	assert_int_equal(st.warnings, 0);
	struct restore_stats rs;
	do_restore(f, s1, NULL, 0, &rs);
	char *p = restored(f, "a.txt");
	expect_content(p, (const uint8_t *)"hello world\n", 12);
	free(p);
	struct stat sb;
	p = util_path("%s%s", f->target, f->repo);
	assert_int_not_equal(lstat(p, &sb), 0);
	free(p);
	p = util_path("%s%s", f->target, tree);
	assert_int_equal(lstat(p, &sb), 0);
	free(p);
	free(tree);
}

/* backup_stats describe one run (header: "one backup run"; bytes_stored: "bytes added to the
 * repository"), and the snapshot's summary records them: a second run on the same handle
 * must not report what the first one stored. */
static void test_stats_per_run(void **state)
{
	struct fx *f = *state;
	size_t n = 2 * MiB;
	uint8_t *data = random_buf(n, 11);
	put(f->src, "data.bin", data, n, 0644);
	free(data);
	const char *paths[] = { f->src };
	struct backup_stats st1, st2;
	uint8_t s1[32], s2[32];
	assert_int_equal(do_backup(f, paths, 1, &st1, s1, NULL, NULL), 0);
	assert_true(st1.bytes_stored >= n);
	/* Same handle, nothing changed: a few tree nodes, an index and a snapshot at most. */
	assert_int_equal(do_backup(f, paths, 1, &st2, s2, NULL, NULL), 0);
	assert_int_equal(st2.bytes_read, 0);
	assert_int_equal(st2.data_blobs, 0);
	print_message("bytes_stored: first run %llu, second run %llu\n",
		(unsigned long long)st1.bytes_stored, (unsigned long long)st2.bytes_stored);
	assert_true(st2.bytes_stored < 64 * KiB);
	/* The summary kept in the snapshot says the same. */
	struct snap *s = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(snap_load(f->r, s2, &s, &err), 0);
	assert_non_null(s->summary);
	const char *k = strstr(s->summary, "\"bytes_stored\":");
	assert_non_null(k);
	unsigned long long v = strtoull(k + strlen("\"bytes_stored\":"), NULL, 10);
	assert_true(v < 64 * KiB);
	snap_free(s);
}

static void test_odd_names(void **state)
{
	struct fx *f = *state;
	/* Bytes a Linux file name may hold: newline, non-UTF-8, backslash, colon, a leading
	 * dash, 255 bytes. */
	char longname[256];
	memset(longname, 'L', 255);
	longname[255] = 0;
	const char *names[] = { "new\nline", "\xff\xfe-latin1-\xe9", "back\\slash", "c:colon",
		"-dash", " space ", longname };
	size_t nn = sizeof names / sizeof *names;
	for (size_t i = 0; i < nn; i++)
		put(f->src, names[i], names[i], strlen(names[i]), 0644);
	const char *paths[] = { f->src };
	struct backup_stats st;
	uint8_t s1[32];
	assert_int_equal(do_backup(f, paths, 1, &st, s1, NULL, NULL), 0);
	assert_int_equal(st.files_new, nn);
	struct restore_stats rs;
	do_restore(f, s1, NULL, 0, &rs);
	assert_int_equal(rs.files, nn);
	for (size_t i = 0; i < nn; i++) {
		char *p = restored(f, names[i]);
		expect_content(p, (const uint8_t *)names[i], strlen(names[i]));
		free(p);
	}
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	uint8_t *data = random_buf(MiB, 12);
	put(f->src, "x.bin", data, MiB, 0644);
	atomic_int stop = 1;
	const char *paths[] = { f->src };
	struct backup_opts o = { .paths = paths, .npaths = 1, .cancel = &stop };
	struct backup_stats st;
	struct cf_error err = { 0 };
	uint8_t s[32], par[32];
	int hp;
	int rc = backup_run(f->r, &o, &st, s, par, &hp, &err);
	assert_true(rc < 0);
	assert_int_not_equal(rc, CF_EPARTIAL);
	struct snap **list = NULL;
	size_t n = 9;
	assert_int_equal(snap_list(f->r, &list, &n, NULL, &err), 0);
	assert_int_equal(n, 0);
	snap_list_free(list, n);
	/* The lock is released: a new run goes through. */
	stop = 0;
	assert_int_equal(backup_run(f->r, &o, &st, s, par, &hp, &err), 0);
	assert_int_equal(hp, 0);
	free(data);
}

static void test_bad_paths(void **state)
{
	struct fx *f = *state;
	struct backup_stats st;
	uint8_t s[32];
	char *missing = at(f->src, "no-such-thing");
	const char *paths[] = { missing };
	struct backup_opts o = { .paths = paths, .npaths = 1 };
	struct cf_error err = { 0 };
	uint8_t par[32];
	int hp;
	assert_int_equal(backup_run(f->r, &o, &st, s, par, &hp, &err), CF_EUSAGE);
	o.npaths = 0;
	assert_int_equal(backup_run(f->r, &o, &st, s, par, &hp, &err), CF_EUSAGE);
	/* No snapshot was made. */
	struct snap **list = NULL;
	size_t n = 9;
	assert_int_equal(snap_list(f->r, &list, &n, NULL, &err), 0);
	assert_int_equal(n, 0);
	snap_list_free(list, n);
	free(missing);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (getenv("CF_TEST_FILTER"))	/* run some tests only: a glob on their names */
		cmocka_set_test_filter(getenv("CF_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_and_unchanged, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_changed_same_size_and_mtime, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_big_file_one_page, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_includes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_repo_not_backed_up, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stats_per_run, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_odd_names, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cancel, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
