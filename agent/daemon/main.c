/* main.c: coffred, the backup daemon. One epoll loop over the inotify fd (watch_), a timerfd for
 * the schedule (sched_), a signalfd and the control socket (ctl_); the backup itself runs
 * in a thread that reports back through an eventfd. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>
#include <systemd/sd-daemon.h>

#include "coffre/backup.h"
#include "coffre/cfg.h"
#include "coffre/ctl.h"
#include "coffre/error.h"
#include "coffre/forget.h"
#include "coffre/prune.h"
#include "coffre/push.h"
#include "coffre/repo.h"
#include "coffre/sched.h"
#include "coffre/snap.h"
#include "coffre/watch.h"
#include "base/util.h"

#define RETRY_DELAY 60			/* after a failed run (COFFRED_RETRY_DELAY for tests) */
#define MAX_WARN_KEPT 5			/* warnings kept in the run's result */
#define FULL_SCAN_EVERY (7 * 86400)	/* safety net */
#define PRUNE_EVERY (7 * 86400)
#define STOP_GRACE 4			/* seconds to wait for a cancelled backup */
#define PUSH_RETRY 3600			/* a destination left behind is tried again after this
					 * (COFFRED_PUSH_RETRY for tests) */

static const char usage_text[] =
	"usage: coffred [--config FILE]\n"
	"Watches the folders named in the configuration and backs them up on schedule.\n"
	"Runs in the foreground and logs to stderr (systemd: Type=notify).\n"
	"  --config FILE  the configuration (default " CFG_DEFAULT_PATH ")\n"
	"Signals: SIGTERM stops (within 5 s, even during a backup), SIGHUP reloads the\n"
	"configuration (an invalid file keeps the current one).\n";

/* Where a destination stands, kept across runs and restarts (status.json). */
struct dest_state {
	char name[65];
	char url[600];
	char result[16];	/* "" (never tried), complete, unreachable, refused, full, failed */
	time_t last_attempt, last_complete;
	time_t pending_since;	/* the oldest backup it lacks, 0: none */
	uint64_t sent, sent_bytes, pending, pending_bytes;
	int object_lock;
	char lock_note[160];
	char error[600];
};

struct result {
	int done;
	uint64_t run;		/* this daemon's run number (0: read back from the status file) */
	time_t start;
	double duration;
	int code;		/* CF_* of the backup */
	char result[16];	/* ok, partial, failed, cancelled */
	char snapshot[65];
	int full_scan;
	struct backup_stats st;
	char error[600];
	int pruned;
	char prune_error[600];
	char missing[600];	/* protected folders left out because they were missing */
	int nwarn_kept;
	char warn_kept[MAX_WARN_KEPT][300];
	int push_only;		/* no backup: a retry of destinations left behind */
	uint64_t spool_cleared;	/* bytes of data packs removed from the spool */
	char clear_error[600];
};

/* What a running backup has done so far, for `coffre status` and `coffre backup --now`. */
struct progress {
	pthread_mutex_t mu;
	struct backup_stats st;
	char current[512];
};

struct job {
	struct cfg *cfg;	/* borrowed; kept alive until the job is joined */
	struct watch *w;	/* borrowed likewise */
	int do_prune;
	int donefd;
	const atomic_int *cancel;
	struct progress *prog;
	const char **paths;	/* the roots present at the start (borrowed strings) */
	size_t npaths;
	struct dest_state *dests;	/* a copy of the daemon's, one per cfg->dests */
	struct result res;
};

struct daemon {
	char *cfg_file;
	struct cfg *cfg, *pending_cfg;
	struct watch *w;
	int ep, tfd, sfd, ctl, donefd, wdfd;
	int rfd;		/* inotify on the parents of missing roots, or -1 */
	unsigned char *missing;	/* per root of cfg: known missing */
	int stopping;
	/* schedule */
	time_t last_success, last_change, last_full, last_prune, next_due;
	int change_during_run;
	/* the running backup */
	int running;
	pthread_t th;
	struct job *job;
	atomic_int cancel;
	uint64_t mark;
	uint64_t runs;		/* runs started since start-up */
	int now_requested;	/* `backup --now` while a run was going: another one after it */
	long retry_delay;
	struct progress prog;
	struct result last;
	int has_last;
	struct dest_state *dests;	/* one per cfg->dests */
	long push_retry;
	int next_push_only;	/* the timer is for a retry of destinations, not a backup */
	size_t unwatched;	/* folders the watcher could not watch, last reported */
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logf_(const char *fmt, ...)
{
	va_list ap;
	fputs("coffred: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static void iso_time(time_t t, char out[40])
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%S%z", &tm);
}

static void on_watch_warning(void *ctx, const char *msg)
{
	(void)ctx;
	logf_("warning: %s", msg);
}

/* ---- the backup thread ---- */

static int job_clean(void *ctx, const char *path)
{
	struct job *j = ctx;
	return watch_clean(j->w, path);
}

static void job_warn(void *ctx, const char *path, const char *msg)
{
	struct job *j = ctx;
	logf_("warning: '%s': %s", path, msg);
	if (j->res.nwarn_kept < MAX_WARN_KEPT)
		snprintf(j->res.warn_kept[j->res.nwarn_kept++], sizeof j->res.warn_kept[0],
			"%s: %s", path, msg);
}

static void job_progress(void *ctx, const struct backup_stats *st)
{
	struct job *j = ctx;
	pthread_mutex_lock(&j->prog->mu);
	j->prog->st = *st;
	j->prog->st.current = NULL;
	snprintf(j->prog->current, sizeof j->prog->current, "%s", st->current ? st->current : "");
	pthread_mutex_unlock(&j->prog->mu);
}

static char *read_password(const char *file, struct cf_error *err)
{
	FILE *f = fopen(file, "re");
	if (!f) {
		cf_error_sys(err, CF_EIO, "cannot read the password file '%s'", file);
		return NULL;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return strdup("");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	return line;
}

static int run_retention(struct repo *r, const struct cfg *c, struct cf_error *err)
{
	struct forget_policy p = { .daily = c->keep_daily, .weekly = c->keep_weekly,
		.monthly = c->keep_monthly };
	struct snap **list = NULL;
	size_t n = 0;
	int rc;
	if ((rc = repo_lock(r, 1, err)))
		return rc;
	if ((rc = snap_list(r, &list, &n, NULL, err))) {
		repo_unlock(r);
		return rc;
	}
	uint8_t *keep = calloc(n ? n : 1, 1);
	if (!keep || forget_select(list, n, &p, keep) < 0) {
		rc = cf_error_set(err, keep ? CF_EUSAGE : CF_ENOMEM, "no retention rule");
	} else {
		for (size_t i = 0; i < n && rc == 0; i++)
			if (!keep[i])
				rc = snap_delete(r, list[i], err);
	}
	free(keep);
	snap_list_free(list, n);
	repo_unlock(r);
	if (rc)
		return rc;
	struct prune_stats ps;
	return prune_run(r, NULL, NULL, &ps, err);
}

static const char *push_outcome(int code, const atomic_int *cancel)
{
	switch (code) {
	case 0: return "complete";
	case CF_EUNREACH: return "unreachable";
	case CF_EKEY: return "refused";
	case CF_ENOSPC: return "full";
	default: return atomic_load(cancel) ? "cancelled" : "failed";
	}
}

/* Sends the spool to every destination of the configuration and notes how each went. */
static void push_dests(struct job *j, struct repo *r)
{
	const struct cfg *c = j->cfg;
	size_t n = c->ndests;
	const char **urls = calloc(n, sizeof *urls);
	struct dst_options *opts = calloc(n, sizeof *opts);
	struct push_result *pr = calloc(n, sizeof *pr);
	if (!urls || !opts || !pr) {
		logf_("error: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		urls[i] = c->dests[i].url;
		cfg_dest_options(&c->dests[i], &opts[i]);
	}
	struct push_opts po = { .cancel = j->cancel };
	struct cf_error cerr = { 0 };
	push_all(r, urls, opts, n, c->clear_spool, &po, pr, &j->res.spool_cleared, &cerr);
	if (cerr.code)
		snprintf(j->res.clear_error, sizeof j->res.clear_error, "%s", cerr.msg);
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		struct dest_state *ds = &j->dests[i];
		const struct push_result *p = &pr[i];
		ds->last_attempt = now;
		snprintf(ds->result, sizeof ds->result, "%s", push_outcome(p->code, j->cancel));
		ds->sent = p->st.sent;
		ds->sent_bytes = p->st.sent_bytes;
		if (p->lock_note[0]) {
			ds->object_lock = p->object_lock;
			snprintf(ds->lock_note, sizeof ds->lock_note, "%s", p->lock_note);
		}
		if (p->code == 0) {
			ds->last_complete = now;
			ds->pending_since = 0;
			ds->pending = ds->pending_bytes = 0;
			ds->error[0] = 0;
			logf_("destination '%s' (%s): complete; sent %llu objects (%llu bytes), "
				"all read back", ds->name, ds->url, (unsigned long long)p->st.sent,
				(unsigned long long)p->st.sent_bytes);
			continue;
		}
		snprintf(ds->error, sizeof ds->error, "%s", p->err.msg);
		if (p->reached) {
			ds->pending = p->st.pending;
			ds->pending_bytes = p->st.pending_bytes;
		}
		/* Not reached: it lacks at least this run's snapshot. */
		if (p->reached && p->st.pending_since)
			ds->pending_since = p->st.pending_since;
		else if (!ds->pending_since)
			ds->pending_since = j->res.push_only ? now : j->res.start;
		logf_("destination '%s' (%s): %s: %s; kept pending for the next try", ds->name,
			ds->url, ds->result, ds->error);
	}
	if (j->res.spool_cleared)
		logf_("spool: %llu bytes of data packs removed (every destination holds them)",
			(unsigned long long)j->res.spool_cleared);
	if (j->res.clear_error[0])
		logf_("warning: the spool is kept: %s", j->res.clear_error);
out:
	free(urls);
	free(opts);
	free(pr);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct result *res = &j->res;
	struct cf_error err = { 0 };
	struct repo *r = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *pw = read_password(j->cfg->password_file, &err);
	struct repo_cred cred = { .password = pw, .key_cache = repo_key_cache_wanted() };
	int rc = pw ? 0 : err.code;
	if (rc == 0 && j->npaths == 0 && !res->push_only)
		rc = cf_error_set(&err, CF_ENOENT, "no protected folder is present (%s)",
			res->missing);
	if (rc == 0)
		rc = repo_open(j->cfg->repository, &cred, &r, &err);
	free(pw);
	if (rc == 0 && !res->push_only) {
		struct backup_opts o = {
			.paths = j->paths, .npaths = j->npaths,
			.excludes = (const char *const *)j->cfg->excludes,
			.nexcludes = j->cfg->nexcludes, .clean = job_clean, .warn = job_warn,
			.progress = job_progress, .ctx = j, .cancel = j->cancel,
		};
		uint8_t id[32], parent[32];
		int has_parent = 0;
		rc = backup_run(r, &o, &res->st, id, parent, &has_parent, &err);
		if (rc == 0 || rc == CF_EPARTIAL)
			util_hex(res->snapshot, id, 32);
		/* A folder that is missing is left out: the snapshot is partial. */
		if (rc == 0 && res->missing[0])
			rc = CF_EPARTIAL;
	}
	res->code = rc;
	if (rc == 0 || rc == CF_EPARTIAL) {
		snprintf(res->result, sizeof res->result, "%s", rc ? "partial" : "ok");
	} else {
		snprintf(res->result, sizeof res->result, "%s",
			atomic_load(j->cancel) ? "cancelled" : "failed");
		snprintf(res->error, sizeof res->error, "%s", err.msg[0] ? err.msg : "error");
	}
	if ((rc == 0 || rc == CF_EPARTIAL) && j->do_prune && !atomic_load(j->cancel)) {
		struct cf_error perr = { 0 };
		if (run_retention(r, j->cfg, &perr))
			snprintf(res->prune_error, sizeof res->prune_error, "%s", perr.msg);
		else
			res->pruned = 1;
	}
	if ((rc == 0 || rc == CF_EPARTIAL) && j->cfg->ndests && !atomic_load(j->cancel))
		push_dests(j, r);
	repo_free(r);
	malloc_trim(0);	/* give the run's buffers back: the daemon idles small */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->duration = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	res->st.current = NULL;
	uint64_t one = 1;
	if (write(j->donefd, &one, sizeof one) != sizeof one)
		abort();
	return NULL;
}

/* ---- state: status JSON and run history ---- */

static char *state_path(const struct daemon *d, const char *name)
{
	return util_path("%s/%s", d->cfg->state_dir, name);
}

static json_t *result_json(const struct result *r)
{
	char t[40];
	json_t *o = json_object();
	iso_time(r->start, t);
	json_object_set_new(o, "run", json_integer((json_int_t)r->run));
	json_object_set_new(o, "start", json_integer(r->start));
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "result", json_string(r->result));
	json_object_set_new(o, "snapshot", r->snapshot[0] ? json_string(r->snapshot) : json_null());
	json_object_set_new(o, "files", json_integer((json_int_t)(r->st.files_new +
		r->st.files_changed + r->st.files_unchanged)));
	json_object_set_new(o, "files_new", json_integer((json_int_t)r->st.files_new));
	json_object_set_new(o, "files_changed", json_integer((json_int_t)r->st.files_changed));
	json_object_set_new(o, "bytes_read", json_integer((json_int_t)r->st.bytes_read));
	json_object_set_new(o, "bytes_added", json_integer((json_int_t)r->st.bytes_added));
	json_object_set_new(o, "entries", json_integer((json_int_t)r->st.entries));
	json_object_set_new(o, "dirs_reused", json_integer((json_int_t)r->st.dirs_reused));
	json_object_set_new(o, "warnings", json_integer((json_int_t)r->st.warnings));
	json_object_set_new(o, "duration", json_real(r->duration));
	json_object_set_new(o, "full_scan", json_boolean(r->full_scan));
	json_object_set_new(o, "error", r->error[0] ? json_string(r->error) : json_null());
	json_object_set_new(o, "missing", r->missing[0] ? json_string(r->missing) : json_null());
	json_t *wl = json_array();
	for (int i = 0; i < r->nwarn_kept; i++)
		json_array_append_new(wl, json_string(r->warn_kept[i]));
	json_object_set_new(o, "warning_messages", wl);
	if (r->prune_error[0])
		json_object_set_new(o, "retention_error", json_string(r->prune_error));
	json_object_set_new(o, "retention", json_boolean(r->pruned));
	json_object_set_new(o, "spool_cleared", json_integer((json_int_t)r->spool_cleared));
	if (r->clear_error[0])
		json_object_set_new(o, "spool_clear_error", json_string(r->clear_error));
	return o;
}

static json_t *time_or_null(time_t t)
{
	return t > 0 ? json_integer(t) : json_null();
}

static json_t *dest_json(const struct dest_state *ds)
{
	json_t *e = json_object();
	json_object_set_new(e, "name", json_string(ds->name));
	json_object_set_new(e, "url", json_string(ds->url));
	json_object_set_new(e, "result", ds->result[0] ? json_string(ds->result) : json_null());
	json_object_set_new(e, "last_attempt", time_or_null(ds->last_attempt));
	json_object_set_new(e, "last_complete", time_or_null(ds->last_complete));
	json_object_set_new(e, "pending_since", time_or_null(ds->pending_since));
	json_object_set_new(e, "pending_objects", json_integer((json_int_t)ds->pending));
	json_object_set_new(e, "pending_bytes", json_integer((json_int_t)ds->pending_bytes));
	json_object_set_new(e, "sent", json_integer((json_int_t)ds->sent));
	json_object_set_new(e, "sent_bytes", json_integer((json_int_t)ds->sent_bytes));
	json_object_set_new(e, "object_lock", json_boolean(ds->object_lock));
	json_object_set_new(e, "lock_note", ds->lock_note[0] ? json_string(ds->lock_note) :
		json_null());
	json_object_set_new(e, "error", ds->error[0] ? json_string(ds->error) : json_null());
	return e;
}

static void dest_from_json(struct dest_state *ds, json_t *e)
{
	snprintf(ds->result, sizeof ds->result, "%s",
		json_string_value(json_object_get(e, "result")) ?: "");
	ds->last_attempt = (time_t)json_integer_value(json_object_get(e, "last_attempt"));
	ds->last_complete = (time_t)json_integer_value(json_object_get(e, "last_complete"));
	ds->pending_since = (time_t)json_integer_value(json_object_get(e, "pending_since"));
	ds->pending = (uint64_t)json_integer_value(json_object_get(e, "pending_objects"));
	ds->pending_bytes = (uint64_t)json_integer_value(json_object_get(e, "pending_bytes"));
	ds->sent = (uint64_t)json_integer_value(json_object_get(e, "sent"));
	ds->sent_bytes = (uint64_t)json_integer_value(json_object_get(e, "sent_bytes"));
	ds->object_lock = json_is_true(json_object_get(e, "object_lock"));
	snprintf(ds->lock_note, sizeof ds->lock_note, "%s",
		json_string_value(json_object_get(e, "lock_note")) ?: "");
	snprintf(ds->error, sizeof ds->error, "%s",
		json_string_value(json_object_get(e, "error")) ?: "");
}

/* One state per destination of ${c}, carried over by name (a destination whose URL
 * changed starts afresh). NULL when out of memory. */
static struct dest_state *align_dests(const struct dest_state *old, size_t nold,
	const struct cfg *c)
{
	struct dest_state *v = calloc(c->ndests + 1, sizeof *v);
	for (size_t i = 0; v && i < c->ndests; i++) {
		for (size_t k = 0; k < nold; k++)
			if (strcmp(old[k].name, c->dests[i].name) == 0 &&
			    strcmp(old[k].url, c->dests[i].url) == 0)
				v[i] = old[k];
		snprintf(v[i].name, sizeof v[i].name, "%s", c->dests[i].name);
		snprintf(v[i].url, sizeof v[i].url, "%s", c->dests[i].url);
	}
	return v;
}

static json_t *status_json(struct daemon *d)
{
	char t[40], sched[64];
	struct watch_info wi;
	watch_info(d->w, &wi);
	json_t *o = json_object();
	json_object_set_new(o, "state", json_string(d->running ? "running" : "idle"));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "runs", json_integer((json_int_t)d->runs));
	if (d->running) {
		json_t *c = json_object();
		pthread_mutex_lock(&d->prog.mu);
		struct backup_stats st = d->prog.st;
		json_object_set_new(c, "current", json_string(d->prog.current));
		pthread_mutex_unlock(&d->prog.mu);
		json_object_set_new(c, "run", json_integer((json_int_t)d->job->res.run));
		json_object_set_new(c, "start", json_integer(d->job->res.start));
		json_object_set_new(c, "full_scan", json_boolean(d->job->res.full_scan));
		json_object_set_new(c, "files", json_integer((json_int_t)(st.files_new +
			st.files_changed + st.files_unchanged)));
		json_object_set_new(c, "entries", json_integer((json_int_t)st.entries));
		json_object_set_new(c, "bytes_read", json_integer((json_int_t)st.bytes_read));
		json_object_set_new(c, "bytes_added", json_integer((json_int_t)st.bytes_added));
		json_object_set_new(c, "duration", json_real(st.duration));
		json_object_set_new(o, "running", c);
	} else {
		json_object_set_new(o, "running", json_null());
	}
	json_object_set_new(o, "backup_requested", json_boolean(d->now_requested));
	json_object_set_new(o, "config", json_string(d->cfg_file));
	json_object_set_new(o, "repository", json_string(d->cfg->repository));
	sched_format(&d->cfg->schedule, sched, sizeof sched);
	json_object_set_new(o, "schedule", json_string(sched));
	json_object_set_new(o, "last_backup", d->has_last ? result_json(&d->last) : json_null());
	json_object_set_new(o, "last_success", time_or_null(d->last_success));
	json_object_set_new(o, "next_backup", time_or_null(d->next_due));
	json_object_set_new(o, "retry", json_boolean(d->has_last && d->last.code != 0 &&
		d->last.code != CF_EPARTIAL && d->next_due > 0 && !d->running));
	if (d->next_due > 0) {
		iso_time(d->next_due, t);
		json_object_set_new(o, "next_backup_time", json_string(t));
	} else {
		json_object_set_new(o, "next_backup_time", json_null());
	}
	json_t *p = json_object();
	json_object_set_new(p, "dirty_folders", json_integer((json_int_t)wi.dirty));
	json_object_set_new(p, "full_scan", json_boolean(wi.full_scan));
	json_object_set_new(p, "last_change", time_or_null(d->last_change));
	json_object_set_new(o, "pending", p);
	json_t *wl = json_array();
	for (size_t i = 0; i < d->cfg->npaths; i++) {
		json_t *e = json_object();
		struct stat st;
		const char *state = watch_root_watched(d->w, d->cfg->paths[i]) ? "watched" :
			stat(d->cfg->paths[i], &st) != 0 ? "missing" : "not watched";
		json_object_set_new(e, "path", json_string(d->cfg->paths[i]));
		json_object_set_new(e, "state", json_string(state));
		json_array_append_new(wl, e);
	}
	json_object_set_new(o, "watched", wl);
	json_object_set_new(o, "watches", json_integer((json_int_t)wi.watches));
	json_object_set_new(o, "watch_incomplete", json_boolean(wi.incomplete));
	json_object_set_new(o, "unwatched_folders", json_integer((json_int_t)wi.unwatched));
	json_object_set_new(o, "overflows", json_integer((json_int_t)wi.overflows));
	json_object_set_new(o, "last_full_scan", time_or_null(d->last_full));
	json_object_set_new(o, "next_is_push_retry", json_boolean(d->next_push_only));
	json_object_set_new(o, "clear_spool", json_boolean(d->cfg->clear_spool));
	json_t *dl = json_array();
	for (size_t i = 0; i < d->cfg->ndests; i++)
		json_array_append_new(dl, dest_json(&d->dests[i]));
	json_object_set_new(o, "destinations", dl);
	json_object_set_new(o, "last_retention", time_or_null(d->last_prune));
	return o;
}

/* write_status(d, durable): the status file, for other tools and for the catch-up after a
 * restart. Only a finished run and the stop make it durable: an fsync on the event loop can
 * stall it for seconds while a backup fills the page cache, and the control socket with it. */
static void write_status(struct daemon *d, int durable)
{
	json_t *j = status_json(d);
	char *text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	char *path = state_path(d, "status.json");
	struct cf_error err = { 0 };
	if (text && path && util_write_atomic(path, text, strlen(text),
		durable ? 0 : UTIL_NOSYNC, &err))
		logf_("warning: cannot write the status file: %s", err.msg);
	free(text);
	free(path);
}

/* Restores the times of the last runs from the status file (catch-up after a restart). */
static void read_status(struct daemon *d)
{
	char *path = state_path(d, "status.json");
	json_t *j = path ? json_load_file(path, 0, NULL) : NULL;
	free(path);
	if (!j)
		return;
	d->last_success = (time_t)json_integer_value(json_object_get(j, "last_success"));
	d->last_full = (time_t)json_integer_value(json_object_get(j, "last_full_scan"));
	d->last_prune = (time_t)json_integer_value(json_object_get(j, "last_retention"));
	json_t *lb = json_object_get(j, "last_backup");
	if (json_is_object(lb)) {
		struct result *r = &d->last;
		d->has_last = 1;
		r->start = (time_t)json_integer_value(json_object_get(lb, "start"));
		snprintf(r->result, sizeof r->result, "%s",
			json_string_value(json_object_get(lb, "result")) ?: "?");
		snprintf(r->snapshot, sizeof r->snapshot, "%s",
			json_string_value(json_object_get(lb, "snapshot")) ?: "");
		snprintf(r->error, sizeof r->error, "%s",
			json_string_value(json_object_get(lb, "error")) ?: "");
		r->st.files_unchanged = (uint64_t)json_integer_value(json_object_get(lb, "files"));
		r->st.bytes_read = (uint64_t)json_integer_value(json_object_get(lb, "bytes_read"));
		r->st.bytes_added = (uint64_t)json_integer_value(json_object_get(lb, "bytes_added"));
		r->st.entries = (uint64_t)json_integer_value(json_object_get(lb, "entries"));
		r->st.dirs_reused = (uint64_t)json_integer_value(json_object_get(lb, "dirs_reused"));
		r->duration = json_number_value(json_object_get(lb, "duration"));
		r->full_scan = json_is_true(json_object_get(lb, "full_scan"));
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "destinations"), i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *url = json_string_value(json_object_get(e, "url"));
		for (size_t k = 0; name && url && k < d->cfg->ndests; k++)
			if (strcmp(d->dests[k].name, name) == 0 && strcmp(d->dests[k].url, url) == 0)
				dest_from_json(&d->dests[k], e);
	}
	json_decref(j);
}

static void record_history(struct daemon *d, const struct result *r)
{
	char *path = state_path(d, "history.db");
	sqlite3 *db = NULL;
	if (!path || sqlite3_open(path, &db) != SQLITE_OK) {
		logf_("warning: cannot open the history '%s': %s", path ? path : "?",
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		free(path);
		return;
	}
	free(path);
	sqlite3_busy_timeout(db, 2000);
	char *emsg = NULL;
	if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, "
		"start INTEGER, duration REAL, result TEXT, snapshot TEXT, files INTEGER, "
		"bytes_read INTEGER, bytes_added INTEGER, entries INTEGER, dirs_reused INTEGER, "
		"full_scan INTEGER, message TEXT)", NULL, NULL, &emsg) != SQLITE_OK) {
		logf_("warning: history: %s", emsg ? emsg : "?");
		sqlite3_free(emsg);
		sqlite3_close(db);
		return;
	}
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, "INSERT INTO runs (start, duration, result, snapshot, files, "
		"bytes_read, bytes_added, entries, dirs_reused, full_scan, message) "
		"VALUES (?,?,?,?,?,?,?,?,?,?,?)", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, r->start);
		sqlite3_bind_double(s, 2, r->duration);
		sqlite3_bind_text(s, 3, r->result, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 4, r->snapshot, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)(r->st.files_new + r->st.files_changed +
			r->st.files_unchanged));
		sqlite3_bind_int64(s, 6, (sqlite3_int64)r->st.bytes_read);
		sqlite3_bind_int64(s, 7, (sqlite3_int64)r->st.bytes_added);
		sqlite3_bind_int64(s, 8, (sqlite3_int64)r->st.entries);
		sqlite3_bind_int64(s, 9, (sqlite3_int64)r->st.dirs_reused);
		sqlite3_bind_int(s, 10, r->full_scan);
		sqlite3_bind_text(s, 11, r->error, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(s) != SQLITE_DONE)
			logf_("warning: history: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(s);
	/* Keep the history small. */
	sqlite3_exec(db, "DELETE FROM runs WHERE id <= (SELECT max(id) FROM runs) - 1000",
		NULL, NULL, NULL);
	sqlite3_close(db);
}

/* ---- schedule ---- */

static void notify_status(struct daemon *d)
{
	char t[40], line[200];
	if (d->running)
		snprintf(line, sizeof line, "STATUS=backing up");
	else if (d->next_due > 0) {
		iso_time(d->next_due, t);
		snprintf(line, sizeof line, "STATUS=idle, last backup %s, next %s",
			d->has_last ? d->last.result : "none", t);
	} else {
		snprintf(line, sizeof line, "STATUS=idle, last backup %s, waiting for changes",
			d->has_last ? d->last.result : "none");
	}
	sd_notify(0, line);
}

static void rearm(struct daemon *d)
{
	time_t now = time(NULL);
	time_t due = sched_next(&d->cfg->schedule, d->last_success, d->last_change, now);
	if (d->has_last && d->last.code != 0 && d->last.code != CF_EPARTIAL && d->last.run) {
		/* A failed run is retried, not hammered, and retried even when the schedule
		 * would wait for the next change. */
		time_t retry = d->last.start + d->retry_delay;
		if (due <= 0 || due < retry)
			due = retry;
	}
	/* A destination left behind (a drive away, a server down) is tried again before the
	 * next backup when that is far off. */
	d->next_push_only = 0;
	for (size_t i = 0; d->running == 0 && i < d->cfg->ndests; i++) {
		const struct dest_state *ds = &d->dests[i];
		if (!ds->last_attempt || strcmp(ds->result, "complete") == 0)
			continue;
		time_t retry = ds->last_attempt + d->push_retry;
		if (due <= 0 || retry < due) {
			due = retry;
			d->next_push_only = 1;
		}
	}
	d->next_due = due;
	struct itimerspec its = { 0 };
	if (due > 0)
		its.it_value.tv_sec = due > now ? due : now;
	if (due > 0 && its.it_value.tv_sec <= now)
		its.it_value.tv_sec = now, its.it_value.tv_nsec = 1;
	if (timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		logf_("warning: cannot set the timer: %s", strerror(errno));
	notify_status(d);
	write_status(d, 0);
}

/* Logs when folders stop or start being all watched. */
static void report_watches(struct daemon *d)
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

static void job_free(struct job *j)
{
	free((void *)j->paths);
	free(j->dests);
	free(j);
}

/* start_backup(d, push_only): a backup, then the push; or, with ${push_only}, a retry of
 * the destinations left behind. */
static void start_backup(struct daemon *d, int push_only)
{
	if (d->running || d->stopping)
		return;
	struct job *j = calloc(1, sizeof *j);
	const char **paths = calloc(d->cfg->npaths + 1, sizeof *paths);
	struct dest_state *dests = calloc(d->cfg->ndests + 1, sizeof *dests);
	if (!j || !paths || !dests) {
		logf_("error: out of memory");
		free(j);
		free(paths);
		free(dests);
		return;
	}
	memcpy(dests, d->dests, d->cfg->ndests * sizeof *dests);
	j->dests = dests;
	j->res.push_only = push_only;
	time_t now = time(NULL);
	if (now - d->last_full >= FULL_SCAN_EVERY)
		watch_request_full_scan(d->w);
	/* Folders that could not be watched are tried again here, not on a timer: the idle
	 * daemon stays asleep. */
	watch_retry(d->w);
	report_watches(d);
	/* Roots that were missing and came back are watched again (with a full scan). */
	for (size_t i = 0; i < d->cfg->npaths; i++) {
		const char *p = d->cfg->paths[i];
		struct stat st;
		if (!watch_root_watched(d->w, p)) {
			struct cf_error err = { 0 };
			if (watch_add_root(d->w, p, &err) == 0)
				watch_request_full_scan(d->w);
		}
		if (lstat(p, &st) == 0) {
			paths[j->npaths++] = p;
		} else {
			size_t n = strlen(j->res.missing);
			snprintf(j->res.missing + n, sizeof j->res.missing - n, "%s'%s' is missing",
				n ? ", " : "", p);
		}
	}
	if (j->res.missing[0] && !push_only)
		logf_("warning: %s: left out of this backup", j->res.missing);
	j->paths = paths;
	struct watch_info wi;
	watch_info(d->w, &wi);
	j->cfg = d->cfg;
	j->w = d->w;
	j->donefd = d->donefd;
	j->cancel = &d->cancel;
	j->prog = &d->prog;
	memset(&d->prog.st, 0, sizeof d->prog.st);
	d->prog.current[0] = 0;
	j->res.run = ++d->runs;
	if (j->res.missing[0] && j->res.nwarn_kept < MAX_WARN_KEPT)
		snprintf(j->res.warn_kept[j->res.nwarn_kept++], sizeof j->res.warn_kept[0], "%.280s",
			j->res.missing);
	d->now_requested = 0;
	j->do_prune = !push_only && now - d->last_prune >= PRUNE_EVERY;
	j->res.start = now;
	j->res.full_scan = wi.full_scan || wi.incomplete;
	atomic_store(&d->cancel, 0);
	d->mark = watch_mark(d->w);
	d->change_during_run = 0;
	if (pthread_create(&d->th, NULL, job_main, j) != 0) {
		logf_("error: cannot start the backup thread: %s", strerror(errno));
		d->runs--;
		job_free(j);
		return;
	}
	d->job = j;
	d->running = 1;
	if (push_only)
		logf_("run #%llu started: sending the backups to the destinations left behind",
			(unsigned long long)j->res.run);
	else
		logf_("backup #%llu started (%s, %zu folders with changes)",
			(unsigned long long)j->res.run,
			j->res.full_scan ? "full scan" : "changed folders only", wi.dirty);
	notify_status(d);
	write_status(d, 0);
}

static void apply_cfg(struct daemon *d, struct cfg *c);

static void finish_backup(struct daemon *d)
{
	uint64_t v;
	if (read(d->donefd, &v, sizeof v) != sizeof v)
		return;
	if (!d->running)
		return;
	pthread_join(d->th, NULL);
	d->running = 0;
	struct job *j = d->job;
	d->job = NULL;
	struct result *r = &j->res;
	memcpy(d->dests, j->dests, d->cfg->ndests * sizeof *d->dests);
	if (r->push_only) {
		if (r->code)
			logf_("run #%llu: %s", (unsigned long long)r->run, r->error);
		job_free(j);
		goto after;
	}
	d->last = *r;
	d->has_last = 1;
	if (r->code == 0 || r->code == CF_EPARTIAL) {
		watch_clear(d->w, d->mark);
		d->last_success = r->start;
		if (r->full_scan)
			d->last_full = r->start;
		if (!d->change_during_run)
			d->last_change = 0;
		if (r->pruned)
			d->last_prune = r->start;
		logf_("backup #%llu %s%s: snapshot %.8s, %llu files, %llu entries examined, %llu "
			"folders reused, read %llu bytes, added %llu bytes in %.1f s",
			(unsigned long long)r->run, r->result, r->full_scan ? " (full scan)" : "",
			r->snapshot,
			(unsigned long long)(r->st.files_new + r->st.files_changed + r->st.files_unchanged),
			(unsigned long long)r->st.entries, (unsigned long long)r->st.dirs_reused,
			(unsigned long long)r->st.bytes_read, (unsigned long long)r->st.bytes_added,
			r->duration);
		if (r->prune_error[0])
			logf_("warning: retention failed: %s", r->prune_error);
	} else {
		logf_("backup #%llu %s: %s; retrying in %ld s", (unsigned long long)r->run,
			r->result, r->error, d->retry_delay);
	}
	record_history(d, r);
	job_free(j);
after:
	malloc_trim(0);
	if (d->pending_cfg) {
		struct cfg *c = d->pending_cfg;
		d->pending_cfg = NULL;
		apply_cfg(d, c);
	}
	if (!d->stopping && d->now_requested)
		start_backup(d, 0);	/* asked for while this one ran */
	if (!d->stopping)
		rearm(d);
	write_status(d, 1);
}

/* ---- protected folders that went away ---- */

/* Watches the nearest existing parent of each missing root (rfd), so that a folder renamed
 * back or recreated is noticed at once; a root that is back is watched again with a full
 * scan pending and counts as a change. Returns the number of roots that came back. */
static int check_roots(struct daemon *d)
{
	int back = 0;
	if (d->rfd >= 0) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, d->rfd, NULL);
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
	if (d->rfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = d->rfd };
		if (epoll_ctl(d->ep, EPOLL_CTL_ADD, d->rfd, &ev) != 0)
			logf_("warning: epoll: %s", strerror(errno));
	}
	return back;
}

/* ---- configuration ---- */

static int build_watch(struct daemon *d, const struct cfg *c)
{
	struct watch *w = NULL;
	struct cf_error err = { 0 };
	if (watch_new(on_watch_warning, d, &w, &err)) {
		logf_("error: %s", err.msg);
		return -1;
	}
	for (size_t i = 0; i < c->npaths; i++)
		if (watch_add_root(w, c->paths[i], &err))
			logf_("warning: %s", err.msg);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = watch_fd(w) };
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, watch_fd(w), &ev) != 0) {
		logf_("error: epoll: %s", strerror(errno));
		watch_free(w);
		return -1;
	}
	if (d->w) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, watch_fd(d->w), NULL);
		watch_free(d->w);
	}
	d->w = w;
	free(d->missing);
	d->missing = calloc(c->npaths ? c->npaths : 1, 1);
	struct watch_info wi;
	watch_info(w, &wi);
	logf_("watching %zu folders under %zu protected paths", wi.watches, c->npaths);
	d->unwatched = 0;
	report_watches(d);
	return 0;
}

/* Root and the members of socket-group may use the control socket. */
static void open_socket_to_group(struct daemon *d)
{
	struct cf_error err = { 0 };
	const char *g = d->cfg->socket_group;
	int rc = ctl_set_group(d->cfg->socket, g, &err);
	if (rc == 0)
		logf_("the control socket is open to root and the group '%s' (mode 0660)", g);
	else if (rc == CTL_NO_GROUP)
		logf_("warning: there is no group '%s': the control socket '%s' is for root only "
			"(mode 0600); create the group (groupadd --system %s) and reload coffred "
			"to let its members use coffre status", g, d->cfg->socket, g);
	else if (rc == CTL_GROUP_NO_SEARCH)
		logf_("warning: the control socket is given to the group '%s', but its folder does "
			"not let that group through (make the folder searchable, e.g. mode 0755)", g);
	else
		logf_("warning: %s; the control socket stays root only", err.msg);
}

static void apply_cfg(struct daemon *d, struct cfg *c)
{
	if (d->cfg && strcmp(d->cfg->socket, c->socket) != 0)
		logf_("warning: the control socket moves only at restart (still '%s')",
			d->cfg->socket);
	if (build_watch(d, c)) {
		logf_("keeping the previous configuration");
		cfg_free(c);
		return;
	}
	struct dest_state *ds = align_dests(d->dests, d->cfg->ndests, c);
	if (!ds) {
		logf_("error: out of memory; keeping the previous configuration");
		cfg_free(c);
		return;
	}
	free(d->dests);
	d->dests = ds;
	free(c->socket);
	c->socket = strdup(d->cfg->socket);
	cfg_free(d->cfg);
	d->cfg = c;
	open_socket_to_group(d);	/* the group may be new, or created since */
	check_roots(d);
	if (c->schedule.kind == SCHED_AFTER_CHANGE)
		d->last_change = time(NULL);	/* the new folders get their first backup */
	logf_("configuration reloaded from '%s'", d->cfg_file);
}

static void print_problems(const char *problems)
{
	for (const char *p = problems; p && *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		logf_("%.*s", len, p);
		p += len + (nl ? 1 : 0);
	}
}

static void reload(struct daemon *d)
{
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	logf_("reloading the configuration '%s'", d->cfg_file);
	if (cfg_load(d->cfg_file, &c, &problems, &err)) {
		print_problems(problems);
		logf_("error: %s: keeping the current configuration", err.msg);
		free(problems);
		return;
	}
	if (d->running) {
		cfg_free(d->pending_cfg);
		d->pending_cfg = c;
		logf_("the new configuration applies when the running backup ends");
		return;
	}
	apply_cfg(d, c);
	rearm(d);
}

/* ---- control socket ---- */

static void on_ctl(struct daemon *d)
{
	int fd = accept4(d->ctl, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	char req[256];
	if (ctl_read_request(fd, req, sizeof req) == 0) {
		if (strcmp(req, CTL_STATUS) == 0) {
			json_t *j = status_json(d);
			char *text = json_dumps(j, JSON_INDENT(2));
			json_decref(j);
			ctl_reply(fd, text ? text : "{}");
			free(text);
		} else if (strcmp(req, CTL_BACKUP) == 0) {
			/* A run going on may have started before the caller's changes: another
			 * one follows it. The reply names the run to wait for. */
			char reply[160];
			if (d->running) {
				d->now_requested = 1;
				snprintf(reply, sizeof reply, "{\"ok\":true,\"run\":%llu,"
					"\"after_running\":true}", (unsigned long long)d->runs + 1);
				write_status(d, 0);
			} else {
				start_backup(d, 0);
				if (d->running)
					snprintf(reply, sizeof reply, "{\"ok\":true,\"run\":%llu}",
						(unsigned long long)d->runs);
				else
					snprintf(reply, sizeof reply, "{\"ok\":false,\"error\":"
						"\"cannot start a backup (see the daemon's log)\"}");
			}
			ctl_reply(fd, reply);
		} else {
			ctl_reply(fd, "{\"ok\":false,\"error\":\"unknown request\"}");
		}
	}
	close(fd);
}

/* ---- main ---- */

static int add_fd(struct daemon *d, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void stop_backup(struct daemon *d)
{
	if (!d->running)
		return;
	logf_("stopping the running backup");
	atomic_store(&d->cancel, 1);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += STOP_GRACE;
	if (pthread_timedjoin_np(d->th, NULL, &dl) == 0) {
		d->running = 0;
		struct result *r = &d->job->res;
		if (!r->push_only) {
			d->last = *r;
			d->has_last = 1;
			record_history(d, r);
		}
		memcpy(d->dests, d->job->dests, d->cfg->ndests * sizeof *d->dests);
		job_free(d->job);
		d->job = NULL;
	} else {
		/* Leaving now is as safe as kill -9: nothing half-written is ever referenced. */
		logf_("warning: the backup did not stop in %d s; leaving it unfinished", STOP_GRACE);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' }, { 0 } };
	struct daemon D = { .cfg_file = CFG_DEFAULT_PATH, .ctl = -1, .wdfd = -1, .rfd = -1,
		.retry_delay = RETRY_DELAY };
	struct daemon *d = &D;
	int c;
	const char *rd = getenv("COFFRED_RETRY_DELAY");	/* tests */
	if (rd && atol(rd) > 0)
		d->retry_delay = atol(rd);
	const char *pr = getenv("COFFRED_PUSH_RETRY");	/* tests */
	d->push_retry = pr && atol(pr) > 0 ? atol(pr) : PUSH_RETRY;
	pthread_mutex_init(&d->prog.mu, NULL);
	/* One malloc arena: the backup's worker threads would each keep an arena of several
	 * MiB resident between runs (measured: 21 MiB idle RSS instead of 12 MiB after a first
	 * backup of 100,000 files); with one, malloc_trim gives it all back. */
	mallopt(M_ARENA_MAX, 1);
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == 'c') {
			d->cfg_file = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else {
			fputs(usage_text, stderr);
			return CF_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		return CF_EXIT_USAGE;
	}
	char *problems = NULL;
	struct cf_error err = { 0 };
	if (cfg_load(d->cfg_file, &d->cfg, &problems, &err)) {
		print_problems(problems);
		logf_("error: %s: not starting", err.msg);
		free(problems);
		return CF_EXIT_ERROR;
	}
	if (mkdir(d->cfg->state_dir, 0750) != 0 && errno != EEXIST) {
		logf_("error: cannot create the state folder '%s': %s", d->cfg->state_dir,
			strerror(errno));
		return CF_EXIT_ERROR;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);	/* before any thread starts */
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	d->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	d->donefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->ep < 0 || d->sfd < 0 || d->tfd < 0 || d->donefd < 0 || add_fd(d, d->sfd) ||
	    add_fd(d, d->tfd) || add_fd(d, d->donefd)) {
		logf_("error: cannot set up the event loop: %s", strerror(errno));
		return CF_EXIT_ERROR;
	}
	d->ctl = ctl_listen(d->cfg->socket, &err);
	if (d->ctl < 0 || add_fd(d, d->ctl)) {
		logf_("error: %s", err.msg);
		return CF_EXIT_ERROR;
	}
	open_socket_to_group(d);
	uint64_t wd_usec = 0;
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		d->wdfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		struct itimerspec its = { .it_interval = { (time_t)(wd_usec / 2000000),
			(long)(wd_usec / 2 % 1000000) * 1000 } };
		its.it_value = its.it_interval;
		if (d->wdfd < 0 || timerfd_settime(d->wdfd, 0, &its, NULL) || add_fd(d, d->wdfd))
			logf_("warning: cannot set up the watchdog timer");
	}
	if (!(d->dests = align_dests(NULL, 0, d->cfg))) {
		logf_("error: out of memory");
		return CF_EXIT_ERROR;
	}
	read_status(d);
	if (build_watch(d, d->cfg))
		return CF_EXIT_ERROR;
	check_roots(d);
	if (d->cfg->schedule.kind == SCHED_AFTER_CHANGE)
		d->last_change = time(NULL);	/* changes made while stopped are unknown */
	logf_("started (pid %d), control socket '%s'", (int)getpid(), d->cfg->socket);
	rearm(d);
	sd_notify(0, "READY=1");
	while (!d->stopping) {
		struct epoll_event evs[8];
		int n = epoll_wait(d->ep, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			logf_("error: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n && !d->stopping; i++) {
			int fd = evs[i].data.fd;
			if (fd == d->sfd) {
				struct signalfd_siginfo si;
				while (read(d->sfd, &si, sizeof si) == sizeof si) {
					if (si.ssi_signo == SIGHUP)
						reload(d);
					else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
						d->stopping = 1;
				}
			} else if (fd == d->tfd) {
				uint64_t v;
				if (read(d->tfd, &v, sizeof v) < 0 && errno != EAGAIN)
					logf_("warning: timer: %s", strerror(errno));
				/* time() reads a coarse clock that may lag the timer by a tick. */
				if (d->next_due > 0 && time(NULL) + 1 >= d->next_due)
					start_backup(d, d->next_push_only);
				else if (!d->running)
					rearm(d);
			} else if (fd == d->donefd) {
				finish_backup(d);
			} else if (fd == d->ctl) {
				on_ctl(d);
			} else if (fd == d->wdfd) {
				uint64_t v;
				if (read(d->wdfd, &v, sizeof v) > 0)
					sd_notify(0, "WATCHDOG=1");
			} else if (fd == d->rfd) {
				char buf[4096];
				while (read(d->rfd, buf, sizeof buf) > 0)
					;
				if (check_roots(d) > 0 && !d->running)
					rearm(d);
			} else if (d->w && fd == watch_fd(d->w)) {
				int k = watch_process(d->w);
				if (k > 0)
					check_roots(d);
				report_watches(d);
				if (k > 0) {
					d->last_change = time(NULL);
					if (d->running)
						d->change_during_run = 1;
					else if (d->cfg->schedule.kind == SCHED_AFTER_CHANGE)
						rearm(d);
				}
			}
		}
	}
	sd_notify(0, "STOPPING=1");
	logf_("stopping");
	stop_backup(d);
	write_status(d, 1);
	if (d->ctl >= 0) {
		close(d->ctl);
		unlink(d->cfg->socket);
	}
	if (d->running)
		_exit(0);	/* the backup thread is still inside the engine */
	watch_free(d->w);
	free(d->missing);
	free(d->dests);
	if (d->rfd >= 0)
		close(d->rfd);
	cfg_free(d->cfg);
	cfg_free(d->pending_cfg);
	logf_("stopped");
	return 0;
}
