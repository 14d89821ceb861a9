/* dst_usb.c: a USB drive found by filesystem label or UUID with libblkid (no udev needed:
 * libblkid scans the block devices itself), mounted for the run when it is not mounted yet,
 * used as a local destination in "<mount>/coffre", and unmounted again by dst_free so that
 * nothing running later can see it.
 *
 * Mounting: vfat through `fusefat -o rw+` and exFAT through `mount.exfat-fuse` (FUSE works
 * where the kernel lacks those modules), anything else (ext4, ...) with mount(2). The private
 * mount point is /run/coffre/usb-LABEL as root, else $XDG_RUNTIME_DIR/coffre/usb-LABEL. A drive
 * that is already mounted is used where it is and left mounted. */
#include <blkid/blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coffre/error.h"
#include "dst/dst_internal.h"
#include "base/util.h"

struct dst_usb {
	struct dst d;		/* first: dst_usb is a dst */
	struct dst *inner;	/* the local destination in <mount>/coffre */
	char *dev;
	char *mnt;
	int we_mounted;
	int fuse;
};

/* ---- forwarding to the local destination ---- */

#define INNER(d) (((struct dst_usb *)(d))->inner)

/* FUSE vfat (fusefat) reports a full drive as EPERM: when a write fails and the drive has
 * less room than the object needs, say what it is. */
static int usb_space_error(struct dst *d, int rc, uint64_t need, struct cf_error *err)
{
	struct dst_usb *u = (struct dst_usb *)d;
	struct statvfs vs;
	if (rc == 0 || rc == CF_ENOMEM)
		return rc;
	if (statvfs(u->mnt, &vs) != 0)
		return rc == CF_ENOSPC ? cf_error_set(err, CF_ENOSPC, "no space left on the drive %s",
						 u->d.url) : rc;
	if (rc == CF_ENOSPC && vs.f_blocks)
		return cf_error_set(err, CF_ENOSPC, "no space left on the drive %s (%llu KiB free, "
			"%llu KiB needed)", u->d.url,
			(unsigned long long)(((uint64_t)vs.f_bavail * vs.f_frsize) >> 10),
			(unsigned long long)((need + 1023) >> 10));
	uint64_t avail = (uint64_t)vs.f_bavail * vs.f_frsize;
	if (vs.f_blocks == 0) {
		/* fusefat reports no block counts (its free clusters show as free inodes); a
		 * cluster holds 512 bytes at least. An EPERM with room left is no full drive: taken
		 * for one, it would have push thin out backups for nothing. */
		if (!err || err->sys_errno != EPERM ||
		    (vs.f_files && (uint64_t)vs.f_ffree * 512 >= need + (1u << 16)))
			return rc;
		return cf_error_set(err, CF_ENOSPC, "no space left on the drive %s (writing %llu KiB "
			"failed)", u->d.url, (unsigned long long)((need + 1023) >> 10));
	}
	if (avail >= need + (1u << 16))
		return rc;
	return cf_error_set(err, CF_ENOSPC, "no space left on the drive %s (%llu KiB free, "
		"%llu KiB needed)", u->d.url, (unsigned long long)(avail >> 10),
		(unsigned long long)((need + 1023) >> 10));
}

static int usb_put_file(struct dst *d, const char *name, const char *src, struct cf_error *err)
{
	int rc = dst_put_file(INNER(d), name, src, err);
	struct stat st;
	if (rc && stat(src, &st) == 0)
		rc = usb_space_error(d, rc, (uint64_t)st.st_size, err);
	return rc;
}

static int usb_put_fd(struct dst *d, const char *name, int fd, struct cf_error *err)
{
	int rc = dst_put_fd(INNER(d), name, fd, err);
	struct stat st;
	if (rc && fstat(fd, &st) == 0)
		rc = usb_space_error(d, rc, (uint64_t)st.st_size, err);
	return rc;
}

static int usb_put_buf(struct dst *d, const char *name, const void *p, size_t n,
	struct cf_error *err)
{
	return usb_space_error(d, dst_put_buf(INNER(d), name, p, n, err), n, err);
}

static int usb_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	return dst_get(INNER(d), name, max, ret, err);
}

static int usb_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	return dst_get_range(INNER(d), name, off, len, out, err);
}

static int usb_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err)
{
	return dst_stat(INNER(d), name, ret_size, err);
}

static int usb_mtime(struct dst *d, const char *name, int64_t *ret, struct cf_error *err)
{
	return dst_mtime(INNER(d), name, ret, err);
}

static int usb_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	return dst_list(INNER(d), prefix, fn, ctx, err);
}

static int usb_del(struct dst *d, const char *name, struct cf_error *err)
{
	return dst_delete(INNER(d), name, err);
}

static int usb_open_read(struct dst *d, const char *name, int *ret_fd, struct cf_error *err)
{
	return dst_open_read(INNER(d), name, ret_fd, err);
}

/* Staged writes: the local destination's, their failures explained by usb_space_error (the
 * stage calls it through write_error). */
static int usb_stage_open(struct dst *d, char **ret_tmp, int *ret_fd, struct cf_error *err)
{
	return INNER(d)->ops->stage_open(INNER(d), ret_tmp, ret_fd, err);
}

static int usb_stage_commit(struct dst *d, const char *tmp, const char *name,
	struct cf_error *err)
{
	return INNER(d)->ops->stage_commit(INNER(d), tmp, name, err);
}

static int usb_prepare(struct dst *d, const char *const *dirs, size_t n, struct cf_error *err)
{
	return dst_prepare(INNER(d), dirs, n, err);
}

static int usb_cleanup(struct dst *d, struct cf_error *err)
{
	return dst_cleanup(INNER(d), err);
}

static int usb_root_is(const struct dst *d, dev_t dev, ino_t ino)
{
	return dst_root_is(((const struct dst_usb *)d)->inner, dev, ino);
}

/* ---- mounting ---- */

/* Is ${mnt} a mount point in /proc/self/mounts? If ${dev} is given, also finds the mount
 * point of ${dev} (malloc'd into *ret_mnt). */
static int mounts_find(const char *dev, const char *mnt, char **ret_mnt)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	if (!f)
		return 0;
	char line[4096], rdev[PATH_MAX];
	int found = 0;
	if (!dev || !realpath(dev, rdev))
		rdev[0] = 0;
	while (!found && fgets(line, sizeof line, f)) {
		char src[1024], dir[1024];
		if (sscanf(line, "%1023s %1023s", src, dir) != 2)
			continue;
		/* Octal escapes (\040) in names: the paths we look for have none. */
		if (mnt && strcmp(dir, mnt) == 0)
			found = 1;
		else if (rdev[0] && ret_mnt && (strcmp(src, rdev) == 0 || strcmp(src, dev) == 0)) {
			*ret_mnt = strdup(dir);
			found = *ret_mnt != NULL;
		}
	}
	fclose(f);
	return found;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* After a FUSE unmount, waits (up to 10 s) until no process still names ${mnt} on its
 * command line: the FUSE daemon writes its last metadata as it exits. */
static void wait_fuse_gone(const char *mnt)
{
	for (int i = 0; i < 100; i++) {
		int alive = 0;
		DIR *proc = opendir("/proc");
		struct dirent *e;
		while (proc && !alive && (e = readdir(proc))) {
			if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
				continue;
			char path[300], b[4096];
			snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			ssize_t n = read(fd, b, sizeof b - 1);
			close(fd);
			if (n <= 0)
				continue;
			b[n] = 0;
			for (ssize_t k = 0; k < n; k++)
				if (!b[k])
					b[k] = ' ';
			if (strstr(b, mnt) && (strstr(b, "fusefat") || strstr(b, "exfat")))
				alive = 1;
		}
		if (proc)
			closedir(proc);
		if (!alive)
			return;
		sleep_ms(100);
	}
}

static int usb_unmount(struct dst_usb *u)
{
	if (!u->we_mounted)
		return 0;
	sync();
	int rc = umount2(u->mnt, 0);
	if (rc != 0 && u->fuse) {
		char *argv[] = { "fusermount", "-u", u->mnt, NULL };
		rc = util_run(argv, 1) == 0 ? 0 : -1;
	}
	if (rc != 0)
		rc = umount2(u->mnt, MNT_DETACH);
	if (u->fuse)
		wait_fuse_gone(u->mnt);
	if (rc == 0) {
		u->we_mounted = 0;
		rmdir(u->mnt);
	}
	return rc;
}

static void usb_free(struct dst *d)
{
	struct dst_usb *u = (struct dst_usb *)d;
	dst_free(u->inner);
	if (u->mnt)
		usb_unmount(u);
	free(u->dev);
	free(u->mnt);
	free(u->d.url);
	free(u);
}

static const struct dst_ops dst_ops_usb = {
	.name = "usb",
	.local = 1,
	.put_file = usb_put_file,
	.put_fd = usb_put_fd,
	.put_buf = usb_put_buf,
	.get = usb_get,
	.get_range = usb_get_range,
	.stat = usb_stat,
	.mtime = usb_mtime,
	.list = usb_list,
	.del = usb_del,
	.free = usb_free,
	.open_read = usb_open_read,
	.stage_open = usb_stage_open,
	.stage_commit = usb_stage_commit,
	.prepare = usb_prepare,
	.cleanup = usb_cleanup,
	.root_is = usb_root_is,
	.write_error = usb_space_error,
};

/* Where a process's command line names a mount point: a FUSE driver's ("fusefat -o rw+ DEV
 * DIR"). Malloc'd, or NULL. */
static char *cmdline_mount(const char *pid)
{
	char path[64], b[4096];
	snprintf(path, sizeof path, "/proc/%.20s/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	b[n] = 0;
	for (char *arg = b; arg < b + n; arg += strlen(arg) + 1)
		if (arg[0] == '/' && mounts_find(NULL, arg, NULL))
			return strdup(arg);
	return NULL;
}

/* 1 when another process holds the device ${dev} open: a FUSE driver serving it, which
 * /proc/self/mounts does not name (fusefat shows "fusefat" as the source); ${*ret_mnt} is
 * then where it is mounted, when its command line says (else NULL). Two FAT drivers writing
 * one device corrupt it: such a drive is used where it is, never mounted a second time. */
static int dev_holder(const char *dev, char **ret_mnt)
{
	char rdev[PATH_MAX];
	*ret_mnt = NULL;
	if (!realpath(dev, rdev))
		return 0;
	DIR *pd = opendir("/proc");
	int found = 0;
	struct dirent *p;
	while (pd && !found && (p = readdir(pd))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9' || atol(p->d_name) == (long)getpid())
			continue;
		char fdp[64];
		snprintf(fdp, sizeof fdp, "/proc/%.20s/fd", p->d_name);
		DIR *fd = opendir(fdp);
		struct dirent *e;
		while (fd && !found && (e = readdir(fd))) {
			char lp[96], target[PATH_MAX];
			snprintf(lp, sizeof lp, "%s/%.20s", fdp, e->d_name);
			ssize_t n = readlink(lp, target, sizeof target - 1);
			if (n > 0) {
				target[n] = 0;
				found = strcmp(target, rdev) == 0;
			}
		}
		if (fd)
			closedir(fd);
		if (found)
			*ret_mnt = cmdline_mount(p->d_name);
	}
	if (pd)
		closedir(pd);
	return found;
}

static int usb_mount(struct dst_usb *u, const char *type, const char *spec, struct cf_error *err)
{
	if (util_mkdirs(u->mnt, 0700) != 0)
		return cf_error_sys(err, CF_EIO, "cannot create the mount point '%s'", u->mnt);
	int rc = -1;
	if (strcmp(type, "vfat") == 0 || strcmp(type, "msdos") == 0) {
		char *argv[] = { "fusefat", "-o", "rw+", u->dev, u->mnt, NULL };
		u->fuse = 1;
		rc = util_run(argv, 1);
	} else if (strcmp(type, "exfat") == 0) {
		char *argv[] = { "mount.exfat-fuse", u->dev, u->mnt, NULL };
		u->fuse = 1;
		rc = util_run(argv, 1);
	} else {
		if (mount(u->dev, u->mnt, type, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
			rc = 0;
		else
			return cf_error_sys(err, CF_EUNREACH, "cannot mount the drive usb:%s (%s, %s) "
				"on '%s'", spec, u->dev, type, u->mnt);
	}
	if (rc == 127)
		return cf_error_set(err, CF_EUNREACH, "cannot mount the drive usb:%s (%s): the FUSE "
			"helper for %s is not installed (fusefat or exfat-fuse)", spec, u->dev, type);
	/* A daemonising FUSE helper returns once mounted; check that it is. */
	for (int i = 0; rc == 0 && i < 50 && !mounts_find(NULL, u->mnt, NULL); i++)
		sleep_ms(100);
	if (rc != 0 || !mounts_find(NULL, u->mnt, NULL))
		return cf_error_set(err, CF_EUNREACH, "cannot mount the drive usb:%s (%s, %s) on '%s'",
			spec, u->dev, type, u->mnt);
	u->we_mounted = 1;
	return 0;
}

int dst_usb_open(const char *spec, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err)
{
	(void)opt;
	const char *tag = "LABEL", *val = spec;
	if (strncmp(spec, "UUID=", 5) == 0) {
		tag = "UUID";
		val = spec + 5;
	} else if (strncmp(spec, "LABEL=", 6) == 0) {
		val = spec + 6;
	}
	if (!*val)
		return cf_error_set(err, CF_EUSAGE, "usb: expected usb:LABEL or usb:UUID=...");
	struct dst_usb *u = calloc(1, sizeof *u);
	if (!u)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	u->d.ops = &dst_ops_usb;
	u->d.url = util_path("usb:%s", spec);
	int rc = 0;
	blkid_cache cache = NULL;
	char *type = NULL;
	if (!u->d.url) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	/* No cache file: scan the devices now (there may be no udev and no /dev/disk/by-*). */
	if (blkid_get_cache(&cache, "/dev/null") < 0) {
		rc = cf_error_set(err, CF_EIO, "usb:%s: cannot start libblkid", spec);
		goto out;
	}
	blkid_probe_all(cache);
	u->dev = blkid_get_devname(cache, tag, val);
	/* A drive just written and unmounted (its FUSE daemon flushing as it exits, another
	 * device being attached or detached) may not probe for a moment: look again briefly
	 * before saying it is not there. */
	for (int tries = 0; !u->dev && tries < 4; tries++) {
		sleep_ms(250);
		blkid_put_cache(cache);
		cache = NULL;
		if (blkid_get_cache(&cache, "/dev/null") < 0)
			break;
		blkid_probe_all(cache);
		u->dev = blkid_get_devname(cache, tag, val);
	}
	if (!u->dev) {
		rc = cf_error_set(err, CF_EUNREACH, "the drive usb:%s is not plugged in (no filesystem "
			"with %s %s found)", spec, tag, val);
		goto out;
	}
	type = blkid_get_tag_value(cache, "TYPE", u->dev);
	char *existing = NULL;
	if (mounts_find(u->dev, NULL, &existing)) {
		u->mnt = existing;	/* mounted by someone else: use it, leave it mounted */
	} else {
		char safe[64];
		size_t k = 0;
		for (const char *p = val; *p && k + 1 < sizeof safe; p++)
			safe[k++] = (strchr("/ \\\n\t", *p) || *p == '.') ? '_' : *p;
		safe[k] = 0;
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		u->mnt = geteuid() == 0 || !xdg || !*xdg ? util_path("/run/coffre/usb-%s", safe)
							 : util_path("%s/coffre/usb-%s", xdg, safe);
		if (!u->mnt) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		char *held = NULL;
		if (mounts_find(NULL, u->mnt, NULL)) {
			/* A stale mount of ours (a crash): take it over and unmount it at the end. */
			u->we_mounted = 1;
			u->fuse = type && strcmp(type, "ext4") != 0;
		} else if (dev_holder(u->dev, &held)) {
			/* A FUSE driver that was just unmounted lets go of the device shortly. */
			for (int i = 0; !held && i < 8 && dev_holder(u->dev, &held); i++)
				sleep_ms(250);
			if (!held && !dev_holder(u->dev, &held))
				goto mount;
			if (!held) {
				rc = cf_error_set(err, CF_EUNREACH, "the drive usb:%s (%s) is in use by "
					"another program, not mounted where coffre can see: unmount it "
					"there first", spec, u->dev);
				goto out;
			}
			free(u->mnt);
			u->mnt = held;	/* a FUSE mount of someone else's: use it, leave it */
		} else {
mount:
			rc = usb_mount(u, type ? type : "auto", spec, err);
			if (rc)
				goto out;
		}
	}
	char *root = util_path("%s/coffre", u->mnt);
	if (!root) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	struct stat st;
	/* The drive is not trusted: its coffre folder must be a folder, not a link elsewhere. */
	if (lstat(root, &st) == 0 && !S_ISDIR(st.st_mode)) {
		rc = cf_error_set(err, CF_EIO, "refused: 'coffre' on the drive usb:%s is not a folder "
			"(a symbolic link?)", spec);
		free(root);
		goto out;
	}
	if (lstat(root, &st) != 0 && (mkdir(root, 0700) != 0 && errno != EEXIST)) {
		rc = cf_error_sys(err, CF_EIO, "cannot create '%s' on the drive usb:%s", root, spec);
		free(root);
		goto out;
	}
	rc = dst_local_open(root, &u->inner, err);
	free(root);
	if (rc)
		goto out;
	u->d.lock_note = "usb drive: no object lock (unmounted after each run)";
out:
	free(type);
	if (cache)
		blkid_put_cache(cache);
	if (rc) {
		usb_free(&u->d);
		return rc;
	}
	*ret = &u->d;
	return 0;
}
