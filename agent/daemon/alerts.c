/* alerts.c: coffred's alerts. The "not protected" condition is judged at start, after each
 * run and when its own timer fires (a timerfd set to the next moment anything can change:
 * the deadline of the last good backup + unprotected-after, or the next reminder; never a
 * wake-up in between). Its events go to the queue on disk (alertq.h), which a process of
 * its own delivers (alert_deliver), so that the loop never waits on the network: started
 * when an event is queued and when the queue's earliest retry is due.
 *
 * Starts are also shown on the desktops of the people logged in (alerts_desktop.c).
 *
 * Only with a channel: mail or webhook in [alert], or the desktop (desktop-notify, on unless
 * set to no); without one, nothing is judged, kept or forked. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coffre/alert.h"
#include "coffre/alert_watch.h"
#include "coffre/alertq.h"
#include "coffre/cfg.h"
#include "coffre/error.h"
#include "coffred.h"

/* Mail or webhook: events are queued for them. */
static int queued(const struct daemon *d)
{
	return cfg_alert_mail(&d->cfg->alert) || cfg_alert_webhook(&d->cfg->alert);
}

static int enabled(const struct daemon *d)
{
	return queued(d) || d->cfg->alert.desktop_notify;
}

static struct alertq *queue_open(struct daemon *d)
{
	char *dir = NULL;
	struct alertq *q = NULL;
	struct cf_error err = { 0 };
	if (asprintf(&dir, "%s/alerts", d->cfg->state_dir) < 0)
		return NULL;
	if (alertq_open(dir, 0, &q, &err))
		logf_("warning: alerts: %s", err.msg);
	free(dir);
	return q;
}

/* The timer at the earlier of the conditions' next look (on their clock: alerts_now) and
 * the queue's next retry. */
void alerts_arm(struct daemon *d)
{
	int64_t t = d->alert_check_next ? d->alert_check_next - d->clock_offset : 0;
	if (d->alert_queue_next && (!t || d->alert_queue_next < t))
		t = d->alert_queue_next;
	struct itimerspec its = { 0 };
	its.it_value.tv_sec = t > 0 ? (time_t)t : 0;
	if (t > 0 && its.it_value.tv_sec <= 0)
		its.it_value.tv_sec = 1;
	if (d->afd >= 0 && timerfd_settime(d->afd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		logf_("warning: alerts: timer: %s", strerror(errno));
}

static void on_child(struct daemon *d);

/* A delivery round in a process of its own, unless one is going (it is then started again
 * when that one ends, if anything is due). */
static void deliver(struct daemon *d)
{
	if (d->alert_child) {
		d->alert_again = 1;
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		logf_("warning: alerts: cannot start their delivery: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		loop_child_signals();	/* SIGTERM ends it (*_stop) */
		struct alertq *q = queue_open(d);
		struct alertq_report r;
		struct cf_error err = { 0 };
		if (!q)
			_exit(1);
		int rc = alert_deliver(&d->cfg->alert, q, (int64_t)time(NULL), &r, &err);
		if (rc)
			logf_("warning: alerts: %s", err.msg);
		if (r.delivered)
			logf_("alerts: %zu delivered (the oldest %lld s after it was made)",
				r.delivered, (long long)r.latency_max);
		if (r.failed)
			logf_("warning: alerts: %zu not delivered, tried again later: %s", r.failed,
				r.last_error);
		if (r.bad)
			logf_("warning: alerts: %zu damaged entries removed from the queue", r.bad);
		alertq_free(q);
		fflush(NULL);
		_exit(rc ? 1 : 0);
	}
	d->alert_child = pid;
	d->alert_again = 0;
	if (loop_watch_child(d, pid, &d->alert_pidfd, on_child, "alerts"))
		d->alert_child = 0;
}

/* When the queue's next retry is due (0: empty), how many events wait and why the last one
 * tried failed, from the entries themselves. */
static void queue_next(struct daemon *d)
{
	struct alertq *q = queue_open(d);
	struct alertq_entry *v = NULL;
	size_t n = 0;
	struct cf_error err = { 0 };
	d->alert_queue_next = 0;
	d->alerts_waiting = 0;
	d->alerts_error[0] = 0;
	if (q && alertq_list(q, &v, &n, NULL, &err) == 0) {
		d->alerts_waiting = n;
		for (size_t i = 0; i < n; i++) {
			if (!d->alert_queue_next || v[i].next_try < d->alert_queue_next)
				d->alert_queue_next = v[i].next_try;
			if (v[i].last_error[0])	/* the entries come oldest first */
				snprintf(d->alerts_error, sizeof d->alerts_error, "%s",
					v[i].last_error);
		}
	}
	free(v);
	alertq_free(q);
}

static void on_child(struct daemon *d)
{
	int status = 0;
	waitpid(d->alert_child, &status, 0);
	loop_del(d, d->alert_pidfd);
	close(d->alert_pidfd);
	d->alert_pidfd = -1;
	d->alert_child = 0;
	if (WIFSIGNALED(status))
		logf_("warning: alerts: their delivery was stopped (signal %d)", WTERMSIG(status));
	queue_next(d);
	if (d->alert_again || (d->alert_queue_next && d->alert_queue_next <= time(NULL)))
		deliver(d);
	alerts_arm(d);
}

void alerts_push(struct daemon *d, struct alert_event *ev)
{
	struct cf_error err = { 0 };
	size_t dropped = 0;
	alerts_desktop(d, ev);
	if (!queued(d))
		return;
	struct alertq *q = queue_open(d);
	if (!q)
		return;
	if (alertq_push(q, ev, (int64_t)time(NULL), &dropped, &err))
		logf_("warning: alerts: cannot queue the %s of '%s': %s", alert_state_name(ev->state),
			alert_cond_name(ev->cond), err.msg);
	else if (dropped)
		logf_("alerts: %zu older reminder(s) or entries dropped from the queue "
			"(superseded, or the queue was full)", dropped);
	alertq_free(q);
	deliver(d);
}

void alerts_check(struct daemon *d)
{
	if (enabled(d) && d->afd >= 0)
		alerts_judge(d);
}

static void on_timer(struct daemon *d)
{
	uint64_t v;
	if (read(d->afd, &v, sizeof v) < 0 && errno != EAGAIN)
		logf_("warning: alerts: timer: %s", strerror(errno));
	int64_t now = (int64_t)time(NULL);
	if (d->alert_queue_next && d->alert_queue_next <= now + 1) {
		d->alert_queue_next = 0;
		deliver(d);
	}
	alerts_check(d);
}

void alerts_start(struct daemon *d)
{
	if (d->afd >= 0) {	/* a reload */
		alerts_check(d);
		return;
	}
	if (!enabled(d))
		return;
	struct cf_error err = { 0 };
	int rc = alert_watch_load(d->cfg->state_dir, &d->alert_watch, &err);
	if (rc) {
		logf_("warning: alerts: %s; starting afresh", err.msg);
		memset(&d->alert_watch, 0, sizeof d->alert_watch);
	}
	d->alert_saved_streak = d->alert_watch.fail_streak;
	if (!d->alert_watch.first_seen) {
		d->alert_watch.first_seen = (int64_t)time(NULL);
		if (alert_watch_save(d->cfg->state_dir, &d->alert_watch, &err))
			logf_("warning: alerts: %s", err.msg);
	}
	d->afd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->afd < 0 || loop_add(d, d->afd, on_timer)) {
		logf_("warning: alerts: cannot set up their timer: %s", strerror(errno));
		if (d->afd >= 0)
			close(d->afd);
		d->afd = -1;
		return;
	}
	if (queued(d)) {
		queue_next(d);
		if (d->alert_queue_next)
			deliver(d);	/* what a previous run of coffred left */
	}
	alerts_check(d);
}

void alerts_stop(struct daemon *d)
{
	loop_end_child(&d->alert_child, &d->alert_pidfd);
	alerts_desktop_stop(d);
	if (d->afd >= 0)
		close(d->afd);
	d->afd = -1;
}
