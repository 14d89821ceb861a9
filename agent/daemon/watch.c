/* watch.c: inotify watches on every directory, a dirty set of directory paths. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/error.h"
#include "coffre/watch.h"

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | \
	IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

struct dirty {
	char *path;
	uint64_t gen;
};

struct watch {
	int fd;
	pthread_mutex_t mu;
	char **wd_path;		/* indexed by watch descriptor */
	size_t wd_cap, nwatches;
	struct dirty *dirty;
	size_t ndirty, dirty_cap;
	uint64_t gen;		/* bumped by watch_mark */
	int full_scan;
	uint64_t full_scan_gen;
	/* Directories that could not be watched (limit reached, no permission), retried by
	 * watch_retry(); while there are any, the watcher is incomplete. */
	char **failed;
	size_t nfailed, failed_cap;
	int at_limit;		/* ENOSPC since the last retry: record, do not ask the kernel */
	int retrying;		/* a retry: do not warn again about the same folders */
	int limit_warned;
	uint64_t overflows;
	uint64_t drops;		/* watches given back so far */
	void (*warn)(void *ctx, const char *msg);
	void *ctx;
	watch_observer obs;
	void *obs_ctx;
};

void watch_set_observer(struct watch *w, watch_observer fn, void *ctx)
{
	pthread_mutex_lock(&w->mu);
	w->obs = fn;
	w->obs_ctx = ctx;
	pthread_mutex_unlock(&w->mu);
}

/* The observer's view of an event's mask: one kind, the first that applies. */
static void observe(struct watch *w, uint32_t mask, const char *dir, const char *name)
{
	static const struct {
		uint32_t bit;
		enum watch_ev ev;
	} kinds[] = {
		{ IN_CREATE, WATCH_EV_CREATE }, { IN_CLOSE_WRITE, WATCH_EV_WRITE },
		{ IN_DELETE, WATCH_EV_DELETE }, { IN_MOVED_FROM, WATCH_EV_MOVED_FROM },
		{ IN_MOVED_TO, WATCH_EV_MOVED_TO },
	};
	if (!w->obs)
		return;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (mask & kinds[i].bit) {
			w->obs(w->obs_ctx, kinds[i].ev, dir, name, (mask & IN_ISDIR) != 0);
			return;
		}
}

static void warnf(struct watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warnf(struct watch *w, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	if (!w->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	w->warn(w->ctx, msg);
}

static int under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

/* Callers hold mu. */
static void mark_dirty(struct watch *w, const char *path)
{
	for (size_t i = 0; i < w->ndirty; i++)
		if (strcmp(w->dirty[i].path, path) == 0) {
			w->dirty[i].gen = w->gen;
			return;
		}
	if (w->ndirty == w->dirty_cap) {
		size_t cap = w->dirty_cap ? 2 * w->dirty_cap : 64;
		struct dirty *nd = realloc(w->dirty, cap * sizeof *nd);
		if (!nd)
			goto oom;
		w->dirty = nd;
		w->dirty_cap = cap;
	}
	char *d = strdup(path);
	if (!d)
		goto oom;
	w->dirty[w->ndirty].path = d;
	w->dirty[w->ndirty].gen = w->gen;
	w->ndirty++;
	return;
oom:
	/* Cannot remember the change: read everything next time. */
	w->full_scan = 1;
	w->full_scan_gen = w->gen;
}

/* Callers hold mu. A failure to remember is a full scan at every backup, as if the folder
 * were watched and always dirty. */
static void note_failed(struct watch *w, const char *path)
{
	if (w->nfailed == w->failed_cap) {
		size_t cap = w->failed_cap ? 2 * w->failed_cap : 16;
		char **nf = realloc(w->failed, cap * sizeof *nf);
		if (!nf)
			goto oom;
		w->failed = nf;
		w->failed_cap = cap;
	}
	if (!(w->failed[w->nfailed] = strdup(path)))
		goto oom;
	w->nfailed++;
	return;
oom:
	w->full_scan = 1;
	w->full_scan_gen = w->gen;
}

/* Takes ${path} out of the failed list: the caller owns the string (NULL: not there).
 * Callers hold mu. */
static char *take_failed(struct watch *w, const char *path)
{
	for (size_t i = 0; i < w->nfailed; i++)
		if (strcmp(w->failed[i], path) == 0) {
			char *p = w->failed[i];
			w->failed[i] = w->failed[--w->nfailed];
			return p;
		}
	return NULL;
}

int watch_new(void (*warn)(void *ctx, const char *msg), void *ctx, struct watch **ret,
	struct cf_error *err)
{
	struct watch *w = calloc(1, sizeof *w);
	if (!w)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		int rc = cf_error_sys(err, CF_EIO, "cannot start watching folders (inotify)");
		free(w);
		return rc;
	}
	pthread_mutex_init(&w->mu, NULL);
	w->warn = warn;
	w->ctx = ctx;
	w->full_scan = 1;
	w->gen = 1;
	*ret = w;
	return 0;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	close(w->fd);
	for (size_t i = 0; i < w->wd_cap; i++)
		free(w->wd_path[i]);
	for (size_t i = 0; i < w->ndirty; i++)
		free(w->dirty[i].path);
	for (size_t i = 0; i < w->nfailed; i++)
		free(w->failed[i]);
	free(w->failed);
	free(w->wd_path);
	free(w->dirty);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int watch_fd(const struct watch *w)
{
	return w->fd;
}

static int set_wd(struct watch *w, int wd, const char *path)
{
	if ((size_t)wd >= w->wd_cap) {
		size_t cap = w->wd_cap ? w->wd_cap : 256;
		while (cap <= (size_t)wd)
			cap *= 2;
		char **np = realloc(w->wd_path, cap * sizeof *np);
		if (!np)
			return -1;
		memset(np + w->wd_cap, 0, (cap - w->wd_cap) * sizeof *np);
		w->wd_path = np;
		w->wd_cap = cap;
	}
	char *d = strdup(path);
	if (!d)
		return -1;
	if (w->wd_path[wd])
		free(w->wd_path[wd]);
	else
		w->nwatches++;
	w->wd_path[wd] = d;
	return 0;
}

static void drop_wd(struct watch *w, int wd)
{
	if (wd >= 0 && (size_t)wd < w->wd_cap && w->wd_path[wd]) {
		free(w->wd_path[wd]);
		w->wd_path[wd] = NULL;
		w->nwatches--;
		w->drops++;
	}
}

/* Watches ${path} and its subdirectories; ${dirty}: mark each dirty too (a folder that
 * appeared or moved in). Returns 0, or -1 when ${path} itself could not be watched. Callers
 * hold mu. */
static int add_tree(struct watch *w, const char *path, int dirty, int depth)
{
	if (w->at_limit) {
		note_failed(w, path);	/* the folders below wait with it */
		return -1;
	}
	int wd = inotify_add_watch(w->fd, path, WATCH_MASK);
	if (wd < 0) {
		int e = errno;
		if (e == ENOSPC) {
			w->at_limit = 1;
			note_failed(w, path);
			w->full_scan = 1;
			w->full_scan_gen = w->gen;
			if (!w->limit_warned) {
				w->limit_warned = 1;
				warnf(w, "watch limit reached at '%s': raise fs.inotify.max_user_watches "
					"(sysctl -w fs.inotify.max_user_watches=524288); until then every "
					"backup reads every folder", path);
			}
		} else if (e != ENOENT && e != ENOTDIR) {
			note_failed(w, path);
			if (!w->retrying)
				warnf(w, "cannot watch '%s': %s (tried again before each backup; until "
					"then every backup reads every folder)", path, strerror(e));
		}
		return -1;
	}
	if (set_wd(w, wd, path)) {
		w->full_scan = 1;
		w->full_scan_gen = w->gen;
		return 0;
	}
	if (dirty)
		mark_dirty(w, path);
	if (depth > 256)
		return 0;
	DIR *d = opendir(path);
	if (!d) {
		/* Not readable: the backup reports it; a change of its mode comes as IN_ATTRIB. */
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) {
			if (w->obs)
				w->obs(w->obs_ctx, WATCH_EV_EXISTS, path, e->d_name, 0);
			continue;
		}
		char *sub = NULL;
		if (asprintf(&sub, "%s/%s", strcmp(path, "/") == 0 ? "" : path, e->d_name) < 0)
			continue;
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;
			if (lstat(sub, &st) != 0 || !S_ISDIR(st.st_mode)) {
				if (w->obs)
					w->obs(w->obs_ctx, WATCH_EV_EXISTS, path, e->d_name, 0);
				free(sub);
				continue;
			}
		}
		add_tree(w, sub, dirty, depth + 1);
		free(sub);
	}
	closedir(d);
	return 0;
}

int watch_add_root(struct watch *w, const char *path, struct cf_error *err)
{
	pthread_mutex_lock(&w->mu);
	char *again = take_failed(w, path);	/* tried again now, warned before */
	w->retrying = again != NULL;
	free(again);
	int rc = add_tree(w, path, 0, 0);
	w->retrying = 0;
	pthread_mutex_unlock(&w->mu);
	if (rc)
		return cf_error_sys(err, CF_EIO, "cannot watch '%s'", path);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Tries the failed directories again, parents first; those now watched (and the folders
 * below them) are marked dirty: what changed there meanwhile was not seen. Returns how
 * many came back. Callers hold mu. */
static size_t retry_locked(struct watch *w)
{
	char **old = w->failed;
	size_t n = w->nfailed, before = w->nwatches;
	if (n == 0)
		return 0;
	w->failed = NULL;
	w->nfailed = w->failed_cap = 0;
	w->at_limit = 0;
	w->retrying = 1;
	qsort(old, n, sizeof *old, cmp_str);
	const char *last = NULL;
	for (size_t i = 0; i < n; i++) {
		/* A folder below one just tried again was tried with it. */
		if (last && under(old[i], last))
			continue;
		add_tree(w, old[i], 1, 0);
		last = old[i];
	}
	w->retrying = 0;
	for (size_t i = 0; i < n; i++)
		free(old[i]);
	free(old);
	if (w->nfailed == 0)
		w->limit_warned = 0;	/* warn again if the limit is reached again */
	return w->nwatches > before ? w->nwatches - before : 0;
}

size_t watch_retry(struct watch *w)
{
	pthread_mutex_lock(&w->mu);
	size_t back = retry_locked(w);
	pthread_mutex_unlock(&w->mu);
	return back;
}

/* A folder whose mode changed may have become readable: try it again now. Callers hold mu. */
static void retry_one(struct watch *w, const char *path)
{
	char *p = take_failed(w, path);
	if (!p)
		return;
	w->retrying = 1;
	add_tree(w, p, 1, 0);
	w->retrying = 0;
	free(p);
}

/* Forgets the watches of ${path} and everything below (a folder moved or deleted). */
static void drop_tree(struct watch *w, const char *path)
{
	for (size_t i = 0; i < w->wd_cap; i++)
		if (w->wd_path[i] && under(w->wd_path[i], path)) {
			inotify_rm_watch(w->fd, (int)i);
			drop_wd(w, (int)i);
		}
}

int watch_process(struct watch *w)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	int changes = 0;
	pthread_mutex_lock(&w->mu);
	uint64_t drops0 = w->drops;
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			pthread_mutex_unlock(&w->mu);
			return -1;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			p += sizeof *ev + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				w->overflows++;
				w->full_scan = 1;
				w->full_scan_gen = w->gen;
				changes++;
				if (w->obs)
					w->obs(w->obs_ctx, WATCH_EV_OVERFLOW, "", "", 0);
				warnf(w, "too many changes at once (inotify queue overflow): the next "
					"backup reads every folder; raising fs.inotify.max_queued_events "
					"helps");
				continue;
			}
			if (ev->wd < 0 || (size_t)ev->wd >= w->wd_cap || !w->wd_path[ev->wd])
				continue;
			const char *dir = w->wd_path[ev->wd];
			if (ev->mask & IN_IGNORED) {
				drop_wd(w, ev->wd);
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
				/* The folder itself went away: its parent (if watched) saw it too;
				 * a root going away makes the root dirty. */
				if (w->obs)
					w->obs(w->obs_ctx, ev->mask & IN_DELETE_SELF ? WATCH_EV_DELETE :
						WATCH_EV_MOVED_FROM, dir, "", 1);
				mark_dirty(w, dir);
				changes++;
				char *copy = strdup(dir);
				if (copy) {
					drop_tree(w, copy);
					free(copy);
				}
				continue;
			}
			mark_dirty(w, dir);
			changes++;
			if (ev->len)
				observe(w, ev->mask, dir, ev->name);
			if (!ev->len || !(ev->mask & IN_ISDIR))
				continue;
			char *sub = NULL;
			if (asprintf(&sub, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, ev->name) < 0)
				continue;
			if (ev->mask & (IN_CREATE | IN_MOVED_TO))
				add_tree(w, sub, 1, 0);
			else if (ev->mask & IN_MOVED_FROM)
				drop_tree(w, sub);
			else if (ev->mask & IN_ATTRIB) {
				mark_dirty(w, sub);	/* now readable, perhaps */
				if (w->nfailed && !w->at_limit)
					retry_one(w, sub);
			}
			free(sub);
		}
	}
	/* Watches were given back (folders deleted or moved away): room for those that hit
	 * the limit. The kernel only says so through these events; no polling. */
	if (w->at_limit && w->drops != drops0 && retry_locked(w))
		changes++;
	pthread_mutex_unlock(&w->mu);
	return changes;
}

int watch_clean(void *ctx, const char *path)
{
	struct watch *w = ctx;
	int clean = 1;
	pthread_mutex_lock(&w->mu);
	if (w->full_scan || w->nfailed) {
		clean = 0;
	} else {
		for (size_t i = 0; i < w->ndirty && clean; i++)
			if (under(w->dirty[i].path, path))
				clean = 0;
	}
	pthread_mutex_unlock(&w->mu);
	return clean;
}

uint64_t watch_mark(struct watch *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t mark = w->gen++;
	pthread_mutex_unlock(&w->mu);
	return mark;
}

void watch_clear(struct watch *w, uint64_t mark)
{
	pthread_mutex_lock(&w->mu);
	size_t o = 0;
	for (size_t i = 0; i < w->ndirty; i++) {
		if (w->dirty[i].gen <= mark)
			free(w->dirty[i].path);
		else
			w->dirty[o++] = w->dirty[i];
	}
	w->ndirty = o;
	if (w->full_scan && w->full_scan_gen <= mark)
		w->full_scan = 0;
	pthread_mutex_unlock(&w->mu);
}

void watch_request_full_scan(struct watch *w)
{
	pthread_mutex_lock(&w->mu);
	w->full_scan = 1;
	w->full_scan_gen = w->gen;
	pthread_mutex_unlock(&w->mu);
}

void watch_info(struct watch *w, struct watch_info *ret)
{
	pthread_mutex_lock(&w->mu);
	ret->watches = w->nwatches;
	ret->dirty = w->ndirty;
	ret->full_scan = w->full_scan;
	ret->incomplete = w->nfailed > 0;
	ret->unwatched = w->nfailed;
	ret->overflows = w->overflows;
	pthread_mutex_unlock(&w->mu);
}

int watch_root_watched(struct watch *w, const char *path)
{
	int found = 0;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->wd_cap && !found; i++)
		if (w->wd_path[i] && strcmp(w->wd_path[i], path) == 0)
			found = 1;
	pthread_mutex_unlock(&w->mu);
	return found;
}
