/* fedstatus.c: the shop's status object for its federation ([federation] in the config).
 * After each run and at least every FEDSTATUS_EVERY seconds (less a random jitter, so that
 * a federation's shops do not all report at once), coffred signs a status document (signdoc
 * kind "status") and puts it at PREFIX/status/SHOP.json of status-url. The document is made
 * and signed on the loop (no network); the upload runs in a short process of its own, so the
 * loop never waits on the network. Its one timer is a timerfd: no other wake-up.
 *
 * seq grows by one with each document made and is kept in STATE_DIR/fed-status.seq (temp,
 * fsync, rename): the federation refuses a document whose seq went back (a replay). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coffre/cfg.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/signdoc.h"
#include "base/util.h"
#include "coffred.h"

#define FEDSTATUS_EVERY (6 * 3600)	/* COFFRED_FED_EVERY for tests */
#define FEDSTATUS_JITTER 1800		/* up to this much earlier */
#define FEDSTATUS_MAX (64 * 1024)	/* what a federation reads of one status object */
#define ESCROW_KEYS_MAX 8		/* what the fleet view reads of them */

static int enabled(const struct daemon *d)
{
	return d->cfg->fed.shop_id != NULL;
}

static long every(void)
{
	const char *e = getenv("COFFRED_FED_EVERY");	/* tests */
	return e && atol(e) > 0 ? atol(e) : FEDSTATUS_EVERY;
}

static void arm(struct daemon *d)
{
	long e = every();
	long jitter = e > FEDSTATUS_JITTER * 4 ? (long)randombytes_uniform(FEDSTATUS_JITTER) : 0;
	struct itimerspec its = { 0 };
	its.it_value.tv_sec = e - jitter;
	if (d->fed_tfd >= 0 && timerfd_settime(d->fed_tfd, 0, &its, NULL) != 0)
		logf_("warning: federation: timer: %s", strerror(errno));
}

/* The next seq, kept before it is used: a crash never reuses one. 0 on failure. */
static uint64_t next_seq(struct daemon *d)
{
	char *path = util_path("%s/fed-status.seq", d->cfg->state_dir);
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	uint64_t seq = 0;
	if (!path)
		return 0;
	int rc = util_read_file(path, 64, &b, &err);
	if (rc == 0) {
		char t[65] = "";
		memcpy(t, b.p, b.len < 64 ? b.len : 64);
		char *end;
		seq = strtoull(t, &end, 10);
		if (end == t || (*end && *end != '\n')) {
			logf_("warning: federation: '%s' is unreadable", path);
			seq = 0;
			rc = CF_ECORRUPT;
		}
	}
	buf_free(&b);
	if (rc && rc != CF_ENOENT && !seq) {
		free(path);
		return 0;	/* never start again from 1 over a seq the federation has seen */
	}
	char t[32];
	int n = snprintf(t, sizeof t, "%llu\n", (unsigned long long)(seq + 1));
	if (util_write_atomic(path, t, (size_t)n, 0, &err)) {
		logf_("warning: federation: %s", err.msg);
		seq = (uint64_t)-1;
	}
	free(path);
	return seq + 1;
}

static json_t *when(time_t t)
{
	return t > 0 ? json_integer((json_int_t)t) : json_null();
}

static const char *dest_state(const struct state_dest *ds)
{
	if (!strcmp(ds->result, "complete") && !ds->pending)
		return "ok";
	if (!ds->result[0] || !strcmp(ds->result, "complete") || !strcmp(ds->result, "cancelled"))
		return "behind";
	return "failing";
}

/* The ids of the escrow keys the spool's key files are sealed to: read from the repository,
 * not taken from the bundle, so that the federation sees whether it can really restore this
 * shop. NULL (left out of the status) when the repository is not a local folder (reading it
 * would wait on the network, on the loop) or cannot be read (said). */
static json_t *escrow_keys(struct daemon *d)
{
	const char *repo = d->cfg->repository, *kind = dst_url_kind(repo);
	char ids[ESCROW_KEYS_MAX][REPO_FINGERPRINT_TEXT];
	size_t n = 0;
	struct dst_options o = { 0 };
	struct cf_error err = { 0 };
	if (!kind || strcmp(kind, "local"))
		return NULL;
	if (repo_escrow_keys_at(repo, &o, ids, ESCROW_KEYS_MAX, &n, &err)) {
		logf_("warning: federation: cannot read the repository's escrow keys: %s", err.msg);
		return NULL;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n && i < ESCROW_KEYS_MAX; i++)
		json_array_append_new(a, json_string(ids[i]));
	return a;
}

/* The payload (fed-spec: status object), malloc'd JSON text. */
static char *payload(struct daemon *d, uint64_t seq)
{
	struct state_status s = { 0 };
	if (status_build(d, &s)) {
		state_status_release(&s);
		return NULL;
	}
	json_t *o = json_object(), *dests = json_array(), *alerts = json_array();
	time_t proven = 0;
	for (size_t i = 0; i < s.ndests; i++) {
		const struct state_dest *ds = &s.dests[i];
		if (ds->drill_last_ok > proven)
			proven = ds->drill_last_ok;
		/* deletions_denied: its retention is left to its owner (keys that cannot delete). */
		json_array_append_new(dests, json_pack("{s:s, s:s, s:o, s:o, s:I}", "name", ds->name,
			"state", dest_state(ds), "last_complete", when(ds->last_complete),
			"lock_until", when(ds->lock_until), "deletions_denied",
			(json_int_t)ds->denied));
	}
	for (size_t i = 0; i < s.nalerts; i++)
		json_array_append_new(alerts, json_pack("{s:s, s:I}", "condition", s.alerts[i].cond,
			"since", (json_int_t)s.alerts[i].since));
	json_object_set_new(o, "shop", json_string(d->cfg->fed.shop_id));
	json_object_set_new(o, "seq", json_integer((json_int_t)seq));
	json_object_set_new(o, "written_at", json_integer((json_int_t)alerts_now(d)));
	json_object_set_new(o, "version", json_string("coffre " COFFRE_VERSION));
	json_object_set_new(o, "last_good_backup", when(s.last_success));
	json_object_set_new(o, "last_proven_restore", when(proven));
	json_object_set_new(o, "destinations", dests);
	json_object_set_new(o, "alerts", alerts);
	json_object_set_new(o, "alarm", json_boolean(s.alarm.active));
	json_t *escrow = escrow_keys(d);
	if (escrow)
		json_object_set_new(o, "escrow_keys", escrow);
	/* Room left where the spool is: a full disk stops the backups first. */
	struct statvfs vfs;
	json_object_set_new(o, "free_bytes", statvfs(d->cfg->repository, &vfs) == 0 ?
		json_integer((json_int_t)((uint64_t)vfs.f_bavail * vfs.f_frsize)) : json_null());
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	state_status_release(&s);
	return text;
}

/* The signed document, or NULL (said). */
static char *document(struct daemon *d)
{
	const struct cfg_fed *f = &d->cfg->fed;
	uint8_t *sk = sodium_malloc(SIGNDOC_SK_BYTES);
	char *line = util_read_first_line(f->status_key_file);
	char *doc = NULL, *p = NULL;
	struct cf_error err = { 0 };
	if (!sk || !line || signdoc_key_parse(line, sk, SIGNDOC_SK_BYTES)) {
		logf_("warning: federation: cannot read the status key '%s'", f->status_key_file);
		goto out;
	}
	uint64_t seq = next_seq(d);
	if (!seq)
		goto out;
	if (!(p = payload(d, seq)) ||
	    signdoc_make("status", sk, p, strlen(p), &doc, &err)) {
		logf_("warning: federation: cannot make the status: %s", p ? err.msg : "out of memory");
		doc = NULL;
	} else if (strlen(doc) > FEDSTATUS_MAX) {
		logf_("warning: federation: the status is over %d bytes: not sent", FEDSTATUS_MAX);
		free(doc);
		doc = NULL;
	}
out:
	if (line) {
		sodium_memzero(line, strlen(line));
		free(line);
	}
	sodium_free(sk);
	free(p);
	return doc;
}

/* In the upload's process. */
static int upload(const struct cfg_fed *f, const char *doc)
{
	struct dst_options o = { .s3_keys_file = f->status_keys_file };
	struct dst *dst = NULL;
	struct cf_error err = { 0 };
	char *name = util_path("status/%s.json", f->shop_id);
	int rc = name ? dst_open(f->status_url, &o, &dst, &err) : CF_ENOMEM;
	if (rc == 0)
		rc = dst_put_buf(dst, name, doc, strlen(doc), &err);
	if (rc)
		logf_("warning: federation: the status was not sent: %s",
			err.msg[0] ? err.msg : "out of memory");
	else
		logf_("federation: status sent to %s", dst_url(dst));
	dst_free(dst);
	free(name);
	return rc;
}

static void on_child(struct daemon *d);

static void send_status(struct daemon *d)
{
	if (d->fed_child) {
		d->fed_again = 1;
		return;
	}
	d->fed_again = 0;
	char *doc = document(d);
	if (!doc)
		return;
	pid_t pid = fork();
	if (pid < 0) {
		logf_("warning: federation: cannot start the upload: %s", strerror(errno));
		free(doc);
		return;
	}
	if (pid == 0) {
		loop_child_signals();	/* SIGTERM ends it (*_stop) */
		int rc = upload(&d->cfg->fed, doc);
		fflush(NULL);
		_exit(rc ? 1 : 0);
	}
	free(doc);
	d->fed_child = pid;
	if (loop_watch_child(d, pid, &d->fed_pidfd, on_child, "federation"))
		d->fed_child = 0;
}

static void on_child(struct daemon *d)
{
	waitpid(d->fed_child, NULL, 0);
	loop_del(d, d->fed_pidfd);
	close(d->fed_pidfd);
	d->fed_pidfd = -1;
	d->fed_child = 0;
	if (d->fed_again && !d->stopping && enabled(d))
		send_status(d);
}

static void on_timer(struct daemon *d)
{
	uint64_t v;
	if (read(d->fed_tfd, &v, sizeof v) < 0 && errno != EAGAIN)
		logf_("warning: federation: timer: %s", strerror(errno));
	if (!enabled(d)) {	/* [federation] was removed by a reload */
		loop_del(d, d->fed_tfd);
		close(d->fed_tfd);
		d->fed_tfd = -1;
		return;
	}
	send_status(d);
	arm(d);
}

void fedstatus_after_run(struct daemon *d)
{
	if (d->fed_tfd < 0 || !enabled(d))
		return;
	send_status(d);
	arm(d);
}

void fedstatus_start(struct daemon *d)
{
	if (!enabled(d) || d->fed_tfd >= 0)
		return;
	if (sodium_init() < 0) {
		logf_("warning: federation: libsodium cannot start: no status is sent");
		return;
	}
	/* Boot time: the hours a suspended PC sleeps count towards the 6 h. */
	d->fed_tfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->fed_tfd < 0 || loop_add(d, d->fed_tfd, on_timer)) {
		logf_("warning: federation: cannot set up its timer: %s", strerror(errno));
		if (d->fed_tfd >= 0)
			close(d->fed_tfd);
		d->fed_tfd = -1;
		return;
	}
	send_status(d);	/* the federation hears of the shop from its start */
	arm(d);
}

void fedstatus_stop(struct daemon *d)
{
	loop_end_child(&d->fed_child, &d->fed_pidfd);
	if (d->fed_tfd >= 0)
		close(d->fed_tfd);
	d->fed_tfd = -1;
}
