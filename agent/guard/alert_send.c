/* alert_send.c: an event delivered once through a channel, with libcurl (loaded on first use,
 * dst/dl_curl.h): a mail through SMTP, a JSON POST to the webhook. No retry here: the queue
 * (alertq.c) retries, and `coffre alert test` wants the first answer.
 *
 * TLS: smtps:// is TLS from the first byte; smtp:// must switch to TLS with STARTTLS
 * (CURLUSESSL_ALL): a server that does not offer it is a failure, never a mail and a password
 * in clear (an attacker on the path could strip the offer). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "coffre/alert.h"
#include "coffre/cfg.h"
#include "coffre/error.h"
#include "dst/dl_curl.h"
#include "base/util.h"

#define CONNECT_TIMEOUT 15L
#define TOTAL_TIMEOUT 30L

struct src {
	const char *p;
	size_t n, off;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud)
{
	struct src *s = ud;
	size_t room = size * nmemb, left = s->n - s->off;
	size_t k = left < room ? left : room;
	memcpy(dst, s->p + s->off, k);
	s->off += k;
	return k;
}

static size_t discard_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	return size * nmemb;
}

/* The options every alert transfer sets. */
static void common(CURL *c, const struct cfg_alert *a, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, TOTAL_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (a->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, a->ca_file);
	if (getenv("COFFRE_CURL_VERBOSE"))
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
}

/* ${cc} in plain words, for ${where} ("mail through smtp://...", "webhook https://..."). */
static int classify(CURL *c, CURLcode cc, int mail, const char *where, const char *errbuf,
	struct cf_error *err)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
	long oserr = 0, resp = 0;
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp);
	switch (cc) {
	case CURLE_LOGIN_DENIED:
		return cf_error_set(err, CF_EKEY, "%s: login refused: the server did not accept "
			"the user name or the password (%s)", where, why);
	case CURLE_USE_SSL_FAILED:
		return cf_error_set(err, CF_EKEY, "%s: TLS failure: the server does not offer "
			"STARTTLS, and coffre never sends mail in clear (%s)", where, why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
		return cf_error_set(err, CF_EKEY, "%s: TLS failure: the server's certificate is "
			"not trusted (%s)", where, why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
		return cf_error_set(err, CF_EKEY, "%s: TLS failure (%s)", where, why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return cf_error_set(err, CF_EUNREACH, "%s: DNS: cannot resolve the server's name "
			"(%s)", where, why);
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED)
			return cf_error_set(err, CF_EUNREACH, "%s: connection refused (%s)", where,
				why);
		return cf_error_set(err, CF_EUNREACH, "%s: cannot connect (%s)", where, why);
	case CURLE_OPERATION_TIMEDOUT:
		return cf_error_set(err, CF_EUNREACH, "%s: timeout: no answer within %ld s (%s)",
			where, TOTAL_TIMEOUT, why);
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return cf_error_set(err, CF_EUNREACH, "%s: connection lost (%s)", where, why);
	default:
		if (mail && resp >= 400)
			return cf_error_set(err, CF_EIO, "%s: the mail server refused the message "
				"(reply %ld: %s)", where, resp, why);
		return cf_error_set(err, CF_EIO, "%s: %s", where, why);
	}
}

int alert_send_mail(const struct cfg_alert *a, const struct alert_event *ev,
	struct cf_error *err)
{
	char where[700];
	snprintf(where, sizeof where, "mail through %s", a->smtp_url ? a->smtp_url : "(none)");
	if (!cfg_alert_mail(a))
		return cf_error_set(err, CF_EUSAGE, "no mail channel (set smtp-url and mail-to in "
			"[alert])");
	int rc = dl_curl_load(err);
	if (rc)
		return rc;
	char host[256];
	alert_host(host, sizeof host);
	char *msg = NULL, *password = NULL;
	size_t len = 0;
	if ((rc = alert_mail_message(ev, a, host, (int64_t)time(NULL), &msg, &len, err)))
		return rc;
	if (a->smtp_password_file && !(password = util_read_first_line(a->smtp_password_file))) {
		rc = cf_error_sys(err, CF_EIO, "%s: cannot read the password file '%s'", where,
			a->smtp_password_file);
		free(msg);
		return rc;
	}
	CURL *c = curl_easy_init();
	struct curl_slist *rcpt = NULL;
	char from[300], addr[300], errbuf[CURL_ERROR_SIZE] = "";
	int bad = !c;
	for (size_t i = 0; i < a->nmail_to && !bad; i++) {
		snprintf(addr, sizeof addr, "<%s>", a->mail_to[i]);
		struct curl_slist *n = curl_slist_append(rcpt, addr);
		bad = !n;
		rcpt = n ? n : rcpt;
	}
	if (bad) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (a->mail_from)
		snprintf(from, sizeof from, "<%s>", a->mail_from);
	else
		snprintf(from, sizeof from, "<coffre@%s>", host);
	struct src s = { msg, len, 0 };
	common(c, a, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, a->smtp_url);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &s);
	curl_easy_setopt(c, CURLOPT_INFILESIZE, (long)len);
	if (a->smtp_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, a->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, password ? password : "");
	}
	CURLcode cc = curl_easy_perform(c);
	rc = cc == CURLE_OK ? 0 : classify(c, cc, 1, where, errbuf, err);
out:
	if (c)
		curl_easy_cleanup(c);
	if (rcpt)
		curl_slist_free_all(rcpt);
	if (password) {
		sodium_memzero(password, strlen(password));
		free(password);
	}
	free(msg);
	return rc;
}

int alert_send_webhook(const struct cfg_alert *a, const struct alert_event *ev,
	struct cf_error *err)
{
	char where[700];
	snprintf(where, sizeof where, "webhook %s", a->webhook_url ? a->webhook_url : "(none)");
	if (!cfg_alert_webhook(a))
		return cf_error_set(err, CF_EUSAGE, "no webhook (set webhook-url in [alert])");
	int rc = dl_curl_load(err);
	if (rc)
		return rc;
	char host[256];
	alert_host(host, sizeof host);
	char *body = NULL;
	if ((rc = alert_webhook_json(ev, a, host, &body, err)))
		return rc;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL, *n;
	char errbuf[CURL_ERROR_SIZE] = "";
	int bad = !c;
	static const char *const hdrs[] = { "Content-Type: application/json; charset=utf-8",
		"Expect:" };
	for (size_t i = 0; i < 2 && !bad; i++, h = n ? n : h)
		bad = !(n = curl_slist_append(h, hdrs[i]));
	if (!bad && a->webhook_header) {
		bad = !(n = curl_slist_append(h, a->webhook_header));
		h = n ? n : h;
	}
	if (bad) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	common(c, a, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, a->webhook_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	CURLcode cc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK)
		rc = classify(c, cc, 0, where, errbuf, err);
	else if (code < 200 || code > 299)
		rc = cf_error_set(err, code == 401 || code == 403 ? CF_EKEY : CF_EIO,
			"%s: the server answered HTTP %ld%s", where, code, code == 401 ||
			code == 403 ? " (refused: check webhook-header, the token)" : "");
out:
	if (c)
		curl_easy_cleanup(c);
	if (h)
		curl_slist_free_all(h);
	free(body);
	return rc;
}
