/* dst_local.c: a local directory (or a mounted USB drive or NAS) as a destination. Every
 * write goes to a temp name, is fsynced, renamed into place, and the folder fsynced. */
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

static int local_mkparent(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return -1;
	char *s = strrchr(dir, '/');
	int rc = 0;
	if (s && s != dir) {
		*s = 0;
		struct stat st;
		if (stat(dir, &st) != 0) {
			rc = util_mkdirs(dir, 0700);
			if (rc == 0)
				util_fsync_parent(dir);
		}
	}
	free(dir);
	return rc;
}

static int local_put_buf(struct dst *d, const char *name, const void *p, size_t n,
	struct cf_error *err)
{
	char *path = lpath(d, name);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = local_mkparent(path) ? cf_error_sys(err, CF_EIO, "cannot create the folder of '%s'",
						path)
				      : util_write_atomic(path, p, n, 0, err);
	free(path);
	return rc;
}

/* Copies ${in} from its start through a temp name beside the target, fsync, rename, fsync
 * the folder. */
static int local_put_fd(struct dst *d, const char *name, int in, struct cf_error *err)
{
	char *path = lpath(d, name);
	char *tmp = path ? util_path("%s.%d.tmp", path, (int)getpid()) : NULL;
	int out = -1, rc = 0;
	if (!tmp) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (local_mkparent(path)) {
		rc = cf_error_sys(err, CF_EIO, "cannot create the folder of '%s'", path);
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = cf_error_sys(err, CF_EIO, "cannot copy to '%s'", path);
		goto out;
	}
	char b[1 << 16];
	ssize_t n;
	off_t at = 0;
	while ((n = pread(in, b, sizeof b, at)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		at += n;
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(out, b + o, (size_t)(n - o));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				rc = cf_error_sys(err, CF_EIO, "cannot write '%s'", tmp);
				goto out;
			}
			o += w;
		}
	}
	if (n < 0 || fsync(out) != 0) {
		rc = cf_error_sys(err, CF_EIO, "cannot write '%s'", tmp);
		goto out;
	}
	if (close(out) != 0) {
		out = -1;
		rc = cf_error_sys(err, CF_EIO, "cannot write '%s'", tmp);
		goto out;
	}
	out = -1;
	if (rename(tmp, path) != 0) {
		rc = cf_error_sys(err, CF_EIO, "cannot store '%s'", path);
		goto out;
	}
	util_fsync_parent(path);
out:
	if (out >= 0)
		close(out);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
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
	char *path = lpath(d, name);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = 0;
	if (fd < 0)
		rc = errno == ENOENT || errno == ENOTDIR
			     ? cf_error_set(err, CF_ENOENT, "'%s' not found", path)
			     : cf_error_sys(err, CF_EIO, "cannot open '%s'", path);
	else
		*ret_fd = fd;
	free(path);
	return rc;
}

static int local_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	char *path = lpath(d, name);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = util_read_file(path, max, ret, err);
	free(path);
	return rc;
}

static int local_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	char *path = lpath(d, name);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0) {
		rc = errno == ENOENT ? cf_error_set(err, CF_ENOENT, "'%s' not found", path)
				     : cf_error_sys(err, CF_EIO, "cannot open '%s'", path);
		free(path);
		return rc;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (uint8_t *)out + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cf_error_sys(err, CF_EIO, "cannot read '%s'", path);
			break;
		}
		if (n == 0) {
			rc = cf_error_set(err, CF_ECORRUPT, "'%s' is shorter than expected", path);
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	free(path);
	return rc;
}

static int local_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err)
{
	char *path = lpath(d, name);
	struct stat st;
	int rc = 0;
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (stat(path, &st) != 0)
		rc = errno == ENOENT || errno == ENOTDIR ? CF_ENOENT : cf_error_sys(err, CF_EIO, "cannot stat '%s'", path);
	else if (ret_size)
		*ret_size = (uint64_t)st.st_size;
	free(path);
	return rc;
}

/* Lists ${dir} (relative to the root) recursively, in no particular order. */
static int local_walk(struct dst *d, const char *rel, const char *prefix,
	int (*fn)(void *, const char *, uint64_t), void *ctx, int depth, struct cf_error *err)
{
	char *abs = rel[0] ? util_path("%s/%s", root_of(d), rel) : strdup(root_of(d));
	DIR *dir = abs ? opendir(abs) : NULL;
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
	char *path = lpath(d, name);
	int rc = 0;
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (unlink(path) != 0)
		rc = errno == ENOENT ? CF_ENOENT : cf_error_sys(err, CF_EIO, "cannot remove '%s'", path);
	else
		util_fsync_parent(path);
	free(path);
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
	char *path = lpath(d, name);
	char *dir = path ? strdup(path) : NULL;
	if (!dir) {
		free(path);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	int rc = 0;
	char *slash = strrchr(dir, '/');
	*slash = 0;
	if (local_mkparent(path) != 0)
		rc = cf_error_sys(err, CF_EIO, "cannot create '%s'", dir);
	else if (rename(tmp, path) != 0)
		rc = cf_error_sys(err, CF_EIO, "cannot store '%s'", path);
	else
		util_fsync_dir(dir);
	free(dir);
	free(path);
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
