/* test_repo.c: repository init/open, keys, whole objects and locks (agent/store/repo*.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/error.h"
#include "coffre/repo.h"
#include "store/repo_internal.h"

#include "fixture.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- fixture: a temp dir per test, with the cache kept inside it ---- */

struct fx {
	char dir[256];
	char repo[300];
	char recovery[REPO_RECOVERY_TEXT];
	char idhex[65];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(fx_mkdtemp(f->dir, sizeof f->dir, "repo"), 0);
	char cache[300];
	snprintf(cache, sizeof cache, "%s/cache", f->dir);
	assert_int_equal(setenv("XDG_CACHE_HOME", cache, 1), 0);
	snprintf(f->repo, sizeof f->repo, "%s/repo", f->dir);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	fx_rm_rf(f->dir);
	free(f);
	return 0;
}

/* One repository made by repo_init, copied for each test that needs one: key derivation
 * (Argon2id) is what costs time here. */
static int group_setup(void **state)
{
	(void)state;
	return fx_template_init("repo");
}

static int group_teardown(void **state)
{
	(void)state;
	fx_template_free();
	return 0;
}

/* The fixture's repository (password "pw"): a copy of the template. */
static void fx_init(struct fx *f)
{
	fx_template_copy(f->repo);
	memcpy(f->recovery, fx_template_recovery(), sizeof f->recovery);
	memcpy(f->idhex, fx_template_idhex(), sizeof f->idhex);
}

static struct repo *open_pw(const char *path, const char *pw, int want)
{
	struct cf_error err = { 0 };
	struct repo_cred c = { .password = pw };
	struct repo *r = NULL;
	int rc = repo_open(path, &c, &r, &err);
	if (rc != want)
		print_error("repo_open(%s): %d %s\n", pw, rc, err.msg);
	assert_int_equal(rc, want);
	if (want == 0) {
		assert_non_null(r);
		assert_int_equal(err.code, 0);
	} else {
		assert_int_equal(err.code, want);
		assert_true(err.msg[0] != 0);
	}
	return r;
}

static struct repo *open_rk(const char *path, const char *rk, int want)
{
	struct cf_error err = { 0 };
	struct repo_cred c = { .recovery_key = rk };
	struct repo *r = NULL;
	int rc = repo_open(path, &c, &r, &err);
	if (rc != want)
		print_error("repo_open(recovery '%s'): %d %s\n", rk, rc, err.msg);
	assert_int_equal(rc, want);
	if (want == 0)
		assert_non_null(r);
	return r;
}

static int file_exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static size_t count_dir(const char *p)
{
	DIR *d = opendir(p);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *p, const void *data, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static uint8_t *read_all(const char *p, size_t *n)
{
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *b = malloc((size_t)st.st_size + 1);
	assert_non_null(b);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	b[st.st_size] = 0;	/* text files may be searched as strings */
	*n = (size_t)st.st_size;
	return b;
}

static char *obj_path(struct repo *r, int kind, const uint8_t id[32])
{
	char hex[65];
	util_hex(hex, id, 32);
	char *p = util_path("%s/%s/%s", repo_path(r), kind == REPO_SNAPSHOT ? "snapshots" : "index",
		hex);
	assert_non_null(p);
	return p;
}

/* ---- init ---- */

static void test_init_new_dir(void **state)
{
	struct fx *f = *state;
	struct cf_error e0 = { 0 };
	int rc0 = repo_init(f->repo, "pw", NULL, f->recovery, f->idhex, &e0);
	if (rc0)
		print_error("repo_init: %s\n", e0.msg);
	assert_int_equal(rc0, 0);
	char p[400];
	static const char *const sub[] = { "config", "keys", "data", "index", "snapshots", "locks" };
	for (size_t i = 0; i < sizeof sub / sizeof *sub; i++) {
		snprintf(p, sizeof p, "%s/%s", f->repo, sub[i]);
		assert_true(file_exists(p));
	}
	/* One password key and one recovery key. */
	snprintf(p, sizeof p, "%s/keys", f->repo);
	assert_int_equal(count_dir(p), 2);
	assert_int_equal(strlen(f->idhex), 64);
	assert_int_equal(strspn(f->idhex, "0123456789abcdef"), 64);
	/* 16 groups of 4 hex digits joined by dashes. */
	assert_int_equal(strlen(f->recovery), 79);
	for (int i = 0; i < 79; i++) {
		if (i % 5 == 4)
			assert_int_equal(f->recovery[i], '-');
		else
			assert_true(isxdigit((unsigned char)f->recovery[i]));
	}
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	assert_string_equal(repo_id_hex(r), f->idhex);
	assert_string_equal(repo_path(r), f->repo);
	repo_free(r);

	/* An existing empty directory is fine too, and gets a different id. */
	char empty[400], rk[REPO_RECOVERY_TEXT], id2[65];
	struct cf_error err = { 0 };
	snprintf(empty, sizeof empty, "%s/empty", f->dir);
	assert_int_equal(mkdir(empty, 0700), 0);
	assert_int_equal(repo_init(empty, "pw", NULL, rk, id2, &err), 0);
	assert_string_not_equal(id2, f->idhex);
	assert_string_not_equal(rk, f->recovery);
}

static void test_init_refuses_nonempty(void **state)
{
	struct fx *f = *state;
	char rk[REPO_RECOVERY_TEXT] = "", id[65] = "", p[400];
	struct cf_error err = { 0 };
	assert_int_equal(mkdir(f->repo, 0700), 0);
	snprintf(p, sizeof p, "%s/precious.txt", f->repo);
	write_file(p, "keep me", 7);
	int rc = repo_init(f->repo, "pw", NULL, rk, id, &err);
	assert_true(rc < 0);
	assert_int_equal(err.code, rc);
	/* Nothing was added beside the existing file. */
	assert_int_equal(count_dir(f->repo), 1);
	assert_true(file_exists(p));
	/* An existing repository is not overwritten either. */
	struct fx f2 = *f;
	snprintf(f2.repo, sizeof f2.repo, "%s/r2", f->dir);
	const char *repo2 = f2.repo;
	fx_init(&f2);
	char rk2[REPO_RECOVERY_TEXT] = "", id2[65] = "";
	assert_true(repo_init(repo2, "other", NULL, rk2, id2, &err) < 0);
	struct repo *r = open_rk(repo2, f2.recovery, 0);
	assert_string_equal(repo_id_hex(r), f2.idhex);
	repo_free(r);
	char k2[420];
	snprintf(k2, sizeof k2, "%s/keys", repo2);
	assert_int_equal(count_dir(k2), 2);
	/* A path that is a regular file is refused. */
	char file[400];
	snprintf(file, sizeof file, "%s/plain", f->dir);
	write_file(file, "x", 1);
	assert_true(repo_init(file, "pw", NULL, rk, id, &err) < 0);
}

/* ---- open ---- */

static void test_open_password(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct repo *r = open_pw(f->repo, "pw", 0);
	repo_free(r);
	open_pw(f->repo, "pw ", CF_EPASSWORD);
	/* A trailing slash names the same repository. */
	char p[400];
	snprintf(p, sizeof p, "%s/", f->repo);
	r = open_rk(p, f->recovery, 0);
	assert_string_equal(repo_path(r), f->repo);
	repo_free(r);
}

static void test_open_recovery(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	assert_string_equal(repo_id_hex(r), f->idhex);
	repo_free(r);

	/* Upper case, spaces instead of dashes, surrounding blanks. */
	char alt[REPO_RECOVERY_TEXT + 8];
	size_t o = 0;
	alt[o++] = ' ';
	for (size_t i = 0; f->recovery[i]; i++)
		alt[o++] = f->recovery[i] == '-' ? ' ' : (char)toupper((unsigned char)f->recovery[i]);
	alt[o++] = '\n';
	alt[o] = 0;
	r = open_rk(f->repo, alt, 0);
	repo_free(r);
	/* No separators at all. */
	char bare[65];
	o = 0;
	for (size_t i = 0; f->recovery[i]; i++)
		if (f->recovery[i] != '-')
			bare[o++] = f->recovery[i];
	bare[o] = 0;
	assert_int_equal(o, 64);
	r = open_rk(f->repo, bare, 0);
	repo_free(r);

	/* Malformed texts. */
	open_rk(f->repo, "", CF_EKEY);
	open_rk(f->repo, "not-a-key", CF_EKEY);
	char shortk[80];
	snprintf(shortk, sizeof shortk, "%.74s", f->recovery);	/* one group missing */
	open_rk(f->repo, shortk, CF_EKEY);
	char longk[REPO_RECOVERY_TEXT + 8];
	snprintf(longk, sizeof longk, "%s-abcd", f->recovery);
	open_rk(f->repo, longk, CF_EKEY);
	char junk[REPO_RECOVERY_TEXT + 8];
	snprintf(junk, sizeof junk, "%s x", f->recovery);
	open_rk(f->repo, junk, CF_EKEY);
	/* Well formed but another key: one digit changed. */
	char other[REPO_RECOVERY_TEXT];
	memcpy(other, f->recovery, sizeof other);
	other[0] = other[0] == '0' ? '1' : '0';
	open_rk(f->repo, other, CF_EPASSWORD);
	/* The password is not a recovery key and vice versa. */
	open_rk(f->repo, "pw", CF_EKEY);
	open_pw(f->repo, f->recovery, CF_EPASSWORD);
}

static void test_open_not_a_repo(void **state)
{
	struct fx *f = *state;
	char p[400];
	snprintf(p, sizeof p, "%s/missing", f->dir);
	open_pw(p, "pw", CF_ENOREPO);
	snprintf(p, sizeof p, "%s/missing/deeper", f->dir);
	open_pw(p, "pw", CF_ENOREPO);
	/* A directory without config (an unfinished init, or anything else). */
	snprintf(p, sizeof p, "%s/noconfig", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	open_pw(p, "pw", CF_ENOREPO);
	char k[420];
	snprintf(k, sizeof k, "%s/keys", p);
	assert_int_equal(mkdir(k, 0700), 0);
	open_pw(p, "pw", CF_ENOREPO);
	/* A regular file. */
	snprintf(p, sizeof p, "%s/file", f->dir);
	write_file(p, "{}", 2);
	open_pw(p, "pw", CF_ENOREPO);
	/* A config that is not JSON, or of another format version. */
	fx_init(f);
	snprintf(p, sizeof p, "%s/config", f->repo);
	size_t n;
	uint8_t *cfg = read_all(p, &n);
	write_file(p, "garbage", 7);
	open_pw(f->repo, "pw", CF_ENOREPO);
	char *v2 = util_path("{\"format\": 99, \"id\": \"%s\"}", f->idhex);
	write_file(p, v2, strlen(v2));
	free(v2);
	open_pw(f->repo, "pw", CF_ENOREPO);
	write_file(p, cfg, n);
	repo_free(open_rk(f->repo, f->recovery, 0));
	free(cfg);
}

/* ---- keys ---- */

static void test_key_passwd(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	struct repo *r = open_pw(f->repo, "pw", 0);
	assert_int_equal(repo_key_passwd(r, "new secret", &err), 0);
	repo_free(r);
	open_pw(f->repo, "pw", CF_EPASSWORD);
	r = open_pw(f->repo, "new secret", 0);
	assert_string_equal(repo_id_hex(r), f->idhex);
	/* Again from that handle: its key file is the one replaced. */
	assert_int_equal(repo_key_passwd(r, "third", &err), 0);
	repo_free(r);
	open_pw(f->repo, "new secret", CF_EPASSWORD);
	repo_free(open_pw(f->repo, "third", 0));
	/* The recovery key still opens it; still one password and one recovery key. */
	repo_free(open_rk(f->repo, f->recovery, 0));
	char k[400];
	snprintf(k, sizeof k, "%s/keys", f->repo);
	assert_int_equal(count_dir(k), 2);
}

static void test_key_passwd_from_recovery(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	/* Opened by the recovery key: a new password is added, the recovery key is kept. */
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	assert_int_equal(repo_key_passwd(r, "reset", &err), 0);
	repo_free(r);
	repo_free(open_pw(f->repo, "reset", 0));
	repo_free(open_rk(f->repo, f->recovery, 0));
}

static void test_recovery_rotate(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	char fresh[REPO_RECOVERY_TEXT] = "";
	struct repo *r = open_pw(f->repo, "pw", 0);
	assert_int_equal(repo_key_recovery_rotate(r, fresh, &err), 0);
	repo_free(r);
	assert_int_equal(strlen(fresh), 79);
	assert_string_not_equal(fresh, f->recovery);
	open_rk(f->repo, f->recovery, CF_EPASSWORD);
	r = open_rk(f->repo, fresh, 0);
	assert_string_equal(repo_id_hex(r), f->idhex);
	/* Rotating from a handle opened by the recovery key itself. */
	char third[REPO_RECOVERY_TEXT] = "";
	assert_int_equal(repo_key_recovery_rotate(r, third, &err), 0);
	repo_free(r);
	open_rk(f->repo, fresh, CF_EPASSWORD);
	repo_free(open_rk(f->repo, third, 0));
	repo_free(open_pw(f->repo, "pw", 0));
	char k[400];
	snprintf(k, sizeof k, "%s/keys", f->repo);
	assert_int_equal(count_dir(k), 2);
}

/* ---- local key cache ---- */

static struct repo *open_cached(const char *path, const char *pw, int want, int want_cached)
{
	struct cf_error err = { 0 };
	struct repo_cred c = { .password = pw, .key_cache = 1 };
	struct repo *r = NULL;
	int rc = repo_open(path, &c, &r, &err);
	if (rc != want)
		print_error("repo_open(%s, cached): %d %s\n", pw, rc, err.msg);
	assert_int_equal(rc, want);
	if (want == 0)
		assert_int_equal(repo_key_from_cache(r), want_cached);
	return r;
}

static char *key_cache_file(const struct fx *f)
{
	char *p = util_path("%s/cache/coffre/%s/key", f->dir, f->idhex);
	assert_non_null(p);
	return p;
}

static void test_key_cache(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	char *kc = key_cache_file(f);
	/* Without the option nothing is written. */
	repo_free(open_pw(f->repo, "pw", 0));
	assert_false(file_exists(kc));
	/* The first open derives and writes the cache (owner only); the next ones use it. */
	struct repo *r1 = open_cached(f->repo, "pw", 0, 0);
	struct stat st;
	assert_int_equal(stat(kc, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct repo *r2 = open_cached(f->repo, "pw", 0, 1);
	assert_memory_equal(r1->k->master, r2->k->master, 32);
	assert_memory_equal(r1->k->chunk, r2->k->chunk, 32);
	repo_free(r1);
	repo_free(r2);
	/* A wrong password is still refused, and the cache is not used when not asked for. */
	open_cached(f->repo, "pw ", CF_EPASSWORD, 0);
	r1 = open_pw(f->repo, "pw", 0);
	assert_int_equal(repo_key_from_cache(r1), 0);
	repo_free(r1);
	/* A damaged cache is ignored and replaced. */
	size_t n;
	uint8_t *b = read_all(kc, &n);
	char *w = strstr((char *)b, "\"wrapped\": \"");
	assert_non_null(w);
	w[12] = w[12] == '0' ? '1' : '0';
	write_file(kc, b, n);
	free(b);
	repo_free(open_cached(f->repo, "pw", 0, 0));
	repo_free(open_cached(f->repo, "pw", 0, 1));
	/* The cache is bound to the exact key file: rewritten, the cache no longer opens. */
	char keys[400];
	snprintf(keys, sizeof keys, "%s/keys", f->repo);
	DIR *d = opendir(keys);
	assert_non_null(d);
	struct dirent *e;
	int touched = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *kp = util_path("%s/%s", keys, e->d_name);
		uint8_t *kb = read_all(kp, &n);
		if (strstr((char *)kb, "\"password\"")) {
			kb[n] = '\n';
			write_file(kp, kb, n + 1);
			touched++;
		}
		free(kb);
		free(kp);
	}
	closedir(d);
	assert_int_equal(touched, 1);
	repo_free(open_cached(f->repo, "pw", 0, 0));
	repo_free(open_cached(f->repo, "pw", 0, 1));
	/* A new password voids the cache, even if an old copy of it comes back. */
	uint8_t *old = read_all(kc, &n);
	size_t oldn = n;
	struct cf_error err = { 0 };
	r1 = open_cached(f->repo, "pw", 0, 1);
	assert_int_equal(repo_key_passwd(r1, "new", &err), 0);
	repo_free(r1);
	assert_false(file_exists(kc));
	open_cached(f->repo, "pw", CF_EPASSWORD, 0);
	write_file(kc, old, oldn);
	free(old);
	open_cached(f->repo, "pw", CF_EPASSWORD, 0);
	repo_free(open_cached(f->repo, "new", 0, 0));
	repo_free(open_cached(f->repo, "new", 0, 1));
	free(kc);
}

static void test_key_cache_from_init(void **state)
{
	struct fx *f = *state;
	struct cf_error err = { 0 };
	char rk[REPO_RECOVERY_TEXT];
	assert_int_equal(repo_init_at(f->repo, NULL, "pw", 1, NULL, rk, f->idhex, &err), 0);
	char *kc = key_cache_file(f);
	assert_true(file_exists(kc));
	free(kc);
	repo_free(open_cached(f->repo, "pw", 0, 1));
	/* The recovery key never goes through the cache. */
	struct repo *r = open_rk(f->repo, rk, 0);
	assert_int_equal(repo_key_from_cache(r), 0);
	repo_free(r);
}

/* ---- whole objects ---- */

static void test_object_roundtrip(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	static const char text[] = "{\"hello\": \"world\"}";
	uint8_t id1[32], id2[32], id3[32], id4[32];
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, text, sizeof text - 1, id1, &err), 0);
	/* 1 MiB of compressible and 64 KiB of random bytes. */
	size_t bign = 1u << 20;
	uint8_t *big = malloc(bign);
	assert_non_null(big);
	for (size_t i = 0; i < bign; i++)
		big[i] = (uint8_t)("abcdefgh"[i % 8] + (i / 4096) % 3);
	assert_int_equal(repo_put_object(r, REPO_INDEX, big, bign, id2, &err), 0);
	uint8_t rnd[65536];
	randombytes_buf(rnd, sizeof rnd);
	assert_int_equal(repo_put_object(r, REPO_INDEX, rnd, sizeof rnd, id3, &err), 0);
	assert_int_equal(repo_put_object(r, REPO_INDEX, "", 0, id4, &err), 0);
	assert_true(r->bytes_written > 0);

	struct buf b = { 0 };
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, id1, &b, &err), 0);
	assert_int_equal(b.len, sizeof text - 1);
	assert_memory_equal(b.p, text, b.len);
	assert_int_equal(b.p[b.len], 0);	/* NUL-terminated for JSON */
	buf_free(&b);
	assert_int_equal(repo_get_object(r, REPO_INDEX, id2, &b, &err), 0);
	assert_int_equal(b.len, bign);
	assert_memory_equal(b.p, big, bign);
	buf_free(&b);
	assert_int_equal(repo_get_object(r, REPO_INDEX, id3, &b, &err), 0);
	assert_int_equal(b.len, sizeof rnd);
	assert_memory_equal(b.p, rnd, sizeof rnd);
	buf_free(&b);
	assert_int_equal(repo_get_object(r, REPO_INDEX, id4, &b, &err), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);

	/* The name is the BLAKE2b-256 of the stored bytes, and they are not plaintext. */
	char *p = obj_path(r, REPO_INDEX, id2);
	size_t n;
	uint8_t *raw = read_all(p, &n);
	uint8_t h[32];
	crypto_generichash(h, 32, raw, n, NULL, 0);
	assert_memory_equal(h, id2, 32);
	assert_true(n < bign / 4);	/* compressed */
	free(raw);
	free(p);
	p = obj_path(r, REPO_SNAPSHOT, id1);
	raw = read_all(p, &n);
	assert_null(memmem(raw, n, "hello", 5));
	free(raw);
	free(p);

	/* Same content twice: two different objects (random nonce), both readable. */
	uint8_t id5[32];
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, text, sizeof text - 1, id5, &err), 0);
	assert_memory_not_equal(id1, id5, 32);

	/* Listing. */
	uint8_t (*ids)[32] = NULL;
	size_t nids = 0;
	assert_int_equal(repo_list(r, REPO_SNAPSHOT, &ids, &nids, &err), 0);
	assert_int_equal(nids, 2);
	assert_true((memcmp(ids[0], id1, 32) == 0 && memcmp(ids[1], id5, 32) == 0) ||
		    (memcmp(ids[0], id5, 32) == 0 && memcmp(ids[1], id1, 32) == 0));
	free(ids);
	assert_int_equal(repo_list(r, REPO_INDEX, &ids, &nids, &err), 0);
	assert_int_equal(nids, 3);
	free(ids);

	/* Missing: CF_ENOENT; wrong kind directory: CF_ENOENT as well. */
	uint8_t none[32] = { 1, 2, 3 };
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, none, &b, &err), CF_ENOENT);
	assert_int_equal(repo_get_object(r, REPO_INDEX, id1, &b, &err), CF_ENOENT);

	/* Delete. */
	assert_int_equal(repo_delete_object(r, REPO_SNAPSHOT, id5, &err), 0);
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, id5, &b, &err), CF_ENOENT);
	assert_int_equal(repo_delete_object(r, REPO_SNAPSHOT, id5, &err), 0);	/* idempotent */

	/* Another handle (re-derived keys) reads what this one wrote. */
	struct repo *r2 = open_rk(f->repo, f->recovery, 0);
	assert_int_equal(repo_get_object(r2, REPO_INDEX, id2, &b, &err), 0);
	assert_int_equal(b.len, bign);
	assert_memory_equal(b.p, big, bign);
	buf_free(&b);
	repo_free(r2);
	free(big);
	repo_free(r);
}

static void test_object_flipped_byte(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	uint8_t payload[4000];
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7);
	uint8_t id[32];
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, payload, sizeof payload, id, &err), 0);
	char *p = obj_path(r, REPO_SNAPSHOT, id);
	size_t n;
	uint8_t *orig = read_all(p, &n);
	struct buf b = { 0 };
	/* Every position: header, nonce, ciphertext, tag. */
	size_t step = n / 40 ? n / 40 : 1;
	for (size_t off = 0; off < n; off += off < 64 ? 1 : step) {
		uint8_t *m = malloc(n);
		assert_non_null(m);
		memcpy(m, orig, n);
		m[off] ^= 0x01;
		write_file(p, m, n);
		memset(&err, 0, sizeof err);
		int rc = repo_get_object(r, REPO_SNAPSHOT, id, &b, &err);
		if (rc != CF_ECORRUPT)
			print_error("flip at %zu: %d\n", off, rc);
		assert_int_equal(rc, CF_ECORRUPT);
		assert_int_equal(err.code, CF_ECORRUPT);
		/* Renamed to the damaged bytes' own hash: the name matches, the seal does not. */
		uint8_t h[32];
		crypto_generichash(h, 32, m, n, NULL, 0);
		char *q = obj_path(r, REPO_SNAPSHOT, h);
		write_file(q, m, n);
		rc = repo_get_object(r, REPO_SNAPSHOT, h, &b, &err);
		if (rc != CF_ECORRUPT)
			print_error("flip at %zu, renamed: %d\n", off, rc);
		assert_int_equal(rc, CF_ECORRUPT);
		unlink(q);
		free(q);
		free(m);
	}
	/* Truncated and extended. */
	write_file(p, orig, n - 1);
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, id, &b, &err), CF_ECORRUPT);
	write_file(p, orig, 10);
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, id, &b, &err), CF_ECORRUPT);
	write_file(p, orig, 0);
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, id, &b, &err), CF_ECORRUPT);
	/* Restored: fine again. */
	write_file(p, orig, n);
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, id, &b, &err), 0);
	assert_memory_equal(b.p, payload, sizeof payload);
	buf_free(&b);
	free(orig);
	free(p);
	repo_free(r);
}

static void test_object_renamed(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	uint8_t a[32], b[32];
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, "{\"a\":1}", 7, a, &err), 0);
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, "{\"b\":2}", 7, b, &err), 0);
	char *pa = obj_path(r, REPO_SNAPSHOT, a), *pb = obj_path(r, REPO_SNAPSHOT, b);
	/* A's bytes now under B's name: B must not silently read as A. */
	assert_int_equal(rename(pa, pb), 0);
	struct buf out = { 0 };
	memset(&err, 0, sizeof err);
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, b, &out, &err), CF_ECORRUPT);
	assert_int_equal(err.code, CF_ECORRUPT);
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, a, &out, &err), CF_ENOENT);
	assert_null(out.p);
	free(pa);
	free(pb);
	repo_free(r);
}

static void test_object_kind_bound(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	uint8_t id[32];
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, "{\"x\":1}", 7, id, &err), 0);
	char *ps = obj_path(r, REPO_SNAPSHOT, id), *pi = obj_path(r, REPO_INDEX, id);
	size_t n;
	uint8_t *bytes = read_all(ps, &n);
	/* Copied as is into index/. */
	write_file(pi, bytes, n);
	struct buf out = { 0 };
	assert_int_equal(repo_get_object(r, REPO_INDEX, id, &out, &err), CF_ECORRUPT);
	unlink(pi);
	/* With its clear-text kind byte rewritten and renamed to match: the associated data
	 * still binds the kind, so the seal fails. */
	assert_true(n > 5);
	assert_int_equal(bytes[4], REPO_SNAPSHOT);
	bytes[4] = REPO_INDEX;
	uint8_t h[32];
	crypto_generichash(h, 32, bytes, n, NULL, 0);
	char *pi2 = obj_path(r, REPO_INDEX, h);
	write_file(pi2, bytes, n);
	memset(&err, 0, sizeof err);
	assert_int_equal(repo_get_object(r, REPO_INDEX, h, &out, &err), CF_ECORRUPT);
	assert_int_equal(err.code, CF_ECORRUPT);
	assert_null(out.p);
	/* The original still opens under its own kind. */
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, id, &out, &err), 0);
	assert_int_equal(out.len, 7);
	buf_free(&out);
	free(bytes);
	free(ps);
	free(pi);
	free(pi2);
	repo_free(r);
}

static void test_object_other_repo(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	char other[400], rk[REPO_RECOVERY_TEXT], id2[65];
	snprintf(other, sizeof other, "%s/other", f->dir);
	assert_int_equal(repo_init(other, "pw", NULL, rk, id2, &err), 0);
	struct repo *r = open_rk(f->repo, f->recovery, 0), *o = open_rk(other, rk, 0);
	uint8_t id[32];
	assert_int_equal(repo_put_object(o, REPO_SNAPSHOT, "{\"o\":1}", 7, id, &err), 0);
	/* An object of another repository (another key) copied in does not open. */
	char *src = obj_path(o, REPO_SNAPSHOT, id), *dst = obj_path(r, REPO_SNAPSHOT, id);
	size_t n;
	uint8_t *bytes = read_all(src, &n);
	write_file(dst, bytes, n);
	struct buf out = { 0 };
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, id, &out, &err), CF_ECORRUPT);
	free(bytes);
	free(src);
	free(dst);
	repo_free(r);
	repo_free(o);
}

static void test_object_size_bound(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	/* Stored snapshots are bounded (4 MiB) before anything is read into memory; index
	 * objects may be much larger. */
	size_t n = 5u << 20;
	uint8_t *rnd = malloc(n);
	assert_non_null(rnd);
	randombytes_buf(rnd, n);
	uint8_t ids[2][32];
	assert_int_equal(repo_put_object(r, REPO_SNAPSHOT, rnd, n, ids[0], &err), 0);
	assert_int_equal(repo_put_object(r, REPO_INDEX, rnd, n, ids[1], &err), 0);
	struct buf b = { 0 };
	assert_int_equal(repo_get_object(r, REPO_SNAPSHOT, ids[0], &b, &err), CF_ECORRUPT);
	assert_null(b.p);
	assert_int_equal(repo_get_object(r, REPO_INDEX, ids[1], &b, &err), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.p, rnd, n);
	buf_free(&b);
	free(rnd);
	repo_free(r);
}

/* ---- locks ---- */

static size_t count_locks(const char *repo)
{
	char p[400];
	snprintf(p, sizeof p, "%s/locks", repo);
	return count_dir(p);
}

static void test_lock_shared_exclusive(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	struct repo *a = open_rk(f->repo, f->recovery, 0), *b = open_rk(f->repo, f->recovery, 0);
	struct repo *c = open_rk(f->repo, f->recovery, 0);
	assert_int_equal(repo_lock(a, 0, &err), 0);
	assert_int_equal(repo_lock(b, 0, &err), 0);
	assert_int_equal(count_locks(f->repo), 2);
	memset(&err, 0, sizeof err);
	assert_int_equal(repo_lock(c, 1, &err), CF_ELOCKED);
	assert_int_equal(err.code, CF_ELOCKED);
	/* The refused attempt leaves no lock of its own behind. */
	assert_int_equal(count_locks(f->repo), 2);
	repo_unlock(a);
	assert_int_equal(repo_lock(c, 1, &err), CF_ELOCKED);
	repo_unlock(b);
	assert_int_equal(count_locks(f->repo), 0);
	assert_int_equal(repo_lock(c, 1, &err), 0);
	assert_int_equal(count_locks(f->repo), 1);
	/* Held exclusively: neither shared nor exclusive can join. */
	assert_int_equal(repo_lock(a, 0, &err), CF_ELOCKED);
	assert_int_equal(repo_lock(b, 1, &err), CF_ELOCKED);
	assert_int_equal(count_locks(f->repo), 1);
	repo_unlock(c);
	repo_unlock(c);	/* twice is harmless */
	assert_int_equal(repo_lock(a, 0, &err), 0);
	/* repo_free releases the lock. */
	repo_free(a);
	assert_int_equal(count_locks(f->repo), 0);
	repo_free(b);
	repo_free(c);
}

/* A handle that takes a lock while it already holds one (an API caller holding a lock and
 * then calling backup_run or restore_run, which lock by themselves): once unlocked, no lock of
 * its may remain, whatever the second call returned. */
static void test_lock_twice_same_handle(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	struct repo *a = open_rk(f->repo, f->recovery, 0), *b = open_rk(f->repo, f->recovery, 0);
	int first = repo_lock(a, 0, &err);
	int second = repo_lock(a, 0, &err);
	size_t held = count_locks(f->repo);
	repo_unlock(a);
	size_t left = count_locks(f->repo);
	memset(&err, 0, sizeof err);
	int other = repo_lock(b, 1, &err);
	repo_unlock(b);
	repo_free(a);
	size_t after_free = count_locks(f->repo);
	repo_free(b);
	print_message("second lock: %d; lock files: %zu held, %zu after unlock, %zu after free; "
		"exclusive lock of another handle: %d\n", second, held, left, after_free, other);
	assert_int_equal(first, 0);
	assert_true(second == 0 || second == CF_EUSAGE || second == CF_ELOCKED);
	assert_int_equal(left, 0);
	assert_int_equal(other, 0);
	assert_int_equal(after_free, 0);
}

static void write_lock_file(const char *repo, const char *name, const char *host, long long pid,
	long long t, int exclusive)
{
	char p[400];
	snprintf(p, sizeof p, "%s/locks/%s", repo, name);
	char *text = util_path("{\"hostname\":\"%s\",\"pid\":%lld,\"time\":%lld,\"exclusive\":%s}",
		host, pid, t, exclusive ? "true" : "false");
	assert_non_null(text);
	write_file(p, text, strlen(text));
	free(text);
}

static pid_t dead_pid(void)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0)
		_exit(0);
	int st;
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(kill(p, 0) != 0 && errno == ESRCH);
	return p;
}

static void test_lock_stale_dead_pid(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	char host[256] = "", p[400];
	assert_int_equal(gethostname(host, sizeof host - 1), 0);
	static const char name[] = "0123456789abcdef0123456789abcdef";
	snprintf(p, sizeof p, "%s/locks/%s", f->repo, name);
	struct repo *r = open_rk(f->repo, f->recovery, 0);

	/* A live process of this host (ourselves) holding it exclusively: a conflict. */
	write_lock_file(f->repo, name, host, (long long)getpid(), (long long)time(NULL), 1);
	assert_int_equal(repo_lock(r, 0, &err), CF_ELOCKED);
	assert_true(file_exists(p));
	assert_int_equal(count_locks(f->repo), 1);

	/* The same lock of a process that is gone: stale, removed, the lock is taken. */
	write_lock_file(f->repo, name, host, (long long)dead_pid(), (long long)time(NULL), 1);
	memset(&err, 0, sizeof err);
	int rc = repo_lock(r, 1, &err);
	if (rc)
		print_error("repo_lock: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_false(file_exists(p));
	assert_int_equal(count_locks(f->repo), 1);
	repo_free(r);
	assert_int_equal(count_locks(f->repo), 0);
}

static void test_lock_stale_old_other_host(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	static const char name[] = "fedcba9876543210fedcba9876543210";
	static const char host[] = "some-other-host.invalid";
	char p[400];
	snprintf(p, sizeof p, "%s/locks/%s", f->repo, name);
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	long long now = (long long)time(NULL);

	/* Another host, fresh: its pid means nothing here, the lock holds. */
	write_lock_file(f->repo, name, host, (long long)dead_pid(), now, 1);
	assert_int_equal(repo_lock(r, 0, &err), CF_ELOCKED);
	assert_true(file_exists(p));
	/* Shared lock of another host, 29 minutes old: still live for an exclusive locker. */
	write_lock_file(f->repo, name, host, 1, now - 29 * 60, 0);
	assert_int_equal(repo_lock(r, 1, &err), CF_ELOCKED);
	assert_true(file_exists(p));
	/* ... but compatible with a shared one. */
	assert_int_equal(repo_lock(r, 0, &err), 0);
	repo_unlock(r);
	assert_true(file_exists(p));

	/* 31 minutes without refresh: stale whatever the host. */
	write_lock_file(f->repo, name, host, 1, now - 31 * 60, 1);
	memset(&err, 0, sizeof err);
	int rc = repo_lock(r, 1, &err);
	if (rc)
		print_error("repo_lock: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_false(file_exists(p));
	repo_unlock(r);
	assert_int_equal(count_locks(f->repo), 0);
	repo_free(r);
}

/* Forged or absurd locks: a lock naming this host and a live pid (1) with a time far ahead
 * or long past, or a time that overflows arithmetic, must not block every run for ever. */
static void test_lock_forged_times(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	struct cf_error err = { 0 };
	char host[256] = "", p[400];
	assert_int_equal(gethostname(host, sizeof host - 1), 0);
	static const char name[] = "00112233445566778899aabbccddeeff";
	snprintf(p, sizeof p, "%s/locks/%s", f->repo, name);
	struct repo *r = open_rk(f->repo, f->recovery, 0);
	long long now = (long long)time(NULL);
	const struct {
		const char *host;
		long long t;
		int live;
	} cases[] = {
		{ host, now + 10LL * 86400, 0 },	/* this host, pid 1 alive, dated ahead */
		{ host, now - 31 * 60, 0 },		/* this host, pid 1 alive, not refreshed */
		{ "other.invalid", INT64_MIN, 0 },	/* absurd: no overflow, stale */
		{ "other.invalid", 0, 0 },
		{ "other.invalid", now + 5 * 60, 1 },	/* a clock a little ahead: live */
		{ host, now, 1 },			/* this host, pid 1, fresh: live */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		write_lock_file(f->repo, name, cases[i].host, 1, cases[i].t, 1);
		memset(&err, 0, sizeof err);
		int rc = repo_lock(r, 1, &err);
		print_message("case %zu: time %lld: %d\n", i, cases[i].t, rc);
		assert_int_equal(rc, cases[i].live ? CF_ELOCKED : 0);
		assert_int_equal(file_exists(p), cases[i].live);
		repo_unlock(r);
		unlink(p);
	}
	repo_free(r);
}

/* A key file from storage sets the Argon2id cost: a hostile drive must not make an open
 * spend minutes or gigabytes. What coffre writes parses; much more does not. */
static void test_keyfile_kdf_bounds(void **state)
{
	(void)state;
	const struct {
		long long ops, mem;
		int ok;
	} cases[] = {
		{ 4, 32LL << 20, 1 },	/* what coffre writes */
		{ 16, 512LL << 20, 1 },
		{ 64, 4LL << 30, 0 },	/* 64 passes over 4 GiB */
		{ 17, 32LL << 20, 0 },
		{ 4, 1LL << 30, 0 },
		{ 0, 32LL << 20, 0 },
		{ 4, 4096, 0 },
	};
	char hex24[49], hex48[97], hex16[33];
	memset(hex24, 'a', 48);
	hex24[48] = 0;
	memset(hex48, 'b', 96);
	hex48[96] = 0;
	memset(hex16, 'c', 32);
	hex16[32] = 0;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char text[600];
		snprintf(text, sizeof text, "{\"kind\":\"password\",\"kdf\":\"argon2id13\","
			"\"opslimit\":%lld,\"memlimit\":%lld,\"nonce\":\"%s\",\"wrapped\":\"%s\","
			"\"salt\":\"%s\"}", cases[i].ops, cases[i].mem, hex24, hex48, hex16);
		struct repo_keyfile kf;
		int rc = repo_keyfile_parse((const uint8_t *)text, strlen(text), &kf);
		print_message("ops %lld mem %lld: %d\n", cases[i].ops, cases[i].mem, rc);
		assert_int_equal(rc, cases[i].ok ? 0 : CF_ECORRUPT);
	}
}

/* The config is not authenticated and its pack size sizes the buffer of a whole-pack
 * download: a config asking for more than coffre could have written gets the default. */
static void test_config_pack_size_bound(void **state)
{
	struct fx *f = *state;
	fx_init(f);
	char p[400];
	snprintf(p, sizeof p, "%s/config", f->repo);
	json_error_t je;
	json_t *o = json_load_file(p, 0, &je);
	assert_non_null(o);
	const struct {
		long long ask, got;
	} cases[] = {
		{ 16LL << 20, 16LL << 20 },
		{ 256LL << 20, 256LL << 20 },
		{ 1LL << 30, 16LL << 20 },	/* 4 GiB download buffers before */
		{ 4LL << 30, 16LL << 20 },
		{ 1024, 16LL << 20 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		json_object_set_new(o, "pack_size", json_integer(cases[i].ask));
		char *text = json_dumps(o, JSON_COMPACT);
		assert_non_null(text);
		struct repo_config c;
		struct cf_error err = { 0 };
		assert_int_equal(repo_config_parse((const uint8_t *)text, strlen(text), "t", &c, &err), 0);
		print_message("pack_size %lld: %u\n", cases[i].ask, c.pack_size);
		assert_int_equal(c.pack_size, cases[i].got);
		free(text);
	}
	json_decref(o);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (getenv("CF_TEST_FILTER"))	/* run some tests only: a glob on their names */
		cmocka_set_test_filter(getenv("CF_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_new_dir, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_init_refuses_nonempty, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_password, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_recovery, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_not_a_repo, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_key_passwd, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_key_passwd_from_recovery, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_recovery_rotate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_key_cache, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_key_cache_from_init, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_object_roundtrip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_object_flipped_byte, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_object_renamed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_object_kind_bound, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_object_other_repo, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_object_size_bound, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_shared_exclusive, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_twice_same_handle, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_stale_dead_pid, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_stale_old_other_host, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_forged_times, fx_setup, fx_teardown),
		cmocka_unit_test(test_keyfile_kdf_bounds),
		cmocka_unit_test_setup_teardown(test_config_pack_size_bound, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
