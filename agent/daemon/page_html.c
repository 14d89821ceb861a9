/* page_html.c: the status page in HTML: one coloured line (protected, attention, not
 * protected, attack suspected), the last backup, each copy, the last proven restore, what is
 * wrong and what to do (the alerts' own words, alert_render), and the last 30 days drawn as
 * inline SVG. Self-contained: inline CSS, no script, no external resource, no secret. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "coffre/alert.h"
#include "coffre/state.h"
#include "page.h"

extern int _nl_msg_cat_cntr;	/* glibc: bumped to make gettext look again (see use_lang) */

enum verdict { V_GREEN = 0, V_AMBER, V_RED, V_ATTACK };

#define CONDS_MAX (STATE_ALERTS_MAX + STATE_MAX_DESTS + 4)

struct out {
	struct buf *b;
	int bad;
};

static void put(struct out *o, const char *s)
{
	o->bad |= buf_append(o->b, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		o->bad = 1;
	else
		put(o, line);
}

/* Text from the state (names, errors, paths): escaped, control bytes dropped. */
static void esc(struct out *o, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *r = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" :
			*p == '"' ? "&quot;" : *p == '\'' ? "&#39;" : NULL;
		if (r)
			put(o, r);
		else if (*p >= 0x20 && *p != 0x7f)
			o->bad |= buf_append(o->b, p, 1);
		else if (*p == '\n')
			put(o, "\n");
	}
}

/* Then a translated format with one %s filled with escaped ${arg}. */
static void escf(struct out *o, const char *fmt, const char *arg)
{
	const char *at = strstr(fmt, "%s");
	if (!at) {
		put(o, fmt);
		return;
	}
	o->bad |= buf_append(o->b, fmt, (size_t)(at - fmt));
	esc(o, arg);
	put(o, at + 2);
}

/* gettext's language for what follows; LANGUAGE is honoured as the locale is not "C"
 * (page_start sees to it). */
static void use_lang(int fr)
{
	setenv("LANGUAGE", fr ? "fr" : "en", 1);
	++_nl_msg_cat_cntr;
}

/* "today 19:02", "yesterday 19:02" or "2026-11-28 19:02". */
static void when(time_t t, time_t now, char out[64])
{
	struct tm tm, nt, yt;
	time_t y = now - 86400;
	char hm[16];
	localtime_r(&t, &tm);
	localtime_r(&now, &nt);
	localtime_r(&y, &yt);
	strftime(hm, sizeof hm, "%H:%M", &tm);
	if (tm.tm_year == nt.tm_year && tm.tm_yday == nt.tm_yday)
		snprintf(out, 64, _("today %s"), hm);
	else if (tm.tm_year == yt.tm_year && tm.tm_yday == yt.tm_yday)
		snprintf(out, 64, _("yesterday %s"), hm);
	else
		strftime(out, 64, "%Y-%m-%d %H:%M", &tm);
}

static void bytes(uint64_t v, char out[32])
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	double x = (double)v;
	int u = 0;
	while (x >= 1000 && u < 4) {
		x /= 1000;
		u++;
	}
	snprintf(out, 32, u ? "%.1f %s" : "%.0f %s", x, unit[u]);
}

/* ---- the verdict and the conditions ---- */

struct judged {
	enum verdict v;
	struct alert_event ev[CONDS_MAX];
	size_t n;
};

static void add_cond(struct judged *j, const struct alert_event *ev)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->ev[i].cond == ev->cond && strcmp(j->ev[i].dest, ev->dest) == 0)
			return;
	if (j->n < CONDS_MAX)
		j->ev[j->n++] = *ev;
	enum verdict v = ev->cond == ALERT_ATTACK ? V_ATTACK :
		alert_cond_severity(ev->cond) == ALERT_CRITICAL ? V_RED :
		alert_cond_severity(ev->cond) == ALERT_WARNING ? V_AMBER : V_GREEN;
	if (v > j->v)
		j->v = v;
}

static void raise_to(struct judged *j, enum verdict v)
{
	if (v > j->v)
		j->v = v;
}

/* The open alert conditions, and the same judgement made here without alerts configured:
 * the alarm, no good backup for unprotected-after, a copy behind for behind-after. */
static void judge(const struct page_view *v, struct judged *j)
{
	const struct state_status *s = v->s;
	struct alert_event ev;
	memset(j, 0, sizeof *j);
	for (size_t i = 0; i < v->nev; i++)
		add_cond(j, &v->ev[i]);
	if (s->alarm.active) {
		ev = (struct alert_event){ .cond = ALERT_ATTACK, .since = s->alarm.since,
			.at = v->now, .last_ok = s->alarm.clean_time };
		add_cond(j, &ev);
	}
	if (s->last_success <= 0 || v->now - s->last_success > v->unprotected_after) {
		ev = (struct alert_event){ .cond = ALERT_UNPROTECTED, .at = v->now,
			.since = s->last_success > 0 ? s->last_success + v->unprotected_after :
			v->now, .last_ok = s->last_success };
		add_cond(j, &ev);
	}
	for (size_t i = 0; i < s->ndests; i++) {
		const struct state_dest *e = &s->dests[i];
		if (e->pending_since > 0 && strcmp(e->result, "complete") != 0 &&
		    v->now - e->pending_since > v->behind_after) {
			ev = (struct alert_event){ .cond = ALERT_BEHIND, .at = v->now,
				.since = e->pending_since + v->behind_after,
				.last_ok = e->last_complete };
			snprintf(ev.dest, sizeof ev.dest, "%.*s", (int)sizeof ev.dest - 1,
				e->name);
			add_cond(j, &ev);
		}
		if (strcmp(e->drill_result, "failed") == 0)
			raise_to(j, V_AMBER);
	}
	if (s->has_last && strcmp(s->last.result, "failed") == 0)
		raise_to(j, V_RED);
	else if (s->has_last && strcmp(s->last.result, "partial") == 0)
		raise_to(j, V_AMBER);
}

/* ---- the parts of the page ---- */

static const char style[] =
	"body{font-family:sans-serif;font-size:20px;line-height:1.4;margin:0 auto;"
	"max-width:56em;padding:1em;color:#1a1a1a;background:#fafafa}"
	".v{font-size:2.4em;font-weight:bold;padding:.4em .6em;border-radius:.3em;color:#fff}"
	".green{background:#1b7f3b}.amber{background:#b86e00}.red{background:#b3261e}"
	"h2{font-size:1.2em;margin:1.2em 0 .3em}ul{padding-left:1.2em}"
	".c{border-left:.4em solid #b86e00;background:#fff;padding:.3em .8em;margin:.6em 0}"
	".c.crit{border-color:#b3261e}.c h3{font-size:1.05em;margin:.3em 0}"
	".c p{white-space:pre-line;margin:.2em 0}.late{color:#b3261e;font-weight:bold}"
	"button{font-size:1.1em;padding:.5em 1.2em}small{color:#555}";

static void part_head(struct out *o, const struct page_view *v, const struct judged *j)
{
	static const char *const cls[] = { "green", "amber", "red", "red" };
	const char *words[] = { _("Protected"), _("Attention"), _("Not protected"),
		_("Attack suspected") };
	put(o, v->fr ? "<!doctype html><html lang=fr>" : "<!doctype html><html lang=en>");
	put(o, "<head><meta charset=utf-8><meta http-equiv=refresh content=60>"
		"<meta name=viewport content=\"width=device-width,initial-scale=1\"><title>");
	esc(o, v->shop);
	put(o, " — coffre</title><style>");
	put(o, style);
	put(o, "</style></head><body>");
	putf(o, "<div id=verdict class=\"v %s\">%s</div>", cls[j->v], words[j->v]);
}

static void part_last(struct out *o, const struct page_view *v)
{
	const struct state_status *s = v->s;
	char t[64], b[32];
	putf(o, "<h2>%s</h2><p>", _("Last backup"));
	if (s->last_success <= 0) {
		put(o, _("No backup yet."));
	} else {
		when(s->last_success, v->now, t);
		put(o, t);
		if (s->has_last && strcmp(s->last.result, "ok") == 0) {
			bytes(s->last.bytes_added, b);
			put(o, " — ");
			putf(o, _("%llu files, %s added"), (unsigned long long)s->last.files, b);
		}
	}
	put(o, "</p>");
	if (s->has_last && strcmp(s->last.result, "failed") == 0) {
		when(s->last.start, v->now, t);
		put(o, "<p class=late>");
		escf(o, _("The backup started %s failed:"), t);
		put(o, " ");
		esc(o, s->last.error[0] ? s->last.error : "?");
		putf(o, "</p><p>%s</p>", _("What to do: if a drive is unplugged, plug it back; "
			"otherwise pass this page on to the person who looks after your "
			"computers."));
	} else if (s->has_last && strcmp(s->last.result, "partial") == 0) {
		when(s->last.start, v->now, t);
		put(o, "<p class=late>");
		escf(o, _("The backup started %s could not read every file."), t);
		if (s->last.nwarn) {
			put(o, " ");
			esc(o, s->last.warn[0]);
		}
		put(o, "</p>");
	}
	if (s->running) {
		putf(o, "<p>%s</p>", _("coffre is at work now (a backup, a copy or a restore "
			"drill)."));
	}
}

static void part_dests(struct out *o, const struct page_view *v)
{
	const struct state_status *s = v->s;
	char t[64];
	if (!s->ndests)
		return;
	putf(o, "<h2>%s</h2><ul>", _("Copies"));
	for (size_t i = 0; i < s->ndests; i++) {
		const struct state_dest *e = &s->dests[i];
		put(o, "<li class=dest><b>");
		esc(o, e->name);
		put(o, v->fr ? "</b> : " : "</b>: ");
		if (strcmp(e->result, "complete") == 0) {
			when(e->last_complete, v->now, t);
			escf(o, _("up to date (%s)"), t);
		} else if (!e->result[0]) {
			put(o, _("not sent to yet"));
		} else {
			when(e->pending_since > 0 ? e->pending_since : e->last_attempt, v->now, t);
			put(o, "<span class=late>");
			escf(o, _("behind since %s"), t);
			put(o, "</span>");
			if (e->error[0]) {
				put(o, "<br><small>");
				esc(o, e->error);
				put(o, "</small>");
			}
		}
		put(o, "</li>");
	}
	put(o, "</ul>");
}

static void part_drill(struct out *o, const struct page_view *v)
{
	const struct state_status *s = v->s;
	char t[64];
	time_t best = 0;
	const struct state_dest *from = NULL;
	for (size_t i = 0; i < s->ndests; i++)
		if (s->dests[i].drill_last_ok > best) {
			best = s->dests[i].drill_last_ok;
			from = &s->dests[i];
		}
	putf(o, "<h2>%s</h2><p>", _("Last proven restore"));
	if (!from) {
		put(o, _("none yet: a restore drill follows the first complete copy"));
	} else {
		when(best, v->now, t);
		put(o, t);
		put(o, " — ");
		escf(o, _("from the copy %s"), from->name);
		if (v->now - best > 15 * 86400)
			putf(o, " <span class=late>%s</span>", _("(more than 15 days ago)"));
	}
	put(o, "</p>");
	for (size_t i = 0; i < s->ndests; i++)
		if (strcmp(s->dests[i].drill_result, "failed") == 0) {
			put(o, "<p class=late>");
			escf(o, _("The last restore drill of the copy %s failed."),
				s->dests[i].name);
			put(o, "</p>");
		}
}

/* Each condition in the words of its alert: the subject without its "[shop] ", then the
 * body with what to do. */
static void part_conds(struct out *o, const struct page_view *v, const struct judged *j)
{
	if (!j->n)
		return;
	putf(o, "<h2>%s</h2>", _("What is wrong, and what to do"));
	for (size_t i = 0; i < j->n; i++) {
		struct alert_text t = { 0 };
		if (alert_render(&j->ev[i], v->fr ? "fr" : "en", v->shop, v->host, &t, NULL)) {
			o->bad = 1;
			continue;
		}
		const char *subj = t.subject;
		if (subj[0] == '[' && strstr(subj, "] "))
			subj = strstr(subj, "] ") + 2;
		putf(o, "<div class=\"c%s\" data-cond=%s><h3>",
			alert_cond_severity(j->ev[i].cond) == ALERT_CRITICAL ? " crit" : "",
			alert_cond_name(j->ev[i].cond));
		esc(o, subj);
		put(o, "</h3><p>");
		esc(o, t.body);
		put(o, "</p></div>");
		alert_text_release(&t);
	}
}

/* One bar chart of PAGE_DAYS values (a day each), inline SVG: ${fill} bars (${in_bytes}: of
 * bytes), ${fill2} stacked on them for ${v2} (NULL: none), the largest value named at the
 * top; each bar's title says its day and value. */
static void chart(struct out *o, const struct page_view *v, const double *v1, const double *v2,
	int in_bytes, const char *fill, const char *fill2, const char *title, const char *top)
{
	const int bw = 20, h = 90, w = PAGE_DAYS * bw;
	double max = 0;
	char d[16];
	for (int i = 0; i < PAGE_DAYS; i++)
		if (v1[i] + (v2 ? v2[i] : 0) > max)
			max = v1[i] + (v2 ? v2[i] : 0);
	putf(o, "<figure><figcaption>%s <small>(max. ", title);
	esc(o, top);
	putf(o, ")</small></figcaption><svg width=%d "
		"height=%d viewBox=\"0 0 %d %d\" role=img>", w, h + 20, w, h + 20);
	putf(o, "<rect x=0 y=0 width=%d height=%d fill=\"#eee\"/>", w, h);
	for (int i = 0; i < PAGE_DAYS && max > 0; i++) {
		int h1 = (int)(v1[i] / max * h + .5), h2 = v2 ? (int)(v2[i] / max * h + .5) : 0;
		struct tm tm;
		localtime_r(&v->days[i].day, &tm);
		strftime(d, sizeof d, "%d/%m", &tm);
		char n1[32], n2[32];
		if (in_bytes)
			bytes((uint64_t)v1[i], n1);
		else
			snprintf(n1, sizeof n1, "%.0f", v1[i]);
		snprintf(n2, sizeof n2, "%.0f", v2 ? v2[i] : 0);
		if (h1)
			putf(o, "<rect x=%d y=%d width=%d height=%d fill=\"%s\"><title>%s: %s"
				"</title></rect>", i * bw + 2, h - h1, bw - 4, h1, fill, d, n1);
		if (h2)
			putf(o, "<rect x=%d y=%d width=%d height=%d fill=\"%s\"><title>%s: %s"
				"</title></rect>", i * bw + 2, h - h1 - h2, bw - 4, h2, fill2, d,
				n2);
	}
	for (int i = PAGE_DAYS - 1; i >= 0; i -= 7) {
		struct tm tm;
		localtime_r(&v->days[i].day, &tm);
		strftime(d, sizeof d, "%d/%m", &tm);
		putf(o, "<text x=%d y=%d font-size=12 text-anchor=end>%s</text>", i * bw + bw,
			h + 15, d);
	}
	put(o, "</svg></figure>");
}

static void part_history(struct out *o, const struct page_view *v)
{
	double n[PAGE_DAYS], f[PAGE_DAYS], b[PAGE_DAYS];
	double maxn = 0;
	uint64_t maxb = 0;
	char top[64], mb[32];
	for (int i = 0; i < PAGE_DAYS; i++) {
		n[i] = (double)v->days[i].backups;
		f[i] = (double)v->days[i].failed;
		b[i] = (double)v->days[i].bytes_added;
		if (n[i] + f[i] > maxn)
			maxn = n[i] + f[i];
		if (v->days[i].bytes_added > maxb)
			maxb = v->days[i].bytes_added;
	}
	putf(o, "<h2>%s</h2>", _("The last 30 days"));
	snprintf(top, sizeof top, "%.0f", maxn);
	chart(o, v, n, f, 0, "#1b7f3b", "#b3261e", _("Backups a day (red: failed)"), top);
	bytes(maxb, mb);
	chart(o, v, b, NULL, 1, "#2b5fad", NULL, _("Bytes added a day"), mb);
}

/* The action, only for who came with the token (coffre status --page). */
static void part_action(struct out *o, const struct page_view *v)
{
	if (!v->token)
		return;
	put(o, "<form method=post action=\"/backup\"><input type=hidden name=token value=\"");
	esc(o, v->token);
	putf(o, "\"><button type=submit>%s</button></form>", _("Back up now"));
}

int page_html(const struct page_view *v, struct buf *ret)
{
	struct out o = { .b = ret };
	struct judged *j = malloc(sizeof *j);
	char t[64];
	const char *lang = getenv("LANGUAGE");
	char *saved = lang ? strdup(lang) : NULL;
	if (!j || (lang && !saved)) {
		free(j);
		return -1;
	}
	use_lang(v->fr);
	judge(v, j);
	part_head(&o, v, j);
	part_last(&o, v);
	part_dests(&o, v);
	part_drill(&o, v);
	part_conds(&o, v, j);
	part_action(&o, v);
	part_history(&o, v);
	when(v->now, v->now, t);
	put(&o, "<p><small>");
	esc(&o, v->shop);
	put(&o, " — ");
	escf(&o, _("updated %s, every minute"), t);
	put(&o, "</small></p></body></html>\n");
	free(j);
	if (saved)
		setenv("LANGUAGE", saved, 1);
	else
		unsetenv("LANGUAGE");
	++_nl_msg_cat_cntr;
	free(saved);
	return o.bad ? -1 : 0;
}

int page_prefers_fr(const char *accept)
{
	double qfr = -1, qen = -1;
	int first_fr = 0, k = 0;
	for (const char *p = accept; p && *p; k++) {
		size_t len = strcspn(p, ",");
		char item[64];
		snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : 0), p);
		p += len + (p[len] == ',');
		char *tag = item;
		while (isspace((unsigned char)*tag))
			tag++;
		double q = 1;
		char *semi = strchr(tag, ';');
		if (semi) {
			*semi = 0;
			char *qs = strstr(semi + 1, "q=");
			if (qs)
				q = strtod(qs + 2, NULL);
		}
		tag[strcspn(tag, " \t")] = 0;
		int fr = strncasecmp(tag, "fr", 2) == 0 && (!tag[2] || tag[2] == '-');
		int en = strncasecmp(tag, "en", 2) == 0 && (!tag[2] || tag[2] == '-');
		/* The first mention of each counts: "fr-CH, fr;q=0.9, en;q=0.8". */
		if (fr && qfr < 0) {
			qfr = q;
			first_fr = qen < 0;
		}
		if (en && qen < 0)
			qen = q;
	}
	/* Equal weights: the order of the header decides. */
	return qfr > 0 && (qfr > qen || (qfr == qen && first_fr));
}
