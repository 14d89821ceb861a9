/* fleet_out.c: the fleet view in words, as CSV and as one static HTML page (readable on a
 * phone, no external resource: styles inline, no script). */
#include "fleet_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "coffre/fleet.h"
#include "base/util.h"
#include "sheet.h"

/* "37 h" below three days, "9 days" after. */
static const char *span(long long secs, char out[32])
{
	if (secs < 0)
		secs = 0;
	if (secs < 72 * 3600)
		snprintf(out, 32, _("%lld h"), secs / 3600);
	else
		snprintf(out, 32, _("%lld days"), secs / 86400);
	return out;
}

static void add(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *out, size_t n, const char *fmt, ...)
{
	size_t len = strlen(out);
	if (len && len + 2 < n)
		strcpy(out + len, "; "), len += 2;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out + len, n - len, fmt, ap);
	va_end(ap);
}

void fleet_out_problems(const struct fleet_shop *s, long long now, char *out, size_t n)
{
	char t[32];
	unsigned p = s->problems;
	out[0] = 0;
	if (p & FLEET_UNKNOWN)
		add(out, n, "%s", _("unknown shop (not in the registry)"));
	if (p & FLEET_NEVER)
		add(out, n, "%s", _("never reported"));
	if (p & FLEET_BAD_SIG)
		add(out, n, _("bad status object: %s"), s->why);
	if (p & FLEET_ROLLBACK)
		add(out, n, _("status rolled back (replayed): %s"), s->why);
	if (p & FLEET_SILENT)
		add(out, n, _("silent for %s"), span(now - s->stored, t));
	if (p & FLEET_ALARM)
		add(out, n, "%s", _("ransomware alarm"));
	if (p & FLEET_NO_BACKUP) {
		if (s->last_good_backup)
			add(out, n, _("last backup %s ago"), span(now - s->last_good_backup, t));
		else
			add(out, n, "%s", _("no backup yet"));
	}
	if (p & FLEET_NO_RESTORE) {
		if (s->last_proven_restore)
			add(out, n, _("no proven restore for %s"),
				span(now - s->last_proven_restore, t));
		else
			add(out, n, "%s", _("no restore proven yet"));
	}
	if (p & FLEET_FAILING)
		add(out, n, "%s", _("a destination is failing"));
	if (p & FLEET_NOT_LOCKED)
		add(out, n, "%s", _("store not locked"));
	if (p & FLEET_LOCK_ENDING) {
		if (s->lock_until > now)
			add(out, n, _("lock ends in %s"), span(s->lock_until - now, t));
		else
			add(out, n, "%s", _("lock has ended"));
	}
	if ((p & FLEET_ESCROW) && !s->nescrow)
		add(out, n, "%s", _("escrow not set up: the federation cannot restore this shop"));
	else if (p & FLEET_ESCROW)
		add(out, n, _("escrow key not the federation's (%s): the federation cannot "
			"restore this shop"), s->escrow);
	if (p & FLEET_ALERTS)
		add(out, n, _("open alerts: %s"), s->alerts);
}

void fleet_out_summary(const struct fleet_report *r, char *out, size_t n)
{
	snprintf(out, n, _("%zu shops: %zu protected, %zu need attention"), r->nshops,
		r->nshops - r->attention, r->attention);
}

/* A CSV field: quoted, quotes doubled; a leading = + - @ is defused with a quote so that a
 * spreadsheet does not run it as a formula. */
static int csv_field(struct buf *b, const char *s, int last)
{
	int bad = buf_put_u8(b, '"');
	if (strchr("=+-@", s[0]) && s[0])
		bad |= buf_put_u8(b, '\'');
	for (; *s && !bad; s++)
		bad |= *s == '"' ? buf_append(b, "\"\"", 2) : buf_put_u8(b, (uint8_t)*s);
	return bad | buf_put_u8(b, '"') | buf_put_u8(b, last ? '\n' : ',');
}

static const char *date(long long t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!t || !gmtime_r(&tt, &tm))
		return "";
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

static void names(unsigned p, char *out, size_t n)
{
	out[0] = 0;
	for (int i = 0; i < _FLEET_PROBLEMS; i++)
		if (p & (1u << i)) {
			size_t len = strlen(out);
			snprintf(out + len, n - len, "%s%s", len ? ";" : "",
				fleet_problem_name(1u << i));
		}
}

int fleet_out_csv(const struct fleet_report *r, struct buf *b)
{
	int bad = buf_appendf(b, "shop,name,state,problems,last_report,last_backup,last_restore,"
			  "lock_until,seq,detail\n");
	for (size_t i = 0; i < r->nshops && !bad; i++) {
		const struct fleet_shop *s = &r->shops[i];
		char pn[256], d1[32], d2[32], d3[32], d4[32], seq[24], detail[1024];
		names(s->problems, pn, sizeof pn);
		fleet_out_problems(s, r->now, detail, sizeof detail);
		snprintf(seq, sizeof seq, "%llu", (unsigned long long)s->seq);
		bad = csv_field(b, s->id, 0) || csv_field(b, s->name, 0) ||
			csv_field(b, s->problems ? "attention" : "protected", 0) ||
			csv_field(b, pn, 0) || csv_field(b, date(s->stored, d1), 0) ||
			csv_field(b, date(s->last_good_backup, d2), 0) ||
			csv_field(b, date(s->last_proven_restore, d3), 0) ||
			csv_field(b, date(s->lock_until, d4), 0) || csv_field(b, seq, 0) ||
			csv_field(b, detail, 1);
	}
	return bad ? -1 : 0;
}

static int esc(struct buf *b, const char *s)
{
	return sheet_html_escape(b, s);
}

static const char html_head[] =
	"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>coffre fleet</title>\n<style>\n"
	"body{font-family:sans-serif;margin:0 auto;max-width:60em;padding:.5em;color:#222}\n"
	"h1{font-size:1.3em}.sum{font-size:1.1em;font-weight:bold}\n"
	".bad{border-left:.4em solid #c0392b;background:#fdecea;margin:.4em 0;padding:.4em}\n"
	".ok{color:#1e7e34}.id{font-weight:bold}.det{display:block;margin-top:.2em}\n"
	"table{border-collapse:collapse;width:100%;font-size:.9em}\n"
	"td,th{border-bottom:1px solid #ddd;padding:.25em;text-align:left}\n"
	"@media (max-width:40em){.wide{display:none}}\n"
	"</style></head><body>\n";

int fleet_out_html(const struct fleet_report *r, struct buf *b)
{
	char sum[200], d[32], detail[1024];
	fleet_out_summary(r, sum, sizeof sum);
	int bad = buf_append(b, html_head, strlen(html_head)) || buf_appendf(b, "<h1>") ||
		esc(b, _("Fleet")) || buf_appendf(b, " — %s</h1>\n<p class=\"sum\">", date(r->now, d)) ||
		esc(b, sum) || buf_appendf(b, "</p>\n");
	for (size_t i = 0; i < r->nshops && !bad; i++) {
		const struct fleet_shop *s = &r->shops[i];
		if (!s->problems)
			continue;
		fleet_out_problems(s, r->now, detail, sizeof detail);
		bad = buf_appendf(b, "<div class=\"bad\"><span class=\"id\">") || esc(b, s->id) ||
			buf_appendf(b, "</span> ") || esc(b, s->name) || buf_appendf(b, "<span class=\"det\">") ||
			esc(b, detail) || buf_appendf(b, "</span></div>\n");
	}
	bad = bad || buf_appendf(b, "<h2>") || esc(b, _("All shops")) ||
		buf_appendf(b, "</h2>\n<table><tr><th>") || esc(b, _("shop")) || buf_appendf(b, "</th><th>") ||
		esc(b, _("state")) || buf_appendf(b, "</th><th class=\"wide\">") ||
		esc(b, _("last report")) || buf_appendf(b, "</th><th class=\"wide\">") ||
		esc(b, _("last backup")) || buf_appendf(b, "</th></tr>\n");
	for (size_t i = 0; i < r->nshops && !bad; i++) {
		const struct fleet_shop *s = &r->shops[i];
		char d2[32];
		bad = buf_appendf(b, "<tr><td>") || esc(b, s->id) || buf_appendf(b, " ") || esc(b, s->name) ||
			buf_appendf(b, "</td><td class=\"%s\">", s->problems ? "" : "ok") ||
			esc(b, s->problems ? _("needs attention") : _("protected")) ||
			buf_appendf(b, "</td><td class=\"wide\">%s</td><td class=\"wide\">%s</td></tr>\n",
				date(s->stored, d), date(s->last_good_backup, d2));
	}
	return bad || buf_appendf(b, "</table>\n</body></html>\n") ? -1 : 0;
}
