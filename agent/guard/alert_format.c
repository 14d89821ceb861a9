/* alert_format.c: an event as the channels carry it: the webhook's JSON body (schema
 * "coffre-alert/1", docs/ALERTS.md) and a whole RFC 5322 mail message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "base/util.h"
#include "coffre/alert.h"
#include "coffre/cfg.h"
#include "coffre/error.h"

/* "2026-12-02T11:34:14Z". */
static void iso_utc(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

static json_t *time_or_null(int64_t t)
{
	char s[32];
	if (t <= 0)
		return json_null();
	iso_utc(s, t);
	return json_string(s);
}

int alert_webhook_json(const struct alert_event *ev, const struct cfg_alert *a,
	const char *host, char **ret, struct cf_error *err)
{
	struct alert_text t = { 0 };
	const char *lang = a->language[0] ? a->language : "en";
	const char *shop = a->shop_name ? a->shop_name : host;
	int rc = alert_render(ev, lang, shop, host, &t, err);
	if (rc)
		return rc;
	json_t *details = json_object();
	json_t *o = json_object();
	int bad = !details || !o;
	bad |= json_object_set_new(details, "last_success", time_or_null(ev->last_ok));
	bad |= json_object_set_new(details, "destination",
		ev->dest[0] ? json_string(ev->dest) : json_null());
	bad |= json_object_set_new(details, "reason",
		ev->detail[0] ? json_string(ev->detail) : json_null());
	bad |= json_object_set_new(o, "schema", json_string("coffre-alert/1"));
	bad |= json_object_set_new(o, "id", json_string(ev->id));
	bad |= json_object_set_new(o, "shop", json_string(shop));
	bad |= json_object_set_new(o, "host", json_string(host));
	bad |= json_object_set_new(o, "condition", json_string(alert_cond_name(ev->cond)));
	bad |= json_object_set_new(o, "severity",
		json_string(alert_severity_name(alert_cond_severity(ev->cond))));
	bad |= json_object_set_new(o, "state", json_string(alert_state_name(ev->state)));
	bad |= json_object_set_new(o, "since", time_or_null(ev->since));
	bad |= json_object_set_new(o, "at", time_or_null(ev->at));
	bad |= json_object_set_new(o, "language", json_string(lang));
	bad |= json_object_set_new(o, "subject", json_string(t.subject));
	bad |= json_object_set_new(o, "message", json_string(t.body));
	bad |= json_object_set_new(o, "details", details);
	details = NULL;
	alert_text_release(&t);
	char *s = bad ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	json_decref(details);
	if (!s)
		return cf_error_set(err, CF_ENOMEM, "cannot make the webhook's JSON (out of memory, "
			"or a name that is not UTF-8)");
	*ret = s;
	return 0;
}

/* RFC 2047: ${s} as "=?UTF-8?B?...?=" words of at most 75 characters, folded with CRLF SP;
 * a UTF-8 sequence is never cut between two words. */
static int encode_words(struct buf *b, const char *s)
{
	size_t n = strlen(s), off = 0;
	int first = 1;
	if (n == 0)
		return 0;
	while (off < n) {
		size_t take = n - off > 45 ? 45 : n - off;
		while (take > 1 && off + take < n && ((unsigned char)s[off + take] & 0xc0) == 0x80)
			take--;
		char b64[80];
		sodium_bin2base64(b64, sizeof b64, (const unsigned char *)s + off, take,
			sodium_base64_VARIANT_ORIGINAL);
		if ((!first && buf_append(b, "\r\n ", 3)) || buf_append(b, "=?UTF-8?B?", 10) ||
		    buf_append(b, b64, strlen(b64)) || buf_append(b, "?=", 2))
			return -1;
		first = 0;
		off += take;
	}
	return 0;
}

static int add(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int alert_mail_message(const struct alert_event *ev, const struct cfg_alert *a,
	const char *host, int64_t now, char **ret, size_t *ret_len, struct cf_error *err)
{
	struct alert_text t = { 0 };
	const char *lang = a->language[0] ? a->language : "en";
	const char *shop = a->shop_name ? a->shop_name : host;
	int rc = alert_render(ev, lang, shop, host, &t, err);
	if (rc)
		return rc;
	struct buf b = { 0 };
	char line[600], date[64];
	time_t tt = (time_t)now;
	struct tm tm;
	/* RFC 5322 3.3: English day and month names whatever the locale. */
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof tm);
	snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d +0000", day[tm.tm_wday % 7],
		tm.tm_mday, mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		tm.tm_sec);
	int bad = 0;
	snprintf(line, sizeof line, "Date: %s\r\n", date);
	bad |= add(&b, line);
	if (a->mail_from)
		snprintf(line, sizeof line, "From: coffre <%s>\r\n", a->mail_from);
	else
		snprintf(line, sizeof line, "From: coffre <coffre@%s>\r\n", host);
	bad |= add(&b, line);
	for (size_t i = 0; i < a->nmail_to; i++) {
		snprintf(line, sizeof line, "%s<%s>%s", i == 0 ? "To: " : " ", a->mail_to[i],
			i + 1 < a->nmail_to ? ",\r\n" : "\r\n");
		bad |= add(&b, line);
	}
	bad |= add(&b, "Subject: ");
	bad |= encode_words(&b, t.subject);
	snprintf(line, sizeof line, "\r\nMessage-ID: <%s.%s@%s>\r\n", ev->id,
		alert_state_name(ev->state), host);
	bad |= add(&b, line);
	snprintf(line, sizeof line, "MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"Auto-Submitted: auto-generated\r\n"
		"X-Coffre-Condition: %s\r\nX-Coffre-State: %s\r\nX-Coffre-Severity: %s\r\n\r\n",
		alert_cond_name(ev->cond), alert_state_name(ev->state),
		alert_severity_name(alert_cond_severity(ev->cond)));
	bad |= add(&b, line);
	/* The body in base64, 76 characters a line: any length of line and any byte is safe
	 * through any mail server, 8BITMIME or not. */
	size_t n = strlen(t.body);
	for (size_t off = 0; off < n && !bad; off += 57) {
		char b64[80];
		size_t take = n - off > 57 ? 57 : n - off;
		sodium_bin2base64(b64, sizeof b64, (const unsigned char *)t.body + off, take,
			sodium_base64_VARIANT_ORIGINAL);
		bad |= add(&b, b64) | add(&b, "\r\n");
	}
	alert_text_release(&t);
	if (bad || buf_append(&b, "", 1)) {
		buf_free(&b);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	*ret = (char *)b.p;
	*ret_len = b.len - 1;
	return 0;
}
