/* ctl.c: the control socket, both ends. */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "coffre/ctl.h"
#include "coffre/error.h"

static int fill_addr(struct sockaddr_un *a, const char *path, struct cf_error *err)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof a->sun_path)
		return cf_error_set(err, CF_EUSAGE, "socket path '%s' is too long", path);
	strcpy(a->sun_path, path);
	return 0;
}

int ctl_listen(const char *path, struct cf_error *err)
{
	struct sockaddr_un a;
	int rc = fill_addr(&a, path, err);
	if (rc)
		return rc;
	char *dir = strdup(path);
	if (!dir)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		/* Searchable by all: the socket's own mode says who may connect. */
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			rc = cf_error_sys(err, CF_EIO, "cannot create '%s'", dir);
			free(dir);
			return rc;
		}
	}
	free(dir);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cf_error_sys(err, CF_EIO, "cannot create the control socket");
	/* A socket left by a daemon that died: replace it, unless one still answers. */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&a, sizeof a) == 0) {
			close(probe);
			close(fd);
			return cf_error_set(err, CF_ELOCKED, "another coffred answers on '%s'", path);
		}
		close(probe);
	}
	unlink(path);
	/* Root only until ctl_set_group() opens it to a group. */
	mode_t old = umask(0177);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		umask(old);
		rc = cf_error_sys(err, CF_EIO, "cannot bind the control socket '%s'", path);
		close(fd);
		return rc;
	}
	umask(old);
	chmod(path, 0600);
	if (listen(fd, 16) != 0) {
		rc = cf_error_sys(err, CF_EIO, "cannot listen on '%s'", path);
		close(fd);
		return rc;
	}
	return fd;
}

int ctl_set_group(const char *path, const char *group, struct cf_error *err)
{
	struct group gr, *found = NULL;
	char buf[16384];
	int e = getgrnam_r(group, &gr, buf, sizeof buf, &found);
	if (!found) {
		if (e == 0 || e == ENOENT || e == ESRCH) {
			/* Given to a group before (a reload): take it back. */
			if (chmod(path, 0600) != 0)
				return cf_error_sys(err, CF_EIO, "cannot chmod '%s'", path);
			return CTL_NO_GROUP;
		}
		errno = e;
		return cf_error_sys(err, CF_EIO, "cannot look the group '%s' up", group);
	}
	if (chown(path, (uid_t)-1, gr.gr_gid) != 0 || chmod(path, 0660) != 0)
		return cf_error_sys(err, CF_EIO, "cannot give the control socket '%s' to group "
			"'%s'", path, group);
	/* The group must also be able to reach the socket through its folder. */
	char *dir = strdup(path);
	if (!dir)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir ? 1 : 0] = 0;
	struct stat st;
	int reach = slash && stat(dir, &st) == 0 && ((st.st_mode & S_IXOTH) ||
		(st.st_gid == gr.gr_gid && (st.st_mode & S_IXGRP)));
	free(dir);
	return reach ? 0 : CTL_GROUP_NO_SEARCH;
}

/* Milliseconds left until ${deadline} (CLOCK_MONOTONIC, ms), at least 0. */
static int ms_left(int64_t deadline)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return deadline > now ? (int)(deadline - now) : 0;
}

static int64_t deadline_in(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms;
}

/* The daemon serves the socket on its event loop: a client that trickles its request, or
 * reads its reply a byte at a time, must not hold signals, schedule and inotify for longer
 * than this, in all. */
#define CTL_READ_MS 1000
#define CTL_WRITE_MS 2000

int ctl_read_request(int fd, char *buf, size_t n)
{
	size_t got = 0;
	int64_t deadline = deadline_in(CTL_READ_MS);
	while (got + 1 < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = ms_left(deadline);
		if (left == 0)
			return -1;
		int r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t k = recv(fd, buf + got, n - 1 - got, MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
		if (memchr(buf, '\n', got))
			break;
	}
	buf[got] = 0;
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	return got ? 0 : -1;
}

static int send_all(int fd, const char *p, size_t len, int64_t deadline)
{
	size_t off = 0;
	while (off < len) {
		struct pollfd q = { .fd = fd, .events = POLLOUT };
		int left = ms_left(deadline);
		if (left == 0)
			return -1;
		int r = poll(&q, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t k = send(fd, p + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		off += (size_t)k;
	}
	return 0;
}

int ctl_reply(int fd, const char *text)
{
	int64_t deadline = deadline_in(CTL_WRITE_MS);
	if (send_all(fd, text, strlen(text), deadline) != 0)
		return -1;
	return send_all(fd, "\n", 1, deadline);
}

int ctl_request(const char *path, const char *req, char **ret, struct cf_error *err)
{
	struct sockaddr_un a;
	int rc = fill_addr(&a, path, err);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cf_error_sys(err, CF_EIO, "cannot create a socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		if (errno == EACCES || errno == EPERM)
			rc = cf_error_sys(err, CF_EUNREACH, "not allowed to talk to coffred on '%s' "
				"(root and members of its socket group only)", path);
		else
			rc = cf_error_sys(err, CF_EUNREACH, "coffred is not answering on '%s'", path);
		close(fd);
		return rc;
	}
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t len = strlen(req);
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		rc = cf_error_sys(err, CF_EIO, "cannot send to coffred");
		close(fd);
		return rc;
	}
	shutdown(fd, SHUT_WR);
	size_t cap = 4096, got = 0;
	char *out = malloc(cap);
	if (!out) {
		close(fd);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	for (;;) {
		if (got + 1 == cap) {
			if (cap > (64u << 20))
				break;
			char *n = realloc(out, cap * 2);
			if (!n)
				break;
			out = n;
			cap *= 2;
		}
		ssize_t k = read(fd, out + got, cap - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = cf_error_sys(err, CF_EIO, "cannot read the reply of coffred");
			free(out);
			close(fd);
			return rc;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	out[got] = 0;
	*ret = out;
	return 0;
}
