/* main.c: coffred, the backup daemon: start-up, signals and the event loop. One epoll over
 * the inotify fds (roots.c), a timerfd for the schedule, the pipe, pidfd and silence timer
 * of the running job's process (child.c), a signalfd, the systemd watchdog, the control socket
 * (status.c) and the status page (page.c), each served by its entry in the loop's table. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "coffre/cfg.h"
#include "coffre/ctl.h"
#include "coffre/error.h"
#include "coffre/poison.h"
#include "coffre/sched.h"
#include "coffre/watch.h"
#include "coffred.h"

static const char usage_text[] =
	"usage: coffred [--config FILE]\n"
	"Watches the folders named in the configuration and backs them up on schedule.\n"
	"Runs in the foreground and logs to stderr (systemd: Type=notify).\n"
	"  --config FILE  the configuration (default " CFG_DEFAULT_PATH ")\n"
	"Signals: SIGTERM stops (within 5 s, even during a backup), SIGHUP reloads the\n"
	"configuration (an invalid file keeps the current one).\n";

/* One line per message, whatever it quotes: file names may hold newlines or terminal
 * escapes, and a name must not forge a log line. Control bytes and backslashes come out as
 * \xNN and \\. */
void logf_(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One write: the lines of the daemon and of its run's process never mix. */
	char out[sizeof line * 4 + 16];
	size_t o = (size_t)snprintf(out, sizeof out, "coffred: ");
	for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
		if (*p == '\\')
			o += (size_t)snprintf(out + o, sizeof out - o, "\\\\");
		else if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	if ((size_t)n >= sizeof line)
		o += (size_t)snprintf(out + o, sizeof out - o, "...");
	out[o++] = '\n';
	fflush(stderr);
	for (size_t off = 0; off < o;) {
		ssize_t w = write(STDERR_FILENO, out + off, o - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

/* ---- the loop's table ---- */

int loop_add(struct daemon *d, int fd, void (*fn)(struct daemon *d))
{
	if (d->nloop == LOOP_MAX) {
		errno = ENOSPC;
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -1;
	d->loop[d->nloop++] = (struct handler){ .fd = fd, .fn = fn };
	return 0;
}

void loop_del(struct daemon *d, int fd)
{
	epoll_ctl(d->ep, EPOLL_CTL_DEL, fd, NULL);
	for (size_t i = 0; i < d->nloop; i++)
		if (d->loop[i].fd == fd) {
			d->loop[i] = d->loop[--d->nloop];
			break;
		}
}

int loop_watch_child(struct daemon *d, pid_t pid, int *ret_pidfd,
	void (*fn)(struct daemon *d), const char *what)
{
	*ret_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (*ret_pidfd >= 0 && loop_add(d, *ret_pidfd, fn) == 0)
		return 0;
	/* Unwatchable: wait for it here rather than lose track of it. */
	logf_("warning: %s: cannot watch the process: %s", what, strerror(errno));
	if (*ret_pidfd >= 0)
		close(*ret_pidfd);
	*ret_pidfd = -1;
	waitpid(pid, NULL, 0);
	return -1;
}

void loop_child_signals(void)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGTERM);
	sigaddset(&m, SIGINT);
	sigaddset(&m, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &m, NULL);
}

void loop_end_child(pid_t *pid, int *pidfd)
{
	if (*pid) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
	if (*pidfd >= 0)
		close(*pidfd);
	*pidfd = -1;
}

/* The entry of ${fd}, or NULL (an event for a descriptor closed meanwhile). */
static const struct handler *loop_find(const struct daemon *d, int fd)
{
	for (size_t i = 0; i < d->nloop; i++)
		if (d->loop[i].fd == fd)
			return &d->loop[i];
	return NULL;
}

/* ---- handlers ---- */

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	while (read(d->sfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGHUP)
			reload(d);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			d->stopping = 1;
	}
}

static void on_timer(struct daemon *d)
{
	uint64_t v;
	if (read(d->tfd, &v, sizeof v) < 0 && errno != EAGAIN)
		logf_("warning: timer: %s", strerror(errno));
	/* time() reads a coarse clock that may lag the timer by a tick. */
	if (d->next_due > 0 && time(NULL) + 1 >= d->next_due)
		job_start(d, d->next_push_only);
	else if (!d->running)
		job_rearm(d);
}

static void on_watchdog(struct daemon *d)
{
	uint64_t v;
	if (read(d->wdfd, &v, sizeof v) > 0)
		sd_notify(0, "WATCHDOG=1");
}

/* ---- start and stop ---- */

/* The configuration and the state folder. Returns 0 or an exit code (said). */
static int load_config(struct daemon *d)
{
	char *problems = NULL;
	struct cf_error err = { 0 };
	if (cfg_load(d->cfg_file, &d->cfg, &problems, &err)) {
		reload_print_problems(problems);
		logf_("error: %s: not starting", err.msg);
		free(problems);
		return CF_EXIT_ERROR;
	}
	if (mkdir(d->cfg->state_dir, 0750) != 0 && errno != EEXIST) {
		logf_("error: cannot create the state folder '%s': %s", d->cfg->state_dir,
			strerror(errno));
		return CF_EXIT_ERROR;
	}
	if (poison_load(d->cfg->state_dir, &d->poison, &err))
		logf_("warning: %s: files that crash a backup cannot be remembered", err.msg);
	return 0;
}

/* The signals, the timers, the control socket. Returns 0 or an exit code (said). */
static int setup_loop(struct daemon *d)
{
	struct cf_error err = { 0 };
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
	if (d->ep < 0 || d->sfd < 0 || d->tfd < 0 ||
	    loop_add(d, d->sfd, on_signal) || loop_add(d, d->tfd, on_timer)) {
		logf_("error: cannot set up the event loop: %s", strerror(errno));
		return CF_EXIT_ERROR;
	}
	d->ctl = ctl_listen(d->cfg->socket, &err);
	if (d->ctl < 0 || loop_add(d, d->ctl, status_on_ctl)) {
		logf_("error: %s", err.msg);
		return CF_EXIT_ERROR;
	}
	reload_open_socket(d);
	uint64_t wd_usec = 0;
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		d->wdfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		struct itimerspec its = { .it_interval = { (time_t)(wd_usec / 2000000),
			(long)(wd_usec / 2 % 1000000) * 1000 } };
		its.it_value = its.it_interval;
		if (d->wdfd < 0 || timerfd_settime(d->wdfd, 0, &its, NULL) ||
		    loop_add(d, d->wdfd, on_watchdog))
			logf_("warning: cannot set up the watchdog timer");
	}
	return 0;
}

static void run_loop(struct daemon *d)
{
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
			const struct handler *h = loop_find(d, evs[i].data.fd);
			if (h)
				h->fn(d);
		}
	}
}

static void shut_down(struct daemon *d)
{
	sd_notify(0, "STOPPING=1");
	logf_("stopping");
	job_stop(d);
	page_stop(d);
	fedstatus_stop(d);
	alerts_stop(d);
	alerts_mark_stopped(d);
	status_write(d, 1);
	if (d->ctl >= 0) {
		close(d->ctl);
		unlink(d->cfg->socket);
	}
	watch_free(d->w);
	guard_free(d);
	free(d->missing);
	free(d->dests);
	if (d->rfd >= 0)
		close(d->rfd);
	cfg_free(d->cfg);
	cfg_free(d->pending_cfg);
	poison_free(d->poison);
	logf_("stopped");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' }, { 0 } };
	static struct daemon D = { .cfg_file = CFG_DEFAULT_PATH, .ctl = -1, .wdfd = -1,
		.rfd = -1, .retry_delay = RETRY_DELAY, .pipefd = -1, .pidfd = -1, .killfd = -1,
		.afd = -1, .alert_pidfd = -1, .desk_pidfd = -1, .fed_tfd = -1, .fed_pidfd = -1 };
	struct daemon *d = &D;
	int c, rc;
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
	if ((rc = load_config(d)) || (rc = setup_loop(d)))
		return rc;
	if (!(d->dests = reload_align_dests(NULL, 0, d->cfg))) {
		logf_("error: out of memory");
		return CF_EXIT_ERROR;
	}
	status_read(d);
	if (roots_build_watch(d, d->cfg))
		return CF_EXIT_ERROR;
	roots_check(d);
	if (d->cfg->schedule.kind == SCHED_AFTER_CHANGE)
		d->last_change = time(NULL);	/* changes made while stopped are unknown */
	page_start(d);
	logf_("started (pid %d), control socket '%s'", (int)getpid(), d->cfg->socket);
	job_rearm(d);
	alerts_mark_running(d);
	alerts_start(d);
	fedstatus_start(d);
	sd_notify(0, "READY=1");
	run_loop(d);
	shut_down(d);
	return 0;
}
