/* blob_index.c: index objects and the SQLite cache of the blob index. */
#include "coffre/blob.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "coffre/error.h"
#include "base/idset.h"
#include "store/repo_internal.h"

#define INDEX_VERSION 2
#define INDEX_VERSION_V1 1
#define CACHE_SCHEMA 2

struct blobidx {
	struct repo *r;
	/* Backup workers look blobs up while the caller's thread commits: one connection, one
	 * statement, one set, used by one thread at a time. */
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *get;
	struct idset run;
	struct blob_pack *packs;
	size_t npacks, cappacks;
	size_t bad;
	int reading;	/* a read transaction is open for the lookups */
	int empty;	/* the cache held no blob when opened, and nothing was committed since */
	/* The cache held no blob when opened: every blob it has since is one this handle
	 * committed, and is in this filter (fixed size, so memory stays flat). A blob the
	 * filter does not know costs no lookup: most of a first backup's. */
	uint8_t *bloom;
	/* Commits write through a connection of their own, so that lookups go on meanwhile
	 * (NULL for an in-memory cache: then they share x->db, under the lock). */
	sqlite3 *wdb;
};

#define BLOOM_BYTES (1u << 20)
#define BLOOM_HASHES 4

/* Ids are keyed hashes: their bytes are already uniform, each 4 gives a bit's index. */
static uint32_t bloom_bit(const uint8_t id[32], int i)
{
	uint32_t v = (uint32_t)id[4 * i] | (uint32_t)id[4 * i + 1] << 8 |
		     (uint32_t)id[4 * i + 2] << 16 | (uint32_t)id[4 * i + 3] << 24;
	return v % (BLOOM_BYTES * 8u);
}

static int bloom_has(const uint8_t *f, const uint8_t id[32])
{
	for (int i = 0; i < BLOOM_HASHES; i++) {
		uint32_t b = bloom_bit(id, i);
		if (!(f[b / 8] & (1u << (b % 8))))
			return 0;
	}
	return 1;
}

static void bloom_add(uint8_t *f, const uint8_t id[32])
{
	for (int i = 0; i < BLOOM_HASHES; i++) {
		uint32_t b = bloom_bit(id, i);
		f[b / 8] |= (uint8_t)(1u << (b % 8));
	}
}

void blob_packs_free(struct blob_pack *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].e);
	free(p);
}

int blob_index_encode(const struct blob_pack *packs, size_t n, struct buf *out)
{
	int bad = buf_put_u8(out, INDEX_VERSION) || buf_put_u32(out, (uint32_t)n);
	for (size_t i = 0; !bad && i < n; i++) {
		bad = buf_append(out, packs[i].id, 32) ||
		      pack_entries_encode(out, packs[i].e, packs[i].n);
	}
	return bad ? -1 : 0;
}

int blob_index_write(struct repo *r, const struct blob_pack *packs, size_t n, uint8_t ret_id[32],
	struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = blob_index_encode(packs, n, &b) ? cf_error_set(err, CF_ENOMEM, "out of memory")
		: repo_put_object(r, REPO_INDEX, b.p, b.len, ret_id, err);
	buf_free(&b);
	return rc;
}

/* About 40 MiB of index payload per object, far below MAX_INDEX_BYTES. */
#define INDEX_SPLIT_ENTRIES (1u << 20)

int blob_index_write_all(struct repo *r, const struct blob_pack *packs, size_t n,
	uint8_t (**ret_ids)[32], size_t *ret_nids, struct cf_error *err)
{
	uint8_t (*ids)[32] = malloc((n + 1) * 32);
	size_t nids = 0, start = 0;
	if (!ids)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	while (start < n || (n == 0 && nids == 0)) {
		size_t end = start, entries = 0;
		while (end < n && (end == start || entries + packs[end].n <= INDEX_SPLIT_ENTRIES))
			entries += packs[end++].n;
		int rc = blob_index_write(r, packs + start, end - start, ids[nids], err);
		if (rc) {
			free(ids);
			return rc;
		}
		nids++;
		start = end;
		if (n == 0)
			break;
	}
	*ret_ids = ids;
	*ret_nids = nids;
	return 0;
}

int blob_index_parse(const uint8_t *data, size_t len, const uint8_t id[32],
	struct blob_pack **ret_packs, size_t *ret_n, struct cf_error *err)
{
	struct rd rd;
	rd_init(&rd, data, len);
	uint8_t ver = rd_u8(&rd);
	uint32_t n = rd_u32(&rd);
	struct blob_pack *p = NULL;
	/* Every pack costs at least 36 bytes: bound n before allocating. */
	if ((ver != INDEX_VERSION && ver != INDEX_VERSION_V1) || rd.bad || n > rd_left(&rd) / 36)
		goto corrupt;
	p = calloc(n ? n : 1, sizeof *p);
	if (!p)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *pid = rd_bytes(&rd, 32);
		if (rd.bad)
			goto corrupt;
		memcpy(p[i].id, pid, 32);
		int r2 = ver == INDEX_VERSION
				 ? pack_entries_decode(&rd, UINT32_MAX, &p[i].e, &p[i].n)
				 : pack_entries_decode_v1(&rd, UINT32_MAX, &p[i].e, &p[i].n);
		if (r2 == CF_ENOMEM) {
			blob_packs_free(p, n);
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		}
		if (r2)
			goto corrupt;
	}
	if (rd.bad || rd_left(&rd) != 0)
		goto corrupt;
	*ret_packs = p;
	*ret_n = n;
	return 0;
corrupt:
	blob_packs_free(p, n);
	char hex[ID_HEX];
	util_hex(hex, id, ID_LEN);
	return cf_error_set(err, CF_ECORRUPT, "index '%s' is malformed", hex);
}

int blob_index_read(struct repo *r, const uint8_t id[32], struct blob_pack **ret_packs,
	size_t *ret_n, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = repo_get_object(r, REPO_INDEX, id, &b, err);
	if (rc)
		return rc;
	rc = blob_index_parse(b.p, b.len, id, ret_packs, ret_n, err);
	buf_free(&b);
	return rc;
}

/* ---- the cache ---- */

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Lookups share one read transaction: each statement would otherwise take and drop the
 * file's locks, several system calls per blob. In WAL mode it keeps no writer waiting; it
 * ends before this process writes. */
static void read_begin(struct blobidx *x)
{
	if (!x->reading && exec(x->db, "BEGIN") == 0)
		x->reading = 1;
}

static void read_end(struct blobidx *x)
{
	if (x->reading)
		exec(x->db, "COMMIT");
	x->reading = 0;
}

struct ins_ref {
	const struct pack_entry *e;
	const uint8_t *pack;
};

static int cmp_ins_ref(const void *a, const void *b)
{
	return memcmp(((const struct ins_ref *)a)->e->id, ((const struct ins_ref *)b)->e->id,
		ID_LEN);
}

/* Inserts the blobs in id order: ids are random, and in order each leaf page of the table
 * is read and written once per call rather than about once per blob. */
static int cache_insert_packs(sqlite3 *db, const struct blob_pack *p, size_t n)
{
	sqlite3_stmt *ip = NULL, *ib = NULL;
	struct ins_ref *refs = NULL;
	size_t nrefs = 0;
	int rc = -1;
	for (size_t i = 0; i < n; i++)
		nrefs += p[i].n;
	if (!(refs = malloc((nrefs ? nrefs : 1) * sizeof *refs)))
		return -1;
	nrefs = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < p[i].n; j++)
			refs[nrefs++] = (struct ins_ref){ &p[i].e[j], p[i].id };
	qsort(refs, nrefs, sizeof *refs, cmp_ins_ref);
	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO packs(id) VALUES(?)", -1, &ip, NULL) ||
	    sqlite3_prepare_v2(db,
		    "INSERT OR REPLACE INTO blobs(id,pack,type,flags,off,stored,pos,raw) "
		    "VALUES(?,(SELECT n FROM packs WHERE id=?),?,?,?,?,?,?)", -1, &ib, NULL))
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_blob(ip, 1, p[i].id, 32, SQLITE_STATIC);
		if (sqlite3_step(ip) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ip);
	}
	for (size_t k = 0; k < nrefs; k++) {
		const struct pack_entry *e = refs[k].e;
		sqlite3_bind_blob(ib, 1, e->id, 32, SQLITE_STATIC);
		sqlite3_bind_blob(ib, 2, refs[k].pack, 32, SQLITE_STATIC);
		sqlite3_bind_int(ib, 3, e->type);
		sqlite3_bind_int(ib, 4, e->flags);
		sqlite3_bind_int64(ib, 5, e->offset);
		sqlite3_bind_int64(ib, 6, e->stored);
		sqlite3_bind_int64(ib, 7, e->pos);
		sqlite3_bind_int64(ib, 8, e->raw);
		if (sqlite3_step(ib) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ib);
	}
	rc = 0;
out:
	sqlite3_finalize(ip);
	sqlite3_finalize(ib);
	free(refs);
	return rc;
}

static int cache_open(struct blobidx *x, const char *path)
{
	if (sqlite3_open_v2(path, &x->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL))
		return -1;
	sqlite3_busy_timeout(x->db, 30000);
	/* The cache is rebuildable from the repository: speed over durability. */
	if (exec(x->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;") ||
	    exec(x->db, "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER);"
			"CREATE TABLE IF NOT EXISTS seen(id BLOB PRIMARY KEY) WITHOUT ROWID;"
			"CREATE TABLE IF NOT EXISTS packs(n INTEGER PRIMARY KEY, id BLOB UNIQUE);"
			"CREATE TABLE IF NOT EXISTS blobs(id BLOB PRIMARY KEY, pack INTEGER,"
			" type INTEGER, flags INTEGER, off INTEGER, stored INTEGER, pos INTEGER,"
			" raw INTEGER)"
			" WITHOUT ROWID;"))
		return -1;
	sqlite3_stmt *st = NULL;
	int ver = -1;
	if (sqlite3_prepare_v2(x->db, "SELECT v FROM meta WHERE k='schema'", -1, &st, NULL))
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		ver = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	/* Another schema: start over (the blobs table may lack columns). */
	if (ver != CACHE_SCHEMA &&
	    (exec(x->db, "DROP TABLE blobs; CREATE TABLE blobs(id BLOB PRIMARY KEY, pack INTEGER,"
			 " type INTEGER, flags INTEGER, off INTEGER, stored INTEGER, pos INTEGER,"
			 " raw INTEGER) WITHOUT ROWID;") ||
		    exec(x->db, "DELETE FROM seen; DELETE FROM packs;"
				"INSERT OR REPLACE INTO meta VALUES('schema', 2);")))
		return -1;
	return sqlite3_prepare_v2(x->db,
		"SELECT p.id, b.type, b.flags, b.off, b.stored, b.pos, b.raw FROM blobs b "
		"JOIN packs p ON p.n = b.pack WHERE b.id = ?", -1, &x->get, NULL) ? -1 : 0;
}

static int cache_sync(struct blobidx *x, struct cf_error *err)
{
	uint8_t (*ids)[ID_LEN] = NULL;
	size_t n = 0;
	int rc = repo_list(x->r, REPO_INDEX, &ids, &n, err);
	if (rc)
		return rc;
	if (exec(x->db, "BEGIN IMMEDIATE")) {
		free(ids);
		return cf_error_set(err, CF_EIO, "cache: %s", sqlite3_errmsg(x->db));
	}
	/* An index that vanished (prune) invalidates what we derived from it: start over. */
	struct idset present = { 0 };
	for (size_t i = 0; i < n; i++)
		idset_add(&present, ids[i]);
	sqlite3_stmt *st = NULL;
	int stale = 0;
	size_t seen = 0;
	sqlite3_prepare_v2(x->db, "SELECT id FROM seen", -1, &st, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		seen++;
		if (sqlite3_column_bytes(st, 0) != ID_LEN ||
		    !idset_has(&present, sqlite3_column_blob(st, 0)))
			stale = 1;
	}
	sqlite3_finalize(st);
	idset_free(&present);
	if (stale) {
		exec(x->db, "DELETE FROM seen; DELETE FROM blobs; DELETE FROM packs;");
		seen = 0;
	}
	sqlite3_stmt *q = NULL, *ins = NULL;
	sqlite3_prepare_v2(x->db, "SELECT 1 FROM seen WHERE id=?", -1, &q, NULL);
	sqlite3_prepare_v2(x->db, "INSERT INTO seen(id) VALUES(?)", -1, &ins, NULL);
	rc = (q && ins) ? 0 : cf_error_set(err, CF_EIO, "cache: %s", sqlite3_errmsg(x->db));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		sqlite3_bind_blob(q, 1, ids[i], ID_LEN, SQLITE_STATIC);
		int known = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_reset(q);
		if (known)
			continue;
		struct blob_pack *p = NULL;
		size_t np = 0;
		int r2 = blob_index_read(x->r, ids[i], &p, &np, NULL);
		if (r2 == CF_ENOMEM) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			break;
		}
		if (r2) {
			x->bad++;
			continue;
		}
		if (cache_insert_packs(x->db, p, np)) {
			rc = cf_error_set(err, CF_EIO, "cache: %s", sqlite3_errmsg(x->db));
		} else {
			sqlite3_bind_blob(ins, 1, ids[i], ID_LEN, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				rc = cf_error_set(err, CF_EIO, "cache: %s", sqlite3_errmsg(x->db));
			sqlite3_reset(ins);
		}
		blob_packs_free(p, np);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(ins);
	free(ids);
	if (rc == 0 && exec(x->db, "COMMIT"))
		rc = cf_error_set(err, CF_EIO, "cache: %s", sqlite3_errmsg(x->db));
	if (rc)
		exec(x->db, "ROLLBACK");
	(void)seen;
	return rc;
}

int blobidx_open(struct repo *r, struct blobidx **ret, struct cf_error *err)
{
	struct blobidx *x = calloc(1, sizeof *x);
	if (!x)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	x->r = r;
	pthread_mutex_init(&x->mu, NULL);
	char *dir = repo_cache_dir(r);
	char *path = dir ? util_path("%s/index.sqlite", dir) : strdup(":memory:");
	free(dir);
	if (!path) {
		free(x);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	if (cache_open(x, path) != 0) {
		/* A damaged cache is thrown away: it holds nothing the repository does not. */
		sqlite3_finalize(x->get);
		sqlite3_close(x->db);
		x->get = NULL;
		x->db = NULL;
		if (strcmp(path, ":memory:") != 0) {
			unlink(path);
			char *wal = util_path("%s-wal", path);
			if (wal)
				unlink(wal);
			free(wal);
		}
		if (cache_open(x, path) != 0) {
			int rc = cf_error_set(err, CF_EIO, "cannot open the cache '%s': %s", path,
				x->db ? sqlite3_errmsg(x->db) : "out of memory");
			free(path);
			blobidx_free(x);
			return rc;
		}
	}
	int rc = cache_sync(x, err);
	if (rc) {
		free(path);
		blobidx_free(x);
		return rc;
	}
	if (strcmp(path, ":memory:") != 0 &&
	    sqlite3_open_v2(path, &x->wdb, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
		sqlite3_busy_timeout(x->wdb, 30000);
	if (x->wdb && exec(x->wdb, "PRAGMA synchronous=OFF") != 0) {
		sqlite3_close(x->wdb);
		x->wdb = NULL;
	}
	free(path);
	/* A first backup looks up every chunk: with nothing to find, it need not ask. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(x->db, "SELECT 1 FROM blobs LIMIT 1", -1, &st, NULL) == SQLITE_OK)
		x->empty = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (x->empty)
		x->bloom = calloc(1, BLOOM_BYTES);	/* without it, every lookup asks */
	*ret = x;
	return 0;
}

int blobidx_read_begin(struct blobidx *x)
{
	/* Lookups of a restore go all over the index: a larger page cache (bounded) saves a
	 * read of the file for most of them. */
	pthread_mutex_lock(&x->mu);
	if (!x->reading && exec(x->db, "PRAGMA cache_size=-8192") == 0)
		read_begin(x);
	int rc = x->reading ? 0 : CF_EIO;
	pthread_mutex_unlock(&x->mu);
	return rc;
}

void blobidx_read_end(struct blobidx *x)
{
	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	read_end(x);
	pthread_mutex_unlock(&x->mu);
}

void blobidx_free(struct blobidx *x)
{
	if (!x)
		return;
	if (x->db)
		read_end(x);
	sqlite3_finalize(x->get);
	sqlite3_close(x->db);
	sqlite3_close(x->wdb);
	free(x->bloom);
	idset_free(&x->run);
	blob_packs_free(x->packs, x->npacks);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

size_t blobidx_bad_indexes(const struct blobidx *x)
{
	return x->bad;
}

static int get_locked(struct blobidx *x, const uint8_t id[32], struct blob_loc *ret)
{
	if (x->empty || (x->bloom && !bloom_has(x->bloom, id)))
		return CF_ENOENT;
	read_begin(x);
	sqlite3_bind_blob(x->get, 1, id, ID_LEN, SQLITE_STATIC);
	int rc = CF_ENOENT;
	if (sqlite3_step(x->get) == SQLITE_ROW && sqlite3_column_bytes(x->get, 0) == ID_LEN) {
		memcpy(ret->pack, sqlite3_column_blob(x->get, 0), ID_LEN);
		memcpy(ret->e.id, id, ID_LEN);
		ret->e.type = (uint8_t)sqlite3_column_int(x->get, 1);
		ret->e.flags = (uint8_t)sqlite3_column_int(x->get, 2);
		ret->e.offset = (uint32_t)sqlite3_column_int64(x->get, 3);
		ret->e.stored = (uint32_t)sqlite3_column_int64(x->get, 4);
		ret->e.pos = (uint32_t)sqlite3_column_int64(x->get, 5);
		ret->e.raw = (uint32_t)sqlite3_column_int64(x->get, 6);
		rc = 0;
	}
	sqlite3_reset(x->get);
	return rc;
}

int blobidx_get(struct blobidx *x, const uint8_t id[32], struct blob_loc *ret)
{
	pthread_mutex_lock(&x->mu);
	int rc = get_locked(x, id, ret);
	pthread_mutex_unlock(&x->mu);
	return rc;
}

static int has_locked(struct blobidx *x, const uint8_t id[32])
{
	if (idset_has(&x->run, id))
		return 1;
	struct blob_loc l;
	return get_locked(x, id, &l) == 0;
}

int blobidx_has(struct blobidx *x, const uint8_t id[32])
{
	pthread_mutex_lock(&x->mu);
	int rc = has_locked(x, id);
	pthread_mutex_unlock(&x->mu);
	return rc;
}

int blobidx_note(struct blobidx *x, const uint8_t id[32])
{
	pthread_mutex_lock(&x->mu);
	int rc = idset_add(&x->run, id) ? CF_ENOMEM : 0;
	pthread_mutex_unlock(&x->mu);
	return rc;
}

int blobidx_claim(struct blobidx *x, const uint8_t id[32])
{
	pthread_mutex_lock(&x->mu);
	int rc = has_locked(x, id) ? 0 : idset_add(&x->run, id) ? CF_ENOMEM : 1;
	pthread_mutex_unlock(&x->mu);
	return rc;
}

int blobidx_add_pack(struct blobidx *x, const uint8_t id[32], struct pack_entry *e, size_t n,
	struct cf_error *err)
{
	pthread_mutex_lock(&x->mu);
	if (x->npacks == x->cappacks) {
		size_t cap = x->cappacks ? x->cappacks * 2 : 16;
		void *p = realloc(x->packs, cap * sizeof *x->packs);
		if (!p) {
			pthread_mutex_unlock(&x->mu);
			free(e);
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		}
		x->packs = p;
		x->cappacks = cap;
	}
	memcpy(x->packs[x->npacks].id, id, ID_LEN);
	x->packs[x->npacks].e = e;
	x->packs[x->npacks].n = n;
	x->npacks++;
	pthread_mutex_unlock(&x->mu);
	return 0;
}

size_t blobidx_pending_packs(struct blobidx *x)
{
	pthread_mutex_lock(&x->mu);
	size_t n = x->npacks;
	pthread_mutex_unlock(&x->mu);
	return n;
}

/* Records an index object's packs in the cache through ${db}. Returns 1 when done. */
static int cache_record(sqlite3 *db, const uint8_t iid[ID_LEN], const struct blob_pack *p,
	size_t n)
{
	if (exec(db, "BEGIN IMMEDIATE") != 0)
		return 0;
	sqlite3_stmt *ins = NULL;
	int ok = cache_insert_packs(db, p, n) == 0 &&
		 sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO seen(id) VALUES(?)", -1, &ins,
			 NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_blob(ins, 1, iid, ID_LEN, SQLITE_STATIC);
		ok = sqlite3_step(ins) == SQLITE_DONE;
	}
	sqlite3_finalize(ins);
	return exec(db, ok ? "COMMIT" : "ROLLBACK") == 0 && ok;
}

int blobidx_commit(struct blobidx *x, struct cf_error *err)
{
	pthread_mutex_lock(&x->mu);
	struct blob_pack *packs = x->packs;
	size_t n = x->npacks;
	x->packs = NULL;
	x->npacks = x->cappacks = 0;
	pthread_mutex_unlock(&x->mu);
	if (n == 0)
		return 0;
	/* Until the cache has them, these blobs stay in the run's set: lookups meanwhile find
	 * them there. */
	uint8_t iid[ID_LEN];
	int rc = blob_index_write(x->r, packs, n, iid, err);
	if (rc) {
		blob_packs_free(packs, n);
		return rc;
	}
	int ok = 0;
	if (x->wdb) {
		ok = cache_record(x->wdb, iid, packs, n);
		pthread_mutex_lock(&x->mu);
		read_end(x);	/* the next lookup sees what was just written */
	} else {
		pthread_mutex_lock(&x->mu);
		read_end(x);
		ok = cache_record(x->db, iid, packs, n);
	}
	x->empty = 0;
	/* The cache answers for these blobs now: the run's set keeps only those still on
	 * their way, so that it stays small however large the backup. */
	for (size_t i = 0; ok && i < n; i++) {
		for (size_t j = 0; j < packs[i].n; j++) {
			if (x->bloom)
				bloom_add(x->bloom, packs[i].e[j].id);
			idset_del(&x->run, packs[i].e[j].id);
		}
	}
	pthread_mutex_unlock(&x->mu);
	blob_packs_free(packs, n);
	return 0;
}
