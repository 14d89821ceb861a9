/* desktop.c: the graphical sessions of the people using this machine, found in /proc (no
 * logind here): a process of a person's account whose environment names a display. Their
 * environments are theirs: read bounded, never through a link, each value checked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/desktop.h"

static const char *const var_names[_DESKTOP_VARS] = { "DISPLAY", "WAYLAND_DISPLAY",
	"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR" };

const char *desktop_var_name(enum desktop_var k)
{
	return k >= 0 && k < _DESKTOP_VARS ? var_names[k] : NULL;
}

/* A value that may go into an environment: printable ASCII, not empty, not too long. */
static int value_ok(const char *v, size_t n)
{
	if (n == 0 || n >= DESKTOP_VALUE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return 0;
	return 1;
}

int desktop_env_parse(const void *bytes, size_t len, struct desktop_env *ret)
{
	const char *p = bytes, *end = p + len;
	unsigned seen = 0;
	memset(ret, 0, sizeof *ret);
	while (p < end) {
		const char *nul = memchr(p, 0, (size_t)(end - p));
		if (!nul)
			break;	/* cut: not trusted */
		size_t n = (size_t)(nul - p);
		for (int k = 0; k < _DESKTOP_VARS; k++) {
			size_t kl = strlen(var_names[k]);
			if (n <= kl || memcmp(p, var_names[k], kl) != 0 || p[kl] != '=')
				continue;
			/* The first one counts, as getenv takes it. */
			if (!(seen & (1u << k)) && value_ok(p + kl + 1, n - kl - 1))
				memcpy(ret->v[k], p + kl + 1, n - kl - 1);
			seen |= 1u << k;
			break;
		}
		p = nul + 1;
	}
	return ret->v[DESKTOP_DISPLAY][0] || ret->v[DESKTOP_WAYLAND][0];
}

/* The first DESKTOP_ENV_MAX bytes of ${pid}'s environment into ${buf}; their count, or -1. */
static ssize_t read_environ(int dfd, char *buf)
{
	int fd = openat(dfd, "environ", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got < DESKTOP_ENV_MAX) {
		ssize_t n = read(fd, buf + got, DESKTOP_ENV_MAX - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int desktop_find(const char *proc, struct desktop_session *ret, size_t max, size_t *ret_n,
	size_t *ret_denied)
{
	*ret_n = 0;
	*ret_denied = 0;
	DIR *dir = opendir(proc);
	if (!dir)
		return -1;
	char *buf = malloc(DESKTOP_ENV_MAX);
	if (!buf) {
		closedir(dir);
		errno = ENOMEM;
		return -1;
	}
	size_t n = 0;
	for (struct dirent *e; n < max && (e = readdir(dir));) {
		if (!all_digits(e->d_name))
			continue;
		int dfd = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			O_CLOEXEC);
		struct stat st;
		if (dfd < 0)
			continue;
		int keep = fstat(dfd, &st) == 0 && st.st_uid >= DESKTOP_UID_MIN &&
			   st.st_uid < DESKTOP_UID_MAX;
		for (size_t i = 0; keep && i < n; i++)
			keep = ret[i].uid != st.st_uid;	/* one notification a person */
		ssize_t len = keep ? read_environ(dfd, buf) : -1;
		*ret_denied += len < 0 && keep && (errno == EACCES || errno == EPERM);
		close(dfd);
		if (len > 0 && desktop_env_parse(buf, (size_t)len, &ret[n].env)) {
			ret[n].uid = st.st_uid;
			ret[n].gid = st.st_gid;
			n++;
		}
	}
	free(buf);
	closedir(dir);
	*ret_n = n;
	return 0;
}

int desktop_program(const char *path_env, char *out, size_t n)
{
	const char *p = path_env && *path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
	while (*p) {
		size_t len = strcspn(p, ":");
		struct stat st;
		/* Only absolute folders: coffred's working folder is no place to find it. */
		if (p[0] == '/' && (size_t)snprintf(out, n, "%.*s/notify-send", (int)len, p) < n &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
			return 0;
		p += len + (p[len] == ':');
	}
	out[0] = 0;
	return -1;
}
