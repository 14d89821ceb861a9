/* child.c: the process a run is made in. The daemon forks it from its loop (one thread then:
 * the daemon has no other), the process closes what belongs to the daemon, lowers its
 * priority and does the run (job.c), telling the daemon how it goes through a pipe in
 * runmsg lines. The daemon reads the pipe from its loop, learns of the exit through a pidfd
 * and stops a process that says nothing for run-timeout: a crash or a hang of the engine
 * costs a run, not the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <linux/ioprio.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coffre/cfg.h"
#include "coffre/error.h"
#include "coffre/runmsg.h"
#include "coffred.h"

#define KILL_GRACE 3	/* seconds between SIGTERM and SIGKILL for a silent process */

/* ---- in the run's process ---- */

static atomic_int *cancel_flag;

static void on_term(int sig)
{
	(void)sig;
	if (cancel_flag)
		atomic_store(cancel_flag, 1);
	drill_cancel = 1;
}

void child_send(int fd, const struct runmsg *m)
{
	static char line[RUNMSG_MAX];
	size_t n = 0;
	struct cf_error err = { 0 };
	if (runmsg_format(m, line, sizeof line, &n, &err)) {
		logf_("warning: a message to the daemon is lost: %s", err.msg);
		return;
	}
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);	/* the daemon is gone */
		off += (size_t)w;
	}
}

static void lower_priority(void)
{
	errno = 0;
	int cur = getpriority(PRIO_PROCESS, 0);
	if (!(cur == -1 && errno) && cur < 10 && setpriority(PRIO_PROCESS, 0, 10) != 0)
		logf_("warning: cannot lower the backup's priority: %s", strerror(errno));
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		    IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0)) != 0)
		logf_("warning: cannot set the backup's I/O priority: %s", strerror(errno));
}

/* The run's process, from fork to exit: nothing of the daemon's loop is touched. */
static void __attribute__((noreturn)) child_main(struct daemon *d, struct job *j, int rfd,
	int wfd, pid_t parent)
{
	/* Nothing of the daemon's: its loop, its watches, and a client's connection accepted
	 * by the loop (kept open here, the client would wait for the end of the run). The
	 * pipe alone is kept, beside stdin, stdout and stderr. */
	close(rfd);
	if (wfd > 3)
		close_range(3, (unsigned)wfd - 1, 0);
	close_range((unsigned)wfd + 1, ~0u, 0);
	/* SIGTERM (the daemon stopping, or a silent run) cancels the run; the daemon's other
	 * signals are its own. */
	cancel_flag = &d->cancel;
	struct sigaction sa = { .sa_handler = on_term };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
	/* The daemon gone (killed with -9), its run stops too. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	if (d->cfg->run_idle)
		lower_priority();
	j->msgfd = wfd;
	job_run(j);
	for (size_t i = 0; i < j->ndests; i++) {
		struct runmsg m = { .kind = RUNMSG_DEST };
		m.u.dest.index = (uint32_t)i;
		m.u.dest.d = j->dests[i];
		child_send(wfd, &m);
	}
	struct runmsg *m = calloc(1, sizeof *m);
	if (!m)
		_exit(1);
	m->kind = RUNMSG_RESULT;
	m->u.result.code = j->res.code;
	m->u.result.s = j->res.s;
	child_send(wfd, m);
	_exit(0);
}

/* ---- on the daemon's loop ---- */

static void arm(struct daemon *d, long seconds)
{
	struct itimerspec its = { .it_value = { .tv_sec = seconds } };
	timerfd_settime(d->killfd, 0, &its, NULL);
}

/* Stops the process for ${reason}: SIGTERM now, SIGKILL after KILL_GRACE. */
static void child_kill(struct daemon *d, const char *reason)
{
	if (d->kill_stage)
		return;
	snprintf(d->kill_reason, sizeof d->kill_reason, "%s", reason);
	logf_("error: %s: stopping it", reason);
	kill(d->child, SIGTERM);
	d->kill_stage = 1;
	arm(d, KILL_GRACE);
}

static void on_message(struct daemon *d, const struct runmsg *m)
{
	struct job *j = d->job;
	switch (m->kind) {
	case RUNMSG_PROGRESS: {
		const struct runmsg_progress *p = &m->u.progress;
		pthread_mutex_lock(&d->prog.mu);
		d->prog.st.files_new = p->files_new;
		d->prog.st.files_changed = p->files_changed;
		d->prog.st.files_unchanged = p->files_unchanged;
		d->prog.st.entries = p->entries;
		d->prog.st.bytes_read = p->bytes_read;
		d->prog.st.bytes_added = p->bytes_added;
		d->prog.st.duration = p->duration;
		snprintf(d->prog.current, sizeof d->prog.current, "%s", p->current);
		pthread_mutex_unlock(&d->prog.mu);
		break;
	}
	case RUNMSG_PHASE:
		/* No file is being read now: a crash is not to be blamed on the last one. */
		pthread_mutex_lock(&d->prog.mu);
		d->prog.current[0] = 0;
		pthread_mutex_unlock(&d->prog.mu);
		break;
	case RUNMSG_DEST:
		if (m->u.dest.index < j->ndests)
			j->dests[m->u.dest.index] = m->u.dest.d;
		break;
	case RUNMSG_RESULT:
		d->got_result = 1;
		j->res.code = m->u.result.code;
		j->res.s = m->u.result.s;
		break;
	default:
		break;
	}
}

/* Reads what the pipe holds. Returns 1 at its end (the process closed it), else 0. */
static int drain(struct daemon *d)
{
	if (d->pipefd < 0)
		return 1;
	for (int rounds = 0; rounds < 64; rounds++) {
		size_t room;
		char *at = runmsg_buf_space(d->msgs, &room);
		ssize_t n = room ? read(d->pipefd, at, room) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;	/* EAGAIN: more later */
		runmsg_buf_fill(d->msgs, (size_t)n);
		struct runmsg *m = calloc(1, sizeof *m);
		int rc;
		struct cf_error err = { 0 };
		while (m && (rc = runmsg_buf_take(d->msgs, m, &err)) != 0) {
			if (rc < 0 || ++d->nmsgs > RUNMSG_MAX_COUNT) {
				char why[300];
				snprintf(why, sizeof why, "the backup process sent %s",
					rc < 0 ? "a message that cannot be read" : "too many messages");
				child_kill(d, why);
				d->msgs->n = 0;
				break;
			}
			on_message(d, m);
			if (!d->kill_stage)
				arm(d, d->cfg->run_timeout);
		}
		free(m);
		if (n == 0 && room) {
			loop_del(d, d->pipefd);
			close(d->pipefd);
			d->pipefd = -1;
			return 1;
		}
	}
	return 0;
}

static void on_pipe(struct daemon *d)
{
	drain(d);
}

static void on_silence(struct daemon *d)
{
	uint64_t v;
	if (read(d->killfd, &v, sizeof v) != sizeof v || !d->running)
		return;
	if (d->kill_stage == 0) {
		char why[200];
		long t = d->cfg->run_timeout;
		if (t % 60 == 0)
			snprintf(why, sizeof why, "the backup process stopped answering for %ld min",
				t / 60);
		else
			snprintf(why, sizeof why, "the backup process stopped answering for %ld s", t);
		child_kill(d, why);
	} else if (d->kill_stage == 1) {
		kill(d->child, SIGKILL);
		d->kill_stage = 2;
	}
}

static void close_fds(struct daemon *d)
{
	int *fds[] = { &d->pipefd, &d->pidfd, &d->killfd };
	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
		if (*fds[i] >= 0) {
			loop_del(d, *fds[i]);
			close(*fds[i]);
			*fds[i] = -1;
		}
	free(d->msgs);
	d->msgs = NULL;
}

/* The process has ended (${status} as waitpid gives it): what the run comes to. */
static void reap(struct daemon *d, int status)
{
	drain(d);
	close_fds(d);
	struct job *j = d->job;
	struct state_run *s = &j->res.s;
	char why[300] = "";
	if (d->kill_reason[0])
		snprintf(why, sizeof why, "%s", d->kill_reason);
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof why, "the backup process crashed (signal %d)",
			WTERMSIG(status));
	else if (!d->got_result || WEXITSTATUS(status) != 0)
		snprintf(why, sizeof why, "the backup process ended without a result (exit "
			"status %d)", WEXITSTATUS(status));
	if (why[0]) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		pthread_mutex_lock(&d->prog.mu);
		struct backup_stats st = d->prog.st;
		snprintf(d->crash_path, sizeof d->crash_path, "%s", d->prog.current);
		pthread_mutex_unlock(&d->prog.mu);
		state_run_set_stats(s, &st);
		j->res.code = CF_EIO;
		snprintf(s->result, sizeof s->result, "failed");
		snprintf(s->error, sizeof s->error, "%s", why);
		s->snapshot[0] = 0;
		s->duration = (double)(t1.tv_sec - d->child_t0.tv_sec) +
			(double)(t1.tv_nsec - d->child_t0.tv_nsec) / 1e9;
		d->crashed = 1;
	}
	d->child = 0;
	job_finish(d);
}

static void on_exit_(struct daemon *d)
{
	int status;
	if (!d->child)
		return;
	pid_t p = waitpid(d->child, &status, WNOHANG);
	if (p == d->child)
		reap(d, status);
}

int child_start(struct daemon *d, struct job *j)
{
	int fds[2] = { -1, -1 };
	d->pipefd = d->pidfd = d->killfd = -1;
	d->msgs = calloc(1, sizeof *d->msgs);
	d->killfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (!d->msgs || d->killfd < 0 || pipe2(fds, O_CLOEXEC) != 0) {
		logf_("error: cannot start the backup process: %s", strerror(errno));
		goto fail;
	}
	pid_t parent = getpid();
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		logf_("error: cannot start the backup process: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_main(d, j, fds[0], fds[1], parent);
	close(fds[1]);
	d->pipefd = fds[0];
	d->child = pid;
	d->nmsgs = 0;
	d->got_result = d->kill_stage = d->crashed = 0;
	d->kill_reason[0] = d->crash_path[0] = 0;
	clock_gettime(CLOCK_MONOTONIC, &d->child_t0);
	fcntl(d->pipefd, F_SETFL, O_NONBLOCK);
	d->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (d->pidfd < 0 || loop_add(d, d->pipefd, on_pipe) || loop_add(d, d->pidfd, on_exit_) ||
	    loop_add(d, d->killfd, on_silence)) {
		/* Without a way to hear from it, the run cannot go on. */
		logf_("error: cannot watch the backup process: %s", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		d->child = 0;
		fds[0] = fds[1] = -1;
		goto fail;
	}
	arm(d, d->cfg->run_timeout);
	return 0;
fail:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	close_fds(d);
	return -1;
}

/* child_stop(d): SIGTERM, then up to STOP_GRACE seconds for the run to end as cancelled,
 * then SIGKILL; the run is recorded either way. */
void child_stop(struct daemon *d)
{
	if (!d->child)
		return;
	kill(d->child, SIGTERM);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int status;
		if (waitpid(d->child, &status, WNOHANG) == d->child) {
			reap(d, status);
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = STOP_GRACE * 1000L - ((now.tv_sec - t0.tv_sec) * 1000L +
			(now.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left <= 0)
			break;
		struct pollfd pfd[2] = { { .fd = d->pidfd, .events = POLLIN },
			{ .fd = d->pipefd, .events = POLLIN } };
		if (poll(pfd, d->pipefd >= 0 ? 2 : 1, (int)left) > 0 && d->pipefd >= 0 &&
		    (pfd[1].revents & (POLLIN | POLLHUP)))
			drain(d);
	}
	logf_("warning: the backup did not stop in %d s; ended", STOP_GRACE);
	snprintf(d->kill_reason, sizeof d->kill_reason, "the backup process did not stop in "
		"%d s", STOP_GRACE);
	kill(d->child, SIGKILL);
	int status;
	while (waitpid(d->child, &status, 0) < 0 && errno == EINTR)
		;
	reap(d, status);
}
