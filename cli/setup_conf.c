/* setup_conf.c: the files coffre setup writes: the configuration (mode 0640, root and the
 * coffre group, which may read the status socket's settings) and the password file (0600).
 * Each is written whole to a temp file, synced, renamed over the old one and its folder
 * synced: a crash leaves the old file or the new one, never half of one. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "enroll.h"
#include "setup.h"
#include "base/util.h"
#include "coffre/dbdump.h"

int setup_write_file(const char *path, const char *text, unsigned mode, const char *group)
{
	char *tmp = util_path("%s.tmp-%ld", path, (long)getpid());
	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int e = 0;
	if (fd < 0) {
		e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	size_t len = strlen(text), off = 0;
	while (!e && off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno != EINTR)
			e = errno;
		else if (n > 0)
			off += (size_t)n;
	}
	struct group *gr = group && geteuid() == 0 ? getgrnam(group) : NULL;
	if (!e && gr && fchown(fd, 0, gr->gr_gid) != 0)
		e = errno;
	if (!e && fchmod(fd, (mode_t)mode) != 0)
		e = errno;
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) != 0)
		e = errno;
	if (e)
		unlink(tmp);
	else
		util_fsync_parent(path);
	free(tmp);
	errno = e;
	return e ? -1 : 0;
}

/* A growing text; any failure leaves it NULL. */
struct text {
	char *s;
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static void add(struct text *t, const char *fmt, ...)
{
	if (!t->s)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *more = NULL;
	int n = vasprintf(&more, fmt, ap);
	va_end(ap);
	char *s = n >= 0 ? realloc(t->s, t->len + (size_t)n + 1) : NULL;
	if (!s) {
		free(t->s);
		free(more);
		t->s = NULL;
		return;
	}
	memcpy(s + t->len, more, (size_t)n + 1);
	free(more);
	t->s = s;
	t->len += (size_t)n;
}

char *setup_conf_text(const struct setup_conf *c)
{
	struct text t = { calloc(1, 1), 0 };
	char day[32] = "";
	time_t now = time(NULL);
	struct tm tm;
	if (localtime_r(&now, &tm))
		strftime(day, sizeof day, "%Y-%m-%d %H:%M", &tm);
	add(&t, "# coffred's configuration, written by 'coffre setup' on %s.\n"
		"# Check it with: coffre config check --config FILE; full description: man 5 "
		"coffre.conf\n\n[backup]\n", day);
	for (size_t i = 0; i < c->npaths; i++)
		add(&t, "path = %s\n", c->paths[i]);
	add(&t, "repository = %s\npassword-file = %s\n", c->spool, c->password_file);
	add(&t, "schedule = daily 19:30\nkeep-daily = 14\nkeep-weekly = 8\nkeep-monthly = 24\n");
	char *out = t.s;
	if (c->drive_url) {
		out = setup_conf_dest(t.s, "drive", c->drive_url, c->drive_name);
		free(t.s);
	}
	t.s = out;
	t.len = out ? strlen(out) : 0;
	for (size_t i = 0; i < c->ndbs; i++) {
		const struct setup_db *d = &c->dbs[i];
		if (!d->ticked)
			continue;
		if (d->from)
			add(&t, "\n[database %s]\n# the Dolibarr database, from %s\n", d->name,
				d->from);
		else
			add(&t, "\n[database %s]\n# every database of this computer's server\n",
				d->name);
		add(&t, "kind = %s\n", dbdump_kind_name(d->kind));
		if (d->socket)
			add(&t, "socket = %s\n", d->socket);
		if (d->host)
			add(&t, "host = %s\n", d->host);
		if (d->host && d->port)
			add(&t, "port = %d\n", d->port);
		if (d->user)
			add(&t, "user = %s\n", d->user);
		if (d->password_file)
			add(&t, "password-file = %s\n", d->password_file);
		if (d->database)
			add(&t, "databases = %s\n", d->database);
	}
	if (c->state_dir || c->socket) {
		add(&t, "\n[daemon]\n");
		if (c->socket)
			add(&t, "socket = %s\n", c->socket);
		if (c->state_dir)
			add(&t, "state-dir = %s\n", c->state_dir);
	}
	return t.s;
}

char *setup_conf_dest(const char *text, const char *name, const char *url, const char *what)
{
	struct text t = { strdup(text), strlen(text) };
	if (t.len && text[t.len - 1] != '\n')
		add(&t, "\n");
	add(&t, "\n[destination %s]\n", name);
	if (what)
		add(&t, "# %s\n", what);
	add(&t, "url = %s\n", url);
	return t.s;
}

/* The configuration an enrolled shop runs with, from its bundle. */
char *enroll_conf_text(const struct enroll_bundle *b, const struct enroll_files *f)
{
	struct text t = { calloc(1, 1), 0 };
	char day[32] = "";
	time_t issued = (time_t)b->issued;
	struct tm tm;
	if (gmtime_r(&issued, &tm))
		strftime(day, sizeof day, "%Y-%m-%d %H:%M UTC", &tm);
	add(&t, "# coffred's configuration, written by 'coffre enroll' for shop %s from its\n"
		"# federation's bundle issued %s. A newer bundle rewrites it: run\n"
		"# 'coffre enroll NEW.bundle'. Full description: man 5 coffre.conf\n\n[backup]\n",
		b->shop, day);
	for (size_t i = 0; i < f->nfolders; i++)
		add(&t, "path = %s\n", f->folders[i]);
	add(&t, "repository = %s\npassword-file = %s\nschedule = %s\n", f->spool, f->password,
		b->schedule);
	add(&t, "keep-daily = %lld\nkeep-weekly = %lld\nkeep-monthly = %lld\n", b->keep_daily,
		b->keep_weekly, b->keep_monthly);
	if (b->keep_yearly)
		add(&t, "keep-yearly = %lld\n", b->keep_yearly);
	add(&t, "\n[destination cloud]\nurl = %s\ns3-keys-file = %s\n", b->s3_url, f->s3_keys);
	if (b->region && *b->region)
		add(&t, "s3-region = %s\n", b->region);
	if (b->lock_days)
		add(&t, "s3-lock-days = %lld\ns3-lock-mode = %s\n", b->lock_days, b->lock_mode);
	/* Mail needs its server: without smtp_url only the webhook is kept. */
	int mail = b->nmail && b->smtp_url && *b->smtp_url;
	int hook = b->webhook_url && *b->webhook_url;
	if (b->alert && (mail || hook)) {
		add(&t, "\n[alert]\nshop-name = %s\n", b->name);
		for (size_t i = 0; mail && i < b->nmail; i++)
			add(&t, "mail-to = %s\n", b->mail_to[i]);
		if (mail)
			add(&t, "smtp-url = %s\n", b->smtp_url);
		if (hook)
			add(&t, "webhook-url = %s\n", b->webhook_url);
		if (b->language)
			add(&t, "language = %s\n", b->language);
	}
	add(&t, "\n[federation]\nshop-id = %s\nfederation-key = %s\nstatus-url = %s\n"
		"status-keys-file = %s\nstatus-key-file = %s\n", b->shop, f->federation_key,
		b->status_url, f->status_keys, f->status_key);
	if (f->state_dir)
		add(&t, "\n[daemon]\nstate-dir = %s\n", f->state_dir);
	return t.s;
}
