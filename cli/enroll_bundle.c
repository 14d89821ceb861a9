/* enroll_bundle.c: read and check a federation's enrollment bundle (hostile until its
 * signature verifies, and bounded even then: it becomes configuration). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "enroll.h"
#include "fedcli.h"
#include "base/util.h"
#include "coffre/fed.h"
#include "coffre/signdoc.h"

int enroll_value_ok(const char *s)
{
	return fed_value_ok(s, 1024);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int num(json_t *o, const char *k, long long lo, long long hi, long long *ret)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -1;
	*ret = json_integer_value(v);
	return 0;
}

/* The payload's fields into ${b}; NULL or what is wrong. */
static const char *fields(struct enroll_bundle *b)
{
	json_t *d = b->doc, *s3 = json_object_get(d, "s3"), *lock = json_object_get(d, "lock");
	json_t *alert = json_object_get(d, "alert"), *st = json_object_get(d, "status");
	json_t *def = json_object_get(d, "defaults"), *keep = json_object_get(def, "keep");
	b->shop = str(d, "shop");
	b->name = str(d, "name");
	if (!b->shop || !fed_id_ok(b->shop) || !enroll_value_ok(b->name))
		return "shop";
	if (num(d, "issued", 0, 1LL << 40, &b->issued) || num(d, "expires", 0, 1LL << 40,
							     &b->expires))
		return "dates";
	b->endpoint = str(s3, "endpoint");
	b->bucket = str(s3, "bucket");
	b->prefix = str(s3, "prefix");
	b->access_key = str(s3, "access_key");
	b->secret_key = str(s3, "secret_key");
	b->region = str(s3, "region");
	const char *host = b->endpoint ? fed_endpoint_host(b->endpoint) : NULL;
	if (!host || !b->bucket || !fed_id_ok(b->bucket) || !b->prefix ||
	    (*b->prefix && !enroll_value_ok(b->prefix)) || strstr(b->prefix, "..") ||
	    strcspn(b->prefix, " ") != strlen(b->prefix) || !fed_secret_ok(b->access_key) ||
	    !fed_secret_ok(b->secret_key) || (b->region && *b->region && !fed_id_ok(b->region)))
		return "s3";
	/* The endpoint's scheme, said explicitly: s3:// alone guesses from the host. */
	snprintf(b->s3_url, sizeof b->s3_url, "s3://%s/%s%s%s?%s", host, b->bucket,
		*b->prefix ? "/" : "", b->prefix, strncmp(b->endpoint, "https", 5) ? "http" : "https");
	if (!json_is_null(lock) && lock) {
		b->lock_mode = str(lock, "mode");
		if (num(lock, "days", 1, 36500, &b->lock_days) || !b->lock_mode ||
		    (strcmp(b->lock_mode, "COMPLIANCE") && strcmp(b->lock_mode, "GOVERNANCE")))
			return "lock";
	}
	if (json_is_object(alert)) {
		json_t *to = json_object_get(alert, "mail_to"), *e;
		size_t i;
		b->alert = 1;
		json_array_foreach(to, i, e) {
			if (b->nmail == 8 || !enroll_value_ok(json_string_value(e)))
				return "alert";
			b->mail_to[b->nmail++] = json_string_value(e);
		}
		b->smtp_url = str(alert, "smtp_url");
		b->webhook_url = str(alert, "webhook_url");
		b->language = str(alert, "language");
		if ((b->smtp_url && !enroll_value_ok(b->smtp_url)) ||
		    (b->webhook_url && !enroll_value_ok(b->webhook_url)) ||
		    (b->language && strcmp(b->language, "fr") && strcmp(b->language, "en")))
			return "alert";
	} else if (alert && !json_is_null(alert)) {
		return "alert";
	}
	b->escrow_pub = str(d, "escrow_pub");
	uint8_t k[64];
	if (!b->escrow_pub || strlen(b->escrow_pub) != 64 || util_unhex(k, 32, b->escrow_pub))
		return "escrow_pub";
	b->status_sk = str(st, "sk");
	b->status_url = str(st, "url");
	if (!b->status_sk || signdoc_key_parse(b->status_sk, k, 64) || !b->status_url ||
	    strncmp(b->status_url, "s3://", 5) || !enroll_value_ok(b->status_url))
		return "status";
	json_t *folders = json_object_get(def, "folders"), *e;
	size_t i;
	json_array_foreach(folders, i, e) {
		const char *f = json_string_value(e);
		if (b->nfolders == 64 || !enroll_value_ok(f) || f[0] != '/')
			return "defaults";
		b->folders[b->nfolders++] = f;
	}
	b->schedule = str(def, "schedule");
	if (!enroll_value_ok(b->schedule))
		return "defaults";
	b->keep_daily = 14;
	b->keep_weekly = 8;
	b->keep_monthly = 24;
	if ((json_object_get(keep, "daily") && num(keep, "daily", 0, 10000, &b->keep_daily)) ||
	    (json_object_get(keep, "weekly") && num(keep, "weekly", 0, 10000, &b->keep_weekly)) ||
	    (json_object_get(keep, "monthly") &&
		    num(keep, "monthly", 0, 10000, &b->keep_monthly)) ||
	    (json_object_get(keep, "yearly") && num(keep, "yearly", 0, 10000, &b->keep_yearly)))
		return "keep";
	return NULL;
}

int enroll_bundle_open(const char *file, const uint8_t pk[32], long long now,
	struct enroll_bundle *ret)
{
	struct buf raw = { 0 };
	struct cf_error err = { 0 };
	uint8_t *payload = NULL;
	size_t plen = 0;
	memset(ret, 0, sizeof *ret);
	if (fedcli_read(file, SIGNDOC_MAX, &raw, &err) != 0)
		return cli_error(CF_EXIT_ERROR, _("cannot read the bundle '%s': %s"), file, err.msg);
	int r = signdoc_open("bundle", pk, (const char *)raw.p, raw.len, &payload, &plen, &err);
	buf_free(&raw);
	if (r != 0)
		return cli_error(CF_EXIT_INTEGRITY, _("refused: the bundle '%s' is not signed by "
			"your federation's key or was altered (%s)"), file, err.msg);
	ret->doc = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
	sodium_memzero(payload, plen);
	free(payload);
	const char *bad = ret->doc ? fields(ret) : "JSON";
	if (bad) {
		enroll_bundle_release(ret);
		return cli_error(CF_EXIT_INTEGRITY, _("refused: the bundle '%s' is signed but not "
			"well formed (%s)"), file, bad);
	}
	if (now >= ret->expires) {
		char day[32] = "?";
		time_t t = (time_t)ret->expires;
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(day, sizeof day, "%Y-%m-%d %H:%M UTC", &tm);
		enroll_bundle_release(ret);
		return cli_error(CF_EXIT_USAGE, _("refused: the bundle '%s' expired on %s; ask "
			"your federation for a new one"), file, day);
	}
	return 0;
}

void enroll_bundle_release(struct enroll_bundle *b)
{
	json_decref(b->doc);
	memset(b, 0, sizeof *b);
}
