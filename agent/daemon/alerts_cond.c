/* alerts_cond.c: coffred's conditions, judged from what the daemon knows (its state, the
 * destinations' last pushes, the alarm) against the clock: each opens once, is recalled every
 * reminder, and ends once; their life is kept in STATE_DIR/alert-watch.json so that a restart
 * or a crash loop neither repeats a start nor forgets one (alert_watch.h).
 *
 * The shop's conditions: unprotected, attack, failed, restarted, config. Each destination's:
 * behind, full, refused, lock, drill. A destination that leaves the configuration takes its open
 * conditions with it (logged, no "back to normal": it was not mended).
 *
 * COFFRED_TEST_CLOCK (tests only) names a file holding a number of seconds by which the
 * conditions' clock is ahead of the real one, read again at each judgement: a test moves
 * coffred 37 hours on without waiting for them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "coffre/alert.h"
#include "coffre/alert_watch.h"
#include "coffre/cfg.h"
#include "coffre/error.h"
#include "coffred.h"

#define DRILL_STALE (15 * 86400)	/* "drill" opens when none passed for this long */
#define RESTART_QUIET 3600	/* "restarted" ends once coffred has run this long since */
#define RUN_MARK "coffred.run"	/* in the state dir while coffred runs: pid, boot id */

int64_t alerts_now(struct daemon *d)
{
	const char *f = getenv("COFFRED_TEST_CLOCK");
	if (f) {
		char b[32] = { 0 };
		int fd = open(f, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		ssize_t n = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
		if (fd >= 0)
			close(fd);
		long long v = n > 0 ? strtoll(b, NULL, 10) : 0;
		d->clock_offset = v > -(INT64_C(1) << 32) && v < (INT64_C(1) << 32) ? v : 0;
	}
	return (int64_t)time(NULL) + d->clock_offset;
}

static void save(struct daemon *d)
{
	struct cf_error err = { 0 };
	d->alert_saved_streak = d->alert_watch.fail_streak;
	if (alert_watch_save(d->cfg->state_dir, &d->alert_watch, &err))
		logf_("warning: alerts: %s", err.msg);
}

/* What a condition's event carries beside its times. */
struct about {
	const char *dest;	/* "" for the shop's conditions */
	int64_t last_ok;
	const char *detail;	/* "" none */
};

static void send_event(struct daemon *d, enum alert_cond c, enum alert_state st,
	const struct alert_open *o, int64_t now, const struct about *a)
{
	struct alert_event ev;
	alert_event_init(&ev, c, st, o->since, now);
	ev.last_ok = a->last_ok;
	snprintf(ev.dest, sizeof ev.dest, "%s", a->dest);
	if (a->detail[0])
		alert_event_detail(&ev, "%s", a->detail);
	logf_("alert: %s%s%s: %s", alert_cond_name(c), a->dest[0] ? " of " : "", a->dest,
		alert_state_name(st));
	save(d);
	alerts_push(d, &ev);
}

static void want(int64_t *next, int64_t t)
{
	if (t > 0 && (!*next || t < *next))
		*next = t;
}

/* A condition that holds while ${active} says so: opened once (since ${since}), recalled
 * every reminder, closed once. */
static void flag(struct daemon *d, enum alert_cond c, struct alert_open *o, int active,
	int64_t since, int64_t now, int64_t *next, const struct about *a)
{
	enum alert_state st = _ALERT_STATE_INVALID;
	long reminder = d->cfg->alert.reminder;
	if (active && !o->open) {
		*o = (struct alert_open){ .open = 1, .since = since ? since : now, .last_sent = now };
		st = ALERT_START;
	} else if (active && reminder > 0 && (now >= o->last_sent + reminder ||
						now < o->last_sent)) {
		o->last_sent = now;
		st = ALERT_REMINDER;
	} else if (!active && o->open) {
		o->open = 0;
		st = ALERT_END;
	}
	if (active && reminder > 0)
		want(next, o->last_sent + reminder);
	if (st != _ALERT_STATE_INVALID)
		send_event(d, c, st, o, now, a);
}

/* A condition that holds from ${ref} + ${after} on (alert_watch_step). */
static void deadline(struct daemon *d, enum alert_cond c, struct alert_open *o, int64_t ref,
	long after, int64_t now, int64_t *next, const struct about *a)
{
	int64_t t = 0;
	enum alert_state st = alert_watch_step(o, now, ref, after, d->cfg->alert.reminder, &t);
	want(next, t);
	if (st != _ALERT_STATE_INVALID)
		send_event(d, c, st, o, now, a);
}

/* "full" and "refused" open on a push that says so and end with a complete one: a drive
 * that is away meanwhile does not end them. */
static int held(const struct state_dest *ds, const struct alert_open *o, const char *what)
{
	return strcmp(ds->result, what) == 0 || (o->open && strcmp(ds->result, "complete") != 0);
}

/* Object Lock asked for and not holding: gone (the server no longer says it is on), not
 * extended at the last push, or the earliest date of what is needed within a quarter of the
 * period (extension keeps it beyond half: a destination away for that long). */
static int lock_trouble(const struct cfg_dest *cd, const struct state_dest *ds, int64_t now,
	char *why, size_t n)
{
	int64_t period = (int64_t)cd->s3_lock_days * 86400;
	if (ds->lock_note[0] && !ds->object_lock)
		snprintf(why, n, "%s", ds->lock_note);
	else if (ds->lock_failed)
		snprintf(why, n, "the last push could not extend the locks (coffred's log says "
			"why)");
	else if (ds->lock_until > 0 && ds->lock_until < now + period / 4)
		snprintf(why, n, "the lock of some objects ends within %lld hours",
			(long long)((ds->lock_until - now) / 3600));
	else
		return 0;
	return 1;
}

static void judge_dest(struct daemon *d, size_t i, int64_t now, int64_t *next)
{
	const struct cfg_dest *cd = &d->cfg->dests[i];
	const struct state_dest *ds = &d->dests[i];
	struct alert_watch *w = &d->alert_watch;
	struct alert_open *o;
	struct about a = { .dest = ds->name, .last_ok = ds->last_complete, .detail = ds->error };
	if ((o = alert_watch_dest(w, ALERT_BEHIND, ds->name, 1)))
		deadline(d, ALERT_BEHIND, o, ds->last_complete ? ds->last_complete : w->first_seen,
			d->cfg->alert.behind_after, now, next, &(struct about){ ds->name,
			ds->last_complete, "" });
	if ((o = alert_watch_dest(w, ALERT_FULL, ds->name, 1)))
		flag(d, ALERT_FULL, o, held(ds, o, "full"), ds->last_attempt, now, next, &a);
	if ((o = alert_watch_dest(w, ALERT_REFUSED, ds->name, 1)))
		flag(d, ALERT_REFUSED, o, held(ds, o, "refused"), ds->last_attempt, now, next, &a);
	char why[ALERT_DETAIL_MAX];
	int trouble = cd->s3_lock_days > 0 && lock_trouble(cd, ds, now, why, sizeof why);
	a.detail = trouble ? why : "";
	if ((o = alert_watch_dest(w, ALERT_LOCK, ds->name, 1)))
		flag(d, ALERT_LOCK, o, trouble, ds->last_attempt, now, next, &a);
	/* Its restore drills: the last one failed, or none passed for 15 days (counted from
	 * when coffred first watched, before the first). */
	if (cd->drill_every > 0 && (o = alert_watch_dest(w, ALERT_DRILL, ds->name, 1))) {
		int64_t ok = ds->drill_last_ok ? (int64_t)ds->drill_last_ok : w->first_seen;
		int failed = strcmp(ds->drill_result, "failed") == 0;
		int stale = ds->last_complete && now >= ok + DRILL_STALE;
		if (!failed && !stale && ds->last_complete)
			want(next, ok + DRILL_STALE);
		a.detail = failed ? ds->drill_error : "";
		flag(d, ALERT_DRILL, o, failed || stale, failed ? ds->drill_time : ok + DRILL_STALE,
			now, next, &a);
	}
}

/* Destination conditions of destinations no longer configured. */
static void forget_gone(struct daemon *d)
{
	struct alert_watch *w = &d->alert_watch;
	for (size_t k = 0; k < w->nd; k++) {
		size_t i = 0;
		while (i < d->cfg->ndests && strcmp(d->dests[i].name, w->d[k].dest) != 0)
			i++;
		if (i == d->cfg->ndests && w->d[k].o.open) {
			logf_("alert: %s of '%s' dropped: no such destination any more",
				alert_cond_name(w->d[k].cond), w->d[k].dest);
			w->d[k].o.open = 0;
		}
	}
}

void alerts_judge(struct daemon *d)
{
	struct alert_watch *w = &d->alert_watch;
	int64_t now = alerts_now(d), next = 0;
	int64_t ref = d->last_success > 0 ? (int64_t)d->last_success : w->first_seen;
	deadline(d, ALERT_UNPROTECTED, &w->c[ALERT_UNPROTECTED], ref,
		d->cfg->alert.unprotected_after, now, &next,
		&(struct about){ "", d->last_success, "" });
	/* The ransomware alarm holds until a person clears it. */
	flag(d, ALERT_ATTACK, &w->c[ALERT_ATTACK], d->alarm.active, d->alarm.since, now, &next,
		&(struct about){ "", d->alarm.clean_time, "" });
	/* Three backups in a row failed or left files out; a good one ends it. */
	flag(d, ALERT_FAILED, &w->c[ALERT_FAILED], w->fail_streak >= 3, w->fail_since, now,
		&next, &(struct about){ "", d->last_success, d->has_last ? d->last.s.error : "" });
	int up = d->restarted_at && now < d->restarted_at + RESTART_QUIET;
	flag(d, ALERT_RESTARTED, &w->c[ALERT_RESTARTED], up, d->restarted_at, now, &next,
		&(struct about){ "", d->last_success, d->restart_detail });
	if (up)
		want(&next, d->restarted_at + RESTART_QUIET);
	flag(d, ALERT_CONFIG, &w->c[ALERT_CONFIG], d->config_refused_at != 0,
		d->config_refused_at, now, &next, &(struct about){ "", 0, d->config_problem });
	forget_gone(d);
	for (size_t i = 0; i < d->cfg->ndests; i++)
		judge_dest(d, i, now, &next);
	alert_watch_tidy(w);
	if (w->fail_streak != d->alert_saved_streak) {	/* the run of failures is kept too */
		save(d);
		d->alert_saved_streak = w->fail_streak;
	}
	d->alert_check_next = next;
	alerts_arm(d);
}

size_t alerts_open_events(struct daemon *d, struct alert_event *out, size_t max)
{
	const struct alert_watch *w = &d->alert_watch;
	size_t n = 0;
	if (!cfg_alert_mail(&d->cfg->alert) && !cfg_alert_webhook(&d->cfg->alert))
		return 0;
	for (size_t k = 0; k < _ALERT_COND_MAX + w->nd && n < max; k++) {
		const struct alert_open *o = k < _ALERT_COND_MAX ? &w->c[k] :
			&w->d[k - _ALERT_COND_MAX].o;
		enum alert_cond c = k < _ALERT_COND_MAX ? (enum alert_cond)k :
			w->d[k - _ALERT_COND_MAX].cond;
		if (!o->open || c == ALERT_TEST)
			continue;
		struct alert_event *ev = &out[n++];
		alert_event_init(ev, c, ALERT_START, o->since, alerts_now(d));
		ev->last_ok = c == ALERT_ATTACK ? d->alarm.clean_time : d->last_success;
		if (k >= _ALERT_COND_MAX) {
			const char *name = w->d[k - _ALERT_COND_MAX].dest;
			snprintf(ev->dest, sizeof ev->dest, "%s", name);
			for (size_t i = 0; i < d->cfg->ndests; i++)
				if (strcmp(d->dests[i].name, name) == 0)
					ev->last_ok = d->dests[i].last_complete;
		}
	}
	return n;
}

size_t alerts_open(struct daemon *d, struct state_alert *out, size_t max)
{
	struct alert_event ev[STATE_ALERTS_MAX];
	size_t n = alerts_open_events(d, ev, max < STATE_ALERTS_MAX ? max : STATE_ALERTS_MAX);
	char host[256];
	alert_host(host, sizeof host);
	for (size_t i = 0; i < n; i++) {
		struct alert_text t = { 0 };
		struct state_alert *x = &out[i];
		snprintf(x->cond, sizeof x->cond, "%s", alert_cond_name(ev[i].cond));
		x->since = (time_t)ev[i].since;
		if (alert_render(&ev[i], d->cfg->alert.language, d->cfg->alert.shop_name ?
				d->cfg->alert.shop_name : host, host, &t, NULL) == 0)
			snprintf(x->message, sizeof x->message, "%s", t.subject);
		else
			snprintf(x->message, sizeof x->message, "%s", x->cond);
		alert_text_release(&t);
	}
	return n;
}

/* This boot's id: a coffred that ended uncleanly in another boot went down with the machine
 * (a power cut), which is not a crash of its own. */
static void boot_id(char *out, size_t n)
{
	struct buf b = { 0 };
	out[0] = 0;
	if (util_read_file("/proc/sys/kernel/random/boot_id", 64, &b, NULL) == 0)
		snprintf(out, n, "%.*s", (int)strcspn((const char *)b.p, "\n"), (const char *)b.p);
	buf_free(&b);
}

void alerts_mark_running(struct daemon *d)
{
	char *path = util_path("%s/%s", d->cfg->state_dir, RUN_MARK);
	char boot[64], text[200];
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	if (!path)
		return;
	boot_id(boot, sizeof boot);
	if (util_read_file(path, 512, &b, NULL) == 0 && buf_append(&b, "", 1) == 0) {
		long long pid = 0, started = 0;
		char was[64] = "";
		if (sscanf((const char *)b.p, "%lld %lld %63s", &pid, &started, was) == 3 &&
		    strcmp(was, boot) == 0) {
			d->restarted_at = alerts_now(d);
			snprintf(d->restart_detail, sizeof d->restart_detail, "coffred (pid %lld) "
				"ended without stopping cleanly; started again as pid %d", pid,
				(int)getpid());
			logf_("warning: %s", d->restart_detail);
		} else {
			logf_("the machine restarted while coffred ran (a power cut or a reset)");
		}
	}
	buf_free(&b);
	int len = snprintf(text, sizeof text, "%d %lld %s\n", (int)getpid(),
		(long long)time(NULL), boot[0] ? boot : "-");
	if (util_write_atomic(path, text, (size_t)len, 0, &err))
		logf_("warning: %s", err.msg);
	free(path);
}

void alerts_mark_stopped(struct daemon *d)
{
	char *path = util_path("%s/%s", d->cfg->state_dir, RUN_MARK);
	if (path && unlink(path) != 0 && errno != ENOENT)
		logf_("warning: cannot remove '%s': %s", path, strerror(errno));
	free(path);
}

void alerts_config_refused(struct daemon *d, const char *why)
{
	if (!d->config_refused_at)
		d->config_refused_at = alerts_now(d);
	snprintf(d->config_problem, sizeof d->config_problem, "%s", why);
	alerts_check(d);
}
