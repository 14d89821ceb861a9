/* roots.c: the protected folders: their watches (watch_), and the return of those that went
 * away. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/cfg.h"
#include "coffre/error.h"
#include "coffre/sched.h"
#include "coffre/watch.h"
#include "coffred.h"

static void on_watch_warning(void *ctx, const char *msg)
{
	(void)ctx;
	logf_("warning: %s", msg);
}

/* Logs when folders stop or start being all watched. */
void roots_report(struct daemon *d)
{
	struct watch_info wi;
	watch_info(d->w, &wi);
	if (d->unwatched && !wi.unwatched)
		logf_("every folder is watched again: backups read only what changed");
	else if (wi.unwatched && wi.unwatched != d->unwatched)
		logf_("warning: %zu folders cannot be watched (tried again before each backup); "
			"until then every backup reads every folder", wi.unwatched);
	d->unwatched = wi.unwatched;
}

/* The parents of missing roots changed: some may be back. */
static void on_parents(struct daemon *d)
{
	char buf[4096];
	while (read(d->rfd, buf, sizeof buf) > 0)
		;
	if (roots_check(d) > 0 && !d->running)
		job_rearm(d);
}

/* Changes under the roots. */
static void on_changes(struct daemon *d)
{
	int k = watch_process(d->w);
	guard_poll(d);
	if (k > 0)
		roots_check(d);
	roots_report(d);
	if (k > 0) {
		d->last_change = time(NULL);
		if (d->running)
			d->change_during_run = 1;
		else if (d->cfg->schedule.kind == SCHED_AFTER_CHANGE)
			job_rearm(d);
	}
}

/* Watches the nearest existing parent of each missing root (rfd), so that a folder renamed
 * back or recreated is noticed at once; a root that is back is watched again with a full
 * scan pending and counts as a change. Returns the number of roots that came back. */
int roots_check(struct daemon *d)
{
	int back = 0;
	if (d->rfd >= 0) {
		loop_del(d, d->rfd);
		close(d->rfd);
		d->rfd = -1;
	}
	for (size_t i = 0; i < d->cfg->npaths; i++) {
		const char *p = d->cfg->paths[i];
		struct stat st;
		int was_missing = d->missing && d->missing[i];
		if (watch_root_watched(d->w, p)) {
			if (d->missing)
				d->missing[i] = 0;
			continue;
		}
		if (lstat(p, &st) == 0) {
			struct cf_error err = { 0 };
			if (watch_add_root(d->w, p, &err) == 0) {
				watch_request_full_scan(d->w);
				d->last_change = time(NULL);
				if (d->missing)
					d->missing[i] = 0;
				logf_("'%s' is back: watched again, the next backup reads everything", p);
				back++;
				continue;
			}
		} else if (!was_missing) {
			logf_("warning: '%s' is missing: left out of the backups until it is back", p);
		}
		if (d->missing)
			d->missing[i] = 1;
		char *anc = strdup(p);
		if (!anc)
			continue;
		for (;;) {
			char *slash = strrchr(anc, '/');
			if (!slash)
				break;
			if (slash == anc)
				slash[1] = 0;
			else
				*slash = 0;
			if (stat(anc, &st) == 0 || strcmp(anc, "/") == 0)
				break;
		}
		if (d->rfd < 0)
			d->rfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (d->rfd < 0 || inotify_add_watch(d->rfd, anc, IN_CREATE | IN_MOVED_TO |
			IN_ATTRIB | IN_ONLYDIR) < 0)
			logf_("warning: cannot watch '%s' for the return of '%s': %s", anc, p,
				strerror(errno));
		free(anc);
	}
	if (d->rfd >= 0 && loop_add(d, d->rfd, on_parents) != 0)
		logf_("warning: epoll: %s", strerror(errno));
	return back;
}

/* roots_build_watch(d, c): a new watcher over the roots of ${c}, replacing the current one.
 * Returns 0, or -1 (said) with the current one kept. */
int roots_build_watch(struct daemon *d, const struct cfg *c)
{
	struct watch *w = NULL;
	struct cf_error err = { 0 };
	if (watch_new(on_watch_warning, d, &w, &err)) {
		logf_("error: %s", err.msg);
		return -1;
	}
	guard_attach(d, w, c);
	for (size_t i = 0; i < c->npaths; i++)
		if (watch_add_root(w, c->paths[i], &err))
			logf_("warning: %s", err.msg);
	if (loop_add(d, watch_fd(w), on_changes) != 0) {
		logf_("error: epoll: %s", strerror(errno));
		watch_free(w);
		return -1;
	}
	if (d->w) {
		loop_del(d, watch_fd(d->w));
		watch_free(d->w);
	}
	d->w = w;
	free(d->missing);
	d->missing = calloc(c->npaths ? c->npaths : 1, 1);
	struct watch_info wi;
	watch_info(w, &wi);
	logf_("watching %zu folders under %zu protected paths", wi.watches, c->npaths);
	d->unwatched = 0;
	roots_report(d);
	return 0;
}
