/* cfg_alert.c: the [alert] section of the configuration: who is told of a problem, through
 * which channels (mail, webhook, the desktop), in which language, and when. cfg.c hands each key here and
 * says the problems found; nothing here calls back into it but through ${problem}. */
#include "base/cfg_alert.h"
#include "base/cfg_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/cfg.h"
#include "coffre/forget.h"

const char *const cfg_alert_locale_files[] = { "/etc/locale.conf", "/etc/default/locale",
	NULL };

/* A mail address as a mail server takes it in MAIL FROM / RCPT TO: local@domain, printable,
 * no blank, no angle bracket, no control character (a CR or LF would forge commands). */
static int valid_addr(const char *a)
{
	const char *at = strchr(a, '@');
	if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254)
		return 0;
	for (const unsigned char *c = (const unsigned char *)a; *c; c++)
		if (*c <= ' ' || *c == 0x7f || *c == '<' || *c == '>' || *c == ',' || *c == ';' ||
		    *c == '"' || *c == '(' || *c == ')' || *c == '\\')
			return 0;
	return 1;
}

/* No control character: the value goes into a header line or a request. */
static int printable(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < ' ' || *c == 0x7f)
			return 0;
	return 1;
}

static int loopback_http(const char *url)
{
	static const char *const ok[] = { "http://127.0.0.1:", "http://127.0.0.1/",
		"http://localhost:", "http://localhost/", "http://[::1]:", "http://[::1]/" };
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		if (strncmp(url, ok[i], strlen(ok[i])) == 0)
			return 1;
	return 0;
}

/* A duration for reminder, unprotected-after, behind-after: "24 h", "7 d", "90 min", "30 s". */
static int duration(const char *v, long *ret)
{
	int64_t s;
	if (forget_parse_within(v, &s) || s <= 0)
		return -1;
	*ret = (long)s;
	return 0;
}

void cfg_alert_init(struct cfg_alert *a)
{
	memset(a, 0, sizeof *a);
	a->reminder = CFG_DEFAULT_REMINDER;
	a->unprotected_after = CFG_DEFAULT_UNPROTECTED_AFTER;
	a->behind_after = CFG_DEFAULT_BEHIND_AFTER;
	a->desktop_notify = 1;
}

void cfg_alert_release(struct cfg_alert *a)
{
	for (size_t i = 0; i < a->nmail_to; i++)
		free(a->mail_to[i]);
	free(a->mail_from);
	free(a->smtp_url);
	free(a->smtp_user);
	free(a->smtp_password_file);
	free(a->webhook_url);
	free(a->webhook_header);
	free(a->ca_file);
	free(a->shop_name);
	memset(a, 0, sizeof *a);
}

int cfg_alert_key(struct cfg_alert *a, const char *name, const char *v, char *msg, size_t n)
{
	if (strcmp(name, "mail-to") == 0) {
		if (!valid_addr(v))
			return cfg_say(msg, n, "mail-to '%s' is not a mail address (name@domain, one "
				"per line)", v);
		if (a->nmail_to == CFG_ALERT_MAX_RCPT)
			return cfg_say(msg, n, "too many mail-to addresses (at most %d)",
				CFG_ALERT_MAX_RCPT);
		if (!(a->mail_to[a->nmail_to] = strdup(v)))
			return -1;
		a->nmail_to++;
		return 0;
	}
	if (strcmp(name, "mail-from") == 0) {
		if (!valid_addr(v))
			return cfg_say(msg, n, "mail-from '%s' is not a mail address (name@domain)", v);
		return cfg_set_str(&a->mail_from, v);
	}
	if (strcmp(name, "smtp-url") == 0) {
		size_t scheme = strncmp(v, "smtp://", 7) == 0 ? 7 :
			strncmp(v, "smtps://", 8) == 0 ? 8 : 0;
		if (!scheme || !v[scheme] || !printable(v))
			return cfg_say(msg, n, "smtp-url '%s' must be smtp://host[:port] (STARTTLS) or "
				"smtps://host[:port] (TLS from the start)", v);
		return cfg_set_str(&a->smtp_url, v);
	}
	if (strcmp(name, "smtp-user") == 0) {
		if (!*v || !printable(v))
			return cfg_say(msg, n, "smtp-user must be a non-empty user name");
		return cfg_set_str(&a->smtp_user, v);
	}
	if (strcmp(name, "smtp-password-file") == 0)
		return cfg_set_str(&a->smtp_password_file, v);
	if (strcmp(name, "webhook-url") == 0) {
		if (!printable(v) || (strncmp(v, "https://", 8) != 0 && !loopback_http(v)) ||
		    strlen(v) < 9)
			return cfg_say(msg, n, "webhook-url '%s' must be https://... (http:// only to "
				"127.0.0.1, localhost or [::1])", v);
		return cfg_set_str(&a->webhook_url, v);
	}
	if (strcmp(name, "webhook-header") == 0) {
		const char *colon = strchr(v, ':');
		if (!colon || colon == v || !printable(v) || strcspn(v, " \t") < (size_t)(colon - v))
			return cfg_say(msg, n, "webhook-header must be 'Name: value' on one line, such "
				"as 'Authorization: Bearer TOKEN'");
		return cfg_set_str(&a->webhook_header, v);
	}
	if (strcmp(name, "ca-file") == 0) {
		if (v[0] != '/')
			return cfg_say(msg, n, "ca-file '%s' is not an absolute path", v);
		return cfg_set_str(&a->ca_file, v);
	}
	if (strcmp(name, "language") == 0) {
		if (strcmp(v, "fr") != 0 && strcmp(v, "en") != 0)
			return cfg_say(msg, n, "language must be fr or en, not '%s'", v);
		memcpy(a->language, v, 3);
		return 0;
	}
	if (strcmp(name, "shop-name") == 0) {
		if (!*v || strlen(v) > 120 || !printable(v))
			return cfg_say(msg, n, "shop-name must be one line of at most 120 characters");
		return cfg_set_str(&a->shop_name, v);
	}
	if (strcmp(name, "desktop-notify") == 0) {
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return cfg_say(msg, n, "desktop-notify must be yes or no, not '%s'", v);
		a->desktop_notify = strcmp(v, "yes") == 0;
		return 0;
	}
	long *slot = strcmp(name, "reminder") == 0 ? &a->reminder :
		strcmp(name, "unprotected-after") == 0 ? &a->unprotected_after :
		strcmp(name, "behind-after") == 0 ? &a->behind_after : NULL;
	if (slot) {
		if (duration(v, slot))
			return cfg_say(msg, n, "'%s' must be a duration such as '24 h', '7 d', '90 min' "
				"or '30 s', not '%s'", name, v);
		return 0;
	}
	return cfg_say(msg, n, "unknown key '%s' in section [alert]", name);
}

/* "fr" or "en" for a locale name; NULL for none or the neutral C/POSIX locales, which say
 * nothing of the reader's language. */
static const char *lang_of(const char *v, size_t n)
{
	if (n == 0 || (n >= 1 && v[0] == 'C' && (n == 1 || v[1] == '.')) ||
	    (n == 5 && strncmp(v, "POSIX", 5) == 0))
		return NULL;
	return n >= 2 && strncmp(v, "fr", 2) == 0 ? "fr" : "en";
}

/* The language a locale file (KEY=value lines, values maybe quoted) gives, or NULL. */
static const char *file_language(const char *path)
{
	char text[4096];
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = 0;
	static const char *const keys[] = { "LC_ALL=", "LC_MESSAGES=", "LANG=" };
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
		for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			l += strspn(l, " \t");
			if (strncmp(l, keys[k], strlen(keys[k])) != 0)
				continue;
			const char *v = l + strlen(keys[k]);
			v += *v == '"' || *v == '\'';
			const char *r = lang_of(v, strcspn(v, "\"'\n \t"));
			if (r)
				return r;
		}
	return NULL;
}

const char *cfg_alert_locale_language(const char *const *files)
{
	static const char *const vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
		const char *v = getenv(vars[i]);
		const char *r = v ? lang_of(v, strlen(v)) : NULL;
		if (r)
			return r;
	}
	/* A service may start with no locale of its own: the system's then. */
	for (size_t i = 0; files && files[i]; i++) {
		const char *r = file_language(files[i]);
		if (r)
			return r;
	}
	return "en";
}

int cfg_alert_validate(struct cfg_alert *a, void (*problem)(void *, const char *), void *ctx)
{
	char msg[700];
	if (!a->language[0])
		memcpy(a->language, cfg_alert_locale_language(cfg_alert_locale_files), 3);
	if (!a->shop_name) {
		char host[256] = "";
		if (gethostname(host, sizeof host - 1) != 0 || !host[0])
			strcpy(host, "coffre");
		if (cfg_set_str(&a->shop_name, host))
			return -1;
	}
	if (a->nmail_to && !a->smtp_url)
		problem(ctx, "[alert] mail-to without smtp-url: no server to send the mail through");
	if (a->smtp_url && !a->nmail_to)
		problem(ctx, "[alert] smtp-url without any mail-to: nobody to send the mail to");
	if ((a->smtp_user != NULL) != (a->smtp_password_file != NULL))
		problem(ctx, "[alert] smtp-user and smtp-password-file go together");
	if (a->smtp_password_file) {
		struct stat st;
		const char *f = a->smtp_password_file;
		if (stat(f, &st) != 0)
			snprintf(msg, sizeof msg, "SMTP password file '%s': %s", f, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			snprintf(msg, sizeof msg, "SMTP password file '%s' is not a regular file", f);
		else if (st.st_mode & (S_IRWXG | S_IRWXO))
			snprintf(msg, sizeof msg, "SMTP password file '%s' is readable by group or "
				"others (mode %04o); run: chmod 600 '%s'", f,
				(unsigned)(st.st_mode & 07777), f);
		else
			msg[0] = 0;
		if (msg[0])
			problem(ctx, msg);
	}
	if (a->webhook_header && !a->webhook_url)
		problem(ctx, "[alert] webhook-header without webhook-url");
	return 0;
}

int cfg_alert_mail(const struct cfg_alert *a)
{
	return a->nmail_to > 0 && a->smtp_url != NULL;
}

int cfg_alert_webhook(const struct cfg_alert *a)
{
	return a->webhook_url != NULL;
}
