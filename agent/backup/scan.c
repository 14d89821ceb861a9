/* scan.c: the folder walk. Each folder is listed, sorted and matched with its entry in the
 * parent snapshot; an entry is stat'ed, left out (excluded, an SQLite companion, a socket or
 * device, the repository itself) or turned into a tree entry with its metadata and extended
 * attributes. A changed file's content is read (and read again if it changes meanwhile);
 * anything that cannot be read is a warning, not a failure of the run. */
#include "backup/backup_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "coffre/dbdump.h"
#include "coffre/detect.h"
#include "coffre/dst.h"
#include "coffre/tree_walk.h"
#include "store/repo_internal.h"

/* Restore walks at most TREE_WALK_MAX_DEPTH levels: deeper folders are refused at backup time. */
#define MAX_DEPTH (TREE_WALK_MAX_DEPTH - 2)

/* ---- metadata ---- */

static int open_nofollow(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)	/* O_NOATIME needs ownership */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* Reads extended attributes as "u16 klen, key, u32 vlen, value" records into ${out}, through
 * ${fd} when one is open (no path walk), else by ${path}; sets ${*ret_n} to their number.
 * One that cannot be read, or would take the whole past TREE_XATTR_MAX, is left out.
 * Returns 0 or CF_ENOMEM. */
static int read_xattrs(struct run *R, int fd, const char *path, struct buf *out,
	uint16_t *ret_n)
{
	char list[8192];
	uint16_t n = 0;
	ssize_t ln = fd >= 0 ? flistxattr(fd, list, sizeof list)
			     : llistxattr(path, list, sizeof list);
	static _Thread_local uint8_t val[TREE_XATTR_MAX];
	for (ssize_t i = 0; i < ln; i += (ssize_t)strlen(list + i) + 1) {
		const char *k = list + i;
		size_t kn = strlen(k);
		ssize_t vn = fd >= 0 ? fgetxattr(fd, k, val, sizeof val)
				     : lgetxattr(path, k, val, sizeof val);
		if (vn < 0 || out->len + kn + (size_t)vn + 6 > TREE_XATTR_MAX)
			continue;
		if (buf_put_u16(out, (uint16_t)kn) || buf_append(out, k, kn) ||
		    buf_put_u32(out, (uint32_t)vn) || buf_append(out, val, (size_t)vn))
			return cf_error_set(R->err, CF_ENOMEM, "out of memory");
		n++;
	}
	*ret_n = n;
	return 0;
}

static void fill_stat(struct tree_entry *e, const struct stat *st)
{
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->nlink = (uint32_t)st->st_nlink;
	e->mtime_s = st->st_mtim.tv_sec;
	e->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	e->ctime_s = st->st_ctim.tv_sec;
	e->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
	e->ino = st->st_ino;
	e->dev = st->st_dev;
	e->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
}

static int excluded(const struct run *R, const char *name, const char *path)
{
	for (size_t i = 0; i < R->o->nexcludes; i++) {
		const char *g = R->o->excludes[i];
		if (fnmatch(g, strchr(g, '/') ? path : name, 0) == 0)
			return 1;
	}
	return 0;
}

/* ---- files ---- */

/* Reads a changed file into batches for the workers and fills ${pf}'s entry but its
 * content (its refs come as the batches are taken back). A file that changes while it is
 * read is read again (a few tries); an SQLite database is read from a consistent copy.
 * Returns 0, BACKUP_SKIPPED or CF_E*. */
static int read_file(struct run *R, int dirfd, const char *name, const char *path,
	struct pend *pf)
{
	struct tree_entry *e = &pf->e;
	struct buf *xa = &pf->xa;
	for (int attempt = 0;; attempt++) {
		int fd = open_nofollow(dirfd, name);
		if (fd < 0) {
			backup_warn(R, path, "cannot open", errno);
			return BACKUP_SKIPPED;
		}
		struct stat st;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			backup_warn(R, path, "changed type while being read", 0);
			return BACKUP_SKIPPED;
		}
		R->st.current = path;
		struct sqlite3 *hold = NULL;
		int copy = -1, rc = 0;
		if (scan_sqlite_is(fd) && !(hold = scan_sqlite_hold(dirfd, name, fd, path)) &&
		    (rc = scan_sqlite_copy(R->r, dirfd, name, fd, path, &copy, R->err))) {
			close(fd);
			return rc;
		}
		int held = hold != NULL;
		uint64_t total = 0;
		/* A database is read to its end as it is under the lock (it may have grown
		 * since the fstat), or as its copy is. */
		rc = bstore_read(R, copy >= 0 ? copy : fd, path,
			copy >= 0 || held ? 0 : (uint64_t)st.st_size, pf, &total);
		if (copy >= 0)
			close(copy);
		if (rc == 0)
			rc = read_xattrs(R, fd, path, xa, &e->nxattrs);
		if (rc) {
			scan_sqlite_release(hold);
			close(fd);
			return rc;
		}
		struct stat st2;
		int changed = fstat(fd, &st2) != 0 || st2.st_size != st.st_size ||
			      st2.st_mtim.tv_sec != st.st_mtim.tv_sec ||
			      st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec ||
			      (copy < 0 && (off_t)total != st.st_size);
		scan_sqlite_release(hold);
		close(fd);
		/* A database copy, or one read under its lock, is consistent whatever happened to
		 * the file's times meanwhile. */
		if (copy >= 0 || held)
			changed = 0;
		if (changed && attempt < 2 && !backup_cancelled(R)) {
			if (R->prof)
				detect_profile_init(R->prof);
			pf->ignore = pf->nsub;
			bstore_content_reset(&pf->c);
			xa->len = 0;
			continue;
		}
		if (changed)
			backup_warn(R, path, "changed while being read, three times (the snapshot "
					     "holds the last read)", 0);
		/* Metadata from before the read: if the file changed, the next run reads it
		 * again. */
		fill_stat(e, &st);
		if (changed)
			e->ctime_s = e->ctime_ns = 0;
		e->size = total;
		e->xattrs = xa->p;
		e->xattrslen = xa->len;
		return 0;
	}
}

/* ---- folders ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scan_dir(struct run *R, int dirfd, const char *path, const uint8_t *parent_tree,
	int depth, uint8_t ret_tree[32]);

/* Adds the entry for ${name} in ${dirfd} to ${q}; ${pe} is the parent's entry of that name,
 * or NULL. Returns 0 (the entry added, or left out with or without a warning) or CF_E*. */
static int scan_entry(struct run *R, struct dirq *q, int dirfd, const char *name,
	const char *path, const struct tree_entry *pe, int depth)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)	/* vanished since listed: not a problem */
			backup_warn(R, path, "cannot stat", errno);
		return 0;
	}
	R->st.entries++;
	struct tree_entry e = { .name = name, .namelen = strlen(name) };
	struct buf xa = { 0 };
	char target[TREE_TARGET_MAX + 2];
	int rc = 0;
	fill_stat(&e, &st);
	if (S_ISREG(st.st_mode)) {
		e.type = TREE_FILE;
		if (bparent_reuse_file(&e, pe, &st)) {
			R->st.files_unchanged++;
			return btree_dirq_add(R, q, &e);
		}
		struct pend *pf = btree_dirq_add_file(q, &e);
		if (!pf)
			return cf_error_set(R->err, CF_ENOMEM, "out of memory");
		/* A changed file: its new bytes against its previous version's. */
		struct detect_profile *prof = NULL;
		if (pe && pe->type == TREE_FILE && pe->size > 0 &&
		    (prof = malloc(2 * sizeof *prof)) &&
		    bdetect_before(R, pe, path, &prof[0], &pf->seal) != 0) {
			free(prof);
			prof = NULL;
		}
		if (prof)
			detect_profile_init(&prof[1]);
		R->prof = prof ? &prof[1] : NULL;
		rc = read_file(R, dirfd, name, path, pf);
		R->prof = NULL;
		if (rc == 0 && prof)
			bdetect_after(R, path, &prof[0], &prof[1], pf->seal);
		else if (rc == 0 && !pe)
			bdetect_new(R, path, name);
		free(prof);
		pf->reading = 0;
		if (rc == BACKUP_SKIPPED)
			pf->skip = 1;
		else if (rc)
			return rc;
		else if (pe)
			R->st.files_changed++;
		else
			R->st.files_new++;
		return btree_dirq_flush(R, q);
	} else if (S_ISDIR(st.st_mode)) {
		e.type = TREE_DIR;
		if (dst_root_is(R->r->d, st.st_dev, st.st_ino))
			return 0;	/* never back the repository up into itself */
		if (bparent_reuse_dir(R, &e, pe, &st, path)) {
			R->st.dirs_reused++;
			return btree_dirq_add(R, q, &e);
		}
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			backup_warn(R, path, "cannot open directory", errno);
			return 0;
		}
		rc = scan_dir(R, fd, path, pe && pe->type == TREE_DIR ? pe->id : NULL, depth + 1,
			e.id);
		if (rc == 0)
			rc = read_xattrs(R, fd, path, &xa, &e.nxattrs);
		close(fd);
		if (rc == BACKUP_SKIPPED) {
			rc = 0;
			goto out;
		}
		if (rc)
			goto out;
	} else if (S_ISLNK(st.st_mode)) {
		e.type = TREE_SYMLINK;
		ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
		if (n <= 0 || n > TREE_TARGET_MAX) {
			backup_warn(R, path, "cannot read symbolic link",
				n < 0 ? errno : ENAMETOOLONG);
			return 0;
		}
		target[n] = 0;
		e.target = target;
		e.targetlen = (size_t)n;
	} else if (S_ISFIFO(st.st_mode)) {
		e.type = TREE_FIFO;
		if ((rc = read_xattrs(R, -1, path, &xa, &e.nxattrs)))
			goto out;
	} else {
		return 0;	/* sockets and devices are not business data */
	}
	e.xattrs = xa.p;
	e.xattrslen = xa.len;
	rc = btree_dirq_add(R, q, &e);
out:
	buf_free(&xa);
	return rc;
}

/* Lists the folder ${dirfd} (${path}) in name order. Returns 0, BACKUP_SKIPPED (unreadable,
 * warned) or CF_ENOMEM; ${*ret_names} and ${*ret_n} hold what was listed in any case. */
static int list_dir(struct run *R, int dirfd, const char *path, char ***ret_names,
	size_t *ret_n)
{
	int dfd = dup(dirfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		backup_warn(R, path, "cannot read directory", errno);
		return BACKUP_SKIPPED;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int rc = 0;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			void *p = realloc(names, cap * sizeof *names);
			if (!p) {
				rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
				break;
			}
			names = p;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	*ret_names = names;
	*ret_n = n;
	return rc;
}

/* Returns 0 with ${ret_tree} set, BACKUP_SKIPPED if the directory could not be read
 * (warned), or CF_E*. */
static int scan_dir(struct run *R, int dirfd, const char *path, const uint8_t *parent_tree,
	int depth, uint8_t ret_tree[32])
{
	if (depth > MAX_DEPTH) {
		backup_warn(R, path, "directory nesting too deep, skipped", 0);
		return BACKUP_SKIPPED;
	}
	char **names = NULL;
	size_t n = 0;
	int rc = list_dir(R, dirfd, path, &names, &n);
	if (rc == BACKUP_SKIPPED)
		return rc;
	R->st.dirs++;
	struct dirq q = { .tail = &q.head };
	struct bparent_dir pd = { 0 };
	if (rc == 0 && (rc = btree_dirq_init(R, &q)) == 0)
		bparent_open(R, &pd, parent_tree);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *p = util_path("%s%s%s", path, strcmp(path, "/") ? "/" : "", names[i]);
		if (!p) {
			rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
			break;
		}
		if (!excluded(R, names[i], p) && !scan_sqlite_companion(dirfd, names[i]))
			rc = scan_entry(R, &q, dirfd, names[i], p, bparent_find(&pd, names[i]),
				depth);
		free(p);
		if (rc == 0 && backup_cancelled(R))
			rc = cf_error_set(R->err, CF_EIO, "interrupted");
	}
	if (rc == 0)
		rc = btree_dirq_finish(R, &q, ret_tree);
	btree_dirq_release(&q);
	bparent_close(&pd);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* ---- the snapshot root: the backed-up paths under their absolute names ---- */

/* Builds the tree of the virtual directory ${dir} that leads to the ${np} sorted paths below
 * it. */
static int build_virtual(struct run *R, const char *dir, char *const *paths, size_t np,
	const uint8_t *parent_tree, int depth, uint8_t ret_tree[32])
{
	if (depth > MAX_DEPTH)
		return cf_error_set(R->err, CF_EUSAGE, "path too deep");
	struct dirq q = { .tail = &q.head };
	struct bparent_dir pd = { 0 };
	int dfd = -1, rc = btree_dirq_init(R, &q);
	if (rc == 0) {
		bparent_open(R, &pd, parent_tree);
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			rc = cf_error_sys(R->err, CF_EIO, "cannot open '%s'", dir);
	}
	size_t dl = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
	/* Group the paths by their next component below dir. */
	for (size_t i = 0; rc == 0 && i < np;) {
		const char *rest = paths[i] + dl + 1;
		size_t cl = strcspn(rest, "/");
		char *name = strndup(rest, cl);
		char *full = util_path("%.*s", (int)(dl + 1 + cl), paths[i]);
		if (!name || !full) {
			free(name);
			free(full);
			rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
			break;
		}
		size_t fl = strlen(full), j = i;
		while (j < np && strncmp(paths[j], full, fl) == 0 &&
		       (paths[j][fl] == 0 || paths[j][fl] == '/'))
			j++;
		/* The database dumps' folder goes in at its place in name order. */
		if (depth == 0 && !R->dbs_done && strcmp(name, DBDUMP_DIR) >= 0) {
			if (strcmp(name, DBDUMP_DIR) == 0) {
				R->dbs_done = 1;
				if (R->o->ndbs)
					backup_warn(R, "/" DBDUMP_DIR, "the database dumps are left "
						"out: a folder of that name is backed up", 0);
			} else if ((rc = bdb_add(R, &q))) {
				free(name);
				free(full);
				break;
			}
		}
		const struct tree_entry *pe = bparent_find(&pd, name);
		struct stat st;
		if (strcmp(paths[i], full) == 0) {
			/* A path given to back up: the real thing, wholly. */
			if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				rc = cf_error_sys(R->err, CF_EIO, "cannot back up '%s'", full);
			else
				rc = scan_entry(R, &q, dfd, name, full, pe, depth);
		} else if (fstatat(dfd, name, &st, 0) != 0 || !S_ISDIR(st.st_mode)) {
			rc = cf_error_sys(R->err, CF_EIO, "cannot back up '%s'", full);
		} else {
			/* A directory on the way to the given paths. */
			struct tree_entry e = { .name = name, .namelen = cl, .type = TREE_DIR };
			fill_stat(&e, &st);
			rc = build_virtual(R, full, paths + i, j - i,
				pe && pe->type == TREE_DIR ? pe->id : NULL, depth + 1, e.id);
			if (rc == 0)
				rc = btree_dirq_add(R, &q, &e);
		}
		free(name);
		free(full);
		i = j;
	}
	if (dfd >= 0)
		close(dfd);
	if (rc == 0 && depth == 0 && !R->dbs_done)
		rc = bdb_add(R, &q);
	if (rc == 0)
		rc = btree_dirq_finish(R, &q, ret_tree);
	btree_dirq_release(&q);
	bparent_close(&pd);
	return rc;
}

int scan_root(struct run *R, char *const *paths, size_t np, const uint8_t *parent_tree,
	uint8_t ret_tree[32])
{
	if (strcmp(paths[0], "/") != 0)
		return build_virtual(R, "/", paths, np, parent_tree, 0, ret_tree);
	/* "/" itself, the only path (the others were inside it): its own folders fill the
	 * root, and the database dumps have no place there. */
	if (R->o->ndbs)
		backup_warn(R, "/" DBDUMP_DIR, "the database dumps are left out: '/' is backed "
			"up whole", 0);
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cf_error_sys(R->err, CF_EIO, "cannot open '/'");
	int rc = scan_dir(R, fd, "/", parent_tree, 0, ret_tree);
	close(fd);
	if (rc == BACKUP_SKIPPED)
		rc = cf_error_set(R->err, CF_EIO, "cannot read '/'");
	return rc;
}
