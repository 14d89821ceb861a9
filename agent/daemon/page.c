/* page.c: the status page ([daemon] status-page = PORT): libmicrohttpd on 127.0.0.1 only,
 * served on coffred's own loop, without a thread. MHD's epoll fd is an entry of the loop
 * (MHD_run when it is readable); its timeouts go to a timerfd armed only while a connection
 * is open, so that an idle daemon with nobody looking never wakes up.
 *
 * GET / shows the page (page_html.c). POST /backup starts a backup: it needs the token
 * written at start to STATE_DIR/page-token (root and socket-group, mode 0640; coffre status
 * --page prints the URL that holds it) in the form, and a request from the page itself
 * (Host, Origin and Sec-Fetch-Site): a site the shopkeeper visits cannot make the browser
 * post it. Nothing else exists. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <locale.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "base/util.h"
#include "coffre/alert.h"
#include "coffre/cfg.h"
#include "coffre/error.h"
#include "coffre/state.h"
#include "coffred.h"
#include "page.h"

#define PAGE_CONNECTIONS 8	/* at once; more wait in the listen queue */
#define PAGE_TIMEOUT 10		/* seconds a connection may stay silent */
#define PAGE_BODY_MAX 1024	/* bytes of a POST's body */
#define TOKEN_BYTES 32
#define TOKEN_FILE "page-token"

struct page {
	struct daemon *d;
	struct MHD_Daemon *mhd;
	int port;
	int efd;		/* MHD's epoll fd, in the loop */
	int tfd;		/* its timeouts, armed only while a connection is open */
	char token[TOKEN_BYTES * 2 + 1];
	char *token_file;
	char host_ip[32], host_name[32], origin_ip[48], origin_name[48];
};

/* A POST being read. */
struct post {
	struct MHD_PostProcessor *pp;
	size_t len;
	int too_big;
	char token[TOKEN_BYTES * 2 + 8];
	size_t token_len;
};

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	(void)cls;
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = 0;
	logf_("status page: %s", line);
}

/* ---- the loop's side ---- */

static void arm(struct page *pg)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;
	const union MHD_DaemonInfo *ci = page_dl.get_daemon_info(pg->mhd,
		MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	struct itimerspec its = { 0 };
	/* Nobody connected: no timer at all (MHD has nothing to time out). */
	if (ci && ci->num_connections > 0 && page_dl.get_timeout(pg->mhd, &ms) == MHD_YES) {
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
		if (ms == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(pg->tfd, 0, &its, NULL) != 0)
		logf_("warning: status page: timer: %s", strerror(errno));
}

static void on_ready(struct daemon *d)
{
	page_dl.run(d->page->mhd);
	arm(d->page);
}

static void on_timer(struct daemon *d)
{
	uint64_t v;
	if (read(d->page->tfd, &v, sizeof v) < 0 && errno != EAGAIN)
		logf_("warning: status page: timer: %s", strerror(errno));
	on_ready(d);
}

/* ---- answers ---- */

/* Answer ${code} with ${body} (malloc'd, taken) and the page's headers; ${where} is the
 * Allow header of a 405, the Location of a redirection (NULL: none). */
static enum MHD_Result answer(struct MHD_Connection *c, unsigned code, const char *type,
	void *body, size_t len, const char *where)
{
	struct MHD_Response *r = page_dl.create_response_from_buffer(len, body,
		MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	page_dl.add_response_header(r, "Content-Type", type);
	page_dl.add_response_header(r, "Content-Security-Policy",
		"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
		"form-action 'self'; frame-ancestors 'none'");
	page_dl.add_response_header(r, "X-Frame-Options", "DENY");
	page_dl.add_response_header(r, "Referrer-Policy", "no-referrer");
	page_dl.add_response_header(r, "Cache-Control", "no-store");
	page_dl.add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (where)
		page_dl.add_response_header(r, code == MHD_HTTP_METHOD_NOT_ALLOWED ? "Allow" :
			"Location", where);
	enum MHD_Result rc = page_dl.queue_response(c, code, r);
	page_dl.destroy_response(r);
	return rc;
}

static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned code, const char *text,
	const char *where)
{
	char *body = strdup(text);
	if (!body)
		return MHD_NO;
	return answer(c, code, "text/plain; charset=utf-8", body, strlen(body), where);
}

/* ${given} (NULL: none) is the token, compared in constant time. */
static int token_ok(const struct page *pg, const char *given, size_t len)
{
	return given && len == sizeof pg->token - 1 &&
		sodium_memcmp(given, pg->token, sizeof pg->token - 1) == 0;
}

/* Asked of this page by its own address: a name resolving elsewhere to 127.0.0.1 (DNS
 * rebinding) does not read it, and a POST from any other site is refused. */
static int same_site(const struct page *pg, struct MHD_Connection *c, int post)
{
	const char *host = page_dl.lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	if (!host || (strcmp(host, pg->host_ip) != 0 && strcmp(host, pg->host_name) != 0))
		return 0;
	if (!post)
		return 1;
	const char *origin = page_dl.lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	if (origin && strcmp(origin, pg->origin_ip) != 0 && strcmp(origin, pg->origin_name) != 0)
		return 0;
	const char *site = page_dl.lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
	return !site || strcmp(site, "same-origin") == 0 || strcmp(site, "none") == 0;
}

static enum MHD_Result show(struct page *pg, struct MHD_Connection *c)
{
	struct daemon *d = pg->d;
	struct state_status s = { 0 };
	struct state_day days[PAGE_DAYS];
	struct alert_event ev[STATE_ALERTS_MAX];
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	char host[256];
	const char *tok = page_dl.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	time_t now = time(NULL);
	alert_host(host, sizeof host);
	char *hist = state_history_path(d->cfg->state_dir);
	/* A history that cannot be read draws empty days (what it read is kept). */
	if (!hist)
		memset(days, 0, sizeof days);
	else if (state_days_read(hist, now, PAGE_DAYS, days, &err))
		logf_("warning: status page: history by day: %s", err.msg);
	free(hist);
	struct page_view v = { .s = &s, .days = days, .host = host, .now = now,
		.shop = d->cfg->alert.shop_name ? d->cfg->alert.shop_name : host,
		.token = tok && token_ok(pg, tok, strlen(tok)) ? pg->token : NULL,
		.fr = page_prefers_fr(page_dl.lookup_connection_value(c, MHD_HEADER_KIND,
			"Accept-Language")),
		.unprotected_after = d->cfg->alert.unprotected_after,
		.behind_after = d->cfg->alert.behind_after };
	v.ev = ev;
	v.nev = alerts_open_events(d, ev, STATE_ALERTS_MAX);
	int rc = status_build(d, &s);
	if (rc == 0)
		rc = page_html(&v, &b);
	state_status_release(&s);
	if (rc) {
		buf_free(&b);
		return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	}
	return answer(c, MHD_HTTP_OK, "text/html; charset=utf-8", b.p, b.len, NULL);
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
	const char *filename, const char *type, const char *encoding, const char *data,
	uint64_t off, size_t size)
{
	struct post *p = cls;
	(void)kind, (void)filename, (void)type, (void)encoding, (void)off;
	if (strcmp(key, "token") != 0)
		return MHD_YES;
	if (p->token_len + size >= sizeof p->token) {
		p->too_big = 1;
		return MHD_NO;
	}
	memcpy(p->token + p->token_len, data, size);
	p->token_len += size;
	p->token[p->token_len] = 0;
	return MHD_YES;
}

/* The whole body read: the checks, then the backup. */
static enum MHD_Result backup(struct page *pg, struct MHD_Connection *c, struct post *p)
{
	if (p->too_big)
		return answer_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "request too large\n", NULL);
	if (!same_site(pg, c, 1)) {
		logf_("status page: a backup request from another site refused");
		return answer_text(c, MHD_HTTP_FORBIDDEN, "forbidden: not from this page\n", NULL);
	}
	if (!token_ok(pg, p->token, p->token_len)) {
		logf_("status page: a backup request without the right token refused");
		return answer_text(c, MHD_HTTP_FORBIDDEN, "forbidden: the token is missing or "
			"wrong (coffre status --page gives the address with it)\n", NULL);
	}
	struct state_ack a;
	status_request_backup(pg->d, &a);
	if (!a.ok)
		return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, a.error, NULL);
	logf_("status page: backup #%llu asked for", (unsigned long long)a.run);
	char *loc = util_path("/?token=%s", pg->token);
	char *body = strdup("backup started\n");
	if (!loc || !body) {
		free(loc);
		free(body);
		return MHD_NO;
	}
	enum MHD_Result rc = answer(c, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", body,
		strlen(body), loc);
	free(loc);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *upload, size_t *upload_size,
	void **ctx)
{
	struct page *pg = cls;
	struct post *p = *ctx;
	(void)version;
	if (strcmp(url, "/backup") == 0 && strcmp(method, "POST") == 0) {
		if (!p) {
			if (!(p = calloc(1, sizeof *p)))
				return MHD_NO;
			*ctx = p;
			/* NULL for a body that is not a form: then no token is found. */
			p->pp = page_dl.create_post_processor(c, 512, on_field, p);
			return MHD_YES;
		}
		if (*upload_size) {
			p->len += *upload_size;
			if (p->len > PAGE_BODY_MAX)
				p->too_big = 1;
			else if (p->pp && !p->too_big)
				page_dl.post_process(p->pp, upload, *upload_size);
			*upload_size = 0;
			return MHD_YES;
		}
		return backup(pg, c, p);
	}
	if (strcmp(url, "/") == 0 && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
			"GET, HEAD");
	if (strcmp(url, "/backup") == 0)
		return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "POST");
	if (strcmp(url, "/") != 0)
		return answer_text(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
	if (!same_site(pg, c, 0))
		return answer_text(c, MHD_HTTP_FORBIDDEN, "forbidden: ask 127.0.0.1\n", NULL);
	return show(pg, c);
}

static void on_done(void *cls, struct MHD_Connection *c, void **ctx,
	enum MHD_RequestTerminationCode why)
{
	struct post *p = *ctx;
	(void)cls, (void)c, (void)why;
	if (p) {
		if (p->pp)
			page_dl.destroy_post_processor(p->pp);
		sodium_memzero(p->token, sizeof p->token);
		free(p);
		*ctx = NULL;
	}
}

/* ---- start and stop ---- */

/* The token, readable by root and socket-group only. 0 or -1 (said). */
static int write_token(struct page *pg, const struct cfg *c)
{
	uint8_t rnd[TOKEN_BYTES];
	struct cf_error err = { 0 };
	char line[sizeof pg->token + 1];
	randombytes_buf(rnd, sizeof rnd);
	util_hex(pg->token, rnd, sizeof rnd);
	sodium_memzero(rnd, sizeof rnd);
	snprintf(line, sizeof line, "%s\n", pg->token);
	if (!(pg->token_file = util_path("%s/%s", c->state_dir, TOKEN_FILE)))
		return -1;
	int rc = util_write_atomic(pg->token_file, line, strlen(line), 0, &err);
	sodium_memzero(line, sizeof line);
	if (rc) {
		logf_("warning: status page: %s", err.msg);
		return -1;
	}
	struct group gr, *found = NULL;
	char buf[16384];
	getgrnam_r(c->socket_group, &gr, buf, sizeof buf, &found);
	int fd = open(pg->token_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !found || fchown(fd, (uid_t)-1, gr.gr_gid) != 0 || fchmod(fd, 0640) != 0)
		logf_("status page: its token '%s' is for root only (no group '%s' to share it "
			"with)", pg->token_file, c->socket_group);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Messages in the browser's language: gettext honours LANGUAGE only under a locale other
 * than "C", and the daemon's is often "C" (systemd gives none). */
static void gettext_setup(void)
{
	const char *cur = setlocale(LC_MESSAGES, "");
	if (!cur || strcmp(cur, "C") == 0 || strcmp(cur, "POSIX") == 0)
		setlocale(LC_MESSAGES, "C.UTF-8");
	const char *ld = getenv("COFFRE_LOCALEDIR");
	bindtextdomain("coffre", ld && *ld ? ld : COFFRE_LOCALEDIR);
	bind_textdomain_codeset("coffre", "UTF-8");
}

void page_start(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	if (c->status_page <= 0)
		return;
	struct page *pg = calloc(1, sizeof *pg);
	if (!pg) {
		logf_("warning: status page: out of memory");
		return;
	}
	pg->d = d;
	pg->port = c->status_page;
	pg->efd = pg->tfd = -1;
	snprintf(pg->host_ip, sizeof pg->host_ip, "127.0.0.1:%d", pg->port);
	snprintf(pg->host_name, sizeof pg->host_name, "localhost:%d", pg->port);
	snprintf(pg->origin_ip, sizeof pg->origin_ip, "http://127.0.0.1:%d", pg->port);
	snprintf(pg->origin_name, sizeof pg->origin_name, "http://localhost:%d", pg->port);
	char why[300];
	if (page_dl_load(why, sizeof why)) {
		logf_("warning: no status page: cannot load libmicrohttpd (%s); install it "
			"(Debian: apt-get install libmicrohttpd12)", why);
		goto fail;
	}
	gettext_setup();
	if (write_token(pg, c))
		goto fail;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)pg->port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	pg->mhd = page_dl.start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)pg->port, NULL,
		NULL, on_request, pg, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)PAGE_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PAGE_TIMEOUT,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_NOTIFY_COMPLETED, on_done, pg, MHD_OPTION_END);
	if (!pg->mhd) {
		logf_("warning: cannot serve the status page on 127.0.0.1:%d (is the port taken?)",
			pg->port);
		goto fail;
	}
	const union MHD_DaemonInfo *ei = page_dl.get_daemon_info(pg->mhd,
		MHD_DAEMON_INFO_EPOLL_FD);
	pg->efd = ei ? ei->epoll_fd : -1;
	pg->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->page = pg;
	if (pg->efd < 0 || pg->tfd < 0 || loop_add(d, pg->efd, on_ready)) {
		logf_("warning: status page: cannot serve it on the loop: %s", strerror(errno));
		goto fail;
	}
	if (loop_add(d, pg->tfd, on_timer)) {
		loop_del(d, pg->efd);
		logf_("warning: status page: cannot serve it on the loop: %s", strerror(errno));
		goto fail;
	}
	logf_("status page on http://127.0.0.1:%d/ (coffre status --page gives the address "
		"with its token)", pg->port);
	return;
fail:
	d->page = NULL;
	if (pg->tfd >= 0)
		close(pg->tfd);
	if (pg->mhd)
		page_dl.stop_daemon(pg->mhd);
	if (pg->token_file)
		unlink(pg->token_file);
	free(pg->token_file);
	sodium_memzero(pg->token, sizeof pg->token);
	free(pg);
}

void page_stop(struct daemon *d)
{
	struct page *pg = d->page;
	if (!pg)
		return;
	loop_del(d, pg->efd);
	loop_del(d, pg->tfd);
	close(pg->tfd);
	page_dl.stop_daemon(pg->mhd);
	unlink(pg->token_file);
	free(pg->token_file);
	sodium_memzero(pg->token, sizeof pg->token);
	free(pg);
	d->page = NULL;
}

void page_describe(const struct daemon *d, int *ret_port, char *token_file, size_t n)
{
	*ret_port = d->page ? d->page->port : 0;
	snprintf(token_file, n, "%s", d->page ? d->page->token_file : "");
}
