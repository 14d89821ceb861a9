/* test_restore.c: restoring from a remote repository (agent/store/blob_reader.c, agent/restore/restore_feed.c): a full
 * restore keeps two pack transfers under way at once, a one-file restore fetches only the
 * frames it needs; and a damaged chunk costs its file only. The "remote" is a local repository behind a destination that is not
 * local, answers every read of a pack after a delay, and counts the reads under way. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/backup.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/restore.h"
#include "coffre/snap.h"
#include "dst/dst_internal.h"
#include "store/repo_internal.h"

#include "fixture.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KiB 1024u
#define MiB (1024u * 1024u)
#define NFILES 6
#define BIG (1 * MiB)	/* each file: about one pack of 1 MiB */
#define SMALL (40 * KiB)
#define DELAY_US 30000
#define LARGE_READ (256 * KiB)	/* a prefetch request; a blob's frame is smaller */

/* ---- a slow, counting, non-local destination over a local directory ---- */

struct counters {
	pthread_mutex_t mu;
	int inflight, max_inflight;	/* reads of packs under way */
	int large, max_large;		/* of which large ranges (whole spans) */
	uint64_t pack_bytes;		/* bytes of packs read */
};

struct slow {
	struct dst d;	/* first */
	struct dst *in;
	char *root;	/* of ${in}, for clones */
	struct counters *c;
};

static const struct dst_ops slow_ops;

static int slow_open(const char *root, struct counters *c, struct dst **ret)
{
	struct slow *s = calloc(1, sizeof *s);
	if (!s || dst_open(root, NULL, &s->in, NULL) != 0 || !(s->root = strdup(root)))
		return -1;
	s->d.ops = &slow_ops;
	s->d.url = strdup("slow://test");
	s->c = c;
	*ret = &s->d;
	return 0;
}

static struct slow *down(struct dst *d)
{
	return (struct slow *)d;
}

static void enter(struct counters *c, size_t len, int large)
{
	pthread_mutex_lock(&c->mu);
	if (++c->inflight > c->max_inflight)
		c->max_inflight = c->inflight;
	if (large && ++c->large > c->max_large)
		c->max_large = c->large;
	c->pack_bytes += len;
	pthread_mutex_unlock(&c->mu);
	usleep(DELAY_US);
}

static void leave(struct counters *c, int large)
{
	pthread_mutex_lock(&c->mu);
	c->inflight--;
	if (large)
		c->large--;
	pthread_mutex_unlock(&c->mu);
}

static int slow_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	struct slow *s = down(d);
	if (strncmp(name, "data/", 5) != 0)
		return dst_get(s->in, name, max, ret, err);
	enter(s->c, 0, 0);
	int rc = dst_get(s->in, name, max, ret, err);
	if (rc == 0) {
		pthread_mutex_lock(&s->c->mu);
		s->c->pack_bytes += ret->len;
		pthread_mutex_unlock(&s->c->mu);
	}
	leave(s->c, 0);
	return rc;
}

static int slow_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	struct slow *s = down(d);
	if (strncmp(name, "data/", 5) != 0)
		return dst_get_range(s->in, name, off, len, out, err);
	int large = len >= LARGE_READ;
	enter(s->c, len, large);
	int rc = dst_get_range(s->in, name, off, len, out, err);
	leave(s->c, large);
	return rc;
}

static int slow_put_file(struct dst *d, const char *name, const char *p, struct cf_error *err)
{
	return dst_put_file(down(d)->in, name, p, err);
}

static int slow_put_buf(struct dst *d, const char *name, const void *p, size_t n,
	struct cf_error *err)
{
	return dst_put_buf(down(d)->in, name, p, n, err);
}

static int slow_stat(struct dst *d, const char *name, uint64_t *ret, struct cf_error *err)
{
	return dst_stat(down(d)->in, name, ret, err);
}

static int slow_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	return dst_list(down(d)->in, prefix, fn, ctx, err);
}

static int slow_del(struct dst *d, const char *name, struct cf_error *err)
{
	return dst_delete(down(d)->in, name, err);
}

static void slow_free(struct dst *d)
{
	dst_free(down(d)->in);
	free(down(d)->root);
	free(d->url);
	free(d);
}

static int slow_clone(struct dst *d, struct dst **ret, struct cf_error *err)
{
	if (slow_open(down(d)->root, down(d)->c, ret) != 0)
		return cf_error_set(err, CF_ENOMEM, "cannot clone");
	return 0;
}

static const struct dst_ops slow_ops = {
	.name = "slow",
	.put_file = slow_put_file,
	.put_buf = slow_put_buf,
	.get = slow_get,
	.get_range = slow_get_range,
	.stat = slow_stat,
	.list = slow_list,
	.del = slow_del,
	.free = slow_free,
	.clone = slow_clone,
};

/* ---- fixture: a repository of 1 MiB packs holding NFILES random files and a small one ---- */

struct fx {
	char dir[256];
	char *repo, *src;
	struct repo *r;
	struct snap *s;
	uint8_t *data[NFILES + 1];
	size_t len[NFILES + 1];
};

static char *file_name(struct fx *f, const char *root, int i)
{
	return i < NFILES ? util_path("%s%s/big%d.bin", root, f->src, i)
			  : util_path("%s%s/one.txt", root, f->src);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *o = fopen(path, "wb");
	assert_non_null(o);
	assert_int_equal(fwrite(p, 1, n, o), n);
	assert_int_equal(fclose(o), 0);
}

/* Packs of 1 MiB, so that a few MiB of content make several packs. */
static void small_packs(const char *repo)
{
	char *path = util_path("%s/config", repo);
	struct buf b = { 0 };
	assert_int_equal(util_read_file(path, 1 << 16, &b, NULL), 0);
	assert_int_equal(buf_put_u8(&b, 0), 0);
	char *at = strstr((char *)b.p, "\"pack_size\": ");
	assert_non_null(at);
	char *end = at + strlen("\"pack_size\": ");
	end += strspn(end, "0123456789");
	char *text = util_path("%.*s\"pack_size\": %u%s", (int)(at - (char *)b.p), (char *)b.p,
		MiB, end);
	write_file(path, (const uint8_t *)text, strlen(text));
	free(text);
	free(path);
	buf_free(&b);
}

/* One repository made by repo_init (a key derivation), copied for each test. */
static int group_setup(void **state)
{
	(void)state;
	return fx_template_init("restore");
}

static int group_teardown(void **state)
{
	(void)state;
	fx_template_free();
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct cf_error err = { 0 };
	assert_non_null(f);
	assert_int_equal(sodium_init() >= 0, 1);
	assert_int_equal(fx_mkdtemp(f->dir, sizeof f->dir, "restore"), 0);
	char *cache = util_path("%s/cache", f->dir);
	assert_int_equal(setenv("XDG_CACHE_HOME", cache, 1), 0);
	free(cache);
	f->repo = util_path("%s/repo", f->dir);
	f->src = util_path("%s/src", f->dir);
	assert_int_equal(mkdir(f->src, 0700), 0);
	fx_template_copy(f->repo);
	small_packs(f->repo);
	for (int i = 0; i <= NFILES; i++) {
		f->len[i] = i < NFILES ? BIG : SMALL;
		f->data[i] = malloc(f->len[i]);
		assert_non_null(f->data[i]);
		randombytes_buf(f->data[i], f->len[i]);
		char *p = file_name(f, "", i);
		write_file(p, f->data[i], f->len[i]);
		free(p);
	}
	struct repo_cred c = { .password = FX_PASSWORD };
	assert_int_equal(repo_open(f->repo, &c, &f->r, &err), 0);
	const char *paths[] = { f->src };
	struct backup_opts o = { .paths = paths, .npaths = 1 };
	struct backup_stats st;
	uint8_t id[32], par[32];
	int hp = 0;
	if (backup_run(f->r, &o, &st, id, par, &hp, &err) != 0)
		print_error("backup_run: %s\n", err.msg);
	assert_int_equal(snap_load(f->r, id, &f->s, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	snap_free(f->s);
	repo_free(f->r);
	fx_rm_rf(f->dir);
	for (int i = 0; i <= NFILES; i++)
		free(f->data[i]);
	free(f->repo);
	free(f->src);
	free(f);
	return 0;
}

/* Restores ${f}'s snapshot from the slow destination into ${target}. */
static void restore_slow(struct fx *f, struct counters *c, const char *target,
	const char *const *includes, size_t nincludes, struct restore_stats *st)
{
	struct dst *d = NULL;
	struct repo *r2 = NULL;
	struct cf_error err = { 0 };
	pthread_mutex_init(&c->mu, NULL);
	assert_int_equal(slow_open(f->repo, c, &d), 0);
	assert_int_equal(repo_attach(f->r, d, &r2, &err), 0);
	struct restore_opts o = { .target = target, .includes = includes, .nincludes = nincludes };
	int rc = restore_run(r2, f->s, &o, st, &err);
	if (rc)
		print_error("restore_run: %d %s\n", rc, err.msg);
	assert_int_equal(rc, 0);
	repo_free(r2);
	dst_free(d);
	pthread_mutex_destroy(&c->mu);
}

static void check_file(struct fx *f, const char *target, int i)
{
	char *root = util_path("%s/", target);
	char *p = file_name(f, root, i);
	struct buf b = { 0 };
	assert_int_equal(util_read_file(p, 2 * BIG, &b, NULL), 0);
	assert_int_equal(b.len, f->len[i]);
	assert_memory_equal(b.p, f->data[i], f->len[i]);
	buf_free(&b);
	free(p);
	free(root);
}

/* Without packs fetched ahead, one read at a time: the maxima below would be 1. */
static void test_full_restore_two_in_flight(void **state)
{
	struct fx *f = *state;
	struct counters c = { 0 };
	struct restore_stats st;
	char *target = util_path("%s/full", f->dir);
	restore_slow(f, &c, target, NULL, 0, &st);
	assert_int_equal(st.files, NFILES + 1);
	for (int i = 0; i <= NFILES; i++)
		check_file(f, target, i);
	print_message("max reads of packs under way: %d (large %d), bytes %llu\n",
		c.max_inflight, c.max_large, (unsigned long long)c.pack_bytes);
	assert_int_equal(c.max_large, 2);
	assert_true(c.max_inflight >= 2 && c.max_inflight <= 3);
	/* Each needed frame travels about once. */
	assert_true(c.pack_bytes < NFILES * BIG + SMALL + 512 * KiB);
	free(target);
}

/* One small file: only its frames (and the folder trees) travel, nothing near a pack. */
static void test_one_file_ranged(void **state)
{
	struct fx *f = *state;
	struct counters c = { 0 };
	struct restore_stats st;
	char *target = util_path("%s/one", f->dir);
	char *one = file_name(f, "", NFILES);
	const char *inc[] = { one };
	restore_slow(f, &c, target, inc, 1, &st);
	assert_int_equal(st.files, 1);
	check_file(f, target, NFILES);
	print_message("one file: %llu bytes of packs read\n", (unsigned long long)c.pack_bytes);
	/* Frames hold about 64 KiB of blobs: the file's bytes come in at most its own frames
	 * and the neighbours sharing them, the folder trees in one more. */
	assert_true(c.pack_bytes < SMALL + 3 * 64 * KiB);
	free(one);
	free(target);
}

struct problems {
	int n, mismatch;
};

static void on_problem(void *ctx, const char *path, const char *msg)
{
	struct problems *p = ctx;
	(void)path;
	p->n++;
	p->mismatch += strstr(msg, "does not match its id") != NULL;
}

/* A chunk whose frame authenticates but whose bytes are not those its id names (the cache
 * points one byte off inside the frame): checked on whichever thread, its file is reported
 * damaged and removed, every other file is restored whole. */
static void test_chunk_not_matching_id(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	char *db = util_path("%s/cache/coffre/%s/index.sqlite", f->dir, repo_id_hex(f->r));
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "UPDATE blobs SET pos = pos - 1 WHERE id = (SELECT id "
		"FROM blobs WHERE type = 0 AND pos > 0 LIMIT 1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(h), 1);
	sqlite3_close(h);
	free(db);
	char *target = util_path("%s/bad", f->dir);
	struct problems p = { 0 };
	struct restore_opts o = { .target = target, .problem = on_problem, .ctx = &p };
	struct restore_stats st;
	assert_int_equal(restore_run(f->r, f->s, &o, &st, &err), CF_ECORRUPT);
	assert_int_equal(st.damaged, 1);
	assert_int_equal(st.files, NFILES);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.mismatch, 1);
	char *root = util_path("%s/", target);
	int missing = 0;
	for (int i = 0; i <= NFILES; i++) {
		char *path = file_name(f, root, i);
		if (access(path, F_OK) != 0)
			missing++;
		else
			check_file(f, target, i);
		free(path);
	}
	assert_int_equal(missing, 1);
	free(root);
	free(target);
}

/* Files are written from inside their directories (agent/restore/restore.c, disk_name): a symlink
 * left in the target where a directory of the snapshot goes, pointing out of it, is replaced
 * and never followed. */
static void test_symlink_in_target_not_followed(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	char *target = util_path("%s/over", f->dir);
	char *outside = util_path("%s/outside", f->dir);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(mkdir(outside, 0700), 0);
	/* The snapshot's first directory (the top of f->src's path). */
	const char *top = f->src + 1;
	char *first = strndup(top, strcspn(top, "/"));
	char *link = util_path("%s/%s", target, first);
	assert_int_equal(symlink(outside, link), 0);
	struct restore_opts o = { .target = target };
	struct restore_stats st;
	assert_int_equal(restore_run(f->r, f->s, &o, &st, &err), 0);
	assert_int_equal(st.files, NFILES + 1);
	for (int i = 0; i <= NFILES; i++)
		check_file(f, target, i);
	struct stat sb;
	assert_int_equal(lstat(link, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(rmdir(outside), 0);	/* still empty */
	free(link);
	free(first);
	free(outside);
	free(target);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_restore_two_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_file_ranged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_not_matching_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_in_target_not_followed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
