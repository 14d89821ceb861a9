/* watch.h: inotify over every directory of the protected trees, collecting the set of
 * directories where something changed, so a backup re-reads only those. */
#ifndef COFFRE_WATCH_H
#define COFFRE_WATCH_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct watch;

/* watch_new(warn, ctx, ret, err): an empty watcher. ${warn} receives warnings (watch limit
 * reached, queue overflow, a folder that cannot be watched); the engine never prints.
 * A new watcher has a full scan pending. */
int watch_new(void (*warn)(void *ctx, const char *msg), void *ctx, struct watch **ret,
	struct cf_error *err);
void watch_free(struct watch *w);

/* What the watcher saw of one entry, for an observer (the ransomware signals): never needed
 * to back up, so an observer that keeps nothing costs nothing. */
enum watch_ev {
	WATCH_EV_EXISTS,	/* found when its folder was first watched */
	WATCH_EV_CREATE,
	WATCH_EV_WRITE,		/* written and closed (IN_CLOSE_WRITE) */
	WATCH_EV_DELETE,
	WATCH_EV_MOVED_FROM,
	WATCH_EV_MOVED_TO,
	WATCH_EV_OVERFLOW,	/* the kernel's queue overflowed: events were lost (no name) */
};

/* watch_set_observer(w, fn, ctx): ${fn} is called for every entry event, on the thread of
 * watch_process or watch_add_root, with the folder ${dir} and the entry's ${name} ("" for
 * WATCH_EV_OVERFLOW; "" also for a watched folder that went away itself, then ${dir} is that
 * folder), ${is_dir} set for folders. It must not call the watcher back. */
typedef void (*watch_observer)(void *ctx, enum watch_ev ev, const char *dir, const char *name,
	int is_dir);
void watch_set_observer(struct watch *w, watch_observer fn, void *ctx);

/* watch_fd(w): the inotify descriptor to poll for reading. */
int watch_fd(const struct watch *w);

/* watch_add_root(w, path, err): watch ${path} (absolute) and every directory below it.
 * Directories that cannot be watched are reported through warn; hitting the kernel's limit
 * (ENOSPC, fs.inotify.max_user_watches) leaves the watcher incomplete: every backup is then
 * a full scan. Returns 0, or CF_EIO when ${path} itself cannot be watched. */
int watch_add_root(struct watch *w, const char *path, struct cf_error *err);

/* watch_process(w): read the pending events and update the dirty set; returns the number
 * of events that marked something dirty (0 when nothing changed), or -1 on read error. */
int watch_process(struct watch *w);

/* watch_clean(w, path): 1 when no change was seen at or below ${path} and no full scan is
 * pending; the backup_opts.clean predicate (w as ctx). Thread-safe. */
int watch_clean(void *w, const char *path);

/* watch_mark(w): a mark before a backup starts; watch_clear(w, mark) after it succeeded
 * forgets what was dirty before the mark (changes seen during the run stay dirty). */
uint64_t watch_mark(struct watch *w);
void watch_clear(struct watch *w, uint64_t mark);

/* watch_retry(w): try again to watch the directories that could not be watched (watch
 * limit reached, no permission). Those now watched are marked dirty. Returns how many
 * directories came back (see watch_info's unwatched for those still missing). Also done
 * by watch_process when watches are given back while the limit was reached, and for a
 * directory whose mode changed. */
size_t watch_retry(struct watch *w);

/* watch_request_full_scan(w): the next backup reads everything (weekly safety net). */
void watch_request_full_scan(struct watch *w);

struct watch_info {
	size_t watches;		/* directories watched */
	size_t dirty;		/* directories with changes not yet backed up */
	int full_scan;		/* a full scan is pending */
	int incomplete;		/* some directories are not watched (limit or error) */
	size_t unwatched;	/* how many (each stands for itself and what is below) */
	uint64_t overflows;	/* queue overflows seen */
};
void watch_info(struct watch *w, struct watch_info *ret);
/* watch_root_watched(w, path): 1 when the root ${path} currently has a watch. */
int watch_root_watched(struct watch *w, const char *path);

#endif
