/* status.c: what coffred tells: the status (the file, and the control socket's answers), the
 * state it reads back at start, and the history of runs. The schema is state_'s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/cfg.h"
#include "coffre/ctl.h"
#include "coffre/error.h"
#include "coffre/sched.h"
#include "coffre/state.h"
#include "coffre/watch.h"
#include "coffred.h"

static void build_progress(struct daemon *d, struct state_progress *g)
{
	pthread_mutex_lock(&d->prog.mu);
	struct backup_stats st = d->prog.st;
	snprintf(g->current, sizeof g->current, "%s", d->prog.current);
	pthread_mutex_unlock(&d->prog.mu);
	g->run = d->job->res.s.run;
	g->start = d->job->res.s.start;
	g->full_scan = d->job->res.s.full_scan;
	g->files = st.files_new + st.files_changed + st.files_unchanged;
	g->entries = st.entries;
	g->bytes_read = st.bytes_read;
	g->bytes_added = st.bytes_added;
	g->duration = st.duration;
}

int status_build(struct daemon *d, struct state_status *s)
{
	const struct cfg *c = d->cfg;
	struct watch_info wi;
	watch_info(d->w, &wi);
	snprintf(s->state, sizeof s->state, "%s", d->running ? "running" : "idle");
	s->pid = getpid();
	s->runs = d->runs;
	if ((s->running = d->running))
		build_progress(d, &s->progress);
	s->backup_requested = d->now_requested;
	s->config = strdup(d->cfg_file);
	s->repository = strdup(c->repository);
	sched_format(&c->schedule, s->schedule, sizeof s->schedule);
	if ((s->has_last = d->has_last))
		s->last = d->last.s;
	s->last_success = d->last_success;
	s->next_backup = d->next_due;
	s->retry = d->has_last && d->last.code != 0 && d->last.code != CF_EPARTIAL &&
		d->next_due > 0 && !d->running;
	s->dirty_folders = wi.dirty;
	s->full_scan_due = wi.full_scan;
	s->last_change = d->last_change;
	s->watched = calloc(c->npaths + 1, sizeof *s->watched);
	for (size_t i = 0; s->watched && i < c->npaths; i++) {
		struct state_watched *e = &s->watched[s->nwatched++];
		struct stat st;
		const char *state = watch_root_watched(d->w, c->paths[i]) ? "watched" :
			stat(c->paths[i], &st) != 0 ? "missing" : "not watched";
		e->path = strdup(c->paths[i]);
		snprintf(e->state, sizeof e->state, "%s", state);
		if (!e->path)
			return CF_ENOMEM;
	}
	s->watches = wi.watches;
	s->watch_incomplete = wi.incomplete;
	s->unwatched_folders = wi.unwatched;
	s->overflows = wi.overflows;
	s->last_full_scan = d->last_full;
	s->next_is_push_retry = d->next_push_only;
	s->clear_spool = c->clear_spool;
	s->dests = calloc(c->ndests + 1, sizeof *s->dests);
	if (s->dests) {
		memcpy(s->dests, d->dests, c->ndests * sizeof *s->dests);
		s->ndests = c->ndests;
	}
	s->last_retention = d->last_prune;
	s->alarm = d->alarm;
	s->nalerts = alerts_open(d, s->alerts, STATE_ALERTS_MAX);
	s->alerts_waiting = d->alerts_waiting;
	snprintf(s->alerts_error, sizeof s->alerts_error, "%s", d->alerts_error);
	page_describe(d, &s->page_port, s->page_token_file, sizeof s->page_token_file);
	return s->config && s->repository && s->watched && s->dests ? 0 : CF_ENOMEM;
}

/* status_write(d, durable): the status file, for other tools and for the catch-up after a
 * restart. Only a finished run and the stop make it durable: an fsync on the event loop can
 * stall it for seconds while a backup fills the page cache, and the control socket with it. */
void status_write(struct daemon *d, int durable)
{
	struct state_status s = { 0 };
	struct cf_error err = { 0 };
	char *path = state_status_path(d->cfg->state_dir);
	if (path && status_build(d, &s) == 0 &&
	    state_status_write(path, &s, durable ? 0 : STATE_NOSYNC, &err))
		logf_("warning: cannot write the status file: %s", err.msg);
	state_status_release(&s);
	free(path);
}

/* Restores the times of the last runs and where each destination stands from the status
 * file (catch-up after a restart). */
void status_read(struct daemon *d)
{
	struct state_status s = { 0 };
	char *path = state_status_path(d->cfg->state_dir);
	int rc = path ? state_status_read(path, &s, NULL) : CF_ENOMEM;
	free(path);
	if (rc)
		return;
	d->last_success = s.last_success;
	d->last_full = s.last_full_scan;
	d->last_prune = s.last_retention;
	if (s.has_last) {
		/* What the next status shows of it; the rest of the run is not carried over. */
		struct state_run *r = &d->last.s;
		d->has_last = 1;
		r->start = s.last.start;
		snprintf(r->result, sizeof r->result, "%s", s.last.result[0] ? s.last.result : "?");
		memcpy(r->snapshot, s.last.snapshot, sizeof r->snapshot);
		memcpy(r->error, s.last.error, sizeof r->error);
		r->files = s.last.files;
		r->bytes_read = s.last.bytes_read;
		r->bytes_added = s.last.bytes_added;
		r->entries = s.last.entries;
		r->dirs_reused = s.last.dirs_reused;
		r->duration = s.last.duration;
		r->full_scan = s.last.full_scan;
	}
	for (size_t i = 0; i < s.ndests; i++) {
		const struct state_dest *e = &s.dests[i];
		for (size_t k = 0; k < d->cfg->ndests; k++)
			if (strcmp(d->dests[k].name, e->name) == 0 &&
			    strcmp(d->dests[k].url, e->url) == 0)
				d->dests[k] = *e;
	}
	state_status_release(&s);
}

/* status_record(d, r): a finished run into the history. */
void status_record(struct daemon *d, const struct result *r)
{
	struct cf_error err = { 0 };
	char *path = state_history_path(d->cfg->state_dir);
	int rc = path ? state_history_append(path, &r->s, &err) : CF_ENOMEM;
	if (rc == CF_EIO || rc == CF_ENOMEM)
		logf_("warning: cannot open the history '%s': %s", path ? path : "?",
			path ? err.msg : "out of memory");
	else if (rc)
		logf_("warning: history: %s", err.msg);
	if (rc == 0 && !r->push_only && state_days_add(path, &r->s, &err))
		logf_("warning: history by day: %s", err.msg);
	free(path);
}

static void reply_ack(int fd, const struct state_ack *a)
{
	char *text = NULL;
	if (state_ack_format(a, &text, NULL) == 0)
		ctl_reply(fd, text);
	free(text);
}

void status_request_backup(struct daemon *d, struct state_ack *ret)
{
	struct state_ack a = { .ok = 1 };
	if (d->running) {
		d->now_requested = 1;
		a.run = d->runs + 1;
		a.after_running = 1;
		status_write(d, 0);
	} else {
		job_start(d, 0);
		a.run = d->runs;
		if (!(a.ok = d->running))
			snprintf(a.error, sizeof a.error,
				"cannot start a backup (see the daemon's log)");
	}
	*ret = a;
}

static void on_backup(struct daemon *d, int fd)
{
	struct state_ack a;
	status_request_backup(d, &a);
	reply_ack(fd, &a);
}

void status_on_ctl(struct daemon *d)
{
	int fd = accept4(d->ctl, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	char req[256];
	if (ctl_read_request(fd, req, sizeof req) == 0) {
		if (strcmp(req, CTL_STATUS) == 0) {
			struct state_status s = { 0 };
			char *text = NULL;
			if (status_build(d, &s) == 0)
				state_status_format(&s, &text, NULL);
			state_status_release(&s);
			ctl_reply(fd, text ? text : "{}");
			free(text);
		} else if (strcmp(req, CTL_BACKUP) == 0) {
			on_backup(d, fd);
		} else if (strcmp(req, CTL_ALARM_CLEAR) == 0) {
			struct state_ack a = { .ok = guard_clear(d) };
			if (!a.ok)
				snprintf(a.error, sizeof a.error, "no ransomware alarm was raised");
			status_write(d, 1);
			reply_ack(fd, &a);
		} else {
			struct state_ack a = { .ok = 0 };
			snprintf(a.error, sizeof a.error, "unknown request");
			reply_ack(fd, &a);
		}
	}
	close(fd);
}
