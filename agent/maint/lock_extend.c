/* lock_extend.c: keeping the Object Lock retention of needed objects from lapsing, asking the
 * destination only for what changed (lock_extend.h). */
#include "coffre/lock_extend.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "store/repo_internal.h"

#define DATE_MAX 253402300799	/* 9999-12-31T23:59:59Z: past it, a cached date is damage */

struct lock_extend {
	struct dst *d;
	sqlite3 *db;
	char table[40];		/* "d_" and 32 hex digits of the URL's hash */
	sqlite3_stmt *get, *put, *seen, *drop;
};

int lock_extend_decide(int known, int64_t until, int64_t now, int64_t period)
{
	if (!known)
		return LOCK_EXTEND_READ;
	if (until <= 0 || until <= now + period / 2)
		return LOCK_EXTEND_SET;
	return LOCK_EXTEND_KEEP;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static void stmts_free(struct lock_extend *x)
{
	sqlite3_finalize(x->get);
	sqlite3_finalize(x->put);
	sqlite3_finalize(x->seen);
	sqlite3_finalize(x->drop);
	x->get = x->put = x->seen = x->drop = NULL;
}

/* Opens ${path} and makes this destination's table; -1 when the file is no usable cache. */
static int cache_open(struct lock_extend *x, const char *path)
{
	char sql[512];
	if (sqlite3_open_v2(path, &x->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL))
		return -1;
	sqlite3_busy_timeout(x->db, 30000);
	/* Rebuildable from the destination: speed over durability. */
	if (exec(x->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
			"CREATE TABLE IF NOT EXISTS dests(tbl TEXT PRIMARY KEY, url TEXT);"))
		return -1;
	snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS %s(name TEXT PRIMARY KEY,"
		" until INTEGER NOT NULL, mode INTEGER NOT NULL, seen INTEGER) WITHOUT ROWID;",
		x->table);
	if (exec(x->db, sql))
		return -1;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(x->db, "INSERT OR REPLACE INTO dests VALUES(?, ?)", -1, &st, NULL))
		return -1;
	sqlite3_bind_text(st, 1, x->table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dst_url(x->d), -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	if (rc)
		return -1;
	char q[4][200];
	snprintf(q[0], sizeof q[0], "SELECT until, mode FROM %s WHERE name = ?", x->table);
	snprintf(q[1], sizeof q[1], "INSERT OR REPLACE INTO %s VALUES(?, ?, ?, ?)", x->table);
	snprintf(q[2], sizeof q[2], "UPDATE %s SET seen = ? WHERE name = ?", x->table);
	snprintf(q[3], sizeof q[3], "DELETE FROM %s WHERE name = ?", x->table);
	if (sqlite3_prepare_v2(x->db, q[0], -1, &x->get, NULL) ||
	    sqlite3_prepare_v2(x->db, q[1], -1, &x->put, NULL) ||
	    sqlite3_prepare_v2(x->db, q[2], -1, &x->seen, NULL) ||
	    sqlite3_prepare_v2(x->db, q[3], -1, &x->drop, NULL))
		return -1;
	return 0;
}

static void cache_close(struct lock_extend *x)
{
	stmts_free(x);
	sqlite3_close(x->db);
	x->db = NULL;
}

int lock_extend_open(struct repo *r, struct dst *d, struct lock_extend **ret,
	struct cf_error *err)
{
	*ret = NULL;
	if (!dst_object_lock(d) || dst_lock_period(d) <= 0)
		return cf_error_set(err, CF_EUSAGE, "'%s' has no verified Object Lock", dst_url(d));
	struct lock_extend *x = calloc(1, sizeof *x);
	if (!x)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	x->d = d;
	uint8_t h[16];
	crypto_generichash(h, sizeof h, (const uint8_t *)dst_url(d), strlen(dst_url(d)), NULL, 0);
	memcpy(x->table, "d_", 2);
	util_hex(x->table + 2, h, sizeof h);
	char *dir = repo_cache_dir(r);
	char *path = dir ? util_path("%s/locks.sqlite", dir) : NULL;
	free(dir);
	if (path && cache_open(x, path) != 0) {
		/* A damaged cache is thrown away: it holds nothing the destination does not. */
		cache_close(x);
		unlink(path);
		char *wal = util_path("%s-wal", path), *shm = util_path("%s-shm", path);
		if (wal)
			unlink(wal);
		if (shm)
			unlink(shm);
		free(wal);
		free(shm);
		if (cache_open(x, path) != 0)
			cache_close(x);
	}
	free(path);
	if (!x->db && cache_open(x, ":memory:") != 0) {
		cache_close(x);
		free(x);
		return cf_error_set(err, CF_ENOMEM, "cannot make a cache of Object Lock dates");
	}
	*ret = x;
	return 0;
}

void lock_extend_free(struct lock_extend *x)
{
	if (!x)
		return;
	cache_close(x);
	free(x);
}

/* The cached date of ${name}: 1 when known (and sane), 0 when not. */
static int cache_get(struct lock_extend *x, const char *name, int64_t *until, int *mode)
{
	sqlite3_reset(x->get);
	sqlite3_bind_text(x->get, 1, name, -1, SQLITE_STATIC);
	int known = 0;
	if (sqlite3_step(x->get) == SQLITE_ROW) {
		*until = sqlite3_column_int64(x->get, 0);
		*mode = sqlite3_column_int(x->get, 1);
		known = *until >= 0 && *until <= DATE_MAX && *mode >= DST_LOCK_NONE &&
			*mode <= DST_LOCK_COMPLIANCE;
	}
	sqlite3_reset(x->get);
	return known;
}

/* Failing cache writes cost only requests later: they are not errors. */
static void cache_put(struct lock_extend *x, const char *name, int64_t until, int mode,
	int64_t stamp)
{
	sqlite3_reset(x->put);
	sqlite3_bind_text(x->put, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(x->put, 2, until);
	sqlite3_bind_int(x->put, 3, mode);
	sqlite3_bind_int64(x->put, 4, stamp);
	sqlite3_step(x->put);
	sqlite3_reset(x->put);
}

static void cache_seen(struct lock_extend *x, const char *name, int64_t stamp)
{
	sqlite3_reset(x->seen);
	sqlite3_bind_int64(x->seen, 1, stamp);
	sqlite3_bind_text(x->seen, 2, name, -1, SQLITE_STATIC);
	sqlite3_step(x->seen);
	sqlite3_reset(x->seen);
}

static void cache_drop(struct lock_extend *x, const char *name)
{
	sqlite3_reset(x->drop);
	sqlite3_bind_text(x->drop, 1, name, -1, SQLITE_STATIC);
	sqlite3_step(x->drop);
	sqlite3_reset(x->drop);
}

/* Keeps the first failure's code and sentence in ${err}. */
static void note_failure(int *first, int rc, const struct cf_error *e, struct cf_error *err)
{
	if (*first)
		return;
	*first = rc;
	if (err)
		*err = *e;
}

int lock_extend_run(struct lock_extend *x, const char *const *names, size_t n, int64_t now,
	int flags, struct lock_extend_stats *ret, struct cf_error *err)
{
	struct lock_extend_stats st = { .mode = dst_lock_mode(x->d) };
	int64_t period = dst_lock_period(x->d), stamp;
	int first = 0;
	randombytes_buf(&stamp, sizeof stamp);
	stamp &= INT64_MAX;
	exec(x->db, "BEGIN");
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		struct cf_error e = { 0 };
		int64_t until = 0;
		int mode = DST_LOCK_NONE, rc = 0;
		st.checked++;
		int known = cache_get(x, name, &until, &mode);
		int what = lock_extend_decide(known, until, now, period);
		if (what == LOCK_EXTEND_READ) {
			st.read++;
			rc = dst_lock_get(x->d, name, &until, &mode, &e);
			if (rc == 0) {
				cache_put(x, name, until, mode, stamp);
				what = lock_extend_decide(1, until, now, period);
			}
		} else {
			cache_seen(x, name, stamp);
		}
		if (rc == 0 && what == LOCK_EXTEND_SET && !(flags & LOCK_EXTEND_DRY)) {
			int64_t want = now + period;
			st.extended++;
			rc = dst_lock_extend(x->d, name, want, mode, &e);
			if (rc == 0) {
				until = want;
				mode = mode > st.mode ? mode : st.mode;
				cache_put(x, name, until, mode, stamp);
			} else if (rc != CF_ENOENT && rc != CF_EUNREACH) {
				/* Refused: perhaps the cache was behind and the date is later already. */
				struct cf_error e2 = { 0 };
				st.read++;
				if (dst_lock_get(x->d, name, &until, &mode, &e2) == 0 &&
				    lock_extend_decide(1, until, now, period) == LOCK_EXTEND_KEEP) {
					cache_put(x, name, until, mode, stamp);
					rc = 0;
				}
			}
		}
		if (rc == CF_ENOENT) {
			st.missing++;
			cache_drop(x, name);
			continue;
		}
		if (rc) {
			st.failed++;
			note_failure(&first, rc, &e, err);
			if (rc == CF_EUNREACH)
				break;
			continue;
		}
		if (until == 0)
			st.unretained++;
		else if (st.earliest == 0 || until < st.earliest)
			st.earliest = until;
	}
	if (!first) {
		/* Names no longer needed are left to expire: forget them. */
		char sql[120];
		snprintf(sql, sizeof sql, "DELETE FROM %s WHERE seen IS NOT %lld", x->table,
			(long long)stamp);
		exec(x->db, sql);
	}
	exec(x->db, "COMMIT");
	if (ret)
		*ret = st;
	return first;
}

/* The names of the repository's kinds, as a destination lists them. */
struct names {
	char **v;
	size_t n, cap;
	char *const *except;
	size_t nexcept;
};

static int add_name(void *ctx, const char *name, uint64_t size)
{
	(void)size;
	struct names *l = ctx;
	if (strcmp(name, "config") != 0 && strncmp(name, "keys/", 5) != 0 &&
	    strncmp(name, "data/", 5) != 0 && strncmp(name, "index/", 6) != 0 &&
	    strncmp(name, "snapshots/", 10) != 0 && strncmp(name, "pins/", 5) != 0)
		return 0;
	for (size_t i = 0; i < l->nexcept; i++)
		if (strcmp(l->except[i], name) == 0)
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		char **p = realloc(l->v, cap * sizeof *p);
		if (!p)
			return CF_ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(name)))
		return CF_ENOMEM;
	l->n++;
	return 0;
}

int lock_extend_present(struct repo *r, struct dst *d, char *const *except, size_t nexcept,
	int64_t now, int flags, struct lock_extend_stats *ret, struct cf_error *err)
{
	struct names l = { .except = except, .nexcept = nexcept };
	struct lock_extend *x = NULL;
	if (ret)
		memset(ret, 0, sizeof *ret);
	int rc = dst_list(d, "", add_name, &l, err);
	if (rc == CF_ENOMEM)
		cf_error_set(err, rc, "out of memory");
	if (rc == 0)
		rc = lock_extend_open(r, d, &x, err);
	if (rc == 0)
		rc = lock_extend_run(x, (const char *const *)l.v, l.n, now, flags, ret, err);
	lock_extend_free(x);
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return rc;
}
