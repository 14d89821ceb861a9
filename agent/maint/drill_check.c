/* drill_check.c: the checks a drill makes on each restored file beyond the content ids
 * (metadata, the live file by SHA-256, SQLite's integrity_check), and the removal of its
 * scratch folder. */
#include "maint/drill_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "base/util.h"

#define SQLITE_MAGIC "SQLite format 3"	/* and its NUL: 16 bytes */
#define INTEGRITY_LINES 3		/* integrity_check lines kept in a failure */

int drill_sqlite_magic(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char b[16];
	ssize_t n = pread(fd, b, sizeof b, 0);
	close(fd);
	return n == (ssize_t)sizeof b && memcmp(b, SQLITE_MAGIC, sizeof b) == 0;
}

int drill_sqlite_check(const char *path, char **ret_msg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct buf out = { 0 };
	int ok = 0, lines = 0;
	/* Read-only: the check never changes the restored copy (a WAL database still gets its
	 * -shm beside it, inside the scratch folder). */
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(100)", -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (t && strcmp(t, "ok") == 0 && lines == 0)
			ok = 1;
		else if (t && lines++ < INTEGRITY_LINES) {
			ok = 0;
			if (out.len)
				buf_append(&out, "; ", 2);
			buf_append(&out, t, strlen(t));
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE && !out.len) {
		const char *m = db ? sqlite3_errmsg(db) : "out of memory";
		buf_append(&out, "cannot run integrity_check: ", 28);
		buf_append(&out, m, strlen(m));
		ok = 0;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (ok) {
		buf_free(&out);
		return 0;
	}
	if (buf_append(&out, "", 1) == 0)
		*ret_msg = (char *)out.p;
	else
		*ret_msg = NULL;
	return 1;
}

int drill_check_meta(const char *path, const struct drill_file *f, int as_root, char *ret_msg,
	size_t cap)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		snprintf(ret_msg, cap, "not restored: %s", strerror(errno));
		return 1;
	}
	/* A restore leaves setuid and setgid bits out unless asked (restore.h). */
	uint32_t want = f->mode & 07777 & ~(uint32_t)(S_ISUID | S_ISGID);
	uint32_t got = (uint32_t)st.st_mode & 07777 & ~(uint32_t)(S_ISUID | S_ISGID);
	if (!S_ISREG(st.st_mode))
		snprintf(ret_msg, cap, "restored as something else than a file");
	else if ((uint64_t)st.st_size != f->size)
		snprintf(ret_msg, cap, "size %llu, the snapshot says %llu",
			(unsigned long long)st.st_size, (unsigned long long)f->size);
	else if (got != want)
		snprintf(ret_msg, cap, "mode %04o, the snapshot says %04o", got, want);
	else if (st.st_mtim.tv_sec != f->mtime_s || (uint32_t)st.st_mtim.tv_nsec != f->mtime_ns)
		snprintf(ret_msg, cap, "modified %lld.%09ld, the snapshot says %lld.%09u",
			(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)f->mtime_s,
			f->mtime_ns);
	else if (as_root && (st.st_uid != f->uid || st.st_gid != f->gid))
		snprintf(ret_msg, cap, "owner %u:%u, the snapshot says %u:%u", (unsigned)st.st_uid,
			(unsigned)st.st_gid, f->uid, f->gid);
	else
		return 0;
	return 1;
}

/* SHA-256 of the open file ${fd}, and its size read. 0 or -1. */
static int sha256_fd(int fd, uint8_t out[crypto_hash_sha256_BYTES], uint64_t *ret_n)
{
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	static __thread uint8_t b[1 << 16];
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, b, sizeof b);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		crypto_hash_sha256_update(&h, b, (size_t)n);
		total += (uint64_t)n;
	}
	crypto_hash_sha256_final(&h, out);
	*ret_n = total;
	return 0;
}

static int same_stamp(const struct stat *st, const struct drill_file *f)
{
	return S_ISREG(st->st_mode) && (uint64_t)st->st_size == f->size &&
	       st->st_mtim.tv_sec == f->mtime_s && (uint32_t)st->st_mtim.tv_nsec == f->mtime_ns;
}

int drill_check_live(const char *restored, const struct drill_file *f, char *ret_msg, size_t cap)
{
	struct stat st;
	int lfd = open(f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (lfd < 0)
		return 0;
	if (fstat(lfd, &st) != 0 || !same_stamp(&st, f)) {
		close(lfd);
		return 0;	/* changed since the snapshot: nothing to compare */
	}
	int rfd = open(restored, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	uint8_t hl[crypto_hash_sha256_BYTES], hr[crypto_hash_sha256_BYTES];
	uint64_t nl = 0, nr = 0;
	int bad = rfd < 0 || sha256_fd(lfd, hl, &nl) || sha256_fd(rfd, hr, &nr);
	/* Written to while it was read: not the file the snapshot recorded any more. */
	struct stat after;
	int moved = fstat(lfd, &after) != 0 || !same_stamp(&after, f) ||
		    after.st_ctim.tv_sec != st.st_ctim.tv_sec ||
		    after.st_ctim.tv_nsec != st.st_ctim.tv_nsec;
	close(lfd);
	if (rfd >= 0)
		close(rfd);
	if (bad || moved)
		return 0;
	if (nl == nr && sodium_memcmp(hl, hr, sizeof hl) == 0)
		return 1;
	char a[17], b[17];
	util_hex(a, hr, 8);
	util_hex(b, hl, 8);
	snprintf(ret_msg, cap, "differs from the live file, unchanged since the snapshot (sha256 "
		"%s... restored, %s... live)", a, b);
	return -1;
}

/* Removes what is in the folder ${fd} (closed here). */
static int empty_dir(int fd)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	/* Passes until one finds nothing left: entries removed while a folder is read may
	 * hide others from that same reading. */
	for (int more = 1; more && rc == 0;) {
		more = 0;
		rewinddir(d);
		struct dirent *de;
		while ((de = readdir(d))) {
			const char *n = de->d_name;
			if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
				continue;
			more = 1;
			if (unlinkat(dirfd(d), n, 0) == 0)
				continue;
			if (errno != EISDIR && errno != EPERM) {
				rc = -1;
				break;
			}
			/* A folder, maybe read-only as restored: made ours again first. */
			int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = -1;
				break;
			}
			(void)fchmod(sub, 0700);	/* if it fails, the removal says why */
			if (empty_dir(sub) != 0 || unlinkat(dirfd(d), n, AT_REMOVEDIR) != 0) {
				rc = -1;
				break;
			}
		}
	}
	int e = errno;
	closedir(d);
	errno = e;
	return rc;
}

int drill_scratch_remove(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	fchmod(fd, 0700);
	if (empty_dir(fd) != 0)
		return -1;
	return rmdir(path);
}
