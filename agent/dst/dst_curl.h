/* dst_curl.h: what the libcurl backends (S3, SFTP) share: one handle per destination handle,
 * the retry loop with exponential backoff and jitter, the options every transfer sets
 * (timeouts, stall detection), the upload rate cap, and a second handle for dst_clone. */
#ifndef COFFRE_DST_CURL_H
#define COFFRE_DST_CURL_H

#include <stddef.h>
#include <stdint.h>

#include "dst/dl_curl.h"

struct cf_error;
struct dst_options;

struct dst_curl {
	CURL *curl;
	int retries;		/* attempts in all, at least 1 */
	long base_ms;		/* first backoff; doubles each attempt, 30 s at most */
	uint64_t upload_limit;	/* bytes per second, 0 = unlimited */
	uint64_t download_limit;
	/* The handles cloned from one another (threads fetching side by side) share the limits:
	 * each caps its transfers at limit / handles (NULL: never cloned, alone). */
	struct dst_curl_share *share;
};

/* dst_curl_load(err): load libcurl and initialise libsodium (its jitter and hashes).
 * Returns 0 or CF_EIO. Called by each backend's open before anything else. */
int dst_curl_load(struct cf_error *err);

/* dst_curl_open(h, opt, err): settings from ${opt} (and $COFFRE_RETRY_BASE_MS), and a
 * handle. Returns 0 or CF_ENOMEM; ${h} is released by dst_curl_release() either way. */
int dst_curl_open(struct dst_curl *h, const struct dst_options *opt, struct cf_error *err);

/* dst_curl_clone(to, from): ${from}'s settings and a handle of its own in ${to}. Returns 0,
 * or -1 when no handle could be made (then to->curl is NULL). */
int dst_curl_clone(struct dst_curl *to, struct dst_curl *from);

/* dst_curl_release(h): frees the handle; dst_curl_release of a zeroed ${h} does nothing. */
void dst_curl_release(struct dst_curl *h);

/* dst_curl_env_long(name, def): the environment variable ${name} as a number >= 0, or ${def}
 * when unset, empty or unreadable. */
long dst_curl_env_long(const char *name, long def);

/* dst_curl_rate_cap(h, c): apply the rate caps to the transfer being set up on ${c}: the
 * upload cap split between the handles cloned from one another; the download cap whole on a
 * handle alone, and through dst_curl_pace on cloned ones. */
void dst_curl_rate_cap(const struct dst_curl *h, CURL *c);

/* dst_curl_pace(h, n): called by a write callback for the ${n} bytes it was given; on cloned
 * handles with a download cap, sleeps as long as the cap asks of all of them together. So a
 * transfer alone gets the whole cap, and side by side they share it, whichever is busy: a
 * split by the number of connections left a lone transfer at half the cap. */
void dst_curl_pace(const struct dst_curl *h, size_t n);

/* The clock the cloned handles share: each byte received moves it on by 1/rate s; a
 * transfer ahead of it waits. It lags the real time by DST_PACE_BURST_NS at most, so an idle
 * spell earns no burst beyond that. */
#define DST_PACE_BURST_NS 50000000u
struct dst_pacer {
	uint64_t next_ns;
};
/* dst_pacer_wait(p, rate, now_ns, n): the time in ns the receiver of ${n} bytes at
 * ${now_ns} must wait to stay within ${rate} bytes per second (rate > 0). */
uint64_t dst_pacer_wait(struct dst_pacer *p, uint64_t rate, uint64_t now_ns, size_t n);

/* Upload from memory: a CURLOPT_READFUNCTION and its CURLOPT_READDATA. */
struct dst_curl_src {
	const uint8_t *p;
	size_t n, off;
};
size_t dst_curl_read_cb(char *dst, size_t size, size_t nmemb, void *ud);

/* What one transfer does, attempt after attempt. */
#define DST_CURL_RETRY 1
struct dst_curl_call {
	/* setup(ctx, c, err): sets the transfer's own options on ${c}, freshly reset and given
	 * the common ones. Returns 0, or a CF code that ends the transfer. */
	int (*setup)(void *ctx, CURL *c, struct cf_error *err);
	/* done(ctx, c, cc, err): judges the attempt that ended with ${cc}. Returns 0, a CF code,
	 * or DST_CURL_RETRY for a transient failure (connection lost, timeout, 5xx). */
	int (*done)(void *ctx, CURL *c, CURLcode cc, struct cf_error *err);
	void *ctx;
};

/* dst_curl_run(h, where, call, err): runs ${call} until done() stops it or the attempts run
 * out, sleeping between attempts. Out of attempts after a curl error: CF_EUNREACH (${where}
 * names the destination in the message); after a reply judged transient (a 5xx): 0, and the
 * caller reports the reply. */
int dst_curl_run(struct dst_curl *h, const char *where, const struct dst_curl_call *call,
	struct cf_error *err);

#endif
