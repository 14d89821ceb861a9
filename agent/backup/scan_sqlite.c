/* scan_sqlite.c: consistent reads of SQLite databases. A database in rollback-journal mode
 * is read in place under a read transaction; any other (WAL) is read from a copy made
 * through SQLite's online backup API. Their journal, WAL and shared-memory files are left
 * out: the consistent bytes hold what they do. */
#include "backup/backup_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "store/repo_internal.h"

int scan_sqlite_is(int fd)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	return pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
	       memcmp(head, magic, sizeof head) == 0;
}

/* No writer can commit while the read transaction is open, so the bytes are consistent
 * without the cost of a copy. Not a WAL database (header byte 18 is 2): its newest pages
 * may be in the -wal file. */
struct sqlite3 *scan_sqlite_hold(int fd, const char *path)
{
	uint8_t head[100];
	if (pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head || head[18] != 1)
		return NULL;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "BEGIN; SELECT count(*) FROM sqlite_master;", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

void scan_sqlite_release(struct sqlite3 *db)
{
	if (!db)
		return;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
}

/* The copy reads under the database's own locks, WAL included. */
int scan_sqlite_copy(struct repo *r, const char *path, int *ret_fd, struct cf_error *err)
{
	*ret_fd = -1;
	char *cache = repo_cache_dir(r);
	if (!cache)	/* no cache folder (or no memory to name it): read the file as it is */
		return 0;
	uint8_t rnd[8];
	char hex[17];
	randombytes_buf(rnd, sizeof rnd);
	util_hex(hex, rnd, sizeof rnd);
	char *tmp = util_path("%s/sqlite-copy-%s.db", cache, hex);
	char *journal = tmp ? util_path("%s-journal", tmp) : NULL;
	free(cache);
	if (!journal) {
		free(tmp);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	sqlite3 *src = NULL, *dst = NULL;
	int fd = -1;
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) ==
		    SQLITE_OK) {
		sqlite3_busy_timeout(src, 10000);
		sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
		int rc = SQLITE_ERROR;
		if (b) {
			do {
				rc = sqlite3_backup_step(b, -1);
			} while (rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
			sqlite3_backup_finish(b);
		}
		if (rc == SQLITE_DONE)
			fd = open(tmp, O_RDONLY | O_CLOEXEC);
	}
	sqlite3_close(src);
	sqlite3_close(dst);
	unlink(tmp);
	unlink(journal);
	free(journal);
	free(tmp);
	*ret_fd = fd;
	return 0;
}

int scan_sqlite_companion(int dirfd, const char *name)
{
	static const char *const suffix[] = { "-journal", "-wal", "-shm" };
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
		size_t k = strlen(suffix[i]);
		if (n <= k || strcmp(name + n - k, suffix[i]) != 0)
			continue;
		char base[TREE_NAME_MAX + 1];
		memcpy(base, name, n - k);
		base[n - k] = 0;
		int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return 0;
		struct stat st;
		int yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && scan_sqlite_is(fd);
		close(fd);
		return yes;
	}
	return 0;
}
