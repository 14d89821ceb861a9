/* repo_lock.c: shared and exclusive locks, kept fresh by a thread while held. */
#include "store/repo_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/dst.h"
#include "coffre/error.h"

#define LOCK_STALE_SECONDS (30 * 60)
#define LOCK_REFRESH_SECONDS (5 * 60)
/* Clocks of two machines sharing a destination may differ a little, not by this much. */
#define LOCK_FUTURE_SECONDS (10 * 60)

static int write_lock(struct repo *r, struct cf_error *err)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	json_t *o = json_object();
	json_object_set_new(o, "hostname", json_string(host));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "time", json_integer((json_int_t)time(NULL)));
	json_object_set_new(o, "exclusive", json_boolean(r->lock_exclusive));
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = dst_put_buf(r->d, r->lock_path, text, strlen(text), err);
	free(text);
	if (rc == 0)
		r->lock_time = time(NULL);
	return rc;
}

int repo_lock_parse(const uint8_t *bytes, size_t len, struct repo_lock_info *ret)
{
	if (len > MAX_KEYFILE_BYTES)
		return CF_ECORRUPT;
	json_t *o = json_loadb((const char *)bytes, len, 0, NULL);
	if (!o)
		return CF_ECORRUPT;
	struct repo_lock_info l = { 0 };
	const char *h = json_string_value(json_object_get(o, "hostname"));
	if (h && strlen(h) < sizeof l.host) {
		memcpy(l.host, h, strlen(h) + 1);
		l.host_known = 1;
	}
	l.pid = json_integer_value(json_object_get(o, "pid"));
	l.time = json_integer_value(json_object_get(o, "time"));
	l.exclusive = json_is_true(json_object_get(o, "exclusive"));
	json_decref(o);
	*ret = l;
	return 0;
}

/* Returns 1 if the lock at ${path} is live and conflicts, 0 otherwise (stale ones removed). */
static int lock_conflicts(struct repo *r, const char *path, int want_exclusive)
{
	struct buf b = { 0 };
	struct repo_lock_info l;
	if (dst_get(r->d, path, MAX_KEYFILE_BYTES, &b, NULL) != 0)
		return 0;
	int rc = repo_lock_parse(b.p, b.len, &l);
	buf_free(&b);
	/* A half-written lock is a crash leftover (locks are written atomically). */
	if (rc)
		return 0;
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	/* A holder rewrites its lock every LOCK_REFRESH_SECONDS, so a live lock is recent: one
	 * that is old, or dated in the future, or absurd, is a leftover or a forgery (a lock
	 * naming this host and a live pid such as 1 must not block every run for ever). */
	time_t now = time(NULL);
	int stale = l.time <= 0 || l.time < (int64_t)now - LOCK_STALE_SECONDS ||
		    l.time > (int64_t)now + LOCK_FUTURE_SECONDS;
	/* On this host, a dead holder frees it at once. */
	if (!stale && l.host_known && strcmp(l.host, host) == 0 && l.pid > 0 && l.pid <= INT_MAX)
		stale = kill((pid_t)l.pid, 0) != 0 && errno == ESRCH;
	if (stale) {
		dst_delete(r->d, path, NULL);
		return 0;
	}
	return want_exclusive || l.exclusive;
}

/* 1 if a live lock other than ours conflicts with a lock of the kind ${exclusive}. */
static int others_conflict(struct repo *r, int exclusive)
{
	const char *hex = r->lock_path + 6;
	struct repo_names l = { 0 };
	int conflict = 0;
	if (repo_names_list(r, "locks/", &l, NULL) == 0) {
		for (size_t i = 0; i < l.n; i++) {
			const char *base = l.v[i] + 6;
			if (strlen(base) != 32 || strcmp(base, hex) == 0)
				continue;
			if (lock_conflicts(r, l.v[i], exclusive))
				conflict = 1;
		}
	}
	repo_names_free(&l);
	return conflict;
}

/* Rewrites the lock held as ${exclusive}, under the refresher's mutex when it runs. */
static int rewrite_lock(struct repo *r, int exclusive, struct cf_error *err)
{
	if (r->lock_thread_on)
		pthread_mutex_lock(&r->lock_mu);
	int was = r->lock_exclusive;
	r->lock_exclusive = exclusive;
	int rc = write_lock(r, err);
	if (rc)
		r->lock_exclusive = was;
	if (r->lock_thread_on)
		pthread_mutex_unlock(&r->lock_mu);
	return rc;
}

int repo_lock_mode(struct repo *r, int exclusive, struct cf_error *err)
{
	if (!r->lock_path)
		return repo_lock(r, exclusive, err);
	if (r->lock_exclusive == exclusive)
		return 0;
	int rc = rewrite_lock(r, exclusive, err);
	if (rc || !exclusive)
		return rc;
	if (others_conflict(r, 1)) {
		rewrite_lock(r, 0, NULL);
		return cf_error_set(err, CF_ELOCKED,
			"repository is locked by another coffre process (try again later)");
	}
	return 0;
}

static void *lock_refresher(void *arg)
{
	struct repo *r = arg;
	pthread_mutex_lock(&r->lock_mu);
	while (!r->lock_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += LOCK_REFRESH_SECONDS;
		pthread_cond_timedwait(&r->lock_cv, &r->lock_mu, &ts);
		if (!r->lock_stop)
			write_lock(r, NULL);
	}
	pthread_mutex_unlock(&r->lock_mu);
	return NULL;
}

int repo_lock(struct repo *r, int exclusive, struct cf_error *err)
{
	uint8_t rnd[16];
	char hex[33];
	if (r->lock_path)
		return cf_error_set(err, CF_EUSAGE, "this repository handle is locked already");
	/* A view of the past (--as-of) cannot be written, so no lock can be put there, and no
	 * run can change what it shows: readers go on without one; writers are refused. */
	if (dst_read_only(r->d))
		return exclusive ? cf_error_set(err, CF_EUSAGE, "read-only: --as-of (%s)", r->path)
				 : 0;
	randombytes_buf(rnd, sizeof rnd);
	util_hex(hex, rnd, sizeof rnd);
	r->lock_path = util_path("locks/%s", hex);
	if (!r->lock_path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	r->lock_exclusive = exclusive;
	int rc = write_lock(r, err);
	if (rc) {
		free(r->lock_path);
		r->lock_path = NULL;
		return rc;
	}
	/* Write first, then look: two processes racing both see each other and both back off. */
	if (others_conflict(r, exclusive)) {
		repo_unlock(r);
		return cf_error_set(err, CF_ELOCKED,
			"repository is locked by another coffre process (try again later)");
	}
	r->lock_stop = 0;
	pthread_mutex_init(&r->lock_mu, NULL);
	pthread_cond_init(&r->lock_cv, NULL);
	if (pthread_create(&r->lock_thread, NULL, lock_refresher, r) == 0) {
		r->lock_thread_on = 1;
	} else {
		pthread_mutex_destroy(&r->lock_mu);
		pthread_cond_destroy(&r->lock_cv);
	}
	return 0;
}

void repo_unlock(struct repo *r)
{
	if (r->lock_thread_on) {
		pthread_mutex_lock(&r->lock_mu);
		r->lock_stop = 1;
		pthread_cond_signal(&r->lock_cv);
		pthread_mutex_unlock(&r->lock_mu);
		pthread_join(r->lock_thread, NULL);
		pthread_mutex_destroy(&r->lock_mu);
		pthread_cond_destroy(&r->lock_cv);
		r->lock_thread_on = 0;
	}
	if (!r->lock_path)
		return;
	dst_delete(r->d, r->lock_path, NULL);
	free(r->lock_path);
	r->lock_path = NULL;
}
