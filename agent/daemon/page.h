/* page.h: the status page's words and layout (page_html.c), for page.c which serves it. */
#ifndef COFFRED_PAGE_H
#define COFFRED_PAGE_H

#include <libintl.h>
#include <stddef.h>
#include <time.h>

/* The page is told in the browser's language, whatever the daemon's locale: page_html
 * switches gettext's language for the time it writes. */
#define _(s) dgettext("coffre", s)
#define N_(s) (s)

struct alert_event;
struct buf;
struct state_day;
struct state_status;

#define PAGE_DAYS 30	/* days of the history chart */

/* What the page shows; everything borrowed. */
struct page_view {
	const struct state_status *s;
	const struct state_day *days;	/* PAGE_DAYS of them, oldest first */
	const struct alert_event *ev;	/* the alert conditions open ([alert] configured) */
	size_t nev;
	int fr;				/* French, else English */
	const char *shop, *host;
	const char *token;		/* the action's token when the URL had it, else NULL */
	long unprotected_after, behind_after;	/* [alert]'s, judged here even without a
						 * channel */
	time_t now;
};

/* page_html(v, ret): the page for ${v}, appended to ${ret} (the caller frees it). Returns 0,
 * or -1 when out of memory. */
int page_html(const struct page_view *v, struct buf *ret);

/* page_prefers_fr(accept): 1 when the Accept-Language header ${accept} (NULL: none) ranks
 * French above English, 0 otherwise. */
int page_prefers_fr(const char *accept);

#endif
