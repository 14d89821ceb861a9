/* dst_curl.c: the libcurl handle, retries and rate cap shared by S3 and SFTP. */
#include "dst/dst_curl.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffre/dst.h"
#include "coffre/error.h"

int dst_curl_load(struct cf_error *err)
{
	if (dl_curl_load(err))
		return CF_EIO;
	if (sodium_init() < 0)
		return cf_error_set(err, CF_EIO, "cannot initialise libsodium");
	return 0;
}

long dst_curl_env_long(const char *name, long def)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return def;
	char *e;
	long x = strtol(v, &e, 10);
	return (*e || x < 0) ? def : x;
}

int dst_curl_open(struct dst_curl *h, const struct dst_options *opt, struct cf_error *err)
{
	h->retries = opt->retries > 0 ? opt->retries : 5;
	h->base_ms = dst_curl_env_long("COFFRE_RETRY_BASE_MS", 500);
	h->upload_limit = opt->upload_limit;
	h->download_limit = opt->download_limit;
	if (!(h->curl = curl_easy_init()))
		return cf_error_set(err, CF_ENOMEM, "cannot create a libcurl handle");
	return 0;
}

struct dst_curl_share {
	atomic_int handles;
	pthread_mutex_t mu;	/* the pacer */
	struct dst_pacer pace;
};

int dst_curl_clone(struct dst_curl *to, struct dst_curl *from)
{
	*to = *from;
	to->share = NULL;
	if (!(to->curl = curl_easy_init()))
		return -1;
	/* Made before the threads start (blob_reader_prefetch, check): no race on share. */
	if ((from->upload_limit || from->download_limit) && !from->share) {
		if (!(from->share = malloc(sizeof *from->share))) {
			curl_easy_cleanup(to->curl);
			to->curl = NULL;
			return -1;
		}
		atomic_init(&from->share->handles, 1);
		pthread_mutex_init(&from->share->mu, NULL);
		from->share->pace.next_ns = 0;
	}
	if ((to->share = from->share))
		atomic_fetch_add(&to->share->handles, 1);
	return 0;
}

void dst_curl_release(struct dst_curl *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
	if (h->share && atomic_fetch_sub(&h->share->handles, 1) == 1) {
		pthread_mutex_destroy(&h->share->mu);
		free(h->share);
	}
	h->share = NULL;
}

void dst_curl_rate_cap(const struct dst_curl *h, CURL *c)
{
	/* Uploads: a cap per transfer; handles sending side by side split it, so that together
	 * they stay within what the shop allowed. */
	uint64_t n = h->share ? (uint64_t)atomic_load(&h->share->handles) : 1;
	if (n < 1)
		n = 1;
	if (h->upload_limit)
		curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE,
			(curl_off_t)(h->upload_limit / n ? h->upload_limit / n : 1));
	/* Downloads: libcurl's cap on a handle alone; cloned ones pace together instead (and
	 * a cap set before the handle was cloned is lifted). */
	if (h->download_limit)
		curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE,
			(curl_off_t)(h->share ? 0 : h->download_limit));
}

uint64_t dst_pacer_wait(struct dst_pacer *p, uint64_t rate, uint64_t now_ns, size_t n)
{
	if (p->next_ns + DST_PACE_BURST_NS < now_ns)
		p->next_ns = now_ns - DST_PACE_BURST_NS;
	p->next_ns += (uint64_t)((double)n * 1e9 / (double)rate);
	return p->next_ns > now_ns ? p->next_ns - now_ns : 0;
}

void dst_curl_pace(const struct dst_curl *h, size_t n)
{
	if (!h || !h->share || !h->download_limit || n == 0)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	pthread_mutex_lock(&h->share->mu);
	uint64_t wait = dst_pacer_wait(&h->share->pace, h->download_limit, now, n);
	pthread_mutex_unlock(&h->share->mu);
	if (wait) {
		ts.tv_sec = (time_t)(wait / 1000000000u);
		ts.tv_nsec = (long)(wait % 1000000000u);
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

size_t dst_curl_read_cb(char *dst, size_t size, size_t nmemb, void *ud)
{
	struct dst_curl_src *u = ud;
	size_t n = size * nmemb, left = u->n - u->off;
	if (n > left)
		n = left;
	memcpy(dst, u->p + u->off, n);
	u->off += n;
	return n;
}

static void backoff(long base_ms, int attempt)
{
	double ms = (double)base_ms * (double)(1u << (attempt < 10 ? attempt : 10));
	if (ms > 30000)
		ms = 30000;
	ms = ms * (0.5 + randombytes_uniform(1000) / 1000.0);	/* jitter: 50%..150% */
	struct timespec ts = { (time_t)(ms / 1000), (long)((long)ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Options every transfer gets: no signals (threads), verbose on request (libcurl never logs
 * a secret), a connect timeout, and a transfer that stalls below 512 B/s is dropped. */
static void common_options(CURL *c)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (getenv("COFFRE_CURL_VERBOSE"))
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 512L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, dst_curl_env_long("COFFRE_LOW_SPEED_TIME", 60));
}

int dst_curl_run(struct dst_curl *h, const char *where, const struct dst_curl_call *call,
	struct cf_error *err)
{
	for (int attempt = 0;; attempt++) {
		CURL *c = h->curl;
		curl_easy_reset(c);
		common_options(c);
		int rc = call->setup(call->ctx, c, err);
		if (rc)
			return rc;
		CURLcode cc = curl_easy_perform(c);
		rc = call->done(call->ctx, c, cc, err);
		if (rc != DST_CURL_RETRY)
			return rc;
		if (attempt + 1 >= h->retries) {
			if (cc != CURLE_OK)
				return cf_error_set(err, CF_EUNREACH, "%s: unreachable after %d attempts: %s",
					where, attempt + 1, curl_easy_strerror(cc));
			return 0;	/* a 5xx after the last attempt: the caller reports the status */
		}
		backoff(h->base_ms, attempt);
	}
}
