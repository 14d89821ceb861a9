/* setup_drive.c: the USB drives that may receive the backups, found with libblkid (block
 * devices holding a filesystem, removable or on the USB bus), or a drive given by hand. A
 * drive is named in the configuration by its label (usb:LABEL) or else its UUID, so that
 * it is found again whatever device name it gets next time. Nothing here writes to a drive. */
#include <blkid/blkid.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "setup.h"
#include "base/util.h"

#define DRIVE_MAX 32

void setup_drive_release(struct setup_drive *d)
{
	free(d->url);
	free(d->name);
	free(d->dev);
	memset(d, 0, sizeof *d);
}

void setup_drives_release(struct setup_drives *l)
{
	for (size_t i = 0; i < l->n; i++)
		setup_drive_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The first line of a small sysfs file, trimmed, into ${out}; "" when unreadable. */
static void sys_read(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "re");
	out[0] = 0;
	if (!f)
		return;
	if (!fgets(out, (int)n, f))
		out[0] = 0;
	fclose(f);
	size_t len = strlen(out);
	while (len && isspace((unsigned char)out[len - 1]))
		out[--len] = 0;
	size_t skip = strspn(out, " \t");
	memmove(out, out + skip, len - skip + 1);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			*c = '?';
}

/* A label that usb:LABEL carries unchanged through the configuration and the mount point. */
static int label_ok(const char *s)
{
	if (!*s || strlen(s) > 32)
		return 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (!isalnum(*c) && !strchr("-_.", *c))
			return 0;
	return 1;
}

/* Whether the device ${base} (sdb1, sdb) is a removable or USB disk, and its model. */
static int removable(const char *base, char *model, size_t n)
{
	char path[PATH_MAX], val[64], link[PATH_MAX];
	/* A partition's own directory has no "removable": its disk's is one level up. */
	const char *const up[] = { "", "/.." };
	int rem = 0;
	for (size_t i = 0; i < 2 && !rem; i++) {
		snprintf(path, sizeof path, "/sys/class/block/%s%s/removable", base, up[i]);
		sys_read(path, val, sizeof val);
		rem = strcmp(val, "1") == 0;
	}
	snprintf(path, sizeof path, "/sys/class/block/%s", base);
	ssize_t k = readlink(path, link, sizeof link - 1);
	if (k > 0) {
		link[k] = 0;
		if (strstr(link, "/usb"))
			rem = 1;
	}
	char vendor[64];
	snprintf(path, sizeof path, "/sys/class/block/%s/device/model", base);
	sys_read(path, model, n);
	if (!model[0]) {
		snprintf(path, sizeof path, "/sys/class/block/%s/../device/model", base);
		sys_read(path, model, n);
	}
	snprintf(path, sizeof path, "/sys/class/block/%s/../device/vendor", base);
	sys_read(path, vendor, sizeof vendor);
	if (!model[0] && vendor[0])
		snprintf(model, n, "%s", vendor);
	return rem;
}

static uint64_t dev_size(const char *base)
{
	char path[PATH_MAX], val[64];
	snprintf(path, sizeof path, "/sys/class/block/%s/size", base);
	sys_read(path, val, sizeof val);
	return strtoull(val, NULL, 10) * 512;
}

/* Fill ${d} for the device ${dev} from libblkid's ${cache}; -1 when it has no filesystem
 * we can name. */
static int describe(blkid_cache cache, const char *dev, const char *model, struct setup_drive *d)
{
	char *type = blkid_get_tag_value(cache, "TYPE", dev);
	char *label = blkid_get_tag_value(cache, "LABEL", dev);
	char *uuid = blkid_get_tag_value(cache, "UUID", dev);
	const char *base = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	int rc = -1;
	memset(d, 0, sizeof *d);
	/* A filesystem, not swap nor a partition table nor a member of a RAID. */
	if (!type || strcmp(type, "swap") == 0 || strstr(type, "_member") || strstr(type, "LVM"))
		goto out;
	if (label && label_ok(label))
		d->url = util_path("usb:%s", label);
	else if (uuid && label_ok(uuid))
		d->url = util_path("usb:UUID=%s", uuid);
	else
		goto out;
	d->name = strdup(label && *label ? label : model && *model ? model : base);
	d->dev = strdup(dev);
	d->size = dev_size(base);
	if (!d->url || !d->name || !d->dev) {
		setup_drive_release(d);
		goto out;
	}
	rc = 0;
out:
	free(type);
	free(label);
	free(uuid);
	return rc;
}

int setup_find_drives(struct setup_drives *l)
{
	blkid_cache cache = NULL;
	/* No cache file: scan the devices now (there may be no udev). */
	if (blkid_get_cache(&cache, "/dev/null") < 0)
		return 0;
	blkid_probe_all(cache);
	blkid_dev_iterate it = blkid_dev_iterate_begin(cache);
	blkid_dev dev;
	int rc = 0;
	while (rc == 0 && l->n < DRIVE_MAX && blkid_dev_next(it, &dev) == 0) {
		const char *name = blkid_dev_devname(dev);
		const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
		char model[64];
		if (strncmp(base, "loop", 4) == 0 || !removable(base, model, sizeof model))
			continue;
		struct setup_drive d;
		if (describe(cache, name, model, &d) != 0)
			continue;
		struct setup_drive *v = realloc(l->v, (l->n + 1) * sizeof *v);
		if (!v) {
			setup_drive_release(&d);
			rc = -1;
			break;
		}
		l->v = v;
		l->v[l->n++] = d;
	}
	blkid_dev_iterate_end(it);
	blkid_put_cache(cache);
	return rc;
}

/* The block device mounted on ${dir} (exactly), malloc'd, or NULL. */
static char *mounted_dev(const char *dir)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char line[PATH_MAX * 2 + 64];
	char *found = NULL;
	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof line, f)) {
		char src[PATH_MAX], mnt[PATH_MAX];
		/* Names with spaces are octal-escaped in /proc/self/mounts: such a mount point
		 * simply does not match, and the folder is then used as a folder. */
		if (sscanf(line, "%4095s %4095s", src, mnt) == 2 && strcmp(mnt, dir) == 0 &&
		    strncmp(src, "/dev/", 5) == 0)
			found = strdup(src);
	}
	fclose(f);
	return found;
}

int setup_drive_from_path(const char *path, struct setup_drive *ret)
{
	char real[PATH_MAX];
	struct stat st;
	memset(ret, 0, sizeof *ret);
	if (!realpath(path, real) || stat(real, &st) != 0)
		return -1;
	char *dev = S_ISBLK(st.st_mode) ? strdup(real) : S_ISDIR(st.st_mode) ? mounted_dev(real)
									      : NULL;
	if (!S_ISBLK(st.st_mode) && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (dev) {
		blkid_cache cache = NULL;
		int rc = -1;
		if (blkid_get_cache(&cache, "/dev/null") >= 0) {
			blkid_dev bd = blkid_get_dev(cache, dev, BLKID_DEV_NORMAL);
			const char *base = strrchr(dev, '/') + 1;
			char model[64];
			removable(base, model, sizeof model);
			if (bd)
				rc = describe(cache, dev, model, ret);
			blkid_put_cache(cache);
		}
		free(dev);
		if (rc == 0)
			return 0;
		if (S_ISBLK(st.st_mode)) {
			errno = ENOMEDIUM;	/* no filesystem we can name: never formatted here */
			return -1;
		}
	}
	/* Any other folder (a drive mounted by other means, a second disk): a local
	 * destination in a folder of its own. */
	if (!setup_path_ok(real) || strlen(real) + 8 >= PATH_MAX) {
		errno = EINVAL;
		return -1;
	}
	ret->url = util_path("%s/coffre", strcmp(real, "/") == 0 ? "" : real);
	const char *base = strrchr(real, '/') + 1;
	ret->name = strdup(*base ? base : real);
	struct statvfs vs;
	if (statvfs(real, &vs) == 0)
		ret->size = (uint64_t)vs.f_blocks * vs.f_frsize;
	if (!ret->url || !ret->name) {
		setup_drive_release(ret);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}
