/* alert_msg.c: the conditions' names and severities, and an event in words (the texts are in
 * alert_words.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/util.h"
#include "coffre/alert.h"
#include "coffre/error.h"
#include "guard/alert_words.h"

static const char *const state_names[_ALERT_STATE_MAX] = { "start", "reminder", "end" };

const char *alert_cond_name(enum alert_cond c)
{
	return c >= 0 && c < _ALERT_COND_MAX ? alert_words[c].name : NULL;
}

enum alert_cond alert_cond_parse(const char *name)
{
	for (int i = 0; i < _ALERT_COND_MAX; i++)
		if (strcmp(alert_words[i].name, name) == 0)
			return (enum alert_cond)i;
	return _ALERT_COND_INVALID;
}

enum alert_severity alert_cond_severity(enum alert_cond c)
{
	return c >= 0 && c < _ALERT_COND_MAX ? alert_words[c].severity : ALERT_INFO;
}

const char *alert_severity_name(enum alert_severity s)
{
	return s == ALERT_CRITICAL ? "critical" : s == ALERT_WARNING ? "warning" : "info";
}

const char *alert_state_name(enum alert_state s)
{
	return s >= 0 && s < _ALERT_STATE_MAX ? state_names[s] : NULL;
}

enum alert_state alert_state_parse(const char *name)
{
	for (int i = 0; i < _ALERT_STATE_MAX; i++)
		if (strcmp(state_names[i], name) == 0)
			return (enum alert_state)i;
	return _ALERT_STATE_INVALID;
}

void alert_event_init(struct alert_event *ev, enum alert_cond cond, enum alert_state state,
	int64_t since, int64_t now)
{
	uint8_t rnd[ALERT_ID_LEN / 2];
	memset(ev, 0, sizeof *ev);
	if (sodium_init() < 0)
		abort();	/* libsodium cannot work on this system: nothing sensible to do */
	randombytes_buf(rnd, sizeof rnd);
	util_hex(ev->id, rnd, sizeof rnd);
	ev->cond = cond;
	ev->state = state;
	ev->since = since;
	ev->at = now;
}

/* The length of the UTF-8 sequence at ${p} (at most ${n} bytes), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

void alert_event_detail(struct alert_event *ev, const char *fmt, ...)
{
	char raw[ALERT_DETAIL_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	const unsigned char *p = (const unsigned char *)raw;
	size_t n = strlen(raw), o = 0;
	for (size_t i = 0; i < n && o + 1 < sizeof ev->detail;) {
		size_t len = p[i] < 0x80 ? 1 : utf8_len(p + i, n - i);
		if (len > 1 && o + len < sizeof ev->detail) {
			memcpy(ev->detail + o, p + i, len);
			o += len;
			i += len;
			continue;
		}
		/* One line of text: controls become spaces, broken sequences '?'. */
		ev->detail[o++] = p[i] < 0x20 || p[i] == 0x7f ? ' ' : p[i] < 0x80 ? (char)p[i] : '?';
		i += len > 1 ? len : 1;
	}
	ev->detail[o] = 0;
}

void alert_host(char *out, size_t n)
{
	if (gethostname(out, n) != 0 || !out[0])
		snprintf(out, n, "localhost");
	out[n - 1] = 0;
}

static const char *const months_fr[] = { "janvier", "février", "mars", "avril", "mai", "juin",
	"juillet", "août", "septembre", "octobre", "novembre", "décembre" };
static const char *const months_en[] = { "January", "February", "March", "April", "May",
	"June", "July", "August", "September", "October", "November", "December" };

/* "12 novembre 2026 à 19:02" / "12 November 2026 at 19:02", local time. */
static void fmt_date(char *out, size_t n, int64_t t, int fr)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm)) {
		snprintf(out, n, "?");
		return;
	}
	snprintf(out, n, fr ? "%d %s %d à %02d:%02d" : "%d %s %d at %02d:%02d", tm.tm_mday,
		(fr ? months_fr : months_en)[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
}

/* "3 jours et 4 heures", "5 minutes" / "3 days and 4 hours": the two largest units. */
static void fmt_span(char *out, size_t n, int64_t s, int fr)
{
	static const struct { int64_t secs; const char *fr1, *frn, *en1, *enn; } u[] = {
		{ 86400, "jour", "jours", "day", "days" },
		{ 3600, "heure", "heures", "hour", "hours" },
		{ 60, "minute", "minutes", "minute", "minutes" },
		{ 1, "seconde", "secondes", "second", "seconds" },
	};
	if (s < 0)
		s = 0;
	size_t i = 0;
	while (i < 3 && s < u[i].secs)
		i++;
	int64_t a = s / u[i].secs, rest = s % u[i].secs;
	int len = snprintf(out, n, "%lld %s", (long long)a,
		fr ? (a > 1 ? u[i].frn : u[i].fr1) : (a > 1 ? u[i].enn : u[i].en1));
	if (i < 2 && rest / u[i + 1].secs > 0 && len > 0 && (size_t)len < n) {
		int64_t b = rest / u[i + 1].secs;
		snprintf(out + len, n - (size_t)len, fr ? " et %lld %s" : " and %lld %s",
			(long long)b, fr ? (b > 1 ? u[i + 1].frn : u[i + 1].fr1) :
			(b > 1 ? u[i + 1].enn : u[i + 1].en1));
	}
}

struct fill {
	const char *key;
	char val[ALERT_DETAIL_MAX + 40];
};

/* ${tmpl} with each {key} of ${f} replaced, appended to ${b}. */
static int expand(struct buf *b, const char *tmpl, const struct fill *f, size_t nf)
{
	for (const char *p = tmpl; *p;) {
		if (*p == '{') {
			const char *e = strchr(p, '}');
			size_t i = 0;
			for (; e && i < nf; i++)
				if (strlen(f[i].key) == (size_t)(e - p - 1) &&
				    strncmp(p + 1, f[i].key, (size_t)(e - p - 1)) == 0)
					break;
			if (e && i < nf) {
				if (buf_append(b, f[i].val, strlen(f[i].val)))
					return -1;
				p = e + 1;
				continue;
			}
		}
		if (buf_append(b, p, 1))
			return -1;
		p++;
	}
	return buf_append(b, "", 1);
}

int alert_render(const struct alert_event *ev, const char *lang, const char *shop,
	const char *host, struct alert_text *ret, struct cf_error *err)
{
	if (ev->cond < 0 || ev->cond >= _ALERT_COND_MAX || ev->state < 0 ||
	    ev->state >= _ALERT_STATE_MAX)
		return cf_error_set(err, CF_EUSAGE, "alert event out of range");
	int fr = lang && strcmp(lang, "fr") == 0;
	const struct alert_words *w = fr ? &alert_words[ev->cond].fr : &alert_words[ev->cond].en;
	struct fill f[] = { { "shop", "" }, { "host", "" }, { "dest", "" }, { "last", "" },
		{ "ago", "" }, { "since", "" }, { "at", "" }, { "lasted", "" }, { "detail", "" } };
	char d[100];
	snprintf(f[0].val, sizeof f[0].val, "%s", shop);
	snprintf(f[1].val, sizeof f[1].val, "%s", host);
	snprintf(f[2].val, sizeof f[2].val, "%s", ev->dest);
	if (ev->last_ok > 0) {
		fmt_date(d, sizeof d, ev->last_ok, fr);
		snprintf(f[3].val, sizeof f[3].val, fr ? "depuis le %s" : "since %s", d);
		fmt_span(d, sizeof d, ev->at - ev->last_ok, fr);
		snprintf(f[4].val, sizeof f[4].val, fr ? "il y a %s" : "%s ago", d);
	} else {
		snprintf(f[3].val, sizeof f[3].val, fr ? "depuis la mise en service" :
			"since it was set up");
		snprintf(f[4].val, sizeof f[4].val, fr ? "aucune n'a jamais réussi" :
			"none ever succeeded");
	}
	fmt_date(f[5].val, sizeof f[5].val, ev->since, fr);
	fmt_date(d, sizeof d, ev->at, fr);
	snprintf(f[6].val, sizeof f[6].val, fr ? "le %s" : "on %s", d);
	fmt_span(f[7].val, sizeof f[7].val, ev->at - ev->since, fr);
	if (ev->detail[0])	/* a line of its own, only when there is one */
		snprintf(f[8].val, sizeof f[8].val, fr ? "Détail : %.*s\n" : "Detail: %.*s\n",
			ALERT_DETAIL_MAX - 1, ev->detail);
	size_t nf = sizeof f / sizeof *f;

	struct buf s = { 0 }, b = { 0 };
	int end = ev->state == ALERT_END;
	int bad = expand(&s, end ? w->end_subject : w->subject, f, nf);
	if (ev->state == ALERT_REMINDER && !bad) {
		/* "[shop] Rappel : ...": the shop first still, for the filters of mail readers. */
		const char *pre = fr ? "Rappel : " : "Reminder: ";
		const char *subj = (const char *)s.p;
		size_t at = strlen(f[0].val) + 3;	/* every subject starts "[{shop}] " */
		if (s.len < at + 1 || subj[0] != '[' || strncmp(subj + at - 2, "] ", 2) != 0)
			at = 0;
		struct buf r = { 0 };
		bad |= buf_append(&r, subj, at) | buf_append(&r, pre, strlen(pre)) |
			buf_append(&r, subj + at, s.len - at);
		buf_free(&s);
		s = r;
		char line[300];
		fmt_span(d, sizeof d, ev->at - ev->since, fr);
		snprintf(line, sizeof line, fr ? "Rappel : ce problème dure toujours, depuis le %s "
			"(%s).\n\n" : "Reminder: this problem still lasts, since %s (%s).\n\n",
			f[5].val, d);
		bad |= buf_append(&b, line, strlen(line));
	}
	bad |= expand(&b, end ? w->end_body : w->body, f, nf);
	if (bad) {
		buf_free(&s);
		buf_free(&b);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	ret->subject = (char *)s.p;
	ret->body = (char *)b.p;
	return 0;
}

void alert_text_release(struct alert_text *t)
{
	free(t->subject);
	free(t->body);
	t->subject = t->body = NULL;
}
