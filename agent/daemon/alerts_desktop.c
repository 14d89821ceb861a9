/* alerts_desktop.c: a condition that opens is also shown on the screens of the people
 * logged in graphically (desktop-notify = yes in [alert], the default): a process of its own
 * finds their sessions in /proc and runs notify-send as each of them (desktop.h), each run
 * bounded in time, so that the loop never waits on it. Only starts are shown: the reminders
 * and the ends go by mail and webhook. Nobody logged in graphically: nothing is shown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coffre/alert.h"
#include "coffre/cfg.h"
#include "coffre/desktop.h"
#include "coffred.h"

#define DESK_TIMEOUT_MS 5000	/* a notify-send that hangs is killed after this */

/* The body shown: the alert's first paragraph (its plain-words explanation). */
static void first_paragraph(const char *body, char *out, size_t n)
{
	const char *end = strstr(body, "\n\n");
	size_t len = end ? (size_t)(end - body) : strlen(body);
	snprintf(out, n, "%.*s", (int)len, body);
}

/* In the notifying process: each event to each session. */
static int notify_all(struct daemon *d, const struct alert_event *ev, size_t nev)
{
	struct desktop_session s[DESKTOP_SESSIONS_MAX];
	size_t ns = 0, denied = 0;
	char prog[4096], host[256];
	if (desktop_program(getenv("PATH"), prog, sizeof prog) != 0) {
		logf_("alerts: no notify-send (package libnotify-bin): no desktop notification");
		return 1;
	}
	if (desktop_find("/proc", s, DESKTOP_SESSIONS_MAX, &ns, &denied) != 0) {
		logf_("warning: alerts: cannot look for desktop sessions: %s", strerror(errno));
		return 1;
	}
	if (denied)
		logf_("warning: alerts: the environment of %zu processes of people may not be read "
			"(coffred lacks CAP_SYS_PTRACE): a desktop session may be missed", denied);
	if (!ns) {
		for (size_t i = 0; i < nev; i++)
			logf_("alerts: %s: nobody logged in graphically to show it to",
				alert_cond_name(ev[i].cond));
		return 0;
	}
	alert_host(host, sizeof host);
	const struct cfg_alert *a = &d->cfg->alert;
	int bad = 0;
	for (size_t i = 0; i < nev; i++) {
		struct alert_text t = { 0 };
		if (alert_render(&ev[i], a->language, a->shop_name ? a->shop_name : host, host, &t,
			    NULL) != 0)
			continue;
		char body[1024];
		first_paragraph(t.body, body, sizeof body);
		for (size_t k = 0; k < ns; k++) {
			int rc = desktop_send(&s[k], prog, t.subject, body,
				ev[i].cond == ALERT_ATTACK, DESK_TIMEOUT_MS);
			if (rc == 0)
				logf_("alerts: %s shown on the desktop of uid %u",
					alert_cond_name(ev[i].cond), (unsigned)s[k].uid);
			else
				logf_("warning: alerts: the desktop notification of %s to uid %u %s",
					alert_cond_name(ev[i].cond), (unsigned)s[k].uid,
					rc == 2 ? "took too long: stopped" : "failed");
			bad |= rc != 0;
		}
		alert_text_release(&t);
	}
	return bad;
}

static void on_child(struct daemon *d);

static void start(struct daemon *d)
{
	if (d->desk_child || !d->desk_n)
		return;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		logf_("warning: alerts: cannot start the desktop notification: %s", strerror(errno));
		d->desk_n = 0;
		return;
	}
	if (pid == 0) {
		loop_child_signals();	/* SIGTERM ends it (alerts_desktop_stop) */
		int rc = notify_all(d, d->desk_ev, d->desk_n);
		fflush(NULL);
		_exit(rc);
	}
	d->desk_n = 0;
	d->desk_child = pid;
	if (loop_watch_child(d, pid, &d->desk_pidfd, on_child, "desktop notification"))
		d->desk_child = 0;
}

static void on_child(struct daemon *d)
{
	int status = 0;
	waitpid(d->desk_child, &status, 0);
	loop_del(d, d->desk_pidfd);
	close(d->desk_pidfd);
	d->desk_pidfd = -1;
	d->desk_child = 0;
	if (WIFSIGNALED(status))
		logf_("warning: alerts: the desktop notification was stopped (signal %d)",
			WTERMSIG(status));
	start(d);	/* what opened meanwhile */
}

void alerts_desktop(struct daemon *d, const struct alert_event *ev)
{
	if (!d->cfg->alert.desktop_notify || ev->state != ALERT_START)
		return;
	if (d->desk_n == DESK_PENDING_MAX) {
		logf_("warning: alerts: too many desktop notifications at once: %s not shown",
			alert_cond_name(ev->cond));
		return;
	}
	d->desk_ev[d->desk_n++] = *ev;
	start(d);
}

void alerts_desktop_stop(struct daemon *d)
{
	loop_end_child(&d->desk_child, &d->desk_pidfd);
	d->desk_n = 0;
}
