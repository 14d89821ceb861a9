/* restore_write.c: writing a snapshot's entries through libarchive: to disk with the secure
 * disk writer (SECURE_* options, each file written from inside its directory) or into a tar
 * or zip archive. */
#include "restore/restore_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/tree.h"
#include "restore/restore_feed.h"

void restore_problem(struct restore_ctx *S, const char *path, const char *msg)
{
	if (S->o && S->o->problem)
		S->o->problem(S->o->ctx, path, msg);
}

static void walk_problem(void *ctx, const char *path, int code, const char *msg)
{
	struct restore_ctx *S = ctx;
	if (strncmp(msg, "refused", 7) == 0)
		S->st.refused++;
	else
		S->st.damaged++;
	restore_problem(S, path, msg);
	(void)code;
}

int restore_under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

/* 0: restore, 1: only on the way to an include (dirs), -1: skip. */
int restore_selected(const struct restore_opts *o, const char *path)
{
	if (o && o->nskip_names) {
		const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
		for (size_t i = 0; i < o->nskip_names; i++)
			if (strcmp(base, o->skip_names[i]) == 0)
				return -1;
	}
	if (o && o->select)
		return o->select(o->ctx, path);
	if (!o || o->nincludes == 0)
		return 0;
	int way = 0;
	for (size_t i = 0; i < o->nincludes; i++) {
		if (restore_under(path, o->includes[i]))
			return 0;
		if (restore_under(o->includes[i], path))
			way = 1;
	}
	return way ? 1 : -1;
}

static struct link **link_slot(struct restore_ctx *S, uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9E3779B97F4A7C15ull) ^ ino;
	struct link **l = &S->links[h % LINK_BUCKETS];
	while (*l && ((*l)->dev != dev || (*l)->ino != ino))
		l = &(*l)->next;
	return l;
}

void restore_links_free(struct restore_ctx *S)
{
	for (int i = 0; i < LINK_BUCKETS; i++) {
		struct link *l = S->links[i];
		while (l) {
			struct link *n = l->next;
			free(l->path);
			free(l);
			l = n;
		}
	}
}

static void progress(struct restore_ctx *S)
{
	if (!S->o || !S->o->progress)
		return;
	uint64_t now = util_now_ns();
	if (now - S->last < 250000000u)
		return;
	S->last = now;
	S->st.duration = (double)(now - S->t0) / 1e9;
	S->o->progress(S->o->ctx, &S->st);
}

static int write_fail(struct restore_ctx *S, const char *path)
{
	int code = archive_errno(S->a) == ENOSPC ? CF_ENOSPC : CF_EIO;
	S->fatal = cf_error_set(S->err, code, "cannot restore '%s': %s", path,
		archive_error_string(S->a));
	return S->fatal;
}

/* ${len} zero bytes into the archive. */
static la_ssize_t write_zeros(struct restore_ctx *S, size_t len)
{
	static const uint8_t z[65536];
	for (size_t done = 0; done < len;) {
		size_t k = len - done < sizeof z ? len - done : sizeof z;
		la_ssize_t n = archive_write_data(S->a, z, k);
		if (n <= 0)
			return n < 0 ? n : (la_ssize_t)len;	/* 0: past the entry's size */
		done += (size_t)n;
	}
	return (la_ssize_t)len;
}

static int write_data(struct restore_ctx *S, const uint8_t *p, size_t len)
{
	if (!S->f.open || !S->f.write)
		return 0;
	la_ssize_t n;
	if (S->dump && !p) {
		n = write_zeros(S, len);
	} else if (S->dump) {
		n = archive_write_data(S->a, p, len);
	} else if (!p) {
		n = (la_ssize_t)len;	/* leave a hole: sparse files stay sparse */
	} else {
		n = archive_write_data_block(S->a, p, len, (la_int64_t)S->f.off);
		if (n == ARCHIVE_OK)
			n = (la_ssize_t)len;
	}
	if (n < 0)
		return write_fail(S, S->path);
	S->f.off += len;
	S->st.bytes += len;
	progress(S);
	return 0;
}

/* Attributes that grant privileges or steer the kernel's security decisions. */
static int privileged_xattr(const char *key)
{
	return strncmp(key, "security.", 9) == 0 || strncmp(key, "trusted.", 8) == 0;
}

/* add_xattrs(ae, e, strip): the entry's extended attributes, without the privileged ones when
 * ${strip}; returns 1 when one was left out. */
static int add_xattrs(struct archive_entry *ae, const struct tree_entry *e, int strip)
{
	int dropped = 0;
	struct rd r;
	rd_init(&r, e->xattrs, e->xattrslen);
	for (uint16_t i = 0; i < e->nxattrs; i++) {
		uint16_t kl = rd_u16(&r);
		const uint8_t *k = rd_bytes(&r, kl);
		uint32_t vl = rd_u32(&r);
		const uint8_t *v = rd_bytes(&r, vl);
		if (r.bad || !k || memchr(k, 0, kl))
			return dropped;
		char key[1024];
		if (kl >= sizeof key)
			continue;
		memcpy(key, k, kl);
		key[kl] = 0;
		if (strip && privileged_xattr(key)) {
			dropped = 1;
			continue;
		}
		archive_entry_xattr_add_entry(ae, key, v, vl);
	}
	return dropped;
}

/* Length of the valid UTF-8 sequence at ${s}, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 :
		   (s[0] >> 3) == 30 ? 4 : 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Zip readers take names as UTF-8: other bytes become %XX, visibly and reversibly. */
static char *zip_name(const char *path)
{
	size_t n = strlen(path), o = 0;
	char *out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq((const unsigned char *)path + i);
		if (k && path[i] != '%') {
			memcpy(out + o, path + i, k);
			o += k;
			i += k;
		} else {
			snprintf(out + o, 4, "%%%02X", (unsigned char)path[i]);
			o += 3;
			i++;
		}
	}
	out[o] = 0;
	return out;
}

/* The path an entry takes inside the target or the archive. */
const char *restore_rel_path(struct restore_ctx *S, const char *path)
{
	(void)S;
	return path + 1;	/* snapshot paths are absolute; the target is the new root */
}

/* Makes the target the working directory again. */
int restore_work_in_root(struct restore_ctx *S)
{
	if (S->dirfd < 0)
		return 0;
	/* Failing this, libarchive would meet its paths from a directory inside the target. */
	if (fchdir(S->rootfd) != 0 && chdir(S->o->target) != 0)
		return S->fatal = cf_error_sys(S->err, CF_EIO, "cannot enter '%s'", S->o->target);
	close(S->dirfd);
	S->dirfd = -1;
	free(S->dir);
	S->dir = NULL;
	return 0;
}

/* The directory ${path} (${len} bytes, absolute in the snapshot) inside the target, opened
 * one component at a time from the target, or from the working directory when it lies on the
 * way, never through a symlink. -1 when some component is not a directory. */
static int open_dir(struct restore_ctx *S, const char *path, size_t len)
{
	char *p = strndup(path, len);
	if (!p)
		return -1;
	int fd = S->rootfd;
	char *c = p + 1;
	if (S->dir && restore_under(p, S->dir)) {
		fd = S->dirfd;
		c = p + strlen(S->dir) + 1;
	}
	for (char *next; c < p + len; c = next + 1) {
		next = strchr(c, '/');
		if (!next)
			next = p + len;
		*next = 0;
		int nfd = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd != S->rootfd && fd != S->dirfd)
			close(fd);
		fd = nfd;
		if (fd < 0)
			break;
	}
	free(p);
	return fd;
}

/* The name under which the disk writer gets ${path}. Given a path of several components,
 * libarchive's secure mode checks every one of them for symlinks (an lstat and an open each)
 * on every entry. So a file, symlink or pipe is written from inside its directory, under its
 * bare name: that directory is reached from the target without following symlinks (open_dir)
 * and is the working directory while the entry is written, and libarchive's checks still
 * apply to the name (no "..", a symlink in its place is replaced, not followed). Directories,
 * whose deferred modes and times libarchive applies by path when it closes, and hard links,
 * whose target is a path from the target, are given their path from the target. NULL on a
 * fatal error. */
static const char *disk_name(struct restore_ctx *S, const char *path, int from_root)
{
	const char *slash = strrchr(path, '/');
	size_t len = (size_t)(slash - path);
	if (!from_root && len > 0) {
		if (S->dir && strlen(S->dir) == len && memcmp(S->dir, path, len) == 0)
			return slash + 1;
		int fd = open_dir(S, path, len);
		char *dir = fd >= 0 ? strndup(path, len) : NULL;
		if (dir && fchdir(fd) == 0) {
			if (S->dirfd >= 0)
				close(S->dirfd);
			free(S->dir);
			S->dirfd = fd;
			S->dir = dir;
			return slash + 1;
		}
		free(dir);
		if (fd >= 0)
			close(fd);
		/* Not a directory we can enter: libarchive meets the path and says why. */
	}
	if (restore_work_in_root(S))
		return NULL;
	return restore_rel_path(S, path);
}

/* A file system that does not tell some names apart (FAT and exFAT ignore case: "Facture.pdf"
 * and "facture.pdf" are one file there) would let an entry replace one restored before it,
 * since the disk writer unlinks what stands at its name. Returns 1 when something stands at
 * ${aname} (the entry's name for the disk writer, from the working directory) under another
 * name, which goes to ${other}; 0 when nothing does, or when it bears exactly that name (a
 * file of the target restored over, as always). */
static int name_taken(const char *aname, char *other, size_t cap)
{
	struct stat st;
	if (fstatat(AT_FDCWD, aname, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	const char *slash = strrchr(aname, '/');
	const char *base = slash ? slash + 1 : aname;
	char *dir = slash ? strndup(aname, (size_t)(slash - aname)) : strdup(".");
	int fd = dir ? open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	free(dir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	int exact = 0;
	snprintf(other, cap, "another name");
	for (struct dirent *de; !exact && (de = readdir(d));) {
		if (strcmp(de->d_name, base) == 0)
			exact = 1;
		else if (strcasecmp(de->d_name, base) == 0)
			snprintf(other, cap, "'%s'", de->d_name);
	}
	closedir(d);
	return !exact;
}

int restore_collided(const struct restore_ctx *S, const char *path)
{
	for (size_t i = 0; i < S->ncollided; i++)
		if (restore_under(path, S->collided[i]))
			return 1;
	return 0;
}

void restore_collided_free(struct restore_ctx *S)
{
	for (size_t i = 0; i < S->ncollided; i++)
		free(S->collided[i]);
	free(S->collided);
	S->collided = NULL;
	S->ncollided = 0;
}

/* Notes ${path} as left out for a name collision. */
static int note_collided(struct restore_ctx *S, const char *path)
{
	char **p = realloc(S->collided, (S->ncollided + 1) * sizeof *p);
	if (!p)
		return -1;
	S->collided = p;
	if (!(p[S->ncollided] = strdup(path)))
		return -1;
	S->ncollided++;
	return 0;
}

static int rs_select(void *ctx, const char *path, const struct tree_entry *e)
{
	struct restore_ctx *S = ctx;
	(void)e;
	if (S->dump && S->prefix && !restore_under(path, S->prefix))
		return restore_under(S->prefix, path) ? RESTORE_FEED_PASS : RESTORE_FEED_SKIP;
	int sel = S->dump ? 0 : restore_selected(S->o, path);
	return sel < 0 ? RESTORE_FEED_SKIP : sel == 1 ? RESTORE_FEED_WAY : RESTORE_FEED_ALL;
}

static void count_entry(struct restore_ctx *S, int type, int hardlink)
{
	switch (type) {
	case TREE_FILE:
		if (hardlink)
			S->st.hardlinks++;
		else
			S->st.files++;
		break;
	case TREE_DIR:
		S->st.dirs++;
		break;
	case TREE_SYMLINK:
		S->st.symlinks++;
		break;
	}
}

static int begin_entry(struct restore_ctx *S, const struct restore_feed_item *it)
{
	const char *path = it->path;
	const struct tree_entry *e = &it->e;
	memset(&S->f, 0, sizeof S->f);
	/* A file the feed found sound is followed by its data, written or not. */
	S->f.open = e->type == TREE_FILE && it->code == RESTORE_FEED_OK;
	free(S->path);
	S->path = strdup(path);
	S->st.current = S->path;
	if (!S->path)
		return cf_error_set(S->err, CF_ENOMEM, "out of memory");
	if (S->skipdir && restore_under(path, S->skipdir))
		return 0;
	if (it->code == RESTORE_FEED_MISMATCH) {
		S->st.refused++;
		restore_problem(S, path, "refused: declared size does not match the content");
		return 0;
	}
	if (it->code == RESTORE_FEED_DAMAGED) {
		S->st.damaged++;
		char msg[600];
		snprintf(msg, sizeof msg, "cannot restore: damaged data (%s)", it->msg);
		restore_problem(S, path, msg);
		return 0;
	}
	struct archive_entry *ae = archive_entry_new();
	if (!ae)
		return cf_error_set(S->err, CF_ENOMEM, "out of memory");
	if (S->zip) {
		char *zn = zip_name(restore_rel_path(S, path));
		if (!zn) {
			archive_entry_free(ae);
			return cf_error_set(S->err, CF_ENOMEM, "out of memory");
		}
		archive_entry_set_pathname(ae, zn);
		free(zn);
	} else if (S->dump) {
		archive_entry_set_pathname(ae, restore_rel_path(S, path));
	} else {
		int linked = e->type == TREE_FILE && e->nlink > 1 && *link_slot(S, e->dev, e->ino);
		if (!(S->aname = disk_name(S, S->path, e->type == TREE_DIR || linked))) {
			archive_entry_free(ae);
			return S->fatal;
		}
		char other[300];
		if (name_taken(S->aname, other, sizeof other)) {
			archive_entry_free(ae);
			S->st.collisions++;
			char msg[600];
			snprintf(msg, sizeof msg, "not restored: the target's file system takes its name "
				"for %s, which is there already (names that differ only in case?); "
				"restore it elsewhere with --include", other);
			restore_problem(S, path, msg);
			if (note_collided(S, path))
				return cf_error_set(S->err, CF_ENOMEM, "out of memory");
			if (e->type == TREE_DIR) {
				free(S->skipdir);
				if (!(S->skipdir = strdup(path)))
					return cf_error_set(S->err, CF_ENOMEM, "out of memory");
			}
			return 0;
		}
		archive_entry_set_pathname(ae, S->aname);
	}
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, e->mtime_s, e->mtime_ns);
	archive_entry_set_atime(ae, e->mtime_s, e->mtime_ns);
	struct link **ls = NULL;
	int hardlink = 0;
	switch (e->type) {
	case TREE_FILE:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, (la_int64_t)e->size);
		if (e->nlink > 1) {
			ls = link_slot(S, e->dev, e->ino);
			if (*ls) {
				archive_entry_set_hardlink(ae, (*ls)->path);
				archive_entry_set_size(ae, 0);
				hardlink = 1;
			}
		}
		break;
	case TREE_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		break;
	case TREE_SYMLINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, e->target);
		break;
	case TREE_FIFO:
		if (S->zip) {
			archive_entry_free(ae);
			restore_problem(S, path, "skipped: a zip archive cannot hold a named pipe");
			return 0;
		}
		archive_entry_set_filetype(ae, AE_IFIFO);
		break;
	default:
		archive_entry_free(ae);
		return 0;
	}
	/* A snapshot may come from another machine, or from an attacker who holds the escrow
	 * key: a root restore must not hand out setuid programs or file capabilities unless
	 * asked. */
	int strip = !S->dump && !(S->o && S->o->keep_privileges);
	uint32_t perm = e->mode;
	int dropped = 0;
	if (strip && (perm & (S_ISUID | S_ISGID))) {
		perm &= ~(uint32_t)(S_ISUID | S_ISGID);
		dropped = 1;
	}
	archive_entry_set_perm(ae, perm);
	if (e->nxattrs && !S->dump)
		dropped |= add_xattrs(ae, e, strip);
	S->st.unprivileged += (uint64_t)dropped;
	int rc = archive_write_header(S->a, ae);
	archive_entry_free(ae);
	if (rc == ARCHIVE_FATAL)
		return write_fail(S, path);
	if (rc < ARCHIVE_WARN) {
		/* The secure options refuse what would leave the target (dot-dot, absolute
		 * paths, writing through a symlink). */
		S->st.refused++;
		char msg[600];
		snprintf(msg, sizeof msg, "refused: %s", archive_error_string(S->a));
		restore_problem(S, path, msg);
		if (e->type == TREE_DIR) {
			free(S->skipdir);
			if (!(S->skipdir = strdup(path)))
				return cf_error_set(S->err, CF_ENOMEM, "out of memory");
		}
		return 0;
	}
	if (S->f.open) {
		/* Finished once its data is in (RESTORE_FEED_FILE_END). */
		S->f.write = !hardlink;
		S->f.hardlink = hardlink;
		S->f.ls = ls;
		S->f.dev = e->dev;
		S->f.ino = e->ino;
		return 0;
	}
	if (archive_write_finish_entry(S->a) == ARCHIVE_FATAL)
		return write_fail(S, path);
	count_entry(S, e->type, hardlink);
	return 0;
}

static int end_file(struct restore_ctx *S, int code, const char *msg)
{
	int was_open = S->f.open && (S->f.write || S->f.hardlink);
	struct link **ls = S->f.ls;
	int hardlink = S->f.hardlink;
	uint64_t dev = S->f.dev, ino = S->f.ino;
	memset(&S->f, 0, sizeof S->f);
	if (!was_open)
		return 0;
	const char *path = S->path;
	if (code) {
		char m[600];
		snprintf(m, sizeof m, "cannot restore: damaged data (%s)", msg);
		restore_problem(S, path, m);
	}
	if (archive_write_finish_entry(S->a) == ARCHIVE_FATAL)
		return write_fail(S, path);
	if (code) {
		S->st.damaged++;
		if (!S->dump)
			unlink(S->aname);	/* no file with silently wrong content */
		return 0;
	}
	/* The slot may have been filled since: links made meanwhile point at the first. */
	if (ls && !*ls) {
		struct link *l = calloc(1, sizeof *l);
		if (l && (l->path = strdup(restore_rel_path(S, path)))) {
			l->dev = dev;
			l->ino = ino;
			*ls = l;
		} else {
			free(l);
		}
	}
	count_entry(S, TREE_FILE, hardlink);
	return 0;
}

/* Writes what the feed yields, in order, until its end or a failure that stops the run. */
int restore_write_all(struct restore_ctx *S, const uint8_t root[32])
{
	struct restore_feed *f = NULL;
	int rc = restore_feed_start(S->r, S->br, root, rs_select, S, &f, S->err);
	if (rc)
		return rc;
	struct restore_feed_item it;
	while ((rc = restore_feed_next(f, &it, S->err)) == 1) {
		if (S->o && S->o->cancel && *S->o->cancel) {
			rc = cf_error_set(S->err, CF_ECANCELED, "restore stopped on request");
			break;
		}
		switch (it.kind) {
		case RESTORE_FEED_PROBLEM:
			if (!S->skipdir || !restore_under(it.path, S->skipdir))
				walk_problem(S, it.path, it.code, it.msg);
			break;
		case RESTORE_FEED_ENTRY:
			rc = begin_entry(S, &it);
			break;
		case RESTORE_FEED_DATA:
			rc = write_data(S, it.data, it.len);
			break;
		case RESTORE_FEED_FILE_END:
			rc = end_file(S, it.code, it.msg);
			break;
		}
		if (rc < 0)
			break;
	}
	restore_feed_free(f);
	return rc;
}

int restore_open_reader(struct restore_ctx *S, struct blobidx **x, struct cf_error *err)
{
	int rc = blobidx_open(S->r, x, err);
	if (rc == 0)
		rc = blob_reader_new(S->r, *x, &S->br, err);
	return rc;
}
