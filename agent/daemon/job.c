/* job.c: what a scheduled or requested run does (a backup, retention and the push to the
 * destinations, or a push alone), in a process of its own that reports back through a pipe
 * (child.c); and the timer that starts the next one. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "coffre/alarm.h"
#include "coffre/backup.h"
#include "coffre/cfg.h"
#include "coffre/error.h"
#include "coffre/forget.h"
#include "coffre/poison.h"
#include "coffre/prune.h"
#include "coffre/push.h"
#include "coffre/snap.h"
#include "coffre/repo.h"
#include "coffre/runmsg.h"
#include "coffre/sched.h"
#include "coffre/watch.h"
#include "base/util.h"
#include "coffred.h"

/* ---- in the run's process ---- */

static int job_clean(void *ctx, const char *path)
{
	struct job *j = ctx;
	return watch_clean(j->w, path);
}

static void job_warn(void *ctx, const char *path, const char *msg)
{
	struct job *j = ctx;
	logf_("warning: '%s': %s", path, msg);
	if (j->res.s.nwarn < STATE_WARN_KEPT)
		snprintf(j->res.s.warn[j->res.s.nwarn++], sizeof j->res.s.warn[0],
			"%s: %s", path, msg);
}

static void job_progress(void *ctx, const struct backup_stats *st)
{
	struct job *j = ctx;
	struct runmsg m = { .kind = RUNMSG_PROGRESS };
	struct runmsg_progress *p = &m.u.progress;
	p->files_new = st->files_new;
	p->files_changed = st->files_changed;
	p->files_unchanged = st->files_unchanged;
	p->entries = st->entries;
	p->bytes_read = st->bytes_read;
	p->bytes_added = st->bytes_added;
	p->duration = st->duration;
	snprintf(p->current, sizeof p->current, "%s", st->current ? st->current : "");
	child_send(j->msgfd, &m);
}

/* A phase begins, or goes on: the daemon hears that the run is alive. */
static void job_phase(struct job *j, const char *phase)
{
	struct runmsg m = { .kind = RUNMSG_PHASE };
	snprintf(m.u.phase, sizeof m.u.phase, "%s", phase);
	child_send(j->msgfd, &m);
}

static void job_push_progress(void *ctx, const char *name, uint64_t done, uint64_t total)
{
	static struct timespec last;
	struct timespec now;
	(void)name;
	(void)done;
	(void)total;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec == last.tv_sec)
		return;
	last = now;
	job_phase(ctx, "push");
}

static char *read_password(const char *file, struct cf_error *err)
{
	char *pw = util_read_first_line(file);
	if (!pw)
		cf_error_sys(err, CF_EIO, "cannot read the password file '%s'", file);
	return pw;
}

/* Snapshots dated in the future are a forged clock's mark: said in the run's warnings, so
 * that status shows them. */
static void warn_future(struct job *j, struct repo *r)
{
	struct snap **list = NULL;
	size_t n = 0, future = 0;
	if (snap_list(r, &list, &n, NULL, NULL) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		future += list[i]->future != 0;
	snap_list_free(list, n);
	if (future) {
		char msg[200];
		snprintf(msg, sizeof msg, "%zu snapshots are dated more than 10 minutes in the "
			"future: a forged or wrong clock; they are kept, never used as 'latest' and "
			"counted by no retention rule", future);
		job_warn(j, "snapshots", msg);
	}
}

/* Under a ransomware alarm, before its first snapshot: the last one made before the attack
 * is pinned, and the alarm file says which (the daemon reads it back after the run). */
static void alarm_pin_clean(struct job *j, struct repo *r)
{
	struct cf_error err = { 0 };
	if (j->alarm.clean[0])
		return;
	int rc = alarm_pin(r, &j->alarm, &err);
	if (rc == 0) {
		if (alarm_save(j->cfg->state_dir, &j->alarm, &err))
			logf_("error: ransomware alarm: %s", err.msg);
	} else {
		logf_("warning: ransomware alarm: %s", err.msg);
	}
}

/* The [backup] policy, then prune. */
static int run_retention(struct repo *r, const struct cfg *c, struct cf_error *err)
{
	size_t removed;
	int rc = forget_run(r, &c->keep, 0, NULL, NULL, &removed, err);
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
	struct state_run *res = &j->res.s;
	size_t n = c->ndests;
	const char **urls = calloc(n, sizeof *urls);
	const struct forget_policy **keep = calloc(n, sizeof *keep);
	struct dst_options *opts = calloc(n, sizeof *opts);
	struct push_result *pr = calloc(n, sizeof *pr);
	if (!urls || !keep || !opts || !pr) {
		logf_("error: out of memory");
		goto out;
	}
	/* Under a ransomware alarm: no retention on any copy, and a USB drive is not mounted
	 * on the attacked machine until a person clears the alarm. */
	size_t *at = calloc(n ? n : 1, sizeof *at), m = 0;
	if (!at) {
		logf_("error: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (j->alarm.active && strncmp(c->dests[i].url, "usb:", 4) == 0) {
			snprintf(j->dests[i].result, sizeof j->dests[i].result, "held");
			continue;
		}
		at[m] = i;
		urls[m] = c->dests[i].url;
		keep[m] = j->alarm.active ? NULL : &c->dests[i].keep;
		cfg_dest_options(&c->dests[i], &opts[m]);
		m++;
	}
	struct push_opts po = { .progress = job_push_progress, .ctx = j, .cancel = j->cancel };
	struct cf_error cerr = { 0 };
	push_all(r, urls, opts, keep, m, c->clear_spool && !j->alarm.active, &po, pr,
		&res->spool_cleared, &cerr);
	if (cerr.code)
		snprintf(res->spool_clear_error, sizeof res->spool_clear_error, "%s", cerr.msg);
	time_t now = time(NULL);
	for (size_t k = 0; k < m; k++) {
		struct state_dest *ds = &j->dests[at[k]];
		const struct push_result *p = &pr[k];
		ds->last_attempt = now;
		snprintf(ds->result, sizeof ds->result, "%s", push_outcome(p->code, j->cancel));
		ds->sent = p->st.sent;
		ds->sent_bytes = p->st.sent_bytes;
		ds->removed_snapshots = p->st.removed_snapshots;
		ds->lock_waiting = p->st.protected_waiting;
		ds->denied = p->st.denied;
		ds->thinned = p->st.thinned;
		ds->too_small = p->st.too_small;
		if (p->lock.earliest > 0)
			ds->lock_until = (time_t)p->lock.earliest;
		if (p->st.removed_snapshots || p->st.removed_packs)
			logf_("destination '%s': retention removed %llu snapshots, %llu packs (%llu "
				"bytes)", ds->name, (unsigned long long)p->st.removed_snapshots,
				(unsigned long long)p->st.removed_packs,
				(unsigned long long)p->st.removed_bytes);
		if (p->st.retain_deferred)
			logf_("destination '%s': another process is reading it; its retention waits "
				"for the next push", ds->name);
		if (p->st.thinned)
			logf_("destination '%s' was full: %llu of its oldest snapshots removed to "
				"make room", ds->name, (unsigned long long)p->st.thinned);
		if (p->st.protected_waiting)
			logf_("destination '%s': %llu objects waiting for their lock to expire before "
				"they can be deleted", ds->name,
				(unsigned long long)p->st.protected_waiting);
		if (p->st.denied)
			logf_("destination '%s' refuses deletions with these keys: retention there "
				"is left to its owner (%llu objects its policy drops stay)", ds->name,
				(unsigned long long)p->st.denied);
		ds->lock_failed = p->lock_code != 0;
		if (p->lock_code)
			logf_("warning: destination '%s': the Object Lock of its objects could not be "
				"extended: %s", ds->name, p->lock_err.msg);
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
			ds->pending_since = j->res.push_only ? now : res->start;
		logf_("destination '%s' (%s): %s: %s; kept pending for the next try", ds->name,
			ds->url, ds->result, ds->error);
	}
	if (res->spool_cleared)
		logf_("spool: %llu bytes of data packs removed (every destination holds them)",
			(unsigned long long)res->spool_cleared);
	if (res->spool_clear_error[0])
		logf_("warning: the spool is kept: %s", res->spool_clear_error);
	free(at);
out:
	free(urls);
	free(keep);
	free(opts);
	free(pr);
}

void job_run(struct job *j)
{
	struct state_run *res = &j->res.s;
	struct cf_error err = { 0 };
	struct repo *r = NULL;
	struct timespec t0, t1;
	struct backup_stats st = { 0 };
	size_t skipped = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *pw = read_password(j->cfg->password_file, &err);
	struct repo_cred cred = { .password = pw, .key_cache = repo_key_cache_wanted() };
	int rc = pw ? 0 : err.code;
	if (j->res.push_only == JOB_DRILL) {
		/* Drills open each destination as a fresh machine would: not the spool. */
		if (rc == 0)
			drills_run(j, &cred);
		if (pw)
			sodium_memzero(pw, strlen(pw));
		free(pw);
		j->res.code = rc;
		snprintf(res->result, sizeof res->result, "%s", rc ? "failed" : "ok");
		if (rc)
			snprintf(res->error, sizeof res->error, "%s", err.msg);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		res->duration = (double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		return;
	}
	if (rc == 0 && j->npaths == 0 && !j->res.push_only)
		rc = cf_error_set(&err, CF_ENOENT, "no protected folder is present (%s)",
			res->missing);
	if (rc == 0)
		rc = repo_open(j->cfg->repository, &cred, &r, &err);
	if (pw)
		sodium_memzero(pw, strlen(pw));
	free(pw);
	if (rc == 0 && !j->res.push_only) {
		struct backup_opts o = {
			.paths = j->paths, .npaths = j->npaths,
			.excludes = (const char *const *)j->excludes,
			.nexcludes = j->nexcludes, .clean = job_clean, .warn = job_warn,
			.progress = job_progress, .ctx = j, .cancel = j->cancel,
			.dbs = j->cfg->dbs, .ndbs = j->cfg->ndbs,
		};
		static const char *const suspect[] = { "suspect" };
		if (j->alarm.active) {
			o.tags = suspect;
			o.ntags = 1;
			alarm_pin_clean(j, r);
		}
		uint8_t id[32], parent[32];
		int has_parent = 0;
		for (; skipped < j->nskip; skipped++)
			job_warn(j, j->skip[skipped], "left out: the backup process died twice in a "
				"row while reading it (it is read again once it changes)");
		rc = backup_run(r, &o, &st, id, parent, &has_parent, &err);
		if (rc == 0 || rc == CF_EPARTIAL)
			util_hex(res->snapshot, id, 32);
		/* A folder that is missing, or a file skipped, is left out: the snapshot is
		 * partial. */
		if (rc == 0 && (res->missing[0] || j->nskip))
			rc = CF_EPARTIAL;
		if (rc == 0 || rc == CF_EPARTIAL)
			warn_future(j, r);
	}
	state_run_set_stats(res, &st);
	res->warnings += skipped;
	j->res.code = rc;
	if (rc == 0 || rc == CF_EPARTIAL) {
		snprintf(res->result, sizeof res->result, "%s", rc ? "partial" : "ok");
	} else {
		snprintf(res->result, sizeof res->result, "%s",
			atomic_load(j->cancel) ? "cancelled" : "failed");
		snprintf(res->error, sizeof res->error, "%s", err.msg[0] ? err.msg : "error");
	}
	if ((rc == 0 || rc == CF_EPARTIAL) && j->do_prune && !j->alarm.active &&
	    !atomic_load(j->cancel)) {
		struct cf_error perr = { 0 };
		job_phase(j, "retention");
		if (run_retention(r, j->cfg, &perr))
			snprintf(res->retention_error, sizeof res->retention_error, "%s", perr.msg);
		else
			res->retention = 1;
	}
	if ((rc == 0 || rc == CF_EPARTIAL) && j->cfg->ndests && !atomic_load(j->cancel)) {
		job_phase(j, "push");
		push_dests(j, r);
	}
	repo_free(r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->duration = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* ---- on the loop ---- */

static void iso_time(time_t t, char out[40])
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%S%z", &tm);
}

void job_notify(struct daemon *d)
{
	char t[40], line[200];
	if (d->running)
		snprintf(line, sizeof line, "STATUS=backing up");
	else if (d->next_due > 0) {
		iso_time(d->next_due, t);
		snprintf(line, sizeof line, "STATUS=idle, last backup %s, next %s",
			d->has_last ? d->last.s.result : "none", t);
	} else {
		snprintf(line, sizeof line, "STATUS=idle, last backup %s, waiting for changes",
			d->has_last ? d->last.s.result : "none");
	}
	sd_notify(0, line);
}

void job_rearm(struct daemon *d)
{
	time_t now = time(NULL);
	time_t due = sched_next(&d->cfg->schedule, d->last_success, d->last_change, now);
	if (d->has_last && d->last.code != 0 && d->last.code != CF_EPARTIAL && d->last.s.run) {
		/* A failed run is retried, not hammered, and retried even when the schedule
		 * would wait for the next change. */
		time_t retry = d->last.s.start + d->retry_delay;
		if (due <= 0 || due < retry)
			due = retry;
	}
	/* A destination left behind (a drive away, a server down) is tried again before the
	 * next backup when that is far off. */
	d->next_push_only = 0;
	for (size_t i = 0; d->running == 0 && i < d->cfg->ndests; i++) {
		const struct state_dest *ds = &d->dests[i];
		if (!ds->last_attempt || strcmp(ds->result, "complete") == 0)
			continue;
		time_t retry = ds->last_attempt + d->push_retry;
		if (due <= 0 || retry < due) {
			due = retry;
			d->next_push_only = 1;
		}
	}
	time_t drill = d->running ? 0 : drills_next(d, NULL);
	if (drill && (due <= 0 || drill < due)) {
		due = drill;
		d->next_push_only = JOB_DRILL;
	}
	d->next_due = due;
	struct itimerspec its = { 0 };
	if (due > 0)
		its.it_value.tv_sec = due > now ? due : now;
	if (due > 0 && its.it_value.tv_sec <= now)
		its.it_value.tv_sec = now, its.it_value.tv_nsec = 1;
	if (timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		logf_("warning: cannot set the timer: %s", strerror(errno));
	job_notify(d);
	status_write(d, 0);
}

static void job_free(struct job *j)
{
	free(j->drill);
	free((void *)j->paths);
	free(j->dests);
	for (size_t i = 0; i < j->nskip; i++)
		free(j->skip[i]);
	free(j->skip);
	for (size_t i = j->cfg ? j->cfg->nexcludes : 0; i < j->nexcludes; i++)
		free(j->excludes[i]);
	free(j->excludes);
	free(j);
}

static void job_save_poison(struct daemon *d)
{
	struct cf_error err = { 0 };
	if (poison_changed(d->poison) && poison_save(d->poison, d->cfg->state_dir, &err))
		logf_("warning: cannot keep the files that crash a backup: %s", err.msg);
}

/* After a backup: the file its process died on, if it died, is noted (poison.h). */
static void job_note_poison(struct daemon *d)
{
	if (!d->poison)
		return;
	if (!d->crashed) {
		poison_run_ended(d->poison);
	} else if (d->crash_path[0]) {
		int k = poison_crashed(d->poison, d->crash_path);
		if (k == 1)
			logf_("warning: '%s': the backup process died twice in a row while reading "
				"it: the next backups leave it out until it changes", d->crash_path);
		else if (k == 0)
			logf_("the backup process died while reading '%s'", d->crash_path);
	}
	job_save_poison(d);
}

static void on_unpoisoned(void *ctx, const char *path)
{
	(void)ctx;
	logf_("'%s' changed: it is backed up again", path);
}

/* ${path} as an exclude glob that matches it alone. */
static char *glob_escape(const char *path)
{
	char *g = malloc(2 * strlen(path) + 1), *o = g;
	if (!g)
		return NULL;
	for (const char *p = path; *p; p++) {
		if (strchr("*?[]\\", *p))
			*o++ = '\\';
		*o++ = *p;
	}
	*o = 0;
	return g;
}

/* The excludes of the run: the configuration's, and the files the run's process died on.
 * Returns 0 or -1 (out of memory). */
static int job_excludes(struct daemon *d, struct job *j)
{
	const struct cfg *c = d->cfg;
	size_t n = d->poison ? poison_count(d->poison) : 0;
	j->excludes = calloc(c->nexcludes + n + 1, sizeof *j->excludes);
	j->skip = calloc(n + 1, sizeof *j->skip);
	if (!j->excludes || !j->skip)
		return -1;
	memcpy(j->excludes, c->excludes, c->nexcludes * sizeof *j->excludes);
	j->nexcludes = c->nexcludes;
	for (size_t i = 0; i < n; i++) {
		const char *p = poison_path(d->poison, i);
		if (!(j->skip[i] = strdup(p)))
			return -1;
		j->nskip++;
		if (!(j->excludes[j->nexcludes] = glob_escape(p)))
			return -1;
		j->nexcludes++;
	}
	return 0;
}

/* job_start(d, push_only): a backup, then the push; or, with ${push_only}, a retry of the
 * destinations left behind. */
void job_start(struct daemon *d, int push_only)
{
	if (d->running || d->stopping)
		return;
	struct job *j = calloc(1, sizeof *j);
	const char **paths = calloc(d->cfg->npaths + 1, sizeof *paths);
	struct state_dest *dests = calloc(d->cfg->ndests + 1, sizeof *dests);
	if (!j || !paths || !dests) {
		logf_("error: out of memory");
		free(j);
		free(paths);
		free(dests);
		return;
	}
	struct state_run *res = &j->res.s;
	memcpy(dests, d->dests, d->cfg->ndests * sizeof *dests);
	j->dests = dests;
	j->ndests = d->cfg->ndests;
	j->cfg = d->cfg;
	if (d->poison && !push_only) {
		poison_refresh(d->poison, on_unpoisoned, d);
		job_save_poison(d);
	}
	if (job_excludes(d, j)) {
		logf_("error: out of memory");
		job_free(j);
		free(paths);
		return;
	}
	j->res.push_only = push_only;
	if (push_only == JOB_DRILL) {
		j->drill = calloc(d->cfg->ndests + 1, 1);
		if (!j->drill) {
			logf_("error: out of memory");
			job_free(j);
			free(paths);
			return;
		}
		drills_next(d, j->drill);
	}
	time_t now = time(NULL);
	if (now - d->last_full >= FULL_SCAN_EVERY)
		watch_request_full_scan(d->w);
	/* Folders that could not be watched are tried again here, not on a timer: the idle
	 * daemon stays asleep. */
	watch_retry(d->w);
	roots_report(d);
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
			size_t n = strlen(res->missing);
			snprintf(res->missing + n, sizeof res->missing - n, "%s'%s' is missing",
				n ? ", " : "", p);
		}
	}
	if (res->missing[0] && !push_only)
		logf_("warning: %s: left out of this backup", res->missing);
	j->paths = paths;
	struct watch_info wi;
	watch_info(d->w, &wi);
	j->cfg = d->cfg;
	j->w = d->w;
	j->cancel = &d->cancel;
	memset(&d->prog.st, 0, sizeof d->prog.st);
	d->prog.current[0] = 0;
	res->run = ++d->runs;
	if (res->missing[0] && res->nwarn < STATE_WARN_KEPT)
		snprintf(res->warn[res->nwarn++], sizeof res->warn[0], "%.280s", res->missing);
	d->now_requested = 0;
	j->do_prune = !push_only && now - d->last_prune >= PRUNE_EVERY;
	j->alarm = d->alarm;
	res->start = now;
	res->full_scan = wi.full_scan || wi.incomplete;
	atomic_store(&d->cancel, 0);
	d->mark = watch_mark(d->w);
	d->change_during_run = 0;
	d->job = j;
	d->running = 1;
	if (child_start(d, j) != 0) {
		d->runs--;
		d->job = NULL;
		d->running = 0;
		job_free(j);
		return;
	}
	if (push_only == JOB_DRILL)
		logf_("run #%llu started: restore drills", (unsigned long long)res->run);
	else if (push_only)
		logf_("run #%llu started: sending the backups to the destinations left behind",
			(unsigned long long)res->run);
	else
		logf_("backup #%llu started (%s, %zu folders with changes)",
			(unsigned long long)res->run,
			res->full_scan ? "full scan" : "changed folders only", wi.dirty);
	job_notify(d);
	status_write(d, 0);
}

void job_finish(struct daemon *d)
{
	if (!d->running)
		return;
	d->running = 0;
	struct job *j = d->job;
	d->job = NULL;
	struct result *r = &j->res;
	const struct state_run *s = &r->s;
	memcpy(d->dests, j->dests, d->cfg->ndests * sizeof *d->dests);
	guard_after_run(d);
	if (r->push_only) {
		if (r->code)
			logf_("run #%llu: %s", (unsigned long long)s->run, s->error);
		job_free(j);
		goto after;
	}
	d->last = *r;
	d->has_last = 1;
	job_note_poison(d);
	if (r->code == 0) {
		d->alert_watch.fail_streak = 0;
	} else if (strcmp(s->result, "cancelled") != 0) {
		if (!d->alert_watch.fail_streak++)
			d->alert_watch.fail_since = s->start;
	}
	if (r->code == 0 || r->code == CF_EPARTIAL) {
		watch_clear(d->w, d->mark);
		guard_backup_done(d, s);
		d->last_success = s->start;
		if (s->full_scan)
			d->last_full = s->start;
		if (!d->change_during_run)
			d->last_change = 0;
		if (s->retention)
			d->last_prune = s->start;
		logf_("backup #%llu %s%s: snapshot %.8s, %llu files, %llu entries examined, %llu "
			"folders reused, read %llu bytes, added %llu bytes in %.1f s",
			(unsigned long long)s->run, s->result, s->full_scan ? " (full scan)" : "",
			s->snapshot, (unsigned long long)s->files, (unsigned long long)s->entries,
			(unsigned long long)s->dirs_reused, (unsigned long long)s->bytes_read,
			(unsigned long long)s->bytes_added, s->duration);
		if (s->retention_error[0])
			logf_("warning: retention failed: %s", s->retention_error);
	} else {
		logf_("backup #%llu %s: %s; retrying in %ld s", (unsigned long long)s->run,
			s->result, s->error, d->retry_delay);
	}
	status_record(d, r);
	job_free(j);
after:
	malloc_trim(0);
	if (d->pending_cfg) {
		struct cfg *c = d->pending_cfg;
		d->pending_cfg = NULL;
		reload_apply(d, c);
	}
	if (!d->stopping && d->now_requested)
		job_start(d, 0);	/* asked for while this one ran */
	if (!d->stopping)
		job_rearm(d);
	status_write(d, 1);
	if (!d->stopping)
		alerts_check(d);	/* a good backup ends "not protected" at once */
	if (!d->stopping)
		fedstatus_after_run(d);
}

/* job_stop(d): cancel the running backup and wait a little for it (child.c). */
void job_stop(struct daemon *d)
{
	if (!d->running)
		return;
	logf_("stopping the running backup");
	child_stop(d);
}
