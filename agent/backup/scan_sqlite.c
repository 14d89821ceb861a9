/* scan_sqlite.c: consistent reads of SQLite databases. A database in rollback-journal mode
 * is read in place under a read transaction; any other (WAL) is read from a copy made
 * through SQLite's online backup API. Their journal, WAL and shared-memory files are left
 * out: the consistent bytes hold what they do. */
#include "backup/backup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
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

/* SQLite opens a database by its path, and a user who owns the folder can swap the file for
 * a symbolic link between the scan's checked open and SQLite's: a root backup would then
 * store any database of the machine under the user's name. So while this thread opens and
 * reads a database, SQLite's open() is redirected: the database itself is a duplicate of
 * the descriptor the scan checked, its -wal, -shm and -journal files are opened beside it
 * in the checked folder without following links. Other threads and other files go through
 * untouched. */
struct redirect {
	int on;
	int fd;			/* the checked database */
	int dirfd;		/* its folder */
	const char *name;	/* its name in the folder */
	const char *pass;	/* paths containing this go through (the copy's own files) */
};
static _Thread_local struct redirect redir;
static sqlite3_syscall_ptr real_open;
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static int hooked_open(const char *path, int flags, int mode)
{
	int (*open_fn)(const char *, int, int) = (int (*)(const char *, int, int))real_open;
	if (!redir.on || (redir.pass && strstr(path, redir.pass)))
		return open_fn(path, flags, mode);
	static const char *const suffix[] = { "-wal", "-shm", "-journal" };
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
		size_t k = strlen(suffix[i]);
		if (n > k && strcmp(path + n - k, suffix[i]) == 0) {
			char name[TREE_NAME_MAX + 16];
			if ((size_t)snprintf(name, sizeof name, "%s%s", redir.name, suffix[i]) >=
			    sizeof name) {
				errno = ENAMETOOLONG;
				return -1;
			}
			return openat(redir.dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		}
	}
	if ((flags & O_ACCMODE) != O_RDONLY) {
		errno = EACCES;	/* the scan only ever reads the database */
		return -1;
	}
	return fcntl(redir.fd, F_DUPFD_CLOEXEC, 0);
}

static void hook_install(void)
{
	sqlite3_vfs *v = sqlite3_vfs_find(NULL);
	if (!v || v->iVersion < 3 || !v->xGetSystemCall || !v->xSetSystemCall)
		return;
	real_open = v->xGetSystemCall(v, "open");
	if (real_open && v->xSetSystemCall(v, "open", (sqlite3_syscall_ptr)hooked_open) !=
				 SQLITE_OK)
		real_open = NULL;
}

/* Redirects this thread's opens to ${fd}; 0, or -1 when SQLite offers no hook (then no
 * database is opened by its path at all: it is read as a plain file). */
static int redirect_begin(int dirfd, const char *name, int fd, const char *pass)
{
	pthread_once(&hook_once, hook_install);
	if (!real_open)
		return -1;
	redir = (struct redirect){ .on = 1, .fd = fd, .dirfd = dirfd, .name = name, .pass = pass };
	return 0;
}

static void redirect_end(void)
{
	redir.on = 0;
}

/* No writer can commit while the read transaction is open, so the bytes are consistent
 * without the cost of a copy. Not a WAL database (header byte 18 is 2): its newest pages
 * may be in the -wal file. */
struct sqlite3 *scan_sqlite_hold(int dirfd, const char *name, int fd, const char *path)
{
	uint8_t head[100];
	if (pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head || head[18] != 1)
		return NULL;
	if (redirect_begin(dirfd, name, fd, NULL) != 0)
		return NULL;
	sqlite3 *db = NULL;
	int ok = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) ==
		 SQLITE_OK;
	if (ok) {
		sqlite3_busy_timeout(db, 10000);
		ok = sqlite3_exec(db, "BEGIN; SELECT count(*) FROM sqlite_master;", NULL, NULL,
			     NULL) == SQLITE_OK;
	}
	redirect_end();
	if (!ok) {
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
int scan_sqlite_copy(struct repo *r, int dirfd, const char *name, int fd, const char *path,
	int *ret_fd, struct cf_error *err)
{
	*ret_fd = -1;
	char *cache = repo_cache_dir(r);
	if (!cache)	/* no cache folder (or no memory to name it): read the file as it is */
		return 0;
	uint8_t rnd[8];
	char hex[17], token[40];
	randombytes_buf(rnd, sizeof rnd);
	util_hex(hex, rnd, sizeof rnd);
	snprintf(token, sizeof token, "sqlite-copy-%s", hex);
	char *tmp = util_path("%s/%s.db", cache, token);
	char *journal = tmp ? util_path("%s-journal", tmp) : NULL;
	free(cache);
	if (!journal) {
		free(tmp);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	sqlite3 *src = NULL, *dst = NULL;
	int out = -1;
	if (redirect_begin(dirfd, name, fd, token) == 0) {
		if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) ==
			    SQLITE_OK &&
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
				out = open(tmp, O_RDONLY | O_CLOEXEC);
		}
		sqlite3_close(src);
		sqlite3_close(dst);
		redirect_end();
	}
	unlink(tmp);
	unlink(journal);
	free(journal);
	free(tmp);
	*ret_fd = out;
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
