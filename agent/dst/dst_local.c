/* dst_local.c: a local directory (or a mounted USB drive or NAS) as a destination. Every
 * write goes to a temp name, is fsynced, renamed into place, and the folder fsynced; below
 * the root, no symbolic link is ever followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/error.h"
#include "dst/dst_internal.h"
#include "base/util.h"

struct dst_local {
	struct dst d;	/* first: dst_local is a dst */
	char *local_root;	/* absolute, no trailing slash */
	dev_t dev;		/* the root's, when it existed at open */
	ino_t ino;
};

static const char *root_of(const struct dst *d)
{
	return ((const struct dst_local *)d)->local_root;
}

static char *lpath(struct dst *d, const char *name)
{
	return util_path("%s/%s", root_of(d), name);
}

/* The folder holding object ${name}, opened from the root one component at a time without
 * following a symbolic link: what lies below the root (a drive, a share) is not trusted, and a
 * planted link must not send a write, a read or a delete elsewhere. The root itself is the
 * administrator's and may be reached through links. ${*leaf}: the last component. With
 * ${create}, missing folders are made (and their parent synced). An fd, or -1 with errno
 * (ELOOP or ENOTDIR for a link on the way). */
static int parent_at(const struct dst *d, const char *name, int create, const char **leaf)
{
	int fd = open(root_of(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create && util_mkdirs(root_of(d), 0700) == 0) {
		util_fsync_parent(root_of(d));
		fd = open(root_of(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0 && errno == ENOTDIR)
		errno = ENOENT;	/* the root is a file: no repository there, not an attack */
	const char *p = name;
	while (fd >= 0) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n > 255 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		if (!slash) {
			*leaf = p;
			return fd;
		}
		char comp[256];
		memcpy(comp, p, n);
		comp[n] = 0;
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0700) == 0)
				fsync(fd);
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		int e = errno;
		close(fd);
		errno = e;
		fd = next;
		p = slash + 1;
	}
	return -1;
}

/* The error for a failed parent_at or open of ${name}. */
static int path_error(struct dst *d, const char *name, const char *what, struct cf_error *err)
{
	int e = errno;
	char *path = lpath(d, name);
	int rc;
	if (e == ELOOP || e == ENOTDIR || e == EMLINK)
		rc = cf_error_set(err, CF_EIO, "refused: '%s' goes through a symbolic link or a "
			"file where a folder should be", path ? path : name);
	else if (e == ENOENT)
		rc = cf_error_set(err, CF_ENOENT, "'%s' not found", path ? path : name);
	else {
		errno = e;
		rc = cf_error_sys(err, CF_EIO, "cannot %s '%s'", what, path ? path : name);
	}
	free(path);
	return rc;
}

/* Writes ${name}: a temp with a random name beside it (O_EXCL, no link followed), fsync,
 * rename into place, fsync of the folder. The content is ${p}/${n}, or ${in} read from its
 * start when ${p} is NULL. */
static int write_object(struct dst *d, const char *name, const void *p, size_t n, int in,
	struct cf_error *err)
{
	const char *leaf = NULL;
	int dfd = parent_at(d, name, 1, &leaf);
	if (dfd < 0)
		return path_error(d, name, "create the folder of", err);
	uint8_t rnd[8];
	char hex[17], tmp[300];
	randombytes_buf(rnd, sizeof rnd);
	util_hex(hex, rnd, sizeof rnd);
	snprintf(tmp, sizeof tmp, "%s.%s.tmp", leaf, hex);
	int rc = 0;
	int out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = path_error(d, name, "create a temp file for", err);
		close(dfd);
		return rc;
	}
	char b[1 << 16];
	off_t at = 0;
	for (;;) {
		const uint8_t *src;
		ssize_t k;
		if (p) {
			src = (const uint8_t *)p + at;
			k = (ssize_t)(n - (size_t)at);
		} else {
			k = pread(in, b, sizeof b, at);
			src = (const uint8_t *)b;
			if (k < 0 && errno == EINTR)
				continue;
		}
		if (k <= 0) {
			if (k < 0)
				rc = cf_error_sys(err, CF_EIO, "cannot read what goes to '%s'", name);
			break;
		}
		at += k;
		for (ssize_t o = 0; o < k && rc == 0;) {
			ssize_t w = write(out, src + o, (size_t)(k - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				rc = path_error(d, name, "write", err);
			else
				o += w;
		}
		if (rc || p)
			break;
	}
	if (rc == 0 && fsync(out) != 0)
		rc = path_error(d, name, "write", err);
	if (close(out) != 0 && rc == 0)
		rc = path_error(d, name, "write", err);
	if (rc == 0 && renameat(dfd, tmp, dfd, leaf) != 0)
		rc = path_error(d, name, "store", err);
	if (rc)
		unlinkat(dfd, tmp, 0);
	else
		fsync(dfd);
	close(dfd);
	return rc;
}

static int local_put_buf(struct dst *d, const char *name, const void *p, size_t n,
	struct cf_error *err)
{
	static const uint8_t none[1];
	return write_object(d, name, n ? p : none, n, -1, err);
}

static int local_put_fd(struct dst *d, const char *name, int in, struct cf_error *err)
{
	return write_object(d, name, NULL, 0, in, err);
}

static int local_put_file(struct dst *d, const char *name, const char *src, struct cf_error *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return cf_error_sys(err, CF_EIO, "cannot open '%s'", src);
	int rc = local_put_fd(d, name, in, err);
	close(in);
	return rc;
}

static int local_open_read(struct dst *d, const char *name, int *ret_fd, struct cf_error *err)
{
	const char *leaf = NULL;
	int dfd = parent_at(d, name, 0, &leaf);
	if (dfd < 0)
		return path_error(d, name, "open", err);
	int fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc = fd < 0 ? path_error(d, name, "open", err) : 0;
	close(dfd);
	if (rc == 0)
		*ret_fd = fd;
	return rc;
}

static int local_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	int fd = -1;
	int rc = local_open_read(d, name, &fd, err);
	if (rc)
		return rc;
	char *path = lpath(d, name);
	rc = util_read_fd(fd, path ? path : name, max, ret, err);
	free(path);
	close(fd);
	return rc;
}

static int local_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	int fd = -1;
	int rc = local_open_read(d, name, &fd, err);
	if (rc)
		return rc;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (uint8_t *)out + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = path_error(d, name, "read", err);
			break;
		}
		if (n == 0) {
			char *path = lpath(d, name);
			rc = cf_error_set(err, CF_ECORRUPT, "'%s' is shorter than expected",
				path ? path : name);
			free(path);
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	return rc;
}

/* The object's own stat, never through a link; CF_ECORRUPT when it is no plain file. */
static int local_lstat(struct dst *d, const char *name, struct stat *st, struct cf_error *err)
{
	const char *leaf = NULL;
	int dfd = parent_at(d, name, 0, &leaf);
	if (dfd < 0)
		return errno == ENOENT ? CF_ENOENT : path_error(d, name, "stat", err);
	int rc = 0;
	if (fstatat(dfd, leaf, st, AT_SYMLINK_NOFOLLOW) != 0)
		rc = errno == ENOENT ? CF_ENOENT : path_error(d, name, "stat", err);
	else if (!S_ISREG(st->st_mode))
		rc = cf_error_set(err, CF_ECORRUPT, "'%s/%s' is not a plain file", root_of(d), name);
	close(dfd);
	return rc;
}

static int local_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err)
{
	struct stat st;
	int rc = local_lstat(d, name, &st, err);
	if (rc == 0 && ret_size)
		*ret_size = (uint64_t)st.st_size;
	return rc;
}

static int local_mtime(struct dst *d, const char *name, int64_t *ret, struct cf_error *err)
{
	struct stat st;
	int rc = local_lstat(d, name, &st, err);
	if (rc == 0)
		*ret = (int64_t)st.st_mtime;
	return rc;
}

/* Lists ${dir} (relative to the root) recursively, in no particular order. */
static int local_walk(struct dst *d, const char *rel, const char *prefix,
	int (*fn)(void *, const char *, uint64_t), void *ctx, int depth, struct cf_error *err)
{
	char *abs = rel[0] ? util_path("%s/%s", root_of(d), rel) : strdup(root_of(d));
	/* Folders below the root were seen as folders by lstat; still, never open a link. */
	int dfd = abs ? open(abs, O_RDONLY | O_DIRECTORY | (rel[0] ? O_NOFOLLOW : 0) | O_CLOEXEC)
		      : -1;
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir && dfd >= 0)
		close(dfd);
	if (!dir) {
		int rc = (abs && errno == ENOENT) ? 0 : cf_error_sys(err, CF_EIO, "cannot list '%s'",
								 abs ? abs : "?");
		free(abs);
		return rc;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		size_t n = strlen(e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0)
			continue;	/* unfinished writes are not objects */
		char *name = rel[0] ? util_path("%s/%s", rel, e->d_name) : strdup(e->d_name);
		char *p = name ? util_path("%s/%s", abs, e->d_name) : NULL;
		struct stat st;
		if (!p) {
			free(name);
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			break;
		}
		if (lstat(p, &st) == 0) {
			size_t pl = strlen(prefix), nl = strlen(name);
			int match = strncmp(name, prefix, nl < pl ? nl : pl) == 0;
			if (S_ISDIR(st.st_mode) && depth < 3 && match)
				rc = local_walk(d, name, prefix, fn, ctx, depth + 1, err);
			else if (S_ISREG(st.st_mode) && strncmp(name, prefix, pl) == 0)
				rc = fn(ctx, name, (uint64_t)st.st_size);
		}
		free(p);
		free(name);
	}
	closedir(dir);
	free(abs);
	return rc;
}

static int local_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	return local_walk(d, "", prefix, fn, ctx, 0, err);
}

static int local_del(struct dst *d, const char *name, struct cf_error *err)
{
	const char *leaf = NULL;
	int dfd = parent_at(d, name, 0, &leaf);
	if (dfd < 0)
		return errno == ENOENT ? CF_ENOENT : path_error(d, name, "remove", err);
	int rc = 0;
	if (unlinkat(dfd, leaf, 0) != 0)
		rc = errno == ENOENT ? CF_ENOENT : path_error(d, name, "remove", err);
	else
		fsync(dfd);
	close(dfd);
	return rc;
}

/* ---- staged writes ---- */

static int local_stage_open(struct dst *d, char **ret_tmp, int *ret_fd, struct cf_error *err)
{
	uint8_t rnd[16];
	char hex[33];
	randombytes_buf(rnd, sizeof rnd);
	util_hex(hex, rnd, sizeof rnd);
	char *tmp = util_path("%s/%s.tmp", root_of(d), hex);
	if (!tmp)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = cf_error_sys(err, CF_EIO, "cannot create '%s'", tmp);
		free(tmp);
		return rc;
	}
	*ret_tmp = tmp;
	*ret_fd = fd;
	return 0;
}

static int local_stage_commit(struct dst *d, const char *tmp, const char *name,
	struct cf_error *err)
{
	const char *leaf = NULL;
	int dfd = parent_at(d, name, 1, &leaf);
	if (dfd < 0)
		return path_error(d, name, "create the folder of", err);
	int rc = 0;
	if (renameat(AT_FDCWD, tmp, dfd, leaf) != 0)
		rc = path_error(d, name, "store", err);
	else
		fsync(dfd);
	close(dfd);
	return rc;
}

/* ---- the folder itself ---- */

static int local_prepare(struct dst *d, const char *const *dirs, size_t n, struct cf_error *err)
{
	const char *root = root_of(d);
	struct stat st;
	if (stat(root, &st) == 0) {
		DIR *dir = opendir(root);
		struct dirent *e;
		int empty = 1;
		while (dir && (e = readdir(dir)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				empty = 0;
		if (dir)
			closedir(dir);
		if (!dir || !empty)
			return cf_error_set(err, CF_EIO,
				"'%s' exists and is not an empty directory", root);
	} else if (util_mkdirs(root, 0700) != 0) {
		return cf_error_sys(err, CF_EIO, "cannot create '%s'", root);
	}
	for (size_t i = 0; i < n; i++) {
		char *p = util_path("%s/%s", root, dirs[i]);
		int ok = p && mkdir(p, 0700) == 0;
		free(p);
		if (!ok)
			return cf_error_sys(err, CF_EIO, "cannot create '%s/%s'", root, dirs[i]);
	}
	return 0;
}

/* Removes *.tmp in ${dir}; with ${depth} > 0, in its folders too. */
static void remove_temps(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		size_t n = strlen(e->d_name);
		char *p = util_path("%s/%s", dir, e->d_name);
		struct stat st;
		if (p && n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0)
			unlink(p);
		else if (p && depth > 0 && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			remove_temps(p, depth - 1);
		free(p);
	}
	if (d)
		closedir(d);
}

static int local_cleanup(struct dst *d, struct cf_error *err)
{
	(void)err;
	remove_temps(root_of(d), 1);
	return 0;
}

static int local_root_is(const struct dst *d, dev_t dev, ino_t ino)
{
	const struct dst_local *l = (const struct dst_local *)d;
	struct stat st;
	if (l->ino)
		return l->dev == dev && l->ino == ino;
	return stat(l->local_root, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static void local_free(struct dst *d)
{
	free(d->url);
	free(((struct dst_local *)d)->local_root);
	free(d);
}

const struct dst_ops dst_ops_local = {
	.name = "local",
	.local = 1,
	.put_file = local_put_file,
	.put_fd = local_put_fd,
	.put_buf = local_put_buf,
	.get = local_get,
	.get_range = local_get_range,
	.stat = local_stat,
	.mtime = local_mtime,
	.list = local_list,
	.del = local_del,
	.free = local_free,
	.open_read = local_open_read,
	.stage_open = local_stage_open,
	.stage_commit = local_stage_commit,
	.prepare = local_prepare,
	.cleanup = local_cleanup,
	.root_is = local_root_is,
};

int dst_local_open(const char *root, struct dst **ret, struct cf_error *err)
{
	struct dst_local *l = calloc(1, sizeof *l);
	if (!l)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	l->d.ops = &dst_ops_local;
	if (root[0] == '/') {
		l->local_root = strdup(root);
	} else {
		char *cwd = getcwd(NULL, 0);
		l->local_root = cwd ? util_path("%s/%s", cwd, root) : NULL;
		free(cwd);
	}
	if (l->local_root) {
		size_t n = strlen(l->local_root);
		while (n > 1 && l->local_root[n - 1] == '/')
			l->local_root[--n] = 0;
		l->d.url = strdup(l->local_root);
	}
	if (!l->d.url) {
		local_free(&l->d);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	struct stat st;
	if (stat(l->local_root, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	l->d.lock_note = "local folder: no object lock";
	*ret = &l->d;
	return 0;
}
