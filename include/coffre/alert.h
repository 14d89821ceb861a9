/* alert.h: alerts, what they say and how they leave. A condition (the shop is not protected,
 * a destination is behind...) has a start, reminders while it lasts and an end; each of these
 * is an event, told in plain words in French or English (alert_render), by mail and by a
 * JSON webhook (alert_send_mail, alert_send_webhook). The queue that keeps events until they
 * are delivered is alertq.h; the words live in one table (agent/guard/alert_msg.c), one row a
 * condition, so that a new condition is one row and one enum value.
 *
 * Threads: no global state; alert_send_* load libcurl on first use. */
#ifndef COFFRE_ALERT_H
#define COFFRE_ALERT_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct cfg_alert;

/* The conditions. Stable names (alert_cond_name) go into the queue and the webhook's JSON:
 * never renumber, never rename; add new ones before _ALERT_COND_MAX. */
enum alert_cond {
	ALERT_TEST = 0,		/* "test": coffre alert test */
	ALERT_UNPROTECTED,	/* "unprotected": no good backup for more than unprotected-after */
	ALERT_BEHIND,		/* "behind": a destination not reached for more than behind-after */
	ALERT_ATTACK,		/* "attack": the ransomware alarm (detect.h, alarm.h) */
	ALERT_FAILED,		/* "failed": three backups in a row failed or left files out */
	ALERT_FULL,		/* "full": a destination has no room left */
	ALERT_REFUSED,		/* "refused": a destination refuses the keys */
	ALERT_LOCK,		/* "lock": a destination's Object Lock is gone or about to lapse */
	ALERT_RESTARTED,	/* "restarted": coffred started again after it crashed */
	ALERT_CONFIG,		/* "config": a changed configuration was refused at reload */
	ALERT_DRILL,		/* "drill": a destination's restore drill failed, or none
				 * passed for 15 days */
	_ALERT_COND_MAX,
	_ALERT_COND_INVALID = -1
};

enum alert_severity { ALERT_INFO = 0, ALERT_WARNING, ALERT_CRITICAL };

/* Where in its life the condition is. */
enum alert_state {
	ALERT_START = 0,	/* it has just begun */
	ALERT_REMINDER,		/* it still lasts */
	ALERT_END,		/* back to normal */
	_ALERT_STATE_MAX,
	_ALERT_STATE_INVALID = -1
};

#define ALERT_ID_LEN 32		/* hex characters of an event's id */
#define ALERT_DEST_MAX 64	/* bytes of a destination's name (with its NUL) */
#define ALERT_DETAIL_MAX 300	/* bytes of an event's detail (with its NUL) */

/* One event: a value record. Times are seconds since the epoch; 0 means none. */
struct alert_event {
	char id[ALERT_ID_LEN + 1];	/* random hex; the mail's Message-ID, the webhook's id */
	enum alert_cond cond;
	enum alert_state state;
	int64_t since;		/* when the condition began */
	int64_t at;		/* when this event was made */
	int64_t last_ok;	/* the last good backup (unprotected) or complete push (behind) */
	char dest[ALERT_DEST_MAX];	/* the destination (behind, full, refused, lock); ""
					 * otherwise */
	char detail[ALERT_DETAIL_MAX];	/* the reason in the system's words (the server's
					 * refusal, the configuration's problem); "" none */
};

/* alert_cond_name(c): "unprotected"...; NULL for a value out of range. */
const char *alert_cond_name(enum alert_cond c);
/* alert_cond_parse(name): the condition so named, or _ALERT_COND_INVALID. */
enum alert_cond alert_cond_parse(const char *name);
/* alert_cond_severity(c): how grave the condition is (ALERT_INFO for a value out of range). */
enum alert_severity alert_cond_severity(enum alert_cond c);
/* alert_severity_name(s): "info", "warning" or "critical". */
const char *alert_severity_name(enum alert_severity s);
/* alert_state_name(s): "start", "reminder" or "end"; NULL out of range. */
const char *alert_state_name(enum alert_state s);
enum alert_state alert_state_parse(const char *name);

/* alert_event_init(ev, cond, state, since, now): a new event with a fresh random id. */
void alert_event_init(struct alert_event *ev, enum alert_cond cond, enum alert_state state,
	int64_t since, int64_t now);

/* alert_event_detail(ev, fmt, ...): ${ev}'s detail, formatted, made one line of valid UTF-8
 * (control bytes become spaces, broken sequences '?'), cut to fit. */
void alert_event_detail(struct alert_event *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* An event in words. */
struct alert_text {
	char *subject;		/* one line, UTF-8 */
	char *body;		/* lines ending in '\n', UTF-8 */
};

/* alert_render(ev, lang, shop, host, ret, err): ${ev} told in ${lang} ("fr" or "en"; anything
 * else reads as "en"), naming the shop and the host, dates in local time. Returns 0 (release
 * ${ret} with alert_text_release) or CF_ENOMEM / CF_EUSAGE (an event out of range). */
int alert_render(const struct alert_event *ev, const char *lang, const char *shop,
	const char *host, struct alert_text *ret, struct cf_error *err);
void alert_text_release(struct alert_text *t);

/* alert_webhook_json(ev, a, host, ret, err): the webhook's body for ${ev} (the schema of
 * docs/ALERTS.md), compact JSON, malloc'd into ${ret}. Returns 0 or CF_E*. */
int alert_webhook_json(const struct alert_event *ev, const struct cfg_alert *a,
	const char *host, char **ret, struct cf_error *err);

/* alert_mail_message(ev, a, host, now, ret, ret_len, err): the whole RFC 5322 message for
 * ${ev} (headers with Date, Message-ID and an encoded UTF-8 Subject, then the text body),
 * lines ending in CRLF, malloc'd. Returns 0 or CF_E*. */
int alert_mail_message(const struct alert_event *ev, const struct cfg_alert *a,
	const char *host, int64_t now, char **ret, size_t *ret_len, struct cf_error *err);

/* alert_host(out, n): this machine's host name ("localhost" when it has none). */
void alert_host(char *out, size_t n);

/* alert_send_mail(a, ev, err), alert_send_webhook(a, ev, err): deliver ${ev} now through
 * the channel, once, within about 30 s. Returns 0 when the server took it; otherwise a CF_E*
 * code with the reason in plain words in ${err}: "login refused", "TLS failure",
 * "cannot resolve", "connection refused", "timeout", the server's refusal (CF_EKEY for the
 * login or a refused certificate, CF_EUNREACH for the network, CF_EIO for the rest). */
int alert_send_mail(const struct cfg_alert *a, const struct alert_event *ev,
	struct cf_error *err);
int alert_send_webhook(const struct cfg_alert *a, const struct alert_event *ev,
	struct cf_error *err);

#endif
