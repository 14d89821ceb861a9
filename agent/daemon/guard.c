/* guard.c: coffred's watch for ransomware. The watcher's events (watch.h) feed the signals of
 * detect.h: canaries written, renamed or deleted; renames to extensions never seen in the
 * protected tree; ransom-note names; old files deleted once a copy with a new extension
 * appeared beside them; existing files changed far faster than usual; a queue overflow. When the decision raises the alarm,
 * it is kept in the state folder (alarm.h) until a person clears it, the alert goes out, and
 * a run starts at once: it pins the last clean snapshot and takes a snapshot tagged
 * "suspect"; while the alarm holds, no retention runs anywhere and USB drives are left alone.
 *
 * Everything here runs on the loop and costs a few hash lookups per event: no wake-up of its
 * own. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/alarm.h"
#include "coffre/cfg.h"
#include "coffre/detect.h"
#include "coffre/error.h"
#include "coffre/watch.h"
#include "base/util.h"
#include "coffred.h"

/* A set of 64-bit hashes, open addressing, bounded: once full it stops growing (a missed
 * entry only makes a signal slightly more eager or shyer, never a crash). */
struct hset {
	uint64_t *v;
	size_t cap, n;
};

#define HSET_MAX (1u << 17)

static int hset_has(const struct hset *s, uint64_t h)
{
	if (!s->cap)
		return 0;
	h |= 1;	/* 0 marks a free slot */
	for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->v[i] == h)
			return 1;
		if (!s->v[i])
			return 0;
	}
}

static void hset_add(struct hset *s, uint64_t h)
{
	if (s->n * 2 >= s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		if (cap > HSET_MAX)
			return;
		uint64_t *v = calloc(cap, sizeof *v);
		if (!v)
			return;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i])
				for (size_t j = s->v[i] & (cap - 1);; j = (j + 1) & (cap - 1))
					if (!v[j]) {
						v[j] = s->v[i];
						break;
					}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	h |= 1;
	for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->v[i] == h)
			return;
		if (!s->v[i]) {
			s->v[i] = h;
			s->n++;
			return;
		}
	}
}

static void hset_clear(struct hset *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

struct canary {
	char *path;
	uint8_t *bytes;
	size_t n;
	int gone;	/* deleted or moved away: an alarm unless its folder went too */
};

#define CANARY_GRACE 3	/* seconds for a folder deleted whole to go after its canary */

struct guard {
	struct daemon *d;
	struct detect *det;
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct hset exts;	/* extensions present in the protected tree */
	struct hset created;	/* paths created since the last backup */
	struct hset shadows;	/* paths P for which P.EXT was created, EXT never seen before */
	struct hset minute;	/* existing paths changed in the current minute */
	int64_t minute_at;
	struct canary *can;
	size_t ncan;
	/* The files an attack touched: distinct paths changed, renamed or deleted since its
	 * first suspicious event. Until an alarm the last TOUCH_RING changes wait in a ring;
	 * the alarm counts those since the first event, then each new path. */
	struct touch { uint64_t h; int64_t t; } *ring;
	size_t ring_n, ring_at;
	struct hset tset;
	uint64_t touched;
	char first_path[512];
	int64_t raise_at;	/* the decision said "alarm" under the watcher's lock: raised
				 * by guard_poll once the watcher is let go */
	int64_t raise_ms;	/* the moment of that decision, in ms (how fast it was) */
	int tfd;		/* one-shot timer: canaries gone, judged CANARY_GRACE s later */
	int timer_armed;
};

static uint64_t hash2(const struct guard *g, const char *a, const char *b)
{
	uint8_t out[crypto_shorthash_BYTES];
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char stack[1024], *p = la + lb + 2 <= sizeof stack ? stack : malloc(la + lb + 2);
	if (!p)
		return 0;
	memcpy(p, a, la);
	p[la] = '/';
	if (b)
		memcpy(p + la + 1, b, lb);
	crypto_shorthash(out, (const unsigned char *)p, la + 1 + lb, g->key);
	if (p != stack)
		free(p);
	uint64_t h;
	memcpy(&h, out, sizeof h);
	return h;
}

#define TOUCH_RING 8192	/* 128 KiB, allocated at the first change */

static void touch(struct guard *g, uint64_t h, int64_t now)
{
	if (g->d->alarm.active) {
		size_t n = g->tset.n;
		hset_add(&g->tset, h);
		g->touched += g->tset.n - n;
		return;
	}
	if (!g->ring && !(g->ring = calloc(TOUCH_RING, sizeof *g->ring)))
		return;
	g->ring[g->ring_at] = (struct touch){ h, now };
	g->ring_at = (g->ring_at + 1) % TOUCH_RING;
	if (g->ring_n < TOUCH_RING)
		g->ring_n++;
}

/* At the alarm: the distinct paths changed since ${since}. */
static void touched_since(struct guard *g, int64_t since)
{
	hset_clear(&g->tset);
	for (size_t i = 0; i < g->ring_n; i++)
		if (g->ring[i].t >= since)
			hset_add(&g->tset, g->ring[i].h);
	g->touched = g->tset.n;
	g->ring_n = g->ring_at = 0;
}

static uint64_t hash_ext(const struct guard *g, const char *ext)
{
	return hash2(g, "", ext);
}

/* ---- canaries ---- */

static struct canary *canary_at(struct guard *g, const char *dir, const char *name)
{
	for (size_t i = 0; i < g->ncan; i++) {
		const char *p = g->can[i].path, *slash = strrchr(p, '/');
		if (slash && strcmp(slash + 1, name) == 0 && (size_t)(slash - p) == strlen(dir) &&
		    strncmp(p, dir, (size_t)(slash - p)) == 0)
			return &g->can[i];
	}
	return NULL;
}

/* 1 when the canary is there with the bytes coffred wrote. */
static int canary_intact(const struct canary *c)
{
	int fd = open(c->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == c->n;
	if (ok) {
		uint8_t *b = malloc(c->n ? c->n : 1);
		ok = b && read(fd, b, c->n) == (ssize_t)c->n && memcmp(b, c->bytes, c->n) == 0;
		free(b);
	}
	close(fd);
	return ok;
}

/* The shop's own seed, so that its canaries differ from every other shop's. */
static void canary_seed(const char *state_dir, uint8_t seed[16])
{
	char *path = util_path("%s/canary-seed", state_dir);
	struct buf b = { 0 };
	if (path && util_read_file(path, 64, &b, NULL) == 0 && b.len == 16) {
		memcpy(seed, b.p, 16);
	} else {
		randombytes_buf(seed, 16);
		if (path)
			util_write_atomic(path, seed, 16, 0, NULL);
	}
	buf_free(&b);
	free(path);
}

/* Places (or finds) the canary of ${dir}, owned like the folder so that whatever may change
 * the shop's files may change it too. */
static void canary_place(struct guard *g, const char *dir, const uint8_t seed[16])
{
	struct stat ds;
	if (lstat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode))
		return;
	/* The kind depends on the folder alone: the same canary at every start. */
	uint32_t h = 2166136261u;
	for (const char *p = dir; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	enum detect_canary_kind kind = (enum detect_canary_kind)(h % 3);
	uint8_t *bytes = NULL;
	size_t n = 0;
	if (detect_canary_make(kind, seed, &bytes, &n))
		return;
	char *path = util_path("%s/%s", dir, detect_canary_name(kind));
	void *np = path ? realloc(g->can, (g->ncan + 1) * sizeof *g->can) : NULL;
	if (!np) {
		free(path);
		free(bytes);
		return;
	}
	g->can = np;
	struct canary *c = &g->can[g->ncan];
	*c = (struct canary){ .path = path, .bytes = bytes, .n = n };
	if (canary_intact(c)) {
		g->ncan++;
		return;
	}
	/* Absent or changed while coffred was not watching: written afresh. */
	char *tmp = util_path("%s/.coffre-canary.tmp", dir);
	int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
	int ok = fd >= 0 && write(fd, bytes, n) == (ssize_t)n && fchown(fd, ds.st_uid, ds.st_gid) == 0 &&
		 fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	if (ok && rename(tmp, path) == 0) {
		g->ncan++;
	} else {
		if (tmp)
			unlink(tmp);
		logf_("warning: cannot place the control file '%s': %s", path, strerror(errno));
		free(path);
		free(bytes);
	}
	free(tmp);
}

static void canaries_free(struct guard *g)
{
	for (size_t i = 0; i < g->ncan; i++) {
		free(g->can[i].path);
		free(g->can[i].bytes);
	}
	free(g->can);
	g->can = NULL;
	g->ncan = 0;
}

/* One canary per protected folder and per folder just below it. */
static void canaries_place(struct guard *g, const struct cfg *c)
{
	uint8_t seed[16];
	canaries_free(g);
	if (!c->detect_canaries || !c->detect_enabled)
		return;
	canary_seed(c->state_dir, seed);
	for (size_t i = 0; i < c->npaths; i++) {
		canary_place(g, c->paths[i], seed);
		DIR *dir = opendir(c->paths[i]);
		struct dirent *e;
		while (dir && (e = readdir(dir))) {
			if (e->d_name[0] == '.' || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
				continue;
			char *sub = util_path("%s/%s", c->paths[i], e->d_name);
			if (sub)
				canary_place(g, sub, seed);
			free(sub);
		}
		if (dir)
			closedir(dir);
	}
	logf_("%zu control files in place (any change to one raises the ransomware alarm)",
		g->ncan);
}

/* A folder deleted or moved away whole (by a person, or a share unmounted): its canaries went
 * with it, which says nothing of an attack. */
static void folder_gone(struct guard *g, const char *dir, const char *name)
{
	char *f = name[0] ? util_path("%s/%s", dir, name) : strdup(dir);
	size_t n = f ? strlen(f) : 0;
	for (size_t i = 0; f && i < g->ncan; i++)
		if (strncmp(g->can[i].path, f, n) == 0 && g->can[i].path[n] == '/')
			g->can[i].gone = 0;
	free(f);
}

/* ---- signals ---- */

static void raise_alarm(struct guard *g, int64_t now);

/* The events just seen decided the alarm: it is raised once the watcher lets go. */
static void decided(struct guard *g, int64_t now)
{
	if (g->raise_at)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	g->raise_at = now;
	g->raise_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void signal_(struct guard *g, enum detect_kind k, const char *dir, const char *name,
	int64_t now)
{
	if (!detect_fired(g->det, now))
		g->first_path[0] = 0;	/* what came before has left the window */
	if (!g->first_path[0] && dir[0])
		snprintf(g->first_path, sizeof g->first_path, "%s/%s", dir, name);
	if (detect_event(g->det, k, now, 1) == 1)
		decided(g, now);
}

#define NOTE_MAX (64u << 10)	/* a note is short; bigger new files are not read */

/* ${dir}/${name} opened to read, when it is a regular file (never through a link, never
 * waiting on a FIFO); -1 otherwise. Its size in ${ret_size}. */
static int open_regular(const char *dir, const char *name, off_t *ret_size)
{
	char *path = util_path("%s/%s", dir, name);
	int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) : -1;
	free(path);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	*ret_size = fd >= 0 ? st.st_size : 0;
	return fd;
}

/* 1 when the regular file ${dir}/${name}, at most NOTE_MAX bytes, reads as a ransom note. */
static int note_text_at(const char *dir, const char *name)
{
	off_t size;
	int fd = open_regular(dir, name, &size);
	if (fd < 0)
		return 0;
	int hit = 0;
	if (size > 0 && (uint64_t)size <= NOTE_MAX) {
		uint8_t *b = malloc((size_t)size);
		ssize_t n = b ? read(fd, b, (size_t)size) : -1;
		hit = n > 0 && detect_note_text(b, (size_t)n);
		free(b);
	}
	close(fd);
	return hit;
}

/* What the first block of the existing file ${dir}/${name}, just written, says against the
 * promise of its extension ${ext} (detect_head_check); 0 when it cannot be read. */
static unsigned head_at(const char *dir, const char *name, const char *ext)
{
	off_t size;
	int fd = open_regular(dir, name, &size);
	if (fd < 0)
		return 0;
	uint8_t b[DETECT_BLOCK];
	ssize_t n = pread(fd, b, sizeof b, 0);
	close(fd);
	return n > 0 ? detect_head_check(ext, b, (size_t)n) : 0;
}

/* ${name} (in ${dir}) was created with an extension never seen: remember the name it would
 * shadow ("invoice.pdf" for "invoice.pdf.locked"). */
/* The path of ${name} without its extension ${ext} ("a.pdf" for "a.pdf.locked"), hashed;
 * 0 when there is none. */
static uint64_t stem_hash(const struct guard *g, const char *dir, const char *name,
	const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);
	if (n <= e + 1)
		return 0;
	char *stem = strndup(name, n - e - 1);
	uint64_t h = stem ? hash2(g, dir, stem) : 0;
	free(stem);
	return h;
}

static void shadow_add(struct guard *g, const char *dir, const char *name, const char *ext)
{
	uint64_t h = stem_hash(g, dir, name, ext);
	if (h)
		hset_add(&g->shadows, h);
}

static void observe(void *ctx, enum watch_ev ev, const char *dir, const char *name, int is_dir)
{
	struct guard *g = ctx;
	int64_t now = (int64_t)time(NULL);
	char ext[24];
	if (ev == WATCH_EV_OVERFLOW) {
		signal_(g, DETECT_OVERFLOW, "", "", now);
		return;
	}
	if (is_dir) {
		if (ev == WATCH_EV_DELETE || ev == WATCH_EV_MOVED_FROM)
			folder_gone(g, dir, name);
		return;
	}
	struct canary *c = canary_at(g, dir, name);
	if (c) {
		if (ev == WATCH_EV_EXISTS || ev == WATCH_EV_CREATE || canary_intact(c))
			return;	/* its own placing, or a write that left it as it was */
		if (ev != WATCH_EV_WRITE) {
			/* Deleted or moved: a folder deleted whole takes its canary first. */
			c->gone = 1;
			return;
		}
		logf_("ransomware signal: the control file '%s' was changed", c->path);
		touch(g, hash2(g, dir, name), now);
		signal_(g, DETECT_CANARY, dir, name, now);
		return;
	}
	detect_ext(name, ext, sizeof ext);
	uint64_t ph = hash2(g, dir, name);
	switch (ev) {
	case WATCH_EV_EXISTS:
		if (ext[0])
			hset_add(&g->exts, hash_ext(g, ext));
		break;
	case WATCH_EV_CREATE:
	case WATCH_EV_MOVED_TO:
		if (detect_note_name(name, NULL, 0))
			signal_(g, DETECT_NOTE, dir, name, now);
		if (ev == WATCH_EV_MOVED_TO && ext[0] && !hset_has(&g->exts, hash_ext(g, ext))) {
			/* Encrypted, then renamed a.pdf -> a.pdf.locked: one file touched. */
			uint64_t sh = stem_hash(g, dir, name, ext);
			touch(g, sh ? sh : ph, now);
			signal_(g, DETECT_RENAME, dir, name, now);
		}
		/* A file moved in is an existing file under a new name: its writes count. */
		if (ev == WATCH_EV_CREATE) {
			if (ext[0] && !hset_has(&g->exts, hash_ext(g, ext)))
				shadow_add(g, dir, name, ext);
			else if (ext[0])
				hset_add(&g->exts, hash_ext(g, ext));
			hset_add(&g->created, ph);
		}
		break;
	case WATCH_EV_DELETE:
		/* An old file deleted once a copy of it with a new extension appeared beside it
		 * (encrypted to a new file, then the original deleted). Deletions alone do not
		 * count: zipping a year of invoices and deleting them is a shop's right. */
		if (!hset_has(&g->created, ph) && hset_has(&g->shadows, ph)) {
			touch(g, ph, now);
			signal_(g, DETECT_DELETE, dir, name, now);
		}
		break;
	case WATCH_EV_WRITE:
		if (hset_has(&g->created, ph)) {
			/* A new small file that reads as a ransom note, whatever its name. */
			if (!detect_note_name(name, NULL, 0) && note_text_at(dir, name))
				signal_(g, DETECT_NOTE, dir, name, now);
			break;
		}
		if (now / 60 != g->minute_at / 60) {
			hset_clear(&g->minute);
			g->minute_at = now;
		}
		if (hset_has(&g->minute, ph))
			break;
		hset_add(&g->minute, ph);
		touch(g, ph, now);
		if (detect_changed(g->det, now, 1) == 1)
			decided(g, now);
		/* The backup compares it with its last version later; its head tells now. */
		unsigned f = ext[0] ? head_at(dir, name, ext) : 0;
		if (f & DETECT_FILE_FORMAT_BREAK)
			signal_(g, DETECT_FORMAT, dir, name, now);
		if (f & DETECT_FILE_TURNED_RANDOM)
			signal_(g, DETECT_RANDOM, dir, name, now);
		break;
	default:
		break;
	}
}

/* ---- the alarm ---- */

/* After the watcher's events: an alarm they decided is raised here, where the daemon may
 * start a run (the observer runs under the watcher's lock). */
void guard_poll(struct daemon *d)
{
	struct guard *g = d->guard;
	if (!g)
		return;
	for (size_t i = 0; !g->timer_armed && g->tfd >= 0 && i < g->ncan; i++)
		if (g->can[i].gone) {
			struct itimerspec its = { .it_value = { .tv_sec = CANARY_GRACE } };
			g->timer_armed = timerfd_settime(g->tfd, 0, &its, NULL) == 0;
		}
	if (!g->raise_at)
		return;
	int64_t at = g->raise_at;
	g->raise_at = 0;
	raise_alarm(g, at);
}

/* Canaries gone CANARY_GRACE s ago: an alarm where their folder is still there; forgotten
 * where it went with them (a folder deleted or a share unmounted by a person). */
static void on_timer(struct daemon *d)
{
	struct guard *g = d->guard;
	uint64_t v;
	if (read(g->tfd, &v, sizeof v) < 0 && errno != EAGAIN)
		return;
	g->timer_armed = 0;
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < g->ncan; i++) {
		struct canary *c = &g->can[i];
		if (!c->gone)
			continue;
		c->gone = 0;
		char *dir = strdup(c->path), *slash = dir ? strrchr(dir, '/') : NULL;
		struct stat st;
		if (!slash) {
			free(dir);
			continue;
		}
		*slash = 0;
		if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && !canary_intact(c)) {
			logf_("ransomware signal: the control file '%s' was deleted or moved away",
				c->path);
			touch(g, hash2(g, dir, slash + 1), now);
			signal_(g, DETECT_CANARY, dir, slash + 1, now);
		}
		free(dir);
	}
	guard_poll(d);
}

static void raise_alarm(struct guard *g, int64_t now)
{
	struct daemon *d = g->d;
	int64_t ms = g->raise_ms;
	g->raise_ms = 0;
	if (d->alarm.active)
		return;
	struct alarm *a = &d->alarm;
	memset(a, 0, sizeof *a);
	a->active = 1;
	a->raised = now;
	a->raised_ms = ms ? ms : now * 1000;
	a->since = detect_first(g->det) ? detect_first(g->det) : now;
	a->kinds = detect_fired(g->det, now);
	touched_since(g, a->since);
	a->touched = g->touched;
	snprintf(a->first_path, sizeof a->first_path, "%s", g->first_path);
	char kinds[200] = "";
	for (int k = 0; k < DETECT_NKINDS; k++)
		if (a->kinds & (1u << k))
			snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s",
				kinds[0] ? ", " : "", detect_kind_name((enum detect_kind)k));
	logf_("RANSOMWARE ALARM: signals %s since %lld (first: '%s'); the last clean snapshot "
		"is pinned, retention stops, USB drives are left alone until 'coffre alarm clear'",
		kinds, (long long)a->since, a->first_path);
	guard_save(d);
	alerts_check(d);
	if (d->running)
		d->now_requested = 1;
	else
		job_start(d, 0);
}

void guard_save(struct daemon *d)
{
	struct cf_error err = { 0 };
	if (d->guard)
		d->alarm.touched = d->guard->touched > d->alarm.touched ? d->guard->touched :
									  d->alarm.touched;
	if (alarm_save(d->cfg->state_dir, &d->alarm, &err))
		logf_("error: the ransomware alarm could not be kept: %s", err.msg);
}

/* After a run: the run's process may have pinned the clean snapshot (it wrote the file). */
void guard_after_run(struct daemon *d)
{
	struct alarm a;
	if (!d->alarm.active || d->alarm.clean[0] || alarm_load(d->cfg->state_dir, &a, NULL))
		return;
	if (a.clean[0]) {
		snprintf(d->alarm.clean, sizeof d->alarm.clean, "%s", a.clean);
		d->alarm.clean_time = a.clean_time;
		logf_("ransomware alarm: snapshot %.8s (the last before the attack) is pinned",
			a.clean);
	}
}

int guard_clear(struct daemon *d)
{
	if (!d->alarm.active)
		return 0;
	int64_t since = d->alarm.raised;
	memset(&d->alarm, 0, sizeof d->alarm);
	guard_save(d);
	if (d->guard) {
		detect_free(d->guard->det);
		d->guard->det = NULL;
		detect_new(&d->cfg->detect_policy, &d->guard->det);
		d->guard->touched = 0;
		hset_clear(&d->guard->tset);
		d->guard->ring_n = d->guard->ring_at = 0;
		d->guard->first_path[0] = 0;
		canaries_place(d->guard, d->cfg);
	}
	logf_("ransomware alarm cleared by a person (raised %lld s ago)",
		(long long)((int64_t)time(NULL) - since));
	alerts_check(d);
	return 1;
}

/* A backup succeeded: what was created before it is now part of the tree, and the marks it
 * found on changed files count (format broke, turned random, ransom notes). */
void guard_backup_done(struct daemon *d, const struct state_run *s)
{
	struct guard *g = d->guard;
	if (!g)
		return;
	hset_clear(&g->created);
	/* The marks date from the run's start: the snapshot it compared against (its parent,
	 * made before) is the clean one. */
	int64_t at = (int64_t)s->start, now = (int64_t)time(NULL);
	const enum detect_kind k[2] = { DETECT_FORMAT, DETECT_RANDOM };
	const uint64_t v[2] = { s->suspect_format, s->suspect_random };
	/* (Ransom notes the backup found new were seen by the watch as they came.) */
	for (int i = 0; i < 2; i++) {
		if (!v[i])
			continue;
		logf_("ransomware signal: backup #%llu found %llu files with the mark '%s' "
			"(first: '%s')", (unsigned long long)s->run, (unsigned long long)v[i],
			detect_kind_name(k[i]), s->suspect_path);
		if (!g->first_path[0])
			snprintf(g->first_path, sizeof g->first_path, "%s", s->suspect_path);
		if (detect_event(g->det, k[i], at, v[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)v[i]) == 1)
			raise_alarm(g, now);
	}
}

void guard_attach(struct daemon *d, struct watch *w, const struct cfg *c)
{
	struct guard *g = d->guard;
	if (!g) {
		g = calloc(1, sizeof *g);
		if (!g || detect_new(&c->detect_policy, &g->det)) {
			free(g);
			logf_("error: out of memory: no ransomware watch");
			return;
		}
		g->d = d;
		randombytes_buf(g->key, sizeof g->key);
		g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (g->tfd >= 0 && loop_add(d, g->tfd, on_timer)) {
			close(g->tfd);
			g->tfd = -1;
		}
		if (g->tfd < 0)
			logf_("warning: no timer for the control files: a deleted one is judged at "
				"the next change");
		d->guard = g;
		struct cf_error err = { 0 };
		if (alarm_load(c->state_dir, &d->alarm, &err))
			logf_("warning: %s", err.msg);
		if (d->alarm.active)
			logf_("RANSOMWARE ALARM still raised (since %lld): 'coffre alarm clear' once "
				"the shop is safe", (long long)d->alarm.since);
	}
	hset_clear(&g->exts);
	canaries_place(g, c);
	if (c->detect_enabled)
		watch_set_observer(w, observe, g);
	else
		logf_("warning: the ransomware watch is off ([detect] enabled = no)");
}

void guard_free(struct daemon *d)
{
	struct guard *g = d->guard;
	if (!g)
		return;
	if (g->tfd >= 0) {
		loop_del(d, g->tfd);
		close(g->tfd);
	}
	detect_free(g->det);
	hset_clear(&g->exts);
	hset_clear(&g->created);
	hset_clear(&g->shadows);
	hset_clear(&g->minute);
	hset_clear(&g->tset);
	free(g->ring);
	canaries_free(g);
	free(g);
	d->guard = NULL;
}
