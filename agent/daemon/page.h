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

/* libmicrohttpd's functions, loaded by page_dl_load (page_dl.c) when the page is on. */
#ifdef MHD_VERSION
struct page_dl {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_create_post_processor) *create_post_processor;
	__typeof__(MHD_post_process) *post_process;
	__typeof__(MHD_destroy_post_processor) *destroy_post_processor;
};
extern struct page_dl page_dl;
#endif
/* page_dl_load(why, n): load libmicrohttpd once. 0, or -1 with the reason in ${why}. */
int page_dl_load(char *why, size_t n);

/* page_html(v, ret): the page for ${v}, appended to ${ret} (the caller frees it). Returns 0,
 * or -1 when out of memory. */
int page_html(const struct page_view *v, struct buf *ret);

/* page_prefers_fr(accept): 1 when the Accept-Language header ${accept} (NULL: none) ranks
 * French above English, 0 otherwise. */
int page_prefers_fr(const char *accept);

#endif
