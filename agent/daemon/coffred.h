/* coffred.h: what the daemon's own files share (main.c, job.c, roots.c, reload.c, status.c).
 * Not part of the engine: coffred alone is built from these. */
#ifndef COFFRED_H
#define COFFRED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "coffre/alarm.h"
#include "coffre/alert_watch.h"
#include "coffre/backup.h"
#include "coffre/state.h"

struct cfg;
struct cfg_dest;
struct poison;
struct runmsg;
struct page;
struct runmsg_buf;
struct watch;

#define RETRY_DELAY 60			/* after a failed run (COFFRED_RETRY_DELAY for tests) */
#define FULL_SCAN_EVERY (7 * 86400)	/* safety net */
#define PRUNE_EVERY (7 * 86400)
#define STOP_GRACE 4			/* seconds to wait for a cancelled backup */
#define PUSH_RETRY 3600			/* a destination left behind is tried again after this
					 * (COFFRED_PUSH_RETRY for tests) */
#define LOOP_MAX 20			/* file descriptors the event loop serves */

/* A run's result as the daemon keeps it: what the status and the history show, and more. */
struct result {
	struct state_run s;
	int code;		/* CF_* of the backup */
	int push_only;		/* no backup: JOB_PUSH, a retry of destinations left behind;
				 * JOB_DRILL, restore drills */
};

/* What a run does (job_start). */
#define JOB_BACKUP 0	/* a backup, its retention and its push */
#define JOB_PUSH 1	/* the push to destinations left behind */
#define JOB_DRILL 2	/* restore drills of the destinations due (drills.c) */

/* What a running backup has done so far, for `coffre status` and `coffre backup --now`. */
struct progress {
	pthread_mutex_t mu;
	struct backup_stats st;
	char current[512];
};

/* One run, prepared on the loop and made in a process of its own (child.c), which has a
 * copy of it: what that process finds comes back through its pipe into the daemon's. */
struct job {
	struct cfg *cfg;	/* borrowed; kept alive until the run is over */
	struct watch *w;	/* borrowed likewise (the process reads its copy) */
	int do_prune;
	int msgfd;		/* in the run's process: the pipe to the daemon */
	const atomic_int *cancel;
	const char **paths;	/* the roots present at the start (borrowed strings) */
	size_t npaths;
	char **skip;		/* files left out: the run's process died on them (poison.h) */
	size_t nskip;
	char **excludes;	/* the configuration's, then ${skip} as globs (those owned) */
	size_t nexcludes;
	struct state_dest *dests;	/* a copy of the daemon's, one per cfg->dests */
	size_t ndests;
	struct alarm alarm;	/* a copy of the daemon's: while active, no retention, USB
				 * drives left alone, snapshots tagged "suspect" */
	uint8_t *drill;		/* JOB_DRILL: per cfg->dests, drill it now */
	struct result res;
};

#define DESK_PENDING_MAX 8	/* condition starts waiting for their desktop notification */

struct daemon;

/* An entry of the event loop: when ${fd} is readable, ${fn} runs on the loop. */
struct handler {
	int fd;
	void (*fn)(struct daemon *d);
};

struct daemon {
	char *cfg_file;
	struct cfg *cfg, *pending_cfg;
	struct watch *w;
	int ep, tfd, sfd, ctl, wdfd;
	int rfd;		/* inotify on the parents of missing roots, or -1 */
	struct handler loop[LOOP_MAX];
	size_t nloop;
	unsigned char *missing;	/* per root of cfg: known missing */
	int stopping;
	/* schedule */
	time_t last_success, last_change, last_full, last_prune, next_due;
	int change_during_run;
	/* the running backup and its process (child.c) */
	int running;
	struct job *job;
	pid_t child;		/* 0: none */
	int pipefd, pidfd, killfd;	/* -1: none */
	struct runmsg_buf *msgs;	/* what the pipe gave and is not yet read */
	uint64_t nmsgs;
	int got_result;		/* the process sent the run's result */
	int kill_stage;		/* 0; 1: SIGTERM sent; 2: SIGKILL sent */
	char kill_reason[300];	/* why it was stopped; "": it was not */
	int crashed;		/* the last run's process died or was stopped */
	char crash_path[512];	/* what it was reading then */
	struct poison *poison;	/* NULL: cannot be kept (said at start) */
	struct timespec child_t0;
	atomic_int cancel;
	uint64_t mark;
	uint64_t runs;		/* runs started since start-up */
	int now_requested;	/* `backup --now` while a run was going: another one after it */
	long retry_delay;
	struct progress prog;
	struct result last;
	int has_last;
	struct state_dest *dests;	/* one per cfg->dests */
	long push_retry;
	int next_push_only;	/* the timer is for JOB_PUSH or JOB_DRILL, not a backup */
	size_t unwatched;	/* folders the watcher could not watch, last reported */
	/* alerts (alerts.c): their timer, their delivery's process, the conditions */
	int afd, alert_pidfd;	/* -1: none */
	pid_t alert_child;	/* 0: none */
	int alert_again;	/* something was queued while it ran */
	int64_t alert_check_next, alert_queue_next;	/* 0: nothing to wait for */
	size_t alerts_waiting;	/* events in the queue, and why the last try failed */
	char alerts_error[512];
	struct alert_watch alert_watch;	/* also the run of failed backups (kept with it) */
	int alert_saved_streak;	/* the run of failures alert-watch.json holds */
	/* their desktop notifications (alerts_desktop.c): the process showing them, and the
	 * starts that wait for it to end */
	pid_t desk_child;	/* 0: none */
	int desk_pidfd;		/* -1: none */
	struct alert_event desk_ev[DESK_PENDING_MAX];
	size_t desk_n;
	int64_t clock_offset;	/* the test clock's (COFFRED_TEST_CLOCK), 0 otherwise */
	int64_t restarted_at;	/* started again after a crash at this time, 0: not */
	char restart_detail[200];
	int64_t config_refused_at;	/* a reload refused the configuration, 0: none since */
	char config_problem[300];
	/* the status object for the federation (fedstatus.c): its timer and upload */
	int fed_tfd, fed_pidfd;	/* -1: none */
	pid_t fed_child;	/* 0: none */
	int fed_again;		/* a run ended while it uploaded: send again after it */
	/* the status page (page.c), NULL when off */
	struct page *page;
	/* the ransomware watch (guard.c) and its alarm */
	struct guard *guard;
	struct alarm alarm;
};

/* main.c */
void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* loop_add(d, fd, fn): serve ${fd} with ${fn}. Returns 0 or -1 (errno set). */
int loop_add(struct daemon *d, int fd, void (*fn)(struct daemon *d));
/* loop_del(d, fd): stop serving ${fd} (it stays open). */
void loop_del(struct daemon *d, int fd);
/* loop_watch_child(d, pid, ret_pidfd, fn, what): serve the end of the helper process ${pid}
 * with ${fn} (through a pidfd); when it cannot be watched, says so (${what} names it),
 * waits for it here and returns -1 (*${ret_pidfd} -1). loop_end_child(pid, pidfd): stops
 * and reaps such a process if there is one (*${pid} 0), closes its pidfd (-1). */
int loop_watch_child(struct daemon *d, pid_t pid, int *ret_pidfd,
	void (*fn)(struct daemon *d), const char *what);
void loop_end_child(pid_t *pid, int *pidfd);
/* loop_child_signals(): in a helper process just forked, SIGTERM, SIGINT and SIGHUP end it
 * again (the loop blocks them for its signalfd); SIGPIPE stays blocked, as TLS writes may
 * raise it. */
void loop_child_signals(void);

/* job.c: runs (a backup, its retention and its push; or a push alone) and their timer */
void job_start(struct daemon *d, int push_only);
void job_run(struct job *j);		/* in the run's process: the run itself */
void job_finish(struct daemon *d);	/* on the loop: the run's process has ended */
void job_stop(struct daemon *d);
void job_rearm(struct daemon *d);
void job_notify(struct daemon *d);

/* drills.c: restore drills. drills_due: when the destination is next due (0: not while it
 * stands so); drills_next: the earliest of all, and (${now_due}, per destination, may be
 * NULL) which are due now; drills_run, in the run's process: the drills ${j}->drill asks
 * for, their outcome in ${j}->dests. */
struct repo_cred;
time_t drills_due(const struct cfg_dest *cd, const struct state_dest *ds, long retry);
time_t drills_next(struct daemon *d, uint8_t *now_due);
void drills_run(struct job *j, const struct repo_cred *cred);
extern volatile int drill_cancel;	/* set by SIGTERM in the run's process */

/* child.c: the run's process. child_start forks it (0, or -1 said); child_stop ends it
 * (SIGTERM, SIGKILL after STOP_GRACE s); child_send, in that process, sends a message. */
int child_start(struct daemon *d, struct job *j);
void child_stop(struct daemon *d);
void child_send(int fd, const struct runmsg *m);

/* alerts.c: the conditions, their events and the queue's delivery. alerts_start at start and
 * after a reload (sets up what [alert] asks for, then checks); alerts_check after a run;
 * alerts_stop at the end. */
void alerts_start(struct daemon *d);
void alerts_check(struct daemon *d);
void alerts_stop(struct daemon *d);
/* alerts_open(d, out, max): the conditions open now, their subject in [alert]'s language. */
size_t alerts_open(struct daemon *d, struct state_alert *out, size_t max);
/* alerts_open_events(d, out, max): the same as events (their start), for alert_render. */
size_t alerts_open_events(struct daemon *d, struct alert_event *out, size_t max);
/* alerts_push(d, ev): queue ${ev} and start its delivery; alerts_arm(d): set the timer to
 * the next moment anything can change (d->alert_check_next, the queue's next retry). */
void alerts_push(struct daemon *d, struct alert_event *ev);
void alerts_arm(struct daemon *d);
/* alerts_desktop.c: alerts_desktop(d, ev) shows ${ev} on the graphical sessions' desktops
 * if it is a start and desktop-notify is on, from a process of its own; alerts_desktop_stop
 * ends that process. */
void alerts_desktop(struct daemon *d, const struct alert_event *ev);
void alerts_desktop_stop(struct daemon *d);

/* alerts_cond.c: judging the conditions. alerts_now is the clock they are judged by (the
 * real one, moved by the test clock's offset in tests); alerts_judge decides every condition
 * and queues what starts, is recalled or ends. alerts_mark_running at start (notes whether
 * the previous coffred of this boot crashed) and alerts_mark_stopped at a clean end;
 * alerts_config_refused when a reload refuses the configuration. */
int64_t alerts_now(struct daemon *d);
void alerts_judge(struct daemon *d);
void alerts_mark_running(struct daemon *d);
void alerts_mark_stopped(struct daemon *d);
void alerts_config_refused(struct daemon *d, const char *why);

/* fedstatus.c: the status object sent to the federation ([federation]). fedstatus_start at
 * start and after a reload (sends one, then at least every 6 h); fedstatus_after_run after
 * each run; fedstatus_stop at the end. Nothing without [federation]. */
void fedstatus_start(struct daemon *d);
void fedstatus_after_run(struct daemon *d);
void fedstatus_stop(struct daemon *d);

/* guard.c: the ransomware watch. guard_attach before the roots are added to a new watcher
 * (places the canaries, observes the events); guard_save keeps the alarm; guard_after_run
 * learns the clean snapshot a run pinned; guard_backup_done after a good backup (its marks
 * of an attack count as signals); guard_clear
 * when a person clears the alarm (1 if there was one). */
struct guard;
void guard_attach(struct daemon *d, struct watch *w, const struct cfg *c);
void guard_save(struct daemon *d);
void guard_poll(struct daemon *d);	/* after watch_process: raise what it decided */
void guard_after_run(struct daemon *d);
void guard_backup_done(struct daemon *d, const struct state_run *s);
int guard_clear(struct daemon *d);
void guard_free(struct daemon *d);

/* roots.c: the protected folders and their watches */
int roots_build_watch(struct daemon *d, const struct cfg *c);
int roots_check(struct daemon *d);
void roots_report(struct daemon *d);

/* reload.c: the configuration, at start and on SIGHUP */
void reload_print_problems(const char *problems);
void reload_open_socket(struct daemon *d);
struct state_dest *reload_align_dests(const struct state_dest *old, size_t nold,
	const struct cfg *c);
void reload_apply(struct daemon *d, struct cfg *c);
void reload(struct daemon *d);

/* status.c: the status file, the history and the control socket's answers */
void status_write(struct daemon *d, int durable);
void status_read(struct daemon *d);
void status_record(struct daemon *d, const struct result *r);
void status_on_ctl(struct daemon *d);	/* the loop's handler of the control socket */
/* status_build(d, s): the status of ${d} into ${s} (zeroed; the caller releases it). 0 or
 * CF_ENOMEM. */
int status_build(struct daemon *d, struct state_status *s);
/* status_request_backup(d, ret): a backup asked for (coffre backup --now, the status page):
 * a run going on may have started before the caller's changes, so another one follows it.
 * ${ret} names the run to wait for, or says why none starts. */
struct state_ack;
void status_request_backup(struct daemon *d, struct state_ack *ret);

/* page.c: the status page on 127.0.0.1 ([daemon] status-page), served on the loop by
 * libmicrohttpd. page_start at start (nothing when off: said in the log when it cannot
 * start); page_stop at the end; page_describe: its port (0: off) and token file for the
 * status. */
void page_start(struct daemon *d);
void page_stop(struct daemon *d);
void page_describe(const struct daemon *d, int *ret_port, char *token_file, size_t n);

#endif
